//! Encryption at rest on the data path: which key seals a stream's new records, and opening
//! sealed records as they are read.

use std::sync::Arc;

use bytes::Bytes;
use spate_log::{Appended, Log, LogError, NewRecord, Sealer, StoredRecord, split_sealed_plaintext};
use spate_meta::StreamRecord;
use uuid::Uuid;

use super::ring::KeyRing;
use crate::error::{ApiError, ApiResult, ErrorKind};

impl KeyRing {
    /// What seals a stream's new records: `None` while its encryption is off, the KMS
    /// error if its key is gone or unusable (the write then fails rather than store
    /// plaintext the client asked to have encrypted).
    pub(crate) fn sealer_for(&self, record: &StreamRecord) -> ApiResult<Option<Arc<dyn Sealer>>> {
        let Some(uuid) = &record.key_uuid else {
            return Ok(None);
        };
        let key = Uuid::try_parse(uuid)
            .ok()
            .and_then(|id| self.by_id(id.as_bytes()))
            .ok_or_else(|| missing_key(uuid))?;
        key.check_usable(&record.region, &record.account)?;
        Ok(Some(key.clone() as Arc<dyn Sealer>))
    }

    /// Opens every sealed record of a read in place. A record whose key is gone or unusable
    /// fails the whole read with the KMS error: never garbage, never a partial answer that
    /// silently skips records.
    pub(crate) fn open_records(
        &self,
        records: &mut [StoredRecord],
        region: &str,
        account: &str,
    ) -> ApiResult<()> {
        for record in records.iter_mut() {
            let Some(sealed) = record.sealed.as_mut().filter(|s| !s.ciphertext.is_empty()) else {
                continue;
            };
            let key = self
                .by_id(&sealed.key_id)
                .ok_or_else(|| missing_key(&Uuid::from_bytes(sealed.key_id).to_string()))?;
            key.check_usable(region, account)?;
            let plaintext = key
                .open(&sealed.nonce, &sealed.aad, &sealed.ciphertext)
                .ok_or_else(|| {
                    ApiError::internal(format!(
                        "sealed record {} failed authentication under key {}",
                        record.counter, key.id
                    ))
                })?;
            let (partition_key, data) =
                split_sealed_plaintext(Bytes::from(plaintext)).ok_or_else(|| {
                    ApiError::internal(format!("sealed record {} is malformed", record.counter))
                })?;
            record.partition_key = partition_key;
            record.data = data;
            // Both slice the frame's read buffer; let it go now the plaintext has its own.
            sealed.ciphertext = Bytes::new();
            sealed.aad = Bytes::new();
        }
        Ok(())
    }
}

/// Batches larger than this are sealed on the blocking pool: at about 2 GB/s, sealing more
/// would hold an async worker past tokio's ~100 µs guideline.
const SEAL_INLINE_BYTES: usize = 128 << 10;

/// Appends `records` sealed by `sealer`. The log seals on the calling thread, so a big batch
/// is handed to the blocking pool to do it (order among concurrent requests is not promised
/// anyway; within the batch it is kept).
pub(crate) async fn append_sealed(
    log: &Log,
    records: Vec<NewRecord>,
    sealer: Arc<dyn Sealer>,
) -> Result<Vec<Appended>, LogError> {
    let bytes: usize = records
        .iter()
        .map(|r| r.partition_key.len() + r.data.len())
        .sum();
    if bytes <= SEAL_INLINE_BYTES {
        return log.append_sealed(records, sealer).await;
    }
    let log = log.clone();
    let committed = tokio::task::spawn_blocking(move || log.append_sealed(records, sealer))
        .await
        .map_err(|_| LogError::Seal("the sealing task failed".into()))?;
    committed.await
}

fn missing_key(uuid: &str) -> ApiError {
    ApiError::new(
        ErrorKind::KmsNotFound,
        format!("Key '{uuid}' does not exist: it is not in this server's key file."),
    )
}

/// A record's `EncryptionType`: `KMS` if it was sealed; `NONE` if not but its stream has
/// been encrypted at some time (so a reader can tell records from before and after); absent
/// on streams never encrypted, as before encryption at rest existed.
pub(crate) fn record_encryption_type(
    sealed: bool,
    stream_ever_encrypted: bool,
) -> Option<&'static str> {
    if sealed {
        Some("KMS")
    } else {
        stream_ever_encrypted.then_some("NONE")
    }
}
