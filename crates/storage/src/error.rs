use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write (`what` says which, for the message).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A row changed since it was read (optimistic concurrency).
    #[error("the record changed since it was read")]
    Stale,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An error of the SQLite job thread's own connection (sqlite_job_thread.rs).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The SQLite job thread could not be started or has stopped.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound)
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
