//! Behaviour of one log: appends, reads, seeks, registration, limits, reopening.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use spate_log::disk::{CrashDisk, Disk, MemoryDisk, RealDisk};
use spate_log::{Durability, Log, LogConfig, LogError, ManualClock, ShardKey};

const A: ShardKey = ShardKey {
    stream: 1,
    shard: 0,
};
const B: ShardKey = ShardKey {
    stream: 1,
    shard: 1,
};

#[test]
fn appends_get_increasing_counters_and_read_back() {
    let clock = Arc::new(ManualClock::new(1_000));
    let log = open(
        config(4096, Durability::Fsync),
        Arc::new(MemoryDisk::new()),
        clock.clone(),
    );
    log.register_shard(A, 10).unwrap();
    log.register_shard(B, 0).unwrap();
    let acks = block_on(log.append(vec![
        record(A, "a", "one"),
        record(B, "b", "two"),
        record(A, "a", "three"),
    ]))
    .unwrap();
    assert_eq!(
        acks.iter().map(|a| a.counter).collect::<Vec<_>>(),
        vec![10, 0, 11]
    );
    clock.set(500); // the clock going back must not make arrival times go back
    let later = block_on(log.append(vec![record(A, "a", "four")])).unwrap();
    assert_eq!(later[0].counter, 12);
    assert_eq!(later[0].arrival_ms, 1_000);

    let all = read_all(&log, A);
    let data: Vec<&[u8]> = all.iter().map(|r| &r.data[..]).collect();
    assert_eq!(data, vec![&b"one"[..], b"three", b"four"]);
    assert_eq!(all[0].partition_key, "a");
    let from_middle = log.read(A, 11, i64::MIN, 10, usize::MAX).unwrap();
    assert_eq!(from_middle.records[0].counter, 11);
    assert_eq!(from_middle.next_counter, 13);
    let past_end = log.read(A, 13, i64::MIN, 10, usize::MAX).unwrap();
    assert!(past_end.records.is_empty());
    assert_eq!(past_end.next_counter, 13);
    let state = log.shard_state(A, i64::MIN).unwrap();
    assert_eq!(
        (
            state.next_counter,
            state.first_counter,
            state.last_arrival_ms
        ),
        (13, 10, Some(1_000))
    );
    log.shutdown().unwrap();
}

#[test]
fn read_limits_always_return_at_least_one_record() {
    let log = open(
        config(1 << 20, Durability::None),
        Arc::new(MemoryDisk::new()),
        Arc::new(ManualClock::new(0)),
    );
    log.register_shard(A, 0).unwrap();
    block_on(log.append((0..10).map(|i| record(A, "k", vec![i; 100])).collect())).unwrap();
    let one = log.read(A, 0, i64::MIN, 100, 10).unwrap();
    assert_eq!(one.records.len(), 1);
    assert_eq!(one.next_counter, 1);
    let some = log.read(A, 0, i64::MIN, 100, 350).unwrap();
    assert_eq!(some.records.len(), 3);
    let capped = log.read(A, 2, i64::MIN, 4, usize::MAX).unwrap();
    assert_eq!(
        capped.records.iter().map(|r| r.counter).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    assert!(
        log.read(A, 0, i64::MIN, 0, usize::MAX)
            .unwrap()
            .records
            .is_empty()
    );
}

#[test]
fn seek_time_and_not_before_follow_arrival_times() {
    let clock = Arc::new(ManualClock::new(100));
    let log = open(
        config(512, Durability::Fsync),
        Arc::new(MemoryDisk::new()),
        clock.clone(),
    );
    log.register_shard(A, 0).unwrap();
    for i in 0..40 {
        clock.set(100 + i * 10);
        block_on(log.append(vec![record(A, "k", format!("r{i}"))])).unwrap();
    }
    assert_eq!(log.seek_time(A, 0).unwrap(), 0);
    assert_eq!(log.seek_time(A, 100).unwrap(), 0);
    assert_eq!(log.seek_time(A, 101).unwrap(), 1);
    assert_eq!(log.seek_time(A, 250).unwrap(), 15);
    assert_eq!(log.seek_time(A, 490).unwrap(), 39);
    assert_eq!(log.seek_time(A, 491).unwrap(), 40);
    let fresh = log.read(A, 0, 300, 5, usize::MAX).unwrap();
    assert_eq!(fresh.records[0].counter, 20);
    assert_eq!(log.shard_state(A, 300).unwrap().first_counter, 20);
    // Everything expired: nothing returned, and the next read starts at the end.
    let none = log.read(A, 3, 10_000, 5, usize::MAX).unwrap();
    assert!(none.records.is_empty());
    assert_eq!(none.next_counter, 40);
}

#[test]
fn registration_is_idempotent_and_never_lowers_a_counter() {
    let disk = CrashDisk::new(1);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(4096, Durability::Fsync),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    log.register_shard(A, 5).unwrap();
    block_on(log.append(vec![record(A, "k", "x")])).unwrap();
    log.register_shard(A, 0).unwrap();
    log.register_shard(A, 5).unwrap();
    assert_eq!(log.shard_state(A, i64::MIN).unwrap().next_counter, 6);
    log.register_shard(A, 100).unwrap();
    assert_eq!(
        block_on(log.append(vec![record(A, "k", "y")])).unwrap()[0].counter,
        100
    );
    log.register_shard(B, 7).unwrap();
    // Power loss right after: the registrations were durable when they returned.
    disk.crash_now();
    drop(log);
    let log = open(
        config(4096, Durability::Fsync),
        Arc::new(disk.crash_image()),
        clock,
    );
    log.register_shard(A, 0).unwrap();
    assert_eq!(log.shard_state(A, i64::MIN).unwrap().next_counter, 101);
    assert_eq!(log.shard_state(B, i64::MIN).unwrap().next_counter, 7);
}

#[test]
fn unknown_shards_and_oversized_keys_are_refused() {
    let log = open(
        config(4096, Durability::Fsync),
        Arc::new(MemoryDisk::new()),
        Arc::new(ManualClock::new(0)),
    );
    assert!(
        matches!(block_on(log.append(vec![record(A, "k", "x")])), Err(LogError::UnknownShard(k)) if k == A)
    );
    assert!(matches!(
        log.read(A, 0, 0, 1, 1),
        Err(LogError::UnknownShard(_))
    ));
    log.register_shard(A, 0).unwrap();
    let huge_key = "k".repeat(70_000);
    assert!(matches!(
        block_on(log.append(vec![record(A, &huge_key, "x")])),
        Err(LogError::RecordTooLarge(_))
    ));
    assert!(block_on(log.append(Vec::new())).unwrap().is_empty());
}

#[test]
fn a_failed_write_poisons_the_log() {
    let disk = CrashDisk::new(3);
    let log = open(
        config(4096, Durability::Fsync),
        Arc::new(disk.clone()),
        Arc::new(ManualClock::new(0)),
    );
    log.register_shard(A, 0).unwrap();
    block_on(log.append(vec![record(A, "k", "ok")])).unwrap();
    disk.crash_now();
    assert!(matches!(
        block_on(log.append(vec![record(A, "k", "lost")])),
        Err(LogError::Io(_))
    ));
    assert!(matches!(
        block_on(log.append(vec![record(A, "k", "refused")])),
        Err(LogError::Poisoned)
    ));
    assert!(matches!(log.register_shard(B, 0), Err(LogError::Poisoned)));
    // Committed data stays readable.
    assert_eq!(read_all(&log, A).len(), 1);
    assert!(log.shutdown().is_err());
}

#[test]
fn backpressure_bounds_pending_bytes_but_takes_an_oversized_append_alone() {
    let mut cfg = config(1 << 16, Durability::Fsync);
    cfg.max_pending_bytes = 1_000;
    let log = open(
        cfg,
        Arc::new(MemoryDisk::new()),
        Arc::new(ManualClock::new(0)),
    );
    log.register_shard(A, 0).unwrap();
    let big = block_on(log.append(vec![record(A, "k", vec![7; 5_000])])).unwrap();
    assert_eq!(big[0].counter, 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let futures: Vec<_> = (0..200)
        .map(|i| log.append(vec![record(A, "k", vec![i as u8; 300])]))
        .collect();
    let results = rt.block_on(async {
        let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap()[0].counter);
        }
        out
    });
    let mut sorted = results.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, (1..=200).collect::<Vec<_>>());
    assert_eq!(read_all(&log, A).len(), 201);
}

#[test]
fn clean_shutdown_and_reopen_on_a_real_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        dir: Some(dir.path().to_path_buf()),
        segment_bytes: 1024,
        ..LogConfig::default()
    };
    let log = Log::open(cfg.clone()).unwrap();
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 50).unwrap();
    for i in 0..100u32 {
        let shard = if i % 3 == 0 { B } else { A };
        block_on(log.append(vec![record(shard, "pk", i.to_le_bytes())])).unwrap();
    }
    log.checkpoint().unwrap();
    block_on(log.append(vec![record(A, "pk", "after checkpoint")])).unwrap();
    let before_a = read_all(&log, A);
    let before_b = read_all(&log, B);
    drop(log); // dropping the last handle shuts down cleanly
    assert!(
        std::fs::read_dir(dir.path().join("journal"))
            .unwrap()
            .count()
            > 3
    );
    let log = Log::open(cfg).unwrap();
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 0).unwrap();
    assert_eq!(read_all(&log, A), before_a);
    assert_eq!(read_all(&log, B), before_b);
    let next = block_on(log.append(vec![record(B, "pk", "new")])).unwrap();
    assert_eq!(next[0].counter, before_b.last().unwrap().counter + 1);
    log.shutdown().unwrap();
    log.shutdown().unwrap();
}

#[test]
fn a_torn_tail_is_cut_and_the_rest_kept() {
    for seed in 0..20 {
        let disk = CrashDisk::new(seed);
        let clock = Arc::new(ManualClock::new(0));
        // No syncs at all: whatever prefix survives must recover cleanly.
        let log = open(
            config(700, Durability::None),
            Arc::new(disk.clone()),
            clock.clone(),
        );
        log.register_shard(A, 0).unwrap();
        for i in 0..60u32 {
            block_on(log.append(vec![record(A, "k", i.to_le_bytes())])).unwrap();
        }
        disk.crash_now();
        drop(log);
        let image = disk.crash_image();
        let log = open(
            config(700, Durability::None),
            Arc::new(image.clone()),
            clock,
        );
        let got = read_all(&log, A);
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.counter, i as u64, "seed {seed}");
            assert_eq!(&r.data[..], &(i as u32).to_le_bytes(), "seed {seed}");
        }
        // Appends continue right after whatever survived.
        let next = block_on(log.append(vec![record(A, "k", "next")])).unwrap();
        assert_eq!(next[0].counter, got.len() as u64);
        log.shutdown().unwrap();
        let again = open(
            config(700, Durability::None),
            Arc::new(image.crash_image()),
            Arc::new(ManualClock::new(0)),
        );
        assert_eq!(read_all(&again, A).len(), got.len() + 1);
    }
}

#[test]
fn data_written_without_sync_survives_a_process_kill() {
    // kill -9 loses nothing the kernel already has: model it by reopening the live disk.
    let disk: Arc<dyn Disk> = Arc::new(MemoryDisk::new());
    let clock = Arc::new(ManualClock::new(0));
    let log = open(config(900, Durability::None), disk.clone(), clock.clone());
    log.register_shard(A, 0).unwrap();
    for i in 0..50u32 {
        block_on(log.append(vec![record(A, "k", Bytes::from(i.to_string()))])).unwrap();
    }
    let before = read_all(&log, A);
    std::mem::forget(log); // no shutdown, no checkpoint
    let log = open(config(900, Durability::None), disk, clock);
    assert_eq!(read_all(&log, A), before);
}

/// Large groups go into the journal as direct writes (whole 4 KiB blocks, the last padded
/// with zeros), small ones through the page cache. Reopened without a shutdown or a
/// checkpoint, as after `kill -9`, the log replays every segment, reading it directly, and
/// has every record; reads before the kill came from the tail cache and the files.
#[test]
fn direct_writes_replay_after_a_kill_on_a_real_directory() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let cfg = || LogConfig {
        direct_min_group_bytes: 64 << 10,
        ..config(1 << 20, Durability::Fsync)
    };
    let log = open(cfg(), Arc::new(RealDisk::new(dir.path())), clock.clone());
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 0).unwrap();
    for i in 0..40u32 {
        let n = if i % 3 == 0 { 1 } else { 100 };
        let records = (0..n)
            .map(|j| record([A, B][j % 2], "pk", vec![(i as usize + j) as u8; 999]))
            .collect();
        block_on(log.append(records)).unwrap();
    }
    let (a, b) = (read_all(&log, A), read_all(&log, B));
    assert_eq!(a.len() + b.len(), 26 * 100 + 14);
    std::mem::forget(log); // no shutdown, no checkpoint
    let log = open(cfg(), Arc::new(RealDisk::new(dir.path())), clock);
    assert_eq!(read_all(&log, A), a);
    assert_eq!(read_all(&log, B), b);
    let next = block_on(log.append(vec![record(B, "pk", "new")])).unwrap();
    assert_eq!(next[0].counter, b.last().unwrap().counter + 1);
    log.shutdown().unwrap();
}

/// Besides the timer, a checkpoint is taken once `checkpoint_bytes` of segments are
/// finished after the last one, bounding what recovery replays under a heavy writer.
#[test]
fn checkpoints_follow_the_journal_bytes_written() {
    let checkpoint = |disk: &Arc<dyn Disk>| {
        let file = disk
            .open(std::path::Path::new("checkpoint"), false)
            .unwrap();
        let mut bytes = vec![0; file.size().unwrap() as usize];
        assert_eq!(file.read_at(0, &mut bytes).unwrap(), bytes.len());
        bytes
    };
    for (every, rewritten) in [(0, false), (4_000, true)] {
        let disk: Arc<dyn Disk> = Arc::new(MemoryDisk::new());
        let log = open(cfg_of(every), disk.clone(), Arc::new(ManualClock::new(0)));
        log.register_shard(A, 0).unwrap();
        let at_open = checkpoint(&disk);
        for i in 0..100u32 {
            block_on(log.append(vec![record(A, "pk", vec![i as u8; 100])])).unwrap();
        }
        assert_eq!(
            checkpoint(&disk) != at_open,
            rewritten,
            "every {every} bytes"
        );
        let records = read_all(&log, A);
        std::mem::forget(log); // no shutdown, no checkpoint
        let log = open(cfg_of(every), disk, Arc::new(ManualClock::new(0)));
        assert_eq!(read_all(&log, A), records);
    }
}

fn cfg_of(checkpoint_bytes: u64) -> LogConfig {
    LogConfig {
        checkpoint_bytes,
        ..config(1_000, Durability::Fsync)
    }
}

#[test]
fn interval_and_none_modes_ack_without_a_sync_per_group() {
    let disk = CrashDisk::new(5);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(1 << 20, Durability::None),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    log.register_shard(A, 0).unwrap();
    let before = disk.syncs();
    for i in 0..20u32 {
        block_on(log.append(vec![record(A, "k", i.to_le_bytes())])).unwrap();
    }
    assert_eq!(disk.syncs(), before, "None mode never syncs on its own");
    log.shutdown().unwrap();
    assert!(disk.syncs() > before, "shutdown syncs");

    let disk = CrashDisk::new(6);
    let every = std::time::Duration::from_millis(5);
    let log = open(
        config(1 << 20, Durability::Interval(every)),
        Arc::new(disk.clone()),
        clock,
    );
    log.register_shard(A, 0).unwrap();
    let before = disk.syncs();
    block_on(log.append(vec![record(A, "k", "x")])).unwrap();
    // The writer syncs on its own within the interval: poll for it with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while disk.syncs() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "interval sync never happened"
        );
        std::thread::yield_now();
    }
    disk.crash_now();
    drop(log);
    let log = open(
        config(1 << 20, Durability::Fsync),
        Arc::new(disk.crash_image()),
        Arc::new(ManualClock::new(0)),
    );
    assert_eq!(read_all(&log, A).len(), 1);
}

#[tokio::test]
async fn closed_shards_refuse_appends_and_report_their_end() {
    let log = Log::open(LogConfig::default()).unwrap();
    let a = ShardKey {
        stream: 1,
        shard: 0,
    };
    let b = ShardKey {
        stream: 1,
        shard: 1,
    };
    log.register_shards(&[(a, 0), (b, 10)]).unwrap();
    let rec = |shard| spate_log::NewRecord {
        shard,
        partition_key: "k".into(),
        data: bytes::Bytes::from_static(b"x"),
    };
    log.append(vec![rec(a), rec(a)]).await.unwrap();
    assert_eq!(log.close_shard(a).unwrap(), 2);
    assert!(matches!(
        log.append(vec![rec(a)]).await,
        Err(LogError::ShardClosed(_))
    ));
    // Other shards are untouched, and the closed shard stays readable.
    assert_eq!(log.append(vec![rec(b)]).await.unwrap()[0].counter, 10);
    assert_eq!(
        log.read(a, 0, i64::MIN, 10, 1 << 20).unwrap().records.len(),
        2
    );
}
