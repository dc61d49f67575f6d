//! SubscribeToShard: checks the request and opens a [`Subscription`] whose events the server
//! streams. Everything wrong with the request is an ordinary error here, before streaming
//! starts; what goes wrong later arrives as the subscription's last item.

use serde::Deserialize;
use spate_meta::ConsumerStatus;
use spate_types::ShardId;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::consumers::ConsumerId;
use crate::position::StartAt;
use crate::shapes::Timestamp;
use crate::subscription::{Start, Subscription};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub shard_id: String,
    pub starting_position: StartingPosition,
    pub dry_run: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct StartingPosition {
    #[serde(rename = "Type")]
    pub kind: String,
    pub sequence_number: Option<String>,
    pub timestamp: Option<Timestamp>,
}

impl Engine {
    pub async fn subscribe_to_shard(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Subscription> {
        let (stream, consumer) = self.resolve_consumer_arn(ctx, &input.consumer_arn)?;
        if consumer.status != ConsumerStatus::Active {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Consumer {} is not ACTIVE, instead in state {}.",
                    input.consumer_arn,
                    consumer.status.as_str()
                ),
            ));
        }
        let (shard, trim_horizon) = {
            let state = stream.read();
            Engine::require_readable(&state.record)?;
            let shard = ShardId::parse(&input.shard_id)
                .and_then(|id| state.shard(id.0))
                .cloned()
                .ok_or_else(|| {
                    ApiError::shard_not_found(
                        &input.shard_id,
                        &stream.key.name,
                        &stream.key.account,
                    )
                })?;
            (shard, self.trim_horizon_ms(&state.record))
        };
        let position = &input.starting_position;
        let kind = position.kind.as_str();
        let wants_sequence = matches!(kind, "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
        if wants_sequence != position.sequence_number.is_some() {
            return Err(ApiError::invalid_argument(format!(
                "StartingPosition of type {kind} must {}specify a SequenceNumber.",
                if wants_sequence { "" } else { "not " }
            )));
        }
        if kind != "AT_TIMESTAMP" && position.timestamp.is_some() {
            return Err(ApiError::invalid_argument(format!(
                "StartingPosition of type {kind} must not specify a Timestamp."
            )));
        }
        let counter = self.start_counter(
            &stream,
            &shard,
            trim_horizon,
            StartAt {
                kind,
                sequence_number: position.sequence_number.as_deref(),
                timestamp: position.timestamp,
                operation: "SubscribeToShard",
            },
        )?;
        if input.dry_run == Some(true) {
            return Err(ApiError::dry_run());
        }
        self.open_subscription(Start {
            stream,
            consumer: ConsumerId::of(&consumer),
            consumer_arn: input.consumer_arn,
            shard_index: shard.index,
            shard_created_ms: shard.created_ms,
            counter,
        })
    }
}
