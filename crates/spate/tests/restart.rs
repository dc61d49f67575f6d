//! What survives a restart: streams with their tags, retention and states; records with
//! their sequence numbers; iterators issued before it.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use common::{Spate, create_active, eventually};

#[tokio::test]
async fn streams_records_and_iterators_survive_a_clean_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    create_active(&client, "kept", 2).await;
    client
        .add_tags_to_stream()
        .stream_name("kept")
        .tags("team", "data")
        .send()
        .await
        .expect("tag");
    client
        .increase_stream_retention_period()
        .stream_name("kept")
        .retention_period_hours(72)
        .send()
        .await
        .expect("retention");
    let mut sent = Vec::new();
    for i in 0..20u8 {
        let put = client
            .put_record()
            .stream_name("kept")
            .partition_key("same-key")
            .data(Blob::new(vec![i; 100]))
            .send()
            .await
            .expect("put");
        sent.push((put.shard_id().to_owned(), put.sequence_number().to_owned()));
    }
    let shard = sent[0].0.clone();
    let iterator = client
        .get_shard_iterator()
        .stream_name("kept")
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator")
        .to_owned();
    spate.terminate();

    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    let summary = client
        .describe_stream_summary()
        .stream_name("kept")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("summary");
    assert_eq!(summary.retention_period_hours(), 72);
    assert_eq!(summary.stream_status(), &StreamStatus::Active);
    let tags = client
        .list_tags_for_stream()
        .stream_name("kept")
        .send()
        .await
        .expect("tags");
    assert_eq!(tags.tags()[0].value(), Some("data"));

    let got = client
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .expect("pre-restart iterator");
    let numbers: Vec<_> = got
        .records()
        .iter()
        .map(|r| r.sequence_number().to_owned())
        .collect();
    let expected: Vec<_> = sent.iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(numbers, expected);
    assert!(
        got.records()
            .iter()
            .enumerate()
            .all(|(i, r)| r.data().as_ref() == vec![i as u8; 100])
    );

    let put = client
        .put_record()
        .stream_name("kept")
        .partition_key("same-key")
        .data(Blob::new(vec![1]))
        .send()
        .await
        .expect("put");
    let last = &expected[expected.len() - 1];
    assert!((put.sequence_number().len(), put.sequence_number()) > (last.len(), last.as_str()));
}

#[tokio::test]
async fn a_crash_mid_transition_leaves_no_stream_stuck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &["--create-stream-ms", "500"]);
    let client = spate.client();
    create_active(&client, "deleting", 1).await;
    client
        .create_stream()
        .stream_name("creating")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    let summary = client
        .describe_stream_summary()
        .stream_name("creating")
        .send()
        .await
        .expect("summary");
    assert_eq!(
        summary
            .stream_description_summary()
            .expect("s")
            .stream_status(),
        &StreamStatus::Creating
    );
    spate.kill9();

    // The persisted due time survives the crash: the restarted server finishes the
    // transition by itself.
    let spate = Spate::on_disk(dir.path(), &["--delete-stream-ms", "500"]);
    let client = spate.client();
    eventually(Duration::from_secs(10), || async {
        let summary = client
            .describe_stream_summary()
            .stream_name("creating")
            .send()
            .await
            .ok()?;
        (summary.stream_description_summary()?.stream_status() == &StreamStatus::Active)
            .then_some(())
    })
    .await;
    client
        .delete_stream()
        .stream_name("deleting")
        .send()
        .await
        .expect("delete");
    spate.kill9();

    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    eventually(Duration::from_secs(10), || async {
        client
            .describe_stream_summary()
            .stream_name("deleting")
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    let listed = client.list_streams().send().await.expect("list");
    assert_eq!(listed.stream_names(), ["creating"]);
}
