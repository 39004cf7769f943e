//! Customer requests (issue 11), the storage and the customer's service:
//! raising a dispute with files, the rules that refuse one (role, content,
//! size, amount, one open dispute per invoice, also under a race), what
//! another account and the customer's side never see, withdrawing, writing
//! back. Services are called directly; every refusal also checks that
//! nothing was stored.

use crate::helpers::{access_of, northwind, pricing_dispute, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use portal_core::domain::request::DisputeScope;
use portal_core::domain::{Currency, Money};
use portal_core::services::requests::RaiseDispute;
use portal_core::ServiceError;

on_both_databases!(
    a_dispute_of_two_lines_with_a_pdf_stores_them_and_holds_the_lines_total,
    a_viewer_cannot_dispute_and_nothing_is_stored,
    files_disguised_as_pdf_are_refused_by_content_and_nothing_is_stored,
    an_eleven_megabyte_file_is_refused_and_nothing_is_stored,
    one_open_dispute_per_invoice_also_when_two_are_raised_at_once,
    another_accounts_request_and_attachment_are_not_found,
    internal_notes_never_reach_the_customer,
    a_dispute_is_withdrawn_once_and_can_then_be_raised_again,
    an_amount_above_the_open_balance_is_refused_naming_the_balance,
    a_customer_message_ends_the_wait_and_is_recorded_for_the_clock,
);

pub(crate) const ADMIN: &str = "ap@northwind.example";
pub(crate) const PAYER: &str = "payables@northwind.example";
pub(crate) const VIEWER: &str = "controller@northwind.example";
pub(crate) const OTHER_ACCOUNT_ADMIN: &str = "ap@contoso.example";

/// Tables a refused dispute must leave untouched.
const REQUEST_TABLES: [&str; 5] = [
    "requests",
    "request_lines",
    "request_messages",
    "request_attachments",
    "request_events",
];

pub(crate) fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n\
      1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
      2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
      3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n\
      trailer << /Root 1 0 R /Size 4 >>\n%%EOF\n"
        .to_vec()
}

/// The 1x1 transparent PNG.
pub(crate) fn png() -> Vec<u8> {
    let hex = "89504e470d0a1a0a0000000d4948445200000001000000010806000000\
               1f15c4890000000b49444154789c6360000200000500017a5eab3f00000000\
               49454e44ae426082";
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

pub(crate) const HTML: &[u8] =
    b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script>\
    <!-- %PDF-1.4 --></body></html>\n";

/// Open, unvoided invoices of Northwind with at least two lines, oldest
/// first: (invoice id, balance, currency).
async fn open_invoices_with_lines(app: &TestApp) -> Vec<(i64, i64, String)> {
    let customer_id = northwind(app).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, i64, String)>(
        "SELECT i.invoice_id, i.balance_minor, i.currency FROM invoices i
         WHERE i.customer_id = $1 AND i.balance_minor > 0 AND i.voided_at IS NULL
           AND (SELECT COUNT(*) FROM invoice_lines l WHERE l.invoice_id = i.invoice_id) >= 2
         ORDER BY i.invoice_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// (line id, total with tax) of an invoice, in order.
pub(crate) async fn lines_of(app: &TestApp, invoice_id: i64) -> Vec<(i64, i64)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT invoice_line_id, amount_minor + tax_minor FROM invoice_lines
         WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn stored_rows(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in REQUEST_TABLES {
        counts.push((
            table,
            app.count(&format!("SELECT COUNT(*) FROM {table}")).await,
        ));
    }
    counts
}

pub(crate) async fn assert_nothing_stored(app: &TestApp) {
    for (table, n) in stored_rows(app).await {
        assert_eq!(n, 0, "{table} has rows");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'dispute.%'")
            .await,
        0
    );
}

fn invalid_field(e: &ServiceError) -> (Option<&'static str>, String) {
    match e {
        ServiceError::Invalid { field, message } => (*field, message.clone()),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn a_dispute_of_two_lines_with_a_pdf_stores_them_and_holds_the_lines_total(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let access = access_of(&app, PAYER).await;
    let (invoice_id, balance, _) = open_invoices_with_lines(&app).await[0].clone();
    let lines = lines_of(&app, invoice_id).await;
    let chosen = [lines[0], lines[1]];
    let expected = (chosen[0].1 + chosen[1].1).min(balance);

    let request_id = app
        .services
        .raise_dispute(
            &access,
            customer_id,
            invoice_id,
            RaiseDispute {
                scope: DisputeScope::Lines,
                // A repeated id counts once.
                line_ids: vec![chosen[0].0, chosen[1].0, chosen[0].0],
                amount_text: String::new(),
                reason_code: "quantity".into(),
                message: "  We ordered 10, not 12, of these two.  ".into(),
                files: vec![("../delivery note.pdf".into(), pdf())],
            },
            Some("203.0.113.9"),
        )
        .await
        .unwrap();

    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (kind, status, priority, scope, disputed, opened_by): (
        String,
        String,
        String,
        String,
        i64,
        i64,
    ) = sqlx::query_as(
        "SELECT kind, status, priority, scope, disputed_minor, opened_by_contact_id
             FROM requests WHERE request_id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        (
            kind.as_str(),
            status.as_str(),
            priority.as_str(),
            scope.as_str()
        ),
        ("dispute", "open", "normal", "lines")
    );
    assert_eq!(disputed, expected);
    assert_eq!(opened_by, access.contact_id);
    let mut line_ids: Vec<i64> =
        sqlx::query_scalar("SELECT invoice_line_id FROM request_lines WHERE request_id = $1")
            .bind(request_id)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    line_ids.sort();
    let mut want = vec![chosen[0].0, chosen[1].0];
    want.sort();
    assert_eq!(line_ids, want);
    let (stored_name, display_name, kind, size): (String, String, String, i64) = sqlx::query_as(
        "SELECT stored_name, display_name, kind, size_bytes FROM request_attachments",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(stored_name.len(), 32, "a server-made name");
    assert!(!stored_name.contains("delivery"));
    assert_eq!(
        (display_name.as_str(), kind.as_str()),
        ("delivery note.pdf", "pdf")
    );
    assert_eq!(size, pdf().len() as i64);
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event FROM request_events WHERE request_id = $1")
            .bind(request_id)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(events, ["opened"]);
    let audit_ip: Option<String> = sqlx::query_scalar(
        "SELECT ip FROM audit_events WHERE action = 'dispute.raised' AND subject = $1",
    )
    .bind(format!("request:{request_id}"))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(audit_ip.as_deref(), Some("203.0.113.9"));
    // The clock's events read back as the SLA engine's own type.
    let sla_events = portal_core::repo::requests::events(&mut conn, request_id)
        .await
        .unwrap();
    assert!(matches!(
        sla_events[..],
        [portal_core::domain::sla::SlaEvent {
            kind: portal_core::domain::sla::SlaEventKind::Opened { .. },
            ..
        }]
    ));
    drop(conn);

    // The customer's view: the thread with the file's metadata, and the
    // file itself as it was sent.
    let thread = app
        .services
        .customer_request(&access, customer_id, request_id)
        .await
        .unwrap();
    assert_eq!(thread.request.disputed_minor, Some(expected));
    assert_eq!(thread.request.reason_code.as_deref(), Some("quantity"));
    assert_eq!(thread.line_ids, want);
    assert_eq!(thread.messages.len(), 1);
    assert_eq!(
        thread.messages[0].body,
        "We ordered 10, not 12, of these two."
    );
    let files = &thread.messages[0].attachments;
    assert_eq!(files.len(), 1);
    let download = app
        .services
        .attachment(&access, customer_id, files[0].attachment_id)
        .await
        .unwrap();
    assert_eq!(download.bytes, pdf());
    assert_eq!(download.content_type, "application/pdf");
    assert_eq!(download.file_name, "delivery note.pdf");
    // Any member reads the account's requests, a viewer too.
    let viewer = access_of(&app, VIEWER).await;
    let listed = app
        .services
        .customer_requests(&viewer, customer_id)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|r| r.request_id).collect::<Vec<_>>(),
        [request_id]
    );
}

async fn a_viewer_cannot_dispute_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let viewer = access_of(&app, VIEWER).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let err = app
        .services
        .raise_dispute(
            &viewer,
            customer_id,
            invoice_id,
            pricing_dispute(vec![("note.pdf".into(), pdf())]),
            None,
        )
        .await
        .unwrap_err();
    match &err {
        ServiceError::Forbidden(message) => {
            assert!(message.contains("payer role"), "{message}")
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert_eq!(err.status(), 403);
    assert_nothing_stored(&app).await;
}

async fn files_disguised_as_pdf_are_refused_by_content_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let cases = [
        (
            png(),
            "“scan.pdf” is named as a PDF file but its content is a PNG image",
        ),
        (
            HTML.to_vec(),
            "“scan.pdf” is not a PDF, PNG, JPEG, CSV or XLSX file; its content looks like an HTML page",
        ),
    ];
    for (bytes, said) in cases {
        // A good file next to the bad one is not stored either.
        let files = vec![("ok.pdf".into(), pdf()), ("scan.pdf".into(), bytes)];
        let err = app
            .services
            .raise_dispute(
                &admin,
                customer_id,
                invoice_id,
                pricing_dispute(files),
                None,
            )
            .await
            .unwrap_err();
        let (field, message) = invalid_field(&err);
        assert_eq!(field, Some("files"));
        assert!(message.contains(said), "{message}");
        assert_nothing_stored(&app).await;
    }
}

async fn an_eleven_megabyte_file_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let mut big = pdf();
    big.resize(11 * 1024 * 1024, b' ');
    let err = app
        .services
        .raise_dispute(
            &admin,
            customer_id,
            invoice_id,
            pricing_dispute(vec![("big.pdf".into(), big)]),
            None,
        )
        .await
        .unwrap_err();
    let (field, message) = invalid_field(&err);
    assert_eq!(field, Some("files"));
    assert!(
        message.contains("“big.pdf” is 11.0 MB; files can be at most 10 MB"),
        "{message}"
    );
    assert_nothing_stored(&app).await;
}

async fn one_open_dispute_per_invoice_also_when_two_are_raised_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let payer = access_of(&app, PAYER).await;
    let invoices = open_invoices_with_lines(&app).await;
    let (first, _, _) = invoices[0].clone();
    app.services
        .raise_dispute(&admin, customer_id, first, pricing_dispute(vec![]), None)
        .await
        .unwrap();
    // Another contact of the account, the same invoice: one thread, not two.
    let err = app
        .services
        .raise_dispute(&payer, customer_id, first, pricing_dispute(vec![]), None)
        .await
        .unwrap_err();
    match &err {
        ServiceError::Conflict(message) => {
            assert!(message.contains("already has an open dispute"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }

    // Two at once on another invoice: exactly one is stored.
    let (second, _, _) = invoices[1].clone();
    let tasks: Vec<_> = [admin.clone(), payer.clone()]
        .into_iter()
        .map(|who| {
            let services = app.services.clone();
            tokio::spawn(async move {
                services
                    .raise_dispute(
                        &who,
                        customer_id,
                        second,
                        pricing_dispute(vec![("n.pdf".into(), pdf())]),
                        None,
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
    let refused = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(refused.status(), 409, "{refused:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM requests WHERE invoice_id = {second}"
        ))
        .await,
        1
    );
    // The database's own guard, whoever writes: a second open dispute row
    // of the invoice is refused.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let duplicate = sqlx::query(
        "INSERT INTO requests (customer_id, kind, status, reason_id, invoice_id, scope,
             disputed_minor, currency, opened_by_contact_id, opened_at)
         SELECT customer_id, kind, 'waiting_on_customer', reason_id, invoice_id, scope,
             disputed_minor, currency, opened_by_contact_id, opened_at
         FROM requests WHERE invoice_id = $1",
    )
    .bind(second)
    .execute(&mut *conn)
    .await
    .unwrap_err();
    assert!(
        portal_core::error::is_unique_violation(&duplicate),
        "{duplicate}"
    );
    drop(conn);
    // The loser's message and file went with it.
    assert_eq!(app.count("SELECT COUNT(*) FROM request_messages").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM request_attachments").await,
        1
    );
}

async fn another_accounts_request_and_attachment_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let request_id = app
        .services
        .raise_dispute(
            &admin,
            customer_id,
            invoice_id,
            pricing_dispute(vec![("n.pdf".into(), pdf())]),
            None,
        )
        .await
        .unwrap();
    let attachment_id = app
        .count("SELECT MAX(attachment_id) FROM request_attachments")
        .await;

    let other = access_of(&app, OTHER_ACCOUNT_ADMIN).await;
    let contoso = app.customer_id("Contoso Manufacturing").await;
    // Through their own account: the ids are not theirs.
    let not_found = |r: Result<(), ServiceError>| {
        assert!(matches!(r, Err(ServiceError::NotFound)), "{r:?}");
    };
    not_found(
        app.services
            .attachment(&other, contoso, attachment_id)
            .await
            .map(|_| ()),
    );
    not_found(
        app.services
            .customer_request(&other, contoso, request_id)
            .await
            .map(|_| ()),
    );
    not_found(
        app.services
            .withdraw_dispute(&other, contoso, request_id, None)
            .await,
    );
    not_found(
        app.services
            .add_customer_message(&other, contoso, request_id, "hello", vec![], None)
            .await
            .map(|_| ()),
    );
    // Naming the other account: not a member.
    not_found(
        app.services
            .attachment(&other, customer_id, attachment_id)
            .await
            .map(|_| ()),
    );
    not_found(
        app.services
            .customer_requests(&other, customer_id)
            .await
            .map(|_| ()),
    );
    // Nor can they dispute another account's invoice through their own.
    not_found(
        app.services
            .raise_dispute(&other, contoso, invoice_id, pricing_dispute(vec![]), None)
            .await
            .map(|_| ()),
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM requests").await, 1);
}

async fn internal_notes_never_reach_the_customer(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let request_id = app
        .services
        .raise_dispute(
            &admin,
            customer_id,
            invoice_id,
            pricing_dispute(vec![]),
            None,
        )
        .await
        .unwrap();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let staff_id: i64 =
        sqlx::query_scalar("SELECT staff_id FROM staff_users WHERE email = 'agent@seller.example'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let note_id: i64 = sqlx::query_scalar(
        "INSERT INTO request_messages (request_id, author_kind, author_id, visibility, body, created_at)
         VALUES ($1, 'staff', $2, 'internal', 'Customer is right, but wait for the credit run.', '2099-01-01T00:00:00.000000Z')
         RETURNING message_id",
    )
    .bind(request_id)
    .bind(staff_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let note_file: i64 = sqlx::query_scalar(
        "INSERT INTO request_attachments (message_id, stored_name, display_name, kind, size_bytes, content, created_at)
         VALUES ($1, 'internalnote00000000000000000000', 'margin.pdf', 'pdf', $2, $3, '2099-01-01T00:00:00.000000Z')
         RETURNING attachment_id",
    )
    .bind(note_id)
    .bind(pdf().len() as i64)
    .bind(pdf())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO request_messages (request_id, author_kind, author_id, visibility, body, created_at)
         VALUES ($1, 'staff', $2, 'customer', 'We are looking into it.', '2099-01-01T00:00:01.000000Z')",
    )
    .bind(request_id)
    .bind(staff_id)
    .execute(&mut *conn)
    .await
    .unwrap();
    // The database itself refuses an internal note by a contact.
    let refused = sqlx::query(
        "INSERT INTO request_messages (request_id, author_kind, author_id, visibility, body, created_at)
         VALUES ($1, 'contact', $2, 'internal', 'x', '2099-01-01T00:00:02.000000Z')",
    )
    .bind(request_id)
    .bind(admin.contact_id)
    .execute(&mut *conn)
    .await;
    assert!(refused.is_err());
    drop(conn);

    let thread = app
        .services
        .customer_request(&admin, customer_id, request_id)
        .await
        .unwrap();
    let bodies: Vec<&str> = thread.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "The unit price is not the one in our contract.",
            "We are looking into it."
        ]
    );
    assert_eq!(
        thread.messages[1].author_name.as_deref(),
        Some("Jordan Blake")
    );
    assert!(thread.messages.iter().all(|m| m.attachments.is_empty()));
    assert!(matches!(
        app.services
            .attachment(&admin, customer_id, note_file)
            .await,
        Err(ServiceError::NotFound)
    ));
}

async fn a_dispute_is_withdrawn_once_and_can_then_be_raised_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let payer = access_of(&app, PAYER).await;
    let viewer = access_of(&app, VIEWER).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let request_id = app
        .services
        .raise_dispute(
            &payer,
            customer_id,
            invoice_id,
            pricing_dispute(vec![]),
            None,
        )
        .await
        .unwrap();
    // A viewer cannot withdraw it.
    assert!(matches!(
        app.services
            .withdraw_dispute(&viewer, customer_id, request_id, None)
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    app.services
        .withdraw_dispute(&payer, customer_id, request_id, None)
        .await
        .unwrap();
    let thread = app
        .services
        .customer_request(&payer, customer_id, request_id)
        .await
        .unwrap();
    assert_eq!(thread.request.status.as_str(), "withdrawn");
    assert!(thread.request.resolved_at.is_some());
    assert_eq!(thread.request.outcome, None);

    let again = app
        .services
        .withdraw_dispute(&payer, customer_id, request_id, None)
        .await
        .unwrap_err();
    let (_, message) = invalid_field(&again);
    assert!(message.contains("was withdrawn"), "{message}");
    let closed = app
        .services
        .add_customer_message(
            &payer,
            customer_id,
            request_id,
            "one more thing",
            vec![],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(closed.status(), 400);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_events WHERE request_id = {request_id}"
        ))
        .await,
        2,
        "opened, then the withdrawal; nothing for the refused presses"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'dispute.withdrawn'")
            .await,
        1
    );
    // No longer open, so the invoice can be disputed again.
    app.services
        .raise_dispute(
            &payer,
            customer_id,
            invoice_id,
            pricing_dispute(vec![]),
            None,
        )
        .await
        .unwrap();
}

async fn an_amount_above_the_open_balance_is_refused_naming_the_balance(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let (invoice_id, balance, currency) = open_invoices_with_lines(&app).await[0].clone();
    let currency = Currency::parse(&currency).unwrap();
    let above = Money::new(balance + 1, currency).decimal_string();
    let mut dispute = pricing_dispute(vec![("n.pdf".into(), pdf())]);
    dispute.scope = DisputeScope::Amount;
    dispute.amount_text = above;
    let err = app
        .services
        .raise_dispute(&admin, customer_id, invoice_id, dispute.clone(), None)
        .await
        .unwrap_err();
    let (field, message) = invalid_field(&err);
    assert_eq!(field, Some("amount"));
    let shown = Money::new(balance, currency).display();
    assert!(message.contains(&shown), "{message} should name {shown}");
    assert_nothing_stored(&app).await;

    // The balance itself is fine.
    dispute.amount_text = Money::new(balance, currency).decimal_string();
    let request_id = app
        .services
        .raise_dispute(&admin, customer_id, invoice_id, dispute, None)
        .await
        .unwrap();
    let held = app
        .count(&format!(
            "SELECT disputed_minor FROM requests WHERE request_id = {request_id}"
        ))
        .await;
    assert_eq!(held, balance);
}

async fn a_customer_message_ends_the_wait_and_is_recorded_for_the_clock(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let admin = access_of(&app, ADMIN).await;
    let (invoice_id, _, _) = open_invoices_with_lines(&app).await[0].clone();
    let request_id = app
        .services
        .raise_dispute(
            &admin,
            customer_id,
            invoice_id,
            pricing_dispute(vec![]),
            None,
        )
        .await
        .unwrap();
    // AR asked something (the staff side comes later; set it directly).
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query("UPDATE requests SET status = 'waiting_on_customer' WHERE request_id = $1")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let empty = app
        .services
        .add_customer_message(&admin, customer_id, request_id, "   ", vec![], None)
        .await
        .unwrap_err();
    assert_eq!(invalid_field(&empty).0, Some("message"));

    let message_id = app
        .services
        .add_customer_message(
            &admin,
            customer_id,
            request_id,
            "Here is the signed delivery note.",
            vec![("note".into(), pdf())],
            None,
        )
        .await
        .unwrap();
    let thread = app
        .services
        .customer_request(&admin, customer_id, request_id)
        .await
        .unwrap();
    assert_eq!(thread.request.status.as_str(), "open");
    let last = thread.messages.last().unwrap();
    assert_eq!(last.message_id, message_id);
    assert_eq!(last.attachments[0].display_name, "note.pdf");
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM request_events WHERE request_id = $1 ORDER BY at, event_id",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(events, ["opened", "customer_messaged"]);
}
