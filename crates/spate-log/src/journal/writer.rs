//! The group-commit writer: one thread takes everything queued, writes it to the journal in
//! one append, syncs once (per the durability mode), indexes it, publishes it to readers and
//! acknowledges it. It is the only code that changes files, so checkpoints and retention
//! run on it too, between groups.
//!
//! In `Fsync` mode the sync runs on the syncer thread (`journal::syncer`): while the device
//! flushes one group, the writer copies the groups queued meanwhile into the page cache, and
//! hands them all to the next sync when this one is done. A group is published and
//! acknowledged only after a sync that started after it was written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::disk::DiskFile;
use crate::error::LogError;
use crate::index::{Chunk, IndexEntry, Indexer, ShardRun};
use crate::journal::syncer::Syncer;
use crate::journal::{SEGMENT_HEADER, create_segment, frame};
use crate::state::{Job, PendingRecord, ShardView, Shared};
use crate::sync::{lock, read, wait, wait_timeout, write};
use crate::types::{Appended, Durability, ShardKey};

/// The segment being appended to.
pub(crate) struct Active {
    pub id: u64,
    pub file: Arc<dyn DiskFile>,
    /// Where the next entry goes.
    pub len: u64,
    /// The file's size: `len`, or beyond it when zeros were written ahead.
    pub end: u64,
}

/// How far ahead of its records the journal writes zeros, when that pays (see
/// [`Writer::zero_ahead`]).
const ZERO_AHEAD: usize = 1 << 20;
/// Groups larger than this never write zeros ahead: a sync of hundreds of KiB is dominated
/// by the data, and zeros would double the bytes written.
const ZERO_AHEAD_MAX_GROUP: usize = ZERO_AHEAD / 4;
static ZEROS: [u8; ZERO_AHEAD] = [0; ZERO_AHEAD];
/// Without a sync per group, the journal asks the device to start writing every this many
/// bytes (see [`Writer::start_writeback`]).
const WRITEBACK_STEP: u64 = 4 << 20;

pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub active: Active,
    /// Per segment, the newest arrival time of each stream in it: all retention needs to
    /// decide that a whole segment has expired.
    pub segment_streams: BTreeMap<u64, HashMap<u64, i64>>,
    /// Finished segments whose index file is not known to be durable yet (their entries
    /// are still in memory): checkpoints tell recovery to re-index from the oldest of them.
    pub unindexed: BTreeSet<u64>,
    /// Writes those files; see [`Writer::settle_indexes`].
    pub indexer: Indexer,
    /// Streams dropped; their records left in old segments are skipped on replay.
    pub dropped: BTreeSet<u64>,
    /// Whether the journal holds bytes written since the last sync started.
    pub unsynced: bool,
    pub last_sync: Instant,
    /// Runs the journal's syncs in `Fsync` mode; `None` in the other modes, or when its
    /// thread could not be started (each group is then synced on this thread).
    pub syncer: Option<Syncer>,
    /// The segment being written at the last checkpoint.
    pub checkpointed: u64,
    /// The groups the sync in flight makes durable, oldest first; empty when none is.
    pub syncing: Vec<Written>,
    /// Groups written since that sync started: the next one's.
    pub written: Vec<Written>,
}

/// A group in the journal, to be published and acknowledged once it is durable.
pub(crate) struct Written {
    jobs: Vec<Job>,
    /// Its records' bytes, counted against the queue's bound until it is acknowledged.
    bytes: usize,
    segment: u64,
    grouped: ByShard,
}

impl Written {
    fn fail(self, error: &LogError, shared: &Shared) {
        for job in self.jobs {
            job.fail(error.duplicate());
        }
        shared.release(self.bytes);
    }
}

/// Runs the writer thread until shutdown. It takes the writer (`Shared::writer`) before the
/// queue, as everyone does, and lets go of it while it sleeps, so a caller may commit its own
/// append meanwhile (see [`commit_inline`]).
pub(crate) fn run(shared: Arc<Shared>) {
    yield_on_wake();
    if shared.config.durability == Durability::Fsync
        && let Some(w) = lock(&shared.writer).as_mut()
    {
        match Syncer::start(shared.clone()) {
            Ok(syncer) => w.syncer = Some(syncer),
            Err(error) => {
                tracing::warn!(%error, "could not start the journal syncer; syncing on the writer");
            }
        }
    }
    loop {
        let mut guard = lock(&shared.writer);
        let Some(w) = guard.as_mut() else {
            return;
        };
        let mut q = lock(&shared.queue);
        if let Some(outcome) = q.synced.take() {
            drop(q);
            w.synced(outcome);
            continue;
        }
        if q.jobs.is_empty() {
            if !w.syncing.is_empty() {
                // Until the sync is done, or jobs arrive to write meanwhile. The writer stays
                // held: only `none` mode commits inline, and it has no syncer.
                q.writer_asleep = true;
                let mut q = wait(&shared.wake_writer, q);
                q.writer_asleep = false;
                continue;
            }
            let due = w.interval_sync_due(q.poisoned);
            match due {
                Some(wait) if wait.is_zero() => {
                    drop(q);
                    if let Err(e) = w.sync_journal() {
                        tracing::error!(error = %e, "journal sync failed; poisoning the log");
                        shared.poison();
                    }
                }
                _ => {
                    // Sleep with the writer free; whatever woke us is looked at afresh.
                    drop(guard);
                    q.writer_asleep = true;
                    let mut q = match due {
                        None => wait(&shared.wake_writer, q),
                        Some(wait) => wait_timeout(&shared.wake_writer, q, wait),
                    };
                    q.writer_asleep = false;
                }
            }
            continue;
        }
        let jobs = std::mem::take(&mut q.jobs);
        drop(q);
        if !w.process(jobs) {
            // Shut down: drop the writer, and with it its handle on `Shared`.
            *guard = None;
            return;
        }
    }
}

/// Makes the calling thread `SCHED_BATCH` (its nice value kept): woken, it does not preempt
/// the thread that woke it. On a core shared with the request threads, a writer woken by the
/// first append after a sleep would otherwise run at once and commit that append alone, and
/// every group would cost its own switches and write; yielding, it runs once they have
/// nothing left to do (or at the next tick) and commits all they queued meanwhile. W1 at 64
/// connections on one core: 14 → 33 records per flush, +16% requests/s (docs/benchmarks.md).
/// It keeps its fair share of the CPU, so it is never starved; on an idle core it runs at
/// once, as before. Only from the default policy: under a real-time one (`chrt`)
/// a batch writer could starve behind the request threads.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn yield_on_wake() {
    // SAFETY: takes no pointers; pid 0 is this thread.
    if unsafe { libc::sched_getscheduler(0) } != libc::SCHED_OTHER {
        return;
    }
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: the call only reads `param`, which lives across it; pid 0 is this thread.
    // Changing between normal policies needs no privilege.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc != 0 {
        let error = std::io::Error::last_os_error();
        tracing::warn!(%error, "could not make the journal writer SCHED_BATCH; groups may be smaller");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_on_wake() {}

/// Commits the queued appends on the calling thread when the writer is free, saving the
/// round trip through the writer thread: two wake-ups per request. Only with
/// `Durability::None` (a write is a copy into the page cache, never a sync that would stall
/// an async worker), and only when everything queued is plain appends that fit in the
/// current segment and make a group small enough to stay buffered (a direct write waits for
/// the device); otherwise, or when someone else holds the writer, the writer thread is
/// woken as usual. Appends stay in queue order: jobs leave the queue only under the writer.
pub(crate) fn commit_inline(shared: &Shared) {
    if let Ok(mut guard) = shared.writer.try_lock()
        && let Some(w) = guard.as_mut()
    {
        let jobs = {
            let mut q = lock(&shared.queue);
            let mut bytes = 0;
            let plain = q.jobs.iter().all(|job| match job {
                Job::Append {
                    sealed: None,
                    bytes: b,
                    ..
                } => {
                    bytes += *b as u64;
                    true
                }
                _ => false,
            });
            // Starting a segment syncs the old one and the new one's header: the thread's.
            let rolls = w.active.len + bytes > shared.config.segment_bytes;
            let direct = bytes > shared.config.direct_min_group_bytes as u64;
            if plain && !rolls && !direct {
                std::mem::take(&mut q.jobs)
            } else {
                Vec::new()
            }
        };
        // Only appends: `process` cannot meet a shutdown here.
        w.process(jobs);
        drop(guard);
    }
    // Jobs queued while the writer was busy (or not ours to run) must not wait: wake the
    // thread for them.
    let q = lock(&shared.queue);
    if !q.jobs.is_empty() {
        shared.wake_writer.notify_one();
    }
}

impl Writer {
    /// In `Interval` mode with unsynced bytes, how long until they must be synced.
    /// Takes `poisoned` from the caller, who holds the queue lock.
    fn interval_sync_due(&self, poisoned: bool) -> Option<Duration> {
        match self.shared.config.durability {
            Durability::Interval(every) if self.unsynced && !poisoned => {
                Some(every.saturating_sub(self.last_sync.elapsed()))
            }
            _ => None,
        }
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        lock(&self.shared.queue).poisoned
    }

    pub(crate) fn sync_journal(&mut self) -> Result<(), LogError> {
        if self.unsynced {
            let started = Instant::now();
            self.active.file.sync_data()?;
            self.shared.stats.sync_done(started.elapsed());
            self.unsynced = false;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Runs a batch of jobs in order; false once shut down.
    fn process(&mut self, jobs: Vec<Job>) -> bool {
        let mut group = Vec::new();
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            match job {
                Job::Append { .. } | Job::Register { .. } | Job::DropStream { .. } => {
                    group.push(job)
                }
                Job::Checkpoint { done } => {
                    self.commit(std::mem::take(&mut group));
                    self.drain();
                    done(self.checkpoint());
                }
                Job::Retention { now_ms, done } => {
                    self.commit(std::mem::take(&mut group));
                    self.drain();
                    done(self.enforce_retention(now_ms));
                }
                Job::Shutdown { done } => {
                    self.commit(std::mem::take(&mut group));
                    self.drain();
                    for late in jobs {
                        late.fail(LogError::ShuttingDown);
                    }
                    done(self.checkpoint());
                    return false;
                }
            }
        }
        self.commit(group);
        true
    }

    /// Writes one group, then syncs, publishes and acknowledges it; or, with a syncer,
    /// leaves it to the next sync when one is in flight.
    fn commit(&mut self, group: Vec<Job>) {
        if group.is_empty() {
            return;
        }
        let bytes: usize = group
            .iter()
            .map(|j| {
                if let Job::Append { bytes, .. } = j {
                    *bytes
                } else {
                    0
                }
            })
            .sum();
        // Registrations and drops are synced and applied on this thread, after everything
        // before them: a drop's checkpoint must not claim a group still in flight. So are
        // small groups: handing a sync over costs two thread switches, more than copying
        // a few KiB, and only wakes the writer for each small append meanwhile (W1: 0.87×
        // the requests/s with every group handed over; docs/benchmarks.md).
        let pipelined = self.syncer.is_some()
            && bytes >= self.shared.config.overlap_min_group_bytes
            && group.iter().all(|j| matches!(j, Job::Append { .. }));
        if !pipelined {
            self.drain();
        }
        let outcome = if self.is_poisoned() {
            Err(LogError::Poisoned)
        } else {
            self.write_group(&group, pipelined)
        };
        let (segment, grouped) = match outcome {
            Ok(written) => written,
            Err(error) => {
                if !matches!(error, LogError::Poisoned) {
                    tracing::error!(%error, "journal write failed; poisoning the log");
                    self.shared.poison();
                }
                for job in group {
                    job.fail(error.duplicate());
                }
                self.shared.release(bytes);
                return;
            }
        };
        let written = Written {
            jobs: group,
            bytes,
            segment,
            grouped,
        };
        if pipelined {
            self.written.push(written);
            if self.syncing.is_empty() {
                self.start_sync();
            }
        } else {
            self.finish(written);
        }
    }

    /// Publishes a group that is as durable as its mode promises, and acknowledges it.
    fn finish(&mut self, written: Written) {
        let Written {
            jobs,
            bytes,
            segment,
            grouped,
        } = written;
        // Registrations first, so records in the same group find their shard.
        for job in &jobs {
            if let Job::Register {
                shard,
                start_counter,
                ..
            } = job
            {
                self.apply_register(*shard, *start_counter);
            }
        }
        self.publish(segment, grouped.runs());
        for job in &jobs {
            if let Job::DropStream { stream, .. } = job {
                self.apply_drop(*stream);
            }
        }
        self.shared.release(bytes);
        for job in jobs {
            match job {
                Job::Append {
                    sealed: Some(slot),
                    done,
                    ..
                } if let Some(why) = slot.failure() => done(Err(LogError::Seal(why))),
                Job::Append { records, done, .. } => done(Ok(records
                    .iter()
                    .map(|r| Appended {
                        counter: r.counter,
                        arrival_ms: r.arrival_ms,
                    })
                    .collect())),
                Job::Register { done, .. } => done(Ok(())),
                Job::DropStream { done, .. } => done(self.checkpoint()),
                other => other.fail(LogError::Corrupt("control job in a write group".into())),
            }
        }
    }

    /// Hands every group written so far to the syncer.
    fn start_sync(&mut self) {
        if let Some(syncer) = &self.syncer {
            self.syncing = std::mem::take(&mut self.written);
            self.unsynced = false;
            syncer.request(self.active.file.clone());
        }
    }

    /// Takes the outcome of the sync in flight: publishes what it made durable, or fails
    /// it and poisons the log; then starts the next sync for what was written meanwhile.
    pub(crate) fn synced(&mut self, outcome: io::Result<Duration>) {
        let durable = std::mem::take(&mut self.syncing);
        match outcome {
            Ok(took) => {
                self.shared.stats.sync_done(took);
                self.last_sync = Instant::now();
                for written in durable {
                    self.finish(written);
                }
            }
            Err(error) => {
                let error = LogError::from(error);
                tracing::error!(%error, "journal sync failed; poisoning the log");
                self.shared.poison();
                for written in durable {
                    written.fail(&error, &self.shared);
                }
            }
        }
        if self.is_poisoned() {
            for written in std::mem::take(&mut self.written) {
                written.fail(&LogError::Poisoned, &self.shared);
            }
        } else if !self.written.is_empty() {
            self.start_sync();
        }
    }

    /// Waits until no group is left unsynced or unpublished: before anything that needs
    /// the journal settled (a roll, a checkpoint, retention, registrations, shutdown).
    pub(crate) fn drain(&mut self) {
        while !self.syncing.is_empty() {
            let outcome = {
                let mut q = lock(&self.shared.queue);
                loop {
                    if let Some(outcome) = q.synced.take() {
                        break outcome;
                    }
                    q = wait(&self.shared.wake_writer, q);
                }
            };
            self.synced(outcome);
        }
    }

    /// Writes a group to the journal and, unless `pipelined` (the syncer's to sync), syncs
    /// it as the mode asks. Returns its segment and index entries.
    fn write_group(&mut self, group: &[Job], pipelined: bool) -> Result<(u64, ByShard), LogError> {
        // The group's length once framed, exactly but for sealed records whose sealing
        // failed (left out): where it goes and how it is written are decided before.
        let (bytes, records) = group.iter().fold((0, 0), |(b, n), job| match job {
            Job::Append { bytes, records, .. } => (b + bytes, n + records.len()),
            Job::Register { .. } => (b + frame::REGISTER_FRAME, n),
            Job::DropStream { .. } => (b + frame::DROP_STREAM_FRAME, n),
            _ => (b, n),
        });
        let segment_bytes = self.shared.config.segment_bytes;
        if self.active.len > SEGMENT_HEADER && self.active.len + bytes as u64 > segment_bytes {
            // The groups in flight are in this segment: durable before it is finished.
            self.drain();
            if self.is_poisoned() {
                return Err(LogError::Poisoned);
            }
            self.roll()?;
        }
        let base = self.active.len;
        let mut placed: Vec<(&PendingRecord, usize)> = Vec::with_capacity(records);
        let mut must_sync = self.shared.config.durability == Durability::Fsync;
        // Large groups go past the page cache (`LogConfig::direct_min_group_bytes`). On
        // this machine, copying W2's ~0.5–2 MB groups into new page-cache pages was 43% of
        // the server's CPU (each new page also a fault on the VM's host); written directly,
        // a durable W2 request cost 0.61× the CPU, for 1.27× the records per second. Small
        // groups stay buffered: a direct write would wait on the device for all of its
        // write, and write its tail block again each time.
        let (len, by_shard) = if bytes > self.shared.config.direct_min_group_bytes {
            // Framed straight into the buffer the write goes from: one copy of the records
            // fewer, into memory the tail cache recycles.
            let mut buf = self.active.file.direct_buffer(base, bytes);
            must_sync |= encode_group(group, buf.vec_mut(), &mut placed);
            let len = buf.appended().len();
            let by_shard = ByShard::group(&placed, base, buf.vec(), buf.start());
            let end = self.active.file.write_direct_buf(base, buf)?;
            self.active.end = self.active.end.max(end);
            (len, by_shard)
        } else {
            // Sized once: a 500-record group would otherwise regrow (and copy) it ~20 times.
            let mut buf = Vec::with_capacity(bytes);
            must_sync |= encode_group(group, &mut buf, &mut placed);
            self.active.file.write_at(base, &buf)?;
            (buf.len(), ByShard::group(&placed, base, &buf, 0))
        };
        self.active.len += len as u64;
        self.active.end = self.active.end.max(self.active.len);
        if self.zero_ahead(len) {
            let upto = (self.active.len + ZERO_AHEAD as u64).min(segment_bytes);
            if upto > self.active.end {
                let zeros = &ZEROS[..(upto - self.active.end) as usize];
                self.active.file.write_at(self.active.end, zeros)?;
                self.active.end = upto;
            }
        }
        self.unsynced = true;
        self.start_writeback(base, self.active.len);
        self.shared.stats.group_written(placed.len(), len);
        let interval_due = matches!(self.shared.config.durability,
            Durability::Interval(every) if self.last_sync.elapsed() >= every);
        if !pipelined && (must_sync || interval_due) {
            self.sync_journal()?;
        }
        Ok((self.active.id, by_shard))
    }

    /// Starts the device writing each whole `WRITEBACK_STEP` of the segment that the group
    /// `[from, to)` completed, where groups are not synced one by one. Left to the kernel,
    /// the dirty pages of a whole segment waited for the sync that finishes it: at W2's
    /// load with `--durability none`, a stall of tens of milliseconds every 64 MiB, the
    /// writer holding the journal meanwhile (11–26% of the server's core idle in iowait).
    fn start_writeback(&self, from: u64, to: u64) {
        if self.shared.config.durability == Durability::Fsync {
            return;
        }
        let step = WRITEBACK_STEP;
        let (first, last) = (from / step, to / step);
        if last > first {
            let (start, end) = (first * step, last * step);
            // Only a head start: a failure here shows, if it matters, at the next sync.
            if let Err(error) = self.active.file.start_writeback(start, end - start) {
                tracing::debug!(%error, "starting the journal's writeback");
            }
        }
    }

    /// Whether to write more zeros ahead after a group of `bytes`: when fewer than
    /// `ZERO_AHEAD_MAX_GROUP` of them are left past the records. A sync that grows a file
    /// also commits its new size and blocks, and on this machine costs 1.5–3× one that
    /// overwrites bytes already written; the one sync that writes the zeros pays that for
    /// the next MiB of small groups. Only when every group is synced, and only after small
    /// groups (durable single-record puts, not 700 KB batches).
    fn zero_ahead(&self, bytes: usize) -> bool {
        self.active.len > self.active.end.saturating_sub(ZERO_AHEAD_MAX_GROUP as u64)
            && bytes <= ZERO_AHEAD_MAX_GROUP
            && self.shared.config.durability == Durability::Fsync
            && self.shared.disk.overwrite_syncs_cheaper()
    }

    /// Starts the next segment, after making the current one whole on disk: recovery treats
    /// a bad entry in any but the last segment as corruption, never as a torn tail, so the
    /// zeros written ahead are cut off first.
    fn roll(&mut self) -> Result<(), LogError> {
        // Before the finished segment goes to the indexer: the checkpoint waits for the
        // index files being written, which by now are those of earlier segments.
        let config = &self.shared.config;
        let since = (self.active.id + 1 - self.checkpointed.min(self.active.id))
            .saturating_mul(config.segment_bytes);
        if config.checkpoint_bytes > 0 && since >= config.checkpoint_bytes {
            self.checkpoint()?;
        }
        if self.active.end > self.active.len {
            self.active.file.truncate(self.active.len)?;
            self.active.end = self.active.len;
        }
        self.active.file.sync_data()?;
        self.unsynced = false;
        self.last_sync = Instant::now();
        let id = self.active.id + 1;
        let file = create_segment(self.shared.disk.as_ref(), id)?;
        // Its entries are complete: the indexer writes its file while we go on.
        self.unindexed.insert(self.active.id);
        self.indexer.submit(&self.shared, self.active.id);
        write(&self.shared.segments).insert(id, file.clone());
        self.segment_streams.insert(id, HashMap::new());
        self.active = Active {
            id,
            file,
            len: SEGMENT_HEADER,
            end: SEGMENT_HEADER,
        };
        Ok(())
    }

    /// Waits for the indexer to write every file it was given, and forgets the segments
    /// now indexed.
    pub(crate) fn settle_indexes(&mut self) {
        for segment in self.indexer.wait() {
            self.unindexed.remove(&segment);
        }
    }

    pub(crate) fn apply_register(&mut self, shard: ShardKey, start_counter: u64) {
        let view = write(&self.shared.shards).entry(shard).or_default().clone();
        let mut st = lock(&view.state);
        st.committed_next = st.committed_next.max(start_counter);
    }

    /// Appends index entries and moves each shard's committed end past them. `runs` come in
    /// shard order, each shard once. The shard map is read once and each stream's newest
    /// arrival noted once per run of its shards (shard order is by stream): a 500-record
    /// group can touch hundreds of shards.
    pub(crate) fn publish<'a>(
        &mut self,
        segment: u64,
        runs: impl IntoIterator<Item = (ShardKey, ShardRun<'a>)>,
    ) {
        let streams = self.segment_streams.entry(segment).or_default();
        let mut note = |stream: u64, arrival_ms: i64| {
            let newest = streams.entry(stream).or_insert(arrival_ms);
            *newest = (*newest).max(arrival_ms);
        };
        let views = read(&self.shared.shards);
        let mut newest: Option<(u64, i64)> = None;
        for (shard, run) in runs {
            let Some(last) = run.entries.last() else {
                continue;
            };
            newest = match newest {
                Some((stream, at)) if stream == shard.stream => {
                    Some((stream, at.max(last.arrival_ms)))
                }
                other => {
                    if let Some((stream, at)) = other {
                        note(stream, at);
                    }
                    Some((shard.stream, last.arrival_ms))
                }
            };
            if let Some(view) = views.get(&shard) {
                publish_to(view, segment, run);
            }
        }
        if let Some((stream, at)) = newest {
            note(stream, at);
        }
    }

    /// Forgets a dropped stream's shards. Their entries in segment index files are never
    /// read again and go with their segments.
    pub(crate) fn apply_drop(&mut self, stream: u64) {
        write(&self.shared.shards).retain(|k, _| k.stream != stream);
        self.dropped.insert(stream);
    }
}

/// Up to this many shards in a group, a record finds its shard's slot by a linear search;
/// beyond, through a hash index.
const LINEAR_SHARDS: usize = 8;

/// A write group's index entries laid out by shard, each shard's in counter order, in one
/// vector: a counting sort over the shards the group touches, rather than a map of growing
/// vectors, which cost an allocation and several regrowths per shard (hundreds of shards when
/// a batch spreads over many).
pub(crate) struct ByShard {
    entries: Vec<IndexEntry>,
    /// Per shard, in shard order: the shard, where its entries end, its frames' length.
    runs: Vec<(ShardKey, usize, u64)>,
}

impl ByShard {
    /// `placed` says where each record's frame is in `buf`; the group's frames start at
    /// `start` there, and at `base` in the journal.
    fn group(placed: &[(&PendingRecord, usize)], base: u64, buf: &[u8], start: usize) -> ByShard {
        // Each record's slot: the shards in the order the group first meets them.
        let mut shards: Vec<ShardKey> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        let mut slots: Vec<usize> = Vec::with_capacity(placed.len());
        // foldhash (hashbrown's default), not SipHash: the keys are our own shard numbers,
        // and SipHash took ~500 instructions an insert here.
        let mut index: hashbrown::HashMap<ShardKey, usize> = hashbrown::HashMap::new();
        for (r, _) in placed {
            let known = if shards.len() <= LINEAR_SHARDS {
                shards.iter().position(|s| *s == r.shard)
            } else {
                index.get(&r.shard).copied()
            };
            let slot = known.unwrap_or_else(|| {
                shards.push(r.shard);
                counts.push(0);
                if shards.len() == LINEAR_SHARDS + 1 {
                    // Enough for a batch spread over many shards, without sizing the
                    // index for a huge group of tiny records.
                    index.reserve(placed.len().min(1024));
                    index.extend(shards.iter().enumerate().map(|(slot, s)| (*s, slot)));
                } else if shards.len() > LINEAR_SHARDS + 1 {
                    index.insert(r.shard, shards.len() - 1);
                }
                shards.len() - 1
            });
            counts[slot] += 1;
            slots.push(slot);
        }
        // The slots in shard order, and where each one's entries start. Sorted as one
        // integer each (stream, shard, slot), which compares in a few instructions; a slot
        // fits 32 bits, as a group holds far fewer records than that.
        let mut order: Vec<u128> = shards
            .iter()
            .zip(0u128..)
            .map(|(s, slot)| u128::from(s.stream) << 64 | u128::from(s.shard) << 32 | slot)
            .collect();
        order.sort_unstable();
        let slot_of = |packed: u128| (packed as u32) as usize;
        let mut next = vec![0; shards.len()];
        let mut at = 0;
        for &packed in &order {
            next[slot_of(packed)] = at;
            at += counts[slot_of(packed)];
        }
        let unset = IndexEntry {
            counter: 0,
            arrival_ms: 0,
            offset: 0,
        };
        let mut entries = vec![unset; placed.len()];
        let mut frame_bytes = vec![0u64; shards.len()];
        for ((r, at), &slot) in placed.iter().zip(&slots) {
            entries[next[slot]] = IndexEntry {
                counter: r.counter,
                arrival_ms: r.arrival_ms,
                offset: base + (*at - start) as u64,
            };
            next[slot] += 1;
            frame_bytes[slot] += frame::frame_len_at(buf, *at) as u64;
        }
        // Every slot's `next` is now where its entries end.
        let runs = order
            .iter()
            .map(|&packed| {
                let slot = slot_of(packed);
                (shards[slot], next[slot], frame_bytes[slot])
            })
            .collect();
        ByShard { entries, runs }
    }

    /// Each shard's run of entries, in shard order.
    fn runs(&self) -> impl Iterator<Item = (ShardKey, ShardRun<'_>)> {
        let mut start = 0;
        self.runs.iter().map(move |&(shard, end, frame_bytes)| {
            let run = ShardRun {
                entries: &self.entries[start..end],
                frame_bytes,
            };
            start = end;
            (shard, run)
        })
    }
}

/// Frames `group`'s entries onto `buf`, noting where each record's frame starts. Returns
/// whether the group holds an entry that promises durability whatever the mode.
fn encode_group<'g>(
    group: &'g [Job],
    buf: &mut Vec<u8>,
    placed: &mut Vec<(&'g PendingRecord, usize)>,
) -> bool {
    let mut must_sync = false;
    for job in group {
        match job {
            Job::Append {
                records,
                sealed: Some(slot),
                ..
            } => slot.encode(records, buf, placed),
            Job::Append { records, .. } => {
                for r in records {
                    placed.push((r, buf.len()));
                    frame::encode_record(
                        buf,
                        r.shard,
                        r.counter,
                        r.arrival_ms,
                        &r.partition_key,
                        &r.data,
                    );
                }
            }
            Job::Register {
                shard,
                start_counter,
                ..
            } => {
                frame::encode_register(buf, *shard, *start_counter);
                // Registration promises durability whatever the mode.
                must_sync = true;
            }
            Job::DropStream { stream, .. } => {
                frame::encode_drop_stream(buf, *stream);
                must_sync = true;
            }
            _ => {}
        }
    }
    must_sync
}

/// Appends one shard's entries to its in-memory index and publishes them.
pub(crate) fn publish_to(view: &ShardView, segment: u64, run: ShardRun<'_>) {
    let entries = run.entries;
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return;
    };
    let mut st = lock(&view.state);
    if st.chunks.last().is_none_or(|c| c.segment != segment) {
        st.chunks.push(Chunk::starting(segment, first));
    }
    if let Some(chunk) = st.chunks.last_mut() {
        chunk.extend(run);
    }
    match st.recent.last() {
        Some((s, mem)) if *s == segment => write(mem).extend_from_slice(entries),
        _ => st
            .recent
            .push((segment, Arc::new(RwLock::new(entries.to_vec())))),
    }
    st.committed_next = st.committed_next.max(last.counter + 1);
    st.last_arrival = Some(
        st.last_arrival
            .map_or(last.arrival_ms, |a| a.max(last.arrival_ms)),
    );
    // Subscribers learn of the commit now, from the commit path itself; `send` is a no-op
    // (one atomic load) while nobody watches.
    let _ = view.commits.send(st.committed_next);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Grouping by shard gives each shard touched one run, in shard order, holding its
        /// records' entries in the order they were placed and their frames' total length;
        /// with few shards (a linear search) and many (the hash index) alike.
        #[test]
        fn a_group_is_laid_out_by_shard_in_placement_order(
            picks in proptest::collection::vec((0u64..3, 0u32..12, 0usize..40), 0..200),
        ) {
            let records: Vec<PendingRecord> = picks
                .iter()
                .enumerate()
                .map(|(i, &(stream, shard, len))| PendingRecord {
                    shard: ShardKey { stream, shard },
                    counter: i as u64,
                    arrival_ms: 1_000 + i as i64,
                    partition_key: "k".repeat(len % 7 + 1),
                    data: Bytes::from(vec![7; len]),
                })
                .collect();
            // Frames after other bytes, as a direct group's follow the block's head bytes.
            let start = picks.len() % 13;
            let mut buf = vec![0xee; start];
            let mut placed = Vec::new();
            for r in &records {
                placed.push((r, buf.len()));
                frame::encode_record(
                    &mut buf, r.shard, r.counter, r.arrival_ms, &r.partition_key, &r.data,
                );
            }
            let grouped = ByShard::group(&placed, 4_096, &buf, start);
            let runs: Vec<(ShardKey, ShardRun<'_>)> = grouped.runs().collect();
            let mut expected: BTreeMap<ShardKey, (Vec<IndexEntry>, u64)> = BTreeMap::new();
            for &(r, at) in &placed {
                let (entries, bytes) = expected.entry(r.shard).or_default();
                entries.push(IndexEntry {
                    counter: r.counter,
                    arrival_ms: r.arrival_ms,
                    offset: 4_096 + (at - start) as u64,
                });
                *bytes += frame::frame_len_at(&buf, at) as u64;
            }
            prop_assert_eq!(runs.len(), expected.len());
            for ((shard, run), (want_shard, (entries, bytes))) in runs.iter().zip(&expected) {
                prop_assert_eq!(shard, want_shard);
                prop_assert_eq!(run.entries, &entries[..]);
                prop_assert_eq!(run.frame_bytes, *bytes);
            }
        }
    }
}
