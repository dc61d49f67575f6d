//! Any bytes as a CBOR request body of any operation: an AWS error or a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_wire::{Codec, Operation, decode_request};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let op = Operation::ALL[usize::from(pick) % Operation::ALL.len()];
    if let Ok(value) = decode_request(op, Codec::Cbor, body) {
        // Whatever decodes must encode back without failing.
        let _ = spate_wire::encode_response(op, Codec::Cbor, &value);
    }
});
