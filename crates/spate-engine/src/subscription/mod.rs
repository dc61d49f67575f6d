//! Enhanced fan-out subscriptions (SubscribeToShard): which ones are live, and the events
//! each one yields.
//!
//! A [`Subscription`] is a position in one shard plus a receiver of that shard's commit
//! notifications from the record log; [`Subscription::next`] (in `feed.rs`) waits for
//! records to become durable and returns them as `SubscribeToShardEvent`s, sends empty
//! events while idle, and ends with the shard's children, at its lifetime, or with an error
//! when something else ends it. It holds no records between calls: a subscriber that stops
//! reading costs a position and a few handles, never a buffer.
//!
//! The [`Subscriptions`] table allows one live subscription per consumer and shard: a new
//! one sooner than the takeover window after the live one started is refused; a later one
//! takes over, and the older one ends with `ResourceInUseException`. Deregistering a
//! consumer ends its subscriptions the same way, with `ResourceNotFoundException`.

mod feed;

pub use feed::SubscriptionItem;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use spate_log::ShardKey;
use tokio::sync::{oneshot, watch};

use crate::engine::Engine;
use crate::error::ApiError;
use crate::ops::consumers::ConsumerId;
use crate::ops::get_records::Record;
use crate::registry::Stream;
use crate::views::ChildShard;

/// The `SubscribeToShardEvent` shape: one event of a subscription.
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardEvent {
    pub records: Vec<Record>,
    /// Where a resubscription resumes (with `AFTER_SEQUENCE_NUMBER`); `None` only in the
    /// final event of a closed shard, which carries its children instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_sequence_number: Option<String>,
    pub millis_behind_latest: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<ChildShard>>,
}

/// One live subscription's place in the table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SlotKey {
    pub stream: u64,
    pub consumer: ConsumerId,
    pub shard: u32,
}

struct Slot {
    /// Tells a slot from its successor, so an ending subscription frees only its own.
    id: u64,
    started_ms: i64,
    /// Ends the subscription: with an exception event, or normally (`None`).
    end: oneshot::Sender<Option<ApiError>>,
}

/// The live subscriptions, one per consumer and shard.
#[derive(Default)]
pub(crate) struct Subscriptions {
    slots: std::sync::Mutex<HashMap<SlotKey, Slot>>,
    next_id: AtomicU64,
}

/// Frees a subscription's slot when the subscription is dropped, however it ended.
struct SlotGuard {
    table: Arc<Subscriptions>,
    key: SlotKey,
    id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut slots = self.table.lock();
        if slots.get(&self.key).is_some_and(|slot| slot.id == self.id) {
            slots.remove(&self.key);
        }
    }
}

impl Subscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SlotKey, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the slot for `key` at `now_ms`, ending its holder with `ResourceInUseException`
    /// if it started at least `takeover_ms` ago. `None` if the holder is younger than that.
    fn claim(
        self: &Arc<Self>,
        key: SlotKey,
        now_ms: i64,
        takeover_ms: i64,
        taken_over: impl FnOnce() -> ApiError,
    ) -> Option<(SlotGuard, oneshot::Receiver<Option<ApiError>>)> {
        let mut slots = self.lock();
        if let Some(holder) = slots.get(&key) {
            // A holder whose subscription is already gone no longer counts.
            if !holder.end.is_closed() && now_ms - holder.started_ms < takeover_ms {
                return None;
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (end, ended) = oneshot::channel();
        let slot = Slot {
            id,
            started_ms: now_ms,
            end,
        };
        if let Some(old) = slots.insert(key.clone(), slot) {
            let _ = old.end.send(Some(taken_over()));
        }
        let guard = SlotGuard {
            table: self.clone(),
            key,
            id,
        };
        Some((guard, ended))
    }

    /// Ends every subscription whose key matches, each with the error `why` makes (`None`:
    /// normally).
    fn end_where(&self, matches: impl Fn(&SlotKey) -> bool, why: impl Fn() -> Option<ApiError>) {
        let mut slots = self.lock();
        let keys: Vec<SlotKey> = slots.keys().filter(|k| matches(k)).cloned().collect();
        for key in keys {
            if let Some(slot) = slots.remove(&key) {
                let _ = slot.end.send(why());
            }
        }
    }
}

impl Engine {
    /// Ends the live subscriptions `matches` selects, each with an exception event.
    pub(crate) fn end_subscriptions(
        &self,
        matches: impl Fn(&SlotKey) -> bool,
        why: impl Fn() -> ApiError,
    ) {
        self.inner.subscriptions.end_where(matches, || Some(why()));
    }

    /// Ends every live subscription normally, as a server that is shutting down must: their
    /// responses would otherwise hold the shutdown for their whole lifetime. Clients
    /// resubscribe, as after any normal end.
    pub fn end_all_subscriptions(&self) {
        self.inner.subscriptions.end_where(|_| true, || None);
    }
}

/// A live subscription to one shard for one consumer. Dropping it ends it.
pub struct Subscription {
    engine: Engine,
    stream: Arc<Stream>,
    consumer: ConsumerId,
    key: ShardKey,
    shard_created_ms: i64,
    /// The counter of the next record to deliver.
    position: u64,
    /// The sequence number a resubscription resumes after.
    continuation: String,
    /// Whether the stream had been encrypted when the subscription started: unsealed records
    /// then say `EncryptionType: NONE` (sealed ones always say `KMS`).
    ever_encrypted: bool,
    /// Changes when records of the shard commit; closed once its stream is dropped.
    commits: watch::Receiver<u64>,
    commits_closed: bool,
    /// Receives why someone else ended this subscription (takeover, deregistration,
    /// shutdown).
    ended: oneshot::Receiver<Option<ApiError>>,
    expires_at: tokio::time::Instant,
    next_heartbeat: tokio::time::Instant,
    /// 2 MiB/s for this consumer on this shard, where limits are enforced: when the records
    /// delivered so far are paid for (see `feed.rs`).
    budget: Option<tokio::time::Instant>,
    /// Whether an event has gone out yet: the first one goes at once, records or not.
    started: bool,
    done: bool,
    _slot: SlotGuard,
}

/// Where a new subscription starts.
pub(crate) struct Start {
    pub stream: Arc<Stream>,
    pub consumer: ConsumerId,
    pub consumer_arn: String,
    pub shard_index: u32,
    pub shard_created_ms: i64,
    pub counter: u64,
}

impl Engine {
    /// Opens a subscription at `start`, taking the consumer's slot for the shard.
    pub(crate) fn open_subscription(&self, start: Start) -> Result<Subscription, ApiError> {
        let config = &self.inner.config;
        let key = ShardKey {
            stream: start.stream.uid,
            shard: start.shard_index,
        };
        // Subscribe to commits before anything is read, so no commit falls in between.
        let commits = self
            .inner
            .log
            .watch_commits(key)
            .map_err(ApiError::internal)?;
        let now = self.now_ms();
        let takeover_ms = config.subscription_takeover.as_millis() as i64;
        let slot_key = SlotKey {
            stream: start.stream.uid,
            consumer: start.consumer.clone(),
            shard: start.shard_index,
        };
        let shard_id = spate_types::shard_id(start.shard_index);
        let arn = start.consumer_arn.clone();
        let claimed = self
            .inner
            .subscriptions
            .claim(slot_key, now, takeover_ms, || {
                ApiError::new(
                    crate::error::ErrorKind::ResourceInUse,
                    format!(
                        "Another subscription of consumer {arn} to shard {shard_id} took over."
                    ),
                )
            });
        let Some((slot, ended)) = claimed else {
            start.stream.metrics.subscribe_rate_exceeded.inc();
            return Err(ApiError::new(
                crate::error::ErrorKind::ResourceInUse,
                format!(
                    "Consumer {} already has a subscription to shard {} that started less than {} ms ago.",
                    start.consumer_arn,
                    spate_types::shard_id(start.shard_index),
                    takeover_ms
                ),
            ));
        };
        let ever_encrypted = {
            let state = start.stream.read();
            state.record.encrypted_since_ms.is_some()
        };
        start.stream.metrics.subscribe_success.inc();
        let started_at = tokio::time::Instant::now();
        let budget = self
            .inner
            .limits
            .enforced_for(&start.stream.key.name)
            .then_some(started_at);
        Ok(Subscription {
            engine: self.clone(),
            continuation: crate::views::sequence_before(
                start.shard_created_ms,
                start.shard_index,
                start.counter,
            ),
            stream: start.stream,
            consumer: start.consumer,
            key,
            shard_created_ms: start.shard_created_ms,
            position: start.counter,
            ever_encrypted,
            commits,
            commits_closed: false,
            ended,
            expires_at: started_at + config.subscription_lifetime,
            next_heartbeat: started_at,
            budget,
            started: false,
            done: false,
            _slot: slot,
        })
    }
}
