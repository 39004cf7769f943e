//! The disputed amount is held (issue 11 item 2, the money side): an open
//! dispute's amount is cached on the invoice (`invoices.disputed_minor`),
//! left out of what the pay page offers and what "Pay" accepts, counted
//! apart in the open totals, and released when the dispute is withdrawn or
//! resolved (a credit note lowering the balance once). The balance itself
//! never changes because of a dispute. Services are called directly, as the
//! pages' server functions call them.

use crate::helpers::{pricing_dispute, raise_as, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{contact_id, draft, PAYER};
use portal_core::domain::invoice_query::InvoiceQuery;
use portal_core::domain::request::DisputeScope;
use portal_core::domain::{Currency, Money};
use portal_core::services::payments::PayProblem;
use portal_core::services::payments::Payer;
use portal_core::services::requests::RaiseDispute;
use portal_core::services::staff_requests::Resolution;
use portal_core::ServiceError;

on_both_databases!(
    a_disputed_amount_is_held_from_paying_until_the_dispute_is_withdrawn,
    a_partial_credit_resolution_lowers_the_balance_once_and_releases_the_hold,
    a_whole_invoice_dispute_leaves_nothing_to_pay_until_rejected,
    the_pages_show_the_disputed_amount_and_the_pay_page_offers_only_the_rest,
    the_statement_counts_disputed_amounts_apart_and_its_totals_add_up,
);

pub(crate) const CUSTOMER_ADMIN: &str = "ap@northwind.example";
pub(crate) const AR_AGENT: &str = "agent@seller.example";

// The shared helpers, also for the tests that import them from here.
pub(crate) use crate::helpers::{access_of, northwind, staff_id};

/// Northwind's open USD invoices with nothing in flight: (id, balance).
pub(crate) async fn open_usd_invoices(app: &TestApp) -> Vec<(i64, i64)> {
    let customer_id = northwind(app).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT invoice_id, balance_minor FROM invoices
         WHERE customer_id = $1 AND balance_minor > 5000 AND pending_minor = 0
           AND voided_at IS NULL AND currency = 'USD'
         ORDER BY invoice_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// The invoice's cached (balance, pending, disputed).
async fn cached(app: &TestApp, invoice_id: i64) -> (i64, i64, i64) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT balance_minor, pending_minor, disputed_minor FROM invoices WHERE invoice_id = $1",
    )
    .bind(invoice_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

/// The customer's admin disputes `invoice_id` (an amount, or the whole
/// invoice when `amount_text` is None).
pub(crate) async fn raise(app: &TestApp, invoice_id: i64, amount_text: Option<&str>) -> i64 {
    let dispute = match amount_text {
        Some(amount_text) => RaiseDispute {
            scope: DisputeScope::Amount,
            amount_text: amount_text.into(),
            ..pricing_dispute(Vec::new())
        },
        None => pricing_dispute(Vec::new()),
    };
    raise_as(app, CUSTOMER_ADMIN, invoice_id, dispute).await
}

/// What the pay page offers for the invoice (the service its server
/// function calls): the payable amount, or the refusal's message.
async fn offered(app: &TestApp, invoice_id: i64) -> Result<i64, String> {
    let choice = app
        .services
        .payment_choice(
            Payer::Contact(contact_id(app, PAYER).await),
            northwind(app).await,
            &[invoice_id],
        )
        .await;
    match choice {
        Ok(choice) => Ok(choice.invoices[0].payable_minor()),
        Err(e) => Err(e.to_string()),
    }
}

/// The review page's check of paying `amount` on the invoice.
async fn review(app: &TestApp, invoice_id: i64, amount: i64) -> Result<i64, String> {
    app.services
        .review_payment(
            Payer::Contact(contact_id(app, PAYER).await),
            northwind(app).await,
            &draft(&[(invoice_id, amount)], "card"),
        )
        .await
        .map(|plan| plan.charge_minor())
        .map_err(|e| e.to_string())
}

/// The USD open totals of the invoice list (all of Northwind's invoices):
/// (open, disputed).
async fn usd_totals(app: &TestApp) -> (i64, i64) {
    let access = access_of(app, PAYER).await;
    let list = app
        .services
        .invoice_list(
            &access,
            northwind(app).await,
            InvoiceQuery::from_pairs(std::iter::empty::<(&str, &str)>()).unwrap(),
        )
        .await
        .unwrap();
    let usd = list
        .totals
        .iter()
        .find(|t| t.currency == Currency::USD)
        .expect("Northwind owes USD");
    (usd.open_minor, usd.disputed_minor)
}

async fn a_disputed_amount_is_held_from_paying_until_the_dispute_is_withdrawn(backend: Backend) {
    let app = spawn_app(backend).await;
    let (invoice_id, balance) = open_usd_invoices(&app).await[0];
    assert_eq!(offered(&app, invoice_id).await, Ok(balance));
    let (open_before, disputed_before) = usd_totals(&app).await;
    assert_eq!(disputed_before, 0, "the seed has no disputes");

    let request_id = raise(&app, invoice_id, Some("25.00")).await;
    // Held, not settled: the balance (and so the status) stays as it was.
    assert_eq!(cached(&app, invoice_id).await, (balance, 0, 2_500));
    let remainder = balance - 2_500;
    assert_eq!(offered(&app, invoice_id).await, Ok(remainder));
    assert_eq!(review(&app, invoice_id, remainder).await, Ok(remainder));
    let over = review(&app, invoice_id, remainder + 1).await.unwrap_err();
    assert!(
        over.contains(&format!(
            "at most {}",
            Money::new(remainder, Currency::USD).display()
        )) && over.contains("disputed"),
        "{over}"
    );
    // "Pay" re-checks under lock and refuses too, writing nothing.
    let started = app
        .services
        .start_payment(
            Payer::Contact(contact_id(&app, PAYER).await),
            northwind(&app).await,
            &draft(&[(invoice_id, remainder + 1)], "card"),
            &format!("test-attempt-{:016x}", rand::random::<u64>()),
            None,
        )
        .await
        .unwrap();
    assert!(matches!(started, Err(PayProblem::Changed)), "{started:?}");
    assert_eq!(cached(&app, invoice_id).await, (balance, 0, 2_500));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payment_allocations WHERE invoice_id = {invoice_id}"
        ))
        .await,
        0
    );
    // The list's totals: the open balance unchanged, the hold apart.
    assert_eq!(usd_totals(&app).await, (open_before, 2_500));

    let access = access_of(&app, CUSTOMER_ADMIN).await;
    app.services
        .withdraw_dispute(&access, northwind(&app).await, request_id, None)
        .await
        .unwrap();
    assert_eq!(cached(&app, invoice_id).await, (balance, 0, 0));
    assert_eq!(offered(&app, invoice_id).await, Ok(balance));
    assert_eq!(review(&app, invoice_id, balance).await, Ok(balance));
    assert_eq!(usd_totals(&app).await, (open_before, 0));
}

async fn a_partial_credit_resolution_lowers_the_balance_once_and_releases_the_hold(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let (invoice_id, balance) = open_usd_invoices(&app).await[0];
    let (open_before, _) = usd_totals(&app).await;
    let request_id = raise(&app, invoice_id, Some("25.00")).await;
    assert_eq!(usd_totals(&app).await, (open_before, 2_500));

    let credit = Resolution::CreditNote {
        amount_text: "10.00".into(),
        note: "Part of the price corrected.".into(),
    };
    let resolved = app
        .services
        .resolve_request(agent, request_id, credit.clone())
        .await
        .unwrap();
    assert_eq!(resolved.applied_minor, 1_000);
    // The credit lowers the balance; the rest of the dispute is released,
    // not credited: the whole new balance is payable again.
    assert_eq!(cached(&app, invoice_id).await, (balance - 1_000, 0, 0));
    assert_eq!(offered(&app, invoice_id).await, Ok(balance - 1_000));
    assert_eq!(usd_totals(&app).await, (open_before - 1_000, 0));

    // Pressed again: refused, and the balance drops only once.
    match app
        .services
        .resolve_request(agent, request_id, credit)
        .await
    {
        Err(ServiceError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(cached(&app, invoice_id).await, (balance - 1_000, 0, 0));
}

async fn a_whole_invoice_dispute_leaves_nothing_to_pay_until_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let invoices = open_usd_invoices(&app).await;
    let (invoice_id, balance) = invoices[0];
    let (other_id, other_balance) = invoices[1];
    let (open_before, _) = usd_totals(&app).await;

    let request_id = raise(&app, invoice_id, None).await;
    raise(&app, other_id, Some("12.34")).await;
    assert_eq!(cached(&app, invoice_id).await, (balance, 0, balance));
    let refused = offered(&app, invoice_id).await.unwrap_err();
    assert!(
        refused.contains("disputed for its whole open balance"),
        "{refused}"
    );
    // Totals add up the holds of every open dispute of the currency.
    assert_eq!(usd_totals(&app).await, (open_before, balance + 1_234));
    // Paying only the other invoice's undisputed part is fine.
    assert_eq!(
        review(&app, other_id, other_balance - 1_234).await,
        Ok(other_balance - 1_234)
    );

    app.services
        .resolve_request(
            agent,
            request_id,
            Resolution::Rejected {
                reason: "The price is the one in the signed order.".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(cached(&app, invoice_id).await, (balance, 0, 0));
    assert_eq!(offered(&app, invoice_id).await, Ok(balance));
    assert_eq!(usd_totals(&app).await, (open_before, 1_234));

    // The migration's backfill (for disputes opened before it ran) writes
    // what refresh_settlement writes: forget the cache, run it again.
    sqlx::query("UPDATE invoices SET disputed_minor = 0")
        .execute(&app.services.db.pool)
        .await
        .unwrap();
    sqlx::query(backfill(backend))
        .execute(&app.services.db.pool)
        .await
        .unwrap();
    assert_eq!(cached(&app, other_id).await, (other_balance, 0, 1_234));
    // The cache equals its definition for every invoice (the recount that
    // refresh_settlement runs, written out here independently).
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM invoices i WHERE i.disputed_minor <> COALESCE(
                 (SELECT SUM(r.disputed_minor) FROM requests r WHERE r.invoice_id = i.invoice_id
                  AND r.kind = 'dispute' AND r.status IN ('open', 'waiting_on_customer')), 0)"
        )
        .await,
        0
    );
}

/// The backfill statement of migration 0009 for the engine.
fn backfill(backend: Backend) -> &'static str {
    let migration = match backend {
        Backend::Sqlite => include_str!("../../../migrations/sqlite/0009_disputed_hold.sql"),
        Backend::Postgres => include_str!("../../../migrations/postgres/0009_disputed_hold.sql"),
    };
    let start = migration.find("UPDATE invoices").expect("the backfill");
    let end = start + migration[start..].find(';').expect("its end");
    &migration[start..end]
}

/// A server function's JSON answer (200 expected).
async fn server_json(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    form: &[(&str, &str)],
) -> serde_json::Value {
    let response = app.server_fn(client, name, form).await;
    assert_eq!(response.status(), 200, "{name}");
    response.json().await.unwrap()
}

fn usd(minor: i64) -> String {
    Money::new(minor, Currency::USD).display()
}

/// A PDF's text through pdftotext, or `None` where poppler is not installed
/// (the statement's CSV and page carry the same figures).
fn pdf_text_if_available(pdf: &[u8]) -> Option<String> {
    let probe = std::process::Command::new("pdftotext").arg("-v").output();
    probe.ok().map(|_| crate::invoices::pdf_text(pdf))
}

async fn the_pages_show_the_disputed_amount_and_the_pay_page_offers_only_the_rest(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let c = customer_id.to_string();
    let invoices = open_usd_invoices(&app).await;
    let (invoice_id, balance) = invoices[0];
    let (whole_id, _) = invoices[1];
    let request_id = raise(&app, invoice_id, Some("25.00")).await;
    raise(&app, whole_id, None).await;
    let payer = app.signed_in_client(PAYER).await;

    // The pay page offers the undisputed remainder, and says why.
    let form = server_json(
        &app,
        &payer,
        "pay_form",
        &[
            ("customer_id", &c),
            ("query", &format!("invoice={invoice_id}")),
        ],
    )
    .await;
    let offered = &form["invoices"][0];
    assert_eq!(offered["payable"], usd(balance - 2_500).as_str());
    assert_eq!(
        offered["amount_value"],
        Money::new(balance - 2_500, Currency::USD)
            .decimal_string()
            .as_str()
    );
    assert_eq!(offered["disputed"], usd(2_500).as_str());
    let page = app
        .get_with(&payer, &format!("/accounts/{c}/pay?invoice={invoice_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "{} disputed, held until the dispute is resolved",
            usd(2_500)
        )),
        "{page}"
    );
    // A wholly disputed invoice is not offered at all.
    let form = server_json(
        &app,
        &payer,
        "pay_form",
        &[
            ("customer_id", &c),
            ("query", &format!("invoice={whole_id}")),
        ],
    )
    .await;
    assert_eq!(form["invoices"].as_array().unwrap().len(), 0);
    assert!(form["problem"]
        .as_str()
        .unwrap()
        .contains("disputed for its whole open balance"));

    // The invoice page: the hold, what is payable now, the request.
    let detail = server_json(
        &app,
        &payer,
        "invoice_detail",
        &[("customer_id", &c), ("invoice_id", &invoice_id.to_string())],
    )
    .await;
    assert_eq!(detail["balance"], usd(balance).as_str());
    assert_eq!(detail["disputed"], usd(2_500).as_str());
    assert_eq!(detail["payable_now"], usd(balance - 2_500).as_str());
    let request_href = format!("/accounts/{c}/requests/{request_id}");
    assert_eq!(detail["open_request_href"], request_href.as_str());
    assert_eq!(detail["dispute_href"], serde_json::Value::Null);
    let page = app
        .get_with(&payer, &format!("/accounts/{c}/invoices/{invoice_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Dispute open — see the request"), "{page}");
    assert!(page.contains(&format!("href=\"{request_href}\"")), "{page}");
    assert!(page.contains("Payable now"), "{page}");

    // The list: a badge in words on the row, the hold apart in the totals.
    let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE invoice_id = $1")
        .bind(invoice_id)
        .fetch_one(&app.services.db.pool)
        .await
        .unwrap();
    let list = server_json(
        &app,
        &payer,
        "invoice_list",
        &[("customer_id", &c), ("query", &format!("q={number}"))],
    )
    .await;
    let row = &list["rows"][0];
    assert_eq!(row["invoice_id"], invoice_id);
    assert_eq!(row["disputed"], usd(2_500).as_str());
    assert_eq!(row["disputable"], false);
    let (open, disputed) = usd_totals(&app).await;
    assert_eq!(disputed, 2_500 + invoices[1].1);
    let all = server_json(
        &app,
        &payer,
        "invoice_list",
        &[("customer_id", &c), ("query", "")],
    )
    .await;
    let totals = all["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "USD")
        .cloned()
        .unwrap();
    assert_eq!(totals["open"], usd(open).as_str());
    assert_eq!(totals["disputed"], usd(disputed).as_str());
    assert_eq!(totals["payable"], usd(open - disputed).as_str());
    let page = app
        .get_with(&payer, &format!("/accounts/{c}/invoices?q={number}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Disputed {}", usd(2_500))),
        "the row's badge: {page}"
    );
    // (The page lists this one invoice: its totals are its own.)
    assert!(page.contains(&format!("{} disputed, held until resolved", usd(2_500))));

    // The overview: the same totals, the same badge.
    let overview = server_json(&app, &payer, "account_overview", &[("customer_id", &c)]).await;
    let usd_balance = overview["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == "USD")
        .cloned()
        .unwrap();
    assert_eq!(usd_balance["disputed"], usd(disputed).as_str());
    assert_eq!(usd_balance["payable"], usd(open - disputed).as_str());
    for row in overview["open_invoices"].as_array().unwrap() {
        let expected = if row["invoice_id"] == invoice_id {
            serde_json::json!(usd(2_500))
        } else if row["invoice_id"] == whole_id {
            serde_json::json!(usd(invoices[1].1))
        } else {
            serde_json::Value::Null
        };
        assert_eq!(row["disputed"], expected, "{row}");
    }
}

async fn the_statement_counts_disputed_amounts_apart_and_its_totals_add_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let access = access_of(&app, PAYER).await;
    let today = app.services.today();
    let from = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1).unwrap();
    let usd_of = |soa: &portal_core::services::invoices::StatementOfAccount| {
        let c = soa
            .statement
            .currencies
            .iter()
            .find(|c| c.currency == Currency::USD)
            .cloned()
            .unwrap();
        (c, soa.disputed_in(Currency::USD))
    };
    let before = app
        .services
        .statement(&access, customer_id, from, today)
        .await
        .unwrap();
    let (usd_before, disputed_before) = usd_of(&before);
    assert_eq!(disputed_before, 0);

    let (invoice_id, _) = open_usd_invoices(&app).await[0];
    raise(&app, invoice_id, Some("25.00")).await;
    let after = app
        .services
        .statement(&access, customer_id, from, today)
        .await
        .unwrap();
    let (usd_after, disputed) = usd_of(&after);
    assert_eq!(disputed, 2_500);
    // The balance owed is the same; the buckets lost exactly the hold.
    assert_eq!(usd_after.closing_minor, usd_before.closing_minor);
    assert_eq!(
        usd_before.aging_minor.iter().sum::<i64>() - usd_after.aging_minor.iter().sum::<i64>(),
        2_500
    );
    assert_eq!(
        usd_after.aging_minor.iter().sum::<i64>() + disputed + usd_after.unapplied_minor,
        usd_after.closing_minor,
        "buckets + disputed + unapplied = balance"
    );

    // The page says it in its own column, with the figures of the service.
    let payer = app.signed_in_client(PAYER).await;
    let view: serde_json::Value = app
        .statement_fn(&payer, customer_id, "", "")
        .await
        .json()
        .await
        .unwrap();
    let usd_view = view["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == "USD")
        .cloned()
        .unwrap();
    assert_eq!(usd_view["disputed"], usd(2_500).as_str());
    assert_eq!(usd_view["closing"], usd(usd_after.closing_minor).as_str());
    let page = app
        .get_with(&payer, &format!("/accounts/{customer_id}/statement"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Disputed</th>"), "{page}");
    assert!(page.contains("add up to the balance"), "{page}");

    // The CSV: a Disputed column, and each aging row adds up to its Balance.
    let csv = app
        .get_with(&payer, &format!("/accounts/{customer_id}/statement.csv"))
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let header = records
        .iter()
        .find(|r| r.get(0) == Some("Aging"))
        .expect("the aging table");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (disputed_col, unapplied_col, balance_col) =
        (column("Disputed"), column("Unapplied"), column("Balance"));
    let usd_row = records
        .iter()
        .find(|r| r.get(0).is_some_and(|a| a.starts_with("As of")) && r.get(1) == Some("USD"))
        .expect("the USD aging row");
    // Plain decimals ("-12.50" for credit waiting to be applied).
    let minor = |text: &str| (text.parse::<f64>().unwrap() * 100.0).round() as i64;
    assert_eq!(minor(&usd_row[disputed_col]), 2_500);
    let buckets: i64 = (2..disputed_col).map(|i| minor(&usd_row[i])).sum();
    assert_eq!(
        buckets + minor(&usd_row[disputed_col]) + minor(&usd_row[unapplied_col]),
        minor(&usd_row[balance_col])
    );
    assert_eq!(minor(&usd_row[balance_col]), usd_after.closing_minor);

    // The PDF: a line of its own.
    let pdf = app
        .get_with(&payer, &format!("/accounts/{customer_id}/statement.pdf"))
        .await;
    assert_eq!(pdf.status(), 200);
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text_if_available(&bytes) {
        assert!(text.contains("Disputed (held until resolved)"), "{text}");
        assert!(text.contains(&usd(2_500)), "{text}");
    }
}
