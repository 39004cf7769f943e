//! Early-payment discounts (issue 13 item 7), with the manual clock: a
//! customer on "2/10 net 30" in Asia/Tokyo (UTC+9, no daylight saving) is
//! offered "Pay by … and save $24.00 (N days left)" on the invoice page,
//! the list and reminder emails until the end of the last discount day in
//! Tokyo, and not a minute longer; paying the whole balance by then charges
//! the discounted amount and, when the payment succeeds, settles the
//! invoice with a credit for the discount, once, however often the event
//! arrives; later, or for less, the full amount counts.
//!
//! The expected dates and amounts are worked out here by hand: an invoice
//! of $1,200.00 issued 3 days before the test's start (in Tokyo), 2% of it
//! is $24.00, and its last discount day is the issue date + 10 days.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use portal_core::services::payments::Payer;
use serde_json::json;

use crate::helpers::{access_of, spawn_app, staff_id, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{deliver, event, settle};
use portal_core::services::invoices::Viewer;
use portal_core::services::payments::PaymentDraft;

on_both_databases!(
    the_offer_shows_with_days_left_until_the_end_of_the_last_day_in_the_customers_zone,
    paying_in_full_by_the_date_charges_less_and_credits_the_discount_once,
    a_checkout_started_on_the_last_day_keeps_its_discount_after_it,
    paying_after_the_date_charges_the_full_amount,
    a_partial_payment_gets_no_discount,
    the_reminder_email_shows_the_discount,
    ar_admins_set_terms_and_bad_terms_are_refused,
    the_demo_has_a_discount_running_for_northwind,
);

const TOTAL: i64 = 120_000;
const DISCOUNT: i64 = 2_400;

/// Moves the manual clock forward to `to`.
fn travel(app: &TestApp, to: DateTime<Utc>) {
    let now = app.clock.now_for_tests();
    assert!(to >= now, "the clock only moves forward ({now} -> {to})");
    app.clock.advance(to - now);
}

/// Today in Tokyo (UTC+9 all year).
fn tokyo_today(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(9)).date_naive()
}

/// The instant a Tokyo day ends (its next midnight), in UTC.
fn tokyo_day_end(day: NaiveDate) -> DateTime<Utc> {
    (day + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        - Duration::hours(9)
}

fn words(day: NaiveDate) -> String {
    day.format("%b %-d").to_string()
}

struct Fixture {
    customer_id: i64,
    contact_id: i64,
    payer: String,
    invoice_id: i64,
    number: String,
    last_day: NaiveDate,
}

async fn exec(app: &TestApp, sql: &str, binds: &[&str]) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&mut *conn).await.unwrap();
}

/// A customer on 2/10 net 30 in Tokyo with a payer and one $1,200.00
/// invoice issued 3 Tokyo days before now.
async fn fixture(app: &TestApp, key: &str) -> Fixture {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let created = "2026-01-01T00:00:00.000000Z";
    let customer_id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (external_id, name, currency, payment_terms_days, discount_bp, discount_days, created_at)
         VALUES ($1, $2, 'USD', 30, 200, 10, $3) RETURNING customer_id",
    )
    .bind(format!("disc-{key}"))
    .bind(format!("Discount {key} KK"))
    .bind(created)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let payer = format!("payer-{key}@disc.example");
    let contact_id: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (email, name, created_at) VALUES ($1, 'Payer', $2) RETURNING contact_id",
    )
    .bind(&payer)
    .bind(created)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO customer_contacts (customer_id, contact_id, role, created_at) VALUES ($1, $2, 'payer', $3)",
    )
    .bind(customer_id)
    .bind(contact_id)
    .bind(created)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO customer_reminders (customer_id, time_zone, updated_at) VALUES ($1, 'Asia/Tokyo', $2)",
    )
    .bind(customer_id)
    .bind(created)
    .execute(&mut *conn)
    .await
    .unwrap();
    let issue = tokyo_today(app.clock.now_for_tests()) - Duration::days(3);
    let number = format!("DISC-T-{key}");
    let invoice_id: i64 = sqlx::query_scalar(
        "INSERT INTO invoices (customer_id, number, issue_date, due_date, currency, subtotal_minor, tax_minor,
                               total_minor, balance_minor, created_at)
         VALUES ($1, $2, $3, $4, 'USD', $5, 0, $5, $5, $6) RETURNING invoice_id",
    )
    .bind(customer_id)
    .bind(&number)
    .bind(issue.format("%Y-%m-%d").to_string())
    .bind((issue + Duration::days(30)).format("%Y-%m-%d").to_string())
    .bind(TOTAL)
    .bind(created)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    Fixture {
        customer_id,
        contact_id,
        payer,
        invoice_id,
        number,
        last_day: issue + Duration::days(10),
    }
}

/// The sentence the invoice page offers now, through the service.
async fn offer_on_page(app: &TestApp, f: &Fixture) -> Option<String> {
    let access = std::sync::Arc::new(access_of(app, &f.payer).await);
    let detail = app
        .services
        .invoice_detail(&Viewer::Contact(access), f.customer_id, f.invoice_id)
        .await
        .unwrap();
    detail.invoice.discount_sentence()
}

async fn offer_in_list(app: &TestApp, f: &Fixture) -> Option<String> {
    let access = access_of(app, &f.payer).await;
    let list = app
        .services
        .invoice_list(&access, f.customer_id, Default::default())
        .await
        .unwrap();
    list.invoices
        .iter()
        .find(|i| i.row.invoice_id == f.invoice_id)
        .unwrap()
        .discount_sentence()
}

fn draft(f: &Fixture, amount: &str) -> PaymentDraft {
    PaymentDraft {
        amounts: vec![(f.invoice_id, amount.to_owned())],
        credit_note_ids: vec![],
        method: "card".into(),
        receipt_email: f.payer.clone(),
    }
}

/// "Pay" through the service (sandbox gateway): the payment's id, what it
/// charges, and what the sandbox checkout was opened for.
async fn pay(app: &TestApp, f: &Fixture, amount: &str) -> (i64, i64, i64) {
    let key = format!("disc-attempt-{:016x}", rand::random::<u64>());
    app.services
        .start_payment(
            Payer::Contact(f.contact_id),
            f.customer_id,
            &draft(f, amount),
            &key,
            None,
        )
        .await
        .expect("payment starts")
        .expect("nothing in the way");
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (payment_id, charged): (i64, i64) =
        sqlx::query_as("SELECT payment_id, amount_minor FROM payments WHERE attempt_key = $1")
            .bind(&key)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let checkout: i64 =
        sqlx::query_scalar("SELECT amount_minor FROM sandbox_checkouts WHERE payment_id = $1")
            .bind(payment_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    (payment_id, charged, checkout)
}

/// The gateway's "checkout completed and paid" event for the payment.
fn completed(app: &TestApp, payment_id: i64, session_id: &str, event_id: &str) -> String {
    let session = json!({
        "id": session_id, "object": "checkout.session", "status": "complete",
        "payment_status": "paid", "payment_intent": format!("pi_disc_{payment_id}"),
        "metadata": {"portal_payment_id": payment_id.to_string()}, "mode": "payment"
    });
    event(
        event_id.to_owned(),
        "checkout.session.completed",
        app.clock.now_for_tests().timestamp(),
        session,
    )
}

async fn succeed(app: &TestApp, payment_id: i64, event_id: &str) {
    let session_id: String = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT gateway_session_id FROM payments WHERE payment_id = $1")
            .bind(payment_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let body = completed(app, payment_id, &session_id, event_id);
    assert!(deliver(app, &body).await.status().is_success());
    settle(app).await;
}

/// (balance, pending, credited) of the invoice.
async fn ledger(app: &TestApp, invoice_id: i64) -> (i64, i64, i64) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as(
        "SELECT balance_minor, pending_minor, credited_minor FROM invoices WHERE invoice_id = $1",
    )
    .bind(invoice_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

/// The discount credits on the invoice: (credit note number, amount).
async fn discount_credits(app: &TestApp, invoice_id: i64) -> Vec<(String, i64)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as(
        "SELECT cn.number, ca.amount_minor FROM credit_allocations ca
         JOIN credit_notes cn ON cn.credit_note_id = ca.credit_note_id
         WHERE ca.invoice_id = $1 ORDER BY cn.number",
    )
    .bind(invoice_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn the_offer_shows_with_days_left_until_the_end_of_the_last_day_in_the_customers_zone(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "show").await;
    let today = tokyo_today(app.clock.now_for_tests());
    let left = (f.last_day - today).num_days();
    assert_eq!(left, 7);
    let expected = format!("Pay by {} and save $24.00 (7 days left)", words(f.last_day));
    assert_eq!(
        offer_on_page(&app, &f).await.as_deref(),
        Some(expected.as_str())
    );
    assert_eq!(
        offer_in_list(&app, &f).await.as_deref(),
        Some(expected.as_str())
    );

    // The pages as the payer sees them, over HTTP.
    let client = app.signed_in_client(&f.payer).await;
    for path in [
        format!("/accounts/{}/invoices/{}", f.customer_id, f.invoice_id),
        format!("/accounts/{}/invoices", f.customer_id),
    ] {
        let html = app.get_with(&client, &path).await.text().await.unwrap();
        assert!(html.contains(&expected), "{path}: {html}");
    }
    // The pay page starts at the discounted total and says why.
    let pay = app
        .get_with(
            &client,
            &format!("/accounts/{}/pay?invoice={}", f.customer_id, f.invoice_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(pay.contains("value=\"1176.00\""), "{pay}");
    assert!(pay.contains("pay $1,176.00 to settle it in full"), "{pay}");
    // Both card and ACH are offered for USD: the seller's line on ACH.
    assert!(
        pay.contains("Paying by bank transfer (ACH) costs us less than a card."),
        "{pay}"
    );

    // A minute before the last day ends in Tokyo: still on, the last day.
    travel(&app, tokyo_day_end(f.last_day) - Duration::minutes(1));
    assert_eq!(
        offer_on_page(&app, &f).await,
        Some(format!(
            "Pay by {} and save $24.00 (last day)",
            words(f.last_day)
        ))
    );
    // A minute after (still the same UTC date: 15:01): gone everywhere.
    travel(&app, tokyo_day_end(f.last_day) + Duration::minutes(1));
    assert_eq!(offer_on_page(&app, &f).await, None);
    assert_eq!(offer_in_list(&app, &f).await, None);
    let client = app.signed_in_client(&f.payer).await;
    let html = app
        .get_with(
            &client,
            &format!("/accounts/{}/invoices/{}", f.customer_id, f.invoice_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("and save"), "{html}");
}

async fn paying_in_full_by_the_date_charges_less_and_credits_the_discount_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "full").await;
    // The discounted total (what the pay page proposes) settles it all.
    let (payment_id, charged, checkout) = pay(&app, &f, "1176.00").await;
    assert_eq!((charged, checkout), (TOTAL - DISCOUNT, TOTAL - DISCOUNT));
    // In flight, the whole balance is held: nothing more can be paid.
    assert_eq!(ledger(&app, f.invoice_id).await, (TOTAL, TOTAL, 0));
    assert_eq!(offer_on_page(&app, &f).await, None);

    succeed(&app, payment_id, &format!("evt_disc_{payment_id}")).await;
    assert_eq!(ledger(&app, f.invoice_id).await, (0, 0, DISCOUNT));
    assert_eq!(
        discount_credits(&app, f.invoice_id).await,
        vec![(format!("DISC-{}", f.number), DISCOUNT)]
    );
    // The same event again, and another event saying the same: nothing more.
    succeed(&app, payment_id, &format!("evt_disc_{payment_id}")).await;
    succeed(&app, payment_id, &format!("evt_disc_again_{payment_id}")).await;
    assert_eq!(ledger(&app, f.invoice_id).await, (0, 0, DISCOUNT));
    assert_eq!(discount_credits(&app, f.invoice_id).await.len(), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payment_allocations WHERE invoice_id = {} AND amount_minor = {}",
            f.invoice_id,
            TOTAL - DISCOUNT
        ))
        .await,
        1
    );
    // The statement of account lists the discount's credit note.
    let today = tokyo_today(app.clock.now_for_tests());
    let statement = app
        .services
        .statement(
            &access_of(&app, &f.payer).await,
            f.customer_id,
            today - Duration::days(30),
            today + Duration::days(1),
        )
        .await
        .unwrap();
    let text = format!("{:?}", statement.statement);
    assert!(text.contains(&format!("DISC-{}", f.number)), "{text}");
}

async fn a_checkout_started_on_the_last_day_keeps_its_discount_after_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "late").await;
    travel(&app, tokyo_day_end(f.last_day) - Duration::minutes(5));
    let (payment_id, charged, _) = pay(&app, &f, "1200.00").await;
    // Paying the whole balance (more than the discounted total) is charged
    // the discounted total.
    assert_eq!(charged, TOTAL - DISCOUNT);
    travel(&app, tokyo_day_end(f.last_day) + Duration::hours(2));
    succeed(&app, payment_id, &format!("evt_late_{payment_id}")).await;
    assert_eq!(ledger(&app, f.invoice_id).await, (0, 0, DISCOUNT));
}

async fn paying_after_the_date_charges_the_full_amount(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "after").await;
    travel(&app, tokyo_day_end(f.last_day) + Duration::minutes(1));
    let (payment_id, charged, checkout) = pay(&app, &f, "1200.00").await;
    assert_eq!((charged, checkout), (TOTAL, TOTAL));
    // The discounted total is now a partial payment.
    succeed(&app, payment_id, &format!("evt_after_{payment_id}")).await;
    assert_eq!(ledger(&app, f.invoice_id).await, (0, 0, 0));
    assert!(discount_credits(&app, f.invoice_id).await.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_discounts").await, 0);
}

async fn a_partial_payment_gets_no_discount(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "part").await;
    // One cent less than the discounted total: a partial payment.
    let (payment_id, charged, _) = pay(&app, &f, "1175.99").await;
    assert_eq!(charged, 117_599);
    succeed(&app, payment_id, &format!("evt_part_{payment_id}")).await;
    assert_eq!(ledger(&app, f.invoice_id).await, (TOTAL - 117_599, 0, 0));
    assert!(discount_credits(&app, f.invoice_id).await.is_empty());
    // The partial payment got no discount; the discount (on the original
    // total) still runs for whoever pays the rest in full by the date.
    assert_eq!(
        offer_on_page(&app, &f).await,
        Some(format!(
            "Pay by {} and save $24.00 (7 days left)",
            words(f.last_day)
        ))
    );

    // A smaller earlier payment leaves the offer on the rest.
    let g = fixture(&app, "part2").await;
    let (payment_id, _, _) = pay(&app, &g, "200.00").await;
    succeed(&app, payment_id, &format!("evt_part2_{payment_id}")).await;
    assert_eq!(
        offer_on_page(&app, &g).await,
        Some(format!(
            "Pay by {} and save $24.00 (7 days left)",
            words(g.last_day)
        ))
    );
    let (payment_id, charged, _) = pay(&app, &g, "976.00").await;
    assert_eq!(charged, 97_600);
    succeed(&app, payment_id, &format!("evt_part3_{payment_id}")).await;
    assert_eq!(ledger(&app, g.invoice_id).await, (0, 0, DISCOUNT));
}

async fn the_reminder_email_shows_the_discount(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "mail").await;
    let staff = staff_id(&app, "ar@seller.example").await;
    let sent = app
        .services
        .send_reminder_now(staff, f.customer_id, &[f.invoice_id])
        .await
        .unwrap();
    assert_eq!(sent.invoices, 1);
    let mail = app.smtp.wait_for(&f.payer, 1).await;
    let expected = format!("Pay by {} and save $24.00 (7 days left)", words(f.last_day));
    assert!(mail.text.contains(&expected), "{}", mail.text);
    assert!(mail.html.contains(&expected), "{}", mail.html);

    // After the last day, a reminder says nothing of it.
    travel(&app, tokyo_day_end(f.last_day) + Duration::days(30));
    exec(&app, "DELETE FROM reminder_sends", &[]).await;
    app.services
        .send_reminder_now(staff, f.customer_id, &[f.invoice_id])
        .await
        .unwrap();
    let mail = app.smtp.wait_for(&f.payer, 2).await;
    assert!(!mail.text.contains("and save"), "{}", mail.text);
}

async fn ar_admins_set_terms_and_bad_terms_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app, "staff").await;
    let admin = staff_id(&app, "ar@seller.example").await;
    let view = app
        .services
        .set_customer_payment_terms(admin, f.customer_id, "1.5/15 net 45")
        .await
        .unwrap();
    assert_eq!(view.terms, "1.5/15 net 45");
    // 1.5% of $1,200.00 = $18.00, until issue + 15 days.
    assert_eq!(
        offer_on_page(&app, &f).await,
        Some(format!(
            "Pay by {} and save $18.00 (12 days left)",
            words(f.last_day + Duration::days(5))
        ))
    );
    let refused = app
        .services
        .set_customer_payment_terms(admin, f.customer_id, "2/30 net 30")
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("fewer than the net days"), "{refused}");
    // One invoice without a discount.
    app.services
        .set_invoice_payment_terms(admin, f.customer_id, f.invoice_id, "none")
        .await
        .unwrap();
    assert_eq!(offer_on_page(&app, &f).await, None);

    // Over HTTP: the staff customer page shows the terms; a bad form answers
    // with a problem code.
    let client = app.signed_in_staff_client().await;
    let page = app
        .get_with(&client, &format!("/staff/customers/{}", f.customer_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1.5/15 net 45"), "{page}");
    let bad = client
        .post(app.url(&format!("/staff/customers/{}/terms", f.customer_id)))
        .header("origin", &app.address)
        .form(&[("terms", "fifty/ten")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 303);
    assert!(crate::helpers::location(&bad).contains("terms_problem=terms"));
    // The pay page's ACH line is the seller's to change.
    let saved = client
        .post(app.url("/staff/settings/payments"))
        .header("origin", &app.address)
        .form(&[("ach_note", "ACH saves us the card fee: thank you!")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    assert_eq!(
        app.services.ach_note().await.unwrap(),
        "ACH saves us the card fee: thank you!"
    );
}

async fn the_demo_has_a_discount_running_for_northwind(backend: Backend) {
    let app = spawn_app(backend).await;
    let northwind = crate::helpers::northwind(&app).await;
    let access = access_of(&app, "ap@northwind.example").await;
    let list = app
        .services
        .invoice_list(&access, northwind, Default::default())
        .await
        .unwrap();
    let offers: Vec<String> = list
        .invoices
        .iter()
        .filter_map(|i| i.discount_sentence())
        .collect();
    // Issued 3 days before the seed, $1,199.99: 2% is $24.00, 7 days left.
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert!(
        offers[0].ends_with("and save $24.00 (7 days left)"),
        "{offers:?}"
    );
    let terms = app
        .services
        .customer_payment_terms(northwind)
        .await
        .unwrap();
    assert_eq!(terms.terms, "2/10 net 30");
}
