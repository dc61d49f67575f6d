//! Sealed appends: the log stores what the sealer made, names the key in each frame, hands
//! the ciphertext and associated data back on reads, and recovers sealed frames like plain
//! ones.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use spate_log::{Durability, KEY_ID_LEN, Log, LogConfig, LogError, NONCE_LEN, Sealer, ShardKey};

const A: ShardKey = ShardKey {
    stream: 3,
    shard: 1,
};
fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            return files_contain(&path, needle);
        }
        let bytes = std::fs::read(&path).unwrap();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

fn on_disk(dir: &Path) -> LogConfig {
    LogConfig {
        dir: Some(dir.to_owned()),
        ..config(1 << 20, Durability::Fsync)
    }
}

#[test]
fn sealed_records_are_stored_sealed_and_survive_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let sealer: Arc<dyn Sealer> = Arc::new(ToySealer::default());
    {
        let log = Log::open(on_disk(dir.path())).unwrap();
        log.register_shard(A, 0).unwrap();
        block_on(log.append(vec![record(A, "plain-key", "plain-data")])).unwrap();
        let acks = block_on(log.append_sealed(
            vec![
                record(A, "secret-key-1", "secret-data-1"),
                record(A, "secret-key-2", "secret-data-2"),
            ],
            sealer.clone(),
        ))
        .unwrap();
        assert_eq!(acks.iter().map(|a| a.counter).collect::<Vec<_>>(), [1, 2]);
        // Dropped without a checkpoint of the last group: recovery replays sealed frames.
        std::mem::forget(log);
    }
    assert!(files_contain(dir.path(), b"plain-data"));
    assert!(!files_contain(dir.path(), b"secret-data"));
    assert!(!files_contain(dir.path(), b"secret-key"));

    let log = Log::open(on_disk(dir.path())).unwrap();
    log.register_shard(A, 0).unwrap();
    let all = read_all(&log, A);
    assert_eq!(all.len(), 3);
    assert!(all[0].sealed.is_none());
    assert_eq!(&all[0].data[..], b"plain-data");
    for (i, r) in all[1..].iter().enumerate() {
        assert!(r.data.is_empty() && r.partition_key.is_empty());
        let (key, data) = toy_open(r).expect("opens");
        assert_eq!(key, format!("secret-key-{}", i + 1));
        assert_eq!(&data[..], format!("secret-data-{}", i + 1).as_bytes());
    }
    // The associated data binds the position: the same ciphertext at another counter fails.
    let mut moved = all[2].clone();
    let mut aad = moved.sealed.as_ref().unwrap().aad.to_vec();
    aad[13] ^= 1;
    moved.sealed.as_mut().unwrap().aad = Bytes::from(aad);
    assert!(toy_open(&moved).is_none());
    log.shutdown().unwrap();
}

struct FailingSealer;

impl Sealer for FailingSealer {
    fn key_id(&self) -> [u8; KEY_ID_LEN] {
        KEY
    }
    fn seal(&self, _: &[u8], _: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], String> {
        Err("no key".into())
    }
}

#[test]
fn a_failed_seal_fails_only_its_append() {
    let log = Log::open(config(1 << 20, Durability::Fsync)).unwrap();
    log.register_shard(A, 0).unwrap();
    let failed = block_on(log.append_sealed(vec![record(A, "k", "x")], Arc::new(FailingSealer)));
    assert!(matches!(failed, Err(LogError::Seal(_))), "{failed:?}");
    block_on(log.append(vec![record(A, "k", "after")])).unwrap();
    let all = read_all(&log, A);
    assert_eq!(all.len(), 1);
    assert_eq!(&all[0].data[..], b"after");
    assert!(!log.stats().poisoned);
}
