//! Storage behind a trait, so the same log runs on a real filesystem, in memory, or on a
//! disk that can "lose power" in tests.
//!
//! Paths are relative to the disk's root. Durability follows POSIX: file contents are durable
//! after [`DiskFile::sync_data`], and a file's existence (creation, rename, removal) only
//! after [`Disk::sync_dir`] of its parent directory. [`CrashDisk`] enforces exactly that.

mod crash;
mod memory;
mod real;

use std::io;
use std::path::Path;
use std::sync::Arc;

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
}

/// An open file. Writes only ever append, which is all the log needs and what makes a torn
/// write detectable.
pub trait DiskFile: Send + Sync {
    /// Current length in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Reads at `offset` until `buf` is full or the file ends; returns the bytes read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// Appends all of `data` (a failure may leave a prefix of it written).
    fn append(&self, data: &[u8]) -> io::Result<()>;
    /// Cuts the file to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Makes the contents durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
}

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
