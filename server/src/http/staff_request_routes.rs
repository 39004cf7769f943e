//! AR's request forms (issue 11): assign, bulk assign, reply, note, waiting
//! on customer, priority, resolve, and attachment downloads.
//!
//! Plain axum routes for plain HTML forms: each POST calls one service and
//! answers 303 back to the page, with a notice, or a problem code and the
//! text typed (so a refused form keeps it). Anyone not signed in as staff
//! gets 404, as for every staff address. The same-origin check of every
//! POST is the router's.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use portal_core::domain::attachment::serving_headers;
use portal_core::domain::request::parse_priority;
use portal_core::services::staff_requests::Resolution;
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{back_to, field, FormPairs, Staff};
use super::plain_page::not_found;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/requests/assign", post(assign_from_queue))
        .route("/staff/requests/{request_id}/reply", post(reply))
        .route("/staff/requests/{request_id}/waiting", post(waiting))
        .route("/staff/requests/{request_id}/priority", post(priority))
        .route("/staff/requests/{request_id}/assign", post(assign))
        .route("/staff/requests/{request_id}/resolve", post(resolve))
        .route(
            "/staff/requests/{request_id}/attachments/{attachment_id}",
            get(attachment),
        )
}

/// "me", "none" or a staff id, as the assignment selects send it.
fn assignee(text: &str, me: i64) -> Result<Option<i64>, ()> {
    match text {
        "me" => Ok(Some(me)),
        "none" | "" => Ok(None),
        id => id.parse().map(Some).map_err(|_| ()),
    }
}

/// The problem code of a refused action; `None` for errors that are not
/// the form's (not found, our fault), answered as such.
fn problem_code(e: &ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::Invalid {
            field: Some(field), ..
        } => Some(match *field {
            "message" => "message",
            "amount" => "amount",
            "note" => "note",
            "reference" => "reference",
            "reason" => "reason",
            "assignee" => "assignee",
            "request" => "request",
            _ => "invalid",
        }),
        ServiceError::Invalid { field: None, .. } => Some("closed"),
        ServiceError::Forbidden(_) => Some("forbidden"),
        ServiceError::Conflict(_) => Some("conflict"),
        _ => None,
    }
}

fn request_page(request_id: i64, query: &[(&str, &str)]) -> Response {
    back_to(&format!("/staff/requests/{request_id}"), query, None)
}

/// Back to the request with the problem and what was typed (`kept`, the
/// fields sent non-empty).
fn refused(request_id: i64, code: &str, kept: &[(&str, &str)]) -> Response {
    let mut query = vec![("problem", code)];
    query.extend(kept.iter().filter(|(_, v)| !v.is_empty()).copied());
    request_page(request_id, &query)
}

/// Back to the request with a notice, or with the problem and what was typed.
fn answer(
    request_id: i64,
    done: Result<(), ServiceError>,
    notice: &str,
    kept: &[(&str, &str)],
) -> Response {
    match done {
        Ok(()) => request_page(request_id, &[("notice", notice)]),
        Err(e) => match problem_code(&e) {
            Some(code) => refused(request_id, code, kept),
            None => HttpError::from(e).into_response(),
        },
    }
}

/// Extractor: the staff user and the request of the path; anyone not
/// signed in as staff, or an id that is not a number, gets 404.
struct OnRequest {
    staff_id: i64,
    request_id: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for OnRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Staff(staff_id) = Staff::from_request_parts(parts, state).await?;
        let Ok(Path(request_id)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(not_found());
        };
        let request_id = request_id.parse().map_err(|_| not_found())?;
        Ok(OnRequest {
            staff_id,
            request_id,
        })
    }
}

/// POST /staff/requests/{id}/reply: a reply (`visibility=customer`) or an
/// internal note (`visibility=internal`).
async fn reply(
    State(services): State<Services>,
    on: OnRequest,
    FormPairs(pairs): FormPairs,
) -> Response {
    let text = field(&pairs, "body");
    let visibility = field(&pairs, "visibility");
    let internal = visibility == "internal";
    let done = services
        .staff_reply(on.staff_id, on.request_id, text, internal)
        .await
        .map(|_| ());
    let notice = if internal { "note" } else { "reply" };
    answer(
        on.request_id,
        done,
        notice,
        &[("body", text), ("visibility", visibility)],
    )
}

/// POST /staff/requests/{id}/waiting
async fn waiting(State(services): State<Services>, on: OnRequest) -> Response {
    let done = services
        .set_waiting_on_customer(on.staff_id, on.request_id)
        .await;
    answer(on.request_id, done, "waiting", &[])
}

/// POST /staff/requests/{id}/priority
async fn priority(
    State(services): State<Services>,
    on: OnRequest,
    FormPairs(pairs): FormPairs,
) -> Response {
    let Some(priority) = parse_priority(field(&pairs, "priority")) else {
        return request_page(on.request_id, &[("problem", "priority")]);
    };
    let done = services
        .change_request_priority(on.staff_id, on.request_id, priority)
        .await;
    answer(on.request_id, done, "priority", &[])
}

/// POST /staff/requests/{id}/assign: `assignee` is "me", "none" or a staff id.
async fn assign(
    State(services): State<Services>,
    on: OnRequest,
    FormPairs(pairs): FormPairs,
) -> Response {
    let Ok(to) = assignee(field(&pairs, "assignee"), on.staff_id) else {
        return request_page(on.request_id, &[("problem", "assignee")]);
    };
    let done = services
        .assign_request(on.staff_id, on.request_id, to)
        .await;
    answer(on.request_id, done, "assigned", &[])
}

/// POST /staff/requests/{id}/resolve: `outcome` and its fields. A second
/// press finds the request resolved and writes nothing (the service's
/// guard), answered as "already resolved".
async fn resolve(
    State(services): State<Services>,
    OnRequest {
        staff_id,
        request_id,
    }: OnRequest,
    FormPairs(pairs): FormPairs,
) -> Response {
    let outcome = field(&pairs, "outcome");
    let kept = [
        ("outcome", outcome),
        ("amount", field(&pairs, "amount")),
        ("note", field(&pairs, "note")),
        ("reference", field(&pairs, "reference")),
        ("reason", field(&pairs, "reason")),
    ];
    let resolution = match outcome {
        "credit_note" => Resolution::CreditNote {
            amount_text: field(&pairs, "amount").to_owned(),
            note: field(&pairs, "note").to_owned(),
        },
        "corrected_invoice" => Resolution::CorrectedInvoice {
            reference: field(&pairs, "reference").to_owned(),
        },
        "rejected" => Resolution::Rejected {
            reason: field(&pairs, "reason").to_owned(),
        },
        _ => return refused(request_id, "outcome", &kept),
    };
    match services
        .resolve_request(staff_id, request_id, resolution)
        .await
    {
        Ok(_) => request_page(request_id, &[("notice", "resolved")]),
        // The other press of a double click, or a colleague first.
        Err(ServiceError::Conflict(_)) => {
            request_page(request_id, &[("problem", "already_resolved")])
        }
        Err(e) => answer(request_id, Err(e), "resolved", &kept),
    }
}

/// POST /staff/requests/assign: the queue's form. A row's "Assign to me"
/// (`take=<id>`) takes that request; "Assign selected" (`bulk`) assigns
/// every ticked `request` to `assignee`. Back to the queue as filtered
/// (`back`), with how many were assigned.
async fn assign_from_queue(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(pairs): FormPairs,
) -> Response {
    // Only the filters go back into the URL, whatever `back` holds.
    let back: Vec<(String, String)> = url::form_urlencoded::parse(field(&pairs, "back").as_bytes())
        .into_owned()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "kind" | "status" | "assignee" | "customer" | "reason" | "sla" | "page"
            )
        })
        .collect();
    let queue = |extra: &[(&str, String)]| {
        let mut query = back.clone();
        query.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        back_to("/staff/requests", &query, None)
    };
    let (ids, to): (Vec<i64>, Option<i64>) = match field(&pairs, "take").parse::<i64>() {
        Ok(id) => (vec![id], Some(staff_id)),
        Err(_) => {
            let Ok(to) = assignee(field(&pairs, "assignee"), staff_id) else {
                return queue(&[("problem", "assignee".into())]);
            };
            let ids = pairs
                .iter()
                .filter(|(k, _)| k == "request")
                .filter_map(|(_, v)| v.parse().ok())
                .collect();
            (ids, to)
        }
    };
    match services.assign_requests(staff_id, &ids, to).await {
        Ok(done) => {
            // A lone refused "Assign to me" says why, not just "0 assigned".
            if done.assigned == 0 && done.refused.len() == 1 {
                if let Some(code) = problem_code(&done.refused[0].1) {
                    return queue(&[("problem", code.into())]);
                }
            }
            queue(&[
                ("notice", "assigned".into()),
                ("n", done.assigned.to_string()),
                ("refused", done.refused.len().to_string()),
            ])
        }
        Err(e) => match problem_code(&e) {
            Some(code) => queue(&[("problem", code.into())]),
            None => HttpError::from(e).into_response(),
        },
    }
}

/// GET /staff/requests/{id}/attachments/{a}: a file of the thread, as an
/// attachment with `nosniff` and a safe name.
async fn attachment(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path((request_id, attachment_id)): Path<(String, String)>,
) -> Response {
    let (Ok(request_id), Ok(attachment_id)) =
        (request_id.parse::<i64>(), attachment_id.parse::<i64>())
    else {
        return not_found();
    };
    match services
        .staff_attachment(staff_id, request_id, attachment_id)
        .await
    {
        Ok((download, kind)) => {
            let mut response = (StatusCode::OK, download.bytes).into_response();
            let headers = response.headers_mut();
            for (name, value) in serving_headers(kind, &download.file_name) {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            response
        }
        Err(ServiceError::NotFound | ServiceError::Forbidden(_)) => not_found(),
        Err(e) => HttpError::from(e).into_response(),
    }
}
