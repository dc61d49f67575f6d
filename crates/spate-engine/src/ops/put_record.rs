//! PutRecord: one record, routed by partition-key hash or explicit hash key, acknowledged
//! once the record log says it is durable.

use serde::{Deserialize, Serialize};
use spate_log::{LogError, NewRecord, ShardKey};
use spate_types::{SequenceNumber, parse_hash_key, partition_key_hash, shard_id};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::registry::{Route, StreamState};
use crate::shapes::Blob;
use crate::views::sequence_number;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub data: Blob,
    pub partition_key: Option<String>,
    pub explicit_hash_key: Option<String>,
    pub sequence_number_for_ordering: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub shard_id: String,
    pub sequence_number: String,
    pub encryption_type: String,
}

/// Checks one record against the stream's limits and finds its shard. `member` is the
/// record's path in validation messages (`""` for PutRecord, `records.N.member.` for
/// PutRecords).
pub(crate) fn route_record(
    state: &StreamState,
    member: &str,
    data: &Blob,
    partition_key: Option<&str>,
    explicit_hash_key: Option<&str>,
) -> ApiResult<Route> {
    let record = &state.record;
    let Some(partition_key) = partition_key else {
        return Err(ApiError::validation(
            "null",
            &format!("{member}partitionKey"),
            "Member must not be null",
        ));
    };
    let max = record.max_record_size_kib as usize * 1024;
    if data.0.len() > max {
        return Err(ApiError::validation(
            &format!(
                "'java.nio.HeapByteBuffer[pos=0 lim={} cap={}]'",
                data.0.len(),
                data.0.len()
            ),
            &format!("{member}data"),
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if data.0.len() + partition_key.len() > max {
        return Err(ApiError::invalid_argument(format!(
            "Record size {} (data plus partition key) exceeds the maximum record size of {max} bytes for stream {} under account {}.",
            data.0.len() + partition_key.len(),
            record.name,
            record.account
        )));
    }
    let hash = match explicit_hash_key {
        Some(text) => parse_hash_key(text).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        })?,
        None => partition_key_hash(partition_key),
    };
    state.route(hash).ok_or_else(|| {
        ApiError::internal(format!(
            "stream {} has no open shard for hash {hash}",
            record.name
        ))
    })
}

pub(crate) fn append_error(error: LogError, stream: &str, account: &str) -> ApiError {
    match error {
        LogError::UnknownShard(_) => ApiError::stream_not_found(stream, account),
        other => ApiError::internal(other),
    }
}

impl Engine {
    pub async fn put_record(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let (route, encryption_type) = {
            let state = stream.read();
            Engine::require_readable(&state.record)?;
            let route = route_record(
                &state,
                "",
                &input.data,
                input.partition_key.as_deref(),
                input.explicit_hash_key.as_deref(),
            )?;
            if let Some(text) = input.sequence_number_for_ordering.as_deref()
                && SequenceNumber::parse(text).is_none()
            {
                return Err(ApiError::invalid_argument(format!(
                    "ExclusiveMinimumSequenceNumber {text} used in PutRecord on stream {} under account {} is invalid.",
                    state.record.name, state.record.account
                )));
            }
            (route, state.record.encryption_type.clone())
        };
        if input.dry_run == Some(true) {
            return Err(ApiError::dry_run());
        }
        // Counters only grow, so every number this shard handed out before, including a
        // valid SequenceNumberForOrdering, is below the one this record gets.
        let appended = self
            .inner
            .log
            .append(vec![NewRecord {
                shard: ShardKey {
                    stream: stream.uid,
                    shard: route.shard_index,
                },
                partition_key: input.partition_key.unwrap_or_default(),
                data: input.data.0,
            }])
            .await
            .map_err(|e| append_error(e, &stream.key.name, &stream.key.account))?;
        let appended = appended
            .first()
            .ok_or_else(|| ApiError::internal("log acknowledged no record"))?;
        Ok(Output {
            shard_id: shard_id(route.shard_index),
            sequence_number: sequence_number(
                route.shard_created_secs as i64 * 1000,
                route.shard_index,
                appended.counter,
                appended.arrival_ms,
            ),
            encryption_type,
        })
    }
}
