//! A stream's cached series and the shard-level ones enhanced monitoring turns on.

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::{Metrics, SHARD_LEVEL_METRICS, StreamLabels, shard_labels};

/// One stream's series, cached in its registry entry so the data path only adds to atomics.
/// Field names follow [`StreamFamilies`].
pub struct StreamMetrics {
    pub(crate) incoming_bytes: Counter,
    pub(crate) incoming_records: Counter,
    pub(crate) put_record_bytes: Counter,
    pub(crate) put_record_success: Counter,
    pub(crate) put_record_latency: Histogram,
    pub(crate) put_records_bytes: Counter,
    pub(crate) put_records_success: Counter,
    pub(crate) put_records_latency: Histogram,
    pub(crate) put_records_total_records: Counter,
    pub(crate) put_records_successful_records: Counter,
    pub(crate) put_records_failed_records: Counter,
    pub(crate) put_records_throttled_records: Counter,
    pub(crate) get_records_bytes: Counter,
    pub(crate) get_records_records: Counter,
    pub(crate) get_records_success: Counter,
    pub(crate) get_records_latency: Histogram,
    pub(crate) get_records_iterator_age: Gauge,
    pub(crate) read_throughput_exceeded: Counter,
    pub(crate) write_throughput_exceeded: Counter,
    pub(crate) subscribe_event_bytes: Counter,
    pub(crate) subscribe_event_records: Counter,
    pub(crate) subscribe_millis_behind: Gauge,
    pub(crate) subscribe_success: Counter,
    pub(crate) subscribe_rate_exceeded: Counter,
    pub(crate) subscribe_event_success: Counter,
    pub(crate) disk_bytes: Gauge,
    pub(super) labels: StreamLabels,
    /// For shard-level series, created on first use.
    pub(super) owner: Arc<Metrics>,
}

/// Which shard-level metrics a stream has enabled, decoded once per call from its record.
#[derive(Clone, Copy, Default)]
pub(crate) struct Enabled(u8);

impl Enabled {
    pub(crate) fn of(names: &[String]) -> Enabled {
        Enabled(
            SHARD_LEVEL_METRICS
                .iter()
                .enumerate()
                .filter(|(_, m)| names.iter().any(|n| n == *m))
                .fold(0, |bits, (i, _)| bits | 1 << i),
        )
    }

    fn has(self, metric: usize) -> bool {
        self.0 & (1 << metric) != 0
    }
}

impl StreamMetrics {
    pub(crate) fn shard_write(&self, enabled: Enabled, shard: u32, records: u64, bytes: u64) {
        if enabled.0 == 0 {
            return;
        }
        let l = shard_labels(&self.labels, shard);
        let sh = &self.owner.shards;
        if enabled.has(0) {
            sh.incoming_bytes.get_or_create(&l).inc_by(bytes);
        }
        if enabled.has(1) {
            sh.incoming_records.get_or_create(&l).inc_by(records);
        }
    }

    pub(crate) fn shard_read(
        &self,
        enabled: Enabled,
        shard: u32,
        records: u64,
        bytes: u64,
        iterator_age_ms: i64,
    ) {
        if enabled.0 == 0 {
            return;
        }
        let l = shard_labels(&self.labels, shard);
        let sh = &self.owner.shards;
        if enabled.has(2) {
            sh.outgoing_bytes.get_or_create(&l).inc_by(bytes);
        }
        if enabled.has(3) {
            sh.outgoing_records.get_or_create(&l).inc_by(records);
        }
        if enabled.has(6) {
            sh.iterator_age.get_or_create(&l).set(iterator_age_ms);
        }
    }

    /// A write refused by the shard's throughput limit.
    pub(crate) fn write_throttled(&self, enabled: Enabled, shard: u32) {
        self.write_throughput_exceeded.inc();
        if enabled.has(4) {
            let l = shard_labels(&self.labels, shard);
            self.owner
                .shards
                .write_throughput_exceeded
                .get_or_create(&l)
                .inc();
        }
    }

    /// A read refused by the shard's throughput limit.
    pub(crate) fn read_throttled(&self, enabled: Enabled, shard: u32) {
        self.read_throughput_exceeded.inc();
        if enabled.has(5) {
            let l = shard_labels(&self.labels, shard);
            self.owner
                .shards
                .read_throughput_exceeded
                .get_or_create(&l)
                .inc();
        }
    }
}
