//! StartStreamEncryption and StopStreamEncryption (one file: mirror images with one rule
//! set). Starting resolves the key now, so a missing, disabled or foreign key fails the
//! call with its KMS error; from then on new records are sealed under it. Records already
//! written keep the state they were written in.

use serde::Deserialize;
use spate_meta::{StreamRecord, StreamStatus};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub encryption_type: String,
    pub key_id: String,
}

/// AWS allows this many key changes (starts and stops) per stream in a rolling 24 hours.
const KEY_CHANGES_PER_DAY: usize = 25;
const DAY_MS: i64 = 86_400_000;

impl Engine {
    pub async fn start_stream_encryption(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        require_kms(&input.encryption_type)?;
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let key = self.inner.config.kms.resolve(
            &input.key_id,
            &stream.key.region,
            &stream.key.account,
        )?;
        key.check_usable(&stream.key.region, &stream.key.account)?;
        let enforce = self.inner.limits.enforced_for(&stream.key.name);
        self.change_encryption(&stream, enforce, |record, now| {
            record.encryption_type = "KMS".to_owned();
            record.key_id = Some(input.key_id.clone());
            record.key_uuid = Some(key.id.to_string());
            record.encrypted_since_ms.get_or_insert(now);
            Ok(())
        })
        .await
    }

    pub async fn stop_stream_encryption(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        require_kms(&input.encryption_type)?;
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        // The key may be named in another form than at start; it may also be gone from the
        // key file, in which case only the same text names it.
        let named = self
            .inner
            .config
            .kms
            .resolve(&input.key_id, &stream.key.region, &stream.key.account)
            .ok()
            .map(|key| key.id.to_string());
        let enforce = self.inner.limits.enforced_for(&stream.key.name);
        self.change_encryption(&stream, enforce, |record, _| {
            let same_key = record.key_id.as_deref() == Some(input.key_id.as_str())
                || (named.is_some() && named == record.key_uuid);
            if record.encryption_type != "KMS" || !same_key {
                return Err(ApiError::invalid_argument(format!(
                    "Stream {} under account {} is not encrypted with KMS key {}.",
                    record.name, record.account, input.key_id
                )));
            }
            record.encryption_type = "NONE".to_owned();
            record.key_id = None;
            record.key_uuid = None;
            Ok(())
        })
        .await
    }

    /// Applies a key change to an ACTIVE stream, which is UPDATING for the configured delay.
    async fn change_encryption(
        &self,
        stream: &crate::registry::Stream,
        enforce_daily_limit: bool,
        change: impl FnOnce(&mut StreamRecord, i64) -> ApiResult<()>,
    ) -> ApiResult<()> {
        let delay = self.inner.config.update_stream_delay.as_millis() as i64;
        let now = self.now_ms();
        let due = self
            .mutate(stream, |record| {
                Engine::require_active(record)?;
                record.key_changes_ms.retain(|at| now - at < DAY_MS);
                if enforce_daily_limit && record.key_changes_ms.len() >= KEY_CHANGES_PER_DAY {
                    return Err(ApiError::new(
                        ErrorKind::LimitExceeded,
                        format!(
                            "Stream {} under account {} has had {KEY_CHANGES_PER_DAY} encryption changes in the last 24 hours, the most allowed.",
                            record.name, record.account
                        ),
                    ));
                }
                change(record, now)?;
                record.key_changes_ms.push(now);
                // Bounded however long limits stay off: only the last day's count matters.
                let excess = record.key_changes_ms.len().saturating_sub(KEY_CHANGES_PER_DAY);
                record.key_changes_ms.drain(..excess);
                if delay > 0 {
                    record.status = StreamStatus::Updating;
                    record.status_due_ms = Some(now + delay);
                }
                Ok(record.status_due_ms)
            })
            .await?;
        if let Some(due) = due {
            self.schedule_transition(stream.uid, due);
        }
        Ok(())
    }
}

fn require_kms(encryption_type: &str) -> ApiResult<()> {
    if encryption_type == "KMS" {
        Ok(())
    } else {
        Err(ApiError::invalid_argument(format!(
            "EncryptionType {encryption_type} is not valid here: the only valid value is KMS."
        )))
    }
}
