//! Writing a finished segment's index file, on a thread of its own (the indexer): the writer
//! hands it the segment's entries when it rolls the journal over, and goes on committing
//! while the file is written and synced. Until the file is durable, readers keep using the
//! entries in memory, and checkpoints keep telling recovery to re-index the segment.
//!
//! One file per segment however many shards wrote to it: creating a file per shard per
//! segment is what made many-shard streams slow (see `docs/operations.md`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::error::LogError;
use crate::index::{INDEX_DIR, IndexEntry, MemEntries, SegmentIndex, file, index_file_path};
use crate::state::Shared;
use crate::sync::{lock, read, write};
use crate::types::ShardKey;

/// One segment's entries, by shard.
type SegmentEntries = Vec<(ShardKey, MemEntries)>;

pub(crate) fn index_tmp_path(segment: u64) -> PathBuf {
    let mut path = index_file_path(segment).into_os_string();
    path.push(".tmp");
    path.into()
}

/// The entries every shard has in memory for `segment`, sorted by shard.
pub(crate) fn entries_of(shared: &Shared, segment: u64) -> SegmentEntries {
    let mut shards: SegmentEntries = read(&shared.shards)
        .iter()
        .filter_map(|(key, view)| {
            let st = lock(&view.state);
            let (_, mem) = st.recent.iter().find(|(s, _)| *s == segment)?;
            Some((*key, mem.clone()))
        })
        .collect();
    shards.sort_unstable_by_key(|(key, _)| *key);
    shards
}

/// Writes `segment`'s index file (temporary name, sync, rename, sync of the directory),
/// then points readers at it and frees the entries in memory.
pub(crate) fn write_index_file(
    shared: &Shared,
    segment: u64,
    shards: &SegmentEntries,
) -> Result<(), LogError> {
    let bytes = {
        let held: Vec<_> = shards.iter().map(|(key, mem)| (*key, read(mem))).collect();
        let slices: Vec<(ShardKey, &[IndexEntry])> = held
            .iter()
            .map(|(key, entries)| (*key, entries.as_slice()))
            .collect();
        file::encode(segment, &slices)
    };
    let disk = &shared.disk;
    let (tmp, path) = (index_tmp_path(segment), index_file_path(segment));
    let f = disk.open(&tmp, true)?;
    f.truncate(0)?;
    f.append(&bytes)?;
    f.sync_data()?;
    disk.rename(&tmp, &path)?;
    disk.sync_dir(Path::new(INDEX_DIR))?;
    // Through the checks any reader would make, without reading it back.
    let index = Arc::new(SegmentIndex::over(
        disk.open(&path, false)?,
        segment,
        &bytes,
    )?);
    write(&shared.segment_indexes).insert(segment, index);
    // Readers that took their snapshot before this keep their own reference.
    let views: Vec<_> = read(&shared.shards).values().cloned().collect();
    for view in views {
        lock(&view.state).recent.retain(|(s, _)| *s != segment);
    }
    tracing::debug!(
        segment,
        shards = shards.len(),
        bytes = bytes.len(),
        "wrote segment index"
    );
    Ok(())
}

/// What the indexer has done, for the writer.
#[derive(Default)]
struct Progress {
    /// Segments whose index file is durable, not yet taken by the writer.
    written: Vec<u64>,
    /// Segments handed over and not yet finished (written or failed).
    in_flight: usize,
}

/// The writer's handle on the indexer thread. Dropping it lets the thread finish what it
/// was given and waits for it.
pub(crate) struct Indexer {
    jobs: Option<Sender<(u64, SegmentEntries)>>,
    thread: Option<JoinHandle<()>>,
    progress: Arc<(Mutex<Progress>, Condvar)>,
}

impl Indexer {
    pub(crate) fn start(shared: Arc<Shared>) -> io::Result<Indexer> {
        let (jobs, queue) = channel();
        let progress = Arc::new((Mutex::new(Progress::default()), Condvar::new()));
        let thread = {
            let progress = progress.clone();
            std::thread::Builder::new()
                .name("spate-log-indexer".into())
                .spawn(move || index_segments(&shared, &queue, &progress))?
        };
        Ok(Indexer {
            jobs: Some(jobs),
            thread: Some(thread),
            progress,
        })
    }

    /// Hands over a finished segment: its entries in memory are complete.
    pub(crate) fn submit(&self, shared: &Shared, segment: u64) {
        let entries = entries_of(shared, segment);
        lock(&self.progress.0).in_flight += 1;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((segment, entries)).is_ok());
        if !sent {
            // The thread is gone: the segment stays unindexed (recovery will index it).
            lock(&self.progress.0).in_flight -= 1;
        }
    }

    /// Waits until everything handed over is written (or failed), and returns the segments
    /// written since the last call.
    pub(crate) fn wait(&self) -> Vec<u64> {
        let (state, changed) = &*self.progress;
        let mut p = lock(state);
        while p.in_flight > 0 {
            p = changed
                .wait(p)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        std::mem::take(&mut p.written)
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The indexer thread: writes the files it is given, in order, until the writer lets go.
fn index_segments(
    shared: &Shared,
    queue: &Receiver<(u64, SegmentEntries)>,
    progress: &(Mutex<Progress>, Condvar),
) {
    let mut failed = false;
    while let Ok((segment, entries)) = queue.recv() {
        // After a failure the log is poisoned: nothing more is made durable.
        if !failed {
            match write_index_file(shared, segment, &entries) {
                Ok(()) => lock(&progress.0).written.push(segment),
                Err(error) => {
                    tracing::error!(%error, segment, "writing a segment index failed; poisoning the log");
                    shared.poison();
                    failed = true;
                }
            }
        }
        drop(entries);
        lock(&progress.0).in_flight -= 1;
        progress.1.notify_all();
    }
}
