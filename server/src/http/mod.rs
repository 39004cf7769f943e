//! HTTP layer: state, router and middleware. Layers run outermost first:
//! trace -> security headers -> request timeout -> body size limit ->
//! dev-only routes for loopback only -> same-origin check -> sessions ->
//! session guard (who is signed in, timeouts, which area) -> routes.
//! The seller API (`/api/v1`, `crate::api`) is merged after all of them and
//! has its own (bearer keys, JSON errors).

pub mod auth_routes;
pub mod autopay_routes;
pub mod client_ip;
pub mod customer_language_routes;
pub mod dev_only;
pub mod discount_routes;
pub mod error;
pub mod forms;
pub mod invoice_routes;
pub mod limits;
pub mod log_path;
pub mod payment_routes;
pub mod plain_page;
pub mod plan_routes;
pub mod reminder_extra_routes;
pub mod reminder_routes;
pub mod request_routes;
pub mod sandbox_routes;
pub mod security;
pub mod session_guard;
pub mod staff_admin_routes;
pub mod staff_plan_routes;
pub mod staff_request_routes;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::{middleware, Router};
use leptos::prelude::LeptosOptions;
use portal_core::session_store::DbSessionStore;
use portal_core::Services;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
}

/// The session cookie's name. Where cookies are Secure (production, https)
/// it carries the `__Host-` prefix, which makes browsers refuse it unless it
/// is Secure, host-only and for Path=/ (no subdomain can set or shadow it).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-portal_session"
    } else {
        "portal_session"
    }
}

/// Stripe's events are a few kilobytes; anything this large is not one.
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

pub fn router(state: AppState, leptos_router: Router<AppState>) -> Router {
    let config = state.services.config.clone();
    let api_services = state.services.clone();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.services.db.clone()))
        .with_name(session_cookie_name(config.secure_cookies()))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.session_idle.as_secs() as i64,
        )));

    // Zip, CSV and statement PDF: a few at once (PORTAL_HEAVY_DOWNLOADS).
    let heavy = middleware::from_fn_with_state(state.services.clone(), limits::heavy_download);
    // One per-IP budget shared by asking for links and redeeming them.
    let sign_in_limit = auth_routes::sign_in_rate_limit(&config);
    let pkg_dir = std::path::Path::new(state.leptos_options.site_root.as_ref())
        .join(state.leptos_options.site_pkg_dir.as_ref());
    Router::new()
        // A bare route, for health checks and as the benchmarks' baseline.
        .route("/health", get(|| async { "ok" }))
        .route(
            "/auth/sign-in",
            post(auth_routes::request_contact_link).layer(sign_in_limit.clone()),
        )
        .route(
            "/staff/auth/sign-in",
            post(auth_routes::request_staff_link).layer(sign_in_limit.clone()),
        )
        .route(
            "/auth/confirm",
            post(auth_routes::confirm_contact).layer(sign_in_limit.clone()),
        )
        .route(
            "/staff/auth/confirm",
            post(auth_routes::confirm_staff).layer(sign_in_limit),
        )
        .route("/auth/sign-out", post(auth_routes::sign_out))
        .route("/sessions/{session_id}/end", post(auth_routes::end_session))
        .route("/sessions/end-all", post(auth_routes::end_all_sessions))
        .route(
            "/accounts/{customer_id}/invoices/{invoice_id}/pdf",
            get(invoice_routes::invoice_pdf),
        )
        .route(
            "/accounts/{customer_id}/invoices.csv",
            get(invoice_routes::invoices_csv).layer(heavy.clone()),
        )
        .route(
            "/accounts/{customer_id}/invoices.zip",
            get(invoice_routes::invoices_zip).layer(heavy.clone()),
        )
        .route(
            "/accounts/{customer_id}/statement.pdf",
            get(invoice_routes::statement_pdf).layer(heavy.clone()),
        )
        .route(
            "/accounts/{customer_id}/statement.csv",
            get(invoice_routes::statement_csv).layer(heavy),
        )
        .route(
            "/accounts/{customer_id}/payments/{payment_id}/receipt.pdf",
            get(invoice_routes::receipt_pdf),
        )
        .route(
            "/i/{token}",
            get(invoice_routes::invoice_link_page).post(invoice_routes::open_invoice_link),
        )
        .route("/i/{token}/fresh", post(invoice_routes::fresh_invoice_link))
        .route(
            "/staff/invoice-links/{link_id}/revoke",
            post(invoice_routes::revoke_invoice_link),
        )
        .route(
            "/accounts/{customer_id}/payments",
            post(payment_routes::start_payment),
        )
        .route(
            "/accounts/{customer_id}/payments/{payment_id}/return",
            get(payment_routes::checkout_return),
        )
        .route(
            "/accounts/{customer_id}/payments/{payment_id}/cancel",
            get(payment_routes::checkout_cancel_link).post(payment_routes::cancel_payment),
        )
        .route(
            "/accounts/{customer_id}/payments/{payment_id}/check",
            post(payment_routes::check_payment),
        )
        .route(
            "/sandbox/checkout/{session_id}",
            get(sandbox_routes::sandbox_checkout).post(sandbox_routes::sandbox_choose),
        )
        // The WASM, JS and CSS bundles: the brotli or gzip file made at
        // build time (`cargo leptos build --release --precompress`) when the
        // browser takes it, else the plain file.
        .nest_service(
            "/pkg",
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .merge(request_routes::routes())
        .merge(staff_request_routes::routes())
        .merge(staff_admin_routes::routes())
        .merge(plan_routes::routes())
        .merge(staff_plan_routes::routes())
        .merge(autopay_routes::routes())
        .merge(reminder_routes::routes())
        .merge(discount_routes::routes())
        .merge(customer_language_routes::routes())
        .merge(reminder_extra_routes::routes())
        .merge(leptos_router)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session_guard::session_guard,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::same_origin_for_state_changes,
        ))
        // One-click unsubscribe (RFC 8058): the mail client POSTs it with
        // no session and no Origin of ours; the token is the capability.
        // The GET only shows a button that POSTs.
        .route(
            "/reminders/unsubscribe/{token}",
            get(reminder_extra_routes::unsubscribe_page).post(reminder_extra_routes::unsubscribe),
        )
        // Stripe's webhooks: no session, no same-origin check (Stripe is
        // not a page of ours); the signature on the body is the check.
        .route(
            "/webhooks/stripe",
            post(payment_routes::stripe_webhook)
                .layer(axum::extract::DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT)),
        )
        .layer(middleware::from_fn(dev_only::loopback_only))
        .layer(middleware::from_fn(limits::body_limit))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            limits::request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                // Path only: query strings can carry sign-in tokens, never
                // logged; an invoice link's token is cut from its path.
                let path = log_path::loggable_path(req.uri().path());
                tracing::info_span!("request", method = %req.method(), path = %path)
            }),
        )
        .with_state(state)
        // The seller API (issue 14): outside every layer above (no session,
        // no same-origin check, no HTML error pages); it has its own.
        .merge(crate::api::router(api_services))
}
