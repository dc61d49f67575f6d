//! Segment index files: one per finished journal segment whatever the number of shards,
//! reads through them and through the in-memory entries of the newest segment match a
//! model, power loss at any step of writing one loses nothing acknowledged, a lost one is
//! rebuilt from the journal, and retention deletes it with its segment.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use spate_log::disk::{CrashDisk, Disk, RealDisk};
use spate_log::{Durability, Log, LogConfig, ManualClock, ShardKey};

fn names(disk: &dyn Disk, dir: &str) -> Vec<String> {
    disk.list_dir(Path::new(dir)).unwrap()
}

/// Segment ids of the journal, and of the index files.
fn segments_and_indexes(disk: &dyn Disk) -> (Vec<u64>, Vec<u64>) {
    let ids = |dir, suffix| -> Vec<u64> {
        names(disk, dir)
            .iter()
            .map(|n| n.strip_suffix(suffix).unwrap().parse().unwrap())
            .collect()
    };
    (ids("journal", ".log"), ids("index", ".idx"))
}

/// Every finished segment has exactly one index file, the active one none. (The writer
/// writes them after acknowledging the group that finished the segment; a checkpoint waits
/// for them.)
fn assert_one_index_per_finished_segment(log: &Log, disk: &dyn Disk) {
    log.checkpoint().unwrap();
    let (segments, indexes) = segments_and_indexes(disk);
    assert_eq!(indexes, segments[..segments.len() - 1], "{segments:?}");
}

/// counter → (arrival, data), per shard.
type Model = BTreeMap<ShardKey, BTreeMap<u64, (i64, Vec<u8>)>>;

fn key(stream: u64, shard: u32) -> ShardKey {
    ShardKey { stream, shard }
}

#[test]
fn a_thousand_shards_write_one_index_file_per_segment() {
    let disk = CrashDisk::new(1);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(64 << 10, Durability::None),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    let shards: Vec<ShardKey> = (0..1_000).map(|i| key(7, i)).collect();
    let with_start: Vec<_> = shards.iter().map(|s| (*s, 0)).collect();
    log.register_shards(&with_start).unwrap();
    let mut model = Model::new();
    for round in 0..6u8 {
        let records = shards
            .iter()
            .map(|s| record(*s, "k", vec![round; 20]))
            .collect();
        let acked = block_on(log.append(records)).unwrap();
        for (s, a) in shards.iter().zip(acked) {
            model
                .entry(*s)
                .or_default()
                .insert(a.counter, (a.arrival_ms, vec![round; 20]));
        }
    }
    log.checkpoint().unwrap();
    let (segments, _) = segments_and_indexes(&disk);
    assert!(segments.len() >= 4, "{segments:?}");
    assert_one_index_per_finished_segment(&log, &disk);
    check(&log, &model);
    // One index file per segment, not per (shard, segment): no other files anywhere.
    let all = names(&disk, "index");
    assert_eq!(all.len(), segments.len() - 1, "{all:?}");
    log.shutdown().unwrap();
    let log = open(
        config(64 << 10, Durability::None),
        Arc::new(disk.clone()),
        clock,
    );
    check(&log, &model);
    assert_one_index_per_finished_segment(&log, &disk);
}

/// Reads by counter (all starting points, small pages) and by time (every instant) agree
/// with the model.
fn check(log: &Log, model: &Model) {
    for (shard, records) in model {
        let want: Vec<_> = records.iter().collect();
        for start in 0..want.len() {
            let from = *want[start].0;
            let got = log.read(*shard, from, i64::MIN, 3, usize::MAX).unwrap();
            let expect: Vec<_> = want[start..].iter().take(3).collect();
            assert_eq!(got.records.len(), expect.len(), "{shard:?} from {from}");
            for (r, (c, (at, data))) in got.records.iter().zip(expect) {
                assert_eq!(
                    (r.counter, r.arrival_ms, &r.data[..]),
                    (**c, *at, &data[..])
                );
            }
        }
        let (first_at, last_at) = (want[0].1.0, want[want.len() - 1].1.0);
        for at in first_at - 1..=last_at + 1 {
            let expect = records
                .iter()
                .find(|(_, (arrival, _))| *arrival >= at)
                .map_or(*want[want.len() - 1].0 + 1, |(c, _)| *c);
            assert_eq!(
                log.seek_time(*shard, at).unwrap(),
                expect,
                "{shard:?} at {at}"
            );
            let got = log.read(*shard, 0, at, 1, usize::MAX).unwrap();
            assert_eq!(
                got.records.first().map(|r| r.counter),
                records
                    .iter()
                    .find(|(_, (arrival, _))| *arrival >= at)
                    .map(|(c, _)| *c),
                "{shard:?} not before {at}"
            );
        }
    }
}

/// Appends round-robin over `shards`, a record at a time, moving the clock; stops at the
/// first failure (a crash).
fn workload(log: &Log, clock: &ManualClock, shards: &[ShardKey], n: u64, model: &mut Model) {
    for i in 0..n {
        clock.advance((i % 3) as i64);
        let shard = shards[(i % shards.len() as u64) as usize];
        let data = vec![i as u8; 40 + (i % 7) as usize * 13];
        let Ok(acked) = block_on(log.append(vec![record(shard, "key", data.clone())])) else {
            return;
        };
        model
            .entry(shard)
            .or_default()
            .insert(acked[0].counter, (acked[0].arrival_ms, data));
    }
}

#[test]
fn reads_across_finished_and_active_segments_match_a_model_before_and_after_reopening() {
    let disk = CrashDisk::new(2);
    let clock = Arc::new(ManualClock::new(1_000));
    let cfg = || config(700, Durability::Fsync);
    let log = open(cfg(), Arc::new(disk.clone()), clock.clone());
    let shards = [key(1, 0), key(1, 3), key(2, 0), key(9, 1)];
    for (i, s) in shards.iter().enumerate() {
        log.register_shard(*s, i as u64 * 100).unwrap();
    }
    let mut model = Model::new();
    workload(&log, &clock, &shards, 120, &mut model);
    assert!(segments_and_indexes(&disk).0.len() > 5);
    check(&log, &model);
    log.checkpoint().unwrap();
    workload(&log, &clock, &shards, 30, &mut model);
    check(&log, &model);
    // A clean restart, then a power loss with the active segment's entries only in memory;
    // disk usage comes out the same from checkpointed and from rebuilt chunks.
    let bytes = log.disk_bytes_by_stream();
    log.shutdown().unwrap();
    let log = open(cfg(), Arc::new(disk.clone()), clock.clone());
    check(&log, &model);
    assert_eq!(log.disk_bytes_by_stream(), bytes);
    workload(&log, &clock, &shards, 40, &mut model);
    let bytes = log.disk_bytes_by_stream();
    disk.crash_now();
    drop(log);
    let disk = disk.crash_image();
    let log = open(small(), Arc::new(disk.clone()), clock.clone());
    check(&log, &model);
    assert_eq!(log.disk_bytes_by_stream(), bytes);
    assert_one_index_per_finished_segment(&log, &disk);
}

#[test]
fn power_loss_at_every_step_of_writing_an_index_file_loses_nothing_acknowledged() {
    let shards = [key(1, 0), key(1, 1), key(3, 2)];
    let cfg = || config(500, Durability::Fsync);
    let run = |disk: &CrashDisk, crash_at: Option<u64>| {
        let clock = Arc::new(ManualClock::new(0));
        let log = open(cfg(), Arc::new(disk.clone()), clock.clone());
        for s in shards {
            log.register_shard(s, 0).unwrap();
        }
        let start = disk.ops();
        if let Some(n) = crash_at {
            disk.crash_after(n);
        }
        let mut model = Model::new();
        workload(&log, &clock, &shards, 40, &mut model);
        let _ = log.checkpoint();
        (log, model, disk.ops() - start)
    };
    let (_, _, ops) = run(&CrashDisk::new(0), None);
    assert!(ops > 100, "{ops} operations");
    for n in 1..=ops {
        let disk = CrashDisk::new(n);
        let (log, model, _) = run(&disk, Some(n));
        assert!(disk.has_crashed(), "crash point {n} of {ops}");
        drop(log);
        let image = disk.crash_image();
        let clock = Arc::new(ManualClock::new(1_000));
        let log = open(cfg(), Arc::new(image.clone()), clock.clone());
        for (shard, want) in &model {
            let got = read_all(&log, *shard);
            let got: BTreeMap<u64, _> = got
                .iter()
                .map(|r| (r.counter, (r.arrival_ms, r.data.to_vec())))
                .collect();
            for (counter, record) in want {
                assert_eq!(got.get(counter), Some(record), "crash point {n}: {shard:?}");
            }
            // Counters go on above every acknowledged one.
            let next = block_on(log.append(vec![record(*shard, "k", "after")])).unwrap();
            assert!(next[0].counter > *want.keys().next_back().unwrap());
        }
        assert_one_index_per_finished_segment(&log, &image);
        assert!(
            names(&image, "index").iter().all(|n| !n.ends_with(".tmp")),
            "crash point {n}"
        );
    }
}

/// A log of two shards in tiny segments, written to and shut down.
fn shut_down_log(seed: u64) -> (CrashDisk, Arc<ManualClock>, Model, HashMap<u64, u64>) {
    let disk = CrashDisk::new(seed);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(small(), Arc::new(disk.clone()), clock.clone());
    let shards = [key(4, 0), key(4, 1)];
    for s in shards {
        log.register_shard(s, 0).unwrap();
    }
    let mut model = Model::new();
    workload(&log, &clock, &shards, 60, &mut model);
    let bytes = log.disk_bytes_by_stream();
    log.shutdown().unwrap();
    (disk, clock, model, bytes)
}

fn small() -> LogConfig {
    config(600, Durability::Fsync)
}

#[test]
fn a_lost_or_unclaimed_index_file_is_rebuilt_from_the_journal() {
    let (disk, clock, model, _) = shut_down_log(3);
    let (segments, indexes) = segments_and_indexes(&disk);
    assert!(indexes.len() >= 3, "{segments:?}");
    // Lose one in the middle; plant a stale temporary file as a crash mid-write leaves.
    disk.remove_file(&Path::new("index").join(format!("{:020}.idx", indexes[1])))
        .unwrap();
    let tmp = Path::new("index").join(format!("{:020}.idx.tmp", indexes[0]));
    disk.open(&tmp, true).unwrap().append(b"torn").unwrap();
    disk.sync_dir(Path::new("index")).unwrap();
    let log = open(small(), Arc::new(disk.clone()), clock.clone());
    check(&log, &model);
    assert_one_index_per_finished_segment(&log, &disk);
    assert!(names(&disk, "index").iter().all(|n| !n.ends_with(".tmp")));
}

#[test]
fn retention_deletes_index_files_with_their_segments() {
    let disk = CrashDisk::new(4);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(600, Durability::Fsync),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    let shard = key(1, 0);
    log.register_shard(shard, 0).unwrap();
    log.set_retention(1, Duration::from_millis(1_000));
    for i in 0..100 {
        clock.set(i * 100);
        block_on(log.append(vec![record(shard, "k", vec![1; 50])])).unwrap();
    }
    let (before, indexes_before) = segments_and_indexes(&disk);
    log.enforce_retention(10_000).unwrap();
    let (after, indexes_after) = segments_and_indexes(&disk);
    assert!(after.len() < before.len(), "{after:?} < {before:?}");
    assert!(indexes_after.len() < indexes_before.len());
    assert_one_index_per_finished_segment(&log, &disk);
    let state = log.shard_state(shard, 9_000).unwrap();
    assert_eq!(state.next_counter, 100);
    let read = log.read(shard, 0, 9_000, 1_000, usize::MAX).unwrap();
    assert_eq!(read.records.first().map(|r| r.counter), Some(90));
}

#[test]
fn a_version_2_directory_is_re_indexed_from_the_journal() {
    let (disk, clock, model, bytes) = shut_down_log(6);
    // Make it look like version 2 left it: a checkpoint without the first unindexed
    // segment, and per-shard index files instead of per-segment ones.
    let file = disk.open(Path::new("checkpoint"), false).unwrap();
    let mut v3 = vec![0; file.size().unwrap() as usize];
    assert_eq!(file.read_at(0, &mut v3).unwrap(), v3.len());
    let mut v2 = [&v3[..28], &v3[36..v3.len() - 4]].concat();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32c::crc32c(&v2);
    v2.extend_from_slice(&crc.to_le_bytes());
    file.truncate(0).unwrap();
    file.append(&v2).unwrap();
    file.sync_data().unwrap();
    for name in names(&disk, "index") {
        disk.remove_file(&Path::new("index").join(name)).unwrap();
    }
    let old = Path::new("index/00000000000000000004/0000000000");
    disk.create_dir_all(old).unwrap();
    let old_file = disk
        .open(&old.join("00000000000000000001.idx"), true)
        .unwrap();
    old_file.append(&[7; 64]).unwrap();
    let log = open(small(), Arc::new(disk.clone()), clock.clone());
    check(&log, &model);
    assert_eq!(log.disk_bytes_by_stream(), bytes);
    assert_one_index_per_finished_segment(&log, &disk);
}

#[test]
fn reads_racing_the_indexer_see_every_committed_record() {
    let disk = CrashDisk::new(7);
    let clock = Arc::new(ManualClock::new(0));
    let log = open(
        config(2_000, Durability::None),
        Arc::new(disk.clone()),
        clock,
    );
    let shard = key(1, 0);
    log.register_shard(shard, 0).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (log, done) = (log.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) || reads == 0 {
                let records = read_all(&log, shard);
                for (i, r) in records.iter().enumerate() {
                    assert_eq!(r.counter, i as u64);
                    assert_eq!(r.data[..], vec![i as u8; 30]);
                }
                reads += 1;
            }
        })
    };
    for i in 0..1_500u64 {
        block_on(log.append(vec![record(shard, "k", vec![i as u8; 30])])).unwrap();
    }
    done.store(true, Ordering::SeqCst);
    reader.join().unwrap();
    assert_eq!(read_all(&log, shard).len(), 1_500);
    assert_one_index_per_finished_segment(&log, &disk);
}

/// On a real filesystem finished segments are read through memory mappings: reads match
/// the model before and after reopening, and a flipped bit in a finished segment is still
/// caught.
#[test]
fn finished_segments_on_a_real_disk_read_through_mappings() {
    let dir = tempfile::tempdir().unwrap();
    let disk: Arc<dyn Disk> = Arc::new(RealDisk::new(dir.path()));
    let clock = Arc::new(ManualClock::new(1_000));
    let cfg = || config(700, Durability::Fsync);
    let log = open(cfg(), disk.clone(), clock.clone());
    let shards = [key(1, 0), key(1, 3), key(2, 0)];
    for s in shards {
        log.register_shard(s, 0).unwrap();
    }
    let mut model = Model::new();
    workload(&log, &clock, &shards, 120, &mut model);
    assert_one_index_per_finished_segment(&log, disk.as_ref());
    check(&log, &model);
    log.shutdown().unwrap();
    let log = open(cfg(), disk.clone(), clock.clone());
    check(&log, &model);

    // Stream 2's oldest record, in the first segment it wrote to, flipped on disk.
    let shard = key(2, 0);
    let (segments, _) = segments_and_indexes(disk.as_ref());
    let first = log.read(shard, 0, i64::MIN, 1, usize::MAX).unwrap().records;
    let data = &first[0].data;
    log.shutdown().unwrap();
    let path = dir
        .path()
        .join("journal")
        .join(format!("{:020}.log", segments[0]));
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(data.len())
        .position(|w| w == &data[..])
        .expect("the record's data is in the segment");
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let log = open(cfg(), disk.clone(), clock.clone());
    assert!(log.read(shard, 0, i64::MIN, 1, usize::MAX).is_err());
}

/// Records sliced from a mapped segment stay whole after retention deletes the segment.
#[test]
fn records_from_a_mapped_segment_outlive_its_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let disk: Arc<dyn Disk> = Arc::new(RealDisk::new(dir.path()));
    let clock = Arc::new(ManualClock::new(0));
    let log = open(config(700, Durability::Fsync), disk.clone(), clock.clone());
    let shard = key(1, 0);
    log.register_shard(shard, 0).unwrap();
    log.set_retention(1, Duration::from_millis(1_000));
    let mut model = Model::new();
    workload(&log, &clock, &[shard], 60, &mut model);
    assert_one_index_per_finished_segment(&log, disk.as_ref());
    let held = log
        .read(shard, 0, i64::MIN, 10, usize::MAX)
        .unwrap()
        .records;
    assert_eq!(held.len(), 10);
    let (before, _) = segments_and_indexes(disk.as_ref());
    log.enforce_retention(1_000_000).unwrap();
    let (after, _) = segments_and_indexes(disk.as_ref());
    assert!(!after.contains(&before[0]), "{before:?} -> {after:?}");
    for r in &held {
        assert_eq!(r.data, model[&shard][&r.counter].1);
    }
}
