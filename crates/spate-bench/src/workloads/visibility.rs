//! W4: put → consumer-visible latency at a fixed rate. A producer puts record `i` open-loop
//! at `start + i / rate`; one consumer per shard polls GetRecords from LATEST every
//! `--poll-interval-ms`, or with `--subscribe` holds a SubscribeToShard subscription per shard
//! through one registered consumer; a record's latency runs from when it was due to be put
//! until a poll returned it or the event carrying it arrived.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{Common, parse_seconds};
use crate::api::Api;
use crate::conn::{Conn, Prepared};
use crate::kinesis::{self, Codec, RecordSpec};
use crate::loadgen::{self, Check, Mode, Plan, PoolEntry};
use crate::replies::{self, ReadRecord};
use crate::report::{self, round2};
use crate::subscribe::{self, Event, Subscription};

#[derive(clap::Args, Debug)]
pub struct VisibilityArgs {
    #[command(flatten)]
    pub common: Common,
    /// Records per second (one PutRecord each).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// Producer connections.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Gap between the starts of one consumer's polls (0: back to back).
    #[arg(long, default_value_t = 200)]
    pub poll_interval_ms: u64,
    /// Consume with SubscribeToShard (enhanced fan-out) instead of polling GetRecords.
    #[arg(long)]
    pub subscribe: bool,
    #[arg(long, value_parser = parse_seconds, default_value = "5")]
    pub duration: Duration,
    #[arg(long, value_parser = parse_seconds, default_value = "1")]
    pub warmup: Duration,
    #[arg(long, default_value_t = 100)]
    pub record_bytes: usize,
    #[arg(long, value_enum, default_value = "json")]
    pub codec: Codec,
    #[arg(long)]
    pub stream: Option<String>,
}

/// What the consumers share.
struct Seen {
    start: Instant,
    rate: f64,
    /// Tickets whose latency counts: those due inside the measured window.
    counted: std::ops::Range<u64>,
    latency: Mutex<Histogram<u64>>,
    /// GetRecords round trips, empty or not.
    polls: Mutex<Histogram<u64>>,
    /// Which tickets were seen, to find duplicates and losses.
    marks: Mutex<Vec<bool>>,
    seen_counted: AtomicU64,
    duplicates: AtomicU64,
    producer_done: AtomicBool,
}

pub async fn run(args: VisibilityArgs) -> anyhow::Result<()> {
    let addr = args.common.endpoint;
    let rate = args.rate.max(1.0);
    let record_bytes = args.record_bytes.max(8);
    let stream = args
        .stream
        .clone()
        .unwrap_or_else(|| format!("bench-w4-{}", args.shards));
    let mut api = Api::connect(addr).await?;
    api.ensure_stream(&stream, args.shards).await?;
    let shards = api.list_shards(&stream).await?;
    let mut iterators = Vec::new();
    let mut subscriptions = Vec::new();
    if args.subscribe {
        let consumer = subscribe::ensure_consumer(&mut api, &stream, "bench-w4").await?;
        for shard in &shards {
            subscriptions.push(Subscription::open(addr, args.codec, &consumer, shard).await?);
        }
    } else {
        for shard in &shards {
            iterators.push(api.shard_iterator(&stream, shard, "LATEST", None).await?);
        }
    }

    let total = ((args.warmup + args.duration).as_secs_f64() * rate).ceil() as u64;
    let first_counted = (args.warmup.as_secs_f64() * rate).ceil() as u64;
    let pool: Arc<Vec<PoolEntry>> = (0..total)
        .map(|i| {
            let mut data = i.to_le_bytes().to_vec();
            data.extend(kinesis::payload(i, record_bytes - 8));
            let record = RecordSpec {
                partition_key: format!("pk-{i}"),
                data,
            };
            let body = kinesis::put_record_body(args.codec, &stream, &record);
            PoolEntry {
                prepared: Prepared::new(addr, "PutRecord", args.codec, body),
                stream: 0,
                payload_bytes: record_bytes as u64,
                records: vec![record],
            }
        })
        .collect::<Vec<_>>()
        .into();

    // A moment for the consumers to connect before the first record is due.
    let start = Instant::now() + Duration::from_millis(200);
    let seen = Arc::new(Seen {
        start,
        rate,
        counted: first_counted..total,
        latency: Mutex::new(report::new_histogram()),
        polls: Mutex::new(report::new_histogram()),
        marks: Mutex::new(vec![false; total as usize]),
        seen_counted: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        producer_done: AtomicBool::new(false),
    });
    let interval = Duration::from_millis(args.poll_interval_ms);
    let deadline = start + args.warmup + args.duration + interval + Duration::from_secs(5);
    let mut consumers = Vec::new();
    for subscription in subscriptions {
        consumers.push(tokio::spawn(follow(subscription, deadline, seen.clone())));
    }
    for iterator in iterators {
        let conn = Conn::connect(addr, args.common.http).await?;
        consumers.push(tokio::spawn(consume(
            conn,
            addr,
            args.codec,
            iterator,
            interval,
            deadline,
            seen.clone(),
        )));
    }
    let plan = Plan {
        addr,
        protocol: args.common.http,
        connections: args.connections.max(1),
        streams_per_conn: 1,
        mode: Mode::Open { rate },
        start,
        warmup: args.warmup,
        duration: args.duration,
        drain: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
        pool: pool.clone(),
        codec: args.codec,
        check: Check::PutRecord,
        max_requests: Some(total),
        server_pid: args.common.server_pid,
        max_samples: 0,
        keep_all_acks: false,
        stop: Arc::new(AtomicBool::new(false)),
        progress: Arc::default(),
    };
    let outcome = loadgen::run(plan).await?;
    seen.producer_done.store(true, Ordering::Relaxed);
    let mut consumer_errors = Vec::new();
    for consumer in consumers {
        if let Err(error) = consumer.await? {
            consumer_errors.push(format!("{error:#}"));
        }
    }
    // Freed only now: its hundreds of thousands of allocations took ~20 ms to free, which the
    // consumers on this thread waited out as the last records arrived (timed that late).
    drop(pool);

    let expected = seen.counted.end - seen.counted.start;
    let seen_counted = seen.seen_counted.load(Ordering::Relaxed);
    let latency = seen
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut report = args.common.report("w4");
    report.set("rate", rate);
    report.set("shards", args.shards);
    report.set(
        "consumer",
        if args.subscribe { "subscribe" } else { "poll" },
    );
    if !args.subscribe {
        report.set("poll_interval_ms", args.poll_interval_ms);
    }
    report.set("codec", serde_json::to_value(args.codec)?);
    report.latency("visible", &latency);
    let polls = seen.polls.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if !args.subscribe {
        report.latency("poll", &polls);
    }
    if !latency.is_empty() && !args.subscribe {
        let p99_ms = latency.value_at_quantile(0.99) as f64 / 1e6;
        report.set(
            "visible_p99_beyond_interval_ms",
            round2(p99_ms - args.poll_interval_ms as f64),
        );
    }
    report.set("expected", expected);
    report.set("seen", seen_counted);
    report.set("missing", expected.saturating_sub(seen_counted));
    let duplicates = seen.duplicates.load(Ordering::Relaxed);
    report.set("duplicates", duplicates);
    let put_ok = outcome.non_2xx == 0 && outcome.io_errors == 0 && outcome.unsent == 0;
    report.set(
        "verify_ok",
        seen_counted == expected && duplicates == 0 && consumer_errors.is_empty() && put_ok,
    );
    if let Some(error) = consumer_errors.first() {
        report.set("consumer_error", error.as_str());
    }
    report.set(
        "put_requests_per_s",
        round2(outcome.ok as f64 / outcome.window.as_secs_f64().max(1e-9)),
    );
    report.latency("put", &outcome.latency);
    report.set("put_non_2xx", outcome.non_2xx);
    report.set("put_unsent", outcome.unsent);
    if let Some(cpu) = outcome.server_cpu {
        report.set(
            "server_cpu_util",
            round2(cpu.as_secs_f64() / outcome.window.as_secs_f64().max(1e-9)),
        );
    }
    if let Some(cpu) = outcome.client_cpu {
        report.set(
            "client_cpu_util",
            round2(cpu.as_secs_f64() / outcome.window.as_secs_f64().max(1e-9)),
        );
    }
    report.finish(args.common.json_out.as_deref())
}

async fn consume(
    mut conn: Conn,
    addr: std::net::SocketAddr,
    codec: Codec,
    mut iterator: String,
    interval: Duration,
    deadline: Instant,
    seen: Arc<Seen>,
) -> anyhow::Result<()> {
    let expected = seen.counted.end - seen.counted.start;
    let mut next_poll = Instant::now();
    while Instant::now() < deadline {
        if seen.producer_done.load(Ordering::Relaxed)
            && seen.seen_counted.load(Ordering::Relaxed) >= expected
        {
            break;
        }
        // Not the runtime's timer alone: it would round each wait up to the next millisecond,
        // which is the whole budget this workload checks.
        loadgen::wait_until(next_poll).await;
        next_poll = Instant::now() + interval;
        let body = kinesis::get_records_body(codec, &iterator, 10_000);
        let sent = Instant::now();
        let reply = conn
            .call(&Prepared::new(addr, "GetRecords", codec, body))
            .await?;
        let seen_at = Instant::now();
        report::record(
            &mut seen.polls.lock().unwrap_or_else(|p| p.into_inner()),
            seen_at.duration_since(sent).as_nanos(),
        );
        if !(200..300).contains(&reply.status) {
            anyhow::bail!(
                "GetRecords: HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        let page = replies::get_records(codec, &reply.body, true)?;
        seen.saw(&page.records, seen_at);
        match page.next_iterator {
            Some(next) => iterator = next,
            None => break,
        }
    }
    Ok(())
}

/// One shard's subscription until every counted record is seen or the deadline passes.
async fn follow(
    mut subscription: Subscription,
    deadline: Instant,
    seen: Arc<Seen>,
) -> anyhow::Result<()> {
    let expected = seen.counted.end - seen.counted.start;
    loop {
        if seen.producer_done.load(Ordering::Relaxed)
            && seen.seen_counted.load(Ordering::Relaxed) >= expected
        {
            return Ok(());
        }
        let next = tokio::time::timeout_at(deadline.into(), subscription.next()).await;
        match next {
            // The deadline: the run's report says how many records never came.
            Err(_) => return Ok(()),
            Ok(event) => match event? {
                Event::Records(records, arrived) => seen.saw(&records, arrived),
                Event::End => anyhow::bail!("the subscription ended before the run did"),
            },
        }
    }
}

impl Seen {
    /// Marks the records a consumer received at `seen_at`, timing those that count.
    fn saw(&self, records: &[ReadRecord], seen_at: Instant) {
        for record in records {
            let Some(ticket) = record
                .data
                .as_deref()
                .and_then(|d| d.get(..8))
                .and_then(|d| <[u8; 8]>::try_from(d).ok())
                .map(u64::from_le_bytes)
            else {
                continue;
            };
            let first_time = {
                let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
                match marks.get_mut(ticket as usize) {
                    Some(mark) => !std::mem::replace(mark, true),
                    None => false,
                }
            };
            if !first_time {
                self.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if self.counted.contains(&ticket) {
                let due = self.start + Duration::from_secs_f64(ticket as f64 / self.rate);
                let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
                report::record(
                    &mut latency,
                    seen_at.saturating_duration_since(due).as_nanos(),
                );
                self.seen_counted.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
