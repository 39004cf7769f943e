//! Paying: the Stripe adapter against a fake Stripe API, webhook signatures
//! (Stripe's own vectors), a ledger that survives duplicated and shuffled
//! events, a crash between storing and applying, and two payments racing
//! for one balance.

use portal_core::services::payments::Payer;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::fake_stripe::FakeStripe;
use crate::helpers::{location, spawn_app_with, AppOptions, Backend, TestApp};
use crate::on_both_databases;
use portal_core::domain::{Currency, Money};
use portal_core::payments::signature;
use portal_core::services::payments::PaymentDraft;

on_both_databases!(
    stripe_adapter_sends_amounts_methods_metadata_and_idempotency_keys,
    webhook_verdicts_equal_stripes_vectors_and_a_tampered_body_changes_nothing,
    events_delivered_three_times_in_any_order_give_the_expected_ledger,
    an_event_stored_before_a_crash_is_applied_once_after_restart,
    two_payments_for_one_balance_one_proceeds_the_other_is_told_why,
    the_sandbox_flow_from_pay_page_to_receipt_over_http,
    an_abandoned_checkout_releases_its_hold_when_it_expires,
    viewers_cannot_pay,
);

pub(crate) const PAYER: &str = "payables@northwind.example";

/// Open USD invoices of Northwind: (id, number, balance).
pub(crate) async fn open_invoices(app: &TestApp) -> Vec<(i64, String, i64)> {
    let customer_id = app.customer_id("Northwind Traders").await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT invoice_id, number, balance_minor FROM invoices
         WHERE customer_id = $1 AND currency = 'USD' AND balance_minor > 100 AND pending_minor = 0 AND voided_at IS NULL
         ORDER BY invoice_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

pub(crate) async fn invoice_state(app: &TestApp, invoice_id: i64) -> (i64, i64) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT balance_minor, pending_minor FROM invoices WHERE invoice_id = $1",
    )
    .bind(invoice_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

pub(crate) async fn payment_state(app: &TestApp, payment_id: i64) -> (String, i64, bool) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (status, refunded, disputed) = sqlx::query_as::<_, (String, i64, Option<String>)>(
        "SELECT status, refunded_minor, disputed_at FROM payments WHERE payment_id = $1",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    (status, refunded, disputed.is_some())
}

pub(crate) async fn contact_id(app: &TestApp, email: &str) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT contact_id FROM contacts WHERE email = $1")
        .bind(email)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

pub(crate) fn decimal(minor: i64) -> String {
    Money::new(minor, Currency::USD).decimal_string()
}

pub(crate) fn draft(lines: &[(i64, i64)], method: &str) -> PaymentDraft {
    PaymentDraft {
        amounts: lines
            .iter()
            .map(|(id, minor)| (*id, decimal(*minor)))
            .collect(),
        credit_note_ids: vec![],
        method: method.into(),
        receipt_email: PAYER.into(),
    }
}

/// Starts a payment through the service (sandbox gateway); returns its id
/// and checkout session id.
pub(crate) async fn start(app: &TestApp, lines: &[(i64, i64)], method: &str) -> (i64, String) {
    let customer_id = app.customer_id("Northwind Traders").await;
    let contact = contact_id(app, PAYER).await;
    let key = format!("test-attempt-{:016x}", rand::random::<u64>());
    app.services
        .start_payment(
            Payer::Contact(contact),
            customer_id,
            &draft(lines, method),
            &key,
            None,
        )
        .await
        .expect("payment starts")
        .expect("nothing in the way");
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, String)>(
        "SELECT payment_id, gateway_session_id FROM payments WHERE attempt_key = $1",
    )
    .bind(&key)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

fn session(session_id: &str, payment_id: i64, status: &str, payment_status: &str) -> Value {
    json!({
        "id": session_id, "object": "checkout.session", "status": status,
        "payment_status": payment_status, "payment_intent": format!("pi_test_{payment_id}"),
        "metadata": {"portal_payment_id": payment_id.to_string()}, "mode": "payment"
    })
}

pub(crate) fn event(id: String, event_type: &str, created: i64, object: Value) -> String {
    json!({"id": id, "object": "event", "type": event_type, "created": created,
           "api_version": "2023-10-16", "livemode": false, "data": {"object": object}})
    .to_string()
}

pub(crate) async fn deliver(app: &TestApp, body: &str) -> reqwest::Response {
    let header = signature::sign(
        body.as_bytes(),
        &app.services.config.stripe_webhook_secret,
        app.clock.now_for_tests().timestamp(),
    );
    app.client
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", header)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// Applies everything stored, moving the clock past retry backoffs.
pub(crate) async fn settle(app: &TestApp) {
    for _ in 0..40 {
        app.services.process_all_due_events().await.unwrap();
        let waiting = app
            .count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL")
            .await;
        if waiting == 0 {
            return;
        }
        app.clock.advance(chrono::Duration::minutes(2));
    }
    panic!("events still waiting");
}

async fn stripe_adapter_sends_amounts_methods_metadata_and_idempotency_keys(backend: Backend) {
    let fake = FakeStripe::start().await;
    let mut options = AppOptions::new(backend);
    options
        .env
        .push(("STRIPE_SECRET_KEY", "sk_test_portal_fake".into()));
    options
        .env
        .push(("STRIPE_WEBHOOK_SECRET", "whsec_test_portal".into()));
    options.env.push(("STRIPE_API_BASE", fake.base.clone()));
    let app = spawn_app_with(options).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoices = open_invoices(&app).await;
    let (a, b) = (&invoices[0], &invoices[1]);
    let client = app.signed_in_client(PAYER).await;
    let path = format!("/accounts/{customer_id}/payments");
    let (amount_a, amount_b) = (decimal(a.2), decimal(100));
    let (id_a, id_b) = (a.0.to_string(), b.0.to_string());
    let form = |attempt: &'static str, method: &'static str| {
        vec![
            ("invoice", id_a.clone()),
            (
                Box::leak(format!("amount_{}", a.0).into_boxed_str()) as &str,
                amount_a.clone(),
            ),
            ("invoice", id_b.clone()),
            (
                Box::leak(format!("amount_{}", b.0).into_boxed_str()) as &str,
                amount_b.clone(),
            ),
            ("method", method.to_owned()),
            ("email", PAYER.to_owned()),
            ("attempt", attempt.to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = app.url(&path);
        let origin = app.address.clone();
        async move {
            client
                .post(url)
                .header("origin", origin)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };

    let first = send(form("attempt-card-0000000001", "card")).await;
    assert_eq!(first.status(), 303);
    let checkout_url = location(&first);
    assert!(
        checkout_url.starts_with("https://checkout.stripe.test/c/pay/cs_fake_"),
        "{checkout_url}"
    );

    let customers = fake.requests("POST", "/v1/customers");
    assert_eq!(customers.len(), 1);
    assert_eq!(
        customers[0].headers["idempotency-key"],
        format!("portal-customer-{customer_id}")
    );
    assert_eq!(
        customers[0].headers["authorization"],
        "Bearer sk_test_portal_fake"
    );
    let sessions = fake.requests("POST", "/v1/checkout/sessions");
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(
        s.headers["idempotency-key"],
        "portal-checkout-attempt-card-0000000001"
    );
    assert_eq!(s.headers["stripe-version"], "2023-10-16");
    assert_eq!(s.field("mode"), Some("payment"));
    assert_eq!(s.field("payment_method_types[0]"), Some("card"));
    assert_eq!(s.field("payment_method_types[1]"), None);
    assert!(s.field("customer").unwrap().starts_with("cus_fake_"));
    // One line per invoice, in cents, in the invoices' currency.
    let mut units: Vec<i64> = (0..2)
        .map(|i| {
            s.field(&format!("line_items[{i}][price_data][unit_amount]"))
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    units.sort();
    let mut expected = vec![a.2, 100];
    expected.sort();
    assert_eq!(units, expected);
    assert_eq!(s.field("line_items[0][price_data][currency]"), Some("usd"));
    assert_eq!(s.field("line_items[0][quantity]"), Some("1"));
    let payment_id: i64 = s
        .field("metadata[portal_payment_id]")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        s.field("payment_intent_data[metadata][portal_payment_id]"),
        Some(payment_id.to_string().as_str())
    );
    assert_eq!(s.field("payment_intent_data[receipt_email]"), Some(PAYER));
    // Both URLs carry the payment's random return key (ids are guessable).
    let success_url = s.field("success_url").unwrap().to_owned();
    let (_, success_query) = success_url
        .split_once(&format!("/payments/{payment_id}/return?key="))
        .expect("success URL");
    let (return_key, rest) = success_query.split_once('&').unwrap();
    assert_eq!(rest, "session_id={CHECKOUT_SESSION_ID}");
    assert!(return_key.len() >= 43, "{return_key}");
    assert!(s
        .field("cancel_url")
        .unwrap()
        .ends_with(&format!("/payments/{payment_id}/cancel?key={return_key}")));
    assert_eq!(
        invoice_state(&app, b.0).await.1,
        100,
        "the amount is held while the checkout is open"
    );

    // A double click (same form, same key) goes to the same checkout.
    let again = send(form("attempt-card-0000000001", "card")).await;
    assert_eq!(location(&again), checkout_url);
    assert_eq!(fake.requests("POST", "/v1/checkout/sessions").len(), 1);

    // ACH asks Stripe for us_bank_account (another invoice, another attempt).
    let c = &invoices[2];
    let ach = send(vec![
        ("invoice", c.0.to_string()),
        (
            Box::leak(format!("amount_{}", c.0).into_boxed_str()) as &str,
            "5.00".into(),
        ),
        ("method", "ach".into()),
        ("email", PAYER.into()),
        ("attempt", "attempt-ach-00000000002".into()),
    ])
    .await;
    assert_eq!(ach.status(), 303);
    let sessions = fake.requests("POST", "/v1/checkout/sessions");
    assert_eq!(sessions.len(), 2);
    assert_eq!(
        sessions[1].field("payment_method_types[0]"),
        Some("us_bank_account")
    );
    assert_eq!(
        sessions[1].field("line_items[0][price_data][unit_amount]"),
        Some("500")
    );
    assert_eq!(
        fake.requests("POST", "/v1/customers").len(),
        1,
        "one Stripe customer per portal customer"
    );

    // An event that never arrived as a webhook is found by reconcile.
    let card_session = checkout_url.rsplit('/').next().unwrap().to_owned();
    let since = app.clock.now_for_tests() - chrono::Duration::days(1);
    fake.complete(&card_session, "paid", app.clock.now_for_tests().timestamp());
    let (listed, new, _) = app.services.reconcile_events(since).await.unwrap();
    assert_eq!((listed, new), (1, 1));
    assert_eq!(payment_state(&app, payment_id).await.0, "succeeded");
    assert_eq!(invoice_state(&app, a.0).await, (0, 0));
    assert_eq!(invoice_state(&app, b.0).await, (b.2 - 100, 0));
    let (_, new_again, _) = app.services.reconcile_events(since).await.unwrap();
    assert_eq!(new_again, 0);
    assert_eq!(
        invoice_state(&app, b.0).await,
        (b.2 - 100, 0),
        "counted once"
    );

    // "Back" from Checkout expires the session at Stripe and releases the hold.
    let ach_payment: i64 = sessions[1]
        .field("metadata[portal_payment_id]")
        .unwrap()
        .parse()
        .unwrap();
    // "Back" from Checkout (a GET) changes nothing and asks Stripe nothing:
    // it shows the payment, whose page offers "Cancel this payment" (a POST).
    let cancel_url = sessions[1].field("cancel_url").unwrap().to_owned();
    let cancel_path = cancel_url.strip_prefix(&app.address).unwrap();
    let back = app.get_with(&client, cancel_path).await;
    assert_eq!(back.status(), 303);
    assert_eq!(
        location(&back),
        format!("/accounts/{customer_id}/payments/{ach_payment}")
    );
    assert_eq!(payment_state(&app, ach_payment).await.0, "pending");
    let cancel_action = format!("/accounts/{customer_id}/payments/{ach_payment}/cancel");
    for guessed in [cancel_action.clone(), format!("{cancel_action}?key=guess")] {
        assert_eq!(
            app.get_with(&client, &guessed).await.status(),
            404,
            "{guessed}"
        );
    }
    let ach_session: String = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT gateway_session_id FROM payments WHERE payment_id = $1")
            .bind(ach_payment)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let expire_path = format!("/v1/checkout/sessions/{ach_session}/expire");
    assert_eq!(fake.requests("POST", &expire_path).len(), 0);
    let back = app.post_form_with(&client, &cancel_action, &[]).await;
    assert_eq!(back.status(), 303);
    assert_eq!(
        fake.requests(
            "POST",
            &format!("/v1/checkout/sessions/{ach_session}/expire")
        )
        .len(),
        1
    );
    assert_eq!(payment_state(&app, ach_payment).await.0, "canceled");
    assert_eq!(invoice_state(&app, c.0).await, (c.2, 0));
}

async fn webhook_verdicts_equal_stripes_vectors_and_a_tampered_body_changes_nothing(
    backend: Backend,
) {
    let text = include_str!("../../../tests/fixtures/stripe/signature_vectors.json");
    let vectors: Value = serde_json::from_str(text).unwrap();
    let vectors = vectors["vectors"].as_array().unwrap();
    let secret = vectors[0]["secret"].as_str().unwrap().to_owned();
    let mut options = AppOptions::new(backend);
    options.env.push(("STRIPE_WEBHOOK_SECRET", secret));
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    // Stand at the vectors' `now`.
    let now = vectors[0]["now"].as_i64().unwrap();
    app.clock.advance(chrono::Duration::seconds(
        now - app.clock.now_for_tests().timestamp(),
    ));
    for v in vectors {
        let before = app.count("SELECT COUNT(*) FROM webhook_events").await;
        let response = app
            .client
            .post(app.url("/webhooks/stripe"))
            .header("stripe-signature", v["stripe_signature"].as_str().unwrap())
            .body(v["payload"].as_str().unwrap().to_owned())
            .send()
            .await
            .unwrap();
        let valid = v["valid"].as_bool().unwrap();
        let status = response.status();
        let answer = response.text().await.unwrap();
        assert_eq!(
            status.is_success(),
            valid,
            "case {}: {status} {answer}",
            v["case"]
        );
        if !valid {
            assert_eq!(status, 400, "case {}", v["case"]);
            assert_eq!(
                app.count("SELECT COUNT(*) FROM webhook_events").await,
                before,
                "case {}",
                v["case"]
            );
        }
    }
    // Both valid vectors carry evt_1: stored once.
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_events").await, 1);
}

#[derive(Clone, Copy, Debug)]
enum Scenario {
    CardPaid,
    DeclinedThenPaid,
    AchSettled,
    AchFailed,
    AchReturnedIntent,
    Expired,
    PartRefunds,
    FullRefund,
    Disputed,
}

async fn events_delivered_three_times_in_any_order_give_the_expected_ledger(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let seed: u64 = std::env::var("LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("LEDGER_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let scenarios = [
        Scenario::CardPaid,
        Scenario::DeclinedThenPaid,
        Scenario::AchSettled,
        Scenario::AchFailed,
        Scenario::AchReturnedIntent,
        Scenario::Expired,
        Scenario::PartRefunds,
        Scenario::FullRefund,
        Scenario::Disputed,
    ];
    let invoices = open_invoices(&app).await;
    let count = 18.min(invoices.len());
    let base = app.clock.now_for_tests().timestamp();
    let mut deliveries = Vec::new();
    let mut expected = Vec::new();
    for (n, (invoice_id, _, balance)) in invoices.iter().take(count).enumerate() {
        let scenario = scenarios[n % scenarios.len()];
        let amount = rng.random_range(1..=*balance);
        let method = match scenario {
            Scenario::AchSettled | Scenario::AchFailed | Scenario::AchReturnedIntent => "ach",
            _ => "card",
        };
        let (pid, sid) = start(&app, &[(*invoice_id, amount)], method).await;
        let id = |k: &str| format!("evt_{pid}_{k}");
        let completed =
            |paid: bool| session(&sid, pid, "complete", if paid { "paid" } else { "unpaid" });
        let charge = |refunded: i64| {
            json!({"id": format!("ch_{pid}"), "object": "charge", "amount": amount,
                   "amount_refunded": refunded, "payment_intent": format!("pi_test_{pid}")})
        };
        let intent_failed = json!({"id": format!("pi_test_{pid}"), "object": "payment_intent",
            "metadata": {"portal_payment_id": pid.to_string()},
            "last_payment_error": {"message": "Your card was declined."}});
        let (events, status, refunded, disputed) = match scenario {
            Scenario::CardPaid => (
                vec![event(
                    id("c"),
                    "checkout.session.completed",
                    base + 1,
                    completed(true),
                )],
                "succeeded",
                0,
                false,
            ),
            Scenario::DeclinedThenPaid => (
                vec![
                    event(
                        id("f"),
                        "payment_intent.payment_failed",
                        base + 1,
                        intent_failed.clone(),
                    ),
                    event(
                        id("c"),
                        "checkout.session.completed",
                        base + 2,
                        completed(true),
                    ),
                ],
                "succeeded",
                0,
                false,
            ),
            Scenario::AchSettled => (
                vec![
                    event(
                        id("c"),
                        "checkout.session.completed",
                        base + 1,
                        completed(false),
                    ),
                    event(
                        id("s"),
                        "checkout.session.async_payment_succeeded",
                        base + 2,
                        completed(true),
                    ),
                ],
                "succeeded",
                0,
                false,
            ),
            Scenario::AchFailed => (
                vec![
                    event(
                        id("c"),
                        "checkout.session.completed",
                        base + 1,
                        completed(false),
                    ),
                    event(
                        id("x"),
                        "checkout.session.async_payment_failed",
                        base + 2,
                        completed(false),
                    ),
                ],
                "failed",
                0,
                false,
            ),
            Scenario::AchReturnedIntent => (
                vec![
                    event(
                        id("c"),
                        "checkout.session.completed",
                        base + 1,
                        completed(false),
                    ),
                    event(
                        id("x"),
                        "checkout.session.async_payment_failed",
                        base + 3,
                        completed(false),
                    ),
                    event(
                        id("f"),
                        "payment_intent.payment_failed",
                        base + 2,
                        intent_failed.clone(),
                    ),
                ],
                "failed",
                0,
                false,
            ),
            Scenario::Expired => (
                vec![event(
                    id("e"),
                    "checkout.session.expired",
                    base + 1,
                    session(&sid, pid, "expired", "unpaid"),
                )],
                "canceled",
                0,
                false,
            ),
            Scenario::PartRefunds => {
                let (first, second) = (amount / 3, amount / 2);
                (
                    vec![
                        event(
                            id("c"),
                            "checkout.session.completed",
                            base + 1,
                            completed(true),
                        ),
                        event(id("r1"), "charge.refunded", base + 2, charge(first)),
                        event(id("r2"), "charge.refunded", base + 3, charge(second)),
                    ],
                    if second >= amount {
                        "refunded"
                    } else {
                        "succeeded"
                    },
                    second,
                    false,
                )
            }
            Scenario::FullRefund => (
                vec![
                    event(
                        id("c"),
                        "checkout.session.completed",
                        base + 1,
                        completed(true),
                    ),
                    event(id("r"), "charge.refunded", base + 2, charge(amount)),
                ],
                "refunded",
                amount,
                false,
            ),
            Scenario::Disputed => (
                vec![
                    event(
                        id("c"),
                        "checkout.session.completed",
                        base + 1,
                        completed(true),
                    ),
                    event(
                        id("d"),
                        "charge.dispute.created",
                        base + 2,
                        json!({"id": format!("dp_{pid}"), "object": "dispute", "charge": format!("ch_{pid}"),
                                 "payment_intent": format!("pi_test_{pid}"), "reason": "fraudulent"}),
                    ),
                ],
                "succeeded",
                0,
                true,
            ),
        };
        for e in events {
            for _ in 0..3 {
                deliveries.push(e.clone());
            }
        }
        let net_paid = if matches!(status, "succeeded" | "refunded") {
            amount - refunded
        } else {
            0
        };
        expected.push((
            pid,
            *invoice_id,
            balance - net_paid,
            status,
            refunded,
            disputed,
        ));
    }
    deliveries.shuffle(&mut rng);
    for body in &deliveries {
        assert_eq!(deliver(&app, body).await.status(), 200);
    }
    settle(&app).await;
    for (pid, invoice_id, balance, status, refunded, disputed) in expected {
        assert_eq!(
            payment_state(&app, pid).await,
            (status.to_owned(), refunded, disputed),
            "payment {pid} (seed {seed})"
        );
        assert_eq!(
            invoice_state(&app, invoice_id).await,
            (balance, 0),
            "invoice {invoice_id} (seed {seed})"
        );
    }
    // AR sees the chargeback flagged.
    let staff = app.signed_in_staff_client().await;
    let overview = app
        .get_with(&staff, "/staff/payments")
        .await
        .text()
        .await
        .unwrap();
    assert!(overview.contains("Disputed"), "{overview}");
    // Every distinct event stored once, and applied.
    let distinct: std::collections::HashSet<&String> = deliveries.iter().collect();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL")
            .await,
        distinct.len() as i64
    );
}

async fn an_event_stored_before_a_crash_is_applied_once_after_restart(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false; // the process that will "die"
    options
        .env
        .push(("STRIPE_WEBHOOK_SECRET", "whsec_test_restart".into()));
    let first = spawn_app_with(options).await;
    let invoice = open_invoices(&first).await[0].clone();
    let (pid, sid) = start(&first, &[(invoice.0, invoice.2)], "card").await;
    let body = event(
        format!("evt_{pid}_paid"),
        "checkout.session.completed",
        1,
        session(&sid, pid, "complete", "paid"),
    );
    assert_eq!(deliver(&first, &body).await.status(), 200);
    assert_eq!(
        payment_state(&first, pid).await.0,
        "pending",
        "stored, not yet applied"
    );

    // Restart: a new process on the same database, workers running.
    let mut options = AppOptions::new(backend);
    options.database_url = Some(first.database_url.clone());
    options.seed = false;
    options.smtp = Some(first.smtp.clone());
    options
        .env
        .push(("STRIPE_WEBHOOK_SECRET", "whsec_test_restart".into()));
    let second = spawn_app_with(options).await;
    for _ in 0..100 {
        if payment_state(&second, pid).await.0 == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(payment_state(&second, pid).await.0, "succeeded");
    // Stripe redelivers it, and the dead process's lease runs out: still once.
    assert_eq!(deliver(&second, &body).await.status(), 200);
    first.services.process_all_due_events().await.unwrap();
    second.services.process_all_due_events().await.unwrap();
    assert_eq!(invoice_state(&second, invoice.0).await, (0, 0));
    let mail = second.smtp.wait_for(PAYER, 1).await;
    assert!(
        mail.subject.contains(&format!("PAY-{pid}")),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains(&invoice.1));
    assert!(mail.html.contains(&invoice.1));
    // Both processes have applied everything due: one receipt was queued.
    assert_eq!(
        second
            .count(&format!(
                "SELECT COUNT(*) FROM email_outbox WHERE to_address = '{PAYER}' AND subject LIKE '%PAY-{pid} %'"
            ))
            .await,
        1,
        "one receipt"
    );
    assert_eq!(
        second
            .count(&format!("SELECT COUNT(*) FROM audit_events WHERE action = 'payment.succeeded' AND subject = 'payment:{pid}'"))
            .await,
        1
    );
}

async fn two_payments_for_one_balance_one_proceeds_the_other_is_told_why(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoice = open_invoices(&app).await[0].clone();
    let tab_one = app.signed_in_client(PAYER).await;
    let tab_two = app.signed_in_client("ap@northwind.example").await;
    let pay = |client: reqwest::Client, attempt: &'static str| {
        let url = app.url(&format!("/accounts/{customer_id}/payments"));
        let origin = app.address.clone();
        let fields = vec![
            ("invoice".to_owned(), invoice.0.to_string()),
            (format!("amount_{}", invoice.0), decimal(invoice.2)),
            ("method".to_owned(), "card".to_owned()),
            ("email".to_owned(), PAYER.to_owned()),
            ("attempt".to_owned(), attempt.to_owned()),
        ];
        async move {
            client
                .post(url)
                .header("origin", origin)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let (one, two) = tokio::join!(
        pay(tab_one, "tab-one-attempt-00000001"),
        pay(tab_two, "tab-two-attempt-00000002")
    );
    let mut targets = [location(&one), location(&two)];
    targets.sort();
    let refused = targets
        .iter()
        .find(|t| t.contains("/pay/review"))
        .expect("one is refused");
    let proceeded = targets
        .iter()
        .find(|t| t.contains("/sandbox/checkout/"))
        .expect("one proceeds");
    assert!(proceeded.contains("cs_sandbox_"));
    // The URL names the problem by a code; the page says it in words.
    let problem: String = url::Url::parse(&format!("http://x{refused}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "problem")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(problem, "changed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE status = 'pending'")
            .await,
        1
    );
    assert_eq!(invoice_state(&app, invoice.0).await, (invoice.2, invoice.2));
    // The refused tab's review page says so in words.
    let page = app
        .get_with(&app.signed_in_client(PAYER).await, refused)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already has a payment in progress"));
    // And the pay page says so before anything is typed.
    let pay_page = app
        .get_with(
            &app.signed_in_client(PAYER).await,
            &format!("/accounts/{customer_id}/pay?invoice={}", invoice.0),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        pay_page.contains("already has a payment in progress for its whole balance"),
        "{pay_page}"
    );
}

async fn the_sandbox_flow_from_pay_page_to_receipt_over_http(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoices = open_invoices(&app).await;
    let (a, b) = (&invoices[0], &invoices[1]);
    let client = app.signed_in_client(PAYER).await;

    let page = app
        .get_with(
            &client,
            &format!(
                "/accounts/{customer_id}/pay?invoice={}&invoice={}",
                a.0, b.0
            ),
        )
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("Amount to pay on invoice {}", a.1)));
    assert!(
        html.contains(&decimal(a.2)),
        "prefilled with the open balance"
    );

    let query = format!(
        "invoice={}&amount_{}={}&invoice={}&amount_{}=12.34&method=card&email={}",
        a.0,
        a.0,
        decimal(a.2),
        b.0,
        b.0,
        PAYER
    );
    let review = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/pay/review?{query}"),
        )
        .await
        .text()
        .await
        .unwrap();
    let total = Money::new(a.2 + 1234, Currency::USD).display();
    assert!(review.contains(&format!("Pay {total} by card")), "{review}");
    let attempt = review
        .split("name=\"attempt\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the review page carries an attempt key")
        .to_owned();

    // Too much is refused with a message, and nothing is held.
    let over = app
        .get_with(&client, &format!("/accounts/{customer_id}/pay/review?invoice={}&amount_{}={}&method=card&email={PAYER}", a.0, a.0, decimal(a.2 + 1)))
        .await
        .text()
        .await
        .unwrap();
    assert!(over.contains("you cannot pay more than that"), "{over}");

    let mut form: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    form.push(("attempt".into(), attempt));
    let pay = client
        .post(app.url(&format!("/accounts/{customer_id}/payments")))
        .header("origin", &app.address)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), 303);
    let checkout = location(&pay);
    let path = checkout.trim_start_matches(&app.address).to_owned();
    assert!(
        path.starts_with("/sandbox/checkout/cs_sandbox_"),
        "{checkout}"
    );
    let sandbox = app.get_with(&client, &path).await.text().await.unwrap();
    assert!(sandbox.contains("Test mode: no real money moves"));

    let done = client
        .post(app.url(&path))
        .header("origin", &app.address)
        .form(&[("outcome", "card_success")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let back = location(&done);
    assert!(
        back.contains("/return?key=") && back.contains("&session_id=cs_sandbox_"),
        "{back}"
    );
    let receipt_at = location(
        &app.get_with(&client, back.trim_start_matches(&app.address))
            .await,
    );
    let receipt = app
        .get_with(&client, &receipt_at)
        .await
        .text()
        .await
        .unwrap();
    assert!(receipt.contains("Payment receipt PAY-"), "{receipt}");
    assert!(receipt.contains("Succeeded"));
    assert_eq!(invoice_state(&app, a.0).await, (0, 0));
    assert_eq!(invoice_state(&app, b.0).await, (b.2 - 1234, 0));
    // The signed webhook the sandbox sent arrives too, and changes nothing more.
    for _ in 0..50 {
        if app
            .count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL")
            .await
            > 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(invoice_state(&app, b.0).await, (b.2 - 1234, 0));
    // The first email to the payer was the sign-in link; the second is the receipt.
    let mail = app.smtp.wait_for(PAYER, 2).await;
    assert!(mail.subject.starts_with("Receipt PAY-"), "{}", mail.subject);
    assert!(
        mail.text.contains(&a.1) && mail.text.contains(&b.1),
        "{}",
        mail.text
    );
}

async fn an_abandoned_checkout_releases_its_hold_when_it_expires(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    let invoice = open_invoices(&app).await[0].clone();
    let (pid, _) = start(&app, &[(invoice.0, invoice.2)], "card").await;
    assert_eq!(invoice_state(&app, invoice.0).await, (invoice.2, invoice.2));
    // Not yet: the checkout is open for 30 minutes.
    app.clock.advance(chrono::Duration::minutes(20));
    app.services.sweep_stale_checkouts().await.unwrap();
    assert_eq!(payment_state(&app, pid).await.0, "pending");
    // Past its expiry the gateway is asked, says expired, and the hold goes.
    app.clock.advance(chrono::Duration::minutes(20));
    app.services.sweep_stale_checkouts().await.unwrap();
    assert_eq!(payment_state(&app, pid).await.0, "canceled");
    assert_eq!(invoice_state(&app, invoice.0).await, (invoice.2, 0));
}

async fn viewers_cannot_pay(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoice = open_invoices(&app).await[0].clone();
    let viewer = app.signed_in_client("controller@northwind.example").await;
    let page = app
        .get_with(
            &viewer,
            &format!("/accounts/{customer_id}/pay?invoice={}", invoice.0),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("lets you view invoices but not pay them"),
        "{page}"
    );
    // Viewers are not offered the pay buttons; payers are.
    let payer = app.signed_in_client(PAYER).await;
    for (client, offered) in [(&viewer, false), (&payer, true)] {
        let list = app
            .get_with(client, &format!("/accounts/{customer_id}/invoices"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(list.contains("Pay selected"), offered);
        let detail = app
            .get_with(
                client,
                &format!("/accounts/{customer_id}/invoices/{}", invoice.0),
            )
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(detail.contains("Pay this invoice"), offered);
    }
    let pay = viewer
        .post(app.url(&format!("/accounts/{customer_id}/payments")))
        .header("origin", &app.address)
        .form(&[
            ("invoice", invoice.0.to_string()),
            (&format!("amount_{}", invoice.0), decimal(invoice.2)),
            ("method", "card".into()),
            ("email", "controller@northwind.example".into()),
            ("attempt", "viewer-attempt-000000001".into()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        location(&pay).contains("/pay/review?"),
        "refused back to the review page"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE status = 'pending'")
            .await,
        0
    );
    // Another customer's account is not found at all.
    let other = app.customer_id("Contoso Manufacturing").await;
    let response = app
        .get_with(
            &viewer,
            &format!("/accounts/{other}/pay?invoice={}", invoice.0),
        )
        .await;
    assert_eq!(response.status(), 404);
}
