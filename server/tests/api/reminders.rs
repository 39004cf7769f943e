//! Reminder emails and promises to pay (issue 13), with the manual clock
//! and the real SMTP sink: each step goes out once, inside the customer's
//! own window (also across a daylight-saving change), to payers and admins
//! only, with a fresh invoice link per invoice and one "pay all" link;
//! every suppression rule holds at send time; two instances running at
//! once send nothing twice; a manual send does not bring the next step the
//! next morning; a promise pauses reminders and a broken one resumes them
//! and tells the customer.
//!
//! Dates are in March 2030: the US changes to daylight saving time on
//! Sunday 10 March 2030 (New York UTC-5 -> UTC-4, Los Angeles UTC-8 ->
//! UTC-7); Tokyo stays UTC+9. 1 March 2030 is a Friday. The UTC instants
//! below are worked out by hand, independently of the portal's code.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::helpers::{
    access_of, location, page_html, signed_in_as, spawn_app, spawn_app_with, staff_id, AppOptions,
    Backend, TestApp,
};
use crate::on_both_databases;
use portal_core::services::reminders::PromiseDraft;

on_both_databases!(
    each_step_goes_out_once_inside_the_window_to_payers_and_admins,
    every_suppression_rule_holds_at_send_time,
    two_instances_at_once_send_nothing_twice,
    tokyo_and_los_angeles_customers_get_reminders_in_their_own_window_across_dst,
    a_manual_send_does_not_bring_the_next_step_the_next_morning,
    a_promise_pauses_reminders_and_a_broken_one_resumes_them_and_tells_the_customer,
    a_promise_from_the_invoice_page_works_without_javascript,
    ar_admins_edit_cadences_and_pauses_and_agents_are_refused,
    autopay_leaves_an_invoice_under_a_promise_alone,
    a_customer_pause_that_ends_resumes_with_the_latest_step_only,
    sixty_days_of_the_job_match_an_independent_model,
    a_customer_is_decided_once_a_day_and_what_comes_later_goes_the_next_morning,
);

pub(crate) fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Moves the manual clock forward to `to`.
pub(crate) fn travel(app: &TestApp, to: DateTime<Utc>) {
    let now = app.clock.now_for_tests();
    assert!(to >= now, "the clock only moves forward ({now} -> {to})");
    app.clock.advance(to - now);
}

pub(crate) async fn exec(app: &TestApp, sql: &str) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
}

/// The portal with its demo data, whose customers are paused for good, so
/// only the test's own customers get reminders.
pub(crate) async fn start(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    exec(
        &app,
        "INSERT INTO customer_reminders (customer_id, paused_until, updated_at)
         SELECT customer_id, '9999-12-31', '2026-01-01T00:00:00.000000Z' FROM customers",
    )
    .await;
    app
}

/// A customer with a payer, an admin and a viewer (`{role}-{key}@rem.example`)
/// in `zone` (None: the seller's, New York).
pub(crate) async fn customer(app: &TestApp, key: &str, zone: Option<&str>) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let now = "2026-01-01T00:00:00.000000Z";
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (external_id, name, currency, payment_terms_days, created_at)
         VALUES ($1, $2, 'USD', 30, $3) RETURNING customer_id",
    )
    .bind(format!("rem-{key}"))
    .bind(format!("Reminder {key} Ltd"))
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    for role in ["payer", "admin", "viewer"] {
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (email, name, created_at) VALUES ($1, $2, $3) RETURNING contact_id",
        )
        .bind(format!("{role}-{key}@rem.example"))
        .bind(format!("{role} of {key}"))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO customer_contacts (customer_id, contact_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(contact)
        .bind(role)
        .bind(now)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    if let Some(zone) = zone {
        sqlx::query(
            "INSERT INTO customer_reminders (customer_id, time_zone, updated_at) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(zone)
        .bind(now)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    id
}

/// An open USD invoice of 100.00, due `due`.
pub(crate) async fn invoice(app: &TestApp, customer_id: i64, number: &str, due: NaiveDate) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invoices (customer_id, number, issue_date, due_date, currency,
             subtotal_minor, tax_minor, total_minor, created_at)
         VALUES ($1, $2, $3, $4, 'USD', 10000, 0, 10000, '2026-01-01T00:00:00.000000Z')
         RETURNING invoice_id",
    )
    .bind(customer_id)
    .bind(number)
    .bind((due - Duration::days(30)).to_string())
    .bind(due.to_string())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    portal_core::repo::invoices::refresh_settlement(&mut conn, id)
        .await
        .unwrap();
    id
}

/// A payment of `amount_minor` received by hand on the invoice.
pub(crate) async fn paid_by_hand(
    app: &TestApp,
    customer_id: i64,
    invoice_id: i64,
    amount_minor: i64,
) {
    let now = portal_core::db::ts(app.clock.now_for_tests());
    let mut tx = app.services.db.pool.begin().await.unwrap();
    let payment_id: i64 = sqlx::query_scalar(
        "INSERT INTO payments (customer_id, currency, amount_minor, method, status, reference,
             received_at, created_at, updated_at)
         VALUES ($1, 'USD', $2, 'check', 'succeeded', 'cheque 7', $3, $3, $3) RETURNING payment_id",
    )
    .bind(customer_id)
    .bind(amount_minor)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) VALUES ($1, $2, $3)",
    )
    .bind(payment_id)
    .bind(invoice_id)
    .bind(amount_minor)
    .execute(&mut *tx)
    .await
    .unwrap();
    portal_core::repo::invoices::refresh_settlement(&mut tx, invoice_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Sets `assignment` (`column = value`) on the invoice.
async fn set_invoice(app: &TestApp, invoice_id: i64, assignment: &str) {
    exec(
        app,
        &format!("UPDATE invoices SET {assignment} WHERE invoice_id = {invoice_id}"),
    )
    .await;
}

/// The contact promises to pay the one invoice by `on` (the whole balance).
async fn promise(
    app: &TestApp,
    contact_id: i64,
    customer_id: i64,
    invoice_id: i64,
    on: NaiveDate,
) -> Result<i64, portal_core::ServiceError> {
    app.services
        .promise_to_pay(
            contact_id,
            customer_id,
            &PromiseDraft {
                invoice_ids: vec![invoice_id],
                promised_on: on.to_string(),
                ..Default::default()
            },
        )
        .await
}

pub(crate) async fn run(app: &TestApp) -> portal_core::services::reminders::ReminderRun {
    app.services
        .run_reminders(app.clock.now_for_tests())
        .await
        .expect("the reminder job runs")
}

/// The reminders queued to `to` (subject, text), oldest first.
async fn reminders_to(app: &TestApp, to: &str) -> Vec<(String, String)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (String, String)>(
        "SELECT o.subject, o.text_body FROM email_outbox o
         JOIN reminder_emails r ON r.email_id = o.email_id
         WHERE o.to_address = $1 ORDER BY o.email_id",
    )
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// Every outbox mail's subject to `to`, oldest first.
async fn subjects_to(app: &TestApp, to: &str) -> Vec<String> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, String>(
        "SELECT subject FROM email_outbox WHERE to_address = $1 ORDER BY email_id",
    )
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// (invoice id, step offset or None for manual, sent_at) of every send.
async fn sends(app: &TestApp, customer_id: i64) -> Vec<(i64, Option<i64>, String)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, Option<i64>, String)>(
        "SELECT s.invoice_id, st.offset_days, s.sent_at FROM reminder_sends s
         LEFT JOIN reminder_steps st ON st.step_id = s.step_id
         WHERE s.customer_id = $1 ORDER BY s.send_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// The step offset of every send (None for a manual one), oldest first.
async fn step_offsets(app: &TestApp, customer_id: i64) -> Vec<Option<i64>> {
    sends(app, customer_id)
        .await
        .into_iter()
        .map(|s| s.1)
        .collect()
}

async fn each_step_goes_out_once_inside_the_window_to_payers_and_admins(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "basic", None).await;
    // Due Thursday 14 March 2030: step -3 on Monday 11 March (EDT, UTC-4).
    let inv = invoice(&app, c, "REM-BASIC-1", date(2030, 3, 14)).await;

    travel(&app, utc(2030, 3, 11, 12, 59)); // 08:59 in New York
    assert_eq!(run(&app).await.emails, 0, "before the window");
    travel(&app, utc(2030, 3, 11, 13, 0)); // 09:00
    let first = run(&app).await;
    assert_eq!(
        (first.sends, first.emails),
        (1, 2),
        "payer and admin, not the viewer"
    );
    for _ in 0..3 {
        travel(&app, app.clock.now_for_tests() + Duration::minutes(1));
        assert_eq!(run(&app).await.emails, 0, "a step goes out once");
    }
    assert!(reminders_to(&app, "viewer-basic@rem.example")
        .await
        .is_empty());
    let mails = reminders_to(&app, "payer-basic@rem.example").await;
    assert_eq!(mails.len(), 1);
    let (subject, text) = &mails[0];
    assert!(subject.starts_with("Coming up"), "{subject}");
    assert!(text.contains("Hello payer of basic"), "{text}");
    assert!(
        text.contains("REM-BASIC-1") && text.contains("$100.00"),
        "{text}"
    );
    assert!(
        text.contains(&format!("/accounts/{c}/pay?invoice={inv}")),
        "the pay-all link chooses the invoice: {text}"
    );

    // What the SMTP server received: the invoice link opens the invoice.
    let mail = app.smtp.wait_for("admin-basic@rem.example", 1).await;
    assert!(mail.html.contains("REM-BASIC-1"));
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/i/"))
        .expect("an invoice link")
        .to_owned();
    let opened = app.get(link.trim_start_matches(&app.address)).await;
    assert!(
        opened.status().is_success() || opened.status().is_redirection(),
        "the invoice link opens: {}",
        opened.status()
    );
    assert!(
        app.count(&format!(
            "SELECT COUNT(*) FROM invoice_links WHERE invoice_id = {inv} AND created_by = 'reminder'"
        ))
        .await
            == 1,
        "one link minted for the one mail"
    );

    // Due today (step 0) on Thursday, 10:59 still in the window.
    travel(&app, utc(2030, 3, 14, 14, 59));
    assert_eq!(run(&app).await.emails, 2);
    // +7 on Thursday 21 March; 11:00 is outside the window, the next morning is fine.
    travel(&app, utc(2030, 3, 21, 15, 0));
    assert_eq!(run(&app).await.emails, 0, "11:00 is past the window");
    travel(&app, utc(2030, 3, 22, 13, 30));
    assert_eq!(run(&app).await.emails, 2, "caught up the next morning");
    let offsets = step_offsets(&app, c).await;
    assert_eq!(offsets, vec![Some(-3), Some(0), Some(7)]);

    // AR's preview of the next working day names what the job will send
    // then: the +14 step on Thursday 28 March, and nothing the day before.
    let staff = staff_id(&app, "ar@seller.example").await;
    let preview = app
        .services
        .preview_reminders(staff, date(2030, 3, 28))
        .await
        .unwrap();
    assert_eq!(preview.len(), 1);
    assert_eq!(
        (
            preview[0].invoice_number.as_str(),
            preview[0].offset_days,
            preview[0].recipients
        ),
        ("REM-BASIC-1", 14, 2)
    );
    assert!(app
        .services
        .preview_reminders(staff, date(2030, 3, 27))
        .await
        .unwrap()
        .is_empty());
    travel(&app, utc(2030, 3, 28, 13, 0));
    assert_eq!(run(&app).await.sends, 1, "the preview was right");
}

async fn every_suppression_rule_holds_at_send_time(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "rules", None).await;
    let due = date(2030, 3, 14); // step 0 on Thursday 14 March
    let control = invoice(&app, c, "REM-R-CONTROL", due).await;
    let paid = invoice(&app, c, "REM-R-PAID", due).await;
    let void = invoice(&app, c, "REM-R-VOID", due).await;
    let pending = invoice(&app, c, "REM-R-PENDING", due).await;
    let disputed = invoice(&app, c, "REM-R-DISPUTED", due).await;
    let part = invoice(&app, c, "REM-R-PART", due).await;
    let planned = invoice(&app, c, "REM-R-PLAN", due).await;
    let promised = invoice(&app, c, "REM-R-PROMISED", due).await;
    let paused = invoice(&app, c, "REM-R-PAUSED", due).await;
    let other = customer(&app, "paused", None).await;
    let of_paused_customer = invoice(&app, other, "REM-R-CUSTOMER-PAUSED", due).await;

    travel(&app, utc(2030, 3, 13, 14, 0)); // the day before, 10:00
    paid_by_hand(&app, c, paid, 10_000).await;
    set_invoice(&app, void, "voided_at = '2030-03-13T14:00:00.000000Z'").await;
    set_invoice(&app, pending, "pending_minor = 10000").await;
    set_invoice(&app, disputed, "disputed_minor = 10000").await;
    set_invoice(&app, part, "disputed_minor = 3000").await;
    // A plan within the seller's policy is approved at once.
    let payer = access_of(&app, "payer-rules@rem.example").await;
    let plan = app
        .services
        .propose_plan(
            &payer,
            c,
            &portal_core::services::plans::PlanForm {
                invoice_ids: vec![planned],
                down_payment: String::new(),
                count: "2".into(),
                frequency: "monthly".into(),
                first_date: date(2030, 3, 20).to_string(),
                message: String::new(),
            },
            portal_core::services::plans::ClientInfo {
                ip: None,
                user_agent: None,
            },
        )
        .await
        .expect("a plan");
    let _ = plan;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM plan_invoices pi JOIN payment_plans p ON p.plan_id = pi.plan_id
             WHERE pi.invoice_id = {planned} AND p.status = 'active'"
        ))
        .await,
        1,
        "the plan is active"
    );
    promise(&app, payer.contact_id, c, promised, date(2030, 3, 20))
        .await
        .expect("a promise");
    let admin = staff_id(&app, "ar@seller.example").await;
    app.services
        .pause_invoice_reminders(admin, paused, "2030-03-15")
        .await
        .unwrap();
    app.services
        .set_customer_reminders(admin, other, None, "2030-03-31", "")
        .await
        .unwrap();

    travel(&app, utc(2030, 3, 14, 13, 0)); // 09:00 on the due date
    run(&app).await;
    let mails = reminders_to(&app, "payer-rules@rem.example").await;
    assert_eq!(mails.len(), 1, "one email lists every invoice due");
    let text = &mails[0].1;
    assert!(text.contains("REM-R-CONTROL"), "{text}");
    for (number, rule) in [
        ("REM-R-PAID", "paid"),
        ("REM-R-VOID", "void"),
        ("REM-R-PENDING", "payment in progress"),
        ("REM-R-DISPUTED", "disputed in full"),
        ("REM-R-PLAN", "in a running plan"),
        ("REM-R-PROMISED", "under a promise to pay"),
        ("REM-R-PAUSED", "invoice paused"),
    ] {
        assert!(
            !text.contains(number),
            "{rule}: {number} must not be reminded\n{text}"
        );
    }
    // Part disputed: the reminder asks for the undisputed rest only.
    let line = text
        .lines()
        .find(|l| l.contains("REM-R-PART"))
        .expect("the part-disputed invoice is reminded");
    assert!(
        line.contains("$70.00") && line.contains("$30.00 of it is disputed"),
        "{line}"
    );
    assert!(text.contains("Total: $170.00"), "{text}");
    assert!(
        reminders_to(&app, "payer-paused@rem.example")
            .await
            .is_empty(),
        "customer paused"
    );
    let _ = (control, of_paused_customer);

    // Already sent: a second run in the window sends nothing again.
    travel(&app, utc(2030, 3, 14, 14, 0));
    assert_eq!(run(&app).await.sends, 0, "already sent for this step");

    // The invoice pause ends on the 15th: from the 16th the invoice is
    // reminded (its step 0, still inside the catch-up).
    travel(&app, utc(2030, 3, 15, 13, 0));
    run(&app).await;
    assert!(
        !reminders_to(&app, "payer-rules@rem.example")
            .await
            .iter()
            .any(|(_, t)| t.contains("REM-R-PAUSED")),
        "paused through the 15th"
    );
    travel(&app, utc(2030, 3, 18, 13, 0)); // Monday
    run(&app).await;
    assert!(
        reminders_to(&app, "payer-rules@rem.example")
            .await
            .iter()
            .any(|(_, t)| t.contains("REM-R-PAUSED")),
        "resumed after the pause"
    );
}

async fn two_instances_at_once_send_nothing_twice(backend: Backend) {
    let app = start(backend).await;
    let mut customers = Vec::new();
    for k in 0..4 {
        let c = customer(&app, &format!("twin{k}"), None).await;
        for n in 0..3 {
            invoice(&app, c, &format!("REM-TWIN-{k}-{n}"), date(2030, 3, 14)).await;
        }
        customers.push(c);
    }
    let mut options = AppOptions::new(backend);
    options.database_url = Some(app.database_url.clone());
    options.seed = false;
    options.clock = Some(app.clock.clone());
    options.smtp = Some(app.smtp.clone());
    let other = spawn_app_with(options).await;

    for (day, hour) in [(11, 13), (14, 13)] {
        travel(&app, utc(2030, 3, day, hour, 0));
        for _ in 0..3 {
            let now = app.clock.now_for_tests();
            let (a, b) = tokio::join!(
                app.services.run_reminders(now),
                other.services.run_reminders(now)
            );
            a.expect("instance one");
            b.expect("instance two");
            travel(&app, now + Duration::minutes(1));
        }
    }
    for (k, c) in customers.iter().enumerate() {
        let sent = sends(&app, *c).await;
        assert_eq!(sent.len(), 6, "3 invoices x 2 steps, once each");
        let mails = reminders_to(&app, &format!("payer-twin{k}@rem.example")).await;
        assert_eq!(mails.len(), 2, "one email per step day");
        assert_eq!(
            mails[0].1.matches("REM-TWIN-").count(),
            3,
            "each email lists the three invoices once"
        );
    }
}

async fn tokyo_and_los_angeles_customers_get_reminders_in_their_own_window_across_dst(
    backend: Backend,
) {
    let app = start(backend).await;
    let tokyo = customer(&app, "tokyo", Some("Asia/Tokyo")).await;
    let la = customer(&app, "la", Some("America/Los_Angeles")).await;
    // Due Monday 11 March 2030: step -3 on Friday 8 March (before the
    // change), step 0 on Monday (after it).
    invoice(&app, tokyo, "REM-TOKYO", date(2030, 3, 11)).await;
    invoice(&app, la, "REM-LA", date(2030, 3, 11)).await;

    // The job every 15 minutes from Thursday noon UTC to Tuesday.
    travel(&app, utc(2030, 3, 7, 12, 0));
    while app.clock.now_for_tests() < utc(2030, 3, 12, 12, 0) {
        run(&app).await;
        app.clock.advance(Duration::minutes(15));
    }
    let at = |sends: Vec<(i64, Option<i64>, String)>| -> Vec<(Option<i64>, String)> {
        sends.into_iter().map(|(_, o, t)| (o, t)).collect()
    };
    // Tokyo (UTC+9): 09:00 local is 00:00 UTC the same day.
    assert_eq!(
        at(sends(&app, tokyo).await),
        vec![
            (Some(-3), "2030-03-08T00:00:00.000000Z".to_owned()),
            (Some(0), "2030-03-11T00:00:00.000000Z".to_owned()),
        ]
    );
    // Los Angeles: 09:00 PST (UTC-8) on Friday, 09:00 PDT (UTC-7) on Monday.
    assert_eq!(
        at(sends(&app, la).await),
        vec![
            (Some(-3), "2030-03-08T17:00:00.000000Z".to_owned()),
            (Some(0), "2030-03-11T16:00:00.000000Z".to_owned()),
        ]
    );
}

async fn a_manual_send_does_not_bring_the_next_step_the_next_morning(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "manual", None).await;
    // Due Tuesday 5 March 2030; AR sends by hand on Monday 11 March (+6).
    let inv = invoice(&app, c, "REM-MANUAL", date(2030, 3, 5)).await;
    travel(&app, utc(2030, 3, 11, 17, 0)); // 13:00 in New York: after the window
    let admin = staff_id(&app, "ar@seller.example").await;
    let sent = app
        .services
        .send_reminder_now(admin, c, &[inv])
        .await
        .expect("a manual send");
    assert_eq!((sent.invoices, sent.emails), (1, 2));
    // The next morning (+7, the step's own day) nothing goes out, nor the day after.
    for day in [12, 13] {
        travel(&app, utc(2030, 3, day, 13, 0));
        assert_eq!(run(&app).await.sends, 0, "March {day}");
    }
    // Three days after the manual one, the +7 step goes.
    travel(&app, utc(2030, 3, 14, 13, 0));
    assert_eq!(run(&app).await.sends, 1);
    let offsets = step_offsets(&app, c).await;
    assert_eq!(offsets, vec![None, Some(7)]);
    let subjects: Vec<String> = reminders_to(&app, "payer-manual@rem.example")
        .await
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(subjects.len(), 2);
    assert!(subjects[1].starts_with("Overdue"), "{subjects:?}");
}

async fn a_promise_pauses_reminders_and_a_broken_one_resumes_them_and_tells_the_customer(
    backend: Backend,
) {
    let app = start(backend).await;
    let c = customer(&app, "promise", None).await;
    // Due Tuesday 5 March 2030.
    let broken = invoice(&app, c, "REM-P-BROKEN", date(2030, 3, 5)).await;
    let kept = invoice(&app, c, "REM-P-KEPT", date(2030, 3, 5)).await;
    travel(&app, utc(2030, 3, 5, 14, 0)); // step 0
    assert_eq!(run(&app).await.sends, 2);
    let payer = access_of(&app, "payer-promise@rem.example").await;
    for id in [broken, kept] {
        promise(&app, payer.contact_id, c, id, date(2030, 3, 13))
            .await
            .expect("a promise");
    }
    // Beyond the 30-day horizon: refused.
    let too_far = promise(&app, payer.contact_id, c, broken, date(2030, 4, 30)).await;
    assert!(too_far.is_err());
    // Step +7 falls on Tuesday 12 March, under the promise: nothing.
    travel(&app, utc(2030, 3, 12, 13, 0));
    assert_eq!(run(&app).await.sends, 0, "paused by the promise");
    // One invoice is paid on the promised day.
    travel(&app, utc(2030, 3, 13, 18, 0));
    paid_by_hand(&app, c, kept, 10_000).await;
    // The next morning the broken promise resumes the cadence and the
    // customer is told; the kept one just closes.
    travel(&app, utc(2030, 3, 14, 13, 0));
    let resumed = run(&app).await;
    assert_eq!(resumed.promises_closed, 2);
    assert_eq!(resumed.sends, 1);
    let subjects = subjects_to(&app, "payer-promise@rem.example").await;
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("was not kept"))
            .count(),
        1,
        "{subjects:?}"
    );
    let mails = reminders_to(&app, "payer-promise@rem.example").await;
    let last = &mails.last().unwrap().1;
    assert!(
        last.contains("REM-P-BROKEN") && !last.contains("REM-P-KEPT"),
        "{last}"
    );
    assert!(
        subjects_to(&app, "admin-promise@rem.example")
            .await
            .iter()
            .all(|s| !s.contains("was not kept")),
        "the contact who promised is told"
    );
    let statuses = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, String>(
            "SELECT status FROM promises_to_pay WHERE customer_id = $1 ORDER BY promise_id",
        )
        .bind(c)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };
    assert_eq!(statuses, vec!["broken", "kept"]);
}

async fn a_promise_from_the_invoice_page_works_without_javascript(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "form", None).await;
    let inv = invoice(&app, c, "REM-FORM", date(2030, 3, 5)).await;
    travel(&app, utc(2030, 3, 6, 15, 0));
    let payer = app.signed_in_client("payer-form@rem.example").await;
    let path = format!("/accounts/{c}/invoices/{inv}/promise");
    let answer = app
        .post_form_with(
            &payer,
            &path,
            &[("promised_on", "2030-03-12"), ("amount", "60.00")],
        )
        .await;
    assert_eq!(answer.status(), 303);
    let back = location(&answer);
    assert!(back.contains("promised=1"), "{back}");
    let page = page_html(&app, &payer, &back).await;
    assert!(
        page.contains("You promised to pay"),
        "the invoice page shows the promise"
    );
    let stored = app
        .count(&format!(
            "SELECT COUNT(*) FROM promises_to_pay WHERE customer_id = {c} AND amount_minor = 6000 AND channel = 'portal'"
        ))
        .await;
    assert_eq!(stored, 1);
    // A date too far: back to the page with the problem, nothing stored.
    let refused = app
        .post_form_with(&payer, &path, &[("promised_on", "2031-01-01")])
        .await;
    assert_eq!(refused.status(), 303);
    let back = location(&refused);
    assert!(back.contains("promise_problem="), "{back}");
    // A viewer may not promise.
    let viewer = app.signed_in_client("viewer-form@rem.example").await;
    let answer = app
        .post_form_with(&viewer, &path, &[("promised_on", "2030-03-12")])
        .await;
    assert_eq!(answer.status(), 403);
    // Another account's invoice: not found.
    let other = customer(&app, "form2", None).await;
    let foreign = invoice(&app, other, "REM-FORM-2", date(2030, 3, 5)).await;
    let answer = app
        .post_form_with(
            &payer,
            &format!("/accounts/{other}/invoices/{foreign}/promise"),
            &[("promised_on", "2030-03-12")],
        )
        .await;
    assert_eq!(answer.status(), 404);
}

async fn ar_admins_edit_cadences_and_pauses_and_agents_are_refused(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "admin", None).await;
    invoice(&app, c, "REM-ADMIN", date(2030, 3, 14)).await;
    let admin = app.signed_in_staff_client().await;
    // A gentler cadence for key accounts: only +10.
    let answer = app
        .post_form_with(
            &admin,
            "/staff/settings/reminders/cadences",
            &[("name", "Key accounts")],
        )
        .await;
    assert_eq!(answer.status(), 303);
    let cadence: i64 = app
        .count("SELECT cadence_id FROM reminder_cadences WHERE name = 'Key accounts'")
        .await;
    let steps: Vec<i64> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>(
            "SELECT step_id FROM reminder_steps WHERE cadence_id = $1 AND retired_at IS NULL",
        )
        .bind(cadence)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };
    assert_eq!(
        steps.len(),
        5,
        "a new cadence starts as a copy of the default"
    );
    for step in &steps {
        let answer = app
            .post_form_with(
                &admin,
                &format!("/staff/settings/reminders/steps/{step}/remove"),
                &[],
            )
            .await;
        assert_eq!(answer.status(), 303);
    }
    let answer = app
        .post_form_with(
            &admin,
            "/staff/settings/reminders/steps",
            &[
                ("cadence_id", &cadence.to_string()),
                ("offset_days", "+10"),
                ("subject", "A gentle note from {seller_name}"),
                (
                    "body",
                    "Hello {contact_name},\n\n{invoices}\n\n{pay_all_link}",
                ),
            ],
        )
        .await;
    assert_eq!(answer.status(), 303);
    // An unknown variable is refused with the problem in the redirect.
    let answer = app
        .post_form_with(
            &admin,
            "/staff/settings/reminders/steps",
            &[
                ("cadence_id", &cadence.to_string()),
                ("offset_days", "20"),
                ("subject", "Hi {first_name}"),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(answer.status(), 303);
    assert!(location(&answer).contains("reminder_problem="));
    // The customer gets that cadence.
    let answer = app
        .post_form_with(
            &admin,
            &format!("/staff/customers/{c}/reminders"),
            &[
                ("cadence_id", &cadence.to_string()),
                ("paused_until", ""),
                ("time_zone", ""),
            ],
        )
        .await;
    assert_eq!(answer.status(), 303);
    let page = page_html(&app, &admin, "/staff/settings").await;
    assert!(
        page.contains("Key accounts") && page.contains("A gentle note"),
        "settings list the cadence"
    );
    let customer_page = page_html(&app, &admin, &format!("/staff/customers/{c}")).await;
    assert!(
        customer_page.contains("Key accounts"),
        "the customer page names its cadence"
    );

    travel(&app, utc(2030, 3, 11, 13, 0));
    assert_eq!(run(&app).await.sends, 0, "no -3 step in the gentle cadence");
    travel(&app, utc(2030, 3, 25, 13, 0)); // +11: the +10 step, a day late
    assert_eq!(run(&app).await.sends, 1);
    assert!(reminders_to(&app, "payer-admin@rem.example").await[0]
        .0
        .starts_with("A gentle note"));
    // The customer page lists the send with its emails' outbox status.
    app.smtp.wait_for("admin-admin@rem.example", 1).await;
    app.worker.deliver_due().await.unwrap();
    // (The clock moved past the first session's lifetime: sign in again.)
    let admin = app.signed_in_staff_client().await;
    let customer_page = page_html(&app, &admin, &format!("/staff/customers/{c}")).await;
    assert!(
        customer_page.contains("REM-ADMIN") && customer_page.contains("of 2 emails sent"),
        "the history shows the send"
    );

    // An agent reads but may not change.
    let agent = signed_in_as(&app, "agent@seller.example", true).await;
    let answer = app
        .post_form_with(
            &agent,
            "/staff/settings/reminders/cadences",
            &[("name", "Agents' own")],
        )
        .await;
    assert_eq!(answer.status(), 403);
    let answer = app
        .post_form_with(
            &agent,
            &format!("/staff/customers/{c}/reminders"),
            &[
                ("cadence_id", ""),
                ("paused_until", "2030-12-31"),
                ("time_zone", ""),
            ],
        )
        .await;
    assert_eq!(answer.status(), 403);
}

async fn autopay_leaves_an_invoice_under_a_promise_alone(backend: Backend) {
    use portal_core::payments::sandbox::SandboxMethod;
    use portal_core::repo::payment_methods::{insert_method, NewMethod};
    use portal_core::services::autopay::{EnrolmentDraft, CONSENT_VERSION};

    let app = start(backend).await;
    let c = customer(&app, "autopay", None).await;
    travel(&app, utc(2030, 3, 4, 15, 0));
    // Both due in two days: autopay's notices go out now.
    let promised = invoice(&app, c, "REM-AP-PROMISED", date(2030, 3, 6)).await;
    let plain = invoice(&app, c, "REM-AP-PLAIN", date(2030, 3, 6)).await;
    let payer = access_of(&app, "payer-autopay@rem.example").await;
    exec(
        &app,
        &format!(
            "UPDATE customers SET gateway_customer_id = 'cus_sandbox_rem' WHERE customer_id = {c}"
        ),
    )
    .await;
    let method_id = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        insert_method(
            &mut conn,
            &NewMethod {
                customer_id: c,
                gateway: "sandbox",
                gateway_method_id: &SandboxMethod::CardOk.new_id(),
                kind: "card",
                brand: "visa",
                last4: "4242",
                exp_month: Some(12),
                exp_year: Some(2034),
                contact_id: payer.contact_id,
            },
            app.clock.now_for_tests(),
        )
        .await
        .unwrap()
    };
    app.services
        .enrol_autopay(
            payer.contact_id,
            c,
            &EnrolmentDraft {
                scope: "all".into(),
                days_before: "0".into(),
                method_id: method_id.to_string(),
                agreed: true,
                consent_version: CONSENT_VERSION.to_string(),
                ..Default::default()
            },
            None,
            None,
        )
        .await
        .expect("enrolled");
    promise(&app, payer.contact_id, c, promised, date(2030, 3, 20))
        .await
        .unwrap();
    app.services
        .run_autopay(app.clock.now_for_tests())
        .await
        .unwrap();
    let notices =
        |id: i64| format!("SELECT COUNT(*) FROM autopay_notices WHERE target = 'invoice:{id}'");
    assert_eq!(
        app.count(&notices(plain)).await,
        1,
        "the other invoice is announced"
    );
    assert_eq!(
        app.count(&notices(promised)).await,
        0,
        "no debit for an invoice under a promise"
    );
}

async fn a_customer_pause_that_ends_resumes_with_the_latest_step_only(backend: Backend) {
    let app = start(backend).await;
    let paused = customer(&app, "resume", None).await;
    let steady = customer(&app, "steady", None).await;
    // Due 10 January 2030: its +30 step fell on 9 February, long past.
    invoice(&app, paused, "REM-RESUME", date(2030, 1, 10)).await;
    invoice(&app, steady, "REM-STEADY", date(2030, 1, 10)).await;
    travel(&app, utc(2030, 1, 1, 12, 0));
    let admin = staff_id(&app, "ar@seller.example").await;
    app.services
        .set_customer_reminders(admin, paused, None, "2030-03-12", "")
        .await
        .unwrap();
    travel(&app, utc(2030, 3, 12, 13, 0)); // Tuesday, the pause's last day
    assert_eq!(run(&app).await.sends, 0);
    travel(&app, utc(2030, 3, 13, 13, 0)); // the morning after
    assert_eq!(run(&app).await.sends, 1);
    let mails = reminders_to(&app, "payer-resume@rem.example").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].0.starts_with("Final notice"), "{:?}", mails[0].0);
    assert!(mails[0].1.contains("REM-RESUME"));
    // Nothing for the old invoice of a customer never paused: its steps
    // went (or were missed) long ago, and go-live mails nobody a backlog.
    assert!(reminders_to(&app, "payer-steady@rem.example")
        .await
        .is_empty());
    let offsets = step_offsets(&app, paused).await;
    assert_eq!(offsets, vec![Some(30)], "the latest step only, once");
}

/// 60 days of the job over the demo data with its month of reminders
/// (`seed_demo_reminders`, as `portal seed-demo` loads it: the Key accounts
/// cadence, a paused customer, a kept and a broken promise, 30 days of
/// sends) and generated edge cases, run every simulated minute (86,400
/// runs: the job decides a customer once per local day, so the runs after
/// the first in a window read three small things and stop), against a
/// model written here from the rules in words, which reads its facts from
/// the tables with SQL, never through the services under test:
///
/// - each customer follows its own cadence (or the default one) in its own
///   zone (or the seller's), inside the send window on weekdays that are
///   not the seller's holidays;
/// - on such a local day an open, remindable invoice gets the latest step
///   whose date has come, unless the step was sent, or any send on or after
///   its date (the demo's history included) covers it, or a manual send
///   was less than 3 days ago, or it is more than 7 days late, counted
///   from its date or the first day after a pause or promise that held the
///   invoice, whichever is later;
/// - a customer pause, an invoice pause and a promise to pay hold the
///   invoice through their last day (the promised day, in the customer's
///   zone); a promise nobody paid toward is broken the next morning in the
///   customer's window and its contact (all payers and admins for a phone
///   promise) is told;
/// - one email per customer and day to each payer and admin and the billing
///   address (dropped when it is a payer's or admin's address, in lower
///   case), leaving out the addresses that unsubscribed when every invoice
///   of the email is at an optional step.
///
/// What the job recorded must equal the model, and the SMTP server must
/// receive exactly the model's emails per address.
async fn sixty_days_of_the_job_match_an_independent_model(backend: Backend) {
    use chrono_tz_free::Zone;
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    // The demo as `portal seed-demo` leaves it. The outbox worker starts
    // only once the demo has marked its month of history sent, so the SMTP
    // server receives the 60 days' mail and nothing of the history.
    let app = spawn_app_with(AppOptions {
        run_worker: false,
        ..AppOptions::new(backend)
    })
    .await;
    let demo = portal_core::seed::seed_demo_reminders(&app.services)
        .await
        .expect("demo reminders");
    assert!(
        demo.sends > 0 && demo.promises == 2,
        "the demo has a history: {demo:?}"
    );
    tokio::spawn(app.worker.clone().run_forever());

    // Start at the next midnight UTC; the edge cases are set around it.
    let now = app.clock.now_for_tests();
    let start = Utc.from_utc_datetime(
        &(now.date_naive() + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    let end = start + Duration::days(60);
    let d0 = start.date_naive();
    let id_of = |sql: String| {
        let pool = app.services.db.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        }
    };
    let demo_customer = |key: &str| {
        id_of(format!(
            "SELECT customer_id FROM customers WHERE external_id = 'demo-{key}'"
        ))
    };
    let contact = |email: &str| {
        id_of(format!(
            "SELECT contact_id FROM contacts WHERE email = '{email}'"
        ))
    };
    let northwind = demo_customer("northwind").await;
    let holding_us = demo_customer("holding-us").await;

    let tokyo = customer(&app, "sim-tokyo", Some("Asia/Tokyo")).await;
    let la = customer(&app, "sim-la", Some("America/Los_Angeles")).await;
    let ny = customer(&app, "sim-ny", None).await;
    let warsaw = customer(&app, "sim-waw", Some("Europe/Warsaw")).await;
    for (c, key) in [(tokyo, "T"), (la, "L"), (ny, "N"), (warsaw, "W")] {
        for (n, days) in [-40i64, -20, -9, -2, 0, 3, 10, 25, 45]
            .into_iter()
            .enumerate()
        {
            invoice(
                &app,
                c,
                &format!("SIM-{key}-{n}"),
                d0 + Duration::days(days),
            )
            .await;
        }
    }
    let part = invoice(&app, ny, "SIM-N-PART", d0 + Duration::days(5)).await;
    let whole = invoice(&app, ny, "SIM-N-WHOLE", d0 + Duration::days(5)).await;
    let pending = invoice(&app, la, "SIM-L-PENDING", d0 + Duration::days(5)).await;
    let paused = invoice(&app, tokyo, "SIM-T-PAUSED", d0 + Duration::days(5)).await;
    set_invoice(&app, part, "disputed_minor = 2500").await;
    set_invoice(&app, whole, "disputed_minor = 10000").await;
    set_invoice(&app, pending, "pending_minor = 100").await;
    let admin = staff_id(&app, "ar@seller.example").await;
    app.services
        .pause_invoice_reminders(admin, paused, &(d0 + Duration::days(16)).to_string())
        .await
        .unwrap();
    // Promises nobody keeps: one from the portal, one taken by phone.
    let promised = invoice(&app, ny, "SIM-N-PROMISED", d0 + Duration::days(3)).await;
    let payer_ny = contact("payer-sim-ny@rem.example").await;
    promise(&app, payer_ny, ny, promised, d0 + Duration::days(10))
        .await
        .unwrap();
    let phoned = invoice(&app, la, "SIM-L-PHONED", d0 + Duration::days(1)).await;
    app.services
        .record_phone_promise(
            admin,
            la,
            &PromiseDraft {
                invoice_ids: vec![phoned],
                promised_on: (d0 + Duration::days(8)).to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A billing address, and a payer who turned the friendly steps off.
    let bill = customer(&app, "sim-bill", None).await;
    for (n, days) in [-1i64, 4, 6, 12, 20, 33].into_iter().enumerate() {
        invoice(&app, bill, &format!("SIM-B-{n}"), d0 + Duration::days(days)).await;
    }
    app.services
        .set_billing_email(admin, bill, "accounts-sim-bill@rem.example")
        .await
        .unwrap();
    let payer_bill = contact("payer-sim-bill@rem.example").await;
    app.services
        .set_friendly_reminders(payer_bill, bill, false)
        .await
        .unwrap();
    // A billing address that is the admin's own, in other letters.
    app.services
        .set_billing_email(admin, tokyo, "Admin-Sim-Tokyo@rem.example")
        .await
        .unwrap();
    // The demo's key account and paused customer, with an invoice each
    // whose steps fall inside the 60 days (the paused one's during the
    // pause).
    invoice(&app, northwind, "SIM-NW-KEY", d0 + Duration::days(5)).await;
    invoice(&app, holding_us, "SIM-HU-PAUSED", d0 + Duration::days(3)).await;

    // ---- The model's facts, read from the tables once (nothing is paid
    // during the 60 days). ----
    let calendar = app.services.sla_settings().await.unwrap().calendar;
    let holidays: BTreeSet<NaiveDate> = calendar.holidays().clone();
    let seller_tz = calendar.time_zone();
    // The hand-written zones agree with chrono-tz on every day's window
    // opening, 2026-2036 (the portal's zone library; only the check uses it).
    {
        fn like<T: std::str::FromStr>(_: T, name: &str) -> T {
            name.parse().unwrap_or_else(|_| panic!("no zone {name}"))
        }
        for zone in Zone::ALL {
            let tz = like(seller_tz, zone.name());
            let mut day = date(2026, 1, 1);
            while day < date(2037, 1, 1) {
                let (open, close) = zone.window(day, 540, 660);
                assert_eq!(
                    (
                        open.with_timezone(&tz).naive_local(),
                        close.with_timezone(&tz).naive_local()
                    ),
                    (
                        day.and_hms_opt(9, 0, 0).unwrap(),
                        day.and_hms_opt(11, 0, 0).unwrap()
                    ),
                    "{} on {day}",
                    zone.name()
                );
                day += Duration::days(1);
            }
        }
    }
    let seller_zone = Zone::named(seller_tz.name());

    struct Step {
        id: i64,
        offset: i64,
        optional: bool,
    }
    struct Account {
        zone: Zone,
        cadence: i64,
        paused_until: Option<NaiveDate>,
        /// (contact, address): payers and admins, then the billing address.
        recipients: Vec<(Option<i64>, String)>,
        unsubscribed: BTreeSet<String>,
    }
    struct Inv {
        id: i64,
        customer: i64,
        due: NaiveDate,
        remindable: bool,
    }
    #[derive(Default)]
    struct History {
        last_sent: Option<NaiveDate>,
        last_manual: Option<NaiveDate>,
        steps: BTreeSet<i64>,
    }
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    enum Hold {
        Customer,
        Invoice,
        Promise,
    }
    let day_of = |s: String| -> NaiveDate { s.parse().unwrap() };
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (window_start, window_end) = sqlx::query_as::<_, (i64, i64)>(
        "SELECT window_start_minute, window_end_minute FROM reminder_settings",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let default_cadence: i64 =
        sqlx::query_scalar("SELECT cadence_id FROM reminder_cadences WHERE is_default = 1")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let mut cadences: HashMap<i64, Vec<Step>> = HashMap::new();
    for (id, cadence, offset, optional) in sqlx::query_as::<_, (i64, i64, i64, i64)>(
        "SELECT step_id, cadence_id, offset_days, optional FROM reminder_steps WHERE retired_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        cadences.entry(cadence).or_default().push(Step {
            id,
            offset,
            optional: optional == 1,
        });
    }
    let mut accounts: HashMap<i64, Account> = HashMap::new();
    for c in sqlx::query_scalar::<_, i64>("SELECT customer_id FROM customers")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    {
        accounts.insert(
            c,
            Account {
                zone: seller_zone,
                cadence: default_cadence,
                paused_until: None,
                recipients: Vec::new(),
                unsubscribed: BTreeSet::new(),
            },
        );
    }
    let mut billing: HashMap<i64, String> = HashMap::new();
    for (c, cadence, paused_until, zone, billing_email) in sqlx::query_as::<
        _,
        (i64, Option<i64>, Option<String>, Option<String>, Option<String>),
    >(
        "SELECT customer_id, cadence_id, paused_until, time_zone, billing_email FROM customer_reminders",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        let a = accounts.get_mut(&c).unwrap();
        a.cadence = cadence.unwrap_or(default_cadence);
        a.paused_until = paused_until.map(day_of);
        a.zone = zone.as_deref().map_or(seller_zone, Zone::named);
        if let Some(b) = billing_email {
            billing.insert(c, b);
        }
    }
    let mut contact_email: HashMap<i64, String> = HashMap::new();
    for (c, contact_id, email) in sqlx::query_as::<_, (i64, i64, String)>(
        "SELECT cc.customer_id, c.contact_id, c.email FROM customer_contacts cc
         JOIN contacts c ON c.contact_id = cc.contact_id
         WHERE cc.role IN ('payer', 'admin') AND c.disabled_at IS NULL
         ORDER BY c.contact_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        contact_email.insert(contact_id, email.clone());
        let a = accounts.get_mut(&c).unwrap();
        if !a
            .recipients
            .iter()
            .any(|(_, e)| e.to_lowercase() == email.to_lowercase())
        {
            a.recipients.push((Some(contact_id), email));
        }
    }
    for (c, email) in billing {
        let a = accounts.get_mut(&c).unwrap();
        if !a
            .recipients
            .iter()
            .any(|(_, e)| e.to_lowercase() == email.to_lowercase())
        {
            a.recipients.push((None, email));
        }
    }
    for (c, email) in
        sqlx::query_as::<_, (i64, String)>("SELECT customer_id, email FROM reminder_unsubscribes")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    {
        accounts
            .get_mut(&c)
            .unwrap()
            .unsubscribed
            .insert(email.to_lowercase());
    }
    let planned: BTreeSet<i64> = sqlx::query_scalar::<_, i64>(
        "SELECT pi.invoice_id FROM plan_invoices pi JOIN payment_plans p ON p.plan_id = pi.plan_id
         WHERE pi.released_at IS NULL AND p.status IN ('active', 'at_risk')",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let mut open_left: HashMap<i64, i64> = HashMap::new();
    let invoices: Vec<Inv> = sqlx::query_as::<_, (i64, i64, String, i64, i64, i64, Option<String>)>(
        "SELECT invoice_id, customer_id, due_date, balance_minor, pending_minor, disputed_minor, voided_at
         FROM invoices",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, customer, due, balance, pending, disputed, voided)| {
        open_left.insert(id, if voided.is_some() { 0 } else { balance - pending });
        Inv {
            id,
            customer,
            due: day_of(due),
            remindable: voided.is_none()
                && balance > 0
                && pending == 0
                && balance > disputed
                && !planned.contains(&id),
        }
    })
    .collect();
    // What holds each invoice, through which day.
    let mut holds: HashMap<i64, Vec<(NaiveDate, Hold)>> = HashMap::new();
    for (i, until) in sqlx::query_as::<_, (i64, String)>(
        "SELECT invoice_id, paused_until FROM invoice_reminder_pauses",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        holds
            .entry(i)
            .or_default()
            .push((day_of(until), Hold::Invoice));
    }
    for inv in &invoices {
        if let Some(p) = accounts[&inv.customer].paused_until {
            holds.entry(inv.id).or_default().push((p, Hold::Customer));
        }
    }
    // Open promises: (customer, day, contact who promised).
    let mut open_promises: BTreeMap<i64, (i64, NaiveDate, Option<i64>)> = BTreeMap::new();
    let mut statuses: BTreeSet<String> = BTreeSet::new();
    for (i, p, c, on, status, who, payable) in sqlx::query_as::<
        _,
        (i64, i64, i64, String, String, Option<i64>, i64),
    >(
        "SELECT pi.invoice_id, p.promise_id, p.customer_id, p.promised_on, p.status, p.contact_id,
                pi.payable_minor
         FROM promise_invoices pi JOIN promises_to_pay p ON p.promise_id = pi.promise_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        statuses.insert(status.clone());
        // A kept promise closed; the others held the invoice through their day.
        if status == "kept" || status == "withdrawn" {
            continue;
        }
        holds
            .entry(i)
            .or_default()
            .push((day_of(on.clone()), Hold::Promise));
        if status == "open" {
            assert!(
                open_left[&i] >= payable,
                "the model's open promises have nothing paid toward them"
            );
            open_promises.insert(p, (c, day_of(on), who));
        }
    }
    assert!(
        statuses.contains("kept") && statuses.contains("broken"),
        "the demo's promises: {statuses:?}"
    );
    let mut history: HashMap<i64, History> = HashMap::new();
    for (i, step, kind, on) in sqlx::query_as::<_, (i64, Option<i64>, String, String)>(
        "SELECT invoice_id, step_id, kind, sent_on FROM reminder_sends",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    {
        let on = day_of(on);
        assert!(on < d0, "the history is in the past");
        let h = history.entry(i).or_default();
        h.last_sent = h.last_sent.max(Some(on));
        if kind == "manual" {
            h.last_manual = h.last_manual.max(Some(on));
        }
        h.steps.extend(step);
    }
    drop(conn);

    // ---- The model. ----
    // A local day the job runs on for a customer in `zone`: a weekday, not
    // a holiday, its whole window inside the 60 days.
    let run_day = |zone: Zone, day: NaiveDate| {
        let (open_at, close_at) = zone.window(day, window_start, window_end);
        !matches!(day.format("%a").to_string().as_str(), "Sat" | "Sun")
            && !holidays.contains(&day)
            && open_at >= start
            && close_at <= end
    };
    let first_day = d0 - Duration::days(1);
    let last_day = end.date_naive() + Duration::days(1);
    let mut expected: BTreeSet<(i64, i64, NaiveDate)> = BTreeSet::new();
    // (customer, day) -> every invoice of the email at an optional step.
    let mut mail_days: BTreeMap<(i64, NaiveDate), bool> = BTreeMap::new();
    // Steps that would have gone but for a hold, per kind and customer.
    let mut held: BTreeMap<(Hold, i64), usize> = BTreeMap::new();
    let mut covered_by_history = 0usize;
    for inv in invoices.iter().filter(|i| i.remindable) {
        let account = &accounts[&inv.customer];
        let steps = &cadences[&account.cadence];
        let holds = holds.get(&inv.id).map(Vec::as_slice).unwrap_or(&[]);
        let before = history.remove(&inv.id).unwrap_or_default();
        let mut last_sent = before.last_sent;
        let mut sent_steps = before.steps;
        let mut day = first_day;
        while day <= last_day {
            let today = day;
            day += Duration::days(1);
            if !run_day(account.zone, today) {
                continue;
            }
            let Some(step) = steps
                .iter()
                .filter(|s| inv.due + Duration::days(s.offset) <= today)
                .max_by_key(|s| s.offset)
            else {
                continue;
            };
            let step_day = inv.due + Duration::days(step.offset);
            if sent_steps.contains(&step.id) || last_sent.is_some_and(|s| s >= step_day) {
                if last_sent.is_some_and(|s| s < d0) && holds.iter().all(|(e, _)| today > *e) {
                    covered_by_history += 1;
                }
                continue;
            }
            if before
                .last_manual
                .is_some_and(|m| today < m + Duration::days(3))
            {
                continue;
            }
            let resumed = holds
                .iter()
                .map(|(e, _)| *e + Duration::days(1))
                .filter(|r| *r <= today)
                .max();
            let late_from = resumed.map_or(step_day, |r| r.max(step_day));
            if (today - late_from).num_days() > 7 {
                continue;
            }
            if let Some((_, kind)) = holds.iter().find(|(e, _)| today <= *e) {
                *held.entry((*kind, inv.customer)).or_default() += 1;
                continue;
            }
            expected.insert((inv.id, step.offset, today));
            *mail_days.entry((inv.customer, today)).or_insert(true) &= step.optional;
            last_sent = Some(today);
            sent_steps.insert(step.id);
        }
    }
    // Each email the SMTP server must receive, per address.
    let mut per_address: BTreeMap<String, usize> = BTreeMap::new();
    let mut queued_to_contacts = 0usize;
    for account in accounts.values() {
        for (_, email) in &account.recipients {
            per_address.entry(email.clone()).or_default();
        }
    }
    let mut skipped_unsubscribed = 0usize;
    for ((c, _), optional_only) in &mail_days {
        let account = &accounts[c];
        for (contact, email) in &account.recipients {
            if *optional_only && account.unsubscribed.contains(&email.to_lowercase()) {
                skipped_unsubscribed += 1;
                continue;
            }
            *per_address.entry(email.clone()).or_default() += 1;
            queued_to_contacts += usize::from(contact.is_some());
        }
    }
    // A promise nobody paid toward is broken at the customer's first run
    // after its day; its contact (a phone promise: each payer and admin)
    // is told.
    let mut promise_emails = 0usize;
    for (c, on, who) in open_promises.values() {
        let zone = accounts[c].zone;
        let judged = (1..=70)
            .map(|n| *on + Duration::days(n))
            .find(|d| run_day(zone, *d) && *d <= last_day);
        if judged.is_none() {
            continue;
        }
        let to: Vec<String> = match who {
            Some(contact) => vec![contact_email[contact].clone()],
            None => accounts[c]
                .recipients
                .iter()
                .filter(|(contact, _)| contact.is_some())
                .map(|(_, e)| e.clone())
                .collect(),
        };
        for email in to {
            *per_address.entry(email).or_default() += 1;
            promise_emails += 1;
        }
    }

    // ---- The demo's features and the edge cases occur in the 60 days. ----
    let nw_offsets: BTreeSet<i64> = cadences[&accounts[&northwind].cadence]
        .iter()
        .map(|s| s.offset)
        .collect();
    let standard: BTreeSet<i64> = cadences[&default_cadence]
        .iter()
        .map(|s| s.offset)
        .collect();
    let key_only: BTreeSet<i64> = nw_offsets.difference(&standard).copied().collect();
    let customer_of: HashMap<i64, i64> = invoices.iter().map(|i| (i.id, i.customer)).collect();
    let sends_of = |c: i64| -> Vec<(i64, NaiveDate)> {
        expected
            .iter()
            .filter(|(i, _, _)| customer_of[i] == c)
            .map(|(_, o, d)| (*o, *d))
            .collect()
    };
    assert!(
        !key_only.is_empty(),
        "Northwind is on its own cadence: {nw_offsets:?}"
    );
    let nw = sends_of(northwind);
    assert!(
        nw.iter().any(|(o, _)| key_only.contains(o))
            && nw.iter().all(|(o, _)| nw_offsets.contains(o)),
        "Northwind's reminders follow the Key accounts steps {nw_offsets:?}: {nw:?}"
    );
    let hu_pause = accounts[&holding_us]
        .paused_until
        .expect("Holding Americas is paused");
    let hu = sends_of(holding_us);
    assert!(
        hu_pause >= d0
            && held
                .get(&(Hold::Customer, holding_us))
                .is_some_and(|n| *n > 0)
            && hu.iter().all(|(_, d)| *d > hu_pause)
            && !hu.is_empty(),
        "Holding Americas gets nothing through {hu_pause}, then its latest steps: {hu:?}"
    );
    assert!(
        held.keys().any(|(k, _)| *k == Hold::Promise) && promise_emails >= 2,
        "promises hold reminders and the broken ones are told: {held:?}"
    );
    assert!(
        held.keys().any(|(k, _)| *k == Hold::Invoice),
        "an invoice pause holds a step"
    );
    assert!(
        covered_by_history > 0,
        "the demo's history covers steps due in the first days"
    );
    assert!(
        skipped_unsubscribed > 0
            && per_address["payer-sim-bill@rem.example"] > 0
            && per_address["accounts-sim-bill@rem.example"]
                > per_address["payer-sim-bill@rem.example"],
        "the unsubscribed payer misses the friendly steps only, the billing address gets all"
    );
    assert!(
        !per_address
            .keys()
            .any(|a| a == "Admin-Sim-Tokyo@rem.example"),
        "a billing address that is the admin's own is dropped"
    );
    assert!(!sends_of(warsaw).is_empty(), "Warsaw is reminded");

    eprintln!(
        "60-day model: {} sends in {} customer-days, {} emails ({} to contacts), {} promise emails, {} unsubscribed skips, holds {:?}, {} (invoice, day) checks whose step the history had covered",
        expected.len(),
        mail_days.len(),
        per_address.values().sum::<usize>() - promise_emails,
        queued_to_contacts,
        promise_emails,
        skipped_unsubscribed,
        held,
        covered_by_history
    );

    // ---- The job, every simulated minute. ----
    let emails_before = app.count("SELECT COUNT(*) FROM reminder_emails").await as usize;
    let sends_before = app
        .count("SELECT COALESCE(MAX(send_id), 0) FROM reminder_sends")
        .await;
    travel(&app, start);
    while app.clock.now_for_tests() < end {
        run(&app).await;
        app.clock.advance(Duration::minutes(1));
    }
    let sent: BTreeSet<(i64, i64, NaiveDate)> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_as::<_, (i64, i64, String)>(
            "SELECT s.invoice_id, st.offset_days, s.sent_on FROM reminder_sends s
             JOIN reminder_steps st ON st.step_id = s.step_id
             WHERE s.send_id > $1",
        )
        .bind(sends_before)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(i, o, d)| (i, o, d.parse().unwrap()))
        .collect()
    };
    let missing: Vec<_> = expected.difference(&sent).collect();
    let extra: Vec<_> = sent.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "model and job differ: missing {missing:?}, extra {extra:?}"
    );
    assert!(
        expected.len() > 40,
        "the 60 days send something: {}",
        expected.len()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM promises_to_pay WHERE status = 'open'")
            .await,
        0,
        "every promise was judged"
    );
    // The emails: queued for contacts, and received by the SMTP server per
    // address (reminders, billing address included, and promise emails).
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reminder_emails").await as usize - emails_before,
        queued_to_contacts,
        "queued"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM email_outbox WHERE LOWER(to_address) = 'admin-sim-tokyo@rem.example'"
        )
        .await as usize,
        per_address["admin-sim-tokyo@rem.example"],
        "one email to an address that is both the admin's and the billing one"
    );
    for (address, count) in &per_address {
        if *count > 0 {
            app.smtp.wait_for(address, *count).await;
        }
    }
    for (address, count) in &per_address {
        assert_eq!(app.smtp.messages_to(address).len(), *count, "{address}");
    }
}

/// Local send windows worked out by hand (no time-zone library; a check in
/// the 60-day test compares them with chrono-tz): the US zones change on
/// the second Sunday of March and the first of November, the EU's on the
/// last Sundays of March and October (01:00 UTC), Tokyo never.
mod chrono_tz_free {
    use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

    #[derive(Clone, Copy, Debug)]
    pub enum Zone {
        NewYork,
        LosAngeles,
        Tokyo,
        Warsaw,
    }

    fn nth_sunday(year: i32, month: u32, n: u32) -> NaiveDate {
        let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
        let to_sunday = (7 - first.weekday().num_days_from_sunday()) % 7;
        first + Duration::days(i64::from(to_sunday + 7 * (n - 1)))
    }

    fn last_sunday(year: i32, month: u32) -> NaiveDate {
        let last = NaiveDate::from_ymd_opt(year, month + 1, 1).unwrap() - Duration::days(1);
        last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
    }

    fn us_dst(day: NaiveDate) -> bool {
        let begins = nth_sunday(day.year(), 3, 2);
        let ends = nth_sunday(day.year(), 11, 1);
        day >= begins && day < ends
    }

    fn eu_dst(day: NaiveDate) -> bool {
        day >= last_sunday(day.year(), 3) && day < last_sunday(day.year(), 10)
    }

    impl Zone {
        pub const ALL: [Zone; 4] = [Zone::NewYork, Zone::LosAngeles, Zone::Tokyo, Zone::Warsaw];

        pub fn name(self) -> &'static str {
            match self {
                Zone::NewYork => "America/New_York",
                Zone::LosAngeles => "America/Los_Angeles",
                Zone::Tokyo => "Asia/Tokyo",
                Zone::Warsaw => "Europe/Warsaw",
            }
        }

        /// The zone of an IANA name; a zone without rules here fails the test.
        pub fn named(name: &str) -> Zone {
            Zone::ALL
                .into_iter()
                .find(|z| z.name() == name)
                .unwrap_or_else(|| panic!("the model has no rules for {name}: add them"))
        }

        /// The UTC offset in hours on `day` (the windows are mid-morning,
        /// after the night's changes).
        fn offset(self, day: NaiveDate) -> i64 {
            match self {
                Zone::Tokyo => 9,
                Zone::NewYork => {
                    if us_dst(day) {
                        -4
                    } else {
                        -5
                    }
                }
                Zone::LosAngeles => {
                    if us_dst(day) {
                        -7
                    } else {
                        -8
                    }
                }
                Zone::Warsaw => {
                    if eu_dst(day) {
                        2
                    } else {
                        1
                    }
                }
            }
        }

        /// The window from `start_minute` to `end_minute` local on `day`, in UTC.
        pub fn window(
            self,
            day: NaiveDate,
            start_minute: i64,
            end_minute: i64,
        ) -> (DateTime<Utc>, DateTime<Utc>) {
            let midnight = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
                - Duration::hours(self.offset(day));
            (
                midnight + Duration::minutes(start_minute),
                midnight + Duration::minutes(end_minute),
            )
        }
    }
}

/// The job decides a customer once per local day: the first run inside
/// its window writes the day down, and the later runs that day read
/// nothing of it. An invoice that reaches a step after that (imported at
/// 09:30 with its -3 step today) goes the next working morning, within the
/// catch-up.
async fn a_customer_is_decided_once_a_day_and_what_comes_later_goes_the_next_morning(
    backend: Backend,
) {
    let app = start(backend).await;
    let c = customer(&app, "daily", None).await;
    // Due Friday 15 March 2030: step -3 on Tuesday 12 March.
    invoice(&app, c, "REM-DAILY-1", date(2030, 3, 15)).await;
    travel(&app, utc(2030, 3, 12, 13, 5)); // 09:05 in New York (EDT)
    let first = run(&app).await;
    // (The demo's customers, paused in these tests, are decided too.)
    assert!(first.customers_decided >= 1);
    assert_eq!(first.sends, 1);
    let decided: Vec<String> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT checked_on FROM reminder_checks WHERE customer_id = $1")
            .bind(c)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(decided, vec!["2030-03-12".to_string()]);

    // Imported later that morning, due Friday too: its -3 step is today.
    let late = invoice(&app, c, "REM-DAILY-2", date(2030, 3, 15)).await;
    travel(&app, utc(2030, 3, 12, 13, 30));
    let later = run(&app).await;
    assert_eq!(
        (later.customers_decided, later.sends, later.emails),
        (0, 0, 0),
        "decided for the day"
    );
    let of_late = |all: Vec<(i64, Option<i64>, String)>| {
        all.into_iter()
            .filter(|s| s.0 == late)
            .map(|s| s.1)
            .collect::<Vec<_>>()
    };
    assert_eq!(of_late(sends(&app, c).await), Vec::<Option<i64>>::new());

    // Wednesday morning: the new invoice's -3 step, a day late.
    travel(&app, utc(2030, 3, 13, 13, 0));
    let next = run(&app).await;
    assert_eq!(next.sends, 1);
    assert_eq!(of_late(sends(&app, c).await), vec![Some(-3)]);
    let mails = reminders_to(&app, "payer-daily@rem.example").await;
    assert_eq!(mails.len(), 2, "one mail each morning");
    assert!(mails[1].1.contains("REM-DAILY-2") && !mails[1].1.contains("REM-DAILY-1"));
}
