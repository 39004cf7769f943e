//! What a statement of account reads: the balance before the period as one
//! aggregate per currency, and the entries inside the period only (a
//! customer with years of history no longer loads all of it).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;

use super::decode::decode;
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
