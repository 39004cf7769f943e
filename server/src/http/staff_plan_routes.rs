//! AR's payment plan forms (issue 12): the plan policy and the plan job's
//! delays on the settings page (admins), and approve / counter / decline
//! on a payment-plan request's page (agents and admins).
//!
//! Plain POSTs answering 303. Settings: `?saved=<form>` after a change,
//! `?form=<form>&<typed fields>` after a refusal (the page checks the
//! typed values again to say what is wrong beside the field), 403 for an
//! agent with nothing changed. Request page: `?plan_notice=<what>` or
//! `?plan_problem=<code>` with what was typed; keys of their own so the
//! request page's notices and problems are not mixed up with the plan's.
//! Anyone not signed in as staff gets 404, as for every staff address.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Router};
use portal_core::services::staff_plans::{
    CounterForm, PolicyForm, TimingsForm, COUNTER_FIELDS, POLICY_FIELDS, TIMING_FIELDS,
};
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{field, pairs, staff_id as staff};
use super::plain_page::not_found;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/settings/plan-policy", post(save_policy))
        .route("/staff/settings/plan-timings", post(save_timings))
        // approve | counter | decline | close
        .route("/staff/requests/{request_id}/plan/{action}", post(decide))
}

/// Back to the settings page at `anchor`: saved, or refused with the
/// typed `fields`; other errors (403 for agents, 404, 500) as such.
fn settings_answer(
    result: Result<(), ServiceError>,
    form: &str,
    anchor: &str,
    about: &[(&str, &str)],
    typed: &[(String, String)],
    fields: &[&str],
) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    match result {
        Ok(()) => {
            query.append_pair("saved", form);
        }
        Err(ServiceError::Invalid { .. }) => {
            query.append_pair("form", form);
            for (k, v) in typed.iter().filter(|(k, _)| fields.contains(&k.as_str())) {
                query.append_pair(k, v);
            }
        }
        Err(e) => return HttpError::from(e).into_response(),
    }
    for (k, v) in about {
        query.append_pair(k, v);
    }
    Redirect::to(&format!("/staff/settings?{}#{anchor}", query.finish())).into_response()
}

/// POST /staff/settings/plan-policy: one currency's limits (a currency
/// without a policy gets one).
async fn save_policy(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    body: Bytes,
) -> Response {
    let Some(staff_id) = staff(signed_in) else {
        return not_found();
    };
    let typed = pairs(&body);
    let form = PolicyForm::from_pairs(&typed);
    let result = services.save_plan_policy_form(staff_id, &form).await;
    // The anchor holds letters only (a valid code is nothing else).
    let code: String = form
        .currency
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect();
    let known = services
        .plan_policy(staff_id)
        .await
        .map(|o| o.policies.iter().any(|p| p.currency.code() == code))
        .unwrap_or(false);
    let anchor = if known {
        format!("plan-policy-{code}")
    } else {
        "plan-policy-add".to_owned()
    };
    let fields: Vec<&str> = POLICY_FIELDS.iter().map(|(f, _, _)| *f).collect();
    settings_answer(
        result,
        "plan-policy",
        &anchor,
        &[("currency", form.currency.as_str())],
        &typed,
        &fields,
    )
}

/// POST /staff/settings/plan-timings: grace period and default delay.
async fn save_timings(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    body: Bytes,
) -> Response {
    let Some(staff_id) = staff(signed_in) else {
        return not_found();
    };
    let typed = pairs(&body);
    let result = services
        .save_plan_timings_form(staff_id, &TimingsForm::from_pairs(&typed))
        .await;
    let fields: Vec<&str> = TIMING_FIELDS.iter().map(|(f, _, _)| *f).collect();
    settings_answer(result, "plan-timings", "plan-timings", &[], &typed, &fields)
}

/// The problem code of a refused plan action; `None` for errors that are
/// not the form's (not found, our fault), answered as such.
fn plan_problem(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::Invalid {
            field: Some(field), ..
        } => Some(match *field {
            "note" => "note",
            "message" => "message",
            "reason" => "reason",
            "counter" => "counter",
            "dates" => "dates",
            _ => "invalid",
        }),
        ServiceError::Invalid { field: None, .. } => Some("not_now"),
        ServiceError::Forbidden(_) => Some("forbidden"),
        ServiceError::Conflict(_) => Some("moved"),
        _ => None,
    }
}

/// POST /staff/requests/{id}/plan/{approve|counter|decline}: AR's answer
/// to a queued plan; `close`: the request of a plan no longer queued (an
/// at-risk follow-up) is handled. A second press finds the plan moved on and writes
/// nothing (the service's guarded update), answered as `plan_problem=moved`.
async fn decide(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((request_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (Some(staff_id), Ok(request_id)) = (staff(signed_in), request_id.parse::<i64>()) else {
        return not_found();
    };
    let typed = pairs(&body);
    let (done, kept): (Result<(), ServiceError>, Vec<&str>) = match action.as_str() {
        "approve" => (
            services
                .approve_plan(staff_id, request_id, field(&typed, "note"))
                .await,
            vec!["note"],
        ),
        "counter" => (
            services
                .counter_plan(staff_id, request_id, &CounterForm::from_pairs(&typed))
                .await
                .map(|_| ()),
            COUNTER_FIELDS.to_vec(),
        ),
        "decline" => (
            services
                .decline_plan(staff_id, request_id, field(&typed, "reason"))
                .await,
            vec!["reason"],
        ),
        "close" => (
            services
                .close_plan_request_handled(staff_id, request_id, field(&typed, "note"))
                .await,
            vec!["note"],
        ),
        _ => return not_found(),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    match done {
        Ok(()) => {
            query.append_pair("plan_notice", &action);
        }
        Err(e) => match plan_problem(&e) {
            Some(code) => {
                query.append_pair("plan_problem", code);
                query.append_pair("plan_form", &action);
                // What was typed goes back (as `plan_<field>`), unless
                // the plan moved on: then the form no longer applies.
                if code != "moved" {
                    for name in kept {
                        let v = field(&typed, name);
                        if !v.is_empty() {
                            query.append_pair(&format!("plan_{name}"), v);
                        }
                    }
                }
            }
            None => return HttpError::from(e).into_response(),
        },
    }
    Redirect::to(&format!(
        "/staff/requests/{request_id}?{}#plan",
        query.finish()
    ))
    .into_response()
}
