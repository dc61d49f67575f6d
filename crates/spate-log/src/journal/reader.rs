//! Reading the journal: one record at a known offset (the read path), or every entry of a
//! segment in order (recovery).

use bytes::Bytes;

use crate::disk::{DiskFile, read_exact_at};
use crate::error::LogError;
use crate::journal::frame::{self, Decoded, Entry, FRAME_HEADER};
use crate::types::{SealedPayload, ShardKey, StoredRecord};

/// Most records are small: one read of this size usually holds the whole frame.
const FIRST_READ: usize = 4096;

/// Reads the record framed at `offset`, checking it is the one the index promised.
pub(crate) fn read_record(
    file: &dyn DiskFile,
    offset: u64,
    shard: ShardKey,
    counter: u64,
) -> Result<StoredRecord, LogError> {
    let mut buf = vec![0; FIRST_READ];
    let n = file.read_at(offset, &mut buf)?;
    buf.truncate(n);
    if let Decoded::Incomplete { needed } = frame::decode(&buf) {
        buf.resize(needed.max(FRAME_HEADER), 0);
        read_exact_at(file, offset, &mut buf)?;
    }
    let buf = Bytes::from(buf);
    match frame::decode(&buf) {
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
            let partition_key = String::from_utf8(partition_key.to_vec()).map_err(|_| {
                LogError::Corrupt(format!("partition key of {shard:?}/{counter} is not UTF-8"))
            })?;
            Ok(StoredRecord {
                counter,
                arrival_ms,
                partition_key,
                data: buf.slice_ref(data),
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
            partition_key: String::new(),
            data: Bytes::new(),
            sealed: Some(SealedPayload {
                key_id,
                nonce,
                aad: buf.slice_ref(aad),
                ciphertext: buf.slice_ref(ciphertext),
            }),
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
    /// Bytes of the file starting at `buf_start`.
    buf: Vec<u8>,
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
    /// Torn or corrupt from `offset` on.
    Bad { offset: u64, why: String },
}

const BLOCK: usize = 1 << 20;

impl<'f> Scanner<'f> {
    pub(crate) fn new(file: &'f dyn DiskFile, from: u64) -> Result<Scanner<'f>, LogError> {
        Ok(Scanner {
            file,
            size: file.size()?,
            buf: Vec::new(),
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
            let needed = match frame::decode(&self.buf[rel..]) {
                Decoded::Entry(_, _) => break,
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
            // Refill: drop consumed bytes, then read at least the whole frame.
            self.buf.drain(..rel);
            self.buf_start = self.position;
            let want = needed.max(BLOCK).min(available as usize);
            let have = self.buf.len();
            self.buf.resize(want, 0);
            read_exact_at(
                self.file,
                self.buf_start + have as u64,
                &mut self.buf[have..],
            )?;
        }
        let rel = (self.position - self.buf_start) as usize;
        let offset = self.position;
        match frame::decode(&self.buf[rel..]) {
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
