//! The error every server function returns. Its text reaches the browser,
//! so it only ever says what the user can do; details go to the server log.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("We couldn't find that page.")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// Allowed to see, not to do (a viewer's role on an account).
    #[error("{0}")]
    Forbidden(String),
    /// Changed by another request at the same moment.
    #[error("{0}")]
    Conflict(String),
    /// A service the portal depends on did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    #[error(
        "The request did not reach the portal properly. Please reload the page and try again."
    )]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

/// The one conversion from the services' error: the same kinds, the same
/// words; an internal error is logged here with its whole chain and becomes
/// the apology. Its status is set by `api::ssr::fail`.
#[cfg(feature = "ssr")]
impl From<portal_core::ServiceError> for AppError {
    fn from(e: portal_core::ServiceError) -> Self {
        use portal_core::ServiceError;
        e.log("a server function");
        match e {
            ServiceError::Invalid { message, .. } => AppError::Invalid(message),
            ServiceError::Forbidden(message) => AppError::Forbidden(message),
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Conflict(message) => AppError::Conflict(message),
            ServiceError::Unavailable(message) => AppError::Unavailable(message),
            ServiceError::Internal { .. } => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The HTTP status of a page or server-function call that failed so.
    pub fn status_code(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Transport(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use portal_core::ServiceError;

    #[derive(Debug, thiserror::Error)]
    #[error("no such table: invoices")]
    struct Sql;

    #[test]
    fn service_errors_keep_their_kind_words_and_status() {
        let cases = [
            (
                ServiceError::invalid_field("email", "Enter an email"),
                400,
                "Enter an email",
            ),
            (
                ServiceError::Forbidden("Viewers cannot pay".into()),
                403,
                "Viewers cannot pay",
            ),
            (ServiceError::NotFound, 404, "We couldn't find that page."),
            (ServiceError::Conflict("Try again".into()), 409, "Try again"),
            (ServiceError::Unavailable("Later".into()), 503, "Later"),
            (
                ServiceError::internal("listing invoices", Sql),
                500,
                "Something went wrong on our side. Please try again in a moment.",
            ),
        ];
        for (service_error, status, words) in cases {
            let core_status = service_error.status();
            let e = AppError::from(service_error);
            assert_eq!(e.status_code().as_u16(), status, "{e:?}");
            assert_eq!(core_status, status, "both layers agree on {e:?}");
            assert_eq!(e.to_string(), words);
        }
        assert_eq!(AppError::Unauthorized.status_code().as_u16(), 401);
    }
}
