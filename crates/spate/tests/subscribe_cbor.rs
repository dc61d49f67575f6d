//! SubscribeToShard as the Java SDKs send it: CBOR over HTTP/2 with prior knowledge. The
//! event payloads must then be CBOR too, with blobs as byte strings.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use bytes::{Bytes, BytesMut};
use common::Spate;
use common::efo::{SHARD0, stream_with_consumer};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use minicbor::data::Type;
use spate_wire::eventstream::decode_message;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
const CBOR: &str = "application/x-amz-cbor-1.1";

/// The data of every record in a CBOR `SubscribeToShardEvent` payload.
fn record_data(payload: &[u8]) -> Vec<Vec<u8>> {
    let mut d = minicbor::Decoder::new(payload);
    let mut data = Vec::new();
    // Walk the whole document; every byte string in it is a record's Data.
    while d.position() < payload.len() {
        match d.datatype().expect("type") {
            Type::Bytes => data.push(d.bytes().expect("bytes").to_vec()),
            Type::Map | Type::MapIndef => drop(d.map().expect("map")),
            Type::Array | Type::ArrayIndef => drop(d.array().expect("array")),
            _ => d.skip().expect("skip"),
        }
    }
    data
}

#[tokio::test]
async fn cbor_requests_get_cbor_events_over_http2() {
    let spate = Spate::in_memory();
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "java", 1).await;
    client
        .put_record()
        .stream_name("java")
        .partition_key("p")
        .data(Blob::new(&b"\x00binary\xff"[..]))
        .send()
        .await
        .expect("put");

    let mut body = minicbor::Encoder::new(Vec::new());
    body.begin_map()
        .and_then(|e| e.str("ConsumerARN")?.str(&consumer))
        .and_then(|e| e.str("ShardId")?.str(SHARD0))
        .and_then(|e| {
            e.str("StartingPosition")?
                .map(1)?
                .str("Type")?
                .str("TRIM_HORIZON")
        })
        .and_then(|e| e.end())
        .expect("encode");
    let tcp = tokio::net::TcpStream::connect(spate.addr)
        .await
        .expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{}/", spate.addr))
        .header("content-type", CBOR)
        .header("x-amz-target", "Kinesis_20131202.SubscribeToShard")
        .header("authorization", AUTH)
        .body(Full::new(Bytes::from(body.into_writer())))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    let mut body = response.into_body();
    let mut buffer = BytesMut::new();
    let mut messages = Vec::new();
    while messages.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(15), body.frame())
            .await
            .expect("a message in time")
            .expect("the stream goes on")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Ok((message, used)) = decode_message(&buffer) {
            let headers = (
                message.header_str(":event-type").map(str::to_owned),
                message.header_str(":content-type").map(str::to_owned),
            );
            messages.push((headers, message.payload.to_vec()));
            let _ = buffer.split_to(used);
        }
    }
    let cbor = Some(CBOR.to_owned());
    assert_eq!(
        messages[0].0,
        (Some("initial-response".into()), cbor.clone())
    );
    assert_eq!(messages[1].0, (Some("SubscribeToShardEvent".into()), cbor));
    assert_eq!(record_data(&messages[1].1), [b"\x00binary\xff".to_vec()]);
}
