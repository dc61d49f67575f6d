//! Replies that carry records (`GetRecordsOutput`, `SubscribeToShardEvent`), written straight
//! into one buffer sized up front.
//!
//! The generic writers go through a `serde_json::Value`: every record becomes a map, its data
//! a base64 string (and, for CBOR, bytes again). A 10 MiB page spends most of its time there,
//! so the `Records` member is written here from borrowed fields instead, with SIMD base64.
//! The reply's other members are few and small: they still take the generic path, and are
//! spliced in, so their rules (omissions, timestamps, nested shapes) live in one place.
//!
//! Members come out in the order the generic writers use (sorted by name; `Records` sorts
//! after every other member of both shapes), so the bytes match theirs.

use minicbor::Encoder;
use minicbor::data::Tag;
use serde_json::Value;

use crate::cbor::enc;
use crate::error::WireError;
use crate::json;
use crate::model::{Kind, MODEL, ShapeId};
use crate::operation::Codec;

/// One record of a reply, borrowed from wherever it was read.
#[derive(Debug, Clone, Copy)]
pub struct RecordFields<'a> {
    pub sequence_number: &'a str,
    /// `ApproximateArrivalTimestamp`, in epoch milliseconds.
    pub arrival_ms: i64,
    pub data: &'a [u8],
    pub partition_key: &'a str,
    /// Left out of the record when `None`.
    pub encryption_type: Option<&'a str>,
}

const RECORDS: &str = "Records";

/// Encodes a structure of the model shape `shape_name` whose `Records` member is `records`
/// and whose other members are `rest`, a JSON-convention object without `Records` (as
/// [`crate::encode_shape`] takes it). `records` is walked twice: once to size the buffer, once
/// to write it.
pub fn encode_with_records<'a, I>(
    shape_name: &str,
    codec: Codec,
    records: I,
    rest: &Value,
) -> Result<Vec<u8>, WireError>
where
    I: Iterator<Item = RecordFields<'a>> + Clone,
{
    let id = MODEL
        .shape_id(shape_name)
        .ok_or_else(|| WireError::Encoding(format!("unknown shape {shape_name}")))?;
    let has_records = matches!(&MODEL.shape(id).kind,
        Kind::Structure(members) if members.iter().any(|m| m.name == RECORDS));
    let rest_map = rest.as_object();
    if !has_records || rest_map.is_none_or(|m| m.contains_key(RECORDS)) {
        return Err(WireError::Encoding(format!(
            "{shape_name} with records needs an object without {RECORDS}"
        )));
    }
    match codec {
        Codec::Json => Ok(json_reply(id, records, rest).into_bytes()),
        Codec::Cbor => cbor_reply(id, records, rest),
    }
}

const JSON_RECORD_KEYS: [&str; 5] = [
    "{\"ApproximateArrivalTimestamp\":",
    ",\"Data\":\"",
    "\",\"EncryptionType\":",
    ",\"PartitionKey\":",
    ",\"SequenceNumber\":",
];

fn json_reply<'a>(
    id: ShapeId,
    records: impl Iterator<Item = RecordFields<'a>> + Clone,
    rest: &Value,
) -> String {
    let mut head = String::new();
    json::write(Some(id), rest, &mut head);
    // `{...}` of the other members: keep what lies between the braces.
    let others = head.get(1..head.len().saturating_sub(1)).unwrap_or("");
    let fixed: usize = JSON_RECORD_KEYS.iter().map(|k| k.len()).sum::<usize>() + 1;
    let size = records.clone().fold(others.len() + 16, |size, r| {
        size + fixed
            + 1
            + json::SECONDS_TEXT_MAX
            + base64_simd::STANDARD.encoded_length(r.data.len())
            + json::string_len(r.partition_key)
            + json::string_len(r.sequence_number)
            + r.encryption_type.map_or(0, json::string_len)
    });
    let mut out = String::with_capacity(size);
    out.push('{');
    out.push_str(others);
    if !others.is_empty() {
        out.push(',');
    }
    out.push_str("\"Records\":[");
    for (i, r) in records.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(JSON_RECORD_KEYS[0]);
        json::write_seconds_text(r.arrival_ms, &mut out);
        out.push_str(JSON_RECORD_KEYS[1]);
        base64_simd::STANDARD.encode_append(r.data, &mut out);
        if let Some(encryption_type) = r.encryption_type {
            out.push_str(JSON_RECORD_KEYS[2]);
            json::write_string(encryption_type, &mut out);
        } else {
            out.push('"');
        }
        out.push_str(JSON_RECORD_KEYS[3]);
        json::write_string(r.partition_key, &mut out);
        out.push_str(JSON_RECORD_KEYS[4]);
        json::write_string(r.sequence_number, &mut out);
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// The most bytes a CBOR head (major type and argument) takes.
const CBOR_HEAD_MAX: usize = 9;

fn cbor_reply<'a>(
    id: ShapeId,
    records: impl Iterator<Item = RecordFields<'a>> + Clone,
    rest: &Value,
) -> Result<Vec<u8>, WireError> {
    let mut head = Encoder::new(Vec::new());
    crate::cbor::write(Some(id), rest, &mut head)?;
    let head = head.into_writer();
    // A map of fewer than 24 members has a one-byte head; the model's structures all do.
    let members = match head.first() {
        Some(&b) if (0xa0..0xb7).contains(&b) => u64::from(b - 0xa0),
        _ => return Err(WireError::Encoding("unexpected head of a reply map".into())),
    };
    let keys = ["ApproximateArrivalTimestamp", "Data", "EncryptionType"];
    let fixed = keys.iter().map(|k| k.len()).sum::<usize>()
        + "PartitionKey".len()
        + "SequenceNumber".len()
        + 11 * CBOR_HEAD_MAX;
    let mut count = 0;
    let size = records.clone().fold(head.len() + 32, |size, r| {
        count += 1;
        size + fixed
            + r.data.len()
            + r.partition_key.len()
            + r.sequence_number.len()
            + r.encryption_type.map_or(0, str::len)
    });
    let mut e = Encoder::new(Vec::with_capacity(size));
    e.map(members + 1).map_err(enc)?;
    e.writer_mut().extend_from_slice(&head[1..]);
    e.str(RECORDS).map_err(enc)?.array(count).map_err(enc)?;
    for r in records {
        e.map(if r.encryption_type.is_some() { 5 } else { 4 })
            .map_err(enc)?
            .str(keys[0])
            .map_err(enc)?
            // The generic writer's form: tag 1, integer epoch milliseconds.
            .tag(Tag::new(1))
            .map_err(enc)?
            .i64(r.arrival_ms)
            .map_err(enc)?
            .str(keys[1])
            .map_err(enc)?
            .bytes(r.data)
            .map_err(enc)?;
        if let Some(encryption_type) = r.encryption_type {
            e.str(keys[2])
                .map_err(enc)?
                .str(encryption_type)
                .map_err(enc)?;
        }
        e.str("PartitionKey")
            .map_err(enc)?
            .str(r.partition_key)
            .map_err(enc)?
            .str("SequenceNumber")
            .map_err(enc)?
            .str(r.sequence_number)
            .map_err(enc)?;
    }
    Ok(e.into_writer())
}
