//! Storage behind a trait, so the same log runs on a real filesystem, in memory, or on a
//! disk that can "lose power" in tests.
//!
//! Paths are relative to the disk's root. Durability follows POSIX: file contents are durable
//! after [`DiskFile::sync_data`], and a file's existence (creation, rename, removal) only
//! after [`Disk::sync_dir`] of its parent directory. [`CrashDisk`] enforces exactly that.

mod crash;
mod memory;
mod real;
mod tail;

pub(crate) use tail::AlignedBuf;

use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

pub use crash::CrashDisk;
pub use memory::MemoryDisk;
pub use real::RealDisk;

/// A directory tree of files.
pub trait Disk: Send + Sync + 'static {
    /// Opens a file for reading and appending; `create` makes it if missing, otherwise a
    /// missing file is `NotFound`. Parent directories must exist.
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>>;
    /// Creates a directory and its parents; existing ones are fine.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries directly under `path`; a missing directory has none.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file; a missing one is `NotFound`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory and everything under it; a missing one is fine.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes creations, renames and removals of entries directly under `path` durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Whether syncing a write into bytes the file already has is cheaper than syncing one
    /// that extends it, so the journal pays to write zeros ahead of its records (a real
    /// filesystem: no size or block allocation to commit). In memory it only costs.
    fn overwrite_syncs_cheaper(&self) -> bool {
        false
    }
}

/// An open file. Every file but the journal's newest segment only ever grows at its end;
/// that segment also overwrites the zeros written ahead of its records (see
/// `journal::writer`), and a torn write is detected by its frame checksums either way.
pub trait DiskFile: Send + Sync {
    /// Current length in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Reads at `offset` until `buf` is full or the file ends; returns the bytes read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// Appends all of `data` (a failure may leave a prefix of it written).
    fn append(&self, data: &[u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset`, growing the file (with zeros up to `offset`) if it
    /// ends before; a failure may leave a prefix of it written.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset`, past the page cache where the file can (`O_DIRECT`),
    /// and returns how far the file now extends: at least `offset + data.len()`, and up to
    /// the next [`DIRECT_ALIGN`] boundary, written as zeros, if direct writes pad to it.
    /// For large writes near the end of what was written, which no one is expected to read
    /// back at once: copying them into new page-cache pages cost more CPU than the rest
    /// of a write (see `journal::writer`). A failure may leave a prefix of it written.
    fn write_direct(&self, offset: u64, data: &[u8]) -> io::Result<u64> {
        self.write_at(offset, data)?;
        Ok(offset + data.len() as u64)
    }
    /// A buffer to append up to `len` bytes to (more only costs a copy), for
    /// [`DiskFile::write_direct_buf`] at `offset`.
    fn direct_buffer(&self, _offset: u64, len: usize) -> DirectBuf {
        DirectBuf::with_capacity(len)
    }
    /// As [`DiskFile::write_direct`] of the bytes appended to `buf`, which
    /// [`DiskFile::direct_buffer`] made for this `offset`: where the file writes directly,
    /// straight from `buf`, which is laid out for it, instead of from a copy.
    fn write_direct_buf(&self, offset: u64, buf: DirectBuf) -> io::Result<u64> {
        self.write_direct(offset, buf.appended())
    }
    /// Reads as [`DiskFile::read_at`] does, past the page cache where the file can
    /// (`O_DIRECT`). `offset`, `buf`'s address and its length are multiples of
    /// [`DIRECT_ALIGN`]. For reading a lot once (recovery's replay): through the page
    /// cache, each page read also costs a new page there (on this machine, 1.6 GB/s read
    /// directly against 0.5 GB/s through it).
    fn read_direct(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.read_at(offset, buf)
    }
    /// Cuts the file to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Makes the contents durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Starts writing `[offset, offset + len)` to the device without waiting for it, so a
    /// later [`DiskFile::sync_data`] finds little left to write. Durability is unchanged:
    /// only `sync_data` promises anything. Nothing to do where there is no device.
    fn start_writeback(&self, _offset: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// The whole file as bytes mapped from it, so reads slice it instead of copying it out
    /// of the page cache; `None` where there is no such view (files in memory) or it could
    /// not be made. Only for a file that is never written or truncated again, a finished
    /// journal segment: the view is made once and reused, and its length is the file's
    /// at that moment.
    fn map_finished(&self) -> Option<Bytes> {
        None
    }
}

/// Bytes to write at one offset, appended where [`DiskFile::direct_buffer`] left room for
/// them: on a real disk, after the bytes of the block before them, from an aligned address,
/// so that a direct write can go from this buffer as it is.
#[derive(Default)]
pub struct DirectBuf {
    buf: AlignedBuf,
    /// Where the appended bytes start in `buf`'s vector.
    start: usize,
    /// Where they end, once padded for writing ([`DirectBuf::pad`]); until then, at the
    /// vector's end.
    end: Option<usize>,
}

impl DirectBuf {
    fn with_capacity(len: usize) -> DirectBuf {
        let mut buf = AlignedBuf::default();
        buf.start_append(0, len, 1);
        DirectBuf::laid_out(buf, 0)
    }

    /// For appending to `buf` after [`AlignedBuf::start_append`] with `head`.
    pub(crate) fn laid_out(buf: AlignedBuf, head: usize) -> DirectBuf {
        DirectBuf {
            start: buf.at() + head,
            buf,
            end: None,
        }
    }

    /// What to append to. Positions in it count from [`DirectBuf::start`].
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<u8> {
        self.buf.vec_mut()
    }

    /// All of [`DirectBuf::vec_mut`].
    pub(crate) fn vec(&self) -> &[u8] {
        self.buf.vec()
    }

    /// Where the appended bytes start in [`DirectBuf::vec_mut`].
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The bytes appended.
    pub(crate) fn appended(&self) -> &[u8] {
        let vec = self.buf.vec();
        &vec[self.start..self.end.unwrap_or(vec.len())]
    }

    /// Readies the buffer to be written from: `head` bytes before those appended and zeros
    /// after them, `padded` in all, from an address aligned to `align`. `false`, with the
    /// buffer unchanged, if it was not laid out for this `head`, or appending past its
    /// room moved it.
    pub(crate) fn pad(&mut self, head: usize, padded: usize, align: usize) -> bool {
        let end = self.buf.vec().len();
        let ready = self.start == self.buf.at() + head && self.buf.pad_in_place(padded, align);
        if ready {
            self.end = Some(end);
        }
        ready
    }

    /// The `head` bytes before those appended, to fill in once [`DirectBuf::pad`]ded.
    pub(crate) fn head_mut(&mut self, head: usize) -> &mut [u8] {
        let start = self.start;
        &mut self.buf.vec_mut()[start - head..start]
    }

    /// The padded bytes to write.
    pub(crate) fn padded(&self) -> &[u8] {
        self.buf.bytes()
    }

    pub(crate) fn into_aligned(self) -> AlignedBuf {
        self.buf
    }
}

/// The offsets and lengths of direct writes, and the address of their buffers, are
/// multiples of this: the page size, and every common device's logical block size or a
/// multiple of it.
pub const DIRECT_ALIGN: u64 = 4096;

/// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
pub(crate) fn read_exact_at(file: &dyn DiskFile, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let n = file.read_at(offset, buf)?;
    if n < buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("short read: {n} of {} bytes at offset {offset}", buf.len()),
        ));
    }
    Ok(())
}

/// Writes `data` at `offset` of an in-memory file, growing it with zeros as a sparse real
/// file would.
pub(crate) fn write_into(file: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = usize::try_from(offset).expect("an in-memory file fits in memory");
    let end = start + data.len();
    if file.len() < end {
        file.resize(end, 0);
    }
    file[start..end].copy_from_slice(data);
}

/// The entries of a path-keyed map directly under `dir`, for the in-memory disks whose
/// directories exist only implicitly, as prefixes of file paths.
pub(crate) fn children<'a, V>(
    files: impl Iterator<Item = (&'a std::path::PathBuf, V)>,
    dir: &Path,
) -> Vec<String> {
    let mut names: Vec<String> = files
        .filter_map(|(path, _)| path.strip_prefix(dir).ok())
        .filter_map(|rest| rest.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}
