//! Where in a shard a read starts: the five starting-position types that GetShardIterator
//! (`ShardIteratorType`) and SubscribeToShard (`StartingPosition.Type`) share, resolved to
//! a record-log counter.

use spate_log::ShardKey;
use spate_meta::ShardRecord;
use spate_types::{SequenceNumber, shard_id};

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use crate::registry::Stream;
use crate::shapes::Timestamp;

/// A starting position as a request gives it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StartAt<'a> {
    /// `TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `AT_SEQUENCE_NUMBER` or
    /// `AFTER_SEQUENCE_NUMBER` (the model has already checked the enum).
    pub kind: &'a str,
    pub sequence_number: Option<&'a str>,
    pub timestamp: Option<Timestamp>,
    /// The operation, for error messages.
    pub operation: &'static str,
}

impl Engine {
    /// The counter of the first record a read from `start` may return. `trim_horizon` is the
    /// stream's oldest readable arrival time.
    pub(crate) fn start_counter(
        &self,
        stream: &Stream,
        shard: &ShardRecord,
        trim_horizon: i64,
        start: StartAt<'_>,
    ) -> ApiResult<u64> {
        let (name, account) = (&stream.key.name, &stream.key.account);
        let key = ShardKey {
            stream: stream.uid,
            shard: shard.index,
        };
        let log = &self.inner.log;
        match start.kind {
            "TRIM_HORIZON" => Ok(log
                .shard_state(key, trim_horizon)
                .map_err(ApiError::internal)?
                .first_counter),
            "LATEST" => Ok(log
                .shard_state(key, trim_horizon)
                .map_err(ApiError::internal)?
                .next_counter),
            "AT_TIMESTAMP" => {
                let Some(Timestamp(at)) = start.timestamp else {
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
                    .map_err(ApiError::internal)
            }
            kind => {
                let text = start.sequence_number.unwrap_or_default();
                let invalid = || {
                    ApiError::invalid_argument(format!(
                        "StartingSequenceNumber {text} used in {} on shard {} in stream {name} under account {account} is invalid.",
                        start.operation,
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
                // A number with no arrival time sorts below every record of its counter: it
                // is the continuation of a subscription that has delivered nothing (see
                // `views::sequence_before`), and "after" it is that counter itself.
                if kind == "AT_SEQUENCE_NUMBER" || sequence.arrival_secs == 0 {
                    Ok(sequence.counter)
                } else {
                    Ok(sequence.counter.saturating_add(1))
                }
            }
        }
    }
}
