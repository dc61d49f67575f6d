//! The load generator. Workers (connections × streams per connection) send pre-built
//! requests from a pool, either closed-loop (each worker keeps one request in flight: the
//! most the server can do) or open-loop (request `i` is due at `start + i / rate`, whoever is
//! free sends it, and its latency counts from when it was due, so a stalled server is charged
//! for the requests it kept waiting: no coordinated omission).
//!
//! Windows: requests before `start + warmup` warm up and are not counted. Throughput counts
//! completions inside the window; latency counts completions inside it (closed-loop) or
//! requests due inside it (open-loop). CPU of the server (and of this process) is read from
//! /proc at the window's two ends.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::conn::{Conn, Prepared, Protocol};
use crate::kinesis::{Codec, RecordSpec};
use crate::procfs;
use crate::replies::{self, Ack};
use crate::report::{self, Report, round2};
use crate::sequence::Sequence;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed,
    /// Requests per second, spread evenly.
    Open {
        rate: f64,
    },
}

/// What a 2xx reply is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Only the status (an echo server's reply means nothing).
    Status,
    PutRecord,
    PutRecords,
}

/// One pre-built request and what it carries.
pub struct PoolEntry {
    pub prepared: Prepared,
    /// Index into the workload's stream names.
    pub stream: usize,
    pub records: Vec<RecordSpec>,
    pub payload_bytes: u64,
}

pub struct Plan {
    pub addr: SocketAddr,
    pub protocol: Protocol,
    pub connections: usize,
    /// HTTP/2 only: requests in flight on each connection.
    pub streams_per_conn: usize,
    pub mode: Mode,
    pub start: Instant,
    pub warmup: Duration,
    pub duration: Duration,
    /// How long requests still queued at the end may take before they are given up.
    pub drain: Duration,
    pub request_timeout: Duration,
    pub pool: Arc<Vec<PoolEntry>>,
    pub codec: Codec,
    pub check: Check,
    /// Stop after this many requests, whatever the time.
    pub max_requests: Option<u64>,
    pub server_pid: Option<u32>,
    /// Read-back samples to keep (spread over the run).
    pub max_samples: usize,
    /// Keep every acknowledged record (the recovery workload checks them all).
    pub keep_all_acks: bool,
    /// Set by the caller to stop every worker before its next request.
    pub stop: Arc<AtomicBool>,
    /// Acknowledged records and payload bytes so far, warm-up included.
    pub progress: Arc<Progress>,
}

#[derive(Default)]
pub struct Progress {
    pub acked_records: AtomicU64,
    pub acked_payload_bytes: AtomicU64,
}

/// An acknowledged record kept for a read-back check.
#[derive(Debug, Clone)]
pub struct Sample {
    pub pool_index: usize,
    pub record_index: usize,
    pub ack: Ack,
}

/// Every acknowledged record, compactly (the recovery workload keeps a million of them).
#[derive(Debug, Clone, Copy)]
pub struct KeptAck {
    pub shard: u32,
    pub sequence: Sequence,
    pub pool_index: u32,
    pub record_index: u32,
}

/// `shardId-000000000007` → 7.
pub fn shard_number(shard_id: &str) -> Option<u32> {
    shard_id.rsplit('-').next()?.parse().ok()
}

pub struct Outcome {
    /// The measured window (shorter than asked if the run stopped early).
    pub window: Duration,
    pub completed: u64,
    pub ok: u64,
    pub non_2xx: u64,
    pub io_errors: u64,
    pub timeouts: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub first_error: Option<String>,
    pub records: u64,
    pub failed_records: u64,
    pub payload_bytes: u64,
    pub wire_bytes: u64,
    /// From the intended send time (open-loop) or the actual one (closed-loop).
    pub latency: Histogram<u64>,
    /// From the actual send time: what the server took, without queueing here.
    pub service: Histogram<u64>,
    /// Open-loop requests due in the window that were never completed.
    pub unsent: u64,
    pub bad_replies: u64,
    /// Per connection and shard, an acknowledged sequence number not above one
    /// acknowledged earlier.
    pub order_violations: u64,
    pub samples: Vec<Sample>,
    pub acks: Vec<KeptAck>,
    pub server_cpu: Option<Duration>,
    pub client_cpu: Option<Duration>,
    pub disk_flushes: Option<u64>,
}

impl Outcome {
    /// The common fields of every load run.
    pub fn report_into(&self, report: &mut Report) {
        let secs = self.window.as_secs_f64().max(1e-9);
        report.set("window_s", round2(secs));
        report.set("requests", self.completed);
        report.set("requests_per_s", round2(self.ok as f64 / secs));
        report.set("records_per_s", round2(self.records as f64 / secs));
        report.set("mb_per_s", round2(self.payload_bytes as f64 / secs / 1e6));
        report.set("wire_mb_per_s", round2(self.wire_bytes as f64 / secs / 1e6));
        report.latency("latency", &self.latency);
        report.latency("service", &self.service);
        report.set("non_2xx", self.non_2xx);
        if !self.statuses.is_empty() {
            let statuses: serde_json::Map<_, _> = self
                .statuses
                .iter()
                .map(|(status, count)| (status.to_string(), (*count).into()))
                .collect();
            report.set("statuses", serde_json::Value::Object(statuses));
        }
        if let Some(error) = &self.first_error {
            report.set("first_error", error.as_str());
        }
        report.set("io_errors", self.io_errors);
        report.set("timeouts", self.timeouts);
        report.set("failed_records", self.failed_records);
        report.set("unsent", self.unsent);
        report.set("bad_replies", self.bad_replies);
        report.set("reply_order_violations", self.order_violations);
        if let Some(cpu) = self.server_cpu {
            let us = cpu.as_secs_f64() * 1e6;
            report.set("server_cpu_util", round2(us / 1e6 / secs));
            if self.completed > 0 {
                report.set("server_cpu_us_per_req", round2(us / self.completed as f64));
            }
        }
        if let Some(cpu) = self.client_cpu {
            report.set("client_cpu_util", round2(cpu.as_secs_f64() / secs));
        }
        if let Some(flushes) = self.disk_flushes {
            report.set("disk_flushes_per_s", round2(flushes as f64 / secs));
            if flushes > 0 {
                report.set(
                    "records_per_flush",
                    round2(self.records as f64 / flushes as f64),
                );
            }
        }
    }
}

/// What the workers add up, behind one lock (uncontended on the single-threaded runtime).
struct Tally {
    completed: u64,
    ok: u64,
    non_2xx: u64,
    io_errors: u64,
    timeouts: u64,
    statuses: BTreeMap<u16, u64>,
    first_error: Option<String>,
    records: u64,
    failed_records: u64,
    payload_bytes: u64,
    wire_bytes: u64,
    latency: Histogram<u64>,
    service: Histogram<u64>,
    due_in_window_done: u64,
    bad_replies: u64,
    order_violations: u64,
    samples: Vec<Sample>,
    acks: Vec<KeptAck>,
}

struct Shared {
    plan: Plan,
    next_ticket: AtomicU64,
    tally: Mutex<Tally>,
    measure_start: Instant,
    end: Instant,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn due(&self, ticket: u64, rate: f64) -> Instant {
        self.plan.start + Duration::from_secs_f64(ticket as f64 / rate)
    }
}

#[derive(Clone, Copy)]
struct Snapshot {
    at: Instant,
    server_cpu: Option<Duration>,
    client_cpu: Option<Duration>,
    flushes: Option<u64>,
}

fn snapshot(server_pid: Option<u32>) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        server_cpu: server_pid.and_then(|pid| procfs::cpu_time(pid).ok()),
        client_cpu: procfs::cpu_time(std::process::id()).ok(),
        flushes: procfs::disk_flushes(),
    }
}

/// Runs the plan to its end and adds up what happened.
pub async fn run(plan: Plan) -> anyhow::Result<Outcome> {
    let mut conns = Vec::new();
    for _ in 0..plan.connections.max(1) {
        let conn = Conn::connect(plan.addr, plan.protocol)
            .await
            .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", plan.addr))?;
        for _ in 1..plan.streams_per_conn.max(1) {
            if let Some(shared) = conn.share() {
                conns.push(shared);
            }
        }
        conns.push(conn);
    }
    let measure_start = plan.start + plan.warmup;
    let end = measure_start + plan.duration;
    let server_pid = plan.server_pid;
    let shared = Arc::new(Shared {
        next_ticket: AtomicU64::new(0),
        tally: Mutex::new(Tally {
            completed: 0,
            ok: 0,
            non_2xx: 0,
            io_errors: 0,
            timeouts: 0,
            statuses: BTreeMap::new(),
            first_error: None,
            records: 0,
            failed_records: 0,
            payload_bytes: 0,
            wire_bytes: 0,
            latency: report::new_histogram(),
            service: report::new_histogram(),
            due_in_window_done: 0,
            bad_replies: 0,
            order_violations: 0,
            samples: Vec::new(),
            acks: Vec::new(),
        }),
        measure_start,
        end,
        plan,
    });
    let first = tokio::spawn(async move {
        tokio::time::sleep_until(measure_start.into()).await;
        snapshot(server_pid)
    });
    let last = tokio::spawn(async move {
        tokio::time::sleep_until(end.into()).await;
        snapshot(server_pid)
    });
    let workers: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(index, conn)| tokio::spawn(worker(shared.clone(), conn, index)))
        .collect();
    for worker in workers {
        worker.await?;
    }
    let first = if first.is_finished() {
        first.await?
    } else {
        first.abort();
        snapshot(server_pid)
    };
    let last = if last.is_finished() {
        last.await?
    } else {
        last.abort();
        snapshot(server_pid)
    };
    let delta = |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?));

    let unsent = match shared.plan.mode {
        Mode::Open { rate } => {
            let due = due_between(shared.plan.start, measure_start, end, rate);
            let due = match shared.plan.max_requests {
                Some(max) => due.min(max),
                None => due,
            };
            due.saturating_sub(shared.tally().due_in_window_done)
        }
        Mode::Closed => 0,
    };
    let mut tally = shared.tally();
    Ok(Outcome {
        window: last.at.saturating_duration_since(first.at),
        completed: tally.completed,
        ok: tally.ok,
        non_2xx: tally.non_2xx,
        io_errors: tally.io_errors,
        timeouts: tally.timeouts,
        statuses: std::mem::take(&mut tally.statuses),
        first_error: tally.first_error.take(),
        records: tally.records,
        failed_records: tally.failed_records,
        payload_bytes: tally.payload_bytes,
        wire_bytes: tally.wire_bytes,
        latency: tally.latency.clone(),
        service: tally.service.clone(),
        unsent,
        bad_replies: tally.bad_replies,
        order_violations: tally.order_violations,
        samples: std::mem::take(&mut tally.samples),
        acks: std::mem::take(&mut tally.acks),
        server_cpu: delta(first.server_cpu, last.server_cpu),
        client_cpu: delta(first.client_cpu, last.client_cpu),
        disk_flushes: match (first.flushes, last.flushes) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
    })
}

/// How many tickets of an open-loop schedule starting at `start` fall due in `[from, to)`.
fn due_between(start: Instant, from: Instant, to: Instant, rate: f64) -> u64 {
    let secs = |t: Instant| t.saturating_duration_since(start).as_secs_f64();
    ((secs(to) * rate).ceil() - (secs(from) * rate).ceil()).max(0.0) as u64
}

/// Waits until `due` more precisely than the runtime's millisecond timer: sleep most of
/// the way, then yield until it is time. The timer rounds up to the next millisecond and a
/// parked thread takes a while to wake, hence the 2 ms margin. (The yielding keeps the load
/// generator's core busy: pin it away from the server.)
pub async fn wait_until(due: Instant) {
    const MARGIN: Duration = Duration::from_millis(2);
    let now = Instant::now();
    if due > now + MARGIN + Duration::from_millis(1) {
        tokio::time::sleep_until((due - MARGIN).into()).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

/// The highest sequence number this worker has seen acknowledged, per stream and shard.
type OrderState = HashMap<(usize, String), Sequence>;

async fn worker(shared: Arc<Shared>, mut conn: Conn, index: usize) {
    let plan = &shared.plan;
    let mut order = OrderState::new();
    // Samples are spread: this worker keeps every `stride`-th acknowledged request.
    let per_worker = plan
        .max_samples
        .div_ceil(plan.connections * plan.streams_per_conn.max(1));
    let mut acked_requests = 0u64;
    let stride = 37 + index as u64 % 7;
    let mut kept = 0usize;
    loop {
        if plan.stop.load(Ordering::Relaxed) {
            break;
        }
        let ticket = shared.next_ticket.fetch_add(1, Ordering::Relaxed);
        if plan.max_requests.is_some_and(|max| ticket >= max) {
            break;
        }
        let due = match plan.mode {
            Mode::Closed => {
                let now = Instant::now();
                if now >= shared.end {
                    break;
                }
                now
            }
            Mode::Open { rate } => {
                let due = shared.due(ticket, rate);
                if due >= shared.end || Instant::now() > shared.end + plan.drain {
                    break;
                }
                wait_until(due).await;
                due
            }
        };
        let entry = &plan.pool[(ticket % plan.pool.len() as u64) as usize];
        let sent = Instant::now();
        let result = tokio::time::timeout(plan.request_timeout, conn.call(&entry.prepared)).await;
        let done = Instant::now();
        let completed_in_window = done >= shared.measure_start && done <= shared.end;
        let due_in_window = due >= shared.measure_start && due < shared.end;
        let latency_counts = match plan.mode {
            Mode::Closed => completed_in_window,
            Mode::Open { .. } => due_in_window,
        };
        let reply = match result {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(error)) => {
                let mut tally = shared.tally();
                if completed_in_window {
                    tally.io_errors += 1;
                }
                tally
                    .first_error
                    .get_or_insert_with(|| format!("I/O: {error}"));
                None
            }
            Err(_) => {
                let mut tally = shared.tally();
                if completed_in_window {
                    tally.timeouts += 1;
                }
                tally
                    .first_error
                    .get_or_insert_with(|| "timeout".to_owned());
                None
            }
        };
        let Some(reply) = reply else {
            if !plan.stop.load(Ordering::Relaxed) {
                match Conn::connect(plan.addr, plan.protocol).await {
                    Ok(fresh) => conn = fresh,
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
            continue;
        };
        let success = (200..300).contains(&reply.status);
        let (acked_records, failed) = if success {
            let checked = check_reply(
                plan,
                entry,
                &reply.body,
                &mut order,
                (ticket % plan.pool.len() as u64) as usize,
            );
            let keep_sample = kept < per_worker && acked_requests.is_multiple_of(stride);
            acked_requests += 1;
            let mut tally = shared.tally();
            match checked {
                Ok(checked) => {
                    tally.order_violations += checked.order_violations;
                    if keep_sample && let Some(sample) = checked.sample {
                        tally.samples.push(sample);
                        kept += 1;
                    }
                    tally.acks.extend(checked.kept);
                    (checked.acked, checked.failed)
                }
                Err(error) => {
                    tally.bad_replies += 1;
                    tally
                        .first_error
                        .get_or_insert_with(|| format!("unreadable reply: {error}"));
                    (0, 0)
                }
            }
        } else {
            (0, 0)
        };
        plan.progress
            .acked_records
            .fetch_add(acked_records, Ordering::Relaxed);
        let acked_bytes = if entry.records.is_empty() {
            0
        } else {
            entry.payload_bytes * acked_records / entry.records.len() as u64
        };
        plan.progress
            .acked_payload_bytes
            .fetch_add(acked_bytes, Ordering::Relaxed);

        let mut tally = shared.tally();
        if due_in_window {
            tally.due_in_window_done += 1;
        }
        if latency_counts {
            report::record(&mut tally.latency, done.duration_since(due).as_nanos());
            report::record(&mut tally.service, done.duration_since(sent).as_nanos());
        }
        if !completed_in_window {
            continue;
        }
        tally.completed += 1;
        tally.wire_bytes += entry.prepared.wire.len() as u64;
        if success {
            tally.ok += 1;
            tally.records += acked_records;
            tally.failed_records += failed;
            tally.payload_bytes += acked_bytes;
        } else {
            tally.non_2xx += 1;
            *tally.statuses.entry(reply.status).or_default() += 1;
            if tally.first_error.is_none() {
                let body = String::from_utf8_lossy(&reply.body);
                tally.first_error = Some(format!(
                    "HTTP {}: {}",
                    reply.status,
                    body.chars().take(200).collect::<String>()
                ));
            }
        }
    }
}

struct Checked {
    acked: u64,
    failed: u64,
    order_violations: u64,
    sample: Option<Sample>,
    kept: Vec<KeptAck>,
}

/// Reads a 2xx reply: how many records it acknowledged, whether any shard's sequence went
/// backwards on this connection, and what to keep for read-back.
fn check_reply(
    plan: &Plan,
    entry: &PoolEntry,
    body: &[u8],
    order: &mut OrderState,
    pool_index: usize,
) -> anyhow::Result<Checked> {
    let acks: Vec<Option<Ack>> = match plan.check {
        Check::Status => {
            return Ok(Checked {
                acked: entry.records.len() as u64,
                failed: 0,
                order_violations: 0,
                sample: None,
                kept: Vec::new(),
            });
        }
        Check::PutRecord => vec![Some(replies::put_record(plan.codec, body)?)],
        Check::PutRecords => {
            let reply = replies::put_records(plan.codec, body)?;
            if reply.records.len() != entry.records.len() {
                anyhow::bail!(
                    "{} results for {} records",
                    reply.records.len(),
                    entry.records.len()
                );
            }
            let failed = reply.records.iter().filter(|r| r.is_none()).count() as u64;
            if failed != reply.failed {
                anyhow::bail!("FailedRecordCount {} but {failed} failed", reply.failed);
            }
            reply.records
        }
    };
    let failed = acks.iter().filter(|a| a.is_none()).count() as u64;
    let violations = order_violations(order, entry.stream, &acks);
    // Sample one acknowledged record of the request, varying which.
    let sample = acks
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((i, a.as_ref()?)))
        .nth(pool_index % acks.len().max(1))
        .or_else(|| {
            acks.iter()
                .enumerate()
                .find_map(|(i, a)| Some((i, a.as_ref()?)))
        })
        .map(|(record_index, ack)| Sample {
            pool_index,
            record_index,
            ack: ack.clone(),
        });
    let kept = if plan.keep_all_acks {
        acks.iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let a = a.as_ref()?;
                Some(KeptAck {
                    shard: shard_number(&a.shard)?,
                    sequence: a.sequence,
                    pool_index: pool_index as u32,
                    record_index: i as u32,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Checked {
        acked: acks.len() as u64 - failed,
        failed,
        order_violations: violations,
        sample,
        kept,
    })
}

/// Every record a request got acknowledged on a shard must sort after everything acknowledged
/// on that shard by earlier requests of the same connection (which finished before it was
/// sent). Within one PutRecords, Kinesis promises no order, so only the batch's lowest is
/// compared.
fn order_violations(order: &mut OrderState, stream: usize, acks: &[Option<Ack>]) -> u64 {
    let mut lowest: HashMap<&str, (Sequence, Sequence)> = HashMap::new();
    for ack in acks.iter().flatten() {
        let range = lowest
            .entry(ack.shard.as_str())
            .or_insert((ack.sequence, ack.sequence));
        range.0 = range.0.min(ack.sequence);
        range.1 = range.1.max(ack.sequence);
    }
    let mut violations = 0;
    for (shard, (low, high)) in lowest {
        let key = (stream, shard.to_owned());
        match order.get_mut(&key) {
            Some(previous) => {
                if low <= *previous {
                    violations += 1;
                }
                *previous = (*previous).max(high);
            }
            None => {
                order.insert(key, high);
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(shard: &str, sequence: u32) -> Option<Ack> {
        Some(Ack {
            shard: shard.to_owned(),
            sequence: Sequence::parse(&sequence.to_string()).unwrap(),
        })
    }

    #[test]
    fn order_is_checked_per_stream_and_shard() {
        let mut order = OrderState::new();
        assert_eq!(
            order_violations(&mut order, 0, &[ack("a", 5), ack("b", 1)]),
            0
        );
        // Within a batch any order is fine; across batches the lowest must exceed.
        assert_eq!(
            order_violations(&mut order, 0, &[ack("a", 9), ack("a", 6)]),
            0
        );
        assert_eq!(order_violations(&mut order, 0, &[ack("a", 9)]), 1);
        assert_eq!(order_violations(&mut order, 1, &[ack("a", 1)]), 0);
        assert_eq!(order_violations(&mut order, 0, &[None, ack("b", 2)]), 0);
    }

    #[test]
    fn shard_numbers() {
        assert_eq!(shard_number("shardId-000000000007"), Some(7));
        assert_eq!(shard_number("nonsense"), None);
    }

    #[test]
    fn tickets_due_in_a_window() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        // 1,000/s: tickets 1000..=5999 are due in [1 s, 6 s).
        assert_eq!(due_between(start, at(1000), at(6000), 1000.0), 5000);
        assert_eq!(due_between(start, at(0), at(1), 1000.0), 1);
        assert_eq!(due_between(start, at(10), at(5), 1000.0), 0);
    }

    /// A plan against an in-process echo server that answers after `delay`.
    async fn plan_against_echo(delay: Duration, mode: Mode, connections: usize) -> Plan {
        let listener = crate::echo::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(crate::echo::serve(listener, Duration::from_secs(10), delay));
        let record = RecordSpec {
            partition_key: "k".into(),
            data: vec![1; 10],
        };
        let body = crate::kinesis::put_record_body(Codec::Json, "s", &record);
        Plan {
            addr,
            protocol: Protocol::Http1,
            connections,
            streams_per_conn: 1,
            mode,
            start: Instant::now(),
            warmup: Duration::ZERO,
            duration: Duration::from_millis(300),
            drain: Duration::from_millis(200),
            request_timeout: Duration::from_secs(5),
            pool: Arc::new(vec![PoolEntry {
                prepared: Prepared::new(addr, "PutRecord", Codec::Json, body),
                stream: 0,
                records: vec![record],
                payload_bytes: 10,
            }]),
            codec: Codec::Json,
            check: Check::Status,
            max_requests: None,
            server_pid: None,
            max_samples: 0,
            keep_all_acks: false,
            stop: Arc::default(),
            progress: Arc::default(),
        }
    }

    #[tokio::test]
    async fn open_loop_charges_queueing_to_a_slow_server() {
        // 200/s offered, one connection, 20 ms per reply: at most 50/s get through, so
        // requests wait their turn and latency from the due time far exceeds service time.
        let plan =
            plan_against_echo(Duration::from_millis(20), Mode::Open { rate: 200.0 }, 1).await;
        let outcome = run(plan).await.unwrap();
        assert!(outcome.completed > 0 && outcome.non_2xx == 0);
        assert!(outcome.unsent > 0, "the backlog is reported");
        assert!(
            outcome.latency.max() > 4 * outcome.service.max(),
            "latency {} vs service {}",
            outcome.latency.max(),
            outcome.service.max()
        );
    }

    #[tokio::test]
    async fn closed_loop_counts_every_completion() {
        let plan = plan_against_echo(Duration::ZERO, Mode::Closed, 2).await;
        let outcome = run(plan).await.unwrap();
        assert!(outcome.ok > 10);
        assert_eq!(outcome.ok, outcome.completed);
        assert_eq!(outcome.records, outcome.ok);
        assert_eq!(outcome.latency.len(), outcome.completed);
        assert_eq!(outcome.unsent, 0);
    }
}
