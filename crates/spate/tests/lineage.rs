//! A consumer that follows lineage (each parent read to its end before its children, as KCL
//! does) sees every acknowledged record exactly once and in order per partition key, while
//! producers write through splits, merges and rescales.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ScalingType, ShardIteratorType};
use common::{Spate, create_active};

const KEYS: usize = 40;
const BATCHES: usize = 150;

/// Writes batches sequentially (so each key's records are ordered) until resharding is
/// over, and at least `BATCHES` of them; returns, per key, the payloads acknowledged, in
/// order.
async fn produce(
    client: Client,
    resharding_done: Arc<AtomicBool>,
) -> BTreeMap<String, Vec<String>> {
    let mut acked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Bounded: resharding finishes long before this many batches.
    for batch in 0..100 * BATCHES {
        if batch >= BATCHES && resharding_done.load(Ordering::SeqCst) {
            break;
        }
        let payloads: Vec<(String, String)> = (0..KEYS)
            .map(|k| (format!("key-{k}"), format!("key-{k}/{batch}")))
            .collect();
        let entries = payloads
            .iter()
            .map(|(key, data)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(Blob::new(data.clone().into_bytes()))
                    .build()
                    .expect("entry")
            })
            .collect();
        let out = client
            .put_records()
            .stream_name("lineage")
            .set_records(Some(entries))
            .send()
            .await
            .expect("put");
        assert_eq!(out.failed_record_count(), Some(0));
        for (key, data) in payloads {
            acked.entry(key).or_default().push(data);
        }
    }
    acked
}

async fn reshard(client: Client) {
    let open = |shards: &[aws_sdk_kinesis::types::Shard]| -> Vec<(String, u128, u128)> {
        let mut open: Vec<_> = shards
            .iter()
            .filter(|s| {
                s.sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_none()
            })
            .map(|s| {
                let r = s.hash_key_range().expect("range");
                (
                    s.shard_id().to_owned(),
                    r.starting_hash_key().parse().expect("u128"),
                    r.ending_hash_key().parse().expect("u128"),
                )
            })
            .collect();
        open.sort_by_key(|s| s.1);
        open
    };
    for round in 0..3 {
        let shards = client
            .list_shards()
            .stream_name("lineage")
            .send()
            .await
            .expect("list")
            .shards()
            .to_vec();
        let current = open(&shards);
        let (id, start, end) = current[round % current.len()].clone();
        client
            .split_shard()
            .stream_name("lineage")
            .shard_to_split(id)
            .new_starting_hash_key((start + (end - start) / 2).to_string())
            .send()
            .await
            .expect("split");
        let shards = client
            .list_shards()
            .stream_name("lineage")
            .send()
            .await
            .expect("list")
            .shards()
            .to_vec();
        let current = open(&shards);
        client
            .merge_shards()
            .stream_name("lineage")
            .shard_to_merge(&current[0].0)
            .adjacent_shard_to_merge(&current[1].0)
            .send()
            .await
            .expect("merge");
        let target = if round % 2 == 0 { 4 } else { 3 };
        client
            .update_shard_count()
            .stream_name("lineage")
            .target_shard_count(target)
            .scaling_type(ScalingType::UniformScaling)
            .send()
            .await
            .expect("rescale");
    }
}

/// Reads one shard from TRIM_HORIZON to its end (or, if open, until it is caught up).
async fn drain(client: &Client, shard: &str) -> Vec<(String, String)> {
    let mut records = Vec::new();
    let mut iterator = client
        .get_shard_iterator()
        .stream_name("lineage")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .map(str::to_owned);
    while let Some(it) = iterator {
        let got = client
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .expect("get");
        for r in got.records() {
            records.push((
                r.partition_key().unwrap_or_default().to_owned(),
                String::from_utf8(r.data().as_ref().to_vec()).expect("utf-8"),
            ));
        }
        iterator = got.next_shard_iterator().map(str::to_owned);
        if got.records().is_empty() && iterator.is_some() && got.millis_behind_latest() == Some(0) {
            break; // an open shard, caught up
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_lineage_following_consumer_reads_everything_once_in_order() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "lineage", 2).await;
    let resharding_done = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn(produce(client.clone(), resharding_done.clone()));
    let resharder = tokio::spawn(reshard(client.clone()));
    resharder.await.expect("resharding");
    resharding_done.store(true, Ordering::SeqCst);
    let acked = producer.await.expect("producer");

    let shards = client
        .list_shards()
        .stream_name("lineage")
        .send()
        .await
        .expect("list")
        .shards()
        .to_vec();
    assert!(
        shards.len() > 10,
        "resharding happened: {} shards",
        shards.len()
    );
    let parents: HashMap<String, Vec<String>> = shards
        .iter()
        .map(|s| {
            let parents = s
                .parent_shard_id()
                .into_iter()
                .chain(s.adjacent_parent_shard_id())
                .map(str::to_owned)
                .collect();
            (s.shard_id().to_owned(), parents)
        })
        .collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while done.len() < shards.len() {
        let ready = shards
            .iter()
            .map(|s| s.shard_id().to_owned())
            .find(|id| !done.contains(id) && parents[id].iter().all(|p| done.contains(p)))
            .expect("some shard has all parents finished");
        for (key, data) in drain(&client, &ready).await {
            seen.entry(key).or_default().push(data);
        }
        done.insert(ready);
    }
    assert_eq!(seen.len(), KEYS);
    for (key, expected) in &acked {
        assert_eq!(
            seen.get(key),
            Some(expected),
            "{key}: every record once, in order"
        );
    }
}
