//! Writing a finished segment's index file. The writer thread does it after acknowledging
//! the group that rolled the journal over, so no append waits for it; until the file is
//! durable, readers keep using the entries in memory, and checkpoints keep saying that
//! recovery must re-index the segment from the journal.
//!
//! One file per segment however many shards wrote to it: creating a file per shard per
//! segment is what made many-shard streams slow (see `docs/operations.md`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::LogError;
use crate::index::{INDEX_DIR, IndexEntry, MemEntries, SegmentIndex, file, index_file_path};
use crate::journal::writer::Writer;
use crate::sync::{lock, read, write};
use crate::types::ShardKey;

pub(crate) fn index_tmp_path(segment: u64) -> PathBuf {
    let mut path = index_file_path(segment).into_os_string();
    path.push(".tmp");
    path.into()
}

impl Writer {
    /// Writes the index file of every finished segment that has none yet, oldest first.
    /// A failure poisons the log: what is in memory could no longer be let go of.
    pub(crate) fn write_finished_indexes(&mut self) -> Result<(), LogError> {
        while let Some(&segment) = self.unindexed.first() {
            if self.is_poisoned() {
                return Err(LogError::Poisoned);
            }
            if let Err(error) = self.write_segment_index(segment) {
                tracing::error!(%error, segment, "writing a segment index failed; poisoning the log");
                self.shared.poison();
                return Err(error);
            }
            self.unindexed.remove(&segment);
        }
        Ok(())
    }

    /// Writes `segment`'s index file from the entries in memory (temporary name, sync,
    /// rename, sync of the directory), then points readers at it and frees the entries.
    pub(crate) fn write_segment_index(&mut self, segment: u64) -> Result<(), LogError> {
        let views: Vec<_> = read(&self.shared.shards)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let mut shards: Vec<(ShardKey, MemEntries)> = views
            .iter()
            .filter_map(|(key, view)| {
                let st = lock(&view.state);
                let (_, mem) = st.recent.iter().find(|(s, _)| *s == segment)?;
                Some((*key, mem.clone()))
            })
            .collect();
        shards.sort_unstable_by_key(|(key, _)| *key);
        let bytes = {
            let held: Vec<_> = shards.iter().map(|(key, mem)| (*key, read(mem))).collect();
            let slices: Vec<(ShardKey, &[IndexEntry])> = held
                .iter()
                .map(|(key, entries)| (*key, entries.as_slice()))
                .collect();
            file::encode(segment, &slices)
        };
        let disk = self.shared.disk.clone();
        let (tmp, path) = (index_tmp_path(segment), index_file_path(segment));
        let f = disk.open(&tmp, true)?;
        f.truncate(0)?;
        f.append(&bytes)?;
        f.sync_data()?;
        disk.rename(&tmp, &path)?;
        disk.sync_dir(Path::new(INDEX_DIR))?;
        // Read back through the checks any reader would make.
        let index = Arc::new(SegmentIndex::load(disk.open(&path, false)?, segment)?);
        write(&self.shared.segment_indexes).insert(segment, index);
        // Readers that took their snapshot before this keep their own reference.
        for (_, view) in views {
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
}
