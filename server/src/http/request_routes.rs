//! The customer's request forms (issue 11): multipart posts of a dispute and
//! of a message, withdraw, reopen, and attachment downloads. Plain axum
//! routes that work with JavaScript off: each POST answers 303, to the new
//! or same request page with a notice, or back to the form with a problem
//! code. What was typed into a refused form is kept in the web session
//! (`services::requests::drafts`, where the reason is written down) and the
//! form page shows it again; chosen files are never kept.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use portal_core::domain::attachment::serving_headers;
use portal_core::domain::request::DisputeScope;
use portal_core::domain::Principal;
use portal_core::services::access::ContactAccess;
use portal_core::services::requests::drafts::{self, draft_key, FormDraft, Session};
use portal_core::services::requests::RaiseDispute;
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};

use super::client_ip::ClientIp;
use super::error::HttpError;
use super::limits::UPLOAD_BODY_LIMIT;
use super::plain_page::{not_found, plain_page};
use super::AppState;

pub fn routes() -> Router<AppState> {
    // The multipart routes take files: axum's own extractor limit (2 MB by
    // default) is raised to the upload limit `limits::body_limit` enforces.
    let uploads = DefaultBodyLimit::max(UPLOAD_BODY_LIMIT);
    Router::new()
        .route(
            "/accounts/{customer_id}/invoices/{invoice_id}/dispute",
            post(raise_dispute).layer(uploads),
        )
        .route(
            "/accounts/{customer_id}/requests/{request_id}/messages",
            post(add_message).layer(uploads),
        )
        .route(
            "/accounts/{customer_id}/requests/{request_id}/withdraw",
            post(withdraw),
        )
        .route(
            "/accounts/{customer_id}/requests/{request_id}/reopen",
            post(reopen),
        )
        .route(
            "/accounts/{customer_id}/requests/{request_id}/attachments/{attachment_id}",
            get(download_attachment),
        )
}

/// The signed-in contact's access and the two ids of the path; `None`
/// answers 404 (staff, signed out, an id that is not a number).
fn contact_path(
    signed_in: Option<Extension<SignedIn>>,
    first: &str,
    second: &str,
) -> Option<(Arc<ContactAccess>, i64, i64)> {
    let Extension(signed_in) = signed_in?;
    let Principal::Contact { .. } = signed_in.principal else {
        return None;
    };
    Some((signed_in.access?, first.parse().ok()?, second.parse().ok()?))
}

/// The fields of a multipart form: text fields by name (repeated ones in
/// order) and the chosen files. A file input left empty sends a part with
/// no name and no bytes; it is skipped.
#[derive(Default)]
struct Posted {
    fields: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
}

impl Posted {
    fn text(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

async fn read_multipart(mut multipart: Multipart) -> Result<Posted, Response> {
    let mut posted = Posted::default();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        tracing::warn!(error = %e, "an unreadable multipart form");
        plain_page(
            StatusCode::BAD_REQUEST,
            "The form did not arrive whole",
            "The portal could not read what was sent, and nothing was changed. Go back and send the form again.",
            ("/", "Back to the portal"),
        )
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if file_name.is_empty() && bytes.is_empty() {
                    continue;
                }
                posted.files.push((file_name, bytes.to_vec()));
            }
            None => {
                let text = field.text().await.map_err(unreadable)?;
                posted.fields.push((name, text));
            }
        }
    }
    Ok(posted)
}

/// The field a refusal is about, when it names one.
fn problem_of(e: &ServiceError) -> Option<(String, Option<String>)> {
    match e {
        ServiceError::Invalid { field, message } => {
            Some((message.clone(), field.map(str::to_owned)))
        }
        ServiceError::Forbidden(message) | ServiceError::Conflict(message) => {
            Some((message.clone(), None))
        }
        _ => None,
    }
}

/// The code a refusal is named by in the URL (the words are in the draft).
fn problem_code(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::Conflict(_) => "conflict",
        _ => "invalid",
    }
}

fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// POST /accounts/{c}/invoices/{i}/dispute (multipart): raises the dispute
/// and answers 303 to the new request's page; a refusal goes back to the
/// form with what was typed.
pub async fn raise_dispute(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    Path((customer_id, invoice_id)): Path<(String, String)>,
    multipart: Multipart,
) -> Response {
    let Some((access, customer_id, invoice_id)) =
        contact_path(signed_in, &customer_id, &invoice_id)
    else {
        return not_found();
    };
    let posted = match read_multipart(multipart).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let scope_text = posted.text("scope");
    let line_ids: Vec<i64> = posted
        .all("line")
        .iter()
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let mut draft = FormDraft {
        scope: scope_text.clone(),
        line_ids: line_ids.clone(),
        amount: posted.text("amount"),
        reason: posted.text("reason"),
        message: posted.text("message"),
        had_files: !posted.files.is_empty(),
        ..FormDraft::default()
    };
    let key = draft_key("dispute", invoice_id);
    let form = format!("/accounts/{customer_id}/invoices/{invoice_id}/dispute");
    let Some(scope) = DisputeScope::parse(&scope_text) else {
        draft.problem =
            "Choose what you dispute: the whole invoice, some lines, or an amount.".into();
        draft.field = Some("scope".into());
        drafts::keep(&session, &key, &draft).await;
        return see_other(&format!("{form}?problem=invalid"));
    };
    let dispute = RaiseDispute {
        scope,
        line_ids,
        amount_text: draft.amount.clone(),
        reason_code: draft.reason.clone(),
        message: draft.message.clone(),
        files: posted.files,
    };
    match services
        .raise_dispute(
            &access,
            customer_id,
            invoice_id,
            dispute,
            client_ip.as_deref(),
        )
        .await
    {
        Ok(request_id) => {
            drafts::clear(&session, &key).await;
            see_other(&format!(
                "/accounts/{customer_id}/requests/{request_id}?notice=sent"
            ))
        }
        Err(e) => refused(&session, &key, draft, e, &form).await,
    }
}

/// Keeps the draft with the refusal and sends the browser back to the
/// form; errors that are not a refusal in words answer as every route does.
async fn refused(
    session: &Session,
    key: &str,
    mut draft: FormDraft,
    e: ServiceError,
    form: &str,
) -> Response {
    let Some((problem, field)) = problem_of(&e) else {
        return HttpError::from(e).into_response();
    };
    draft.problem = problem;
    draft.field = field;
    drafts::keep(session, key, &draft).await;
    let separator = if form.contains('?') { '&' } else { '?' };
    see_other(&format!("{form}{separator}problem={}", problem_code(&e)))
}

/// The request page, where the thread's forms are; `problem` names the
/// form whose draft the page shows.
fn request_page(customer_id: i64, request_id: i64) -> String {
    format!("/accounts/{customer_id}/requests/{request_id}")
}

/// POST /accounts/{c}/requests/{r}/messages (multipart): a message with
/// files; a request waiting on the customer runs again.
pub async fn add_message(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    Path((customer_id, request_id)): Path<(String, String)>,
    multipart: Multipart,
) -> Response {
    let Some((access, customer_id, request_id)) =
        contact_path(signed_in, &customer_id, &request_id)
    else {
        return not_found();
    };
    let posted = match read_multipart(multipart).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let draft = FormDraft {
        message: posted.text("message"),
        had_files: !posted.files.is_empty(),
        ..FormDraft::default()
    };
    let key = draft_key("message", request_id);
    let page = request_page(customer_id, request_id);
    match services
        .add_customer_message(
            &access,
            customer_id,
            request_id,
            &draft.message,
            posted.files,
            client_ip.as_deref(),
        )
        .await
    {
        Ok(_) => {
            drafts::clear(&session, &key).await;
            see_other(&format!("{page}?notice=message#thread"))
        }
        Err(e) => refused(&session, &key, draft, e, &format!("{page}?form=message")).await,
    }
}

/// POST /accounts/{c}/requests/{r}/withdraw. Pressed twice, the second
/// changes nothing and the page says the dispute was withdrawn already.
pub async fn withdraw(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    Path((customer_id, request_id)): Path<(String, String)>,
) -> Response {
    let Some((access, customer_id, request_id)) =
        contact_path(signed_in, &customer_id, &request_id)
    else {
        return not_found();
    };
    let page = request_page(customer_id, request_id);
    match services
        .withdraw_dispute(&access, customer_id, request_id, client_ip.as_deref())
        .await
    {
        Ok(()) => see_other(&format!("{page}?notice=withdrawn")),
        Err(e) => {
            let key = draft_key("withdraw", request_id);
            refused(
                &session,
                &key,
                FormDraft::default(),
                e,
                &format!("{page}?form=withdraw"),
            )
            .await
        }
    }
}

/// POST /accounts/{c}/requests/{r}/reopen (urlencoded `message`).
pub async fn reopen(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    session: Session,
    client_ip: ClientIp,
    Path((customer_id, request_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let Some((access, customer_id, request_id)) =
        contact_path(signed_in, &customer_id, &request_id)
    else {
        return not_found();
    };
    let message = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "message")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let key = draft_key("reopen", request_id);
    let page = request_page(customer_id, request_id);
    match services
        .reopen_request(
            &access,
            customer_id,
            request_id,
            &message,
            client_ip.as_deref(),
        )
        .await
    {
        Ok(_) => {
            drafts::clear(&session, &key).await;
            see_other(&format!("{page}?notice=reopened"))
        }
        Err(e) => {
            let draft = FormDraft {
                message,
                ..FormDraft::default()
            };
            refused(&session, &key, draft, e, &format!("{page}?form=reopen")).await
        }
    }
}

/// GET /accounts/{c}/requests/{r}/attachments/{a}: a file of the thread,
/// always as a download (`serving_headers`: the detected type, a safe
/// name, `nosniff`). Another account's file, or one on an internal note,
/// is 404. The request id in the path is for the address only: the file is
/// found by its id within the account.
pub async fn download_attachment(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path((customer_id, _request_id, attachment_id)): Path<(String, String, String)>,
) -> Response {
    let Some((access, customer_id, attachment_id)) =
        contact_path(signed_in, &customer_id, &attachment_id)
    else {
        return not_found();
    };
    let file = match services
        .attachment(&access, customer_id, attachment_id)
        .await
    {
        Ok(file) => file,
        Err(e) => {
            return HttpError::from(e)
                .titled("That download did not work")
                .into_response()
        }
    };
    let kind = portal_core::domain::attachment::AttachmentKind::ALL
        .into_iter()
        .find(|k| k.content_type() == file.content_type);
    let Some(kind) = kind else {
        return HttpError::from(ServiceError::internal(
            format!("attachment {attachment_id}"),
            "its content type is not an attachment kind",
        ))
        .into_response();
    };
    let mut response = Response::new(Body::from(file.bytes));
    for (name, value) in serving_headers(kind, &file.file_name) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}
