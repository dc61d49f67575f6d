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

/// With `Durability::None`, appenders commit on their own thread when the writer is free.
/// Many threads and tasks appending at once, with checkpoints, registrations and sealed
/// appends (which always go through the writer thread) mixed in, must still leave every
/// shard's records in counter order with each call's records where its acknowledgement
/// said, before and after a reopen.
#[test]
fn inline_commits_keep_queue_order() {
    const THREADS: u64 = 4;
    const CALLS: u64 = 150;
    const SHARDS: u32 = 3;
    let disk: Arc<dyn spate_log::disk::Disk> = Arc::new(spate_log::disk::MemoryDisk::new());
    let clock = Arc::new(ManualClock::new(0));
    let log = open(config(4096, Durability::None), disk.clone(), clock.clone());
    let key = |shard| ShardKey { stream: 1, shard };
    for shard in 0..SHARDS {
        log.register_shard(key(shard), 0).unwrap();
    }
    let sealer: Arc<dyn spate_log::Sealer> = Arc::new(ToySealer::default());
    // What each acknowledged record must read back as: (shard, counter) -> (key, data).
    let acked = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (log, acked, sealer) = (&log, &acked, sealer.clone());
            scope.spawn(move || {
                for i in 0..CALLS {
                    let records: Vec<_> = (0..1 + (i % 4))
                        .map(|j| {
                            let shard = key(((t + i + j) % u64::from(SHARDS)) as u32);
                            record(
                                shard,
                                &format!("t{t}-{i}-{j}"),
                                vec![t as u8; (i % 50) as usize],
                            )
                        })
                        .collect();
                    let expect: Vec<_> = records
                        .iter()
                        .map(|r| (r.shard, r.partition_key.clone(), r.data.clone()))
                        .collect();
                    let appended = if i % 10 == 3 {
                        block_on(log.append_sealed(records, sealer.clone())).unwrap()
                    } else {
                        block_on(log.append(records)).unwrap()
                    };
                    let mut acked = acked.lock().unwrap();
                    for ((shard, k, data), a) in expect.into_iter().zip(appended) {
                        assert!(acked.insert((shard, a.counter), (k, data)).is_none());
                    }
                    if i % 25 == 0 {
                        log.checkpoint().unwrap();
                    }
                }
            });
        }
    });
    let check = |log: &spate_log::Log| {
        let acked = acked.lock().unwrap();
        for shard in 0..SHARDS {
            let read: Vec<_> = read_all(log, key(shard))
                .into_iter()
                .map(|r| {
                    let (k, data) = match &r.sealed {
                        Some(_) => toy_open(&r).unwrap(),
                        None => (r.partition_key.clone(), r.data.clone()),
                    };
                    (r.counter, k.to_string(), data)
                })
                .collect();
            let want: Vec<_> = acked
                .range((key(shard), 0)..=(key(shard), u64::MAX))
                .map(|((_, c), (k, d))| (*c, k.clone(), d.clone()))
                .collect();
            assert_eq!(read, want, "shard {shard}");
        }
    };
    check(&log);
    log.shutdown().unwrap();
    drop(log);
    let log = open(config(4096, Durability::None), disk, clock);
    check(&log);
}

/// The writer does not preempt the threads that wake it (`SCHED_BATCH`), so on a shared core
/// it commits everything they queued before it got to run, not the first append alone.
#[cfg(target_os = "linux")]
#[test]
fn the_writer_thread_yields_to_the_threads_that_wake_it() {
    const SCHED_BATCH: &str = "3";
    let log = open(
        config(64 << 20, Durability::Fsync),
        Arc::new(CrashDisk::new(1)),
        Arc::new(ManualClock::new(0)),
    );
    // Once an append is committed, the writer thread has been through its set-up.
    let shard = ShardKey {
        stream: 1,
        shard: 0,
    };
    log.register_shard(shard, 0).unwrap();
    block_on(log.append(vec![record(shard, "k", b"x".to_vec())])).unwrap();
    // Other tests' logs in this process may have writers not yet through their set-up: poll.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let writers = writer_policies();
        if !writers.is_empty() && writers.iter().all(|policy| policy == SCHED_BATCH) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "writer threads' scheduling policies: {writers:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(log);
}

/// The scheduling policy of each of this process's journal writer threads.
#[cfg(target_os = "linux")]
fn writer_policies() -> Vec<String> {
    let mut policies = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        // Thread names are cut to 15 bytes: "spate-log-writer" reads "spate-log-write".
        let Ok(comm) = std::fs::read_to_string(task.join("comm")) else {
            continue; // a thread that ended meanwhile
        };
        let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
            continue;
        };
        if comm.trim_end() == "spate-log-write" {
            // Fields after the parenthesised name start at the third; the policy is the 41st.
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            policies.push(after_name.split(' ').nth(41 - 3).unwrap().to_owned());
        }
    }
    policies
}

/// A disk that remembers which threads wrote directly and which wrote through the cache.
struct Watched {
    inner: spate_log::disk::MemoryDisk,
    writes: Arc<std::sync::Mutex<Vec<(std::thread::ThreadId, bool)>>>,
}

struct WatchedFile {
    inner: Arc<dyn spate_log::disk::DiskFile>,
    writes: Arc<std::sync::Mutex<Vec<(std::thread::ThreadId, bool)>>>,
}

impl spate_log::disk::Disk for Watched {
    fn open(
        &self,
        path: &std::path::Path,
        create: bool,
    ) -> std::io::Result<Arc<dyn spate_log::disk::DiskFile>> {
        Ok(Arc::new(WatchedFile {
            inner: self.inner.open(path, create)?,
            writes: self.writes.clone(),
        }))
    }
    fn create_dir_all(&self, path: &std::path::Path) -> std::io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &std::path::Path) -> std::io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn rename(&self, from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &std::path::Path) -> std::io::Result<()> {
        self.inner.remove_dir_all(path)
    }
    fn sync_dir(&self, path: &std::path::Path) -> std::io::Result<()> {
        self.inner.sync_dir(path)
    }
}

impl spate_log::disk::DiskFile for WatchedFile {
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read_at(offset, buf)
    }
    fn append(&self, data: &[u8]) -> std::io::Result<()> {
        self.inner.append(data)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let me = std::thread::current().id();
        self.writes.lock().unwrap().push((me, false));
        self.inner.write_at(offset, data)
    }
    fn write_direct(&self, offset: u64, data: &[u8]) -> std::io::Result<u64> {
        let me = std::thread::current().id();
        self.writes.lock().unwrap().push((me, true));
        self.inner.write_at(offset, data)?;
        Ok(offset + data.len() as u64)
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
}

/// With `Durability::None`, a small append commits on the appender's own thread, but a
/// group large enough to be written directly goes to the writer thread: a direct write
/// waits for the device, which an async worker must not.
#[test]
fn inline_commits_leave_direct_writes_to_the_writer_thread() {
    let writes = Arc::default();
    let disk = Watched {
        inner: spate_log::disk::MemoryDisk::new(),
        writes: Arc::clone(&writes),
    };
    let cfg = spate_log::LogConfig {
        direct_min_group_bytes: 10_000,
        ..config(1 << 20, Durability::None)
    };
    let log = open(cfg, Arc::new(disk), Arc::new(ManualClock::new(0)));
    let shard = ShardKey {
        stream: 1,
        shard: 0,
    };
    log.register_shard(shard, 0).unwrap();
    let me = std::thread::current().id();
    writes.lock().unwrap().clear();
    // The writer thread may still hold the writer a moment after the registration (an
    // append then goes to it): small appends until one commits inline.
    let mut small = 0;
    while small < 100 && !writes.lock().unwrap().contains(&(me, false)) {
        block_on(log.append(vec![record(shard, "small", vec![1; 100])])).unwrap();
        small += 1;
    }
    block_on(log.append(vec![record(shard, "large", vec![2; 20_000])])).unwrap();
    let writes = writes.lock().unwrap().clone();
    assert!(
        writes.contains(&(me, false)),
        "a small append committed inline: {writes:?}"
    );
    assert!(
        writes
            .iter()
            .any(|&(thread, direct)| direct && thread != me),
        "the large one was written directly by the writer thread: {writes:?}"
    );
    assert!(
        !writes.contains(&(me, true)),
        "no direct write on the appender's thread: {writes:?}"
    );
    assert_eq!(read_all(&log, shard).len(), small + 1);
    log.shutdown().unwrap();
}
