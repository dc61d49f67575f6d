//! Per-shard indexes: for each shard and journal segment, a file of fixed 32-byte entries
//! `counter u64 | arrival_ms i64 | segment u64 | offset u64` (little-endian) in counter
//! order. Memory holds only one [`Chunk`] summary per (shard, segment); lookups binary-search
//! the chunks, then the file with positioned reads. Index files are synced only at
//! checkpoints; the journal is the source of truth and rebuilds whatever a crash lost.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::disk::{Disk, DiskFile, read_exact_at};
use crate::journal::frame::u64_at;
use crate::sync::lock;
use crate::types::ShardKey;

pub(crate) const INDEX_DIR: &str = "index";
pub(crate) const ENTRY_BYTES: u64 = 32;

/// Where one record lives in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub counter: u64,
    pub arrival_ms: i64,
    pub segment: u64,
    pub offset: u64,
}

impl IndexEntry {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.counter.to_le_bytes());
        out.extend_from_slice(&self.arrival_ms.to_le_bytes());
        out.extend_from_slice(&self.segment.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
    }

    fn decode(b: &[u8]) -> IndexEntry {
        IndexEntry {
            counter: u64_at(b, 0),
            arrival_ms: u64_at(b, 8) as i64,
            segment: u64_at(b, 16),
            offset: u64_at(b, 24),
        }
    }
}

/// Summary of one index file: a shard's records within one journal segment.
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
    pub(crate) fn starting(e: &IndexEntry) -> Chunk {
        Chunk {
            segment: e.segment,
            first_counter: e.counter,
            first_arrival: e.arrival_ms,
            last_counter: e.counter,
            last_arrival: e.arrival_ms,
            count: 0,
            bytes: 0,
        }
    }

    /// Adds a batch of the shard's records, in counter order.
    pub(crate) fn extend(&mut self, batch: &ShardBatch) {
        if let Some(last) = batch.entries.last() {
            self.last_counter = last.counter;
            self.last_arrival = last.arrival_ms;
        }
        let n = batch.entries.len() as u64;
        self.count += n;
        self.bytes += batch.frame_bytes + n * ENTRY_BYTES;
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
}

pub(crate) fn stream_dir(stream: u64) -> PathBuf {
    Path::new(INDEX_DIR).join(format!("{stream:020}"))
}

pub(crate) fn shard_dir(shard: ShardKey) -> PathBuf {
    stream_dir(shard.stream).join(format!("{:010}", shard.shard))
}

pub(crate) fn index_path(shard: ShardKey, segment: u64) -> PathBuf {
    shard_dir(shard).join(format!("{segment:020}.idx"))
}

/// Reads entries `[from, from + n)` of an index file.
pub(crate) fn read_entries(file: &dyn DiskFile, from: u64, n: u64) -> io::Result<Vec<IndexEntry>> {
    let mut buf = vec![0; (n * ENTRY_BYTES) as usize];
    read_exact_at(file, from * ENTRY_BYTES, &mut buf)?;
    Ok(buf
        .chunks_exact(ENTRY_BYTES as usize)
        .map(IndexEntry::decode)
        .collect())
}

/// The number of leading entries among the first `count` for which `before` holds (entries
/// are sorted, so `before` must be monotone: true then false).
pub(crate) fn partition_point(
    file: &dyn DiskFile,
    count: u64,
    before: impl Fn(&IndexEntry) -> bool,
) -> io::Result<u64> {
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let entry = read_entries(file, mid, 1)?;
        if entry.first().is_some_and(&before) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Appends are collected until this many bytes (128 entries) are pending.
const FLUSH_BYTES: usize = 4096;

/// An index file whose appends collect in memory and reach the file in blocks, so a group
/// commit touching hundreds of shards does not cost a `write` per shard. Reads see both
/// parts. Index files need no durability between checkpoints (recovery rebuilds them from
/// the journal), and syncing flushes first, so checkpoints stay exact.
pub(crate) struct BufferedFile {
    inner: Arc<dyn DiskFile>,
    pending: Mutex<Pending>,
}

struct Pending {
    /// Bytes already in `inner`.
    flushed: u64,
    buf: Vec<u8>,
}

impl BufferedFile {
    fn new(inner: Arc<dyn DiskFile>) -> io::Result<BufferedFile> {
        let flushed = inner.size()?;
        Ok(BufferedFile {
            inner,
            pending: Mutex::new(Pending {
                flushed,
                buf: Vec::new(),
            }),
        })
    }

    /// Writes whatever is pending to the file.
    pub(crate) fn flush(&self) -> io::Result<()> {
        Self::flush_locked(&self.inner, &mut lock(&self.pending))
    }

    fn flush_locked(inner: &Arc<dyn DiskFile>, p: &mut Pending) -> io::Result<()> {
        if !p.buf.is_empty() {
            inner.append(&p.buf)?;
            p.flushed += p.buf.len() as u64;
            p.buf.clear();
        }
        Ok(())
    }
}

impl DiskFile for BufferedFile {
    fn size(&self) -> io::Result<u64> {
        let p = lock(&self.pending);
        Ok(p.flushed + p.buf.len() as u64)
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> io::Result<usize> {
        let p = lock(&self.pending);
        let mut n = 0;
        if offset < p.flushed {
            let want = out.len().min((p.flushed - offset) as usize);
            n = self.inner.read_at(offset, &mut out[..want])?;
            if n < want {
                return Ok(n);
            }
        }
        let at = offset + n as u64;
        if let Some(rel) = at
            .checked_sub(p.flushed)
            .map(|rel| rel as usize)
            .filter(|rel| *rel < p.buf.len())
        {
            let m = (out.len() - n).min(p.buf.len() - rel);
            out[n..n + m].copy_from_slice(&p.buf[rel..rel + m]);
            n += m;
        }
        Ok(n)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        let mut p = lock(&self.pending);
        p.buf.extend_from_slice(data);
        if p.buf.len() >= FLUSH_BYTES {
            Self::flush_locked(&self.inner, &mut p)?;
        }
        Ok(())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        let mut p = lock(&self.pending);
        Self::flush_locked(&self.inner, &mut p)?;
        self.inner.truncate(len)?;
        p.flushed = len;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.flush()?;
        self.inner.sync_data()
    }
}

/// The writer's side: open index files for the active segment and what a checkpoint must
/// sync. Owned by the writer thread (and by recovery before it starts).
pub(crate) struct IndexFiles {
    disk: Arc<dyn Disk>,
    /// Per shard, the file for the segment being written; older ones are never appended to.
    open: HashMap<ShardKey, (u64, Arc<BufferedFile>)>,
    /// Files written since the last checkpoint.
    dirty_files: HashMap<(ShardKey, u64), Arc<BufferedFile>>,
    /// Directories whose entries changed since the last checkpoint.
    pub dirty_dirs: BTreeSet<PathBuf>,
}

impl IndexFiles {
    pub(crate) fn new(disk: Arc<dyn Disk>) -> IndexFiles {
        IndexFiles {
            disk,
            open: HashMap::new(),
            dirty_files: HashMap::new(),
            dirty_dirs: BTreeSet::new(),
        }
    }

    /// Appends entries (all of one segment) to the shard's index file for that segment;
    /// `new_chunk` says no entries of it are known, so any stale file left by a crash is
    /// emptied first. Returns the file, which readers may share.
    pub(crate) fn append(
        &mut self,
        shard: ShardKey,
        segment: u64,
        new_chunk: bool,
        entries: &[IndexEntry],
    ) -> io::Result<Arc<dyn DiskFile>> {
        let file = match self.open.get(&shard) {
            Some((seg, file)) if *seg == segment && !new_chunk => file.clone(),
            previous => {
                // Readers open an older segment's index from disk once it is no longer the
                // shard's active one: it must be whole there first.
                if let Some((_, old)) = previous {
                    old.flush()?;
                }
                let dir = shard_dir(shard);
                self.disk.create_dir_all(&dir)?;
                let file = Arc::new(BufferedFile::new(
                    self.disk.open(&index_path(shard, segment), true)?,
                )?);
                if new_chunk {
                    file.truncate(0)?;
                    self.dirty_dirs.insert(Path::new(INDEX_DIR).to_path_buf());
                    self.dirty_dirs.insert(stream_dir(shard.stream));
                    self.dirty_dirs.insert(dir);
                }
                self.open.insert(shard, (segment, file.clone()));
                file
            }
        };
        let mut buf = Vec::with_capacity(entries.len() * ENTRY_BYTES as usize);
        for e in entries {
            e.encode(&mut buf);
        }
        file.append(&buf)?;
        self.dirty_files.insert((shard, segment), file.clone());
        Ok(file)
    }

    /// Forgets a dropped stream's files (their contents no longer matter).
    pub(crate) fn forget_stream(&mut self, stream: u64) {
        self.open.retain(|k, _| k.stream != stream);
        self.dirty_files.retain(|(k, _), _| k.stream != stream);
    }

    /// Syncs every index file and directory changed since the last call.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        for file in self.dirty_files.values() {
            file.sync_data()?;
        }
        self.dirty_files.clear();
        // Deepest first, so a parent's entry is synced after its children exist durably.
        for dir in self.dirty_dirs.iter().rev() {
            match self.disk.sync_dir(dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        self.dirty_dirs.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::MemoryDisk;

    #[test]
    fn binary_search_finds_counters_and_times() {
        let disk: Arc<dyn Disk> = Arc::new(MemoryDisk::new());
        let mut files = IndexFiles::new(disk.clone());
        let key = ShardKey {
            stream: 1,
            shard: 0,
        };
        // Counters with gaps, arrival times with repeats.
        let entries: Vec<IndexEntry> = (0..100u64)
            .map(|i| IndexEntry {
                counter: i * 3 + 10,
                arrival_ms: (i / 4) as i64,
                segment: 5,
                offset: i,
            })
            .collect();
        let file = files.append(key, 5, true, &entries).unwrap();
        assert_eq!(file.size().unwrap(), 100 * ENTRY_BYTES);
        for target in 0..320u64 {
            let got = partition_point(file.as_ref(), 100, |e| e.counter < target).unwrap();
            let want = entries.iter().filter(|e| e.counter < target).count() as u64;
            assert_eq!(got, want, "counter {target}");
        }
        for at in -1..30i64 {
            let got = partition_point(file.as_ref(), 100, |e| e.arrival_ms < at).unwrap();
            let want = entries.iter().filter(|e| e.arrival_ms < at).count() as u64;
            assert_eq!(got, want, "arrival {at}");
        }
        assert_eq!(
            read_entries(file.as_ref(), 42, 2).unwrap(),
            entries[42..44].to_vec()
        );
    }

    #[test]
    fn a_new_chunk_empties_a_stale_file() {
        let disk: Arc<dyn Disk> = Arc::new(MemoryDisk::new());
        let key = ShardKey {
            stream: 1,
            shard: 0,
        };
        let stale = disk.open(&index_path(key, 2), true).unwrap();
        stale.append(&[0xAB; 40]).unwrap();
        let mut files = IndexFiles::new(disk.clone());
        let e = IndexEntry {
            counter: 1,
            arrival_ms: 1,
            segment: 2,
            offset: 24,
        };
        let file = files.append(key, 2, true, &[e]).unwrap();
        assert_eq!(read_entries(file.as_ref(), 0, 1).unwrap(), vec![e]);
        assert_eq!(file.size().unwrap(), ENTRY_BYTES);
    }

    #[test]
    fn buffered_reads_see_flushed_and_pending_bytes_alike() {
        let disk: Arc<dyn Disk> = Arc::new(MemoryDisk::new());
        let path = Path::new("f");
        let file = BufferedFile::new(disk.open(path, true).unwrap()).unwrap();
        let mut model = Vec::new();
        // Appends of odd sizes cross the flush threshold at varied points.
        for i in 0..400u32 {
            let data: Vec<u8> = (0..(i % 97) + 1).map(|j| (i * 7 + j) as u8).collect();
            file.append(&data).unwrap();
            model.extend_from_slice(&data);
            assert_eq!(file.size().unwrap(), model.len() as u64);
            let on_disk = disk.open(path, false).unwrap().size().unwrap();
            assert!(model.len() as u64 - on_disk < FLUSH_BYTES as u64);
            for (offset, len) in [
                (0, 10),
                (model.len().saturating_sub(50), 80),
                (i as usize * 31 % model.len(), 200),
            ] {
                let mut out = vec![0; len];
                let n = file.read_at(offset as u64, &mut out).unwrap();
                let want = &model[offset.min(model.len())..(offset + len).min(model.len())];
                assert_eq!(&out[..n], want, "read {len} at {offset} of {}", model.len());
            }
        }
        file.sync_data().unwrap();
        assert_eq!(
            disk.open(path, false).unwrap().size().unwrap(),
            model.len() as u64
        );
        file.append(b"tail").unwrap();
        file.truncate(10).unwrap();
        assert_eq!(file.size().unwrap(), 10);
        file.append(b"xy").unwrap();
        let mut out = [0; 12];
        assert_eq!(file.read_at(0, &mut out).unwrap(), 12);
        assert_eq!(&out[..10], &model[..10]);
        assert_eq!(&out[10..], b"xy");
    }
}
