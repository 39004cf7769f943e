//! Server functions: thin. Each one authenticates, authorizes, calls one
//! service of `portal-core`, and maps the result to a view. One file per area.

pub mod accounts;
pub mod auth;
pub mod dev;
pub mod sessions;
pub mod site;
pub mod staff;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use http::StatusCode;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use portal_core::domain::Principal;
    use portal_core::session_store::SignedIn;
    use portal_core::Services;

    use crate::error::AppError;

    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| {
            tracing::error!("Services missing from the Leptos context");
            AppError::Internal
        })
    }

    pub fn signed_in() -> Option<SignedIn> {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedIn>().cloned())
    }

    fn status(code: StatusCode) {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(code);
        }
    }

    /// Sets the HTTP status that goes with an error, so a page or a
    /// server-function call answers 404 / 401 / 500 and not 200.
    pub fn fail<T>(error: AppError) -> Result<T, AppError> {
        status(match &error {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Transport(_) => StatusCode::BAD_REQUEST,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        });
        Err(error)
    }

    pub fn require_contact() -> Result<i64, AppError> {
        match signed_in().map(|s| s.principal) {
            Some(Principal::Contact { contact_id }) => Ok(contact_id),
            _ => fail(AppError::Unauthorized),
        }
    }

    pub fn require_staff() -> Result<i64, AppError> {
        match signed_in().map(|s| s.principal) {
            Some(Principal::Staff { staff_id }) => Ok(staff_id),
            _ => fail(AppError::Unauthorized),
        }
    }

    /// Runs a service call and maps its error (with the right status).
    pub fn mapped<T>(result: Result<T, portal_core::ServiceError>) -> Result<T, AppError> {
        result.or_else(|e| fail(AppError::from(e)))
    }

    pub fn date(d: chrono::NaiveDate) -> String {
        d.format("%b %-d, %Y").to_string()
    }

    pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
        t.format("%b %-d, %Y %H:%M UTC").to_string()
    }
}
