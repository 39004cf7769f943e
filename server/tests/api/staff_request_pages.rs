//! AR's queue and request page over HTTP (issue 11): the queue's order,
//! badges and filters as a staff user sees them, who may assign what (one
//! row, bulk), replies and internal notes (a note never reaches the
//! customer's page or mail), waiting on the customer pausing the clock, a
//! credit-note resolution pressed twice at once crediting once, and every
//! staff address closed to anyone else. Requests are raised through the
//! services; everything AR does goes through the pages and forms.

use crate::helpers::{
    location, new_client, page_html, pricing_dispute, raise_as, signed_in_as, Backend, TestApp,
};
use crate::on_both_databases;
use crate::staff_requests::{
    balance, northwind, ny, open_usd_invoices, queue_story, raise, set_clock, staff_id, AR_ADMIN,
    AR_AGENT, CUSTOMER_ADMIN,
};

on_both_databases!(
    the_queue_page_orders_badges_and_filters_requests_as_time_passes,
    agents_take_only_free_requests_and_admins_reassign_and_bulk_assign,
    replies_and_internal_notes_are_set_apart_and_notes_never_reach_the_customer,
    waiting_on_the_customer_pauses_the_clock_on_the_page,
    a_credit_note_resolution_pressed_twice_at_once_credits_once,
    every_staff_address_is_closed_to_contacts_and_strangers,
);

/// Where each request's link first appears on a queue page (`None`: absent).
fn places(html: &str, ids: &[i64]) -> Vec<Option<usize>> {
    ids.iter()
        .map(|id| html.find(&format!("href=\"/staff/requests/{id}\"")))
        .collect()
}

async fn assignee_of(app: &TestApp, request_id: i64) -> Option<i64> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT assignee_staff_id FROM requests WHERE request_id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn the_queue_page_orders_badges_and_filters_requests_as_time_passes(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let invoices = open_usd_invoices(&app).await;
    let customer = northwind(&app).await;
    // As in the service test: A breaches at 14:00, B is answered, C waits
    // on the customer, D (14:30) is due Wednesday 10:30.
    let [a, b, c, d] = queue_story(&app, agent, &invoices).await;

    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let html = page_html(
        &app,
        &admin,
        &format!("/staff/requests?customer={customer}"),
    )
    .await;
    let at = places(&html, &[a, d, b, c]);
    assert!(at.iter().all(Option::is_some), "{at:?}");
    assert!(at[0] < at[1] && at[1] < at[2] && at[2] < at[3], "{at:?}");
    // The deadline in words and as a badge of words, not colour alone.
    assert!(html.contains("breached 30 min ago"), "A's deadline");
    assert!(html.contains("due in 4 business hours"), "D's deadline");
    assert!(html.contains("waiting on customer"), "C's deadline");
    for badge in [">Breached<", ">On track<", ">Paused<"] {
        assert!(html.contains(badge), "badge {badge}");
    }
    assert!(html.contains(&format!("href=\"/staff/customers/{customer}\"")));
    assert!(html.contains("Unassigned"));

    // Filters: waiting on the customer is C alone; breached now is A.
    let waiting = page_html(
        &app,
        &admin,
        &format!("/staff/requests?customer={customer}&status=waiting_on_customer"),
    )
    .await;
    assert_eq!(places(&waiting, &[a, b, c, d])[..2], [None, None]);
    assert!(places(&waiting, &[c])[0].is_some());
    let breached = page_html(
        &app,
        &admin,
        &format!("/staff/requests?customer={customer}&sla=breached"),
    )
    .await;
    assert_eq!(
        places(&breached, &[a, b, c, d])
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        [true, false, false, false]
    );

    // Wednesday 10:31: D breached at 10:30 with nothing written since; the
    // queue sees it, A still first (breached earlier).
    set_clock(&app, ny(13, 10, 31));
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let later = page_html(
        &app,
        &admin,
        &format!("/staff/requests?customer={customer}&sla=breached"),
    )
    .await;
    let at = places(&later, &[a, d, b, c]);
    assert!(
        at[0].is_some() && at[1].is_some() && at[0] < at[1],
        "{at:?}"
    );
    assert_eq!(at[2..], [None, None]);
    assert!(later.contains("breached 1 min ago"), "D's breach in words");

    // Mine: after the agent takes D, the agent's "assigned to me" shows it.
    app.services
        .assign_request(agent, d, Some(agent))
        .await
        .unwrap();
    let agent_client = signed_in_as(&app, AR_AGENT, true).await;
    let mine = page_html(&app, &agent_client, "/staff/requests?assignee=me").await;
    assert_eq!(
        places(&mine, &[a, b, c, d])
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        [false, false, false, true]
    );
    assert!(mine.contains("Jordan Blake"));
    // The staff home links its counts to the filtered queue.
    let home = page_html(&app, &agent_client, "/staff").await;
    assert!(home.contains("href=\"/staff/requests?sla=breached\""));
    assert!(home.contains("assigned to me"));
    assert!(home.contains("href=\"/staff/requests\""), "the staff nav");
}

async fn agents_take_only_free_requests_and_admins_reassign_and_bulk_assign(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    set_clock(&app, ny(12, 9, 0));
    let invoices = open_usd_invoices(&app).await;
    let a = raise(&app, invoices[0].0).await;
    let b = raise(&app, invoices[1].0).await;
    let c = raise(&app, invoices[2].0).await;
    let admin_id = staff_id(&app, AR_ADMIN).await;
    let agent_id = staff_id(&app, AR_AGENT).await;
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let agent = signed_in_as(&app, AR_AGENT, true).await;

    // The admin takes A from the queue ("Assign to me" on its row).
    let response = app
        .post_form_with(
            &admin,
            "/staff/requests/assign",
            &[("take", &a.to_string()), ("back", "status=open")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/staff/requests?status=open&notice=assigned&n=1"));
    assert_eq!(assignee_of(&app, a).await, Some(admin_id));

    // The agent cannot take it from the admin: refused, nothing changes.
    let response = app
        .post_form_with(
            &agent,
            &format!("/staff/requests/{a}/assign"),
            &[("assignee", "me")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("problem=forbidden"));
    assert_eq!(assignee_of(&app, a).await, Some(admin_id));
    let refused = page_html(&app, &agent, &location(&response)).await;
    assert!(refused.contains("an AR admin assigns requests to others"));
    // ... but takes the free B.
    let response = app
        .post_form_with(
            &agent,
            "/staff/requests/assign",
            &[("take", &b.to_string())],
        )
        .await;
    assert!(location(&response).contains("notice=assigned&n=1"));
    assert_eq!(assignee_of(&app, b).await, Some(agent_id));
    // An agent's crafted bulk assignment to someone else is refused.
    let response = app
        .post_form_with(
            &agent,
            "/staff/requests/assign",
            &[
                ("request", &c.to_string()),
                ("assignee", &admin_id.to_string()),
                ("bulk", "1"),
            ],
        )
        .await;
    assert!(location(&response).contains("problem=forbidden"));
    assert_eq!(assignee_of(&app, c).await, None);

    // The admin reassigns the agent's B to themself on its page.
    let response = app
        .post_form_with(
            &admin,
            &format!("/staff/requests/{b}/assign"),
            &[("assignee", &admin_id.to_string())],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/staff/requests/{b}?notice=assigned")
    );
    assert_eq!(assignee_of(&app, b).await, Some(admin_id));

    // Bulk: all three to the agent in one POST; twice changes nothing more.
    for _ in 0..2 {
        let (a, b, c, agent_id) = (
            a.to_string(),
            b.to_string(),
            c.to_string(),
            agent_id.to_string(),
        );
        let response = app
            .post_form_with(
                &admin,
                "/staff/requests/assign",
                &[
                    ("request", &a),
                    ("request", &b),
                    ("request", &c),
                    ("assignee", &agent_id),
                    ("bulk", "1"),
                ],
            )
            .await;
        assert!(location(&response).contains("notice=assigned&n=3&refused=0"));
    }
    for id in [a, b, c] {
        assert_eq!(assignee_of(&app, id).await, Some(agent_id));
    }
    let assigned = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'request.assigned' AND subject = 'request:{c}'"
        ))
        .await;
    assert_eq!(assigned, 1, "the second press wrote nothing for C");
    // Ticking nothing says so.
    let response = app
        .post_form_with(
            &admin,
            "/staff/requests/assign",
            &[("assignee", "me"), ("bulk", "1")],
        )
        .await;
    assert!(location(&response).contains("problem=request"));
}

async fn replies_and_internal_notes_are_set_apart_and_notes_never_reach_the_customer(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    set_clock(&app, ny(12, 9, 0));
    let invoices = open_usd_invoices(&app).await;
    let customer = northwind(&app).await;
    // The dispute comes with a PDF.
    let a = raise_as(
        &app,
        CUSTOMER_ADMIN,
        invoices[0].0,
        pricing_dispute(vec![(
            "contract.pdf".into(),
            b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec(),
        )]),
    )
    .await;
    let b = raise(&app, invoices[1].0).await;
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let mails_before = app.smtp.messages_to(CUSTOMER_ADMIN).len();

    let reply = "We are checking the contract prices with sales.";
    let note = "Sales agreed 5% off in March: SECRET-MARGIN-NOTE";
    let response = app
        .post_form_with(
            &admin,
            &format!("/staff/requests/{a}/reply"),
            &[("body", reply), ("visibility", "customer")],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/staff/requests/{a}?notice=reply")
    );
    let response = app
        .post_form_with(
            &admin,
            &format!("/staff/requests/{a}/reply"),
            &[("body", note), ("visibility", "internal")],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/staff/requests/{a}?notice=note")
    );

    // AR's page: both, the note labelled and styled apart.
    let html = page_html(&app, &admin, &format!("/staff/requests/{a}")).await;
    assert!(html.contains(reply) && html.contains(note));
    assert!(html.contains("Internal note — not visible to the customer"));
    assert!(html.contains("message message-internal"));
    assert!(html.contains("message message-reply"));
    // The first response is met by the reply; the file is offered.
    assert!(html.contains(">Met<"));
    let file_href = html
        .split("href=\"")
        .find(|h| h.starts_with(&format!("/staff/requests/{a}/attachments/")))
        .map(|h| h.split('"').next().unwrap().to_owned())
        .expect("the attachment link");
    let download = app.get_with(&admin, &file_href).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    // The same file under another request's address is not found.
    let elsewhere = file_href.replace(
        &format!("/staff/requests/{a}/"),
        &format!("/staff/requests/{b}/"),
    );
    assert_eq!(app.get_with(&admin, &elsewhere).await.status(), 404);

    // The customer's page and mail: the reply, never the note.
    let contact = signed_in_as(&app, CUSTOMER_ADMIN, false).await;
    let customer_page = app
        .get_with(&contact, &format!("/accounts/{customer}/requests/{a}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!customer_page.contains("SECRET-MARGIN-NOTE"));
    assert!(!customer_page.contains("Internal note"));
    let _ = app.worker.deliver_due().await;
    let reply_mail = app.smtp.wait_for(CUSTOMER_ADMIN, mails_before + 1).await;
    assert!(!reply_mail.text.contains("SECRET") && !reply_mail.html.contains("SECRET"));
    for mail in app.smtp.messages_to(CUSTOMER_ADMIN) {
        assert!(
            !mail.text.contains("SECRET-MARGIN-NOTE"),
            "{}",
            mail.subject
        );
        assert!(
            !mail.html.contains("SECRET-MARGIN-NOTE"),
            "{}",
            mail.subject
        );
    }

    // A refused reply keeps what was typed.
    let long = "x".repeat(10_001);
    let response = app
        .post_form_with(
            &admin,
            &format!("/staff/requests/{a}/reply"),
            &[("body", &long), ("visibility", "internal")],
        )
        .await;
    let back = location(&response);
    assert!(back.contains("problem=message"), "{back}");
    let refused = page_html(&app, &admin, &back).await;
    assert!(refused.contains("at most 10,000 characters"));
    assert!(refused.contains(&long), "the text is kept");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_messages WHERE request_id = {a} AND author_kind = 'staff'"
        ))
        .await,
        2
    );
}

async fn waiting_on_the_customer_pauses_the_clock_on_the_page(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    set_clock(&app, ny(12, 9, 0));
    let invoices = open_usd_invoices(&app).await;
    let customer = northwind(&app).await;
    let a = raise(&app, invoices[0].0).await;

    set_clock(&app, ny(12, 10, 0));
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let response = app
        .post_form_with(&admin, &format!("/staff/requests/{a}/waiting"), &[])
        .await;
    assert_eq!(
        location(&response),
        format!("/staff/requests/{a}?notice=waiting")
    );
    // A day later nothing more is used: still the hour before the pause.
    set_clock(&app, ny(13, 10, 0));
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let html = page_html(&app, &admin, &format!("/staff/requests/{a}")).await;
    assert!(html.contains("Waiting on customer") || html.contains("Waiting on the customer"));
    assert!(html.contains(">Paused<"));
    assert!(
        html.contains("60 of 240 business minutes"),
        "first response"
    );
    let queue = page_html(
        &app,
        &admin,
        &format!("/staff/requests?customer={customer}"),
    )
    .await;
    assert!(queue.contains("waiting on customer"));
    // Pressed again: refused, nothing written.
    let response = app
        .post_form_with(&admin, &format!("/staff/requests/{a}/waiting"), &[])
        .await;
    assert!(location(&response).contains("problem=closed"));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_events WHERE request_id = {a} AND event = 'waiting_on_customer'"
        ))
        .await,
        1
    );

    // A priority change keeps the minutes used.
    let response = app
        .post_form_with(
            &admin,
            &format!("/staff/requests/{a}/priority"),
            &[("priority", "high")],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/staff/requests/{a}?notice=priority")
    );
    let html = page_html(&app, &admin, &format!("/staff/requests/{a}")).await;
    assert!(html.contains("60 of 120 business minutes"), "high: 2 hours");
    assert!(html.contains("Priority changed to high"));
}

async fn a_credit_note_resolution_pressed_twice_at_once_credits_once(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    set_clock(&app, ny(12, 9, 0));
    let invoices = open_usd_invoices(&app).await;
    let (invoice_id, before) = invoices[0];
    let a = raise(&app, invoice_id).await;
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let path = format!("/staff/requests/{a}/resolve");

    // A bad amount: refused with the amount kept, nothing written.
    let response = app
        .post_form_with(
            &admin,
            &path,
            &[("outcome", "credit_note"), ("amount", "abc")],
        )
        .await;
    let back = location(&response);
    assert!(
        back.contains("problem=amount") && back.contains("amount=abc"),
        "{back}"
    );
    let refused = page_html(&app, &admin, &back).await;
    assert!(refused.contains("value=\"abc\""));
    assert_eq!(balance(&app, invoice_id).await, before);

    let form = [
        ("outcome", "credit_note"),
        ("amount", "10.00"),
        ("note", "Agreed price difference"),
    ];
    let (first, second) = tokio::join!(
        app.post_form_with(&admin, &path, &form),
        app.post_form_with(&admin, &path, &form)
    );
    let mut answers = vec![location(&first), location(&second)];
    answers.sort();
    assert_eq!(
        answers,
        vec![
            format!("/staff/requests/{a}?notice=resolved"),
            format!("/staff/requests/{a}?problem=already_resolved"),
        ]
    );
    assert_eq!(balance(&app, invoice_id).await, before - 1_000);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM credit_notes WHERE number LIKE 'CN-R{a}-%'"
        ))
        .await,
        1
    );
    let html = page_html(&app, &admin, &format!("/staff/requests/{a}")).await;
    assert!(
        html.contains(&format!("Credit note CN-R{a}-1 of $10.00")),
        "the outcome"
    );
    assert!(!html.contains("Resolve the request"), "no more forms");
}

async fn every_staff_address_is_closed_to_contacts_and_strangers(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    set_clock(&app, ny(12, 9, 0));
    let invoices = open_usd_invoices(&app).await;
    let a = raise(&app, invoices[0].0).await;
    let contact = signed_in_as(&app, CUSTOMER_ADMIN, false).await;
    let stranger = new_client();
    for client in [&contact, &stranger] {
        for path in [
            "/staff".to_owned(),
            "/staff/requests".to_owned(),
            format!("/staff/requests/{a}"),
            format!("/staff/requests/{a}/attachments/1"),
        ] {
            // Not found, or "sign in" (401, or the staff sign-in page).
            let response = app.get_with(client, &path).await;
            let status = response.status().as_u16();
            let to_sign_in = status == 303 && location(&response).starts_with("/staff/sign-in");
            assert!(
                status == 404 || status == 401 || to_sign_in,
                "GET {path}: {status}"
            );
            if status == 200 || to_sign_in {
                continue;
            }
            let body = response.text().await.unwrap();
            assert!(!body.contains("Northwind"), "GET {path} shows nothing");
        }
        for path in [
            "/staff/requests/assign".to_owned(),
            format!("/staff/requests/{a}/reply"),
            format!("/staff/requests/{a}/waiting"),
            format!("/staff/requests/{a}/priority"),
            format!("/staff/requests/{a}/assign"),
            format!("/staff/requests/{a}/resolve"),
        ] {
            let response = app
                .post_form_with(
                    client,
                    &path,
                    &[
                        ("take", &a.to_string()),
                        ("body", "hello"),
                        ("visibility", "internal"),
                        ("priority", "urgent"),
                        ("assignee", "me"),
                        ("outcome", "rejected"),
                        ("reason", "no"),
                    ],
                )
                .await;
            let status = response.status().as_u16();
            let to_sign_in = status == 303 && location(&response).starts_with("/staff/sign-in");
            assert!(status == 404 || to_sign_in, "POST {path}: {status}");
        }
        for name in ["staff_queue", "staff_queue_counts"] {
            let status = app
                .server_fn(client, name, &[("query", "")])
                .await
                .status()
                .as_u16();
            assert!(status == 401 || status == 404, "{name}: {status}");
        }
    }
    // Nothing was written.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_messages WHERE request_id = {a}"
        ))
        .await,
        1
    );
    assert_eq!(assignee_of(&app, a).await, None);
}

/// A look at the queue's latency with 10,000 open requests at 8 connections
/// (debug build, server and clients in one process, so only indicative;
/// `scripts/bench.sh` with BENCH_STAFF=1 measures the release build).
/// Not an assertion: `cargo test -p server --test api queue_timing --
/// --ignored --nocapture` (BENCH_POSTGRES=1 for PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn queue_timing_with_10000_open_requests() {
    use portal_core::seed_scale::{seed_scale, seed_scale_requests, ScaleSpec};
    let backend = if std::env::var("BENCH_POSTGRES").is_ok() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let app = crate::helpers::spawn_app(backend).await;
    seed_scale(
        &app.services,
        ScaleSpec {
            customers: 50,
            invoices: 40_000,
        },
        |_, _| {},
    )
    .await
    .unwrap();
    seed_scale_requests(&app.services, 10_000).await.unwrap();
    let open = app
        .count("SELECT COUNT(*) FROM requests WHERE status IN ('open', 'waiting_on_customer')")
        .await;
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let started = std::time::Instant::now();
    page_html(&app, &admin, "/staff/requests").await;
    eprintln!(
        "TIMING {open} open: first view (folds every position) {:?}",
        started.elapsed()
    );
    let admin_id = staff_id(&app, AR_ADMIN).await;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        app.services
            .request_queue_page(admin_id, Default::default(), 1)
            .await
            .unwrap();
        let page_time = t.elapsed();
        let t = std::time::Instant::now();
        app.services.refresh_sla_positions().await.unwrap();
        eprintln!("TIMING refresh check {:?}", t.elapsed());
        let t = std::time::Instant::now();
        app.services.request_queue_counts(admin_id).await.unwrap();
        eprintln!("TIMING counts {:?}", t.elapsed());
        let t = std::time::Instant::now();
        app.services.queue_choices(admin_id).await.unwrap();
        let choices_time = t.elapsed();
        let t = std::time::Instant::now();
        let response = app.server_fn(&admin, "staff_queue", &[("query", "")]).await;
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        eprintln!(
            "TIMING service page {page_time:?}, choices {choices_time:?}, server fn {:?}",
            t.elapsed()
        );
    }
    let path = std::env::var("TIMING_PATH").unwrap_or_else(|_| "/staff/requests".into());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url) = (admin.clone(), app.url(&path));
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for _ in 0..40 {
                let t = std::time::Instant::now();
                let response = client
                    .get(&url)
                    .header("accept", "text/html")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    eprintln!(
        "TIMING {open} open, 8 connections, {} views: p50 {:?} p99 {:?} max {:?}",
        times.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}
