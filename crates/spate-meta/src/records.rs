//! The persisted metadata shapes. They are stored as JSON documents (see
//! `docs/on-disk-format.md`), so fields may be added with `#[serde(default)]` but never
//! renamed or repurposed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    Creating,
    Active,
    Updating,
    Deleting,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
            StreamStatus::Deleting => "DELETING",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

/// One stream incarnation. A stream deleted and created again under the same name is a new
/// record with a new `uid`, so stale iterators and sequence numbers can be told apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamRecord {
    /// Node-unique id of this incarnation; also the record log's stream key.
    pub uid: u64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub created_ms: i64,
    pub status: StreamStatus,
    /// When the current transitional status (CREATING, UPDATING, DELETING) ends. Persisted so
    /// a restart finishes the transition instead of leaving the stream stuck in it.
    pub status_due_ms: Option<i64>,
    pub mode: StreamMode,
    pub retention_hours: u32,
    pub shards: Vec<ShardRecord>,
    /// Index the next new shard gets; shard ids are never reused within a stream.
    pub next_shard_index: u32,
    pub tags: BTreeMap<String, String>,
    pub encryption_type: String,
    /// The key as the client named it (UUID, key ARN, alias or alias ARN).
    pub key_id: Option<String>,
    /// The resolved key's UUID while encryption is on: what new records are sealed under.
    #[serde(default)]
    pub key_uuid: Option<String>,
    /// When encryption was first started; from then on unsealed records say `NONE`.
    #[serde(default)]
    pub encrypted_since_ms: Option<i64>,
    /// Start/StopStreamEncryption times within the last 24 hours (AWS allows 25 changes).
    #[serde(default)]
    pub key_changes_ms: Vec<i64>,
    pub shard_level_metrics: Vec<String>,
    pub max_record_size_kib: u32,
    #[serde(default)]
    pub record_distribution_strategy: Option<String>,
    #[serde(default)]
    pub warm_throughput_mibps: Option<u32>,
    /// Records that arrived before this time stay gone even if retention grows again:
    /// raising retention never brings expired data back.
    #[serde(default)]
    pub trimmed_before_ms: Option<i64>,
    /// Enhanced fan-out consumers registered to this stream, oldest first. They live and die
    /// with the stream incarnation, so they are kept in its document.
    #[serde(default)]
    pub consumers: Vec<ConsumerRecord>,
    /// The resource-based policy attached with PutResourcePolicy, verbatim (GetResourcePolicy
    /// returns the text as given). Validated before it is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumerStatus {
    Creating,
    Active,
    Deleting,
}

impl ConsumerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerStatus::Creating => "CREATING",
            ConsumerStatus::Active => "ACTIVE",
            ConsumerStatus::Deleting => "DELETING",
        }
    }
}

/// One enhanced fan-out consumer of a stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsumerRecord {
    /// Unique among the stream's consumers.
    pub name: String,
    /// Registration time; its whole seconds end the consumer's ARN, which therefore differs
    /// from that of an earlier consumer of the same name.
    pub created_ms: i64,
    pub status: ConsumerStatus,
    /// When CREATING or DELETING ends. Persisted so a restart finishes the transition.
    #[serde(default)]
    pub status_due_ms: Option<i64>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The consumer's own resource-based policy, verbatim, as for streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

/// One shard of a stream, open or closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: u32,
    pub parent: Option<u32>,
    pub adjacent_parent: Option<u32>,
    /// Inclusive hash-key range, as decimal strings (JSON numbers cannot hold 128 bits).
    #[serde(with = "decimal_u128")]
    pub hash_start: u128,
    #[serde(with = "decimal_u128")]
    pub hash_end: u128,
    /// Creation time: its seconds are part of every sequence number of this shard.
    pub created_ms: i64,
    /// The first counter of this shard in the record log.
    pub start_counter: u64,
    /// When the shard was closed by a split or merge; open shards have none.
    pub closed_ms: Option<i64>,
}

mod decimal_u128 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
