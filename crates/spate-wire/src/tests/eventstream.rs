//! Our event-stream framing against the decoder the AWS SDKs for Rust use (the
//! `aws-smithy-eventstream` crate): every message we encode must decode there to the same
//! headers and payload, and the SubscribeToShard payloads we write must parse as the SDK's
//! events.

use aws_smithy_types::event_stream::HeaderValue as Oracle;
use proptest::prelude::*;
use serde_json::json;

use crate::eventstream::{HeaderValue, encode_message};
use crate::{Codec, encode_shape};

/// An owned header value, so proptest can generate it.
#[derive(Debug, Clone)]
enum Owned {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    Timestamp(i64),
    Uuid([u8; 16]),
}

impl Owned {
    fn borrowed(&self) -> HeaderValue<'_> {
        match self {
            Owned::Bool(v) => HeaderValue::Bool(*v),
            Owned::Byte(v) => HeaderValue::Byte(*v),
            Owned::Short(v) => HeaderValue::Short(*v),
            Owned::Int(v) => HeaderValue::Int(*v),
            Owned::Long(v) => HeaderValue::Long(*v),
            Owned::Bytes(v) => HeaderValue::Bytes(v),
            Owned::String(v) => HeaderValue::String(v),
            Owned::Timestamp(v) => HeaderValue::Timestamp(*v),
            Owned::Uuid(v) => HeaderValue::Uuid(*v),
        }
    }

    /// Whether the oracle's decoded value is this one.
    fn matches(&self, oracle: &Oracle) -> bool {
        match (self, oracle) {
            (Owned::Bool(a), Oracle::Bool(b)) => a == b,
            (Owned::Byte(a), Oracle::Byte(b)) => a == b,
            (Owned::Short(a), Oracle::Int16(b)) => a == b,
            (Owned::Int(a), Oracle::Int32(b)) => a == b,
            (Owned::Long(a), Oracle::Int64(b)) => a == b,
            (Owned::Bytes(a), Oracle::ByteArray(b)) => a[..] == b[..],
            (Owned::String(a), Oracle::String(b)) => a == b.as_str(),
            (Owned::Timestamp(a), Oracle::Timestamp(b)) => b.to_millis().ok() == Some(*a),
            (Owned::Uuid(a), Oracle::Uuid(b)) => u128::from_be_bytes(*a) == *b,
            _ => false,
        }
    }
}

fn header_value() -> impl Strategy<Value = Owned> {
    prop_oneof![
        any::<bool>().prop_map(Owned::Bool),
        any::<i8>().prop_map(Owned::Byte),
        any::<i16>().prop_map(Owned::Short),
        any::<i32>().prop_map(Owned::Int),
        any::<i64>().prop_map(Owned::Long),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Owned::Bytes),
        ".{0,80}".prop_map(Owned::String),
        // The oracle keeps timestamps as seconds and nanoseconds; any millisecond in its range.
        (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(Owned::Timestamp),
        any::<[u8; 16]>().prop_map(Owned::Uuid),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, Owned)>> {
    // Names unique within a message, as the format requires.
    proptest::collection::btree_map("[:a-zA-Z0-9_-]{1,40}", header_value(), 0..8)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn every_message_decodes_in_the_sdk(
        headers in headers(),
        payload in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let borrowed: Vec<(&str, HeaderValue<'_>)> =
            headers.iter().map(|(n, v)| (n.as_str(), v.borrowed())).collect();
        let bytes = encode_message(&borrowed, &payload);
        let message = aws_smithy_eventstream::frame::read_message_from(&bytes[..])
            .map_err(|e| TestCaseError::fail(format!("oracle refused: {e}")))?;
        prop_assert_eq!(&message.payload()[..], &payload[..]);
        prop_assert_eq!(message.headers().len(), headers.len());
        for ((name, value), decoded) in headers.iter().zip(message.headers()) {
            prop_assert_eq!(name.as_str(), decoded.name().as_str());
            prop_assert!(value.matches(decoded.value()), "{value:?} != {:?}", decoded.value());
        }
    }
}

#[test]
fn subscribe_events_decode_in_the_sdk_in_both_codecs() {
    let event = json!({
        "Records": [{
            "SequenceNumber": "49646437577108476416916876405825929425585429676275269634",
            "ApproximateArrivalTimestamp": 1_700_000_000.5,
            "Data": "aGk=",
            "PartitionKey": "p",
        }],
        "ContinuationSequenceNumber": "49646437577108476416916876405825929425585429676275269634",
        "MillisBehindLatest": 0,
        "ChildShards": [{
            "ShardId": "shardId-000000000002",
            "ParentShards": ["shardId-000000000000"],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "1"},
        }],
    });
    for codec in [Codec::Json, Codec::Cbor] {
        let payload = encode_shape("SubscribeToShardEvent", codec, &event).expect("encodes");
        let headers = [
            (":message-type", HeaderValue::String("event")),
            (":event-type", HeaderValue::String("SubscribeToShardEvent")),
            (":content-type", HeaderValue::String(codec.content_type())),
        ];
        let bytes = encode_message(&headers, &payload);
        let message =
            aws_smithy_eventstream::frame::read_message_from(&bytes[..]).expect("decodes");
        assert_eq!(&message.payload()[..], &payload[..]);
        let back = crate::decode_shape_value(
            crate::model::MODEL
                .shape_id("SubscribeToShardEvent")
                .expect("shape"),
            codec,
            &payload,
        )
        .expect("payload parses as the event shape");
        assert_eq!(back, event, "{codec:?}");
    }
}
