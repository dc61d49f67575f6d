//! Type errors, both codecs in and out, error bodies and serde helpers.

use minicbor::Encoder;
use minicbor::data::Tag;
use serde_json::{Value, json};

use super::*;

#[test]
fn type_errors_use_coral_texts() {
    use Operation::*;
    let cases: Vec<(Operation, Value, &str)> = vec![
        (
            ListShards,
            json!({"MaxResults": "23"}),
            "class java.lang.String can not be converted to an Integer",
        ),
        (
            ListShards,
            json!({"MaxResults": true}),
            "class java.lang.Boolean can not be converted to an Integer",
        ),
        (
            ListShards,
            json!({"MaxResults": []}),
            "Start of list found where not expected",
        ),
        (
            ListShards,
            json!({"MaxResults": {}}),
            "Start of structure or map found where not expected.",
        ),
        (
            DeleteStream,
            json!({"StreamName": true}),
            "class java.lang.Boolean can not be converted to an String",
        ),
        (
            DeleteStream,
            json!({"StreamName": 23}),
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
        ),
        (
            DeleteStream,
            json!({"StreamName": 34.56}),
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
        ),
        (
            DeleteStream,
            json!({"StreamName": {}}),
            "Start of structure or map found where not expected.",
        ),
        (
            DeleteStream,
            json!({"EnforceConsumerDeletion": "yes"}),
            "'YES' can not be converted to an Boolean",
        ),
        (
            PutRecord,
            json!({"Data": true}),
            "class java.lang.Boolean can not be converted to a Blob",
        ),
        (
            PutRecord,
            json!({"Data": "23456"}),
            "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5",
        ),
        (
            PutRecord,
            json!({"Data": "=+/="}),
            "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='",
        ),
        (
            PutRecord,
            json!({"Data": "+/+="}),
            "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
        ),
        (
            PutRecords,
            json!({"Records": true}),
            "Expected list or null",
        ),
        (
            PutRecords,
            json!({"Records": {}}),
            "Start of structure or map found where not expected.",
        ),
        (PutRecords, json!({"Records": [3]}), "Expected null"),
        (
            PutRecords,
            json!({"Records": [[]]}),
            "Start of list found where not expected",
        ),
        (AddTagsToStream, json!({"Tags": 1}), "Expected map or null"),
        (
            AddTagsToStream,
            json!({"Tags": []}),
            "Start of list found where not expected",
        ),
        (
            CreateStream,
            json!({"StreamModeDetails": "x"}),
            "Expected null",
        ),
        (
            GetShardIterator,
            json!({"Timestamp": "1700000000"}),
            "class java.lang.String can not be converted to milliseconds since epoch",
        ),
        (
            GetShardIterator,
            json!({"Timestamp": false}),
            "class java.lang.Boolean can not be converted to milliseconds since epoch",
        ),
    ];
    for (op, body, want) in cases {
        assert_eq!(serialization(op, body.clone()), want, "{op} {body}");
    }
}

#[test]
fn malformed_bodies() {
    for codec in [Codec::Json, Codec::Cbor] {
        for body in [&b""[..], b"{", b"\xff\xff", b"null", b"\xf6"] {
            let r = decode_request(Operation::ListStreams, codec, body);
            assert!(
                matches!(r, Err(WireError::Serialization(_))),
                "{codec:?} {body:?} {r:?}"
            );
        }
    }
    assert_eq!(
        serialization(Operation::ListStreams, json!([])),
        "Start of list found where not expected"
    );
    assert_eq!(
        serialization(Operation::ListStreams, json!("x")),
        "Expected null"
    );
    // Trailing bytes after the CBOR item.
    assert!(decode_request(Operation::ListStreams, Codec::Cbor, b"\xa0\x00").is_err());
}

#[test]
fn normalizes_unknown_members_nulls_and_numbers() {
    let v = json_req(
        Operation::ListShards,
        json!({"StreamName": "s", "Bogus": 1, "NextToken": null, "MaxResults": 12.7, "ShardFilter": {"Type": "AT_LATEST", "X": 1}}),
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"StreamName": "s", "MaxResults": 12, "ShardFilter": {"Type": "AT_LATEST"}})
    );
    let v = json_req(Operation::ListShards, json!({"MaxResults": 1e12})).unwrap_err();
    assert!(
        matches!(v, WireError::Validation(m) if m.contains("Value '2147483647' at 'maxResults'"))
    );
    let v = json_req(
        Operation::GetShardIterator,
        json!({"ShardId": "s", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1700000000}),
    )
    .unwrap();
    assert_eq!(v["Timestamp"], json!(1700000000.0));
}

#[test]
fn cbor_indefinite_lengths_tags_and_byte_strings() {
    let body = cbor(|e| {
        e.begin_map().unwrap();
        e.str("StreamName")
            .unwrap()
            .begin_str()
            .unwrap()
            .str("my-")
            .unwrap()
            .str("stream")
            .unwrap()
            .end()
            .unwrap();
        e.str("Records").unwrap().begin_array().unwrap();
        e.begin_map().unwrap();
        e.str("Data")
            .unwrap()
            .begin_bytes()
            .unwrap()
            .bytes(b"hel")
            .unwrap()
            .bytes(b"lo\x00\xff")
            .unwrap()
            .end()
            .unwrap();
        e.str("PartitionKey").unwrap().str("pk").unwrap();
        e.str("Unknown")
            .unwrap()
            .tag(Tag::new(99))
            .unwrap()
            .array(1)
            .unwrap()
            .u8(1)
            .unwrap();
        e.end().unwrap();
        e.map(2)
            .unwrap()
            .str("Data")
            .unwrap()
            .bytes(b"")
            .unwrap()
            .str("PartitionKey")
            .unwrap()
            .str("b")
            .unwrap();
        e.end().unwrap();
        e.end().unwrap();
    });
    let v = decode_request(Operation::PutRecords, Codec::Cbor, &body).unwrap();
    assert_eq!(
        v,
        json!({"StreamName": "my-stream", "Records": [{"Data": "aGVsbG8A/w==", "PartitionKey": "pk"}, {"Data": "", "PartitionKey": "b"}]})
    );
}

#[test]
fn cbor_timestamps_are_milliseconds() {
    for (build, want) in [
        (
            Box::new(|e: &mut Encoder<Vec<u8>>| {
                e.tag(Tag::new(1)).unwrap().u64(1787036486712).unwrap();
            }) as Box<dyn Fn(&mut Encoder<Vec<u8>>)>,
            1787036486.712,
        ),
        (
            Box::new(|e: &mut Encoder<Vec<u8>>| {
                e.u64(1700000000000).unwrap();
            }),
            1700000000.0,
        ),
        (
            Box::new(|e: &mut Encoder<Vec<u8>>| {
                e.tag(Tag::new(1)).unwrap().f64(1700000000500.0).unwrap();
            }),
            1700000000.5,
        ),
    ] {
        let body = cbor(|e| {
            e.map(3).unwrap();
            e.str("ShardId")
                .unwrap()
                .str("shardId-000000000000")
                .unwrap();
            e.str("ShardIteratorType")
                .unwrap()
                .str("AT_TIMESTAMP")
                .unwrap();
            e.str("Timestamp").unwrap();
            build(e);
        });
        let v = decode_request(Operation::GetShardIterator, Codec::Cbor, &body).unwrap();
        assert_eq!(v["Timestamp"], json!(want));
    }
    // The exact bytes from the reference: c1 1b 000001a013accc38.
    let mut body = cbor(|e| {
        e.map(3).unwrap().str("ShardId").unwrap().str("s").unwrap();
    });
    body.extend(cbor(|e| {
        e.str("ShardIteratorType")
            .unwrap()
            .str("AT_TIMESTAMP")
            .unwrap()
            .str("Timestamp")
            .unwrap();
    }));
    body.extend([0xc1, 0x1b, 0, 0, 0x01, 0xa0, 0x13, 0xac, 0xcc, 0x38]);
    let v = decode_request(Operation::GetShardIterator, Codec::Cbor, &body).unwrap();
    assert_eq!(v["Timestamp"], json!(1787036486.712));
}

#[test]
fn cbor_blob_as_base64_text_and_type_errors() {
    let body = cbor(|e| {
        e.map(2)
            .unwrap()
            .str("Data")
            .unwrap()
            .str("aGk=")
            .unwrap()
            .str("PartitionKey")
            .unwrap()
            .str("p")
            .unwrap();
    });
    assert_eq!(
        decode_request(Operation::PutRecord, Codec::Cbor, &body).unwrap()["Data"],
        json!("aGk=")
    );
    let body = cbor(|e| {
        e.map(1)
            .unwrap()
            .str("StreamName")
            .unwrap()
            .bytes(b"x")
            .unwrap();
    });
    assert_eq!(
        decode_request(Operation::DeleteStream, Codec::Cbor, &body),
        Err(WireError::Serialization(
            "class java.nio.HeapByteBuffer can not be converted to an String".into()
        ))
    );
}

#[test]
fn json_output_timestamps_are_plain_decimals() {
    let out = json!({
        "Records": [{"SequenceNumber": "1", "ApproximateArrivalTimestamp": 1700000000.123, "Data": "aGk=", "PartitionKey": "p"}],
        "NextShardIterator": null,
        "MillisBehindLatest": 0,
    });
    let bytes = encode_response(Operation::GetRecords, Codec::Json, &out).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("\"ApproximateArrivalTimestamp\":1700000000.123"),
        "{text}"
    );
    assert!(!text.contains("NextShardIterator"));
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["MillisBehindLatest"],
        json!(0)
    );
    let ts = timestamp_json(1_603_149_588_042);
    let text = String::from_utf8(
        encode_response(
            Operation::DescribeStreamSummary,
            Codec::Json,
            &json!({"StreamDescriptionSummary": {"StreamCreationTimestamp": ts}}),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        text,
        r#"{"StreamDescriptionSummary":{"StreamCreationTimestamp":1603149588.042}}"#
    );
}

#[test]
fn cbor_output_uses_tag_one_millis_and_byte_strings() {
    let out = json!({"Records": [{"SequenceNumber": "1", "ApproximateArrivalTimestamp": 1787036486.712, "Data": "aGk=", "PartitionKey": "p"}], "MillisBehindLatest": 5});
    let bytes = encode_response(Operation::GetRecords, Codec::Cbor, &out).unwrap();
    let ts = [0xc1, 0x1b, 0, 0, 0x01, 0xa0, 0x13, 0xac, 0xcc, 0x38];
    assert!(bytes.windows(ts.len()).any(|w| w == ts), "{bytes:x?}");
    assert!(
        bytes.windows(3).any(|w| w == [0x42, b'h', b'i']),
        "{bytes:x?}"
    );
    // And back through the decoder (timestamps read as milliseconds).
    let id = MODEL.output(Operation::GetRecords).unwrap();
    assert_eq!(decode_shape_value(id, Codec::Cbor, &bytes).unwrap(), out);
}

#[test]
fn empty_outputs_and_error_bodies() {
    assert!(
        encode_response(Operation::CreateStream, Codec::Json, &json!({}))
            .unwrap()
            .is_empty()
    );
    assert!(
        encode_response(Operation::CreateStream, Codec::Cbor, &Value::Null)
            .unwrap()
            .is_empty()
    );
    assert!(
        encode_response(Operation::ListStreams, Codec::Json, &Value::Null)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        encode_error(Codec::Json, "ResourceNotFoundException", "Stream x under account 0 not found."),
        br#"{"__type":"ResourceNotFoundException","message":"Stream x under account 0 not found."}"#
    );
    assert_eq!(
        encode_error(Codec::Json, "SerializationException", ""),
        br#"{"__type":"SerializationException"}"#
    );
    assert_eq!(
        encode_error(Codec::Json, "SerializationException", "Expected null"),
        br#"{"__type":"SerializationException","Message":"Expected null"}"#
    );
    let c = encode_error(Codec::Cbor, "ValidationException", "m");
    let mut d = minicbor::Decoder::new(&c);
    assert_eq!(d.map().unwrap(), Some(2));
    assert_eq!(d.str().unwrap(), "__type");
    assert_eq!(d.str().unwrap(), "ValidationException");
    assert_eq!(d.str().unwrap(), "message");
    assert_eq!(d.str().unwrap(), "m");
    assert_eq!(
        WireError::Validation(String::new()).aws_type(),
        "ValidationException"
    );
    assert_eq!(
        WireError::Serialization(String::new()).aws_type(),
        "SerializationException"
    );
}

#[test]
fn encode_shape_for_event_payloads() {
    let ev = json!({"Records": [], "ContinuationSequenceNumber": "1", "MillisBehindLatest": 0});
    let b = encode_shape("SubscribeToShardEvent", Codec::Json, &ev).unwrap();
    assert_eq!(
        b,
        br#"{"ContinuationSequenceNumber":"1","MillisBehindLatest":0,"Records":[]}"#
    );
    assert!(encode_shape("Nope", Codec::Json, &ev).is_err());
}

#[test]
fn serde_helpers_round_trip() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct R {
        #[serde(with = "crate::epoch_seconds")]
        at: i64,
        #[serde(with = "crate::epoch_seconds::option", default)]
        maybe: Option<i64>,
        #[serde(with = "crate::blob")]
        data: Vec<u8>,
    }
    let r = R {
        at: 1_700_000_000_123,
        maybe: Some(1_700_000_000_000),
        data: b"hello\x00\xff".to_vec(),
    };
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v,
        json!({"at": 1700000000.123, "maybe": 1700000000, "data": "aGVsbG8A/w=="})
    );
    assert_eq!(serde_json::from_value::<R>(v).unwrap(), r);
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"at":1700000000.123,"maybe":1700000000,"data":"aGVsbG8A/w=="}"#
    );
}
