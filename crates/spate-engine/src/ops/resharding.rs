//! Rules the resharding operations share (SplitShard, MergeShards, UpdateShardCount).

use spate_meta::{ShardRecord, StreamMode, StreamRecord};
use spate_types::shard_id;

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::split_shard::parse_shard;

/// On-demand streams are resharded by the service, never by the user.
pub(crate) fn require_provisioned(record: &StreamRecord, operation: &str) -> ApiResult<()> {
    if record.mode == StreamMode::OnDemand {
        return Err(ApiError::new(
            ErrorKind::Validation,
            format!(
                "{operation} is not supported for stream {} under account {} because it is in ON_DEMAND capacity mode.",
                record.name, record.account
            ),
        ));
    }
    Ok(())
}

/// The open shard a resharding request names.
pub(crate) fn shard_to_reshard(record: &StreamRecord, text: &str) -> ApiResult<ShardRecord> {
    let shard = parse_shard(text)
        .and_then(|index| record.shards.iter().find(|s| s.index == index))
        .ok_or_else(|| ApiError::shard_not_found(text, &record.name, &record.account))?;
    if shard.closed_ms.is_some() {
        return Err(ApiError::invalid_argument(format!(
            "Shard {} in stream {} under account {} has already been merged or split, and thus is not eligible for merging or splitting.",
            shard_id(shard.index),
            record.name,
            record.account
        )));
    }
    Ok(shard.clone())
}

/// Refuses a reshard that would open `added` more shards than the account may have.
/// `open_in_account` counts the account's open provisioned shards, this stream's included.
pub(crate) fn check_open_shard_limit(
    record: &StreamRecord,
    open_in_account: u64,
    added: u64,
    limit: u32,
) -> ApiResult<()> {
    if open_in_account + added > u64::from(limit) {
        return Err(ApiError::new(
            ErrorKind::LimitExceeded,
            format!(
                "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open_in_account}. Limit: {limit}. Number of additional shards that would have resulted from this request: {added}. Refer to the AWS Service Limits page for more information.",
                record.account, record.region
            ),
        ));
    }
    Ok(())
}

impl Engine {
    /// Open shards of provisioned streams in an account and region.
    pub(crate) fn open_shards_in_account(&self, account: &str, region: &str) -> u64 {
        self.registry()
            .in_namespace(account, region)
            .map(|stream| {
                let state = stream.read();
                if state.record.mode == StreamMode::Provisioned {
                    state.routes.len() as u64
                } else {
                    0
                }
            })
            .sum()
    }
}
