//! W5's shard-count checks: how long CreateStream(1,000 shards) takes to reach ACTIVE, how
//! long a full ListShards over them takes, and the server's resident memory per shard —
//! idle (created, never written) and touched (one record written to each).

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::json;

use super::{Common, parse_seconds};
use crate::api::Api;
use crate::kinesis;
use crate::procfs;
use crate::report::round2;

#[derive(clap::Args, Debug)]
pub struct ShardsArgs {
    #[command(flatten)]
    pub common: Common,
    /// Shards per stream.
    #[arg(long, default_value_t = 1000)]
    pub shards: u32,
    /// Shards to create in all (in streams of `--shards`) for the memory figure.
    #[arg(long, default_value_t = 10_000)]
    pub memory_shards: u32,
    #[arg(long, default_value = "bench-w5-admin")]
    pub stream_prefix: String,
    /// Full ListShards listings to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub list_repeats: usize,
    /// Pause before each memory reading, for the server to settle.
    #[arg(long, value_parser = parse_seconds, default_value = "1")]
    pub settle: Duration,
}

pub async fn run(args: ShardsArgs) -> anyhow::Result<()> {
    let addr = args.common.endpoint;
    let pid = args.common.server_pid;
    let rss = || pid.and_then(|p| procfs::rss_kib(p).ok());
    let mut api = Api::connect(addr).await?;
    tokio::time::sleep(args.settle).await;
    let rss_before = rss();

    let first = format!("{}-000", args.stream_prefix);
    let create_time = api.ensure_stream(&first, args.shards).await?;
    let mut list_times = Vec::new();
    for _ in 0..args.list_repeats.max(1) {
        let started = Instant::now();
        let listed = api.list_shards(&first).await?;
        list_times.push(started.elapsed());
        if listed.len() != args.shards as usize {
            anyhow::bail!(
                "ListShards returned {} of {} shards",
                listed.len(),
                args.shards
            );
        }
    }
    list_times.sort();

    let streams = args.memory_shards.div_ceil(args.shards.max(1)).max(1);
    let names: Vec<String> = (0..streams)
        .map(|i| format!("{}-{i:03}", args.stream_prefix))
        .collect();
    for name in &names[1..] {
        api.ensure_stream(name, args.shards).await?;
    }
    let total_shards = u64::from(streams) * u64::from(args.shards);
    tokio::time::sleep(args.settle).await;
    let rss_idle = rss();

    // One record into every shard, aimed by its starting hash key.
    let data = kinesis::base64(&kinesis::payload(0, 100));
    for name in &names {
        for start_key in starting_hash_keys(&mut api, name).await? {
            api.call(
                "PutRecord",
                json!({"StreamName": name, "PartitionKey": "touch", "ExplicitHashKey": start_key, "Data": data}),
            )
            .await
            .with_context(|| format!("touching {name}"))?;
        }
    }
    tokio::time::sleep(args.settle).await;
    let rss_touched = rss();

    let mut report = args.common.report("w5-shards");
    report.set("shards_per_stream", args.shards);
    report.set(
        "create_to_active_ms",
        round2(create_time.as_secs_f64() * 1e3),
    );
    report.set(
        "list_shards_median_ms",
        round2(list_times[list_times.len() / 2].as_secs_f64() * 1e3),
    );
    report.set("memory_shards", total_shards);
    let per_shard = |kib: Option<u64>| {
        Some(round2(
            (kib?.saturating_sub(rss_before?) * 1024) as f64 / total_shards as f64,
        ))
    };
    if let (Some(before), Some(idle), Some(touched)) = (rss_before, rss_idle, rss_touched) {
        report.set("rss_before_kib", before);
        report.set("rss_idle_kib", idle);
        report.set("rss_touched_kib", touched);
    }
    if let Some(bytes) = per_shard(rss_idle) {
        report.set("idle_bytes_per_shard", bytes);
    }
    if let Some(bytes) = per_shard(rss_touched) {
        report.set("touched_bytes_per_shard", bytes);
    }
    report.finish(args.common.json_out.as_deref())
}

async fn starting_hash_keys(api: &mut Api, stream: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let body = match &next {
            Some(token) => json!({"NextToken": token, "MaxResults": 1000}),
            None => json!({"StreamName": stream, "MaxResults": 1000}),
        };
        let reply = api.call("ListShards", body).await?;
        for shard in reply["Shards"].as_array().into_iter().flatten() {
            let key = shard["HashKeyRange"]["StartingHashKey"]
                .as_str()
                .ok_or_else(|| anyhow!("shard without a StartingHashKey"))?;
            keys.push(key.to_owned());
        }
        match reply["NextToken"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => return Ok(keys),
        }
    }
}
