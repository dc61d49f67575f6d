//! GetShardIterator: a signed position in a shard, for GetRecords.

use serde::{Deserialize, Serialize};
use spate_types::ShardId;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::position::StartAt;
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
        let counter = self.start_counter(
            &stream,
            &shard,
            trim_horizon,
            StartAt {
                kind,
                sequence_number: input.starting_sequence_number.as_deref(),
                timestamp: input.timestamp,
                operation: "GetShardIterator",
            },
        )?;
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
