//! The [`Engine`] and the machinery its operations share.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use spate_auth::Principal;
use spate_log::{Log, ShardKey};
use spate_meta::{MetaStore, StreamRecord, StreamStatus};
use spate_types::StreamArn;

use crate::clock::Clock;
use crate::config::EngineConfig;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::registry::{Registry, Stream, StreamKey, StreamKeyRef};
use crate::tokens::TokenKey;

/// Who a request acts for: the namespace its stream names live in, and what authorization
/// needs to know of it.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub account: String,
    pub region: String,
    /// Who is asking: a verified credential's principal (`--auth sigv4`), or the account's
    /// root when signatures are not checked.
    pub principal: Arc<Principal>,
    /// Whether a signature proved the principal. Without one (`--auth none`) no policy is
    /// enforced within the principal's own account: there is no identity to hold to it.
    pub verified: bool,
    /// The operation, as in `X-Amz-Target` (`PutRecord`); it is authorized as
    /// `kinesis:<action>`.
    pub action: &'static str,
}

/// A Kinesis service over a metadata store and a record log. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: EngineConfig,
    pub clock: Arc<dyn Clock>,
    pub meta: Arc<dyn MetaStore>,
    pub log: Log,
    pub tokens: TokenKey,
    registry: RwLock<Registry>,
    /// Serializes control-plane changes (create, delete, tags, retention, transitions), so
    /// each read-modify-persist of a stream record sees the previous one. The data plane
    /// never takes it.
    pub control: tokio::sync::Mutex<()>,
    /// Where each closed shard ends (the log's counter after its last record). Rebuilt on
    /// every start, when the log's recovered counters are final.
    shard_ends: std::sync::Mutex<std::collections::HashMap<ShardKey, u64>>,
    /// Throughput and rate budgets, consulted only where limits are enforced.
    pub limits: crate::limits::Limits,
    /// Injected faults, replaceable at run time.
    pub faults: crate::faults::Faults,
    /// The live SubscribeToShard subscriptions, one per consumer and shard.
    pub subscriptions: Arc<crate::subscription::Subscriptions>,
    /// This engine's own metrics registry (several engines may share a process).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Bounds the GetRecords reads running at once on the blocking pool to the CPUs: ten
    /// polls arriving together would otherwise be ten threads, and the async workers (every
    /// put's path) would get a tenth of a core while they read.
    pub read_slots: tokio::sync::Semaphore,
}

impl Engine {
    /// Loads every stream from `meta`, re-registers its shards with `log`, and finishes any
    /// lifecycle transition a crash interrupted. Must run inside a tokio runtime.
    pub fn open(
        config: EngineConfig,
        meta: Arc<dyn MetaStore>,
        log: Log,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, ApiError> {
        let key = meta.secret("token-key", &mut || rand::random::<[u8; 32]>().to_vec())?;
        let engine = Engine {
            inner: Arc::new(Inner {
                clock,
                meta: meta.clone(),
                metrics: crate::metrics::Metrics::new(log.clone()),
                log,
                tokens: TokenKey::new(key),
                registry: RwLock::new(Registry::default()),
                control: tokio::sync::Mutex::new(()),
                shard_ends: std::sync::Mutex::default(),
                limits: crate::limits::Limits::new(config.limits.clone()),
                faults: crate::faults::Faults::new(config.faults.clone()),
                subscriptions: Arc::default(),
                read_slots: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(1, |n| n.get()),
                ),
                config,
            }),
        };
        for record in meta.load_streams()? {
            engine.attach(&record)?;
            let stream = Arc::new(Stream::new(record.clone(), &engine.inner.metrics));
            engine.registry_mut().insert(stream);
            if let Some(due) = record.status_due_ms {
                engine.schedule_transition(record.uid, due);
            }
            for consumer in &record.consumers {
                if let Some(due) = consumer.status_due_ms {
                    let id = crate::ops::consumers::ConsumerId::of(consumer);
                    engine.schedule_consumer_transition(record.uid, id, due);
                }
            }
        }
        engine.start_on_demand_scaling();
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Every metric in the Prometheus text format, after refreshing the per-stream disk
    /// usage, which is summed from the log's index summaries on demand rather than kept
    /// up to date on the write path.
    pub fn encode_metrics(&self) -> String {
        let bytes = self.inner.log.disk_bytes_by_stream();
        for stream in self.registry().all() {
            let held = bytes.get(&stream.uid).copied().unwrap_or(0);
            stream
                .metrics
                .disk_bytes
                .set(i64::try_from(held).unwrap_or(i64::MAX));
        }
        self.inner.metrics.encode()
    }

    /// Ready to serve: every stream is loaded (true once [`Engine::open`] has returned) and
    /// the record log accepts writes.
    pub fn is_ready(&self) -> bool {
        !self.inner.log.stats().poisoned
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn registry_mut(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner
            .registry
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn retention_ms(&self, hours: u32) -> i64 {
        i64::from(hours) * self.inner.config.retention_hour.as_millis() as i64
    }

    /// The oldest arrival time a read of this stream may return.
    pub(crate) fn trim_horizon_ms(&self, record: &StreamRecord) -> i64 {
        let by_retention = self.now_ms() - self.retention_ms(record.retention_hours);
        record
            .trimmed_before_ms
            .map_or(by_retention, |floor| floor.max(by_retention))
    }

    pub(crate) fn iterator_ttl_ms(&self) -> i64 {
        self.inner.config.iterator_ttl.as_millis() as i64
    }

    /// Tells the record log about a stream's shards and retention, and closes the shards
    /// the stream has closed, remembering where each one ends. Blocks on the log's writer
    /// thread: async callers go through [`Engine::attach_async`].
    pub(crate) fn attach(&self, record: &StreamRecord) -> ApiResult<()> {
        let log = &self.inner.log;
        log.register_shards(&log_shards(record, |_| true))
            .map_err(ApiError::internal)?;
        for shard in record.shards.iter().filter(|s| s.closed_ms.is_some()) {
            self.close_in_log(ShardKey {
                stream: record.uid,
                shard: shard.index,
            })?;
        }
        let retention = self.retention_ms(record.retention_hours);
        log.set_retention(record.uid, Duration::from_millis(retention as u64));
        Ok(())
    }

    pub(crate) async fn attach_async(&self, record: &StreamRecord) -> ApiResult<()> {
        let engine = self.clone();
        let record = record.clone();
        tokio::task::spawn_blocking(move || engine.attach(&record))
            .await
            .map_err(ApiError::internal)?
    }

    /// Registers shards with the record log from async code (it blocks on the writer).
    pub(crate) async fn register_in_log(&self, shards: Vec<(ShardKey, u64)>) -> ApiResult<()> {
        let log = self.inner.log.clone();
        tokio::task::spawn_blocking(move || log.register_shards(&shards))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Stops appends to a shard and remembers its final counter, for end-of-shard reads.
    pub(crate) fn close_in_log(&self, shard: ShardKey) -> ApiResult<()> {
        let end = self
            .inner
            .log
            .close_shard(shard)
            .map_err(ApiError::internal)?;
        self.inner
            .shard_ends
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(shard, end);
        // Subscribers caught up at the end learn at once that it is the end.
        self.inner.log.wake_watchers(shard);
        Ok(())
    }

    /// The counter after a closed shard's last record, or `None` while the shard is open.
    pub(crate) fn shard_end(&self, shard: ShardKey) -> Option<u64> {
        self.inner
            .shard_ends
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&shard)
            .copied()
    }

    /// Finds the stream a request names by `StreamName` and/or `StreamARN`, and checks that
    /// the request may act on it.
    pub(crate) fn resolve(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
        arn: Option<&str>,
    ) -> ApiResult<Arc<Stream>> {
        // The usual case, a stream named in the caller's own namespace, needs no key built.
        if let (Some(name), None) = (name, arn) {
            let parts = StreamKeyRef {
                account: &ctx.account,
                region: &ctx.region,
                name,
            };
            if let Some(stream) = self.registry().find(&parts) {
                self.authorize_stream(ctx, &stream.key, Some(&stream))?;
                return Ok(stream);
            }
        }
        let key = Engine::stream_key(ctx, name, arn)?;
        let stream = self.registry().get(&key);
        self.authorize_stream(ctx, &key, stream.as_deref())?;
        stream.ok_or_else(|| ApiError::stream_not_found(&key.name, &key.account))
    }

    /// Where the stream named by `StreamName` and/or `StreamARN` would be.
    pub(crate) fn stream_key(
        ctx: &RequestContext,
        name: Option<&str>,
        arn: Option<&str>,
    ) -> ApiResult<StreamKey> {
        let key = match (name, arn) {
            (_, Some(arn_text)) => {
                let arn = StreamArn::parse(arn_text).ok_or_else(|| {
                    ApiError::invalid_argument(format!("Invalid StreamARN: {arn_text}"))
                })?;
                if let Some(name) = name.filter(|n| *n != arn.stream_name) {
                    return Err(ApiError::invalid_argument(format!(
                        "StreamName {name} and StreamARN {arn_text} do not name the same stream."
                    )));
                }
                StreamKey {
                    account: arn.account,
                    region: arn.region,
                    name: arn.stream_name,
                }
            }
            (Some(name), None) => StreamKey {
                account: ctx.account.clone(),
                region: ctx.region.clone(),
                name: name.to_owned(),
            },
            (None, None) => {
                return Err(ApiError::invalid_argument(
                    "Either StreamName or StreamARN must be provided.",
                ));
            }
        };
        Ok(key)
    }

    /// Applies `change` to a copy of the stream's record, persists it, then publishes it.
    /// Fails without effect if `change` fails or the stream is gone.
    pub(crate) async fn mutate<R>(
        &self,
        stream: &Stream,
        change: impl FnOnce(&mut StreamRecord) -> ApiResult<R>,
    ) -> ApiResult<R> {
        let _control = self.inner.control.lock().await;
        if self.registry().get_uid(stream.uid).is_none() {
            return Err(ApiError::stream_not_found(
                &stream.key.name,
                &stream.key.account,
            ));
        }
        let mut record = stream.read().record.clone();
        let result = change(&mut record)?;
        self.inner.meta.put_stream(&record)?;
        stream.replace(record);
        Ok(result)
    }

    /// Completes a CREATING, UPDATING or DELETING status at `due_ms`.
    pub(crate) fn schedule_transition(&self, uid: u64, due_ms: i64) {
        let engine = self.clone();
        let wait = Duration::from_millis((due_ms - self.now_ms()).max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Err(error) = engine.finish_transition(uid).await {
                tracing::error!(%error, uid, "stream transition failed");
            }
        });
    }

    pub(crate) async fn finish_transition(&self, uid: u64) -> ApiResult<()> {
        let Some(stream) = self.registry().get_uid(uid) else {
            return Ok(());
        };
        match stream.status() {
            StreamStatus::Deleting => self.remove_stream(&stream).await,
            StreamStatus::Creating | StreamStatus::Updating => {
                self.mutate(&stream, |record| {
                    record.status = StreamStatus::Active;
                    record.status_due_ms = None;
                    Ok(())
                })
                .await
            }
            StreamStatus::Active => Ok(()),
        }
    }

    /// Deletes a stream for good: metadata, then its records.
    pub(crate) async fn remove_stream(&self, stream: &Stream) -> ApiResult<()> {
        let _control = self.inner.control.lock().await;
        self.inner.meta.delete_stream(stream.uid)?;
        self.registry_mut().remove(stream.uid);
        self.inner
            .metrics
            .forget_stream(&stream.key, &stream.shard_indices());
        let (name, account) = (&stream.key.name, &stream.key.account);
        self.end_subscriptions(
            |key| key.stream == stream.uid,
            || ApiError::stream_not_found(name, account),
        );
        self.inner
            .log
            .drop_stream(stream.uid)
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// Flushes and checkpoints the record log.
    pub fn shutdown(&self) -> ApiResult<()> {
        self.inner.log.shutdown().map_err(ApiError::internal)
    }

    pub(crate) fn not_active(stream: &StreamRecord) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceInUse,
            format!(
                "Stream {} under account {} not ACTIVE, instead in state {}",
                stream.name,
                stream.account,
                stream.status.as_str()
            ),
        )
    }

    /// Control operations that change a stream need it ACTIVE.
    pub(crate) fn require_active(stream: &StreamRecord) -> ApiResult<()> {
        if stream.status == StreamStatus::Active {
            Ok(())
        } else {
            Err(Engine::not_active(stream))
        }
    }

    /// Data operations work while ACTIVE, UPDATING or DELETING; a CREATING stream is not
    /// found yet, as in AWS.
    pub(crate) fn require_readable(stream: &StreamRecord) -> ApiResult<()> {
        if stream.status == StreamStatus::Creating {
            Err(ApiError::stream_not_found(&stream.name, &stream.account))
        } else {
            Ok(())
        }
    }

    pub(crate) fn stream_arn(record: &StreamRecord) -> String {
        StreamArn::new(&record.region, &record.account, &record.name).to_string()
    }
}

/// The record-log keys and start counters of a stream's shards that `keep` selects.
pub(crate) fn log_shards(
    record: &StreamRecord,
    keep: impl Fn(&spate_meta::ShardRecord) -> bool,
) -> Vec<(ShardKey, u64)> {
    record
        .shards
        .iter()
        .filter(|s| keep(s))
        .map(|s| {
            (
                ShardKey {
                    stream: record.uid,
                    shard: s.index,
                },
                // Records start one above the shard's own StartingSequenceNumber, so that
                // number is below every record and AFTER_SEQUENCE_NUMBER of it finds the
                // first one. (The log never lowers a counter, so this is safe on restart.)
                s.start_counter + 1,
            )
        })
        .collect()
}
