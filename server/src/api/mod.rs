//! The seller API (issue 14): `/api/v1`, for the seller's ERP. A plain axum
//! router beside the portal's pages, outside their session, same-origin and
//! HTML body-limit layers (see `crate::http::router`): a request carries
//! `Authorization: Bearer <key>` and nothing else of the browser's. Every
//! error is JSON in one shape (error.rs); the OpenAPI 3.1 document is
//! generated from these handlers (utoipa) and served at
//! `/api/v1/openapi.json` without a key.

pub mod customers;
pub mod error;
pub mod extract;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portal_core::Services;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::error::{ApiFailure, ErrorType};
use self::extract::ApiState;

/// The largest API body: a customer is a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Receivables portal seller API",
        version = "1",
        description = "For the seller's ERP: upsert and read records by the ERP's ids. Authenticate with `Authorization: Bearer <key>` (keys: `portal api-key create`). Every write needs an `Idempotency-Key`. Amounts are minor units. Errors: `{\"error\": {\"type\", \"code\", \"param\", \"message\"}}`."
    ),
    modifiers(&BearerKey),
    security(("api_key" = [])),
    tags((name = "customers", description = "Customer accounts, keyed by the ERP's external_id")),
)]
struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pk_…")
                    .build(),
            ),
        );
    }
}

fn api() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        OpenApiRouter::new()
            .routes(routes!(customers::list_customers))
            .routes(routes!(customers::get_customer, customers::upsert_customer))
            .fallback(not_found),
    )
}

/// The document, as served and as committed at docs/openapi.json.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    // utoipa fills the license from Cargo.toml, which names none: an empty
    // name would be an invalid License Object.
    doc.info.license = None;
    doc
}

/// The document's text: pretty JSON and a final newline.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

/// The `/api/v1` router with its own layers: JSON 413 (body limit) and 503
/// (timeout), `nosniff` and `no-store`, and a trace span like the pages'.
pub fn router(services: Services) -> axum::Router {
    let timeout = services.config.request_timeout;
    let (router, _) = api().split_for_parts();
    let document = openapi_json();
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .layer(middleware::from_fn(api_headers))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                tracing::info_span!("api", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(ApiState::new(services))
}

async fn not_found() -> ApiFailure {
    ApiFailure::not_found("No such API endpoint. See /api/v1/openapi.json.")
}

async fn method_not_allowed() -> ApiFailure {
    ApiFailure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorType::InvalidRequestError,
        "method_not_allowed",
        None,
        "This endpoint does not take this method. See /api/v1/openapi.json.",
    )
}

async fn api_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `PORTAL_REQUEST_TIMEOUT_SECONDS`, answered in the API's shape. A write
/// cut here rolls back (its transaction is dropped uncommitted), so a retry
/// with the same Idempotency-Key runs it again.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut failure = ApiFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorType::ApiError,
                "timeout",
                None,
                "The request took too long and was stopped; nothing was changed. Try again.",
            );
            failure.retry_after_secs = Some(5);
            failure.into_response()
        }
    }
}
