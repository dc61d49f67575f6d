//! The segment index file `index/<segment, 20 digits>.idx`: every shard's index entries for
//! one finished journal segment. A header, a directory of shards sorted by (stream, shard)
//! with where each one's entries start, a checksum, then the entries sorted by (shard,
//! counter). Written whole under a temporary name and renamed (see `finish.rs`), so a file
//! under its final name is complete; the checksums catch damage anyway. The byte layout is
//! in `docs/on-disk-format.md`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::crc::crc32c;
use crate::disk::{DiskFile, read_exact_at};
use crate::index::{ENTRY_BYTES, INDEX_DIR, IndexEntry};
use crate::journal::frame::u64_at;
use crate::types::ShardKey;

const MAGIC: &[u8; 8] = b"SPATEIDX";
const VERSION: u32 = 1;
/// magic, version u32, entries crc u32, segment u64, shard count u64, entry count u64.
const HEADER: u64 = 40;
const DIR_ENTRY: u64 = 32;

pub(crate) fn index_file_path(segment: u64) -> PathBuf {
    Path::new(INDEX_DIR).join(format!("{segment:020}.idx"))
}

/// The segment whose index file (or temporary file, `tmp`) `name` is.
pub(crate) fn parse_index_name(name: &str) -> Option<(u64, bool)> {
    let (digits, tmp) = match name.strip_suffix(".idx.tmp") {
        Some(d) => (d, true),
        None => (name.strip_suffix(".idx")?, false),
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(|id| (id, tmp))
}

/// The file's bytes for `shards`, which must be sorted by key, each with its entries in
/// counter order.
pub(crate) fn encode(segment: u64, shards: &[(ShardKey, &[IndexEntry])]) -> Vec<u8> {
    let total: usize = shards.iter().map(|(_, e)| e.len()).sum();
    let mut entries = Vec::with_capacity(total * ENTRY_BYTES as usize);
    for (_, es) in shards {
        for e in *es {
            e.encode(&mut entries);
        }
    }
    let dir_len = shards.len() * DIR_ENTRY as usize;
    let mut b = Vec::with_capacity(HEADER as usize + dir_len + 4 + entries.len());
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&crc32c(&entries).to_le_bytes());
    for v in [segment, shards.len() as u64, total as u64] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let mut first = 0u64;
    for (key, es) in shards {
        for v in [key.stream, u64::from(key.shard), first, es.len() as u64] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        first += es.len() as u64;
    }
    let crc = crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b.extend_from_slice(&entries);
    b
}

/// An open segment index file with its directory in memory (32 bytes per shard).
pub(crate) struct SegmentIndex {
    file: Arc<dyn DiskFile>,
    /// The file mapped, where the disk maps files: entries are then decoded from it, with
    /// no read call per lookup (a binary search makes ~17).
    mapped: Option<Bytes>,
    /// (shard, first entry, entry count), sorted by shard.
    directory: Vec<(ShardKey, u64, u64)>,
    /// Byte offset of the entry area.
    entries_at: u64,
    entry_count: u64,
}

impl SegmentIndex {
    /// Reads and checks the file of `segment` (see [`SegmentIndex::over`]).
    pub(crate) fn load(file: Arc<dyn DiskFile>, segment: u64) -> io::Result<SegmentIndex> {
        // Checked through the mapping the index keeps, where there is one, rather than read
        // into a buffer as well.
        if let Some(mapped) = file.map_finished() {
            return SegmentIndex::over(file, segment, &mapped);
        }
        let size = usize::try_from(file.size()?).map_err(io::Error::other)?;
        let mut bytes = vec![0; size];
        read_exact_at(file.as_ref(), 0, &mut bytes)?;
        SegmentIndex::over(file, segment, &bytes)
    }

    /// The index of `segment` in `file`, whose contents are `bytes`, after checking magic,
    /// version, segment id, size and both checksums.
    pub(crate) fn over(
        file: Arc<dyn DiskFile>,
        segment: u64,
        bytes: &[u8],
    ) -> io::Result<SegmentIndex> {
        let bad = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("index file of segment {segment}: {why}"),
            )
        };
        let size = bytes.len() as u64;
        if size < HEADER + 4 {
            return Err(bad(format!("{size} bytes")));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if &bytes[..8] != MAGIC || version != VERSION {
            return Err(bad("bad magic or version".into()));
        }
        let entries_crc = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        let (id, shards, entry_count) = (u64_at(bytes, 16), u64_at(bytes, 24), u64_at(bytes, 32));
        let entries_at = shards
            .checked_mul(DIR_ENTRY)
            .and_then(|d| d.checked_add(HEADER + 4))
            .filter(|at| *at <= size)
            .ok_or_else(|| bad(format!("{shards} shards in {size} bytes")))?;
        if id != segment || entry_count.checked_mul(ENTRY_BYTES) != Some(size - entries_at) {
            return Err(bad(format!(
                "names segment {id} with {entry_count} entries in {size} bytes"
            )));
        }
        let (head, entries) = bytes.split_at(entries_at as usize);
        let (body, crc) = head.split_at(head.len() - 4);
        if crc32c(body).to_le_bytes() != crc {
            return Err(bad("directory checksum mismatch".into()));
        }
        if crc32c(entries) != entries_crc {
            return Err(bad("entries checksum mismatch".into()));
        }
        let directory = body[HEADER as usize..]
            .chunks_exact(DIR_ENTRY as usize)
            .map(|d| {
                let shard = u32::try_from(u64_at(d, 8)).unwrap_or(u32::MAX);
                let key = ShardKey {
                    stream: u64_at(d, 0),
                    shard,
                };
                (key, u64_at(d, 16), u64_at(d, 24))
            })
            .collect();
        // Finished: written whole under another name, then renamed.
        let mapped = file.map_finished().filter(|m| m.len() as u64 >= size);
        Ok(SegmentIndex {
            file,
            mapped,
            directory,
            entries_at,
            entry_count,
        })
    }

    /// Where `shard`'s entries start in the entry area, and how many there are.
    pub(crate) fn lookup(&self, shard: ShardKey) -> Option<(u64, u64)> {
        let i = self
            .directory
            .binary_search_by_key(&shard, |(k, _, _)| *k)
            .ok()?;
        let (_, first, count) = self.directory[i];
        Some((first, count))
    }

    /// Entries `[from, from + n)` of the entry area.
    pub(crate) fn read_entries(&self, from: u64, n: u64) -> io::Result<Vec<IndexEntry>> {
        if from.saturating_add(n) > self.entry_count {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("index entries {from}+{n} of {}", self.entry_count),
            ));
        }
        let (at, len) = (self.entries_at + from * ENTRY_BYTES, n * ENTRY_BYTES);
        let decode = |bytes: &[u8]| {
            bytes
                .chunks_exact(ENTRY_BYTES as usize)
                .map(IndexEntry::decode)
                .collect()
        };
        if let Some(mapped) = &self.mapped {
            return Ok(decode(&mapped[at as usize..(at + len) as usize]));
        }
        let mut buf = vec![0; len as usize];
        read_exact_at(self.file.as_ref(), at, &mut buf)?;
        Ok(decode(&buf))
    }

    /// Entry `i` of the entry area.
    pub(crate) fn entry(&self, i: u64) -> io::Result<IndexEntry> {
        match &self.mapped {
            Some(mapped) if i < self.entry_count => {
                let at = (self.entries_at + i * ENTRY_BYTES) as usize;
                Ok(IndexEntry::decode(&mapped[at..at + ENTRY_BYTES as usize]))
            }
            _ => self
                .read_entries(i, 1)?
                .pop()
                .ok_or_else(|| io::Error::other("no index entry read")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::{Disk, MemoryDisk};

    #[test]
    fn loads_what_it_wrote_and_refuses_any_damage() {
        let key = |shard| ShardKey { stream: 3, shard };
        let e = |counter| IndexEntry {
            counter,
            arrival_ms: -(counter as i64),
            offset: 24 + counter * 50,
        };
        let (a, b) = (vec![e(0), e(1), e(2)], vec![e(7)]);
        let bytes = encode(9, &[(key(1), &a), (key(5), &b)]);
        assert_eq!(
            bytes.len() as u64,
            HEADER + 2 * DIR_ENTRY + 4 + 4 * ENTRY_BYTES
        );
        let disk = MemoryDisk::new();
        let put = |data: &[u8]| {
            let f = disk.open(Path::new("f"), true).unwrap();
            f.truncate(0).unwrap();
            f.append(data).unwrap();
            f
        };
        let index = SegmentIndex::load(put(&bytes), 9).unwrap();
        assert_eq!(index.lookup(key(1)), Some((0, 3)));
        assert_eq!(index.lookup(key(5)), Some((3, 1)));
        assert_eq!(index.lookup(key(2)), None);
        assert_eq!(index.read_entries(2, 2).unwrap(), vec![e(2), e(7)]);
        assert!(SegmentIndex::load(put(&bytes), 8).is_err());
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(
                SegmentIndex::load(put(&damaged), 9).is_err(),
                "flip at {at}"
            );
        }
        for len in 0..bytes.len() {
            assert!(
                SegmentIndex::load(put(&bytes[..len]), 9).is_err(),
                "cut at {len}"
            );
        }
        let empty = encode(4, &[]);
        assert_eq!(
            SegmentIndex::load(put(&empty), 4).unwrap().lookup(key(1)),
            None
        );
    }

    #[test]
    fn names_round_trip() {
        let name = index_file_path(42);
        let name = name.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_index_name(name), Some((42, false)));
        assert_eq!(parse_index_name(&format!("{name}.tmp")), Some((42, true)));
        assert_eq!(parse_index_name("00000000000000000001"), None);
        assert_eq!(parse_index_name("1.idx"), None);
    }
}
