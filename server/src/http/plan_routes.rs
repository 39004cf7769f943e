//! The customer's payment plan forms (issue 12): propose, ask AR to
//! propose, accept or decline AR's counter-proposal. Plain axum routes that
//! work with JavaScript off: each POST answers 303, to the plan page with a
//! notice code, or back to the form with a problem code.
//!
//! A refused proposal goes back to the propose page with the fields in the
//! query string (the same as its GET "Preview" sends, all short) and the
//! refusal's words in the web session (`services::requests::drafts`); the
//! page shows the form as typed and the problem again. A refused "ask AR"
//! keeps its message in the session only (it may be long). No words are
//! ever taken from the URL: only codes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Router};
use portal_core::domain::Principal;
use portal_core::services::access::ContactAccess;
use portal_core::services::plans::{ClientInfo, PlanForm, ProposalOutcome};
use portal_core::services::requests::drafts::{self, draft_key, FormDraft, Session};
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::client_ip::ClientIp;
use super::error::HttpError;
use super::forms::{field, FormPairs};
use super::plain_page::not_found;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/{customer_id}/plans", post(propose))
        .route("/accounts/{customer_id}/plans/ask", post(ask))
        .route(
            "/accounts/{customer_id}/plans/{plan_id}/accept",
            post(accept),
        )
        .route(
            "/accounts/{customer_id}/plans/{plan_id}/decline",
            post(decline),
        )
}

/// The signed-in contact's access; `None` answers 404 (staff, signed out).
fn contact(signed_in: Option<Extension<SignedIn>>) -> Option<Arc<ContactAccess>> {
    let Extension(signed_in) = signed_in?;
    let Principal::Contact { .. } = signed_in.principal else {
        return None;
    };
    signed_in.access
}

fn invoice_ids(pairs: &[(String, String)]) -> Vec<i64> {
    pairs
        .iter()
        .filter(|(k, _)| k == "invoice")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// The code a refusal is named by in the URL (its words are in the draft).
fn problem_code(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::Conflict(_) => "conflict",
        _ => "invalid",
    }
}

/// Keeps the refusal's words (and `draft`'s typed text) in the session and
/// sends the browser to `to` with the problem's code; errors that are not
/// a refusal in words (404, a database failure) answer as every route does.
async fn refused(
    session: &Session,
    key: &str,
    mut draft: FormDraft,
    e: ServiceError,
    to: &str,
) -> Response {
    let (problem, field) = match &e {
        ServiceError::Invalid { field, message } => (message.clone(), field.map(str::to_owned)),
        ServiceError::Forbidden(message) | ServiceError::Conflict(message) => {
            (message.clone(), None)
        }
        _ => return HttpError::from(e).into_response(),
    };
    draft.problem = problem;
    draft.field = field;
    drafts::keep(session, key, &draft).await;
    let (path, anchor) = match to.split_once('#') {
        Some((path, anchor)) => (path, format!("#{anchor}")),
        None => (to, String::new()),
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    see_other(&format!(
        "{path}{separator}problem={}{anchor}",
        problem_code(&e)
    ))
}

/// POST /accounts/{c}/plans: "Propose this plan". Answers 303 to the new
/// plan's page (approved, queued or declined by the policy); a refusal goes
/// back to the form as typed. A second press finds the plan the first made.
pub async fn propose(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
    FormPairs(posted): FormPairs,
) -> Response {
    let (Some(access), Ok(customer_id)) = (contact(signed_in), customer_id.parse::<i64>()) else {
        return not_found();
    };
    let form = PlanForm {
        invoice_ids: invoice_ids(&posted),
        down_payment: field(&posted, "down_payment").to_owned(),
        count: field(&posted, "count").to_owned(),
        frequency: field(&posted, "frequency").to_owned(),
        first_date: field(&posted, "first_date").to_owned(),
        message: String::new(),
    };
    let key = draft_key("plan-propose", customer_id);
    let client = ClientInfo {
        ip: client_ip.as_deref(),
        user_agent: user_agent(&headers),
    };
    match services
        .propose_plan(&access, customer_id, &form, client)
        .await
    {
        Ok(proposal) => {
            drafts::clear(&session, &key).await;
            let notice = match proposal.outcome {
                ProposalOutcome::Approved => "approved",
                ProposalOutcome::Queued { .. } => "queued",
                ProposalOutcome::Declined { .. } => "declined",
            };
            see_other(&format!(
                "/accounts/{customer_id}/plans/{}?notice={notice}",
                proposal.plan_id
            ))
        }
        Err(e) => {
            // The form comes back as a "Preview" of what was typed (the
            // serializer is not Send: it must not live across an await).
            let back = {
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                for id in &form.invoice_ids {
                    query.append_pair("invoice", &id.to_string());
                }
                query
                    .append_pair("down_payment", &form.down_payment)
                    .append_pair("count", &form.count)
                    .append_pair("frequency", &form.frequency)
                    .append_pair("first_date", &form.first_date);
                format!("/accounts/{customer_id}/plans/new?{}", query.finish())
            };
            refused(&session, &key, FormDraft::default(), e, &back).await
        }
    }
}

/// POST /accounts/{c}/plans/ask: ask AR to propose a plan for the chosen
/// invoices, with a message. Answers 303 to the new plan's page.
pub async fn ask(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    Path(customer_id): Path<String>,
    FormPairs(posted): FormPairs,
) -> Response {
    let (Some(access), Ok(customer_id)) = (contact(signed_in), customer_id.parse::<i64>()) else {
        return not_found();
    };
    let draft = FormDraft {
        line_ids: invoice_ids(&posted),
        message: field(&posted, "message").to_owned(),
        ..FormDraft::default()
    };
    let key = draft_key("plan-ask", customer_id);
    match services
        .ask_for_plan(
            &access,
            customer_id,
            &draft.line_ids,
            &draft.message,
            client_ip.as_deref(),
        )
        .await
    {
        Ok(plan_id) => {
            drafts::clear(&session, &key).await;
            see_other(&format!(
                "/accounts/{customer_id}/plans/{plan_id}?notice=asked"
            ))
        }
        Err(e) => {
            let back = format!("/accounts/{customer_id}/plans/new?form=ask#ask");
            refused(&session, &key, draft, e, &back).await
        }
    }
}

/// The ids of `/accounts/{c}/plans/{p}/…` and the contact; `None` is 404.
fn plan_path(
    signed_in: Option<Extension<SignedIn>>,
    customer_id: &str,
    plan_id: &str,
) -> Option<(Arc<ContactAccess>, i64, i64)> {
    Some((
        contact(signed_in)?,
        customer_id.parse().ok()?,
        plan_id.parse().ok()?,
    ))
}

/// After an answer to a counter: the plan page with a notice, or with the
/// refusal's words (terms changed meanwhile, not waiting any more).
async fn answered(
    session: &Session,
    customer_id: i64,
    plan_id: i64,
    done: Result<(), ServiceError>,
    notice: &str,
) -> Response {
    let page = format!("/accounts/{customer_id}/plans/{plan_id}");
    let key = draft_key("plan", plan_id);
    match done {
        Ok(()) => {
            drafts::clear(session, &key).await;
            see_other(&format!("{page}?notice={notice}"))
        }
        Err(e) => refused(session, &key, FormDraft::default(), e, &page).await,
    }
}

/// POST /accounts/{c}/plans/{p}/accept: accepts AR's counter-proposal, if
/// `terms_hash` is still the hash of its current terms.
pub async fn accept(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    headers: HeaderMap,
    Path((customer_id, plan_id)): Path<(String, String)>,
    FormPairs(posted): FormPairs,
) -> Response {
    let Some((access, customer_id, plan_id)) = plan_path(signed_in, &customer_id, &plan_id) else {
        return not_found();
    };
    let client = ClientInfo {
        ip: client_ip.as_deref(),
        user_agent: user_agent(&headers),
    };
    let done = services
        .accept_plan_terms(
            &access,
            customer_id,
            plan_id,
            field(&posted, "terms_hash"),
            client,
        )
        .await;
    answered(&session, customer_id, plan_id, done, "accepted").await
}

/// POST /accounts/{c}/plans/{p}/decline: declines AR's counter-proposal.
pub async fn decline(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    Path((customer_id, plan_id)): Path<(String, String)>,
    FormPairs(posted): FormPairs,
) -> Response {
    let Some((access, customer_id, plan_id)) = plan_path(signed_in, &customer_id, &plan_id) else {
        return not_found();
    };
    let done = services
        .decline_plan_terms(
            &access,
            customer_id,
            plan_id,
            field(&posted, "message"),
            client_ip.as_deref(),
        )
        .await;
    answered(&session, customer_id, plan_id, done, "counter-declined").await
}
