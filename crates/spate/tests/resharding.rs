//! SplitShard, MergeShards, UpdateShardCount, UpdateStreamMode and UpdateMaxRecordSize
//! through the Rust SDK: AWS's rules and errors, and lineage that consumers can follow.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    ScalingType, Shard, ShardIteratorType, StreamMode, StreamModeDetails, StreamStatus,
};
use common::{Spate, code, create_active, eventually};

const ARN_PREFIX: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/";

async fn shards(client: &Client, stream: &str) -> Vec<Shard> {
    client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("list shards")
        .shards()
        .to_vec()
}

fn open(shards: &[Shard]) -> Vec<&Shard> {
    shards
        .iter()
        .filter(|s| {
            s.sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_none()
        })
        .collect()
}

async fn put(client: &Client, stream: &str, key: &str, data: &[u8]) -> (String, String) {
    let out = client
        .put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data.to_vec()))
        .send()
        .await
        .expect("put");
    (out.shard_id().to_owned(), out.sequence_number().to_owned())
}

#[tokio::test]
async fn split_closes_the_parent_and_reads_end_with_its_children() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "split", 1).await;
    let (_, before) = put(&client, "split", "k", b"before").await;
    let parent_iterator = client
        .get_shard_iterator()
        .stream_name("split")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator")
        .to_owned();

    let middle = (1u128 << 127).to_string();
    client
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key(&middle)
        .send()
        .await
        .expect("split");
    let all = shards(&client, "split").await;
    assert_eq!(all.len(), 3);
    assert!(
        all[0]
            .sequence_number_range()
            .expect("range")
            .ending_sequence_number()
            .is_some()
    );
    assert_eq!(all[1].parent_shard_id(), Some("shardId-000000000000"));
    assert_eq!(
        all[1].hash_key_range().expect("r").ending_hash_key(),
        ((1u128 << 127) - 1).to_string()
    );
    assert_eq!(
        all[2].hash_key_range().expect("r").starting_hash_key(),
        middle
    );
    assert_eq!(open(&all).len(), 2);

    // The parent is read to its end: its record, then no iterator and both children.
    let got = client
        .get_records()
        .shard_iterator(parent_iterator)
        .send()
        .await
        .expect("get");
    assert_eq!(got.records().len(), 1);
    assert_eq!(got.records()[0].sequence_number(), before);
    assert!(got.next_shard_iterator().is_none());
    let children: Vec<_> = got
        .child_shards()
        .iter()
        .map(|c| c.shard_id().to_owned())
        .collect();
    assert_eq!(children, ["shardId-000000000001", "shardId-000000000002"]);
    assert!(
        got.child_shards()
            .iter()
            .all(|c| c.parent_shards() == ["shardId-000000000000"])
    );

    // New records go only to the children; an open shard always gives a next iterator.
    let (shard, _) = put(&client, "split", "k", b"after").await;
    assert_ne!(shard, "shardId-000000000000");
    let it = client
        .get_shard_iterator()
        .stream_name("split")
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    let got = client
        .get_records()
        .shard_iterator(it.shard_iterator().expect("it"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.records()[0].data().as_ref(), b"after");
    assert!(got.next_shard_iterator().is_some() && got.child_shards().is_empty());

    let again = client
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key("12345")
        .send()
        .await;
    assert_eq!(code(again), "InvalidArgumentException");
    let outside = client
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000001")
        .new_starting_hash_key(&middle)
        .send()
        .await;
    assert_eq!(code(outside), "InvalidArgumentException");
    let edge = client
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000001")
        .new_starting_hash_key("1")
        .send()
        .await;
    assert_eq!(code(edge), "InvalidArgumentException");
    let missing = client
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000099")
        .new_starting_hash_key("12345")
        .send()
        .await;
    assert_eq!(code(missing), "ResourceNotFoundException");
}

#[tokio::test]
async fn merge_needs_adjacent_open_shards() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "merge", 3).await;
    let apart = client
        .merge_shards()
        .stream_name("merge")
        .shard_to_merge("shardId-000000000000")
        .adjacent_shard_to_merge("shardId-000000000002")
        .send()
        .await;
    assert_eq!(code(apart), "InvalidArgumentException");
    client
        .merge_shards()
        .stream_arn(format!("{ARN_PREFIX}merge"))
        .shard_to_merge("shardId-000000000002")
        .adjacent_shard_to_merge("shardId-000000000001")
        .send()
        .await
        .expect("merge");
    let all = shards(&client, "merge").await;
    let child = all
        .iter()
        .find(|s| s.shard_id() == "shardId-000000000003")
        .expect("child");
    assert_eq!(child.parent_shard_id(), Some("shardId-000000000002"));
    assert_eq!(
        child.adjacent_parent_shard_id(),
        Some("shardId-000000000001")
    );
    assert_eq!(
        child.hash_key_range().expect("r").ending_hash_key(),
        u128::MAX.to_string()
    );
    assert_eq!(open(&all).len(), 2);
    let closed = client
        .merge_shards()
        .stream_name("merge")
        .shard_to_merge("shardId-000000000001")
        .adjacent_shard_to_merge("shardId-000000000000")
        .send()
        .await;
    assert_eq!(code(closed), "InvalidArgumentException");
}

#[tokio::test]
async fn update_shard_count_scales_uniformly_within_limits() {
    let spate = Spate::start(&["--in-memory", "--shard-limit", "12"]);
    let client = spate.client();
    create_active(&client, "scale", 3).await;
    let out = client
        .update_shard_count()
        .stream_name("scale")
        .target_shard_count(5)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .expect("rescale");
    assert_eq!(
        (out.current_shard_count(), out.target_shard_count()),
        (Some(3), Some(5))
    );
    assert_eq!(
        out.stream_arn(),
        Some(format!("{ARN_PREFIX}scale").as_str())
    );
    let all = shards(&client, "scale").await;
    let mut open_shards = open(&all);
    open_shards.sort_by_key(|s| {
        s.hash_key_range()
            .and_then(|r| r.starting_hash_key().parse::<u128>().ok())
    });
    assert_eq!(open_shards.len(), 5);
    let expected = spate_types::HashKeyRange::ALL.split_evenly(5);
    for (shard, range) in open_shards.iter().zip(&expected) {
        let r = shard.hash_key_range().expect("range");
        assert_eq!(
            (r.starting_hash_key(), r.ending_hash_key()),
            (
                range.start.to_string().as_str(),
                range.end.to_string().as_str()
            )
        );
        assert!(
            shard.parent_shard_id().is_some(),
            "every new shard has lineage"
        );
    }
    for (target, error) in [
        (11, "LimitExceededException"),
        (2, "LimitExceededException"),
        (12, "LimitExceededException"),
    ] {
        let refused = client
            .update_shard_count()
            .stream_name("scale")
            .target_shard_count(target)
            .scaling_type(ScalingType::UniformScaling)
            .send()
            .await;
        assert_eq!(code(refused), error, "target {target}");
    }
    client
        .update_shard_count()
        .stream_name("scale")
        .target_shard_count(3)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .expect("scale down");
    assert_eq!(open(&shards(&client, "scale").await).len(), 3);
}

#[tokio::test]
async fn on_demand_streams_refuse_manual_resharding_and_modes_switch() {
    let spate = Spate::start(&["--in-memory", "--update-stream-ms", "300"]);
    let client = spate.client();
    create_active(&client, "modes", 2).await;
    let arn = format!("{ARN_PREFIX}modes");
    let on_demand = StreamModeDetails::builder()
        .stream_mode(StreamMode::OnDemand)
        .build()
        .expect("mode");
    client
        .update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(on_demand.clone())
        .send()
        .await
        .expect("switch");
    let summary = client
        .describe_stream_summary()
        .stream_name("modes")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("s");
    assert_eq!(summary.stream_status(), &StreamStatus::Updating);
    assert_eq!(
        summary.stream_mode_details().expect("mode").stream_mode(),
        &StreamMode::OnDemand
    );
    // Reads and writes go on while UPDATING; control changes wait.
    put(&client, "modes", "k", b"during").await;
    let busy = client
        .add_tags_to_stream()
        .stream_name("modes")
        .tags("a", "b")
        .send()
        .await;
    assert_eq!(code(busy), "ResourceInUseException");
    eventually(Duration::from_secs(10), || async {
        let s = client
            .describe_stream_summary()
            .stream_name("modes")
            .send()
            .await
            .ok()?;
        (s.stream_description_summary()?.stream_status() == &StreamStatus::Active).then_some(())
    })
    .await;
    let refused = client
        .split_shard()
        .stream_name("modes")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key("12345")
        .send()
        .await;
    assert_eq!(code(refused), "ValidationException");
    let refused = client
        .update_shard_count()
        .stream_name("modes")
        .target_shard_count(3)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await;
    assert_eq!(code(refused), "ValidationException");
    let same = client
        .update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(on_demand)
        .send()
        .await;
    assert_eq!(code(same), "InvalidArgumentException");
}

#[tokio::test]
async fn update_max_record_size_admits_larger_records() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "big", 1).await;
    let two_mib = vec![3u8; 2 * 1024 * 1024];
    let before = client
        .put_record()
        .stream_name("big")
        .partition_key("k")
        .data(Blob::new(two_mib.clone()))
        .send()
        .await;
    assert!(matches!(
        code(before).as_str(),
        "ValidationException" | "InvalidArgumentException"
    ));
    client
        .update_max_record_size()
        .stream_arn(format!("{ARN_PREFIX}big"))
        .max_record_size_in_kib(4096)
        .send()
        .await
        .expect("raise");
    let summary = client
        .describe_stream_summary()
        .stream_name("big")
        .send()
        .await
        .expect("summary");
    assert_eq!(
        summary
            .stream_description_summary()
            .expect("s")
            .max_record_size_in_kib(),
        Some(4096)
    );
    client
        .put_record()
        .stream_name("big")
        .partition_key("k")
        .data(Blob::new(two_mib.clone()))
        .send()
        .await
        .expect("2 MiB record");
    let it = client
        .get_shard_iterator()
        .stream_name("big")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    let got = client
        .get_records()
        .shard_iterator(it.shard_iterator().expect("it"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.records()[0].data().as_ref(), two_mib.as_slice());
    let too_big = client
        .update_max_record_size()
        .stream_arn(format!("{ARN_PREFIX}big"))
        .max_record_size_in_kib(10241)
        .send()
        .await;
    assert_eq!(code(too_big), "ValidationException");
}

#[tokio::test]
async fn a_crash_while_updating_leaves_a_consistent_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &["--update-stream-ms", "400"]);
    let client = spate.client();
    create_active(&client, "upd", 2).await;
    put(&client, "upd", "a", b"1").await;
    client
        .update_shard_count()
        .stream_name("upd")
        .target_shard_count(4)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .expect("rescale");
    put(&client, "upd", "a", b"2").await;
    spate.kill9();

    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    eventually(Duration::from_secs(10), || async {
        let s = client
            .describe_stream_summary()
            .stream_name("upd")
            .send()
            .await
            .ok()?;
        (s.stream_description_summary()?.stream_status() == &StreamStatus::Active).then_some(())
    })
    .await;
    let all = shards(&client, "upd").await;
    assert_eq!(open(&all).len(), 4);
    // Writes after the restart go to open shards only, and the old shards end with children.
    let (shard, _) = put(&client, "upd", "a", b"3").await;
    assert!(open(&all).iter().any(|s| s.shard_id() == shard));
    for closed in all.iter().filter(|s| {
        s.sequence_number_range()
            .and_then(|r| r.ending_sequence_number())
            .is_some()
    }) {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name("upd")
            .shard_id(closed.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator")
            .shard_iterator()
            .map(str::to_owned);
        let mut rounds = 0;
        while let Some(it) = iterator {
            let got = client
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .expect("get");
            iterator = got.next_shard_iterator().map(str::to_owned);
            if iterator.is_none() {
                assert!(
                    !got.child_shards().is_empty(),
                    "{} ends with children",
                    closed.shard_id()
                );
            }
            rounds += 1;
            assert!(
                rounds < 100,
                "closed shard {} never ends",
                closed.shard_id()
            );
        }
    }
}

#[tokio::test]
async fn on_demand_streams_split_their_hot_shards() {
    let spate = Spate::start(&[
        "--in-memory",
        "--on-demand-scale-interval-ms",
        "100",
        "--on-demand-shard-write-records",
        "20",
    ]);
    let client = spate.client();
    client
        .create_stream()
        .stream_name("hot")
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .expect("mode"),
        )
        .send()
        .await
        .expect("create");
    let (hot_shard, _) = put(&client, "hot", "hot-key", b"x").await;
    // Far above 20 records/s on one shard, until the service splits it (bounded by the
    // deadline in `eventually`).
    eventually(Duration::from_secs(30), || async {
        let entries = (0..50)
            .map(|_| {
                aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                    .partition_key("hot-key")
                    .data(Blob::new(b"x".to_vec()))
                    .build()
                    .expect("entry")
            })
            .collect();
        client
            .put_records()
            .stream_name("hot")
            .set_records(Some(entries))
            .send()
            .await
            .expect("put");
        let all = shards(&client, "hot").await;
        (open(&all).len() > 4).then_some(())
    })
    .await;
    let all = shards(&client, "hot").await;
    let parent = all
        .iter()
        .find(|s| s.shard_id() == hot_shard)
        .expect("hot shard listed");
    assert!(
        parent
            .sequence_number_range()
            .and_then(|r| r.ending_sequence_number())
            .is_some(),
        "the hot shard was split"
    );
    let children: Vec<_> = all
        .iter()
        .filter(|s| s.parent_shard_id() == Some(hot_shard.as_str()))
        .collect();
    assert_eq!(children.len(), 2);
    // Cold shards were left alone, and the stream stayed ACTIVE throughout.
    assert!(all.iter().filter(|s| s.parent_shard_id().is_none()).count() == 4);
    let summary = client
        .describe_stream_summary()
        .stream_name("hot")
        .send()
        .await
        .expect("summary");
    assert_eq!(
        summary
            .stream_description_summary()
            .expect("s")
            .stream_status(),
        &StreamStatus::Active
    );
}
