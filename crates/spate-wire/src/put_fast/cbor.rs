//! CBOR bodies of the put operations as the Java SDKs write them: maps and arrays of definite
//! or indefinite length, definite text strings, blobs as definite byte strings. Tags, nulls,
//! chunked strings and blobs sent as text decline.

use bytes::Bytes;
use minicbor::Decoder;
use minicbor::data::Type;

use super::{EntryParts, PutEntry, PutRecordBody, PutRecordsBody, set_once};
use crate::cbor::at_break;

pub(super) fn put_records(body: &Bytes) -> Option<PutRecordsBody> {
    let mut d = Decoder::new(body);
    let (mut stream_name, mut stream_arn, mut records) = (None, None, None);
    map(&mut d, |key, d| match key {
        "StreamName" => set_once(&mut stream_name, text(d)?),
        "StreamARN" => set_once(&mut stream_arn, text(d)?),
        "Records" => set_once(&mut records, entries(d, body)?),
        _ => None,
    })?;
    whole(&d, body)?;
    Some(PutRecordsBody {
        stream_name: stream_name.map(str::to_owned),
        stream_arn: stream_arn.map(str::to_owned),
        records: records?,
    })
}

pub(super) fn put_record(body: &Bytes) -> Option<PutRecordBody> {
    let mut d = Decoder::new(body);
    let (mut stream_name, mut stream_arn, mut ordering) = (None, None, None);
    let mut record = EntryParts::default();
    map(&mut d, |key, d| match key {
        "StreamName" => set_once(&mut stream_name, text(d)?),
        "StreamARN" => set_once(&mut stream_arn, text(d)?),
        "SequenceNumberForOrdering" => set_once(&mut ordering, text(d)?),
        _ => entry_member(&mut record, key, d, body),
    })?;
    whole(&d, body)?;
    Some(PutRecordBody {
        stream_name: stream_name.map(str::to_owned),
        stream_arn: stream_arn.map(str::to_owned),
        record: record.finish()?,
        sequence_number_for_ordering: ordering.map(str::to_owned),
    })
}

/// The body must be one data item, as the generic parser demands.
fn whole(d: &Decoder<'_>, body: &[u8]) -> Option<()> {
    (d.position() == body.len()).then_some(())
}

fn entries<'b>(d: &mut Decoder<'b>, body: &Bytes) -> Option<Vec<PutEntry>> {
    let len = match d.datatype().ok()? {
        Type::Array | Type::ArrayIndef => d.array().ok()?,
        _ => return None,
    };
    // The length is the sender's word; the list constraint is checked once all are read.
    let mut records = Vec::with_capacity(len.unwrap_or(0).min(500) as usize);
    let mut read_one = |d: &mut Decoder<'b>| -> Option<()> {
        let mut record = EntryParts::default();
        map(d, |key, d| entry_member(&mut record, key, d, body))?;
        records.push(record.finish()?);
        Some(())
    };
    match len {
        Some(n) => {
            for _ in 0..n {
                read_one(d)?;
            }
        }
        None => {
            while !at_break(d).ok()? {
                read_one(d)?;
            }
        }
    }
    Some(records)
}

fn entry_member<'b>(
    record: &mut EntryParts<'b>,
    key: &str,
    d: &mut Decoder<'b>,
    body: &Bytes,
) -> Option<()> {
    match key {
        "Data" => {
            if d.datatype().ok()? != Type::Bytes {
                return None;
            }
            set_once(&mut record.data, shared(body, d.bytes().ok()?)?)
        }
        "PartitionKey" => set_once(&mut record.partition_key, text(d)?),
        "ExplicitHashKey" => set_once(&mut record.explicit_hash_key, text(d)?),
        _ => None,
    }
}

/// Reads a map with text keys, handing each value to `member`, which declines (`None`) for
/// a key it does not take.
fn map<'b>(
    d: &mut Decoder<'b>,
    mut member: impl FnMut(&'b str, &mut Decoder<'b>) -> Option<()>,
) -> Option<()> {
    let len = match d.datatype().ok()? {
        Type::Map | Type::MapIndef => d.map().ok()?,
        _ => return None,
    };
    match len {
        Some(n) => {
            for _ in 0..n {
                let key = text(d)?;
                member(key, d)?;
            }
        }
        None => {
            while !at_break(d).ok()? {
                let key = text(d)?;
                member(key, d)?;
            }
        }
    }
    Some(())
}

/// `part` of `body` as a `Bytes` sharing the body's memory: record data goes on to the journal
/// without a copy or an allocation of its own.
fn shared(body: &Bytes, part: &[u8]) -> Option<Bytes> {
    if part.is_empty() {
        return Some(Bytes::new());
    }
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= body.len()).then(|| body.slice(start..end))
}

/// A definite-length text string (UTF-8 checked by the decoder).
fn text<'b>(d: &mut Decoder<'b>) -> Option<&'b str> {
    if d.datatype().ok()? != Type::String {
        return None;
    }
    d.str().ok()
}
