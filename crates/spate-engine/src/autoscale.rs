//! On-demand scaling: the service, not the user, reshards ON_DEMAND streams.
//!
//! Policy: every `interval`, each shard of an ACTIVE on-demand stream reports the bytes
//! (data plus partition keys) and records written to it since the last look. A shard whose
//! rate passed either per-shard threshold (by default AWS's per-shard write capacity,
//! 1 MiB/s or 1,000 records/s) for `sustained_intervals` looks in a row is split at the
//! middle of its hash range, the hottest shards first, at most `max_splits_per_interval`
//! per stream per look, within the stream's 10,000-shard cap. Streams never scale in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use spate_meta::{StreamMode, StreamStatus};

use crate::engine::Engine;
use crate::registry::Stream;
use crate::reshard;

/// When on-demand streams split their hot shards.
#[derive(Clone, Debug)]
pub struct OnDemandScaling {
    /// How often write rates are looked at; zero turns scaling off.
    pub interval: Duration,
    pub shard_bytes_per_sec: u64,
    pub shard_records_per_sec: u64,
    /// Looks in a row a shard must be over a threshold before it is split.
    pub sustained_intervals: u32,
    pub max_splits_per_interval: usize,
}

impl Default for OnDemandScaling {
    fn default() -> OnDemandScaling {
        OnDemandScaling {
            interval: Duration::from_secs(30),
            shard_bytes_per_sec: 1 << 20,
            shard_records_per_sec: 1_000,
            sustained_intervals: 2,
            max_splits_per_interval: 4,
        }
    }
}

/// Writes to one shard since the last look, and how many looks in a row it was hot.
#[derive(Default)]
struct ShardLoad {
    bytes: u64,
    records: u64,
    hot_streak: u32,
}

/// Write load per shard of one stream. Only on-demand streams record it.
#[derive(Default)]
pub(crate) struct WriteLoad(Mutex<HashMap<u32, ShardLoad>>);

impl WriteLoad {
    pub(crate) fn record(&self, shard: u32, records: u64, bytes: u64) {
        let mut load = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = load.entry(shard).or_default();
        entry.bytes += bytes;
        entry.records += records;
    }

    /// Takes the load since the last look and returns the shards hot for long enough,
    /// hottest (by share of its threshold) first.
    fn hot_shards(&self, policy: &OnDemandScaling, elapsed: Duration) -> Vec<u32> {
        let secs = elapsed.as_secs_f64().max(0.001);
        let mut load = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut hot = Vec::new();
        for (&shard, entry) in load.iter_mut() {
            let heat = (entry.bytes as f64 / secs / policy.shard_bytes_per_sec.max(1) as f64)
                .max(entry.records as f64 / secs / policy.shard_records_per_sec.max(1) as f64);
            entry.hot_streak = if heat > 1.0 { entry.hot_streak + 1 } else { 0 };
            entry.bytes = 0;
            entry.records = 0;
            if entry.hot_streak >= policy.sustained_intervals {
                hot.push((heat, shard));
            }
        }
        hot.sort_by(|a, b| b.0.total_cmp(&a.0));
        hot.into_iter().map(|(_, shard)| shard).collect()
    }

    fn forget(&self, shard: u32) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&shard);
    }
}

/// AWS's cap on open shards in one stream.
const MAX_SHARDS_PER_STREAM: usize = 10_000;

impl Engine {
    /// Starts the scaling loop, if scaling is on. Must run inside a tokio runtime.
    pub(crate) fn start_on_demand_scaling(&self) {
        let interval = self.inner.config.on_demand_scaling.interval;
        if interval.is_zero() {
            return;
        }
        let engine = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                // The loop ends with the engine.
                let Some(inner) = engine.upgrade() else {
                    return;
                };
                Engine { inner }.scale_on_demand_streams(interval).await;
            }
        });
    }

    async fn scale_on_demand_streams(&self, elapsed: Duration) {
        let policy = self.inner.config.on_demand_scaling.clone();
        let streams: Vec<std::sync::Arc<Stream>> = self.registry().all().cloned().collect();
        for stream in streams {
            let (mode, status) = {
                let state = stream.read();
                (state.record.mode, state.record.status)
            };
            if mode != StreamMode::OnDemand {
                continue;
            }
            let hot = stream.write_load.hot_shards(&policy, elapsed);
            if hot.is_empty() || status != StreamStatus::Active {
                continue;
            }
            let result = self
                .reshard_quietly(&stream, |record, now| {
                    let open = reshard::open_shards(record);
                    let mut splits = 0;
                    for shard in hot
                        .iter()
                        .filter_map(|i| open.iter().find(|s| s.index == *i))
                    {
                        if splits == policy.max_splits_per_interval
                            || open.len() + splits >= MAX_SHARDS_PER_STREAM
                        {
                            break;
                        }
                        // A shard of one key cannot be split further.
                        if shard.hash_end - shard.hash_start < 2 {
                            continue;
                        }
                        let middle = shard.hash_start + (shard.hash_end - shard.hash_start) / 2 + 1;
                        reshard::split(record, shard.index, middle, now);
                        splits += 1;
                    }
                    Ok(splits)
                })
                .await;
            match result {
                Ok(splits) if splits > 0 => {
                    tracing::info!(stream = %stream.key.name, splits, "on-demand stream scaled out");
                    for shard in hot {
                        stream.write_load.forget(shard);
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, stream = %stream.key.name, "on-demand scaling failed")
                }
            }
        }
    }
}
