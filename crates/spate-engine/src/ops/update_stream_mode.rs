//! UpdateStreamMode: switches a stream between PROVISIONED and ON_DEMAND capacity.

use serde::Deserialize;
use spate_meta::{StreamMode, StreamStatus};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::create_stream::{StreamModeDetailsInput, parse_mode};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_mode_details: StreamModeDetailsInput,
    pub warm_throughput_mi_bps: Option<u32>,
}

impl Engine {
    pub async fn update_stream_mode(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve(ctx, None, Some(&input.stream_arn))?;
        let mode = parse_mode(Some(&input.stream_mode_details));
        if mode == StreamMode::Provisioned && input.warm_throughput_mi_bps.is_some() {
            return Err(ApiError::invalid_argument(
                "WarmThroughputMiBps can only be specified when switching to ON_DEMAND mode.",
            ));
        }
        if mode == StreamMode::OnDemand {
            let on_demand = self
                .registry()
                .in_namespace(&stream.key.account, &stream.key.region)
                .filter(|s| s.read().record.mode == StreamMode::OnDemand)
                .count();
            if on_demand as u32 >= self.inner.config.on_demand_stream_limit {
                return Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "This request would exceed the on-demand stream limit for the account {}. Limit: {}.",
                        stream.key.account, self.inner.config.on_demand_stream_limit
                    ),
                ));
            }
        }
        let delay = self.inner.config.update_stream_delay.as_millis() as i64;
        let now = self.now_ms();
        let due = self
            .mutate(&stream, |record| {
                Engine::require_active(record)?;
                if record.mode == mode {
                    return Err(ApiError::invalid_argument(format!(
                        "Stream {} under account {} is already in {} mode.",
                        record.name,
                        record.account,
                        mode.as_str()
                    )));
                }
                record.mode = mode;
                record.warm_throughput_mibps = input.warm_throughput_mi_bps;
                if delay > 0 {
                    record.status = StreamStatus::Updating;
                    record.status_due_ms = Some(now + delay);
                }
                Ok(record.status_due_ms)
            })
            .await?;
        if let Some(due) = due {
            self.schedule_transition(stream.uid, due);
        }
        Ok(())
    }
}
