//! awsJson bodies of the put operations, read by a scanner that knows their one shape.
//!
//! It takes objects, arrays, strings, and `null` for an optional member (read as absent,
//! exactly as the generic path drops it), and declines anything else: escapes, numbers,
//! booleans, unknown or repeated members, bytes after the body. Declining is always safe,
//! since the generic path then answers, so the scanner need only be exact about what it
//! accepts. The end of a string is found with `memchr`, which picks SIMD instructions at run
//! time: a `Data` string of 1.4 KB is most of a record's bytes. The body is read in the
//! pieces it arrived in (see `scanner.rs`).

use std::borrow::Cow;

use bytes::Bytes;

use super::scanner::Scanner;
use super::{
    EntryParts, PutEntry, PutRecordBody, PutRecordsBody, decode_base64, decode_base64_into,
    decoded_len, set_once,
};

pub(super) fn put_records(pieces: &[Bytes]) -> Option<PutRecordsBody> {
    let mut s = Scanner::new(pieces);
    let (mut stream_name, mut stream_arn, mut records) = (None, None, None);
    s.object(|s, member| match member {
        b"StreamName" => set_once(&mut stream_name, s.nullable_string()?),
        b"StreamARN" => set_once(&mut stream_arn, s.nullable_string()?),
        b"Records" => set_once(&mut records, entries(s)?),
        _ => None,
    })?;
    s.end()?;
    Some(PutRecordsBody {
        stream_name: stream_name.flatten().map(Cow::into_owned),
        stream_arn: stream_arn.flatten().map(Cow::into_owned),
        records: records?,
    })
}

pub(super) fn put_record(pieces: &[Bytes]) -> Option<PutRecordBody> {
    let mut s = Scanner::new(pieces);
    let (mut stream_name, mut stream_arn, mut ordering) = (None, None, None);
    let mut entry = Entry::default();
    s.object(|s, member| match member {
        b"StreamName" => set_once(&mut stream_name, s.nullable_string()?),
        b"StreamARN" => set_once(&mut stream_arn, s.nullable_string()?),
        b"SequenceNumberForOrdering" => set_once(&mut ordering, s.nullable_string()?),
        _ => entry.member(s, member),
    })?;
    s.end()?;
    Some(PutRecordBody {
        stream_name: stream_name.flatten().map(Cow::into_owned),
        stream_arn: stream_arn.flatten().map(Cow::into_owned),
        record: {
            // The base64 check refuses any byte outside its alphabet, so the raw text needs
            // no other check (control characters, UTF-8).
            let data = decode_base64(entry.data.as_deref()?)?;
            entry.finish(Bytes::from(data))?
        },
        sequence_number_for_ordering: ordering.flatten().map(Cow::into_owned),
    })
}

/// The model's bound on PutRecords entries, for sizing only: the count is checked by the
/// caller against the model itself.
const MAX_ENTRIES: usize = 500;

/// The `Records` array.
fn entries(s: &mut Scanner<'_>) -> Option<Vec<PutEntry>> {
    s.eat(b'[')?;
    // Sized once from the body: an entry takes at least ~20 bytes of it, and a valid body
    // has at most 500 entries (more declines below, growing the vector as it must).
    let mut entries = Vec::with_capacity((s.len / 20).min(MAX_ENTRIES));
    if s.peek()? == b']' {
        s.bump();
        return Some(Vec::new());
    }
    loop {
        let mut entry = Entry::default();
        s.object(|s, member| entry.member(s, member))?;
        entries.push(entry);
        match s.peek()? {
            b',' => s.bump(),
            b']' => {
                s.bump();
                return finish_entries(entries);
            }
            _ => return None,
        }
    }
}

/// Decodes every record's data into one buffer, allocated once at the size the encoded
/// lengths give, and hands each record its part as a slice of it: no allocation per record,
/// and none when the journal later takes its share of the buffer.
fn finish_entries(entries: Vec<Entry<'_>>) -> Option<Vec<PutEntry>> {
    let mut size = 0;
    for entry in &entries {
        // `Data` may not be missing: the model requires it.
        size += decoded_len(entry.data.as_deref()?)?;
    }
    let mut decoded = Vec::with_capacity(size);
    let mut ends = Vec::with_capacity(entries.len());
    for entry in &entries {
        // The base64 check refuses any byte outside its alphabet, so the raw text needs no
        // other check (control characters, UTF-8).
        decode_base64_into(entry.data.as_deref()?, &mut decoded)?;
        ends.push(decoded.len());
    }
    let decoded = Bytes::from(decoded);
    // A loop rather than `collect` into `Option<Vec<_>>`, which cannot size the vector up
    // front and would regrow it.
    let mut records = Vec::with_capacity(entries.len());
    let mut start = 0;
    for (entry, end) in entries.into_iter().zip(ends) {
        records.push(entry.finish(decoded.slice(start..end))?);
        start = end;
    }
    Some(records)
}

/// A record's members as read; a nullable member is `Some(None)` once read as `null`.
#[derive(Default)]
struct Entry<'a> {
    data: Option<Cow<'a, [u8]>>,
    partition_key: Option<Option<Cow<'a, str>>>,
    explicit_hash_key: Option<Option<Cow<'a, str>>>,
}

impl<'a> Entry<'a> {
    fn member(&mut self, s: &mut Scanner<'a>, name: &[u8]) -> Option<()> {
        match name {
            // `Data` may not be null: the model requires it.
            b"Data" => set_once(&mut self.data, s.raw_string()?),
            b"PartitionKey" => set_once(&mut self.partition_key, s.nullable_string()?),
            b"ExplicitHashKey" => set_once(&mut self.explicit_hash_key, s.nullable_string()?),
            _ => None,
        }
    }

    /// The record, given its data decoded.
    fn finish(self, data: Bytes) -> Option<PutEntry> {
        EntryParts {
            data: Some(data),
            partition_key: self.partition_key.flatten().as_deref(),
            explicit_hash_key: self.explicit_hash_key.flatten().as_deref(),
        }
        .finish()
    }
}
