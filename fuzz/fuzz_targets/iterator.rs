//! Any text as a shard iterator or pagination token: refused unless genuine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_engine::tokens::TokenKey;

fuzz_target!(|data: &[u8]| {
    let key = TokenKey::new(vec![7; 32]);
    let text = String::from_utf8_lossy(data);
    // A forged iterator could only decode by guessing a 128-bit MAC.
    assert!(key.decode_iterator(&text, 0, i64::MAX).is_err());
    let _ = key.decode_token::<serde_json::Value>("ListShards", &text, 0, i64::MAX);
});
