//! Output shapes that several operations share (Appendix A of the reference).

use serde::Serialize;
use spate_meta::{ShardRecord, StreamRecord};
use spate_types::sequence::{CLOSED_SHARD_COUNTER, SequenceNumber};
use spate_types::shard_id;

use crate::shapes::Timestamp;

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct HashKeyRange {
    pub starting_hash_key: String,
    pub ending_hash_key: String,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    pub starting_sequence_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending_sequence_number: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    pub shard_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjacent_parent_shard_id: Option<String>,
    pub hash_key_range: HashKeyRange,
    pub sequence_number_range: SequenceNumberRange,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ChildShard {
    pub shard_id: String,
    pub parent_shards: Vec<String>,
    pub hash_key_range: HashKeyRange,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    pub stream_mode: &'static str,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMetrics {
    pub shard_level_metrics: Vec<String>,
}

/// The sequence number of `counter` in `shard`, for a record that arrived at `arrival_ms`.
pub fn sequence_number(
    shard_created_ms: i64,
    shard_index: u32,
    counter: u64,
    arrival_ms: i64,
) -> String {
    sequence_fields(shard_created_ms, shard_index, counter, arrival_ms).to_decimal()
}

/// The fields of [`sequence_number`], for a reply writer to format.
pub fn sequence_fields(
    shard_created_ms: i64,
    shard_index: u32,
    counter: u64,
    arrival_ms: i64,
) -> SequenceNumber {
    SequenceNumber {
        shard_created_secs: (shard_created_ms / 1000) as u64,
        shard_index,
        counter,
        arrival_secs: (arrival_ms / 1000) as u64,
    }
}

/// A sequence number just below every record of `counter` in `shard`: the counter with no
/// arrival time (a real record always has one). `AFTER_SEQUENCE_NUMBER` of it starts at
/// `counter` itself, so it is the continuation of a subscription that has delivered nothing
/// yet, even at a shard's very first counter.
pub fn sequence_before(shard_created_ms: i64, shard_index: u32, counter: u64) -> String {
    SequenceNumber {
        shard_created_secs: (shard_created_ms / 1000) as u64,
        shard_index,
        counter,
        arrival_secs: 0,
    }
    .to_string()
}

pub fn hash_key_range(shard: &ShardRecord) -> HashKeyRange {
    HashKeyRange {
        starting_hash_key: shard.hash_start.to_string(),
        ending_hash_key: shard.hash_end.to_string(),
    }
}

pub fn shard(shard: &ShardRecord) -> Shard {
    Shard {
        shard_id: shard_id(shard.index),
        parent_shard_id: shard.parent.map(shard_id),
        adjacent_parent_shard_id: shard.adjacent_parent.map(shard_id),
        hash_key_range: hash_key_range(shard),
        sequence_number_range: SequenceNumberRange {
            starting_sequence_number: sequence_number(
                shard.created_ms,
                shard.index,
                shard.start_counter,
                shard.created_ms,
            ),
            ending_sequence_number: shard.closed_ms.map(|closed| {
                sequence_number(shard.created_ms, shard.index, CLOSED_SHARD_COUNTER, closed)
            }),
        },
    }
}

/// The shards a stream still lists: open ones, and closed ones with records in retention.
pub fn listed_shards<'a>(
    record: &'a StreamRecord,
    trim_horizon_ms: i64,
) -> impl Iterator<Item = &'a ShardRecord> + 'a {
    record
        .shards
        .iter()
        .filter(move |s| s.closed_ms.is_none_or(|closed| closed >= trim_horizon_ms))
}

/// The children of a closed shard, each listing all of its parents.
pub fn child_shards(record: &StreamRecord, parent: u32) -> Vec<ChildShard> {
    record
        .shards
        .iter()
        .filter(|s| s.parent == Some(parent) || s.adjacent_parent == Some(parent))
        .map(|s| ChildShard {
            shard_id: shard_id(s.index),
            parent_shards: s
                .parent
                .iter()
                .chain(s.adjacent_parent.iter())
                .map(|&p| shard_id(p))
                .collect(),
            hash_key_range: hash_key_range(s),
        })
        .collect()
}

pub fn stream_mode(record: &StreamRecord) -> StreamModeDetails {
    StreamModeDetails {
        stream_mode: record.mode.as_str(),
    }
}

pub fn enhanced_monitoring(record: &StreamRecord) -> Vec<EnhancedMetrics> {
    vec![EnhancedMetrics {
        shard_level_metrics: record.shard_level_metrics.clone(),
    }]
}

pub fn created(record: &StreamRecord) -> Timestamp {
    Timestamp(record.created_ms)
}
