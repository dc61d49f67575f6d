//! Wire formats of the Amazon Kinesis Data Streams API, as real AWS SDKs speak them.
//!
//! **What it is.** Everything between the bytes of a request body and a validated
//! `serde_json::Value` of the operation's input, and back from an output `Value` to response
//! bytes: the 57 operations ([`Operation`], parsed from `X-Amz-Target`), the two codecs
//! ([`Codec`]: awsJson 1.1 and the Java SDKs' CBOR), Coral-exact `SerializationException` and
//! `ValidationException` messages ([`WireError`]), error bodies, serde helpers for typed
//! structs ([`epoch_seconds`], [`blob`]) and the event-stream framing used by
//! `SubscribeToShard` ([`eventstream`]). It is driven by the botocore service model, embedded
//! in the binary.
//!
//! **What it is not.** It knows nothing of HTTP, headers, tokio, storage or operation
//! semantics; it never decides whether a stream exists. It does not sign or check signatures.
//!
//! **Values in between** follow the JSON conventions in both directions: blobs are base64
//! strings, timestamps are `f64` epoch seconds. A CBOR request therefore decodes to exactly
//! the value its JSON twin would.
//!
//! **Layout.**
//! - `operation.rs`: [`Operation`], [`Codec`].
//! - `model.rs`: the embedded model compiled into a shape tree (patterns precompiled).
//! - `json.rs`, `cbor.rs`: each codec's parser (into a common raw tree) and writer.
//! - `typecheck.rs`: raw tree → normalized value, with Coral's type-mismatch texts.
//! - `validate.rs`: model constraints, with Coral's validation texts.
//! - `records.rs`: [`encode_with_records`], the direct writer for replies full of records,
//!   and [`encode_with_records_in_pieces`], the same bytes with large record data shared
//!   rather than copied.
//! - `serde_helpers.rs`: [`epoch_seconds`] and [`blob`] for `#[serde(with = ...)]`.
//! - `eventstream.rs`: `application/vnd.amazon.eventstream` message framing.
//! - `put_fast/`: [`put_fast`], a single-pass decoder for PutRecords and PutRecord bodies
//!   and a direct encoder for their replies.
//! - `error.rs`: [`WireError`].

mod cbor;
mod error;
pub mod eventstream;
mod json;
mod model;
mod operation;
mod prefetch;
pub mod put_fast;
mod records;
mod serde_helpers;
mod typecheck;
mod validate;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use error::WireError;
pub use json::epoch_seconds_text;
pub use operation::{Codec, Operation, TARGET_PREFIX};
pub use records::{RecordFields, encode_event, encode_with_records, encode_with_records_in_pieces};
pub use serde_helpers::{blob, epoch_seconds, timestamp_json};

use model::{Kind, MODEL};
use typecheck::{Raw, TimeUnit};

/// Decodes and validates the body of a request for `op`.
///
/// Returns the input structure as a JSON-convention value holding only members the model
/// knows, with `null`s removed. A body that is empty, malformed, not a map, or of the wrong
/// types is a [`WireError::Serialization`]; a well-typed body that breaks a constraint is a
/// [`WireError::Validation`] with Coral's message.
pub fn decode_request(op: Operation, codec: Codec, body: &[u8]) -> Result<Value, WireError> {
    let input = MODEL.input(op);
    let value = decode_shape_value(input, codec, body)?;
    validate::validate(input, &value)?;
    Ok(value)
}

/// Decoding without validation, for any structure shape (tests decode outputs with it).
pub(crate) fn decode_shape_value(
    id: model::ShapeId,
    codec: Codec,
    body: &[u8],
) -> Result<Value, WireError> {
    if body.is_empty() {
        return Err(WireError::serialization(""));
    }
    let (raw, unit) = match codec {
        Codec::Json => (json::parse(body)?, TimeUnit::Seconds),
        Codec::Cbor => (cbor::parse(body)?, TimeUnit::Millis),
    };
    if raw == Raw::Null {
        return Err(WireError::serialization(""));
    }
    typecheck::to_value(id, raw, unit)
}

/// Encodes the output of `op` in `codec`.
///
/// `output` is the operation's output structure in JSON conventions (timestamps as epoch
/// seconds, blobs as base64). Members absent or `null` are omitted. An operation whose output
/// has no members (or a `Null` output) gets an empty body, as the real service sends.
pub fn encode_response(op: Operation, codec: Codec, output: &Value) -> Result<Vec<u8>, WireError> {
    let Some(id) = MODEL.output(op) else {
        return Ok(Vec::new());
    };
    let no_members = matches!(&MODEL.shape(id).kind, Kind::Structure(m) if m.is_empty());
    if output.is_null() || no_members {
        return Ok(Vec::new());
    }
    encode_with(id, codec, output)
}

/// Decodes a body holding the named model shape into its JSON-convention value, without
/// validation: the inverse of [`encode_shape`] (what a client reads; tests compare with it).
pub fn decode_shape(shape_name: &str, codec: Codec, body: &[u8]) -> Result<Value, WireError> {
    let id = MODEL
        .shape_id(shape_name)
        .ok_or_else(|| WireError::Encoding(format!("unknown shape {shape_name}")))?;
    decode_shape_value(id, codec, body)
}

/// Encodes `value` as the named model shape, e.g. `"SubscribeToShardEvent"` for the payload of
/// an event-stream message. Unknown shape names are an [`WireError::Encoding`] error.
pub fn encode_shape(shape_name: &str, codec: Codec, value: &Value) -> Result<Vec<u8>, WireError> {
    let id = MODEL
        .shape_id(shape_name)
        .ok_or_else(|| WireError::Encoding(format!("unknown shape {shape_name}")))?;
    encode_with(id, codec, value)
}

fn encode_with(id: model::ShapeId, codec: Codec, value: &Value) -> Result<Vec<u8>, WireError> {
    match codec {
        Codec::Json => {
            let mut out = String::new();
            json::write(Some(id), value, &mut out);
            Ok(out.into_bytes())
        }
        Codec::Cbor => {
            let mut e = minicbor::Encoder::new(Vec::new());
            cbor::write(Some(id), value, &mut e)?;
            Ok(e.into_writer())
        }
    }
}

/// The body of an error response: `{"__type": error_type, "message": message}`.
///
/// `SerializationException` uses the key `Message`, as Coral does; an empty message is left
/// out entirely (Coral's answer to an empty or unparsable body is `{"__type": ...}` alone).
pub fn encode_error(codec: Codec, error_type: &str, message: &str) -> Vec<u8> {
    let key = if error_type == "SerializationException" {
        "Message"
    } else {
        "message"
    };
    let message = Some(message).filter(|m| !m.is_empty());
    match codec {
        Codec::Json => {
            // Written by hand to keep `__type` first, as the real service does.
            let mut out = String::from("{\"__type\":");
            json::write(None, &Value::from(error_type), &mut out);
            if let Some(message) = message {
                out.push_str(&format!(",\"{key}\":"));
                json::write(None, &Value::from(message), &mut out);
            }
            out.push('}');
            out.into_bytes()
        }
        Codec::Cbor => {
            let mut e = minicbor::Encoder::new(Vec::new());
            // Writing to a Vec cannot fail.
            let _ = e
                .map(if message.is_some() { 2 } else { 1 })
                .and_then(|e| e.str("__type"))
                .and_then(|e| e.str(error_type));
            if let Some(message) = message {
                let _ = e.str(key).and_then(|e| e.str(message));
            }
            e.into_writer()
        }
    }
}
