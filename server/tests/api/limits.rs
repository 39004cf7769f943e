//! Issue 9, item 5: limits on what one request may cost. A body over the
//! limit gets 413 and changes nothing; a request that takes too long gets
//! 503; big downloads stream in chunks; heavy downloads beyond the limit get
//! 503 with Retry-After; statements cover at most two years.

use std::collections::BTreeSet;
use std::io::Read;
use std::time::Duration;

use portal_core::domain::invoice_query::InvoiceQuery;
use portal_core::seed_scale::{seed_scale, ScaleSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, spawn_app_with, AppOptions, Backend, TestApp};

crate::on_both_databases!(
    an_oversized_body_gets_413_and_changes_nothing,
    a_request_that_takes_too_long_gets_503,
    a_csv_of_thousands_of_invoices_streams_in_chunks_with_every_row,
    a_zip_of_a_hundred_invoices_streams_every_pdf,
    heavy_downloads_beyond_the_limit_get_503_with_retry_after,
    an_over_long_statement_period_gets_400_with_a_message,
    a_statements_opening_balance_is_the_previous_periods_closing,
);

const LIMIT: usize = server::http::limits::REQUEST_BODY_LIMIT;

/// How a raw request's body is sent.
enum BodyPlan {
    /// `Content-Length: declared`, then `actual` bytes of it (then the
    /// connection stays open).
    Declared { declared: usize, actual: usize },
    /// Chunked, `total` bytes; `finish` sends the last chunk.
    Chunked { total: usize, finish: bool },
}

struct RawResponse {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 request over a plain socket, so the test decides exactly
/// what the server receives and when (no client library buffers, retries
/// or adds a length). The body is `prefix` then `a`s. Writing runs beside
/// reading, so an answer that comes before the body is finished is seen;
/// no answer within 30 s fails the test.
async fn raw_post(
    app: &TestApp,
    path: &str,
    extra: &[(&str, &str)],
    prefix: &str,
    send: BodyPlan,
) -> RawResponse {
    let host = app.address.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&host).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        origin = app.address
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match &send {
        BodyPlan::Declared { declared, .. } => {
            head.push_str(&format!("Content-Length: {declared}\r\n"))
        }
        BodyPlan::Chunked { .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    let prefix = prefix.as_bytes().to_vec();
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let piece = 64 * 1024;
        let body = |from: usize, len: usize| -> Vec<u8> {
            (from..from + len)
                .map(|i| prefix.get(i).copied().unwrap_or(b'a'))
                .collect()
        };
        match send {
            BodyPlan::Declared { actual, .. } => {
                let mut sent = 0;
                while sent < actual {
                    let n = piece.min(actual - sent);
                    write.write_all(&body(sent, n)).await?;
                    sent += n;
                }
            }
            BodyPlan::Chunked { total, finish } => {
                let mut sent = 0;
                while sent < total {
                    let n = piece.min(total - sent);
                    write.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                    write.write_all(&body(sent, n)).await?;
                    write.write_all(b"\r\n").await?;
                    sent += n;
                }
                if finish {
                    write.write_all(b"0\r\n\r\n").await?;
                }
            }
        }
        // Keep the connection open: the server decides when it ends.
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    });
    let mut received = Vec::new();
    let read_all = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
            if complete(&received) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .unwrap_or_else(|_| panic!("POST {path}: no answer within 30 s"));
    writer.abort();
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("POST {path}: no response head in {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("POST {path}: no status in {head:?}"));
    RawResponse {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// A whole response with a Content-Length has arrived.
fn complete(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| body.len() >= n)
}

async fn an_oversized_body_gets_413_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let state = "SELECT (SELECT COUNT(*) FROM email_outbox) + (SELECT COUNT(*) FROM one_time_tokens) + (SELECT COUNT(*) FROM sessions)";
    let before = app.count(state).await;

    // 300 MB to a server function, announced by Content-Length: refused
    // before the body is read.
    let response = raw_post(
        &app,
        "/api/site_info",
        &[],
        "",
        BodyPlan::Declared {
            declared: 300 * 1024 * 1024,
            actual: 300 * 1024 * 1024,
        },
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(
        response.body.contains("at most 1024 KB"),
        "the page says what the limit is: {}",
        response.body
    );

    // The same without a length (chunked): cut off at the limit, 413.
    let response = raw_post(
        &app,
        "/api/site_info",
        &[],
        "",
        BodyPlan::Chunked {
            total: 300 * 1024 * 1024,
            finish: true,
        },
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.body);

    // A sign-in form just over the limit (whole, chunked): 413, and no link,
    // email or session came of it.
    let response = raw_post(
        &app,
        "/auth/sign-in",
        &[],
        "email=ap%40northwind.example&filler=",
        BodyPlan::Chunked {
            total: LIMIT + 1,
            finish: true,
        },
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(app.count(state).await, before, "nothing changed");

    // Under the limit the same form works.
    let response = raw_post(
        &app,
        "/auth/sign-in",
        &[],
        "email=ap%40northwind.example&filler=",
        BodyPlan::Declared {
            declared: 1000,
            actual: 1000,
        },
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(app.count(state).await > before);
}

async fn a_request_that_takes_too_long_gets_503(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options
        .env
        .push(("PORTAL_REQUEST_TIMEOUT_SECONDS", "1".into()));
    let app = spawn_app_with(options).await;
    // A client that announces a form and sends only part of it keeps the
    // handler waiting for ever: the timeout answers for it.
    let response = raw_post(
        &app,
        "/auth/sign-in",
        &[],
        "email=ap%40",
        BodyPlan::Declared {
            declared: 100,
            actual: 11,
        },
    )
    .await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert!(response.body.contains("took too long"), "{}", response.body);
    assert!(response.head.contains("retry-after:"), "{}", response.head);
    assert_eq!(app.count("SELECT COUNT(*) FROM one_time_tokens").await, 0);
    // Requests that answer in time are untouched.
    assert_eq!(app.get("/health").await.status(), 200);
}

/// A customer with `invoices` invoices (seed-scale data), signed in.
async fn scale_customer(app: &TestApp, invoices: usize) -> (reqwest::Client, i64, i64) {
    let summary = seed_scale(
        &app.services,
        ScaleSpec {
            customers: 1,
            invoices,
        },
        |_, _| {},
    )
    .await
    .expect("seed-scale");
    let client = app.signed_in_client(&summary.sample_contact).await;
    let contact_id = app
        .count(&format!(
            "SELECT contact_id FROM contacts WHERE email = '{}'",
            summary.sample_contact
        ))
        .await;
    (client, summary.sample_customer_id, contact_id)
}

async fn numbers_of(app: &TestApp, customer_id: i64) -> BTreeSet<String> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, String>("SELECT number FROM invoices WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn a_csv_of_thousands_of_invoices_streams_in_chunks_with_every_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, customer_id, contact_id) = scale_customer(&app, 3000).await;

    let response = app
        .get_with(&client, &format!("/accounts/{customer_id}/invoices.csv"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "Invoice", "PO", "Issued", "Due", "Status", "Currency", "Total", "Paid", "Credited",
            "Balance"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3000, "one row per invoice");
    let numbers: BTreeSet<String> = records.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(numbers, numbers_of(&app, customer_id).await);
    // Each row's balance is the invoice's.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    for r in records.iter().step_by(97) {
        let (balance, currency): (i64, String) = sqlx::query_as(
            "SELECT balance_minor, currency FROM invoices WHERE customer_id = $1 AND number = $2",
        )
        .bind(customer_id)
        .bind(&r[0])
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let currency = portal_core::domain::Currency::parse(&currency).unwrap();
        assert_eq!(
            &r[9],
            portal_core::domain::Money::new(balance, currency).decimal_string(),
            "balance of {}",
            &r[0]
        );
    }
    drop(conn);

    // The rows come out as they are read, in chunks, never as one string.
    let mut download = app
        .services
        .invoices_csv(
            &app.services
                .contact_access(contact_id)
                .await
                .unwrap()
                .unwrap(),
            customer_id,
            InvoiceQuery::default(),
        )
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = download.chunks.recv().await {
        chunks.push(chunk.unwrap());
    }
    let chunk_limit = portal_core::services::invoices::CHUNK_BYTES + 16 * 1024;
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    assert!(
        chunks.iter().all(|c| c.len() <= chunk_limit),
        "chunk sizes {:?}",
        chunks.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(chunks.concat(), body.as_bytes(), "the same file");
}

async fn a_zip_of_a_hundred_invoices_streams_every_pdf(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, customer_id, _) = scale_customer(&app, 150).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let picked: Vec<(i64, String)> = sqlx::query_as(
        "SELECT invoice_id, number FROM invoices WHERE customer_id = $1 ORDER BY invoice_id LIMIT 100",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let query: Vec<String> = picked
        .iter()
        .map(|(id, _)| format!("invoice={id}"))
        .collect();
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices.zip?{}", query.join("&")),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(zip.len(), 100);
    let names: BTreeSet<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    let want: BTreeSet<String> = picked.iter().map(|(_, n)| format!("{n}.pdf")).collect();
    assert_eq!(names, want);
    for (_, number) in picked.iter().step_by(33) {
        let mut pdf = Vec::new();
        zip.by_name(&format!("{number}.pdf"))
            .unwrap()
            .read_to_end(&mut pdf)
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"), "{number} is a PDF");
        let text = crate::invoices::pdf_text(&pdf);
        assert!(text.contains(number.as_str()), "{number}: {text}");
    }
    // 101 is over the limit: a message, no zip.
    let mut more = query.clone();
    more.push(format!("invoice={}", picked[0].0 + 1000));
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices.zip?{}", more.join("&")),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("at most 100 invoices"));
}

async fn heavy_downloads_beyond_the_limit_get_503_with_retry_after(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.env.push(("PORTAL_HEAVY_DOWNLOADS", "1".into()));
    let app = spawn_app_with(options).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoice_id = app
        .count(&format!(
            "SELECT MIN(invoice_id) FROM invoices WHERE customer_id = {customer_id}"
        ))
        .await;
    let heavy = [
        format!("/accounts/{customer_id}/invoices.csv"),
        format!("/accounts/{customer_id}/invoices.zip?invoice={invoice_id}"),
        format!("/accounts/{customer_id}/statement.pdf"),
        format!("/accounts/{customer_id}/statement.csv"),
    ];
    // The one permit is taken, as by a download in progress.
    let in_progress = app
        .services
        .heavy_downloads
        .clone()
        .try_acquire_owned()
        .expect("the limit is 1 and nothing else downloads");
    for path in &heavy {
        let response = app.get_with(&client, path).await;
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(response.headers()["retry-after"], "10", "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains("try again in 10 seconds"), "{path}: {page}");
    }
    // One invoice's PDF and the pages are not heavy.
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices/{invoice_id}/pdf"),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.get_with(&client, &format!("/accounts/{customer_id}/invoices"))
            .await
            .status(),
        200
    );
    // When the download in progress ends, the next one runs, and gives its
    // permit back when it has been sent.
    drop(in_progress);
    for path in &heavy {
        let response = app.get_with(&client, path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap();
    }
    assert_eq!(app.services.heavy_downloads.available_permits(), 1);
}

async fn an_over_long_statement_period_gets_400_with_a_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    // Two years back from the end date, plus one day, is the longest.
    let to = app.services.today();
    let too_long = to.checked_sub_months(chrono::Months::new(24)).unwrap();
    let longest = too_long.succ_opt().unwrap();
    let message = format!(
        "A statement covers at most 2 years: for a statement to {to}, choose a start date on or after {longest}"
    );
    let message = message.as_str();
    for kind in ["statement.pdf", "statement.csv"] {
        let response = app
            .get_with(
                &client,
                &format!("/accounts/{customer_id}/{kind}?from={too_long}&to={to}"),
            )
            .await;
        assert_eq!(response.status(), 400, "{kind}");
        assert!(response.text().await.unwrap().contains(message), "{kind}");
        let response = app
            .get_with(
                &client,
                &format!("/accounts/{customer_id}/{kind}?from={longest}&to={to}"),
            )
            .await;
        assert_eq!(response.status(), 200, "{kind}: two years exactly");
    }
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/statement?from={too_long}&to={to}"),
        )
        .await;
    assert_eq!(response.status(), 400, "the page");
    assert!(response.text().await.unwrap().contains(message));
    let response = app
        .statement_fn(&client, customer_id, &too_long.to_string(), &to.to_string())
        .await;
    assert_eq!(response.status(), 400, "the server function");
    let soa: app::models::StatementView = response.json().await.unwrap();
    assert_eq!(soa.error.as_deref(), Some(message));
    // The service refuses it too, whoever calls it.
    let contact_id = app
        .count("SELECT contact_id FROM contacts WHERE email = 'ap@northwind.example'")
        .await;
    assert!(matches!(
        app.services
            .statement(
                &app.services.contact_access(contact_id).await.unwrap().unwrap(),
                customer_id,
                too_long,
                to
            )
            .await,
        Err(portal_core::ServiceError::Invalid { message: m, .. }) if m == message
    ));
}

/// The opening balance is summed by the database, the period's entries
/// listed: a period's closing balance must be the next one's opening.
async fn a_statements_opening_balance_is_the_previous_periods_closing(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let contact_id = app
        .count("SELECT contact_id FROM contacts WHERE email = 'ap@northwind.example'")
        .await;
    let access = app
        .services
        .contact_access(contact_id)
        .await
        .unwrap()
        .unwrap();
    let today = app.services.today();
    let days = |n| chrono::Duration::days(n);
    let periods = [
        (today - days(700), today - days(361)),
        (today - days(360), today - days(181)),
        (today - days(180), today),
    ];
    let mut previous: Option<Vec<(String, i64)>> = None;
    let mut lines = 0;
    for (from, to) in periods {
        let soa = app
            .services
            .statement(&access, customer_id, from, to)
            .await
            .unwrap();
        let s = &soa.statement;
        lines += s.lines.len();
        assert!(s
            .lines
            .iter()
            .all(|l| l.entry.date >= from && l.entry.date <= to));
        let opening: Vec<(String, i64)> = s
            .currencies
            .iter()
            .map(|c| (c.currency.code().to_owned(), c.opening_minor))
            .filter(|(_, m)| *m != 0)
            .collect();
        let closing: Vec<(String, i64)> = s
            .currencies
            .iter()
            .map(|c| (c.currency.code().to_owned(), c.closing_minor))
            .filter(|(_, m)| *m != 0)
            .collect();
        if let Some(previous) = previous {
            assert_eq!(opening, previous, "opening on {from}");
        }
        previous = Some(closing);
    }
    assert!(lines > 10, "the demo account has activity in these periods");
}
