//! MergeShards: closes two adjacent open shards and gives their union to one child.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::ops::resharding::{require_provisioned, shard_to_reshard};
use crate::reshard;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_to_merge: String,
    pub adjacent_shard_to_merge: String,
}

impl Engine {
    pub async fn merge_shards(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        self.reshard(&stream, |record, now| {
            Engine::require_active(record)?;
            require_provisioned(record, "MergeShards")?;
            let first = shard_to_reshard(record, &input.shard_to_merge)?;
            let second = shard_to_reshard(record, &input.adjacent_shard_to_merge)?;
            let adjacent = first.hash_end.checked_add(1) == Some(second.hash_start)
                || second.hash_end.checked_add(1) == Some(first.hash_start);
            if !adjacent || first.index == second.index {
                return Err(ApiError::invalid_argument(format!(
                    "Shards {} and {} in stream {} under account {} are not an adjacent pair of shards eligible for merging",
                    input.shard_to_merge, input.adjacent_shard_to_merge, record.name, record.account
                )));
            }
            reshard::merge(record, first.index, second.index, now);
            Ok(())
        })
        .await
    }
}
