//! See `spate_fuzz_targets::put_fast` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spate_fuzz_targets::put_fast(data));
