//! Rough cost of the hot path: a 500 × 1 KiB PutRecords body in both codecs.
//! Run with `cargo test -p spate-wire --release --test perf -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)] // Tests may panic.

use std::time::Instant;

use base64::Engine as _;
use minicbor::Encoder;
use serde_json::{Value, json};
use spate_wire::{Codec, Operation, decode_request};

#[test]
#[ignore = "timing only"]
fn put_records_500_by_1kib() {
    let data = vec![0xabu8; 1024];
    let records: Vec<Value> = (0..500)
        .map(|i| json!({"Data": base64::engine::general_purpose::STANDARD.encode(&data), "PartitionKey": format!("pk-{i}"), "ExplicitHashKey": "340282366920938463463374607431768211455"}))
        .collect();
    let json_body = json!({"StreamName": "s", "Records": records}).to_string();
    let mut e = Encoder::new(Vec::new());
    e.map(2)
        .unwrap()
        .str("StreamName")
        .unwrap()
        .str("s")
        .unwrap()
        .str("Records")
        .unwrap()
        .array(500)
        .unwrap();
    for i in 0..500 {
        e.map(3).unwrap().str("Data").unwrap().bytes(&data).unwrap();
        e.str("PartitionKey")
            .unwrap()
            .str(&format!("pk-{i}"))
            .unwrap();
        e.str("ExplicitHashKey")
            .unwrap()
            .str("340282366920938463463374607431768211455")
            .unwrap();
    }
    let cbor_body = e.into_writer();
    for (codec, body) in [
        (Codec::Json, json_body.as_bytes()),
        (Codec::Cbor, &cbor_body[..]),
    ] {
        let n = 50;
        let start = Instant::now();
        for _ in 0..n {
            decode_request(Operation::PutRecords, codec, body).unwrap();
        }
        println!(
            "{codec:?}: {:?} per {} KiB request",
            start.elapsed() / n,
            body.len() / 1024
        );
    }
}
