//! Zeros written ahead of the journal's records (durable mode, on a disk where overwrites
//! sync cheaper): small groups leave the newest segment longer than its records, every older
//! segment ends exactly at its last frame, large groups write no zeros, and a reopen cuts
//! the zeros and goes on writing where the records end.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use spate_log::disk::{CrashDisk, Disk, MemoryDisk};
use spate_log::{Durability, ManualClock, ShardKey};

const SHARD: ShardKey = ShardKey {
    stream: 1,
    shard: 0,
};

/// Each journal segment's size, oldest first.
fn segment_sizes(disk: &dyn Disk) -> Vec<u64> {
    disk.list_dir(Path::new("journal"))
        .unwrap()
        .iter()
        .map(|name| {
            let path = Path::new("journal").join(name);
            disk.open(&path, false).unwrap().size().unwrap()
        })
        .collect()
}

fn append_small(log: &spate_log::Log, from: usize, n: usize) {
    for i in from..from + n {
        let data = format!("record {i:05}").into_bytes();
        block_on(log.append(vec![record(SHARD, "pk", data)])).unwrap();
    }
}

fn check_records(log: &spate_log::Log, n: usize) {
    let all = read_all(log, SHARD);
    assert_eq!(all.len(), n);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.counter, i as u64);
        assert_eq!(&r.data[..], format!("record {i:05}").as_bytes());
    }
}

/// Opens a durable log of 4 KiB segments on `disk`, with the shard registered.
fn open_small_segments(disk: &CrashDisk) -> spate_log::Log {
    let log = open(
        config(SMALL_SEGMENT, Durability::Fsync),
        Arc::new(disk.clone()),
        Arc::new(ManualClock::new(1_000)),
    );
    log.register_shard(SHARD, 0).unwrap();
    log
}

const SMALL_SEGMENT: u64 = 4_096;

#[test]
fn small_groups_write_zeros_ahead_and_older_segments_end_at_their_records() {
    let disk = CrashDisk::new(7);
    let log = open_small_segments(&disk);
    append_small(&log, 0, 300);
    let sizes = segment_sizes(&disk);
    assert!(sizes.len() > 3, "the appends rolled segments: {sizes:?}");
    let (newest, older) = sizes.split_last().unwrap();
    assert_eq!(
        *newest, SMALL_SEGMENT,
        "the newest segment is zeroed to its end"
    );
    for size in older {
        // A record frame here is ~60 bytes: a zeroed segment would be exactly full.
        assert!(*size < SMALL_SEGMENT, "older segments were cut: {sizes:?}");
    }
    log.shutdown().unwrap();

    // Reopening cuts the zeros and writes on from the last record.
    let log = open_small_segments(&disk);
    check_records(&log, 300);
    append_small(&log, 300, 100);
    check_records(&log, 400);
    log.shutdown().unwrap();

    // And after a power loss with zeros ahead, everything acknowledged is there.
    let log = open_small_segments(&disk);
    append_small(&log, 400, 10);
    disk.crash_now();
    drop(log);
    let log = open_small_segments(&disk.crash_image());
    check_records(&log, 410);
}

#[test]
fn zeros_go_at_most_a_mib_ahead_and_only_after_small_groups() {
    let disk = CrashDisk::new(8);
    let clock = Arc::new(ManualClock::new(1_000));
    let log = open(
        config(64 << 20, Durability::Fsync),
        Arc::new(disk.clone()),
        clock,
    );
    log.register_shard(SHARD, 0).unwrap();
    // The registration was a small group: the zeros reach a MiB past it.
    let [after_register] = segment_sizes(&disk)[..] else {
        panic!("one segment")
    };
    assert!((1 << 20) < after_register && after_register < (1 << 20) + 1_024);
    // Large groups write over those zeros, then past them, without writing more (but for
    // the up to 4 KiB that pads a direct write: see `LogConfig::direct_min_group_bytes`).
    for _ in 0..4 {
        block_on(log.append(vec![record(SHARD, "pk", vec![7; 300 << 10])])).unwrap();
    }
    let [after_large] = segment_sizes(&disk)[..] else {
        panic!("one segment")
    };
    assert!(
        (4 * (300 << 10)..4 * (300 << 10) + 1_024 + 4_096).contains(&after_large),
        "large groups write no zeros: {after_large}"
    );
    append_small(&log, 4, 1);
    let [after_small] = segment_sizes(&disk)[..] else {
        panic!("one segment")
    };
    assert!(
        after_small > after_large + (1 << 20) - 1_024 - 4_096
            && after_small <= after_large + (1 << 20) + 1_024
    );
    log.shutdown().unwrap();
}

#[test]
fn no_zeros_where_overwrites_do_not_sync_cheaper_or_groups_are_not_synced() {
    for (disk, durability) in [
        (
            Arc::new(MemoryDisk::new()) as Arc<dyn Disk>,
            Durability::Fsync,
        ),
        (
            Arc::new(CrashDisk::new(9)) as Arc<dyn Disk>,
            Durability::None,
        ),
    ] {
        let log = open(
            config(64 << 20, durability),
            disk.clone(),
            Arc::new(ManualClock::new(1_000)),
        );
        log.register_shard(SHARD, 0).unwrap();
        append_small(&log, 0, 20);
        let [size] = segment_sizes(disk.as_ref())[..] else {
            panic!("one segment")
        };
        assert!(size < 4_096, "{durability:?}: {size}");
        log.shutdown().unwrap();
    }
}
