//! Replies full of records — GetRecords' output and SubscribeToShard's events — written by
//! `spate_wire::encode_with_records` straight from the engine's records, rather than through
//! a `serde_json::Value` of every record. Their other members still take the generic path.
//! GetRecords' reply comes in [`Pieces`], sharing large record data with the buffers it was
//! read into; an event is framed and checksummed whole, so it stays one buffer.

use serde::Serialize;
use serde_json::Value;
use spate_engine::ops::get_records::{Output, Record};
use spate_engine::{ApiError, ApiResult, SubscribeToShardEvent};
use spate_wire::{Codec, RecordFields, WireError};

use crate::pieces::Pieces;

/// The GetRecords reply body.
pub fn get_records(codec: Codec, output: Output) -> ApiResult<Pieces> {
    let Output {
        records,
        next_shard_iterator,
        millis_behind_latest,
        child_shards,
    } = output;
    // The same struct without records: its members and omissions stay the engine's to decide.
    let rest = Output {
        records: Vec::new(),
        next_shard_iterator,
        millis_behind_latest,
        child_shards,
    };
    let rest = without_records(&rest).map_err(ApiError::internal)?;
    spate_wire::encode_with_records_in_pieces(
        "GetRecordsOutput",
        codec,
        records.iter().map(fields),
        &rest,
    )
    .map(Pieces::new)
    .map_err(ApiError::internal)
}

/// The payload of one `SubscribeToShardEvent` message.
pub fn subscribe_event(codec: Codec, event: &SubscribeToShardEvent) -> Result<Vec<u8>, String> {
    if let (Some(continuation), None) = (&event.continuation_sequence_number, &event.child_shards) {
        return spate_wire::encode_event(
            codec,
            event.records.iter().map(fields),
            continuation,
            event.millis_behind_latest,
        )
        .map_err(|e| e.to_string());
    }
    subscribe_event_generic(codec, event)
}

/// [`subscribe_event`] with every member but the records through the generic writer, as a
/// closed shard's last event (with its children) takes it.
fn subscribe_event_generic(codec: Codec, event: &SubscribeToShardEvent) -> Result<Vec<u8>, String> {
    let rest = SubscribeToShardEvent {
        records: Vec::new(),
        continuation_sequence_number: event.continuation_sequence_number.clone(),
        millis_behind_latest: event.millis_behind_latest,
        child_shards: event.child_shards.clone(),
    };
    let rest = without_records(&rest).map_err(|e| e.to_string())?;
    spate_wire::encode_with_records(
        "SubscribeToShardEvent",
        codec,
        event.records.iter().map(fields),
        &rest,
    )
    .map_err(|e| e.to_string())
}

/// The other members as the generic writer takes them.
fn without_records(rest: &impl Serialize) -> Result<Value, WireError> {
    let mut rest = serde_json::to_value(rest).map_err(|e| WireError::Encoding(e.to_string()))?;
    if let Value::Object(members) = &mut rest {
        members.remove("Records");
    }
    Ok(rest)
}

fn fields(record: &Record) -> RecordFields<'_> {
    RecordFields {
        sequence_number: record.sequence_number,
        arrival_ms: record.approximate_arrival_timestamp.0,
        data: &record.data.0,
        partition_key: &record.partition_key,
        encryption_type: record.encryption_type,
    }
}

#[cfg(test)]
mod tests;
