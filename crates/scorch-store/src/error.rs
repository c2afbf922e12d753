use scorch_engine::JournalError;
use sqlx::error::ErrorKind;
use thiserror::Error;

/// What went wrong, by meaning. Messages name the object and never carry SQL: at most the
/// driver's short cause ("database is locked", "disk I/O error").
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change clashes with what is stored (a duplicate name, a reference still in use).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is malformed.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A stored value does not decode: the database's fault, not the caller's.
    #[error("a stored value cannot be read: {0}")]
    Corrupt(String),
    /// The database cannot be opened, read or written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict("an object with the same identity exists".into()),
                ErrorKind::ForeignKeyViolation => {
                    StoreError::Conflict("a referenced object is missing, or the object is still referenced".into())
                }
                ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
                    StoreError::Invalid("a value is missing or out of range".into())
                }
                // PostgreSQL's data exceptions (SQLSTATE class 22): a value it cannot hold, such
                // as text with a NUL character. The request's fault, not an outage.
                _ if db.code().is_some_and(|code| code.len() == 5 && code.starts_with("22")) => {
                    StoreError::Invalid(format!("a value cannot be stored: {}", db.message()))
                }
                _ => StoreError::Unavailable(db.message().to_string()),
            },
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(err.to_string()),
            _ => StoreError::Unavailable(err.to_string()),
        }
    }
}

impl From<StoreError> for JournalError {
    fn from(err: StoreError) -> Self {
        JournalError::Unavailable(err.to_string())
    }
}

impl From<JournalError> for StoreError {
    fn from(err: JournalError) -> Self {
        match err {
            JournalError::NotFound(instance) => StoreError::NotFound(format!("instance {instance}")),
            JournalError::Unavailable(why) => StoreError::Unavailable(why),
        }
    }
}
