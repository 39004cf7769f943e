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

#[cfg(feature = "ssr")]
impl From<portal_core::ServiceError> for AppError {
    fn from(e: portal_core::ServiceError) -> Self {
        use portal_core::ServiceError;
        match e {
            ServiceError::Invalid(message) => AppError::Invalid(message),
            ServiceError::NotFound => AppError::NotFound,
            other => {
                tracing::error!(error = %other, "service failed");
                AppError::Internal
            }
        }
    }
}
