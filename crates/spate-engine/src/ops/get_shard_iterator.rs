//! GetShardIterator: a signed position in a shard, for GetRecords.

use serde::{Deserialize, Serialize};
use spate_log::ShardKey;
use spate_types::{SequenceNumber, ShardId, shard_id};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::shapes::Timestamp;
use crate::tokens::IteratorPosition;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub shard_id: String,
    pub shard_iterator_type: String,
    pub starting_sequence_number: Option<String>,
    pub timestamp: Option<Timestamp>,
    pub dry_run: Option<bool>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub shard_iterator: String,
}

impl Engine {
    pub async fn get_shard_iterator(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let (name, account) = (&stream.key.name, &stream.key.account);
        let (shard, trim_horizon) = {
            let state = stream.read();
            Engine::require_readable(&state.record)?;
            let shard = ShardId::parse(&input.shard_id)
                .and_then(|id| state.shard(id.0))
                .cloned()
                .ok_or_else(|| ApiError::shard_not_found(&input.shard_id, name, account))?;
            (shard, self.trim_horizon_ms(&state.record))
        };
        let key = ShardKey {
            stream: stream.uid,
            shard: shard.index,
        };
        let kind = input.shard_iterator_type.as_str();
        let wants_sequence = matches!(kind, "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
        if wants_sequence != input.starting_sequence_number.is_some() {
            return Err(ApiError::invalid_argument(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and {} a StartingSequenceNumber.",
                if input.starting_sequence_number.is_some() {
                    "also"
                } else {
                    "no"
                }
            )));
        }
        let log = &self.inner.log;
        let counter = match kind {
            "TRIM_HORIZON" => {
                log.shard_state(key, trim_horizon)
                    .map_err(ApiError::internal)?
                    .first_counter
            }
            "LATEST" => {
                log.shard_state(key, trim_horizon)
                    .map_err(ApiError::internal)?
                    .next_counter
            }
            "AT_TIMESTAMP" => {
                let Some(Timestamp(at)) = input.timestamp else {
                    return Err(ApiError::invalid_argument(
                        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.",
                    ));
                };
                let now = self.now_ms();
                if at > now {
                    return Err(ApiError::invalid_argument(format!(
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {at}, currentTimestampInMillis: {now}"
                    )));
                }
                log.seek_time(key, at.max(trim_horizon))
                    .map_err(ApiError::internal)?
            }
            _ => {
                let text = input
                    .starting_sequence_number
                    .as_deref()
                    .unwrap_or_default();
                let invalid = || {
                    ApiError::invalid_argument(format!(
                        "StartingSequenceNumber {text} used in GetShardIterator on shard {} in stream {name} under account {account} is invalid.",
                        shard_id(shard.index)
                    ))
                };
                let sequence = SequenceNumber::parse(text).ok_or_else(invalid)?;
                if sequence.shard_index != shard.index {
                    return Err(ApiError::invalid_argument(format!(
                        "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                        shard_id(sequence.shard_index),
                        shard_id(shard.index)
                    )));
                }
                // A number from an earlier stream of the same name has another creation time.
                if sequence.shard_created_secs != (shard.created_ms / 1000) as u64 {
                    return Err(invalid());
                }
                if kind == "AT_SEQUENCE_NUMBER" {
                    sequence.counter
                } else {
                    sequence.counter.saturating_add(1)
                }
            }
        };
        if input.dry_run == Some(true) {
            return Err(ApiError::dry_run());
        }
        // 5 calls a second per shard, where limits are enforced.
        self.admit_iterator(&stream, shard.index)?;
        let shard_iterator = self.inner.tokens.encode_iterator(IteratorPosition {
            stream_uid: stream.uid,
            shard_index: shard.index,
            counter,
            issued_ms: self.now_ms(),
        });
        Ok(Output { shard_iterator })
    }
}
