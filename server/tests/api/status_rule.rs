//! The invoice-standing rule is written twice: in Rust
//! (`domain::invoice_standing`, what every page shows) and as SQL
//! (`domain::invoice_status::sql`, what the list filters, sorts and totals
//! by in the database). Generated invoices crowded around the due-soon and
//! overdue boundaries, with every mix of payment, credit, overpayment and
//! voiding, must get the same answers from both, on both engines: balances,
//! every status filter (rows, count and totals), the status sort, and the
//! open and overdue totals.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use portal_core::domain::invoice_query::{InvoiceQuery, StatusFilter};
use portal_core::domain::invoice_status::sql::BALANCE;
use portal_core::domain::{invoice_standing, Currency, InvoiceFacts, InvoiceStanding};
use portal_core::repo::invoices::{self as repo, InvoiceLedgerRow, OpenTotals, MAX_EXPORT_ROWS};
use portal_core::repo::Conn;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::Row;

use crate::helpers::{spawn_app_with, AppOptions, Backend};

crate::on_both_databases!(the_sql_status_rule_agrees_with_invoice_standing);

const INVOICES: usize = 600;
const CURRENCIES: [&str; 3] = ["USD", "EUR", "JPY"];

/// An amount settled against `total`: nothing, part, all, or more.
fn settled(rng: &mut StdRng, total: i64) -> i64 {
    match rng.random_range(0..5) {
        0 | 1 => 0,
        2 => rng.random_range(0..=total),
        3 => total,
        _ => total + rng.random_range(1..500),
    }
}

/// A customer with generated invoices, and what Rust says of each.
async fn generate(
    conn: &mut Conn,
    rng: &mut StdRng,
    today: NaiveDate,
) -> (i64, BTreeMap<i64, Generated>) {
    let customer_id: i64 = sqlx::query(
        "INSERT INTO customers (name, currency, created_at)
         VALUES ('Generated', 'USD', '2026-01-01T00:00:00Z') RETURNING customer_id",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get("customer_id");
    let mut invoices = BTreeMap::new();
    for n in 0..INVOICES {
        let total = match rng.random_range(0..6) {
            0 => 0,
            1 => 1,
            _ => rng.random_range(2..1_000_000),
        };
        // Most due dates within two weeks of today: every boundary
        // (due yesterday, today, in 7 and in 8 days) is hit many times.
        let due = today + Duration::days(rng.random_range(-14..=14));
        let facts = InvoiceFacts {
            total_minor: total,
            paid_minor: settled(rng, total),
            credited_minor: settled(rng, total),
            due_date: due,
            voided: rng.random_range(0..10) == 0,
        };
        let currency = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
        let invoice_id: i64 = sqlx::query(
            "INSERT INTO invoices (customer_id, number, issue_date, due_date, currency,
                                   subtotal_minor, tax_minor, total_minor, paid_minor, credited_minor,
                                   voided_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $6, $7, $8, $9, '2026-01-01T00:00:00Z')
             RETURNING invoice_id",
        )
        .bind(customer_id)
        .bind(format!("GEN-{n:04}"))
        .bind((due - Duration::days(30)).to_string())
        .bind(due.to_string())
        .bind(currency)
        .bind(total)
        .bind(facts.paid_minor)
        .bind(facts.credited_minor)
        .bind(facts.voided.then_some("2026-01-02T00:00:00Z"))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("invoice_id");
        invoices.insert(
            invoice_id,
            Generated {
                currency: Currency::parse(currency).unwrap(),
                standing: invoice_standing(&facts, today),
                facts,
            },
        );
    }
    // The cached balance, written by the SQL that `refresh_settlement` runs.
    sqlx::query(&format!("UPDATE invoices SET balance_minor = {BALANCE}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    (customer_id, invoices)
}

struct Generated {
    currency: Currency,
    facts: InvoiceFacts,
    standing: InvoiceStanding,
}

/// Every invoice the query matches, in the order the list shows them.
async fn matching(
    conn: &mut Conn,
    customer_id: i64,
    query: &InvoiceQuery,
    today: NaiveDate,
) -> Vec<InvoiceLedgerRow> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(INVOICES + 1);
    repo::send_matching(conn, customer_id, query, today, MAX_EXPORT_ROWS, &sender)
        .await
        .unwrap();
    drop(sender);
    let mut rows = Vec::new();
    while let Some(row) = receiver.recv().await {
        rows.push(row);
    }
    rows
}

fn query(pairs: &[(&str, &str)]) -> InvoiceQuery {
    InvoiceQuery::from_pairs(pairs.iter().copied()).unwrap()
}

async fn the_sql_status_rule_agrees_with_invoice_standing(backend: Backend) {
    let app = spawn_app_with(AppOptions {
        seed: false,
        ..AppOptions::new(backend)
    })
    .await;
    let today = app.services.today();
    let seed: u64 = rand::random();
    // Printed so that a failure can be replayed with the same invoices.
    eprintln!("status rule: seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (customer_id, invoices) = generate(&mut conn, &mut rng, today).await;
    let currencies: Vec<Currency> = invoices
        .values()
        .map(|g| g.currency)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();

    // The cached balance is the Rust balance.
    let rows = sqlx::query("SELECT invoice_id, balance_minor FROM invoices")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    for row in &rows {
        let id: i64 = row.get("invoice_id");
        let generated = &invoices[&id];
        assert_eq!(
            row.get::<i64, _>("balance_minor"),
            generated.standing.balance_minor,
            "balance of invoice {id} ({:?}), seed {seed}",
            generated.facts
        );
    }

    // Each status filter keeps exactly the invoices whose Rust status it names.
    for status in StatusFilter::ALL {
        let found: Vec<i64> = matching(
            &mut conn,
            customer_id,
            &query(&[("status", status.key())]),
            today,
        )
        .await
        .iter()
        .map(|r| r.invoice_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
        let expected: Vec<i64> = invoices
            .iter()
            .filter(|(_, g)| status.admits(&g.standing.status))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            found,
            expected,
            "status filter {}, seed {seed}",
            status.key()
        );
        // The list's summary: the count, and the totals of what matches.
        let summary = repo::list_summary(
            &mut conn,
            customer_id,
            &query(&[("status", status.key())]),
            today,
        )
        .await
        .unwrap();
        assert_eq!(
            summary.matching,
            expected.len() as i64,
            "count of {}, seed {seed}",
            status.key()
        );
        assert_eq!(
            by_currency(&summary.totals),
            expected_totals(&invoices, today, |g| status.admits(&g.standing.status)),
            "totals of {}, seed {seed}",
            status.key()
        );
        assert_eq!(summary.currencies, currencies, "currencies, seed {seed}");
    }

    // Sorting by status orders by urgency, then due date, then id.
    let sorted: Vec<i64> = matching(
        &mut conn,
        customer_id,
        &query(&[("sort", "status"), ("dir", "asc")]),
        today,
    )
    .await
    .iter()
    .map(|r| r.invoice_id)
    .collect();
    let mut expected: Vec<(char, NaiveDate, i64)> = invoices
        .iter()
        .map(|(id, g)| (g.standing.status.urgency(), g.facts.due_date, *id))
        .collect();
    expected.sort();
    let expected: Vec<i64> = expected.into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(sorted, expected, "status sort, seed {seed}");

    // The open and overdue totals per currency are the Rust sums.
    let totals = repo::open_totals(&mut conn, customer_id, &query(&[]), today)
        .await
        .unwrap();
    assert_eq!(
        by_currency(&totals),
        expected_totals(&invoices, today, |_| true),
        "open totals, seed {seed}"
    );
}

type Totals = BTreeMap<Currency, (i64, i64, i64, i64)>;

/// Open and overdue sums and counts per currency, as the database gave them.
fn by_currency(totals: &[OpenTotals]) -> Totals {
    totals
        .iter()
        .map(|t| {
            (
                t.currency,
                (t.open_minor, t.overdue_minor, t.open_count, t.overdue_count),
            )
        })
        .collect()
}

/// The same sums computed in Rust over the invoices `keep` admits.
fn expected_totals(
    invoices: &BTreeMap<i64, Generated>,
    today: NaiveDate,
    keep: impl Fn(&Generated) -> bool,
) -> Totals {
    let mut expected = Totals::new();
    for g in invoices
        .values()
        .filter(|g| keep(g) && g.standing.status.is_open())
    {
        let entry = expected.entry(g.currency).or_default();
        entry.0 += g.standing.balance_minor;
        entry.2 += 1;
        if g.facts.due_date < today {
            entry.1 += g.standing.balance_minor;
            entry.3 += 1;
        }
    }
    expected
}
