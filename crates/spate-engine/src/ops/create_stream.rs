//! CreateStream: a provisioned stream of `ShardCount` shards, or an on-demand stream.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use spate_meta::{ShardRecord, StreamMode, StreamRecord, StreamStatus};
use spate_types::HashKeyRange;
use spate_types::limits::{
    DEFAULT_MAX_RECORD_SIZE_KIB, MAX_CREATING_STREAMS, MIN_RETENTION_HOURS,
    ON_DEMAND_INITIAL_SHARDS,
};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::tags::check_tags;
use crate::registry::{Stream, StreamKey};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: String,
    pub shard_count: Option<u32>,
    pub stream_mode_details: Option<StreamModeDetailsInput>,
    pub tags: Option<BTreeMap<String, String>>,
    pub warm_throughput_mi_bps: Option<u32>,
    pub max_record_size_in_ki_b: Option<u32>,
    pub record_distribution_strategy: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetailsInput {
    pub stream_mode: String,
}

pub fn parse_mode(details: Option<&StreamModeDetailsInput>) -> StreamMode {
    match details.map(|d| d.stream_mode.as_str()) {
        Some("ON_DEMAND") => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    }
}

impl Engine {
    pub async fn create_stream(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let key = StreamKey {
            account: ctx.account.clone(),
            region: ctx.region.clone(),
            name: input.stream_name.clone(),
        };
        self.authorize_stream(ctx, &key, self.registry().get(&key).as_deref())?;
        let mode = parse_mode(input.stream_mode_details.as_ref());
        let shard_count = match (mode, input.shard_count) {
            (StreamMode::Provisioned, Some(count)) => count,
            (StreamMode::Provisioned, None) => {
                return Err(ApiError::invalid_argument(
                    "ShardCount is required for a stream in PROVISIONED mode.",
                ));
            }
            (StreamMode::OnDemand, Some(_)) => {
                return Err(ApiError::new(
                    ErrorKind::Validation,
                    "ShardCount must not be specified for a stream in ON_DEMAND mode.",
                ));
            }
            (StreamMode::OnDemand, None) => ON_DEMAND_INITIAL_SHARDS,
        };
        if mode == StreamMode::Provisioned {
            if input.warm_throughput_mi_bps.is_some() {
                return Err(ApiError::invalid_argument(
                    "WarmThroughputMiBps can only be specified for a stream in ON_DEMAND mode.",
                ));
            }
            if input.record_distribution_strategy.as_deref() == Some("AUTO") {
                return Err(ApiError::invalid_argument(
                    "RecordDistributionStrategy AUTO can only be used by a stream in ON_DEMAND mode.",
                ));
            }
        }
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;

        let _control = self.inner.control.lock().await;
        if self.registry().get(&key).is_some() {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Stream {} under account {} already exists.",
                    key.name, key.account
                ),
            ));
        }
        self.check_stream_limits(&key, mode, shard_count)?;

        let now = self.now_ms();
        let delay = self.inner.config.create_stream_delay.as_millis() as i64;
        let uid = self.inner.meta.allocate_uid()?;
        let shards = HashKeyRange::ALL
            .split_evenly(shard_count)
            .into_iter()
            .zip(0..)
            .map(|(range, index)| ShardRecord {
                index,
                parent: None,
                adjacent_parent: None,
                hash_start: range.start,
                hash_end: range.end,
                created_ms: now,
                start_counter: 0,
                closed_ms: None,
            })
            .collect();
        let record = StreamRecord {
            uid,
            account: key.account.clone(),
            region: key.region.clone(),
            name: key.name.clone(),
            created_ms: now,
            status: if delay > 0 {
                StreamStatus::Creating
            } else {
                StreamStatus::Active
            },
            status_due_ms: (delay > 0).then_some(now + delay),
            mode,
            retention_hours: MIN_RETENTION_HOURS,
            shards,
            next_shard_index: shard_count,
            tags,
            encryption_type: "NONE".to_owned(),
            key_id: None,
            key_uuid: None,
            encrypted_since_ms: None,
            key_changes_ms: Vec::new(),
            shard_level_metrics: Vec::new(),
            max_record_size_kib: input
                .max_record_size_in_ki_b
                .unwrap_or(DEFAULT_MAX_RECORD_SIZE_KIB),
            record_distribution_strategy: input.record_distribution_strategy,
            warm_throughput_mibps: input.warm_throughput_mi_bps,
            trimmed_before_ms: None,
            consumers: Vec::new(),
            resource_policy: None,
        };
        // Shards are registered with the log before the stream is visible anywhere.
        self.attach_async(&record).await?;
        self.inner.meta.put_stream(&record)?;
        self.registry_mut()
            .insert(Arc::new(Stream::new(record.clone(), &self.inner.metrics)));
        if let Some(due) = record.status_due_ms {
            self.schedule_transition(uid, due);
        }
        Ok(())
    }

    fn check_stream_limits(
        &self,
        key: &StreamKey,
        mode: StreamMode,
        shard_count: u32,
    ) -> ApiResult<()> {
        let registry = self.registry();
        let mut open_shards: u64 = 0;
        let mut creating = 0;
        let mut on_demand = 0;
        for stream in registry.in_namespace(&key.account, &key.region) {
            let state = stream.read();
            let record = &state.record;
            if record.mode == StreamMode::Provisioned {
                open_shards += record
                    .shards
                    .iter()
                    .filter(|s| s.closed_ms.is_none())
                    .count() as u64;
            } else {
                on_demand += 1;
            }
            if record.status == StreamStatus::Creating {
                creating += 1;
            }
        }
        if creating >= MAX_CREATING_STREAMS {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Account {} has {creating} streams in CREATING status, the maximum allowed.",
                    key.account
                ),
            ));
        }
        let config = &self.inner.config;
        match mode {
            StreamMode::Provisioned
                if open_shards + u64::from(shard_count) > u64::from(config.shard_limit) =>
            {
                Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open_shards}. Limit: {}. Number of additional shards that would have resulted from this request: {shard_count}. Refer to the AWS Service Limits page for more information.",
                        key.account, key.region, config.shard_limit
                    ),
                ))
            }
            StreamMode::OnDemand if on_demand >= config.on_demand_stream_limit => {
                Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "This request would exceed the on-demand stream limit for the account {} in {}. Limit: {}.",
                        key.account, key.region, config.on_demand_stream_limit
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}
