//! What the enhanced fan-out consumer operations share: consumer ARNs and output shapes,
//! finding a consumer by `ConsumerARN` or by `StreamARN` + `ConsumerName`, and the
//! CREATING → ACTIVE and DELETING → gone transitions (persisted, so a restart finishes them).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use spate_meta::{ConsumerRecord, ConsumerStatus, StreamRecord};
use spate_types::{ConsumerArn, StreamArn};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::registry::Stream;
use crate::shapes::Timestamp;

/// The `Consumer` shape (RegisterStreamConsumer, ListStreamConsumers).
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer {
    pub consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub consumer_status: &'static str,
    pub consumer_creation_timestamp: Timestamp,
}

/// The `ConsumerDescription` shape (DescribeStreamConsumer): a `Consumer` and its stream.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerDescription {
    pub consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub consumer_status: &'static str,
    pub consumer_creation_timestamp: Timestamp,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

/// A consumer's ARN: the same text in every answer, from its stream and creation second.
pub(crate) fn consumer_arn(stream: &StreamRecord, consumer: &ConsumerRecord) -> String {
    let stream_arn = StreamArn::new(&stream.region, &stream.account, &stream.name);
    ConsumerArn::new(
        stream_arn,
        &consumer.name,
        (consumer.created_ms / 1000) as u64,
    )
    .to_string()
}

pub(crate) fn consumer_view(stream: &StreamRecord, consumer: &ConsumerRecord) -> Consumer {
    Consumer {
        consumer_name: consumer.name.clone(),
        consumer_arn: consumer_arn(stream, consumer),
        consumer_status: consumer.status.as_str(),
        consumer_creation_timestamp: Timestamp(consumer.created_ms),
    }
}

pub(crate) fn consumer_description(
    stream: &StreamRecord,
    consumer: &ConsumerRecord,
) -> ConsumerDescription {
    ConsumerDescription {
        consumer_name: consumer.name.clone(),
        consumer_arn: consumer_arn(stream, consumer),
        consumer_status: consumer.status.as_str(),
        consumer_creation_timestamp: Timestamp(consumer.created_ms),
        stream_arn: Engine::stream_arn(stream),
    }
}

/// Which consumer of a stream: its name and creation time, which together never name a
/// later consumer of the same name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConsumerId {
    pub name: String,
    pub created_ms: i64,
}

impl ConsumerId {
    pub fn of(consumer: &ConsumerRecord) -> ConsumerId {
        ConsumerId {
            name: consumer.name.clone(),
            created_ms: consumer.created_ms,
        }
    }

    pub fn find<'a>(&self, record: &'a StreamRecord) -> Option<&'a ConsumerRecord> {
        record
            .consumers
            .iter()
            .find(|c| c.name == self.name && c.created_ms == self.created_ms)
    }

    pub fn find_mut<'a>(&self, record: &'a mut StreamRecord) -> Option<&'a mut ConsumerRecord> {
        record
            .consumers
            .iter_mut()
            .find(|c| c.name == self.name && c.created_ms == self.created_ms)
    }
}

pub(crate) fn consumer_not_found(what: &str, stream: &StreamRecord) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!(
            "Consumer {what} under stream {} and account {} not found.",
            stream.name, stream.account
        ),
    )
}

impl Engine {
    /// The stream and consumer a `ConsumerARN` names; the creation second in the ARN must
    /// match, so the ARN of a deregistered consumer never finds a new one of the same name.
    pub(crate) fn resolve_consumer_arn(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> ApiResult<(Arc<Stream>, ConsumerRecord)> {
        let parsed = ConsumerArn::parse(arn)
            .ok_or_else(|| ApiError::invalid_argument(format!("Invalid ConsumerARN: {arn}")))?;
        let stream_arn = parsed.stream.to_string();
        let key = Engine::stream_key(ctx, None, Some(&stream_arn))?;
        let stream = self.registry().get(&key);
        let consumer = self.authorize_consumer(ctx, &key, stream.as_deref(), arn, |c| {
            c.name == parsed.consumer_name && (c.created_ms / 1000) as u64 == parsed.created_secs
        })?;
        let stream = stream.ok_or_else(|| ApiError::stream_not_found(&key.name, &key.account))?;
        let consumer = consumer.ok_or_else(|| consumer_not_found(arn, &stream.read().record))?;
        Ok((stream, consumer))
    }

    /// The consumer named by `ConsumerARN`, or by `StreamARN` and `ConsumerName`; when both
    /// ways are given they must agree.
    pub(crate) fn resolve_consumer(
        &self,
        ctx: &RequestContext,
        stream_arn: Option<&str>,
        consumer_name: Option<&str>,
        consumer_arn: Option<&str>,
    ) -> ApiResult<(Arc<Stream>, ConsumerRecord)> {
        if let Some(arn) = consumer_arn {
            let (stream, consumer) = self.resolve_consumer_arn(ctx, arn)?;
            let name_differs = consumer_name.is_some_and(|name| name != consumer.name);
            let stream_differs = stream_arn.is_some_and(|given| {
                StreamArn::parse(given).is_none_or(|given| {
                    given.stream_name != stream.key.name
                        || given.account != stream.key.account
                        || given.region != stream.key.region
                })
            });
            if name_differs || stream_differs {
                return Err(ApiError::invalid_argument(format!(
                    "ConsumerARN {arn} does not name the same consumer as the StreamARN and ConsumerName given."
                )));
            }
            return Ok((stream, consumer));
        }
        let (Some(stream_arn), Some(name)) = (stream_arn, consumer_name) else {
            return Err(ApiError::invalid_argument(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            ));
        };
        let key = Engine::stream_key(ctx, None, Some(stream_arn))?;
        let stream = self.registry().get(&key);
        // The consumer's ARN, as far as the request names it: its creation second is known
        // only once it is found.
        let arn = stream
            .as_ref()
            .and_then(|s| {
                let state = s.read();
                let consumer = state.record.consumers.iter().find(|c| c.name == name)?;
                Some(self::consumer_arn(&state.record, consumer))
            })
            .unwrap_or_else(|| {
                let stream_arn = StreamArn::new(&key.region, &key.account, &key.name);
                format!("{stream_arn}/consumer/{name}")
            });
        let consumer =
            self.authorize_consumer(ctx, &key, stream.as_deref(), &arn, |c| c.name == name)?;
        let stream = stream.ok_or_else(|| ApiError::stream_not_found(&key.name, &key.account))?;
        let consumer = consumer.ok_or_else(|| consumer_not_found(name, &stream.read().record))?;
        Ok((stream, consumer))
    }

    /// Finishes a consumer's CREATING or DELETING status at `due_ms`.
    pub(crate) fn schedule_consumer_transition(&self, uid: u64, consumer: ConsumerId, due_ms: i64) {
        let engine = self.clone();
        let wait = Duration::from_millis((due_ms - self.now_ms()).max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Err(error) = engine.finish_consumer_transition(uid, &consumer).await {
                tracing::error!(%error, uid, consumer = consumer.name, "consumer transition failed");
            }
        });
    }

    pub(crate) async fn finish_consumer_transition(
        &self,
        uid: u64,
        consumer: &ConsumerId,
    ) -> ApiResult<()> {
        let Some(stream) = self.registry().get_uid(uid) else {
            return Ok(());
        };
        let result = self
            .mutate(&stream, |record| {
                let Some(found) = consumer.find_mut(record) else {
                    return Ok(());
                };
                match found.status {
                    ConsumerStatus::Creating => {
                        found.status = ConsumerStatus::Active;
                        found.status_due_ms = None;
                    }
                    ConsumerStatus::Deleting => record.consumers.retain(|c| {
                        !(c.name == consumer.name && c.created_ms == consumer.created_ms)
                    }),
                    ConsumerStatus::Active => {}
                }
                Ok(())
            })
            .await;
        match result {
            // The stream went away meanwhile, and its consumers with it.
            Err(error) if error.kind == ErrorKind::ResourceNotFound => Ok(()),
            other => other,
        }
    }
}
