//! The bytes of a disk's most recent direct writes, kept in memory for the readers that
//! follow the journal's tip.
//!
//! A direct write leaves nothing in the page cache, so a reader of those bytes would go to
//! the device, and pay for new page-cache pages there, what the write saved (measured on
//! W3's catch-up: 2.2× the server's CPU per page on a first read). Readers that keep up
//! with the writer read them from here instead. Older bytes are read from the file as
//! before. This is the "tail cache" of DESIGN.md's read path.
//!
//! Only one file at a time is written directly (the journal's newest segment), so a write
//! to another file drops the first one's entries. The buffers of dropped entries are
//! reused for the next writes: fresh memory would cost a fault and zeroing per page.

use std::collections::VecDeque;
use std::fmt;
use std::sync::RwLock;

use crate::sync::{read, write};

/// The most bytes kept, and what the cache costs in memory once large writes have come.
/// At W2's ~570 MB/s of records, about 1/20 s of them: a subscriber keeps up within that;
/// a poller a second behind reads from the device.
pub(crate) const TAIL_CACHE_BYTES: usize = 32 << 20;
/// Dropped buffers kept for reuse.
const FREE_KEPT: usize = 2;

/// Recent direct writes, oldest first.
pub(crate) struct TailCache {
    budget: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    bytes: usize,
    free: Vec<AlignedBuf>,
}

impl Inner {
    /// Keeps a dropped entry's buffer for reuse, in place of a smaller one if as many are
    /// kept as may be. Groups vary in size (W2's from 0.7 to 6 MB), and one that fits no
    /// buffer kept gets fresh memory, which the allocator got from the kernel, a fault and
    /// a zeroed page per 4 KiB (10% of a durable W2 server's CPU when journal groups were
    /// first framed in these buffers and only the first two dropped were kept). None
    /// larger than `largest` is kept, so a rare huge group leaves no memory held for good.
    fn keep(&mut self, buf: AlignedBuf, largest: usize) {
        if buf.capacity() > largest {
            return;
        }
        if self.free.len() < FREE_KEPT {
            self.free.push(buf);
        } else if let Some(smallest) = self.free.iter_mut().min_by_key(|b| b.capacity())
            && smallest.capacity() < buf.capacity()
        {
            *smallest = buf;
        }
    }
}

struct Entry {
    file: u64,
    start: u64,
    buf: AlignedBuf,
}

impl Entry {
    fn end(&self) -> u64 {
        self.start + self.buf.len as u64
    }
}

/// A buffer whose bytes `[at, at + len)` start at an address aligned to `align`, as direct
/// reads and writes need.
#[derive(Default)]
pub(crate) struct AlignedBuf {
    vec: Vec<u8>,
    at: usize,
    len: usize,
}

impl AlignedBuf {
    /// The first `len` bytes, aligned, for writing into; what they hold is left over from
    /// an earlier use (or zeros).
    pub(crate) fn bytes_mut(&mut self, len: usize, align: usize) -> &mut [u8] {
        if self.vec.len() < len + align {
            self.vec.resize(len + align, 0);
        }
        self.at = self.vec.as_ptr().align_offset(align);
        self.len = len;
        &mut self.vec[self.at..self.at + len]
    }

    /// The bytes last asked for with [`AlignedBuf::bytes_mut`], or fewer.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.vec[self.at..self.at + self.len]
    }

    /// Keeps only the first `len` bytes as what the buffer holds.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Empties the buffer to be appended to ([`AlignedBuf::vec_mut`]): `head` bytes from an
    /// address aligned to `align` (where [`AlignedBuf::at`] then is), room for `room` bytes
    /// after them, and for padding those to the next boundary, all without moving it.
    pub(crate) fn start_append(&mut self, head: usize, room: usize, align: usize) {
        self.vec.clear();
        self.vec.reserve(head + room + 2 * align);
        self.at = self.vec.as_ptr().align_offset(align);
        self.vec.resize(self.at + head, 0);
        self.len = 0;
    }

    /// Where the aligned bytes start in [`AlignedBuf::vec_mut`].
    pub(crate) fn at(&self) -> usize {
        self.at
    }

    /// The bytes themselves, for appending to after [`AlignedBuf::start_append`].
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<u8> {
        &mut self.vec
    }

    /// The bytes themselves (see [`AlignedBuf::vec_mut`]).
    pub(crate) fn vec(&self) -> &[u8] {
        &self.vec
    }

    /// Makes the buffer hold `padded` bytes from [`AlignedBuf::at`], zeros after those
    /// appended, if it can without moving them and they still start aligned to `align` (an
    /// append past the room asked for moves them). Otherwise leaves it as it was.
    pub(crate) fn pad_in_place(&mut self, padded: usize, align: usize) -> bool {
        let fits = self.at + padded <= self.vec.capacity() && self.at + padded >= self.vec.len();
        if !fits || self.vec[self.at..].as_ptr().align_offset(align) != 0 {
            return false;
        }
        self.vec.resize(self.at + padded, 0);
        self.len = padded;
        true
    }

    fn capacity(&self) -> usize {
        self.vec.capacity()
    }
}

impl fmt::Debug for TailCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailCache")
            .field("bytes", &read(&self.inner).bytes)
            .finish()
    }
}

impl TailCache {
    pub(crate) fn new(budget: usize) -> TailCache {
        TailCache {
            budget,
            inner: RwLock::default(),
        }
    }

    /// The largest dropped buffer kept for reuse: a quarter of the budget (8 MiB, past
    /// W2's largest groups of ~6 MB).
    fn kept_max(&self) -> usize {
        self.budget / 4
    }

    /// A buffer to write `len` bytes from: the smallest of the dropped entries' that is
    /// large enough, if one is.
    pub(crate) fn take_buffer(&self, len: usize) -> AlignedBuf {
        let mut inner = write(&self.inner);
        let found = (inner.free.iter().enumerate())
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match found {
            Some(i) => inner.free.swap_remove(i),
            None => AlignedBuf::default(),
        }
    }

    /// Keeps `buf`'s bytes as `file`'s from offset `start`, dropping every other file's
    /// entries, then the oldest until the budget holds. A buffer larger than the budget is
    /// only kept for reuse.
    pub(crate) fn insert(&self, file: u64, start: u64, buf: AlignedBuf) {
        let mut inner = write(&self.inner);
        let inner = &mut *inner;
        let mut dropped = Vec::new();
        let entries = std::mem::take(&mut inner.entries);
        for entry in entries {
            if entry.file == file {
                inner.entries.push_back(entry);
            } else {
                inner.bytes -= entry.buf.len;
                dropped.push(entry.buf);
            }
        }
        inner.bytes += buf.len;
        inner.entries.push_back(Entry { file, start, buf });
        while inner.bytes > self.budget {
            let Some(oldest) = inner.entries.pop_front() else {
                break;
            };
            inner.bytes -= oldest.buf.len;
            dropped.push(oldest.buf);
        }
        for buf in dropped {
            inner.keep(buf, self.kept_max());
        }
    }

    /// Copies into `buf` the bytes of `file` from `offset` that the entries hold without a
    /// gap, and returns how many: 0 if none holds the byte at `offset`. Later entries win
    /// where they overlap earlier ones (a write starts again at the aligned boundary before
    /// the last one's end, with the same bytes up to it).
    pub(crate) fn read(&self, file: u64, offset: u64, buf: &mut [u8]) -> usize {
        let inner = read(&self.inner);
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let entries = &inner.entries;
            let Some(i) = entries
                .iter()
                .rposition(|e| e.file == file && e.start <= at && at < e.end())
            else {
                break;
            };
            let entry = &entries[i];
            // Up to its end, or to where a later entry starts.
            let until = entries
                .range(i + 1..)
                .filter(|e| e.file == file && e.start > at)
                .map(|e| e.start)
                .fold(entry.end(), u64::min);
            let from = (at - entry.start) as usize;
            let n = (buf.len() - done).min((until - at) as usize);
            buf[done..done + n].copy_from_slice(&entry.buf.bytes()[from..from + n]);
            done += n;
        }
        done
    }

    /// Forgets what `file`'s entries hold from `from` on, after a write there that did not
    /// come through here, or a truncation.
    pub(crate) fn forget_from(&self, file: u64, from: u64) {
        let mut inner = write(&self.inner);
        let inner = &mut *inner;
        if !inner
            .entries
            .iter()
            .any(|e| e.file == file && e.end() > from)
        {
            return;
        }
        let entries = std::mem::take(&mut inner.entries);
        for mut entry in entries {
            if entry.file != file || entry.end() <= from {
                inner.entries.push_back(entry);
            } else if entry.start < from {
                let before = entry.buf.len;
                entry.buf.truncate((from - entry.start) as usize);
                inner.bytes -= before - entry.buf.len;
                inner.entries.push_back(entry);
            } else {
                inner.bytes -= entry.buf.len;
                inner.keep(entry.buf, self.kept_max());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cache: &TailCache, file: u64, start: u64, bytes: &[u8]) {
        let mut buf = cache.take_buffer(bytes.len());
        buf.bytes_mut(bytes.len(), 64).copy_from_slice(bytes);
        cache.insert(file, start, buf);
    }

    #[test]
    fn reads_run_across_entries_and_stop_at_a_gap() {
        let cache = TailCache::new(1 << 20);
        entry(&cache, 1, 100, &[1; 50]);
        // Overlaps the first one's end, as the next direct write does.
        entry(&cache, 1, 140, &[2; 30]);
        let mut buf = [0; 100];
        assert_eq!(cache.read(1, 120, &mut buf), 50);
        assert_eq!(&buf[..20], &[1; 20]);
        assert_eq!(&buf[20..50], &[2; 30]);
        assert_eq!(cache.read(1, 99, &mut buf), 0);
        assert_eq!(cache.read(1, 170, &mut buf), 0);
        assert_eq!(cache.read(2, 120, &mut buf), 0);
    }

    #[test]
    fn the_budget_and_other_files_evict_and_buffers_are_reused() {
        let cache = TailCache::new(1_000);
        for i in 0..7 {
            entry(&cache, 1, i * 150, &[i as u8; 150]);
        }
        let mut buf = [0; 10];
        assert_eq!(cache.read(1, 0, &mut buf), 0, "the oldest went over budget");
        assert_eq!(cache.read(1, 150, &mut buf), 10);
        entry(&cache, 2, 0, &[3; 10]);
        assert_eq!(cache.read(1, 150, &mut buf), 0, "another file's write");
        assert_eq!(cache.read(2, 0, &mut buf), 10);
        let reused = cache.take_buffer(150);
        assert!(reused.capacity() >= 150);
        cache.forget_from(2, 5);
        assert_eq!(
            cache.read(2, 0, &mut buf),
            5,
            "what was before the write is kept"
        );
        cache.forget_from(2, 0);
        assert_eq!(cache.read(2, 0, &mut buf), 0);
        // A buffer over a quarter of the budget is dropped, not kept.
        entry(&cache, 3, 0, &[4; 400]);
        entry(&cache, 4, 0, &[5; 10]);
        assert_eq!(cache.take_buffer(400).capacity(), 0);
    }
}
