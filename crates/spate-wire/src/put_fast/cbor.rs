//! CBOR bodies of the put operations as the Java SDKs write them: maps and arrays of definite
//! or indefinite length, definite text strings, blobs as definite byte strings. Tags, nulls,
//! chunked strings and blobs sent as text decline.
//!
//! The body is read in the pieces hyper handed over (see [`Cursor`]), so a 700 KB PutRecords
//! body is not first copied into one buffer: each record's data is a slice of the piece it
//! lies in, and only data that runs across two pieces is gathered into a buffer of its own.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;

use super::{EntryParts, PutEntry, PutRecordBody, PutRecordsBody, set_once};

/// CBOR's major types this reader takes.
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
/// The "break" that ends an indefinite-length map or array.
const BREAK: u8 = 0xff;

pub(super) fn put_records(pieces: &[Bytes]) -> Option<PutRecordsBody> {
    let mut c = Cursor::new(pieces);
    let (mut stream_name, mut stream_arn, mut records) = (None, None, None);
    c.map(|key, c| match key {
        b"StreamName" => set_once(&mut stream_name, c.text()?),
        b"StreamARN" => set_once(&mut stream_arn, c.text()?),
        b"Records" => set_once(&mut records, entries(c)?),
        _ => None,
    })?;
    c.end()?;
    Some(PutRecordsBody {
        stream_name: stream_name.map(Cow::into_owned),
        stream_arn: stream_arn.map(Cow::into_owned),
        records: records?,
    })
}

pub(super) fn put_record(pieces: &[Bytes]) -> Option<PutRecordBody> {
    let mut c = Cursor::new(pieces);
    let (mut stream_name, mut stream_arn, mut ordering) = (None, None, None);
    let mut record = Entry::default();
    c.map(|key, c| match key {
        b"StreamName" => set_once(&mut stream_name, c.text()?),
        b"StreamARN" => set_once(&mut stream_arn, c.text()?),
        b"SequenceNumberForOrdering" => set_once(&mut ordering, c.text()?),
        _ => record.member(key, c),
    })?;
    c.end()?;
    Some(PutRecordBody {
        stream_name: stream_name.map(Cow::into_owned),
        stream_arn: stream_arn.map(Cow::into_owned),
        record: record.finish()?,
        sequence_number_for_ordering: ordering.map(Cow::into_owned),
    })
}

/// The `Records` array.
fn entries(c: &mut Cursor<'_>) -> Option<Vec<PutEntry>> {
    let len = c.container(ARRAY)?;
    // The length is the sender's word; the list constraint is checked once all are read.
    let mut records = Vec::with_capacity(len.unwrap_or(0).min(500) as usize);
    let mut read_one = |c: &mut Cursor<'_>| -> Option<()> {
        let mut record = Entry::default();
        c.map(|key, c| record.member(key, c))?;
        records.push(record.finish()?);
        Some(())
    };
    match len {
        Some(n) => {
            for _ in 0..n {
                read_one(c)?;
            }
        }
        None => {
            while !c.at_break()? {
                read_one(c)?;
            }
        }
    }
    Some(records)
}

/// A record's members as read.
#[derive(Default)]
struct Entry<'a> {
    data: Option<Bytes>,
    partition_key: Option<Cow<'a, str>>,
    explicit_hash_key: Option<Cow<'a, str>>,
}

impl<'a> Entry<'a> {
    fn member(&mut self, key: &[u8], c: &mut Cursor<'a>) -> Option<()> {
        match key {
            b"Data" => set_once(&mut self.data, c.blob()?),
            b"PartitionKey" => set_once(&mut self.partition_key, c.text()?),
            b"ExplicitHashKey" => set_once(&mut self.explicit_hash_key, c.text()?),
            _ => None,
        }
    }

    fn finish(self) -> Option<PutEntry> {
        EntryParts {
            data: self.data,
            partition_key: self.partition_key.as_deref(),
            explicit_hash_key: self.explicit_hash_key.as_deref(),
        }
        .finish()
    }
}

static EMPTY: Bytes = Bytes::new();

/// A string's content: where it lies when it lies in one piece, or gathered from several.
enum Content<'a> {
    In(&'a Bytes, Range<usize>),
    Gathered(Vec<u8>),
}

/// CBOR's data items read where they lie, in a body that may come in pieces. Every item
/// head is read byte by byte across a piece's end; a string found whole in one piece is
/// borrowed from it (a blob as a `Bytes` sharing the piece), and one that runs across pieces
/// is gathered into a buffer of its own, after its length is checked against what is left
/// of the body, so a length the body cannot hold allocates nothing.
struct Cursor<'a> {
    /// The piece being read.
    piece: &'a Bytes,
    /// Where in `piece`.
    at: usize,
    /// The pieces after `piece`.
    rest: &'a [Bytes],
    /// Bytes not yet read, all pieces together.
    left: usize,
}

impl<'a> Cursor<'a> {
    fn new(pieces: &'a [Bytes]) -> Cursor<'a> {
        let (piece, rest) = pieces.split_first().unwrap_or((&EMPTY, &[]));
        Cursor {
            piece,
            at: 0,
            rest,
            left: pieces.iter().map(Bytes::len).sum(),
        }
    }

    /// The current piece with at least one unread byte, moving past spent ones; `None` at
    /// the body's end.
    fn unread(&mut self) -> Option<&'a [u8]> {
        while self.at == self.piece.len() {
            let (next, rest) = self.rest.split_first()?;
            self.piece = next;
            self.rest = rest;
            self.at = 0;
        }
        Some(&self.piece[self.at..])
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.unread()?.first()?;
        self.at += 1;
        self.left -= 1;
        Some(b)
    }

    /// An item head: its major type and its argument, `None` for an indefinite length.
    /// Arguments in more bytes than they need are taken, as the generic decoder takes them;
    /// the reserved encodings (28–30) decline.
    fn head(&mut self) -> Option<(u8, Option<u64>)> {
        let initial = self.byte()?;
        let extra = match initial & 0x1f {
            info @ 0..=23 => return Some((initial >> 5, Some(u64::from(info)))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Some((initial >> 5, None)),
            _ => return None,
        };
        let mut arg = 0u64;
        for _ in 0..extra {
            arg = arg << 8 | u64::from(self.byte()?);
        }
        Some((initial >> 5, Some(arg)))
    }

    /// The length of a map or array of `major` type (`None`: indefinite).
    fn container(&mut self, major: u8) -> Option<Option<u64>> {
        let (m, len) = self.head()?;
        (m == major).then_some(len)
    }

    /// Consumes a "break" if one is next.
    fn at_break(&mut self) -> Option<bool> {
        if *self.unread()?.first()? == BREAK {
            self.byte();
            Some(true)
        } else {
            Some(false)
        }
    }

    /// The content of a definite string of `major` type.
    fn string(&mut self, major: u8) -> Option<Content<'a>> {
        let (m, len) = self.head()?;
        let len = usize::try_from(len?).ok()?;
        if m != major || len > self.left {
            return None;
        }
        if len == 0 {
            return Some(Content::In(&EMPTY, 0..0));
        }
        let here = self.unread()?;
        if len <= here.len() {
            let start = self.at;
            self.at += len;
            self.left -= len;
            return Some(Content::In(self.piece, start..start + len));
        }
        let mut gathered = Vec::with_capacity(len);
        while gathered.len() < len {
            let here = self.unread()?;
            let take = here.len().min(len - gathered.len());
            gathered.extend_from_slice(&here[..take]);
            self.at += take;
            self.left -= take;
        }
        Some(Content::Gathered(gathered))
    }

    /// A definite text string (UTF-8 checked).
    fn text(&mut self) -> Option<Cow<'a, str>> {
        match self.string(TEXT)? {
            Content::In(piece, range) => std::str::from_utf8(&piece[range]).ok().map(Cow::Borrowed),
            Content::Gathered(gathered) => String::from_utf8(gathered).ok().map(Cow::Owned),
        }
    }

    /// A definite byte string, sharing its piece's memory when it lies in one: record data
    /// goes on to the journal without a copy or an allocation of its own.
    fn blob(&mut self) -> Option<Bytes> {
        Some(match self.string(BYTES)? {
            Content::In(piece, range) => piece.slice(range),
            Content::Gathered(gathered) => Bytes::from(gathered),
        })
    }

    /// A map's key: a definite text string, as bytes. The members taken are ASCII, so a key
    /// that is not UTF-8 matches none, and the body goes to the generic parser, as an
    /// unknown key does; checking UTF-8 here cost two checks per record for nothing.
    fn key(&mut self) -> Option<Cow<'a, [u8]>> {
        Some(match self.string(TEXT)? {
            Content::In(piece, range) => Cow::Borrowed(&piece[range]),
            Content::Gathered(gathered) => Cow::Owned(gathered),
        })
    }

    /// Reads a map with text keys, handing each value to `member`, which declines (`None`)
    /// for a key it does not take.
    fn map(&mut self, mut member: impl FnMut(&[u8], &mut Self) -> Option<()>) -> Option<()> {
        match self.container(MAP)? {
            Some(n) => {
                for _ in 0..n {
                    let key = self.key()?;
                    member(&key, self)?;
                }
            }
            None => {
                while !self.at_break()? {
                    let key = self.key()?;
                    member(&key, self)?;
                }
            }
        }
        Some(())
    }

    /// The body must be one data item, as the generic parser demands.
    fn end(&self) -> Option<()> {
        (self.left == 0).then_some(())
    }
}
