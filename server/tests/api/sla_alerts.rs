//! SLA warning and breach alerts inside business hours (issue 11 item 5).
//! The job is driven by the test's clock through its public method
//! (`Services::run_sla_alerts`) and judged by the outbox rows it leaves,
//! never by timers. The seeded calendar is New York office hours
//! (09:00-12:00, 13:00-17:00 on weekdays); a normal-priority dispute's
//! first response is due after 4 business hours, with a warning at 80%
//! (192 minutes).

use chrono::{DateTime, Utc};

use crate::helpers::{
    access_of, ny, open_usd_invoices, raise_whole_invoice, set_clock, spawn_app_with, staff_id,
    AppOptions, Backend, TestApp,
};
use crate::on_both_databases;
use portal_core::services::sla_alerts::{AlertLevel, AlertTarget, QueuedAlert};

on_both_databases!(
    crossing_80_percent_of_the_first_response_mails_one_warning_however_often_the_job_runs,
    a_breach_at_100_percent_mails_one_breach_alert,
    a_warning_that_falls_at_night_is_sent_at_the_next_opening,
    a_request_waiting_on_the_customer_gets_no_alert_until_the_customer_answers,
    an_assigned_request_mails_only_its_assignee,
    the_scheduled_run_takes_its_turn_at_most_once_a_minute,
);

const CUSTOMER_ADMIN: &str = "ap@northwind.example";
const AR_ADMIN: &str = "ar@seller.example";
const AR_AGENT: &str = "agent@seller.example";

/// The portal with the outbox left alone: the rows are what is checked.
async fn app(backend: Backend) -> TestApp {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    spawn_app_with(options).await
}

/// Northwind's admin disputes its oldest open USD invoice at `at`; the
/// request id.
async fn raise_at(app: &TestApp, at: DateTime<Utc>) -> i64 {
    set_clock(app, at);
    let (invoice_id, _) = open_usd_invoices(app).await[0];
    raise_whole_invoice(app, invoice_id).await
}

/// Runs the job as at `at`.
async fn run_at(app: &TestApp, at: DateTime<Utc>) -> Vec<QueuedAlert> {
    set_clock(app, at);
    app.services.run_sla_alerts(at).await.unwrap()
}

/// The SLA mails in the outbox: (to, subject, text body, queued at), by id.
async fn alert_mails(app: &TestApp) -> Vec<(String, String, String, String)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT to_address, subject, text_body, created_at FROM email_outbox
         WHERE subject LIKE 'SLA %' ORDER BY email_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

fn alerts(queued: &[QueuedAlert]) -> Vec<(i64, AlertTarget, AlertLevel)> {
    queued
        .iter()
        .map(|a| (a.request_id, a.target, a.level))
        .collect()
}

async fn crossing_80_percent_of_the_first_response_mails_one_warning_however_often_the_job_runs(
    backend: Backend,
) {
    let app = app(backend).await;
    let request = raise_at(&app, ny(12, 9, 0)).await;

    // 191 business minutes (09:00-12:00, then 13:00-13:11): not yet.
    assert!(run_at(&app, ny(12, 13, 11)).await.is_empty());
    assert!(alert_mails(&app).await.is_empty());

    // 192 minutes, 80% of 240: one warning, to every active staff user
    // (the dispute is unassigned).
    let queued = run_at(&app, ny(12, 13, 12)).await;
    assert_eq!(
        alerts(&queued),
        vec![(request, AlertTarget::FirstResponse, AlertLevel::Warning)]
    );
    let mut to = queued[0].recipients.clone();
    to.sort();
    assert_eq!(to, vec![AR_AGENT.to_owned(), AR_ADMIN.to_owned()]);

    // The job runs again (and again a minute later): nothing more.
    assert!(run_at(&app, ny(12, 13, 12)).await.is_empty());
    assert!(run_at(&app, ny(12, 13, 13)).await.is_empty());
    let mails = alert_mails(&app).await;
    assert_eq!(mails.len(), 2, "one warning per staff user: {mails:?}");
    for (_, subject, body, _) in &mails {
        assert!(
            subject.starts_with("SLA at risk: first response"),
            "{subject}"
        );
        assert!(subject.contains("Northwind Traders"), "{subject}");
        assert!(
            body.contains(&format!("/staff/requests/{request}")),
            "links to the request: {body}"
        );
        assert!(
            body.contains("48 min of its 4 h"),
            "says what is left: {body}"
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sla_alerts WHERE request_id = {request}"
        ))
        .await,
        1
    );
}

async fn a_breach_at_100_percent_mails_one_breach_alert(backend: Backend) {
    let app = app(backend).await;
    let request = raise_at(&app, ny(12, 9, 0)).await;
    run_at(&app, ny(12, 13, 12)).await;

    // 13:59 is 239 minutes: still only the warning.
    assert!(run_at(&app, ny(12, 13, 59)).await.is_empty());
    let queued = run_at(&app, ny(12, 14, 0)).await;
    assert_eq!(
        alerts(&queued),
        vec![(request, AlertTarget::FirstResponse, AlertLevel::Breach)]
    );
    assert!(run_at(&app, ny(12, 14, 1)).await.is_empty());
    assert!(run_at(&app, ny(12, 16, 30)).await.is_empty());

    let subjects: Vec<String> = alert_mails(&app)
        .await
        .into_iter()
        .map(|(to, subject, _, _)| format!("{to}: {subject}"))
        .collect();
    let breaches: Vec<&String> = subjects
        .iter()
        .filter(|s| s.contains("SLA breached: first response"))
        .collect();
    assert_eq!(
        breaches.len(),
        2,
        "one breach mail per staff user: {subjects:?}"
    );
    assert!(breaches
        .iter()
        .all(|s| s.contains("was due Tue 12 Jan, 2:00 PM EST")));
    assert_eq!(
        subjects.len(),
        4,
        "and the two warnings before: {subjects:?}"
    );
}

async fn a_warning_that_falls_at_night_is_sent_at_the_next_opening(backend: Backend) {
    let app = app(backend).await;
    // From 13:48, 192 business minutes are used at 17:00, the closing time.
    let request = raise_at(&app, ny(12, 13, 48)).await;
    assert!(run_at(&app, ny(12, 16, 59)).await.is_empty());
    for night in [ny(12, 17, 0), ny(12, 23, 30), ny(13, 2, 0), ny(13, 8, 59)] {
        assert!(
            run_at(&app, night).await.is_empty(),
            "nothing is sent at {night}"
        );
    }
    assert!(alert_mails(&app).await.is_empty());

    // Wednesday 09:00, the next opening: the warning goes out then.
    let queued = run_at(&app, ny(13, 9, 0)).await;
    assert_eq!(
        alerts(&queued),
        vec![(request, AlertTarget::FirstResponse, AlertLevel::Warning)]
    );
    let mails = alert_mails(&app).await;
    assert_eq!(mails.len(), 2);
    let opening = portal_core::db::ts(ny(13, 9, 0));
    assert!(
        mails
            .iter()
            .all(|(_, _, _, queued_at)| *queued_at == opening),
        "queued at the opening: {mails:?}"
    );
}

async fn a_request_waiting_on_the_customer_gets_no_alert_until_the_customer_answers(
    backend: Backend,
) {
    let app = app(backend).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let request = raise_at(&app, ny(12, 9, 0)).await;
    // AR asks the customer something at 13:30, past the warning share
    // (210 of 240 minutes) but before the job ran: the clock pauses.
    set_clock(&app, ny(12, 13, 30));
    app.services
        .set_waiting_on_customer(admin, request)
        .await
        .unwrap();
    for while_paused in [ny(12, 13, 31), ny(12, 16, 0), ny(13, 10, 0), ny(14, 16, 0)] {
        assert!(
            run_at(&app, while_paused).await.is_empty(),
            "nothing while it waits ({while_paused})"
        );
    }
    assert!(alert_mails(&app).await.is_empty());

    // The customer answers on Thursday at 09:00: the clock runs again
    // from 210 minutes, and the warning is due at once, the breach at 09:30.
    set_clock(&app, ny(14, 9, 0));
    let access = access_of(&app, CUSTOMER_ADMIN).await;
    app.services
        .add_customer_message(
            &access,
            app.customer_id("Northwind Traders").await,
            request,
            "Here is the contract page you asked for.",
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        alerts(&run_at(&app, ny(14, 9, 0)).await),
        vec![(request, AlertTarget::FirstResponse, AlertLevel::Warning)]
    );
    assert_eq!(
        alerts(&run_at(&app, ny(14, 9, 30)).await),
        vec![(request, AlertTarget::FirstResponse, AlertLevel::Breach)]
    );
}

async fn an_assigned_request_mails_only_its_assignee(backend: Backend) {
    let app = app(backend).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let request = raise_at(&app, ny(12, 9, 0)).await;
    app.services
        .assign_request(admin, request, Some(agent))
        .await
        .unwrap();

    let queued = run_at(&app, ny(12, 13, 12)).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].recipients, vec![AR_AGENT.to_owned()]);
    let to: Vec<String> = alert_mails(&app)
        .await
        .into_iter()
        .map(|(to, _, _, _)| to)
        .collect();
    assert_eq!(to, vec![AR_AGENT.to_owned()]);
    assert_eq!(
        app.count(&format!(
            "SELECT recipients FROM sla_alerts WHERE request_id = {request}"
        ))
        .await,
        1
    );
}

async fn the_scheduled_run_takes_its_turn_at_most_once_a_minute(backend: Backend) {
    let app = app(backend).await;
    let request = raise_at(&app, ny(12, 9, 0)).await;
    set_clock(&app, ny(12, 13, 12));
    // The first caller (one instance of several) holds the lease and runs.
    let first = app.services.run_sla_alerts_when_due().await.unwrap();
    assert_eq!(
        alerts(&first.expect("the first caller runs the job")),
        vec![(request, AlertTarget::FirstResponse, AlertLevel::Warning)]
    );
    // Another caller in the same minute does not run it.
    assert_eq!(app.services.run_sla_alerts_when_due().await.unwrap(), None);
    set_clock(&app, ny(12, 13, 12) + chrono::Duration::seconds(59));
    assert_eq!(app.services.run_sla_alerts_when_due().await.unwrap(), None);
    // A minute on it runs again, and finds nothing new to send.
    set_clock(&app, ny(12, 13, 13));
    assert_eq!(
        app.services.run_sla_alerts_when_due().await.unwrap(),
        Some(Vec::new())
    );
    assert_eq!(alert_mails(&app).await.len(), 2);
}
