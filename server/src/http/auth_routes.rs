//! Sign-in, sign-out and session routes: plain form POSTs answered with a
//! 303 redirect, so they behave the same with JavaScript on or off.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use portal_core::db::ts;
use portal_core::domain::Principal;
use portal_core::services::auth::{Area, LinkRequest};
use portal_core::session_store::{keys, SignedIn};
use portal_core::{Config, ServiceError, Services};
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::GovernorLayer;
use tower_sessions::Session;

use super::client_ip::{ClientIp, ClientIpKey};
use super::error::HttpError;
use super::plain_page::{not_found, server_error, too_many_requests};

fn sign_in_path(area: Area) -> &'static str {
    match area {
        Area::Contact => "/sign-in",
        Area::Staff => "/staff/sign-in",
    }
}

/// Per-IP limit on asking for links (the per-email limit is in the service,
/// shared by all instances through the database).
pub fn sign_in_rate_limit(
    config: &Config,
) -> GovernorLayer<ClientIpKey, governor::middleware::NoOpMiddleware, axum::body::Body> {
    let conf = GovernorConfigBuilder::default()
        .per_second(config.sign_in_ip_refill_secs)
        .burst_size(config.sign_in_ip_burst)
        .key_extractor(ClientIpKey::new(config))
        .finish()
        .expect("rate limit settings are positive");
    super::client_ip::prune_stale_keys(conf.limiter());
    GovernorLayer::new(conf).error_handler(|error| match error {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
            too_many_requests(wait_time, "/sign-in")
        }
        other => {
            tracing::error!(?other, "rate limiter failed");
            server_error()
        }
    })
}

async fn request_link(
    services: &Services,
    area: Area,
    ip: ClientIp,
    form: HashMap<String, String>,
) -> Response {
    let email = form.get("email").map(String::as_str).unwrap_or("");
    match services
        .request_sign_in_link(area, email, ip.as_deref())
        .await
    {
        Ok(LinkRequest::Accepted) => {
            Redirect::to(&format!("{}/check-email", sign_in_path(area))).into_response()
        }
        Ok(LinkRequest::RateLimited { retry_after }) => {
            too_many_requests(retry_after.as_secs(), sign_in_path(area))
        }
        Err(ServiceError::Invalid { .. }) => {
            Redirect::to(&format!("{}?error=invalid_email", sign_in_path(area))).into_response()
        }
        Err(e) => HttpError::from(e).into_response(),
    }
}

pub async fn request_contact_link(
    State(services): State<Services>,
    ip: ClientIp,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    request_link(&services, Area::Contact, ip, form).await
}

pub async fn request_staff_link(
    State(services): State<Services>,
    ip: ClientIp,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    request_link(&services, Area::Staff, ip, form).await
}

async fn confirm(
    services: &Services,
    area: Area,
    session: Session,
    ip: ClientIp,
    headers: &HeaderMap,
    form: HashMap<String, String>,
) -> Response {
    let token = form.get("token").map(String::as_str).unwrap_or("");
    let principal = match services
        .redeem_sign_in_link(area, token, ip.as_deref())
        .await
    {
        Ok(Ok(principal)) => principal,
        Ok(Err(problem)) => {
            return Redirect::to(&format!(
                "{}/link-problem?reason={}",
                sign_in_path(area),
                problem.key()
            ))
            .into_response()
        }
        Err(e) => return HttpError::from(e).into_response(),
    };
    // The page a signed-out contact asked for, read before the session
    // is renewed (checked again: only this portal's customer pages).
    let back = session
        .get::<String>(super::session_guard::RETURN_TO)
        .await
        .ok()
        .flatten()
        .filter(|t| super::session_guard::is_return_path(t));
    let started = start_session(&session, principal, services.clock.now(), headers, &ip);
    if let Err(e) = started.await {
        tracing::error!(error = %e, "could not start a session");
        return server_error();
    }
    Redirect::to(match principal {
        Principal::Contact { .. } => back.as_deref().unwrap_or("/"),
        Principal::InvoiceLink { .. } => "/",
        Principal::Staff { .. } => "/staff",
    })
    .into_response()
}

pub async fn confirm_contact(
    State(services): State<Services>,
    session: Session,
    ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    confirm(&services, Area::Contact, session, ip, &headers, form).await
}

pub async fn confirm_staff(
    State(services): State<Services>,
    session: Session,
    ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    confirm(&services, Area::Staff, session, ip, &headers, form).await
}

/// Starts a fresh session for `principal`: a new session id (no fixation),
/// nothing carried over from before.
pub async fn start_session(
    session: &Session,
    principal: Principal,
    now: chrono::DateTime<chrono::Utc>,
    headers: &HeaderMap,
    ip: &ClientIp,
) -> Result<(), tower_sessions::session::Error> {
    let now = ts(now);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    session.clear().await;
    session.cycle_id().await?;
    session.insert(keys::PRINCIPAL, principal).await?;
    session.insert(keys::SIGNED_IN_AT, &now).await?;
    session.insert(keys::LAST_SEEN_AT, &now).await?;
    session.insert(keys::USER_AGENT, user_agent).await?;
    session
        .insert(keys::IP, ip.0.clone().unwrap_or_default())
        .await?;
    Ok(())
}

fn signed_out_redirect(principal: Option<Principal>) -> Response {
    Redirect::to(match principal {
        Some(Principal::Staff { .. }) => "/staff/sign-in?signed_out=1",
        _ => "/sign-in?signed_out=1",
    })
    .into_response()
}

/// Ends this session on the server (the row is deleted, the cookie cleared).
pub async fn sign_out(
    State(services): State<Services>,
    session: Session,
    ip: ClientIp,
    signed_in: Option<axum::Extension<SignedIn>>,
) -> Response {
    let principal = signed_in.map(|s| s.principal);
    if let Some(p) = principal {
        if let Err(e) = services.audit_sign_out(p, false, ip.as_deref()).await {
            tracing::error!(error = %e, "could not audit sign-out");
        }
    }
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not end the session");
        return server_error();
    }
    signed_out_redirect(principal)
}

/// Ends one of the person's own sessions; another person's id is 404.
pub async fn end_session(
    State(services): State<Services>,
    session: Session,
    signed_in: Option<axum::Extension<SignedIn>>,
    Path(session_id): Path<String>,
) -> Response {
    let Some(axum::Extension(me)) = signed_in else {
        return Redirect::to("/sign-in").into_response();
    };
    let Ok(session_id) = session_id.parse::<i64>() else {
        return not_found();
    };
    match services.end_session(me.principal, session_id).await {
        Ok(ended) if ended == me.session_hash => {
            let _ = session.flush().await;
            signed_out_redirect(Some(me.principal))
        }
        Ok(_) => Redirect::to("/sessions").into_response(),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// "Sign out everywhere": every session of this person, this one included.
pub async fn end_all_sessions(
    State(services): State<Services>,
    session: Session,
    ip: ClientIp,
    signed_in: Option<axum::Extension<SignedIn>>,
) -> Response {
    let Some(axum::Extension(me)) = signed_in else {
        return Redirect::to("/sign-in").into_response();
    };
    match services.end_all_sessions(me.principal).await {
        Ok(_) => {}
        // An invoice-link session has no sessions of its own to end (404).
        Err(e) => return HttpError::from(e).into_response(),
    }
    let _ = services
        .audit_sign_out(me.principal, true, ip.as_deref())
        .await;
    let _ = session.flush().await;
    signed_out_redirect(Some(me.principal))
}
