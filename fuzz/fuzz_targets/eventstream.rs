//! Any bytes as event-stream messages: decoded or refused, and what decodes re-encodes
//! to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_wire::eventstream::{decode_message, encode_message};

fuzz_target!(|data: &[u8]| {
    if let Ok((message, used)) = decode_message(data) {
        let again = encode_message(&message.headers, message.payload);
        assert_eq!(&again[..], &data[..used]);
    }
});
