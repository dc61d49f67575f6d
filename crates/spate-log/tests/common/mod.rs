//! Shared test helpers.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use spate_log::disk::Disk;
use spate_log::{Durability, Log, LogConfig, ManualClock, NewRecord, ShardKey, StoredRecord};

/// A config with background tasks off, so tests drive checkpoints and sweeps themselves.
pub fn config(segment_bytes: u64, durability: Durability) -> LogConfig {
    LogConfig {
        dir: None,
        durability,
        segment_bytes,
        max_pending_bytes: 1 << 20,
        checkpoint_interval: Duration::ZERO,
        retention_sweep_interval: Duration::ZERO,
    }
}

pub fn open(config: LogConfig, disk: Arc<dyn Disk>, clock: Arc<ManualClock>) -> Log {
    Log::open_with(config, disk, clock).expect("open log")
}

/// Runs a future to completion on a fresh single-threaded runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

pub fn record(shard: ShardKey, key: &str, data: impl Into<Vec<u8>>) -> NewRecord {
    NewRecord {
        shard,
        partition_key: key.to_string(),
        data: Bytes::from(data.into()),
    }
}

/// Every committed record of a shard, reading in small batches.
pub fn read_all(log: &Log, shard: ShardKey) -> Vec<StoredRecord> {
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let batch = log
            .read(shard, from, i64::MIN, 7, usize::MAX)
            .expect("read");
        if batch.records.is_empty() {
            return out;
        }
        from = batch.next_counter;
        out.extend(batch.records);
    }
}

/// splitmix64.
pub fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
