//! Reclaiming space: a journal segment is deleted, with its index files, once every stream
//! with records in it has either been dropped or had all of them expire. Runs on the writer
//! thread, so nothing is appended to a file while it is being deleted.

use std::path::Path;

use crate::error::LogError;
use crate::index::index_path;
use crate::journal::writer::Writer;
use crate::journal::{JOURNAL_DIR, segment_path};
use crate::sync::{lock, read, write};

impl Writer {
    pub(crate) fn enforce_retention(&mut self, now_ms: i64) -> Result<(), LogError> {
        if self.is_poisoned() {
            return Err(LogError::Poisoned);
        }
        let retention = lock(&self.shared.retention).clone();
        let expired: Vec<u64> = self
            .segment_streams
            .iter()
            .filter(|(id, _)| **id != self.active.id)
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
        // recovery, but one whose segment exists must still have its index file.
        for id in expired {
            disk.remove_file(&segment_path(*id))?;
            self.segment_streams.remove(id);
        }
        disk.sync_dir(Path::new(JOURNAL_DIR))?;
        let views: Vec<_> = read(&self.shared.shards)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (key, view) in views {
            let gone: Vec<u64> = {
                let mut st = lock(&view.state);
                let gone = st
                    .chunks
                    .iter()
                    .filter(|c| expired.contains(&c.segment))
                    .map(|c| c.segment)
                    .collect();
                st.chunks.retain(|c| !expired.contains(&c.segment));
                gone
            };
            for segment in gone {
                let path = index_path(key, segment);
                match disk.remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
                if let Some(dir) = path.parent() {
                    self.index.dirty_dirs.insert(dir.to_path_buf());
                }
            }
        }
        tracing::debug!(segments = ?expired, "deleted expired journal segments");
        Ok(())
    }
}
