//! The vocabulary of the log's public API.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use bytes_utils::Str;

/// A map keyed by shard, hashed cheaply (see [`KeyHasher`]).
pub(crate) type ShardMap<V> = HashMap<ShardKey, V, BuildHasherDefault<KeyHasher>>;

/// Hashes shard keys (and other numbers the server assigns, such as shard indexes) with a
/// multiply per word (as rustc's FxHash does), where the default SipHash took ~180
/// instructions per lookup, two lookups per record appended. The keys are never a client's
/// choice, so there is no flooding to resist.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick the bucket, weakest: mix high into low.
        self.0.rotate_left(26)
    }
}

/// One shard of one stream incarnation. The log attaches no meaning to either number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardKey {
    /// Stream incarnation id: a stream deleted and re-created gets a new one, so its old
    /// records can never be confused with the new stream's.
    pub stream: u64,
    /// Shard index within the stream.
    pub shard: u32,
}

/// When an append is acknowledged, and what survives what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Acknowledge after the group's journal write and `fdatasync`: survives `kill -9` and
    /// power loss.
    #[default]
    Fsync,
    /// Acknowledge after the write; sync at most once per interval. Survives `kill -9`;
    /// power loss may lose up to one interval of acknowledged records.
    Interval(Duration),
    /// Acknowledge after the write and leave syncing to the OS. Survives `kill -9`; power
    /// loss may lose whatever the kernel had not yet written back.
    None,
}

/// How to open a [`crate::Log`].
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Data directory; `None` keeps everything in memory (nothing survives the process).
    pub dir: Option<PathBuf>,
    pub durability: Durability,
    /// A journal segment is rolled once it would grow past this many bytes. Retention frees
    /// space a whole segment at a time, so this is also the granularity of reclaiming.
    pub segment_bytes: u64,
    /// Bytes of records accepted but not yet written; appends beyond this wait.
    pub max_pending_bytes: usize,
    /// How often the checkpoint is rewritten (counters, chunk summaries, which segments
    /// have index files); bounds the journal replayed on recovery.
    pub checkpoint_interval: Duration,
    /// A checkpoint is also taken when a segment is finished this many bytes of journal
    /// after the last one (in whole segments), so that a heavy writer's replay stays short
    /// too: at 500 MB/s, 30 s would be 15 GB to read back. 0 switches it off.
    pub checkpoint_bytes: u64,
    /// How often expired segments are looked for.
    pub retention_sweep_interval: Duration,
    /// In `Fsync` mode, a group of at least this many bytes of records is synced on a
    /// thread of its own while the writer copies the next groups into the journal; a
    /// smaller one, whose copy costs less than handing its sync over, is synced by the
    /// writer. 0 hands every group over.
    pub overlap_min_group_bytes: usize,
    /// A group of more than this many bytes is written past the page cache where the disk
    /// can ([`crate::disk::DiskFile::write_direct`]): copying large groups into new
    /// page-cache pages costs more CPU than the rest of their write. `usize::MAX` never does.
    pub direct_min_group_bytes: usize,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            dir: None,
            durability: Durability::Fsync,
            segment_bytes: 64 << 20,
            max_pending_bytes: 64 << 20,
            checkpoint_interval: Duration::from_secs(30),
            checkpoint_bytes: 512 << 20,
            retention_sweep_interval: Duration::from_secs(60),
            overlap_min_group_bytes: 256 << 10,
            direct_min_group_bytes: 256 << 10,
        }
    }
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub shard: ShardKey,
    pub partition_key: String,
    pub data: Bytes,
}

/// What the log assigned to an appended record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub counter: u64,
    pub arrival_ms: i64,
}

/// Bytes of the key id a sealed record names (a UUID's 16 bytes).
pub const KEY_ID_LEN: usize = 16;
/// Bytes of a sealed record's nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of the authentication tag a [`Sealer`] appends.
pub const SEAL_TAG_LEN: usize = 16;

/// Encrypts records for [`crate::Log::append_sealed`]. The log decides what is sealed and
/// what is authenticated; the sealer owns the key and the cipher, so the log never sees key
/// material. Sealing runs on the appending caller's thread, never the writer's.
pub trait Sealer: Send + Sync {
    /// The id recorded in each frame, so a reader knows which key opens it.
    fn key_id(&self) -> [u8; KEY_ID_LEN];
    /// Encrypts `in_out` in place under a fresh nonce, authenticating `aad`, and appends the
    /// `SEAL_TAG_LEN`-byte tag. Returns the nonce.
    fn seal(&self, aad: &[u8], in_out: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], String>;
}

/// A sealed record as stored: what its reader needs to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPayload {
    /// The key that sealed it.
    pub key_id: [u8; KEY_ID_LEN],
    pub nonce: [u8; NONCE_LEN],
    /// Associated data to authenticate when opening. Empty once opened.
    pub aad: Bytes,
    /// `key_len u16 | partition key | data`, encrypted, tag included. Empty once opened.
    pub ciphertext: Bytes,
}

/// Splits an opened sealed plaintext into partition key and data; `None` if it is not one.
pub fn split_sealed_plaintext(plaintext: Bytes) -> Option<(Str, Bytes)> {
    let len_bytes: [u8; 2] = plaintext.get(..2)?.try_into().ok()?;
    let key_end = 2 + usize::from(u16::from_le_bytes(len_bytes));
    if plaintext.len() < key_end {
        return None;
    }
    let key = Str::from_inner(plaintext.slice(2..key_end)).ok()?;
    Some((key, plaintext.slice(key_end..)))
}

/// A committed record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub counter: u64,
    pub arrival_ms: i64,
    /// Empty while the record is sealed and not yet opened. Shares the buffer the record was
    /// read into (or opened into), like `data`: no string of its own per record.
    pub partition_key: Str,
    /// Empty while the record is sealed and not yet opened.
    pub data: Bytes,
    /// Set when the record was stored sealed: which key sealed it, and (until the reader
    /// opens it and fills `partition_key` and `data`) the ciphertext. Boxed: it is most of a
    /// record's size and most records have none, and a page moves ten thousand records.
    pub sealed: Option<Box<SealedPayload>>,
}

impl StoredRecord {
    /// Bytes the record occupies as read: key and data, or the ciphertext while sealed.
    pub fn stored_len(&self) -> usize {
        self.partition_key.len()
            + self.data.len()
            + self.sealed.as_ref().map_or(0, |s| s.ciphertext.len())
    }
}

/// The result of [`crate::Log::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBatch {
    pub records: Vec<StoredRecord>,
    /// Where the next read should start: after the last returned record; if none was
    /// returned, the committed end when everything from the start position had expired,
    /// otherwise the start position itself.
    pub next_counter: u64,
}

/// Where a shard's committed records end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardTip {
    /// The counter the next committed record will have at least.
    pub next_counter: u64,
    /// Arrival time of the last committed record, if the shard ever had one.
    pub last_arrival_ms: Option<i64>,
}

/// A shard's committed extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardState {
    /// The counter the next committed record will have at least.
    pub next_counter: u64,
    /// Arrival time of the last committed record, if the shard ever had one.
    pub last_arrival_ms: Option<i64>,
    /// Oldest retained counter; equal to `next_counter` when nothing is retained.
    pub first_counter: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plaintext(key: &[u8], data: &[u8]) -> Bytes {
        let mut plain = (key.len() as u16).to_le_bytes().to_vec();
        plain.extend_from_slice(key);
        plain.extend_from_slice(data);
        Bytes::from(plain)
    }

    #[test]
    fn sealed_plaintext_splits_or_is_refused() {
        let (key, data) =
            split_sealed_plaintext(plaintext("ké".as_bytes(), b"data")).expect("splits");
        assert_eq!(key, "ké");
        assert_eq!(&data[..], b"data");
        let (key, data) = split_sealed_plaintext(plaintext(b"", b"")).expect("splits");
        assert!(key.is_empty() && data.is_empty());
        // A key that is not UTF-8, one that runs past the end, and no length at all.
        assert!(split_sealed_plaintext(plaintext(b"\xff", b"")).is_none());
        assert!(split_sealed_plaintext(Bytes::from_static(&[5, 0, b'a'])).is_none());
        assert!(split_sealed_plaintext(Bytes::from_static(&[1])).is_none());
    }
}
