//! One error shape for every answer of the seller API that is not a
//! success, extractor rejections and the 404 fallback included:
//! `{"error": {"type", "code", "param", "message"}}` (Stripe's shape).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portal_core::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The kind of error; `code` says which one exactly.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// A stable, machine-readable code, e.g. `missing_field`,
    /// `idempotency_key_reused`, `rate_limited`.
    pub code: String,
    /// The request field at fault (a body field, query or path parameter,
    /// or header name), or null when the error is not about one field.
    pub param: Option<String>,
    /// For the developer: what went wrong and what to do.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    InvalidRequestError,
    AuthenticationError,
    PermissionError,
    NotFoundError,
    IdempotencyError,
    RateLimitError,
    ApiError,
}

/// An error answer on its way out: status, body and, for 429, Retry-After.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after_secs: Option<u64>,
}

impl ApiFailure {
    pub fn new(
        status: StatusCode,
        kind: ErrorType,
        code: &str,
        param: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ApiFailure {
            status,
            body: ErrorBody {
                kind,
                code: code.to_owned(),
                param: param.map(str::to_owned),
                message: message.into(),
            },
            retry_after_secs: None,
        }
    }

    /// 400: the request is wrong in `param`.
    pub fn invalid(code: &str, param: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            code,
            param,
            message,
        )
    }

    pub fn unauthenticated(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            "invalid_api_key",
            None,
            message,
        )
    }

    pub fn not_found(message: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::NotFoundError,
            "resource_missing",
            None,
            message,
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut failure = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::RateLimitError,
            "rate_limited",
            None,
            format!("Too many requests with this API key. Try again in {retry_after_secs} s (Retry-After)."),
        );
        failure.retry_after_secs = Some(retry_after_secs);
        failure
    }

    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorType::IdempotencyError,
            "idempotency_key_reused",
            Some("Idempotency-Key"),
            "This Idempotency-Key was used in the last 24 hours for another request (method, path or body). Use a new key for a new request.",
        )
    }

    /// The JSON body, as sent and as stored for idempotent replays.
    pub fn body_json(&self) -> String {
        serde_json::to_string(&ApiError {
            error: ErrorBody {
                kind: self.body.kind,
                code: self.body.code.clone(),
                param: self.body.param.clone(),
                message: self.body.message.clone(),
            },
        })
        .expect("an error body serializes")
    }
}

impl From<ServiceError> for ApiFailure {
    fn from(e: ServiceError) -> Self {
        e.log("seller API request");
        let message = e.user_message();
        match e {
            ServiceError::Invalid { field, .. } => ApiFailure::invalid("invalid_value", field, message),
            ServiceError::Forbidden(_) => ApiFailure::new(
                StatusCode::FORBIDDEN,
                ErrorType::PermissionError,
                "insufficient_scope",
                None,
                message,
            ),
            ServiceError::NotFound => ApiFailure::not_found("No such record."),
            ServiceError::Conflict(_) => ApiFailure::new(
                StatusCode::CONFLICT,
                ErrorType::ApiError,
                "concurrent_change",
                None,
                "Another request changed the same record at the same moment. Retry with the same Idempotency-Key.",
            ),
            ServiceError::Unavailable(_) => ApiFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorType::ApiError,
                "unavailable",
                None,
                message,
            ),
            ServiceError::Internal { .. } => ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorType::ApiError,
                "internal_error",
                None,
                message,
            ),
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, self.body_json());
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portal-api\""),
            );
        }
        response
    }
}

/// A JSON body with its status (also used for replayed answers).
pub fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
