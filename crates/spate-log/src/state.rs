//! What the API, the writer thread and the maintenance thread share.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::disk::{Disk, DiskFile};
use crate::error::LogError;
use crate::index::{Chunk, MemEntries, SegmentIndex};
use crate::sync::lock;
use crate::types::{Appended, LogConfig, ShardKey, ShardMap};

/// How the writer reports a job's outcome: a oneshot for async callers, a channel for
/// blocking ones (a oneshot cannot be waited on from inside a runtime).
pub(crate) type Done<T> = Box<dyn FnOnce(Result<T, LogError>) + Send>;

/// A record with the counter and arrival time it was given when queued.
pub(crate) struct PendingRecord {
    pub shard: ShardKey,
    pub counter: u64,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Bytes,
}

/// Work for the writer thread, executed in queue order.
pub(crate) enum Job {
    Append {
        records: Vec<PendingRecord>,
        bytes: usize,
        done: Done<Vec<Appended>>,
        /// For a sealed append: the ciphertexts, which the appender fills in after queuing.
        /// The records' own keys and data are then empty.
        sealed: Option<Arc<crate::seal::SealSlot>>,
    },
    Register {
        shard: ShardKey,
        start_counter: u64,
        done: Done<()>,
    },
    DropStream {
        stream: u64,
        done: Done<()>,
    },
    Checkpoint {
        done: Done<()>,
    },
    Retention {
        now_ms: i64,
        done: Done<()>,
    },
    Shutdown {
        done: Done<()>,
    },
}

impl Job {
    pub(crate) fn fail(self, error: LogError) {
        match self {
            Job::Append { done, .. } => done(Err(error)),
            Job::Register { done, .. }
            | Job::DropStream { done, .. }
            | Job::Checkpoint { done }
            | Job::Retention { done, .. }
            | Job::Shutdown { done } => done(Err(error)),
        }
    }
}

/// Counter assignment for one shard. Kept under the queue lock so that the order counters
/// are handed out is the order entries reach the journal.
pub(crate) struct Assign {
    pub next_counter: u64,
    pub last_arrival: Option<i64>,
    /// Set by `close_shard`: appends are refused, so the shard's last counter is final.
    /// Not persisted; the caller closes its closed shards again on every start.
    pub closed: bool,
}

/// Everything behind the one queue mutex.
pub(crate) struct Queue {
    pub jobs: Vec<Job>,
    /// Record bytes queued or being written; appends wait while this is over the bound.
    pub pending_bytes: usize,
    /// Set after a failed write or sync; never cleared.
    pub poisoned: bool,
    /// Set by shutdown; no new jobs are accepted.
    pub closing: bool,
    /// Whether the writer thread is waiting on `wake_writer` and nobody has woken it yet.
    /// Appends notify only then, and clear it: a notification is a system call even with
    /// nobody waiting, and a busy (or already woken) writer takes everything queued when it
    /// next looks anyway.
    pub writer_asleep: bool,
    /// The outcome of the sync the writer last handed to its syncer (and how long it
    /// took), until the writer takes it.
    pub synced: Option<std::io::Result<Duration>>,
    pub shards: ShardMap<Assign>,
}

/// A shard's committed state as readers see it. Only the writer thread changes it.
#[derive(Clone, Default)]
pub(crate) struct ShardIndexState {
    pub committed_next: u64,
    pub last_arrival: Option<i64>,
    /// One per journal segment holding this shard's records, oldest first.
    pub chunks: Vec<Chunk>,
    /// The entries of the newest chunks, whose segments have no index file yet (the one
    /// being written, and one just finished until its file is durable), oldest first.
    pub recent: Vec<(u64, MemEntries)>,
}

pub(crate) struct ShardView {
    pub state: Mutex<ShardIndexState>,
    /// Tells subscribers (see [`crate::Log::watch_commits`]) that `committed_next` moved or
    /// the shard otherwise changed. Sent to under the `state` lock, so a watcher that
    /// subscribes under it and then reads misses nothing. With no watcher a send is one
    /// atomic load; dropping the view (its stream dropped) closes the channel.
    pub commits: watch::Sender<u64>,
}

impl ShardView {
    pub(crate) fn new(state: ShardIndexState) -> ShardView {
        let commits = watch::Sender::new(state.committed_next);
        ShardView {
            state: Mutex::new(state),
            commits,
        }
    }
}

impl Default for ShardView {
    fn default() -> ShardView {
        ShardView::new(ShardIndexState::default())
    }
}

pub(crate) struct Shared {
    pub disk: Arc<dyn Disk>,
    pub clock: Arc<dyn Clock>,
    pub config: LogConfig,
    pub queue: Mutex<Queue>,
    /// Signalled when a job is queued or shutdown starts.
    pub wake_writer: Condvar,
    /// Signalled when pending bytes shrink or the log stops accepting work.
    pub space: Notify,
    /// Read-mostly: written only when a shard is registered or its stream dropped.
    pub shards: RwLock<ShardMap<Arc<ShardView>>>,
    /// Open journal segments for readers; the writer adds, retention removes.
    pub segments: RwLock<BTreeMap<u64, Arc<dyn DiskFile>>>,
    /// Open segment index files, by segment: the writer adds each one it writes, readers
    /// the ones they open, retention removes them (after removing the segment from
    /// `segments`, which readers check before adding).
    pub segment_indexes: RwLock<HashMap<u64, Arc<SegmentIndex>>>,
    pub retention: Mutex<HashMap<u64, Duration>>,
    pub stats: crate::stats::Stats,
    /// Read buffers of pages already sent, for the next reads.
    pub windows: crate::journal::windows::WindowPool,
    /// The journal writer: whoever holds it may take jobs from the queue and run them, in
    /// queue order. Taken before `queue` whenever both are held. `None` before recovery has
    /// built it and after shutdown.
    pub writer: Mutex<Option<crate::journal::writer::Writer>>,
}

impl Shared {
    /// Queues a job unless the log is poisoned or closing.
    pub(crate) fn submit(&self, job: Job) {
        let mut q = lock(&self.queue);
        if q.poisoned {
            drop(q);
            return job.fail(LogError::Poisoned);
        }
        if q.closing {
            drop(q);
            return job.fail(LogError::ShuttingDown);
        }
        q.jobs.push(job);
        self.wake_writer.notify_one();
    }

    /// Queues a job and blocks until the writer has done it.
    pub(crate) fn run_blocking<T: Send + 'static>(
        &self,
        make: impl FnOnce(Done<T>) -> Job,
    ) -> Result<T, LogError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(make(Box::new(move |r| {
            let _ = tx.send(r);
        })));
        // A dropped sender means the writer thread is gone.
        rx.recv().unwrap_or(Err(LogError::ShuttingDown))
    }

    pub(crate) fn poison(&self) {
        lock(&self.queue).poisoned = true;
        self.stats.poisoned();
        self.space.notify_waiters();
    }

    pub(crate) fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let mut q = lock(&self.queue);
        q.pending_bytes = q.pending_bytes.saturating_sub(bytes);
        drop(q);
        self.space.notify_waiters();
    }
}
