//! Spate's domain vocabulary: the names, identifiers and numbers that Kinesis defines, with
//! their exact textual forms and arithmetic.
//!
//! This crate does no I/O and knows nothing of HTTP, codecs or storage. It is laid out by
//! concept: [`hash`] (128-bit hash keys, ranges and routing), [`shard`] (shard ids),
//! [`sequence`] (the 56-digit sequence-number layout), [`arn`] (stream and consumer ARNs) and
//! [`limits`] (the service's fixed limits).

pub mod arn;
pub mod hash;
pub mod limits;
#[cfg(target_arch = "x86_64")]
mod md5x;
pub mod sequence;
pub mod shard;

pub use arn::{ConsumerArn, StreamArn};
pub use hash::{HashKeyRange, parse_hash_key, partition_key_hash, partition_key_hashes};
pub use sequence::{SequenceFormatter, SequenceNumber};
pub use shard::{ShardId, shard_id};
