use nanopost_domain::error::ValidationErrors;
use nanopost_storage::StorageError;
use thiserror::Error;

/// Why a use case refused. Each variant maps to one HTTP status and one CLI message.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The input broke a rule; every broken field is listed.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// Not signed in, or the credentials are wrong.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Signed in, but the role or token scope does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    /// The request cannot be applied to the current state (e.g. the post changed meanwhile).
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => ServiceError::NotFound,
            StorageError::Stale => {
                ServiceError::Conflict("someone changed this in the meantime; reload and try again".into())
            }
            StorageError::Conflict(what) => ServiceError::Conflict(format!("conflict: {what}")),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for ServiceError {
    fn from(e: ValidationErrors) -> Self {
        ServiceError::Invalid(e)
    }
}

impl From<nanopost_domain::ValidationError> for ServiceError {
    fn from(e: nanopost_domain::ValidationError) -> Self {
        ServiceError::Invalid(e.into())
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
