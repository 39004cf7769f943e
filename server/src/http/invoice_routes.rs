//! Downloads (PDF, CSV, zip) and invoice links. Plain axum routes: a file
//! is not a page, and a download must work with JavaScript off. Each one
//! asks the service with the signed-in viewer; a customer that is not
//! theirs, or an id that is not a number, is 404.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use portal_core::domain::invoice_query::InvoiceQuery;
use portal_core::domain::statement::statement_period;
use portal_core::domain::Principal;
use portal_core::services::access::ContactAccess;
use portal_core::services::invoice_links::{InvoiceLinkGrant, LinkRefusal};
use portal_core::services::invoices::{Download, StreamedDownload, Viewer};
use portal_core::session_store::SignedIn;
use portal_core::{ServiceError, Services};
use tower_sessions::Session;

use super::auth_routes::start_session;
use super::client_ip::ClientIp;
use super::error::HttpError;
use super::plain_page::{action_page, not_found, server_error};

fn attachment(d: Download) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", d.file_name);
    let mut response = Response::new(Body::from(d.bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(d.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

fn answer(result: Result<Download, ServiceError>) -> Response {
    match result {
        Ok(d) => attachment(d),
        Err(e) => HttpError::from(e)
            .titled("That download did not work")
            .into_response(),
    }
}

/// A download whose body is written while it is sent (chunked, no
/// Content-Length); errors before the first byte are answered like `answer`.
fn answer_streamed(result: Result<StreamedDownload, ServiceError>) -> Response {
    match result {
        Ok(d) => {
            let mut response = attachment(Download {
                file_name: d.file_name,
                content_type: d.content_type,
                bytes: Vec::new(),
            });
            *response.body_mut() = super::limits::streamed_body(d.chunks);
            response
        }
        Err(e) => answer(Err(e)),
    }
}

/// The viewer's language for generated PDFs: their Accept-Language. The
/// services tag a document with the customer's language instead when AR
/// set one (`customers.language`, issue 15).
fn document_language(headers: &HeaderMap) -> String {
    portal_core::pdf::language_from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn viewer(signed_in: Option<Extension<SignedIn>>) -> Option<Viewer> {
    signed_in.and_then(|Extension(s)| Viewer::of(&s))
}

/// The signed-in contact's access, as the session guard read it.
fn contact(signed_in: Option<Extension<SignedIn>>) -> Option<Arc<ContactAccess>> {
    match viewer(signed_in) {
        Some(Viewer::Contact(access)) => Some(access),
        _ => None,
    }
}

fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub async fn invoice_pdf(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    headers: HeaderMap,
    Path((customer_id, invoice_id)): Path<(String, String)>,
) -> Response {
    let (Some(viewer), Ok(customer_id), Ok(invoice_id)) =
        (viewer(signed_in), customer_id.parse(), invoice_id.parse())
    else {
        return not_found();
    };
    let language = document_language(&headers);
    answer(
        services
            .invoice_pdf(&viewer, customer_id, invoice_id, &language)
            .await,
    )
}

pub async fn invoices_csv(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (Some(access), Ok(customer_id)) = (contact(signed_in), customer_id.parse()) else {
        return not_found();
    };
    let pairs = pairs(&query);
    match InvoiceQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(q) => answer_streamed(services.invoices_csv(&access, customer_id, q).await),
        Err(e) => answer(Err(ServiceError::invalid(e.message))),
    }
}

/// `?invoice=1&invoice=2`: the boxes ticked in the list.
pub async fn invoices_zip(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (Some(access), Ok(customer_id)) = (contact(signed_in), customer_id.parse()) else {
        return not_found();
    };
    let mut ids = Vec::new();
    for (key, value) in pairs(&query) {
        if key == "invoice" {
            match value.parse::<i64>() {
                Ok(id) => ids.push(id),
                Err(_) => return not_found(),
            }
        }
    }
    let language = document_language(&headers);
    answer_streamed(
        services
            .invoices_zip(&access, customer_id, &ids, &language)
            .await,
    )
}

async fn statement_download(
    services: &Services,
    signed_in: Option<Extension<SignedIn>>,
    customer_id: String,
    query: Option<String>,
    pdf: Option<String>,
) -> Response {
    let (Some(access), Ok(customer_id)) = (contact(signed_in), customer_id.parse()) else {
        return not_found();
    };
    let pairs = pairs(&query);
    // The first date given for each end; blank ones count as not given.
    let typed = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map_or("", |(_, v)| v.as_str())
    };
    let (from, to) = match statement_period(typed("from"), typed("to"), services.today()) {
        Ok(period) => period,
        Err(message) => return answer(Err(ServiceError::invalid(message))),
    };
    if let Some(language) = pdf {
        answer(
            services
                .statement_pdf(&access, customer_id, from, to, &language)
                .await,
        )
    } else {
        answer(services.statement_csv(&access, customer_id, from, to).await)
    }
}

pub async fn statement_pdf(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let language = Some(document_language(&headers));
    statement_download(&services, signed_in, customer_id, query, language).await
}

pub async fn statement_csv(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(customer_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    statement_download(&services, signed_in, customer_id, query, None).await
}

pub async fn receipt_pdf(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    headers: HeaderMap,
    Path((customer_id, payment_id)): Path<(String, String)>,
) -> Response {
    // A link holder gets the receipt of a payment made through the link.
    let (Some(viewer), Ok(customer_id), Ok(payment_id)) =
        (viewer(signed_in), customer_id.parse(), payment_id.parse())
    else {
        return not_found();
    };
    let language = document_language(&headers);
    answer(
        services
            .receipt_pdf(&viewer, customer_id, payment_id, &language)
            .await,
    )
}

/// Where a refused invoice link leads: the problem page, which offers a
/// fresh link when the token was a real (expired or revoked) one. The token
/// is well formed there (it was found), and encoded all the same.
fn invoice_link_problem(token: &str, refusal: LinkRefusal) -> Response {
    let state = match refusal {
        LinkRefusal::Expired => "expired",
        LinkRefusal::Revoked => "revoked",
        LinkRefusal::Unknown => "unknown",
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("state", state);
    if refusal != LinkRefusal::Unknown {
        query.append_pair("token", token);
    }
    Redirect::to(&format!("/invoice-link?{}", query.finish())).into_response()
}

fn linked_invoice_page(grant: &InvoiceLinkGrant) -> String {
    format!(
        "/accounts/{}/invoices/{}",
        grant.customer_id, grant.invoice_id
    )
}

/// A contact already signed in to the link's account just goes to the
/// invoice: their own session is better than one scoped to the link.
fn contact_of_the_account(signed_in: Option<Extension<SignedIn>>, customer_id: i64) -> bool {
    contact(signed_in).is_some_and(|access| access.membership(customer_id).is_some())
}

/// GET `/i/{token}` from a reminder email: changes nothing. A contact
/// already signed in to the account goes straight to the invoice; anyone
/// else gets a page whose button POSTs to open it (a link on another site
/// must not end someone's session and start one of its choosing).
pub async fn invoice_link_page(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(token): Path<String>,
) -> Response {
    let (grant, number) = match services.peek_invoice_link(&token).await {
        Ok(Ok(found)) => found,
        Ok(Err(refusal)) => return invoice_link_problem(&token, refusal),
        Err(e) => return HttpError::from(e).into_response(),
    };
    let anyone_signed_in = signed_in.is_some();
    if contact_of_the_account(signed_in, grant.customer_id) {
        return Redirect::to(&linked_invoice_page(&grant)).into_response();
    }
    let signed_in_note = if anyone_signed_in {
        " You are signed in to the portal in this browser: opening the invoice signs you out first."
    } else {
        ""
    };
    action_page(
        &format!("Invoice {number}"),
        &format!(
            "This link from {}'s email shows invoice {number} and lets you pay it, without signing in.{signed_in_note}",
            services.config.seller_name
        ),
        &format!("/i/{token}"),
        &format!("Open invoice {number}"),
    )
}

/// POST `/i/{token}`: the button of that page. Starts a session scoped to
/// this one invoice (the token leaves the address bar with the redirect).
pub async fn open_invoice_link(
    State(services): State<Services>,
    session: Session,
    signed_in: Option<Extension<SignedIn>>,
    ip: ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let grant = match services.open_invoice_link(&token, ip.as_deref()).await {
        Ok(Ok(grant)) => grant,
        Ok(Err(refusal)) => return invoice_link_problem(&token, refusal),
        Err(e) => return HttpError::from(e).into_response(),
    };
    let target = linked_invoice_page(&grant);
    if contact_of_the_account(signed_in, grant.customer_id) {
        return Redirect::to(&target).into_response();
    }
    let principal = Principal::InvoiceLink {
        link_id: grant.link_id,
    };
    if let Err(e) = start_session(&session, principal, services.clock.now(), &headers, &ip).await {
        tracing::error!(error = %e, "could not start an invoice-link session");
        return server_error();
    }
    Redirect::to(&target).into_response()
}

/// POST from the expired / revoked page: a fresh link to the account's contacts.
pub async fn fresh_invoice_link(
    State(services): State<Services>,
    ip: ClientIp,
    Path(token): Path<String>,
) -> Response {
    match services
        .send_fresh_invoice_link(&token, ip.as_deref())
        .await
    {
        // Same answer whether it went out, was rate-limited or the token is
        // unknown: the page must not reveal which contacts exist.
        Ok(_) => Redirect::to("/invoice-link?state=sent").into_response(),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// POST by AR staff: revoke one link.
pub async fn revoke_invoice_link(
    State(services): State<Services>,
    signed_in: Option<Extension<SignedIn>>,
    Path(link_id): Path<String>,
) -> Response {
    let Some(Principal::Staff { staff_id }) = signed_in.map(|Extension(s)| s.principal) else {
        return not_found();
    };
    let Ok(link_id) = link_id.parse() else {
        return not_found();
    };
    match services.revoke_invoice_link(staff_id, link_id).await {
        Ok(()) => Redirect::to("/staff/invoice-links?revoked=1").into_response(),
        Err(e) => HttpError::from(e).into_response(),
    }
}
