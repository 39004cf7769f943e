//! Reminders and promises to pay (issue 13): the customer's promise form
//! on the invoice page, AR's forms on the customer page (cadence, pause,
//! time zone, send now, a promise taken by phone, an invoice's pause) and
//! the admins' reminder settings (window, promise horizon, AR contact,
//! cadences and their steps).
//!
//! Plain POSTs that work with JavaScript off, answering 303 to their page
//! with an outcome code, or with a problem code naming the field (never
//! words: the page says what the code means). A viewer's promise and an
//! agent's change of settings get 403; another account's invoice, or
//! anyone not signed in as staff on a staff address, 404.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use portal_core::domain::Principal;
use portal_core::services::reminders::PromiseDraft;
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{back_to, field, FormPairs, Staff};
use super::plain_page::not_found;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/accounts/{customer_id}/invoices/{invoice_id}/promise",
            post(promise),
        )
        .route(
            "/staff/customers/{customer_id}/reminders",
            post(customer_reminders),
        )
        .route(
            "/staff/customers/{customer_id}/reminders/send",
            post(send_now),
        )
        .route(
            "/staff/customers/{customer_id}/promises",
            post(phone_promise),
        )
        .route(
            "/staff/customers/{customer_id}/invoices/{invoice_id}/reminder-pause",
            post(pause_invoice),
        )
        .route("/staff/settings/reminders", post(save_settings))
        .route("/staff/settings/reminders/cadences", post(add_cadence))
        .route("/staff/settings/reminders/steps", post(save_step))
        .route(
            "/staff/settings/reminders/steps/{step_id}/remove",
            post(remove_step),
        )
}

/// The problem code of a refusal in words: the form field, or "conflict".
fn problem_code(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::Invalid { field, .. } => Some(field.unwrap_or("form")),
        ServiceError::Conflict(_) => Some("conflict"),
        _ => None,
    }
}

/// Saved: `ok`; refused in words: `problem_key=<field>`; anything else
/// (403, 404, 500) answers as every route does.
fn answer<T>(
    result: Result<T, ServiceError>,
    path: &str,
    ok: &[(&str, String)],
    problem_key: &str,
    anchor: &str,
) -> Response {
    match result {
        Ok(_) => back_to(path, ok, Some(anchor)),
        Err(e) => match problem_code(&e) {
            Some(code) => back_to(path, &[(problem_key, code.to_owned())], Some(anchor)),
            None => HttpError::from(e).into_response(),
        },
    }
}

/// The answer of a form on the staff customer page (`reminder_problem`,
/// at `#reminders`).
fn customer_answer<T>(
    result: Result<T, ServiceError>,
    customer_id: i64,
    ok: (&str, String),
) -> Response {
    answer(
        result,
        &format!("/staff/customers/{customer_id}"),
        &[ok],
        "reminder_problem",
        "reminders",
    )
}

/// The answer of a reminder settings form: `saved=reminders` on the staff
/// settings page.
fn settings_answer<T>(result: Result<T, ServiceError>) -> Response {
    answer(
        result,
        "/staff/settings",
        &[("saved", "reminders".to_owned())],
        "reminder_problem",
        "reminders",
    )
}

/// A promise to pay `invoice_ids` as the form posted it.
fn promise_draft(posted: &[(String, String)], invoice_ids: Vec<i64>) -> PromiseDraft {
    PromiseDraft {
        invoice_ids,
        promised_on: field(posted, "promised_on").to_owned(),
        amount: field(posted, "amount").to_owned(),
        note: field(posted, "note").to_owned(),
    }
}

fn ids(pairs: &[(String, String)], name: &str) -> Vec<i64> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

/// POST /accounts/{c}/invoices/{i}/promise: a payer or admin promises to
/// pay this invoice by a date (and optionally an amount).
pub async fn promise(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, invoice_id)): Path<(String, String)>,
    FormPairs(posted): FormPairs,
) -> Response {
    let contact_id = match signed_in.map(|Extension(s)| s.principal) {
        Some(Principal::Contact { contact_id }) => contact_id,
        _ => return not_found(),
    };
    let (Ok(customer_id), Ok(invoice_id)) = (customer_id.parse::<i64>(), invoice_id.parse::<i64>())
    else {
        return not_found();
    };
    let draft = promise_draft(&posted, vec![invoice_id]);
    let path = format!("/accounts/{customer_id}/invoices/{invoice_id}");
    let result = services
        .promise_to_pay(contact_id, customer_id, &draft)
        .await;
    answer(
        result,
        &path,
        &[("promised", "1".to_owned())],
        "promise_problem",
        "promise",
    )
}

/// POST /staff/customers/{c}/reminders: cadence, pause, time zone (admins).
pub async fn customer_reminders(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(customer_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let cadence_id = field(&posted, "cadence_id").trim().parse::<i64>().ok();
    let result = services
        .set_customer_reminders(
            staff_id,
            customer_id,
            cadence_id,
            field(&posted, "paused_until"),
            field(&posted, "time_zone"),
        )
        .await;
    customer_answer(result, customer_id, ("saved", "reminders".to_owned()))
}

/// POST /staff/customers/{c}/reminders/send: "Send a reminder now" for
/// the ticked invoices (all open ones when none is ticked).
pub async fn send_now(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(customer_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .send_reminder_now(staff_id, customer_id, &ids(&posted, "invoice"))
        .await;
    let sent = result.as_ref().map(|s| s.invoices).unwrap_or_default();
    customer_answer(result, customer_id, ("reminded", sent.to_string()))
}

/// POST /staff/customers/{c}/promises: a promise made by phone.
pub async fn phone_promise(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(customer_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let draft = promise_draft(&posted, ids(&posted, "invoice"));
    let result = services
        .record_phone_promise(staff_id, customer_id, &draft)
        .await;
    answer(
        result,
        &format!("/staff/customers/{customer_id}"),
        &[("saved", "promise".to_owned())],
        "promise_problem",
        "promises",
    )
}

/// POST /staff/customers/{c}/invoices/{i}/reminder-pause (admins).
pub async fn pause_invoice(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path((customer_id, invoice_id)): Path<(i64, i64)>,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .pause_invoice_reminders(staff_id, invoice_id, field(&posted, "paused_until"))
        .await;
    customer_answer(result, customer_id, ("saved", "invoice_pause".to_owned()))
}

/// POST /staff/settings/reminders: window, promise horizon, AR contact.
pub async fn save_settings(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .save_reminder_settings(
            staff_id,
            field(&posted, "window"),
            field(&posted, "promise_horizon_days"),
            field(&posted, "ar_contact_name"),
            field(&posted, "ar_contact_email"),
        )
        .await;
    settings_answer(result)
}

/// POST /staff/settings/reminders/cadences: a new cadence (a copy of the
/// default's steps).
pub async fn add_cadence(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(posted): FormPairs,
) -> Response {
    let result = services
        .add_reminder_cadence(staff_id, field(&posted, "name"))
        .await;
    settings_answer(result)
}

/// POST /staff/settings/reminders/steps: add a step (no step_id) or change one.
pub async fn save_step(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(posted): FormPairs,
) -> Response {
    let Ok(cadence_id) = field(&posted, "cadence_id").trim().parse::<i64>() else {
        return not_found();
    };
    let step_id = field(&posted, "step_id").trim().parse::<i64>().ok();
    let result = services
        .save_reminder_step(
            staff_id,
            cadence_id,
            step_id,
            field(&posted, "offset_days"),
            !field(&posted, "optional").is_empty(),
            field(&posted, "subject"),
            field(&posted, "body"),
        )
        .await;
    settings_answer(result)
}

/// POST /staff/settings/reminders/steps/{s}/remove.
pub async fn remove_step(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(step_id): Path<i64>,
) -> Response {
    let result = services.retire_reminder_step(staff_id, step_id).await;
    settings_answer(result)
}
