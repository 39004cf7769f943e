//! How a service error answers a plain axum route: the status is the one
//! `ServiceError::status` gives, the page is a plain page in the portal's
//! style, and an internal error is logged here (once, with its chain) and
//! shown only as the apology. Server functions go through `AppError`
//! instead (`app::error`), with the same kinds and statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portal_core::ServiceError;

use super::plain_page::{not_found, plain_page, server_error};

pub struct HttpError {
    error: ServiceError,
    title: Option<&'static str>,
}

impl From<ServiceError> for HttpError {
    fn from(error: ServiceError) -> Self {
        HttpError { error, title: None }
    }
}

impl HttpError {
    /// The heading of the page for a refusal in words (invalid, forbidden,
    /// conflict), when the route can say better what did not work.
    pub fn titled(mut self, title: &'static str) -> Self {
        self.title = Some(title);
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.error.log("request");
        let status = self.status();
        let title = match &self.error {
            ServiceError::NotFound => return not_found(),
            ServiceError::Internal { .. } => return server_error(),
            ServiceError::Unavailable(_) => "Please try again in a moment",
            ServiceError::Invalid { .. } => self.title.unwrap_or("That did not work"),
            ServiceError::Forbidden(_) => self.title.unwrap_or("Your role does not allow that"),
            ServiceError::Conflict(_) => self.title.unwrap_or("That changed just now"),
        };
        plain_page(
            status,
            title,
            &self.error.user_message(),
            ("/", "Back to the portal"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no such table: invoices")]
    struct Sql;

    async fn answer(e: ServiceError) -> (u16, String) {
        let response = HttpError::from(e).into_response();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_kind_answers_with_its_status_and_words() {
        for (e, status, words) in [
            (ServiceError::invalid("Pick a date"), 400, "Pick a date"),
            (
                ServiceError::Forbidden("Viewers cannot pay".into()),
                403,
                "Viewers cannot pay",
            ),
            (ServiceError::NotFound, 404, "find that page"),
            (ServiceError::Conflict("Try again".into()), 409, "Try again"),
            (
                ServiceError::Unavailable("Gateway down".into()),
                503,
                "Gateway down",
            ),
            (
                ServiceError::internal("listing", Sql),
                500,
                "Please try again in a moment",
            ),
        ] {
            let (got, body) = answer(e).await;
            assert_eq!(got, status, "{body}");
            assert!(body.contains(words), "{status}: {body}");
            assert!(!body.contains("no such table"), "{body}");
        }
    }
}
