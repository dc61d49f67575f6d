//! UpdateShardCount: rescales a provisioned stream to N uniform open shards through real
//! splits and merges, so every new shard has valid lineage.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::resharding::{check_open_shard_limit, require_provisioned};
use crate::reshard;

/// AWS's cap on open shards in one stream.
const MAX_SHARDS_PER_STREAM: u32 = 10_000;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub target_shard_count: u32,
    pub scaling_type: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub stream_name: String,
    pub current_shard_count: u32,
    pub target_shard_count: u32,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

fn limit_exceeded(message: String) -> ApiError {
    ApiError::new(ErrorKind::LimitExceeded, message)
}

impl Engine {
    pub async fn update_shard_count(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let target = input.target_shard_count;
        let limit = self.inner.config.shard_limit;
        let open_in_account = self.open_shards_in_account(&stream.key.account, &stream.key.region);
        let current = self
            .reshard(&stream, |record, now| {
                Engine::require_active(record)?;
                require_provisioned(record, "UpdateShardCount")?;
                let current = reshard::open_shards(record).len() as u32;
                let counts = format!("Current open shard count: {current}, Target shard count: {target}");
                if target > MAX_SHARDS_PER_STREAM {
                    return Err(limit_exceeded(format!(
                        "Target shard count or number of open shards cannot be greater than {MAX_SHARDS_PER_STREAM}. {counts}"
                    )));
                }
                if u64::from(target) > 2 * u64::from(current) {
                    return Err(limit_exceeded(format!(
                        "UpdateShardCount cannot scale up over double your current open shard count. {counts}"
                    )));
                }
                if 2 * u64::from(target) < u64::from(current) {
                    return Err(limit_exceeded(format!(
                        "UpdateShardCount cannot scale down below half your current open shard count. {counts}"
                    )));
                }
                check_open_shard_limit(record, open_in_account, u64::from(target.saturating_sub(current)), limit)?;
                // Last: it counts a rescale against the rolling daily quota.
                self.check_rescale_quota(&stream)?;
                if target != current {
                    reshard::rescale_uniformly(record, target, now);
                }
                Ok(current)
            })
            .await?;
        Ok(Output {
            stream_name: stream.key.name.clone(),
            current_shard_count: current,
            target_shard_count: target,
            stream_arn: Engine::stream_arn(&stream.read().record),
        })
    }
}
