//! End-to-end tests of the public functions: decode → validate, encode, errors.

mod codecs;
mod eventstream;
mod validation;

use minicbor::Encoder;
use serde_json::Value;

use crate::*;

pub(super) fn json_req(op: Operation, v: Value) -> Result<Value, WireError> {
    decode_request(op, Codec::Json, v.to_string().as_bytes())
}

pub(super) fn validation(op: Operation, v: Value) -> String {
    match json_req(op, v) {
        Err(WireError::Validation(m)) => m,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

pub(super) fn serialization(op: Operation, v: Value) -> String {
    match json_req(op, v) {
        Err(WireError::Serialization(m)) => m,
        other => panic!("expected a serialization error, got {other:?}"),
    }
}

pub(super) fn cbor(build: impl FnOnce(&mut Encoder<Vec<u8>>)) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    build(&mut e);
    e.into_writer()
}
