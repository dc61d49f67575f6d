//! PutRecord: one record, routed by partition-key hash or explicit hash key, acknowledged
//! once the record log says it is durable.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use spate_log::{KeyHasher, LogError, NewRecord, ShardKey};
use spate_meta::StreamMode;
use spate_types::{
    SequenceFormatter, SequenceNumber, parse_hash_key, partition_key_hash, partition_key_hashes,
};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::faults::{self, Injected};
use crate::metrics::Enabled;
use crate::registry::{Route, RouteShard, Stream, StreamState};
use crate::shapes::Blob;
use crate::views::sequence_fields;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub data: Blob,
    pub partition_key: Option<String>,
    pub explicit_hash_key: Option<String>,
    pub sequence_number_for_ordering: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub shard_id: String,
    pub sequence_number: String,
    pub encryption_type: String,
}

/// Checks one record against the stream's limits and finds its shard. `member` makes the
/// record's path in validation messages (`""` for PutRecord, `records.N.member.` for
/// PutRecords), only when one is needed. `key_hash` is the partition key's hash where the
/// caller computed it already (in bulk: see [`partition_key_hashes`]).
pub(crate) fn route_record(
    state: &StreamState,
    member: impl FnOnce() -> String,
    data: &Blob,
    partition_key: Option<&str>,
    explicit_hash_key: Option<&str>,
    key_hash: Option<u128>,
) -> ApiResult<Route> {
    let record = &state.record;
    let Some(partition_key) = partition_key else {
        return Err(ApiError::validation(
            "null",
            &format!("{}partitionKey", member()),
            "Member must not be null",
        ));
    };
    let max = record.max_record_size_kib as usize * 1024;
    if data.0.len() > max {
        return Err(ApiError::validation(
            &format!(
                "'java.nio.HeapByteBuffer[pos=0 lim={} cap={}]'",
                data.0.len(),
                data.0.len()
            ),
            &format!("{}data", member()),
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if data.0.len() + partition_key.len() > max {
        return Err(ApiError::invalid_argument(format!(
            "Record size {} (data plus partition key) exceeds the maximum record size of {max} bytes for stream {} under account {}.",
            data.0.len() + partition_key.len(),
            record.name,
            record.account
        )));
    }
    let route = match explicit_hash_key {
        Some(text) => {
            let hash = parse_hash_key(text).ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
                ))
            })?;
            state.route(hash).ok_or(hash)
        }
        None => match key_hash {
            Some(hash) => state.route(hash).ok_or(hash),
            None => state
                .route_partition_key(partition_key)
                .ok_or_else(|| partition_key_hash(partition_key)),
        },
    };
    route.map_err(|hash| {
        ApiError::internal(format!(
            "stream {} has no open shard for hash {hash}",
            record.name
        ))
    })
}

pub(crate) fn append_error(error: LogError, stream: &str, account: &str) -> ApiError {
    match error {
        LogError::UnknownShard(_) => ApiError::stream_not_found(stream, account),
        other => ApiError::internal(other),
    }
}

/// A record as a put operation received it.
pub(crate) struct RecordInput {
    pub data: Blob,
    pub partition_key: Option<String>,
    pub explicit_hash_key: Option<String>,
    /// A failure fault injection decided for this record before the write (PutRecords).
    pub injected: Option<Injected>,
}

impl RecordInput {
    /// What the record costs against its shard's write budget: data plus partition key.
    fn size(&self) -> usize {
        self.data.0.len() + self.partition_key.as_ref().map_or(0, String::len)
    }
}

/// One shard's share of a written batch.
struct ShardTotal {
    shard_index: u32,
    records: u64,
    /// Data plus partition keys, as the write budget counts them.
    size: u64,
    data_bytes: u64,
}

/// Per shard of one batch, in first-seen order, found by shard index: by a scan while the
/// batch has landed on a few shards (the usual case: streams have few), through a hash
/// index once it spreads wider. 500 records over 1,000 shards touch ~400, and a scan per
/// record then cost 8% of W5's server time.
struct ByShard<T> {
    entries: Vec<(u32, T)>,
    index: HashMap<u32, usize, BuildHasherDefault<KeyHasher>>,
}

/// Entries found by a scan; beyond this many, through the index.
const SCAN_MAX: usize = 8;

impl<T> ByShard<T> {
    fn with_capacity(shards: usize) -> ByShard<T> {
        ByShard {
            entries: Vec::with_capacity(shards),
            index: HashMap::default(),
        }
    }

    fn entry(&mut self, shard_index: u32, new: impl FnOnce() -> T) -> &mut T {
        let found = if self.entries.len() <= SCAN_MAX {
            // Records of one shard tend to come together: look from the newest.
            self.entries.iter().rposition(|(i, _)| *i == shard_index)
        } else {
            self.index.get(&shard_index).copied()
        };
        let at = found.unwrap_or_else(|| {
            self.entries.push((shard_index, new()));
            let at = self.entries.len() - 1;
            if self.entries.len() == SCAN_MAX + 1 {
                // Sized for the entries' room at least: growing it shard by shard rehashed
                // it eight times over a batch spread across hundreds of shards.
                let room = self.entries.capacity().max(4 * SCAN_MAX);
                self.index = HashMap::with_capacity_and_hasher(room, Default::default());
                self.index
                    .extend((0..).zip(&self.entries).map(|(at, (i, _))| (*i, at)));
            } else if self.entries.len() > SCAN_MAX + 1 {
                self.index.insert(shard_index, at);
            }
            at
        });
        &mut self.entries[at].1
    }
}

/// A batch's totals by shard, in first-seen order.
struct ShardTotals(ByShard<ShardTotal>);

impl ShardTotals {
    /// Room for `shards` shards, at most as many as the batch can touch.
    fn with_capacity(shards: usize) -> ShardTotals {
        ShardTotals(ByShard::with_capacity(shards))
    }

    fn add(&mut self, shard_index: u32, size: usize, data_bytes: usize) {
        let total = self.0.entry(shard_index, || ShardTotal {
            shard_index,
            records: 0,
            size: 0,
            data_bytes: 0,
        });
        total.records += 1;
        total.size += size as u64;
        total.data_bytes += data_bytes as u64;
    }

    /// How many shards the batch touched.
    fn len(&self) -> usize {
        self.0.entries.len()
    }

    fn iter(&self) -> impl Iterator<Item = &ShardTotal> {
        self.0.entries.iter().map(|(_, total)| total)
    }
}

/// Per shard of one batch: its routing-table entry, and its records' sequence numbers, each
/// formatted from the one before (a shard's records in a batch have consecutive counters),
/// starting from where the shard's last batch left off.
struct BatchShards(ByShard<BatchShard>);

struct BatchShard {
    shard: Arc<RouteShard>,
    created_ms: i64,
    sequences: SequenceFormatter,
}

impl Drop for BatchShard {
    fn drop(&mut self) {
        self.shard
            .keep_sequences(std::mem::take(&mut self.sequences));
    }
}

impl BatchShards {
    /// Room for `shards` shards: the entries are large enough that regrowing for a batch
    /// over hundreds of shards cost more than the rest of their bookkeeping.
    fn with_capacity(shards: usize) -> BatchShards {
        BatchShards(ByShard::with_capacity(shards))
    }

    fn written(&mut self, route: &Route, counter: u64, arrival_ms: i64) -> Written {
        let index = route.shard_index;
        let shard = self.0.entry(index, || BatchShard {
            shard: route.shard.clone(),
            created_ms: route.shard_created_secs as i64 * 1000,
            sequences: route.shard.take_sequences(),
        });
        let number = sequence_fields(shard.created_ms, index, counter, arrival_ms);
        Written {
            shard_id: shard.shard.id.clone(),
            sequence_number: shard.sequences.format(number),
        }
    }
}

/// Where a written record went.
pub(crate) struct Written {
    /// Shared by the batch's records of one shard: a reference count, not a string each.
    pub shard_id: Arc<str>,
    pub sequence_number: String,
}

/// Routing can race with a reshard closing the shard a record was routed to; the log then
/// refuses it and routing is simply done again. Two retries cover back-to-back reshards.
const ROUTING_ATTEMPTS: usize = 3;

impl Engine {
    /// Validates and routes records, then durably appends, as one group and in order, those
    /// that injected faults and the shards' throughput limits admit. A record that fails
    /// validation fails the whole call; a refused one gets its own error, in its place in the
    /// result. `member_path` gives each record's path in validation messages.
    pub(crate) async fn write_records(
        &self,
        stream: &Stream,
        records: Vec<RecordInput>,
        member_path: impl Fn(usize) -> String,
        total_limit: Option<usize>,
    ) -> ApiResult<Vec<Result<Written, ApiError>>> {
        // Computed once for every attempt, and in bulk: one at a time, hashing a
        // PutRecords' partition keys was 6.7% of a W2 server's CPU.
        let mut key_hashes: Option<Vec<u128>> = None;
        for attempt in 1..=ROUTING_ATTEMPTS {
            let (routes, sealer) = {
                let state = stream.read();
                Engine::require_readable(&state.record)?;
                if key_hashes.is_none() && state.routes_by_hash() {
                    key_hashes =
                        Some(partition_key_hashes(records.iter().map(
                            |r| match r.explicit_hash_key {
                                None => r.partition_key.as_deref().unwrap_or_default(),
                                Some(_) => "",
                            },
                        )));
                }
                // Encryption on: the stream's key must be usable, or nothing is written.
                let sealer = self.inner.config.kms.sealer_for(&state.record)?;
                let mut total = 0usize;
                let mut routes = Vec::with_capacity(records.len());
                for (i, record) in records.iter().enumerate() {
                    total += record.size();
                    routes.push(route_record(
                        &state,
                        || member_path(i),
                        &record.data,
                        record.partition_key.as_deref(),
                        record.explicit_hash_key.as_deref(),
                        key_hashes.as_ref().map(|hashes| hashes[i]),
                    )?);
                }
                if let Some(limit) = total_limit.filter(|limit| total > *limit) {
                    return Err(ApiError::invalid_argument(format!(
                        "Records size {total} exceeds the PutRecords limit of {limit} bytes (data plus partition keys)."
                    )));
                }
                (routes, sealer)
            };
            // Decided before anything is written, so a refused record is never also stored.
            let refusals: Vec<Option<ApiError>> = records
                .iter()
                .zip(&routes)
                .map(|(record, route)| match record.injected {
                    Some(injected) => {
                        Some(faults::entry_error(injected, route.shard_index, stream))
                    }
                    None => self
                        .admit_write(stream, route.shard_index, record.size())
                        .err(),
                })
                .collect();
            let admitted = || {
                records
                    .iter()
                    .zip(&routes)
                    .zip(&refusals)
                    .filter(|(_, refusal)| refusal.is_none())
                    .map(|(admitted, _)| admitted)
            };
            if admitted().next().is_none() {
                return Ok(refusals.into_iter().flatten().map(Err).collect());
            }
            // Sized up front: collecting a filter cannot know its length and would regrow
            // (and copy) the batch ~9 times for 500 records.
            let mut batch = Vec::with_capacity(records.len());
            batch.extend(admitted().map(|(record, route)| NewRecord {
                shard: ShardKey {
                    stream: stream.uid,
                    shard: route.shard_index,
                },
                partition_key: record.partition_key.clone().unwrap_or_default(),
                data: record.data.0.clone(),
            }));
            let appended = match sealer {
                Some(sealer) => crate::kms::append_sealed(&self.inner.log, batch, sealer).await,
                None => self.inner.log.append(batch).await,
            };
            match appended {
                Ok(appended) => {
                    let (on_demand, enabled, shard_count) = {
                        let state = stream.read();
                        let record = &state.record;
                        (
                            record.mode == StreamMode::OnDemand,
                            Enabled::of(&record.shard_level_metrics),
                            record.shards.len(),
                        )
                    };
                    // Counted per shard, not per record: one lock and a few atomics for a
                    // batch that mostly lands on a handful of shards.
                    let mut by_shard = ShardTotals::with_capacity(routes.len().min(shard_count));
                    for (record, route) in admitted() {
                        by_shard.add(route.shard_index, record.size(), record.data.0.len());
                    }
                    let (mut records_in, mut bytes_in) = (0, 0);
                    for totals in by_shard.iter() {
                        if on_demand {
                            stream.write_load.record(
                                totals.shard_index,
                                totals.records,
                                totals.size,
                            );
                        }
                        stream.metrics.shard_write(
                            enabled,
                            totals.shard_index,
                            totals.records,
                            totals.data_bytes,
                        );
                        records_in += totals.records;
                        bytes_in += totals.data_bytes;
                    }
                    stream.metrics.incoming_bytes.inc_by(bytes_in);
                    stream.metrics.incoming_records.inc_by(records_in);
                    for (route, refusal) in routes.iter().zip(&refusals) {
                        if refusal
                            .as_ref()
                            .is_some_and(|e| e.kind == ErrorKind::ProvisionedThroughputExceeded)
                        {
                            stream.metrics.write_throttled(enabled, route.shard_index);
                        }
                    }
                    let mut appended = appended.into_iter();
                    let mut shards = BatchShards::with_capacity(by_shard.len());
                    // A loop rather than `collect` into `ApiResult<Vec<_>>`, which cannot
                    // size the vector up front and would regrow it.
                    let mut outcomes = Vec::with_capacity(routes.len());
                    for (route, refusal) in routes.iter().zip(refusals) {
                        if let Some(error) = refusal {
                            outcomes.push(Err(error));
                            continue;
                        }
                        let appended = appended.next().ok_or_else(|| {
                            ApiError::internal("log acknowledged too few records")
                        })?;
                        outcomes.push(Ok(shards.written(
                            route,
                            appended.counter,
                            appended.arrival_ms,
                        )));
                    }
                    return Ok(outcomes);
                }
                Err(LogError::ShardClosed(_)) if attempt < ROUTING_ATTEMPTS => continue,
                Err(error) => {
                    return Err(append_error(error, &stream.key.name, &stream.key.account));
                }
            }
        }
        Err(ApiError::internal("routing kept racing with resharding"))
    }

    pub async fn put_record(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let started = Instant::now();
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let encryption_type = {
            let state = stream.read();
            Engine::require_readable(&state.record)?;
            if let Some(text) = input.sequence_number_for_ordering.as_deref()
                && SequenceNumber::parse(text).is_none()
            {
                return Err(ApiError::invalid_argument(format!(
                    "ExclusiveMinimumSequenceNumber {text} used in PutRecord on stream {} under account {} is invalid.",
                    state.record.name, state.record.account
                )));
            }
            state.record.encryption_type.clone()
        };
        let bytes = input.data.0.len() as u64;
        let record = RecordInput {
            data: input.data,
            partition_key: input.partition_key,
            explicit_hash_key: input.explicit_hash_key,
            injected: None,
        };
        if input.dry_run == Some(true) {
            // Validate the record as a real put would, then stop.
            let state = stream.read();
            route_record(
                &state,
                String::new,
                &record.data,
                record.partition_key.as_deref(),
                record.explicit_hash_key.as_deref(),
                None,
            )?;
            return Err(ApiError::dry_run());
        }
        // Counters only grow, so every number this shard handed out before, including a
        // valid SequenceNumberForOrdering, is below the one this record gets.
        let mut written = self
            .write_records(&stream, vec![record], |_| String::new(), None)
            .await?;
        let written = written
            .pop()
            .ok_or_else(|| ApiError::internal("log acknowledged no record"))??;
        let metrics = &stream.metrics;
        metrics.put_record_success.inc();
        metrics.put_record_bytes.inc_by(bytes);
        metrics
            .put_record_latency
            .observe(started.elapsed().as_secs_f64());
        Ok(Output {
            shard_id: String::from(&*written.shard_id),
            sequence_number: written.sequence_number,
            encryption_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::sequence_number;

    fn route(index: u32, shard: &Arc<RouteShard>) -> Route {
        Route {
            hash_end: u128::MAX,
            shard_index: index,
            shard_created_secs: 1_700_000_000,
            shard: shard.clone(),
        }
    }

    proptest::proptest! {
        /// Batches over a few shards, finishing in any order and overlapping (a batch that
        /// finds a shard's formatter taken formats afresh), each number as formatted alone.
        #[test]
        fn batches_continue_each_others_numbers(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u32..3, 0u64..3, 0i64..2500), 1..8),
                1..12,
            ),
            overlap in proptest::collection::vec(proptest::bool::ANY, 12),
        ) {
            let shards: Vec<Arc<RouteShard>> =
                (0..3).map(|i| Arc::new(RouteShard::new(i))).collect();
            let mut counters = [0u64; 3];
            let mut open: Vec<BatchShards> = Vec::new();
            for (batch, overlaps) in batches.into_iter().zip(overlap) {
                let mut shards_of_batch = BatchShards::with_capacity(0);
                for (index, step, arrival) in batch {
                    let counter = &mut counters[index as usize];
                    *counter += step;
                    let arrival_ms = 1_700_000_100_000 + arrival;
                    let written = shards_of_batch.written(
                        &route(index, &shards[index as usize]),
                        *counter,
                        arrival_ms,
                    );
                    proptest::prop_assert_eq!(&*written.shard_id, spate_types::shard_id(index));
                    proptest::prop_assert_eq!(
                        written.sequence_number,
                        sequence_number(1_700_000_000_000, index, *counter, arrival_ms)
                    );
                }
                if overlaps {
                    open.push(shards_of_batch);
                } else {
                    open.clear();
                }
            }
        }
    }

    proptest::proptest! {
        /// Entries come back in first-seen order, each shard's once, however many shards a
        /// batch spreads over (so across the switch from scanning to the index) and however
        /// much room it was given.
        #[test]
        fn by_shard_keeps_first_seen_order(
            shards in proptest::collection::vec(0u32..40, 0..200),
            room in 0usize..60,
        ) {
            let mut by_shard = ByShard::with_capacity(room);
            let mut model: Vec<(u32, usize)> = Vec::new();
            for &shard in &shards {
                *by_shard.entry(shard, || 0usize) += 1;
                match model.iter_mut().find(|(s, _)| *s == shard) {
                    Some((_, n)) => *n += 1,
                    None => model.push((shard, 1)),
                }
            }
            proptest::prop_assert_eq!(by_shard.entries, model);
        }
    }
}
