//! Payment plans, the customer side and the plan job (issue 12): the
//! policy approves, queues or declines a proposal; invoices disputed, being
//! paid or already in a plan are refused or limited to their payable part;
//! an acceptance is never changed; the plan job moves plans on the manual
//! clock and a second run changes nothing. Services are called directly,
//! as the pages' server functions and routes call them.

use chrono::{Duration, NaiveDate};
use portal_core::domain::plan::{terms_hash, PlanStatus};
use portal_core::domain::request::DisputeScope;
use portal_core::services::plans::{ClientInfo, PlanForm, ProposalOutcome};
use portal_core::services::requests::RaiseDispute;
use portal_core::services::staff_requests::QueueFilter;
use portal_core::ServiceError;

use crate::helpers::{
    access_of, northwind, pricing_dispute, raise_as, set_clock, spawn_app, staff_id, Backend,
    TestApp,
};
use crate::on_both_databases;

on_both_databases!(
    a_plan_inside_the_policy_is_approved_at_once_and_its_terms_accepted,
    a_plan_over_the_approval_limits_waits_in_ar_queue,
    a_plan_beyond_the_hard_limits_is_declined_at_once_with_the_reasons,
    disputed_paying_and_planned_invoices_are_refused_or_limited_to_what_is_payable,
    an_acceptance_can_never_be_changed_or_deleted,
    a_late_plan_goes_at_risk_then_defaults_and_a_second_run_changes_nothing,
    a_plan_that_catches_up_is_back_on_track_and_completes_when_paid,
);

const ADMIN: &str = "ap@northwind.example";
const PAYER: &str = "payables@northwind.example";
const CLIENT: ClientInfo<'static> = ClientInfo {
    ip: Some("203.0.113.7"),
    user_agent: Some("plan-test/1.0"),
};

/// A new open USD invoice of Northwind for `total_minor`, due `due`.
async fn new_invoice(app: &TestApp, total_minor: i64, due: NaiveDate) -> i64 {
    let customer_id = northwind(app).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let number = format!("INV-PLAN-{:08x}", rand::random::<u32>());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invoices (customer_id, number, issue_date, due_date, currency,
             subtotal_minor, tax_minor, total_minor, created_at)
         VALUES ($1, $2, $3, $4, 'USD', $5, 0, $5, $6) RETURNING invoice_id",
    )
    .bind(customer_id)
    .bind(number)
    .bind((due - Duration::days(30)).to_string())
    .bind(due.to_string())
    .bind(total_minor)
    .bind("2026-01-01T00:00:00.000000Z")
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    portal_core::repo::invoices::refresh_settlement(&mut conn, id)
        .await
        .unwrap();
    id
}

/// A payment received by hand (a cheque AR recorded) on the invoice.
async fn paid_by_hand(app: &TestApp, invoice_id: i64, amount_minor: i64) {
    let customer_id = northwind(app).await;
    let now = portal_core::db::ts(app.clock.now_for_tests());
    let mut tx = app.services.db.pool.begin().await.unwrap();
    let payment_id: i64 = sqlx::query_scalar(
        "INSERT INTO payments (customer_id, currency, amount_minor, method, status, reference,
             received_at, created_at, updated_at)
         VALUES ($1, 'USD', $2, 'check', 'succeeded', 'cheque 1001', $3, $3, $3)
         RETURNING payment_id",
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

fn today(app: &TestApp) -> NaiveDate {
    app.clock.now_for_tests().date_naive()
}

fn form(
    invoice_ids: &[i64],
    down: &str,
    count: u32,
    frequency: &str,
    first: NaiveDate,
) -> PlanForm {
    PlanForm {
        invoice_ids: invoice_ids.to_vec(),
        down_payment: down.into(),
        count: count.to_string(),
        frequency: frequency.into(),
        first_date: first.to_string(),
        message: String::new(),
    }
}

async fn propose(
    app: &TestApp,
    form: &PlanForm,
) -> Result<portal_core::services::plans::Proposal, ServiceError> {
    app.services
        .propose_plan(
            &access_of(app, PAYER).await,
            northwind(app).await,
            form,
            CLIENT,
        )
        .await
}

async fn plan_status(app: &TestApp, plan_id: i64) -> (String, String) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (String, String)>(
        "SELECT p.status, r.status FROM payment_plans p JOIN requests r ON r.request_id = p.request_id
         WHERE p.plan_id = $1",
    )
    .bind(plan_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn held(app: &TestApp, invoice_id: i64) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM plan_invoices WHERE invoice_id = {invoice_id} AND released_at IS NULL"
    ))
    .await
}

/// Subjects of the outbox mails to `to`, oldest first.
async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, String>(
        "SELECT subject FROM email_outbox WHERE to_address = $1 ORDER BY email_id",
    )
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn a_plan_inside_the_policy_is_approved_at_once_and_its_terms_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let invoice = new_invoice(&app, 120_001, day + Duration::days(10)).await;
    let f = form(&[invoice], "", 3, "monthly", day + Duration::days(5));

    let proposal = propose(&app, &f).await.unwrap();
    assert_eq!(proposal.outcome, ProposalOutcome::Approved);
    assert_eq!(
        plan_status(&app, proposal.plan_id).await,
        ("active".into(), "resolved".into()),
        "active at once; its request created resolved"
    );
    // Pressing "Propose" again finds the same plan.
    let again = propose(&app, &f).await.unwrap();
    assert_eq!(again.plan_id, proposal.plan_id);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_plans").await, 1);

    // The schedule splits the open balance, the remainder on the last.
    let page = app
        .services
        .customer_plan(
            &access_of(&app, ADMIN).await,
            northwind(&app).await,
            proposal.plan_id,
        )
        .await
        .unwrap();
    let amounts: Vec<i64> = page
        .standings
        .iter()
        .map(|s| s.instalment.amount_minor)
        .collect();
    assert_eq!(amounts, vec![40_000, 40_000, 40_001]);
    assert_eq!(page.next.unwrap().instalment.seq, 1);
    // The request spans invoices: none of its own.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM requests r JOIN payment_plans p ON p.request_id = r.request_id
             WHERE p.plan_id = {} AND r.kind = 'payment_plan' AND r.invoice_id IS NULL",
            proposal.plan_id
        ))
        .await,
        1
    );

    // The acceptance is of exactly the terms shown, with who and where.
    let a = &page.acceptances[0];
    assert_eq!(page.acceptances.len(), 1);
    assert_eq!(a.terms_hash, terms_hash(&a.terms_text));
    assert_eq!(Some(&a.terms_hash), page.terms_hash.as_ref());
    assert!(a.terms_text.contains("$400.01"), "{}", a.terms_text);
    assert_eq!(a.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(a.user_agent.as_deref(), Some("plan-test/1.0"));

    // The portal says why in the thread, and the proposer is mailed.
    assert!(page
        .messages
        .iter()
        .any(|m| m.author_name.as_deref() == Some("The portal") && m.body.contains("Approved")));
    assert!(mails_to(&app, PAYER)
        .await
        .iter()
        .any(|s| s.contains("approved")));
    // "In plan" on the invoice, and the pay page offers the first instalment.
    let in_plan = app
        .services
        .invoices_in_plan(&access_of(&app, ADMIN).await, northwind(&app).await)
        .await
        .unwrap();
    assert_eq!(in_plan.get(&invoice), Some(&proposal.plan_id));
    let pay = app
        .services
        .plan_pay_amounts(
            &access_of(&app, PAYER).await,
            northwind(&app).await,
            proposal.plan_id,
        )
        .await
        .unwrap();
    assert_eq!(pay, vec![(invoice, 40_000)]);
    // The invoice timeline tells of it.
    let timeline = app
        .services
        .invoice_timeline(
            &access_of(&app, ADMIN).await,
            northwind(&app).await,
            invoice,
        )
        .await
        .unwrap();
    assert!(timeline
        .iter()
        .any(|e| e.what.starts_with("Payment plan approved")));
}

async fn a_plan_over_the_approval_limits_waits_in_ar_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let invoice = new_invoice(&app, 600_000, day).await;
    let proposal = propose(
        &app,
        &PlanForm {
            message: ASK.into(),
            ..form(&[invoice], "", 6, "monthly", day)
        },
    )
    .await
    .unwrap();
    let ProposalOutcome::Queued { reasons } = &proposal.outcome else {
        panic!("queued: {:?}", proposal.outcome);
    };
    assert!(
        reasons.iter().any(|r| r.contains("$5,000.00")),
        "{reasons:?}"
    );
    assert_eq!(
        plan_status(&app, proposal.plan_id).await,
        ("proposed".into(), "open".into())
    );
    // In AR's queue with its SLA clock (the payment-plan policy exists).
    let admin = staff_id(&app, "ar@seller.example").await;
    let queue = app
        .services
        .request_queue(admin, QueueFilter::default())
        .await
        .unwrap();
    let request_id = plan_request(&app, proposal.plan_id).await;
    let row = queue
        .iter()
        .find(|r| r.request_id == request_id)
        .expect("the plan request is in the queue");
    assert_eq!(row.invoice_number, None);
    assert!(!mails_to(&app, "ar@seller.example").await.is_empty());
    // Its invoice is held by the pending plan: not offered again.
    let choices = app
        .services
        .plan_choices(&access_of(&app, PAYER).await, northwind(&app).await)
        .await
        .unwrap();
    let choice = choices
        .invoices
        .iter()
        .find(|c| c.invoice.invoice_id == invoice)
        .unwrap();
    assert_eq!(choice.held_by_plan, Some(proposal.plan_id));

    // The plan's thread is part of the invoice's shared timeline: the
    // customer's message and AR's customer-visible reply, not AR's note.
    app.services
        .staff_reply(admin, request_id, REPLY, false)
        .await
        .unwrap();
    app.services
        .staff_reply(admin, request_id, NOTE, true)
        .await
        .unwrap();
    let timeline = app
        .services
        .invoice_timeline(
            &access_of(&app, PAYER).await,
            northwind(&app).await,
            invoice,
        )
        .await
        .unwrap();
    let said = |what: &str, body: &str| {
        timeline.iter().any(|e| {
            e.what == what && e.body.as_deref() == Some(body) && e.request_id == Some(request_id)
        })
    };
    assert!(
        said("Wrote on the payment plan request", ASK),
        "{timeline:#?}"
    );
    assert!(
        said("Replied on the payment plan request", REPLY),
        "{timeline:#?}"
    );
    assert!(
        !timeline.iter().any(|e| e.body.as_deref() == Some(NOTE)),
        "{timeline:#?}"
    );
}

const ASK: &str = "Our budget review ends in March; six months would let us pay it all.";
const REPLY: &str = "Thanks, we are looking at the terms and will answer this week.";
const NOTE: &str = "INTERNAL: check their payment record first.";

async fn plan_request(app: &TestApp, plan_id: i64) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar("SELECT request_id FROM payment_plans WHERE plan_id = $1")
        .bind(plan_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn a_plan_beyond_the_hard_limits_is_declined_at_once_with_the_reasons(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let invoice = new_invoice(&app, 6_000_000, day).await;
    let proposal = propose(&app, &form(&[invoice], "", 30, "monthly", day))
        .await
        .unwrap();
    let ProposalOutcome::Declined { reasons } = &proposal.outcome else {
        panic!("declined: {:?}", proposal.outcome);
    };
    assert_eq!(reasons.len(), 3, "total, count and term: {reasons:?}");
    assert_eq!(
        plan_status(&app, proposal.plan_id).await,
        ("declined".into(), "resolved".into())
    );
    // The invoice is free again, and the proposer was told why.
    assert_eq!(held(&app, invoice).await, 0);
    let mails = mails_to(&app, PAYER).await;
    assert!(mails.iter().any(|s| s.contains("declined")), "{mails:?}");
    // Within the count and term limits the total alone still declines it.
    let second = propose(&app, &form(&[invoice], "", 12, "monthly", day))
        .await
        .unwrap();
    let ProposalOutcome::Declined { reasons } = &second.outcome else {
        panic!("declined again: {:?}", second.outcome);
    };
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("$50,000.00"), "{reasons:?}");
    // A schedule that cannot be built changes nothing.
    let invalid = propose(&app, &form(&[invoice], "", 0, "monthly", day)).await;
    assert!(matches!(
        invalid,
        Err(ServiceError::Invalid {
            field: Some("count"),
            ..
        })
    ));
    let invalid = propose(
        &app,
        &form(&[invoice], "", 3, "monthly", day + Duration::days(61)),
    )
    .await;
    assert!(matches!(
        invalid,
        Err(ServiceError::Invalid {
            field: Some("first_date"),
            ..
        })
    ));
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_plans").await, 2);
}

async fn disputed_paying_and_planned_invoices_are_refused_or_limited_to_what_is_payable(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let part_disputed = new_invoice(&app, 100_000, day).await;
    let all_disputed = new_invoice(&app, 50_000, day).await;
    let being_paid = new_invoice(&app, 30_000, day).await;
    let planned = new_invoice(&app, 20_000, day).await;
    raise_as(
        &app,
        ADMIN,
        part_disputed,
        RaiseDispute {
            scope: DisputeScope::Amount,
            amount_text: "250.00".into(),
            ..pricing_dispute(Vec::new())
        },
    )
    .await;
    raise_as(&app, ADMIN, all_disputed, pricing_dispute(Vec::new())).await;
    crate::payments::start(&app, &[(being_paid, 30_000)], "card").await;
    let first = propose(&app, &form(&[planned], "", 2, "weekly", day))
        .await
        .unwrap();
    assert_eq!(first.outcome, ProposalOutcome::Approved);

    for (invoice, words) in [
        (all_disputed, "disputed"),
        (being_paid, "payment in progress"),
        (planned, "already in payment plan"),
    ] {
        let refused = propose(&app, &form(&[part_disputed, invoice], "", 2, "weekly", day)).await;
        match refused {
            Err(ServiceError::Invalid {
                field: Some("invoices"),
                message,
            }) => {
                assert!(message.contains(words), "{message}")
            }
            other => panic!("refused for {words}: {other:?}"),
        }
    }
    // The partly disputed invoice goes in for its undisputed part only.
    let preview = app
        .services
        .preview_plan(
            &access_of(&app, PAYER).await,
            northwind(&app).await,
            &form(&[part_disputed], "", 2, "weekly", day),
        )
        .await
        .unwrap();
    assert_eq!(preview.terms.total_minor, 75_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_plans").await, 1);
    // A viewer may look but not propose; another account's invoice is not open here.
    let viewer = app
        .services
        .propose_plan(
            &access_of(&app, "controller@northwind.example").await,
            northwind(&app).await,
            &form(&[part_disputed], "", 2, "weekly", day),
            CLIENT,
        )
        .await;
    assert!(matches!(viewer, Err(ServiceError::Forbidden(_))));
}

async fn an_acceptance_can_never_be_changed_or_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let invoice = new_invoice(&app, 90_000, day).await;
    let plan = propose(&app, &form(&[invoice], "100.00", 2, "biweekly", day))
        .await
        .unwrap();
    assert_eq!(plan.outcome, ProposalOutcome::Approved);
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let update = sqlx::query("UPDATE plan_acceptances SET terms_hash = 'forged'")
        .execute(&mut *conn)
        .await;
    assert!(update.is_err(), "an UPDATE is refused");
    let delete = sqlx::query("DELETE FROM plan_acceptances")
        .execute(&mut *conn)
        .await;
    assert!(delete.is_err(), "a DELETE is refused");
    drop(conn);
    let (text, hash): (String, String) = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_as("SELECT terms_text, terms_hash FROM plan_acceptances WHERE plan_id = $1")
            .bind(plan.plan_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(hash, terms_hash(&text));
    assert!(text.contains("Down payment: $100.00"), "{text}");
}

async fn a_late_plan_goes_at_risk_then_defaults_and_a_second_run_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let invoice = new_invoice(&app, 30_000, day).await;
    let plan = propose(&app, &form(&[invoice], "", 3, "weekly", day))
        .await
        .unwrap();
    assert_eq!(plan.outcome, ProposalOutcome::Approved);
    let start = app.clock.now_for_tests();
    let run = |at| {
        let services = app.services.clone();
        async move { services.run_plan_checks(at).await.unwrap() }
    };

    // Within the grace period (5 days late): nothing moves.
    assert!(run(start + Duration::days(5)).await.is_empty());
    // Six days late: at risk, back in AR's queue, the proposer mailed;
    // two runs at once (two instances) move it once.
    let (a, b) = tokio::join!(
        run(start + Duration::days(6)),
        run(start + Duration::days(6))
    );
    assert_eq!(a.len() + b.len(), 1, "{a:?} {b:?}");
    let moved = if a.is_empty() { b } else { a };
    assert_eq!(moved[0].to, PlanStatus::AtRisk);
    assert_eq!(
        plan_status(&app, plan.plan_id).await,
        ("at_risk".into(), "open".into())
    );
    let mails = app.count("SELECT COUNT(*) FROM email_outbox").await;
    assert!(mails_to(&app, PAYER)
        .await
        .iter()
        .any(|s| s.contains("at risk")));
    // The same run again, or later within the limit: nothing twice.
    assert!(run(start + Duration::days(6)).await.is_empty());
    assert!(run(start + Duration::days(30)).await.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM email_outbox").await, mails);
    let events = app.count("SELECT COUNT(*) FROM plan_events").await;

    // Thirty-one days late: defaulted, the invoice leaves the plan, AR told.
    let moved = run(start + Duration::days(31)).await;
    assert_eq!(moved[0].to, PlanStatus::Defaulted);
    assert_eq!(plan_status(&app, plan.plan_id).await.0, "defaulted");
    assert_eq!(held(&app, invoice).await, 0);
    assert!(mails_to(&app, "ar@seller.example")
        .await
        .iter()
        .any(|s| s.contains("defaulted")));
    assert!(mails_to(&app, PAYER)
        .await
        .iter()
        .any(|s| s.contains("ended unpaid")));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM plan_events").await,
        events + 1
    );
    let mails = app.count("SELECT COUNT(*) FROM email_outbox").await;
    assert!(run(start + Duration::days(31)).await.is_empty());
    assert!(run(start + Duration::days(90)).await.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM email_outbox").await, mails);

    // A defaulted plan keeps the customer from the next auto-approval.
    set_clock(&app, start + Duration::days(32));
    let other = new_invoice(&app, 10_000, day).await;
    let next = propose(&app, &form(&[other], "", 2, "weekly", today(&app)))
        .await
        .unwrap();
    let ProposalOutcome::Queued { reasons } = next.outcome else {
        panic!("queued after a default");
    };
    assert!(
        reasons.iter().any(|r| r.contains("defaulted")),
        "{reasons:?}"
    );
    // The leased variant runs once per interval.
    assert!(app
        .services
        .run_plan_checks_when_due()
        .await
        .unwrap()
        .is_some());
    assert!(app
        .services
        .run_plan_checks_when_due()
        .await
        .unwrap()
        .is_none());
}

async fn a_plan_that_catches_up_is_back_on_track_and_completes_when_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = today(&app);
    let invoice = new_invoice(&app, 30_000, day).await;
    let plan = propose(&app, &form(&[invoice], "", 3, "weekly", day))
        .await
        .unwrap();
    let start = app.clock.now_for_tests();
    let run = |at| {
        let services = app.services.clone();
        async move { services.run_plan_checks(at).await.unwrap() }
    };
    assert_eq!(
        run(start + Duration::days(6)).await[0].to,
        PlanStatus::AtRisk
    );
    // Paying the late instalment (by hand: any payment counts) catches up.
    paid_by_hand(&app, invoice, 10_000).await;
    let moved = run(start + Duration::days(6)).await;
    assert_eq!(moved[0].to, PlanStatus::Active);
    assert!(run(start + Duration::days(6)).await.is_empty());
    // More than an instalment rolls forward: 15,000 paid covers seq 1 and half of 2.
    paid_by_hand(&app, invoice, 5_000).await;
    set_clock(&app, start + Duration::days(7));
    let page = app
        .services
        .customer_plan(
            &access_of(&app, PAYER).await,
            northwind(&app).await,
            plan.plan_id,
        )
        .await
        .unwrap();
    assert_eq!(page.standings[0].status.as_str(), "paid");
    assert_eq!(page.standings[1].left_minor, 5_000);
    assert_eq!(page.standings[1].status.as_str(), "due");
    assert_eq!(page.next.unwrap().left_minor, 5_000);
    // Paid in full: completed, the invoice leaves the plan.
    paid_by_hand(&app, invoice, 15_000).await;
    let moved = run(start + Duration::days(8)).await;
    assert_eq!(moved[0].to, PlanStatus::Completed);
    assert_eq!(held(&app, invoice).await, 0);
    assert!(run(start + Duration::days(8)).await.is_empty());
    assert!(mails_to(&app, PAYER)
        .await
        .iter()
        .any(|s| s.contains("paid in full")));
}
