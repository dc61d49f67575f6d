//! The [`Log`] handle: opening, control operations, background threads and shutdown. Appends
//! are in `append.rs`, reads in `read.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::clock::{Clock, SystemClock};
use crate::disk::{Disk, MemoryDisk, RealDisk};
use crate::error::LogError;
use crate::journal::{SEGMENT_HEADER, recovery, writer};
use crate::state::{Assign, Job, Queue, Shared};
use crate::sync::{lock, read};
use crate::types::{LogConfig, ShardKey};

/// A handle to the node's record log. Clones share one log; when the last clone is dropped
/// the log shuts down as if [`Log::shutdown`] had been called.
#[derive(Clone)]
pub struct Log {
    pub(crate) handle: Arc<Handle>,
}

pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    threads: Mutex<Threads>,
}

struct Threads {
    writer: Option<JoinHandle<()>>,
    maintenance: Option<JoinHandle<()>>,
    /// Tells the maintenance thread to stop, and wakes it.
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Log {
    /// Opens (recovering) the log in `config.dir`, or in memory when that is `None`.
    pub fn open(config: LogConfig) -> Result<Log, LogError> {
        let disk: Arc<dyn Disk> = match &config.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Arc::new(RealDisk::new(dir))
            }
            None => Arc::new(MemoryDisk::new()),
        };
        Log::open_with(config, disk, Arc::new(SystemClock))
    }

    /// Opens the log on any disk with any clock (`config.dir` is ignored): tests use this to
    /// inject crashes and time.
    pub fn open_with(
        config: LogConfig,
        disk: Arc<dyn Disk>,
        clock: Arc<dyn Clock>,
    ) -> Result<Log, LogError> {
        let mut config = config;
        // A segment must hold its header and at least some entries.
        config.segment_bytes = config.segment_bytes.max(SEGMENT_HEADER + 64);
        let shared = Arc::new(Shared {
            disk,
            clock,
            config,
            queue: Mutex::new(Queue {
                jobs: Vec::new(),
                pending_bytes: 0,
                poisoned: false,
                closing: false,
                writer_asleep: false,
                synced: None,
                shards: Default::default(),
            }),
            wake_writer: Condvar::new(),
            space: Notify::new(),
            shards: RwLock::new(Default::default()),
            segments: RwLock::new(Default::default()),
            segment_indexes: RwLock::new(HashMap::new()),
            retention: Mutex::new(HashMap::new()),
            stats: Default::default(),
            windows: Default::default(),
            writer: Mutex::new(None),
        });
        let w = recovery::recover(&shared)?;
        *lock(&shared.writer) = Some(w);
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("spate-log-writer".into())
                .spawn(move || writer::run(shared))
        };
        let writer = match writer {
            Ok(writer) => writer,
            Err(error) => {
                // Break the writer's cycle through `Shared` before giving up.
                *lock(&shared.writer) = None;
                return Err(error.into());
            }
        };
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let maintenance = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("spate-log-maintenance".into())
                .spawn(move || maintain(&shared, &stop))?
        };
        let threads = Threads {
            writer: Some(writer),
            maintenance: Some(maintenance),
            stop,
        };
        Ok(Log {
            handle: Arc::new(Handle {
                shared,
                threads: Mutex::new(threads),
            }),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Makes `shard` known, with counters starting at `start_counter` or higher. Idempotent:
    /// a shard's counter never goes down. Durable before it returns, whatever the durability
    /// mode. Blocks briefly on the writer thread.
    pub fn register_shard(&self, shard: ShardKey, start_counter: u64) -> Result<(), LogError> {
        self.register_shards(&[(shard, start_counter)])
    }

    /// [`Log::register_shard`] for many shards at once: one trip to the writer thread (and
    /// one sync) for all of them, which is what makes creating a 1,000-shard stream quick.
    pub fn register_shards(&self, shards: &[(ShardKey, u64)]) -> Result<(), LogError> {
        let shared = self.shared();
        let mut replies = Vec::new();
        {
            let mut q = lock(&shared.queue);
            if q.poisoned {
                return Err(LogError::Poisoned);
            }
            if q.closing {
                return Err(LogError::ShuttingDown);
            }
            for &(shard, start_counter) in shards {
                match q.shards.get_mut(&shard) {
                    Some(a) if a.next_counter >= start_counter => continue,
                    Some(a) => a.next_counter = start_counter,
                    None => {
                        q.shards.insert(
                            shard,
                            Assign {
                                next_counter: start_counter,
                                last_arrival: None,
                                closed: false,
                            },
                        );
                    }
                }
                // Queued under the same lock as the counter change, so the registration
                // reaches the journal before any record that used it.
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let done = Box::new(move |r| {
                    let _ = tx.send(r);
                });
                q.jobs.push(Job::Register {
                    shard,
                    start_counter,
                    done,
                });
                replies.push(rx);
            }
            shared.wake_writer.notify_one();
        }
        for rx in replies {
            rx.recv().unwrap_or(Err(LogError::ShuttingDown))?;
        }
        Ok(())
    }

    /// Refuses further appends to `shard` (they fail with [`LogError::ShardClosed`]) and
    /// returns the counter after its last record: every record the shard will ever hold has
    /// a lower one, though the latest of them may still be on their way to the disk.
    pub fn close_shard(&self, shard: ShardKey) -> Result<u64, LogError> {
        let mut q = lock(&self.shared().queue);
        let assign = q
            .shards
            .get_mut(&shard)
            .ok_or(LogError::UnknownShard(shard))?;
        assign.closed = true;
        Ok(assign.next_counter)
    }

    /// A receiver that changes whenever records of `shard` are committed (its value is the
    /// committed next counter) or [`Log::wake_watchers`] is called, and fails once the
    /// shard's stream is dropped. Records committed before this call are readable when it
    /// returns; every later commit marks the receiver changed, so a subscriber that reads,
    /// then awaits `changed()`, never misses one. This is how subscriptions are fed from the
    /// commit path instead of polling.
    pub fn watch_commits(&self, shard: ShardKey) -> Result<watch::Receiver<u64>, LogError> {
        let view = read(&self.shared().shards)
            .get(&shard)
            .cloned()
            .ok_or(LogError::UnknownShard(shard))?;
        // Under the state lock, which the writer holds while it publishes and sends.
        let _state = lock(&view.state);
        Ok(view.commits.subscribe())
    }

    /// Wakes the commit watchers of `shard` without a commit, for a change they also wait
    /// for that the log does not make itself (the caller closing the shard for good).
    pub fn wake_watchers(&self, shard: ShardKey) {
        let view = read(&self.shared().shards).get(&shard).cloned();
        if let Some(view) = view {
            let _state = lock(&view.state);
            view.commits.send_modify(|_| {});
        }
    }

    /// Sets how long a stream's records are kept. Not persisted: callers set it on every start.
    pub fn set_retention(&self, stream: u64, retention: Duration) {
        lock(&self.shared().retention).insert(stream, retention);
    }

    /// Makes every record of `stream` unreadable at once and its shards unknown; the sweep
    /// reclaims the journal space later. Durable before it returns.
    pub fn drop_stream(&self, stream: u64) -> Result<(), LogError> {
        let shared = self.shared();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        {
            let mut q = lock(&shared.queue);
            if q.poisoned {
                return Err(LogError::Poisoned);
            }
            if q.closing {
                return Err(LogError::ShuttingDown);
            }
            q.shards.retain(|k, _| k.stream != stream);
            let done = Box::new(move |r| {
                let _ = tx.send(r);
            });
            q.jobs.push(Job::DropStream { stream, done });
            shared.wake_writer.notify_one();
        }
        lock(&shared.retention).remove(&stream);
        rx.recv().unwrap_or(Err(LogError::ShuttingDown))
    }

    /// Deletes every journal segment whose records have all expired as of `now_ms` or belong
    /// to dropped streams. The background sweep calls this; tests call it directly.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<(), LogError> {
        self.shared()
            .run_blocking(|done| Job::Retention { now_ms, done })
    }

    /// Waits for the index files of finished segments being written and rewrites the
    /// checkpoint, bounding recovery's replay.
    pub fn checkpoint(&self) -> Result<(), LogError> {
        self.shared().run_blocking(|done| Job::Checkpoint { done })
    }

    /// Counters since the log opened: syncs, group commits, journal bytes, poisoning.
    pub fn stats(&self) -> crate::LogStats {
        self.handle.shared.stats.snapshot()
    }

    /// Per stream, the disk bytes its records take: their journal frames and index entries
    /// in segments not yet deleted (expired records count until retention deletes their
    /// segment). Streams without committed records are absent.
    pub fn disk_bytes_by_stream(&self) -> HashMap<u64, u64> {
        let views: Vec<_> = read(&self.shared().shards)
            .iter()
            .map(|(k, v)| (k.stream, v.clone()))
            .collect();
        let mut bytes = HashMap::new();
        for (stream, view) in views {
            let held: u64 = lock(&view.state).chunks.iter().map(|c| c.bytes).sum();
            if held > 0 {
                *bytes.entry(stream).or_insert(0) += held;
            }
        }
        bytes
    }

    /// Writes and syncs everything queued, checkpoints, and stops the background threads.
    /// Later calls (and other operations) return `ShuttingDown`, except a repeated
    /// `shutdown`, which returns `Ok`.
    pub fn shutdown(&self) -> Result<(), LogError> {
        self.handle.shutdown()
    }
}

impl Handle {
    fn shutdown(&self) -> Result<(), LogError> {
        let mut threads = lock(&self.threads);
        let Some(writer) = threads.writer.take() else {
            return Ok(());
        };
        {
            let (flag, wake) = &*threads.stop;
            *lock(flag) = true;
            wake.notify_all();
        }
        if let Some(m) = threads.maintenance.take() {
            let _ = m.join();
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        {
            let mut q = lock(&self.shared.queue);
            q.closing = true;
            let done = Box::new(move |r| {
                let _ = tx.send(r);
            });
            q.jobs.push(Job::Shutdown { done });
            self.shared.wake_writer.notify_one();
        }
        // Appends waiting for space must now see `closing`.
        self.shared.space.notify_waiters();
        let result = rx.recv().unwrap_or(Err(LogError::ShuttingDown));
        let _ = writer.join();
        result
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::warn!(%error, "record log shutdown on drop failed");
        }
    }
}

/// The maintenance thread: periodic checkpoints and retention sweeps.
fn maintain(shared: &Shared, stop: &(Mutex<bool>, Condvar)) {
    // A zero interval switches the task off rather than spinning.
    let every = |d: Duration| (!d.is_zero()).then_some(d);
    let checkpoint_every = every(shared.config.checkpoint_interval);
    let sweep_every = every(shared.config.retention_sweep_interval);
    let start = Instant::now();
    let mut next_checkpoint = checkpoint_every.map(|d| start + d);
    let mut next_sweep = sweep_every.map(|d| start + d);
    let (flag, wake) = stop;
    let mut stopped = lock(flag);
    loop {
        if *stopped {
            return;
        }
        let now = Instant::now();
        let due = [next_checkpoint, next_sweep].into_iter().flatten().min();
        match due {
            None => stopped = wake.wait(stopped).unwrap_or_else(|e| e.into_inner()),
            Some(at) if at > now => {
                stopped = wake
                    .wait_timeout(stopped, at - now)
                    .map_or_else(|e| e.into_inner().0, |r| r.0);
            }
            Some(_) => {
                drop(stopped);
                if next_checkpoint.is_some_and(|at| at <= now) {
                    report(
                        "checkpoint",
                        shared.run_blocking(|done| Job::Checkpoint { done }),
                    );
                    next_checkpoint = checkpoint_every.map(|d| Instant::now() + d);
                }
                if next_sweep.is_some_and(|at| at <= now) {
                    let now_ms = shared.clock.now_ms();
                    report(
                        "retention sweep",
                        shared.run_blocking(|done| Job::Retention { now_ms, done }),
                    );
                    next_sweep = sweep_every.map(|d| Instant::now() + d);
                }
                stopped = lock(flag);
            }
        }
    }
}

fn report(task: &str, result: Result<(), LogError>) {
    match result {
        Ok(()) | Err(LogError::ShuttingDown) => {}
        Err(error) => tracing::warn!(%error, "background {task} failed"),
    }
}
