//! DeregisterStreamConsumer: the consumer goes DELETING for the configured delay, then away.
//! Its subscriptions end at once: nothing is read from a DELETING consumer.

use serde::Deserialize;
use spate_meta::ConsumerStatus;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::consumers::{ConsumerId, consumer_arn};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<String>,
}

impl Engine {
    pub async fn deregister_stream_consumer(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        let (stream, consumer) = self.resolve_consumer(
            ctx,
            input.stream_arn.as_deref(),
            input.consumer_name.as_deref(),
            input.consumer_arn.as_deref(),
        )?;
        let id = ConsumerId::of(&consumer);
        let delay = self.inner.config.deregister_consumer_delay.as_millis() as i64;
        let now = self.now_ms();
        let (arn, due) = self
            .mutate(&stream, |record| {
                let arn = match id.find(record) {
                    Some(found) => consumer_arn(record, found),
                    None => return Ok((None, None)),
                };
                if delay == 0 {
                    record.consumers.retain(|c| ConsumerId::of(c) != id);
                    return Ok((Some(arn), None));
                }
                let Some(found) = id.find_mut(record) else {
                    return Ok((None, None));
                };
                // Deregistering twice keeps the first due time.
                if found.status != ConsumerStatus::Deleting {
                    found.status = ConsumerStatus::Deleting;
                    found.status_due_ms = Some(now + delay);
                }
                Ok((Some(arn), found.status_due_ms))
            })
            .await?;
        let Some(arn) = arn else {
            // Removed between the lookup and the change: as if it had never been found.
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("Consumer {} not found.", id.name),
            ));
        };
        self.end_subscriptions(
            |key| key.stream == stream.uid && key.consumer == id,
            || {
                ApiError::new(
                    ErrorKind::ResourceNotFound,
                    format!("Consumer {arn} was deregistered."),
                )
            },
        );
        if let Some(due) = due {
            self.schedule_consumer_transition(stream.uid, id, due);
        }
        Ok(())
    }
}
