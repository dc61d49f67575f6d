//! The real filesystem.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::{Disk, DiskFile};

/// Files under a root directory.
#[derive(Debug, Clone)]
pub struct RealDisk {
    root: PathBuf,
}

impl RealDisk {
    pub fn new(root: impl Into<PathBuf>) -> RealDisk {
        RealDisk { root: root.into() }
    }
}

/// Linux's most bytes per `read` call (`MAX_RW_COUNT`).
const MAX_READ: usize = 0x7fff_f000;

struct RealFile {
    // Not in append mode: Linux ignores the offset of a positioned write to a file opened
    // with O_APPEND, and the journal overwrites zeros written ahead. Only one thread writes
    // a given file (the journal writer, the indexer, a checkpoint), so an append finds the
    // end first.
    file: File,
    /// The file mapped, once a reader asked for it (see [`DiskFile::map_finished`]).
    mapped: OnceLock<Option<Bytes>>,
}

impl Disk for RealDisk {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .open(self.root.join(path))?;
        Ok(Arc::new(RealFile {
            file,
            mapped: OnceLock::new(),
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(self.root.join(path))
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(self.root.join(path)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(self.root.join(from), self.root.join(to))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(self.root.join(path))
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_dir_all(self.root.join(path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(self.root.join(path))?.sync_all()
    }

    fn overwrite_syncs_cheaper(&self) -> bool {
        true
    }
}

impl DiskFile for RealFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let asked = buf.len() - done;
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                // A regular file reads short only where it ends (or past Linux's cap of
                // just under 2 GiB per call): stopping there spares every read at the
                // journal's tip (a caught-up subscriber's or poller's) a second call
                // that would return nothing.
                Ok(n) if n < asked && asked < MAX_READ => {
                    done += n;
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        let end = self.file.metadata()?.len();
        self.file.write_all_at(data, end)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn start_writeback(&self, offset: u64, len: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return Ok(());
        };
        // SAFETY: plain integers and a file descriptor this file owns; no pointers.
        let rc = unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                offset,
                len,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn map_finished(&self) -> Option<Bytes> {
        self.mapped
            .get_or_init(|| match map(&self.file) {
                Ok(mapped) => Some(Bytes::from_owner(mapped)),
                Err(error) => {
                    tracing::warn!(%error, "could not map a finished log file; reading it instead");
                    None
                }
            })
            .clone()
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is only asked for files nothing writes or truncates any more
    // (`map_finished`), so its bytes never change under the slices made of it. A file cut
    // short behind the server's back would make reading past its new end fault (SIGBUS)
    // instead of failing a read: docs/operations.md warns against editing the data directory.
    unsafe { memmap2::Mmap::map(file) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let disk = RealDisk::new(dir.path());
        let file = disk.open(Path::new("f"), true).unwrap();
        file.append(b"0123456789").unwrap();
        let mut buf = [0u8; 4096];
        assert_eq!(file.read_at(4, &mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"456789");
        assert_eq!(file.read_at(10, &mut buf).unwrap(), 0);
        assert_eq!(file.read_at(99, &mut buf).unwrap(), 0);
        let mut exact = [0u8; 10];
        assert_eq!(file.read_at(0, &mut exact).unwrap(), 10);
        assert_eq!(&exact, b"0123456789");
    }

    #[test]
    fn writeback_can_be_started_over_any_range() {
        let dir = tempfile::tempdir().unwrap();
        let file = RealDisk::new(dir.path())
            .open(Path::new("f"), true)
            .unwrap();
        file.append(&[7; 10_000]).unwrap();
        file.start_writeback(0, 8_192).unwrap();
        file.start_writeback(8_192, 1 << 30).unwrap();
        file.sync_data().unwrap();
        assert_eq!(file.size().unwrap(), 10_000);
    }
}
