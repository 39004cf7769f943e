//! Issue 9 (outside review), items 4, 6, 7 and 14: each test asserts what a
//! user or an attacker would observe.

use std::sync::Arc;

use portal_core::email::transport::DevMailbox;
use portal_core::email::worker::OutboxWorker;
use portal_core::payments::signature;
use reqwest::header::ORIGIN;
use serde_json::Value;

use crate::helpers::{
    location, new_client, spawn_app, spawn_app_with, AppOptions, Backend, TestApp,
};

crate::on_both_databases!(
    a_signature_header_with_thousands_of_entries_is_refused_and_health_still_answers,
    far_future_and_far_past_dates_get_a_clear_400_on_every_endpoint,
    a_client_rotating_a_spoofed_forwarded_for_still_gets_429,
    sent_emails_keep_no_live_token_in_the_outbox_and_their_links_still_work,
    an_email_given_up_on_keeps_no_live_token_either,
    the_dev_mailbox_transport_keeps_the_link_for_the_local_developer,
);

// ---- Item 4: Stripe-Signature with many entries ----------------------------

async fn a_signature_header_with_thousands_of_entries_is_refused_and_health_still_answers(
    backend: Backend,
) {
    let secret = "whsec_many_entries";
    let mut options = AppOptions::new(backend);
    options.env.push(("STRIPE_WEBHOOK_SECRET", secret.into()));
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    let now = app.clock.now_for_tests().timestamp();
    let body = format!(
        r#"{{"id":"evt_many_entries","object":"event","type":"checkout.session.completed","created":{now},"data":{{"object":{{}}}}}}"#
    );
    let good = signature::sign(body.as_bytes(), secret, now);
    // The right signature, but last, after 20,000 empty `v1=` entries.
    let (t, v1) = good.split_once(',').unwrap();
    let flood = format!("{t},{}{v1}", "v1=,".repeat(20_000));
    let events = "SELECT COUNT(*) FROM webhook_events";
    assert_eq!(app.count(events).await, 0);

    let post = |header: String| {
        let request = app
            .client
            .post(app.url("/webhooks/stripe"))
            .header("stripe-signature", header)
            .body(body.clone());
        tokio::spawn(async move { request.send().await })
    };
    let in_flight: Vec<_> = (0..4).map(|_| post(flood.clone())).collect();
    let health = app.get_with(&new_client(), "/health").await;
    assert_eq!(health.status(), 200, "/health answers beside them");
    for request in in_flight {
        let response = request.await.unwrap().unwrap();
        let status = response.status();
        let answer = response.text().await.unwrap();
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("entries"), "the refusal says why: {answer}");
    }
    assert_eq!(app.count(events).await, 0, "nothing stored");

    // The same event with its one signature is taken.
    let response = post(good).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.count(events).await, 1);
}

// ---- Item 6: dates out of range -------------------------------------------

async fn far_future_and_far_past_dates_get_a_clear_400_on_every_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let base = format!("/accounts/{customer_id}");
    // NaiveDate::MAX (+262142-12-31) is the date whose next day overflows;
    // +262143 and -262144 are beyond what chrono reads at all.
    let far = [
        "+262142-12-31",
        "+262143-12-31",
        "-262143-01-01",
        "-262144-01-01",
        "+10000-01-01",
        "0000-01-01",
        "1899-12-31",
    ];
    for date in far {
        // Statement: its end date reaches the `to + 1 day` of the queries
        // (from = to = +262142-12-31 passes the two-year rule).
        for (from, to, label) in [
            ("2026-01-01", date, "To"),
            (date, "2026-12-31", "From"),
            (date, date, "From"),
        ] {
            let query = format!("from={}&to={}", enc(from), enc(to));
            let response = app.statement_fn(&client, customer_id, from, to).await;
            assert_eq!(response.status(), 400, "statement {query}");
            let view: Value = response.json().await.unwrap();
            let error = view["error"].as_str().unwrap_or_default();
            assert!(
                error.starts_with(&format!("{label}: enter a date")),
                "{query}: {error}"
            );
            assert!(
                error.contains("1900") && error.contains("9999"),
                "the message gives the range: {error}"
            );

            let page = app
                .get_with(&client, &format!("{base}/statement?{query}"))
                .await;
            assert_eq!(page.status(), 400, "statement page {query}");
            let html = page.text().await.unwrap();
            assert!(html.contains(&format!("{label}: enter a date")), "{query}");
            for download in ["statement.csv", "statement.pdf"] {
                let response = app
                    .get_with(&client, &format!("{base}/{download}?{query}"))
                    .await;
                assert_eq!(response.status(), 400, "{download}?{query}");
                let text = response.text().await.unwrap();
                assert!(
                    text.contains(&format!("{label}: enter a date")),
                    "{download}: {text}"
                );
            }
        }
        // Invoice list filters: server function, page and CSV.
        for (field, label) in [
            ("issued_from", "Issued from"),
            ("issued_to", "Issued to"),
            ("due_from", "Due from"),
            ("due_to", "Due to"),
        ] {
            let query = format!("{field}={}", enc(date));
            let response = app
                .server_fn(
                    &client,
                    "invoice_list",
                    &[("customer_id", &customer_id.to_string()), ("query", &query)],
                )
                .await;
            assert_eq!(response.status(), 400, "invoice_list {query}");
            let view: Value = response.json().await.unwrap();
            let error = view["error"].as_str().unwrap_or_default();
            assert!(
                error.starts_with(&format!("{label}: enter a date")) && error.contains("9999"),
                "{query}: {error}"
            );
            assert_eq!(view["rows"].as_array().map(Vec::len), Some(0));
            for path in ["invoices", "invoices.csv"] {
                let response = app
                    .get_with(&client, &format!("{base}/{path}?{query}"))
                    .await;
                assert_eq!(response.status(), 400, "{path}?{query}");
            }
        }
    }
    // The payment history has no date filter: a date in its query is
    // ignored (no path from it to date arithmetic), the page lists as usual.
    let response = app
        .get_with(
            &client,
            &format!(
                "{base}/payments?from=-262144-01-01&to=%2B262142-12-31&page=99999999999999999999"
            ),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Payment history"));

    // The ends of the range still work. A statement to 9999-12-31 (nothing
    // happens after today) has the closing balance and open invoices of one
    // to today: its queries still count every payment up to the end of `to`.
    let today = app.services.today();
    let year_ago = (today - chrono::Duration::days(364)).to_string();
    let until_today = statement(&app, &client, customer_id, &year_ago, &today.to_string()).await;
    let until_9999 = statement(&app, &client, customer_id, "9998-01-01", "9999-12-31").await;
    let first = statement(&app, &client, customer_id, "1900-01-01", "1901-12-31").await;
    assert!(first["error"].is_null());
    let sums = |view: &Value| -> Vec<(Value, Value, Value)> {
        view["currencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["currency"].clone(),
                    c["closing"].clone(),
                    c["unapplied"].clone(),
                )
            })
            .collect()
    };
    assert!(!sums(&until_today).is_empty());
    assert_eq!(sums(&until_today), sums(&until_9999));
    for download in ["statement.csv", "statement.pdf"] {
        let response = app
            .get_with(
                &client,
                &format!("{base}/{download}?from=9998-01-01&to=9999-12-31"),
            )
            .await;
        assert_eq!(response.status(), 200, "{download}");
    }
}

async fn statement(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    from: &str,
    to: &str,
) -> Value {
    let response = app.statement_fn(client, customer_id, from, to).await;
    assert_eq!(response.status(), 200, "{from}..{to}");
    response.json().await.unwrap()
}

/// Query-string encoding of a date (`+` would read as a space).
fn enc(date: &str) -> String {
    date.replace('+', "%2B")
}

// ---- Item 7: the client IP behind a proxy ----------------------------------

async fn ask_for_link(app: &TestApp, forwarded_for: &str, email: &str) -> u16 {
    app.client
        .post(app.url("/auth/sign-in"))
        .header(ORIGIN, &app.address)
        .header("x-forwarded-for", forwarded_for)
        .form(&[("email", email)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The test connects from 127.0.0.1, the default trusted proxy (loopback):
/// it plays a reverse proxy on the same host, which appends the address it
/// saw to whatever X-Forwarded-For the client sent.
async fn a_client_rotating_a_spoofed_forwarded_for_still_gets_429(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.env.push(("PORTAL_TRUST_PROXY", "true".into()));
    options.env.push(("PORTAL_SIGN_IN_IP_BURST", "3".into()));
    options
        .env
        .push(("PORTAL_SIGN_IN_IP_REFILL_SECONDS", "3600".into()));
    let app = spawn_app_with(options).await;
    // A different email each time: the per-email limit never speaks here.
    let mut n = 0;
    let mut email = || {
        n += 1;
        format!("person{n}@example.com")
    };
    for spoof in ["198.51.100.1", "198.51.100.2", "10.0.0.1"] {
        let xff = format!("{spoof}, 203.0.113.7");
        assert_eq!(ask_for_link(&app, &xff, &email()).await, 303, "{xff}");
    }
    for spoof in ["198.51.100.4", "::1", "127.0.0.1", "garbage"] {
        let xff = format!("{spoof}, 203.0.113.7");
        assert_eq!(ask_for_link(&app, &xff, &email()).await, 429, "{xff}");
    }
    // Recorded as the address the proxy saw, not the one the client wrote.
    let ips: Vec<Option<String>> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT ip FROM sign_in_requests")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(ips.len(), 3);
    assert!(
        ips.iter().all(|ip| ip.as_deref() == Some("203.0.113.7")),
        "{ips:?}"
    );

    // Another client behind the same proxy has its own budget.
    assert_eq!(ask_for_link(&app, "203.0.113.8", &email()).await, 303);
    // An IPv6 client is one client per /64: rotating within it does not help.
    for xff in [
        "2001:db8:a:b::1",
        "2001:db8:a:b::2",
        "2001:db8:a:b:ffff:ffff:ffff:ffff",
    ] {
        assert_eq!(ask_for_link(&app, xff, &email()).await, 303, "{xff}");
    }
    assert_eq!(ask_for_link(&app, "2001:db8:a:b::99", &email()).await, 429);
    assert_eq!(ask_for_link(&app, "2001:db8:a:c::1", &email()).await, 303);
}

// ---- Item 14: tokens in the outbox ------------------------------------------

async fn outbox_bodies(app: &TestApp) -> Vec<(String, String, String)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as("SELECT status, text_body, html_body FROM email_outbox ORDER BY email_id")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
}

async fn sent_emails_keep_no_live_token_in_the_outbox_and_their_links_still_work(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;

    // A sign-in link.
    assert_eq!(app.request_link("ap@northwind.example").await.status(), 303);
    assert_eq!(app.worker.deliver_due().await.unwrap(), 1);
    let mail = app.smtp.messages_to("ap@northwind.example").remove(0);
    let token = mail.token();
    assert!(token.len() >= 40, "{token}");
    let rows = outbox_bodies(&app).await;
    assert_eq!(rows.len(), 1);
    for (status, text, html) in &rows {
        assert_eq!(status, "sent");
        assert!(!text.contains(&token) && !html.contains(&token), "{text}");
        assert!(text.contains("/auth/confirm?token=[redacted]"), "{text}");
    }
    // The dev mailbox lists the sent mail with its link redacted.
    let mailbox = app.get("/dev/mailbox").await.text().await.unwrap();
    assert!(mailbox.contains("token=[redacted]") && !mailbox.contains(&token));
    // The link in the mail still signs in.
    let response = app
        .post_form_with(&new_client(), "/auth/confirm", &[("token", &token)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");

    // An invoice link (the "email me a fresh link" of an expired one).
    let customer_id = app.customer_id("Northwind Traders").await;
    let number: String = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar(
            "SELECT number FROM invoices WHERE customer_id = $1 AND balance_minor > 0 ORDER BY due_date DESC LIMIT 1",
        )
        .bind(customer_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
    };
    let old = app
        .services
        .create_invoice_link(&number, None, "test")
        .await
        .unwrap();
    app.clock
        .advance(old.expires_at - app.clock.now_for_tests() + chrono::Duration::seconds(1));
    let old_path = old.url.strip_prefix(&app.address).unwrap().to_owned();
    let response = app
        .post_form_with(&new_client(), &format!("{old_path}/fresh"), &[])
        .await;
    assert_eq!(location(&response), "/invoice-link?state=sent");
    let contacts: Vec<String> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar(
            "SELECT c.email FROM contacts c JOIN customer_contacts cc ON cc.contact_id = c.contact_id WHERE cc.customer_id = $1",
        )
        .bind(customer_id)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };
    let queued = app
        .count("SELECT COUNT(*) FROM email_outbox WHERE status = 'pending'")
        .await;
    assert_eq!(queued as usize, contacts.len());
    assert_eq!(app.worker.deliver_due().await.unwrap(), contacts.len());
    let rows = outbox_bodies(&app).await;
    assert!(rows.iter().all(|(status, _, _)| status == "sent"));
    assert_eq!(
        rows.iter()
            .filter(|(_, text, _)| text.contains("/i/[redacted]"))
            .count(),
        contacts.len()
    );
    for contact in &contacts {
        let fresh = app.smtp.messages_to(contact).pop().unwrap();
        assert!(fresh.subject.contains(&number), "{}", fresh.subject);
        let link = fresh.link();
        let path = link.strip_prefix(&app.address).unwrap().to_owned();
        let invoice_token = path.trim_start_matches("/i/").to_owned();
        assert!(invoice_token.len() >= 40, "{link}");
        for (_, text, html) in &rows {
            assert!(
                !text.contains(&invoice_token) && !html.contains(&invoice_token),
                "{text}"
            );
        }
        // Opening it: a page whose button (a POST) opens the invoice.
        let visitor = new_client();
        assert_eq!(app.get_with(&visitor, &path).await.status(), 200);
        let response = app.post_form_with(&visitor, &path, &[]).await;
        assert_eq!(response.status(), 303);
        assert!(
            location(&response).starts_with(&format!("/accounts/{customer_id}/invoices/")),
            "the link in the mail opens the invoice: {}",
            location(&response)
        );
    }
}

/// After the last failed attempt the mail will never leave: its row keeps
/// the error for AR, not the link.
async fn an_email_given_up_on_keeps_no_live_token_either(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    app.smtp.refuse_mail(true);
    assert_eq!(app.request_link("ap@northwind.example").await.status(), 303);
    let token_hint = "/auth/confirm?token=";
    for attempt in 1..=portal_core::email::worker::MAX_ATTEMPTS {
        assert_eq!(
            app.worker.deliver_due().await.unwrap(),
            1,
            "attempt {attempt}"
        );
        let (status, text, _) = outbox_bodies(&app).await.remove(0);
        if attempt < portal_core::email::worker::MAX_ATTEMPTS {
            // Still to be sent: the link is whole.
            assert_eq!(status, "pending");
            assert!(!text.contains(&format!("{token_hint}[redacted]")), "{text}");
        }
        app.clock.advance(chrono::Duration::minutes(31));
    }
    assert_eq!(app.worker.deliver_due().await.unwrap(), 0);
    assert_eq!(app.smtp.count(), 0);
    let (status, text, html) = outbox_bodies(&app).await.remove(0);
    assert_eq!(status, "failed");
    assert!(text.contains(&format!("{token_hint}[redacted]")), "{text}");
    assert!(html.contains(&format!("{token_hint}[redacted]")), "{html}");
}

/// Without SMTP_URL (development only: production refuses to start without
/// it) the outbox row *is* the delivered mail, read at /dev/mailbox, so the
/// dev transport keeps its link.
async fn the_dev_mailbox_transport_keeps_the_link_for_the_local_developer(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    let dev = OutboxWorker {
        transport: Arc::new(DevMailbox),
        ..app.worker.clone()
    };
    assert_eq!(app.request_link("ap@northwind.example").await.status(), 303);
    assert_eq!(dev.deliver_due().await.unwrap(), 1);
    assert_eq!(app.smtp.count(), 0);
    let rows = outbox_bodies(&app).await;
    assert_eq!(rows[0].0, "sent");
    let html = app.get("/dev/mailbox").await.text().await.unwrap();
    let link = rows[0]
        .1
        .split_whitespace()
        .find(|w| w.contains("/auth/confirm?token="))
        .unwrap()
        .to_owned();
    assert!(!link.contains("[redacted]"), "{link}");
    assert!(html.contains(&link), "the mailbox offers the link");
    let token = link.split("token=").nth(1).unwrap();
    let response = app
        .post_form_with(&new_client(), "/auth/confirm", &[("token", token)])
        .await;
    assert_eq!(location(&response), "/");
}

/// The operator's dates follow the same rule, and a bad proxy list stops
/// start-up naming its variable.
#[test]
fn the_command_line_refuses_dates_out_of_range_and_bad_proxy_lists() {
    let dir = tempfile::tempdir().unwrap();
    let portal = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portal"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/cli.db", dir.path().display()),
            )
            .env("RUST_LOG", "error")
            .current_dir(dir.path());
        cmd
    };
    for args in [
        &[
            "invoice-link",
            "--invoice",
            "INV-1",
            "--valid-until",
            "+262142-12-31",
        ][..],
        &["stripe-reconcile", "--since", "1899-12-31"][..],
    ] {
        let out = portal().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("enter a date as YYYY-MM-DD, from 1900-01-01 to 9999-12-31"),
            "{stderr}"
        );
    }
    let out = portal()
        .env("PORTAL_TRUSTED_PROXIES", "10.0.0.0/33")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("configuration error: PORTAL_TRUSTED_PROXIES:"),
        "{stderr}"
    );
}
