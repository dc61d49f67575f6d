//! How subscriptions end: taken over by a later one (refused while the first is younger
//! than the takeover window), at the end of their lifetime, when their consumer or stream
//! goes away; and a subscriber that stops reading, which must slow nobody and cost the
//! server no memory beyond a bound.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use common::efo::{
    Events, Got, SHARD0, next, position, put, records, stream_with_consumer, subscribe,
};
use common::{Spate, code};

/// Reads until the subscription ends; returns how it ended.
async fn until_end(events: &mut Events) -> Got {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(events, left).await {
            Got::Event(_) => continue,
            end => return end,
        }
    }
}

#[tokio::test]
async fn a_second_subscription_is_refused_within_the_window_and_takes_over_after_it() {
    // The default five-second window: an immediate second subscription is refused.
    let spate = Spate::in_memory();
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "held", 1).await;
    let mut first = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::Latest, None),
    )
    .await;
    let Got::Event(_) = next(&mut first, Duration::from_secs(15)).await else {
        panic!("the first event comes at once");
    };
    let second = client
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id(SHARD0)
        .starting_position(position(ShardIteratorType::Latest, None))
        .send()
        .await;
    assert_eq!(code(second), "ResourceInUseException");
    let text = common::scrape(&spate);
    let count = |name: &str| {
        common::metric_value(&text, name, &["stream=\"held\""])
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(count("kinesis_subscribe_to_shard_success_total"), 1.0);
    assert_eq!(count("kinesis_subscribe_to_shard_rate_exceeded_total"), 1.0);
    assert!(count("kinesis_subscribe_to_shard_event_success_total") >= 1.0);

    // A short window: once it has passed, a new subscription takes over and the first one
    // gets ResourceInUseException in its stream.
    let spate = Spate::start(&["--in-memory", "--subscription-takeover-ms", "300"]);
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "taken", 1).await;
    let mut first = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::Latest, None),
    )
    .await;
    let mut second = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::Latest, None),
    )
    .await;
    assert_eq!(
        format!("{:?}", until_end(&mut first).await),
        "Error(\"ResourceInUseException\")"
    );
    put(&client, "taken", "for the new one").await;
    assert_eq!(records(&mut second, 1).await.0.len(), 1);
}

#[tokio::test]
async fn a_subscription_ends_normally_at_the_end_of_its_lifetime() {
    let spate = Spate::start(&["--in-memory", "--subscription-lifetime-ms", "1500"]);
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "brief", 1).await;
    let mut events = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    put(&client, "brief", "r").await;
    let (_, continuation) = records(&mut events, 1).await;
    assert!(matches!(until_end(&mut events).await, Got::End));
    // Resubscribing from the continuation loses and repeats nothing.
    put(&client, "brief", "s").await;
    let mut again = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::AfterSequenceNumber, Some(&continuation)),
    )
    .await;
    let (got, _) = records(&mut again, 1).await;
    assert_eq!(got[0].data().as_ref(), b"s");
}

#[tokio::test]
async fn deregistering_the_consumer_or_deleting_the_stream_ends_subscriptions() {
    let spate = Spate::in_memory();
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "doomed", 2).await;
    let mut on_zero = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::Latest, None),
    )
    .await;
    client
        .deregister_stream_consumer()
        .consumer_arn(&consumer)
        .send()
        .await
        .expect("deregister");
    assert_eq!(
        format!("{:?}", until_end(&mut on_zero).await),
        "Error(\"ResourceNotFoundException\")"
    );

    let consumer = {
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/doomed";
        let registered = client
            .register_stream_consumer()
            .stream_arn(arn)
            .consumer_name("second")
            .send()
            .await
            .expect("register");
        registered
            .consumer()
            .expect("consumer")
            .consumer_arn()
            .to_owned()
    };
    let mut on_one = subscribe(
        &client,
        &consumer,
        "shardId-000000000001",
        position(ShardIteratorType::Latest, None),
    )
    .await;
    client
        .delete_stream()
        .stream_name("doomed")
        .enforce_consumer_deletion(true)
        .send()
        .await
        .expect("delete");
    assert!(matches!(
        until_end(&mut on_one).await,
        Got::Error(_) | Got::End
    ));
}

/// The server's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_slows_nobody_and_holds_no_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    let stalled_consumer = stream_with_consumer(&client, "flood", 1).await;
    let reader_consumer = client
        .register_stream_consumer()
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/flood")
        .consumer_name("reader")
        .send()
        .await
        .expect("register")
        .consumer()
        .expect("consumer")
        .consumer_arn()
        .to_owned();
    // Subscribed from the start, and never read again: the stalled subscriber.
    let _stalled = subscribe(
        &client,
        &stalled_consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    let mut reader = subscribe(
        &client,
        &reader_consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;

    const BATCH: usize = 64;
    const RECORD: usize = 16 << 10; // 1 MiB a batch
    let put_batches = |count: usize| {
        let client = client.clone();
        async move {
            for _ in 0..count {
                let entries: Vec<PutRecordsRequestEntry> = (0..BATCH)
                    .map(|i| {
                        PutRecordsRequestEntry::builder()
                            .partition_key(format!("k{i}"))
                            .data(Blob::new(vec![b'x'; RECORD]))
                            .build()
                            .expect("entry")
                    })
                    .collect();
                let out = client
                    .put_records()
                    .stream_name("flood")
                    .set_records(Some(entries))
                    .send()
                    .await
                    .expect("the producer is never held back");
                assert_eq!(out.failed_record_count(), Some(0));
            }
        }
    };
    // Warm up (allocator pools, buffers), then measure across 96 MiB more. What the server
    // may keep meanwhile without holding the stalled subscriber's records: the log's read
    // windows kept for reuse (at most 24 of ~1 MiB), the tail cache of its latest direct
    // writes (at most 32 MiB: these 1 MiB batches are written directly) and allocator
    // slack. Without the tail cache it grew by 0-4 MiB; with other tests running at once,
    // the reader falls behind, reads wider windows, and the pool fills (17 MiB was seen
    // across 32 MiB).
    const MEASURED: usize = 96;
    put_batches(4).await;
    records(&mut reader, 4 * BATCH).await;
    let before = rss_kib(spate.child.id());
    let (_, got) = tokio::join!(
        put_batches(MEASURED),
        records(&mut reader, MEASURED * BATCH)
    );
    assert!(
        got.0.len() >= MEASURED * BATCH,
        "the other subscriber got everything"
    );
    let after = rss_kib(spate.child.id());
    let grown_mib = after.saturating_sub(before) / 1024;
    eprintln!("rss before {before} KiB, after {after} KiB");
    assert!(
        grown_mib < 72,
        "server memory grew by {grown_mib} MiB while {MEASURED} MiB went past a stalled subscriber"
    );
}
