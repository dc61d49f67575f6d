//! PutRecords: up to 500 records in one durable group; one result per entry, in order.

use serde::{Deserialize, Serialize};
use spate_log::{NewRecord, ShardKey};
use spate_types::limits::MAX_PUT_RECORDS_BYTES;
use spate_types::shard_id;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::ops::put_record::{append_error, route_record};
use crate::shapes::Blob;
use crate::views::sequence_number;

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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl Engine {
    pub async fn put_records(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let (routes, encryption_type) = {
            let state = stream.read();
            Engine::require_readable(&state.record)?;
            let mut total = 0usize;
            let mut routes = Vec::with_capacity(input.records.len());
            for (i, entry) in input.records.iter().enumerate() {
                total += entry.data.0.len() + entry.partition_key.as_ref().map_or(0, String::len);
                routes.push(route_record(
                    &state,
                    &format!("records.{}.member.", i + 1),
                    &entry.data,
                    entry.partition_key.as_deref(),
                    entry.explicit_hash_key.as_deref(),
                )?);
            }
            if total > MAX_PUT_RECORDS_BYTES {
                return Err(ApiError::invalid_argument(format!(
                    "Records size {total} exceeds the PutRecords limit of {MAX_PUT_RECORDS_BYTES} bytes (data plus partition keys)."
                )));
            }
            (routes, state.record.encryption_type.clone())
        };
        if input.dry_run == Some(true) {
            return Err(ApiError::dry_run());
        }
        let batch = input
            .records
            .into_iter()
            .zip(&routes)
            .map(|(entry, route)| NewRecord {
                shard: ShardKey {
                    stream: stream.uid,
                    shard: route.shard_index,
                },
                partition_key: entry.partition_key.unwrap_or_default(),
                data: entry.data.0,
            })
            .collect();
        let appended = self
            .inner
            .log
            .append(batch)
            .await
            .map_err(|e| append_error(e, &stream.key.name, &stream.key.account))?;
        let records = routes
            .iter()
            .zip(&appended)
            .map(|(route, appended)| ResultEntry {
                sequence_number: Some(sequence_number(
                    route.shard_created_secs as i64 * 1000,
                    route.shard_index,
                    appended.counter,
                    appended.arrival_ms,
                )),
                shard_id: Some(shard_id(route.shard_index)),
                error_code: None,
                error_message: None,
            })
            .collect();
        Ok(Output {
            failed_record_count: 0,
            records,
            encryption_type,
        })
    }
}
