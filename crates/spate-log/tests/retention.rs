//! Retention and dropped streams: space is reclaimed a segment at a time, counters survive.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use spate_log::disk::{CrashDisk, Disk, MemoryDisk};
use spate_log::{Durability, LogError, ManualClock, ShardKey};

const A: ShardKey = ShardKey {
    stream: 1,
    shard: 0,
};
const B: ShardKey = ShardKey {
    stream: 2,
    shard: 0,
};

fn journal_files(disk: &dyn Disk) -> usize {
    disk.list_dir(Path::new("journal")).unwrap().len()
}

#[test]
fn expired_segments_are_deleted_and_counters_survive() {
    let disk = CrashDisk::new(9);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(600, Durability::Fsync),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 0).unwrap();
    log.set_retention(1, Duration::from_millis(1_000));
    log.set_retention(2, Duration::from_millis(100_000));
    for i in 0..100 {
        clock.set(i * 100);
        block_on(log.append(vec![record(A, "k", vec![1; 50])])).unwrap();
    }
    let segments_before = journal_files(&disk);
    assert!(segments_before > 5);
    // Stream 1 alone: everything older than 9.9s - 1s may go.
    log.enforce_retention(clock.now_ms_for_test()).unwrap();
    let segments_after = journal_files(&disk);
    assert!(
        segments_after < segments_before,
        "{segments_after} < {segments_before}"
    );
    let state = log.shard_state(A, clock.now_ms_for_test() - 1_000).unwrap();
    assert_eq!(state.next_counter, 100);
    assert!(
        state.first_counter > 50,
        "first retained {}",
        state.first_counter
    );
    let read = log.read(A, 0, i64::MIN, 1_000, usize::MAX).unwrap();
    assert!(read.records[0].counter >= state.first_counter.saturating_sub(20));
    assert_eq!(read.records.last().unwrap().counter, 99);

    // A segment holding a long-retention stream's record is kept.
    block_on(log.append(vec![record(B, "k", "keep me")])).unwrap();
    for i in 0..30 {
        block_on(log.append(vec![record(A, "k", vec![2; 50 + i])])).unwrap();
    }
    // Stream 1's records are all past its retention; stream 2's record is not.
    clock.set(100_000);
    log.enforce_retention(100_000).unwrap();
    assert!(journal_files(&disk) <= 3);
    assert_eq!(read_all(&log, B).len(), 1);
    let a = log.shard_state(A, i64::MIN).unwrap();
    assert_eq!(a.next_counter, 130);

    // Power loss after everything of A is gone: the counter still does not go back.
    disk.crash_now();
    drop(log);
    let log = open(
        config(600, Durability::Fsync),
        Arc::new(disk.crash_image()),
        clock,
    );
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 0).unwrap();
    assert_eq!(log.shard_state(A, i64::MIN).unwrap().next_counter, 130);
    assert_eq!(
        block_on(log.append(vec![record(A, "k", "x")])).unwrap()[0].counter,
        130
    );
    assert_eq!(read_all(&log, B).len(), 1);
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}
impl NowForTest for ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        spate_log::Clock::now_ms(self)
    }
}

#[test]
fn dropped_streams_vanish_and_their_space_is_reclaimed() {
    let disk = CrashDisk::new(4);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(500, Durability::Fsync),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 0).unwrap();
    for _ in 0..50 {
        block_on(log.append(vec![record(A, "k", vec![0; 40])])).unwrap();
    }
    block_on(log.append(vec![record(B, "k", "other stream")])).unwrap();
    let before = journal_files(&disk);
    log.drop_stream(1).unwrap();
    assert!(matches!(
        log.read(A, 0, i64::MIN, 10, 100),
        Err(LogError::UnknownShard(_))
    ));
    assert!(matches!(
        block_on(log.append(vec![record(A, "k", "x")])),
        Err(LogError::UnknownShard(_))
    ));
    log.enforce_retention(0).unwrap();
    assert!(journal_files(&disk) < before);
    assert_eq!(read_all(&log, B).len(), 1);
    disk.crash_now();
    drop(log);
    let log = open(
        config(500, Durability::Fsync),
        Arc::new(disk.crash_image()),
        clock,
    );
    assert!(matches!(
        log.read(A, 0, i64::MIN, 10, 100),
        Err(LogError::UnknownShard(_))
    ));
    assert_eq!(read_all(&log, B).len(), 1);
}

#[test]
fn in_memory_mode_stays_bounded_by_retention() {
    let disk = Arc::new(MemoryDisk::new());
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(16 << 10, Durability::Fsync),
        disk.clone(),
        clock.clone(),
    );
    log.register_shard(A, 0).unwrap();
    log.set_retention(1, Duration::from_secs(10));
    let mut peak = 0;
    for second in 0..200 {
        clock.set(second * 1_000);
        block_on(log.append((0..10).map(|_| record(A, "k", vec![5; 500])).collect())).unwrap();
        log.enforce_retention(second * 1_000).unwrap();
        peak = peak.max(disk.total_bytes());
    }
    // 200 s × 5 KB written; 10 s of retention plus a segment or two is all that may stay.
    let written = 200 * 10 * 500;
    assert!(peak < 120_000, "peak {peak} of {written} written");
    assert_eq!(log.shard_state(A, 189_000).unwrap().next_counter, 2_000);
    assert_eq!(
        log.read(A, 0, 190_000, 1, usize::MAX).unwrap().records[0].counter,
        1_900
    );
}
