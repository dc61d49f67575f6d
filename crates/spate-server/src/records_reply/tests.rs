//! The direct writers against the generic path (`serde_json::to_value`, then the model-guided
//! writer): for any output, both bodies must decode to the same value.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use spate_engine::ops::get_records::{Output, Record};
use spate_engine::shapes::{Blob, Timestamp};
use spate_engine::{ChildShard, HashKeyRange, SubscribeToShardEvent};
use spate_wire::{Codec, Operation};

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
    (
        "[0-9]{1,56}",
        // Whole seconds and every millisecond fraction, either side of the epoch.
        prop_oneof![
            -10_000_000_000_000i64..10_000_000_000_000,
            (0i64..5_000_000_000).prop_map(|s| s * 1000)
        ],
        data(),
        text(24),
        prop::option::of(prop_oneof![Just("KMS"), Just("NONE")]),
    )
        .prop_map(|(seq, ms, data, key, encryption)| Record {
            sequence_number: seq,
            approximate_arrival_timestamp: Timestamp(ms),
            data: Blob(data),
            partition_key: key,
            encryption_type: encryption.map(str::to_owned),
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
        prop::collection::vec(record(), 0..6),
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
        let direct = super::get_records(codec, output).expect("direct encode");
        prop_assert_eq!(
            decoded("GetRecordsOutput", codec, &direct),
            decoded("GetRecordsOutput", codec, &generic)
        );
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

/// Timestamps stay plain decimals with at most three fraction digits, as Java clients need.
#[test]
fn json_timestamps_are_plain_decimals() {
    let output = Output {
        records: vec![Record {
            sequence_number: "1".into(),
            approximate_arrival_timestamp: Timestamp(1_700_000_000_120),
            data: Blob(Bytes::from_static(b"hi")),
            partition_key: "k".into(),
            encryption_type: None,
        }],
        next_shard_iterator: None,
        millis_behind_latest: 0,
        child_shards: None,
    };
    let body = super::get_records(Codec::Json, output).expect("encodes");
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"{"MillisBehindLatest":0,"Records":[{"ApproximateArrivalTimestamp":1700000000.12,"Data":"aGk=","PartitionKey":"k","SequenceNumber":"1"}]}"#
    );
}
