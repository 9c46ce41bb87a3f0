use nanopost_storage::StorageError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum QueueError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A stored job could not be read back (a bug or a foreign writer).
    #[error("corrupt job data: {0}")]
    Corrupt(String),
}

pub type Result<T, E = QueueError> = std::result::Result<T, E>;
