//! AR's side of requests (issue 11): the queue sorted by time to the next
//! breach, the clock pausing and resuming, resolution with a credit note
//! (once, also under a race), who may assign and change the SLA settings,
//! and that only active staff ids reach these services. Services are called
//! directly, with the test clock set to business hours in New York (the
//! seeded calendar).

use crate::helpers::{access_of, pricing_dispute, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use portal_core::domain::request::{DisputeScope, RequestStatus};
use portal_core::domain::sla::TargetState;
use portal_core::domain::StaffRole;
use portal_core::services::requests::RaiseDispute;
use portal_core::services::staff_requests::{
    default_business_calendar, AssigneeFilter, QueueFilter, Resolution, Urgency,
};
use portal_core::ServiceError;

on_both_databases!(
    the_queue_puts_breaches_first_then_the_nearest_deadline_and_waiting_requests_last,
    a_customer_answer_resumes_the_clock_with_the_minutes_already_used,
    a_credit_note_resolution_lowers_the_balance_once_also_when_two_resolves_race,
    agents_take_and_release_only_their_own_and_only_admins_change_sla_settings,
    ids_that_are_not_active_staff_are_forbidden_and_write_nothing,
    internal_notes_never_reach_the_customer_nor_the_clock,
);

pub(crate) const CUSTOMER_ADMIN: &str = "ap@northwind.example";
pub(crate) const AR_ADMIN: &str = "ar@seller.example";
pub(crate) const AR_AGENT: &str = "agent@seller.example";

// The shared helpers, also for the tests that import them from here.
pub(crate) use crate::helpers::{
    northwind, ny, open_usd_invoices, raise_whole_invoice as raise, set_clock, staff_id,
};

pub(crate) async fn balance(app: &TestApp, invoice_id: i64) -> i64 {
    app.count(&format!(
        "SELECT balance_minor FROM invoices WHERE invoice_id = {invoice_id}"
    ))
    .await
}

/// A pricing dispute of `scope` (with the amount typed, for `Amount`).
fn dispute(scope: DisputeScope, amount_text: &str) -> RaiseDispute {
    RaiseDispute {
        scope,
        amount_text: amount_text.into(),
        ..pricing_dispute(Vec::new())
    }
}

/// The queue's story, on Tuesday: A raised at 9:00 (first response due
/// 14:00, lunch excluded), B at 10:00 and answered by `agent` at 11:00
/// (only its resolution, days away, runs), C at 10:30 and at once waiting
/// on the customer, D at 14:30 (due Wednesday 10:30: 150 minutes on
/// Tuesday, 90 on Wednesday), on the first four `invoices`. The clock is
/// left at 14:30.
pub(crate) async fn queue_story(app: &TestApp, agent: i64, invoices: &[(i64, i64)]) -> [i64; 4] {
    set_clock(app, ny(12, 9, 0));
    let a = raise(app, invoices[0].0).await;
    set_clock(app, ny(12, 10, 0));
    let b = raise(app, invoices[1].0).await;
    set_clock(app, ny(12, 10, 30));
    let c = raise(app, invoices[2].0).await;
    app.services
        .set_waiting_on_customer(agent, c)
        .await
        .unwrap();
    set_clock(app, ny(12, 11, 0));
    app.services
        .staff_reply(agent, b, "We are checking the contract.", false)
        .await
        .unwrap();
    set_clock(app, ny(12, 14, 30));
    let d = raise(app, invoices[3].0).await;
    [a, b, c, d]
}

fn ids(rows: &[portal_core::services::staff_requests::QueueRow]) -> Vec<i64> {
    rows.iter().map(|r| r.request_id).collect()
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, ServiceError>) {
    match result {
        Err(ServiceError::Forbidden(_)) => {}
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

async fn the_queue_puts_breaches_first_then_the_nearest_deadline_and_waiting_requests_last(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let invoices = open_usd_invoices(&app).await;
    assert!(invoices.len() >= 4, "{invoices:?}");

    let [a, b, c, d] = queue_story(&app, agent, &invoices).await;

    let queue = app
        .services
        .request_queue(agent, QueueFilter::default())
        .await
        .unwrap();
    // Newest deadline first, not oldest request: D (opened last) comes
    // before B; C, waiting, comes after every running one.
    assert_eq!(ids(&queue), vec![a, d, b, c]);
    let (ra, rd, rb, rc) = (&queue[0], &queue[1], &queue[2], &queue[3]);
    assert_eq!(ra.urgency, Urgency::Breached);
    assert_eq!(ra.clock.first_response.state, TargetState::Breached);
    assert_eq!(ra.next_due, Some(ny(12, 14, 0)));
    assert_eq!(rd.urgency, Urgency::Running);
    assert_eq!(rd.next_due, Some(ny(13, 10, 30)));
    assert_eq!(rb.clock.first_response.state, TargetState::Met);
    assert!(rb.next_due.unwrap() > ny(13, 10, 30));
    assert_eq!(rc.urgency, Urgency::Paused);
    assert_eq!(rc.status, RequestStatus::WaitingOnCustomer);
    assert_eq!(rc.next_due, None);
    // What a row shows.
    assert_eq!(ra.customer_name, "Northwind Traders");
    assert_eq!(ra.reason_code.as_deref(), Some("pricing"));
    assert!(ra.invoice_number.is_some());
    assert_eq!(ra.disputed.unwrap().minor, invoices[0].1);
    assert_eq!(ra.assignee_name, None);

    // Filters: at risk or breached is A alone; mine after taking D.
    let risky = app
        .services
        .request_queue(
            agent,
            QueueFilter {
                only_at_risk_or_breached: true,
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&risky), vec![a]);
    app.services
        .assign_request(agent, d, Some(agent))
        .await
        .unwrap();
    let mine = app
        .services
        .request_queue(
            agent,
            QueueFilter {
                assignee: Some(AssigneeFilter::Me),
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&mine), vec![d]);
    assert_eq!(mine[0].assignee_name.as_deref(), Some("Jordan Blake"));
    let unassigned = app
        .services
        .request_queue(
            agent,
            QueueFilter {
                assignee: Some(AssigneeFilter::Unassigned),
                status: Some(RequestStatus::Open),
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&unassigned), vec![a, b]);
    let other_reason = app
        .services
        .request_queue(
            agent,
            QueueFilter {
                reason_code: Some("tax".into()),
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(other_reason.is_empty());
}

async fn a_customer_answer_resumes_the_clock_with_the_minutes_already_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let customer_id = northwind(&app).await;
    let access = access_of(&app, CUSTOMER_ADMIN).await;
    let (invoice_id, _) = open_usd_invoices(&app).await[0];
    set_clock(&app, ny(12, 9, 0));
    let request_id = raise(&app, invoice_id).await;
    // An hour of work, an answer, and a question to the customer.
    set_clock(&app, ny(12, 10, 0));
    app.services
        .staff_reply(agent, request_id, "Which contract do you mean?", false)
        .await
        .unwrap();
    app.services
        .set_waiting_on_customer(agent, request_id)
        .await
        .unwrap();
    let row = |queue: Vec<portal_core::services::staff_requests::QueueRow>| {
        queue
            .into_iter()
            .find(|r| r.request_id == request_id)
            .unwrap()
    };
    // A business day later the clock has not moved.
    set_clock(&app, ny(13, 10, 0));
    let paused = row(app
        .services
        .request_queue(agent, QueueFilter::default())
        .await
        .unwrap());
    assert!(paused.clock.paused);
    assert_eq!(paused.clock.resolution.used_minutes, 60);
    assert_eq!(paused.clock.resolution.state, TargetState::Paused);
    assert_eq!(paused.clock.resolution.due, None);

    // The customer answers: open again, and the clock runs on from 60.
    app.services
        .add_customer_message(
            &access,
            customer_id,
            request_id,
            "The 2026 frame agreement.",
            vec![],
            None,
        )
        .await
        .unwrap();
    set_clock(&app, ny(13, 10, 30));
    let running = row(app
        .services
        .request_queue(agent, QueueFilter::default())
        .await
        .unwrap());
    assert_eq!(running.status, RequestStatus::Open);
    assert!(!running.clock.paused);
    assert_eq!(running.clock.resolution.used_minutes, 90);
    assert_eq!(running.clock.resolution.state, TargetState::Running);
    // The answer starts a next-response target.
    let next = running.clock.next_responses.last().unwrap();
    assert_eq!(next.started_at, ny(13, 10, 0));
    assert_eq!(next.used_minutes, 30);
    assert_eq!(running.urgency, Urgency::Running);
    // The resolution's due instant counts on from the 90 used: 2310
    // business minutes after Wednesday 10:30 is 5.5 working days on.
    let expected_due = default_business_calendar().add_business_minutes(ny(13, 10, 30), 2310);
    assert_eq!(running.clock.resolution.due, Some(expected_due));
}

async fn a_credit_note_resolution_lowers_the_balance_once_also_when_two_resolves_race(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let customer_id = northwind(&app).await;
    let access = access_of(&app, CUSTOMER_ADMIN).await;
    let (invoice_id, before) = open_usd_invoices(&app).await[0];
    set_clock(&app, ny(12, 9, 0));
    let request_id = app
        .services
        .raise_dispute(
            &access,
            customer_id,
            invoice_id,
            dispute(DisputeScope::Amount, "25.00"),
            None,
        )
        .await
        .unwrap();
    set_clock(&app, ny(12, 11, 0));

    // More than the dispute held is refused, and nothing is written.
    let above = app
        .services
        .resolve_request(
            agent,
            request_id,
            Resolution::CreditNote {
                amount_text: "25.01".into(),
                note: String::new(),
            },
        )
        .await;
    match above {
        Err(ServiceError::Invalid { field, message }) => {
            assert_eq!(field, Some("amount"));
            assert!(message.contains("disputed amount of"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(balance(&app, invoice_id).await, before);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM requests WHERE request_id = {request_id} AND status = 'open'"
        ))
        .await,
        1
    );

    // Two resolves at once (the button pressed twice, by two people).
    let tasks: Vec<_> = [agent, admin]
        .into_iter()
        .map(|who| {
            let services = app.services.clone();
            tokio::spawn(async move {
                services
                    .resolve_request(
                        who,
                        request_id,
                        Resolution::CreditNote {
                            amount_text: "25.00".into(),
                            note: "Price corrected to the contract rate.".into(),
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let resolved = results
        .iter()
        .find_map(|r| r.as_ref().ok())
        .unwrap()
        .clone();
    let refused = results.into_iter().find_map(Result::err).unwrap();
    match &refused {
        ServiceError::Conflict(message) => {
            assert!(message.contains("already resolved"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(resolved.credit_minor, 2500);
    assert_eq!(resolved.applied_minor, 2500);

    // The balance dropped once; one note, one allocation, one of each event.
    assert_eq!(balance(&app, invoice_id).await, before - 2500);
    let note_id = resolved.credit_note_id.unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM credit_notes WHERE customer_id = {customer_id}
             AND number LIKE 'CN-R{request_id}-%'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT amount_minor FROM credit_notes WHERE credit_note_id = {note_id} AND currency = 'USD'"
        ))
        .await,
        2500
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM credit_allocations WHERE credit_note_id = {note_id}
             AND invoice_id = {invoice_id}"
        ))
        .await,
        2500
    );
    assert_eq!(
        app.count(&format!(
            "SELECT credited_minor FROM invoices WHERE invoice_id = {invoice_id}"
        ))
        .await,
        app.count(&format!(
            "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM credit_allocations WHERE invoice_id = {invoice_id}"
        ))
        .await
    );
    for (sql, n) in [
        (
            format!("SELECT COUNT(*) FROM request_events WHERE request_id = {request_id} AND event = 'resolved'"),
            1,
        ),
        (
            format!("SELECT COUNT(*) FROM audit_events WHERE action = 'request.resolved' AND subject = 'request:{request_id}'"),
            1,
        ),
        (
            format!("SELECT COUNT(*) FROM audit_events WHERE action = 'credit.applied' AND subject = 'invoice:{invoice_id}'"),
            1,
        ),
        (
            format!("SELECT COUNT(*) FROM requests WHERE request_id = {request_id} AND status = 'resolved' AND outcome = 'credit_note'"),
            1,
        ),
    ] {
        assert_eq!(app.count(&sql).await, n, "{sql}");
    }
    // The customer sees the outcome; the request leaves the queue.
    let seen = app
        .services
        .customer_request(&access, customer_id, request_id)
        .await
        .unwrap();
    assert_eq!(seen.request.status, RequestStatus::Resolved);
    assert_eq!(
        seen.request.outcome_note.as_deref(),
        Some("Price corrected to the contract rate.")
    );
    let queue = app
        .services
        .request_queue(agent, QueueFilter::default())
        .await
        .unwrap();
    assert!(!ids(&queue).contains(&request_id));
    // A third try answers the same way and still writes nothing.
    let again = app
        .services
        .resolve_request(
            admin,
            request_id,
            Resolution::Rejected {
                reason: "Too late.".into(),
            },
        )
        .await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    assert_eq!(balance(&app, invoice_id).await, before - 2500);
}

async fn agents_take_and_release_only_their_own_and_only_admins_change_sla_settings(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let other = app
        .services
        .create_staff("casey@seller.example", "Casey Moore", StaffRole::Agent)
        .await
        .unwrap();
    let (invoice_id, _) = open_usd_invoices(&app).await[0];
    set_clock(&app, ny(12, 9, 0));
    let request_id = raise(&app, invoice_id).await;
    let assignee = || async {
        app.count(&format!(
            "SELECT COALESCE(assignee_staff_id, 0) FROM requests WHERE request_id = {request_id}"
        ))
        .await
    };

    // An agent cannot hand a request to someone else.
    forbidden(
        app.services
            .assign_request(agent, request_id, Some(other))
            .await,
    );
    assert_eq!(assignee().await, 0);
    // An agent takes an unassigned one; another agent cannot take it over
    // nor release it.
    app.services
        .assign_request(agent, request_id, Some(agent))
        .await
        .unwrap();
    assert_eq!(assignee().await, agent);
    forbidden(
        app.services
            .assign_request(other, request_id, Some(other))
            .await,
    );
    forbidden(app.services.assign_request(other, request_id, None).await);
    // An admin assigns anyone; the new owner may release it.
    app.services
        .assign_request(admin, request_id, Some(other))
        .await
        .unwrap();
    assert_eq!(assignee().await, other);
    forbidden(app.services.assign_request(agent, request_id, None).await);
    // Even naming the current owner: agents do not assign others.
    forbidden(
        app.services
            .assign_request(agent, request_id, Some(other))
            .await,
    );
    app.services
        .assign_request(other, request_id, None)
        .await
        .unwrap();
    assert_eq!(assignee().await, 0);
    // Not to someone who is not active staff.
    let not_staff = app
        .services
        .assign_request(admin, request_id, Some(999_999))
        .await;
    assert!(
        matches!(
            not_staff,
            Err(ServiceError::Invalid {
                field: Some("assignee"),
                ..
            })
        ),
        "{not_staff:?}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'request.assigned'
             AND subject = 'request:{request_id}'"
        ))
        .await,
        3
    );

    // SLA settings: agents may not change them, admins may, and the
    // domain's rules decide what is valid.
    let berlin = r#"{"time_zone":"Europe/Berlin","week":{"monday":["08:00-16:00"],"friday":["08:00-12:00"]},"holidays":["2027-05-01"]}"#;
    forbidden(app.services.set_business_calendar(agent, berlin).await);
    let seeded = app.services.sla_settings().await.unwrap();
    assert_eq!(seeded.calendar, default_business_calendar());
    let overlapping =
        r#"{"time_zone":"Europe/Berlin","week":{"monday":["08:00-12:00","11:00-13:00"]}}"#;
    match app.services.set_business_calendar(admin, overlapping).await {
        Err(ServiceError::Invalid { message, .. }) => {
            assert!(message.contains("overlap"), "{message}");
            assert!(!message.contains("at line"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let calendar = app
        .services
        .set_business_calendar(admin, berlin)
        .await
        .unwrap();
    assert_eq!(
        app.services.sla_settings().await.unwrap().calendar,
        calendar
    );
    assert_eq!(
        serde_json::to_value(&calendar).unwrap()["time_zone"],
        "Europe/Berlin"
    );

    let mut policies = serde_json::to_value(&seeded.policies).unwrap();
    policies[1]["targets"]["first_response_minutes"] = 120.into();
    let policies = policies.to_string();
    forbidden(app.services.set_sla_policies(agent, &policies).await);
    let zero = policies.replace(
        "\"first_response_minutes\":120",
        "\"first_response_minutes\":0",
    );
    match app.services.set_sla_policies(admin, &zero).await {
        Err(ServiceError::Invalid { message, .. }) => {
            assert!(message.contains("positive"), "{message}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut short = serde_json::from_str::<serde_json::Value>(&policies).unwrap();
    short.as_array_mut().unwrap().pop();
    match app
        .services
        .set_sla_policies(admin, &short.to_string())
        .await
    {
        Err(ServiceError::Invalid { message, .. }) => {
            assert!(message.contains("missing: urgent"), "{message}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    app.services
        .set_sla_policies(admin, &policies)
        .await
        .unwrap();
    let stored = app.services.sla_settings().await.unwrap().policies;
    assert_eq!(stored.policies()[1].targets.first_response_minutes, 120);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sla.settings_changed'")
            .await,
        2
    );

    // A stored value that does not parse is our fault, named by its key.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query("UPDATE sla_settings SET value = '[{' WHERE key = 'sla_policies'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    for broken in [
        app.services.sla_settings().await.map(|_| ()),
        app.services
            .request_queue(admin, QueueFilter::default())
            .await
            .map(|_| ()),
    ] {
        match broken {
            Err(e @ ServiceError::Internal { .. }) => {
                assert!(e.to_string().contains("sla_policies"), "{e}")
            }
            other => panic!("expected Internal, got {other:?}"),
        }
    }
}

async fn ids_that_are_not_active_staff_are_forbidden_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (invoice_id, before) = open_usd_invoices(&app).await[0];
    set_clock(&app, ny(12, 9, 0));
    let request_id = raise(&app, invoice_id).await;
    // A contact's id is not a staff id: the services take staff ids and
    // check them. (The contact chosen has an id no staff user has.)
    let contact = app.count("SELECT MAX(contact_id) FROM contacts").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_users WHERE staff_id = {contact}"
        ))
        .await,
        0
    );
    // A disabled staff user is refused too.
    let gone = app
        .services
        .create_staff("former@seller.example", "Former Admin", StaffRole::Admin)
        .await
        .unwrap();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query(
        "UPDATE staff_users SET disabled_at = '2027-01-01T00:00:00.000000Z' WHERE staff_id = $1",
    )
    .bind(gone)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let writes_before = app.count("SELECT COUNT(*) FROM audit_events").await;
    for id in [contact, gone] {
        forbidden(app.services.request_queue(id, QueueFilter::default()).await);
        forbidden(app.services.assign_request(id, request_id, Some(id)).await);
        forbidden(
            app.services
                .staff_reply(id, request_id, "Hello", false)
                .await,
        );
        forbidden(app.services.staff_reply(id, request_id, "Note", true).await);
        forbidden(app.services.set_waiting_on_customer(id, request_id).await);
        forbidden(
            app.services
                .resolve_request(
                    id,
                    request_id,
                    Resolution::CreditNote {
                        amount_text: "1.00".into(),
                        note: String::new(),
                    },
                )
                .await,
        );
        forbidden(
            app.services
                .set_business_calendar(
                    id,
                    r#"{"time_zone":"UTC","week":{"monday":["00:00-24:00"]}}"#,
                )
                .await,
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events").await,
        writes_before
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_messages WHERE request_id = {request_id}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM requests WHERE request_id = {request_id}
             AND status = 'open' AND assignee_staff_id IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(balance(&app, invoice_id).await, before);
    assert_eq!(
        app.services.sla_settings().await.unwrap().calendar,
        default_business_calendar()
    );
}

async fn internal_notes_never_reach_the_customer_nor_the_clock(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let customer_id = northwind(&app).await;
    let access = access_of(&app, CUSTOMER_ADMIN).await;
    let (invoice_id, _) = open_usd_invoices(&app).await[0];
    set_clock(&app, ny(12, 9, 0));
    let request_id = raise(&app, invoice_id).await;
    set_clock(&app, ny(12, 9, 30));
    app.services
        .staff_reply(
            agent,
            request_id,
            "Customer is right; wait for the credit run.",
            true,
        )
        .await
        .unwrap();
    // A note is no answer: the first response still runs.
    let queue = app
        .services
        .request_queue(agent, QueueFilter::default())
        .await
        .unwrap();
    let row = queue.iter().find(|r| r.request_id == request_id).unwrap();
    assert_eq!(row.clock.first_response.state, TargetState::Running);
    set_clock(&app, ny(12, 10, 0));
    app.services
        .staff_reply(agent, request_id, "We are looking into it.", false)
        .await
        .unwrap();

    let seen = app
        .services
        .customer_request(&access, customer_id, request_id)
        .await
        .unwrap();
    let bodies: Vec<&str> = seen.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        vec![
            "The unit price is not the one in our contract.",
            "We are looking into it."
        ]
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_events WHERE request_id = {request_id} AND event = 'staff_replied'"
        ))
        .await,
        1
    );
    let queue = app
        .services
        .request_queue(agent, QueueFilter::default())
        .await
        .unwrap();
    let row = queue.iter().find(|r| r.request_id == request_id).unwrap();
    assert_eq!(row.clock.first_response.state, TargetState::Met);
    assert_eq!(row.clock.first_response.met_at, Some(ny(12, 10, 0)));
    assert_eq!(row.clock.first_response.used_minutes, 60);
    // Notes may still be added once the request is resolved; replies not.
    app.services
        .resolve_request(
            agent,
            request_id,
            Resolution::Rejected {
                reason: "The price matches the contract.".into(),
            },
        )
        .await
        .unwrap();
    app.services
        .staff_reply(agent, request_id, "Closed after a call.", true)
        .await
        .unwrap();
    let late = app
        .services
        .staff_reply(agent, request_id, "One more thing", false)
        .await;
    assert!(
        matches!(late, Err(ServiceError::Invalid { .. })),
        "{late:?}"
    );
    let seen = app
        .services
        .customer_request(&access, customer_id, request_id)
        .await
        .unwrap();
    assert_eq!(seen.messages.len(), 2);
    assert!(seen
        .messages
        .iter()
        .all(|m| !m.body.contains("credit run") && !m.body.contains("after a call")));
}
