//! AWS's throughput and rate limits, opt-in (`EngineConfig::limits`). Off by default: an
//! emulator that throttles surprises people; one that can throttle lets them test back-off.
//!
//! Layout: [`bucket`] the token bucket, over time the caller passes in (the engine's
//! [`Clock`](crate::Clock)); [`shard`] per-shard write and read budgets, one mutex per side
//! of a shard and no lock shared between shards on the data path; [`control`] the
//! control-plane rates and UpdateShardCount's rolling quota. The `impl Engine` here is what
//! operations and the server call.

pub mod bucket;
pub mod control;
pub mod shard;

use std::collections::HashMap;
use std::sync::Arc;

use spate_log::ShardKey;
use spate_types::shard_id;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::registry::Stream;

use self::control::{ControlMeters, RESCALES_PER_WINDOW, Scope, control_rate};
use self::shard::{ShardMeter, ShardMeters};

/// Which streams have AWS's limits enforced.
#[derive(Clone, Debug, Default)]
pub struct LimitsConfig {
    /// Enforce limits on every stream, and the per-account control-plane rates.
    pub enforce: bool,
    /// Per-stream exceptions to `enforce`, by stream name: `true` enforces the per-shard and
    /// per-stream limits of that stream even when `enforce` is off; `false` exempts it.
    pub streams: HashMap<String, bool>,
}

/// The live budgets.
pub(crate) struct Limits {
    config: LimitsConfig,
    shards: ShardMeters,
    control: ControlMeters,
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Limits {
        Limits {
            config,
            shards: ShardMeters::default(),
            control: ControlMeters::default(),
        }
    }

    /// Whether the per-shard and per-stream limits apply to the stream called `name`.
    pub fn enforced_for(&self, name: &str) -> bool {
        self.config
            .streams
            .get(name)
            .copied()
            .unwrap_or(self.config.enforce)
    }
}

/// AWS's message for a shard over its throughput.
pub(crate) fn throughput_exceeded(shard_index: u32, stream: &str, account: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ProvisionedThroughputExceeded,
        format!(
            "Rate exceeded for shard {} in stream {stream} under account {account}.",
            shard_id(shard_index)
        ),
    )
}

impl Engine {
    /// The budgets of one shard of `stream`, or `None` when limits are not enforced for it.
    pub(crate) fn shard_meter(&self, stream: &Stream, shard_index: u32) -> Option<Arc<ShardMeter>> {
        let limits = &self.inner.limits;
        limits.enforced_for(&stream.key.name).then(|| {
            limits.shards.get(
                ShardKey {
                    stream: stream.uid,
                    shard: shard_index,
                },
                self.now_ms(),
            )
        })
    }

    /// Admits one record of `bytes` (data plus partition key) to a shard of `stream`.
    pub(crate) fn admit_write(
        &self,
        stream: &Stream,
        shard_index: u32,
        bytes: usize,
    ) -> ApiResult<()> {
        match self.shard_meter(stream, shard_index) {
            Some(meter) if !meter.admit_write(bytes, self.now_ms()) => Err(throughput_exceeded(
                shard_index,
                &stream.key.name,
                &stream.key.account,
            )),
            _ => Ok(()),
        }
    }

    /// Admits one GetRecords call on a shard; the caller charges the response's size with
    /// [`Engine::charge_read`] once it knows it.
    pub(crate) fn admit_read(
        &self,
        stream: &Stream,
        shard_index: u32,
    ) -> ApiResult<Option<Arc<ShardMeter>>> {
        let Some(meter) = self.shard_meter(stream, shard_index) else {
            return Ok(None);
        };
        if meter.admit_read(self.now_ms()) {
            Ok(Some(meter))
        } else {
            Err(throughput_exceeded(
                shard_index,
                &stream.key.name,
                &stream.key.account,
            ))
        }
    }

    pub(crate) fn charge_read(&self, meter: Option<&ShardMeter>, bytes: usize) {
        if let Some(meter) = meter {
            meter.charge_read(bytes, self.now_ms());
        }
    }

    /// Admits one GetShardIterator call on a shard (5 a second per shard).
    pub(crate) fn admit_iterator(&self, stream: &Stream, shard_index: u32) -> ApiResult<()> {
        match self.shard_meter(stream, shard_index) {
            Some(meter) if !meter.admit_iterator(self.now_ms()) => Err(throughput_exceeded(
                shard_index,
                &stream.key.name,
                &stream.key.account,
            )),
            _ => Ok(()),
        }
    }

    /// What the server does with every request before its operation runs: injected faults
    /// (latency, then perhaps a failure), then the control-plane rate limits.
    pub async fn admit(
        &self,
        ctx: &RequestContext,
        operation: &str,
        stream: Option<&str>,
    ) -> ApiResult<()> {
        let data_plane = control_rate(operation).is_none();
        self.inner.faults.before_call(operation, data_plane).await?;
        self.admit_control(ctx, operation, stream)
    }

    /// The control-plane rate limits, checked by the server before every operation.
    /// `stream` is the stream the request names, if any (per-stream limits count per
    /// stream; per-account ones only name it in the message). Data-plane operations pass:
    /// they are limited per shard, inside the operation.
    pub fn admit_control(
        &self,
        ctx: &RequestContext,
        operation: &str,
        stream: Option<&str>,
    ) -> ApiResult<()> {
        let Some((_, scope)) = control_rate(operation) else {
            return Ok(());
        };
        let limits = &self.inner.limits;
        let enforced = match scope {
            Scope::Account => limits.config.enforce,
            Scope::Stream => stream.map_or(limits.config.enforce, |s| limits.enforced_for(s)),
        };
        if !enforced
            || limits
                .control
                .admit(&ctx.account, &ctx.region, operation, stream, self.now_ms())
        {
            return Ok(());
        }
        let account = &ctx.account;
        Err(ApiError::new(
            ErrorKind::LimitExceeded,
            match stream {
                Some(stream) => {
                    format!("Rate exceeded for stream {stream} under account {account}.")
                }
                None => format!("Rate exceeded for {operation} under account {account}."),
            },
        ))
    }

    /// UpdateShardCount's quota: at most 10 rescales of a stream in any rolling 24 hours,
    /// when limits are enforced for it. Takes one of the 10 on success, so call it once the
    /// request is otherwise known to be valid, just before rescaling. The history is kept in
    /// memory: a restart forgets it.
    pub(crate) fn check_rescale_quota(&self, stream: &Stream) -> ApiResult<()> {
        let limits = &self.inner.limits;
        if !limits.enforced_for(&stream.key.name)
            || limits.control.take_rescale(stream.uid, self.now_ms())
        {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorKind::LimitExceeded,
            format!(
                "Stream {} under account {} has been rescaled {RESCALES_PER_WINDOW} times in the last 24 hours, the most UpdateShardCount allows in a rolling 24-hour period.",
                stream.key.name, stream.key.account
            ),
        ))
    }
}
