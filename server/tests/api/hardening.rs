//! Findings of the outside review (issue 9), each as an attacker or a
//! careless user would meet it: credits spent twice under concurrency,
//! gateway events that name a payment but are not its, viewers acting on
//! a payer's checkout, GETs that changed state, invoice-link sessions
//! reaching the session functions, disabled people keeping their sessions,
//! and text or paths a link could slip into our pages.

use portal_core::services::payments::Payer;
use serde_json::json;

use crate::helpers::{location, new_client, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{
    contact_id, decimal, deliver, draft, event, open_invoices, payment_state, start, PAYER,
};
use portal_core::services::payments::PayProblem;

on_both_databases!(
    a_credit_is_never_applied_beyond_its_amount_under_concurrent_pay_posts,
    a_credit_only_payment_pressed_twice_is_applied_once,
    gateway_objects_that_do_not_fit_their_payment_change_nothing,
    viewers_cannot_continue_check_or_cancel_a_checkout,
    checkout_links_only_read_and_cancel_takes_a_same_origin_post,
    opening_an_invoice_link_takes_a_post_and_keeps_the_session_until_then,
    invoice_link_sessions_cannot_list_or_end_sessions,
    disabled_people_lose_their_sessions_at_once,
    the_invoice_link_problem_page_posts_only_to_a_fresh_link,
    the_review_page_shows_only_its_own_words,
);

/// A credit note of `amount_minor` cents for Northwind; returns its id.
async fn credit_note(app: &TestApp, number: &str, amount_minor: i64) -> i64 {
    let customer_id = app.customer_id("Northwind Traders").await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO credit_notes (customer_id, number, currency, amount_minor, reason, issue_date, created_at)
         VALUES ($1, $2, 'USD', $3, 'Test credit', '2026-01-01', '2026-01-01T00:00:00.000000Z') RETURNING credit_note_id",
    )
    .bind(customer_id)
    .bind(number)
    .bind(amount_minor)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn applied(app: &TestApp, credit_note_id: i64) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM credit_allocations WHERE credit_note_id = {credit_note_id}"
    ))
    .await
}

/// Pays `amount` of an invoice with a credit, through the service, as
/// "Pay" would.
async fn pay_with_credit(
    app: &TestApp,
    invoice_id: i64,
    amount_minor: i64,
    credit_note_id: i64,
    attempt: &str,
) -> Result<String, PayProblem> {
    let customer_id = app.customer_id("Northwind Traders").await;
    let contact = contact_id(app, PAYER).await;
    let mut form = draft(&[(invoice_id, amount_minor)], "card");
    form.credit_note_ids = vec![credit_note_id];
    app.services
        .start_payment(Payer::Contact(contact), customer_id, &form, attempt, None)
        .await
        .expect("no database error")
        .map(|started| started.redirect)
}

async fn a_credit_is_never_applied_beyond_its_amount_under_concurrent_pay_posts(backend: Backend) {
    let app = spawn_app(backend).await;
    let invoices = open_invoices(&app).await;
    let (a, b) = (&invoices[0], &invoices[1]);
    assert!(a.2 >= 2_000 && b.2 >= 2_000, "invoices large enough");
    let mut credits = Vec::new();
    for n in 0..20 {
        credits.push(credit_note(&app, &format!("CN-RACE-{n}"), 100).await);
    }
    // 20 pairs at once: each pair ticks the same $1.00 credit to pay $1.00
    // of two different invoices.
    let posts = credits.iter().enumerate().flat_map(|(n, credit)| {
        [(a.0, "a"), (b.0, "b")].map(|(invoice, side)| {
            let app = &app;
            async move {
                pay_with_credit(
                    app,
                    invoice,
                    100,
                    *credit,
                    &format!("race-{side}-{n:04}-000000000000"),
                )
                .await
            }
        })
    });
    let outcomes = futures_join_all(posts).await;
    for (n, credit) in credits.iter().enumerate() {
        assert_eq!(
            applied(&app, *credit).await,
            100,
            "credit {n} applied exactly once (outcomes: {:?})",
            &outcomes[2 * n..2 * n + 2]
        );
    }
    // The invoices' cached credit equals what was allocated to them.
    for invoice in [a.0, b.0] {
        let (cached, allocated): (i64, i64) = (
            app.count(&format!(
                "SELECT credited_minor FROM invoices WHERE invoice_id = {invoice}"
            ))
            .await,
            app.count(&format!(
                "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM credit_allocations WHERE invoice_id = {invoice}"
            ))
            .await,
        );
        assert_eq!(cached, allocated);
    }
    // The database itself refuses more than the note, whatever the code.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let over = sqlx::query(
        "INSERT INTO credit_allocations (credit_note_id, invoice_id, amount_minor, applied_at)
         VALUES ($1, $2, 1, '2026-01-01T00:00:00.000000Z')",
    )
    .bind(credits[0])
    .bind(invoices[2].0)
    .execute(&mut *conn)
    .await
    .unwrap_err();
    assert!(
        portal_core::repo::ledger::is_check_violation(&over),
        "{over}"
    );
}

/// A tiny join_all, so the test needs no extra crate.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut done: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => {
                        done[i] = Some(out);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for out in done {
        outputs.push(out.expect("every future finished"));
    }
    outputs
}

async fn a_credit_only_payment_pressed_twice_is_applied_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let invoice = open_invoices(&app).await[0].clone();
    let credit = credit_note(&app, "CN-TWICE", 500).await;
    // A double click: the same form's key, one after the other…
    let first = pay_with_credit(&app, invoice.0, 100, credit, "twice-000000000000001").await;
    let second = pay_with_credit(&app, invoice.0, 100, credit, "twice-000000000000001").await;
    assert_eq!(first, second, "the second press leads where the first did");
    assert_eq!(applied(&app, credit).await, 100);
    // …and at once.
    let (one, two) = tokio::join!(
        pay_with_credit(&app, invoice.0, 100, credit, "twice-000000000000002"),
        pay_with_credit(&app, invoice.0, 100, credit, "twice-000000000000002"),
    );
    assert!(one.is_ok() && two.is_ok(), "{one:?} {two:?}");
    assert_eq!(applied(&app, credit).await, 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE status = 'pending'")
            .await,
        0,
        "credits alone move no money"
    );
}

/// A Checkout Session object as Stripe sends it, with its money facts.
fn paid_session(
    session_id: &str,
    payment_id: i64,
    amount: i64,
    livemode: bool,
) -> serde_json::Value {
    json!({
        "id": session_id, "object": "checkout.session", "status": "complete",
        "payment_status": "paid", "payment_intent": format!("pi_test_{payment_id}"),
        "amount_total": amount, "currency": "usd", "livemode": livemode,
        "metadata": {"portal_payment_id": payment_id.to_string()}, "mode": "payment"
    })
}

async fn outcome_of(app: &TestApp, event_id: &str) -> Option<String> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, Option<String>>(
        "SELECT outcome FROM webhook_events WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn gateway_objects_that_do_not_fit_their_payment_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let invoices = open_invoices(&app).await;
    let now = app.clock.now_for_tests().timestamp();
    let deliver_and_apply = |id: &'static str,
                             event_type: &'static str,
                             object: serde_json::Value| {
        let app = &app;
        async move {
            let response = deliver(app, &event(id.into(), event_type, now, object)).await;
            assert_eq!(response.status(), 200);
            // Applied (or tried) by us or by the running worker, whichever
            // claims it first.
            for _ in 0..100 {
                app.services.process_all_due_events().await.unwrap();
                let tried = app
                    .count(&format!(
                        "SELECT COUNT(*) FROM webhook_events WHERE event_id = '{id}' AND (processed_at IS NOT NULL OR last_error IS NOT NULL)"
                    ))
                    .await;
                if tried == 1 {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("event {id} was never tried");
        }
    };

    // A payment that really succeeded (intent pi_test_<id>).
    let (paid, paid_session_id) = start(&app, &[(invoices[0].0, 1_000)], "card").await;
    deliver_and_apply(
        "evt_ok",
        "checkout.session.completed",
        paid_session(&paid_session_id, paid, 1_000, false),
    )
    .await;
    assert_eq!(
        payment_state(&app, paid).await.0,
        "succeeded",
        "{:?}",
        outcome_of(&app, "evt_ok").await
    );

    // A refund of another PaymentIntent that names our payment in its
    // metadata (another integration on the same Stripe account).
    deliver_and_apply(
        "evt_other_intent",
        "charge.refunded",
        json!({"id": "ch_other", "object": "charge", "amount": 1_000, "amount_refunded": 1_000,
               "currency": "usd", "livemode": false, "payment_intent": "pi_someone_else",
               "metadata": {"portal_payment_id": paid.to_string()}}),
    )
    .await;
    assert_eq!(
        payment_state(&app, paid).await,
        ("succeeded".into(), 0, false)
    );
    assert!(outcome_of(&app, "evt_other_intent")
        .await
        .unwrap()
        .starts_with("set aside for AR"));

    // A generic `metadata.payment_id` (not our namespaced key) names nothing.
    deliver_and_apply(
        "evt_generic_key",
        "charge.refunded",
        json!({"id": "ch_generic", "object": "charge", "amount": 1_000, "amount_refunded": 1_000,
               "currency": "usd", "livemode": false, "payment_intent": "pi_unknown",
               "metadata": {"payment_id": paid.to_string()}}),
    )
    .await;
    assert_eq!(
        payment_state(&app, paid).await,
        ("succeeded".into(), 0, false)
    );

    // Our session and payment, but another amount, or live mode in a test
    // portal: not applied, set aside.
    let (wrong_amount, session_a) = start(&app, &[(invoices[1].0, 2_000)], "card").await;
    deliver_and_apply(
        "evt_amount",
        "checkout.session.completed",
        paid_session(&session_a, wrong_amount, 1, false),
    )
    .await;
    assert_eq!(payment_state(&app, wrong_amount).await.0, "pending");
    assert!(outcome_of(&app, "evt_amount")
        .await
        .unwrap()
        .contains("amount 1 is not the payment's 2000"));
    let (live, session_b) = start(&app, &[(invoices[2].0, 3_000)], "card").await;
    deliver_and_apply(
        "evt_live",
        "checkout.session.completed",
        paid_session(&session_b, live, 3_000, true),
    )
    .await;
    assert_eq!(payment_state(&app, live).await.0, "pending");
    assert!(outcome_of(&app, "evt_live")
        .await
        .unwrap()
        .contains("livemode"));
    // The real event still applies afterwards.
    deliver_and_apply(
        "evt_amount_real",
        "checkout.session.completed",
        paid_session(&session_a, wrong_amount, 2_000, false),
    )
    .await;
    assert_eq!(payment_state(&app, wrong_amount).await.0, "succeeded");
    // AR sees what was set aside.
    let staff = app.signed_in_staff_client().await;
    let page = app
        .get_with(&staff, "/staff/payments")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("evt_other_intent") && page.contains("evt_live"),
        "{page}"
    );
}

/// A pending card payment of the payer; returns (payment id, return key).
async fn pending_payment(app: &TestApp) -> (i64, String) {
    let invoice = open_invoices(app).await[0].clone();
    let (payment_id, _) = start(app, &[(invoice.0, 500)], "card").await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let key: String = sqlx::query_scalar("SELECT return_key FROM payments WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    (payment_id, key)
}

async fn viewers_cannot_continue_check_or_cancel_a_checkout(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let (payment_id, key) = pending_payment(&app).await;
    let base = format!("/accounts/{customer_id}/payments/{payment_id}");
    let viewer = app.signed_in_client("controller@northwind.example").await;
    // The viewer sees the payment, without its checkout actions.
    let page = app.get_with(&viewer, &base).await.text().await.unwrap();
    assert!(
        page.contains(&format!("Payment PAY-{payment_id}")),
        "{page}"
    );
    for action in [
        "Continue to checkout",
        "Cancel this payment",
        "Check the status now",
    ] {
        assert!(!page.contains(action), "viewer offered {action}");
    }
    for path in [
        format!("{base}/cancel?key={key}"),
        format!("{base}/return?key={key}"),
    ] {
        assert_eq!(app.get_with(&viewer, &path).await.status(), 403, "{path}");
    }
    for path in [format!("{base}/cancel"), format!("{base}/check")] {
        assert_eq!(
            app.post_form_with(&viewer, &path, &[]).await.status(),
            403,
            "{path}"
        );
    }
    assert_eq!(payment_state(&app, payment_id).await.0, "pending");
    // The payer who started it is offered all three.
    let payer = app.signed_in_client(PAYER).await;
    let page = app.get_with(&payer, &base).await.text().await.unwrap();
    for action in [
        "Continue to checkout",
        "Cancel this payment",
        "Check the status now",
    ] {
        assert!(page.contains(action), "payer not offered {action}");
    }
}

async fn checkout_links_only_read_and_cancel_takes_a_same_origin_post(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let (payment_id, key) = pending_payment(&app).await;
    let base = format!("/accounts/{customer_id}/payments/{payment_id}");
    let payer = app.signed_in_client(PAYER).await;
    // Guessing the sequential id is not enough; the right key only shows the payment.
    assert_eq!(
        app.get_with(&payer, &format!("{base}/cancel"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get_with(&payer, &format!("{base}/cancel?key=x{key}"))
            .await
            .status(),
        404
    );
    let back = app
        .get_with(&payer, &format!("{base}/cancel?key={key}"))
        .await;
    assert_eq!(
        (back.status().as_u16(), location(&back)),
        (303, base.clone())
    );
    assert_eq!(payment_state(&app, payment_id).await.0, "pending");
    // A cross-site form (no Origin of ours) cannot cancel it…
    let forged = payer
        .post(app.url(&format!("{base}/cancel")))
        .header("origin", "https://evil.example")
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(payment_state(&app, payment_id).await.0, "pending");
    // …the payer's own button does.
    let cancel = app
        .post_form_with(&payer, &format!("{base}/cancel"), &[])
        .await;
    assert_eq!(
        (cancel.status().as_u16(), location(&cancel)),
        (303, base.clone())
    );
    assert_eq!(payment_state(&app, payment_id).await.0, "canceled");
}

/// A link to Northwind's first open invoice: (path `/i/…`, customer, invoice).
async fn invoice_link(app: &TestApp) -> (String, i64, i64) {
    let invoice = open_invoices(app).await[0].clone();
    let link = app
        .services
        .create_invoice_link(&invoice.1, None, "test")
        .await
        .unwrap();
    let path = link.url.strip_prefix(&app.address).unwrap().to_owned();
    (path, app.customer_id("Northwind Traders").await, invoice.0)
}

async fn opening_an_invoice_link_takes_a_post_and_keeps_the_session_until_then(backend: Backend) {
    let app = spawn_app(backend).await;
    let (path, customer_id, invoice_id) = invoice_link(&app).await;
    let staff = app.signed_in_staff_client().await;
    // A link (or an image) on another site opens it with a GET: the staff
    // session stays, and the page asks before switching.
    let page = app.get_with(&staff, &path).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{path}\"")) && page.contains("signs you out first"),
        "{page}"
    );
    assert_eq!(
        app.get_with(&staff, "/staff").await.status(),
        200,
        "still signed in"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE principal_kind = 'invoice_link'")
            .await,
        0
    );
    // A cross-site POST is refused too.
    let forged = staff
        .post(app.url(&path))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        app.get_with(&staff, "/staff").await.status(),
        200,
        "still signed in"
    );
    // The page's own button opens the invoice.
    let opened = app.post_form_with(&staff, &path, &[]).await;
    assert_eq!(
        location(&opened),
        format!("/accounts/{customer_id}/invoices/{invoice_id}")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE principal_kind = 'invoice_link'")
            .await,
        1
    );
}

async fn invoice_link_sessions_cannot_list_or_end_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (path, _, _) = invoice_link(&app).await;
    let contact = app.signed_in_client(PAYER).await;
    let contact_sessions = app
        .count("SELECT COUNT(*) FROM sessions WHERE principal_kind = 'contact'")
        .await;
    let first = new_client();
    let second = new_client();
    for visitor in [&first, &second] {
        let opened = app.post_form_with(visitor, &path, &[]).await;
        assert_eq!(opened.status(), 303);
    }
    assert_eq!(
        app.server_fn(&first, "my_sessions", &[]).await.status(),
        401
    );
    let second_id = app
        .count("SELECT MAX(session_id) FROM sessions WHERE principal_kind = 'invoice_link'")
        .await;
    for path in [
        format!("/sessions/{second_id}/end"),
        "/sessions/end-all".to_owned(),
    ] {
        assert_eq!(
            app.post_form_with(&first, &path, &[]).await.status(),
            404,
            "{path}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE principal_kind = 'invoice_link'")
            .await,
        2,
        "nobody's session was ended"
    );
    // People keep theirs.
    assert_eq!(
        app.server_fn(&contact, "my_sessions", &[]).await.status(),
        200
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE principal_kind = 'contact'")
            .await,
        contact_sessions
    );
}

async fn disabled_people_lose_their_sessions_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let contact = app.signed_in_client(PAYER).await;
    let account = format!("/accounts/{customer_id}/invoices");
    assert_eq!(app.get_with(&contact, &account).await.status(), 200);
    assert!(app.services.disable_contact(PAYER).await.unwrap());
    let response = app.get_with(&contact, &account).await;
    assert_eq!(
        (response.status().as_u16(), location(&response)),
        (303, "/sign-in".to_owned())
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE principal_kind = 'contact' AND principal_id = {}",
            contact_id(&app, PAYER).await
        ))
        .await,
        0
    );
    // Disabled between two requests without the sessions being deleted (a
    // request in flight, or a database edited by hand): the guard checks.
    let other = app.signed_in_client("ap@northwind.example").await;
    {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query("UPDATE contacts SET disabled_at = '2026-01-01T00:00:00.000000Z' WHERE email = 'ap@northwind.example'")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let response = app.get_with(&other, &account).await;
    assert_eq!(location(&response), "/sign-in");
    let overview = app
        .server_fn(
            &other,
            "account_overview",
            &[("customer_id", &customer_id.to_string())],
        )
        .await;
    assert!(
        matches!(overview.status().as_u16(), 401 | 404),
        "{}",
        overview.status()
    );
    // Staff too.
    let staff = app.signed_in_staff_client().await;
    assert_eq!(app.get_with(&staff, "/staff").await.status(), 200);
    assert!(app
        .services
        .disable_staff("ar@seller.example")
        .await
        .unwrap());
    let response = app.get_with(&staff, "/staff").await;
    assert_eq!(location(&response), "/staff/sign-in");
    // A disabled person's email gets no sign-in link.
    let before = app.smtp.messages_to(PAYER).len();
    assert_eq!(app.request_link(PAYER).await.status(), 303);
    app.worker.deliver_due().await.unwrap();
    assert_eq!(app.smtp.messages_to(PAYER).len(), before);
}

async fn the_invoice_link_problem_page_posts_only_to_a_fresh_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let crafted = app
        .get("/invoice-link?state=expired&token=..%2F..%2Fsessions%2Fend-all%3Fx%3D")
        .await
        .text()
        .await
        .unwrap();
    assert!(!crafted.contains("end-all"), "{crafted}");
    assert!(
        !crafted.contains("<form"),
        "no button for a malformed token"
    );
    let token = "A".repeat(43);
    let genuine = app
        .get(&format!("/invoice-link?state=expired&token={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        genuine.contains(&format!("action=\"/i/{token}/fresh\"")),
        "{genuine}"
    );
}

async fn the_review_page_shows_only_its_own_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoice = open_invoices(&app).await[0].clone();
    let payer = app.signed_in_client(PAYER).await;
    let review = |problem: &str| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("invoice", &invoice.0.to_string())
            .append_pair(&format!("amount_{}", invoice.0), &decimal(100))
            .append_pair("method", "card")
            .append_pair("email", PAYER)
            .append_pair("problem", problem);
        format!("/accounts/{customer_id}/pay/review?{}", query.finish())
    };
    let planted = "Your card was flagged: call +1 555 0100 to confirm";
    let page = app
        .get_with(&payer, &review(planted))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("call +1 555 0100"), "{page}");
    assert!(page.contains("Review"), "the page itself renders");
    let page = app
        .get_with(&payer, &review("gateway"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(PayProblem::GatewayUnreachable.message()),
        "{page}"
    );
}
