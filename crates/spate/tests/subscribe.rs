//! SubscribeToShard through the official SDK, which reads the event stream over HTTP/1.1
//! chunked on a plain endpoint and over HTTP/2 on a TLS one: records written after
//! subscribing are pushed, continuation numbers resume exactly, all five starting
//! positions, a closed shard ends with its children, and `spate tail` follows it all.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use common::efo::{
    Got, SHARD0, data, next, position, put, records, stream_with_consumer, subscribe,
};
use common::efo::{alpn, client_over_tls};
use common::{Spate, code};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn records_written_after_subscribing_arrive_and_continuations_resume() {
    let spate = Spate::in_memory();
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "live", 1).await;

    // Nothing delivered yet: the continuation is just before the start of an empty shard,
    // and resuming after it sees the first record ever written.
    let mut events = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    let Got::Event(first) = next(&mut events, WAIT).await else {
        panic!("the first event comes at once");
    };
    assert!(first.records().is_empty());
    let before_start = first.continuation_sequence_number().to_owned();
    assert!(!before_start.is_empty() && before_start != "0");

    let written: Vec<String> = {
        let mut seqs = Vec::new();
        for i in 0..3 {
            seqs.push(put(&client, "live", &format!("r{i}")).await);
        }
        seqs
    };
    let (got, continuation) = records(&mut events, 3).await;
    assert_eq!(got.iter().map(data).collect::<Vec<_>>(), ["r0", "r1", "r2"]);
    assert_eq!(
        continuation, written[2],
        "the continuation is the last record delivered"
    );
    drop(events);

    let mut resumed = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::AfterSequenceNumber, Some(&before_start)),
    )
    .await;
    let (again, _) = records(&mut resumed, 3).await;
    assert_eq!(again[0].sequence_number(), written[0]);
    drop(resumed);

    put(&client, "live", "r3").await;
    let mut after = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::AfterSequenceNumber, Some(&continuation)),
    )
    .await;
    let (next_records, _) = records(&mut after, 1).await;
    assert_eq!(
        data(&next_records[0]),
        "r3",
        "resumes exactly after the continuation"
    );
    drop(after);

    // The other starting positions.
    let mut at = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::AtSequenceNumber, Some(&written[1])),
    )
    .await;
    assert_eq!(data(&records(&mut at, 1).await.0[0]), "r1");
    drop(at);
    let mut latest = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::Latest, None),
    )
    .await;
    let Got::Event(idle) = next(&mut latest, WAIT).await else {
        panic!("an event");
    };
    assert!(idle.records().is_empty());
    assert_eq!(idle.millis_behind_latest(), 0);
    put(&client, "live", "r4").await;
    assert_eq!(data(&records(&mut latest, 1).await.0[0]), "r4");
    drop(latest);
    let past = aws_sdk_kinesis::primitives::DateTime::from_secs(0);
    let start = aws_sdk_kinesis::types::StartingPosition::builder()
        .r#type(ShardIteratorType::AtTimestamp)
        .timestamp(past)
        .build()
        .expect("position");
    let mut from_time = subscribe(&client, &consumer, SHARD0, start).await;
    assert_eq!(data(&records(&mut from_time, 1).await.0[0]), "r0");

    // Errors before streaming are ordinary errors.
    let bad_shard = client
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id("shardId-000000000099")
        .starting_position(position(ShardIteratorType::Latest, None))
        .send()
        .await;
    assert_eq!(code(bad_shard), "ResourceNotFoundException");
    let missing_sequence = client
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id(SHARD0)
        .starting_position(position(ShardIteratorType::AfterSequenceNumber, None))
        .send()
        .await;
    assert_eq!(code(missing_sequence), "InvalidArgumentException");
}

#[tokio::test]
async fn a_split_shard_ends_with_its_children() {
    let spate = Spate::in_memory();
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "split", 1).await;
    let mut events = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    put(&client, "split", "before").await;
    records(&mut events, 1).await;
    client
        .split_shard()
        .stream_name("split")
        .shard_to_split(SHARD0)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .expect("split");
    let children = loop {
        match next(&mut events, WAIT).await {
            Got::Event(event) if !event.child_shards().is_empty() => {
                assert!(
                    event.continuation_sequence_number().is_empty(),
                    "null at the end"
                );
                break event.child_shards().to_vec();
            }
            Got::Event(_) => continue,
            other => panic!("ended without children: {other:?}"),
        }
    };
    let ids: HashSet<&str> = children.iter().map(|c| c.shard_id()).collect();
    assert_eq!(
        ids,
        HashSet::from(["shardId-000000000001", "shardId-000000000002"])
    );
    for child in &children {
        assert_eq!(child.parent_shards(), [SHARD0]);
    }
    assert!(matches!(next(&mut events, WAIT).await, Got::End));

    // A subscription started on the closed shard replays it and ends the same way.
    let mut replay = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    assert_eq!(data(&records(&mut replay, 1).await.0[0]), "before");
}

#[tokio::test]
async fn the_sdk_subscribes_over_tls_and_http2() {
    let spate = Spate::start(&[
        "--in-memory",
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-self-signed",
    ]);
    let tls_addr = spate.tls_addr.expect("TLS address");
    let cert = spate.tls_cert.clone().expect("certificate");
    assert_eq!(alpn(tls_addr, &cert).await.as_deref(), Some(&b"h2"[..]));
    let client = client_over_tls(tls_addr, &cert);
    let consumer = stream_with_consumer(&client, "secure", 1).await;
    let mut events = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::Latest, None),
    )
    .await;
    put(&client, "secure", "over h2").await;
    let (got, continuation) = records(&mut events, 1).await;
    assert_eq!(data(&got[0]), "over h2");
    drop(events);
    put(&client, "secure", "next").await;
    let mut resumed = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::AfterSequenceNumber, Some(&continuation)),
    )
    .await;
    assert_eq!(data(&records(&mut resumed, 1).await.0[0]), "next");
    // Kept in the temporary directory by a server with nothing on disk, and removed when it
    // stops.
    assert!(cert.exists());
    drop((resumed, client));
    // Off the runtime, which must keep driving the client's connections while the server
    // winds them down.
    tokio::task::spawn_blocking(move || spate.terminate())
        .await
        .expect("terminated");
    assert!(!cert.exists(), "{} left behind", cert.display());
}

#[tokio::test]
async fn spate_tail_prints_records_across_a_split_and_deregisters() {
    let spate = Spate::in_memory();
    let client = spate.client();
    common::create_active(&client, "tailed", 1).await;
    put(&client, "tailed", "one").await;
    let tail = std::process::Command::new(env!("CARGO_BIN_EXE_spate"))
        .args([
            "tail",
            "tailed",
            "--from",
            "TRIM_HORIZON",
            "--max-records",
            "3",
        ])
        .args(["--endpoint", &spate.endpoint(), "--consumer", "tail-test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn tail");
    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/tailed";
    common::eventually(Duration::from_secs(20), || async {
        let listed = client
            .list_stream_consumers()
            .stream_arn(stream_arn)
            .send()
            .await
            .ok()?;
        (!listed.consumers().is_empty()).then_some(())
    })
    .await;
    client
        .split_shard()
        .stream_name("tailed")
        .shard_to_split(SHARD0)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .expect("split");
    // One record to each child, by explicit hash key.
    for (key, text) in [
        ("1", "three"),
        ("340282366920938463463374607431768211455", "two"),
    ] {
        client
            .put_record()
            .stream_name("tailed")
            .partition_key("x")
            .explicit_hash_key(key)
            .data(aws_sdk_kinesis::primitives::Blob::new(text))
            .send()
            .await
            .expect("put");
    }
    let output = tokio::task::spawn_blocking(move || tail.wait_with_output())
        .await
        .expect("join")
        .expect("tail output");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines: Vec<(&str, &str)> = text
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[0], fields[3])
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("shardId-000000000000", "one"),
            ("shardId-000000000001", "three"),
            ("shardId-000000000002", "two"),
        ]
    );
    let listed = client
        .list_stream_consumers()
        .stream_arn(stream_arn)
        .send()
        .await
        .expect("list");
    assert!(
        listed.consumers().is_empty(),
        "tail deregistered its consumer"
    );
}
