//! IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod (one file: they are
//! mirror images with one shared rule set).

use std::time::Duration;

use serde::Deserialize;
use spate_types::limits::{MAX_RETENTION_HOURS, MIN_RETENTION_HOURS};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub retention_period_hours: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Increase,
    Decrease,
}

impl Engine {
    pub async fn increase_stream_retention_period(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        self.change_retention(ctx, input, Direction::Increase).await
    }

    pub async fn decrease_stream_retention_period(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        self.change_retention(ctx, input, Direction::Decrease).await
    }

    async fn change_retention(
        &self,
        ctx: &RequestContext,
        input: Input,
        direction: Direction,
    ) -> ApiResult<()> {
        let hours = input.retention_period_hours;
        if hours < i64::from(MIN_RETENTION_HOURS) {
            return Err(ApiError::invalid_argument(format!(
                "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short."
            )));
        }
        if hours > i64::from(MAX_RETENTION_HOURS) {
            return Err(ApiError::invalid_argument(format!(
                "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long."
            )));
        }
        let hours = hours as u32;
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        self.mutate(&stream, |record| {
            Engine::require_active(record)?;
            let current = record.retention_hours;
            match direction {
                Direction::Increase if hours < current => Err(ApiError::invalid_argument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.",
                    record.name
                ))),
                Direction::Decrease if hours > current => Err(ApiError::invalid_argument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.",
                    record.name
                ))),
                _ => {
                    // What has expired under the old period stays expired.
                    let horizon = self.trim_horizon_ms(record);
                    record.trimmed_before_ms = Some(horizon);
                    record.retention_hours = hours;
                    Ok(())
                }
            }
        })
        .await?;
        let retention = self.retention_ms(hours);
        self.inner
            .log
            .set_retention(stream.uid, Duration::from_millis(retention as u64));
        Ok(())
    }
}
