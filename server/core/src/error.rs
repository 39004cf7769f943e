//! Errors of the service layer. `Invalid` carries a message meant for the
//! user; everything else is logged in full and shown as a generic apology.

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input, with a message that says what to do.
    #[error("{0}")]
    Invalid(String),
    /// Absent, or not the caller's to see: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type ServiceResult<T> = Result<T, ServiceError>;
