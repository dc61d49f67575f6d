//! Resharding: splits and merges of open shards, and the one procedure that publishes any
//! reshard (SplitShard, MergeShards, UpdateShardCount, on-demand scaling) safely.
//!
//! Order of a reshard: new shards are registered with the record log; the new record is
//! persisted; it is published, so writes route to the children; then the parents are
//! closed in the log, which refuses late writes that routed to them just before (those are
//! routed again). A crash at any point leaves a consistent stream: before persisting, the
//! reshard never happened; after it, the restart closes the parents again.

use std::collections::HashSet;

use spate_log::ShardKey;
use spate_meta::{ShardRecord, StreamRecord, StreamStatus};
use spate_types::HashKeyRange;

use crate::engine::{Engine, log_shards};
use crate::error::{ApiError, ApiResult};
use crate::registry::Stream;

fn new_shard(
    record: &mut StreamRecord,
    range: HashKeyRange,
    parents: (u32, Option<u32>),
    now: i64,
) -> u32 {
    let index = record.next_shard_index;
    record.next_shard_index += 1;
    record.shards.push(ShardRecord {
        index,
        parent: Some(parents.0),
        adjacent_parent: parents.1,
        hash_start: range.start,
        hash_end: range.end,
        created_ms: now,
        start_counter: 0,
        closed_ms: None,
    });
    index
}

fn shard_mut(record: &mut StreamRecord, index: u32) -> Option<&mut ShardRecord> {
    record.shards.iter_mut().find(|s| s.index == index)
}

/// Closes open shard `index` and gives its range to two children split at `at`, which
/// must lie in (start, end]. Returns the children's indexes.
pub(crate) fn split(record: &mut StreamRecord, index: u32, at: u128, now: i64) -> (u32, u32) {
    let Some(parent) = shard_mut(record, index) else {
        return (index, index);
    };
    parent.closed_ms = Some(now);
    let (start, end) = (parent.hash_start, parent.hash_end);
    let low = new_shard(
        record,
        HashKeyRange { start, end: at - 1 },
        (index, None),
        now,
    );
    let high = new_shard(record, HashKeyRange { start: at, end }, (index, None), now);
    (low, high)
}

/// Closes adjacent open shards `index` and `adjacent` and gives their union to one child
/// whose parent is `index` and adjacent parent `adjacent`. Returns the child's index.
pub(crate) fn merge(record: &mut StreamRecord, index: u32, adjacent: u32, now: i64) -> u32 {
    let mut range: Option<HashKeyRange> = None;
    for i in [index, adjacent] {
        if let Some(shard) = shard_mut(record, i) {
            shard.closed_ms = Some(now);
            let this = HashKeyRange {
                start: shard.hash_start,
                end: shard.hash_end,
            };
            range = Some(range.map_or(this, |r| HashKeyRange {
                start: r.start.min(this.start),
                end: r.end.max(this.end),
            }));
        }
    }
    new_shard(
        record,
        range.unwrap_or(HashKeyRange::ALL),
        (index, Some(adjacent)),
        now,
    )
}

/// Open shards ordered by hash range.
pub(crate) fn open_shards(record: &StreamRecord) -> Vec<ShardRecord> {
    let mut open: Vec<ShardRecord> = record
        .shards
        .iter()
        .filter(|s| s.closed_ms.is_none())
        .cloned()
        .collect();
    open.sort_by_key(|s| s.hash_start);
    open
}

/// Rescales to `target` open shards with uniform ranges, as AWS does: split the open shards
/// at every target boundary inside them, then merge the pieces of each target range left to
/// right. Every new shard names real, closed parents covering its range.
pub(crate) fn rescale_uniformly(record: &mut StreamRecord, target: u32, now: i64) {
    let targets = HashKeyRange::ALL.split_evenly(target);
    for boundary in targets.iter().skip(1).map(|t| t.start) {
        let inside = open_shards(record)
            .into_iter()
            .find(|s| s.hash_start < boundary && boundary <= s.hash_end);
        if let Some(shard) = inside {
            split(record, shard.index, boundary, now);
        }
    }
    for range in targets {
        let mut pieces: Vec<u32> = open_shards(record)
            .into_iter()
            .filter(|s| range.start <= s.hash_start && s.hash_end <= range.end)
            .map(|s| s.index)
            .collect();
        while pieces.len() > 1 {
            let merged = merge(record, pieces[0], pieces[1], now);
            pieces.splice(0..2, [merged]);
        }
    }
}

impl Engine {
    /// Plans a reshard with `plan` on a copy of the stream's record and publishes it. The
    /// stream stays UPDATING for the configured delay; reads and writes go on meanwhile.
    pub(crate) async fn reshard<R>(
        &self,
        stream: &Stream,
        plan: impl FnOnce(&mut StreamRecord, i64) -> ApiResult<R>,
    ) -> ApiResult<R> {
        self.reshard_with(stream, true, plan).await
    }

    /// A reshard the service makes by itself (on-demand scaling): the stream stays ACTIVE.
    pub(crate) async fn reshard_quietly<R>(
        &self,
        stream: &Stream,
        plan: impl FnOnce(&mut StreamRecord, i64) -> ApiResult<R>,
    ) -> ApiResult<R> {
        self.reshard_with(stream, false, plan).await
    }

    async fn reshard_with<R>(
        &self,
        stream: &Stream,
        mark_updating: bool,
        plan: impl FnOnce(&mut StreamRecord, i64) -> ApiResult<R>,
    ) -> ApiResult<R> {
        let _control = self.inner.control.lock().await;
        if self.registry().get_uid(stream.uid).is_none() {
            return Err(ApiError::stream_not_found(
                &stream.key.name,
                &stream.key.account,
            ));
        }
        let before = stream.read().record.clone();
        let mut record = before.clone();
        let now = self.now_ms();
        let result = plan(&mut record, now)?;
        let delay = self.inner.config.update_stream_delay.as_millis() as i64;
        if mark_updating && delay > 0 {
            record.status = StreamStatus::Updating;
            record.status_due_ms = Some(now + delay);
        }
        let was_open: HashSet<u32> = before
            .shards
            .iter()
            .filter(|s| s.closed_ms.is_none())
            .map(|s| s.index)
            .collect();
        let new_shards = log_shards(&record, |s| s.index >= before.next_shard_index);
        self.register_in_log(new_shards).await?;
        self.inner.meta.put_stream(&record)?;
        let closed: Vec<u32> = record
            .shards
            .iter()
            .filter(|s| {
                s.closed_ms.is_some()
                    && (was_open.contains(&s.index) || s.index >= before.next_shard_index)
            })
            .map(|s| s.index)
            .collect();
        let due = record.status_due_ms;
        stream.replace(record);
        for index in closed {
            self.close_in_log(ShardKey {
                stream: stream.uid,
                shard: index,
            })?;
        }
        if let Some(due) = due {
            self.schedule_transition(stream.uid, due);
        }
        Ok(result)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use spate_meta::StreamMode;

    /// An active stream of `count` shards over the key space, split as CreateStream does.
    pub(crate) fn stream_of(count: u32) -> StreamRecord {
        StreamRecord {
            uid: 1,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: "s".into(),
            created_ms: 0,
            status: StreamStatus::Active,
            status_due_ms: None,
            mode: StreamMode::Provisioned,
            retention_hours: 24,
            shards: HashKeyRange::ALL
                .split_evenly(count)
                .into_iter()
                .zip(0..)
                .map(|(r, index)| ShardRecord {
                    index,
                    parent: None,
                    adjacent_parent: None,
                    hash_start: r.start,
                    hash_end: r.end,
                    created_ms: 0,
                    start_counter: 0,
                    closed_ms: None,
                })
                .collect(),
            next_shard_index: count,
            tags: Default::default(),
            encryption_type: "NONE".into(),
            key_id: None,
            key_uuid: None,
            encrypted_since_ms: None,
            key_changes_ms: Vec::new(),
            shard_level_metrics: vec![],
            max_record_size_kib: 1024,
            record_distribution_strategy: None,
            warm_throughput_mibps: None,
            trimmed_before_ms: None,
            consumers: Vec::new(),
            resource_policy: None,
        }
    }

    /// Open shards tile the key space, and every shard's parents are closed shards that
    /// cover exactly its range.
    fn check_lineage(record: &StreamRecord) {
        let open = open_shards(record);
        assert_eq!(open.first().map(|s| s.hash_start), Some(0));
        assert_eq!(open.last().map(|s| s.hash_end), Some(u128::MAX));
        for pair in open.windows(2) {
            assert_eq!(pair[0].hash_end + 1, pair[1].hash_start);
        }
        for shard in &record.shards {
            let parents: Vec<&ShardRecord> = shard
                .parent
                .iter()
                .chain(shard.adjacent_parent.iter())
                .map(|p| {
                    record
                        .shards
                        .iter()
                        .find(|s| s.index == *p)
                        .expect("parent exists")
                })
                .collect();
            if parents.is_empty() {
                continue;
            }
            assert!(parents.iter().all(|p| p.closed_ms.is_some()));
            let start = parents.iter().map(|p| p.hash_start).min().expect("parent");
            let end = parents.iter().map(|p| p.hash_end).max().expect("parent");
            if parents.len() == 1 {
                assert!(
                    start <= shard.hash_start && shard.hash_end <= end,
                    "split child within parent"
                );
            } else {
                assert_eq!(
                    (start, end),
                    (shard.hash_start, shard.hash_end),
                    "merge child is the union"
                );
            }
        }
        let mut indexes: Vec<u32> = record.shards.iter().map(|s| s.index).collect();
        let sorted = indexes.clone();
        indexes.dedup();
        assert_eq!(indexes, sorted, "indexes are unique and ascending");
    }

    proptest! {
        #[test]
        fn rescaling_gives_uniform_open_shards_with_valid_lineage(from in 1u32..40, steps in proptest::collection::vec(0.5f64..2.0, 1..4)) {
            let mut record = stream_of(from);
            let mut current = from;
            for factor in steps {
                let target = ((f64::from(current) * factor).round() as u32).clamp(current.div_ceil(2), current * 2).max(1);
                rescale_uniformly(&mut record, target, 1);
                let open = open_shards(&record);
                prop_assert_eq!(open.len() as u32, target);
                let expected = HashKeyRange::ALL.split_evenly(target);
                for (shard, range) in open.iter().zip(&expected) {
                    prop_assert_eq!((shard.hash_start, shard.hash_end), (range.start, range.end));
                }
                check_lineage(&record);
                current = target;
            }
        }
    }

    #[test]
    fn split_and_merge_keep_lineage() {
        let mut record = stream_of(2);
        let (a, b) = split(&mut record, 0, 1 << 100, 5);
        assert_eq!((a, b), (2, 3));
        let merged = merge(&mut record, 3, 1, 6);
        assert_eq!(merged, 4);
        check_lineage(&record);
        assert_eq!(open_shards(&record).len(), 2);
    }
}
