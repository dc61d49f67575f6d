//! W7: recovery. Start Spate over a fresh data directory, write `--bytes` of PutRecords with
//! W2's requests, `kill -9` it while writes are still in flight, restart it over the same
//! directory and time how long until it answers again; then read every shard back and check
//! that every acknowledged record is there, intact, in order, and that new writes get higher
//! sequence numbers than anything before the crash.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::parse_bytes;
use super::put::{Preset, build_pool};
use crate::api::Api;
use crate::conn::Protocol;
use crate::kinesis::Codec;
use crate::loadgen::{self, Check, KeptAck, Mode, Plan, PoolEntry, shard_number};
use crate::replies;
use crate::report::{self, round2};
use crate::sequence::Sequence;
use crate::spawn::{Spawned, TempDir};

#[derive(clap::Args, Debug)]
pub struct RecoveryArgs {
    #[arg(long, default_value = "target/release/spate")]
    pub spate_bin: PathBuf,
    /// Acknowledged payload to write before the kill.
    #[arg(long, value_parser = parse_bytes, default_value = "1GiB")]
    pub bytes: u64,
    #[arg(long, default_value_t = 4)]
    pub shards: u32,
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    #[arg(long, default_value = "fsync")]
    pub durability: String,
    /// CPUs to pin the server to (taskset -c), e.g. `0`.
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Where the fresh data directory goes (removed afterwards).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    pub data_parent: PathBuf,
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long)]
    pub round: Option<u32>,
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

const STREAM: &str = "bench-w7";

pub async fn run(args: RecoveryArgs) -> anyhow::Result<()> {
    let dir = TempDir::new(&args.data_parent, "w7")?;
    let cpus = args.server_cpus.as_deref();
    let mut server = Spawned::spate(&args.spate_bin, &dir.path, &args.durability, cpus)?;
    let addr = server.addr;
    Api::connect(addr)
        .await?
        .ensure_stream(STREAM, args.shards)
        .await?;

    let preset = Preset {
        name: "w7",
        batch: Some(500),
        record_bytes: 1024,
        streams: 1,
        shards: args.shards,
        connections: args.connections,
        codec: Codec::Json,
    };
    let pool = Arc::new(build_pool(addr, &preset, &[STREAM.to_owned()], 16));
    let stop = Arc::new(AtomicBool::new(false));
    let progress: Arc<loadgen::Progress> = Arc::default();
    let plan = Plan {
        addr,
        protocol: Protocol::Http1,
        connections: args.connections,
        streams_per_conn: 1,
        mode: Mode::Closed,
        start: Instant::now(),
        warmup: Duration::ZERO,
        duration: Duration::from_secs(1800),
        drain: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
        pool: pool.clone(),
        codec: Codec::Json,
        check: Check::PutRecords,
        max_requests: None,
        server_pid: Some(server.pid),
        max_samples: 0,
        keep_all_acks: true,
        stop: stop.clone(),
        progress: progress.clone(),
    };
    let writing = Instant::now();
    let writer = tokio::spawn(loadgen::run(plan));
    while progress.acked_payload_bytes.load(Ordering::Relaxed) < args.bytes {
        if writer.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Writes are still in flight: the crash lands mid-group-commit.
    server.kill()?;
    let killed_after = writing.elapsed();
    stop.store(true, Ordering::Relaxed);
    let outcome = writer.await??;
    let acked_bytes = progress.acked_payload_bytes.load(Ordering::Relaxed);

    let restarted = Instant::now();
    let mut server = Spawned::spate(&args.spate_bin, &dir.path, &args.durability, cpus)?;
    let time_to_serve = wait_serving(server.addr).await?.duration_since(restarted);

    let check = check_all(server.addr, &pool, &outcome.acks).await?;
    server.kill()?;
    drop(dir);

    let mut report = report::labelled("w7", args.key.as_deref(), args.round);
    report.set("durability", args.durability.as_str());
    report.set("acked_records", outcome.acks.len());
    report.set("acked_mb", round2(acked_bytes as f64 / 1e6));
    report.set(
        "write_mb_per_s",
        round2(acked_bytes as f64 / killed_after.as_secs_f64() / 1e6),
    );
    report.set("killed_after_s", round2(killed_after.as_secs_f64()));
    report.set(
        "time_to_listen_ms",
        round2(server.time_to_listen.as_secs_f64() * 1e3),
    );
    report.set(
        "time_to_serve_ms",
        round2(time_to_serve.as_secs_f64() * 1e3),
    );
    report.set("records_read", check.read);
    report.set("acked_missing", check.missing);
    report.set("acked_corrupt", check.corrupt);
    report.set("order_violations", check.order_violations);
    report.set("sequence_regressions", check.regressions);
    report.set(
        "verify_ok",
        check.missing == 0
            && check.corrupt == 0
            && check.order_violations == 0
            && check.regressions == 0,
    );
    report.finish(args.json_out.as_deref())
}

/// Polls until the restarted server answers DescribeStreamSummary with ACTIVE.
async fn wait_serving(addr: std::net::SocketAddr) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        if let Ok(mut api) = Api::connect(addr).await
            && let Ok(summary) = api
                .call("DescribeStreamSummary", json!({"StreamName": STREAM}))
                .await
            && summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
        {
            return Ok(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    anyhow::bail!("the restarted server did not serve {STREAM} within 300 s")
}

#[derive(Default)]
struct Findings {
    read: u64,
    missing: u64,
    corrupt: u64,
    order_violations: u64,
    regressions: u64,
}

/// Reads each shard in full, walking it against the sorted acknowledgements.
async fn check_all(
    addr: std::net::SocketAddr,
    pool: &[PoolEntry],
    acks: &[KeptAck],
) -> anyhow::Result<Findings> {
    let mut by_shard: BTreeMap<u32, Vec<KeptAck>> = BTreeMap::new();
    for ack in acks {
        by_shard.entry(ack.shard).or_default().push(*ack);
    }
    let mut api = Api::connect(addr).await?;
    let mut check = Findings::default();
    let mut highest: BTreeMap<u32, Sequence> = BTreeMap::new();
    for shard in api.list_shards(STREAM).await? {
        let number = shard_number(&shard).context("shard id")?;
        let mut expected = by_shard.remove(&number).unwrap_or_default();
        expected.sort_by_key(|a| a.sequence);
        let mut next = 0usize;
        let mut previous: Option<Sequence> = None;
        let mut iterator = api
            .shard_iterator(STREAM, &shard, "TRIM_HORIZON", None)
            .await?;
        loop {
            let page = api.get_records(&iterator, 10_000).await?;
            for record in &page.records {
                check.read += 1;
                if previous.is_some_and(|p| record.sequence <= p) {
                    check.order_violations += 1;
                }
                previous = Some(record.sequence);
                while next < expected.len() && expected[next].sequence < record.sequence {
                    check.missing += 1;
                    next += 1;
                }
                if next < expected.len() && expected[next].sequence == record.sequence {
                    let ack = expected[next];
                    let sent = &pool[ack.pool_index as usize].records[ack.record_index as usize];
                    if record.partition_key != sent.partition_key
                        || record.data.as_deref() != Some(&sent.data[..])
                    {
                        check.corrupt += 1;
                    }
                    next += 1;
                }
            }
            let caught_up = page.records.is_empty() && page.millis_behind.unwrap_or(0) == 0;
            match page.next_iterator {
                Some(iter) if !caught_up => iterator = iter,
                _ => break,
            }
        }
        check.missing += (expected.len() - next) as u64;
        highest.insert(number, previous.unwrap_or_default());
    }
    // Acknowledged on a shard the restarted server no longer lists.
    check.missing += by_shard.values().map(|v| v.len() as u64).sum::<u64>();

    // New writes must sort after everything from before the crash.
    for i in 0..32 {
        let reply = api
            .call(
                "PutRecord",
                json!({"StreamName": STREAM, "PartitionKey": format!("after-{i}"), "Data": "YWZ0ZXI="}),
            )
            .await?;
        let ack = replies::put_record(Codec::Json, reply.to_string().as_bytes())?;
        let number = shard_number(&ack.shard).context("shard id")?;
        if highest.get(&number).is_some_and(|h| ack.sequence <= *h) {
            check.regressions += 1;
        }
    }
    Ok(check)
}
