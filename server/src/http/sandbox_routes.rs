//! The sandbox gateway's hosted checkout page, standing in for Stripe's
//! when no Stripe key is set: the tester picks an outcome and the sandbox
//! sends the portal the webhooks Stripe would. Development mode only (and
//! loopback only, see `dev_only`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portal_core::email::html_escape;
use portal_core::payments::sandbox::{SandboxCheckout, SandboxOutcome};
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::plain_page::{not_found, plain_page, server_error};

fn sandbox_page(checkout: &SandboxCheckout, problem: Option<&str>) -> Response {
    use portal_core::domain::{Currency, Money};
    // Read through the repository's decoder, so the code is a real currency.
    let Ok(currency) = Currency::parse(&checkout.currency) else {
        tracing::error!(session = %checkout.session_id, "sandbox checkout with a bad currency");
        return server_error();
    };
    let money = |minor| html_escape(&Money::new(minor, currency).display());
    let rows: String = checkout
        .lines
        .iter()
        .map(|(name, amount)| {
            format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td></tr>",
                html_escape(name),
                money(*amount)
            )
        })
        .collect();
    let choices: &[(&str, &str, &str)] = if checkout.method == "card" {
        &[
            (
                "card_success",
                "Card 4242 4242 4242 4242: payment succeeds",
                "Pay",
            ),
            (
                "card_decline",
                "Card 4000 0000 0000 0002: declined by the bank",
                "Pay",
            ),
        ]
    } else {
        &[
            (
                "ach_success",
                "Bank account ••6789: the debit settles",
                "Authorize debit",
            ),
            (
                "ach_failure",
                "Bank account ••1116: the debit is returned (insufficient funds)",
                "Authorize debit",
            ),
        ]
    };
    let buttons: String = choices
        .iter()
        .map(|(value, label, verb)| {
            format!(
                "<li><button type=\"submit\" name=\"outcome\" value=\"{value}\">{verb}: {}</button></li>",
                html_escape(label)
            )
        })
        .collect();
    let decline = checkout
        .decline_message
        .as_deref()
        .map(|m| {
            format!(
                "<div class=\"alert error\" role=\"alert\"><p><strong>{}</strong> Nothing was charged. Try another card, or go back to the portal and pay by ACH bank debit.</p></div>",
                html_escape(m)
            )
        })
        .unwrap_or_default();
    let problem = problem
        .map(|p| {
            format!(
                "<div class=\"alert error\" role=\"alert\"><p>{}</p></div>",
                html_escape(p)
            )
        })
        .unwrap_or_default();
    let method = if checkout.method == "card" {
        "Card"
    } else {
        "ACH bank debit"
    };
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox checkout · {total}</title><link rel="stylesheet" href="{css}"></head>
<body><header class="site-header sandbox-banner"><span class="brand-name">Sandbox checkout</span><span class="sandbox-tag">Test mode: no real money moves</span></header>
<main id="main"><section class="card narrow">
<h1>Pay {total}</h1>
<p class="sandbox-note">This page stands in for Stripe's hosted checkout because no Stripe key is configured. Pick an outcome; the portal then receives the same signed webhooks Stripe would send.</p>
{decline}{problem}
<table><caption>Payment to the seller, receipt to {email}</caption><tbody>{rows}</tbody>
<tfoot><tr><th scope="row">Total</th><td class="num">{total}</td></tr></tfoot></table>
<form method="post" action="/sandbox/checkout/{id}">
<fieldset><legend>{method}: choose what happens</legend><ul class="sandbox-choices">{buttons}</ul></fieldset>
</form>
<p><a href="{cancel}">Cancel and go back to the portal</a></p>
</section></main></body></html>"#,
        css = app::stylesheet_href(),
        total = money(checkout.amount_minor),
        email = html_escape(&checkout.receipt_email),
        id = html_escape(&checkout.session_id),
        cancel = html_escape(&checkout.cancel_url),
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// GET /sandbox/checkout/{session_id}: the sandbox's hosted checkout.
pub async fn sandbox_checkout(
    State(services): State<Services>,
    Path(session_id): Path<String>,
) -> Response {
    let Some(sandbox) = &services.sandbox else {
        return not_found();
    };
    match sandbox.checkout(&session_id).await {
        Ok(Some(c)) if c.status == "open" => sandbox_page(&c, None),
        Ok(Some(c)) => plain_page(
            StatusCode::GONE,
            "This checkout is closed",
            "It was completed or has expired. Go back to the portal to see the payment.",
            (
                &c.success_url
                    .replace("{CHECKOUT_SESSION_ID}", &c.session_id),
                "Back to the portal",
            ),
        ),
        Ok(None) => not_found(),
        Err(e) => HttpError::from(ServiceError::from(e)).into_response(),
    }
}

/// POST /sandbox/checkout/{session_id}: the tester's choice.
pub async fn sandbox_choose(
    State(services): State<Services>,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(sandbox) = &services.sandbox else {
        return not_found();
    };
    let outcome = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "outcome")
        .and_then(|(_, v)| SandboxOutcome::parse(&v));
    let Some(outcome) = outcome else {
        return match sandbox.checkout(&session_id).await {
            Ok(Some(c)) => sandbox_page(&c, Some("Choose one of the outcomes.")),
            _ => not_found(),
        };
    };
    match sandbox.complete(&session_id, outcome).await {
        Ok(Ok(next)) => {
            services.sandbox_wake.notify_one();
            Redirect::to(&next.replace("{CHECKOUT_SESSION_ID}", &session_id)).into_response()
        }
        Ok(Err(problem)) => plain_page(
            StatusCode::CONFLICT,
            "This checkout cannot take that",
            &problem,
            ("/", "Back to the portal"),
        ),
        Err(e) => HttpError::from(ServiceError::from(e)).into_response(),
    }
}
