//! Reading the replies the bench checks: acknowledgements of puts (for FailedRecordCount,
//! sequence order and read-back samples) and GetRecords pages, in JSON or CBOR.

use std::borrow::Cow;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use minicbor::Decoder;
use minicbor::data::Type;
use serde::Deserialize;

use crate::kinesis::{Codec, base64_decoded_len};
use crate::sequence::Sequence;

/// Where an acknowledged record went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub shard: String,
    pub sequence: Sequence,
}

#[derive(Debug, Default)]
pub struct PutRecordsAck {
    pub failed: u64,
    /// One entry per request record, `None` where that record failed.
    pub records: Vec<Option<Ack>>,
}

/// A record as GetRecords returned it. The partition key and bytes are kept only when asked
/// for (read-back checks); throughput runs only count.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub sequence: Sequence,
    pub data_len: usize,
    pub partition_key: String,
    pub data: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<ReadRecord>,
    pub next_iterator: Option<String>,
    pub millis_behind: Option<i64>,
}

pub fn parse_sequence(text: &str) -> anyhow::Result<Sequence> {
    Sequence::parse(text)
        .ok_or_else(|| anyhow!("sequence number {text:?} is not a decimal integer"))
}

#[derive(Deserialize)]
struct JsonAck<'a> {
    #[serde(rename = "ShardId", borrow)]
    shard: Option<Cow<'a, str>>,
    #[serde(rename = "SequenceNumber", borrow)]
    sequence: Option<Cow<'a, str>>,
}

impl JsonAck<'_> {
    fn into_ack(self) -> anyhow::Result<Option<Ack>> {
        match (self.shard, self.sequence) {
            (Some(shard), Some(sequence)) => Ok(Some(Ack {
                shard: shard.into_owned(),
                sequence: parse_sequence(&sequence)?,
            })),
            _ => Ok(None),
        }
    }
}

#[derive(Deserialize)]
struct JsonPutRecords<'a> {
    #[serde(rename = "FailedRecordCount")]
    failed: Option<u64>,
    #[serde(rename = "Records", borrow)]
    records: Vec<JsonAck<'a>>,
}

#[derive(Deserialize)]
struct JsonPage<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<JsonRecord<'a>>,
    #[serde(rename = "NextShardIterator")]
    next_iterator: Option<String>,
    #[serde(rename = "MillisBehindLatest")]
    millis_behind: Option<i64>,
}

#[derive(Deserialize)]
struct JsonRecord<'a> {
    #[serde(rename = "SequenceNumber", borrow)]
    sequence: Cow<'a, str>,
    #[serde(rename = "Data", borrow)]
    data: Cow<'a, str>,
    #[serde(rename = "PartitionKey", borrow)]
    partition_key: Cow<'a, str>,
}

pub fn put_record(codec: Codec, body: &[u8]) -> anyhow::Result<Ack> {
    let ack = match codec {
        Codec::Json => serde_json::from_slice::<JsonAck>(body)?.into_ack()?,
        Codec::Cbor => {
            let mut d = Decoder::new(body);
            cbor_ack(&mut d)?
        }
    };
    ack.ok_or_else(|| anyhow!("PutRecord reply without ShardId and SequenceNumber"))
}

pub fn put_records(codec: Codec, body: &[u8]) -> anyhow::Result<PutRecordsAck> {
    match codec {
        Codec::Json => {
            let reply: JsonPutRecords = serde_json::from_slice(body)?;
            let records = reply
                .records
                .into_iter()
                .map(JsonAck::into_ack)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(PutRecordsAck {
                failed: reply.failed.unwrap_or(0),
                records,
            })
        }
        Codec::Cbor => {
            let mut d = Decoder::new(body);
            let mut ack = PutRecordsAck::default();
            cbor_map(&mut d, |key, d| {
                match key {
                    "FailedRecordCount" => ack.failed = d.u64()?,
                    "Records" => cbor_array(d, |d| {
                        ack.records.push(cbor_ack(d)?);
                        Ok(())
                    })?,
                    _ => d.skip()?,
                }
                Ok(())
            })?;
            Ok(ack)
        }
    }
}

/// A GetRecords reply's `NextShardIterator`, found without parsing the page, when it comes
/// before the records (Spate writes members in name order); `None` when it cannot be read
/// that way, and the page must be parsed first.
pub fn next_iterator_ahead(codec: Codec, body: &[u8]) -> Option<String> {
    let before_records = |key: &[u8], records: &[u8]| {
        let at = memchr::memmem::find(body, key)?;
        let records_at = memchr::memmem::find(body, records)?;
        (at < records_at).then_some(at + key.len())
    };
    match codec {
        Codec::Json => {
            let start = before_records(b"\"NextShardIterator\":\"", b"\"Records\":[")?;
            let len = memchr::memchr2(b'"', b'\\', &body[start..])?;
            (body.get(start + len) == Some(&b'"'))
                .then(|| String::from_utf8(body[start..start + len].to_vec()).ok())?
        }
        Codec::Cbor => {
            // Text-string heads: 0x60 + length, for keys under 24 bytes.
            let start = before_records(b"\x71NextShardIterator", b"\x67Records")?;
            let mut d = Decoder::new(body);
            d.set_position(start);
            d.str().ok().map(str::to_owned)
        }
    }
}

pub fn get_records(codec: Codec, body: &[u8], keep_data: bool) -> anyhow::Result<Page> {
    match codec {
        Codec::Json if !keep_data && let Some(page) = json_page_fast(body) => Ok(page),
        Codec::Json => json_page(body, keep_data),
        Codec::Cbor => {
            let mut reader = CborPageReader::new(keep_data);
            reader.feed(body)?;
            reader.finish(body)
        }
    }
}

/// A CBOR GetRecords page read record by record as it arrives, while its bytes are still in
/// cache: read once a whole 10 MiB page was in, each record's first byte was a cache miss
/// (90% of the decoder's time went to one load), and W3's client spent ~45% of its time
/// parsing, which held the server back.
pub struct CborPageReader {
    page: Page,
    keep_data: bool,
    /// Where the next unread item starts.
    at: usize,
    state: PageState,
}

#[derive(Clone, Copy)]
enum PageState {
    Start,
    /// Members of the page's map left to read (`None`: an indefinite map).
    Members(Option<u64>),
    /// Inside `Records`: items left, and the page's members left after it.
    Records {
        left: Option<u64>,
        members: Option<u64>,
    },
    Done,
}

impl CborPageReader {
    pub fn new(keep_data: bool) -> CborPageReader {
        CborPageReader {
            page: Page::default(),
            keep_data,
            at: 0,
            state: PageState::Start,
        }
    }

    /// Reads what `body`, the page's first bytes so far, holds past what was read before.
    /// An item cut off at the end is read again, whole, by a later call.
    pub fn feed(&mut self, body: &[u8]) -> anyhow::Result<()> {
        loop {
            let mut d = Decoder::new(body);
            d.set_position(self.at);
            match self.step(&mut d) {
                Ok(true) => self.at = d.position(),
                Ok(false) => return Ok(()),
                Err(e) if e.is_end_of_input() => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The page, once `body` is all of it.
    pub fn finish(self, body: &[u8]) -> anyhow::Result<Page> {
        match self.state {
            PageState::Done if self.at == body.len() => Ok(self.page),
            PageState::Done => bail!("{} bytes after the CBOR page", body.len() - self.at),
            _ => bail!("the CBOR page ends at byte {} within an item", self.at),
        }
    }

    /// Reads one item (the page's map head, a member, the end of `Records` or a record);
    /// `false` once the page is read. The reader changes only when the item was whole.
    fn step(&mut self, d: &mut Decoder<'_>) -> CborResult<bool> {
        let next = match self.state {
            PageState::Done => return Ok(false),
            PageState::Start => PageState::Members(d.map()?),
            PageState::Members(left) if at_end(d, left)? => PageState::Done,
            PageState::Members(left) => {
                let members = left.map(|n| n - 1);
                match d.str()? {
                    "Records" => PageState::Records {
                        left: d.array()?,
                        members,
                    },
                    "NextShardIterator" if d.datatype()? == Type::Null => {
                        d.skip()?;
                        PageState::Members(members)
                    }
                    "NextShardIterator" => {
                        self.page.next_iterator = Some(d.str()?.to_owned());
                        PageState::Members(members)
                    }
                    "MillisBehindLatest" => {
                        self.page.millis_behind = Some(d.i64()?);
                        PageState::Members(members)
                    }
                    _ => {
                        d.skip()?;
                        PageState::Members(members)
                    }
                }
            }
            PageState::Records { left, members } if at_end(d, left)? => PageState::Members(members),
            PageState::Records { left, members } => {
                let record = cbor_record(d, self.keep_data)?;
                self.page.records.push(record);
                PageState::Records {
                    left: left.map(|n| n - 1),
                    members,
                }
            }
        };
        self.state = next;
        Ok(true)
    }
}

/// Whether a map or array with `left` items to go (`None`: indefinite) ends here, reading
/// the break that ends an indefinite one.
fn at_end(d: &mut Decoder<'_>, left: Option<u64>) -> CborResult<bool> {
    match left {
        Some(left) => Ok(left == 0),
        None if d.datatype()? == Type::Break => {
            d.set_position(d.position() + 1);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// A JSON GetRecords page, read by serde_json.
fn json_page(body: &[u8], keep_data: bool) -> anyhow::Result<Page> {
    let reply: JsonPage = serde_json::from_slice(body)?;
    let records = reply
        .records
        .into_iter()
        .map(|r| {
            let data = if keep_data {
                Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(r.data.as_bytes())
                        .context("record Data is not base64")?,
                )
            } else {
                None
            };
            Ok(ReadRecord {
                sequence: parse_sequence(&r.sequence)?,
                data_len: base64_decoded_len(r.data.as_bytes()),
                partition_key: if keep_data {
                    r.partition_key.into_owned()
                } else {
                    String::new()
                },
                data,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Page {
        records,
        next_iterator: reply.next_iterator,
        millis_behind: reply.millis_behind,
    })
}

/// A JSON GetRecords page read by a scanner that knows its shape: an object of strings
/// without escapes, numbers and `Records`, an array of flat objects. It finds string ends
/// with memchr and builds nothing per record but its sequence number; serde_json looks at
/// each of a 13 MiB page's bytes in turn, which made W3's client slower than the server.
/// `None` for anything else (escapes, nested values such as `ChildShards`, whitespace),
/// which serde_json then reads.
fn json_page_fast(body: &[u8]) -> Option<Page> {
    let mut s = Scan { b: body, i: 0 };
    let mut page = Page::default();
    s.byte(b'{')?;
    loop {
        let key = s.string()?;
        s.byte(b':')?;
        match key {
            b"Records" => {
                s.byte(b'[')?;
                if s.peek() == Some(b']') {
                    s.i += 1;
                } else {
                    loop {
                        page.records.push(s.record()?);
                        if s.byte(b',').is_none() {
                            s.byte(b']')?;
                            break;
                        }
                    }
                }
            }
            b"NextShardIterator" if s.peek() == Some(b'"') => {
                page.next_iterator = Some(std::str::from_utf8(s.string()?).ok()?.to_owned());
            }
            b"MillisBehindLatest" => {
                page.millis_behind = Some(std::str::from_utf8(s.scalar()?).ok()?.parse().ok()?);
            }
            _ => {
                s.value()?;
            }
        }
        if s.byte(b',').is_none() {
            s.byte(b'}')?;
            break;
        }
    }
    (s.i == body.len()).then_some(page)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn byte(&mut self, want: u8) -> Option<()> {
        (self.peek()? == want).then(|| self.i += 1)
    }

    /// A string without escapes, as its raw bytes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.byte(b'"')?;
        let len = memchr::memchr2(b'"', b'\\', &self.b[self.i..])?;
        let text = &self.b[self.i..self.i + len];
        self.byte_at(self.i + len, b'"')?;
        self.i += len + 1;
        Some(text)
    }

    fn byte_at(&self, at: usize, want: u8) -> Option<()> {
        (*self.b.get(at)? == want).then_some(())
    }

    /// A number, `true`, `false` or `null`.
    fn scalar(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'a'..=b'z' => self.i += 1,
                _ => break,
            }
        }
        (self.i > start).then(|| &self.b[start..self.i])
    }

    /// A string or a scalar; nested values are not this scanner's.
    fn value(&mut self) -> Option<&'a [u8]> {
        if self.peek()? == b'"' {
            self.string()
        } else {
            self.scalar()
        }
    }

    fn record(&mut self) -> Option<ReadRecord> {
        self.byte(b'{')?;
        let (mut sequence, mut data_len) = (None, None);
        loop {
            let key = self.string()?;
            self.byte(b':')?;
            let value = self.value()?;
            match key {
                b"SequenceNumber" => {
                    sequence = Some(Sequence::parse(std::str::from_utf8(value).ok()?)?)
                }
                b"Data" => data_len = Some(base64_decoded_len(value)),
                _ => {}
            }
            if self.byte(b',').is_none() {
                self.byte(b'}')?;
                break;
            }
        }
        Some(ReadRecord {
            sequence: sequence?,
            data_len: data_len?,
            partition_key: String::new(),
            data: None,
        })
    }
}

type CborResult<T> = Result<T, minicbor::decode::Error>;

/// Visits a map's entries, definite or indefinite (the Java SDK writes indefinite ones).
fn cbor_map<'b>(
    d: &mut Decoder<'b>,
    mut entry: impl FnMut(&'b str, &mut Decoder<'b>) -> CborResult<()>,
) -> CborResult<()> {
    match d.map()? {
        Some(len) => {
            for _ in 0..len {
                let key = d.str()?;
                entry(key, d)?;
            }
        }
        None => loop {
            if d.datatype()? == Type::Break {
                d.set_position(d.position() + 1);
                break;
            }
            let key = d.str()?;
            entry(key, d)?;
        },
    }
    Ok(())
}

fn cbor_array<'b>(
    d: &mut Decoder<'b>,
    mut item: impl FnMut(&mut Decoder<'b>) -> anyhow::Result<()>,
) -> CborResult<()> {
    let wrap = |e: anyhow::Error| minicbor::decode::Error::message(e.to_string());
    match d.array()? {
        Some(len) => {
            for _ in 0..len {
                item(d).map_err(wrap)?;
            }
        }
        None => loop {
            if d.datatype()? == Type::Break {
                d.set_position(d.position() + 1);
                break;
            }
            item(d).map_err(wrap)?;
        },
    }
    Ok(())
}

fn cbor_ack(d: &mut Decoder<'_>) -> anyhow::Result<Option<Ack>> {
    let mut shard = None;
    let mut sequence = None;
    cbor_map(d, |key, d| {
        match key {
            "ShardId" => shard = Some(d.str()?),
            "SequenceNumber" => sequence = Some(d.str()?),
            _ => d.skip()?,
        }
        Ok(())
    })?;
    match (shard, sequence) {
        (Some(shard), Some(sequence)) => Ok(Some(Ack {
            shard: shard.to_owned(),
            sequence: parse_sequence(sequence)?,
        })),
        _ => Ok(None),
    }
}

fn cbor_record(d: &mut Decoder<'_>, keep_data: bool) -> CborResult<ReadRecord> {
    let mut sequence = None;
    let mut data: Option<&[u8]> = None;
    let mut partition_key = "";
    cbor_map(d, |key, d| {
        match key {
            "SequenceNumber" => sequence = Some(d.str()?),
            "Data" => data = Some(d.bytes()?),
            "PartitionKey" => partition_key = d.str()?,
            _ => d.skip()?,
        }
        Ok(())
    })?;
    let (Some(sequence), Some(data)) = (sequence, data) else {
        return Err(minicbor::decode::Error::message(
            "CBOR record without SequenceNumber or Data",
        ));
    };
    let sequence = parse_sequence(sequence).map_err(minicbor::decode::Error::message)?;
    Ok(ReadRecord {
        sequence,
        data_len: data.len(),
        partition_key: if keep_data {
            partition_key.to_owned()
        } else {
            String::new()
        },
        data: keep_data.then(|| data.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_put_records_with_a_failed_entry() {
        let body = br#"{"FailedRecordCount":1,"Records":[
            {"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000001"},
            {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow down"}]}"#;
        let ack = put_records(Codec::Json, body).unwrap();
        assert_eq!(ack.failed, 1);
        assert_eq!(
            ack.records[0].as_ref().unwrap().sequence.to_string(),
            "49590338271490256608559692538361571095921575989136588898"
        );
        assert!(ack.records[1].is_none());
    }

    #[test]
    fn cbor_page_with_indefinite_maps() {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("Records").unwrap().array(1).unwrap();
        e.begin_map().unwrap();
        e.str("SequenceNumber").unwrap().str("42").unwrap();
        e.str("ApproximateArrivalTimestamp").unwrap();
        e.tag(minicbor::data::Tag::new(1)).unwrap().u64(1).unwrap();
        e.str("Data").unwrap().bytes(b"abc").unwrap();
        e.str("PartitionKey").unwrap().str("k").unwrap();
        e.end().unwrap();
        e.str("NextShardIterator").unwrap().str("it").unwrap();
        e.str("MillisBehindLatest").unwrap().u64(0).unwrap();
        e.end().unwrap();
        let page = get_records(Codec::Cbor, &e.into_writer(), true).unwrap();
        assert_eq!(page.records[0].sequence, Sequence::parse("42").unwrap());
        assert_eq!(page.records[0].data.as_deref(), Some(&b"abc"[..]));
        assert_eq!(page.records[0].partition_key, "k");
        assert_eq!(page.next_iterator.as_deref(), Some("it"));
        assert_eq!(page.millis_behind, Some(0));
    }

    /// A CBOR page as Spate writes it (definite lengths), or with indefinite ones.
    fn cbor_page(records: &[(Vec<u8>, String)], next: Option<&str>, indefinite: bool) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        if indefinite {
            e.begin_map().unwrap();
        } else {
            e.map(3).unwrap();
        }
        e.str("MillisBehindLatest").unwrap().u64(5).unwrap();
        e.str("NextShardIterator").unwrap();
        match next {
            Some(next) => e.str(next).unwrap(),
            None => e.null().unwrap(),
        };
        e.str("Records").unwrap();
        if indefinite {
            e.begin_array().unwrap();
        } else {
            e.array(records.len() as u64).unwrap();
        }
        for (data, sequence) in records {
            e.map(4).unwrap();
            e.str("ApproximateArrivalTimestamp").unwrap();
            e.tag(minicbor::data::Tag::new(1))
                .unwrap()
                .f64(1.764e9)
                .unwrap();
            e.str("Data").unwrap().bytes(data).unwrap();
            e.str("PartitionKey").unwrap().str("k").unwrap();
            e.str("SequenceNumber").unwrap().str(sequence).unwrap();
        }
        if indefinite {
            e.end().unwrap().end().unwrap();
        }
        e.into_writer()
    }

    proptest::proptest! {
        /// Read as it arrives, in any pieces, a page reads as it does whole; cut short, it
        /// is refused.
        #[test]
        fn a_cbor_page_read_in_pieces_reads_as_it_does_whole(
            records in proptest::collection::vec(
                (proptest::collection::vec(proptest::num::u8::ANY, 0..300), "[0-9]{1,60}"),
                0..8,
            ),
            next in proptest::option::of("[A-Za-z0-9+/=]{0,40}"),
            indefinite in proptest::bool::ANY,
            cuts in proptest::collection::vec(0.0f64..1.0, 0..6),
        ) {
            let body = cbor_page(&records, next.as_deref(), indefinite);
            let whole = summary(&get_records(Codec::Cbor, &body, false).unwrap());
            let expected: Vec<_> = records
                .iter()
                .map(|(data, sequence)| (Sequence::parse(sequence).unwrap().to_string(), data.len()))
                .collect();
            proptest::prop_assert_eq!(&whole, &(expected, next.clone(), Some(5)));

            let mut ends: Vec<usize> = cuts.iter().map(|c| (c * body.len() as f64) as usize).collect();
            ends.sort();
            let mut reader = CborPageReader::new(false);
            for end in ends {
                reader.feed(&body[..end]).unwrap();
            }
            let short = body.len() - 1;
            let mut cut = CborPageReader::new(false);
            cut.feed(&body[..short]).unwrap();
            proptest::prop_assert!(cut.finish(&body[..short]).is_err());
            reader.feed(&body).unwrap();
            proptest::prop_assert_eq!(summary(&reader.finish(&body).unwrap()), whole);
        }
    }

    #[test]
    fn json_page_counts_bytes_without_keeping_them() {
        let body = br#"{"Records":[{"SequenceNumber":"7","ApproximateArrivalTimestamp":1.5,
            "Data":"aGVsbG8=","PartitionKey":"p"}],"NextShardIterator":"n","MillisBehindLatest":3}"#;
        let page = get_records(Codec::Json, body, false).unwrap();
        assert_eq!(page.records[0].data_len, 5);
        assert!(page.records[0].data.is_none());
        assert_eq!(page.millis_behind, Some(3));
    }

    /// What the page reader makes of a page, comparable.
    fn summary(page: &Page) -> (Vec<(String, usize)>, Option<String>, Option<i64>) {
        let records = page
            .records
            .iter()
            .map(|r| (r.sequence.to_string(), r.data_len))
            .collect();
        (records, page.next_iterator.clone(), page.millis_behind)
    }

    #[test]
    fn the_page_scanner_reads_what_serde_reads_or_declines() {
        let spate = br#"{"MillisBehindLatest":12,"NextShardIterator":"AAAA/b+c=","Records":[{"ApproximateArrivalTimestamp":1764000000.123,"Data":"aGVsbG8=","EncryptionType":"NONE","PartitionKey":"k","SequenceNumber":"49590338271490256608559692538361571095921575989136588898"},{"ApproximateArrivalTimestamp":1764000000.5,"Data":"","PartitionKey":"k2","SequenceNumber":"49590338271490256608559692538361571095921575989136588899"}]}"#;
        let fast = json_page_fast(spate).expect("Spate's page shape");
        assert_eq!(summary(&fast), summary(&json_page(spate, false).unwrap()));
        assert_eq!(fast.records[0].data_len, 5);
        let empty = br#"{"MillisBehindLatest":0,"NextShardIterator":null,"Records":[]}"#;
        let fast = json_page_fast(empty).expect("an empty page");
        assert_eq!(summary(&fast), summary(&json_page(empty, false).unwrap()));
        assert_eq!(fast.next_iterator, None);
        for declined in [
            // An escape, a nested member, whitespace, trailing bytes, a cut page.
            &br#"{"NextShardIterator":"a\/b","Records":[]}"#[..],
            br#"{"ChildShards":[{"ShardId":"x"}],"Records":[]}"#,
            br#"{ "Records":[]}"#,
            br#"{"Records":[]}x"#,
            br#"{"Records":[{"Data":"aGk=","SequenceNumber":"1"}"#,
            br#"{"Records":[{"Data":"aGk="}]}"#,
        ] {
            assert!(
                json_page_fast(declined).is_none(),
                "{}",
                String::from_utf8_lossy(declined)
            );
        }
        // Declined pages are still read, by serde_json.
        let child = br#"{"ChildShards":[{"ShardId":"x"}],"Records":[]}"#;
        assert!(
            get_records(Codec::Json, child, false)
                .unwrap()
                .records
                .is_empty()
        );
    }

    proptest::proptest! {
        #[test]
        fn the_page_scanner_agrees_with_serde(
            records in proptest::collection::vec(
                (proptest::collection::vec(proptest::num::u8::ANY, 0..40), "[ -~]{0,12}", "[0-9]{1,60}"),
                0..8,
            ),
            next in proptest::option::of("[A-Za-z0-9+/=]{0,40}"),
            behind in 0i64..1_000_000,
        ) {
            let records: Vec<_> = records
                .iter()
                .map(|(data, key, sequence)| serde_json::json!({
                    "ApproximateArrivalTimestamp": 1.764e9,
                    "Data": base64::engine::general_purpose::STANDARD.encode(data),
                    "PartitionKey": key,
                    "SequenceNumber": sequence,
                }))
                .collect();
            let body = serde_json::to_vec(&serde_json::json!({
                "MillisBehindLatest": behind,
                "NextShardIterator": next,
                "Records": records,
            }))
            .unwrap();
            let slow = summary(&json_page(&body, false).unwrap());
            // Keys with quotes or backslashes are escaped: declined, never misread.
            if let Some(fast) = json_page_fast(&body) {
                proptest::prop_assert_eq!(summary(&fast), slow);
            } else {
                proptest::prop_assert!(body.contains(&b'\\'));
            }
        }
    }
}
