//! The log against a model: a Vec of records per shard. Random appends, reads, time seeks,
//! clock moves, checkpoints and power-loss reopenings; every answer must match the model.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use spate_log::disk::CrashDisk;
use spate_log::{Durability, Log, ManualClock, ShardKey, StoredRecord};

const SHARDS: [ShardKey; 3] = [
    ShardKey {
        stream: 1,
        shard: 0,
    },
    ShardKey {
        stream: 1,
        shard: 1,
    },
    ShardKey {
        stream: 5,
        shard: 0,
    },
];
const STARTS: [u64; 3] = [0, 1_000, 7];

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(usize, u8, usize)>),
    Read {
        shard: usize,
        from: u64,
        not_before: i64,
        max_records: usize,
        max_bytes: usize,
    },
    Seek {
        shard: usize,
        at: i64,
    },
    Clock(i64),
    Checkpoint,
    PowerLoss,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0..3usize, any::<u8>(), 0..300usize), 1..6).prop_map(Op::Append),
        4 => (0..3usize, 0..1_100u64, 0..200i64, 1..20usize, 1..2_000usize).prop_map(
            |(shard, from, not_before, max_records, max_bytes)| Op::Read { shard, from, not_before, max_records, max_bytes }
        ),
        2 => (0..3usize, 0..200i64).prop_map(|(shard, at)| Op::Seek { shard, at }),
        2 => (-20..40i64).prop_map(Op::Clock),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::PowerLoss),
    ]
}

struct Model {
    records: Vec<Vec<StoredRecord>>,
    next: Vec<u64>,
}

impl Model {
    fn first_at(&self, shard: usize, at: i64) -> u64 {
        self.records[shard]
            .iter()
            .find(|r| r.arrival_ms >= at)
            .map_or(self.next[shard], |r| r.counter)
    }
}

fn open_log(disk: &CrashDisk, clock: &Arc<ManualClock>) -> Log {
    let log = open(
        config(900, Durability::Fsync),
        Arc::new(disk.clone()),
        clock.clone(),
    );
    for (shard, start) in SHARDS.iter().zip(STARTS) {
        log.register_shard(*shard, start).unwrap();
    }
    log
}

fn run(ops: Vec<Op>) {
    let mut disk = CrashDisk::new(0);
    let clock = Arc::new(ManualClock::new(0));
    let mut log = open_log(&disk, &clock);
    let mut model = Model {
        records: vec![Vec::new(); 3],
        next: STARTS.to_vec(),
    };
    let mut now = 0i64;
    for op in ops {
        match op {
            Op::Append(items) => {
                let records: Vec<_> = items
                    .iter()
                    .map(|(s, b, len)| record(SHARDS[*s], &format!("k{b}"), vec![*b; *len]))
                    .collect();
                let acks = block_on(log.append(records.clone())).unwrap();
                for ((s, _, _), (r, a)) in items.iter().zip(records.into_iter().zip(acks)) {
                    assert_eq!(a.counter, model.next[*s]);
                    let last = model.records[*s].last().map_or(i64::MIN, |r| r.arrival_ms);
                    assert_eq!(a.arrival_ms, now.max(last));
                    model.next[*s] += 1;
                    model.records[*s].push(StoredRecord {
                        counter: a.counter,
                        arrival_ms: a.arrival_ms,
                        partition_key: r.partition_key.into(),
                        data: r.data,
                        sealed: None,
                    });
                }
            }
            Op::Read {
                shard,
                from,
                not_before,
                max_records,
                max_bytes,
            } => {
                let got = log
                    .read(SHARDS[shard], from, not_before, max_records, max_bytes)
                    .unwrap();
                let mut want = Vec::new();
                let mut bytes = 0;
                for r in model.records[shard]
                    .iter()
                    .filter(|r| r.counter >= from && r.arrival_ms >= not_before)
                {
                    let size = r.partition_key.len() + r.data.len();
                    if !want.is_empty() && bytes + size > max_bytes {
                        break;
                    }
                    bytes += size;
                    want.push(r.clone());
                    if want.len() >= max_records || bytes >= max_bytes {
                        break;
                    }
                }
                assert_eq!(got.records, want);
                let next = match want.last() {
                    Some(r) => r.counter + 1,
                    None if from >= model.next[shard] => from,
                    None => model.next[shard],
                };
                assert_eq!(got.next_counter, next);
            }
            Op::Seek { shard, at } => {
                assert_eq!(
                    log.seek_time(SHARDS[shard], at).unwrap(),
                    model.first_at(shard, at)
                );
                let state = log.shard_state(SHARDS[shard], at).unwrap();
                assert_eq!(state.next_counter, model.next[shard]);
                assert_eq!(state.first_counter, model.first_at(shard, at));
                assert_eq!(
                    state.last_arrival_ms,
                    model.records[shard].last().map(|r| r.arrival_ms)
                );
                let tip = log.shard_tip(SHARDS[shard]).unwrap();
                assert_eq!(
                    (tip.next_counter, tip.last_arrival_ms),
                    (state.next_counter, state.last_arrival_ms)
                );
            }
            Op::Clock(delta) => {
                now += delta;
                clock.set(now);
            }
            Op::Checkpoint => log.checkpoint().unwrap(),
            Op::PowerLoss => {
                disk.crash_now();
                drop(log);
                disk = disk.crash_image();
                log = open_log(&disk, &clock);
            }
        }
    }
    log.shutdown().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
