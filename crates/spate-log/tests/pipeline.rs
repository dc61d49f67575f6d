//! In `Fsync` mode the writer copies a group (of at least `overlap_min_group_bytes`) into
//! the journal while the sync before it runs, and that group waits for a sync of its own:
//! nothing is acknowledged or readable before a sync that started after it was written.
//! Journal syncs here block until the test lets them finish, one at a time, so each step is
//! observed rather than timed.
#![allow(clippy::unwrap_used)]

mod common;

use std::io;
use std::path::Path;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use spate_log::disk::{DiskFile, MemoryDisk};
use spate_log::{Appended, Durability, Log, LogError, ManualClock, ShardKey};

const SHARD: ShardKey = ShardKey {
    stream: 1,
    shard: 0,
};

#[derive(Default)]
struct GateState {
    /// Journal syncs pass freely while open; otherwise each takes a permit.
    open: bool,
    permits: u64,
    /// Whether the next journal sync to pass fails.
    fail_next: bool,
    /// Whether the next journal sync to pass panics.
    panic_next: bool,
    /// Journal syncs waiting for a permit.
    waiting: u64,
    /// Journal writes so far.
    writes: u64,
}

#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

impl Gate {
    fn with<T>(&self, f: impl FnOnce(&mut GateState) -> T) -> T {
        let out = f(&mut self.state.lock().unwrap());
        self.changed.notify_all();
        out
    }

    /// Waits (up to a generous deadline, never as a measure) until `ready` holds.
    fn until(&self, what: &str, ready: impl Fn(&GateState) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut s = self.state.lock().unwrap();
        while !ready(&s) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting until {what}");
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
    }
}

/// Holds journal syncs at the gate and counts journal writes; other files pass through.
impl FileHooks for Gate {
    fn write_at(
        &self,
        path: &Path,
        file: &dyn DiskFile,
        offset: u64,
        data: &[u8],
    ) -> io::Result<()> {
        file.write_at(offset, data)?;
        if path.starts_with("journal") {
            self.with(|s| s.writes += 1);
        }
        Ok(())
    }
    fn sync_data(&self, path: &Path, file: &dyn DiskFile) -> io::Result<()> {
        if path.starts_with("journal") {
            let mut s = self.state.lock().unwrap();
            s.waiting += 1;
            self.changed.notify_all();
            while !s.open && s.permits == 0 {
                s = self.changed.wait(s).unwrap();
            }
            if !s.open {
                s.permits -= 1;
            }
            s.waiting -= 1;
            let fail = std::mem::take(&mut s.fail_next);
            let panics = std::mem::take(&mut s.panic_next);
            self.changed.notify_all();
            drop(s);
            if panics {
                panic!("a journal sync panics (as the test asked)");
            }
            if fail {
                return Err(io::Error::other("the device failed the flush"));
            }
        }
        file.sync_data()
    }
}

/// `overlap`: the smallest group handed to the syncer; `None` for the default.
fn open_gated(overlap: Option<usize>) -> (Log, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    gate.with(|s| s.open = true);
    let disk = HookedDisk {
        inner: MemoryDisk::new(),
        hooks: gate.clone(),
    };
    let mut config = config(64 << 20, Durability::Fsync);
    if let Some(bytes) = overlap {
        config.overlap_min_group_bytes = bytes;
    }
    let log = open(config, Arc::new(disk), Arc::new(ManualClock::new(1_000)));
    log.register_shard(SHARD, 0).unwrap();
    (log, gate)
}

type Ack = Receiver<Result<Vec<Appended>, LogError>>;

/// Appends one record on its own thread; the receiver gets the outcome.
fn append(log: &Log, data: &Bytes) -> Ack {
    let (tx, rx) = std::sync::mpsc::channel();
    let (log, data) = (log.clone(), data.to_vec());
    std::thread::spawn(move || {
        let _ = tx.send(block_on(log.append(vec![record(SHARD, "pk", data)])));
    });
    rx
}

fn pending(ack: &Ack) -> bool {
    matches!(ack.try_recv(), Err(TryRecvError::Empty))
}

fn outcome(ack: &Ack) -> Result<Vec<Appended>, LogError> {
    ack.recv_timeout(Duration::from_secs(30))
        .expect("an outcome within the deadline")
}

fn stored(log: &Log) -> Vec<Bytes> {
    read_all(log, SHARD).into_iter().map(|r| r.data).collect()
}

/// Holds the journal's syncs, appends `a`, waits for its sync to start, then appends `b`
/// and waits for it to reach the journal while that sync is still held.
fn a_then_b_during_its_sync(log: &Log, gate: &Gate, a: &Bytes, b: &Bytes) -> (Ack, Ack) {
    gate.with(|s| s.open = false);
    let a = append(log, a);
    gate.until("a's sync starts", |s| s.waiting == 1);
    let writes = gate.with(|s| s.writes);
    let b = append(log, b);
    gate.until("b is written", |s| s.writes > writes);
    assert_eq!(gate.with(|s| s.waiting), 1, "b was written during a's sync");
    assert!(
        pending(&a) && pending(&b),
        "nothing acknowledged before a sync"
    );
    assert!(stored(log).is_empty(), "nothing readable before a sync");
    (a, b)
}

/// Small records, each group handed over (`overlap_min_group_bytes` 0).
fn small() -> (Bytes, Bytes) {
    (Bytes::from("a"), Bytes::from("b"))
}

#[test]
fn a_group_written_during_a_sync_waits_for_the_next_one() {
    // Records big enough to be handed over by default.
    let (log, gate) = open_gated(None);
    let (a_data, b_data) = (
        Bytes::from(vec![b'a'; 300 << 10]),
        Bytes::from(vec![b'b'; 300 << 10]),
    );
    let (a, b) = a_then_b_during_its_sync(&log, &gate, &a_data, &b_data);

    // a's sync finishes: a is acknowledged and readable. b's own sync starts and is held.
    gate.with(|s| s.permits = 1);
    assert_eq!(outcome(&a).unwrap()[0].counter, 0);
    gate.until("b's sync starts", |s| s.waiting == 1 && s.permits == 0);
    assert!(
        pending(&b),
        "b acknowledged by a sync that started before it was written"
    );
    assert_eq!(stored(&log), vec![a_data.clone()]);

    gate.with(|s| s.permits = 1);
    assert_eq!(outcome(&b).unwrap()[0].counter, 1);
    assert_eq!(stored(&log), vec![a_data, b_data]);

    gate.with(|s| s.open = true);
    log.shutdown().unwrap();
}

#[test]
fn a_failed_sync_fails_its_groups_and_those_written_behind_it() {
    let (log, gate) = open_gated(Some(0));
    let (a_data, b_data) = small();
    let (a, b) = a_then_b_during_its_sync(&log, &gate, &a_data, &b_data);

    gate.with(|s| {
        s.fail_next = true;
        s.permits = 1;
    });
    assert!(matches!(outcome(&a), Err(LogError::Io(_))));
    assert!(matches!(outcome(&b), Err(LogError::Poisoned)));
    assert!(stored(&log).is_empty(), "nothing failed is readable");
    assert!(matches!(
        block_on(log.append(vec![record(SHARD, "pk", "c")])),
        Err(LogError::Poisoned)
    ));
    gate.with(|s| s.open = true);
    let _ = log.shutdown();
}

#[test]
fn a_checkpoint_waits_for_the_groups_in_flight() {
    let (log, gate) = open_gated(Some(0));
    let (a_data, b_data) = small();
    let (a, b) = a_then_b_during_its_sync(&log, &gate, &a_data, &b_data);

    // The checkpoint is queued behind both; it returns only once both are durable.
    let checkpoint = {
        let (tx, rx) = std::sync::mpsc::channel();
        let log = log.clone();
        std::thread::spawn(move || {
            let _ = tx.send(log.checkpoint());
        });
        rx
    };
    gate.with(|s| s.permits = 1);
    outcome(&a).unwrap();
    assert!(matches!(checkpoint.try_recv(), Err(TryRecvError::Empty)));
    gate.with(|s| s.open = true);
    outcome(&b).unwrap();
    checkpoint
        .recv_timeout(Duration::from_secs(30))
        .unwrap()
        .unwrap();
    assert_eq!(stored(&log), vec![a_data, b_data]);
    log.shutdown().unwrap();
}

#[test]
fn a_sync_that_panics_fails_its_group_rather_than_hanging_the_writer() {
    let (log, gate) = open_gated(Some(0));
    gate.with(|s| s.panic_next = true);
    let outcome = block_on(log.append(vec![record(SHARD, "pk", "a")]));
    assert!(matches!(outcome, Err(LogError::Io(_))), "{outcome:?}");
    assert!(stored(&log).is_empty());
    let _ = log.shutdown();
}

/// On a real directory: threads appending groups large enough to be handed over, across
/// several segment rolls (which wait for the groups in flight), then a reopen; every
/// acknowledged record is there, in order, unchanged.
#[test]
fn large_groups_across_rolls_survive_a_reopen_on_a_real_directory() {
    const THREADS: usize = 3;
    const APPENDS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let config = spate_log::LogConfig {
        dir: Some(dir.path().to_path_buf()),
        ..config(2 << 20, Durability::Fsync)
    };
    let data = |t: usize, i: usize| vec![(t * APPENDS + i) as u8; (300 << 10) + t * 7 + i];
    let log = Log::open(config.clone()).unwrap();
    log.register_shard(SHARD, 0).unwrap();
    let mut acked: Vec<(u64, Vec<u8>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = log.clone();
                scope.spawn(move || {
                    (0..APPENDS)
                        .map(|i| {
                            let acks = block_on(log.append(vec![record(SHARD, "pk", data(t, i))]))
                                .unwrap();
                            (acks[0].counter, data(t, i))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    log.shutdown().unwrap();
    acked.sort();
    let segments = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .count();
    assert!(segments >= 4, "{segments} segments: too few rolls");

    let log = Log::open(config).unwrap();
    let stored = read_all(&log, SHARD);
    assert_eq!(stored.len(), acked.len());
    for (r, (counter, data)) in stored.iter().zip(&acked) {
        assert_eq!(r.counter, *counter);
        assert_eq!(&r.data[..], &data[..]);
    }
    log.shutdown().unwrap();
}
