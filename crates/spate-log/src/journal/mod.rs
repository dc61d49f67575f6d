//! The write-ahead journal: one per node, in numbered segment files, that every shard's
//! records go through.
//!
//! - `frame`: how one entry is laid out and checked.
//! - `writer`: the group-commit thread, the only code that appends.
//! - `syncer`: the thread that syncs the journal for it in `Fsync` mode.
//! - `reader`: reading one record back, and scanning a segment.
//! - `recovery`: turning whatever a crash left into a consistent log.
//! - `windows`: read buffers reused once no record read into them is alive.

pub(crate) mod frame;
pub(crate) mod reader;
pub(crate) mod recovery;
pub(crate) mod syncer;
pub(crate) mod windows;
pub(crate) mod writer;

use std::io;
use std::path::{Path, PathBuf};

use crate::crc::crc32c;
use crate::disk::{Disk, DiskFile, read_exact_at};

pub(crate) const JOURNAL_DIR: &str = "journal";
const MAGIC: &[u8; 8] = b"SPATEJNL";
const VERSION: u32 = 1;
/// magic, version u32, segment id u64, crc32c u32 of the preceding 20 bytes.
pub(crate) const SEGMENT_HEADER: u64 = 24;

pub(crate) fn segment_path(id: u64) -> PathBuf {
    Path::new(JOURNAL_DIR).join(format!("{id:020}.log"))
}

/// The segment id named by a journal file name, if it is one of ours.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(crate) fn segment_header(id: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(SEGMENT_HEADER as usize);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&id.to_le_bytes());
    let crc = crc32c(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Whether the segment starts with its own intact header.
pub(crate) fn header_is_valid(file: &dyn DiskFile, id: u64) -> io::Result<bool> {
    if file.size()? < SEGMENT_HEADER {
        return Ok(false);
    }
    let mut h = [0; SEGMENT_HEADER as usize];
    read_exact_at(file, 0, &mut h)?;
    Ok(h[..] == segment_header(id)[..])
}

/// Creates (or re-creates) segment `id` holding only its header, durably: contents synced,
/// then the directory entry, so a group committed into it can never lose its file.
pub(crate) fn create_segment(disk: &dyn Disk, id: u64) -> io::Result<std::sync::Arc<dyn DiskFile>> {
    let file = disk.open(&segment_path(id), true)?;
    file.truncate(0)?;
    file.append(&segment_header(id))?;
    file.sync_data()?;
    disk.sync_dir(Path::new(JOURNAL_DIR))?;
    Ok(file)
}

/// A position in the journal: the byte `offset` within segment `segment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub segment: u64,
    pub offset: u64,
}
