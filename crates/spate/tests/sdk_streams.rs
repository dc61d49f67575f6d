//! Stream control-plane operations through the official Rust SDK.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::types::{
    ShardFilter, ShardFilterType, StreamMode, StreamModeDetails, StreamStatus,
};
use common::{Spate, code, create_active, eventually};

#[tokio::test]
async fn create_describe_list_delete() {
    let spate = Spate::start(&[
        "--in-memory",
        "--create-stream-ms",
        "200",
        "--delete-stream-ms",
        "200",
    ]);
    let client = spate.client();
    client
        .create_stream()
        .stream_name("clicks")
        .shard_count(3)
        .send()
        .await
        .expect("create");

    let summary = client
        .describe_stream_summary()
        .stream_name("clicks")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("summary");
    assert_eq!(summary.stream_status(), &StreamStatus::Creating);
    assert_eq!(
        summary.stream_arn(),
        "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"
    );
    assert_eq!(summary.retention_period_hours(), 24);

    // Data operations on a CREATING stream find nothing, as in AWS.
    let put = client
        .put_record()
        .stream_name("clicks")
        .partition_key("k")
        .data(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(code(put), "ResourceNotFoundException");

    eventually(Duration::from_secs(10), || async {
        let d = client
            .describe_stream()
            .stream_name("clicks")
            .send()
            .await
            .ok()?;
        (d.stream_description()?.stream_status() == &StreamStatus::Active).then_some(())
    })
    .await;
    let description = client
        .describe_stream()
        .stream_name("clicks")
        .send()
        .await
        .expect("describe");
    let description = description.stream_description().expect("description");
    let shards = description.shards();
    assert_eq!(shards.len(), 3);
    assert_eq!(shards[0].shard_id(), "shardId-000000000000");
    assert_eq!(
        shards[0]
            .hash_key_range()
            .expect("range")
            .starting_hash_key(),
        "0"
    );
    assert_eq!(
        shards[2].hash_key_range().expect("range").ending_hash_key(),
        "340282366920938463463374607431768211455"
    );
    assert_eq!(
        shards[0]
            .sequence_number_range()
            .expect("range")
            .starting_sequence_number()
            .len(),
        56
    );
    assert!(!description.has_more_shards());

    let again = client
        .create_stream()
        .stream_name("clicks")
        .shard_count(1)
        .send()
        .await;
    assert_eq!(code(again), "ResourceInUseException");

    let listed = client.list_streams().send().await.expect("list");
    assert_eq!(listed.stream_names(), ["clicks"]);
    assert_eq!(listed.stream_summaries().len(), 1);

    client
        .delete_stream()
        .stream_name("clicks")
        .send()
        .await
        .expect("delete");
    let deleting = client
        .describe_stream_summary()
        .stream_name("clicks")
        .send()
        .await
        .expect("summary");
    assert_eq!(
        deleting
            .stream_description_summary()
            .expect("s")
            .stream_status(),
        &StreamStatus::Deleting
    );
    eventually(Duration::from_secs(10), || async {
        let gone = client
            .describe_stream_summary()
            .stream_name("clicks")
            .send()
            .await;
        gone.is_err()
            .then(|| assert_eq!(code(gone), "ResourceNotFoundException"))
    })
    .await;
}

#[tokio::test]
async fn describe_stream_and_list_shards_paginate() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "wide", 7).await;

    let page = client
        .describe_stream()
        .stream_name("wide")
        .limit(3)
        .send()
        .await
        .expect("describe");
    let page = page.stream_description().expect("d");
    assert_eq!(page.shards().len(), 3);
    assert!(page.has_more_shards());
    let rest = client
        .describe_stream()
        .stream_name("wide")
        .exclusive_start_shard_id("shardId-000000000002")
        .send()
        .await
        .expect("describe");
    assert_eq!(rest.stream_description().expect("d").shards().len(), 4);

    let mut seen = Vec::new();
    let first = client
        .list_shards()
        .stream_name("wide")
        .max_results(4)
        .send()
        .await
        .expect("list");
    seen.extend(first.shards().iter().map(|s| s.shard_id().to_owned()));
    let token = first.next_token().expect("more shards").to_owned();
    // The token alone names the stream; naming it too is an error.
    let both = client
        .list_shards()
        .stream_name("wide")
        .next_token(&token)
        .send()
        .await;
    assert_eq!(code(both), "InvalidArgumentException");
    let second = client
        .list_shards()
        .next_token(&token)
        .send()
        .await
        .expect("list");
    seen.extend(second.shards().iter().map(|s| s.shard_id().to_owned()));
    assert!(second.next_token().is_none());
    assert_eq!(seen.len(), 7);

    let after = client
        .list_shards()
        .stream_name("wide")
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::AfterShardId)
                .shard_id("shardId-000000000004")
                .build()
                .expect("filter"),
        )
        .send()
        .await
        .expect("list");
    assert_eq!(after.shards().len(), 2);
    for filter in [
        ShardFilterType::AtLatest,
        ShardFilterType::AtTrimHorizon,
        ShardFilterType::FromTrimHorizon,
    ] {
        let all = client
            .list_shards()
            .stream_name("wide")
            .shard_filter(
                ShardFilter::builder()
                    .r#type(filter.clone())
                    .build()
                    .expect("filter"),
            )
            .send()
            .await
            .expect("list");
        assert_eq!(all.shards().len(), 7, "{filter:?}");
    }
    let now = aws_sdk_kinesis::primitives::DateTime::from(std::time::SystemTime::now());
    for filter in [ShardFilterType::AtTimestamp, ShardFilterType::FromTimestamp] {
        let at = client
            .list_shards()
            .stream_name("wide")
            .shard_filter(
                ShardFilter::builder()
                    .r#type(filter.clone())
                    .timestamp(now)
                    .build()
                    .expect("filter"),
            )
            .send()
            .await
            .expect("list");
        assert_eq!(at.shards().len(), 7, "{filter:?}");
        let missing = client
            .list_shards()
            .stream_name("wide")
            .shard_filter(
                ShardFilter::builder()
                    .r#type(filter)
                    .build()
                    .expect("filter"),
            )
            .send()
            .await;
        assert_eq!(code(missing), "InvalidArgumentException");
    }
}

#[tokio::test]
async fn tags_retention_limits_and_arns() {
    let spate = Spate::start(&["--in-memory", "--shard-limit", "10"]);
    let client = spate.client();
    create_active(&client, "tagged", 2).await;
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/tagged";

    client
        .add_tags_to_stream()
        .stream_name("tagged")
        .tags("b", "2")
        .tags("a", "1")
        .send()
        .await
        .expect("tag");
    client
        .tag_resource()
        .resource_arn(arn)
        .tags("c", "3")
        .send()
        .await
        .expect("tag by arn");
    let tags = client
        .list_tags_for_stream()
        .stream_name("tagged")
        .limit(2)
        .send()
        .await
        .expect("list");
    let keys: Vec<_> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["a", "b"]);
    assert!(tags.has_more_tags());
    client
        .untag_resource()
        .resource_arn(arn)
        .tag_keys("a")
        .send()
        .await
        .expect("untag");
    client
        .remove_tags_from_stream()
        .stream_arn(arn)
        .tag_keys("b")
        .send()
        .await
        .expect("untag");
    let left = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("list");
    assert_eq!(left.tags().len(), 1);
    let bad = client
        .add_tags_to_stream()
        .stream_name("tagged")
        .tags("a;b", "1")
        .send()
        .await;
    assert_eq!(code(bad), "InvalidArgumentException");

    client
        .increase_stream_retention_period()
        .stream_arn(arn)
        .retention_period_hours(48)
        .send()
        .await
        .expect("increase");
    let shorter = client
        .increase_stream_retention_period()
        .stream_name("tagged")
        .retention_period_hours(30)
        .send()
        .await;
    assert_eq!(code(shorter), "InvalidArgumentException");
    let too_long = client
        .increase_stream_retention_period()
        .stream_name("tagged")
        .retention_period_hours(8761)
        .send()
        .await;
    assert_eq!(code(too_long), "InvalidArgumentException");
    client
        .decrease_stream_retention_period()
        .stream_name("tagged")
        .retention_period_hours(24)
        .send()
        .await
        .expect("decrease");
    let too_short = client
        .decrease_stream_retention_period()
        .stream_name("tagged")
        .retention_period_hours(23)
        .send()
        .await;
    assert_eq!(code(too_short), "InvalidArgumentException");

    let limits = client.describe_limits().send().await.expect("limits");
    assert_eq!(limits.shard_limit(), 10);
    assert_eq!(limits.open_shard_count(), 2);
    let too_many = client
        .create_stream()
        .stream_name("huge")
        .shard_count(1_000_000)
        .send()
        .await;
    assert_eq!(code(too_many), "LimitExceededException");

    client
        .create_stream()
        .stream_name("ondemand")
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .expect("mode"),
        )
        .send()
        .await
        .expect("create on-demand");
    let summary = client
        .describe_stream_summary()
        .stream_name("ondemand")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("s");
    assert_eq!(summary.open_shard_count(), 4);
    assert_eq!(
        summary.stream_mode_details().expect("mode").stream_mode(),
        &StreamMode::OnDemand
    );

    let missing = client.describe_stream().stream_name("nope").send().await;
    assert_eq!(code(missing), "ResourceNotFoundException");
    let invalid_name = client
        .describe_stream()
        .stream_name("bad name!")
        .send()
        .await;
    assert_eq!(code(invalid_name), "ValidationException");
    let unsupported = client
        .update_stream_warm_throughput()
        .stream_arn(arn)
        .warm_throughput_mibps(10)
        .send()
        .await;
    assert_eq!(code(unsupported), "UnknownOperationException");
}
