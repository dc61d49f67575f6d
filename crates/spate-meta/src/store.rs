//! The metadata store interface the engine programs against.

use crate::records::StreamRecord;

#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("metadata store I/O failed: {0}")]
    Storage(String),
    #[error("metadata document is corrupt: {0}")]
    Corrupt(String),
}

/// Durable metadata. Every mutating call is atomic and durable when it returns.
pub trait MetaStore: Send + Sync + 'static {
    /// Every stream incarnation stored, in any state.
    fn load_streams(&self) -> Result<Vec<StreamRecord>, MetaError>;
    /// Inserts or replaces the stream with this `uid`.
    fn put_stream(&self, stream: &StreamRecord) -> Result<(), MetaError>;
    fn delete_stream(&self, uid: u64) -> Result<(), MetaError>;
    /// Allocates a stream uid never handed out before on this store.
    fn allocate_uid(&self) -> Result<u64, MetaError>;
    /// The named secret, created with `generate` (and persisted) on first use.
    fn secret(
        &self,
        name: &str,
        generate: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<Vec<u8>, MetaError>;
}
