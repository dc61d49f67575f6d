//! Spate's metadata store: streams, their shards with hash ranges and lineage, consumers, tags,
//! retention and lifecycle state, plus the node's secrets (the iterator signing key).
//!
//! It is not the record store (that is `spate-log`) and knows nothing of Kinesis wire
//! formats. [`records`] holds the persisted shapes, [`store`] the [`MetaStore`] trait that
//! the engine programs against, and [`redb_store`] the single-node implementation on redb
//! (a file, or memory for `--in-memory`). A multi-node implementation will sit beside it.

pub mod records;
pub mod redb_store;
pub mod store;

pub use records::{
    ConsumerRecord, ConsumerStatus, ShardRecord, StreamMode, StreamRecord, StreamStatus,
};
pub use redb_store::RedbStore;
pub use store::{MetaError, MetaStore};
