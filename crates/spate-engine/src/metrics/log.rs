//! The record log's counters (`spate_log_*`), read from [`spate_log::Log::stats`] on each
//! scrape rather than kept twice.

use prometheus_client::encoding::EncodeMetric;
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

/// The record log's counters, read on each scrape.
pub(super) struct LogCollector(pub(super) spate_log::Log);

impl std::fmt::Debug for LogCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogCollector")
    }
}

impl prometheus_client::collector::Collector for LogCollector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        histogram(
            &mut encoder,
            "log_sync_seconds",
            "Journal fdatasync latency",
            stats.sync_time.as_secs_f64(),
            &spate_log::SYNC_SECONDS_BOUNDS,
            &stats.sync_buckets,
        )?;
        histogram(
            &mut encoder,
            "log_group_commit_records",
            "Records per group commit (one journal write and at most one sync)",
            stats.group_records as f64,
            &spate_log::GROUP_RECORDS_BOUNDS,
            &stats.group_buckets,
        )?;
        let bytes = ConstCounter::new(stats.journal_bytes);
        let metric = encoder.encode_descriptor(
            "log_journal_bytes",
            "Bytes appended to the journal",
            None,
            bytes.metric_type(),
        )?;
        bytes.encode(metric)?;
        let poisoned =
            prometheus_client::metrics::gauge::ConstGauge::new(i64::from(stats.poisoned));
        let metric = encoder.encode_descriptor(
            "log_poisoned",
            "1 once a failed write or sync has made the log refuse writes",
            None,
            poisoned.metric_type(),
        )?;
        poisoned.encode(metric)
    }
}

/// A histogram from per-bucket counts over `bounds`, the last count being above them all.
fn histogram(
    encoder: &mut prometheus_client::encoding::DescriptorEncoder,
    name: &str,
    help: &str,
    sum: f64,
    bounds: &[f64],
    counts: &[u64],
) -> Result<(), std::fmt::Error> {
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::MAX))
        .zip(counts.iter().copied())
        .collect();
    let count = counts.iter().sum();
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    metric.encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, &buckets, None)
}
