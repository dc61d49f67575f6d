//! A subscription's feed: wait for the shard's commits, read what became durable, and turn
//! it into events. Records reach a subscriber because the log's writer signals each commit
//! (`Log::watch_commits`), never because anything polls; the only timer is the heartbeat
//! that keeps an idle subscriber's continuation and lag current.

use std::time::Duration;

use spate_log::{ReadBatch, ShardTip};
use spate_meta::ConsumerStatus;
use spate_types::limits::{MAX_GET_RECORDS_LIMIT, SUBSCRIPTION_BYTES_PER_SEC};
use tokio::sync::oneshot::error::TryRecvError;
use tokio::time::Instant;

use super::{SubscribeToShardEvent, Subscription};
use crate::error::{ApiError, ErrorKind};
use crate::kms::record_encryption_type;
use crate::ops::get_records::Record;
use crate::shapes::{Blob, Timestamp};
use crate::views::{child_shards, sequence_before, sequence_fields};

/// Record bytes (data and partition keys) per event, beyond the first record: small enough
/// that a slow subscriber pins little memory, large enough to carry 2 MiB/s in a few events.
const EVENT_BYTES: usize = 1 << 20;

/// At most this many records behind the shard's committed end, a subscription reads on its
/// own task (see `read`), taking at most `INLINE_BYTES` of them per event.
const INLINE_RECORDS: u64 = 64;
const INLINE_BYTES: usize = 256 << 10;

/// At most this many turns of the runtime's queue a woken subscription waits for more
/// commits before it reads (see `wait`).
const COALESCE_ROUNDS: usize = 8;

/// How much a consumer may read at once from a full budget: one second's worth.
const BURST: Duration = Duration::from_secs(1);

/// What one event of a subscription is: records and position, or why it ended.
pub type SubscriptionItem = Result<SubscribeToShardEvent, ApiError>;

impl Subscription {
    /// The next event, waiting for one as long as it takes; `None` once the subscription has
    /// ended normally (its lifetime is over, or it sent its closed shard's children). An
    /// `Err` is the last item: send it as an exception event and stop.
    pub async fn next(&mut self) -> Option<SubscriptionItem> {
        if self.done {
            return None;
        }
        loop {
            match self.ended.try_recv() {
                Ok(Some(error)) => return self.fail(error),
                Ok(None) | Err(TryRecvError::Closed) => return self.finish(),
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= self.expires_at {
                return self.finish();
            }
            let trim_horizon = match self.check_alive() {
                Ok(trim_horizon) => trim_horizon,
                Err(error) => return self.fail(error),
            };
            if let Some(free_at) = self.budget.filter(|at| *at > now + BURST) {
                let wait_until = (free_at - BURST).min(self.expires_at);
                if let Some(item) = self.wait(Some(wait_until), false).await {
                    return item;
                }
                continue;
            }
            // Whatever commits from here on wakes the wait below.
            self.commits.borrow_and_update();
            let (batch, tip) = match self.read(trim_horizon).await {
                Ok(read) => read,
                Err(error) => return self.fail(self.check_alive().err().unwrap_or(error)),
            };
            if let Some(event) = self.deliver(batch, tip, trim_horizon, now) {
                return Some(Ok(event));
            }
            let wake_at = self.next_heartbeat.min(self.expires_at);
            if let Some(item) = self.wait(Some(wake_at), true).await {
                return item;
            }
        }
    }

    fn fail(&mut self, error: ApiError) -> Option<SubscriptionItem> {
        self.done = true;
        Some(Err(error))
    }

    fn finish(&mut self) -> Option<SubscriptionItem> {
        self.done = true;
        None
    }

    /// The stream's trim horizon, if the stream and the consumer are still there and the
    /// consumer is ACTIVE.
    fn check_alive(&self) -> Result<i64, ApiError> {
        let engine = &self.engine;
        let Some(stream) = engine.registry().get_uid(self.stream.uid) else {
            return Err(ApiError::stream_not_found(
                &self.stream.key.name,
                &self.stream.key.account,
            ));
        };
        let state = stream.read();
        match self.consumer.find(&state.record) {
            Some(consumer) if consumer.status == ConsumerStatus::Active => {}
            _ => {
                return Err(ApiError::new(
                    ErrorKind::ResourceNotFound,
                    format!(
                        "Consumer {} of stream {} under account {} is no longer registered.",
                        self.consumer.name, state.record.name, state.record.account
                    ),
                ));
            }
        }
        Ok(engine.trim_horizon_ms(&state.record))
    }

    async fn read(&self, trim_horizon: i64) -> Result<(ReadBatch, ShardTip), ApiError> {
        let log = self.engine.inner.log.clone();
        let (key, from) = (self.key, self.position);
        let kms = self.engine.inner.config.kms.clone();
        let (region, account) = (
            self.stream.key.region.clone(),
            self.stream.key.account.clone(),
        );
        // A subscriber that keeps up reads a few records just committed: a copy from memory
        // and page cache, cheaper than the hop to the blocking pool, which would otherwise
        // cost more than the read itself for every event. Anything bigger goes to the pool.
        let behind = self.commits.borrow().saturating_sub(from);
        let inline = behind <= INLINE_RECORDS;
        let max_bytes = if inline { INLINE_BYTES } else { EVENT_BYTES };
        let read = move || {
            let mut batch = log
                .read(key, from, trim_horizon, MAX_GET_RECORDS_LIMIT, max_bytes)
                .map_err(ApiError::internal)?;
            // A record whose key is unusable ends the subscription with the KMS exception.
            kms.open_records(&mut batch.records, &region, &account)?;
            let tip = log.shard_tip(key).map_err(ApiError::internal)?;
            Ok::<_, ApiError>((batch, tip))
        };
        if inline {
            return read();
        }
        // Shares GetRecords' bound on reads running at once (see `Inner::read_slots`).
        let _slot = self.engine.inner.read_slots.acquire().await.ok();
        tokio::task::spawn_blocking(read)
            .await
            .map_err(ApiError::internal)?
    }

    /// The event a read makes, if one is due: records, the closed shard's children, or a
    /// heartbeat.
    fn deliver(
        &mut self,
        batch: ReadBatch,
        tip: ShardTip,
        trim_horizon: i64,
        now: Instant,
    ) -> Option<SubscribeToShardEvent> {
        let (created, index) = (self.shard_created_ms, self.key.shard);
        if let Some(last) = batch.records.last() {
            let caught_up = batch.next_counter >= tip.next_counter;
            let millis_behind_latest = match tip.last_arrival_ms {
                Some(tip_arrival) if !caught_up => (tip_arrival - last.arrival_ms).max(0),
                _ => 0,
            };
            self.position = batch.next_counter;
            let bytes: usize = batch
                .records
                .iter()
                .map(|r| r.data.len() + r.partition_key.len())
                .sum();
            self.charge(bytes, now);
            let records: Vec<Record> = batch
                .records
                .into_iter()
                .map(|r| Record {
                    sequence_number: sequence_fields(created, index, r.counter, r.arrival_ms),
                    approximate_arrival_timestamp: Timestamp(r.arrival_ms),
                    data: Blob(r.data),
                    partition_key: r.partition_key,
                    encryption_type: record_encryption_type(
                        r.sealed.is_some(),
                        self.ever_encrypted,
                    ),
                })
                .collect();
            // The continuation is the last record's own sequence number.
            if let Some(last) = records.last() {
                self.continuation = last.sequence_number.to_decimal();
            }
            return Some(self.event(records, millis_behind_latest, now));
        }
        if batch.next_counter > self.position {
            // Everything from the position on had expired: resume at the committed end.
            self.position = batch.next_counter;
            self.continuation = sequence_before(created, index, self.position);
        }
        let shard_ended = self
            .engine
            .shard_end(self.key)
            .is_some_and(|end| self.position >= end);
        if shard_ended {
            self.done = true;
            let children = child_shards(&self.stream.read().record, index);
            return Some(SubscribeToShardEvent {
                records: Vec::new(),
                continuation_sequence_number: None,
                millis_behind_latest: 0,
                child_shards: Some(children),
            });
        }
        if self.started && now < self.next_heartbeat {
            return None;
        }
        let millis_behind_latest = match tip.last_arrival_ms {
            Some(tip_arrival) if self.position < tip.next_counter => {
                (tip_arrival - trim_horizon).max(0)
            }
            _ => 0,
        };
        Some(self.event(Vec::new(), millis_behind_latest, now))
    }

    fn event(
        &mut self,
        records: Vec<Record>,
        millis_behind_latest: i64,
        now: Instant,
    ) -> SubscribeToShardEvent {
        self.started = true;
        self.next_heartbeat = now + self.engine.inner.config.subscription_heartbeat;
        let metrics = &self.stream.metrics;
        let bytes: usize = records.iter().map(|r| r.data.0.len()).sum();
        metrics.subscribe_event_bytes.inc_by(bytes as u64);
        metrics.subscribe_event_records.inc_by(records.len() as u64);
        metrics.subscribe_millis_behind.set(millis_behind_latest);
        metrics.subscribe_event_success.inc();
        SubscribeToShardEvent {
            records,
            continuation_sequence_number: Some(self.continuation.clone()),
            millis_behind_latest,
            child_shards: None,
        }
    }

    /// Counts `bytes` against the consumer's 2 MiB/s on this shard, where limits are
    /// enforced: `budget` is when the bytes delivered so far are paid for (a virtual
    /// clock that runs ahead by what was read), and reads wait while it is more than a
    /// second ahead.
    fn charge(&mut self, bytes: usize, now: Instant) {
        if let Some(free_at) = self.budget.as_mut() {
            let cost = Duration::from_secs_f64(bytes as f64 / SUBSCRIPTION_BYTES_PER_SEC as f64);
            *free_at = (*free_at).max(now) + cost;
        }
    }

    /// Waits until `until`, a commit (when `on_commit`), or the end of the subscription.
    /// `Some` is the subscription's last item, when something else ended it.
    async fn wait(
        &mut self,
        until: Option<Instant>,
        on_commit: bool,
    ) -> Option<Option<SubscriptionItem>> {
        let watch_commits = on_commit && !self.commits_closed;
        let deadline = until.unwrap_or(self.expires_at);
        tokio::select! {
            biased;
            ended = &mut self.ended => Some(match ended {
                Ok(Some(error)) => self.fail(error),
                Ok(None) | Err(_) => self.finish(),
            }),
            changed = self.commits.changed(), if watch_commits => {
                // Closed: the stream was dropped; the next round reports it.
                if changed.is_err() {
                    self.commits_closed = true;
                }
                // Let the tasks already waiting run first (the committer's reply, other
                // puts), and again while they keep committing: idle, that costs a few
                // microseconds; under load, one event then carries the records of many
                // commits, where one event per commit would cost a send (and a wake-up of
                // the reader) per record.
                for _ in 0..COALESCE_ROUNDS {
                    tokio::task::yield_now().await;
                    if !self.commits.has_changed().unwrap_or(false) {
                        break;
                    }
                    self.commits.borrow_and_update();
                }
                None
            }
            () = tokio::time::sleep_until(deadline) => None,
        }
    }
}
