//! Group commit: many concurrent appends across many shards share few syncs. Counts syncs
//! through the test disk; asserts a ratio, never a time.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use spate_log::disk::CrashDisk;
use spate_log::{Durability, ManualClock, ShardKey};

const SHARDS: u32 = 200;
const TASKS: u64 = 64;
const APPENDS_PER_TASK: u64 = 25;

#[test]
fn concurrent_appends_share_syncs() {
    // A flush that takes as long as a fast SSD's keeps the test honest about batching.
    let disk = CrashDisk::with_sync_latency(1, Some(Duration::from_micros(500)));
    let log = open(
        config(64 << 20, Durability::Fsync),
        Arc::new(disk.clone()),
        Arc::new(ManualClock::new(0)),
    );
    for shard in 0..SHARDS {
        log.register_shard(ShardKey { stream: 1, shard }, 0)
            .unwrap();
    }
    let syncs_before = disk.syncs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let log = log.clone();
                tokio::spawn(async move {
                    for i in 0..APPENDS_PER_TASK {
                        let shard = ShardKey {
                            stream: 1,
                            shard: ((t * 31 + i * 7) % u64::from(SHARDS)) as u32,
                        };
                        log.append(vec![record(shard, "k", vec![t as u8; 100])])
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let appends = TASKS * APPENDS_PER_TASK;
    let syncs = disk.syncs() - syncs_before;
    eprintln!(
        "group commit: {appends} appends, {syncs} syncs ({:.3} syncs per append)",
        syncs as f64 / appends as f64
    );
    assert!(syncs * 8 <= appends, "{syncs} syncs for {appends} appends");
    let total: usize = (0..SHARDS)
        .map(|shard| read_all(&log, ShardKey { stream: 1, shard }).len())
        .sum();
    assert_eq!(total as u64, appends);
    log.shutdown().unwrap();
}
