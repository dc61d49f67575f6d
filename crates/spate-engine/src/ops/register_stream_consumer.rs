//! RegisterStreamConsumer: a new enhanced fan-out consumer, CREATING for the configured
//! delay, then ACTIVE.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spate_meta::{ConsumerRecord, ConsumerStatus, StreamStatus};
use spate_types::limits::{MAX_CONSUMERS_PER_STREAM, MAX_CREATING_CONSUMERS};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::consumers::{Consumer, ConsumerId, consumer_view};
use crate::ops::tags::{add_tags_to, check_tags};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub consumer_name: String,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub consumer: Consumer,
}

fn limit_exceeded(message: String) -> ApiError {
    ApiError::new(ErrorKind::LimitExceeded, message)
}

impl Engine {
    pub async fn register_stream_consumer(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let stream = self.resolve(ctx, None, Some(&input.stream_arn))?;
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;
        // CREATING consumers of the account's other streams; this stream's are counted under
        // the control lock below.
        let creating_elsewhere: usize = self
            .registry()
            .in_namespace(&stream.key.account, &stream.key.region)
            .filter(|s| s.uid != stream.uid)
            .map(|s| {
                s.read()
                    .record
                    .consumers
                    .iter()
                    .filter(|c| c.status == ConsumerStatus::Creating)
                    .count()
            })
            .sum();
        let delay = self.inner.config.register_consumer_delay.as_millis() as i64;
        let now = self.now_ms();
        let name = input.consumer_name;
        let (view, due) = self
            .mutate(&stream, |record| {
                if !matches!(record.status, StreamStatus::Active | StreamStatus::Updating) {
                    return Err(Engine::not_active(record));
                }
                if record.consumers.iter().any(|c| c.name == name) {
                    return Err(ApiError::new(
                        ErrorKind::ResourceInUse,
                        format!(
                            "Consumer {name} under stream {} and account {} already exists.",
                            record.name, record.account
                        ),
                    ));
                }
                if record.consumers.len() >= MAX_CONSUMERS_PER_STREAM {
                    return Err(limit_exceeded(format!(
                        "Stream {} under account {} already has {MAX_CONSUMERS_PER_STREAM} registered consumers, the most a stream may have.",
                        record.name, record.account
                    )));
                }
                let creating = creating_elsewhere
                    + record
                        .consumers
                        .iter()
                        .filter(|c| c.status == ConsumerStatus::Creating)
                        .count();
                if creating >= MAX_CREATING_CONSUMERS {
                    return Err(limit_exceeded(format!(
                        "Account {} already has {MAX_CREATING_CONSUMERS} consumers in CREATING status, the most allowed at once.",
                        record.account
                    )));
                }
                let mut consumer = ConsumerRecord {
                    name: name.clone(),
                    created_ms: now,
                    status: if delay > 0 {
                        ConsumerStatus::Creating
                    } else {
                        ConsumerStatus::Active
                    },
                    status_due_ms: (delay > 0).then_some(now + delay),
                    tags: BTreeMap::new(),
                    resource_policy: None,
                };
                let resource = format!("consumer {name} of stream {}", record.name);
                add_tags_to(&mut consumer.tags, tags, "consumer", &resource)?;
                let view = consumer_view(record, &consumer);
                let due = consumer.status_due_ms.map(|due| (ConsumerId::of(&consumer), due));
                record.consumers.push(consumer);
                Ok((view, due))
            })
            .await?;
        if let Some((id, due)) = due {
            self.schedule_consumer_transition(stream.uid, id, due);
        }
        Ok(Output { consumer: view })
    }
}
