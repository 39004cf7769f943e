//! Paying: the "Pay" POST that opens a checkout, the two return URLs from
//! Checkout and the Stripe webhook endpoint. Plain axum routes: each answers
//! with a redirect (or, for the webhook, a status), and all work with
//! JavaScript off. The sandbox's own checkout page is in `sandbox_routes`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use portal_core::services::payments::{PayProblem, Payer, PaymentDraft};
use portal_core::services::webhooks::WebhookRefusal;
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::client_ip::ClientIp;
use super::error::HttpError;
use super::plain_page::not_found;

/// A signed-in contact, or the holder of an invoice link (who pays that
/// invoice only; the services check which).
fn payer(signed_in: Option<Extension<SignedIn>>) -> Option<Payer> {
    signed_in.and_then(|Extension(s)| Payer::of(s.principal))
}

/// POST /accounts/{customer_id}/payments: "Pay" on the review page.
pub async fn start_payment(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    client_ip: ClientIp,
    Path(customer_id): Path<String>,
    body: Bytes,
) -> Response {
    let (Some(payer), Ok(customer_id)) = (payer(signed_in), customer_id.parse::<i64>()) else {
        return not_found();
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let draft = PaymentDraft::from_pairs(&pairs);
    let attempt = pairs
        .iter()
        .find(|(k, _)| k == "attempt")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match services
        .start_payment(payer, customer_id, &draft, attempt, client_ip.as_deref())
        .await
    {
        Ok(Ok(started)) => Redirect::to(&started.redirect).into_response(),
        Ok(Err(problem)) => back_to_review(customer_id, &pairs, problem),
        // A role that may not pay: the review page says so in words (403).
        Err(ServiceError::Forbidden(_) | ServiceError::Invalid { .. }) => {
            back_to_review(customer_id, &pairs, PayProblem::Changed)
        }
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// Back to the review page, which checks the payment again and shows the
/// plan as it stands now; the URL names the problem by a code only.
fn back_to_review(customer_id: i64, pairs: &[(String, String)], problem: PayProblem) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs
        .iter()
        .filter(|(k, _)| k != "attempt" && k != "problem")
    {
        query.append_pair(k, v);
    }
    query.append_pair("problem", problem.code());
    Redirect::to(&format!(
        "/accounts/{customer_id}/pay/review?{}",
        query.finish()
    ))
    .into_response()
}

/// The ids of `/accounts/{customer_id}/payments/{payment_id}/…` and who
/// asks; `None` answers 404.
fn payment_path(
    signed_in: Option<Extension<SignedIn>>,
    customer_id: &str,
    payment_id: &str,
) -> Option<(Payer, i64, i64)> {
    Some((
        payer(signed_in)?,
        customer_id.parse().ok()?,
        payment_id.parse().ok()?,
    ))
}

fn payment_page(customer_id: i64, payment_id: i64) -> Response {
    Redirect::to(&format!("/accounts/{customer_id}/payments/{payment_id}")).into_response()
}

/// How long Checkout's return waits for the webhook before showing the
/// payment (still "pending" if the webhook is late).
const RETURN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(serde::Deserialize)]
pub struct ReturnQuery {
    #[serde(default)]
    key: String,
}

/// GET …/payments/{payment_id}/return?key=…: Checkout's success URL. Only
/// reads: it waits briefly for the webhook, then shows the payment.
pub async fn checkout_return(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, payment_id)): Path<(String, String)>,
    Query(query): Query<ReturnQuery>,
) -> Response {
    back_from_checkout(services, signed_in, customer_id, payment_id, query, true).await
}

/// GET …/payments/{payment_id}/cancel?key=…: Checkout's cancel URL
/// ("back"). Changes nothing: the payment page then offers to continue the
/// checkout or to cancel it (a POST).
pub async fn checkout_cancel_link(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, payment_id)): Path<(String, String)>,
    Query(query): Query<ReturnQuery>,
) -> Response {
    back_from_checkout(services, signed_in, customer_id, payment_id, query, false).await
}

async fn back_from_checkout(
    services: Services,
    signed_in: Option<Extension<SignedIn>>,
    customer_id: String,
    payment_id: String,
    query: ReturnQuery,
    wait_for_webhook: bool,
) -> Response {
    let Some((payer, customer_id, payment_id)) = payment_path(signed_in, &customer_id, &payment_id)
    else {
        return not_found();
    };
    if let Err(e) = services
        .payment_for_return(payer, customer_id, payment_id, &query.key)
        .await
    {
        return failed(e);
    }
    if wait_for_webhook {
        if let Err(e) = services.wait_for_outcome(payment_id, RETURN_PATIENCE).await {
            return failed(e);
        }
    }
    payment_page(customer_id, payment_id)
}

/// POST …/payments/{payment_id}/cancel: "Cancel this payment".
pub async fn cancel_payment(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, payment_id)): Path<(String, String)>,
) -> Response {
    act_on_payment(services, signed_in, customer_id, payment_id, true).await
}

/// POST …/payments/{payment_id}/check: "Check the status now".
pub async fn check_payment(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, payment_id)): Path<(String, String)>,
) -> Response {
    act_on_payment(services, signed_in, customer_id, payment_id, false).await
}

/// The two buttons of a payment in checkout: cancel it, or ask the gateway.
async fn act_on_payment(
    services: Services,
    signed_in: Option<Extension<SignedIn>>,
    customer_id: String,
    payment_id: String,
    cancel: bool,
) -> Response {
    let Some((payer, customer_id, payment_id)) = payment_path(signed_in, &customer_id, &payment_id)
    else {
        return not_found();
    };
    let done = if cancel {
        services
            .cancel_checkout(payer, customer_id, payment_id)
            .await
    } else {
        services
            .check_payment_status(payer, customer_id, payment_id)
            .await
    };
    match done {
        Ok(_) => payment_page(customer_id, payment_id),
        Err(e) => failed(e),
    }
}

/// A viewer's role may not act on a payment (403, in words); the rest as
/// every route answers.
fn failed(e: ServiceError) -> Response {
    HttpError::from(e)
        .titled("You cannot change this payment")
        .into_response()
}

/// POST /webhooks/stripe. Verified on the raw body, stored under the event
/// id, answered 200 at once; the worker applies it. A bad signature is 400
/// and stores nothing; a database failure is 500 so Stripe retries.
pub async fn stripe_webhook(
    State(services): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match services.receive_webhook(&body, signature).await {
        Ok(new) => (StatusCode::OK, if new { "stored" } else { "duplicate" }).into_response(),
        Err(WebhookRefusal::Database(e)) => {
            tracing::error!(error = %e, "webhook not stored; Stripe will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "not stored").into_response()
        }
        Err(refusal) => {
            tracing::warn!(%refusal, "webhook refused");
            (StatusCode::BAD_REQUEST, refusal.to_string()).into_response()
        }
    }
}
