//! Fault injection: rules from the config file and from the admin endpoint (`--admin`),
//! observed through the official SDK.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use common::{Spate, client_without_retries, create_active};
use serde_json::{Value, json};

/// One admin request over HTTP/1.1: the status and the JSON body (`Null` if none).
fn admin(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).expect("write");
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a full reply");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn stored(client: &Client, stream: &str) -> usize {
    let iterator = client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    client
        .get_records()
        .shard_iterator(iterator.shard_iterator().expect("iterator"))
        .send()
        .await
        .expect("get records")
        .records()
        .len()
}

async fn put(client: &Client, stream: &str) -> Result<(), String> {
    client
        .put_record()
        .stream_name(stream)
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .map(|_| ())
        .map_err(|error| {
            let status = error.raw_response().map(|r| r.status().as_u16());
            format!("{} {status:?}", error.code().unwrap_or("?"))
        })
}

#[tokio::test]
async fn without_admin_the_endpoint_is_forbidden() {
    let spate = Spate::in_memory();
    for method in ["GET", "PUT", "DELETE"] {
        let (status, _) = admin(spate.addr, method, "/_spate/faults", "{}");
        assert_eq!(status, 403, "{method}");
    }
}

#[tokio::test]
async fn an_injected_internal_failure_writes_nothing_until_cleared() {
    let spate = Spate::start(&["--in-memory", "--admin"]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "s", 1).await;
    assert_eq!(
        admin(spate.addr, "GET", "/_spate/faults", ""),
        (200, json!({}))
    );

    let rules = json!({"PutRecord": {"internal_failure": 1.0}});
    let (status, body) = admin(spate.addr, "PUT", "/_spate/faults", &rules.to_string());
    assert_eq!(status, 200);
    assert_eq!(body["PutRecord"]["internal_failure"], json!(1.0));
    assert_eq!(admin(spate.addr, "GET", "/_spate/faults", "").1, body);

    for _ in 0..5 {
        assert_eq!(
            put(&client, "s").await,
            Err("InternalFailureException Some(500)".to_owned())
        );
    }
    assert_eq!(stored(&client, "s").await, 0, "a failed put wrote nothing");

    assert_eq!(
        admin(spate.addr, "DELETE", "/_spate/faults", ""),
        (200, json!({}))
    );
    put(&client, "s").await.expect("put after clearing");
    assert_eq!(stored(&client, "s").await, 1);
}

#[tokio::test]
async fn a_half_chance_gives_both_outcomes_and_latency_breaks_nothing() {
    let spate = Spate::start(&["--in-memory", "--admin"]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "s", 1).await;
    let rules = json!({"PutRecord": {"throttle": 0.5}, "*": {"latency_ms": 5}});
    assert_eq!(
        admin(spate.addr, "PUT", "/_spate/faults", &rules.to_string()).0,
        200
    );
    let (mut succeeded, mut throttled) = (0, 0);
    for _ in 0..200 {
        match put(&client, "s").await {
            Ok(()) => succeeded += 1,
            Err(error) => {
                assert_eq!(error, "ProvisionedThroughputExceededException Some(400)");
                throttled += 1;
            }
        }
        if succeeded > 0 && throttled > 0 {
            break;
        }
    }
    assert!(succeeded > 0 && throttled > 0, "{succeeded} / {throttled}");
    // Other operations only get the `*` rule's latency.
    assert_eq!(stored(&client, "s").await, succeeded);
    client
        .describe_stream_summary()
        .stream_name("s")
        .send()
        .await
        .expect("describe");
}

#[tokio::test]
async fn put_records_entry_faults_fail_only_their_entries() {
    let spate = Spate::start(&["--in-memory", "--admin"]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "s", 1).await;
    let rules = json!({"PutRecords": {"entry_throttle": 0.3, "entry_internal_failure": 0.3}});
    assert_eq!(
        admin(spate.addr, "PUT", "/_spate/faults", &rules.to_string()).0,
        200
    );
    let entries = (0..100)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("r{i}")))
                .partition_key("k")
                .build()
                .expect("entry")
        })
        .collect();
    let reply = client
        .put_records()
        .stream_name("s")
        .set_records(Some(entries))
        .send()
        .await
        .expect("a 200 despite failed entries");
    let codes: Vec<Option<&str>> = reply.records().iter().map(|r| r.error_code()).collect();
    for code in ["ProvisionedThroughputExceededException", "InternalFailure"] {
        assert!(codes.contains(&Some(code)), "no {code} among 100 entries");
    }
    assert!(codes.contains(&None), "no entry succeeded");
    let failed = codes.iter().filter(|c| c.is_some()).count();
    assert_eq!(reply.failed_record_count(), Some(failed as i32));
    for record in reply.records().iter().filter(|r| r.error_code().is_some()) {
        assert!(record.shard_id().is_none() && record.sequence_number().is_none());
        assert!(
            record
                .error_message()
                .is_some_and(|m| m.contains("(injected fault)"))
        );
    }
    assert_eq!(stored(&client, "s").await, 100 - failed);
}

#[tokio::test]
async fn bad_rules_are_refused_and_change_nothing() {
    let spate = Spate::start(&["--in-memory", "--admin"]);
    let good = json!({"GetRecords": {"latency_ms": 1}});
    assert_eq!(
        admin(spate.addr, "PUT", "/_spate/faults", &good.to_string()).0,
        200
    );
    for bad in [
        json!({"PutRecrod": {"throttle": 0.1}}),
        json!({"PutRecord": {"throttle": 2.0}}),
        json!({"PutRecord": {"throttle": 0.6, "internal_failure": 0.6}}),
        json!({"PutRecord": {"entry_throttle": 0.5}}),
        json!({"PutRecord": {"sometimes": 0.5}}),
        json!(["PutRecord"]),
    ] {
        let (status, body) = admin(spate.addr, "PUT", "/_spate/faults", &bad.to_string());
        assert_eq!(status, 400, "{bad}");
        assert!(body["message"].is_string(), "{body}");
    }
    assert_eq!(
        admin(spate.addr, "GET", "/_spate/faults", "").1["GetRecords"]["latency_ms"],
        json!(1)
    );
    assert_eq!(admin(spate.addr, "GET", "/_spate/other", "").0, 404);
    assert_eq!(admin(spate.addr, "POST", "/_spate/faults", "{}").0, 405);
}

#[tokio::test]
async fn rules_in_the_config_file_apply_from_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("spate.toml");
    std::fs::write(&config, "[faults.DescribeLimits]\ninternal_failure = 1.0\n").expect("config");
    let spate = Spate::start(&["--in-memory", "--config", config.to_str().expect("utf-8")]);
    let client = client_without_retries(spate.addr);
    let error = client
        .describe_limits()
        .send()
        .await
        .expect_err("injected failure");
    assert_eq!(error.code(), Some("InternalFailureException"));
    client
        .list_streams()
        .send()
        .await
        .expect("other operations run");
    // Start-up rules need no admin endpoint, and do not open it.
    assert_eq!(admin(spate.addr, "GET", "/_spate/faults", "").0, 403);
}

#[test]
fn a_bad_rule_in_the_config_file_stops_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("spate.toml");
    std::fs::write(&config, "[faults.PutRecrod]\nthrottle = 0.5\n").expect("config");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spate"))
        .args([
            "serve",
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&config)
        .output()
        .expect("run spate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PutRecrod"), "{stderr}");
}
