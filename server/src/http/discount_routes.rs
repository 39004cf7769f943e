//! Early-payment discounts (issue 13 item 7): AR admins' forms for a
//! customer's payment terms ("2/10 net 30"), one invoice's own discount
//! terms, and the pay page's line on ACH in the staff settings.
//!
//! Plain POSTs that work with JavaScript off, answering 303 to their page
//! with an outcome code or a problem code (never words: the page says what
//! the code means). An agent gets 403; anyone not signed in as staff, 404.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{back_to, field, FormPairs, Staff};
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/customers/{customer_id}/terms", post(customer_terms))
        .route(
            "/staff/customers/{customer_id}/invoices/{invoice_id}/terms",
            post(invoice_terms),
        )
        .route("/staff/settings/payments", post(payment_settings))
}

fn answer<T>(
    result: Result<T, ServiceError>,
    path: &str,
    ok: (&str, &str),
    problem_key: &str,
    anchor: &str,
) -> Response {
    match result {
        Ok(_) => back_to(path, &[(ok.0, ok.1.to_owned())], Some(anchor)),
        Err(ServiceError::Invalid { field, .. }) => back_to(
            path,
            &[(problem_key, field.unwrap_or("form").to_owned())],
            Some(anchor),
        ),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// POST /staff/customers/{c}/terms: the customer's terms (admins).
pub async fn customer_terms(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(customer_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .set_customer_payment_terms(staff_id, customer_id, field(&posted, "terms"))
        .await;
    answer(
        result,
        &format!("/staff/customers/{customer_id}"),
        ("saved", "terms"),
        "terms_problem",
        "terms",
    )
}

/// POST /staff/customers/{c}/invoices/{i}/terms: one invoice's own
/// discount terms (admins): "2/10", "none", or empty for the customer's.
pub async fn invoice_terms(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path((customer_id, invoice_id)): Path<(i64, i64)>,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .set_invoice_payment_terms(staff_id, customer_id, invoice_id, field(&posted, "terms"))
        .await;
    answer(
        result,
        &format!("/staff/customers/{customer_id}"),
        ("saved", "invoice_terms"),
        "terms_problem",
        "terms",
    )
}

/// POST /staff/settings/payments: the pay page's line on ACH (admins).
pub async fn payment_settings(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .save_ach_note(staff_id, field(&posted, "ach_note"))
        .await;
    answer(
        result,
        "/staff/settings",
        ("saved", "payments"),
        "payments_problem",
        "payments",
    )
}
