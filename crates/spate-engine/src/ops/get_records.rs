//! GetRecords: records from an iterator's position, a new iterator after them, and the
//! shard's children once a closed shard is read to its end.

use std::time::Instant;

use bytes_utils::Str;
use serde::{Deserialize, Serialize, Serializer};
use spate_log::ShardKey;
use spate_types::limits::{MAX_GET_RECORDS_BYTES, MAX_GET_RECORDS_LIMIT};
use spate_types::sequence::SequenceNumber;
use spate_types::shard_id;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::kms::record_encryption_type;
use crate::metrics::Enabled;
use crate::shapes::{Blob, Timestamp};
use crate::tokens::{IteratorPosition, TokenError};
use crate::views::{self, ChildShard};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub shard_iterator: String,
    pub limit: Option<usize>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub records: Vec<Record>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
    pub millis_behind_latest: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<ChildShard>>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// Serialized as its decimal text; the reply writer formats it straight into the body.
    pub sequence_number: SequenceNumber,
    pub approximate_arrival_timestamp: Timestamp,
    pub data: Blob,
    /// Shares the buffer the record was read into.
    #[serde(serialize_with = "serialize_str")]
    pub partition_key: Str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_type: Option<&'static str>,
}

fn serialize_str<S: Serializer>(text: &Str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// Renders an epoch-ms time the way AWS's iterator-expiry message does.
fn java_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {year}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Engine {
    pub async fn get_records(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let started = Instant::now();
        let now = self.now_ms();
        let ttl = self.iterator_ttl_ms();
        let position = match self
            .inner
            .tokens
            .decode_iterator(&input.shard_iterator, now, ttl)
        {
            Ok(position) => position,
            Err(TokenError::Malformed) => {
                return Err(ApiError::invalid_argument("Invalid ShardIterator."));
            }
            Err(TokenError::Expired { issued_ms }) => {
                return Err(ApiError::new(
                    ErrorKind::ExpiredIterator,
                    format!(
                        "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ttl} milliseconds.",
                        java_date(issued_ms),
                        java_date(now)
                    ),
                ));
            }
        };
        let Some(stream) = self.registry().get_uid(position.stream_uid) else {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                "The stream of this ShardIterator no longer exists.",
            ));
        };
        // An iterator is no capability of its own: whoever holds it needs kinesis:GetRecords
        // on its stream.
        self.authorize_stream(ctx, &stream.key, Some(&stream))?;
        let (shard, trim_horizon, ever_encrypted, enabled) = {
            let state = stream.read();
            let shard = state.shard(position.shard_index).cloned().ok_or_else(|| {
                ApiError::shard_not_found(
                    &shard_id(position.shard_index),
                    &stream.key.name,
                    &stream.key.account,
                )
            })?;
            let ever_encrypted = state.record.encrypted_since_ms.is_some();
            let enabled = Enabled::of(&state.record.shard_level_metrics);
            (
                shard,
                self.trim_horizon_ms(&state.record),
                ever_encrypted,
                enabled,
            )
        };
        if input.dry_run == Some(true) {
            return Err(ApiError::dry_run());
        }
        // Throughput limits, where enforced: the call is admitted now and its response charged
        // once its size is known.
        let meter = self.admit_read(&stream, shard.index).inspect_err(|error| {
            if error.kind == ErrorKind::ProvisionedThroughputExceeded {
                stream.metrics.read_throttled(enabled, shard.index);
            }
        })?;
        let key = ShardKey {
            stream: stream.uid,
            shard: shard.index,
        };
        let limit = input
            .limit
            .unwrap_or(MAX_GET_RECORDS_LIMIT)
            .min(MAX_GET_RECORDS_LIMIT);
        let log = self.inner.log.clone();
        let from = position.counter;
        let (kms, region, account) = (
            self.inner.config.kms.clone(),
            stream.key.region.clone(),
            stream.key.account.clone(),
        );
        // Never closed, so a permit always comes.
        let _slot = self.inner.read_slots.acquire().await.ok();
        let (batch, tip) = tokio::task::spawn_blocking(move || {
            let mut batch = log
                .read(key, from, trim_horizon, limit, MAX_GET_RECORDS_BYTES)
                .map_err(ApiError::internal)?;
            // Opened here, off the async workers, like the read itself.
            kms.open_records(&mut batch.records, &region, &account)?;
            let tip = log.shard_tip(key).map_err(ApiError::internal)?;
            Ok::<_, ApiError>((batch, tip))
        })
        .await
        .map_err(ApiError::internal)??;

        let response_bytes = batch
            .records
            .iter()
            .map(|r| r.data.len() + r.partition_key.len())
            .sum();
        self.charge_read(meter.as_deref(), response_bytes);

        let caught_up = batch.next_counter >= tip.next_counter;
        let millis_behind_latest = match (caught_up, batch.records.last(), tip.last_arrival_ms) {
            (true, _, _) | (_, _, None) => 0,
            (false, Some(last), Some(tip_arrival)) => (tip_arrival - last.arrival_ms).max(0),
            // Nothing returned though records lie ahead: they start no earlier than the horizon.
            (false, None, Some(tip_arrival)) => (tip_arrival - trim_horizon).max(0),
        };
        // CloudWatch's iterator age: how old the last record returned is (how far behind the
        // tip the reader is when nothing came back).
        let iterator_age_ms = batch
            .records
            .last()
            .map_or(millis_behind_latest, |last| (now - last.arrival_ms).max(0));
        let metrics = &stream.metrics;
        let record_count = batch.records.len() as u64;
        let data_bytes: u64 = batch.records.iter().map(|r| r.data.len() as u64).sum();
        metrics.get_records_success.inc();
        metrics.get_records_records.inc_by(record_count);
        metrics.get_records_bytes.inc_by(data_bytes);
        metrics.get_records_iterator_age.set(iterator_age_ms);
        metrics
            .get_records_latency
            .observe(started.elapsed().as_secs_f64());
        metrics.shard_read(
            enabled,
            shard.index,
            record_count,
            data_bytes,
            iterator_age_ms,
        );
        let records = batch
            .records
            .into_iter()
            .map(|r| Record {
                sequence_number: views::sequence_fields(
                    shard.created_ms,
                    shard.index,
                    r.counter,
                    r.arrival_ms,
                ),
                approximate_arrival_timestamp: Timestamp(r.arrival_ms),
                data: Blob(r.data),
                encryption_type: record_encryption_type(r.sealed.is_some(), ever_encrypted),
                partition_key: r.partition_key,
            })
            .collect();
        // A closed shard read to its end has no next iterator, only its children.
        // A closed shard is read to its end once the position passes its final counter; a
        // record still on its way to the disk holds the end back until it is readable.
        let ended = self
            .shard_end(key)
            .is_some_and(|end| batch.next_counter >= end);
        if ended {
            let children = views::child_shards(&stream.read().record, shard.index);
            return Ok(Output {
                records,
                next_shard_iterator: None,
                millis_behind_latest: 0,
                child_shards: Some(children),
            });
        }
        let next_shard_iterator = self.inner.tokens.encode_iterator(IteratorPosition {
            counter: batch.next_counter,
            issued_ms: now,
            ..position
        });
        Ok(Output {
            records,
            next_shard_iterator: Some(next_shard_iterator),
            millis_behind_latest,
            child_shards: None,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_dates_like_java() {
        assert_eq!(
            super::java_date(1_421_889_722_000),
            "Thu Jan 22 01:22:02 UTC 2015"
        );
    }
}
