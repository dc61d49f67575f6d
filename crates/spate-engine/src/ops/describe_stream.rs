//! DescribeStream: the stream and a page of its shards (the legacy listing).

use serde::{Deserialize, Serialize};
use spate_types::ShardId;
use spate_types::limits::DESCRIBE_STREAM_MAX_SHARDS;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::shapes::Timestamp;
use crate::views::{self, EnhancedMetrics, Shard, StreamModeDetails};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub limit: Option<usize>,
    pub exclusive_start_shard_id: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub stream_description: StreamDescription,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_status: &'static str,
    pub stream_mode_details: StreamModeDetails,
    pub shards: Vec<Shard>,
    pub has_more_shards: bool,
    pub retention_period_hours: u32,
    pub stream_creation_timestamp: Timestamp,
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    pub encryption_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl Engine {
    pub async fn describe_stream(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let after = match input.exclusive_start_shard_id.as_deref() {
            None => None,
            Some(text) => Some(ShardId::parse(text).ok_or_else(|| {
                ApiError::invalid_argument(format!("Invalid ExclusiveStartShardId: {text}"))
            })?),
        };
        let limit = input
            .limit
            .unwrap_or(DESCRIBE_STREAM_MAX_SHARDS)
            .min(DESCRIBE_STREAM_MAX_SHARDS);
        let state = stream.read();
        let record = &state.record;
        let mut listed = views::listed_shards(record, self.trim_horizon_ms(record))
            .filter(|s| after.is_none_or(|after| s.index > after.0))
            .peekable();
        let shards: Vec<Shard> = listed.by_ref().take(limit).map(views::shard).collect();
        let has_more_shards = listed.peek().is_some();
        Ok(Output {
            stream_description: StreamDescription {
                stream_name: record.name.clone(),
                stream_arn: Engine::stream_arn(record),
                stream_status: record.status.as_str(),
                stream_mode_details: views::stream_mode(record),
                shards,
                has_more_shards,
                retention_period_hours: record.retention_hours,
                stream_creation_timestamp: views::created(record),
                enhanced_monitoring: views::enhanced_monitoring(record),
                encryption_type: record.encryption_type.clone(),
                key_id: record.key_id.clone(),
            },
        })
    }
}
