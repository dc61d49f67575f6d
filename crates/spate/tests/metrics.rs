//! `/health`, `/ready` and `/metrics` on the Kinesis port, and EnableEnhancedMonitoring /
//! DisableEnhancedMonitoring deciding which shard-level series exist.

mod common;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{MetricsName, PutRecordsRequestEntry, ShardIteratorType};
use common::{Spate, code, create_active, get, metric_value as value, scrape};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn stream_value(text: &str, name: &str, stream: &str) -> f64 {
    let label = format!("stream=\"{stream}\"");
    value(text, name, &[&label]).unwrap_or_else(|| panic!("no {name} for {stream} in\n{text}"))
}

async fn put(client: &Client, stream: &str, key: &str, data: &[u8]) {
    client
        .put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data))
        .send()
        .await
        .expect("put");
}

async fn read_all(client: &Client, stream: &str, shard: &str) -> usize {
    let iterator = client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator
        .expect("iterator");
    let records = client
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .expect("get");
    records.records().len()
}

#[test]
fn health_and_ready_answer_and_other_gets_stay_forbidden() {
    let spate = Spate::in_memory();
    assert_eq!(get(spate.addr, "/health").0, 200);
    assert_eq!(get(spate.addr, "/ready").0, 200);
    assert_eq!(get(spate.addr, "/").0, 403);
    assert_eq!(get(spate.addr, "/nothing-here").0, 403);
}

#[tokio::test]
async fn metrics_count_records_as_they_flow() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "flow", 1).await;
    create_active(&client, "other", 1).await;
    for i in 0..3 {
        put(&client, "flow", &format!("k{i}"), b"hello").await;
    }
    let entries = (0..4)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("p{i}"))
                .data(Blob::new(&b"abc"[..]))
                .build()
                .expect("entry")
        })
        .collect::<Vec<_>>();
    client
        .put_records()
        .stream_name("flow")
        .set_records(Some(entries))
        .send()
        .await
        .expect("put records");
    assert_eq!(read_all(&client, "flow", "shardId-000000000000").await, 7);

    let text = scrape(&spate);
    assert_eq!(
        stream_value(&text, "kinesis_incoming_records_total", "flow"),
        7.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_incoming_bytes_total", "flow"),
        27.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_put_record_success_total", "flow"),
        3.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_put_record_bytes_total", "flow"),
        15.0
    );
    assert_eq!(
        stream_value(
            &text,
            "kinesis_put_records_successful_records_total",
            "flow"
        ),
        4.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_put_records_total_records_total", "flow"),
        4.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_put_record_latency_seconds_count", "flow"),
        3.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_get_records_records_total", "flow"),
        7.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_get_records_bytes_total", "flow"),
        27.0
    );
    assert_eq!(
        stream_value(&text, "kinesis_incoming_records_total", "other"),
        0.0
    );
    assert!(text.contains("account=\"000000000000\",region=\"us-east-1\",stream=\"flow\""));
    assert_eq!(
        value(
            &text,
            "spate_requests_total",
            &["operation=\"PutRecord\"", "error=\"\""]
        ),
        Some(3.0)
    );
    assert!(value(&text, "spate_log_group_commit_records_count", &[]).is_some_and(|v| v >= 1.0));
    assert!(value(&text, "spate_log_group_commit_records_sum", &[]).is_some_and(|v| v >= 7.0));
    assert!(value(&text, "spate_log_sync_seconds_count", &[]).is_some());
    assert_eq!(value(&text, "spate_log_poisoned", &[]), Some(0.0));
    // Without enhanced monitoring there are no shard-level series.
    assert!(!text.contains("kinesis_shard_"), "{text}");

    // A deleted stream's series go with it.
    client
        .delete_stream()
        .stream_name("other")
        .send()
        .await
        .expect("delete");
    common::eventually(Duration::from_secs(10), || async {
        (!scrape(&spate).contains("stream=\"other\"")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn enhanced_monitoring_decides_which_shard_series_exist() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "em", 2).await;

    let enabled = client
        .enable_enhanced_monitoring()
        .stream_name("em")
        .shard_level_metrics(MetricsName::IncomingRecords)
        .shard_level_metrics(MetricsName::OutgoingBytes)
        .send()
        .await
        .expect("enable");
    assert_eq!(enabled.stream_name(), Some("em"));
    assert!(
        enabled
            .stream_arn()
            .is_some_and(|arn| arn.ends_with(":stream/em"))
    );
    assert!(enabled.current_shard_level_metrics().is_empty());
    assert_eq!(
        enabled.desired_shard_level_metrics(),
        [MetricsName::IncomingRecords, MetricsName::OutgoingBytes]
    );
    let summary = client
        .describe_stream_summary()
        .stream_name("em")
        .send()
        .await
        .expect("summary");
    let reported = summary
        .stream_description_summary()
        .expect("summary")
        .enhanced_monitoring()[0]
        .shard_level_metrics()
        .to_vec();
    assert_eq!(
        reported,
        [MetricsName::IncomingRecords, MetricsName::OutgoingBytes]
    );

    put(&client, "em", "a", b"xyz").await;
    let shards = client
        .list_shards()
        .stream_name("em")
        .send()
        .await
        .expect("shards");
    for shard in shards.shards() {
        read_all(&client, "em", shard.shard_id()).await;
    }
    let text = scrape(&spate);
    let stream = "stream=\"em\"";
    let total: f64 = ["shardId-000000000000", "shardId-000000000001"]
        .iter()
        .filter_map(|shard| {
            let shard = format!("shard=\"{shard}\"");
            value(
                &text,
                "kinesis_shard_incoming_records_total",
                &[stream, &shard],
            )
        })
        .sum();
    assert_eq!(total, 1.0, "{text}");
    assert!(value(&text, "kinesis_shard_outgoing_bytes_total", &[stream]).is_some());
    // Metrics not enabled have no series.
    assert!(value(&text, "kinesis_shard_incoming_bytes_total", &[stream]).is_none());
    assert!(value(&text, "kinesis_shard_outgoing_records_total", &[stream]).is_none());

    let all = client
        .enable_enhanced_monitoring()
        .stream_name("em")
        .shard_level_metrics(MetricsName::All)
        .send()
        .await
        .expect("enable all");
    assert_eq!(all.desired_shard_level_metrics().len(), 7);
    assert!(
        !all.desired_shard_level_metrics()
            .contains(&MetricsName::All)
    );

    let disabled = client
        .disable_enhanced_monitoring()
        .stream_name("em")
        .shard_level_metrics(MetricsName::All)
        .send()
        .await
        .expect("disable");
    assert_eq!(disabled.current_shard_level_metrics().len(), 7);
    assert!(disabled.desired_shard_level_metrics().is_empty());
    put(&client, "em", "b", b"xyz").await;
    let text = scrape(&spate);
    assert!(!text.contains("kinesis_shard_"), "{text}");
    assert_eq!(
        stream_value(&text, "kinesis_incoming_records_total", "em"),
        2.0
    );
}

#[tokio::test]
async fn enhanced_monitoring_refuses_unknown_metrics_and_streams() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "em", 1).await;
    let bogus = client
        .enable_enhanced_monitoring()
        .stream_name("em")
        .shard_level_metrics(MetricsName::from("Bogus"))
        .send()
        .await;
    assert_eq!(code(bogus), "ValidationException");
    let missing = client
        .disable_enhanced_monitoring()
        .stream_name("nope")
        .shard_level_metrics(MetricsName::IncomingBytes)
        .send()
        .await;
    assert_eq!(code(missing), "ResourceNotFoundException");
}

#[test]
fn json_logs_carry_each_request_id() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_spate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--in-memory"])
        .args(["--log-format", "json"])
        .env("SPATE_LOG", "spate_server=debug")
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .expect("spawn spate");
    let stdout = child.stdout.take().expect("stdout");
    let addr: SocketAddr = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening on http://")?.parse().ok())
        .expect("the address");

    let mut tcp = TcpStream::connect(addr).expect("connect");
    write!(
        tcp,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    .expect("write");
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).expect("read");
    let request_id = reply
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-amzn-requestid")
                .then(|| value.trim().to_owned())
        })
        .expect("a request id");
    let _ = child.kill();
    let _ = child.wait();

    let logs = std::fs::read_to_string(&log_path).expect("logs");
    let line = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["operation"] == "ListStreams")
        .unwrap_or_else(|| panic!("no JSON request line in\n{logs}"));
    assert_eq!(line["span"]["request_id"], request_id.as_str(), "{line}");
}

#[tokio::test]
async fn enhanced_monitoring_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    create_active(&client, "kept", 1).await;
    client
        .enable_enhanced_monitoring()
        .stream_name("kept")
        .shard_level_metrics(MetricsName::IncomingBytes)
        .send()
        .await
        .expect("enable");
    spate.terminate();

    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    let disabled = client
        .disable_enhanced_monitoring()
        .stream_name("kept")
        .shard_level_metrics(MetricsName::IteratorAgeMilliseconds)
        .send()
        .await
        .expect("disable");
    assert_eq!(
        disabled.current_shard_level_metrics(),
        [MetricsName::IncomingBytes]
    );
    put(&client, "kept", "k", b"abcd").await;
    let text = scrape(&spate);
    assert_eq!(
        value(
            &text,
            "kinesis_shard_incoming_bytes_total",
            &["stream=\"kept\""]
        ),
        Some(4.0),
        "{text}"
    );
}

#[tokio::test]
async fn disk_bytes_per_stream_follow_writes_restarts_and_deletion() {
    const NAME: &str = "spate_stream_disk_bytes";
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    create_active(&client, "full", 2).await;
    create_active(&client, "empty", 1).await;
    let data = vec![7u8; 1000];
    for i in 0..50 {
        put(&client, "full", &format!("key-{i}"), &data).await;
    }
    let text = scrape(&spate);
    let written = stream_value(&text, NAME, "full");
    // Each record: its 1,000 bytes, key, frame header and 24-byte index entry.
    assert!(
        (50_000.0..50.0 * 1200.0).contains(&written),
        "{written} bytes for 50 records of 1,000 bytes"
    );
    assert_eq!(stream_value(&text, NAME, "empty"), 0.0);

    // A clean restart reads the sizes from the checkpoint...
    spate.terminate();
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    assert_eq!(stream_value(&scrape(&spate), NAME, "full"), written);
    // ...and a crash rebuilds what came after it from the journal.
    for i in 0..50 {
        put(&client, "full", &format!("key-{i}"), &data).await;
    }
    let doubled = stream_value(&scrape(&spate), NAME, "full");
    assert_eq!(doubled, 2.0 * written);
    spate.kill9();
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    assert_eq!(stream_value(&scrape(&spate), NAME, "full"), doubled);

    client
        .delete_stream()
        .stream_name("full")
        .send()
        .await
        .expect("delete");
    common::eventually(Duration::from_secs(10), || {
        let text = scrape(&spate);
        async move {
            value(&text, NAME, &["stream=\"full\""])
                .is_none()
                .then_some(())
        }
    })
    .await;
}
