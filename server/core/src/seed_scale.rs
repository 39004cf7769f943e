//! `portal seed-scale`: a large database for benchmarks, fast. Invoices are
//! spread evenly over the customers (a 1,000,000-invoice database with 200
//! customers gives each one 5,000), dated over the last three years, most
//! past ones paid. Rows go in with multi-row INSERTs of explicit ids inside
//! large transactions; settlement columns are written with the allocations
//! they summarise, so the result is the same as the portal's own writes.

use chrono::{Duration, NaiveDate};
use sqlx::Row;

use crate::db::{date_text, ts, Backend};
use crate::domain::{invoice_standing, InvoiceFacts};
use crate::services::Services;
// The demo's SplitMix64: deterministic data for comparable runs.
use crate::seed::Rng;

/// Invoices per INSERT statement (PostgreSQL allows 65,535 parameters).
const BATCH: usize = 1_000;

#[derive(Clone, Copy, Debug)]
pub struct ScaleSpec {
    pub customers: usize,
    pub invoices: usize,
}

#[derive(Clone, Debug, Default)]
pub struct ScaleSummary {
    pub customers: usize,
    pub invoices: usize,
    pub payments: usize,
    /// Email of the first scale customer's contact, to sign in as.
    pub sample_contact: String,
    pub sample_customer_id: i64,
}

async fn next_id(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    column: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT CAST(COALESCE(MAX({column}), 0) AS BIGINT) AS m FROM {table}"
    ))
    .fetch_one(conn)
    .await?;
    Ok(row.get::<i64, _>("m") + 1)
}

/// Placeholders `($1, $2, ...), (...)` for `rows` rows of `cols` columns.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

enum V {
    I(i64),
    T(String),
    N,
}

async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    cols: usize,
    rows: &[Vec<V>],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let text = format!("{head} VALUES {}", values(rows.len(), cols));
    let mut q = sqlx::query(&text);
    for row in rows {
        for v in row {
            q = match v {
                V::I(i) => q.bind(*i),
                V::T(t) => q.bind(t.as_str()),
                V::N => q.bind(None::<String>),
            };
        }
    }
    q.execute(conn).await?;
    Ok(())
}

/// Fills the database; `progress(done, total)` is called after each batch.
pub async fn seed_scale(
    services: &Services,
    spec: ScaleSpec,
    progress: impl Fn(usize, usize),
) -> Result<ScaleSummary, sqlx::Error> {
    let db = &services.db;
    let pg = db.backend() == Backend::Postgres;
    // PostgreSQL identity columns take explicit ids only when asked to.
    let overriding = if pg { " OVERRIDING SYSTEM VALUE" } else { "" };
    let now = services.clock.now();
    let today = now.date_naive();
    let mut rng = Rng(0x5CA1_E000 + spec.invoices as u64);
    let mut summary = ScaleSummary::default();

    let mut conn = db.pool.acquire().await?;
    let first_customer = next_id(&mut conn, "customers", "customer_id").await?;
    let first_contact = next_id(&mut conn, "contacts", "contact_id").await?;
    let mut invoice_id = next_id(&mut conn, "invoices", "invoice_id").await?;
    let mut line_id = next_id(&mut conn, "invoice_lines", "invoice_line_id").await?;
    let mut payment_id = next_id(&mut conn, "payments", "payment_id").await?;
    drop(conn);

    let run = format!("{:x}", now.timestamp());
    let mut tx = db.begin_write().await?;
    let mut customers = Vec::new();
    let mut contacts = Vec::new();
    let mut members = Vec::new();
    for i in 0..spec.customers {
        let customer_id = first_customer + i as i64;
        let contact_id = first_contact + i as i64;
        customers.push(vec![
            V::I(customer_id),
            V::T(format!("scale-{run}-{i}")),
            V::T(format!("Scale Customer {i} ({run})")),
            V::T("USD".into()),
            V::I(30),
            V::T(ts(now)),
        ]);
        let email = format!("ap{i}-{run}@scale.example");
        if i == 0 {
            summary.sample_contact = email.clone();
            summary.sample_customer_id = customer_id;
        }
        contacts.push(vec![
            V::I(contact_id),
            V::T(email),
            V::T(format!("AP Clerk {i}")),
            V::T(ts(now)),
        ]);
        members.push(vec![
            V::I(customer_id),
            V::I(contact_id),
            V::T("admin".into()),
            V::T(ts(now)),
        ]);
    }
    for chunk in customers.chunks(BATCH) {
        insert_rows(&mut tx, &format!("INSERT INTO customers (customer_id, external_id, name, currency, payment_terms_days, created_at){overriding}"), 6, chunk).await?;
    }
    for chunk in contacts.chunks(BATCH) {
        insert_rows(
            &mut tx,
            &format!("INSERT INTO contacts (contact_id, email, name, created_at){overriding}"),
            4,
            chunk,
        )
        .await?;
    }
    for chunk in members.chunks(BATCH) {
        insert_rows(
            &mut tx,
            "INSERT INTO customer_contacts (customer_id, contact_id, role, created_at)",
            4,
            chunk,
        )
        .await?;
    }
    summary.customers = spec.customers;

    let per_customer = spec.invoices / spec.customers.max(1);
    let total = per_customer * spec.customers;
    let span_days = 3 * 365;
    let mut done = 0;
    let mut batch_invoices = Vec::with_capacity(BATCH);
    let mut batch_lines = Vec::with_capacity(BATCH);
    let mut batch_payments = Vec::new();
    let mut batch_allocations = Vec::new();
    for c in 0..spec.customers {
        let customer_id = first_customer + c as i64;
        for k in 0..per_customer {
            // Evenly over three years, newest last, with a little jitter.
            let age =
                span_days - (k as i64 * span_days / per_customer as i64) - rng.below(3) as i64;
            let issue: NaiveDate = today - Duration::days(age.max(0));
            let due = issue + Duration::days(30);
            let amount = 5_000 + rng.below(2_000_000) as i64;
            let tax = amount * 8 / 100;
            let total_minor = amount + tax;
            let overdue = due < today;
            let roll = rng.below(100);
            let paid = if overdue {
                match roll {
                    0..=91 => total_minor,
                    92..=95 => total_minor / 3,
                    _ => 0,
                }
            } else {
                match roll {
                    0..=14 => total_minor,
                    15..=24 => total_minor / 2,
                    _ => 0,
                }
            };
            let number = format!("S{run}-{c:05}-{k:06}");
            let standing = invoice_standing(
                &InvoiceFacts {
                    total_minor,
                    paid_minor: paid,
                    credited_minor: 0,
                    due_date: due,
                    voided: false,
                },
                today,
            );
            batch_invoices.push(vec![
                V::I(invoice_id),
                V::I(customer_id),
                V::T(number),
                V::T(date_text(issue)),
                V::T(date_text(due)),
                if rng.below(10) < 7 {
                    V::T(format!("PO-{}", 10_000 + rng.below(90_000)))
                } else {
                    V::N
                },
                V::T("USD".into()),
                V::I(amount),
                V::I(tax),
                V::I(total_minor),
                V::I(paid),
                V::I(standing.balance_minor),
                V::T(ts(now)),
            ]);
            batch_lines.push(vec![
                V::I(line_id),
                V::I(invoice_id),
                V::I(1),
                V::T("Industrial supplies".into()),
                V::I(1_000),
                V::I(amount),
                V::I(800),
                V::I(amount),
                V::I(tax),
            ]);
            line_id += 1;
            if paid > 0 {
                let received = std::cmp::min(due, today)
                    .and_hms_opt(12, 0, 0)
                    .expect("valid")
                    .and_utc();
                let at = ts(received);
                batch_payments.push(vec![
                    V::I(payment_id),
                    V::I(customer_id),
                    V::T("USD".into()),
                    V::I(paid),
                    V::T("ach".into()),
                    V::T("succeeded".into()),
                    V::T(at.clone()),
                    V::T(at.clone()),
                    V::T(at),
                ]);
                batch_allocations.push(vec![V::I(payment_id), V::I(invoice_id), V::I(paid)]);
                payment_id += 1;
                summary.payments += 1;
            }
            invoice_id += 1;
            done += 1;
            if batch_invoices.len() == BATCH || done == total {
                insert_rows(&mut tx, &format!("INSERT INTO invoices (invoice_id, customer_id, number, issue_date, due_date, po_number, currency, subtotal_minor, tax_minor, total_minor, paid_minor, balance_minor, created_at){overriding}"), 13, &batch_invoices).await?;
                insert_rows(&mut tx, &format!("INSERT INTO invoice_lines (invoice_line_id, invoice_id, position, description, quantity_milli, unit_price_minor, tax_rate_bp, amount_minor, tax_minor){overriding}"), 9, &batch_lines).await?;
                insert_rows(&mut tx, &format!("INSERT INTO payments (payment_id, customer_id, currency, amount_minor, method, status, received_at, created_at, updated_at){overriding}"), 9, &batch_payments).await?;
                insert_rows(
                    &mut tx,
                    "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor)",
                    3,
                    &batch_allocations,
                )
                .await?;
                batch_invoices.clear();
                batch_lines.clear();
                batch_payments.clear();
                batch_allocations.clear();
                progress(done, total);
                // Commit every 100k invoices: bounded WAL / memory, and a
                // crash keeps what was written.
                if done % 100_000 == 0 {
                    tx.commit().await?;
                    tx = db.begin_write().await?;
                }
            }
        }
    }
    tx.commit().await?;
    summary.invoices = done;
    if pg {
        let mut conn = db.pool.acquire().await?;
        for (table, column) in [
            ("customers", "customer_id"),
            ("contacts", "contact_id"),
            ("invoices", "invoice_id"),
            ("invoice_lines", "invoice_line_id"),
            ("payments", "payment_id"),
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), (SELECT MAX({column}) FROM {table}))"
            ))
            .execute(&mut *conn)
            .await?;
        }
        // VACUUM sets the visibility map, so counts can be index-only scans.
        sqlx::query("VACUUM ANALYZE").execute(&mut *conn).await?;
    } else {
        let mut conn = db.pool.acquire().await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
    }
    Ok(summary)
}
