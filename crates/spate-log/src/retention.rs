//! Reclaiming space: a journal segment is deleted, with its index file, once every stream
//! with records in it has either been dropped or had all of them expire. Runs on the writer
//! thread, so nothing is appended to a file while it is being deleted.

use std::path::Path;

use crate::error::LogError;
use crate::index::{INDEX_DIR, index_file_path};
use crate::journal::writer::Writer;
use crate::journal::{JOURNAL_DIR, segment_path};
use crate::sync::{lock, read, write};

impl Writer {
    pub(crate) fn enforce_retention(&mut self, now_ms: i64) -> Result<(), LogError> {
        if self.is_poisoned() {
            return Err(LogError::Poisoned);
        }
        self.settle_indexes();
        let retention = lock(&self.shared.retention).clone();
        let expired: Vec<u64> = self
            .segment_streams
            .iter()
            // A segment whose index file is still to be written is kept until it is.
            .filter(|(id, _)| **id != self.active.id && !self.unindexed.contains(id))
            .filter(|(_, streams)| {
                streams.iter().all(|(stream, newest)| {
                    self.dropped.contains(stream)
                        || retention.get(stream).is_some_and(|keep| {
                            let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
                            *newest < now_ms.saturating_sub(keep_ms)
                        })
                })
            })
            .map(|(id, _)| *id)
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        // Next counters must outlive the records that carried them.
        self.checkpoint()?;
        let result = self.delete_segments(&expired);
        if let Err(error) = &result {
            tracing::error!(%error, "deleting expired segments failed; poisoning the log");
            self.shared.poison();
        }
        result
    }

    fn delete_segments(&mut self, expired: &[u64]) -> Result<(), LogError> {
        let disk = self.shared.disk.clone();
        {
            let mut segments = write(&self.shared.segments);
            for id in expired {
                segments.remove(id);
            }
        }
        // Journal first, durably: a checkpointed chunk whose segment is gone is dropped on
        // recovery, but one whose segment exists must still have its index file. An index
        // file without its segment is deleted by recovery.
        for id in expired {
            disk.remove_file(&segment_path(*id))?;
            self.segment_streams.remove(id);
        }
        disk.sync_dir(Path::new(JOURNAL_DIR))?;
        {
            let mut indexes = write(&self.shared.segment_indexes);
            for id in expired {
                indexes.remove(id);
            }
        }
        for id in expired {
            match disk.remove_file(&index_file_path(*id)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        disk.sync_dir(Path::new(INDEX_DIR))?;
        for view in read(&self.shared.shards).values() {
            lock(&view.state)
                .chunks
                .retain(|c| !expired.contains(&c.segment));
        }
        tracing::debug!(segments = ?expired, "deleted expired journal segments");
        Ok(())
    }
}
