//! Reading: binary-search a shard's chunk list, then the chunk's entries (in memory for the
//! newest segments, else in the segment's index file), then read the records from the
//! journal, a run of adjacent frames per read. Only committed records are visible: a reader
//! works from a snapshot of the shard's chunk list, which the writer extends only after a
//! group is durable.

use std::sync::Arc;

use crate::error::LogError;
use crate::index::{Entries, SegmentIndex, index_file_path};
use crate::journal::reader::RecordReader;
use crate::log::Log;
use crate::state::ShardIndexState;
use crate::sync::{lock, read, write};
use crate::types::{ReadBatch, ShardKey, ShardState, ShardTip};

/// Index entries fetched per positioned read.
const ENTRIES_PER_READ: u64 = 512;

impl Log {
    /// Up to `max_records` committed records of `shard` with counter >= `from_counter` and
    /// arrival >= `not_before_ms`, stopping before `max_bytes` of keys and data would be
    /// exceeded, but always returning at least one record if one is available.
    pub fn read(
        &self,
        shard: ShardKey,
        from_counter: u64,
        not_before_ms: i64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<ReadBatch, LogError> {
        let snap = self.snapshot(shard)?;
        if max_records == 0 || from_counter >= snap.committed_next {
            return Ok(ReadBatch {
                records: Vec::new(),
                next_counter: from_counter,
            });
        }
        // Room for every record the request can get, so a 10,000-record page never regrows
        // (and copies) its vector.
        let available = usize::try_from(snap.committed_next - from_counter).unwrap_or(usize::MAX);
        let mut records = Vec::with_capacity(max_records.min(available));
        let mut bytes = 0;
        let first = snap
            .chunks
            .partition_point(|c| c.last_counter < from_counter);
        'chunks: for chunk in &snap.chunks[first..] {
            if chunk.last_arrival < not_before_ms {
                continue;
            }
            let Some(entries) = self.entries_of(&snap, shard, chunk.segment)? else {
                continue;
            };
            let Some(journal) = read(&self.shared().segments).get(&chunk.segment).cloned() else {
                continue;
            };
            let mut pos = 0;
            if chunk.first_counter < from_counter {
                pos = entries.partition_point(chunk.count, |e| e.counter < from_counter)?;
            }
            if chunk.first_arrival < not_before_ms {
                let fresh =
                    entries.partition_point(chunk.count, |e| e.arrival_ms < not_before_ms)?;
                pos = pos.max(fresh);
            }
            // Entries in an index file: the segment is finished, never written again.
            let mapped = match entries {
                Entries::File { .. } => journal.map_finished(),
                Entries::Memory(_) => None,
            };
            let mut reader =
                RecordReader::new(journal.as_ref(), mapped, shard, &self.shared().windows);
            while pos < chunk.count {
                let n = (chunk.count - pos)
                    .min(ENTRIES_PER_READ)
                    .min((max_records - records.len()) as u64);
                // One entry more when there is one: its offset bounds the last frame wanted.
                let ahead = u64::from(pos + n < chunk.count);
                let batch = entries.read(pos, n + ahead)?;
                for i in 0..n as usize {
                    let record = reader.read(&batch[i..], max_bytes.saturating_sub(bytes))?;
                    let size = record.stored_len();
                    if !records.is_empty() && bytes + size > max_bytes {
                        break 'chunks;
                    }
                    bytes += size;
                    records.push(record);
                    if records.len() >= max_records || bytes >= max_bytes {
                        break 'chunks;
                    }
                }
                pos += n;
            }
        }
        // Nothing returned although `from_counter` is below the committed end: everything
        // from there on has expired, so the next read may as well start at the end.
        let next_counter = records
            .last()
            .map_or(snap.committed_next, |r| r.counter + 1);
        Ok(ReadBatch {
            records,
            next_counter,
        })
    }

    /// The counter of the first committed record with arrival >= `at_ms`, or the committed
    /// next counter if there is none.
    pub fn seek_time(&self, shard: ShardKey, at_ms: i64) -> Result<u64, LogError> {
        let snap = self.snapshot(shard)?;
        self.seek_in(&snap, shard, at_ms)
    }

    /// The shard's committed extent, counting only records with arrival >= `not_before_ms`
    /// as retained.
    pub fn shard_state(&self, shard: ShardKey, not_before_ms: i64) -> Result<ShardState, LogError> {
        let snap = self.snapshot(shard)?;
        Ok(ShardState {
            next_counter: snap.committed_next,
            last_arrival_ms: snap.last_arrival,
            first_counter: self.seek_in(&snap, shard, not_before_ms)?,
        })
    }

    /// Where the shard's committed records end: [`Log::shard_state`] without the search for
    /// the oldest retained record, for readers that only ask whether they caught up.
    pub fn shard_tip(&self, shard: ShardKey) -> Result<ShardTip, LogError> {
        let view = read(&self.shared().shards)
            .get(&shard)
            .cloned()
            .ok_or(LogError::UnknownShard(shard))?;
        let state = lock(&view.state);
        Ok(ShardTip {
            next_counter: state.committed_next,
            last_arrival_ms: state.last_arrival,
        })
    }

    fn seek_in(
        &self,
        snap: &ShardIndexState,
        shard: ShardKey,
        at_ms: i64,
    ) -> Result<u64, LogError> {
        let first = snap.chunks.partition_point(|c| c.last_arrival < at_ms);
        for chunk in &snap.chunks[first..] {
            let Some(entries) = self.entries_of(snap, shard, chunk.segment)? else {
                continue;
            };
            let pos = entries.partition_point(chunk.count, |e| e.arrival_ms < at_ms)?;
            if pos < chunk.count
                && let Some(e) = entries.read(pos, 1)?.first()
            {
                return Ok(e.counter);
            }
        }
        Ok(snap.committed_next)
    }

    fn snapshot(&self, shard: ShardKey) -> Result<ShardIndexState, LogError> {
        let view = read(&self.shared().shards)
            .get(&shard)
            .cloned()
            .ok_or(LogError::UnknownShard(shard))?;
        let snap = lock(&view.state).clone();
        Ok(snap)
    }

    /// The entries of one chunk; `None` if retention deleted its segment since the snapshot.
    fn entries_of(
        &self,
        snap: &ShardIndexState,
        shard: ShardKey,
        segment: u64,
    ) -> Result<Option<Entries>, LogError> {
        if let Some((_, mem)) = snap.recent.iter().find(|(s, _)| *s == segment) {
            return Ok(Some(Entries::Memory(mem.clone())));
        }
        let Some(index) = self.segment_index(segment)? else {
            return Ok(None);
        };
        match index.lookup(shard) {
            Some((first, _)) => Ok(Some(Entries::File { index, first })),
            None => Err(LogError::Corrupt(format!(
                "index file of segment {segment} lacks {shard:?}"
            ))),
        }
    }

    /// The segment's index file, opened once and then shared; `None` if retention deleted
    /// it (a segment without one is never read from disk: its entries are in memory).
    fn segment_index(&self, segment: u64) -> Result<Option<Arc<SegmentIndex>>, LogError> {
        let shared = self.shared();
        if let Some(index) = read(&shared.segment_indexes).get(&segment) {
            return Ok(Some(index.clone()));
        }
        let file = match shared.disk.open(&index_file_path(segment), false) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let index = Arc::new(
            SegmentIndex::load(file, segment).map_err(|e| LogError::Corrupt(e.to_string()))?,
        );
        let mut cache = write(&shared.segment_indexes);
        // Retention removes the segment before the cached file, so a file opened while it
        // deleted them is not cached for good.
        if read(&shared.segments).contains_key(&segment) {
            cache.entry(segment).or_insert_with(|| index.clone());
        }
        Ok(Some(index))
    }
}
