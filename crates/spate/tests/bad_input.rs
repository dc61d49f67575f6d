//! Hostile and malformed requests over raw HTTP/1.1: each gets AWS's error, and the server
//! keeps serving afterwards.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::Spate;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    fn error_type(&self) -> String {
        self.json()["__type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn send_raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    tcp.write_all(request).expect("write");
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a full reply head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn post(addr: SocketAddr, target: &str, content_type: &str, body: &[u8]) -> Reply {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nX-Amz-Target: {target}\r\nAuthorization: {AUTH}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    send_raw(addr, &request)
}

fn call(addr: SocketAddr, op: &str, body: serde_json::Value) -> Reply {
    post(
        addr,
        &format!("Kinesis_20131202.{op}"),
        "application/x-amz-json-1.1",
        body.to_string().as_bytes(),
    )
}

#[test]
fn framework_errors_match_aws() {
    let spate = Spate::in_memory();
    let addr = spate.addr;

    let get = send_raw(
        addr,
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(get.status, 403);
    let wrong_type = post(
        addr,
        "Kinesis_20131202.ListStreams",
        "application/x-amz-json-1.0",
        b"{}",
    );
    assert_eq!(wrong_type.status, 403);
    let unknown = post(
        addr,
        "Kinesis_20131202.Frobnicate",
        "application/x-amz-json-1.1",
        b"{}",
    );
    assert_eq!(
        (unknown.status, unknown.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    let no_target = post(addr, "", "application/x-amz-json-1.1", b"{}");
    assert_eq!(no_target.error_type(), "UnknownOperationException");
    let unsigned = send_raw(
        addr,
        format!("POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 2\r\n\r\n{{}}").as_bytes(),
    );
    assert_eq!(unsigned.error_type(), "MissingAuthenticationTokenException");
    let empty = post(
        addr,
        "Kinesis_20131202.ListStreams",
        "application/x-amz-json-1.1",
        b"",
    );
    assert_eq!(
        (empty.status, empty.error_type().as_str()),
        (400, "SerializationException")
    );
    let garbage = post(
        addr,
        "Kinesis_20131202.ListStreams",
        "application/x-amz-json-1.1",
        b"{\"Limit\":",
    );
    assert_eq!(garbage.error_type(), "SerializationException");
    let wrong_json_type = call(addr, "ListStreams", serde_json::json!({"Limit": "ten"}));
    assert_eq!(wrong_json_type.error_type(), "SerializationException");
    for reply in [&get, &unknown, &empty] {
        assert!(
            reply
                .head
                .to_ascii_lowercase()
                .contains("x-amzn-requestid:"),
            "{}",
            reply.head
        );
    }

    // A body announced far beyond the largest legal request is refused before it is sent.
    let huge = send_raw(
        addr,
        format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\nAuthorization: {AUTH}\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(huge.status, 413);

    let ok = call(addr, "ListStreams", serde_json::json!({}));
    assert_eq!(
        ok.status,
        200,
        "still serving: {}",
        String::from_utf8_lossy(&ok.body)
    );
}

#[test]
fn constraint_edges_get_the_right_errors() {
    let spate = Spate::in_memory();
    let addr = spate.addr;
    let name_128 = "a".repeat(128);
    assert_eq!(
        call(
            addr,
            "CreateStream",
            serde_json::json!({"StreamName": name_128, "ShardCount": 1})
        )
        .status,
        200
    );
    let name_129 = "a".repeat(129);
    let too_long = call(
        addr,
        "CreateStream",
        serde_json::json!({"StreamName": name_129, "ShardCount": 1}),
    );
    assert_eq!(too_long.error_type(), "ValidationException");
    let message = too_long.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("Member must have length less than or equal to 128"),
        "{message}"
    );
    let zero = call(
        addr,
        "CreateStream",
        serde_json::json!({"StreamName": "z", "ShardCount": 0}),
    );
    assert_eq!(zero.error_type(), "ValidationException");
    let no_name = call(addr, "CreateStream", serde_json::json!({"ShardCount": 1}));
    assert_eq!(no_name.error_type(), "ValidationException");
    let bad_pattern = call(
        addr,
        "DescribeStream",
        serde_json::json!({"StreamName": "no spaces"}),
    );
    assert_eq!(bad_pattern.error_type(), "ValidationException");
    let limit = call(
        addr,
        "DescribeStream",
        serde_json::json!({"StreamName": "x", "Limit": 10001}),
    );
    assert_eq!(limit.error_type(), "ValidationException");
    let neither = call(addr, "DescribeStream", serde_json::json!({}));
    assert_eq!(neither.error_type(), "InvalidArgumentException");

    let s = "a".repeat(128);
    let max_key = call(
        addr,
        "PutRecord",
        serde_json::json!({"StreamName": s, "PartitionKey": "k", "Data": "", "ExplicitHashKey": "340282366920938463463374607431768211456"}),
    );
    assert_eq!(max_key.error_type(), "InvalidArgumentException");
    let long_key = call(
        addr,
        "PutRecord",
        serde_json::json!({"StreamName": s, "PartitionKey": "k".repeat(257), "Data": ""}),
    );
    assert_eq!(long_key.error_type(), "ValidationException");
    let bad_base64 = call(
        addr,
        "PutRecord",
        serde_json::json!({"StreamName": s, "PartitionKey": "k", "Data": "!!!"}),
    );
    assert_eq!(bad_base64.error_type(), "SerializationException");
    let retention = call(
        addr,
        "IncreaseStreamRetentionPeriod",
        serde_json::json!({"StreamName": s, "RetentionPeriodHours": 8761}),
    );
    assert_eq!(retention.error_type(), "InvalidArgumentException");
    let bad_iterator = call(
        addr,
        "GetRecords",
        serde_json::json!({"ShardIterator": "AAAAAAAAAAEforged"}),
    );
    assert_eq!(bad_iterator.error_type(), "InvalidArgumentException");

    // A 1 MiB record is legal, one byte more is not; and a batch over 10 MiB is refused whole.
    use base64::Engine as _;
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![1u8; n]);
    let fits = call(
        addr,
        "PutRecord",
        serde_json::json!({"StreamName": s, "PartitionKey": "k", "Data": b64(1024 * 1024 - 1)}),
    );
    assert_eq!(fits.status, 200, "{}", String::from_utf8_lossy(&fits.body));
    let over = call(
        addr,
        "PutRecord",
        serde_json::json!({"StreamName": s, "PartitionKey": "k", "Data": b64(1024 * 1024)}),
    );
    assert_eq!(over.error_type(), "InvalidArgumentException");
    let records: Vec<_> = (0..11)
        .map(|i| serde_json::json!({"PartitionKey": format!("{i}"), "Data": b64(1000 * 1000)}))
        .collect();
    let batch = call(
        addr,
        "PutRecords",
        serde_json::json!({"StreamName": s, "Records": records}),
    );
    assert_eq!(batch.error_type(), "InvalidArgumentException");

    let ok = call(
        addr,
        "DescribeStreamSummary",
        serde_json::json!({"StreamName": s}),
    );
    assert_eq!(ok.status, 200);
}
