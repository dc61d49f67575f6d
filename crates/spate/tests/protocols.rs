//! The two protocols clients other than the Rust SDK speak: HTTP/2 with prior knowledge
//! (JS v3, Java v2 async, KCL) and CBOR bodies (the Java SDKs' default).

mod common;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use bytes::Bytes;
use common::Spate;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use minicbor::data::{Tag, Type};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

/// One request over a fresh HTTP/2 prior-knowledge connection.
async fn h2_call(
    spate: &Spate,
    op: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Bytes) {
    call(spate, http::Version::HTTP_2, op, content_type, body).await
}

/// One request over a fresh connection of `version` (HTTP/2 by prior knowledge). A reply
/// with a Content-Length must carry exactly that many bytes.
async fn call(
    spate: &Spate,
    version: http::Version,
    op: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Bytes) {
    let tcp = tokio::net::TcpStream::connect(spate.addr)
        .await
        .expect("connect");
    let request = http::Request::post(format!("http://{}/", spate.addr))
        .header("content-type", content_type)
        .header("x-amz-target", format!("Kinesis_20131202.{op}"))
        .header("authorization", AUTH)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let response = if version == http::Version::HTTP_2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .expect("h2 handshake");
        tokio::spawn(connection);
        sender.send_request(request).await
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .expect("h1 handshake");
        tokio::spawn(connection);
        sender.send_request(request).await
    }
    .expect("response");
    assert_eq!(response.version(), version);
    let length = response.headers().get("content-length").map(|l| {
        l.to_str()
            .expect("ascii")
            .parse::<usize>()
            .expect("a length")
    });
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    if let Some(length) = length {
        assert_eq!(length, body.len(), "Content-Length");
    }
    (status, content_type, body)
}

#[tokio::test]
async fn http2_prior_knowledge_serves_json() {
    let spate = Spate::in_memory();
    let create = serde_json::json!({"StreamName": "h2", "ShardCount": 1})
        .to_string()
        .into_bytes();
    let (status, _, _) =
        h2_call(&spate, "CreateStream", "application/x-amz-json-1.1", create).await;
    assert_eq!(status, 200);
    let (status, content_type, body) = h2_call(
        &spate,
        "ListStreams",
        "application/x-amz-json-1.1",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-amz-json-1.1")
    );
    let listed: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(listed["StreamNames"], serde_json::json!(["h2"]));
    let (status, _, body) = h2_call(
        &spate,
        "DescribeStream",
        "application/x-amz-json-1.1",
        b"{\"StreamName\":\"none\"}".to_vec(),
    )
    .await;
    let error: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (status, error["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
}

/// A CBOR map the way Jackson's streaming generator writes one: indefinite length.
fn cbor_request(fill: impl FnOnce(&mut minicbor::Encoder<&mut Vec<u8>>)) -> Vec<u8> {
    let mut buffer = Vec::new();
    let mut encoder = minicbor::Encoder::new(&mut buffer);
    encoder.begin_map().expect("map");
    fill(&mut encoder);
    encoder.end().expect("end");
    buffer
}

/// The CBOR GetRecords reply to the iterator that the GetShardIterator request `iterator`
/// gets.
async fn first_page(spate: &Spate, version: http::Version, iterator: Vec<u8>) -> Bytes {
    let cbor = "application/x-amz-cbor-1.1";
    let (status, _, body) = call(spate, version, "GetShardIterator", cbor, iterator).await;
    assert_eq!(status, 200);
    let mut decoder = minicbor::Decoder::new(&body);
    decoder.map().expect("map");
    assert_eq!(decoder.str().expect("key"), "ShardIterator");
    let iterator = decoder.str().expect("iterator").to_owned();

    let get = cbor_request(|e| {
        e.str("ShardIterator")
            .and_then(|e| e.str(&iterator))
            .map(|_| ())
            .expect("encode");
    });
    let (status, _, body) = call(spate, version, "GetRecords", cbor, get).await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn cbor_requests_get_cbor_replies_with_millisecond_timestamps() {
    let spate = Spate::in_memory();
    let cbor = "application/x-amz-cbor-1.1";
    let create = cbor_request(|e| {
        e.str("StreamName")
            .and_then(|e| e.str("java"))
            .and_then(|e| e.str("ShardCount"))
            .and_then(|e| e.u32(1))
            .map(|_| ())
            .expect("encode");
    });
    let (status, content_type, _) = h2_call(&spate, "CreateStream", cbor, create).await;
    assert_eq!((status, content_type.as_str()), (200, cbor));

    let put = cbor_request(|e| {
        e.str("StreamName")
            .and_then(|e| e.str("java"))
            .and_then(|e| e.str("PartitionKey"))
            .and_then(|e| e.str("k"))
            .and_then(|e| e.str("Data"))
            .and_then(|e| e.bytes(&[0, 1, 2, 255]))
            .map(|_| ())
            .expect("encode");
    });
    let (status, _, _) = h2_call(&spate, "PutRecord", cbor, put).await;
    assert_eq!(status, 200);

    let before_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
        - 60_000;
    let iterator = cbor_request(|e| {
        e.str("StreamName")
            .and_then(|e| e.str("java"))
            .and_then(|e| e.str("ShardId"))
            .and_then(|e| e.str("shardId-000000000000"))
            .and_then(|e| e.str("ShardIteratorType"))
            .and_then(|e| e.str("AT_TIMESTAMP"))
            .and_then(|e| e.str("Timestamp"))
            .and_then(|e| e.tag(Tag::new(1)))
            .and_then(|e| e.u64(before_ms))
            .map(|_| ())
            .expect("encode");
    });
    let body = first_page(&spate, http::Version::HTTP_2, iterator).await;
    // Walk the reply: Records[0].Data must be a byte string, the arrival time an integer
    // count of epoch milliseconds (tagged or not).
    let mut decoder = minicbor::Decoder::new(&body);
    let mut data = None;
    let mut arrival = None;
    let entries = decoder.map().expect("map").expect("definite");
    for _ in 0..entries {
        match decoder.str().expect("key") {
            "Records" => {
                assert_eq!(decoder.array().expect("array"), Some(1));
                let fields = decoder.map().expect("map").expect("definite");
                for _ in 0..fields {
                    match decoder.str().expect("key") {
                        "Data" => data = Some(decoder.bytes().expect("byte string").to_vec()),
                        "ApproximateArrivalTimestamp" => {
                            if decoder.datatype().expect("type") == Type::Tag {
                                assert_eq!(decoder.tag().expect("tag"), Tag::new(1));
                            }
                            arrival = Some(decoder.u64().expect("integer milliseconds"));
                        }
                        _ => decoder.skip().expect("skip"),
                    }
                }
            }
            _ => decoder.skip().expect("skip"),
        }
    }
    assert_eq!(data.as_deref(), Some(&[0u8, 1, 2, 255][..]));
    let arrival = arrival.expect("arrival time");
    assert!(
        arrival >= before_ms && arrival < before_ms + 120_000,
        "{arrival} is epoch milliseconds"
    );

    let (status, content_type, body) = h2_call(
        &spate,
        "DescribeStream",
        cbor,
        cbor_request(|e| {
            e.str("StreamName")
                .and_then(|e| e.str("missing"))
                .map(|_| ())
                .expect("encode");
        }),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (400, cbor));
    let mut decoder = minicbor::Decoder::new(&body);
    decoder.map().expect("map");
    assert_eq!(decoder.str().expect("key"), "__type");
    assert_eq!(decoder.str().expect("type"), "ResourceNotFoundException");
}

/// A page of large records goes out in pieces (each record's data shared with the buffer it
/// was read into, the small ones copied between); over either HTTP version it must arrive
/// whole and in order.
#[tokio::test]
async fn large_cbor_pages_arrive_whole_over_both_versions() {
    let spate = Spate::in_memory();
    let client = spate.client();
    common::create_active(&client, "pages", 1).await;
    let len = |i: usize| {
        if i.is_multiple_of(3) {
            70_000 + i
        } else {
            1000 + i
        }
    };
    let data = |i: usize| -> Vec<u8> { (0..len(i)).map(|j| (i * 7 + j) as u8).collect() };
    let entries = (0..60)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{i}"))
                .data(Blob::new(data(i)))
                .build()
                .expect("entry")
        })
        .collect();
    let out = client
        .put_records()
        .stream_name("pages")
        .set_records(Some(entries))
        .send()
        .await
        .expect("put");
    assert_eq!(out.failed_record_count(), Some(0));

    for version in [http::Version::HTTP_11, http::Version::HTTP_2] {
        let iterator = cbor_request(|e| {
            e.str("StreamName")
                .and_then(|e| e.str("pages"))
                .and_then(|e| e.str("ShardId"))
                .and_then(|e| e.str("shardId-000000000000"))
                .and_then(|e| e.str("ShardIteratorType"))
                .and_then(|e| e.str("TRIM_HORIZON"))
                .map(|_| ())
                .expect("encode");
        });
        let body = first_page(&spate, version, iterator).await;
        let mut decoder = minicbor::Decoder::new(&body);
        let mut got = Vec::new();
        let entries = decoder.map().expect("map").expect("definite");
        for _ in 0..entries {
            if decoder.str().expect("key") != "Records" {
                decoder.skip().expect("skip");
                continue;
            }
            let records = decoder.array().expect("array").expect("definite");
            for _ in 0..records {
                let fields = decoder.map().expect("map").expect("definite");
                for _ in 0..fields {
                    match decoder.str().expect("key") {
                        "Data" => got.push(decoder.bytes().expect("byte string").to_vec()),
                        _ => decoder.skip().expect("skip"),
                    }
                }
            }
        }
        assert_eq!(
            decoder.position(),
            body.len(),
            "{version:?}: trailing bytes"
        );
        assert_eq!(got.len(), 60, "{version:?}");
        for (i, data_read) in got.iter().enumerate() {
            assert!(*data_read == data(i), "{version:?}: record {i} differs");
        }
    }
}
