//! AR's side of payment plans (issue 12), over HTTP as AR works it: a
//! queued plan in AR's queue with the plan SLA, approved once however
//! often the button is pressed, countered (the customer then accepts, or
//! declines), declined with a reason; the plan policy read by agents and
//! changed only by admins, bad values refused with a message and nothing
//! stored. The clock is in New York business hours (the seeded calendar).

use crate::helpers::{
    access_of, location, northwind, ny, open_usd_invoices, page_html, set_clock, signed_in_as,
    spawn_app, staff_id, Backend, TestApp,
};
use crate::on_both_databases;
use portal_core::domain::request::RequestKind;
use portal_core::services::plans::{ClientInfo, PlanForm, ProposalOutcome};
use portal_core::services::staff_requests::QueueFilter;

on_both_databases!(
    a_queued_plan_is_in_the_queue_and_approved_once_however_often_it_is_pressed,
    ar_counters_and_the_customer_accepts_the_new_terms,
    ar_counters_and_the_customer_declines_or_ar_declines_with_a_reason,
    agents_read_the_plan_policy_and_only_admins_change_it,
);

const PROPOSER: &str = "ap@northwind.example";
const AR_ADMIN: &str = "ar@seller.example";
const AR_AGENT: &str = "agent@seller.example";

async fn text(app: &TestApp, sql: &str) -> String {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, String>(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// Northwind's admin proposes 8 monthly instalments over `invoice_id`
/// from Jan 20: more than the 6 the seeded USD policy approves at once,
/// fewer than the 24 it declines, so AR decides. (plan id, request id).
async fn queue_plan(app: &TestApp, invoice_id: i64) -> (i64, i64) {
    let access = access_of(app, PROPOSER).await;
    let proposal = app
        .services
        .propose_plan(
            &access,
            northwind(app).await,
            &PlanForm {
                invoice_ids: vec![invoice_id],
                down_payment: String::new(),
                count: "8".into(),
                frequency: "monthly".into(),
                first_date: "2027-01-20".into(),
                message: "Our cash is tight this quarter.".into(),
            },
            ClientInfo {
                ip: Some("203.0.113.9"),
                user_agent: Some("plan-test"),
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(proposal.outcome, ProposalOutcome::Queued { .. }),
        "{proposal:?}"
    );
    let request_id = app
        .count(&format!(
            "SELECT request_id FROM payment_plans WHERE plan_id = {}",
            proposal.plan_id
        ))
        .await;
    (proposal.plan_id, request_id)
}

async fn plan_status(app: &TestApp, plan_id: i64) -> String {
    text(
        app,
        &format!("SELECT status FROM payment_plans WHERE plan_id = {plan_id}"),
    )
    .await
}

async fn request_status(app: &TestApp, request_id: i64) -> String {
    text(
        app,
        &format!("SELECT status FROM requests WHERE request_id = {request_id}"),
    )
    .await
}

/// Emails queued to the proposer whose subject contains `words`.
async fn mails_to_proposer(app: &TestApp, words: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM email_outbox WHERE to_address = '{PROPOSER}' AND subject LIKE '%{words}%'"
    ))
    .await
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> String {
    let response = app.post_form_with(client, path, form).await;
    assert_eq!(response.status(), 303, "POST {path}");
    location(&response)
}

async fn a_queued_plan_is_in_the_queue_and_approved_once_however_often_it_is_pressed(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    set_clock(&app, ny(12, 10, 0));
    let invoices = open_usd_invoices(&app).await;
    let (plan_id, request_id) = queue_plan(&app, invoices[0].0).await;

    // In AR's queue, filtered by kind, on the plan SLA policy (normal
    // priority: 8 business hours to the first answer).
    let agent = staff_id(&app, AR_AGENT).await;
    let queue = app
        .services
        .request_queue(
            agent,
            QueueFilter {
                kind: Some(RequestKind::PaymentPlan),
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
    let row = queue
        .iter()
        .find(|r| r.request_id == request_id)
        .expect("the plan request is in the queue");
    assert_eq!(row.clock.first_response.target_minutes, 480);
    assert_eq!(row.assignee_staff_id, None);

    // The request page shows the plan, why it waits, the customer's
    // acceptance and the plan's forms (not a dispute's outcomes).
    let client = signed_in_as(&app, AR_AGENT, true).await;
    let page = format!("/staff/requests/{request_id}");
    let html = page_html(&app, &client, &page).await;
    for words in [
        &format!("Payment plan #{plan_id}"),
        "More than 6 instalments.",
        "Terms version 1 accepted by",
        "203.0.113.9",
        "Approve the plan",
        "Send these terms to the customer",
        "Decline the plan",
    ] {
        assert!(html.contains(words), "{words} on {page}");
    }
    assert!(!html.contains("Resolve the request"), "no dispute outcomes");

    // Pressed twice: approved once.
    let path = format!("/staff/requests/{request_id}/plan/approve");
    let first = post(
        &app,
        &client,
        &path,
        &[("note", "Thanks for asking early.")],
    )
    .await;
    assert!(first.contains("plan_notice=approve"), "{first}");
    let second = post(
        &app,
        &client,
        &path,
        &[("note", "Thanks for asking early.")],
    )
    .await;
    assert!(second.contains("plan_problem=moved"), "{second}");
    assert_eq!(plan_status(&app, plan_id).await, "active");
    assert_eq!(request_status(&app, request_id).await, "resolved");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'plan.approved' AND subject = 'plan:{plan_id}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM plan_events WHERE plan_id = {plan_id} AND event = 'approved'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_messages WHERE request_id = {request_id}
             AND author_kind = 'staff' AND body LIKE 'Payment plan approved%'"
        ))
        .await,
        1
    );
    assert_eq!(mails_to_proposer(&app, "approved").await, 1);
    let link = text(
        &app,
        &format!(
            "SELECT text_body FROM email_outbox WHERE to_address = '{PROPOSER}' AND subject LIKE '%approved%'"
        ),
    )
    .await;
    assert!(
        link.contains(&format!("/plans/{plan_id}")),
        "the mail links to the plan page: {link}"
    );
    let html = page_html(&app, &client, second.split('#').next().unwrap()).await;
    assert!(
        html.contains("already moved on"),
        "the second press is explained"
    );
    assert!(!html.contains("Approve the plan"), "nothing left to decide");

    // Two staff users at once: one approval, the other told it moved.
    let (other_plan, other_request) = queue_plan(&app, invoices[1].0).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let (a, b) = tokio::join!(
        app.services.approve_plan(agent, other_request, ""),
        app.services.approve_plan(admin, other_request, "")
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!(
        matches!(a, Err(portal_core::ServiceError::Conflict(_)))
            || matches!(b, Err(portal_core::ServiceError::Conflict(_))),
        "{a:?} {b:?}"
    );
    assert_eq!(plan_status(&app, other_plan).await, "active");
    assert_eq!(mails_to_proposer(&app, "approved").await, 2);

    // The first instalment (Jan 20) is late past the 5-day grace on the
    // 27th: the plan job puts the plan at risk and reopens its request;
    // AR closes the follow-up once handled, the plan keeps its status.
    set_clock(&app, ny(27, 10, 0));
    app.services
        .run_plan_checks(app.clock.now_for_tests())
        .await
        .unwrap();
    assert_eq!(plan_status(&app, plan_id).await, "at_risk");
    assert_eq!(request_status(&app, request_id).await, "open");
    let client = signed_in_as(&app, AR_AGENT, true).await;
    let html = page_html(&app, &client, &page).await;
    assert!(
        html.contains("Close the follow-up"),
        "the at-risk follow-up"
    );
    assert!(!html.contains("Resolve the request"), "no dispute outcomes");
    let closed = post(
        &app,
        &client,
        &format!("/staff/requests/{request_id}/plan/close"),
        &[("note", "We called: the payment is on its way.")],
    )
    .await;
    assert!(closed.contains("plan_notice=close"), "{closed}");
    assert_eq!(request_status(&app, request_id).await, "resolved");
    assert_eq!(plan_status(&app, plan_id).await, "at_risk");
}

async fn ar_counters_and_the_customer_accepts_the_new_terms(backend: Backend) {
    let app = spawn_app(backend).await;
    set_clock(&app, ny(12, 10, 0));
    let invoices = open_usd_invoices(&app).await;
    let (plan_id, request_id) = queue_plan(&app, invoices[0].0).await;
    let total = app
        .count(&format!(
            "SELECT total_minor FROM payment_plans WHERE plan_id = {plan_id}"
        ))
        .await;
    let client = signed_in_as(&app, AR_ADMIN, true).await;
    let path = format!("/staff/requests/{request_id}/plan/counter");

    // Bad terms: refused with the field's message, the typed values kept,
    // nothing written.
    let refused = post(
        &app,
        &client,
        &path,
        &[
            ("down_payment", "10.00"),
            ("count", "40"),
            ("frequency", "monthly"),
            ("first_date", "2027-01-25"),
            ("message", "Six months suit us better."),
        ],
    )
    .await;
    assert!(refused.contains("plan_problem=counter"), "{refused}");
    assert!(refused.contains("plan_count=40"), "{refused}");
    let html = page_html(&app, &client, refused.split('#').next().unwrap()).await;
    assert!(
        html.contains("Instalments: choose from 1 to 36."),
        "the message"
    );
    assert!(
        html.contains("Six months suit us better."),
        "the message kept"
    );
    assert_eq!(plan_status(&app, plan_id).await, "proposed");

    // Six monthly instalments after a down payment of 10% of the total.
    let down = total / 10;
    let down_text = format!("{}.{:02}", down / 100, down % 100);
    let countered = post(
        &app,
        &client,
        &path,
        &[
            ("down_payment", &down_text),
            ("count", "6"),
            ("frequency", "monthly"),
            ("first_date", "2027-01-29"),
            ("message", "Six months suit us better."),
        ],
    )
    .await;
    assert!(countered.contains("plan_notice=counter"), "{countered}");
    assert_eq!(plan_status(&app, plan_id).await, "countered");
    assert_eq!(
        app.count(&format!(
            "SELECT terms_version FROM payment_plans WHERE plan_id = {plan_id}"
        ))
        .await,
        2
    );
    // The new schedule covers the total exactly: the down payment and six.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM plan_instalments WHERE plan_id = {plan_id} AND terms_version = 2"
        ))
        .await,
        7
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM plan_instalments WHERE plan_id = {plan_id} AND terms_version = 2"
        ))
        .await,
        total
    );
    // The request waits on the customer: its clock paused.
    assert_eq!(
        request_status(&app, request_id).await,
        "waiting_on_customer"
    );
    let queue = app
        .services
        .request_queue(staff_id(&app, AR_ADMIN).await, QueueFilter::default())
        .await
        .unwrap();
    let row = queue.iter().find(|r| r.request_id == request_id).unwrap();
    assert!(row.clock.paused, "waiting on the customer");
    assert_eq!(mails_to_proposer(&app, "proposes other terms").await, 1);
    // A second press finds the plan countered: nothing more.
    let again = post(
        &app,
        &client,
        &path,
        &[
            ("count", "6"),
            ("frequency", "monthly"),
            ("first_date", "2027-01-29"),
        ],
    )
    .await;
    assert!(again.contains("plan_problem=moved"), "{again}");
    assert_eq!(mails_to_proposer(&app, "proposes other terms").await, 1);

    // The customer accepts the terms their page shows.
    let access = access_of(&app, PROPOSER).await;
    let customer = northwind(&app).await;
    let page = app
        .services
        .customer_plan(&access, customer, plan_id)
        .await
        .unwrap();
    let hash = page.terms_hash.expect("the terms' hash");
    app.services
        .accept_plan_terms(&access, customer, plan_id, &hash, ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(plan_status(&app, plan_id).await, "active");
    assert_eq!(request_status(&app, request_id).await, "resolved");
    let html = page_html(&app, &client, &format!("/staff/requests/{request_id}")).await;
    assert!(
        html.contains("Terms version 2 accepted by"),
        "the acceptance"
    );
}

async fn ar_counters_and_the_customer_declines_or_ar_declines_with_a_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    set_clock(&app, ny(12, 10, 0));
    let invoices = open_usd_invoices(&app).await;
    let (first_plan, first_request) = queue_plan(&app, invoices[0].0).await;
    let (second_plan, second_request) = queue_plan(&app, invoices[1].0).await;
    let client = signed_in_as(&app, AR_AGENT, true).await;

    // Countered, then declined by the customer: the plan ends.
    let countered = post(
        &app,
        &client,
        &format!("/staff/requests/{first_request}/plan/counter"),
        &[
            ("count", "4"),
            ("frequency", "weekly"),
            ("first_date", "2027-01-15"),
        ],
    )
    .await;
    assert!(countered.contains("plan_notice=counter"), "{countered}");
    let access = access_of(&app, PROPOSER).await;
    app.services
        .decline_plan_terms(
            &access,
            northwind(&app).await,
            first_plan,
            "Weekly is too often for us.",
            None,
        )
        .await
        .unwrap();
    assert_eq!(plan_status(&app, first_plan).await, "declined");

    // AR declines: a reason is needed; then the plan lets go of its
    // invoice, the request is resolved and the customer reads the reason.
    let path = format!("/staff/requests/{second_request}/plan/decline");
    let refused = post(&app, &client, &path, &[("reason", "  ")]).await;
    assert!(refused.contains("plan_problem=reason"), "{refused}");
    assert_eq!(plan_status(&app, second_plan).await, "proposed");
    let declined = post(
        &app,
        &client,
        &path,
        &[("reason", "Eight months is too long for this amount.")],
    )
    .await;
    assert!(declined.contains("plan_notice=decline"), "{declined}");
    assert_eq!(plan_status(&app, second_plan).await, "declined");
    assert_eq!(request_status(&app, second_request).await, "resolved");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM plan_invoices WHERE plan_id = {second_plan} AND released_at IS NULL"
        ))
        .await,
        0,
        "the invoice is free again"
    );
    let mail = text(
        &app,
        &format!(
            "SELECT text_body FROM email_outbox WHERE to_address = '{PROPOSER}' AND subject LIKE '%declined%'"
        ),
    )
    .await;
    assert!(
        mail.contains("Eight months is too long for this amount."),
        "{mail}"
    );
    let again = post(&app, &client, &path, &[("reason", "Again.")]).await;
    assert!(again.contains("plan_problem=moved"), "{again}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'plan.declined' AND subject = 'plan:{second_plan}'"
        ))
        .await,
        1
    );

    // An agent does not decide a plan assigned to someone else.
    let (third_plan, third_request) = queue_plan(&app, invoices[2].0).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    app.services
        .assign_request(admin, third_request, Some(admin))
        .await
        .unwrap();
    let refused = post(
        &app,
        &client,
        &format!("/staff/requests/{third_request}/plan/approve"),
        &[],
    )
    .await;
    assert!(refused.contains("plan_problem=forbidden"), "{refused}");
    assert_eq!(plan_status(&app, third_plan).await, "proposed");
}

async fn agents_read_the_plan_policy_and_only_admins_change_it(backend: Backend) {
    let app = spawn_app(backend).await;
    set_clock(&app, ny(12, 10, 0));
    let usd = |field: &str| format!("SELECT {field} FROM plan_policy WHERE currency = 'USD'");
    let good = [
        ("currency", "USD"),
        ("auto_max_total", "7,500.00"),
        ("auto_max_count", "6"),
        ("auto_max_days", "180"),
        ("auto_min_down", "10"),
        ("hard_max_total", "50000"),
        ("hard_max_count", "24"),
        ("hard_max_days", "365"),
    ];

    // Agents read it and cannot change it.
    let agent = signed_in_as(&app, AR_AGENT, true).await;
    let html = page_html(&app, &agent, "/staff/settings").await;
    assert!(html.contains("Payment plan policy"), "the section");
    assert!(html.contains("5000.00"), "the seeded limit");
    assert!(!html.contains("Add the policy"), "read only");
    let response = app
        .post_form_with(&agent, "/staff/settings/plan-policy", &good)
        .await;
    assert_eq!(response.status(), 403);
    let response = app
        .post_form_with(
            &agent,
            "/staff/settings/plan-timings",
            &[("grace_days", "7"), ("default_after_days", "40")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.count(&usd("auto_max_total_minor")).await, 500_000);

    // An admin's bad values are refused with a message beside the field.
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let mut bad = good;
    bad[1] = ("auto_max_total", "60,000.00");
    let refused = post(&app, &admin, "/staff/settings/plan-policy", &bad).await;
    assert!(refused.contains("form=plan-policy"), "{refused}");
    let html = page_html(&app, &admin, refused.split('#').next().unwrap()).await;
    assert!(
        html.contains("is above the automatic decline limit of $50,000.00"),
        "the message"
    );
    assert!(html.contains("60,000.00"), "the typed value kept");
    assert_eq!(app.count(&usd("auto_max_total_minor")).await, 500_000);

    // Good values are stored and logged once; saving them again writes nothing.
    let saved = post(&app, &admin, "/staff/settings/plan-policy", &good).await;
    assert!(saved.contains("saved=plan-policy"), "{saved}");
    post(&app, &admin, "/staff/settings/plan-policy", &good).await;
    assert_eq!(app.count(&usd("auto_max_total_minor")).await, 750_000);
    assert_eq!(app.count(&usd("auto_min_down_bp")).await, 1_000);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'plan.policy_changed'")
            .await,
        1
    );

    // The delays: a default before the grace period ends is refused.
    let refused = post(
        &app,
        &admin,
        "/staff/settings/plan-timings",
        &[("grace_days", "10"), ("default_after_days", "10")],
    )
    .await;
    assert!(refused.contains("form=plan-timings"), "{refused}");
    assert_eq!(app.count("SELECT grace_days FROM plan_settings").await, 5);
    post(
        &app,
        &admin,
        "/staff/settings/plan-timings",
        &[("grace_days", "7"), ("default_after_days", "40")],
    )
    .await;
    assert_eq!(
        app.count("SELECT default_after_days FROM plan_settings")
            .await,
        40
    );
}
