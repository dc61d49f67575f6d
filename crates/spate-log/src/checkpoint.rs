//! The checkpoint: a small file, replaced atomically, naming the end of the journal when it
//! was written and the oldest segment without a durable index file, plus each shard's
//! committed next counter and chunk summaries and the dropped streams. Recovery starts from
//! it and re-indexes the journal from that segment on. The byte layout is in
//! `docs/on-disk-format.md`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::crc::crc32c;
use crate::disk::Disk;
use crate::error::LogError;
use crate::index::{Chunk, ENTRY_BYTES};
use crate::journal::Position;
use crate::journal::frame::u64_at;
use crate::journal::writer::Writer;
use crate::sync::{lock, read};
use crate::types::ShardKey;

pub(crate) const CHECKPOINT_FILE: &str = "checkpoint";
pub(crate) const CHECKPOINT_TMP: &str = "checkpoint.tmp";
const MAGIC: &[u8; 8] = b"SPATECKP";
/// Version 2 added each chunk's byte count, version 3 the first unindexed segment (index
/// files per segment instead of per shard). Versions 1 and 2 are still read: recovery then
/// re-indexes the whole journal.
const VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardCheckpoint {
    pub shard: ShardKey,
    pub next_counter: u64,
    pub last_arrival: Option<i64>,
    pub chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub position: Position,
    /// Every segment below this one has a durable index file, and its chunks here are
    /// final; from this one on, recovery re-indexes the journal.
    pub first_unindexed: u64,
    pub shards: Vec<ShardCheckpoint>,
    pub dropped: BTreeSet<u64>,
}

impl Checkpoint {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&self.position.segment.to_le_bytes());
        b.extend_from_slice(&self.position.offset.to_le_bytes());
        b.extend_from_slice(&self.first_unindexed.to_le_bytes());
        b.extend_from_slice(&(self.shards.len() as u64).to_le_bytes());
        for s in &self.shards {
            b.extend_from_slice(&s.shard.stream.to_le_bytes());
            b.extend_from_slice(&u64::from(s.shard.shard).to_le_bytes());
            b.extend_from_slice(&s.next_counter.to_le_bytes());
            b.extend_from_slice(&u64::from(s.last_arrival.is_some()).to_le_bytes());
            b.extend_from_slice(&s.last_arrival.unwrap_or(0).to_le_bytes());
            b.extend_from_slice(&(s.chunks.len() as u64).to_le_bytes());
            for c in &s.chunks {
                for v in [
                    c.segment,
                    c.first_counter,
                    c.first_arrival as u64,
                    c.last_counter,
                ]
                .into_iter()
                .chain([c.last_arrival as u64, c.count, c.bytes])
                {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        b.extend_from_slice(&(self.dropped.len() as u64).to_le_bytes());
        for d in &self.dropped {
            b.extend_from_slice(&d.to_le_bytes());
        }
        let crc = crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Checkpoint, LogError> {
        let corrupt = |why: &str| LogError::Corrupt(format!("checkpoint: {why}"));
        if b.len() < 16 || &b[..8] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let (body, crc) = b.split_at(b.len() - 4);
        if crc32c(body).to_le_bytes() != crc {
            return Err(corrupt("checksum mismatch"));
        }
        let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
        if !(1..=VERSION).contains(&version) {
            return Err(corrupt(&format!("unsupported version {version}")));
        }
        let mut at = 12;
        let mut next = || -> Result<u64, LogError> {
            if at + 8 > body.len() {
                return Err(corrupt("truncated"));
            }
            at += 8;
            Ok(u64_at(body, at - 8))
        };
        let position = Position {
            segment: next()?,
            offset: next()?,
        };
        // Before version 3, index files were per shard: none of them is used any more.
        let first_unindexed = if version >= 3 { next()? } else { 0 };
        let shard_count = next()?;
        let mut shards = Vec::new();
        for _ in 0..shard_count {
            let stream = next()?;
            let shard = u32::try_from(next()?).map_err(|_| corrupt("shard index"))?;
            let next_counter = next()?;
            let has_arrival = next()? != 0;
            let arrival = next()? as i64;
            let chunk_count = next()?;
            let mut chunks = Vec::new();
            for _ in 0..chunk_count {
                let mut chunk = Chunk {
                    segment: next()?,
                    first_counter: next()?,
                    first_arrival: next()? as i64,
                    last_counter: next()?,
                    last_arrival: next()? as i64,
                    count: next()?,
                    bytes: 0,
                };
                // Version 1 did not count frame bytes: count the index entries alone.
                chunk.bytes = if version == 1 {
                    chunk.count * ENTRY_BYTES
                } else {
                    next()?
                };
                chunks.push(chunk);
            }
            shards.push(ShardCheckpoint {
                shard: ShardKey { stream, shard },
                next_counter,
                last_arrival: has_arrival.then_some(arrival),
                chunks,
            });
        }
        let dropped_count = next()?;
        let mut dropped = BTreeSet::new();
        for _ in 0..dropped_count {
            dropped.insert(next()?);
        }
        Ok(Checkpoint {
            position,
            first_unindexed,
            shards,
            dropped,
        })
    }
}

/// Reads the checkpoint, if one was ever written.
pub(crate) fn load(disk: &dyn Disk) -> Result<Option<Checkpoint>, LogError> {
    let file = match disk.open(Path::new(CHECKPOINT_FILE), false) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut buf = vec![0; file.size()? as usize];
    crate::disk::read_exact_at(file.as_ref(), 0, &mut buf)?;
    Checkpoint::decode(&buf).map(Some)
}

/// Replaces the checkpoint atomically: a reader after any crash sees the old or the new one.
pub(crate) fn store(disk: &dyn Disk, checkpoint: &Checkpoint) -> Result<(), LogError> {
    let tmp = Path::new(CHECKPOINT_TMP);
    let file = disk.open(tmp, true)?;
    file.truncate(0)?;
    file.append(&checkpoint.encode())?;
    file.sync_data()?;
    disk.rename(tmp, Path::new(CHECKPOINT_FILE))?;
    disk.sync_dir(Path::new(""))?;
    Ok(())
}

impl Writer {
    /// Waits for the index files being written and records in a new checkpoint what is
    /// durable.
    pub(crate) fn checkpoint(&mut self) -> Result<(), LogError> {
        if self.is_poisoned() {
            return Err(LogError::Poisoned);
        }
        let result = self.try_checkpoint();
        if let Err(error) = &result {
            tracing::error!(%error, "checkpoint failed; poisoning the log");
            self.shared.poison();
        }
        result
    }

    fn try_checkpoint(&mut self) -> Result<(), LogError> {
        // Files being written are waited for, so the checkpoint can claim them.
        self.settle_indexes();
        if self.is_poisoned() {
            return Err(LogError::Poisoned);
        }
        // The journal first: the checkpoint must never point past durable journal bytes.
        self.sync_journal()?;
        let mut shards: Vec<ShardCheckpoint> = read(&self.shared.shards)
            .iter()
            .map(|(key, view)| {
                let st = lock(&view.state);
                ShardCheckpoint {
                    shard: *key,
                    next_counter: st.committed_next,
                    last_arrival: st.last_arrival,
                    chunks: st.chunks.clone(),
                }
            })
            .collect();
        shards.sort_by_key(|s| s.shard);
        let checkpoint = Checkpoint {
            position: Position {
                segment: self.active.id,
                offset: self.active.len,
            },
            first_unindexed: self.unindexed.first().copied().unwrap_or(self.active.id),
            shards,
            dropped: self.dropped.clone(),
        };
        store(self.shared.disk.as_ref(), &checkpoint)?;
        self.checkpointed = self.active.id;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let cp = Checkpoint {
            position: Position {
                segment: 3,
                offset: 4096,
            },
            first_unindexed: 2,
            shards: vec![ShardCheckpoint {
                shard: ShardKey {
                    stream: 9,
                    shard: 2,
                },
                next_counter: 77,
                last_arrival: Some(-3),
                chunks: vec![Chunk {
                    segment: 2,
                    first_counter: 5,
                    first_arrival: 1,
                    last_counter: 76,
                    last_arrival: 8,
                    count: 70,
                    bytes: 70 * 90,
                }],
            }],
            dropped: [4, 5].into_iter().collect(),
        };
        let bytes = cp.encode();
        assert_eq!(Checkpoint::decode(&bytes).unwrap(), cp);
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            assert!(Checkpoint::decode(&bad).is_err(), "flip at {at}");
        }
        assert!(Checkpoint::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn reads_versions_1_and_2() {
        let chunk = Chunk {
            segment: 2,
            first_counter: 5,
            first_arrival: 1,
            last_counter: 6,
            last_arrival: 8,
            count: 2,
            bytes: 180,
        };
        let cp = Checkpoint {
            position: Position {
                segment: 3,
                offset: 64,
            },
            first_unindexed: 0,
            shards: vec![ShardCheckpoint {
                shard: ShardKey {
                    stream: 9,
                    shard: 0,
                },
                next_counter: 7,
                last_arrival: Some(8),
                chunks: vec![chunk],
            }],
            dropped: BTreeSet::new(),
        };
        // A version 2 file is the version 3 layout without the first unindexed segment, and
        // a version 1 file is version 2 without the chunk's last field.
        let v3 = cp.encode();
        let mut v2 = [&v3[..28], &v3[36..v3.len() - 4]].concat();
        v2[8..12].copy_from_slice(&2u32.to_le_bytes());
        let chunk_end = v2.len() - 8;
        let mut v1 = [&v2[..chunk_end - 8], &v2[chunk_end..]].concat();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        for (old, version) in [(&mut v2, 2), (&mut v1, 1)] {
            let crc = ::crc32c::crc32c(old);
            old.extend_from_slice(&crc.to_le_bytes());
            let decoded = Checkpoint::decode(old).unwrap();
            let bytes = if version == 1 { 2 * ENTRY_BYTES } else { 180 };
            assert_eq!(decoded.shards[0].chunks[0].bytes, bytes);
            assert_eq!(decoded.shards[0].chunks[0].count, 2);
            assert_eq!(decoded.position, cp.position);
            assert_eq!(decoded.first_unindexed, 0);
        }
    }
}
