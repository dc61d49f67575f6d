//! DeleteStream: DELETING for the configured delay, then gone with all its records (and its
//! consumers, which only `EnforceConsumerDeletion` allows).

use serde::Deserialize;
use spate_meta::StreamStatus;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub enforce_consumer_deletion: Option<bool>,
}

impl Engine {
    pub async fn delete_stream(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let delay = self.inner.config.delete_stream_delay.as_millis() as i64;
        let now = self.now_ms();
        let due = self
            .mutate(&stream, |record| {
                // Consumers go with the stream only when the caller says so.
                if !record.consumers.is_empty() && input.enforce_consumer_deletion != Some(true) {
                    return Err(ApiError::new(
                        ErrorKind::ResourceInUse,
                        format!(
                            "Stream {} under account {} has registered consumers. Deregister them first or set EnforceConsumerDeletion.",
                            record.name, record.account
                        ),
                    ));
                }
                // Deleting twice is harmless; a CREATING stream cannot be deleted yet.
                match record.status {
                    StreamStatus::Creating => Err(Engine::not_active(record)),
                    StreamStatus::Deleting => Ok(record.status_due_ms),
                    StreamStatus::Active | StreamStatus::Updating => {
                        record.status = StreamStatus::Deleting;
                        record.status_due_ms = Some(now + delay);
                        Ok(record.status_due_ms)
                    }
                }
            })
            .await?;
        if delay == 0 {
            self.remove_stream(&stream).await?;
        } else if let Some(due) = due {
            self.schedule_transition(stream.uid, due);
        }
        Ok(())
    }
}
