//! The bench checks its own results: a sample of acknowledged records is read back by
//! sequence number (GetShardIterator AT_SEQUENCE_NUMBER + GetRecords) and compared with what
//! was sent, and a few shards are read from TRIM_HORIZON to check that sequence numbers
//! strictly increase. A fast server that loses or reorders records fails here, not later.

use std::net::SocketAddr;

use crate::api::Api;
use crate::loadgen::{PoolEntry, Sample};
use crate::report::Report;
use crate::sequence::Sequence;

/// GetRecords pages read per shard during the order scan, at most.
const SCAN_PAGES_PER_SHARD: usize = 20;

#[derive(Debug, Default)]
pub struct Verification {
    pub samples_checked: u64,
    pub sample_failures: u64,
    pub shards_scanned: u64,
    pub records_scanned: u64,
    pub scan_order_violations: u64,
    pub errors: Vec<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.sample_failures == 0 && self.scan_order_violations == 0 && self.errors.is_empty()
    }

    pub fn report_into(&self, report: &mut Report) {
        report.set("verify_ok", self.ok());
        report.set("verify_samples", self.samples_checked);
        report.set("verify_sample_failures", self.sample_failures);
        report.set("verify_shards_scanned", self.shards_scanned);
        report.set("verify_records_scanned", self.records_scanned);
        report.set("verify_order_violations", self.scan_order_violations);
        if let Some(first) = self.errors.first() {
            report.set("verify_first_error", first.as_str());
        }
    }
}

pub struct Scope<'a> {
    pub streams: &'a [String],
    pub pool: &'a [PoolEntry],
    /// Shards to scan in order (across the streams, in order).
    pub scan_shards: usize,
    /// Records to read per scanned shard, at most.
    pub scan_records: usize,
}

pub async fn verify(
    addr: SocketAddr,
    scope: Scope<'_>,
    samples: &[Sample],
) -> anyhow::Result<Verification> {
    let mut api = Api::connect(addr).await?;
    let mut result = Verification::default();
    for sample in samples {
        result.samples_checked += 1;
        if let Err(error) = check_sample(&mut api, &scope, sample).await {
            result.sample_failures += 1;
            if result.errors.len() < 5 {
                result.errors.push(format!("{error:#}"));
            }
        }
    }
    let mut left = scope.scan_shards;
    for stream in scope.streams {
        if left == 0 {
            break;
        }
        let shards = match api.list_shards(stream).await {
            Ok(shards) => shards,
            Err(error) => {
                result.errors.push(format!("listing {stream}: {error:#}"));
                break;
            }
        };
        for shard in shards.iter().take(left) {
            left -= 1;
            result.shards_scanned += 1;
            if let Err(error) =
                scan_shard(&mut api, stream, shard, scope.scan_records, &mut result).await
            {
                result
                    .errors
                    .push(format!("reading {stream}/{shard}: {error:#}"));
            }
        }
    }
    Ok(result)
}

async fn check_sample(api: &mut Api, scope: &Scope<'_>, sample: &Sample) -> anyhow::Result<()> {
    let entry = &scope.pool[sample.pool_index];
    let expected = &entry.records[sample.record_index];
    let stream = &scope.streams[entry.stream];
    let iterator = api
        .shard_iterator(
            stream,
            &sample.ack.shard,
            "AT_SEQUENCE_NUMBER",
            Some(sample.ack.sequence),
        )
        .await?;
    let page = api.get_records(&iterator, 1).await?;
    let Some(record) = page.records.first() else {
        anyhow::bail!(
            "{stream}/{} {}: acknowledged, not found",
            sample.ack.shard,
            sample.ack.sequence
        );
    };
    if record.sequence != sample.ack.sequence
        || record.partition_key != expected.partition_key
        || record.data.as_deref() != Some(&expected.data[..])
    {
        anyhow::bail!(
            "{stream}/{} {}: read back sequence {} key {:?}, which is not what was sent",
            sample.ack.shard,
            sample.ack.sequence,
            record.sequence,
            record.partition_key
        );
    }
    Ok(())
}

async fn scan_shard(
    api: &mut Api,
    stream: &str,
    shard: &str,
    max_records: usize,
    result: &mut Verification,
) -> anyhow::Result<()> {
    let mut iterator = api
        .shard_iterator(stream, shard, "TRIM_HORIZON", None)
        .await?;
    let mut previous: Option<Sequence> = None;
    let mut read = 0usize;
    for _ in 0..SCAN_PAGES_PER_SHARD {
        let limit = (max_records - read).min(10_000) as u32;
        if limit == 0 {
            break;
        }
        let page = api.get_records(&iterator, limit).await?;
        for record in &page.records {
            if previous.is_some_and(|p| record.sequence <= p) {
                result.scan_order_violations += 1;
                if result.errors.len() < 5 {
                    result.errors.push(format!(
                        "{stream}/{shard}: sequence {} after {previous:?}",
                        record.sequence
                    ));
                }
            }
            previous = Some(record.sequence);
        }
        read += page.records.len();
        result.records_scanned += page.records.len() as u64;
        let caught_up = page.records.is_empty() && page.millis_behind.unwrap_or(0) == 0;
        match page.next_iterator {
            Some(next) if !caught_up => iterator = next,
            _ => break,
        }
    }
    Ok(())
}
