//! Who is signed in. Reads the session, enforces the idle and absolute
//! timeouts on the portal's clock, puts `SignedIn` in the request for the
//! routes and server functions, and keeps each area to its own people.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use portal_core::db::ts;
use portal_core::domain::Principal;
use portal_core::repo::decode::FromColumnText;
use portal_core::session_store::{hash_session_id, keys, SignedIn};
use tower_sessions::Session;

use super::AppState;

/// Which part of the portal a path belongs to.
#[derive(Debug, PartialEq, Eq)]
enum Area {
    /// Sign-in pages, server functions (they authorize themselves), assets.
    Public,
    /// Customer pages.
    Contact,
    /// AR staff pages.
    Staff,
    /// Pages for anyone signed in (their sessions).
    SignedIn,
}

fn area_of(path: &str) -> Area {
    if path == "/" || path.starts_with("/accounts/") || path == "/accounts" {
        Area::Contact
    } else if path == "/sessions" {
        Area::SignedIn
    } else if (path == "/staff" || path.starts_with("/staff/"))
        && !path.starts_with("/staff/sign-in")
        && !path.starts_with("/staff/auth/")
    {
        Area::Staff
    } else {
        Area::Public
    }
}

/// Session key of the page a signed-out contact asked for (a "pay all"
/// link from a reminder): confirming the sign-in link in the same browser
/// lands there (issue 13).
pub const RETURN_TO: &str = "return_to";

/// Whether `target` may be returned to after sign-in: a path of this
/// portal's customer pages, never another site (no scheme, no `//`, no
/// backslash, no control character).
pub fn is_return_path(target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or("");
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.chars().any(char::is_control)
        && path.starts_with("/accounts/")
        && area_of(path) == Area::Contact
}

/// Writes "last seen" at most this often, so most requests don't write.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

pub async fn session_guard(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let services = &state.services;
    let now = services.clock.now();
    let mut timed_out = false;
    let mut signed_in = None;

    if let Ok(Some(principal)) = session.get::<Principal>(keys::PRINCIPAL).await {
        // Unreadable times count as missing, and a session missing them has ended.
        let read_ts = |v: Option<String>| v.as_deref().and_then(DateTime::<Utc>::from_column_text);
        let signed_in_at: Option<DateTime<Utc>> =
            read_ts(session.get(keys::SIGNED_IN_AT).await.ok().flatten());
        let last_seen_at: Option<DateTime<Utc>> =
            read_ts(session.get(keys::LAST_SEEN_AT).await.ok().flatten());
        let idle = chrono::Duration::from_std(services.config.session_idle).expect("idle fits");
        let absolute =
            chrono::Duration::from_std(services.config.session_absolute).expect("absolute fits");
        let expired = match (signed_in_at, last_seen_at) {
            (Some(start), Some(seen)) => now - start >= absolute || now - seen >= idle,
            _ => true,
        };
        if expired {
            timed_out = true;
            let _ = session.flush().await;
        } else if let Some(id) = session.id() {
            if last_seen_at.is_some_and(|seen| now - seen >= TOUCH_EVERY) {
                // A write slides the session's expiry forward (tower-sessions
                // saves only modified sessions).
                let _ = session.insert(keys::LAST_SEEN_AT, ts(now)).await;
            }
            signed_in = Some(SignedIn {
                principal,
                session_hash: hash_session_id(&id),
                access: None,
            });
        }
    }

    // Someone disabled since signing in is out at once (disabling also
    // deletes their sessions; this covers a request already in flight). For
    // a contact the same read says whether their access changed since it
    // was last read (services::access).
    if let Some(s) = &mut signed_in {
        let active = match s.principal {
            Principal::Contact { contact_id } => {
                services.contact_access(contact_id).await.map(|access| {
                    s.access = access;
                    s.access.is_some()
                })
            }
            other => services.principal_is_active(other).await,
        };
        match active {
            Ok(true) => {}
            Ok(false) => {
                let _ = session.flush().await;
                signed_in = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "checking the signed-in person failed");
                return super::plain_page::server_error();
            }
        }
    }
    let principal = signed_in.as_ref().map(|s| s.principal);
    let contact_sign_in = if timed_out {
        "/sign-in?expired=1"
    } else {
        "/sign-in"
    };
    let staff_sign_in = if timed_out {
        "/staff/sign-in?expired=1"
    } else {
        "/staff/sign-in"
    };
    let principal = if let Some(Principal::InvoiceLink { link_id }) = principal {
        match keep_to_the_linked_invoice(&state, &session, link_id, req.method(), req.uri().path())
            .await
        {
            LinkVerdict::Pass => principal,
            // The link died: carry on as a visitor (the page may be public,
            // such as a fresh link being opened).
            LinkVerdict::Ended => {
                signed_in = None;
                None
            }
            LinkVerdict::Answer(response) => return response,
        }
    } else {
        principal
    };
    match (area_of(req.uri().path()), principal) {
        (Area::Contact, Some(Principal::Staff { .. })) => {
            return Redirect::to("/staff").into_response()
        }
        (Area::Contact, None) | (Area::SignedIn, None) => {
            let asked = req.uri().path_and_query().map(|p| p.as_str());
            if req.method() == axum::http::Method::GET {
                if let Some(target) = asked.filter(|t| is_return_path(t)) {
                    let _ = session.insert(RETURN_TO, target.to_owned()).await;
                }
            }
            return Redirect::to(contact_sign_in).into_response();
        }
        (Area::Staff, Some(Principal::Contact { .. }))
        | (Area::Staff, Some(Principal::InvoiceLink { .. }))
        | (Area::Staff, None) => return Redirect::to(staff_sign_in).into_response(),
        _ => {}
    }
    if let Some(s) = signed_in {
        req.extensions_mut().insert(s);
    }
    next.run(req).await
}

enum LinkVerdict {
    Pass,
    Ended,
    Answer(Response),
}

/// A session opened from an invoice link reaches that invoice (its page
/// and PDF), paying it, and public pages, nothing else: other customer
/// pages are 404, and once the link is revoked or expired the session ends.
async fn keep_to_the_linked_invoice(
    state: &AppState,
    session: &Session,
    link_id: i64,
    method: &axum::http::Method,
    path: &str,
) -> LinkVerdict {
    let grant = match state.services.invoice_link_grant(link_id).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            let _ = session.flush().await;
            return match area_of(path) {
                Area::Contact | Area::SignedIn => {
                    LinkVerdict::Answer(Redirect::to("/invoice-link?state=ended").into_response())
                }
                _ => LinkVerdict::Ended,
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "checking an invoice link failed");
            return LinkVerdict::Answer(super::plain_page::server_error());
        }
    };
    let invoice_page = format!(
        "/accounts/{}/invoices/{}",
        grant.customer_id, grant.invoice_id
    );
    if path == "/" {
        return LinkVerdict::Answer(Redirect::to(&invoice_page).into_response());
    }
    let allowed = path == invoice_page
        || path == format!("{invoice_page}/pdf")
        || link_may_pay_at(grant.customer_id, method, path);
    match area_of(path) {
        Area::Contact if !allowed => LinkVerdict::Answer(super::plain_page::not_found()),
        Area::SignedIn => LinkVerdict::Answer(super::plain_page::not_found()),
        _ => LinkVerdict::Pass,
    }
}

/// The paths of paying by link (issue 13): the pay and review pages, the
/// "Pay" POST, and a payment's page, return and cancel URLs, buttons and
/// receipt. The payment services then allow the link's invoice and the
/// payments made through the link only (another invoice or payment is 404
/// there), so the path alone grants nothing else.
fn link_may_pay_at(customer_id: i64, method: &axum::http::Method, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(&format!("/accounts/{customer_id}/")) else {
        return false;
    };
    match rest {
        "pay" | "pay/review" => true,
        // GET of this path is the account's payment history: not for a link.
        "payments" => method == axum::http::Method::POST,
        _ => rest.strip_prefix("payments/").is_some_and(|payment| {
            let (id, tail) = payment.split_once('/').unwrap_or((payment, ""));
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && matches!(tail, "" | "return" | "cancel" | "check" | "receipt.pdf")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas() {
        assert_eq!(area_of("/"), Area::Contact);
        assert_eq!(area_of("/accounts/3"), Area::Contact);
        assert_eq!(area_of("/staff"), Area::Staff);
        assert_eq!(area_of("/staff/queue"), Area::Staff);
        assert_eq!(area_of("/staff/sign-in"), Area::Public);
        assert_eq!(area_of("/staff/auth/confirm"), Area::Public);
        assert_eq!(area_of("/sign-in"), Area::Public);
        assert_eq!(area_of("/api/account_overview"), Area::Public);
        assert_eq!(area_of("/sessions"), Area::SignedIn);
    }

    #[test]
    fn a_link_pays_through_the_pay_pages_and_its_payments_only() {
        use axum::http::Method;
        let (get, post) = (Method::GET, Method::POST);
        for path in [
            "/accounts/3/pay",
            "/accounts/3/pay/review",
            "/accounts/3/payments/12",
            "/accounts/3/payments/12/return",
            "/accounts/3/payments/12/receipt.pdf",
        ] {
            assert!(link_may_pay_at(3, &get, path), "{path}");
        }
        assert!(link_may_pay_at(3, &post, "/accounts/3/payments"));
        assert!(link_may_pay_at(3, &post, "/accounts/3/payments/12/cancel"));
        for path in [
            "/accounts/3/payments",
            "/accounts/4/pay",
            "/accounts/3/invoices",
            "/accounts/3/payments/12/refund",
            "/accounts/3/payments/x",
            "/accounts/3/payments/",
            "/accounts/3/statement",
            "/accounts/3/autopay",
        ] {
            assert!(!link_may_pay_at(3, &get, path), "{path}");
        }
    }

    #[test]
    fn only_customer_pages_of_this_portal_are_returned_to() {
        assert!(is_return_path("/accounts/3/pay?invoice=7&invoice=9"));
        assert!(is_return_path("/accounts/3/invoices/7"));
        for elsewhere in [
            "//evil.example/accounts/3",
            "https://evil.example/accounts/3",
            "/\\evil.example/accounts/3",
            "/accounts/3/pay?x=\n",
            "/staff/customers/3",
            "/sign-in",
            "accounts/3",
            "",
        ] {
            assert!(!is_return_path(elsewhere), "{elsewhere}");
        }
    }
}
