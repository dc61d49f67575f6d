//! Replies that carry records (`GetRecordsOutput`, `SubscribeToShardEvent`), written straight
//! into one buffer sized up front, or (CBOR) into pieces that share large record data with
//! the buffers it was read into.
//!
//! The generic writers go through a `serde_json::Value`: every record becomes a map, its data
//! a base64 string (and, for CBOR, bytes again). A 10 MiB page spends most of its time there,
//! so the `Records` member is written here from borrowed fields instead, with SIMD base64.
//! The reply's other members are few and small: they still take the generic path, and are
//! spliced in, so their rules (omissions, timestamps, nested shapes) live in one place.
//!
//! Members come out in the order the generic writers use (sorted by name; `Records` sorts
//! after every other member of both shapes), so the bytes match theirs.

use bytes::Bytes;
use minicbor::Encoder;
use serde_json::Value;
use spate_types::{SequenceFormatter, SequenceNumber};

use crate::cbor::enc;
use crate::error::WireError;
use crate::json;
use crate::model::{Kind, MODEL, ShapeId};
use crate::operation::Codec;

/// One record of a reply, borrowed from wherever it was read.
#[derive(Debug, Clone, Copy)]
pub struct RecordFields<'a> {
    /// Formatted as the reply is written, each from the one before where it can (see
    /// [`SequenceFormatter`]), rather than a string per record made beforehand.
    pub sequence_number: SequenceNumber,
    /// `ApproximateArrivalTimestamp`, in epoch milliseconds.
    pub arrival_ms: i64,
    /// Shared, so that a reply in pieces can send it without copying.
    pub data: &'a Bytes,
    pub partition_key: &'a str,
    /// Left out of the record when `None`.
    pub encryption_type: Option<&'a str>,
}

const RECORDS: &str = "Records";

/// Record data at least this long goes into a reply in pieces by reference; shorter data is
/// copied in with the heads around it. hyper writes at most 64 slices per `writev`, so small
/// pieces mean many small writes and TCP segments: measured on W3's 10 MiB pages, sharing
/// 1 KiB records cost ~20% more server CPU than copying them, and 8 KiB records broke even.
/// From here on a piece is worth its slice, and a page of large records is not held twice.
const BY_REFERENCE_MIN: usize = 64 * 1024;

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
    let id = reply_shape(shape_name, rest)?;
    match codec {
        Codec::Json => Ok(json_reply(&json_others(id, rest), records)),
        Codec::Cbor => Ok(cbor_reply(cbor_others(id, rest)?, records, usize::MAX)?.0),
    }
}

/// A `SubscribeToShardEvent` without child shards (every event but a closed shard's last),
/// as [`encode_with_records`] encodes it, with its two other members written directly: the
/// generic path builds and walks a `serde_json::Value` for them, which cost more than a
/// small event's records. `continuation_sequence_number` is escaped like any string.
pub fn encode_event<'a, I>(
    codec: Codec,
    records: I,
    continuation_sequence_number: &str,
    millis_behind_latest: i64,
) -> Result<Vec<u8>, WireError>
where
    I: Iterator<Item = RecordFields<'a>> + Clone,
{
    // Members in the generic writer's (the model's, sorted) order, before `Records`.
    match codec {
        Codec::Json => {
            let mut others = Vec::with_capacity(64 + continuation_sequence_number.len());
            others.extend_from_slice(b"\"ContinuationSequenceNumber\":");
            json::write_string(continuation_sequence_number, &mut others);
            others.extend_from_slice(b",\"MillisBehindLatest\":");
            others.extend_from_slice(itoa::Buffer::new().format(millis_behind_latest).as_bytes());
            Ok(json_reply(&others, records))
        }
        Codec::Cbor => {
            let mut others = Vec::with_capacity(64 + continuation_sequence_number.len());
            cbor_text("ContinuationSequenceNumber", &mut others);
            cbor_text(continuation_sequence_number, &mut others);
            cbor_text("MillisBehindLatest", &mut others);
            cbor_int(millis_behind_latest, &mut others);
            Ok(cbor_reply((2, others), records, usize::MAX)?.0)
        }
    }
}

/// The bytes [`encode_with_records`] gives, as pieces to be sent one after another. In CBOR,
/// record data of [`BY_REFERENCE_MIN`] bytes or more is a piece of its own, shared with
/// `RecordFields::data` rather than copied, and the CBOR between such data forms the pieces
/// between. JSON, whose data is base64 text, and replies without such data come as one
/// piece. No piece is empty.
pub fn encode_with_records_in_pieces<'a, I>(
    shape_name: &str,
    codec: Codec,
    records: I,
    rest: &Value,
) -> Result<Vec<Bytes>, WireError>
where
    I: Iterator<Item = RecordFields<'a>> + Clone,
{
    let id = reply_shape(shape_name, rest)?;
    let shared = records.clone().any(|r| r.data.len() >= BY_REFERENCE_MIN);
    let whole = match codec {
        Codec::Json => json_reply(&json_others(id, rest), records),
        Codec::Cbor if !shared => cbor_reply(cbor_others(id, rest)?, records, usize::MAX)?.0,
        Codec::Cbor => {
            let (heads, splices) = cbor_reply(cbor_others(id, rest)?, records, BY_REFERENCE_MIN)?;
            return Ok(pieces(heads, splices));
        }
    };
    Ok(if whole.is_empty() {
        Vec::new()
    } else {
        vec![Bytes::from(whole)]
    })
}

/// The shape's id, once it is known to have `Records` and `rest` to be an object without.
fn reply_shape(shape_name: &str, rest: &Value) -> Result<ShapeId, WireError> {
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
    Ok(id)
}

/// Record data left out of a buffer, each with the offset in the buffer where it belongs.
type Splices = Vec<(usize, Bytes)>;

/// `heads` with each splice's data inserted at its offset.
fn pieces(heads: Vec<u8>, splices: Splices) -> Vec<Bytes> {
    let heads = Bytes::from(heads);
    let mut out = Vec::with_capacity(2 * splices.len() + 1);
    let mut at = 0;
    for (offset, data) in splices {
        if offset > at {
            out.push(heads.slice(at..offset));
        }
        out.push(data);
        at = offset;
    }
    if heads.len() > at {
        out.push(heads.slice(at..));
    }
    out
}

const JSON_RECORD_KEYS: [&str; 5] = [
    "{\"ApproximateArrivalTimestamp\":",
    ",\"Data\":\"",
    "\",\"EncryptionType\":",
    ",\"PartitionKey\":",
    ",\"SequenceNumber\":",
];

/// The other members of the reply, as the generic writer writes them, without the braces
/// around them.
fn json_others(id: ShapeId, rest: &Value) -> Vec<u8> {
    let mut head = String::new();
    json::write(Some(id), rest, &mut head);
    // `{...}` of the other members: keep what lies between the braces.
    head.get(1..head.len().saturating_sub(1))
        .unwrap_or("")
        .as_bytes()
        .to_vec()
}

/// The reply with `others`, its other members' JSON without braces, before `Records`.
/// Written as bytes: the body is never needed as a `String`, and sequence digits, held as
/// bytes, go in without a UTF-8 check.
fn json_reply<'a>(
    others: &[u8],
    records: impl Iterator<Item = RecordFields<'a>> + Clone,
) -> Vec<u8> {
    let fixed: usize = JSON_RECORD_KEYS.iter().map(|k| k.len()).sum::<usize>() + 1;
    let size = records.clone().fold(others.len() + 16, |size, r| {
        size + fixed
            + 1
            + json::SECONDS_TEXT_MAX
            + base64_simd::STANDARD.encoded_length(r.data.len())
            + json::string_len(r.partition_key)
            + SequenceNumber::DECIMAL_LEN
            + 2
            + r.encryption_type.map_or(0, json::string_len)
    });
    let mut sequences = SequenceFormatter::default();
    let mut out = Vec::with_capacity(size);
    out.push(b'{');
    out.extend_from_slice(others);
    if !others.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(b"\"Records\":[");
    for (i, r) in records.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(JSON_RECORD_KEYS[0].as_bytes());
        json::write_seconds_text(r.arrival_ms, &mut out);
        out.extend_from_slice(JSON_RECORD_KEYS[1].as_bytes());
        base64_simd::STANDARD.encode_append(r.data, &mut out);
        if let Some(encryption_type) = r.encryption_type {
            out.extend_from_slice(JSON_RECORD_KEYS[2].as_bytes());
            json::write_string(encryption_type, &mut out);
        } else {
            out.push(b'"');
        }
        out.extend_from_slice(JSON_RECORD_KEYS[3].as_bytes());
        json::write_string(r.partition_key, &mut out);
        out.extend_from_slice(JSON_RECORD_KEYS[4].as_bytes());
        // Digits only: nothing to escape.
        out.push(b'"');
        out.extend_from_slice(sequences.digits(r.sequence_number));
        out.push(b'"');
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// How many records ahead of the one being copied a CBOR reply asks for its data to be
/// loaded: the data was last touched when its checksum was checked, some 10 MiB of reads
/// before, and the hardware's own prefetching stops at each 4 KiB page of the page cache.
/// (4 and 12 ahead measured alike; JSON's base64 encoding, slower than the loads, gained
/// nothing from it.)
const PREFETCH_AHEAD: usize = 4;

/// The most bytes a CBOR head (major type and argument) takes.
const CBOR_HEAD_MAX: usize = 9;

/// How many other members the reply has, and their keys and values as the generic writer
/// writes them (the map's head left off).
fn cbor_others(id: ShapeId, rest: &Value) -> Result<(u64, Vec<u8>), WireError> {
    let mut head = Encoder::new(Vec::new());
    crate::cbor::write(Some(id), rest, &mut head)?;
    let mut head = head.into_writer();
    // A map of fewer than 24 members has a one-byte head; the model's structures all do.
    let members = match head.first() {
        Some(&b) if (0xa0..0xb7).contains(&b) => u64::from(b - 0xa0),
        _ => return Err(WireError::Encoding("unexpected head of a reply map".into())),
    };
    head.remove(0);
    Ok((members, head))
}

/// The CBOR reply with `others` (from [`cbor_others`]) before `Records`, except that record
/// data of `by_reference` bytes or more is left out of the buffer: only its head is written,
/// and the data is returned beside, with the offset in the buffer where it belongs.
fn cbor_reply<'a>(
    (members, others): (u64, Vec<u8>),
    records: impl Iterator<Item = RecordFields<'a>> + Clone,
    by_reference: usize,
) -> Result<(Vec<u8>, Splices), WireError> {
    let fixed = CBOR_KEYS.iter().map(|k| k.len()).sum::<usize>() + 6 * CBOR_HEAD_MAX;
    let mut count = 0;
    let mut shared = 0;
    let size = records.clone().fold(others.len() + 33, |size, r| {
        count += 1;
        let data = if r.data.len() >= by_reference {
            shared += 1;
            0
        } else {
            r.data.len()
        };
        size + fixed
            + data
            + r.partition_key.len()
            + SequenceNumber::DECIMAL_LEN
            + r.encryption_type.map_or(0, str::len)
    });
    let mut splices = Vec::with_capacity(shared);
    let mut sequences = SequenceFormatter::default();
    let mut e = Encoder::new(Vec::with_capacity(size));
    e.map(members + 1).map_err(enc)?;
    e.writer_mut().extend_from_slice(&others);
    e.str(RECORDS).map_err(enc)?.array(count).map_err(enc)?;
    // Each record is written as the encoder would write it, from its fixed parts.
    let out = e.writer_mut();
    let mut ahead = records.clone().skip(PREFETCH_AHEAD);
    for r in records {
        if let Some(ahead) = ahead.next() {
            crate::prefetch::prefetch(ahead.data);
        }
        const MAP: u8 = 5 << 5;
        out.push(MAP | if r.encryption_type.is_some() { 5 } else { 4 });
        out.extend_from_slice(CBOR_KEYS[0]);
        cbor_int(r.arrival_ms, out);
        out.extend_from_slice(CBOR_KEYS[1]);
        cbor_head(2, r.data.len() as u64, out);
        if r.data.len() >= by_reference {
            splices.push((out.len(), r.data.clone()));
        } else {
            out.extend_from_slice(r.data);
        }
        if let Some(encryption_type) = r.encryption_type {
            out.extend_from_slice(CBOR_KEYS[2]);
            cbor_text(encryption_type, out);
        }
        out.extend_from_slice(CBOR_KEYS[3]);
        cbor_text(r.partition_key, out);
        out.extend_from_slice(CBOR_KEYS[4]);
        let digits = sequences.digits(r.sequence_number);
        cbor_head(3, digits.len() as u64, out);
        out.extend_from_slice(digits);
    }
    Ok((e.into_writer(), splices))
}

/// A record's keys as encoded text strings, in the generic writer's order; the arrival
/// time's key carries the tag that follows it (1: epoch time, as integer milliseconds).
const CBOR_KEYS: [&[u8]; 5] = [
    b"\x78\x1bApproximateArrivalTimestamp\xc1",
    b"\x64Data",
    b"\x6eEncryptionType",
    b"\x6cPartitionKey",
    b"\x6eSequenceNumber",
];

/// An integer as the encoder writes it: major type 0, or 1 for a negative one.
#[inline(always)]
fn cbor_int(value: i64, out: &mut Vec<u8>) {
    if value >= 0 {
        cbor_head(0, value as u64, out);
    } else {
        cbor_head(1, !(value as u64), out);
    }
}

#[inline]
fn cbor_text(text: &str, out: &mut Vec<u8>) {
    cbor_head(3, text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}

/// A head of major type `major` with argument `value`, in the shortest form, as the encoder
/// writes it. Always inlined: a record reply writes four a record, each with a constant
/// `major`, and as a call it cost ~1% of a CBOR page's CPU.
#[inline(always)]
fn cbor_head(major: u8, value: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match value {
        0..24 => out.push(major | value as u8),
        24..0x100 => out.extend_from_slice(&[major | 24, value as u8]),
        0x100..0x1_0000 => {
            out.push(major | 25);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        0x1_0000..0x1_0000_0000 => {
            out.push(major | 26);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use minicbor::data::Tag;

    use super::*;

    /// Every length class of a head is the encoder's own, and so are the keys.
    #[test]
    fn heads_and_keys_match_the_encoder() {
        let edges = [
            0u64,
            1,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u32::MAX as u64,
            1 << 32,
        ];
        for value in edges.into_iter().chain([u64::MAX]) {
            let mut ours = Vec::new();
            cbor_head(0, value, &mut ours);
            let mut theirs = Encoder::new(Vec::new());
            theirs.u64(value).expect("encodes");
            assert_eq!(ours, theirs.into_writer(), "{value}");
            for ms in [
                value as i64,
                (value as i64).wrapping_neg(),
                i64::MIN,
                i64::MAX,
            ] {
                let mut ours = Vec::new();
                if ms >= 0 {
                    cbor_head(0, ms as u64, &mut ours);
                } else {
                    cbor_head(1, !(ms as u64), &mut ours);
                }
                let mut theirs = Encoder::new(Vec::new());
                theirs.i64(ms).expect("encodes");
                assert_eq!(ours, theirs.into_writer(), "{ms}");
            }
        }
        for len in edges.into_iter().filter(|&len| len < 1 << 20) {
            let text = "x".repeat(len as usize);
            let mut ours = Vec::new();
            cbor_text(&text, &mut ours);
            let mut theirs = Encoder::new(Vec::new());
            theirs.str(&text).expect("encodes");
            assert_eq!(ours, theirs.into_writer(), "{len}");
        }
        let mut theirs = Encoder::new(Vec::new());
        theirs.str("ApproximateArrivalTimestamp").expect("encodes");
        theirs.tag(Tag::new(1)).expect("encodes");
        let names = ["Data", "EncryptionType", "PartitionKey", "SequenceNumber"];
        let mut ours = CBOR_KEYS[0].to_vec();
        for (name, key) in names.into_iter().zip(&CBOR_KEYS[1..]) {
            theirs.str(name).expect("encodes");
            ours.extend_from_slice(key);
        }
        assert_eq!(ours, theirs.into_writer());
    }
}
