//! Prometheus metrics named after CloudWatch's Kinesis metrics (`PutRecords.Latency` becomes
//! `kinesis_put_records_latency_seconds`; the full mapping is in `docs/operations.md`).
//!
//! Each [`Engine`](crate::Engine) owns its own [`Metrics`] registry, never a global one, so
//! several servers in one process (tests) keep apart. The data path touches only atomics:
//! every stream caches a [`StreamMetrics`] of its series when it is loaded or created, and
//! shard-level series (enhanced monitoring) are looked up only for streams that enabled them.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::registry::StreamKey;

mod log;
mod stream;

pub(crate) use stream::Enabled;
pub use stream::StreamMetrics;

/// The shard-level metric names EnableEnhancedMonitoring accepts (besides `ALL`).
pub const SHARD_LEVEL_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    pub account: String,
    pub region: String,
    pub stream: String,
}

impl StreamLabels {
    fn of(key: &StreamKey) -> StreamLabels {
        StreamLabels {
            account: key.account.clone(),
            region: key.region.clone(),
            stream: key.name.clone(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabels {
    pub account: String,
    pub region: String,
    pub stream: String,
    pub shard: String,
}

type Latency = Family<StreamLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Every stream-level family, one field per CloudWatch metric.
struct StreamFamilies {
    incoming_bytes: Family<StreamLabels, Counter>,
    incoming_records: Family<StreamLabels, Counter>,
    put_record_bytes: Family<StreamLabels, Counter>,
    put_record_success: Family<StreamLabels, Counter>,
    put_record_latency: Latency,
    put_records_bytes: Family<StreamLabels, Counter>,
    put_records_success: Family<StreamLabels, Counter>,
    put_records_latency: Latency,
    put_records_total_records: Family<StreamLabels, Counter>,
    put_records_successful_records: Family<StreamLabels, Counter>,
    put_records_failed_records: Family<StreamLabels, Counter>,
    put_records_throttled_records: Family<StreamLabels, Counter>,
    get_records_bytes: Family<StreamLabels, Counter>,
    get_records_records: Family<StreamLabels, Counter>,
    get_records_success: Family<StreamLabels, Counter>,
    get_records_latency: Latency,
    get_records_iterator_age: Family<StreamLabels, Gauge>,
    read_throughput_exceeded: Family<StreamLabels, Counter>,
    write_throughput_exceeded: Family<StreamLabels, Counter>,
    subscribe_event_bytes: Family<StreamLabels, Counter>,
    subscribe_event_records: Family<StreamLabels, Counter>,
    subscribe_millis_behind: Family<StreamLabels, Gauge>,
    subscribe_success: Family<StreamLabels, Counter>,
    subscribe_rate_exceeded: Family<StreamLabels, Counter>,
    subscribe_event_success: Family<StreamLabels, Counter>,
    /// Not CloudWatch's: the stream's share of the record log on disk (`spate_` prefix).
    disk_bytes: Family<StreamLabels, Gauge>,
}

/// The seven enhanced-monitoring families, labelled by shard too.
#[derive(Default)]
struct ShardFamilies {
    incoming_bytes: Family<ShardLabels, Counter>,
    incoming_records: Family<ShardLabels, Counter>,
    outgoing_bytes: Family<ShardLabels, Counter>,
    outgoing_records: Family<ShardLabels, Counter>,
    write_throughput_exceeded: Family<ShardLabels, Counter>,
    read_throughput_exceeded: Family<ShardLabels, Counter>,
    iterator_age: Family<ShardLabels, Gauge>,
}

/// One engine's metrics.
pub struct Metrics {
    /// Behind a mutex only so the server can add its own series after the engine is built;
    /// taken once per registration and once per scrape, never on the data path.
    registry: Mutex<Registry>,
    streams: StreamFamilies,
    shards: ShardFamilies,
}

impl Metrics {
    pub(crate) fn new(log: spate_log::Log) -> Arc<Metrics> {
        let streams = StreamFamilies {
            incoming_bytes: Family::default(),
            incoming_records: Family::default(),
            put_record_bytes: Family::default(),
            put_record_success: Family::default(),
            put_record_latency: Family::new_with_constructor(latency_histogram),
            put_records_bytes: Family::default(),
            put_records_success: Family::default(),
            put_records_latency: Family::new_with_constructor(latency_histogram),
            put_records_total_records: Family::default(),
            put_records_successful_records: Family::default(),
            put_records_failed_records: Family::default(),
            put_records_throttled_records: Family::default(),
            get_records_bytes: Family::default(),
            get_records_records: Family::default(),
            get_records_success: Family::default(),
            get_records_latency: Family::new_with_constructor(latency_histogram),
            get_records_iterator_age: Family::default(),
            read_throughput_exceeded: Family::default(),
            write_throughput_exceeded: Family::default(),
            subscribe_event_bytes: Family::default(),
            subscribe_event_records: Family::default(),
            subscribe_millis_behind: Family::default(),
            subscribe_success: Family::default(),
            subscribe_rate_exceeded: Family::default(),
            subscribe_event_success: Family::default(),
            disk_bytes: Family::default(),
        };
        let shards = ShardFamilies::default();
        let mut registry = Registry::default();
        let kinesis = registry.sub_registry_with_prefix("kinesis");
        let s = &streams;
        macro_rules! reg {
            ($name:literal, $help:literal, $family:expr) => {
                kinesis.register($name, $help, $family.clone())
            };
            ($name:literal, $help:literal, $family:expr, $unit:expr) => {
                kinesis.register_with_unit($name, $help, $unit, $family.clone())
            };
        }
        reg!(
            "incoming_bytes",
            "IncomingBytes: bytes put (PutRecord and PutRecords)",
            s.incoming_bytes
        );
        reg!(
            "incoming_records",
            "IncomingRecords: records put",
            s.incoming_records
        );
        reg!("put_record_bytes", "PutRecord.Bytes", s.put_record_bytes);
        reg!(
            "put_record_success",
            "PutRecord.Success: successful PutRecord calls",
            s.put_record_success
        );
        reg!(
            "put_record_latency",
            "PutRecord.Latency",
            s.put_record_latency,
            Unit::Seconds
        );
        reg!("put_records_bytes", "PutRecords.Bytes", s.put_records_bytes);
        reg!(
            "put_records_success",
            "PutRecords.Success: PutRecords calls with at least one record stored",
            s.put_records_success
        );
        reg!(
            "put_records_latency",
            "PutRecords.Latency",
            s.put_records_latency,
            Unit::Seconds
        );
        reg!(
            "put_records_total_records",
            "PutRecords.TotalRecords",
            s.put_records_total_records
        );
        reg!(
            "put_records_successful_records",
            "PutRecords.SuccessfulRecords (also PutRecords.Records)",
            s.put_records_successful_records
        );
        reg!(
            "put_records_failed_records",
            "PutRecords.FailedRecords: records refused for internal failures",
            s.put_records_failed_records
        );
        reg!(
            "put_records_throttled_records",
            "PutRecords.ThrottledRecords",
            s.put_records_throttled_records
        );
        reg!("get_records_bytes", "GetRecords.Bytes", s.get_records_bytes);
        reg!(
            "get_records_records",
            "GetRecords.Records",
            s.get_records_records
        );
        reg!(
            "get_records_success",
            "GetRecords.Success: successful GetRecords calls",
            s.get_records_success
        );
        reg!(
            "get_records_latency",
            "GetRecords.Latency",
            s.get_records_latency,
            Unit::Seconds
        );
        reg!(
            "get_records_iterator_age_milliseconds",
            "GetRecords.IteratorAgeMilliseconds of the latest call",
            s.get_records_iterator_age
        );
        reg!(
            "read_provisioned_throughput_exceeded",
            "ReadProvisionedThroughputExceeded: throttled GetRecords calls",
            s.read_throughput_exceeded
        );
        reg!(
            "write_provisioned_throughput_exceeded",
            "WriteProvisionedThroughputExceeded: throttled records",
            s.write_throughput_exceeded
        );
        reg!(
            "subscribe_to_shard_event_bytes",
            "SubscribeToShardEvent.Bytes",
            s.subscribe_event_bytes
        );
        reg!(
            "subscribe_to_shard_event_records",
            "SubscribeToShardEvent.Records",
            s.subscribe_event_records
        );
        reg!(
            "subscribe_to_shard_event_millis_behind_latest",
            "SubscribeToShardEvent.MillisBehindLatest of the latest event",
            s.subscribe_millis_behind
        );
        reg!(
            "subscribe_to_shard_success",
            "SubscribeToShard.Success: subscriptions opened",
            s.subscribe_success
        );
        reg!(
            "subscribe_to_shard_rate_exceeded",
            "SubscribeToShard.RateExceeded: subscriptions refused because the consumer already had one to the shard that started less than 5 s before",
            s.subscribe_rate_exceeded
        );
        reg!(
            "subscribe_to_shard_event_success",
            "SubscribeToShardEvent.Success: events delivered",
            s.subscribe_event_success
        );
        let sh = &shards;
        reg!(
            "shard_incoming_bytes",
            "Shard-level IncomingBytes (enhanced monitoring)",
            sh.incoming_bytes
        );
        reg!(
            "shard_incoming_records",
            "Shard-level IncomingRecords",
            sh.incoming_records
        );
        reg!(
            "shard_outgoing_bytes",
            "Shard-level OutgoingBytes (GetRecords)",
            sh.outgoing_bytes
        );
        reg!(
            "shard_outgoing_records",
            "Shard-level OutgoingRecords (GetRecords)",
            sh.outgoing_records
        );
        reg!(
            "shard_write_provisioned_throughput_exceeded",
            "Shard-level WriteProvisionedThroughputExceeded",
            sh.write_throughput_exceeded
        );
        reg!(
            "shard_read_provisioned_throughput_exceeded",
            "Shard-level ReadProvisionedThroughputExceeded",
            sh.read_throughput_exceeded
        );
        reg!(
            "shard_iterator_age_milliseconds",
            "Shard-level IteratorAgeMilliseconds of the latest GetRecords",
            sh.iterator_age
        );
        let spate = registry.sub_registry_with_prefix("spate");
        spate.register_with_unit(
            "stream_disk",
            "Disk space the stream's records take in the record log: journal frames and index entries, until retention deletes their segment (refreshed on each scrape)",
            Unit::Bytes,
            streams.disk_bytes.clone(),
        );
        spate.register_collector(Box::new(log::LogCollector(log)));
        Arc::new(Metrics {
            registry: Mutex::new(registry),
            streams,
            shards,
        })
    }

    /// Adds series of the caller's own (the server's connections and requests).
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(name, help, metric);
    }

    /// Every series in the Prometheus text format (OpenMetrics flavour, ending in `# EOF`).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    /// The series of one stream, to be cached beside it.
    pub(crate) fn stream(self: &Arc<Metrics>, key: &StreamKey) -> StreamMetrics {
        let l = StreamLabels::of(key);
        let s = &self.streams;
        StreamMetrics {
            incoming_bytes: s.incoming_bytes.get_or_create_owned(&l),
            incoming_records: s.incoming_records.get_or_create_owned(&l),
            put_record_bytes: s.put_record_bytes.get_or_create_owned(&l),
            put_record_success: s.put_record_success.get_or_create_owned(&l),
            put_record_latency: s.put_record_latency.get_or_create_owned(&l),
            put_records_bytes: s.put_records_bytes.get_or_create_owned(&l),
            put_records_success: s.put_records_success.get_or_create_owned(&l),
            put_records_latency: s.put_records_latency.get_or_create_owned(&l),
            put_records_total_records: s.put_records_total_records.get_or_create_owned(&l),
            put_records_successful_records: s
                .put_records_successful_records
                .get_or_create_owned(&l),
            put_records_failed_records: s.put_records_failed_records.get_or_create_owned(&l),
            put_records_throttled_records: s.put_records_throttled_records.get_or_create_owned(&l),
            get_records_bytes: s.get_records_bytes.get_or_create_owned(&l),
            get_records_records: s.get_records_records.get_or_create_owned(&l),
            get_records_success: s.get_records_success.get_or_create_owned(&l),
            get_records_latency: s.get_records_latency.get_or_create_owned(&l),
            get_records_iterator_age: s.get_records_iterator_age.get_or_create_owned(&l),
            read_throughput_exceeded: s.read_throughput_exceeded.get_or_create_owned(&l),
            write_throughput_exceeded: s.write_throughput_exceeded.get_or_create_owned(&l),
            subscribe_event_bytes: s.subscribe_event_bytes.get_or_create_owned(&l),
            subscribe_event_records: s.subscribe_event_records.get_or_create_owned(&l),
            subscribe_millis_behind: s.subscribe_millis_behind.get_or_create_owned(&l),
            subscribe_success: s.subscribe_success.get_or_create_owned(&l),
            subscribe_rate_exceeded: s.subscribe_rate_exceeded.get_or_create_owned(&l),
            subscribe_event_success: s.subscribe_event_success.get_or_create_owned(&l),
            disk_bytes: s.disk_bytes.get_or_create_owned(&l),
            labels: l,
            owner: self.clone(),
        }
    }

    /// Forgets a deleted stream's series, stream- and shard-level.
    pub(crate) fn forget_stream(&self, key: &StreamKey, shards: &[u32]) {
        let l = StreamLabels::of(key);
        let s = &self.streams;
        s.incoming_bytes.remove(&l);
        s.incoming_records.remove(&l);
        s.put_record_bytes.remove(&l);
        s.put_record_success.remove(&l);
        s.put_record_latency.remove(&l);
        s.put_records_bytes.remove(&l);
        s.put_records_success.remove(&l);
        s.put_records_latency.remove(&l);
        s.put_records_total_records.remove(&l);
        s.put_records_successful_records.remove(&l);
        s.put_records_failed_records.remove(&l);
        s.put_records_throttled_records.remove(&l);
        s.get_records_bytes.remove(&l);
        s.get_records_records.remove(&l);
        s.get_records_success.remove(&l);
        s.get_records_latency.remove(&l);
        s.get_records_iterator_age.remove(&l);
        s.read_throughput_exceeded.remove(&l);
        s.write_throughput_exceeded.remove(&l);
        s.subscribe_event_bytes.remove(&l);
        s.subscribe_event_records.remove(&l);
        s.subscribe_millis_behind.remove(&l);
        s.subscribe_success.remove(&l);
        s.subscribe_rate_exceeded.remove(&l);
        s.subscribe_event_success.remove(&l);
        s.disk_bytes.remove(&l);
        self.forget_shards(key, shards, &SHARD_LEVEL_METRICS);
    }

    /// Drops the shard-level series of `metrics` (names from [`SHARD_LEVEL_METRICS`]) for
    /// the given shards of one stream: DisableEnhancedMonitoring stops reporting them.
    pub(crate) fn forget_shards(&self, key: &StreamKey, shards: &[u32], metrics: &[&str]) {
        let sh = &self.shards;
        for index in shards {
            let l = shard_labels(&StreamLabels::of(key), *index);
            for name in metrics {
                let _ = match *name {
                    "IncomingBytes" => sh.incoming_bytes.remove(&l),
                    "IncomingRecords" => sh.incoming_records.remove(&l),
                    "OutgoingBytes" => sh.outgoing_bytes.remove(&l),
                    "OutgoingRecords" => sh.outgoing_records.remove(&l),
                    "WriteProvisionedThroughputExceeded" => sh.write_throughput_exceeded.remove(&l),
                    "ReadProvisionedThroughputExceeded" => sh.read_throughput_exceeded.remove(&l),
                    "IteratorAgeMilliseconds" => sh.iterator_age.remove(&l),
                    _ => false,
                };
            }
        }
    }
}

fn shard_labels(stream: &StreamLabels, index: u32) -> ShardLabels {
    ShardLabels {
        account: stream.account.clone(),
        region: stream.region.clone(),
        stream: stream.stream.clone(),
        shard: spate_types::shard_id(index),
    }
}
