//! W3: a consumer catching up on one shard — GetRecords (Limit 10,000) from TRIM_HORIZON to
//! the tip, each page asked for as soon as the one before names its iterator (over HTTP/1.1,
//! on two connections taking turns), from data the server has in page cache. The
//! figure is raw payload bytes per second (record Data, not the base64 or framing around it),
//! compared with the loopback TCP bandwidth of the same run (`loopback`).

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::put::{Preset, build_pool};
use super::{Common, parse_bytes, parse_seconds};
use crate::api::Api;
use crate::conn::{Conn, Prepared, Protocol};
use crate::http1::{Http1Conn, Reply};
use crate::kinesis::{self, Codec};
use crate::loadgen::{self, Check, Mode, Plan};
use crate::procfs;
use crate::replies::{self, CborPageReader, Page};
use crate::report::{self, round2};
use crate::sequence::Sequence;

#[derive(clap::Args, Debug)]
pub struct CatchupArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value = "bench-w3")]
    pub stream: String,
    /// First write this much payload into the (one-shard) stream, then read.
    #[arg(long, value_parser = parse_bytes, default_value = "0")]
    pub fill: u64,
    /// Only fill; don't read.
    #[arg(long)]
    pub fill_only: bool,
    #[arg(long, default_value_t = 1024)]
    pub record_bytes: usize,
    #[arg(long, default_value_t = 10_000)]
    pub limit: u32,
    #[arg(long, value_enum, default_value = "json")]
    pub codec: Codec,
    /// Stop reading after this long even if not caught up.
    #[arg(long, value_parser = parse_seconds, default_value = "60")]
    pub max_time: Duration,
    /// Stop reading after this much payload (0: read to the tip).
    #[arg(long, value_parser = parse_bytes, default_value = "0")]
    pub max_bytes: u64,
}

const SHARD: &str = "shardId-000000000000";

pub async fn run(args: CatchupArgs) -> anyhow::Result<()> {
    let addr = args.common.endpoint;
    if args.fill > 0 {
        fill(&args).await?;
    }
    if args.fill_only {
        return Ok(());
    }
    let mut api = Api::connect(addr).await?;
    let iterator = api
        .shard_iterator(&args.stream, SHARD, "TRIM_HORIZON", None)
        .await?;
    let mut latency = report::new_histogram();
    let mut tally = Tally::default();
    let server_cpu_before = args
        .common
        .server_pid
        .and_then(|p| procfs::cpu_time(p).ok());
    let client_cpu_before = procfs::cpu_time(std::process::id()).ok();
    let started = Instant::now();
    let page_request = |iterator: &str| {
        let body = kinesis::get_records_body(args.codec, iterator, args.limit);
        Prepared::new(addr, "GetRecords", args.codec, body)
    };
    let in_time = || started.elapsed() < args.max_time;
    match args.common.http {
        // Two connections taking turns: page N+1 is asked for on the other one as soon as
        // page N's first bytes name its iterator (Spate writes NextShardIterator before
        // Records), so the server reads and encodes it while page N is still on its way and
        // being checked, instead of the two sides taking turns.
        Protocol::Http1 => {
            let mut conns = [
                Http1Conn::connect(addr).await?,
                Http1Conn::connect(addr).await?,
            ];
            let mut sent = [Instant::now(); 2];
            conns[0].send(&page_request(&iterator).wire).await?;
            let mut turn = 0;
            while in_time() {
                let (left, right) = conns.split_at_mut(1);
                let (conn, other) = match turn {
                    0 => (&mut left[0], &mut right[0]),
                    _ => (&mut right[0], &mut left[0]),
                };
                let (status, start) = conn.receive_start(EARLY_BYTES).await?;
                let asked = (200..300)
                    .contains(&status)
                    .then(|| replies::next_iterator_ahead(args.codec, start))
                    .flatten();
                if let Some(next) = &asked {
                    other.send(&page_request(next).wire).await?;
                    sent[1 - turn] = Instant::now();
                }
                // A CBOR page is read as it arrives (see `CborPageReader`); JSON's scan
                // reads every byte in order, which the prefetcher keeps up with.
                let mut reader = (args.codec == Codec::Cbor && (200..300).contains(&status))
                    .then(|| CborPageReader::new(false));
                let mut reading = Duration::ZERO;
                let reply = conn
                    .receive_with(|body| {
                        let Some(reader) = &mut reader else {
                            return Ok(());
                        };
                        let started = Instant::now();
                        let read = reader.feed(body).map_err(io::Error::other);
                        reading += started.elapsed();
                        read
                    })
                    .await?;
                report::record(&mut latency, sent[turn].elapsed().as_nanos());
                tally.parse_time += reading;
                let page = reader.map(|reader| reader.finish(&reply.body));
                let Some(next) = tally.take(&args, &reply, page, asked.as_deref())? else {
                    break;
                };
                if asked.is_none() {
                    other.send(&page_request(&next).wire).await?;
                    sent[1 - turn] = Instant::now();
                }
                turn = 1 - turn;
            }
        }
        Protocol::Http2 => {
            let mut conn = Conn::connect(addr, args.common.http).await?;
            let mut sent = Instant::now();
            let mut reply = conn.call(&page_request(&iterator)).await?;
            report::record(&mut latency, sent.elapsed().as_nanos());
            while in_time() {
                // Asked for before this page is checked, when its iterator can be read
                // without parsing the page.
                let asked = (200..300)
                    .contains(&reply.status)
                    .then(|| replies::next_iterator_ahead(args.codec, &reply.body))
                    .flatten();
                let next = match &asked {
                    Some(asked) => {
                        let request = page_request(asked);
                        sent = Instant::now();
                        let (ahead, next) = tokio::join!(conn.call(&request), async {
                            tally.take(&args, &reply, None, Some(asked))
                        });
                        reply = ahead?;
                        next?
                    }
                    None => tally.take(&args, &reply, None, None)?,
                };
                let Some(next) = next else {
                    break;
                };
                if asked.is_none() {
                    sent = Instant::now();
                    reply = conn.call(&page_request(&next)).await?;
                }
                report::record(&mut latency, sent.elapsed().as_nanos());
            }
        }
    }
    let Tally {
        pages,
        records,
        payload,
        wire,
        non_2xx,
        order_violations,
        parse_time,
        first_error,
        ..
    } = tally;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let server_cpu = args
        .common
        .server_pid
        .and_then(|p| procfs::cpu_time(p).ok())
        .zip(server_cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let client_cpu = procfs::cpu_time(std::process::id())
        .ok()
        .zip(client_cpu_before)
        .map(|(after, before)| after.saturating_sub(before));

    let mut report = args.common.report("w3");
    report.set("codec", serde_json::to_value(args.codec)?);
    report.set("limit", args.limit);
    report.set("seconds", round2(elapsed));
    report.set("pages", pages);
    report.set("records", records);
    report.set("payload_bytes", payload);
    report.set("mb_per_s", round2(payload as f64 / elapsed / 1e6));
    report.set("wire_mb_per_s", round2(wire as f64 / elapsed / 1e6));
    report.set("records_per_s", round2(records as f64 / elapsed));
    report.latency("latency", &latency);
    report.set("non_2xx", non_2xx);
    if let Some(error) = first_error {
        report.set("first_error", error);
    }
    report.set("order_violations", order_violations);
    report.set("verify_ok", order_violations == 0 && non_2xx == 0);
    if let Some(cpu) = server_cpu {
        report.set("server_cpu_util", round2(cpu.as_secs_f64() / elapsed));
        if pages > 0 {
            report.set(
                "server_cpu_us_per_req",
                round2(cpu.as_secs_f64() * 1e6 / pages as f64),
            );
        }
    }
    if let Some(cpu) = client_cpu {
        report.set("client_cpu_util", round2(cpu.as_secs_f64() / elapsed));
    }
    report.set(
        "client_parse_share",
        round2(parse_time.as_secs_f64() / elapsed),
    );
    report.finish(args.common.json_out.as_deref())
}

/// Body bytes of a page looked at before the rest arrives: enough for the members before
/// `Records`.
const EARLY_BYTES: usize = 4096;

/// What the pages read so far held, and how they checked out.
#[derive(Default)]
struct Tally {
    pages: u64,
    records: u64,
    payload: u64,
    wire: u64,
    non_2xx: u64,
    order_violations: u64,
    parse_time: Duration,
    first_error: Option<String>,
    previous: Option<Sequence>,
}

impl Tally {
    /// Counts and checks one page; the iterator to go on with, or `None` to stop (caught
    /// up, enough read, or an error reply). `read`: the page, if it was read as it arrived
    /// (a 2xx reply's). `asked`: the iterator already asked for on the strength of the
    /// page's first bytes, which the page must name.
    fn take(
        &mut self,
        args: &CatchupArgs,
        reply: &Reply,
        read: Option<anyhow::Result<Page>>,
        asked: Option<&str>,
    ) -> anyhow::Result<Option<String>> {
        self.pages += 1;
        self.wire += reply.body.len() as u64;
        if !(200..300).contains(&reply.status) {
            self.non_2xx += 1;
            self.first_error
                .get_or_insert_with(|| String::from_utf8_lossy(&reply.body).into_owned());
            return Ok(None);
        }
        let page = match read {
            Some(page) => page?,
            None => {
                let parsing = Instant::now();
                let page = replies::get_records(args.codec, &reply.body, false)?;
                self.parse_time += parsing.elapsed();
                page
            }
        };
        if asked.is_some() && asked != page.next_iterator.as_deref() {
            anyhow::bail!("the iterator read ahead differs from the page's");
        }
        for record in &page.records {
            if self.previous.is_some_and(|p| record.sequence <= p) {
                self.order_violations += 1;
            }
            self.previous = Some(record.sequence);
            self.payload += record.data_len as u64;
        }
        self.records += page.records.len() as u64;
        let caught_up = page.records.is_empty() && page.millis_behind.unwrap_or(0) == 0;
        let enough = args.max_bytes > 0 && self.payload >= args.max_bytes;
        Ok(page.next_iterator.filter(|_| !caught_up && !enough))
    }
}

/// Writes `args.fill` bytes of payload into a one-shard stream with W2's requests.
async fn fill(args: &CatchupArgs) -> anyhow::Result<()> {
    let addr = args.common.endpoint;
    let mut api = Api::connect(addr).await?;
    api.ensure_stream(&args.stream, 1).await?;
    let preset = Preset {
        name: "w3-fill",
        batch: Some(500),
        record_bytes: args.record_bytes,
        streams: 1,
        shards: 1,
        connections: 8,
        codec: Codec::Json,
    };
    let streams = vec![args.stream.clone()];
    let pool = Arc::new(build_pool(addr, &preset, &streams, 16));
    let per_request = (500 * args.record_bytes) as u64;
    let plan = Plan {
        addr,
        protocol: args.common.http,
        connections: preset.connections,
        streams_per_conn: 1,
        mode: Mode::Closed,
        start: Instant::now(),
        warmup: Duration::ZERO,
        duration: Duration::from_secs(1800),
        drain: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
        pool,
        codec: Codec::Json,
        check: Check::PutRecords,
        max_requests: Some(args.fill.div_ceil(per_request)),
        server_pid: args.common.server_pid,
        max_samples: 0,
        keep_all_acks: false,
        stop: Arc::new(AtomicBool::new(false)),
        progress: Arc::default(),
    };
    let outcome = loadgen::run(plan).await?;
    let mut report = args.common.report("w3-fill");
    report.set("key", "w3-fill");
    outcome.report_into(&mut report);
    report.print();
    if outcome.failed_records > 0 || outcome.non_2xx > 0 || outcome.io_errors > 0 {
        anyhow::bail!("filling {} did not fully succeed", args.stream);
    }
    Ok(())
}
