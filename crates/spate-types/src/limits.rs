//! Limits that AWS Kinesis fixes for every account (not configurable in AWS either).

/// Default and maximum retention, in hours.
pub const MIN_RETENTION_HOURS: u32 = 24;
pub const MAX_RETENTION_HOURS: u32 = 8_760;

/// Default maximum record size (data + partition key), in KiB; streams may raise it to 10 MiB.
pub const DEFAULT_MAX_RECORD_SIZE_KIB: u32 = 1_024;

/// Records per PutRecords request.
pub const MAX_PUT_RECORDS_ENTRIES: usize = 500;
/// Total bytes (data + partition keys) of one PutRecords request.
pub const MAX_PUT_RECORDS_BYTES: usize = 10 * 1024 * 1024;

/// GetRecords caps per call.
pub const MAX_GET_RECORDS_LIMIT: usize = 10_000;
pub const MAX_GET_RECORDS_BYTES: usize = 10 * 1024 * 1024;

/// Shard iterators, NextTokens: lifetime in milliseconds.
pub const ITERATOR_TTL_MS: i64 = 300_000;
pub const NEXT_TOKEN_TTL_MS: i64 = 300_000;

/// Tags per stream.
pub const MAX_TAGS_PER_STREAM: usize = 50;

/// Streams that may be CREATING at once in one account and region.
pub const MAX_CREATING_STREAMS: usize = 5;

/// Shards of a new on-demand stream.
pub const ON_DEMAND_INITIAL_SHARDS: u32 = 4;

/// Page caps that AWS applies silently to larger requested limits.
pub const DESCRIBE_STREAM_MAX_SHARDS: usize = 100;
pub const LIST_STREAMS_MAX: usize = 100;
pub const LIST_SHARDS_MAX: usize = 1_000;

/// Enhanced fan-out consumers registered to one stream (Provisioned and On-demand Standard).
pub const MAX_CONSUMERS_PER_STREAM: usize = 20;
/// Consumers that may be CREATING at once in one account and region.
pub const MAX_CREATING_CONSUMERS: usize = 5;
/// ListStreamConsumers page cap.
pub const LIST_STREAM_CONSUMERS_MAX: usize = 100;
/// How long a subscription to a shard lasts before it ends normally (SubscribeToShard).
pub const SUBSCRIPTION_LIFETIME_MS: i64 = 300_000;
/// A second subscription to the same consumer and shard sooner than this after a successful
/// one is refused; later, it takes over.
pub const SUBSCRIPTION_TAKEOVER_MS: i64 = 5_000;
/// Enhanced fan-out read throughput per consumer per shard.
pub const SUBSCRIPTION_BYTES_PER_SEC: u64 = 2 * 1024 * 1024;
