//! A customer's document language (issue 15): AR admins' form on the
//! staff customer page. A plain POST that works with JavaScript off,
//! answering 303 to the customer page with `saved=language` or
//! `language_problem=language` (a code, never words: the page says what it
//! means). An agent gets 403 and nothing changes; anyone not signed in as
//! staff, 404.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{back_to, field, FormPairs, Staff};
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/staff/customers/{customer_id}/language",
        post(customer_language),
    )
}

/// POST /staff/customers/{c}/language: `language` is a BCP 47 tag, or
/// empty for the reader's browser language.
pub async fn customer_language(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(customer_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .set_customer_language(staff_id, customer_id, field(&posted, "language"))
        .await;
    let page = format!("/staff/customers/{customer_id}");
    match result {
        Ok(_) => back_to(&page, &[("saved", "language".to_owned())], Some("language")),
        Err(ServiceError::Invalid { .. }) => back_to(
            &page,
            &[
                ("language_problem", "language".to_owned()),
                // The typed value goes back into the field, and the page
                // checks it again to say what is wrong with it.
                (
                    "language",
                    field(&posted, "language").chars().take(60).collect(),
                ),
            ],
            Some("language"),
        ),
        Err(e) => HttpError::from(e).into_response(),
    }
}
