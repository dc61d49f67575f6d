//! One Kinesis operation per file: its input and output shapes and its `Engine` method.
//! Files with shared rules (`tags`, `retention`, `consumers`, `enhanced_monitoring`,
//! `resource_policies`, `stream_encryption`) say so at the top.

pub mod add_tags_to_stream;
pub(crate) mod consumers;
pub mod create_stream;
pub mod delete_resource_policy;
pub mod delete_stream;
pub mod deregister_stream_consumer;
pub mod describe_limits;
pub mod describe_stream;
pub mod describe_stream_consumer;
pub mod describe_stream_summary;
pub mod disable_enhanced_monitoring;
pub mod enable_enhanced_monitoring;
pub(crate) mod enhanced_monitoring;
pub mod get_records;
pub mod get_resource_policy;
pub mod get_shard_iterator;
pub mod list_shards;
pub mod list_stream_consumers;
pub mod list_streams;
pub mod list_tags_for_resource;
pub mod list_tags_for_stream;
pub mod merge_shards;
pub mod put_record;
pub mod put_records;
pub mod put_resource_policy;
pub mod register_stream_consumer;
pub mod remove_tags_from_stream;
pub(crate) mod resharding;
pub(crate) mod resource_policies;
pub mod retention;
pub mod split_shard;
pub mod stream_encryption;
pub mod subscribe_to_shard;
pub mod tag_resource;
pub(crate) mod tags;
pub mod untag_resource;
pub mod update_max_record_size;
pub mod update_shard_count;
pub mod update_stream_mode;
