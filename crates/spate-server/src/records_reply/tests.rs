//! The direct writers against the generic path (`serde_json::to_value`, then the model-guided
//! writer): for any output, both bodies must decode to the same value; and the reply in
//! pieces against the one-buffer writer: the same bytes.

use bytes::{Buf, Bytes};
use proptest::prelude::*;
use serde_json::Value;
use spate_engine::ops::get_records::{Output, Record};
use spate_engine::shapes::{Blob, Timestamp};
use spate_engine::{ChildShard, HashKeyRange, SubscribeToShardEvent};
use spate_types::SequenceNumber;
use spate_wire::{Codec, Operation};

use crate::pieces::Pieces;

/// Characters that need escapes in JSON, and some that take several UTF-8 bytes.
fn text(max: usize) -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('\n'),
        Just('\u{0}'),
        Just('\u{8}'),
        Just('\u{1f}'),
        Just('é'),
        Just('😀'),
    ];
    prop::collection::vec(prop_oneof![3 => any::<char>(), 1 => tricky], 0..max)
        .prop_map(String::from_iter)
}

fn data() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..2048).prop_map(Bytes::from),
        // About a megabyte, the largest record.
        1 => (0u8..=255, 0usize..64).prop_map(|(b, extra)| Bytes::from(vec![b; (1 << 20) - extra])),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    record_with(data())
}

/// `records`, or (half the time) `records` numbered as a shard's run of consecutive counters,
/// as a real page is: the writers then format each number from the one before.
fn consecutive(records: impl Strategy<Value = Vec<Record>>) -> impl Strategy<Value = Vec<Record>> {
    (records, any::<bool>()).prop_map(|(mut records, run)| {
        if let (true, Some(first)) = (run, records.first().map(|r| r.sequence_number)) {
            for (i, record) in records.iter_mut().enumerate() {
                record.sequence_number = SequenceNumber {
                    counter: first.counter.wrapping_add(i as u64),
                    ..first
                };
            }
        }
        records
    })
}

/// Data large enough to go out by reference now and then, among data that is not.
fn many_records() -> impl Strategy<Value = Vec<Record>> {
    let data = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..600).prop_map(Bytes::from),
        1 => (any::<u8>(), 60_000usize..70_000).prop_map(|(b, len)| Bytes::from(vec![b; len])),
    ];
    consecutive(prop::collection::vec(record_with(data), 1..20))
}

/// Any sequence number (see [`consecutive`] for runs of them).
fn sequence_number() -> impl Strategy<Value = SequenceNumber> {
    (
        0u64..1 << 36,
        prop_oneof![Just(0u32), any::<u32>()],
        prop_oneof![0u64..4, any::<u64>()],
        0u64..1 << 36,
    )
        .prop_map(
            |(shard_created_secs, shard_index, counter, arrival_secs)| SequenceNumber {
                shard_created_secs,
                shard_index,
                counter,
                arrival_secs,
            },
        )
}

fn record_with(data: impl Strategy<Value = Bytes>) -> impl Strategy<Value = Record> {
    (
        sequence_number(),
        // Whole seconds and every millisecond fraction, either side of the epoch.
        prop_oneof![
            -10_000_000_000_000i64..10_000_000_000_000,
            (0i64..5_000_000_000).prop_map(|s| s * 1000)
        ],
        data,
        text(24),
        prop::option::of(prop_oneof![Just("KMS"), Just("NONE")]),
    )
        .prop_map(|(seq, ms, data, key, encryption)| Record {
            sequence_number: seq,
            approximate_arrival_timestamp: Timestamp(ms),
            data: Blob(data),
            partition_key: key.into(),
            encryption_type: encryption,
        })
}

fn child_shards() -> impl Strategy<Value = Option<Vec<ChildShard>>> {
    let child =
        ("shardId-[0-9]{12}", "[0-9]{1,39}", "[0-9]{1,39}").prop_map(|(id, lo, hi)| ChildShard {
            parent_shards: vec![id.clone()],
            shard_id: id,
            hash_key_range: HashKeyRange {
                starting_hash_key: lo,
                ending_hash_key: hi,
            },
        });
    prop::option::of(prop::collection::vec(child, 0..3))
}

fn output() -> impl Strategy<Value = Output> {
    (
        consecutive(prop::collection::vec(record(), 0..6)),
        prop::option::of("[A-Za-z0-9+/=]{0,120}"),
        0i64..1_000_000_000,
        child_shards(),
    )
        .prop_map(|(records, next, behind, children)| Output {
            records,
            next_shard_iterator: next,
            millis_behind_latest: behind,
            child_shards: children,
        })
}

/// The bytes the pieces send.
fn sent(mut body: Pieces) -> Vec<u8> {
    body.copy_to_bytes(body.remaining()).to_vec()
}

/// What a client reads from a body of the shape.
fn decoded(shape: &str, codec: Codec, body: &[u8]) -> Value {
    let value = match codec {
        Codec::Json => serde_json::from_slice(body).expect("JSON parses"),
        Codec::Cbor => spate_wire::decode_shape(shape, codec, body).expect("CBOR decodes"),
    };
    assert!(value.is_object(), "{value}");
    value
}

fn codecs() -> impl Strategy<Value = Codec> {
    prop_oneof![Just(Codec::Json), Just(Codec::Cbor)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn get_records_replies_match_the_generic_path(output in output(), codec in codecs()) {
        let value = serde_json::to_value(&output).expect("serializes");
        let generic = spate_wire::encode_response(Operation::GetRecords, codec, &value)
            .expect("generic encode");
        let direct = sent(super::get_records(codec, output).expect("direct encode"));
        prop_assert_eq!(
            decoded("GetRecordsOutput", codec, &direct),
            decoded("GetRecordsOutput", codec, &generic)
        );
    }

    #[test]
    fn get_records_in_pieces_are_the_one_buffer_bytes(
        records in prop_oneof![prop::collection::vec(record(), 0..6), many_records()],
        codec in codecs(),
    ) {
        let rest = super::without_records(&Output {
            records: Vec::new(),
            next_shard_iterator: Some("iterator".into()),
            millis_behind_latest: 7,
            child_shards: None,
        })
        .expect("rest");
        let whole = spate_wire::encode_with_records(
            "GetRecordsOutput",
            codec,
            records.iter().map(super::fields),
            &rest,
        )
        .expect("one buffer");
        let pieces = spate_wire::encode_with_records_in_pieces(
            "GetRecordsOutput",
            codec,
            records.iter().map(super::fields),
            &rest,
        )
        .expect("pieces");
        prop_assert!(pieces.iter().all(|p| !p.is_empty()));
        let shared = records.iter().filter(|r| r.data.0.len() >= 64 * 1024).count();
        if codec == Codec::Cbor && shared > 0 {
            // Every large datum is a piece of its own, the very bytes it was read into.
            let by_reference = pieces
                .iter()
                .filter(|p| records.iter().any(|r| r.data.0.as_ptr() == p.as_ptr() && r.data.0.len() == p.len()))
                .count();
            prop_assert_eq!(by_reference, shared);
        } else {
            prop_assert!(pieces.len() <= 1);
        }
        prop_assert_eq!(pieces.concat(), whole);
    }

    #[test]
    fn subscribe_events_match_the_generic_path(
        output in output(),
        continuation in prop::option::of("[0-9]{1,56}"),
        codec in codecs(),
    ) {
        let event = SubscribeToShardEvent {
            records: output.records,
            continuation_sequence_number: continuation,
            millis_behind_latest: output.millis_behind_latest,
            child_shards: output.child_shards,
        };
        let value = serde_json::to_value(&event).expect("serializes");
        let generic = spate_wire::encode_shape("SubscribeToShardEvent", codec, &value)
            .expect("generic encode");
        let direct = super::subscribe_event(codec, &event).expect("direct encode");
        prop_assert_eq!(
            decoded("SubscribeToShardEvent", codec, &direct),
            decoded("SubscribeToShardEvent", codec, &generic)
        );
    }
}

proptest! {
    /// An event's two other members written directly are the generic writer's bytes, with
    /// any continuation text (escapes included) and any lag.
    #[test]
    fn events_without_children_are_the_generic_bytes(
        records in prop::collection::vec(record(), 0..4),
        continuation in text(60),
        millis_behind_latest in any::<i64>(),
        codec in codecs(),
    ) {
        let event = SubscribeToShardEvent {
            records,
            continuation_sequence_number: Some(continuation),
            millis_behind_latest,
            child_shards: None,
        };
        let direct = super::subscribe_event(codec, &event).expect("direct encode");
        let generic = super::subscribe_event_generic(codec, &event).expect("generic encode");
        prop_assert_eq!(direct, generic);
    }
}

/// Timestamps stay plain decimals with at most three fraction digits, as Java clients need.
#[test]
fn json_timestamps_are_plain_decimals() {
    let output = Output {
        records: vec![Record {
            sequence_number: SequenceNumber {
                shard_created_secs: 1_700_000_000,
                shard_index: 0,
                counter: 0,
                arrival_secs: 1_700_000_000,
            },
            approximate_arrival_timestamp: Timestamp(1_700_000_000_120),
            data: Blob(Bytes::from_static(b"hi")),
            partition_key: "k".into(),
            encryption_type: None,
        }],
        next_shard_iterator: None,
        millis_behind_latest: 0,
        child_shards: None,
    };
    let body = sent(super::get_records(Codec::Json, output).expect("encodes"));
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"{"MillisBehindLatest":0,"Records":[{"ApproximateArrivalTimestamp":1700000000.12,"Data":"aGk=","PartitionKey":"k","SequenceNumber":"49646437577108476416916876405825929425585429676275269634"}]}"#
    );
}
