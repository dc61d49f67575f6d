//! The fast path against the generic one: base64 acceptance, declines, and reply bytes.
//! (Whole-body equivalence with the typed inputs is tested in spate-server, which knows them.)

use base64::Engine as _;
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::typecheck::check_base64;

/// What the generic path makes of a blob's text: Coral's check, then the serde decoder.
fn generic_base64(text: &str) -> Option<Vec<u8>> {
    check_base64(text).ok()?;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[test]
fn base64_edges_agree_with_the_generic_path() {
    for text in [
        "",
        "AA==",
        "AB==",
        "AAA=",
        "AAB=",
        "AAAA",
        "====",
        "a===",
        "A=AA",
        "AA=A",
        "AA\nA",
        "-_AA",
        "aGVsbG8A/w==",
        "aGk=",
        "aGk",
        "aGk==",
        "+/+=",
        "+/+/",
        "é===",
        "AA ==",
    ] {
        assert_eq!(
            decode_base64(text.as_bytes()),
            generic_base64(text),
            "{text:?}"
        );
    }
}

proptest! {
    #[test]
    fn base64_agrees_with_the_generic_path(text in "[A-Za-z0-9+/=_ -]{0,12}") {
        prop_assert_eq!(decode_base64(text.as_bytes()), generic_base64(&text));
    }

    #[test]
    fn encoded_base64_always_decodes(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let text = base64::engine::general_purpose::STANDARD.encode(&data);
        prop_assert_eq!(decode_base64(text.as_bytes()), Some(data));
    }
}

#[test]
fn reads_the_usual_bodies() {
    let body = json!({"StreamName": "s", "Records": [
        {"Data": "aGk=", "PartitionKey": "k"},
        {"Data": "", "PartitionKey": "é", "ExplicitHashKey": "7"},
    ]});
    let decoded = decode_put_records(Codec::Json, &Bytes::from(body.to_string()));
    assert_eq!(
        decoded,
        Some(PutRecordsBody {
            stream_name: Some("s".into()),
            stream_arn: None,
            records: vec![
                PutEntry {
                    data: Bytes::from_static(b"hi"),
                    partition_key: Some("k".into()),
                    explicit_hash_key: None,
                },
                PutEntry {
                    data: Bytes::new(),
                    partition_key: Some("é".into()),
                    explicit_hash_key: Some("7".into()),
                },
            ],
        })
    );
}

/// A JSON body's record data is decoded into one buffer: each record's data follows the one
/// before it in memory.
#[test]
fn json_record_data_shares_one_buffer() {
    let records: Vec<Value> = ["aGk=", "AAECAw==", "", "/w=="]
        .iter()
        .map(|data| json!({"Data": data, "PartitionKey": "k"}))
        .collect();
    let body = json!({"StreamName": "s", "Records": records}).to_string();
    let decoded = decode_put_records(Codec::Json, &Bytes::from(body)).expect("decodes");
    let data: Vec<&Bytes> = decoded.records.iter().map(|r| &r.data).collect();
    assert_eq!(data, [&b"hi"[..], &[0, 1, 2, 3], b"", &[0xff]]);
    let end = |d: &Bytes| d.as_ptr() as usize + d.len();
    assert_eq!(end(data[0]), data[1].as_ptr() as usize);
    assert_eq!(end(data[1]), data[3].as_ptr() as usize);
}

/// A JSON body read in pieces, down to one byte a piece and with empty ones between, is
/// read as the body in one piece: accepted the same, declined the same.
#[test]
fn json_in_pieces_reads_as_in_one() {
    let in_bytes = |body: &[u8]| -> Vec<Bytes> {
        body.iter()
            .flat_map(|&b| [Bytes::new(), Bytes::copy_from_slice(&[b])])
            .collect()
    };
    let records = json!({"StreamName": "s", "Records": [
        {"Data": "aGk=", "PartitionKey": "ké", "ExplicitHashKey": null},
        {"Data": "AAECAw==", "PartitionKey": "k"},
    ]})
    .to_string();
    let record = r#" { "Data" : "aGk=" , "PartitionKey" : "k", "StreamARN": null } "#;
    for body in [
        records.as_str(),
        record,
        r#"{"Data": "aGk=", "PartitionKey": nul}"#,
    ] {
        let one = Bytes::copy_from_slice(body.as_bytes());
        let pieces = in_bytes(body.as_bytes());
        assert_eq!(
            decode_json_put_records(&pieces),
            decode_put_records(Codec::Json, &one),
            "{body}"
        );
        assert_eq!(
            decode_json_put_record(&pieces),
            decode_put_record(Codec::Json, &one),
            "{body}"
        );
    }
    assert!(decode_json_put_records(&in_bytes(records.as_bytes())).is_some());
    assert!(decode_json_put_record(&in_bytes(record.as_bytes())).is_some());
    assert_eq!(decode_json_put_records(&[]), None);
}

#[test]
fn declines_what_only_the_generic_path_may_answer() {
    let records = |codec, body: &[u8]| decode_put_records(codec, &Bytes::copy_from_slice(body));
    let record =
        |codec, body: &[u8]| decode_put_record(codec, &Bytes::copy_from_slice(body)).map(|_| ());
    let json = |v: Value| v.to_string();
    for body in [
        String::new(),
        "null".into(),
        "[]".into(),
        json(json!({"StreamName": "s", "Records": []})),
        json(json!({"StreamName": "bad name", "Records": [{"Data": "", "PartitionKey": "k"}]})),
        json(json!({"StreamName": "s", "Records": [null]})),
        json(json!({"StreamName": "s", "Records": [["", "k"]]})),
        json(json!({"StreamName": "s", "Records": [{"PartitionKey": "k"}]})),
        json(json!({"StreamName": "s", "Records": [{"Data": "a", "PartitionKey": "k"}]})),
        json(json!({"StreamName": "s", "Records": [{"Data": "", "PartitionKey": ""}]})),
        json(json!({"StreamName": "s", "Records": [{"Data": "", "ExplicitHashKey": "01"}]})),
        json(json!({"StreamName": "s", "Records": [{"Data": "", "Other": 1}]})),
        json(json!({"StreamName": "s", "DryRun": false, "Records": [{"Data": ""}]})),
        r#"{"StreamName": "s", "StreamName": "t", "Records": [{"Data": ""}]}"#.into(),
        r#"{"StreamName": "\u0073", "Records": [{"Data": ""}]}"#.into(),
        r#"{"StreamName": "s", "Records": [{"Data": ""}]} x"#.into(),
    ] {
        assert_eq!(records(Codec::Json, body.as_bytes()), None, "{body}");
    }
    let over = json!({"Data": "", "PartitionKey": "k".repeat(257)});
    assert_eq!(record(Codec::Json, json(over).as_bytes()), None);
    let ordering = json!({"Data": "", "PartitionKey": "k", "SequenceNumberForOrdering": "x"});
    assert_eq!(record(Codec::Json, json(ordering).as_bytes()), None);
    let arn = json!({"Data": "", "PartitionKey": "k", "StreamARN": "arn:nope"});
    assert_eq!(record(Codec::Json, json(arn).as_bytes()), None);
}

/// The reply bytes are exactly the generic encoder's (members in the same order).
#[test]
fn replies_match_the_generic_encoder() {
    let written = PutResult {
        sequence_number: Some("49650000000000000000000000000000000000000000000000000002"),
        shard_id: Some("shardId-000000000001"),
        ..PutResult::default()
    };
    let throttled = PutResult {
        error_code: Some("ProvisionedThroughputExceededException"),
        error_message: Some("Rate exceeded for \"s\"\n"),
        ..PutResult::default()
    };
    let value = json!({
        "FailedRecordCount": 1,
        "Records": [
            {"SequenceNumber": written.sequence_number, "ShardId": written.shard_id},
            {"ErrorCode": throttled.error_code, "ErrorMessage": throttled.error_message},
        ],
        "EncryptionType": "KMS",
    });
    let one =
        json!({"ShardId": "shardId-000000000001", "SequenceNumber": "5", "EncryptionType": "NONE"});
    for codec in [Codec::Json, Codec::Cbor] {
        let generic = crate::encode_response(Operation::PutRecords, codec, &value);
        let fast = encode_put_records(codec, 1, &[written, throttled], "KMS");
        assert_eq!(generic.ok(), Some(fast), "{codec:?}");
        let generic = crate::encode_response(Operation::PutRecord, codec, &one);
        let fast = encode_put_record(codec, "shardId-000000000001", "5", "NONE");
        assert_eq!(generic.ok(), Some(fast), "{codec:?}");
    }
}

/// A CBOR PutRecords body as the Java SDKs write it: `(data, key)` per record, every map and
/// array of definite length, or all of indefinite length.
fn cbor_records(records: &[(&[u8], &str)], indefinite: bool) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    let open_map = |e: &mut minicbor::Encoder<Vec<u8>>, n| {
        if indefinite {
            e.begin_map().map(|_| ())
        } else {
            e.map(n).map(|_| ())
        }
    };
    open_map(&mut e, 2).unwrap();
    e.str("StreamName")
        .unwrap()
        .str("s")
        .unwrap()
        .str("Records")
        .unwrap();
    if indefinite {
        e.begin_array().unwrap();
    } else {
        e.array(records.len() as u64).unwrap();
    }
    for (data, key) in records {
        open_map(&mut e, 2).unwrap();
        e.str("Data").unwrap().bytes(data).unwrap();
        e.str("PartitionKey").unwrap().str(key).unwrap();
        if indefinite {
            e.end().unwrap();
        }
    }
    if indefinite {
        e.end().unwrap().end().unwrap();
    }
    e.into_writer()
}

/// `body` cut into pieces of `size` bytes, with an empty piece before each.
fn in_pieces(body: &[u8], size: usize) -> Vec<Bytes> {
    body.chunks(size)
        .flat_map(|piece| [Bytes::new(), Bytes::copy_from_slice(piece)])
        .collect()
}

/// A CBOR body read in pieces, down to one byte a piece, is read as the body in one piece.
#[test]
fn cbor_in_pieces_reads_as_in_one() {
    let records: [(&[u8], &str); 3] = [(b"hi", "k"), (b"", "é"), (&[0xff; 40], "key")];
    for indefinite in [false, true] {
        let body = cbor_records(&records, indefinite);
        let whole = decode_put_records(Codec::Cbor, &Bytes::from(body.clone()));
        let read = whole.as_ref().expect("decodes");
        let data: Vec<&[u8]> = read.records.iter().map(|r| &r.data[..]).collect();
        assert_eq!(data, [&b"hi"[..], b"", &[0xff; 40]]);
        for size in [1, 2, 3, 7, 64, body.len()] {
            let pieces = in_pieces(&body, size);
            assert_eq!(decode_cbor_put_records(&pieces), whole, "{size}");
        }
        assert_eq!(decode_cbor_put_records(&in_pieces(&body[1..], 5)), None);
    }
    let mut record = minicbor::Encoder::new(Vec::new());
    record.map(2).unwrap();
    record.str("Data").unwrap().bytes(b"hi").unwrap();
    record.str("PartitionKey").unwrap().str("ké").unwrap();
    let record = record.into_writer();
    let whole = decode_put_record(Codec::Cbor, &Bytes::from(record.clone()));
    assert!(whole.is_some());
    assert_eq!(decode_cbor_put_record(&in_pieces(&record, 1)), whole);
    assert_eq!(decode_cbor_put_records(&[]), None);
}

/// Record data lying in one piece is a slice of that piece; data across pieces is gathered.
#[test]
fn cbor_record_data_shares_its_piece() {
    let body = Bytes::from(cbor_records(&[(&[7; 100], "k"), (&[8; 100], "k")], false));
    let read = decode_put_records(Codec::Cbor, &body).expect("decodes");
    let inside = |d: &Bytes| {
        let at = d.as_ptr() as usize - body.as_ptr() as usize;
        at < body.len() && at + d.len() <= body.len()
    };
    assert!(read.records.iter().all(|r| inside(&r.data)));
    let pieces = in_pieces(&body, 64);
    let read = decode_cbor_put_records(&pieces).expect("decodes");
    assert_eq!(read.records[0].data, Bytes::from_static(&[7; 100]));
    assert_eq!(read.records[1].data, Bytes::from_static(&[8; 100]));
}

/// Heads the generic decoder takes or refuses, the fast path takes or declines alike; a length
/// longer than the body declines before anything is allocated for it.
#[test]
fn cbor_heads_agree_with_the_generic_path() {
    let record = |data_head: &[u8], data: &[u8]| {
        let mut body = vec![0xa2, 0x64];
        body.extend_from_slice(b"Data");
        body.extend_from_slice(data_head);
        body.extend_from_slice(data);
        body.push(0x6c);
        body.extend_from_slice(b"PartitionKey");
        body.extend_from_slice(&[0x61, b'k']);
        body
    };
    // (head, data, whether the fast path takes it): a blob's length in more bytes than it
    // needs is taken, as the generic decoder takes it; anything else unusual declines.
    for (head, data, taken) in [
        (&[0x42][..], &b"hi"[..], true),
        (&[0x58, 0x02], b"hi", true),
        (&[0x59, 0x00, 0x02], b"hi", true),
        (&[0x5a, 0, 0, 0, 0x02], b"hi", true),
        (&[0x5b, 0, 0, 0, 0, 0, 0, 0, 0x02], b"hi", true),
        (
            &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            b"hi",
            false,
        ),
        (&[0x5a, 0x7f, 0xff, 0xff, 0xff], b"", false),
        (&[0x5c], b"hi", false),
        (&[0x5f, 0x42], b"hi\xff", false),
        (&[0x62], b"hi", false),
        (&[0xc2, 0x42], b"hi", false),
    ] {
        let body = record(head, data);
        let generic = crate::decode_request(Operation::PutRecord, Codec::Cbor, &body).is_ok();
        let fast = decode_put_record(Codec::Cbor, &Bytes::from(body.clone()));
        if fast.is_some() {
            assert!(
                generic,
                "{head:x?}: the fast path took what the generic path refuses"
            );
        }
        assert_eq!(
            decode_cbor_put_record(&in_pieces(&body, 3)),
            fast,
            "{head:x?}"
        );
        assert_eq!(fast.is_some(), taken, "{head:x?}");
    }
}

proptest! {
    #[test]
    fn cbor_cut_anywhere_reads_the_same(
        records in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..300), "[a-zé]{1,6}"),
            1..20,
        ),
        indefinite in any::<bool>(),
        size in 1usize..400,
    ) {
        let records: Vec<(&[u8], &str)> =
            records.iter().map(|(d, k)| (&d[..], k.as_str())).collect();
        let body = cbor_records(&records, indefinite);
        let read = decode_cbor_put_records(&in_pieces(&body, size)).expect("decodes");
        prop_assert_eq!(read.records.len(), records.len());
        for (got, (data, key)) in read.records.iter().zip(&records) {
            prop_assert_eq!(&got.data[..], *data);
            prop_assert_eq!(got.partition_key.as_deref(), Some(*key));
        }
        prop_assert_eq!(Some(read), decode_put_records(Codec::Cbor, &Bytes::from(body)));
    }
}

/// Members' keys are matched as bytes: a key that is not UTF-8, or that is not a member's,
/// declines (the generic path then answers it), and one cut across pieces still matches.
#[test]
fn cbor_keys_match_as_bytes() {
    let body = |key: &[u8]| {
        let mut body = vec![0xa2, 0x60 | key.len() as u8];
        body.extend_from_slice(key);
        body.extend_from_slice(&[0x42, b'h', b'i', 0x6c]);
        body.extend_from_slice(b"PartitionKey");
        body.extend_from_slice(&[0x61, b'k']);
        body
    };
    let good = body(b"Data");
    let whole = decode_cbor_put_record(&in_pieces(&good, good.len()));
    assert!(whole.is_some());
    for size in 1..good.len() {
        assert_eq!(
            decode_cbor_put_record(&in_pieces(&good, size)),
            whole,
            "{size}"
        );
    }
    for key in [&b"Dat\xff"[..], b"Date", b"data"] {
        let body = body(key);
        assert_eq!(
            decode_cbor_put_record(&in_pieces(&body, 3)),
            None,
            "{key:x?}"
        );
    }
    let not_utf8 = body(b"Dat\xff");
    assert!(crate::decode_request(Operation::PutRecord, Codec::Cbor, &not_utf8).is_err());
}
