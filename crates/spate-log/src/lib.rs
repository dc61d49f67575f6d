//! `spate-log`: the node's durable, append-only record store.
//!
//! Every shard of every stream on a node appends to **one write-ahead journal**, so one
//! `fdatasync` commits a whole group of appends however many shards and requests it holds
//! (group commit on a dedicated writer thread). Behind the journal, an **index** maps each
//! shard's counters and arrival times to journal positions: in memory for the segment being
//! written, then one **index file per journal segment** for all its shards, written once
//! the segment is finished. **Checkpoints** record which segments have durable index files;
//! recovery re-indexes the journal from the oldest segment without one, cuts a torn tail,
//! and restores every shard's counter so it never goes back.
//! **Retention** deletes whole journal segments once everything in them has expired.
//!
//! What it is not: it knows nothing of Kinesis JSON, HTTP, sequence-number formats or
//! shard hash ranges. A shard is a [`ShardKey`] of two numbers, a record is a partition key
//! and bytes, and the log assigns each record a per-shard `counter` and an `arrival_ms`.
//! Stream retention and shard lists are the caller's metadata, re-told on every start.
//!
//! Layout:
//! - [`Log`] (`log.rs`, `append.rs`, `read.rs`): the API.
//! - `journal/`: entry framing, the group-commit writer, the reader, recovery.
//! - `seal.rs`: sealed appends, encrypted by the caller through a [`Sealer`].
//! - `index/`: index entries in memory and in segment index files, chunk summaries.
//! - `checkpoint.rs`, `retention.rs`: the writer thread's periodic work.
//! - [`disk`]: the storage trait with real, in-memory and crash-simulating implementations.
//! - [`clock`]: the time source, injectable for tests.
//! - `stats.rs`: counters for operators ([`Log::stats`]).
//!
//! The bytes on disk are documented in `docs/on-disk-format.md`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod append;
mod checkpoint;
pub mod clock;
mod crc;
pub mod disk;
mod error;
mod index;
mod journal;
mod log;
mod prefetch;
mod read;
mod retention;
mod seal;
mod state;
mod stats;
mod sync;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LogError;
pub use log::Log;
pub use stats::{GROUP_RECORDS_BOUNDS, LogStats, SYNC_SECONDS_BOUNDS};
pub use types::{
    Appended, Durability, KEY_ID_LEN, KeyHasher, LogConfig, NONCE_LEN, NewRecord, ReadBatch,
    SEAL_TAG_LEN, SealedPayload, Sealer, ShardKey, ShardState, ShardTip, StoredRecord,
    split_sealed_plaintext,
};
