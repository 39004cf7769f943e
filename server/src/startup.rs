//! Wiring: database, services, router, workers. Used by `portal serve` and
//! by the integration tests' `spawn_app`, so tests run the real thing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use portal_core::clock::Clock;
use portal_core::db::Db;
use portal_core::email::transport::{DevMailbox, EmailTransport, SmtpTransport};
use portal_core::email::worker::OutboxWorker;
use portal_core::{Config, Services};
use tokio::net::TcpListener;

use crate::http::{self, AppState};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("DATABASE_URL: cannot open the database ({0})")]
    Database(#[from] sqlx::Error),
    #[error("DATABASE_URL: migrations failed ({0})")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("SMTP_URL: {0}")]
    Smtp(String),
    #[error("{0}")]
    Leptos(String),
    #[error("{0}")]
    Fonts(#[from] portal_core::pdf::FontError),
}

/// A built portal, ready to serve.
pub struct Portal {
    pub router: Router,
    pub services: Services,
    pub worker: OutboxWorker,
    pub site_addr: SocketAddr,
}

/// The site's settings (where its files are, how they are named, where to
/// listen), from the LEPTOS_* variables cargo-leptos sets, read through
/// `get` (`main` passes the environment, tests their own values), with the
/// defaults cargo-leptos would use so the binary also runs on its own.
/// Nothing is written to the environment: portals built side by side (the
/// tests) each get the options they were given.
pub fn leptos_options(get: impl Fn(&str) -> Option<String>) -> Result<LeptosOptions, StartError> {
    let var = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
    let bad = |name: &str, value: &str, e: &dyn std::fmt::Display| {
        StartError::Leptos(format!("{name}: {value:?} is not valid ({e})"))
    };
    let site_addr = var("LEPTOS_SITE_ADDR", "127.0.0.1:3000");
    let site_addr: SocketAddr = site_addr
        .parse()
        .map_err(|e| bad("LEPTOS_SITE_ADDR", &site_addr, &e))?;
    let env = var("LEPTOS_ENV", "DEV");
    let env =
        leptos::config::Env::try_from(env.clone()).map_err(|e| bad("LEPTOS_ENV", &env, &e))?;
    let reload_port = var("LEPTOS_RELOAD_PORT", "3001");
    let reload_port: u32 = reload_port
        .parse()
        .map_err(|e| bad("LEPTOS_RELOAD_PORT", &reload_port, &e))?;
    let reload_external_port = match get("LEPTOS_RELOAD_EXTERNAL_PORT") {
        Some(port) => Some(
            port.parse::<u32>()
                .map_err(|e| bad("LEPTOS_RELOAD_EXTERNAL_PORT", &port, &e))?,
        ),
        None => None,
    };
    // cargo-leptos writes hash.txt next to the binary when it hashes the
    // asset names (hash-files = true); the binary then serves those names.
    let hash_file_name = var("LEPTOS_HASH_FILE_NAME", "hash.txt");
    let hash_file = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&hash_file_name)));
    let hash_files = match get("LEPTOS_HASH_FILES") {
        Some(value) => value
            .parse::<bool>()
            .map_err(|e| bad("LEPTOS_HASH_FILES", &value, &e))?,
        None => hash_file.as_ref().is_some_and(|f| f.exists()),
    };
    let options = LeptosOptions::builder()
        .output_name(var("LEPTOS_OUTPUT_NAME", "portal"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .env(env)
        .site_addr(site_addr)
        .reload_port(reload_port)
        .reload_external_port(reload_external_port)
        .reload_ws_protocol(
            var("LEPTOS_RELOAD_WS_PROTOCOL", "ws")
                .parse()
                .unwrap_or_default(),
        )
        .hash_file(hash_file_name.as_str().into())
        .hash_files(hash_files)
        .build();
    Ok(options)
}

/// Tells the app the stylesheet's URL (hashed when cargo-leptos hashed the
/// asset names). Process-wide: the first portal built sets it.
fn set_stylesheet_href(options: &LeptosOptions) {
    let css_hash = options
        .hash_files
        .then(|| {
            let exe = std::env::current_exe().ok()?;
            std::fs::read_to_string(exe.parent()?.join(options.hash_file.as_ref())).ok()
        })
        .flatten()
        .and_then(|text| {
            text.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(kind, _)| kind.trim() == "css")
                .map(|(_, hash)| hash.trim().to_owned())
        });
    app::set_stylesheet_href(match css_hash {
        Some(hash) => format!(
            "/{}/{}.{hash}.css",
            options.site_pkg_dir, options.output_name
        ),
        None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
    });
}

/// The app's routes, worked out once per process. Generating them renders
/// the app with resource loading suppressed through a process-wide flag
/// (leptos_server), so a render that starts meanwhile in the same process
/// would hang forever (leptos issue #4773). One portal per process never
/// meets this; the tests, which build many portals side by side, would.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// Connects, migrates and builds the router. `leptos_options` comes from
/// [`leptos_options`]; `transport` replaces the configured email transport
/// (tests); `clock` is the system clock in production.
pub async fn build(
    config: Config,
    leptos_options: LeptosOptions,
    clock: Arc<dyn Clock>,
    transport: Option<Arc<dyn EmailTransport>>,
) -> Result<Portal, StartError> {
    // The PDF fonts, read once; missing ones stop the start with the reason.
    portal_core::pdf::fonts::init(&config.pdf_font_dirs)?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let transport: Arc<dyn EmailTransport> = match (transport, &config.smtp_url) {
        (Some(t), _) => t,
        (None, Some(url)) => {
            let from = lettre::message::Mailbox::new(
                Some(config.seller_name.clone()),
                config
                    .mail_from
                    .as_str()
                    .parse()
                    .map_err(|e| StartError::Smtp(format!("{e}")))?,
            );
            Arc::new(SmtpTransport::new(url, from).map_err(StartError::Smtp)?)
        }
        (None, None) => Arc::new(DevMailbox),
    };
    let config = Arc::new(config);
    let services = Services::new(db.clone(), config.clone(), clock.clone());
    let worker = OutboxWorker {
        db,
        transport,
        clock,
        wake: services.outbox_wake.clone(),
    };

    set_stylesheet_href(&leptos_options);
    let site_addr = leptos_options.site_addr;
    let state = AppState {
        leptos_options: leptos_options.clone(),
        services: services.clone(),
    };
    let routes = route_list();
    let context = {
        let services = services.clone();
        move || provide_context(services.clone())
    };
    let leptos_router = Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell));
    let router = http::router(state, leptos_router);
    Ok(Portal {
        router,
        services,
        worker,
        site_addr,
    })
}

/// Applies stored webhook events as they arrive (woken by the webhook
/// route) and every few seconds (retries, events left by a process that died
/// before applying them), and once a minute ends checkouts that should be
/// over.
pub async fn run_webhook_worker(services: Services) {
    let mut last_sweep = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        match services.process_due_events(50).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "webhook worker"),
        }
        if last_sweep.elapsed() >= Duration::from_secs(60) {
            last_sweep = std::time::Instant::now();
            if let Err(e) = services.sweep_stale_checkouts().await {
                tracing::warn!(error = %e, "could not sweep stale checkouts");
            }
        }
        tokio::select! {
            _ = services.webhook_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// The SLA alert job (services::sla_alerts): every 20 seconds it asks for
/// the job's lease, and the instance that gets it runs the job, at most
/// once a minute across all instances. Started by `portal serve` only, not
/// by `serve`: the tests drive the job with their manual clock instead of
/// leaving a timer to race them.
pub async fn run_sla_alert_job(services: Services) {
    loop {
        match services.run_sla_alerts_when_due().await {
            Ok(Some(queued)) if !queued.is_empty() => {
                tracing::info!(alerts = queued.len(), "SLA alerts queued");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "SLA alert job"),
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
}

/// The reminder job (services::reminders, issue 13): asks for the job's
/// lease every 20 seconds; the instance that gets it runs the job, at most
/// once a minute across instances. Started by `portal serve` only, like
/// the SLA alerts: tests drive the job with their manual clock.
pub async fn run_reminder_job(services: Services) {
    loop {
        match services.run_reminders_when_due().await {
            Ok(Some(run)) if run.emails > 0 || run.promises_closed > 0 => {
                tracing::info!(
                    emails = run.emails,
                    sends = run.sends,
                    promises_closed = run.promises_closed,
                    "reminders queued"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reminder job"),
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
}

/// The sandbox gateway's webhook sender: posts its due events, signed, to
/// our own `/webhooks/stripe` through the router (the same endpoint, headers
/// and code Stripe's deliveries go through, without a network hop).
pub async fn run_sandbox_deliveries(services: Services, router: Router) {
    use tower::ServiceExt;
    let Some(sandbox) = services.sandbox.clone() else {
        return;
    };
    loop {
        match sandbox.due_deliveries(20).await {
            Ok(due) => {
                for delivery in due {
                    let header = portal_core::payments::signature::sign(
                        delivery.payload.as_bytes(),
                        &services.config.stripe_webhook_secret,
                        services.clock.now().timestamp(),
                    );
                    let request = axum::http::Request::post("/webhooks/stripe")
                        .header("content-type", "application/json")
                        .header("stripe-signature", header)
                        .body(axum::body::Body::from(delivery.payload.clone()))
                        .expect("a valid request");
                    let delivered = match router.clone().oneshot(request).await {
                        Ok(response) => response.status().is_success(),
                        Err(never) => match never {},
                    };
                    if let Err(e) = sandbox.delivery_done(&delivery, delivered).await {
                        tracing::error!(error = %e, "sandbox delivery");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "sandbox deliveries"),
        }
        tokio::select! {
            _ = services.sandbox_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Serves until the process is stopped, with the outbox worker, the webhook
/// worker, the sandbox's deliveries and the expired-session sweeper running
/// beside it.
pub async fn serve(portal: Portal, listener: TcpListener) -> std::io::Result<()> {
    tokio::spawn(portal.worker.clone().run_forever());
    tokio::spawn(run_webhook_worker(portal.services.clone()));
    tokio::spawn(run_sandbox_deliveries(
        portal.services.clone(),
        portal.router.clone(),
    ));
    let sweeper = portal.services.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweeper.delete_expired_sessions().await {
                tracing::warn!(error = %e, "could not sweep expired sessions");
            }
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
    });
    axum::serve(
        listener,
        portal
            .router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
