//! Saved payment methods and autopay (issue 12): the POST forms of their
//! pages, the return from the gateway's setup page, the skip link's POST,
//! and the sandbox's hosted setup page. Plain axum routes answering 303 to
//! the page, which shows the outcome or names the problem by a code (never
//! text a link could choose); each is safe to press twice.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use portal_core::domain::Principal;
use portal_core::email::html_escape;
use portal_core::payments::sandbox::SandboxMethod;
use portal_core::services::autopay::EnrolmentDraft;
use portal_core::services::payment_methods::SetupOutcome;
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::client_ip::ClientIp;
use super::error::HttpError;
use super::plain_page::{not_found, plain_page};
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/accounts/{customer_id}/payment-methods",
            post(start_saving),
        )
        .route(
            "/accounts/{customer_id}/payment-methods/return",
            get(setup_return),
        )
        .route(
            "/accounts/{customer_id}/payment-methods/{method_id}/default",
            post(make_default),
        )
        .route(
            "/accounts/{customer_id}/payment-methods/{method_id}/remove",
            post(remove),
        )
        .route("/accounts/{customer_id}/autopay", post(enrol))
        .route("/accounts/{customer_id}/autopay/cancel", post(cancel))
        .route("/autopay/skip/{token}", post(skip))
        .route(
            "/sandbox/setup/{session_id}",
            get(sandbox_setup_page).post(sandbox_setup_choose),
        )
}

fn contact(signed_in: Option<Extension<SignedIn>>) -> Option<i64> {
    match signed_in.map(|Extension(s)| s.principal) {
        Some(Principal::Contact { contact_id }) => Some(contact_id),
        _ => None,
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn methods_page(customer_id: i64, query: &str) -> Response {
    Redirect::to(&format!("/accounts/{customer_id}/payment-methods?{query}")).into_response()
}

/// A problem the page can name: refusals of the service by their kind.
fn problem_code(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::Unavailable(_) => Some("gateway"),
        ServiceError::Forbidden(_) => Some("role"),
        ServiceError::Invalid { field: None, .. } => Some("invalid"),
        ServiceError::Invalid {
            field: Some(field), ..
        } => Some(field),
        _ => None,
    }
}

/// The page with `code`, or the error page for anything else (404s).
fn back_with_problem(page: String, e: ServiceError) -> Response {
    match problem_code(&e) {
        Some(code) => Redirect::to(&format!("{page}problem={code}")).into_response(),
        None => HttpError::from(e).into_response(),
    }
}

/// POST /accounts/{c}/payment-methods (`kind` = card | ach): off to the
/// gateway's setup page. Nothing is charged.
async fn start_saving(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Response {
    let (Some(contact_id), Ok(customer_id)) = (contact(signed_in), customer_id.parse::<i64>())
    else {
        return not_found();
    };
    let pairs = form(&body);
    match services
        .start_saving_method(contact_id, customer_id, field(&pairs, "kind"))
        .await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => back_with_problem(format!("/accounts/{customer_id}/payment-methods?"), e),
    }
}

#[derive(serde::Deserialize)]
struct ReturnQuery {
    #[serde(default)]
    key: String,
}

/// GET …/payment-methods/return?key=…: the setup page's success URL. Saves
/// what the gateway says was saved, once (the press's random key finds
/// its record; a reload finds it done).
async fn setup_return(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(customer_id): Path<String>,
    Query(query): Query<ReturnQuery>,
) -> Response {
    let (Some(contact_id), Ok(customer_id)) = (contact(signed_in), customer_id.parse::<i64>())
    else {
        return not_found();
    };
    match services
        .finish_saving_method(contact_id, customer_id, &query.key)
        .await
    {
        Ok(SetupOutcome::Saved(_)) => methods_page(customer_id, "outcome=saved"),
        Ok(SetupOutcome::NotSaved) => methods_page(customer_id, "outcome=left"),
        Err(e) => back_with_problem(format!("/accounts/{customer_id}/payment-methods?"), e),
    }
}

fn method_path(
    signed_in: Option<Extension<SignedIn>>,
    customer_id: &str,
    method_id: &str,
) -> Option<(i64, i64, i64)> {
    Some((
        contact(signed_in)?,
        customer_id.parse().ok()?,
        method_id.parse().ok()?,
    ))
}

async fn make_default(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, method_id)): Path<(String, String)>,
) -> Response {
    let Some((contact_id, customer_id, method_id)) =
        method_path(signed_in, &customer_id, &method_id)
    else {
        return not_found();
    };
    match services
        .make_method_default(contact_id, customer_id, method_id)
        .await
    {
        Ok(()) => methods_page(customer_id, "outcome=default"),
        Err(e) => back_with_problem(format!("/accounts/{customer_id}/payment-methods?"), e),
    }
}

async fn remove(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, method_id)): Path<(String, String)>,
) -> Response {
    let Some((contact_id, customer_id, method_id)) =
        method_path(signed_in, &customer_id, &method_id)
    else {
        return not_found();
    };
    match services
        .remove_method(contact_id, customer_id, method_id)
        .await
    {
        Ok(()) => methods_page(customer_id, "outcome=removed"),
        Err(ServiceError::Invalid { .. }) => methods_page(customer_id, "problem=in_use"),
        Err(e) => back_with_problem(format!("/accounts/{customer_id}/payment-methods?"), e),
    }
}

/// POST /accounts/{c}/autopay: "Turn on autopay" with the consent box.
/// A problem goes back to the form with what was typed.
async fn enrol(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    client_ip: ClientIp,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Response {
    let (Some(contact_id), Ok(customer_id)) = (contact(signed_in), customer_id.parse::<i64>())
    else {
        return not_found();
    };
    let pairs = form(&body);
    let draft = EnrolmentDraft {
        scope: field(&pairs, "scope").to_owned(),
        max_amount: field(&pairs, "max_amount").to_owned(),
        max_currency: field(&pairs, "max_currency").to_owned(),
        days_before: field(&pairs, "days_before").to_owned(),
        method_id: field(&pairs, "method_id").to_owned(),
        agreed: field(&pairs, "agree") == "yes",
        consent_version: field(&pairs, "consent_version").to_owned(),
    };
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match services
        .enrol_autopay(
            contact_id,
            customer_id,
            &draft,
            client_ip.as_deref(),
            user_agent,
        )
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/accounts/{customer_id}/autopay?outcome=on")).into_response()
        }
        Err(e) => {
            // Back to the form as typed (the page checks nothing of it).
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for name in [
                "scope",
                "max_amount",
                "max_currency",
                "days_before",
                "method_id",
            ] {
                query.append_pair(name, field(&pairs, name));
            }
            back_with_problem(
                format!("/accounts/{customer_id}/autopay?{}&", query.finish()),
                e,
            )
        }
    }
}

async fn cancel(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    client_ip: ClientIp,
    Path(customer_id): Path<String>,
) -> Response {
    let (Some(contact_id), Ok(customer_id)) = (contact(signed_in), customer_id.parse::<i64>())
    else {
        return not_found();
    };
    match services
        .cancel_autopay(contact_id, customer_id, client_ip.as_deref())
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/accounts/{customer_id}/autopay?outcome=off")).into_response()
        }
        Err(e) => back_with_problem(format!("/accounts/{customer_id}/autopay?"), e),
    }
}

/// POST /autopay/skip/{token}: "Skip this payment". The token is the
/// capability (see `Services::autopay_notice_for_skip`); a GET never skips
/// (mail scanners open links).
async fn skip(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    client_ip: ClientIp,
    Path(token): Path<String>,
) -> Response {
    match services
        .skip_autopay_debit(contact(signed_in), &token, client_ip.as_deref())
        .await
    {
        Ok(_) => Redirect::to(&format!("/autopay/skip/{token}?outcome=skipped")).into_response(),
        Err(ServiceError::Invalid { .. }) => {
            Redirect::to(&format!("/autopay/skip/{token}?problem=started")).into_response()
        }
        Err(e) => HttpError::from(e).into_response(),
    }
}

fn sandbox_setup_html(
    setup: &portal_core::repo::payment_methods::SandboxSetup,
    problem: Option<&str>,
) -> Response {
    let buttons: String = SandboxMethod::ALL
        .into_iter()
        .filter(|m| setup.method_types.split(',').any(|t| t == m.stripe_type()))
        .map(|m| {
            format!(
                "<li><button type=\"submit\" name=\"method\" value=\"{}\">{}</button></li>",
                m.key(),
                html_escape(m.label())
            )
        })
        .collect();
    let problem = problem
        .map(|p| {
            format!(
                "<div class=\"alert error\" role=\"alert\"><p>{}</p></div>",
                html_escape(p)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox: save a payment method</title><link rel="stylesheet" href="{css}"></head>
<body><header class="site-header sandbox-banner"><span class="brand-name">Sandbox checkout</span><span class="sandbox-tag">Test mode: no real money moves</span></header>
<main id="main"><section class="card narrow">
<h1>Save a payment method</h1>
<p class="sandbox-note">This page stands in for Stripe Checkout in setup mode because no Stripe key is configured. Nothing is charged by saving; the method you pick decides how later automatic payments go.</p>
{problem}
<form method="post" action="/sandbox/setup/{id}">
<fieldset><legend>Choose a test method to save</legend><ul class="sandbox-choices">{buttons}</ul></fieldset>
</form>
<p><a href="{cancel}">Cancel and go back to the portal</a></p>
</section></main></body></html>"#,
        css = app::stylesheet_href(),
        id = html_escape(&setup.session_id),
        cancel = html_escape(&setup.cancel_url),
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// GET /sandbox/setup/{session_id}: the sandbox's hosted setup page
/// (development only, loopback only, as its checkout page).
async fn sandbox_setup_page(
    State(services): State<Services>,
    Path(session_id): Path<String>,
) -> Response {
    let Some(sandbox) = &services.sandbox else {
        return not_found();
    };
    match sandbox.setup(&session_id).await {
        Ok(Some(s)) if s.status == "open" => sandbox_setup_html(&s, None),
        Ok(Some(s)) => plain_page(
            StatusCode::GONE,
            "This setup is closed",
            "A method was already saved with it. Go back to the portal to see your saved methods.",
            (
                &s.success_url
                    .replace("{CHECKOUT_SESSION_ID}", &s.session_id),
                "Back to the portal",
            ),
        ),
        Ok(None) => not_found(),
        Err(e) => HttpError::from(ServiceError::from(e)).into_response(),
    }
}

async fn sandbox_setup_choose(
    State(services): State<Services>,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(sandbox) = &services.sandbox else {
        return not_found();
    };
    let pairs = form(&body);
    let Some(choice) = SandboxMethod::parse(field(&pairs, "method")) else {
        return match sandbox.setup(&session_id).await {
            Ok(Some(s)) => sandbox_setup_html(&s, Some("Choose one of the methods.")),
            _ => not_found(),
        };
    };
    match sandbox.complete_setup(&session_id, choice).await {
        Ok(Ok(next)) => Redirect::to(&next).into_response(),
        Ok(Err(problem)) => plain_page(
            StatusCode::CONFLICT,
            "This setup cannot take that",
            &problem,
            ("/", "Back to the portal"),
        ),
        Err(e) => HttpError::from(ServiceError::from(e)).into_response(),
    }
}
