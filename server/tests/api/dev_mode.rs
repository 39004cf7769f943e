//! Issue 9, item 13: development mode stays on this machine. The binary
//! refuses to serve it on a network address or behind a public URL unless
//! forced, and the dev-only routes (the mailbox, its server function, the
//! sandbox checkout) answer 404 to any peer that is not loopback.
//!
//! The HTTP test needs requests from another machine. The test server can
//! only be reached over loopback here (and 127.0.0.2 is loopback too), so a
//! test-only layer in front of the real router replaces the socket address
//! axum records (`ConnectInfo`) with the one named in `x-test-peer`, exactly
//! as a LAN peer's connection would set it. The decision itself is the
//! portal's: its gate reads only `ConnectInfo`. `config::is_loopback_ip` and
//! `http::dev_only` are unit-tested with real addresses.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portal_core::payments::{CheckoutLine, CheckoutRequest, PayMethod};
use reqwest::header::ORIGIN;

use crate::helpers::{new_client, spawn_app_with, AppOptions, Backend, TestApp};

crate::on_both_databases!(dev_pages_answer_this_machine_only);

const LAN_PEER: &str = "192.168.1.20:51234";

/// Test-only: requests carrying `x-test-peer` look as if their connection
/// came from that address.
fn peer_from_test_header(router: axum::Router) -> axum::Router {
    router.layer(axum::middleware::map_request(
        |mut request: axum::extract::Request| async move {
            let peer = request
                .headers()
                .get("x-test-peer")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<SocketAddr>().ok());
            if let Some(peer) = peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            request
        },
    ))
}

async fn get_as(app: &TestApp, path: &str, peer: Option<&str>) -> reqwest::Response {
    let mut request = new_client()
        .get(app.url(path))
        .header("accept", "text/html");
    if let Some(peer) = peer {
        request = request
            .header("x-test-peer", peer)
            // A forwarded header naming loopback changes nothing.
            .header("x-forwarded-for", "127.0.0.1");
    }
    request.send().await.unwrap()
}

async fn mailbox_fn_as(app: &TestApp, peer: Option<&str>) -> reqwest::Response {
    let mut request = new_client()
        .post(app.url("/api/dev_mailbox"))
        .header(ORIGIN, &app.address);
    if let Some(peer) = peer {
        request = request
            .header("x-test-peer", peer)
            .header("x-forwarded-for", "127.0.0.1");
    }
    request.send().await.unwrap()
}

async fn dev_pages_answer_this_machine_only(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.wrap_router = Some(peer_from_test_header);
    // Even when told to trust X-Forwarded-For (for rate limits and the
    // audit log), the gate looks at the socket only.
    options.env.push(("PORTAL_TRUST_PROXY", "true".into()));
    let app = spawn_app_with(options).await;
    // Mail in the mailbox: a staff sign-in link.
    let asked = app
        .post_form("/staff/auth/sign-in", &[("email", "ar@seller.example")])
        .await;
    assert_eq!(asked.status(), 303);
    assert!(app.count("SELECT COUNT(*) FROM email_outbox").await > 0);

    // This machine: the mailbox and its server function answer.
    let page = get_as(&app, "/dev/mailbox", None).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ar@seller.example"));
    let listed = mailbox_fn_as(&app, None).await;
    assert_eq!(listed.status(), 200);
    assert!(listed.text().await.unwrap().contains("ar@seller.example"));

    // Another machine: 404, the same as a page that does not exist.
    let page = get_as(&app, "/dev/mailbox", Some(LAN_PEER)).await;
    assert_eq!(page.status(), 404);
    assert!(!page.text().await.unwrap().contains("ar@seller.example"));
    let listed = mailbox_fn_as(&app, Some(LAN_PEER)).await;
    assert_eq!(listed.status(), 404);
    assert!(!listed.text().await.unwrap().contains("ar@seller.example"));
    // An IPv6 peer, and an IPv4 peer seen through a dual-stack socket.
    for peer in ["[2001:db8::7]:51234", "[::ffff:192.168.1.20]:51234"] {
        assert_eq!(
            get_as(&app, "/dev/mailbox", Some(peer)).await.status(),
            404,
            "{peer}"
        );
    }
    assert_eq!(
        get_as(&app, "/dev/mailbox", Some("[::1]:51234"))
            .await
            .status(),
        200,
        "IPv6 loopback is this machine"
    );

    // The sandbox checkout (where a payment is marked paid) likewise.
    let payment_id = 987_654;
    let checkout = app
        .services
        .gateway
        .create_checkout(&CheckoutRequest {
            payment_id,
            idempotency_key: format!("dev-mode-{payment_id}"),
            gateway_customer_id: "cus_sandbox_test".into(),
            currency: portal_core::domain::Currency::USD,
            method: PayMethod::Card,
            lines: vec![CheckoutLine {
                name: "Invoice TEST-1".into(),
                amount_minor: 1_000,
            }],
            receipt_email: "ap@northwind.example".into(),
            success_url: app.url("/"),
            cancel_url: app.url("/"),
            expires_at: app.clock.now_for_tests() + chrono::Duration::minutes(30),
        })
        .await
        .unwrap();
    let path = format!("/sandbox/checkout/{}", checkout.session_id);
    assert_eq!(get_as(&app, &path, None).await.status(), 200);
    assert_eq!(get_as(&app, &path, Some(LAN_PEER)).await.status(), 404);
    let chosen = new_client()
        .post(app.url(&path))
        .header(ORIGIN, &app.address)
        .header("x-test-peer", LAN_PEER)
        .form(&[("outcome", "card_success")])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 404);
    let still_open = app
        .services
        .sandbox
        .as_ref()
        .unwrap()
        .checkout(&checkout.session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still_open.status, "open", "nothing was paid");

    // Everything else answers other machines as before.
    assert_eq!(get_as(&app, "/sign-in", Some(LAN_PEER)).await.status(), 200);
}

// ---- The `portal serve` refusal ---------------------------------------------

fn portal_serve(dir: &std::path::Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/serve.db", dir.display()),
        )
        .env("RUST_LOG", "error")
        .current_dir(dir)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Waits (up to 60 s) for the process to stop by itself; a portal that
/// serves instead fails the test.
fn refused(mut child: Child, case: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            assert!(!status.success(), "{case}: {stderr}");
            return stderr;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{case}: the portal started serving instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls /health (up to 60 s) until the portal answers.
async fn serves(mut child: Child, port: u16, case: &str) {
    let client = new_client();
    let started = Instant::now();
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
        {
            if r.status() == 200 {
                break;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("{case}: the portal stopped ({status}): {stderr}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{case}: no answer on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn serving_development_mode_on_the_network_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    for (listen, base, var) in [
        ("0.0.0.0:0", None, "LEPTOS_SITE_ADDR"),
        ("[::]:0", None, "LEPTOS_SITE_ADDR"),
        ("192.0.2.10:0", None, "LEPTOS_SITE_ADDR"),
        (
            "127.0.0.1:0",
            Some("https://billing.example.com"),
            "PORTAL_BASE_URL",
        ),
    ] {
        let mut env = vec![("LEPTOS_SITE_ADDR", listen)];
        if let Some(base) = base {
            env.push(("PORTAL_BASE_URL", base));
        }
        let stderr = refused(portal_serve(dir.path(), &env), listen);
        let line = stderr.trim();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        assert!(
            line.starts_with(&format!("configuration error: {var}:")),
            "{listen}: {line}"
        );
        for hint in ["PORTAL_ENV=production", "PORTAL_ALLOW_DEV_ON_NETWORK=true"] {
            assert!(line.contains(hint), "{listen}: says what to set: {line}");
        }
    }

    // Loopback serves; so does the network when forced.
    let port = free_port();
    let loopback = format!("127.0.0.1:{port}");
    serves(
        portal_serve(dir.path(), &[("LEPTOS_SITE_ADDR", &loopback)]),
        port,
        "loopback",
    )
    .await;
    let port = free_port();
    let everywhere = format!("0.0.0.0:{port}");
    serves(
        portal_serve(
            dir.path(),
            &[
                ("LEPTOS_SITE_ADDR", &everywhere),
                ("PORTAL_ALLOW_DEV_ON_NETWORK", "true"),
            ],
        ),
        port,
        "forced",
    )
    .await;
}
