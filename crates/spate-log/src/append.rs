//! Appending: counters and arrival times are assigned under the queue lock, in call order,
//! and the caller waits for the writer's group commit — or, with `Durability::None` and the
//! writer free, runs that commit itself (`commit_inline`).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::error::LogError;
use crate::journal::frame::{record_frame_len, sealed_frame_len};
use crate::journal::writer::commit_inline;
use crate::log::Log;
use crate::seal::{Plain, SealSlot, seal_into};
use crate::state::{Job, PendingRecord, Shared};
use crate::sync::lock;
use crate::types::{Appended, Durability, NewRecord, Sealer};

type Reply = oneshot::Receiver<Result<Vec<Appended>, LogError>>;

impl Log {
    /// Appends records (to any mix of shards) and resolves once they are committed under the
    /// configured durability: one result per record, in order. Records queued by one call
    /// get consecutive positions in each shard, in call order. When too many bytes are
    /// pending, the future waits for room before the records are queued.
    pub fn append(
        &self,
        records: Vec<NewRecord>,
    ) -> impl Future<Output = Result<Vec<Appended>, LogError>> + Send + 'static + use<> {
        self.append_with(records, None)
    }

    /// Like [`Log::append`], but stores each record's partition key and data encrypted by
    /// `sealer` (a sealed-record frame naming the sealer's key), with the record's stream,
    /// shard, counter and arrival time as associated data. Sealing runs on the calling
    /// thread, after the records are queued.
    pub fn append_sealed(
        &self,
        records: Vec<NewRecord>,
        sealer: Arc<dyn Sealer>,
    ) -> impl Future<Output = Result<Vec<Appended>, LogError>> + Send + 'static + use<> {
        self.append_with(records, Some(sealer))
    }

    // `use<>`: the future holds its own handle, so callers may create it on one thread (a
    // blocking one, to seal there) and await it on another.
    fn append_with(
        &self,
        records: Vec<NewRecord>,
        sealer: Option<Arc<dyn Sealer>>,
    ) -> impl Future<Output = Result<Vec<Appended>, LogError>> + Send + 'static + use<> {
        let shared = self.shared().clone();
        // Queue right away when there is room, so counter order follows call order even if
        // the caller polls its futures in some other order.
        let first_try = try_enqueue(&shared, records, sealer.as_deref());
        async move {
            let reply = match first_try? {
                Ok(reply) => reply,
                Err(mut records) => loop {
                    let notified = shared.space.notified();
                    let mut notified = std::pin::pin!(notified);
                    // Registered before checking, so a release in between is not missed.
                    notified.as_mut().enable();
                    match try_enqueue(&shared, records, sealer.as_deref())? {
                        Ok(reply) => break reply,
                        Err(back) => records = back,
                    }
                    notified.await;
                },
            };
            reply.await.unwrap_or(Err(LogError::ShuttingDown))
        }
    }
}

/// Queues the records if there is room; gives them back if not.
fn try_enqueue(
    shared: &Arc<Shared>,
    records: Vec<NewRecord>,
    sealer: Option<&dyn Sealer>,
) -> Result<Result<Reply, Vec<NewRecord>>, LogError> {
    let (tx, rx) = oneshot::channel();
    if records.is_empty() {
        let _ = tx.send(Ok(Vec::new()));
        return Ok(Ok(rx));
    }
    let mut bytes = 0;
    let frame_len = if sealer.is_some() {
        sealed_frame_len
    } else {
        record_frame_len
    };
    for r in &records {
        bytes += frame_len(&r.partition_key, &r.data).map_err(LogError::RecordTooLarge)?;
    }
    let mut q = lock(&shared.queue);
    if q.poisoned {
        return Err(LogError::Poisoned);
    }
    if q.closing {
        return Err(LogError::ShuttingDown);
    }
    for r in &records {
        match q.shards.get(&r.shard) {
            None => return Err(LogError::UnknownShard(r.shard)),
            Some(assign) if assign.closed => return Err(LogError::ShardClosed(r.shard)),
            Some(_) => {}
        }
    }
    // An empty queue takes anything, so one oversized append cannot wait forever.
    if q.pending_bytes > 0 && q.pending_bytes + bytes > shared.config.max_pending_bytes {
        return Ok(Err(records));
    }
    let now = shared.clock.now_ms();
    let mut pending = Vec::with_capacity(records.len());
    let mut plain = Vec::with_capacity(if sealer.is_some() { records.len() } else { 0 });
    for r in records {
        let Some(assign) = q.shards.get_mut(&r.shard) else {
            return Err(LogError::UnknownShard(r.shard));
        };
        let counter = assign.next_counter;
        assign.next_counter += 1;
        // Arrival times never go back within a shard, even if the wall clock does, so time
        // lookups can binary-search.
        let arrival_ms = assign.last_arrival.map_or(now, |last| last.max(now));
        assign.last_arrival = Some(arrival_ms);
        let (partition_key, data) = if sealer.is_some() {
            plain.push(Plain {
                shard: r.shard,
                counter,
                arrival_ms,
                partition_key: r.partition_key,
                data: r.data,
            });
            Default::default()
        } else {
            (r.partition_key, r.data)
        };
        pending.push(PendingRecord {
            shard: r.shard,
            counter,
            arrival_ms,
            partition_key,
            data,
        });
    }
    let slot = sealer.map(|s| SealSlot::new(s.key_id()));
    q.pending_bytes += bytes;
    let done = Box::new(move |r| {
        let _ = tx.send(r);
    });
    q.jobs.push(Job::Append {
        records: pending,
        bytes,
        done,
        sealed: slot.clone(),
    });
    let inline = sealer.is_none() && shared.config.durability == Durability::None;
    // One notification per sleep: the appends queued before the woken writer gets a CPU
    // would each make another system call. And made after unlocking, so the writer does not
    // wake only to wait for the lock this thread still holds.
    let wake = !inline && q.writer_asleep;
    if wake {
        q.writer_asleep = false;
    }
    drop(q);
    if wake {
        shared.wake_writer.notify_one();
    }
    if inline {
        commit_inline(shared);
    }
    if let (Some(slot), Some(sealer)) = (slot, sealer) {
        seal_into(&slot, sealer, plain);
    }
    Ok(Ok(rx))
}
