//! Crash consistency: appends from several threads in Fsync mode, power loss at a random
//! mutating disk operation (mid-group, mid-roll, mid-checkpoint, mid-recovery), reopen, and
//! check every acknowledged record is there (unless retention had expired it), unchanged,
//! in order, and that counters go on above every acknowledged one, even when retention
//! deleted a shard's records. Half the appenders seal their records, so sealed frames
//! (kind 4) go through every crash point too. Several generations per seed, several seeds;
//! in half of them syncs take time, so the writer writes groups while one is in flight.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use spate_log::disk::CrashDisk;
use spate_log::{Durability, Log, LogConfig, ManualClock, ShardKey};

const SHARDS: [ShardKey; 5] = [
    ShardKey {
        stream: 1,
        shard: 0,
    },
    ShardKey {
        stream: 1,
        shard: 1,
    },
    ShardKey {
        stream: 1,
        shard: 2,
    },
    ShardKey {
        stream: 2,
        shard: 0,
    },
    ShardKey {
        stream: 2,
        shard: 7,
    },
];
const THREADS: u64 = 4;
const APPENDS_PER_THREAD: u64 = 40;
const GENERATIONS: usize = 4;
/// Retention of streams 1 and 2, in clock milliseconds.
const RETENTION_MS: [i64; 2] = [60, 25];

/// Acknowledged records per shard: counter → (arrival, partition key, data).
type Acked = BTreeMap<ShardKey, BTreeMap<u64, (i64, String, Vec<u8>)>>;

/// Tiny segments so rolls happen often, and the writer syncs each group itself. With slow
/// syncs, every group is handed to the syncer (groups here are far smaller than the
/// default's bound), and segments are a few times larger, so that groups are written while
/// a sync is in flight between the rolls (which wait for it).
///
/// Groups of more than 300 bytes (about half of them) are written as direct writes are,
/// padded with zeros to the next 4 KiB, so small and padded groups follow each other.
fn cfg(slow_syncs: bool) -> LogConfig {
    if !slow_syncs {
        return LogConfig {
            direct_min_group_bytes: 300,
            ..config(1_500, Durability::Fsync)
        };
    }
    LogConfig {
        overlap_min_group_bytes: 0,
        direct_min_group_bytes: 300,
        ..config(6_000, Durability::Fsync)
    }
}

fn register(log: &Log) -> Result<(), spate_log::LogError> {
    for (i, shard) in SHARDS.iter().enumerate() {
        log.register_shard(*shard, i as u64 * 1_000)?;
    }
    for (stream, ms) in [1, 2].into_iter().zip(RETENTION_MS) {
        log.set_retention(stream, Duration::from_millis(ms as u64));
    }
    Ok(())
}

/// `swept_at`: the latest time any retention sweep was asked to enforce.
fn verify(log: &Log, acked: &Acked, swept_at: i64, seed: u64) {
    for shard in SHARDS {
        let stored = read_all(log, shard);
        assert!(
            stored.windows(2).all(|w| w[0].counter < w[1].counter),
            "seed {seed}: order"
        );
        let by_counter: BTreeMap<u64, _> = stored.iter().map(|r| (r.counter, r)).collect();
        let want = acked.get(&shard).cloned().unwrap_or_default();
        let retention = RETENTION_MS[(shard.stream - 1) as usize];
        for (counter, (arrival, key, data)) in &want {
            let Some(got) = by_counter.get(counter) else {
                assert!(
                    *arrival < swept_at - retention,
                    "seed {seed}: acknowledged {shard:?}/{counter} lost"
                );
                continue;
            };
            let (got_key, got_data) = match &got.sealed {
                Some(_) => toy_open(got).expect("a sealed record opens"),
                None => (got.partition_key.clone(), got.data.clone()),
            };
            assert_eq!(&got_key, key, "seed {seed}");
            assert_eq!(&got_data[..], &data[..], "seed {seed}: {shard:?}/{counter}");
        }
        let next = log.shard_state(shard, i64::MIN).unwrap().next_counter;
        if let Some((max, _)) = want.last_key_value() {
            assert!(
                next > *max,
                "seed {seed}: next counter {next} not above acknowledged {max}"
            );
        }
    }
}

/// Runs appenders (and a checkpointer) until they finish or the disk dies.
fn workload(
    log: &Log,
    acked: &Arc<Mutex<Acked>>,
    clock: &ManualClock,
    swept_at: &AtomicI64,
    seed: u64,
) {
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (log, acked) = (log.clone(), acked.clone());
            scope.spawn(move || {
                let mut rng = seed ^ (t + 1).wrapping_mul(0x1234_5678_9abc);
                block_on(async {
                    for i in 0..APPENDS_PER_THREAD {
                        if t == 0 && i % 10 == 9 && log.checkpoint().is_err() {
                            return;
                        }
                        if t == 1 {
                            clock.advance(3);
                        }
                        if t == 1 && i % 6 == 5 {
                            let now = spate_log::Clock::now_ms(clock);
                            swept_at.fetch_max(now, Ordering::SeqCst);
                            if log.enforce_retention(now).is_err() {
                                return;
                            }
                        }
                        let n = 1 + next_random(&mut rng) % 3;
                        let records: Vec<_> = (0..n)
                            .map(|j| {
                                let shard =
                                    SHARDS[(next_random(&mut rng) % SHARDS.len() as u64) as usize];
                                let len = (next_random(&mut rng) % 200) as usize;
                                let data: Vec<u8> = format!("{seed}/{t}/{i}/{j}/")
                                    .into_bytes()
                                    .into_iter()
                                    .cycle()
                                    .take(len.max(8))
                                    .collect();
                                record(shard, &format!("pk{t}-{i}"), data)
                            })
                            .collect();
                        let expect = records.clone();
                        // Two of the threads seal theirs, so sealed and plain frames mix.
                        let appended = if t >= 2 {
                            log.append_sealed(records, Arc::new(ToySealer::default()))
                                .await
                        } else {
                            log.append(records).await
                        };
                        match appended {
                            Ok(acks) => {
                                let mut acked = acked.lock().unwrap();
                                for (a, r) in acks.iter().zip(expect) {
                                    let old = acked.entry(r.shard).or_default().insert(
                                        a.counter,
                                        (a.arrival_ms, r.partition_key, r.data.to_vec()),
                                    );
                                    assert!(
                                        old.is_none(),
                                        "counter {} handed out twice",
                                        a.counter
                                    );
                                }
                            }
                            Err(_) => return,
                        }
                    }
                });
            });
        }
    });
}

fn run_seed(seed: u64) {
    let mut rng = seed;
    let clock = Arc::new(ManualClock::new(1_000));
    // With a flush that takes time, groups are written while a sync is in flight, and the
    // power fails with some of them written but not yet synced.
    let slow_syncs = seed % 2 == 1;
    let latency = slow_syncs.then_some(Duration::from_micros(300));
    let mut disk = CrashDisk::with_sync_latency(seed, latency);
    let acked = Arc::new(Mutex::new(Acked::new()));
    let swept_at = AtomicI64::new(i64::MIN / 2);
    for _generation in 0..GENERATIONS {
        // Sometimes the power fails again while recovering.
        if next_random(&mut rng).is_multiple_of(4) {
            disk.crash_after(1 + next_random(&mut rng) % 12);
        }
        let opened =
            spate_log::Log::open_with(cfg(slow_syncs), Arc::new(disk.clone()), clock.clone())
                .and_then(|log| register(&log).map(|()| log));
        let log = match opened {
            Ok(log) => log,
            Err(_) => {
                assert!(
                    disk.has_crashed(),
                    "seed {seed}: open failed without a crash"
                );
                disk = disk.crash_image();
                continue;
            }
        };
        verify(
            &log,
            &acked.lock().unwrap(),
            swept_at.load(Ordering::SeqCst),
            seed,
        );
        disk.crash_after(1 + next_random(&mut rng) % 600);
        clock.advance(10);
        workload(&log, &acked, &clock, &swept_at, seed);
        disk.crash_now();
        drop(log);
        disk = disk.crash_image();
    }
    let log = spate_log::Log::open_with(cfg(slow_syncs), Arc::new(disk.clone()), clock).unwrap();
    register(&log).unwrap();
    let acked = acked.lock().unwrap();
    verify(&log, &acked, swept_at.load(Ordering::SeqCst), seed);
    assert!(
        acked.values().map(|m| m.len()).sum::<usize>() > 0,
        "seed {seed}: nothing was acknowledged"
    );
    let sealed = SHARDS
        .iter()
        .flat_map(|shard| read_all(&log, *shard))
        .filter(|r| r.sealed.is_some())
        .count();
    assert!(
        sealed > 0,
        "seed {seed}: no sealed record survived to check"
    );
    for shard in SHARDS {
        let ack = block_on(log.append(vec![record(shard, "after", "x")])).unwrap();
        let max = acked
            .get(&shard)
            .and_then(|m| m.last_key_value())
            .map_or(0, |(c, _)| *c);
        assert!(
            ack[0].counter > max || acked.get(&shard).is_none(),
            "seed {seed}"
        );
    }
    log.shutdown().unwrap();
}

#[test]
fn acknowledged_records_survive_power_loss_at_any_point() {
    for seed in 0..24 {
        run_seed(seed);
    }
}
