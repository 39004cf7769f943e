//! What a statement of account reads: the balance before the period as one
//! aggregate per currency, and the entries inside the period only (a
//! customer with years of history no longer loads all of it).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;

use super::decode::decode;
use super::payments::BALANCE_AT;
use super::Conn;
use crate::db::date_text;
use crate::domain::payment_state::payment_reference;
use crate::domain::statement::{Entry, EntryKind};
use crate::domain::Currency;

fn currency(r: &sqlx::any::AnyRow, table: &str) -> Result<Currency, sqlx::Error> {
    decode(r, table, "currency")
}

/// Payment timestamps sort as text: everything on `day` or later is at or
/// after `"{day}T"`.
fn day_start(day: NaiveDate) -> String {
    format!("{}T", date_text(day))
}

/// The balance per currency of everything before `from`: invoices less
/// credit notes less payments (net of refunds), each summed by the
/// database. A currency with any earlier entry is listed, even at zero.
pub async fn opening_balances(
    conn: &mut Conn,
    customer_id: i64,
    from: NaiveDate,
) -> Result<Vec<(Currency, i64)>, sqlx::Error> {
    let mut balances: BTreeMap<Currency, i64> = BTreeMap::new();
    let queries = [
        (
            1,
            "SELECT currency, CAST(SUM(total_minor) AS BIGINT) AS minor FROM invoices
             WHERE customer_id = $1 AND voided_at IS NULL AND issue_date < $2
             GROUP BY currency",
            date_text(from),
        ),
        (
            -1,
            "SELECT currency, CAST(SUM(amount_minor) AS BIGINT) AS minor FROM credit_notes
             WHERE customer_id = $1 AND issue_date < $2
             GROUP BY currency",
            date_text(from),
        ),
        (
            -1,
            "SELECT currency, CAST(SUM(amount_minor - refunded_minor) AS BIGINT) AS minor
             FROM payments
             WHERE customer_id = $1 AND status IN ('succeeded', 'refunded')
               AND amount_minor > refunded_minor AND received_at < $2
             GROUP BY currency",
            day_start(from),
        ),
    ];
    for ((sign, sql, bound), table) in
        queries
            .into_iter()
            .zip(["invoices", "credit_notes", "payments"])
    {
        let rows = sqlx::query(sql)
            .bind(customer_id)
            .bind(bound)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            *balances.entry(currency(r, table)?).or_insert(0) +=
                sign * r.try_get::<i64, _>("minor")?;
        }
    }
    Ok(balances.into_iter().collect())
}

/// Invoices, credit notes and payments dated `from..=to`.
pub async fn entries_between(
    conn: &mut Conn,
    customer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Entry>, sqlx::Error> {
    let mut entries = Vec::new();
    let invoices = sqlx::query(
        "SELECT issue_date, number, currency, total_minor FROM invoices
         WHERE customer_id = $1 AND voided_at IS NULL AND issue_date >= $2 AND issue_date <= $3",
    )
    .bind(customer_id)
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(&mut *conn)
    .await?;
    for r in &invoices {
        entries.push(Entry {
            date: decode(r, "invoices", "issue_date")?,
            kind: EntryKind::Invoice,
            reference: r.try_get("number")?,
            currency: currency(r, "invoices")?,
            amount_minor: r.try_get("total_minor")?,
        });
    }
    let credits = sqlx::query(
        "SELECT issue_date, number, currency, amount_minor FROM credit_notes
         WHERE customer_id = $1 AND issue_date >= $2 AND issue_date <= $3",
    )
    .bind(customer_id)
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(&mut *conn)
    .await?;
    for r in &credits {
        entries.push(Entry {
            date: decode(r, "credit_notes", "issue_date")?,
            kind: EntryKind::CreditNote,
            reference: r.try_get("number")?,
            currency: currency(r, "credit_notes")?,
            amount_minor: r.try_get("amount_minor")?,
        });
    }
    let payments = sqlx::query(
        "SELECT payment_id, received_at, reference, method, currency,
                amount_minor - refunded_minor AS amount_minor
         FROM payments
         WHERE customer_id = $1 AND status IN ('succeeded', 'refunded') AND amount_minor > refunded_minor
           AND received_at >= $2 AND received_at < $3",
    )
    .bind(customer_id)
    .bind(day_start(from))
    .bind(crate::db::day_end(to))
    .fetch_all(&mut *conn)
    .await?;
    for r in &payments {
        let received: chrono::DateTime<chrono::Utc> = decode(r, "payments", "received_at")?;
        entries.push(Entry {
            date: received.date_naive(),
            kind: EntryKind::Payment,
            reference: payment_reference(
                r.try_get("payment_id")?,
                r.try_get("method")?,
                r.try_get("reference")?,
            ),
            currency: currency(r, "payments")?,
            amount_minor: r.try_get("amount_minor")?,
        });
    }
    Ok(entries)
}

/// An invoice's amount held by a dispute at the end of a statement period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputedItem {
    pub currency: Currency,
    pub due_date: NaiveDate,
    /// What its dispute held then, at most what the invoice still owed.
    pub held_minor: i64,
}

/// The invoices whose dispute was open at the end of `to` (raised by then
/// and not yet resolved or withdrawn), with the amount it held: the
/// disputed amount, capped at the invoice's balance at `to` (computed as
/// `payments::open_at` does), so the aging can count it apart.
pub async fn disputed_at(
    conn: &mut Conn,
    customer_id: i64,
    to: NaiveDate,
) -> Result<Vec<DisputedItem>, sqlx::Error> {
    let end = date_text(to);
    let end_exclusive = crate::db::day_end(to);
    let rows = sqlx::query(&format!(
        "SELECT i.currency, i.due_date, r.disputed_minor, {BALANCE_AT} AS balance_minor
         FROM requests r JOIN invoices i ON i.invoice_id = r.invoice_id
         WHERE r.customer_id = $1 AND r.kind = 'dispute' AND i.customer_id = $1
           AND i.voided_at IS NULL AND i.issue_date <= $2
           AND r.opened_at < $3 AND (r.resolved_at IS NULL OR r.resolved_at >= $3)"
    ))
    .bind(customer_id)
    .bind(&end)
    .bind(&end_exclusive)
    .fetch_all(conn)
    .await?;
    let mut items = Vec::new();
    for r in &rows {
        let balance: i64 = r.try_get("balance_minor")?;
        let disputed: Option<i64> = r.try_get("disputed_minor")?;
        let held = disputed.unwrap_or(0).min(balance);
        if held > 0 {
            items.push(DisputedItem {
                currency: currency(r, "invoices")?,
                due_date: decode(r, "invoices", "due_date")?,
                held_minor: held,
            });
        }
    }
    Ok(items)
}
