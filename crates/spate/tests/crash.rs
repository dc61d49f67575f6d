//! kill -9 under load: every acknowledged record survives with its sequence number and
//! bytes, in order, and new sequence numbers are higher than any acknowledged one.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use common::{Spate, create_active, eventually};

/// Acknowledged records per shard: (sequence number, data).
type Acked = Arc<Mutex<BTreeMap<String, Vec<(String, Vec<u8>)>>>>;

/// Sequence numbers are same-length decimals within a shard, so they compare as text.
fn seq_key(s: &str) -> (usize, &str) {
    (s.len(), s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_records_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    create_active(&client, "crash", 4).await;

    let acked: Acked = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..6u32 {
        let client = client.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            // Bounded: stops at the first failure (the kill) or after 2,000 calls.
            for call in 0..2_000u32 {
                // Two writers send 5 × 60 KiB a call, so groups over 256 KiB (written to the
                // journal with O_DIRECT, padded to 4 KiB) mix with the others' small ones.
                let len = if writer < 2 { 60 << 10 } else { 0 };
                let payloads: Vec<Vec<u8>> = (0..5u32)
                    .map(|i| {
                        let tag = format!("w{writer}-c{call}-r{i}/").into_bytes();
                        tag.iter()
                            .copied()
                            .cycle()
                            .take(len.max(tag.len()))
                            .collect()
                    })
                    .collect();
                let entries = payloads
                    .iter()
                    .enumerate()
                    .map(|(i, data)| {
                        PutRecordsRequestEntry::builder()
                            .partition_key(format!("{writer}-{call}-{i}"))
                            .data(Blob::new(data.clone()))
                            .build()
                            .expect("entry")
                    })
                    .collect();
                let Ok(out) = client
                    .put_records()
                    .stream_name("crash")
                    .set_records(Some(entries))
                    .send()
                    .await
                else {
                    return;
                };
                let mut acked = acked.lock().expect("lock");
                for (result, data) in out.records().iter().zip(payloads) {
                    if let (Some(shard), Some(seq)) = (result.shard_id(), result.sequence_number())
                    {
                        acked
                            .entry(shard.to_owned())
                            .or_default()
                            .push((seq.to_owned(), data));
                    }
                }
            }
        }));
    }
    let count = |acked: &Acked| {
        acked
            .lock()
            .expect("lock")
            .values()
            .map(Vec::len)
            .sum::<usize>()
    };
    eventually(Duration::from_secs(120), || async {
        (count(&acked) >= 1_500).then_some(())
    })
    .await;
    spate.kill9();
    for writer in writers {
        writer.await.expect("writer");
    }

    let spate = Spate::on_disk(dir.path(), &[]);
    let client = spate.client();
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.values().map(Vec::len).sum::<usize>() >= 1_500);
    for (shard, mut expected) in acked {
        expected.sort_by(|a, b| seq_key(&a.0).cmp(&seq_key(&b.0)));
        let mut iterator = client
            .get_shard_iterator()
            .stream_name("crash")
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator")
            .shard_iterator()
            .map(str::to_owned);
        let mut stored: Vec<(String, Vec<u8>)> = Vec::new();
        while let Some(it) = iterator {
            let out = client
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .expect("get");
            if out.records().is_empty() {
                break;
            }
            stored.extend(
                out.records()
                    .iter()
                    .map(|r| (r.sequence_number().to_owned(), r.data().as_ref().to_vec())),
            );
            iterator = out.next_shard_iterator().map(str::to_owned);
        }
        let stored_order: Vec<_> = stored.iter().map(|(s, _)| s.clone()).collect();
        let mut sorted = stored_order.clone();
        sorted.sort_by(|a, b| seq_key(a).cmp(&seq_key(b)));
        assert_eq!(
            stored_order, sorted,
            "{shard}: records come back in sequence order"
        );
        let stored_map: BTreeMap<_, _> = stored.into_iter().collect();
        for (seq, data) in &expected {
            assert_eq!(
                stored_map.get(seq),
                Some(data),
                "{shard}: acknowledged record {seq} lost or changed"
            );
        }
        let newest = expected
            .last()
            .map(|(s, _)| s.clone())
            .expect("some records");
        let hash_key = match shard.as_str() {
            "shardId-000000000000" => "0",
            "shardId-000000000001" => "85070591730234615865843651857942052864",
            "shardId-000000000002" => "170141183460469231731687303715884105728",
            _ => "340282366920938463463374607431768211455",
        };
        let put = client
            .put_record()
            .stream_name("crash")
            .partition_key("after")
            .explicit_hash_key(hash_key)
            .data(Blob::new(b"after".to_vec()))
            .send()
            .await
            .expect("put after restart");
        assert_eq!(put.shard_id(), shard);
        assert!(
            seq_key(put.sequence_number()) > seq_key(&newest),
            "{shard}: new numbers are higher"
        );
    }
}
