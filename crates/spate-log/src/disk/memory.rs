//! A disk that is only memory, for `--in-memory` servers: nothing survives the process, and
//! syncing is free. Retention still deletes files, so memory stays bounded by it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::{Disk, DiskFile, children};
use crate::sync::{lock, read, write};

/// Files in a map; directories exist implicitly.
#[derive(Default)]
pub struct MemoryDisk {
    files: Mutex<BTreeMap<PathBuf, Arc<MemoryFile>>>,
}

impl MemoryDisk {
    pub fn new() -> MemoryDisk {
        MemoryDisk::default()
    }

    /// Total bytes held by all files (for tests of memory bounds).
    pub fn total_bytes(&self) -> u64 {
        lock(&self.files)
            .values()
            .map(|f| read(&f.data).len() as u64)
            .sum()
    }
}

#[derive(Default)]
struct MemoryFile {
    data: RwLock<Vec<u8>>,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl Disk for MemoryDisk {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
        let mut files = lock(&self.files);
        match files.get(path) {
            Some(file) => Ok(file.clone()),
            None if create => {
                let file = Arc::new(MemoryFile::default());
                files.insert(path.to_path_buf(), file.clone());
                Ok(file)
            }
            None => Err(not_found(path)),
        }
    }

    fn create_dir_all(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        Ok(children(lock(&self.files).iter(), path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut files = lock(&self.files);
        let file = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        lock(&self.files)
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        lock(&self.files).retain(|p, _| !p.starts_with(path));
        Ok(())
    }

    fn sync_dir(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
}

impl DiskFile for MemoryFile {
    fn size(&self) -> io::Result<u64> {
        Ok(read(&self.data).len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let data = read(&self.data);
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        write(&self.data).extend_from_slice(data);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        super::write_into(&mut write(&self.data), offset, data);
        Ok(())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        let mut data = write(&self.data);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        data.resize(len, 0);
        // Give memory back after retention-sized cuts; the in-memory mode promises bounded use.
        data.shrink_to_fit();
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
}
