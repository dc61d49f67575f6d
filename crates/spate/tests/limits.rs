//! AWS's throughput and rate limits, enforced only when asked (`--enforce-limits`, or per
//! stream in the config file), through the official SDK.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use common::{Spate, client_without_retries, code, create_active, eventually};

const SHARD: &str = "shardId-000000000000";
const THROTTLED: &str = "ProvisionedThroughputExceededException";

async fn trim_horizon(client: &Client, stream: &str) -> String {
    client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(SHARD)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator")
        .to_owned()
}

/// Reads the shard from its start until `count` records came back, backing off whenever
/// the read budget says so. Returns each record's data.
async fn read_all(client: &Client, stream: &str, count: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut iterator = trim_horizon(client, stream).await;
    let mut records = Vec::new();
    while records.len() < count {
        assert!(
            Instant::now() < deadline,
            "read {} of {count}",
            records.len()
        );
        match client.get_records().shard_iterator(&iterator).send().await {
            Ok(page) => {
                records.extend(page.records().iter().map(|r| r.data().as_ref().to_vec()));
                iterator = page.next_shard_iterator().expect("open shard").to_owned();
            }
            Err(error) if error.code() == Some(THROTTLED) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("get records: {error:?}"),
        }
    }
    records
}

fn entry(data: Vec<u8>, key: &str) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .data(Blob::new(data))
        .partition_key(key)
        .build()
        .expect("entry")
}

/// A record's data: its number, then filler up to `size` bytes.
fn numbered(n: u32, size: usize) -> Vec<u8> {
    let mut data = n.to_be_bytes().to_vec();
    data.resize(size, b'x');
    data
}

#[tokio::test]
async fn a_fast_producer_is_throttled_per_entry_and_resending_lands_every_record_once() {
    let spate = Spate::start(&["--in-memory", "--enforce-limits"]);
    let client = spate.client();
    create_active(&client, "fast", 1).await;

    // 500 × 10 KiB to one shard is five times its 1 MiB burst: most entries are throttled
    // inside a 200, and a producer resends them with back-off, as the KPL does.
    let mut pending: Vec<u32> = (0..500).collect();
    let mut throttled_entries = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut backoff = Duration::from_millis(50);
    while !pending.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} records never landed",
            pending.len()
        );
        let entries = pending
            .iter()
            .map(|&n| entry(numbered(n, 10 << 10), &format!("k{n}")))
            .collect();
        let reply = client
            .put_records()
            .stream_name("fast")
            .set_records(Some(entries))
            .send()
            .await
            .expect("put records");
        let mut failed = Vec::new();
        for (&n, result) in pending.iter().zip(reply.records()) {
            match result.error_code() {
                None => assert_eq!(result.shard_id(), Some(SHARD)),
                Some(code) => {
                    assert_eq!(code, THROTTLED);
                    let message = result.error_message().expect("message");
                    assert!(
                        message.starts_with(&format!(
                            "Rate exceeded for shard {SHARD} in stream fast under account "
                        )),
                        "{message}"
                    );
                    assert!(result.sequence_number().is_none());
                    failed.push(n);
                }
            }
        }
        assert_eq!(reply.failed_record_count(), Some(failed.len() as i32));
        throttled_entries += failed.len();
        if !failed.is_empty() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
        pending = failed;
    }
    assert!(throttled_entries > 0, "a 5 MiB burst was never throttled");

    let mut numbers: Vec<u32> = read_all(&client, "fast", 500)
        .await
        .iter()
        .map(|data| u32::from_be_bytes([data[0], data[1], data[2], data[3]]))
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (0..500).collect::<Vec<_>>(),
        "every record exactly once"
    );
}

#[tokio::test]
async fn a_put_record_over_the_limit_fails_whole_and_writes_nothing() {
    let spate = Spate::start(&["--in-memory", "--enforce-limits"]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "big", 1).await;

    // Each record takes the shard's whole 1 MiB burst; the budget refills at 1 MiB/s.
    let mut written = 0;
    let mut refused = None;
    for n in 0..20 {
        match client
            .put_record()
            .stream_name("big")
            .partition_key("k")
            .data(Blob::new(numbered(n, (1 << 20) - 1)))
            .send()
            .await
        {
            Ok(_) => written += 1,
            Err(error) => {
                refused = Some(error);
                break;
            }
        }
    }
    let error = refused.expect("twenty 1 MiB records in a row were never throttled");
    assert_eq!(error.code(), Some(THROTTLED));
    let message = error.message().expect("message");
    assert!(
        message.starts_with(&format!(
            "Rate exceeded for shard {SHARD} in stream big under account "
        )),
        "{message}"
    );
    // The refused record was not stored.
    let stored = read_all(&spate.client(), "big", written).await;
    assert_eq!(stored.len(), written);
}

#[tokio::test]
async fn get_records_and_get_shard_iterator_bursts_are_throttled() {
    let spate = Spate::start(&["--in-memory", "--enforce-limits"]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "reads", 1).await;
    client
        .put_record()
        .stream_name("reads")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .expect("put");

    let mut iterator = trim_horizon(&client, "reads").await;
    let mut throttled = None;
    for _ in 0..50 {
        match client.get_records().shard_iterator(&iterator).send().await {
            Ok(page) => iterator = page.next_shard_iterator().expect("next").to_owned(),
            Err(error) => {
                throttled = Some(error);
                break;
            }
        }
    }
    let error = throttled.expect("50 GetRecords in a row were never throttled");
    assert_eq!(error.code(), Some(THROTTLED));
    assert!(
        error
            .message()
            .is_some_and(|m| m.starts_with(&format!("Rate exceeded for shard {SHARD}"))),
        "{error:?}"
    );

    let mut iterator_refused = false;
    for _ in 0..50 {
        let call = client
            .get_shard_iterator()
            .stream_name("reads")
            .shard_id(SHARD)
            .shard_iterator_type(ShardIteratorType::Latest)
            .send()
            .await;
        if call.is_err() {
            assert_eq!(code(call), THROTTLED);
            iterator_refused = true;
            break;
        }
    }
    assert!(
        iterator_refused,
        "50 GetShardIterator in a row were never throttled"
    );
}

#[tokio::test]
async fn a_producer_and_consumer_below_the_limits_are_never_throttled() {
    let spate = Spate::start(&["--in-memory", "--enforce-limits"]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "calm", 1).await;

    // About 100 records of 100 B a second, and a reader polling three times a second: far
    // below 1,000 records, 1 MiB, 5 calls and 2 MiB a second.
    let mut iterator = trim_horizon(&client, "calm").await;
    let mut read = 0;
    for batch in 0..20u32 {
        let entries = (0..10)
            .map(|i| entry(numbered(batch * 10 + i, 100), &format!("k{i}")))
            .collect();
        let reply = client
            .put_records()
            .stream_name("calm")
            .set_records(Some(entries))
            .send()
            .await
            .expect("put records below the limit");
        assert_eq!(reply.failed_record_count(), Some(0));
        if batch % 3 == 0 {
            let page = client
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .expect("get records below the limit");
            read += page.records().len();
            iterator = page.next_shard_iterator().expect("next").to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(read > 0);
}

#[tokio::test]
async fn control_plane_bursts_get_limit_exceeded_and_limits_are_reported() {
    // Settings from the environment and from flags.
    let spate = Spate::start_with_env(
        &["--in-memory", "--shard-limit", "123"],
        &[
            ("SPATE_ENFORCE_LIMITS", "true"),
            ("SPATE_ON_DEMAND_STREAM_LIMIT", "7"),
        ],
    );
    let client = client_without_retries(spate.addr);
    // DescribeLimits allows one call a second per account.
    let mut refused = None;
    for _ in 0..10 {
        if let Err(error) = client.describe_limits().send().await {
            refused = Some(error);
            break;
        }
    }
    let error = refused.expect("ten DescribeLimits in a row were never limited");
    assert_eq!(error.code(), Some("LimitExceededException"));
    assert_eq!(
        error.message(),
        Some("Rate exceeded for DescribeLimits under account 000000000000.")
    );
    // The budget refills: a later call answers, with the configured limits.
    let limits = eventually(Duration::from_secs(10), || async {
        client.describe_limits().send().await.ok()
    })
    .await;
    assert_eq!(limits.shard_limit(), 123);
    assert_eq!(limits.on_demand_stream_count_limit(), 7);
}

#[tokio::test]
async fn without_enforce_limits_nothing_is_throttled() {
    let spate = Spate::in_memory();
    let client = client_without_retries(spate.addr);
    create_active(&client, "free", 1).await;
    for round in 0..3u32 {
        let entries = (0..500)
            .map(|i| entry(numbered(round * 500 + i, 10 << 10), &format!("k{i}")))
            .collect();
        let reply = client
            .put_records()
            .stream_name("free")
            .set_records(Some(entries))
            .send()
            .await
            .expect("put records");
        assert_eq!(reply.failed_record_count(), Some(0));
    }
    for n in 0..3 {
        client
            .put_record()
            .stream_name("free")
            .partition_key("k")
            .data(Blob::new(numbered(n, (1 << 20) - 1)))
            .send()
            .await
            .expect("put a 1 MiB record");
    }
    let mut iterator = trim_horizon(&client, "free").await;
    for _ in 0..20 {
        let page = client
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .expect("get records");
        iterator = page.next_shard_iterator().expect("next").to_owned();
    }
    for _ in 0..10 {
        client
            .describe_limits()
            .send()
            .await
            .expect("describe limits");
    }
}

#[tokio::test]
async fn the_config_file_enforces_limits_per_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("spate.toml");
    std::fs::write(&config, "[stream_limits.hot]\nenforce = true\n").expect("config");
    let spate = Spate::start(&["--in-memory", "--config", config.to_str().expect("utf-8")]);
    let client = client_without_retries(spate.addr);
    create_active(&client, "hot", 1).await;
    create_active(&client, "cold", 1).await;

    let mut outcomes = BTreeMap::new();
    for stream in ["hot", "cold"] {
        let mut iterator = trim_horizon(&client, stream).await;
        let mut throttled = false;
        for _ in 0..30 {
            match client.get_records().shard_iterator(&iterator).send().await {
                Ok(page) => iterator = page.next_shard_iterator().expect("next").to_owned(),
                Err(error) => {
                    assert_eq!(error.code(), Some(THROTTLED));
                    throttled = true;
                    break;
                }
            }
        }
        outcomes.insert(stream, throttled);
    }
    assert_eq!(outcomes, BTreeMap::from([("cold", false), ("hot", true)]));
    // Control-plane rates stay off without --enforce-limits.
    for _ in 0..5 {
        client
            .describe_limits()
            .send()
            .await
            .expect("describe limits");
    }
}

#[tokio::test]
async fn update_shard_count_allows_ten_rescales_a_day() {
    let spate = Spate::start(&["--in-memory", "--enforce-limits"]);
    let client = common::client_without_retries(spate.addr);
    create_active(&spate.client(), "rescaled", 1).await;
    // Ten rescales pass and the eleventh is refused. Control-plane rate refusals ("Rate
    // exceeded") are backed off and retried, as the SDK would; the loop is bounded.
    let mut rescales = 0;
    let mut refusal = None;
    for _ in 0..200 {
        let result = client
            .update_shard_count()
            .stream_name("rescaled")
            // 1 → 2 → 1 → …
            .target_shard_count(if rescales % 2 == 0 { 2 } else { 1 })
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await;
        match result {
            Ok(_) => rescales += 1,
            Err(error) => {
                use aws_sdk_kinesis::error::ProvideErrorMetadata;
                let message = error.message().unwrap_or_default().to_owned();
                if !message.starts_with("Rate exceeded") {
                    refusal = Some((error.code().unwrap_or_default().to_owned(), message));
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(rescales, 10);
    let (code, message) = refusal.expect("the quota ran out");
    assert_eq!(code, "LimitExceededException", "{message}");
}
