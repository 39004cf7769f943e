//! The one error of the portal's services, and the rules for turning it
//! into an answer. The kinds a person can act on carry a message meant for
//! them; `Internal` carries the cause (with its chain), which is logged once
//! where the error becomes an answer and never shown: the person sees a
//! generic apology. The web layer adds only the rendering (an HTML page for
//! axum routes, `AppError` for server functions); the status of each kind
//! is decided here, in [`ServiceError::status`].

use std::error::Error as StdError;

pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(thiserror::Error)]
pub enum ServiceError {
    /// Bad input, with a message that says what to do, and the form field
    /// it is about when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<&'static str>,
        message: String,
    },
    /// Signed in and allowed to see this, but not to do it (a role that
    /// may view invoices but not pay them).
    #[error("{0}")]
    Forbidden(String),
    /// Absent, or not the caller's to see: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    /// Someone else changed the same thing at the same moment (a unique
    /// constraint refused the write): trying again usually works.
    #[error("{0}")]
    Conflict(String),
    /// A service the portal depends on (the payment gateway) did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault: a database error, a failed task. Logged with its chain.
    /// Its text names the cause (for the log and the CLI), so it is never
    /// shown to a person: see [`ServiceError::user_message`].
    #[error("{context}: {source}")]
    Internal {
        context: String,
        #[source]
        source: BoxError,
    },
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// What a person sees instead of an internal error's text.
pub const APOLOGY: &str = "Something went wrong on our side. Please try again in a moment.";

/// What a person sees when two requests changed the same thing at once.
pub const CONFLICT: &str =
    "That was changed by another request at the same moment. Please reload the page and try again.";

impl ServiceError {
    /// Bad input not tied to one form field.
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: None,
            message: message.into(),
        }
    }

    /// Bad input in the form field `field`.
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: Some(field),
            message: message.into(),
        }
    }

    /// An internal fault with what we were doing (`context`) and its cause.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ServiceError::Internal {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The HTTP status of each kind (a number, so that this crate needs no
    /// web dependency; `http::StatusCode::from_u16` takes it as it is).
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Invalid { .. } => 400,
            ServiceError::Forbidden(_) => 403,
            ServiceError::NotFound => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::Unavailable(_) => 503,
            ServiceError::Internal { .. } => 500,
        }
    }

    /// The text a person may read: the message of the kinds that have one,
    /// the apology for an internal error (its detail stays in the log).
    pub fn user_message(&self) -> String {
        match self {
            ServiceError::Internal { .. } => APOLOGY.to_owned(),
            other => other.to_string(),
        }
    }

    /// Logs an internal error, once, with its whole chain; the other kinds
    /// are answers, not faults, and are not logged. Call where the error
    /// becomes a response.
    pub fn log(&self, doing: &str) {
        if let ServiceError::Internal { .. } = self {
            tracing::error!(error = ?self, "{doing} failed");
        }
    }
}

impl std::fmt::Debug for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        error_chain_fmt(self, f)
    }
}

/// An error and every cause under it, one per line (as zero-to-production
/// formats them), so one log line says what failed and why.
pub fn error_chain_fmt(e: &impl StdError, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    writeln!(f, "{e}")?;
    let mut current = e.source();
    while let Some(cause) = current {
        writeln!(f, "Caused by:\n\t{cause}")?;
        current = cause.source();
    }
    Ok(())
}

/// A database error becomes `Internal`, except a unique violation: it can
/// only reach here when two requests wrote the same row at once (every
/// expected duplicate is checked before writing), so it is a `Conflict`.
impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        if is_unique_violation(&e) {
            tracing::info!(error = %e, "unique violation answered as a conflict");
            ServiceError::Conflict(CONFLICT.to_owned())
        } else {
            ServiceError::internal("database error", e)
        }
    }
}

fn database_error_kind(e: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    e.as_database_error().map(|d| d.kind())
}

/// A CHECK constraint refused the write (e.g. a credit applied beyond its amount).
pub fn is_check_violation(e: &sqlx::Error) -> bool {
    database_error_kind(e) == Some(sqlx::error::ErrorKind::CheckViolation)
}

/// A UNIQUE constraint refused the write (e.g. the same attempt key twice).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    database_error_kind(e) == Some(sqlx::error::ErrorKind::UniqueViolation)
}

/// Turns a unique violation into the error the caller names (like
/// realworld-axum-sqlx's `on_constraint`; SQLite does not report constraint
/// names, so this goes by kind), any other database error as `From` does.
pub trait ResultExt<T> {
    fn on_unique_violation(self, f: impl FnOnce() -> ServiceError) -> ServiceResult<T>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, f: impl FnOnce() -> ServiceError) -> ServiceResult<T> {
        self.map_err(|e| {
            if is_unique_violation(&e) {
                f()
            } else {
                e.into()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire")]
    struct Root;

    #[derive(Debug, thiserror::Error)]
    #[error("writing the PDF")]
    struct Middle(#[source] Root);

    #[test]
    fn each_kind_has_its_status() {
        let cases = [
            (ServiceError::invalid("no"), 400),
            (ServiceError::invalid_field("email", "no"), 400),
            (ServiceError::Forbidden("no".into()), 403),
            (ServiceError::NotFound, 404),
            (ServiceError::Conflict("again".into()), 409),
            (ServiceError::Unavailable("later".into()), 503),
            (ServiceError::internal("x", Root), 500),
            (sqlx::Error::PoolTimedOut.into(), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error}");
        }
    }

    #[test]
    fn only_internal_errors_hide_their_text() {
        assert_eq!(
            ServiceError::invalid_field("email", "Enter an email").user_message(),
            "Enter an email"
        );
        assert_eq!(
            ServiceError::Forbidden("Viewers cannot pay".into()).user_message(),
            "Viewers cannot pay"
        );
        let internal = ServiceError::internal("rendering a PDF", Middle(Root));
        assert_eq!(internal.user_message(), APOLOGY);
        assert!(!internal.user_message().contains("fire"));
    }

    #[test]
    fn debug_shows_the_whole_chain() {
        let e = ServiceError::internal("rendering a PDF", Middle(Root));
        assert_eq!(
            format!("{e:?}"),
            "rendering a PDF: writing the PDF\nCaused by:\n\twriting the PDF\nCaused by:\n\tdisk on fire\n"
        );
        assert_eq!(format!("{:?}", ServiceError::NotFound), "not found\n");
    }

    #[test]
    fn a_unique_violation_can_be_named() {
        let refused: Result<(), sqlx::Error> = Err(sqlx::Error::RowNotFound);
        let e = refused
            .on_unique_violation(|| ServiceError::Conflict("taken".into()))
            .unwrap_err();
        assert_eq!(e.status(), 500, "other database errors stay internal");
    }
}
