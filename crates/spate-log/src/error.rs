//! The one error type of the record log.

use crate::types::ShardKey;

/// Why a log operation failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The disk failed. If this happened on the write path the log is now poisoned.
    #[error("record log I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An earlier write or sync failed, so nothing more is accepted: after a failed fsync the
    /// kernel may have dropped the dirty pages, and retrying would acknowledge data that is
    /// not on disk. Restarting (which runs recovery) is the only way out.
    #[error(
        "the record log refuses writes after an earlier write or sync failure; restart to recover"
    )]
    Poisoned,
    /// The shard was never registered, or its stream was dropped.
    #[error("unknown shard (stream {}, shard {})", .0.stream, .0.shard)]
    UnknownShard(ShardKey),
    /// The shard was closed (`close_shard`); its counters are final.
    #[error("closed shard (stream {}, shard {})", .0.stream, .0.shard)]
    ShardClosed(ShardKey),
    /// Persisted bytes are not what this code wrote; recovery stops rather than guess.
    #[error("corrupt record log: {0}")]
    Corrupt(String),
    /// `shutdown` was called (or the last handle dropped); no new work is accepted.
    #[error("the record log is shutting down")]
    ShuttingDown,
    /// A record does not fit the journal's framing (partition key over 65,535 bytes, or an
    /// entry over 4 GiB).
    #[error("record too large for the journal: {0}")]
    RecordTooLarge(String),
    /// The [`crate::Sealer`] refused to seal; nothing of that append was written.
    #[error("sealing a record failed: {0}")]
    Seal(String),
}

impl LogError {
    /// A copy for fanning one failure out to every waiter of a group; `io::Error` is not
    /// `Clone`, so the kind and message are carried over.
    pub(crate) fn duplicate(&self) -> LogError {
        match self {
            LogError::Io(e) => LogError::Io(std::io::Error::new(e.kind(), e.to_string())),
            LogError::Poisoned => LogError::Poisoned,
            LogError::UnknownShard(k) => LogError::UnknownShard(*k),
            LogError::ShardClosed(k) => LogError::ShardClosed(*k),
            LogError::Corrupt(m) => LogError::Corrupt(m.clone()),
            LogError::ShuttingDown => LogError::ShuttingDown,
            LogError::RecordTooLarge(m) => LogError::RecordTooLarge(m.clone()),
            LogError::Seal(m) => LogError::Seal(m.clone()),
        }
    }
}
