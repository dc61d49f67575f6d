//! PutRecords: up to 500 records in one durable group; one result per entry, in order.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use spate_types::limits::MAX_PUT_RECORDS_BYTES;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::put_record::{RecordInput, Written, route_record};
use crate::registry::Stream;
use crate::shapes::{Blob, optional_shared_str};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub records: Vec<Entry>,
    pub dry_run: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    pub data: Blob,
    pub partition_key: Option<String>,
    pub explicit_hash_key: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub failed_record_count: usize,
    pub records: Vec<ResultEntry>,
    pub encryption_type: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ResultEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_shared_str"
    )]
    pub shard_id: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// One entry's result: where it was written, or why not. AWS sends only two error codes per
/// entry: a throttled one, and `InternalFailure` (not the exception's name) for the rest.
fn result_entry(outcome: Result<Written, ApiError>) -> ResultEntry {
    match outcome {
        Ok(written) => ResultEntry {
            sequence_number: Some(written.sequence_number),
            shard_id: Some(written.shard_id),
            error_code: None,
            error_message: None,
        },
        Err(error) => ResultEntry {
            sequence_number: None,
            shard_id: None,
            error_code: Some(
                match error.kind {
                    ErrorKind::ProvisionedThroughputExceeded => {
                        "ProvisionedThroughputExceededException"
                    }
                    _ => "InternalFailure",
                }
                .to_owned(),
            ),
            error_message: Some(error.message),
        },
    }
}

impl Engine {
    pub async fn put_records(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let started = Instant::now();
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let encryption_type = {
            let state = stream.read();
            Engine::require_readable(&state.record)?;
            state.record.encryption_type.clone()
        };
        // Entry faults are drawn now, before any entry is written.
        let faults = self
            .faults()
            .rule_for("PutRecords")
            .filter(|_| input.dry_run != Some(true));
        let records: Vec<RecordInput> = input
            .records
            .into_iter()
            .map(|entry| RecordInput {
                data: entry.data,
                partition_key: entry.partition_key,
                explicit_hash_key: entry.explicit_hash_key,
                injected: faults.as_ref().and_then(|rule| rule.draw_entry()),
            })
            .collect();
        let sizes: Vec<u64> = records.iter().map(|r| r.data.0.len() as u64).collect();
        let member_path = |i: usize| format!("records.{}.member.", i + 1);
        if input.dry_run == Some(true) {
            let state = stream.read();
            for (i, r) in records.iter().enumerate() {
                route_record(
                    &state,
                    || member_path(i),
                    &r.data,
                    r.partition_key.as_deref(),
                    r.explicit_hash_key.as_deref(),
                    None,
                )?;
            }
            return Err(ApiError::dry_run());
        }
        let outcomes = self
            .write_records(&stream, records, member_path, Some(MAX_PUT_RECORDS_BYTES))
            .await?;
        record_put_records(&stream, &outcomes, &sizes, started);
        let records: Vec<ResultEntry> = outcomes.into_iter().map(result_entry).collect();
        Ok(Output {
            failed_record_count: records.iter().filter(|r| r.error_code.is_some()).count(),
            records,
            encryption_type,
        })
    }
}

/// PutRecords' own CloudWatch metrics (IncomingBytes and IncomingRecords are counted where
/// records are written).
fn record_put_records(
    stream: &Stream,
    outcomes: &[Result<Written, ApiError>],
    sizes: &[u64],
    started: Instant,
) {
    let metrics = &stream.metrics;
    let mut successful = 0;
    let mut bytes = 0;
    for (outcome, size) in outcomes.iter().zip(sizes) {
        match outcome {
            Ok(_) => {
                successful += 1;
                bytes += size;
            }
            Err(error) if error.kind == ErrorKind::ProvisionedThroughputExceeded => {
                metrics.put_records_throttled_records.inc();
            }
            Err(_) => {
                metrics.put_records_failed_records.inc();
            }
        }
    }
    metrics
        .put_records_total_records
        .inc_by(outcomes.len() as u64);
    metrics.put_records_successful_records.inc_by(successful);
    metrics.put_records_bytes.inc_by(bytes);
    if successful > 0 {
        metrics.put_records_success.inc();
    }
    metrics
        .put_records_latency
        .observe(started.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A shard id shared by a batch's results serializes as the plain string it stands for.
    #[test]
    fn results_serialize_their_shared_shard_id_as_text() {
        let written = result_entry(Ok(Written {
            shard_id: Arc::from("shardId-000000000001"),
            sequence_number: "49".to_owned(),
        }));
        let refused = result_entry(Err(ApiError::internal("no")));
        assert_eq!(
            serde_json::to_value(&written).ok(),
            Some(json!({"SequenceNumber": "49", "ShardId": "shardId-000000000001"}))
        );
        let refused = serde_json::to_value(&refused).ok();
        assert_eq!(refused.as_ref().and_then(|v| v.get("ShardId")), None);
    }
}
