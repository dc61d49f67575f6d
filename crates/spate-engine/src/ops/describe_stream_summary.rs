//! DescribeStreamSummary: the stream without its shards.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::shapes::Timestamp;
use crate::views::{self, EnhancedMetrics, StreamModeDetails};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub stream_description_summary: Summary,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_status: &'static str,
    pub stream_mode_details: StreamModeDetails,
    pub retention_period_hours: u32,
    pub stream_creation_timestamp: Timestamp,
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    pub encryption_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub open_shard_count: usize,
    pub consumer_count: usize,
    pub max_record_size_in_ki_b: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_distribution_strategy: Option<String>,
}

impl Engine {
    pub async fn describe_stream_summary(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let state = stream.read();
        let record = &state.record;
        Ok(Output {
            stream_description_summary: Summary {
                stream_name: record.name.clone(),
                stream_arn: Engine::stream_arn(record),
                stream_status: record.status.as_str(),
                stream_mode_details: views::stream_mode(record),
                retention_period_hours: record.retention_hours,
                stream_creation_timestamp: views::created(record),
                enhanced_monitoring: views::enhanced_monitoring(record),
                encryption_type: record.encryption_type.clone(),
                key_id: record.key_id.clone(),
                open_shard_count: state.routes.len(),
                consumer_count: record.consumers.len(),
                max_record_size_in_ki_b: record.max_record_size_kib,
                record_distribution_strategy: record.record_distribution_strategy.clone(),
            },
        })
    }
}
