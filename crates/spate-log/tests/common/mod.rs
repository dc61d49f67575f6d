//! Shared test helpers.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use bytes_utils::Str;
use spate_log::disk::{Disk, DiskFile, MemoryDisk};
use std::sync::atomic::{AtomicU8, Ordering};

use spate_log::{
    Durability, KEY_ID_LEN, Log, LogConfig, ManualClock, NONCE_LEN, NewRecord, SEAL_TAG_LEN,
    Sealer, ShardKey, StoredRecord, split_sealed_plaintext,
};

/// A config with background tasks off, so tests drive checkpoints and sweeps themselves.
pub fn config(segment_bytes: u64, durability: Durability) -> LogConfig {
    LogConfig {
        dir: None,
        durability,
        segment_bytes,
        max_pending_bytes: 1 << 20,
        checkpoint_interval: Duration::ZERO,
        retention_sweep_interval: Duration::ZERO,
        ..LogConfig::default()
    }
}

pub fn open(config: LogConfig, disk: Arc<dyn Disk>, clock: Arc<ManualClock>) -> Log {
    Log::open_with(config, disk, clock).expect("open log")
}

/// Runs a future to completion on a fresh single-threaded runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

pub fn record(shard: ShardKey, key: &str, data: impl Into<Vec<u8>>) -> NewRecord {
    NewRecord {
        shard,
        partition_key: key.to_string(),
        data: Bytes::from(data.into()),
    }
}

/// Every committed record of a shard, reading in small batches.
pub fn read_all(log: &Log, shard: ShardKey) -> Vec<StoredRecord> {
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let batch = log
            .read(shard, from, i64::MIN, 7, usize::MAX)
            .expect("read");
        if batch.records.is_empty() {
            return out;
        }
        from = batch.next_counter;
        out.extend(batch.records);
    }
}

/// splitmix64.
pub fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub const KEY: [u8; KEY_ID_LEN] = [0xAB; KEY_ID_LEN];

/// A toy cipher (XOR with the nonce byte) with a checksum "tag" over the associated data and
/// ciphertext: enough to see what the log stores and authenticates, not a real AEAD.
#[derive(Default)]
pub struct ToySealer {
    next_nonce: AtomicU8,
}

fn toy_tag(aad: &[u8], ciphertext: &[u8]) -> [u8; SEAL_TAG_LEN] {
    let mut tag = [0; SEAL_TAG_LEN];
    tag[..4].copy_from_slice(&crc32c::crc32c_append(crc32c::crc32c(aad), ciphertext).to_le_bytes());
    tag
}

impl Sealer for ToySealer {
    fn key_id(&self) -> [u8; KEY_ID_LEN] {
        KEY
    }
    fn seal(&self, aad: &[u8], in_out: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], String> {
        let n = self.next_nonce.fetch_add(1, Ordering::Relaxed) | 0x80;
        in_out.iter_mut().for_each(|b| *b ^= n);
        let tag = toy_tag(aad, in_out);
        in_out.extend_from_slice(&tag);
        Ok([n; NONCE_LEN])
    }
}

/// Opens a record the toy sealer sealed, checking its tag.
pub fn toy_open(record: &StoredRecord) -> Option<(Str, Bytes)> {
    let sealed = record.sealed.as_ref()?;
    assert_eq!(sealed.key_id, KEY);
    let (body, tag) = sealed
        .ciphertext
        .split_at(sealed.ciphertext.len() - SEAL_TAG_LEN);
    if toy_tag(&sealed.aad, body) != tag {
        return None;
    }
    let plain: Vec<u8> = body.iter().map(|b| b ^ sealed.nonce[0]).collect();
    split_sealed_plaintext(Bytes::from(plain))
}

/// What a test does around some of a file's operations (given the file's path and the
/// memory disk's file); each passes straight through unless the test says otherwise.
pub trait FileHooks: Send + Sync + 'static {
    fn write_at(
        &self,
        _path: &Path,
        file: &dyn DiskFile,
        offset: u64,
        data: &[u8],
    ) -> io::Result<()> {
        file.write_at(offset, data)
    }
    fn sync_data(&self, _path: &Path, file: &dyn DiskFile) -> io::Result<()> {
        file.sync_data()
    }
    fn start_writeback(
        &self,
        _path: &Path,
        file: &dyn DiskFile,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        file.start_writeback(offset, len)
    }
}

/// A memory disk whose files run the test's [`FileHooks`], for tests that watch or hold
/// some file operations.
pub struct HookedDisk<H> {
    pub inner: MemoryDisk,
    pub hooks: Arc<H>,
}

struct HookedFile<H> {
    inner: Arc<dyn DiskFile>,
    path: PathBuf,
    hooks: Arc<H>,
}

impl<H: FileHooks> Disk for HookedDisk<H> {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
        Ok(Arc::new(HookedFile {
            inner: self.inner.open(path, create)?,
            path: path.to_path_buf(),
            hooks: self.hooks.clone(),
        }))
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
}

impl<H: FileHooks> DiskFile for HookedFile<H> {
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(offset, buf)
    }
    fn append(&self, data: &[u8]) -> io::Result<()> {
        self.inner.append(data)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.hooks
            .write_at(&self.path, self.inner.as_ref(), offset, data)
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.hooks.sync_data(&self.path, self.inner.as_ref())
    }
    fn start_writeback(&self, offset: u64, len: u64) -> io::Result<()> {
        self.hooks
            .start_writeback(&self.path, self.inner.as_ref(), offset, len)
    }
    fn map_finished(&self) -> Option<Bytes> {
        self.inner.map_finished()
    }
}
