//! The invoice pages' data, checked against an independent computation
//! over the seeded rows: sums taken from the allocations themselves (not
//! the settlement cache), filters and sorts re-implemented here in plain
//! Rust, pages walked through the links the page itself offers.

use std::collections::BTreeMap;
use std::io::Read;

use app::models::InvoiceListView;
use chrono::NaiveDate;
use portal_core::domain::{invoice_standing, InvoiceFacts, InvoiceStatus, Money};
use sqlx::Row;

use crate::helpers::{location, new_client, spawn_app, Backend, TestApp};

crate::on_both_databases!(
    filters_search_sort_and_pages_match_an_independent_computation,
    csv_and_zip_hold_exactly_the_listed_invoices,
    invoice_pdf_is_the_erp_original_or_a_generated_one_with_number_total_and_balance,
    statement_running_balance_and_aging_agree_with_the_ledger,
    payment_history_and_receipts_belong_to_the_account,
    settlement_cache_equals_the_allocations,
    invoice_link_opens_its_invoice_only_until_expired_or_revoked,
    bad_filters_get_a_clear_message_and_no_rows,
    aging_buckets_and_running_balance_at_the_boundary_days,
);

/// One invoice as this test computes it.
#[derive(Clone, Debug)]
struct Expected {
    id: i64,
    number: String,
    po: String,
    issue: String,
    due: String,
    currency: String,
    total: i64,
    balance: i64,
    status: InvoiceStatus,
    status_sort: String,
}

async fn expected_invoices(app: &TestApp, customer_id: i64) -> Vec<Expected> {
    let today = app.services.today();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let rows = sqlx::query(
        "SELECT i.invoice_id, i.number, i.po_number, i.issue_date, i.due_date, i.currency, i.total_minor, i.voided_at,
                CAST(COALESCE((SELECT SUM(pa.amount_minor) FROM payment_allocations pa JOIN payments p ON p.payment_id = pa.payment_id
                               WHERE pa.invoice_id = i.invoice_id AND p.status = 'succeeded'), 0) AS BIGINT) AS paid,
                CAST(COALESCE((SELECT SUM(ca.amount_minor) FROM credit_allocations ca WHERE ca.invoice_id = i.invoice_id), 0) AS BIGINT) AS credited
         FROM invoices i WHERE i.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let due: String = r.get("due_date");
            let facts = InvoiceFacts {
                total_minor: r.get("total_minor"),
                paid_minor: r.get("paid"),
                credited_minor: r.get("credited"),
                due_date: NaiveDate::parse_from_str(&due, "%Y-%m-%d").unwrap(),
                voided: r.get::<Option<String>, _>("voided_at").is_some(),
            };
            let standing = invoice_standing(&facts, today);
            let rank = standing.status.urgency();
            Expected {
                id: r.get("invoice_id"),
                number: r.get("number"),
                po: r.get::<Option<String>, _>("po_number").unwrap_or_default(),
                issue: r.get("issue_date"),
                currency: r.get("currency"),
                total: facts.total_minor,
                balance: standing.balance_minor,
                status: standing.status,
                status_sort: format!("{rank}{due}"),
                due,
            }
        })
        .collect()
}

/// Follows the list's own "Next" links from the first page to the last.
async fn walk_pages(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    query: &str,
) -> (Vec<String>, Vec<InvoiceListView>) {
    let mut numbers = Vec::new();
    let mut pages = Vec::new();
    let mut query = query.to_owned();
    loop {
        let page = list(app, client, customer_id, &query).await;
        numbers.extend(page.rows.iter().map(|r| r.number.clone()));
        let next = page.next_href.clone();
        pages.push(page);
        match next {
            Some(href) => query = href.split_once('?').unwrap().1.to_owned(),
            None => break,
        }
        assert!(pages.len() < 50, "pagination does not end");
    }
    (numbers, pages)
}

async fn list(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    query: &str,
) -> InvoiceListView {
    let (status, view) = list_with_status(app, client, customer_id, query).await;
    assert_eq!(status, 200, "invoice_list?{query}");
    view
}

async fn list_with_status(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    query: &str,
) -> (u16, InvoiceListView) {
    let response = app
        .server_fn(
            client,
            "invoice_list",
            &[("customer_id", &customer_id.to_string()), ("query", query)],
        )
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn filters_search_sort_and_pages_match_an_independent_computation(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let today = app.services.today();
    // Invoices on the status boundaries: due yesterday (overdue 1 day),
    // today (due today, not overdue), in 7 days (due soon) and in 8 (open);
    // one partly paid and due today; one void.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    for (k, days, paid, void) in [
        (1, -1, 0, false),
        (2, 0, 0, false),
        (3, 7, 0, false),
        (4, 8, 0, false),
        (5, 0, 500, false),
        (6, -40, 0, true),
    ] {
        let due = today + chrono::Duration::days(days);
        let total: i64 = 10_000 + k;
        let balance = if void { 0 } else { total - paid };
        sqlx::query(
            "INSERT INTO invoices (customer_id, number, issue_date, due_date, currency, subtotal_minor, tax_minor, total_minor, paid_minor, balance_minor, voided_at, created_at)
             VALUES ($1, $2, $3, $4, 'USD', $5, 0, $5, $6, $7, $8, '2026-01-01T00:00:00.000000Z')",
        )
        .bind(customer_id)
        .bind(format!("EDGE-{k}"))
        .bind((due - chrono::Duration::days(30)).to_string())
        .bind(due.to_string())
        .bind(total)
        .bind(paid)
        .bind(balance)
        .bind(void.then_some("2026-01-02T00:00:00.000000Z"))
        .execute(&mut *conn)
        .await
        .unwrap();
        if paid > 0 {
            let payment_id: i64 = sqlx::query_scalar(
                "INSERT INTO payments (customer_id, currency, amount_minor, method, status, received_at, created_at, updated_at)
                 VALUES ($1, 'USD', $2, 'check', 'succeeded', $3, $3, $3) RETURNING payment_id",
            )
            .bind(customer_id)
            .bind(paid)
            .bind(format!("{today}T10:00:00.000000Z"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            sqlx::query("INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) SELECT $1, invoice_id, $2 FROM invoices WHERE number = $3")
                .bind(payment_id)
                .bind(paid)
                .bind(format!("EDGE-{k}"))
                .execute(&mut *conn)
                .await
                .unwrap();
        }
    }
    drop(conn);
    let all = expected_invoices(&app, customer_id).await;
    // 107: with the demo invoice whose early-payment discount runs (issue 13).
    assert_eq!(all.len(), 107);
    let status_of = |n: &str| all.iter().find(|e| e.number == n).unwrap().status;
    assert_eq!(
        ["EDGE-1", "EDGE-2", "EDGE-3", "EDGE-4", "EDGE-5", "EDGE-6"].map(status_of),
        [
            InvoiceStatus::Overdue { days: 1 },
            InvoiceStatus::DueSoon { days_left: 0 },
            InvoiceStatus::DueSoon { days_left: 7 },
            InvoiceStatus::Open,
            InvoiceStatus::PartiallyPaid,
            InvoiceStatus::Void,
        ]
    );
    let soon = today + chrono::Duration::days(7);
    let usd = |major: i64| major * 100;

    type Filter = Box<dyn Fn(&Expected) -> bool>;
    let some_po = all.iter().find(|e| !e.po.is_empty()).unwrap().po.clone();
    let po_fragment = some_po[3..6].to_lowercase();
    let cases: Vec<(String, Filter)> = vec![
        ("".into(), Box::new(|_| true)),
        (
            "status=overdue".into(),
            Box::new(|e| matches!(e.status, InvoiceStatus::Overdue { .. })),
        ),
        ("status=unpaid".into(), Box::new(|e| e.status.is_open())),
        (
            "status=paid".into(),
            Box::new(|e| e.status == InvoiceStatus::Paid),
        ),
        (
            "status=partially_paid".into(),
            Box::new(|e| e.status == InvoiceStatus::PartiallyPaid),
        ),
        (
            "status=credited".into(),
            Box::new(|e| e.status == InvoiceStatus::Credited),
        ),
        (
            "status=due_soon".into(),
            Box::new(|e| matches!(e.status, InvoiceStatus::DueSoon { .. })),
        ),
        (
            "status=open".into(),
            Box::new(|e| e.status == InvoiceStatus::Open),
        ),
        (
            "status=void".into(),
            Box::new(|e| e.status == InvoiceStatus::Void),
        ),
        ("currency=EUR".into(), Box::new(|e| e.currency == "EUR")),
        (
            format!("due_from={}&due_to={soon}", today),
            Box::new(move |e| e.due >= today.to_string() && e.due <= soon.to_string()),
        ),
        (
            "issued_from=2026-03-01&issued_to=2026-06-30".into(),
            Box::new(|e| e.issue.as_str() >= "2026-03-01" && e.issue.as_str() <= "2026-06-30"),
        ),
        // Amounts are in each invoice's own currency: 2,000.00 USD or EUR.
        (
            "min=2,000&max=5000.50".into(),
            Box::new(move |e| e.total >= usd(2_000) && e.total <= 500_050),
        ),
        (
            format!("q={po_fragment}"),
            Box::new(move |e| {
                e.po.to_lowercase().contains(&po_fragment)
                    || e.number.to_lowercase().contains(&po_fragment)
            }),
        ),
        (
            "q=inv-2025".into(),
            Box::new(|e| e.number.to_lowercase().contains("inv-2025")),
        ),
        (
            "q=100%25".into(),
            Box::new(|e| e.number.contains("100%") || e.po.contains("100%")),
        ),
    ];
    let sorts = [
        "number", "po", "issued", "due", "status", "total", "balance",
    ];
    for (filter_query, filter) in &cases {
        let matching: Vec<&Expected> = all.iter().filter(|e| filter(e)).collect();
        for (i, sort) in sorts.iter().enumerate() {
            // Every sort once in each direction over the cases, not all 200 combinations.
            let dir = if i % 2 == 0 { "asc" } else { "desc" };
            let mut expected = matching.clone();
            expected.sort_by(|a, b| {
                let key = |e: &Expected| -> (String, i64, i64) {
                    match *sort {
                        "number" => (e.number.clone(), 0, e.id),
                        "po" => (e.po.clone(), 0, e.id),
                        "issued" => (e.issue.clone(), 0, e.id),
                        "due" => (e.due.clone(), 0, e.id),
                        "status" => (e.status_sort.clone(), 0, e.id),
                        "total" => (String::new(), e.total, e.id),
                        _ => (String::new(), e.balance, e.id),
                    }
                };
                key(a).cmp(&key(b))
            });
            if dir == "desc" {
                expected.reverse();
            }
            let expected: Vec<String> = expected.iter().map(|e| e.number.clone()).collect();
            let query = format!("{filter_query}&sort={sort}&dir={dir}");
            let (numbers, pages) = walk_pages(&app, &client, customer_id, &query).await;
            assert_eq!(numbers, expected, "rows of ?{query}");
            assert_eq!(
                pages[0].matching as usize,
                expected.len(),
                "count of ?{query}"
            );
            assert!(pages.iter().all(|p| p.rows.len() <= 50), "page size");
            // Back from the last page with "Previous" gives the same rows.
            if pages.len() > 1 {
                let mut back = Vec::new();
                let mut href = pages.last().unwrap().previous_href.clone();
                let mut last_page = pages
                    .last()
                    .unwrap()
                    .rows
                    .iter()
                    .map(|r| r.number.clone())
                    .collect::<Vec<_>>();
                while let Some(h) = href {
                    let page = list(&app, &client, customer_id, h.split_once('?').unwrap().1).await;
                    let mut rows: Vec<String> =
                        page.rows.iter().map(|r| r.number.clone()).collect();
                    rows.append(&mut back);
                    back = rows;
                    href = page.previous_href.clone();
                }
                back.append(&mut last_page);
                assert_eq!(back, expected, "rows of ?{query} walked backwards");
            }
        }
        // Totals: open and overdue balance per currency of the matching rows.
        let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for e in matching.iter().filter(|e| e.status.is_open()) {
            let t = totals.entry(e.currency.clone()).or_default();
            t.0 += e.balance;
            if matches!(e.status, InvoiceStatus::Overdue { .. }) {
                t.1 += e.balance;
            }
        }
        let page = list(&app, &client, customer_id, filter_query).await;
        let shown: Vec<(String, String, String)> = page
            .totals
            .iter()
            .map(|t| (t.currency.clone(), t.open.clone(), t.overdue.clone()))
            .collect();
        let want: Vec<(String, String, String)> = totals
            .iter()
            .map(|(c, (open, overdue))| {
                let currency = portal_core::domain::Currency::parse(c).unwrap();
                (
                    c.clone(),
                    Money::new(*open, currency).display(),
                    Money::new(*overdue, currency).display(),
                )
            })
            .collect();
        assert_eq!(shown, want, "totals of ?{filter_query}");
    }

    // Another customer's list is 404, as is a malformed id.
    let other = app.customer_id("Contoso Manufacturing").await;
    for id in [other.to_string(), "abc".into()] {
        let response = app
            .server_fn(
                &client,
                "invoice_list",
                &[("customer_id", &id), ("query", "")],
            )
            .await;
        assert_eq!(response.status(), 404, "customer {id}");
    }
    // The page itself renders the same first rows with JavaScript off.
    let html = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices?status=overdue&sort=due&dir=asc"),
        )
        .await
        .text()
        .await
        .unwrap();
    let first = all
        .iter()
        .filter(|e| matches!(e.status, InvoiceStatus::Overdue { .. }))
        .min_by_key(|e| (e.due.clone(), e.id))
        .unwrap();
    assert!(
        html.contains(&first.number),
        "server-rendered list shows {}",
        first.number
    );
}

async fn csv_and_zip_hold_exactly_the_listed_invoices(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let query = "status=unpaid&sort=balance&dir=desc";
    let (numbers, pages) = walk_pages(&app, &client, customer_id, query).await;
    assert!(numbers.len() > 5);

    let response = app.get_with(&client, &pages[0].csv_href).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"Northwind-Traders-invoices-"));
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let csv_numbers: Vec<String> = records.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(
        csv_numbers, numbers,
        "CSV rows are the filtered list, in order"
    );
    let rows = &pages[0].rows;
    for r in rows {
        let record = records.iter().find(|rec| rec[0] == r.number).unwrap();
        assert_eq!(&record[4], r.status_label.as_str());
        // "$1,234.50" on the page is "1234.50" in the CSV.
        let plain: String = r
            .balance
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        assert_eq!(&record[9], plain.as_str(), "balance of {}", r.number);
    }

    // Zip of three ticked invoices: three PDFs named by number, nothing else.
    let picked: Vec<_> = rows.iter().take(3).collect();
    let query: Vec<String> = picked
        .iter()
        .map(|r| format!("invoice={}", r.invoice_id))
        .collect();
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices.zip?{}", query.join("&")),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = picked.iter().map(|r| format!("{}.pdf", r.number)).collect();
    want.sort();
    assert_eq!(names, want);
    for (i, r) in picked.iter().enumerate() {
        let mut pdf = Vec::new();
        zip.by_name(&format!("{}.pdf", r.number))
            .unwrap()
            .read_to_end(&mut pdf)
            .unwrap();
        let text = pdf_text(&pdf);
        assert!(
            text.contains(&r.number) && text.contains(&r.balance),
            "PDF {i} in the zip is {}",
            r.number
        );
    }
    // One id of another customer spoils the whole zip: 404, no partial file.
    let other_invoice = app.count("SELECT MIN(invoice_id) FROM invoices WHERE customer_id <> (SELECT customer_id FROM customers WHERE name = 'Northwind Traders')").await;
    let response = app
        .get_with(
            &client,
            &format!(
                "/accounts/{customer_id}/invoices.zip?invoice={}&invoice={other_invoice}",
                picked[0].invoice_id
            ),
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = app
        .get_with(&client, &format!("/accounts/{customer_id}/invoices.zip"))
        .await;
    assert_eq!(response.status(), 400, "nothing selected");
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Select at least one invoice"));
}

/// Text of a PDF, by poppler's pdftotext (what a user's viewer would show).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) is installed");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn invoice_pdf_is_the_erp_original_or_a_generated_one_with_number_total_and_balance(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let page = list(&app, &client, customer_id, "status=partially_paid").await;
    let row = page.rows.first().cloned().expect("a partly paid invoice");
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices/{}/pdf", row.invoice_id),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(
        response.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{}.pdf\"", row.number)
    );
    let text = pdf_text(&response.bytes().await.unwrap());
    assert!(text.contains(&format!("Invoice {}", row.number)), "{text}");
    assert!(text.contains(&row.total), "total {} in {text}", row.total);
    assert!(
        text.contains("Balance due") && text.contains(&row.balance),
        "balance {} in {text}",
        row.balance
    );
    assert!(
        text.contains("Acme Supply Co.") && text.contains("100 Market Street"),
        "seller from configuration"
    );

    // With an ERP original stored, that exact file is served.
    let original = b"%PDF-1.4\n% the ERP's own invoice\n".to_vec();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query("INSERT INTO invoice_documents (invoice_id, content_type, file_name, sha256, bytes, created_at) VALUES ($1, 'application/pdf', 'erp.pdf', 'x', $2, '2026-01-01T00:00:00.000000Z')")
        .bind(row.invoice_id)
        .bind(original.clone())
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/invoices/{}/pdf", row.invoice_id),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), original);

    // Another customer's invoice, or nonsense ids: 404.
    let other = app.count("SELECT MIN(invoice_id) FROM invoices WHERE customer_id <> (SELECT customer_id FROM customers WHERE name = 'Northwind Traders')").await;
    for path in [
        format!("/accounts/{customer_id}/invoices/{other}/pdf"),
        format!("/accounts/{customer_id}/invoices/x/pdf"),
    ] {
        assert_eq!(app.get_with(&client, &path).await.status(), 404, "{path}");
    }
    // Signed out: nothing.
    let anonymous = new_client();
    let response = app
        .get_with(
            &anonymous,
            &format!("/accounts/{customer_id}/invoices/{}/pdf", row.invoice_id),
        )
        .await;
    assert_ne!(response.status(), 200);
}

async fn statement_running_balance_and_aging_agree_with_the_ledger(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let today = app.services.today();
    let from = today - chrono::Duration::days(200);
    let response = app
        .statement_fn(&client, customer_id, &from.to_string(), &today.to_string())
        .await;
    assert_eq!(response.status(), 200);
    let soa: app::models::StatementView = response.json().await.unwrap();

    // Independent: open balance per currency from the invoices as of today
    // equals the closing balance minus unapplied credits; aging buckets add
    // up to the open balance and put each invoice by its days past due.
    let all = expected_invoices(&app, customer_id).await;
    for c in &soa.currencies {
        let currency = portal_core::domain::Currency::parse(&c.currency).unwrap();
        let mine: Vec<&Expected> = all
            .iter()
            .filter(|e| e.currency == c.currency && e.status.is_open())
            .collect();
        let mut buckets = [0i64; 5];
        for e in &mine {
            let due = NaiveDate::parse_from_str(&e.due, "%Y-%m-%d").unwrap();
            let days = (today - due).num_days();
            let i = match days {
                i64::MIN..=0 => 0,
                1..=30 => 1,
                31..=60 => 2,
                61..=90 => 3,
                _ => 4,
            };
            buckets[i] += e.balance;
        }
        let shown: Vec<String> = c.aging.iter().map(|(_, a)| a.clone()).collect();
        let want: Vec<String> = buckets
            .iter()
            .map(|m| Money::new(*m, currency).display())
            .collect();
        assert_eq!(shown, want, "aging in {}", c.currency);
        // Running balance: each line moves the previous balance by its amount.
        let parse = |s: &str| -> i64 {
            let neg = s.starts_with('-');
            let digits: String = s.chars().filter(|ch| ch.is_ascii_digit()).collect();
            let v: i64 = digits.parse().unwrap_or(0);
            if neg {
                -v
            } else {
                v
            }
        };
        let mut running = parse(&c.opening);
        for line in &c.lines {
            running += parse(&line.charge) - parse(&line.credit);
            assert_eq!(
                running,
                parse(&line.balance),
                "running balance at {} {}",
                line.date,
                line.reference
            );
        }
        assert_eq!(running, parse(&c.closing));
    }
    // Downloads: PDF text and CSV carry the same closing balances.
    let pdf = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/statement.pdf?from={from}&to={today}"),
        )
        .await;
    assert_eq!(pdf.status(), 200);
    let text = pdf_text(&pdf.bytes().await.unwrap());
    let csv = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/statement.csv?from={from}&to={today}"),
        )
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    for c in &soa.currencies {
        assert!(
            text.contains(&c.closing),
            "closing {} in the PDF",
            c.closing
        );
        let closing_row = csv
            .lines()
            .find(|l| l.contains("Closing balance") && l.contains(&c.currency))
            .unwrap();
        let plain: String = c
            .closing
            .chars()
            .filter(|ch| ch.is_ascii_digit() || *ch == '.' || *ch == '-')
            .collect();
        assert!(
            closing_row.ends_with(&plain),
            "{closing_row} ends with {plain}"
        );
    }
    // A backwards period is refused with a message, not an empty statement.
    let response = app
        .statement_fn(&client, customer_id, "2026-05-01", "2026-04-01")
        .await;
    let soa: app::models::StatementView = response.json().await.unwrap();
    assert_eq!(
        soa.error.as_deref(),
        Some("The end date is before the start date")
    );
}

async fn payment_history_and_receipts_belong_to_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let expected = app
        .count(&format!(
            "SELECT COUNT(*) FROM payments WHERE customer_id = {customer_id}"
        ))
        .await;
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let response = app
            .server_fn(
                &client,
                "payment_history",
                &[
                    ("customer_id", &customer_id.to_string()),
                    ("page", &page.to_string()),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        let h: app::models::PaymentHistoryView = response.json().await.unwrap();
        seen.extend(
            h.payments
                .iter()
                .map(|p| (p.payment_id, p.allocations.len())),
        );
        if h.page >= h.pages {
            break;
        }
        page += 1;
    }
    assert_eq!(seen.len() as i64, expected, "every payment listed once");
    let mut ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len() as i64, expected);
    assert!(
        seen.iter().all(|(_, allocations)| *allocations >= 1),
        "each shows the invoices it paid"
    );

    let payment_id = seen[0].0;
    let response = app
        .server_fn(
            &client,
            "receipt",
            &[
                ("customer_id", &customer_id.to_string()),
                ("payment_id", &payment_id.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let receipt: app::models::ReceiptView = response.json().await.unwrap();
    let pdf = app
        .get_with(&client, &receipt.payment.receipt_pdf_href)
        .await;
    assert_eq!(pdf.status(), 200);
    let text = pdf_text(&pdf.bytes().await.unwrap());
    assert!(text.contains(&format!("PAY-{payment_id}")) && text.contains(&receipt.payment.amount));
    for a in &receipt.payment.allocations {
        assert!(
            text.contains(&a.number),
            "receipt names invoice {}",
            a.number
        );
    }
    // Another account's payment through this account, or directly: 404.
    let other = app
        .count(&format!(
            "SELECT MIN(payment_id) FROM payments WHERE customer_id <> {customer_id}"
        ))
        .await;
    let response = app
        .server_fn(
            &client,
            "receipt",
            &[
                ("customer_id", &customer_id.to_string()),
                ("payment_id", &other.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = app
        .get_with(
            &client,
            &format!("/accounts/{customer_id}/payments/{other}/receipt.pdf"),
        )
        .await;
    assert_eq!(response.status(), 404);
}

async fn settlement_cache_equals_the_allocations(backend: Backend) {
    let app = spawn_app(backend).await;
    let drift = app
        .count(
            "SELECT COUNT(*) FROM invoices i WHERE
               i.paid_minor <> COALESCE((SELECT SUM(pa.amount_minor) FROM payment_allocations pa JOIN payments p ON p.payment_id = pa.payment_id
                                         WHERE pa.invoice_id = i.invoice_id AND p.status = 'succeeded'), 0)
            OR i.credited_minor <> COALESCE((SELECT SUM(ca.amount_minor) FROM credit_allocations ca WHERE ca.invoice_id = i.invoice_id), 0)
            OR i.balance_minor <> CASE WHEN i.voided_at IS NOT NULL THEN 0
                                       WHEN i.total_minor - i.paid_minor - i.credited_minor < 0 THEN 0
                                       ELSE i.total_minor - i.paid_minor - i.credited_minor END",
        )
        .await;
    assert_eq!(drift, 0);
}

async fn invoice_link_opens_its_invoice_only_until_expired_or_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (invoice_id, number, due): (i64, String, String) = sqlx::query_as(
        "SELECT invoice_id, number, due_date FROM invoices WHERE customer_id = $1 AND balance_minor > 0 ORDER BY due_date DESC LIMIT 1",
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let link = app
        .services
        .create_invoice_link(&number, None, "test")
        .await
        .unwrap();
    // Default validity: the end of the 30th day after the due date (or a week from now).
    let due = NaiveDate::parse_from_str(&due, "%Y-%m-%d").unwrap();
    let window_end = (due + chrono::Duration::days(30))
        .and_hms_opt(23, 59, 59)
        .unwrap()
        .and_utc();
    assert_eq!(
        link.expires_at,
        window_end.max(app.clock.now_for_tests() + chrono::Duration::days(7))
    );

    // Opening it: a page whose button POSTs (a GET changes nothing), then
    // a session for this invoice, the token gone from the address.
    let visitor = new_client();
    let path = link.url.strip_prefix(&app.address).unwrap().to_owned();
    let response = app.get_with(&visitor, &path).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{path}\""))
            && page.contains(&format!("Open invoice {number}")),
        "{page}"
    );
    let response = app.post_form_with(&visitor, &path, &[]).await;
    assert_eq!(response.status(), 303);
    let invoice_page = format!("/accounts/{customer_id}/invoices/{invoice_id}");
    assert_eq!(location(&response), invoice_page);
    let html = app
        .get_with(&visitor, &invoice_page)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("Invoice {number}")) && html.contains("See your whole account"));
    let pdf = app.get_with(&visitor, &format!("{invoice_page}/pdf")).await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf_text(&pdf.bytes().await.unwrap()).contains(&number));

    // Nothing else of the account: other invoices (page, PDF, server
    // function), the list, the statement, payments, downloads.
    let other: i64 = app.count(&format!("SELECT MIN(invoice_id) FROM invoices WHERE customer_id = {customer_id} AND invoice_id <> {invoice_id}")).await;
    for path in [
        format!("/accounts/{customer_id}/invoices/{other}"),
        format!("/accounts/{customer_id}/invoices/{other}/pdf"),
        format!("/accounts/{customer_id}/invoices"),
        format!("/accounts/{customer_id}"),
        format!("/accounts/{customer_id}/statement"),
        format!("/accounts/{customer_id}/statement.pdf"),
        format!("/accounts/{customer_id}/invoices.csv"),
        format!("/accounts/{customer_id}/payments"),
        "/sessions".to_owned(),
    ] {
        assert_eq!(
            app.get_with(&visitor, &path).await.status(),
            404,
            "{path} through an invoice link"
        );
    }
    let response = app
        .server_fn(
            &visitor,
            "invoice_detail",
            &[
                ("customer_id", &customer_id.to_string()),
                ("invoice_id", &other.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    for (name, args) in [
        (
            "invoice_list",
            vec![
                ("customer_id", customer_id.to_string()),
                ("query", String::new()),
            ],
        ),
        (
            "account_overview",
            vec![("customer_id", customer_id.to_string())],
        ),
    ] {
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = app.server_fn(&visitor, name, &args).await;
        assert!(
            response.status() == 401 || response.status() == 404,
            "{name}: {}",
            response.status()
        );
    }

    // Revoked by AR: the open session stops at once, the link is refused.
    let staff = app.signed_in_staff_client().await;
    let response = app
        .post_form_with(
            &staff,
            &format!("/staff/invoice-links/{}/revoke", link.link_id),
            &[],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = app.get_with(&visitor, &invoice_page).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/invoice-link?state=ended");
    let response = app.get_with(&new_client(), &path).await;
    assert!(location(&response).starts_with("/invoice-link?state=revoked&token="));

    // Expired: a fresh link by email to the account's contacts, once an hour.
    let second = app
        .services
        .create_invoice_link(&number, None, "test")
        .await
        .unwrap();
    app.clock
        .advance(second.expires_at - app.clock.now_for_tests() + chrono::Duration::seconds(1));
    let path = second.url.strip_prefix(&app.address).unwrap().to_owned();
    let response = app.get_with(&new_client(), &path).await;
    let problem = location(&response);
    assert!(
        problem.starts_with("/invoice-link?state=expired&token="),
        "{problem}"
    );
    let token = path.trim_start_matches("/i/");
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let contacts: Vec<String> = sqlx::query_scalar(
        "SELECT c.email FROM contacts c JOIN customer_contacts cc ON cc.contact_id = c.contact_id WHERE cc.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert!(contacts.len() >= 2);
    let before: Vec<usize> = contacts
        .iter()
        .map(|c| app.smtp.messages_to(c).len())
        .collect();
    let response = app
        .post_form_with(&new_client(), &format!("/i/{token}/fresh"), &[])
        .await;
    assert_eq!(location(&response), "/invoice-link?state=sent");
    let queued = app.count("SELECT COUNT(*) FROM email_outbox").await;
    for (contact, n) in contacts.iter().zip(&before) {
        let mail = app.smtp.wait_for(contact, n + 1).await;
        assert!(mail.subject.contains(&number));
        let fresh = mail.link();
        let response = app
            .post_form_with(
                &new_client(),
                fresh.strip_prefix(&app.address).unwrap(),
                &[],
            )
            .await;
        assert_eq!(
            location(&response),
            invoice_page,
            "the fresh link opens the invoice"
        );
    }
    let response = app
        .post_form_with(&new_client(), &format!("/i/{token}/fresh"), &[])
        .await;
    assert_eq!(
        location(&response),
        "/invoice-link?state=sent",
        "same answer when rate-limited"
    );
    // The request's transaction is over: nothing more was queued.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_outbox").await,
        queued,
        "no second email within the hour"
    );
    // A made-up token: unknown, no offer of a fresh link.
    let response = app
        .get_with(
            &new_client(),
            "/i/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .await;
    assert_eq!(location(&response), "/invoice-link?state=unknown");
}

async fn bad_filters_get_a_clear_message_and_no_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    for (query, message) in [
        (
            "due_from=2026-13-01",
            "Due from: enter a date as YYYY-MM-DD",
        ),
        ("min=abc", "Minimum amount: enter a number"),
        ("min=10&max=5", "Amount: the maximum is below the minimum"),
        ("status=lost", "Status: \"lost\" is not a status"),
        ("sort=total&after=zzz~1", "This page link is damaged"),
    ] {
        let (status, page) = list_with_status(&app, &client, customer_id, query).await;
        assert_eq!(status, 400, "{query}");
        assert!(
            page.error.as_deref().unwrap_or("").starts_with(message),
            "{query}: {:?}",
            page.error
        );
        assert!(page.rows.is_empty());
        let response = app
            .get_with(
                &client,
                &format!("/accounts/{customer_id}/invoices?{query}"),
            )
            .await;
        assert_eq!(response.status(), 400, "{query}");
    }
}

/// Invoices exactly 0, 1, 30, 31, 60, 61, 90 and 91 days past due on the
/// statement's end date land in current, 1-30, 1-30, 31-60, 31-60, 61-90,
/// 61-90 and over 90; a payment and a credit move the running balance.
async fn aging_buckets_and_running_balance_at_the_boundary_days(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let to = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let customer_id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (name, currency, created_at) VALUES ('Boundary Ltd', 'USD', '2026-01-01T00:00:00.000000Z') RETURNING customer_id",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO customer_contacts (customer_id, contact_id, role, created_at)
         SELECT $1, contact_id, 'viewer', '2026-01-01T00:00:00.000000Z' FROM contacts WHERE email = 'ap@northwind.example'",
    )
    .bind(customer_id)
    .execute(&mut *conn)
    .await
    .unwrap();
    // $1.00 for 0 days past due, $2.00 for 1 day, ... $8.00 for 91 days.
    let days = [0, 1, 30, 31, 60, 61, 90, 91];
    for (k, d) in days.iter().enumerate() {
        let due = to - chrono::Duration::days(*d);
        let issue = due - chrono::Duration::days(30);
        let amount = (k as i64 + 1) * 100;
        sqlx::query(
            "INSERT INTO invoices (customer_id, number, issue_date, due_date, currency, subtotal_minor, tax_minor, total_minor, balance_minor, created_at)
             VALUES ($1, $2, $3, $4, 'USD', $5, 0, $5, $5, '2026-01-01T00:00:00.000000Z')",
        )
        .bind(customer_id)
        .bind(format!("B-{d:03}"))
        .bind(issue.to_string())
        .bind(due.to_string())
        .bind(amount)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    // After the period: a payment of the 91-day invoice must not change
    // the aging as of the end date.
    let payment_id: i64 = sqlx::query_scalar(
        "INSERT INTO payments (customer_id, currency, amount_minor, method, status, received_at, created_at, updated_at)
         VALUES ($1, 'USD', 800, 'check', 'succeeded', '2026-07-02T10:00:00.000000Z', '2026-07-02T10:00:00.000000Z', '2026-07-02T10:00:00.000000Z') RETURNING payment_id",
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query("INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) SELECT $1, invoice_id, 800 FROM invoices WHERE number = 'B-091'")
        .bind(payment_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    // Within the period: $1.50 credit on the 1-day invoice.
    let credit_id: i64 = sqlx::query_scalar(
        "INSERT INTO credit_notes (customer_id, number, currency, amount_minor, reason, issue_date, created_at)
         VALUES ($1, 'BCN-1', 'USD', 150, 'Pricing correction', '2026-06-20', '2026-06-20T00:00:00.000000Z') RETURNING credit_note_id",
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query("INSERT INTO credit_allocations (credit_note_id, invoice_id, amount_minor, applied_at) SELECT $1, invoice_id, 150, '2026-06-20T00:00:00.000000Z' FROM invoices WHERE number = 'B-001'")
        .bind(credit_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let response = app
        .statement_fn(&client, customer_id, "2026-05-15", &to.to_string())
        .await;
    assert_eq!(response.status(), 200);
    let soa: app::models::StatementView = response.json().await.unwrap();
    assert_eq!(soa.currencies.len(), 1);
    let usd = &soa.currencies[0];
    let aging: Vec<&str> = usd.aging.iter().map(|(_, a)| a.as_str()).collect();
    // current $1; 1-30: $2 - $1.50 + $3; 31-60: $4 + $5; 61-90: $6 + $7; over 90: $8.
    assert_eq!(aging, ["$1.00", "$3.50", "$9.00", "$13.00", "$8.00"]);
    // Opening on May 15: the invoices issued before then (each is issued 30
    // days before it is due): $3 + $4 + $5 + $6 + $7 + $8 = $33.
    assert_eq!(usd.opening, "$33.00");
    assert_eq!(usd.closing, "$34.50");
    assert!(usd.unapplied.is_none());
    let lines: Vec<(String, String)> = usd
        .lines
        .iter()
        .map(|l| (l.reference.clone(), l.balance.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            ("B-001".to_owned(), "$35.00".to_owned()),
            ("B-000".to_owned(), "$36.00".to_owned()),
            ("BCN-1".to_owned(), "$34.50".to_owned()),
        ]
    );
}
