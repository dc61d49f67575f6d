//! A single-pass decoder for the bodies of PutRecords and PutRecord, the data path's hot
//! requests, and a direct encoder for their replies.
//!
//! The generic path ([`crate::decode_request`]) walks a body several times (document, raw
//! tree, typed value, constraints) before the server deserializes it once more; for 500
//! records that dominates a request's cost. This path reads the usual body once, straight
//! into owned fields, and checks the same model constraints with the same code.
//!
//! **Exactness.** It only ever *accepts* a body the generic path accepts, with the same
//! result. Anything else (unknown or repeated members, nulls inside lists, other types, JSON
//! escapes, CBOR tags, text blobs, `StreamId`, `DryRun`, a failed constraint) is declined
//! with `None`, and the caller runs the generic path, so every error keeps its exact text.
//!
//! Layout: this file holds the results and the constraint checks; `json.rs` and `cbor.rs`
//! read each codec in the pieces the body arrived in (JSON through `scanner.rs`);
//! `reply.rs` writes the replies.

mod cbor;
mod json;
mod reply;
mod scanner;

use std::sync::LazyLock;

use bytes::Bytes;

use crate::model::{Kind, MODEL, Shape, ShapeId};
use crate::operation::{Codec, Operation};
use crate::validate::{blob_failures, string_failures};

pub use reply::{PutResult, encode_put_record, encode_put_records};

/// A PutRecords body that passed every check the generic path makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordsBody {
    pub stream_name: Option<String>,
    pub stream_arn: Option<String>,
    pub records: Vec<PutEntry>,
}

/// One record of a put, its blob already decoded (CBOR's: a slice of the body, not a copy,
/// unless it ran across two of the body's pieces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEntry {
    pub data: Bytes,
    pub partition_key: Option<String>,
    pub explicit_hash_key: Option<String>,
}

/// A PutRecord body that passed every check the generic path makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordBody {
    pub stream_name: Option<String>,
    pub stream_arn: Option<String>,
    pub record: PutEntry,
    pub sequence_number_for_ordering: Option<String>,
}

/// Decodes a PutRecords body, or declines (`None`) so the generic path answers it.
pub fn decode_put_records(codec: Codec, body: &Bytes) -> Option<PutRecordsBody> {
    match codec {
        Codec::Json => decode_json_put_records(std::slice::from_ref(body)),
        Codec::Cbor => decode_cbor_put_records(std::slice::from_ref(body)),
    }
}

/// [`decode_put_records`] for a CBOR body given as the pieces it arrived in.
pub fn decode_cbor_put_records(pieces: &[Bytes]) -> Option<PutRecordsBody> {
    checked_records(cbor::put_records(pieces)?)
}

/// [`decode_put_records`] for a JSON body given as the pieces it arrived in, read where
/// they lie.
pub fn decode_json_put_records(pieces: &[Bytes]) -> Option<PutRecordsBody> {
    checked_records(json::put_records(pieces)?)
}

fn checked_records(body: PutRecordsBody) -> Option<PutRecordsBody> {
    let shapes = &*SHAPES;
    let count_ok = match &MODEL.shape(shapes.records).kind {
        Kind::List { len, .. } => {
            let n = body.records.len() as i64;
            len.min.is_none_or(|min| n >= min) && len.max.is_none_or(|max| n <= max)
        }
        _ => false,
    };
    (count_ok && stream_ok(&body.stream_name, &body.stream_arn)).then_some(body)
}

/// Decodes a PutRecord body, or declines (`None`) so the generic path answers it.
pub fn decode_put_record(codec: Codec, body: &Bytes) -> Option<PutRecordBody> {
    match codec {
        Codec::Json => decode_json_put_record(std::slice::from_ref(body)),
        Codec::Cbor => decode_cbor_put_record(std::slice::from_ref(body)),
    }
}

/// [`decode_put_record`] for a CBOR body given as the pieces it arrived in.
pub fn decode_cbor_put_record(pieces: &[Bytes]) -> Option<PutRecordBody> {
    checked_record(cbor::put_record(pieces)?)
}

/// [`decode_put_record`] for a JSON body given as the pieces it arrived in.
pub fn decode_json_put_record(pieces: &[Bytes]) -> Option<PutRecordBody> {
    checked_record(json::put_record(pieces)?)
}

fn checked_record(body: PutRecordBody) -> Option<PutRecordBody> {
    let ordering_ok = optional_ok(SHAPES.sequence_number, &body.sequence_number_for_ordering);
    (ordering_ok && stream_ok(&body.stream_name, &body.stream_arn)).then_some(body)
}

/// The model shapes whose constraints the put bodies carry, found once by member name so
/// the numbers stay the model's.
struct Shapes {
    stream_name: ShapeId,
    stream_arn: ShapeId,
    records: ShapeId,
    data: ShapeId,
    partition_key: ShapeId,
    hash_key: ShapeId,
    sequence_number: ShapeId,
}

static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    let member = |op: Operation, name: &str| -> ShapeId {
        let Kind::Structure(members) = &MODEL.shape(MODEL.input(op)).kind else {
            unreachable!("operation inputs are structures");
        };
        members
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.shape)
            .unwrap_or_else(|| unreachable!("{op} has a member {name}"))
    };
    Shapes {
        stream_name: member(Operation::PutRecord, "StreamName"),
        stream_arn: member(Operation::PutRecord, "StreamARN"),
        records: member(Operation::PutRecords, "Records"),
        data: member(Operation::PutRecord, "Data"),
        partition_key: member(Operation::PutRecord, "PartitionKey"),
        hash_key: member(Operation::PutRecord, "ExplicitHashKey"),
        sequence_number: member(Operation::PutRecord, "SequenceNumberForOrdering"),
    }
});

fn shape(id: ShapeId) -> &'static Shape {
    MODEL.shape(id)
}

fn optional_ok(id: ShapeId, value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_none_or(|s| string_failures(shape(id), s).is_empty())
}

fn stream_ok(name: &Option<String>, arn: &Option<String>) -> bool {
    optional_ok(SHAPES.stream_name, name) && optional_ok(SHAPES.stream_arn, arn)
}

/// A record's members as the codec read them; `None` from [`Self::finish`] declines.
#[derive(Default)]
struct EntryParts<'a> {
    data: Option<Bytes>,
    partition_key: Option<&'a str>,
    explicit_hash_key: Option<&'a str>,
}

impl EntryParts<'_> {
    /// Checks the record's constraints. `Data` is required by the model: a record without
    /// it is the generic path's to refuse.
    fn finish(self) -> Option<PutEntry> {
        let data = self.data?;
        let shapes = &*SHAPES;
        let ok = blob_failures(shape(shapes.data), data.len()).is_empty()
            && self
                .partition_key
                .is_none_or(|s| string_failures(shape(shapes.partition_key), s).is_empty())
            && self
                .explicit_hash_key
                .is_none_or(|s| string_failures(shape(shapes.hash_key), s).is_empty());
        ok.then(|| PutEntry {
            data,
            partition_key: self.partition_key.map(str::to_owned),
            explicit_hash_key: self.explicit_hash_key.map(str::to_owned),
        })
    }
}

/// The `=` that end a JSON blob, if it has the form the generic path accepts: padded to a
/// multiple of four, with at most two `=`. The alphabet is checked when it is decoded.
fn padding(b: &[u8]) -> Option<usize> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let padding = b.iter().rev().take_while(|c| **c == b'=').count();
    (padding <= 2).then_some(padding)
}

/// The length a JSON blob decodes to, if it has the form [`padding`] checks.
fn decoded_len(b: &[u8]) -> Option<usize> {
    Some(b.len() / 4 * 3 - padding(b)?)
}

/// Decodes a JSON blob exactly when the generic path would accept it: standard alphabet,
/// padded to a multiple of four, and canonical (unused bits of the last character zero),
/// as Coral's check and the `base64` crate's `STANDARD` both demand. The bytes are appended
/// to `out`, which keeps its length when the blob is refused.
fn decode_base64_into(b: &[u8], out: &mut Vec<u8>) -> Option<()> {
    // The SIMD decoder checks the alphabet and where padding may stand; the last group's
    // spare bits are checked here rather than trusted to it.
    let canonical = match (b.len(), padding(b)?) {
        (0, _) | (_, 0) => true,
        (n, 1) => sextet(b[n - 2])? & 0b11 == 0,
        (n, _) => sextet(b[n - 3])? & 0b1111 == 0,
    };
    if !canonical {
        return None;
    }
    base64_simd::STANDARD.decode_append(b, out).ok()
}

/// [`decode_base64_into`] a buffer of its own, allocated at the exact size.
fn decode_base64(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(decoded_len(b)?);
    decode_base64_into(b, &mut out)?;
    Some(out)
}

fn sextet(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

/// Sets a member read once; a repeated member declines (the codecs disagree on which
/// occurrence wins, so only the generic path may answer it).
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

#[cfg(test)]
mod tests;
