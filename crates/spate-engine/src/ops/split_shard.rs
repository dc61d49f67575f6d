//! SplitShard: closes an open shard and gives its range to two new children.

use serde::Deserialize;
use spate_types::{ShardId, parse_hash_key, shard_id};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::ops::resharding::{check_open_shard_limit, require_provisioned, shard_to_reshard};
use crate::reshard;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_to_split: String,
    pub new_starting_hash_key: String,
}

impl Engine {
    pub async fn split_shard(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let key = parse_hash_key(&input.new_starting_hash_key).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "NewStartingHashKey {} used in SplitShard() is not a hash key in the range [0, 2^128-1].",
                input.new_starting_hash_key
            ))
        })?;
        let limit = self.inner.config.shard_limit;
        let open_in_account = self.open_shards_in_account(&stream.key.account, &stream.key.region);
        self.reshard(&stream, |record, now| {
            Engine::require_active(record)?;
            require_provisioned(record, "SplitShard")?;
            let shard = shard_to_reshard(record, &input.shard_to_split)?;
            if !(key > shard.hash_start.saturating_add(1) && key < shard.hash_end) {
                return Err(ApiError::invalid_argument(format!(
                    "NewStartingHashKey {key} used in SplitShard() on shard {} in stream {} under account {} is not both greater than one plus the shard's StartingHashKey {} and less than the shard's EndingHashKey {}.",
                    shard_id(shard.index),
                    record.name,
                    record.account,
                    shard.hash_start,
                    shard.hash_end
                )));
            }
            check_open_shard_limit(record, open_in_account, 1, limit)?;
            reshard::split(record, shard.index, key, now);
            Ok(())
        })
        .await
    }
}

/// Parses a shard id as the resharding operations accept it.
pub(crate) fn parse_shard(text: &str) -> Option<u32> {
    ShardId::parse(text).map(|id| id.0)
}
