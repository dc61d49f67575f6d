//! The real filesystem.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::tail::{TAIL_CACHE_BYTES, TailCache};
use super::{DIRECT_ALIGN, DirectBuf, Disk, DiskFile};

/// Files under a root directory.
#[derive(Debug, Clone)]
pub struct RealDisk {
    root: PathBuf,
    /// The bytes of the latest direct writes, for readers at the journal's tip.
    tail: Arc<TailCache>,
    /// The filesystem refused `O_DIRECT` (tmpfs does, as do some others, or asked for a
    /// larger alignment): every read and write goes through the page cache from then on.
    direct_refused: Arc<AtomicBool>,
}

impl RealDisk {
    pub fn new(root: impl Into<PathBuf>) -> RealDisk {
        RealDisk {
            root: root.into(),
            tail: Arc::new(TailCache::new(TAIL_CACHE_BYTES)),
            direct_refused: Arc::default(),
        }
    }
}

/// Names open files in the tail cache.
static FILE_IDS: AtomicU64 = AtomicU64::new(0);

/// Linux's most bytes per `read` call (`MAX_RW_COUNT`).
const MAX_READ: usize = 0x7fff_f000;

struct RealFile {
    // Not in append mode: Linux ignores the offset of a positioned write to a file opened
    // with O_APPEND, and the journal overwrites zeros written ahead. Only one thread writes
    // a given file (the journal writer, the indexer, a checkpoint), so an append finds the
    // end first.
    file: File,
    /// Where the file is, to open it again for direct writes.
    path: PathBuf,
    /// The file mapped, once a reader asked for it (see [`DiskFile::map_finished`]).
    mapped: OnceLock<Option<Bytes>>,
    /// Its name in `tail`, which holds the bytes of its latest direct writes.
    id: u64,
    tail: Arc<TailCache>,
    /// Shared by the disk's files (see [`RealDisk`]).
    direct_refused: Arc<AtomicBool>,
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
            path: self.root.join(path),
            mapped: OnceLock::new(),
            id: FILE_IDS.fetch_add(1, Ordering::Relaxed),
            tail: self.tail.clone(),
            direct_refused: self.direct_refused.clone(),
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
        let cached = self.tail.read(self.id, offset, buf);
        if cached == buf.len() {
            return Ok(cached);
        }
        Ok(cached + self.read_file(offset + cached as u64, &mut buf[cached..])?)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        let end = self.file.metadata()?.len();
        self.tail.forget_from(self.id, end);
        self.file.write_all_at(data, end)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.tail.forget_from(self.id, offset);
        self.file.write_all_at(data, offset)
    }

    fn write_direct(&self, offset: u64, data: &[u8]) -> io::Result<u64> {
        if !self.direct_refused.load(Ordering::Relaxed) {
            let mut buf = self.direct_buffer(offset, data.len());
            buf.vec_mut().extend_from_slice(data);
            if let Ok(end) = self.write_laid_out(offset, buf)? {
                return Ok(end);
            }
        }
        self.write_at(offset, data)?;
        Ok(offset + data.len() as u64)
    }

    fn direct_buffer(&self, offset: u64, len: usize) -> DirectBuf {
        let align = DIRECT_ALIGN as usize;
        let head = (offset % DIRECT_ALIGN) as usize;
        let mut buf = self.tail.take_buffer(head + len + 2 * align);
        buf.start_append(head, len, align);
        DirectBuf::laid_out(buf, head)
    }

    fn write_direct_buf(&self, offset: u64, buf: DirectBuf) -> io::Result<u64> {
        match self.write_laid_out(offset, buf)? {
            Ok(end) => Ok(end),
            // Refused, or laid out for another offset or moved by appending past its room:
            // as a direct write of a copy, or a buffered one.
            Err(buf) => self.write_direct(offset, buf.appended()),
        }
    }

    fn read_direct(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if !self.direct_refused.load(Ordering::Relaxed)
            && let Some(n) = self.read_aligned(offset, buf)?
        {
            return Ok(n);
        }
        self.read_at(offset, buf)
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.tail.forget_from(self.id, len);
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

impl RealFile {
    /// Reads from the file itself (see [`DiskFile::read_at`]).
    fn read_file(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
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

    /// Writes the bytes appended to `buf` at `offset` through a descriptor opened with
    /// `O_DIRECT`, straight from `buf`: from the aligned boundary at or before `offset` (the
    /// bytes before `offset` written again, as they are) to the one after their end (zeros),
    /// and keeps what it wrote in the tail cache. Returns where that is, or `buf` back, with
    /// nothing written, if the filesystem refuses direct writes or `buf` cannot be written
    /// from as it is (see [`DirectBuf`]).
    fn write_laid_out(
        &self,
        offset: u64,
        mut buf: DirectBuf,
    ) -> io::Result<Result<u64, DirectBuf>> {
        let align = DIRECT_ALIGN as usize;
        let head = (offset % DIRECT_ALIGN) as usize;
        let len = buf.appended().len();
        if len == 0 {
            return Ok(Ok(offset));
        }
        let padded = (head + len).next_multiple_of(align);
        if self.direct_refused.load(Ordering::Relaxed) || !buf.pad(head, padded, align) {
            return Ok(Err(buf));
        }
        let Some(file) = self.open_direct(true)? else {
            return Ok(Err(buf));
        };
        let start = offset - head as u64;
        // The bytes before `offset` from the cache, where the last direct write left them,
        // or the page cache, where a buffered one did; zeros where the file ends before.
        let before = buf.head_mut(head);
        let n = self.read_at(start, before)?;
        before[n..].fill(0);
        // Whatever happens, the file may now hold new bytes from `start` on.
        self.tail.forget_from(self.id, start);
        if write_all_direct(&file, &self.file, buf.padded(), start)? {
            self.tail.insert(self.id, start, buf.into_aligned());
            Ok(Ok(start + padded as u64))
        } else {
            self.refuse::<()>(&io::Error::from_raw_os_error(libc::EINVAL));
            Ok(Err(buf))
        }
    }

    /// Reads into `buf` from `offset` through a descriptor opened with `O_DIRECT`, until
    /// `buf` is full or the file ends; `None`, with nothing read, if the filesystem refuses.
    fn read_aligned(&self, offset: u64, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let Some(file) = self.open_direct(false)? else {
            return Ok(None);
        };
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if done == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                    return Ok(self.refuse(&e));
                }
                Err(e) => return Err(e),
            }
            // Short of a whole block: the file ended.
            if !(done as u64).is_multiple_of(DIRECT_ALIGN) {
                break;
            }
        }
        Ok(Some(done))
    }

    /// The file opened again with `O_DIRECT`, for writing or for reading; `None` if the
    /// filesystem refuses it. Opened for each use rather than kept, so that finished
    /// segments hold one descriptor each, not two; a read or write this large costs far
    /// more than an `open`.
    fn open_direct(&self, write: bool) -> io::Result<Option<File>> {
        use std::os::unix::fs::OpenOptionsExt;
        match OpenOptions::new()
            .read(!write)
            .write(write)
            .custom_flags(libc::O_DIRECT)
            .open(&self.path)
        {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(self.refuse(&e)),
            Err(e) => Err(e),
        }
    }

    /// Remembers that the filesystem refused direct reads or writes, and says so.
    fn refuse<T>(&self, error: &io::Error) -> Option<T> {
        tracing::info!(%error, path = %self.path.display(),
            "direct reads and writes refused here; the journal goes through the page cache");
        self.direct_refused.store(true, Ordering::Relaxed);
        None
    }
}

/// Writes all of `aligned` at `start` through `direct`; `Ok(false)` if the first write was
/// refused as invalid (nothing written). A short write that leaves the rest unaligned is
/// finished through `buffered`.
fn write_all_direct(
    direct: &File,
    buffered: &File,
    aligned: &[u8],
    start: u64,
) -> io::Result<bool> {
    let mut done = 0;
    while done < aligned.len() {
        if !(done as u64).is_multiple_of(DIRECT_ALIGN) {
            buffered.write_all_at(&aligned[done..], start + done as u64)?;
            break;
        }
        match direct.write_at(&aligned[done..], start + done as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if done == 0 && e.raw_os_error() == Some(libc::EINVAL) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
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

    /// Direct writes at the end and elsewhere, mixed with buffered writes and truncations,
    /// to two files that share the tail cache, leave each as a model says: each write's
    /// data where it was written, the bytes before it as they were, zeros after it up to
    /// where it says the file now extends. Every read agrees, whole or from any offset,
    /// from the cache, the file, or both.
    #[test]
    fn direct_writes_mixed_with_buffered_ones_keep_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let disk = RealDisk {
            root: dir.path().to_path_buf(),
            // Small, so that entries are evicted too.
            tail: Arc::new(TailCache::new(48 << 10)),
            direct_refused: Arc::default(),
        };
        let files = [
            disk.open(Path::new("a"), true).unwrap(),
            disk.open(Path::new("b"), true).unwrap(),
        ];
        let mut models: [Vec<u8>; 2] = Default::default();
        let mut rng = 7;
        let mut padded = 0;
        for step in 0..400u64 {
            let r = crate::disk::crash::next_random(&mut rng);
            // Mostly the same file, as the journal's newest segment is.
            let which = usize::from(r.is_multiple_of(16));
            let (file, model) = (&files[which], &mut models[which]);
            let len = model.len() as u64;
            let data: Vec<u8> = (0..1 + (r >> 8) % 20_000)
                .map(|i| (step + i) as u8 | 1)
                .collect();
            match (r >> 4) % 10 {
                0..=5 => {
                    // Mostly at the end of the data, as the journal writes; sometimes
                    // before it.
                    let back = if (r >> 20).is_multiple_of(3) {
                        (r >> 24) % 9_000
                    } else {
                        0
                    };
                    let at = len.saturating_sub(back);
                    // From a copy, or framed in a buffer laid out for the write: for this
                    // offset, for another (written from a copy then), or with less room
                    // than was appended (moved, perhaps, and then copied too).
                    let end = match (r >> 40) % 4 {
                        0 => file.write_direct(at, &data).unwrap(),
                        how => {
                            let (laid_for, room) = match how {
                                1 => (at, data.len()),
                                2 => (at + 1 + (r >> 44) % 5_000, data.len()),
                                _ => (at, data.len() / 3),
                            };
                            let mut buf = file.direct_buffer(laid_for, room);
                            buf.vec_mut().extend_from_slice(&data);
                            file.write_direct_buf(at, buf).unwrap()
                        }
                    };
                    let data_end = at + data.len() as u64;
                    assert!(end == data_end || end == data_end.next_multiple_of(DIRECT_ALIGN));
                    padded += u64::from(end > data_end);
                    super::super::write_into(model, at, &data);
                    let zeros = vec![0; (end - data_end) as usize];
                    super::super::write_into(model, data_end, &zeros);
                }
                6..=7 => {
                    let at = (r >> 24) % (len + 100);
                    let data = &data[..data.len().min(300)];
                    file.write_at(at, data).unwrap();
                    super::super::write_into(model, at, data);
                }
                _ => {
                    let to = len - (r >> 24) % (len / 4 + 1);
                    file.truncate(to).unwrap();
                    model.truncate(to as usize);
                }
            }
            let model = &models[which];
            assert_eq!(file.size().unwrap(), model.len() as u64, "step {step}");
            let mut whole = vec![0xee; model.len() + 10];
            assert_eq!(
                file.read_at(0, &mut whole).unwrap(),
                model.len(),
                "step {step}"
            );
            assert!(
                whole[..model.len()] == model[..],
                "step {step}: contents differ"
            );
            let from = (r >> 32) as usize % (model.len() + 1);
            let mut part = vec![0xee; (r >> 48) as usize % 30_000];
            let n = file.read_at(from as u64, &mut part).unwrap();
            assert_eq!(n, part.len().min(model.len() - from), "step {step}");
            assert!(
                part[..n] == model[from..from + n],
                "step {step}: a part differs"
            );
            let from = from - from % DIRECT_ALIGN as usize;
            let mut aligned = super::super::AlignedBuf::default();
            let part = aligned.bytes_mut(3 * DIRECT_ALIGN as usize, DIRECT_ALIGN as usize);
            let n = file.read_direct(from as u64, part).unwrap();
            assert_eq!(n, part.len().min(model.len() - from), "step {step}");
            assert!(
                part[..n] == model[from..from + n],
                "step {step}: a direct read differs"
            );
        }
        // Where the filesystem takes direct writes (not tmpfs), they were made.
        use std::os::unix::fs::OpenOptionsExt;
        let direct = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(dir.path().join("a"))
            .is_ok();
        assert_eq!(padded > 0, direct);
    }
}
