//! Autopay's job against the local Stripe fake (issue 12 item 5): run
//! five times in a row and on two instances at once, each due invoice is
//! charged exactly once; a 500 then the next run makes one charge with the
//! same idempotency key; disputed amounts, paid invoices and invoices with
//! a payment in progress are not charged; a hard decline is not retried, a
//! soft one at most twice over four days; each outcome is emailed.

use chrono::Duration;

use crate::fake_stripe::FakeStripe;
use crate::helpers::{access_of, northwind, spawn_app_with, AppOptions, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{contact_id, PAYER};
use portal_core::repo::payment_methods::{insert_method, NewMethod};
use portal_core::services::autopay::{EnrolmentDraft, CONSENT_VERSION};

on_both_databases!(
    five_runs_in_a_row_charge_each_due_invoice_once,
    two_instances_at_once_charge_each_due_invoice_once,
    a_gateway_500_then_the_next_run_makes_one_charge_with_the_same_key,
    disputed_paid_and_in_progress_invoices_are_not_charged,
    a_hard_decline_is_not_retried,
    a_soft_decline_is_retried_at_most_twice_over_four_days,
    a_skipped_debit_is_not_charged_and_a_cancel_stops_autopay,
    the_sandbox_charges_by_its_test_methods_and_ach_settles_later,
    plan_scope_charges_each_due_instalment_once,
);

pub(crate) fn stripe_options(backend: Backend, fake: &FakeStripe) -> AppOptions {
    let mut options = AppOptions::new(backend);
    options
        .env
        .push(("STRIPE_SECRET_KEY", "sk_test_portal_fake".into()));
    options
        .env
        .push(("STRIPE_WEBHOOK_SECRET", "whsec_test_portal".into()));
    options.env.push(("STRIPE_API_BASE", fake.base.clone()));
    options
}

async fn exec(app: &TestApp, sql: &str, id: i64) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query(sql).bind(id).execute(&mut *conn).await.unwrap();
}

/// Moves every Northwind invoice's due date far away, then brings
/// `count` open USD invoices (no payment in flight) due `in_days` from
/// the clock's today: those are autopay's targets. Their ids.
async fn due_invoices(app: &TestApp, count: usize, in_days: i64) -> Vec<i64> {
    let customer = northwind(app).await;
    exec(
        app,
        "UPDATE invoices SET due_date = '2099-12-31' WHERE customer_id = $1",
        customer,
    )
    .await;
    let ids: Vec<i64> = crate::payments::open_invoices(app)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .take(count)
        .collect();
    assert_eq!(ids.len(), count, "enough open invoices in the demo data");
    let due = (app.clock.now_for_tests().date_naive() + Duration::days(in_days))
        .format("%Y-%m-%d")
        .to_string();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    for id in &ids {
        sqlx::query("UPDATE invoices SET due_date = $2 WHERE invoice_id = $1")
            .bind(id)
            .bind(&due)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    ids
}

/// Saves `pm` (a Stripe test method id) for Northwind and enrols the
/// payer in autopay of all invoices on their due date.
async fn enrol(app: &TestApp, pm: &str) -> i64 {
    enrol_with(app, pm, "all").await
}

async fn enrol_with(app: &TestApp, pm: &str, scope: &str) -> i64 {
    let kind = if pm.starts_with("pm_usBankAccount") {
        "ach"
    } else {
        "card"
    };
    save_and_enrol(app, ("stripe", "cus_fake_northwind"), pm, kind, scope).await
}

/// Saves `pm` for Northwind at `gateway` (with that gateway customer) and
/// enrols the payer in autopay of `scope` on the due date.
async fn save_and_enrol(
    app: &TestApp,
    (gateway, gateway_customer): (&str, &str),
    pm: &str,
    kind: &str,
    scope: &str,
) -> i64 {
    let customer = northwind(app).await;
    let payer = contact_id(app, PAYER).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query("UPDATE customers SET gateway_customer_id = $2 WHERE customer_id = $1")
        .bind(customer)
        .bind(gateway_customer)
        .execute(&mut *conn)
        .await
        .unwrap();
    let method_id = insert_method(
        &mut conn,
        &NewMethod {
            customer_id: customer,
            gateway,
            gateway_method_id: pm,
            kind,
            brand: "visa",
            last4: "4242",
            exp_month: Some(12),
            exp_year: Some(2034),
            contact_id: payer,
        },
        app.clock.now_for_tests(),
    )
    .await
    .unwrap();
    drop(conn);
    app.services
        .enrol_autopay(
            payer,
            customer,
            &EnrolmentDraft {
                scope: scope.into(),
                days_before: "0".into(),
                method_id: method_id.to_string(),
                agreed: true,
                consent_version: CONSENT_VERSION.to_string(),
                ..Default::default()
            },
            Some("203.0.113.7"),
            Some("test-agent"),
        )
        .await
        .unwrap()
}

async fn run(app: &TestApp) -> portal_core::services::autopay::AutopayRun {
    app.services
        .run_autopay(app.services.clock.now())
        .await
        .unwrap()
}

/// (attempt, status, payment status) of each charge of an invoice.
async fn charges_of(app: &TestApp, invoice_id: i64) -> Vec<(i64, String, String)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, String, String)>(
        "SELECT c.attempt, c.status, p.status FROM autopay_charges c
         JOIN payments p ON p.payment_id = c.payment_id
         WHERE c.target = $1 ORDER BY c.attempt",
    )
    .bind(format!("invoice:{invoice_id}"))
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

fn keys_sent(fake: &FakeStripe) -> Vec<String> {
    fake.requests("POST", "/v1/payment_intents")
        .iter()
        .map(|r| r.headers["idempotency-key"].clone())
        .collect()
}

/// Sends the notices, then moves to the debit date (two days later).
async fn notices_then_debit_day(app: &TestApp, expected_notices: usize) {
    assert_eq!(run(app).await.notices, expected_notices);
    app.clock.advance(Duration::days(2) + Duration::hours(1));
}

async fn five_runs_in_a_row_charge_each_due_invoice_once(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let invoices = due_invoices(&app, 3, 1).await;
    enrol(&app, "pm_card_visa").await;

    // The notices go first; nothing is charged before the debit date.
    notices_then_debit_day(&app, 3).await;
    assert_eq!(fake.intents_created(), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM autopay_charges").await, 0);

    for _ in 0..5 {
        run(&app).await;
    }
    assert_eq!(fake.intents_created(), 3);
    let mut keys = keys_sent(&fake);
    keys.sort();
    let mut expected: Vec<String> = invoices
        .iter()
        .map(|id| format!("autopay:invoice:{id}:1"))
        .collect();
    expected.sort();
    assert_eq!(
        keys, expected,
        "one request per invoice, keyed by invoice and attempt"
    );
    for id in &invoices {
        assert_eq!(
            charges_of(&app, *id).await,
            vec![(1, "succeeded".into(), "succeeded".into())]
        );
        let (balance, pending) = crate::payments::invoice_state(&app, *id).await;
        assert_eq!((balance, pending), (0, 0), "invoice {id} is paid");
    }
    let sent = &fake.requests("POST", "/v1/payment_intents")[0];
    assert_eq!(sent.field("confirm"), Some("true"));
    assert_eq!(sent.field("off_session"), Some("true"));
    assert_eq!(sent.field("payment_method"), Some("pm_card_visa"));
    assert_eq!(sent.field("customer"), Some("cus_fake_northwind"));
    assert!(sent.field("metadata[portal_payment_id]").is_some());
    // Each outcome is emailed (the receipt), besides the notices.
    let receipts = app
        .count(&format!(
            "SELECT COUNT(*) FROM email_outbox WHERE to_address = '{PAYER}' AND subject LIKE 'Receipt%'"
        ))
        .await;
    assert_eq!(receipts, 3);
}

async fn two_instances_at_once_charge_each_due_invoice_once(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    // A second process on the same database and clock.
    let mut options = stripe_options(backend, &fake);
    options.database_url = Some(app.database_url.clone());
    options.seed = false;
    options.clock = Some(app.clock.clone());
    options.smtp = Some(app.smtp.clone());
    let other = spawn_app_with(options).await;

    let invoices = due_invoices(&app, 4, 0).await;
    enrol(&app, "pm_card_visa").await;
    let now = app.services.clock.now();
    let (a, b) = tokio::join!(
        app.services.run_autopay(now),
        other.services.run_autopay(now)
    );
    assert_eq!(
        a.unwrap().notices + b.unwrap().notices,
        4,
        "one notice each"
    );
    app.clock.advance(Duration::days(2) + Duration::hours(1));
    for _ in 0..3 {
        let now = app.services.clock.now();
        let (a, b) = tokio::join!(
            app.services.run_autopay(now),
            other.services.run_autopay(now)
        );
        a.unwrap();
        b.unwrap();
    }
    assert_eq!(fake.intents_created(), 4);
    assert_eq!(keys_sent(&fake).len(), 4, "no instance asked twice");
    for id in &invoices {
        assert_eq!(charges_of(&app, *id).await.len(), 1);
        assert_eq!(crate::payments::invoice_state(&app, *id).await.0, 0);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM autopay_notices").await, 4);
}

async fn a_gateway_500_then_the_next_run_makes_one_charge_with_the_same_key(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let invoices = due_invoices(&app, 1, 0).await;
    enrol(&app, "pm_card_visa").await;
    notices_then_debit_day(&app, 1).await;

    fake.fail_next_intent();
    run(&app).await;
    // No answer: the charge waits, holding the money.
    assert_eq!(
        charges_of(&app, invoices[0]).await,
        vec![(1, "requested".into(), "pending".into())]
    );
    assert_eq!(fake.intents_created(), 0);
    // The stale-checkout sweep leaves autopay's payment alone.
    app.clock.advance(Duration::minutes(30));
    app.services.sweep_stale_checkouts().await.unwrap();
    assert_eq!(charges_of(&app, invoices[0]).await[0].2, "pending");

    run(&app).await;
    run(&app).await;
    let key = format!("autopay:invoice:{}:1", invoices[0]);
    assert_eq!(
        keys_sent(&fake),
        vec![key.clone(), key],
        "asked again with the same key"
    );
    assert_eq!(fake.intents_created(), 1, "one charge");
    assert_eq!(
        charges_of(&app, invoices[0]).await,
        vec![(1, "succeeded".into(), "succeeded".into())]
    );
}

async fn disputed_paid_and_in_progress_invoices_are_not_charged(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let ids = due_invoices(&app, 4, 1).await;
    let (partly, wholly, paid, in_progress) = (ids[0], ids[1], ids[2], ids[3]);
    let partly_balance = crate::payments::invoice_state(&app, partly).await.0;
    crate::dispute_hold::raise(&app, partly, Some("25.00")).await;
    crate::dispute_hold::raise(&app, wholly, None).await;
    enrol(&app, "pm_card_visa").await;
    // The wholly disputed invoice has nothing to announce.
    notices_then_debit_day(&app, 3).await;

    // After the notices: one invoice is paid by hand (a check), another
    // gets a payment in progress (a checkout opened in the portal).
    let customer = northwind(&app).await;
    for (invoice, status) in [(paid, "succeeded"), (in_progress, "pending")] {
        let balance = crate::payments::invoice_state(&app, invoice).await.0;
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        let payment_id: i64 = sqlx::query_scalar(
            "INSERT INTO payments (customer_id, currency, amount_minor, method, status, created_at, updated_at)
             VALUES ($1, 'USD', $2, 'check', $3, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')
             RETURNING payment_id",
        )
        .bind(customer)
        .bind(if status == "pending" { 100 } else { balance })
        .bind(status)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        portal_core::repo::ledger::insert_allocation(
            &mut conn,
            payment_id,
            invoice,
            if status == "pending" { 100 } else { balance },
        )
        .await
        .unwrap();
        portal_core::repo::invoices::refresh_settlement(&mut conn, invoice)
            .await
            .unwrap();
    }

    for _ in 0..3 {
        run(&app).await;
    }
    assert_eq!(
        fake.intents_created(),
        1,
        "only the partly disputed invoice"
    );
    let sent = &fake.requests("POST", "/v1/payment_intents")[0];
    assert_eq!(
        sent.field("amount").unwrap().parse::<i64>().unwrap(),
        partly_balance - 2_500,
        "the undisputed part only"
    );
    assert_eq!(charges_of(&app, partly).await.len(), 1);
    for skipped in [wholly, paid, in_progress] {
        assert!(charges_of(&app, skipped).await.is_empty(), "{skipped}");
    }
    assert_eq!(crate::payments::invoice_state(&app, partly).await.0, 2_500);
}

async fn a_hard_decline_is_not_retried(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let ids = due_invoices(&app, 1, 0).await;
    enrol(&app, "pm_card_chargeDeclinedStolenCard").await;
    notices_then_debit_day(&app, 1).await;
    let before = crate::payments::invoice_state(&app, ids[0]).await;
    run(&app).await;
    for _ in 0..4 {
        app.clock.advance(Duration::days(2));
        run(&app).await;
    }
    assert_eq!(keys_sent(&fake).len(), 1, "never asked again");
    assert_eq!(
        charges_of(&app, ids[0]).await,
        vec![(1, "declined".into(), "failed".into())]
    );
    // The money is no longer held; the invoice is open as before.
    assert_eq!(crate::payments::invoice_state(&app, ids[0]).await, before);
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (code, hard): (String, i64) =
        sqlx::query_as("SELECT decline_code, hard_decline FROM autopay_charges")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!((code.as_str(), hard), ("stolen_card", 1));
    let body: String = sqlx::query_scalar(
        "SELECT text_body FROM email_outbox WHERE to_address = $1 AND subject LIKE '%failed%'",
    )
    .bind(PAYER)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(body.contains("will not try this payment again"), "{body}");
}

async fn a_soft_decline_is_retried_at_most_twice_over_four_days(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let ids = due_invoices(&app, 1, 0).await;
    enrol(&app, "pm_card_chargeDeclinedInsufficientFunds").await;
    notices_then_debit_day(&app, 1).await;
    run(&app).await;
    assert_eq!(keys_sent(&fake).len(), 1);
    // Not before two days have passed.
    app.clock.advance(Duration::days(1));
    run(&app).await;
    assert_eq!(keys_sent(&fake).len(), 1);
    for _ in 0..5 {
        app.clock.advance(Duration::days(1));
        run(&app).await;
        run(&app).await;
    }
    let key = |n: i64| format!("autopay:invoice:{}:{n}", ids[0]);
    assert_eq!(keys_sent(&fake), vec![key(1), key(2), key(3)]);
    let charges = charges_of(&app, ids[0]).await;
    assert_eq!(charges.len(), 3);
    assert!(charges
        .iter()
        .all(|(_, s, p)| s == "declined" && p == "failed"));
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT text_body FROM email_outbox WHERE to_address = $1 AND subject LIKE '%failed%' ORDER BY email_id",
    )
    .bind(PAYER)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(bodies.len(), 3, "each outcome emailed");
    assert!(bodies[0].contains("will try again on"), "{}", bodies[0]);
    assert!(
        bodies[2].contains("last automatic attempt"),
        "{}",
        bodies[2]
    );
    drop(conn);

    // Each outcome is in the invoice's thread too, with what happens next.
    let timeline = app
        .services
        .invoice_timeline(&access_of(&app, PAYER).await, northwind(&app).await, ids[0])
        .await
        .unwrap();
    let started: Vec<&str> = timeline
        .iter()
        .filter(|e| e.what.starts_with("Autopay started payment"))
        .map(|e| e.what.as_str())
        .collect();
    assert_eq!(started.len(), 3, "{timeline:#?}");
    assert!(
        started[0].ends_with("(card, attempt 1 of 3)"),
        "{started:?}"
    );
    assert!(
        started[2].ends_with("(card, attempt 3 of 3)"),
        "{started:?}"
    );
    let failed: Vec<&str> = timeline
        .iter()
        .filter(|e| {
            e.what.starts_with("Autopay payment")
                && e.what.ends_with("failed; the amount is open again")
        })
        .filter_map(|e| e.body.as_deref())
        .collect();
    assert_eq!(failed.len(), 3, "{timeline:#?}");
    assert!(failed[0].contains("will try again on"), "{}", failed[0]);
    assert!(
        failed[2].contains("last automatic attempt"),
        "{}",
        failed[2]
    );
}

async fn a_skipped_debit_is_not_charged_and_a_cancel_stops_autopay(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let ids = due_invoices(&app, 2, 1).await;
    enrol(&app, "pm_card_visa").await;
    run(&app).await;
    // The notice's skip link, as the email gives it.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT text_body FROM email_outbox WHERE to_address = $1 AND subject LIKE 'Autopay will pay%' ORDER BY email_id",
    )
    .bind(PAYER)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(bodies.len(), 2);
    let skip_token = |body: &str| {
        body.split_whitespace()
            .find_map(|w| w.split("/autopay/skip/").nth(1))
            .expect("a skip link")
            .to_owned()
    };
    let first = skip_token(&bodies[0]);
    // Someone who opens the email's link signed out: the page shows the
    // debit (a GET never skips), the button skips it, twice is harmless.
    let stranger = crate::helpers::new_client();
    let page = app
        .get_with(&stranger, &format!("/autopay/skip/{first}"))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Skip this payment"), "{html}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM autopay_notices WHERE skipped_at IS NOT NULL")
            .await,
        0
    );
    for _ in 0..2 {
        let r = app
            .post_form_with(&stranger, &format!("/autopay/skip/{first}"), &[])
            .await;
        assert_eq!(
            crate::helpers::location(&r),
            format!("/autopay/skip/{first}?outcome=skipped")
        );
    }
    let html = app
        .get_with(&stranger, &format!("/autopay/skip/{first}?outcome=skipped"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("This payment is skipped."), "{html}");
    // A token that was never sent finds nothing.
    let forged = app
        .get_with(
            &stranger,
            "/autopay/skip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .await;
    assert_eq!(forged.status(), 404);
    let view = app.services.autopay_notice_for_skip(&first).await.unwrap();
    assert!(view.notice.skipped);
    let skipped_target = view.notice.target.clone();

    app.clock.advance(Duration::days(2) + Duration::hours(1));
    run(&app).await;
    assert_eq!(keys_sent(&fake).len(), 1, "only the debit not skipped");
    let charged: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| format!("invoice:{id}") != skipped_target)
        .collect();
    assert_eq!(charged.len(), 1);
    assert_eq!(charges_of(&app, charged[0]).await.len(), 1);

    // Too late to skip a debit already made.
    let second = skip_token(&bodies[1]);
    let second_target = app
        .services
        .autopay_notice_for_skip(&second)
        .await
        .unwrap()
        .notice
        .target;
    if second_target != skipped_target {
        assert!(app
            .services
            .skip_autopay_debit(None, &second, None)
            .await
            .is_err());
    }

    // Canceled: a new due invoice gets no notice and no charge.
    let payer = contact_id(&app, PAYER).await;
    let customer = northwind(&app).await;
    assert!(app
        .services
        .cancel_autopay(payer, customer, None)
        .await
        .unwrap());
    exec(
        &app,
        "UPDATE invoices SET due_date = '2000-01-01' WHERE invoice_id = $1",
        crate::payments::open_invoices(&app).await[0].0,
    )
    .await;
    let after = run(&app).await;
    assert_eq!((after.notices, after.gateway_calls), (0, 0));
}

async fn the_sandbox_charges_by_its_test_methods_and_ach_settles_later(backend: Backend) {
    use portal_core::payments::sandbox::SandboxMethod;
    let mut options = AppOptions::new(backend);
    options
        .env
        .push(("PORTAL_SANDBOX_ACH_DELAY_SECONDS", "86400".into()));
    let app = spawn_app_with(options).await;
    let ids = due_invoices(&app, 1, 0).await;
    let pm = SandboxMethod::AchOk.new_id();
    save_and_enrol(&app, ("sandbox", "cus_sandbox_1"), &pm, "ach", "all").await;
    notices_then_debit_day(&app, 1).await;
    run(&app).await;
    run(&app).await;
    assert_eq!(
        charges_of(&app, ids[0]).await,
        vec![(1, "processing".into(), "processing".into())]
    );
    // A day later the debit settles through the sandbox's webhook.
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    let sandbox = app.services.sandbox.clone().unwrap();
    for delivery in sandbox.due_deliveries(20).await.unwrap() {
        assert!(crate::payments::deliver(&app, &delivery.payload)
            .await
            .status()
            .is_success());
        sandbox.delivery_done(&delivery, true).await.unwrap();
    }
    crate::payments::settle(&app).await;
    assert_eq!(
        charges_of(&app, ids[0]).await,
        vec![(1, "processing".into(), "succeeded".into())]
    );
    assert_eq!(crate::payments::invoice_state(&app, ids[0]).await, (0, 0));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sandbox_intents").await,
        1,
        "one intent"
    );
}

async fn plan_scope_charges_each_due_instalment_once(backend: Backend) {
    use portal_core::services::plans::{ClientInfo, PlanForm};
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    // An invoice due far away (within the policy's automatic limits), in a
    // plan of 2 monthly instalments from today.
    exec(
        &app,
        "UPDATE invoices SET due_date = '2099-12-31' WHERE customer_id = $1",
        northwind(&app).await,
    )
    .await;
    let invoice = crate::payments::open_invoices(&app)
        .await
        .into_iter()
        .find(|(_, _, balance)| *balance <= 500_000)
        .expect("a small open invoice")
        .0;
    let today = app.clock.now_for_tests().date_naive();
    let proposal = app
        .services
        .propose_plan(
            &crate::helpers::access_of(&app, PAYER).await,
            northwind(&app).await,
            &PlanForm {
                invoice_ids: vec![invoice],
                down_payment: String::new(),
                count: "2".into(),
                frequency: "monthly".into(),
                first_date: today.to_string(),
                message: String::new(),
            },
            ClientInfo::default(),
        )
        .await
        .unwrap();
    let schedule: Vec<i64> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        portal_core::repo::plans::current_schedule(&mut conn, proposal.plan_id)
            .await
            .unwrap()
            .iter()
            .map(|i| i.amount_minor)
            .collect()
    };
    assert_eq!(schedule.len(), 2, "a schedule of two");
    let status: String = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT status FROM payment_plans WHERE plan_id = $1")
            .bind(proposal.plan_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(status, "active", "auto-approved: {:?}", proposal.outcome);
    enrol_with(&app, "pm_card_visa", "plan").await;
    notices_then_debit_day(&app, 1).await;
    for _ in 0..5 {
        run(&app).await;
    }
    let key = format!("autopay:instalment:{}:1:1", proposal.plan_id);
    assert_eq!(keys_sent(&fake), vec![key]);
    let sent = &fake.requests("POST", "/v1/payment_intents")[0];
    assert_eq!(
        sent.field("amount").unwrap().parse::<i64>().unwrap(),
        schedule[0],
        "the first instalment, not the invoice"
    );
    assert_eq!(fake.intents_created(), 1);
}
