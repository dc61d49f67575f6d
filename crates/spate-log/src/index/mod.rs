//! The index: for each shard, where its records live in the journal. Memory holds one
//! [`Chunk`] summary per (shard, segment). The entries themselves (counter, arrival time →
//! frame offset) stay in memory while their segment is being written, and once the writer
//! has moved on to the next segment they go into **one file per journal segment** holding
//! every shard's entries (`file.rs`, written by `finish.rs` on a thread of its own), after
//! which memory lets go of them. The journal is the source of truth: recovery rebuilds whatever a crash lost.
//!
//! - `file.rs`: the segment index file's bytes, and reading it back.
//! - `finish.rs`: writing a finished segment's index file, and the thread that does it.

mod file;
mod finish;

use std::io;
use std::sync::{Arc, RwLock};

use crate::journal::frame::u64_at;
use crate::sync::read;

pub(crate) use file::{SegmentIndex, index_file_path, parse_index_name};
pub(crate) use finish::{Indexer, entries_of, write_index_file};

pub(crate) const INDEX_DIR: &str = "index";
/// Size of one entry in a segment index file.
pub(crate) const ENTRY_BYTES: u64 = 24;

/// Where one record lives in its journal segment (which segment, the chunk says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub counter: u64,
    pub arrival_ms: i64,
    pub offset: u64,
}

impl IndexEntry {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.counter.to_le_bytes());
        out.extend_from_slice(&self.arrival_ms.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
    }

    fn decode(b: &[u8]) -> IndexEntry {
        IndexEntry {
            counter: u64_at(b, 0),
            arrival_ms: u64_at(b, 8) as i64,
            offset: u64_at(b, 16),
        }
    }
}

/// Summary of a shard's records within one journal segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub segment: u64,
    pub first_counter: u64,
    pub first_arrival: i64,
    pub last_counter: u64,
    pub last_arrival: i64,
    pub count: u64,
    /// Disk bytes these records take: their journal frames plus their index entries. What
    /// the stream's disk-usage metric adds up.
    pub bytes: u64,
}

impl Chunk {
    pub(crate) fn starting(segment: u64, e: &IndexEntry) -> Chunk {
        Chunk {
            segment,
            first_counter: e.counter,
            first_arrival: e.arrival_ms,
            last_counter: e.counter,
            last_arrival: e.arrival_ms,
            count: 0,
            bytes: 0,
        }
    }

    /// Adds a run of the shard's records, in counter order.
    pub(crate) fn extend(&mut self, run: ShardRun<'_>) {
        if let Some(last) = run.entries.last() {
            self.last_counter = last.counter;
            self.last_arrival = last.arrival_ms;
        }
        let n = run.entries.len() as u64;
        self.count += n;
        self.bytes += run.frame_bytes + n * ENTRY_BYTES;
    }
}

/// One shard's records from one write group (or recovery scan) of one segment.
#[derive(Debug, Default)]
pub(crate) struct ShardBatch {
    pub entries: Vec<IndexEntry>,
    /// The total length of their journal frames.
    pub frame_bytes: u64,
}

impl ShardBatch {
    pub(crate) fn push(&mut self, entry: IndexEntry, frame_len: usize) {
        self.entries.push(entry);
        self.frame_bytes += frame_len as u64;
    }

    pub(crate) fn run(&self) -> ShardRun<'_> {
        ShardRun {
            entries: &self.entries,
            frame_bytes: self.frame_bytes,
        }
    }
}

/// One shard's records from a write group or a recovery scan, as published: their index
/// entries in counter order and the total length of their journal frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShardRun<'a> {
    pub entries: &'a [IndexEntry],
    pub frame_bytes: u64,
}

/// One shard's entries in a segment whose index file is not written yet. Only the writer
/// appends; readers read the prefix their snapshot's chunk counts, so the lock is held only
/// to copy entries in or out.
pub(crate) type MemEntries = Arc<RwLock<Vec<IndexEntry>>>;

/// Where a chunk's entries can be read: memory, or its place in a segment index file.
pub(crate) enum Entries {
    Memory(MemEntries),
    File {
        index: Arc<SegmentIndex>,
        /// The shard's first entry within the file's entry area.
        first: u64,
    },
}

impl Entries {
    /// Entries `[from, from + n)` of the chunk.
    pub(crate) fn read(&self, from: u64, n: u64) -> io::Result<Vec<IndexEntry>> {
        match self {
            Entries::Memory(mem) => {
                let mem = read(mem);
                usize::try_from(from)
                    .ok()
                    .zip(usize::try_from(from + n).ok())
                    .and_then(|(a, b)| mem.get(a..b))
                    .map(<[IndexEntry]>::to_vec)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("index entries {from}+{n} of {} in memory", mem.len()),
                        )
                    })
            }
            Entries::File { index, first } => index.read_entries(first + from, n),
        }
    }

    /// The number of leading entries among the chunk's first `count` for which `before`
    /// holds (entries are sorted, so `before` must be monotone: true then false).
    pub(crate) fn partition_point(
        &self,
        count: u64,
        before: impl Fn(&IndexEntry) -> bool,
    ) -> io::Result<u64> {
        let (index, first) = match self {
            Entries::Memory(mem) => {
                let mem = read(mem);
                let end = usize::try_from(count).unwrap_or(usize::MAX).min(mem.len());
                return Ok(mem[..end].partition_point(before) as u64);
            }
            Entries::File { index, first } => (index, *first),
        };
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(&index.entry(first + mid)?) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::{Disk, MemoryDisk};
    use crate::types::ShardKey;

    #[test]
    fn binary_search_finds_counters_and_times_in_memory_and_in_files() {
        // Counters with gaps, arrival times with repeats.
        let entries: Vec<IndexEntry> = (0..100u64)
            .map(|i| IndexEntry {
                counter: i * 3 + 10,
                arrival_ms: (i / 4) as i64,
                offset: i,
            })
            .collect();
        let key = ShardKey {
            stream: 1,
            shard: 4,
        };
        let other = ShardKey {
            stream: 1,
            shard: 0,
        };
        let disk: Arc<dyn Disk> = Arc::new(MemoryDisk::new());
        let bytes = file::encode(5, &[(other, &entries[..7]), (key, &entries)]);
        let f = disk
            .open(std::path::Path::new("x"), true)
            .and_then(|f| f.append(&bytes).map(|()| f))
            .unwrap();
        let index = Arc::new(SegmentIndex::load(f, 5).unwrap());
        let (first, count) = index.lookup(key).unwrap();
        assert_eq!(count, 100);
        for source in [
            Entries::Memory(Arc::new(RwLock::new(entries.clone()))),
            Entries::File { index, first },
        ] {
            for target in 0..320u64 {
                let got = source.partition_point(100, |e| e.counter < target).unwrap();
                let want = entries.iter().filter(|e| e.counter < target).count() as u64;
                assert_eq!(got, want, "counter {target}");
            }
            for at in -1..30i64 {
                let got = source.partition_point(100, |e| e.arrival_ms < at).unwrap();
                let want = entries.iter().filter(|e| e.arrival_ms < at).count() as u64;
                assert_eq!(got, want, "arrival {at}");
            }
            assert_eq!(source.read(42, 2).unwrap(), entries[42..44].to_vec());
            assert!(source.read(99, 2).is_err());
        }
    }
}
