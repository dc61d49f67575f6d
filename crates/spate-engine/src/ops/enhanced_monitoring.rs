//! What EnableEnhancedMonitoring and DisableEnhancedMonitoring share: their shapes and the
//! one change both make, to the stream's set of shard-level metrics.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::metrics::SHARD_LEVEL_METRICS;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_level_metrics: Vec<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub current_shard_level_metrics: Vec<String>,
    pub desired_shard_level_metrics: Vec<String>,
}

/// The metric names `requested` stands for, `ALL` expanded. The codec has already checked
/// each against the model's enum; this refuses anything else all the same, since the engine
/// is also used without it.
fn expand(requested: &[String]) -> ApiResult<Vec<&'static str>> {
    let mut names = Vec::new();
    for name in requested {
        if name == "ALL" {
            return Ok(SHARD_LEVEL_METRICS.to_vec());
        }
        let known = SHARD_LEVEL_METRICS
            .iter()
            .find(|m| **m == name)
            .ok_or_else(|| {
                ApiError::validation(
                    &format!("'[{}]'", requested.join(", ")),
                    "shardLevelMetrics",
                    &format!(
                        "Member must satisfy constraint: [Member must satisfy enum value set: [{}, ALL]]",
                        SHARD_LEVEL_METRICS.join(", ")
                    ),
                )
            })?;
        names.push(*known);
    }
    Ok(names)
}

impl Engine {
    /// Turns the requested shard-level metrics on (`enable`) or off, returning the set before
    /// and after. Series of metrics turned off are dropped from `/metrics` at once.
    pub(crate) async fn change_enhanced_monitoring(
        &self,
        ctx: &RequestContext,
        input: Input,
        enable: bool,
    ) -> ApiResult<Output> {
        if input.shard_level_metrics.is_empty() {
            return Err(ApiError::validation(
                "[]",
                "shardLevelMetrics",
                "Member must have length greater than or equal to 1",
            ));
        }
        let requested = expand(&input.shard_level_metrics)?;
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let (current, desired, arn, name) = self
            .mutate(&stream, |record| {
                Engine::require_active(record)?;
                let current = record.shard_level_metrics.clone();
                let on = |m: &&&str| {
                    let was = current.iter().any(|c| c == **m);
                    let asked = requested.contains(*m);
                    if enable { was || asked } else { was && !asked }
                };
                // Kept in AWS's order, whatever order they were asked for in.
                record.shard_level_metrics = SHARD_LEVEL_METRICS
                    .iter()
                    .filter(on)
                    .map(|m| (*m).to_owned())
                    .collect();
                Ok((
                    current,
                    record.shard_level_metrics.clone(),
                    Engine::stream_arn(record),
                    record.name.clone(),
                ))
            })
            .await?;
        if !enable {
            let off: Vec<&str> = current
                .iter()
                .filter(|m| !desired.contains(m))
                .map(String::as_str)
                .collect();
            self.inner
                .metrics
                .forget_shards(&stream.key, &stream.shard_indices(), &off);
        }
        Ok(Output {
            stream_name: name,
            stream_arn: arn,
            current_shard_level_metrics: current,
            desired_shard_level_metrics: desired,
        })
    }
}
