//! A CBOR request decodes to exactly what its JSON twin decodes to (value or error).
#![allow(clippy::unwrap_used)] // Tests may panic.

use base64::Engine as _;
use minicbor::Encoder;
use minicbor::data::Tag;
use proptest::prelude::*;
use serde_json::{Value, json};
use spate_wire::{Codec, Operation, decode_request};

/// A document with blobs as raw bytes and timestamps as milliseconds, renderable either way.
#[derive(Debug, Clone)]
enum Doc {
    Str(String),
    Int(i64),
    Bool(bool),
    Blob(Vec<u8>),
    TimestampMs(i64),
    List(Vec<Doc>),
    Map(Vec<(String, Doc)>),
}

impl Doc {
    fn to_json(&self) -> Value {
        match self {
            Doc::Str(s) => json!(s),
            Doc::Int(i) => json!(i),
            Doc::Bool(b) => json!(b),
            Doc::Blob(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
            Doc::TimestampMs(ms) => json!(*ms as f64 / 1000.0),
            Doc::List(items) => Value::Array(items.iter().map(Doc::to_json).collect()),
            Doc::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    fn to_cbor(&self, e: &mut Encoder<Vec<u8>>, indefinite: bool) {
        match self {
            Doc::Str(s) if indefinite && s.len() > 1 => {
                let mid = (1..s.len())
                    .find(|i| s.is_char_boundary(*i))
                    .unwrap_or(s.len());
                e.begin_str()
                    .unwrap()
                    .str(&s[..mid])
                    .unwrap()
                    .str(&s[mid..])
                    .unwrap()
                    .end()
                    .unwrap();
            }
            Doc::Str(s) => {
                e.str(s).unwrap();
            }
            Doc::Int(i) => {
                e.i64(*i).unwrap();
            }
            Doc::Bool(b) => {
                e.bool(*b).unwrap();
            }
            Doc::Blob(b) if indefinite => {
                let (x, y) = b.split_at(b.len() / 2);
                e.begin_bytes()
                    .unwrap()
                    .bytes(x)
                    .unwrap()
                    .bytes(y)
                    .unwrap()
                    .end()
                    .unwrap();
            }
            Doc::Blob(b) => {
                e.bytes(b).unwrap();
            }
            Doc::TimestampMs(ms) => {
                e.tag(Tag::new(1)).unwrap().i64(*ms).unwrap();
            }
            Doc::List(items) => {
                if indefinite {
                    e.begin_array().unwrap();
                } else {
                    e.array(items.len() as u64).unwrap();
                }
                for item in items {
                    item.to_cbor(e, indefinite);
                }
                if indefinite {
                    e.end().unwrap();
                }
            }
            Doc::Map(entries) => {
                if indefinite {
                    e.begin_map().unwrap();
                } else {
                    e.map(entries.len() as u64).unwrap();
                }
                for (k, v) in entries {
                    e.str(k).unwrap();
                    v.to_cbor(e, indefinite);
                }
                if indefinite {
                    e.end().unwrap();
                }
            }
        }
    }
}

fn stream_name() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-zA-Z0-9_.-]{1,20}", 1 => ".{0,5}", 1 => "a{120,130}"]
}

fn record() -> impl Strategy<Value = Doc> {
    (
        prop::collection::vec(any::<u8>(), 0..64),
        prop::option::of(prop_oneof!["[a-z]{1,10}", ".{0,3}", "é{250,260}"]),
        prop::option::of(prop_oneof!["0|[1-9][0-9]{0,40}", "0[0-9]{1,3}"]),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(data, pk, hash, junk)| {
            let mut entries = vec![("Data".to_owned(), Doc::Blob(data))];
            entries.extend(pk.map(|p| ("PartitionKey".to_owned(), Doc::Str(p))));
            entries.extend(hash.map(|h| ("ExplicitHashKey".to_owned(), Doc::Str(h))));
            entries.extend(junk.map(|j| ("Unmodeled".to_owned(), Doc::Int(j))));
            Doc::Map(entries)
        })
}

fn put_records() -> impl Strategy<Value = Doc> {
    (
        stream_name(),
        prop::collection::vec(record(), 0..8),
        any::<bool>(),
    )
        .prop_map(|(name, records, dry)| {
            Doc::Map(vec![
                ("StreamName".to_owned(), Doc::Str(name)),
                ("Records".to_owned(), Doc::List(records)),
                ("DryRun".to_owned(), Doc::Bool(dry)),
            ])
        })
}

fn get_shard_iterator() -> impl Strategy<Value = Doc> {
    (
        "shardId-[0-9]{12}|.{0,3}",
        prop_oneof![Just("AT_TIMESTAMP"), Just("LATEST"), Just("bogus")],
        -1_000_000_000_000i64..4_000_000_000_000i64,
        prop::option::of("[0-9]{1,5}"),
    )
        .prop_map(|(shard, ty, ms, seq)| {
            let mut e = vec![
                ("ShardId".to_owned(), Doc::Str(shard)),
                ("ShardIteratorType".to_owned(), Doc::Str(ty.to_owned())),
                ("Timestamp".to_owned(), Doc::TimestampMs(ms)),
            ];
            e.extend(seq.map(|s| ("StartingSequenceNumber".to_owned(), Doc::Str(s))));
            Doc::Map(e)
        })
}

fn get_records() -> impl Strategy<Value = Doc> {
    (".{0,600}", prop::option::of(-5i64..20_000)).prop_map(|(it, limit)| {
        let mut e = vec![("ShardIterator".to_owned(), Doc::Str(it))];
        e.extend(limit.map(|l| ("Limit".to_owned(), Doc::Int(l))));
        Doc::Map(e)
    })
}

fn check(op: Operation, doc: &Doc, indefinite: bool) -> Result<(), TestCaseError> {
    let json_body = doc.to_json().to_string();
    let mut e = Encoder::new(Vec::new());
    doc.to_cbor(&mut e, indefinite);
    let from_json = decode_request(op, Codec::Json, json_body.as_bytes());
    let from_cbor = decode_request(op, Codec::Cbor, e.writer());
    prop_assert_eq!(from_json, from_cbor);
    Ok(())
}

proptest! {
    #[test]
    fn put_records_json_equals_cbor(doc in put_records(), indefinite in any::<bool>()) {
        check(Operation::PutRecords, &doc, indefinite)?;
    }

    #[test]
    fn get_records_json_equals_cbor(doc in get_records(), indefinite in any::<bool>()) {
        check(Operation::GetRecords, &doc, indefinite)?;
    }

    #[test]
    fn get_shard_iterator_json_equals_cbor(doc in get_shard_iterator(), indefinite in any::<bool>()) {
        check(Operation::GetShardIterator, &doc, indefinite)?;
    }
}
