//! The customer's request pages and forms over HTTP (issue 11): multipart
//! posts as a browser without JavaScript sends them, the pages they lead
//! to, the files served back, and what a refusal keeps of the typed form.
//! Every refusal also checks that nothing was stored.

use crate::helpers::{location, northwind, pricing_dispute, raise_as, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::requests::{
    assert_nothing_stored, lines_of, pdf, png, ADMIN, HTML, OTHER_ACCOUNT_ADMIN, PAYER, VIEWER,
};
use portal_core::domain::{Currency, Money};
use reqwest::header::{CONTENT_TYPE, ORIGIN};

on_both_databases!(
    raising_two_lines_with_a_pdf_works_end_to_end,
    files_disguised_as_pdf_are_refused_by_content_on_the_form,
    an_eleven_megabyte_file_is_refused_on_the_form_and_nothing_is_stored,
    unsafe_file_names_are_stored_safely_and_served_with_a_safe_name,
    another_customers_attachment_answers_404,
    a_viewer_cannot_dispute_and_nothing_is_stored,
    a_customer_message_resumes_a_request_waiting_on_them,
    withdrawing_twice_is_harmless,
    the_typed_form_survives_a_refused_submit,
    only_the_upload_forms_take_large_bodies,
);

/// A `multipart/form-data` body as a browser builds it: text fields, then
/// files (name as given, no escaping beyond what a browser does for `"`).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----portal-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (file_name, bytes) in files {
        let quoted = file_name.replace('"', "%22");
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{quoted}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> reqwest::Response {
    let (content_type, body) = multipart(fields, files);
    client
        .post(app.url(path))
        .header(ORIGIN, &app.address)
        .header(CONTENT_TYPE, content_type)
        .header("accept", "text/html")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A multipart POST that announces `length` bytes and sends none: what the
/// server answers from the head alone (a client library would fail writing
/// a body the server no longer reads).
async fn declared_only(app: &TestApp, path: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n",
        origin = app.address
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    while !String::from_utf8_lossy(&answer).contains("</html>") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(15), stream.read(&mut buf))
            .await
            .expect("an answer before the body")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = app.get_with(client, path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// An open invoice of Northwind with at least two lines: (id, number,
/// balance).
async fn invoice_with_lines(app: &TestApp) -> (i64, String, i64) {
    let customer_id = northwind(app).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT i.invoice_id, i.number, i.balance_minor FROM invoices i
         WHERE i.customer_id = $1 AND i.balance_minor > 0 AND i.voided_at IS NULL
           AND i.currency = 'USD'
           AND (SELECT COUNT(*) FROM invoice_lines l WHERE l.invoice_id = i.invoice_id) >= 2
         ORDER BY i.invoice_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .remove(0)
}

fn dispute_path(customer_id: i64, invoice_id: i64) -> String {
    format!("/accounts/{customer_id}/invoices/{invoice_id}/dispute")
}

/// A whole-invoice dispute with `files`, as the form posts it.
async fn post_dispute(
    app: &TestApp,
    client: &reqwest::Client,
    invoice_id: i64,
    message: &str,
    files: &[(&str, &[u8])],
) -> reqwest::Response {
    let customer_id = northwind(app).await;
    post_multipart(
        app,
        client,
        &dispute_path(customer_id, invoice_id),
        &[
            ("scope", "invoice"),
            ("amount", ""),
            ("reason", "pricing"),
            ("message", message),
        ],
        files,
    )
    .await
}

/// Raises a dispute through the service (for tests about what follows).
async fn raised(app: &TestApp, email: &str, files: Vec<(String, Vec<u8>)>) -> (i64, i64) {
    let (invoice_id, _, _) = invoice_with_lines(app).await;
    let request_id = raise_as(app, email, invoice_id, pricing_dispute(files)).await;
    (northwind(app).await, request_id)
}

async fn raising_two_lines_with_a_pdf_works_end_to_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(PAYER).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, number, balance) = invoice_with_lines(&app).await;
    let lines = lines_of(&app, invoice_id).await;

    // The form offers the lines, the reasons and the balance.
    let (status, form) = page(&app, &client, &dispute_path(customer_id, invoice_id)).await;
    assert_eq!(status, 200, "{form}");
    let usd = |minor: i64| Money::new(minor, Currency::USD).display();
    assert!(
        form.contains(&format!("Dispute invoice {number}")),
        "{form}"
    );
    assert!(form.contains(&format!("line-{}", lines[1].0)), "{form}");
    assert!(form.contains(&usd(balance)), "the balance is shown");
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    assert!(form.contains("up to 5 files, 10 MB each"), "{form}");

    let (first, second) = (lines[0].0.to_string(), lines[1].0.to_string());
    let response = post_multipart(
        &app,
        &client,
        &dispute_path(customer_id, invoice_id),
        &[
            ("scope", "lines"),
            ("line", &first),
            ("line", &second),
            ("amount", ""),
            ("reason", "quantity"),
            ("message", "We ordered 10, not 12, of these two."),
        ],
        &[("delivery note.pdf", &pdf())],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    let request_id: i64 = app.count("SELECT MAX(request_id) FROM requests").await;
    assert_eq!(
        to,
        format!("/accounts/{customer_id}/requests/{request_id}?notice=sent")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM request_lines").await,
        2,
        "both lines recorded"
    );

    let (status, body) = page(&app, &client, &to).await;
    assert_eq!(status, 200, "{body}");
    let held = (lines[0].1 + lines[1].1).min(balance);
    assert!(body.contains("Your dispute was sent to AR"), "{body}");
    assert!(
        body.contains("We ordered 10, not 12, of these two."),
        "{body}"
    );
    assert!(body.contains("delivery note.pdf"), "{body}");
    assert!(body.contains("Amount held"), "{body}");
    assert!(body.contains(&usd(held)), "the held amount: {body}");
    assert!(body.contains("AR aims to reply by"), "{body}");
    assert!(
        body.contains(&format!("of which {} is disputed", usd(held))),
        "{body}"
    );
    let attachment_id = app
        .count("SELECT MAX(attachment_id) FROM request_attachments")
        .await;
    let href = format!("/accounts/{customer_id}/requests/{request_id}/attachments/{attachment_id}");
    assert!(body.contains(&href), "{body}");
    let file = app.get_with(&client, &href).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(file.bytes().await.unwrap().to_vec(), pdf());

    // The list shows it, with the nav link on every account page.
    let (status, list) = page(&app, &client, &format!("/accounts/{customer_id}/requests")).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&number), "{list}");
    assert!(list.contains("Open"), "{list}");
    assert!(list.contains(&format!("/accounts/{customer_id}/requests/{request_id}")));
    assert!(list.contains(">Requests</a>"), "{list}");

    // The same form again: the open dispute is named, with its link.
    let (_, again) = page(&app, &client, &dispute_path(customer_id, invoice_id)).await;
    assert!(again.contains("already has an open dispute"), "{again}");
    assert!(!again.contains("id=\"dispute-form\""), "{again}");
}

async fn files_disguised_as_pdf_are_refused_by_content_on_the_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(PAYER).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, _, _) = invoice_with_lines(&app).await;
    for (name, bytes, says) in [
        ("scan.pdf", png(), "named as a PDF file but its content is"),
        (
            "invoice.pdf",
            HTML.to_vec(),
            "is not a PDF, PNG, JPEG, CSV or XLSX file",
        ),
    ] {
        let response = post_dispute(
            &app,
            &client,
            invoice_id,
            "See the attached file.",
            &[(name, &bytes)],
        )
        .await;
        assert_eq!(response.status(), 303);
        let to = location(&response);
        assert_eq!(
            to,
            format!("{}?problem=invalid", dispute_path(customer_id, invoice_id))
        );
        let (status, form) = page(&app, &client, &to).await;
        assert_eq!(status, 200);
        assert!(form.contains(says), "{name}: {form}");
        assert!(form.contains(name), "the file is named: {form}");
        assert!(form.contains("choose them again"), "{form}");
        assert_nothing_stored(&app).await;
    }
}

async fn an_eleven_megabyte_file_is_refused_on_the_form_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(PAYER).await;
    let (invoice_id, _, _) = invoice_with_lines(&app).await;
    let mut big = pdf();
    big.resize(11 * 1024 * 1024, b' ');
    let response = post_dispute(
        &app,
        &client,
        invoice_id,
        "Our delivery log.",
        &[("log.pdf", &big)],
    )
    .await;
    // Under the upload limit: the domain rule answers, on the form.
    assert_eq!(response.status(), 303);
    let (status, form) = page(&app, &client, &location(&response)).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("“log.pdf” is 11.0 MB; files can be at most 10 MB"),
        "{form}"
    );
    assert!(form.contains("Our delivery log."), "the message is kept");
    assert_nothing_stored(&app).await;
}

async fn unsafe_file_names_are_stored_safely_and_served_with_a_safe_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(PAYER).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, _, _) = invoice_with_lines(&app).await;
    let long = format!("{}.pdf", "x".repeat(300));
    let names = [
        "../../etc/passwd.pdf",
        "C:\\Windows\\system32\\evil.pdf",
        "tab\there\u{202e}fdp.exe.pdf",
        long.as_str(),
    ];
    let bytes = pdf();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, bytes.as_slice())).collect();
    let response = post_dispute(&app, &client, invoice_id, "Four copies.", &files).await;
    assert_eq!(response.status(), 303, "{}", location(&response));
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let stored: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT attachment_id, stored_name, display_name FROM request_attachments
         ORDER BY attachment_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(stored.len(), 4);
    let request_id = app.count("SELECT MAX(request_id) FROM requests").await;
    for (attachment_id, stored_name, display_name) in &stored {
        assert!(
            stored_name.len() == 32 && stored_name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{stored_name}"
        );
        for bad in ['/', '\\', '\t', '\u{202e}'] {
            assert!(!display_name.contains(bad), "{display_name:?}");
        }
        assert!(display_name.chars().count() <= 120, "{display_name}");
        assert!(display_name.ends_with(".pdf"), "{display_name}");
        let file = app
            .get_with(
                &client,
                &format!(
                    "/accounts/{customer_id}/requests/{request_id}/attachments/{attachment_id}"
                ),
            )
            .await;
        assert_eq!(file.status(), 200);
        let disposition = file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert!(
            !disposition.contains('/') && !disposition.contains('\\'),
            "{disposition}"
        );
        assert!(
            disposition.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "{disposition}"
        );
        assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    }
}

async fn another_customers_attachment_answers_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (customer_id, request_id) = raised(&app, PAYER, vec![("proof.pdf".into(), pdf())]).await;
    let attachment_id = app
        .count("SELECT MAX(attachment_id) FROM request_attachments")
        .await;
    let other = app.signed_in_client(OTHER_ACCOUNT_ADMIN).await;
    let contoso = app.customer_id("Contoso Manufacturing").await;
    for path in [
        format!("/accounts/{customer_id}/requests/{request_id}/attachments/{attachment_id}"),
        format!("/accounts/{contoso}/requests/{request_id}/attachments/{attachment_id}"),
        format!("/accounts/{contoso}/requests/{request_id}"),
    ] {
        let response = app.get_with(&other, &path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("proof.pdf"), "{body}");
    }
    // The owner gets it.
    let own = app.signed_in_client(ADMIN).await;
    let response = app
        .get_with(
            &own,
            &format!("/accounts/{customer_id}/requests/{request_id}/attachments/{attachment_id}"),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn a_viewer_cannot_dispute_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(VIEWER).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, _, _) = invoice_with_lines(&app).await;
    let (status, body) = page(&app, &client, &dispute_path(customer_id, invoice_id)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("not dispute them"), "{body}");
    assert!(!body.contains("id=\"dispute-form\""), "no form: {body}");

    let response = post_dispute(
        &app,
        &client,
        invoice_id,
        "Let me in.",
        &[("a.pdf", &pdf())],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(to.ends_with("?problem=forbidden"), "{to}");
    let (status, body) = page(&app, &client, &to).await;
    assert_eq!(status, 403);
    assert!(body.contains("not dispute them"), "{body}");
    assert_nothing_stored(&app).await;
}

async fn a_customer_message_resumes_a_request_waiting_on_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (customer_id, request_id) = raised(&app, PAYER, Vec::new()).await;
    // Signed in first: AR's reply mails the payer too.
    let client = app.signed_in_client(PAYER).await;
    let staff_id = app
        .count("SELECT staff_id FROM staff_users WHERE email = 'ar@seller.example'")
        .await;
    app.services
        .staff_reply(staff_id, request_id, "Which contract do you mean?", false)
        .await
        .unwrap();
    app.services
        .staff_reply(
            staff_id,
            request_id,
            "Internal: check the 2025 terms.",
            true,
        )
        .await
        .unwrap();
    app.services
        .set_waiting_on_customer(staff_id, request_id)
        .await
        .unwrap();
    let path = format!("/accounts/{customer_id}/requests/{request_id}");
    let (status, body) = page(&app, &client, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Waiting on you"), "{body}");
    assert!(body.contains("Which contract do you mean?"), "{body}");
    assert!(body.contains("(from AR)"), "{body}");
    assert!(
        !body.contains("Internal: check"),
        "internal notes never show"
    );

    let response = post_multipart(
        &app,
        &client,
        &format!("{path}/messages"),
        &[("message", "The framework contract of 2024.")],
        &[("contract.pdf", &pdf())],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("{path}?notice=message#thread"));
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM requests WHERE request_id = $1")
        .bind(request_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(status, "open");
    let (_, body) = page(&app, &client, &path).await;
    assert!(!body.contains("Waiting on you"), "{body}");
    assert!(body.contains("AR aims to"), "{body}");
    assert!(body.contains("The framework contract of 2024."), "{body}");
    assert!(body.contains("contract.pdf"), "{body}");
}

async fn withdrawing_twice_is_harmless(backend: Backend) {
    let app = spawn_app(backend).await;
    let (customer_id, request_id) = raised(&app, PAYER, Vec::new()).await;
    let client = app.signed_in_client(PAYER).await;
    let path = format!("/accounts/{customer_id}/requests/{request_id}");
    let first = app
        .post_form_with(&client, &format!("{path}/withdraw"), &[])
        .await;
    assert_eq!(first.status(), 303);
    assert_eq!(location(&first), format!("{path}?notice=withdrawn"));
    let second = app
        .post_form_with(&client, &format!("{path}/withdraw"), &[])
        .await;
    assert_eq!(second.status(), 303);
    let (status, body) = page(&app, &client, &location(&second)).await;
    assert_eq!(status, 200);
    assert!(body.contains("was withdrawn"), "{body}");
    assert!(!body.contains("Withdraw the dispute</button>"), "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'dispute.withdrawn'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM requests WHERE status = 'withdrawn'")
            .await,
        1
    );
}

async fn the_typed_form_survives_a_refused_submit(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(ADMIN).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, _, balance) = invoice_with_lines(&app).await;
    let lines = lines_of(&app, invoice_id).await;
    // Long enough that no URL could carry it.
    let message = format!(
        "Line one & <two>.</textarea><b>bold</b>\n{}",
        "Our records differ. ".repeat(450)
    );
    let too_much = Money::new(balance + 100, Currency::USD).decimal_string();
    let chosen = lines[1].0.to_string();
    let response = post_multipart(
        &app,
        &client,
        &dispute_path(customer_id, invoice_id),
        &[
            ("scope", "amount"),
            ("line", &chosen),
            ("amount", &too_much),
            ("reason", "tax"),
            ("message", &message),
        ],
        &[("a.pdf", &pdf())],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(to.len() < 200, "the draft is not in the URL: {to}");
    let (status, form) = page(&app, &client, &to).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("cannot be more than the open balance"),
        "{form}"
    );
    assert!(
        form.contains("id=\"amount-problem\""),
        "next to the amount: {form}"
    );
    let at = form.find("Line one").unwrap_or(0);
    assert!(
        form.contains("Line one &amp; &lt;two&gt;.&lt;/textarea&gt;&lt;b&gt;bold"),
        "the message, escaped: {}",
        &form[at.saturating_sub(200)..(at + 200).min(form.len())]
    );
    assert!(form.contains(&"Our records differ. ".repeat(450)));
    assert!(form.contains(&format!("value=\"{too_much}\"")), "{form}");
    assert!(form.contains("value=\"tax\" selected"), "{form}");
    assert!(
        form.contains(&format!("value=\"{chosen}\" checked")),
        "the line stays checked"
    );
    assert!(
        form.contains("id=\"scope-amount\" name=\"scope\" value=\"amount\" checked"),
        "{form}"
    );
    assert!(form.contains("choose them again"), "{form}");
    assert_nothing_stored(&app).await;

    // A fresh visit starts empty.
    let (_, fresh) = page(&app, &client, &dispute_path(customer_id, invoice_id)).await;
    assert!(!fresh.contains("Our records differ."), "{fresh}");

    // Corrected, it goes through, and the kept draft is gone.
    let response = post_multipart(
        &app,
        &client,
        &dispute_path(customer_id, invoice_id),
        &[
            ("scope", "invoice"),
            ("reason", "tax"),
            ("message", &message),
        ],
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert!(
        location(&response).contains("/requests/"),
        "{}",
        location(&response)
    );
    let (_, after) = page(&app, &client, &to).await;
    assert!(
        !after.contains("Our records differ."),
        "the draft was cleared"
    );
}

async fn only_the_upload_forms_take_large_bodies(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(PAYER).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, _, _) = invoice_with_lines(&app).await;
    // 2 MB to another form: the 1 MB limit holds.
    let big = "x".repeat(2 * 1024 * 1024);
    let response = app
        .post_form_with(
            &client,
            &format!("/accounts/{customer_id}/payments"),
            &[("note", big.as_str())],
        )
        .await;
    assert_eq!(response.status(), 413);
    // Also on the request routes that carry no files.
    let (_, request_id) = raised(&app, ADMIN, Vec::new()).await;
    let response = app
        .post_form_with(
            &client,
            &format!("/accounts/{customer_id}/requests/{request_id}/reopen"),
            &[("message", big.as_str())],
        )
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(app.count("SELECT COUNT(*) FROM request_messages").await, 1);
    // Five files of 9 MB (45 MB) on a message: accepted whole.
    let mut nine = pdf();
    nine.resize(9 * 1024 * 1024, b' ');
    let files: Vec<(String, &[u8])> = (1..=5)
        .map(|i| (format!("part{i}.pdf"), nine.as_slice()))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let response = post_multipart(
        &app,
        &client,
        &format!("/accounts/{customer_id}/requests/{request_id}/messages"),
        &[("message", "All five parts.")],
        &files,
    )
    .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("?notice=message#thread"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM request_attachments").await,
        5
    );
    // Over the upload limit: the 413 page at once, and nothing changed.
    let answer = declared_only(
        &app,
        &dispute_path(customer_id, invoice_id),
        53 * 1024 * 1024,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("5 files of at most 10 MB each"), "{answer}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM request_attachments").await,
        5
    );
}
