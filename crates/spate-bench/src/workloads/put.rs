//! Write loads (`spate-bench run`): W1 (PutRecord), W2 (PutRecords, JSON or CBOR) and W5's
//! many-shard and many-stream variants. W6 is W1 and W2 against servers started with
//! different `--durability`. Each preset's numbers can be overridden by flags.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Common, parse_seconds};
use crate::api::Api;
use crate::conn::Prepared;
use crate::kinesis::{self, Codec, RecordSpec};
use crate::loadgen::{self, Check, Mode, Plan, PoolEntry};
use crate::verify::{self, Scope};

/// A workload's parameters, as issue 5 gives them.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    /// Records per PutRecords; `None` for PutRecord.
    pub batch: Option<usize>,
    pub record_bytes: usize,
    pub streams: u32,
    pub shards: u32,
    pub connections: usize,
    pub codec: Codec,
}

pub const PRESETS: &[Preset] = &[
    // W1: PutRecord, 100 B, 4 shards, 64 connections (throughput)...
    Preset {
        name: "w1",
        batch: None,
        record_bytes: 100,
        streams: 1,
        shards: 4,
        connections: 64,
        codec: Codec::Json,
    },
    // ...and 1 connection (latency).
    Preset {
        name: "w1-1c",
        batch: None,
        record_bytes: 100,
        streams: 1,
        shards: 4,
        connections: 1,
        codec: Codec::Json,
    },
    // W2: PutRecords, 500 × 1 KiB, 4 shards, 8 connections; JSON and CBOR.
    Preset {
        name: "w2",
        batch: Some(500),
        record_bytes: 1024,
        streams: 1,
        shards: 4,
        connections: 8,
        codec: Codec::Json,
    },
    Preset {
        name: "w2-cbor",
        batch: Some(500),
        record_bytes: 1024,
        streams: 1,
        shards: 4,
        connections: 8,
        codec: Codec::Cbor,
    },
    // W5: W2's load over 1,000 shards in one stream, and over 100 streams × 10 shards.
    Preset {
        name: "w5-1000",
        batch: Some(500),
        record_bytes: 1024,
        streams: 1,
        shards: 1000,
        connections: 8,
        codec: Codec::Json,
    },
    Preset {
        name: "w5-100x10",
        batch: Some(500),
        record_bytes: 1024,
        streams: 100,
        shards: 10,
        connections: 8,
        codec: Codec::Json,
    },
];

pub fn preset(name: &str) -> Result<Preset, String> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .copied()
        .ok_or_else(|| {
            let names: Vec<_> = PRESETS.iter().map(|p| p.name).collect();
            format!("unknown workload {name:?}; one of {}", names.join(", "))
        })
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// w1, w1-1c, w2, w2-cbor, w5-1000, w5-100x10.
    #[arg(long, value_parser = preset, default_value = "w1")]
    pub workload: Preset,
    /// Open-loop at this many requests per second; closed-loop (max throughput) without it.
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long)]
    pub connections: Option<usize>,
    /// HTTP/2 only: requests in flight per connection.
    #[arg(long, default_value_t = 1)]
    pub streams_per_conn: usize,
    /// Measured seconds.
    #[arg(long, value_parser = parse_seconds, default_value = "5")]
    pub duration: Duration,
    /// Seconds of load before measuring.
    #[arg(long, value_parser = parse_seconds, default_value = "1")]
    pub warmup: Duration,
    #[arg(long, value_enum)]
    pub codec: Option<Codec>,
    #[arg(long)]
    pub record_bytes: Option<usize>,
    /// Records per PutRecords (0: PutRecord).
    #[arg(long)]
    pub batch: Option<usize>,
    #[arg(long)]
    pub shards: Option<u32>,
    #[arg(long)]
    pub streams: Option<u32>,
    /// Distinct pre-built request bodies to cycle through.
    #[arg(long)]
    pub pool: Option<usize>,
    /// Stream name (or prefix, with several streams); `bench-WORKLOAD` by default.
    #[arg(long)]
    pub stream: Option<String>,
    /// Don't create streams (they exist, or the endpoint is the echo server).
    #[arg(long)]
    pub no_setup: bool,
    /// Don't parse replies or read anything back (for the echo server).
    #[arg(long)]
    pub no_verify: bool,
    /// Records read back by sequence number after the run.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    #[arg(long, value_parser = parse_seconds, default_value = "30")]
    pub request_timeout: Duration,
}

/// The workload with the flags' overrides applied.
fn effective(args: &RunArgs) -> Preset {
    let mut p = args.workload;
    if let Some(batch) = args.batch {
        p.batch = (batch > 0).then_some(batch);
    }
    p.record_bytes = args.record_bytes.unwrap_or(p.record_bytes);
    p.shards = args.shards.unwrap_or(p.shards);
    p.streams = args.streams.unwrap_or(p.streams).max(1);
    p.connections = args.connections.unwrap_or(p.connections).max(1);
    p.codec = args.codec.unwrap_or(p.codec);
    p
}

pub fn stream_names(prefix: &str, streams: u32) -> Vec<String> {
    if streams == 1 {
        vec![prefix.to_owned()]
    } else {
        (0..streams).map(|i| format!("{prefix}-{i:03}")).collect()
    }
}

/// The pre-built requests: `size` bodies, spread over the streams, every record distinct.
pub fn build_pool(
    addr: SocketAddr,
    preset: &Preset,
    streams: &[String],
    size: usize,
) -> Vec<PoolEntry> {
    (0..size)
        .map(|i| {
            let stream = i % streams.len();
            let count = preset.batch.unwrap_or(1);
            let records: Vec<RecordSpec> = (0..count)
                .map(|j| RecordSpec {
                    partition_key: format!("pk-{i}-{j}"),
                    data: kinesis::payload((i * 1_000_003 + j) as u64, preset.record_bytes),
                })
                .collect();
            let (operation, body) = match preset.batch {
                None => (
                    "PutRecord",
                    kinesis::put_record_body(preset.codec, &streams[stream], &records[0]),
                ),
                Some(_) => (
                    "PutRecords",
                    kinesis::put_records_body(preset.codec, &streams[stream], &records),
                ),
            };
            PoolEntry {
                prepared: Prepared::new(addr, operation, preset.codec, body),
                stream,
                payload_bytes: (count * preset.record_bytes) as u64,
                records,
            }
        })
        .collect()
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let p = effective(&args);
    let addr = args.common.endpoint;
    let prefix = args
        .stream
        .clone()
        .unwrap_or_else(|| format!("bench-{}", args.workload.name));
    let streams = stream_names(&prefix, p.streams);
    if !args.no_setup {
        let mut api = Api::connect(addr).await?;
        for stream in &streams {
            api.ensure_stream(stream, p.shards)
                .await
                .with_context(|| format!("setting up {stream}"))?;
        }
    }
    let pool_size = args.pool.unwrap_or(match p.batch {
        None => 4096,
        Some(_) => (p.streams as usize).max(16),
    });
    let pool = Arc::new(build_pool(addr, &p, &streams, pool_size.max(1)));
    let body_bytes = pool[0].prepared.body.len();
    let plan = Plan {
        addr,
        protocol: args.common.http,
        connections: p.connections,
        streams_per_conn: args.streams_per_conn,
        mode: match args.rate {
            Some(rate) if rate > 0.0 => Mode::Open { rate },
            _ => Mode::Closed,
        },
        start: Instant::now(),
        warmup: args.warmup,
        duration: args.duration,
        drain: Duration::from_secs(5),
        request_timeout: args.request_timeout,
        pool: pool.clone(),
        codec: p.codec,
        check: match (args.no_verify, p.batch) {
            (true, _) => Check::Status,
            (false, None) => Check::PutRecord,
            (false, Some(_)) => Check::PutRecords,
        },
        max_requests: None,
        server_pid: args.common.server_pid,
        max_samples: if args.no_verify { 0 } else { args.samples },
        keep_all_acks: false,
        stop: Arc::new(AtomicBool::new(false)),
        progress: Arc::default(),
    };
    let outcome = loadgen::run(plan).await?;

    let mut report = args.common.report(args.workload.name);
    report.set("codec", serde_json::to_value(p.codec)?);
    report.set("operation", pool[0].prepared.operation);
    report.set(
        "mode",
        match args.rate {
            Some(rate) => format!("open {rate}/s"),
            None => "closed".to_owned(),
        },
    );
    report.set("connections", p.connections);
    report.set("streams", p.streams);
    report.set("shards", p.shards);
    report.set("records_per_request", p.batch.unwrap_or(1));
    report.set("record_bytes", p.record_bytes);
    report.set("body_bytes", body_bytes);
    outcome.report_into(&mut report);
    if !args.no_verify {
        let verification = verify::verify(
            addr,
            Scope {
                streams: &streams,
                pool: &pool,
                scan_shards: 4,
                scan_records: 20_000,
            },
            &outcome.samples,
        )
        .await?;
        verification.report_into(&mut report);
    }
    report.finish(args.common.json_out.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_the_issue() {
        let w1 = preset("w1").unwrap();
        assert_eq!(
            (w1.batch, w1.record_bytes, w1.shards, w1.connections),
            (None, 100, 4, 64)
        );
        let w2 = preset("w2-cbor").unwrap();
        assert_eq!(
            (
                w2.batch,
                w2.record_bytes,
                w2.shards,
                w2.connections,
                w2.codec
            ),
            (Some(500), 1024, 4, 8, Codec::Cbor)
        );
        assert_eq!(preset("w5-100x10").unwrap().streams, 100);
        assert!(preset("w9").is_err());
    }

    #[test]
    fn pool_spreads_streams_and_keeps_records_distinct() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let p = preset("w5-100x10").unwrap();
        let p = Preset {
            batch: Some(3),
            ..p
        };
        let streams = stream_names("s", 100);
        let pool = build_pool(addr, &p, &streams, 200);
        assert_eq!(pool[0].stream, 0);
        assert_eq!(pool[101].stream, 1);
        assert_eq!(pool[5].records.len(), 3);
        assert_ne!(pool[5].records[0].data, pool[5].records[1].data);
        assert_eq!(pool[5].payload_bytes, 3 * 1024);
        assert!(
            std::str::from_utf8(&pool[5].prepared.body)
                .unwrap()
                .contains("\"s-005\"")
        );
    }
}
