//! Reminders' recipients (issue 13): the one-click unsubscribe link of an
//! optional step's email (RFC 8058), a contact's own on/off for the
//! friendly reminders, the account's billing address (admins) and AR's
//! test send of a step to themselves.
//!
//! `/reminders/unsubscribe/{token}` is routed outside the session and
//! same-origin layers (see `router`): a mail client POSTs it from nowhere
//! near the portal, and the token is the capability. A GET only shows a
//! button that POSTs, so a link scanner unsubscribes no one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use portal_core::domain::Principal;
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{back_to, field, FormPairs, Staff};
use super::plain_page::{action_page, not_found, plain_page};
use super::AppState;

/// Routes inside the session and same-origin layers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/accounts/{customer_id}/reminders/friendly",
            post(friendly_reminders),
        )
        .route(
            "/staff/customers/{customer_id}/reminders/billing-email",
            post(billing_email),
        )
        .route(
            "/staff/settings/reminders/steps/{step_id}/test",
            post(test_send),
        )
}

/// POST /staff/settings/reminders/steps/{s}/test: "Send a test to me",
/// with sample invoices or those of `customer` (an id).
pub async fn test_send(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(step_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let problem = || {
        back_to(
            "/staff/settings",
            &[("reminder_problem", "customer")],
            Some("reminders"),
        )
    };
    let customer = match field(&posted, "customer").trim() {
        "" => None,
        typed => match typed.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return problem(),
        },
    };
    match services
        .send_reminder_test(staff_id, step_id, customer)
        .await
    {
        Ok(to) => back_to("/staff/settings", &[("tested", to)], Some("reminders")),
        Err(ServiceError::Invalid { .. }) => problem(),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// GET /reminders/unsubscribe/{token}: a page whose button POSTs.
pub async fn unsubscribe_page(
    State(services): State<Services>,
    Path(token): Path<String>,
) -> Response {
    match services.reminder_unsubscribe_target(&token).await {
        Ok(target) if target.already => done_page(&target.customer_name, &target.email),
        Ok(target) => action_page(
            "Stop friendly payment reminders",
            &format!(
                "{} will stop sending {} the friendly reminders before and on an invoice's due date for {}. Notices about overdue invoices still come.",
                services.config.seller_name, target.email, target.customer_name
            ),
            &format!("/reminders/unsubscribe/{token}"),
            "Stop friendly reminders",
        ),
        Err(ServiceError::NotFound) => not_found(),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// POST /reminders/unsubscribe/{token}: the one-click unsubscribe (the
/// mail client's `List-Unsubscribe=One-Click` body, or the page's button).
pub async fn unsubscribe(State(services): State<Services>, Path(token): Path<String>) -> Response {
    match services.reminder_unsubscribe(&token).await {
        Ok(target) => done_page(&target.customer_name, &target.email),
        Err(ServiceError::NotFound) => not_found(),
        Err(e) => HttpError::from(e).into_response(),
    }
}

fn done_page(customer_name: &str, email: &str) -> Response {
    plain_page(
        StatusCode::OK,
        "Friendly reminders stopped",
        &format!(
            "{email} gets no more friendly reminders for {customer_name}. Notices about overdue invoices still come. A contact of the account can turn them back on from the account's page."
        ),
        ("/", "Go to the portal"),
    )
}

/// POST /accounts/{c}/reminders/friendly: `on=1` or `on=0`.
pub async fn friendly_reminders(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(customer_id): Path<String>,
    FormPairs(posted): FormPairs,
) -> Response {
    let contact_id = match signed_in.map(|Extension(s)| s.principal) {
        Some(Principal::Contact { contact_id }) => contact_id,
        _ => return not_found(),
    };
    let Ok(customer_id) = customer_id.parse::<i64>() else {
        return not_found();
    };
    let on = field(&posted, "on") == "1";
    match services
        .set_friendly_reminders(contact_id, customer_id, on)
        .await
    {
        Ok(()) => back_to(
            &format!("/accounts/{customer_id}"),
            &[("friendly", if on { "on" } else { "off" })],
            Some("reminders"),
        ),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// POST /staff/customers/{c}/reminders/billing-email (admins).
pub async fn billing_email(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(customer_id): Path<i64>,
    FormPairs(posted): FormPairs,
) -> Response {
    let path = format!("/staff/customers/{customer_id}");
    match services
        .set_billing_email(staff_id, customer_id, field(&posted, "billing_email"))
        .await
    {
        Ok(()) => back_to(&path, &[("saved", "billing_email")], Some("reminders")),
        Err(ServiceError::Invalid { .. }) => back_to(
            &path,
            &[("reminder_problem", "billing_email")],
            Some("reminders"),
        ),
        Err(e) => HttpError::from(e).into_response(),
    }
}
