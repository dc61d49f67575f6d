//! Reading the journal: records at offsets an index gives (the read path), or every entry of
//! a segment in order (recovery).

use std::io;

use bytes::Bytes;
use bytes_utils::Str;

use crate::disk::{AlignedBuf, DIRECT_ALIGN, DiskFile};
use crate::error::LogError;
use crate::index::IndexEntry;
use crate::journal::frame::{self, Decoded, Entry, FRAME_HEADER};
use crate::journal::windows::WindowPool;
use crate::types::{SealedPayload, ShardKey, StoredRecord};

/// A window read when nothing says more of it is wanted: most frames fit, so one read
/// usually holds the whole frame. Windows this small are pooled too.
const FIRST_READ: usize = crate::journal::windows::SMALL;
/// The most one positioned read fetches for a run of adjacent frames. A window is shared by
/// the records sliced from it, so this also bounds what one small record can keep alive.
const WINDOW_MAX: u64 = 1 << 20;

/// Reads the records an index points at, many adjacent frames per positioned read, and hands
/// out slices of the read buffer rather than a buffer per record.
pub(crate) struct RecordReader<'f> {
    file: &'f dyn DiskFile,
    shard: ShardKey,
    /// Where windows come from and go back to, so a page's reads reuse the buffers of pages
    /// already sent.
    windows: &'f WindowPool,
    /// Journal bytes from `start` on.
    window: Bytes,
    start: u64,
    /// Whether the last frame read was directly followed by the next one wanted. Frames of a
    /// shard interleaved with other shards' would make a wide window mostly waste, so only a
    /// run of adjacent frames gets one.
    adjacent: bool,
}

/// How many frames ahead of the one being read the reader asks for one to be loaded (see
/// [`RecordReader::prefetch`]), and at most how many bytes of it.
const PREFETCH_AHEAD: usize = 4;
const PREFETCH_MAX: usize = 4096;

impl<'f> RecordReader<'f> {
    /// A reader of `file`. `mapped`, the whole file as mapped bytes (a finished segment's),
    /// is the window for every frame in it: records are sliced from the page cache with no
    /// copy. A frame the mapping does not hold whole is read from the file, as are all frames
    /// of a file without one.
    pub(crate) fn new(
        file: &'f dyn DiskFile,
        mapped: Option<Bytes>,
        shard: ShardKey,
        windows: &'f WindowPool,
    ) -> RecordReader<'f> {
        RecordReader {
            file,
            shard,
            windows,
            window: mapped.unwrap_or_default(),
            start: 0,
            adjacent: true,
        }
    }

    /// Reads the record of `entries[0]`, checking it is the one the index promised. The
    /// entries after it (in index order) say how far a window can usefully reach; `budget`
    /// is about how many more bytes of records the caller wants.
    pub(crate) fn read(
        &mut self,
        entries: &[IndexEntry],
        budget: usize,
    ) -> Result<StoredRecord, LogError> {
        let Some(&IndexEntry {
            offset, counter, ..
        }) = entries.first()
        else {
            return Err(LogError::Corrupt("no index entry to read".into()));
        };
        // Planned only when the window does not hold the frame: most calls find it there.
        let mut want = 0;
        let mut loaded = false;
        loop {
            let held = offset
                .checked_sub(self.start)
                .and_then(|rel| usize::try_from(rel).ok())
                .filter(|&rel| rel < self.window.len());
            if let Some(rel) = held {
                self.prefetch(entries);
                match frame::decode(&self.window[rel..]) {
                    Decoded::Incomplete { needed } => {
                        let past_end = || {
                            io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!(
                                    "frame at offset {offset} runs past the end of its segment"
                                ),
                            )
                        };
                        if loaded && self.window.len() < want {
                            return Err(past_end().into());
                        }
                        // A length field is believed only as far as the file goes: a
                        // damaged one must not size a buffer of gigabytes.
                        if needed > WINDOW_MAX as usize
                            && needed as u64 > self.file.size()?.saturating_sub(offset)
                        {
                            return Err(past_end().into());
                        }
                        want = want.max(needed);
                    }
                    decoded => {
                        if let (Decoded::Entry(_, len), Some(next)) = (&decoded, entries.get(1)) {
                            self.adjacent = offset + *len as u64 == next.offset;
                        }
                        return record_of(&self.window, decoded, self.shard, counter, offset);
                    }
                }
            }
            if !loaded {
                want = want.max(self.plan(entries, budget));
            }
            // Each load at `offset` holds more than the last (the frame's length once its
            // header is known), or the file ended: a frame takes at most three.
            self.load(offset, want)?;
            loaded = true;
        }
    }

    /// Asks the CPU to load the frame `PREFETCH_AHEAD` entries on, if the window holds it.
    /// A catch-up reads a mapping's frames in order, each one's checksum the first touch of
    /// its bytes, and the hardware's own prefetching stops at each 4 KiB page of the page
    /// cache (docs/benchmarks.md, W3: 0.89× the server CPU per CBOR page with spate-wire's
    /// prefetch of the data it copies).
    fn prefetch(&self, entries: &[IndexEntry]) {
        let (Some(from), Some(to)) = (entries.get(PREFETCH_AHEAD), entries.get(PREFETCH_AHEAD + 1))
        else {
            return;
        };
        let (Some(from), Some(to)) = (
            from.offset.checked_sub(self.start),
            to.offset.checked_sub(self.start),
        ) else {
            return;
        };
        let to = (to as usize)
            .min(self.window.len())
            .min((from as usize).saturating_add(PREFETCH_MAX));
        if let Some(frame) = self.window.get(from as usize..to) {
            crate::prefetch::prefetch(frame);
        }
    }

    /// Bytes to read from `entries[0]`'s offset: up to the farthest later entry within
    /// reach while frames run adjacent (the frames before it are then whole), else one
    /// frame's worth.
    fn plan(&self, entries: &[IndexEntry], budget: usize) -> usize {
        let Some(first) = entries.first() else {
            return FIRST_READ;
        };
        if !self.adjacent {
            return FIRST_READ;
        }
        // Some slack over the budget for frame headers; a window past it is wasted reading.
        let reach = WINDOW_MAX.min(budget.saturating_mul(2) as u64);
        entries[1..]
            .iter()
            .map(|e| e.offset.saturating_sub(first.offset))
            .take_while(|&span| span <= reach)
            .last()
            .map_or(FIRST_READ, |span| (span as usize).max(FIRST_READ))
    }

    /// Replaces the window with up to `len` bytes from `offset` (fewer at the end of the file).
    fn load(&mut self, offset: u64, len: usize) -> Result<(), LogError> {
        let mut buf = self.windows.take(len);
        let capacity = buf.capacity();
        let n = self.file.read_at(offset, &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("no journal bytes at offset {offset}"),
            )
            .into());
        }
        // The pool keeps the whole buffer, not just what was read: taken again, it then
        // needs no zeroing up to this length, where a short read at the tip would leave most
        // of it to be zeroed again.
        let whole = buf.freeze();
        self.windows.keep(&whole, capacity);
        self.window = whole.slice(..n);
        self.start = offset;
        Ok(())
    }
}

/// The record a decoded frame of `window` holds, if it is the one wanted.
fn record_of(
    window: &Bytes,
    decoded: Decoded<'_>,
    shard: ShardKey,
    counter: u64,
    offset: u64,
) -> Result<StoredRecord, LogError> {
    match decoded {
        Decoded::Entry(
            Entry::Record {
                shard: s,
                counter: c,
                arrival_ms,
                partition_key,
                data,
            },
            _,
        ) if s == shard && c == counter => {
            let partition_key = Str::from_inner(window.slice_ref(partition_key)).map_err(|_| {
                LogError::Corrupt(format!("partition key of {shard:?}/{counter} is not UTF-8"))
            })?;
            Ok(StoredRecord {
                counter,
                arrival_ms,
                partition_key,
                data: window.slice_ref(data),
                sealed: None,
            })
        }
        Decoded::Entry(
            Entry::Sealed {
                shard: s,
                counter: c,
                arrival_ms,
                key_id,
                nonce,
                aad,
                ciphertext,
            },
            _,
        ) if s == shard && c == counter => Ok(StoredRecord {
            counter,
            arrival_ms,
            partition_key: Str::new(),
            data: Bytes::new(),
            sealed: Some(Box::new(SealedPayload {
                key_id,
                nonce,
                aad: window.slice_ref(aad),
                ciphertext: window.slice_ref(ciphertext),
            })),
        }),
        other => Err(LogError::Corrupt(format!(
            "index of {shard:?} points at offset {offset} for counter {counter}, which holds {other:?}"
        ))),
    }
}

/// Walks a segment's entries from some offset, reading in large blocks.
pub(crate) struct Scanner<'f> {
    file: &'f dyn DiskFile,
    size: u64,
    /// Bytes of the file starting at `buf_start`, read directly (see `next_entry`).
    buf: AlignedBuf,
    buf_start: u64,
    /// Offset of the next entry.
    pub position: u64,
}

/// What the scanner found next.
pub(crate) enum Scanned<'a> {
    Entry {
        entry: Entry<'a>,
        offset: u64,
        /// The whole frame's length.
        len: usize,
    },
    /// Clean end of the file.
    End,
    /// Zeros where the next frame's header would be: the end of what was written into
    /// space zeroed ahead (or a write that never reached the disk).
    Unwritten { offset: u64 },
    /// Torn or corrupt from `offset` on.
    Bad { offset: u64, why: String },
}

/// Bytes read at a time, past the page cache: a segment is read once, when replayed, and
/// reading through the page cache would cost a new page there for each 4 KiB (on this
/// machine, 0.5 GB/s against 1.6 GB/s read directly). Large, since each direct read waits
/// for the device.
const BLOCK: usize = 4 << 20;

impl<'f> Scanner<'f> {
    pub(crate) fn new(file: &'f dyn DiskFile, from: u64) -> Result<Scanner<'f>, LogError> {
        Ok(Scanner {
            file,
            size: file.size()?,
            buf: AlignedBuf::default(),
            buf_start: from,
            position: from,
        })
    }

    pub(crate) fn next_entry(&mut self) -> Result<Scanned<'_>, LogError> {
        if self.position >= self.size {
            return Ok(Scanned::End);
        }
        loop {
            let rel = (self.position - self.buf_start) as usize;
            let needed = match frame::decode(&self.buf.bytes()[rel..]) {
                Decoded::Entry(_, _) => break,
                Decoded::Bad(_)
                    if self.buf.bytes()[rel..rel + FRAME_HEADER] == [0; FRAME_HEADER] =>
                {
                    return Ok(Scanned::Unwritten {
                        offset: self.position,
                    });
                }
                Decoded::Bad(why) => {
                    return Ok(Scanned::Bad {
                        offset: self.position,
                        why,
                    });
                }
                Decoded::Incomplete { needed } => needed,
            };
            let available = self.size - self.position;
            if (needed as u64) > available {
                return Ok(Scanned::Bad {
                    offset: self.position,
                    why: format!("frame of {needed} bytes with {available} left in the file"),
                });
            }
            // Refill: read again from the aligned boundary at or before the frame, at least
            // the whole frame, past the page cache.
            let align = DIRECT_ALIGN as usize;
            let start = self.position - self.position % DIRECT_ALIGN;
            let lead = (self.position - start) as usize;
            let want = (lead + needed).max(BLOCK).min((self.size - start) as usize);
            let buf = self.buf.bytes_mut(want.next_multiple_of(align), align);
            let n = self.file.read_direct(start, buf)?;
            if n < lead + needed {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "short read: {n} of {} bytes at offset {start}",
                        lead + needed
                    ),
                )
                .into());
            }
            self.buf.truncate(n.min(want));
            self.buf_start = start;
        }
        let rel = (self.position - self.buf_start) as usize;
        let offset = self.position;
        match frame::decode(&self.buf.bytes()[rel..]) {
            Decoded::Entry(entry, len) => {
                self.position += len as u64;
                Ok(Scanned::Entry { entry, offset, len })
            }
            _ => Err(LogError::Corrupt(
                "journal frame changed while scanning".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::journal::frame::{encode_record, encode_sealed, sealed_aad};
    use crate::types::{KEY_ID_LEN, NONCE_LEN};

    const A: ShardKey = ShardKey {
        stream: 1,
        shard: 0,
    };
    const B: ShardKey = ShardKey {
        stream: 1,
        shard: 1,
    };

    /// A journal in memory that counts positioned reads.
    struct Counted {
        bytes: Vec<u8>,
        reads: AtomicUsize,
        /// The longest read asked for.
        longest: AtomicUsize,
    }

    impl DiskFile for Counted {
        fn size(&self) -> io::Result<u64> {
            Ok(self.bytes.len() as u64)
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.longest.fetch_max(buf.len(), Ordering::Relaxed);
            let start = (offset as usize).min(self.bytes.len());
            let n = buf.len().min(self.bytes.len() - start);
            buf[..n].copy_from_slice(&self.bytes[start..start + n]);
            Ok(n)
        }
        fn append(&self, _: &[u8]) -> io::Result<()> {
            unreachable!()
        }
        fn write_at(&self, _: u64, _: &[u8]) -> io::Result<()> {
            unreachable!()
        }
        fn truncate(&self, _: u64) -> io::Result<()> {
            unreachable!()
        }
        fn sync_data(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn data(counter: u64) -> Vec<u8> {
        // Mostly small, with a frame longer than a window now and then.
        let len = if counter % 7 == 3 {
            1_500_000
        } else {
            counter as usize * 37 % 3000
        };
        vec![counter as u8; len]
    }

    /// Shard A's records: a run of adjacent frames, then frames between shard B's, with one
    /// sealed frame; returns the journal and A's index entries.
    fn journal() -> (Counted, Vec<IndexEntry>) {
        let mut bytes = vec![0; 24];
        let mut entries = Vec::new();
        for counter in 0..40u64 {
            let offset = bytes.len() as u64;
            if counter == 30 {
                let aad = sealed_aad(A, counter, 5, &[1; KEY_ID_LEN]);
                encode_sealed(&mut bytes, &aad, &[2; NONCE_LEN], &[3; 64]);
            } else {
                encode_record(&mut bytes, A, counter, 5, "key\"é", &data(counter));
            }
            entries.push(IndexEntry {
                counter,
                arrival_ms: 5,
                offset,
            });
            if counter >= 20 {
                encode_record(&mut bytes, B, counter, 5, "other", &[9; 5000]);
            }
        }
        let file = Counted {
            bytes,
            reads: AtomicUsize::new(0),
            longest: AtomicUsize::new(0),
        };
        (file, entries)
    }

    #[test]
    fn reads_every_record_whole_with_few_reads_per_run() {
        let (file, entries) = journal();
        let windows = WindowPool::default();
        let mut reader = RecordReader::new(&file, None, A, &windows);
        for (i, e) in entries.iter().enumerate() {
            let record = reader.read(&entries[i..], usize::MAX).unwrap();
            assert_eq!(record.counter, e.counter);
            if e.counter == 30 {
                let sealed = record.sealed.unwrap();
                assert_eq!(&sealed.ciphertext[..], &[3; 64]);
                assert_eq!(sealed.aad.len(), frame::SEALED_AAD);
            } else {
                assert_eq!(record.partition_key, "key\"é");
                assert_eq!(record.data, data(e.counter));
            }
        }
        // Per-frame reads would take 40 or more.
        let reads = file.reads.load(Ordering::Relaxed);
        assert!(reads < 40, "{reads} reads");
    }

    /// A second pass reads into the first pass's windows once its records are gone, and
    /// must see nothing of what was there.
    #[test]
    fn reused_windows_read_the_same_records() {
        let (file, entries) = journal();
        let windows = WindowPool::default();
        let pass = |budget: usize| {
            let mut reader = RecordReader::new(&file, None, A, &windows);
            (0..entries.len())
                .map(|i| {
                    let record = reader.read(&entries[i..], budget).unwrap();
                    (
                        record.counter,
                        record.data.to_vec(),
                        record.sealed.is_some(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let first = pass(usize::MAX);
        for budget in [usize::MAX, 100_000, 0] {
            assert_eq!(pass(budget), first, "budget {budget}");
        }
    }

    #[test]
    fn small_budgets_and_lone_entries_still_read_whole_frames() {
        let (file, entries) = journal();
        let windows = WindowPool::default();
        for e in &entries {
            let mut reader = RecordReader::new(&file, None, A, &windows);
            let record = reader.read(std::slice::from_ref(e), 0).unwrap();
            assert_eq!(record.counter, e.counter);
        }
    }

    /// A mapped file is read without a single read call; a mapping that ends early (the
    /// file grew after it was made, which a finished segment never does) falls back to
    /// reading the frames it lacks.
    #[test]
    fn mapped_files_are_sliced_and_short_mappings_fall_back_to_reads() {
        let (file, entries) = journal();
        let windows = WindowPool::default();
        let whole = Bytes::from(file.bytes.clone());
        let cut = entries[25].offset as usize + 10;
        for (mapped, reads) in [(whole.clone(), 0), (whole.slice(..cut), 1)] {
            file.reads.store(0, Ordering::Relaxed);
            let mut reader = RecordReader::new(&file, Some(mapped), A, &windows);
            for (i, e) in entries.iter().enumerate() {
                let record = reader.read(&entries[i..], usize::MAX).unwrap();
                assert_eq!(record.counter, e.counter);
                if e.counter != 30 {
                    assert_eq!(record.data, data(e.counter));
                }
            }
            let done = file.reads.load(Ordering::Relaxed);
            assert!(done >= reads && done < 20, "{done} reads");
            if reads == 0 {
                assert_eq!(done, 0);
            }
        }
        // A mapped frame's checksum is checked like a read one's.
        let mut bad = file.bytes.clone();
        bad[entries[2].offset as usize + 40] ^= 1;
        let mut reader = RecordReader::new(&file, Some(Bytes::from(bad)), A, &windows);
        assert!(matches!(
            reader.read(&entries[2..], usize::MAX),
            Err(LogError::Corrupt(_))
        ));
    }

    #[test]
    fn checksums_and_the_promised_counter_are_checked() {
        let (mut file, entries) = journal();
        let windows = WindowPool::default();
        let mut reader = RecordReader::new(&file, None, A, &windows);
        let wrong = IndexEntry {
            counter: 99,
            ..entries[1]
        };
        assert!(matches!(
            reader.read(&[wrong], 1),
            Err(LogError::Corrupt(_))
        ));
        let at = entries[2].offset as usize + 40;
        file.bytes[at] ^= 1;
        let mut reader = RecordReader::new(&file, None, A, &windows);
        assert!(reader.read(&entries[..1], usize::MAX).is_ok());
        assert!(matches!(
            reader.read(&entries[2..], usize::MAX),
            Err(LogError::Corrupt(_))
        ));
        // A length field claiming more than the file holds is an error, read no further.
        let mut long = file.bytes.clone();
        let at = entries[3].offset as usize;
        long[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let long = Counted {
            bytes: long,
            reads: AtomicUsize::new(0),
            longest: AtomicUsize::new(0),
        };
        let mut reader = RecordReader::new(&long, None, A, &windows);
        assert!(reader.read(&entries[3..4], 1).is_err());
        assert!(long.longest.load(Ordering::Relaxed) <= WINDOW_MAX as usize);
        // An offset past the end is an error, not a loop.
        let past = IndexEntry {
            offset: file.bytes.len() as u64 + 10,
            ..entries[0]
        };
        assert!(reader.read(&[past], 1).is_err());
    }
}
