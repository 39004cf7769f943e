//! Payment history reads, and the entries a statement of account is built from.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::Conn;
use crate::db::date_text;
use crate::domain::statement::OpenItem;
use crate::domain::{Currency, PaymentStatus};

#[derive(Clone, Debug)]
pub struct PaymentRow {
    pub payment_id: i64,
    pub customer_id: i64,
    pub currency: Currency,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub method: String,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    pub gateway: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub gateway_session_id: Option<String>,
    pub gateway_intent_id: Option<String>,
    pub receipt_email: Option<String>,
    pub checkout_url: Option<String>,
    pub checkout_expires_at: Option<DateTime<Utc>>,
    pub failure_message: Option<String>,
    pub disputed_at: Option<DateTime<Utc>>,
    pub credit_applied_minor: i64,
    /// The random value in this payment's Checkout return and cancel URLs.
    pub return_key: Option<String>,
    /// The invoice link this payment was made through (nobody signed in).
    pub invoice_link_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct AllocationRow {
    pub payment_id: i64,
    pub invoice_id: i64,
    pub invoice_number: String,
    pub amount_minor: i64,
}

const PAYMENT_COLUMNS: &str =
    "p.payment_id, p.customer_id, p.currency, p.amount_minor, p.refunded_minor, p.method,
     p.status, p.reference, p.gateway, p.received_at, p.created_at, p.gateway_session_id,
     p.gateway_intent_id, p.receipt_email, p.checkout_url,
     p.checkout_expires_at, p.failure_message, p.disputed_at, p.credit_applied_minor, p.return_key,
     p.invoice_link_id";

fn payment_row(r: &AnyRow) -> Result<PaymentRow, sqlx::Error> {
    const T: &str = "payments";
    Ok(PaymentRow {
        payment_id: r.try_get("payment_id")?,
        customer_id: r.try_get("customer_id")?,
        currency: decode(r, T, "currency")?,
        amount_minor: r.try_get("amount_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        method: r.try_get("method")?,
        status: decode(r, T, "status")?,
        reference: r.try_get("reference")?,
        gateway: r.try_get("gateway")?,
        received_at: decode_opt(r, T, "received_at")?,
        created_at: decode(r, T, "created_at")?,
        gateway_session_id: r.try_get("gateway_session_id")?,
        gateway_intent_id: r.try_get("gateway_intent_id")?,
        receipt_email: r.try_get("receipt_email")?,
        checkout_url: r.try_get("checkout_url")?,
        checkout_expires_at: decode_opt(r, T, "checkout_expires_at")?,
        failure_message: r.try_get("failure_message")?,
        disputed_at: decode_opt(r, T, "disputed_at")?,
        credit_applied_minor: r.try_get("credit_applied_minor")?,
        return_key: r.try_get("return_key")?,
        invoice_link_id: r.try_get("invoice_link_id")?,
    })
}

/// A page of the customer's payments, newest first, with their allocations.
pub async fn payments_of_customer(
    conn: &mut Conn,
    customer_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<(PaymentRow, Vec<AllocationRow>)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p WHERE p.customer_id = $1
         ORDER BY p.created_at DESC, p.payment_id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(customer_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let payments = rows
        .iter()
        .map(payment_row)
        .collect::<Result<Vec<_>, _>>()?;
    let Some(last) = payments.last() else {
        return Ok(Vec::new());
    };
    // One read for the page's allocations: the page is a contiguous run of
    // created_at, so its allocations are those of payments in that run.
    let first = &payments[0];
    let allocations = sqlx::query(
        "SELECT pa.payment_id, pa.invoice_id, i.number, pa.amount_minor
         FROM payments p JOIN payment_allocations pa ON pa.payment_id = p.payment_id
         JOIN invoices i ON i.invoice_id = pa.invoice_id
         WHERE p.customer_id = $1 AND p.created_at >= $2 AND p.created_at <= $3
         ORDER BY i.number",
    )
    .bind(customer_id)
    .bind(crate::db::ts(last.created_at))
    .bind(crate::db::ts(first.created_at))
    .fetch_all(conn)
    .await?;
    let allocations: Vec<AllocationRow> = allocations.iter().map(allocation_row).collect();
    Ok(payments
        .into_iter()
        .map(|p| {
            let mine = allocations
                .iter()
                .filter(|a| a.payment_id == p.payment_id)
                .cloned()
                .collect();
            (p, mine)
        })
        .collect())
}

pub async fn count_payments(conn: &mut Conn, customer_id: i64) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM payments WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_one(conn)
            .await?
            .get("n"),
    )
}

fn allocation_row(r: &AnyRow) -> AllocationRow {
    AllocationRow {
        payment_id: r.get("payment_id"),
        invoice_id: r.get("invoice_id"),
        invoice_number: r.get("number"),
        amount_minor: r.get("amount_minor"),
    }
}

pub async fn payment(
    conn: &mut Conn,
    payment_id: i64,
) -> Result<Option<(PaymentRow, Vec<AllocationRow>)>, sqlx::Error> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p WHERE p.payment_id = $1"
    ))
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let allocations = sqlx::query(
        "SELECT pa.payment_id, pa.invoice_id, i.number, pa.amount_minor
         FROM payment_allocations pa JOIN invoices i ON i.invoice_id = pa.invoice_id
         WHERE pa.payment_id = $1 ORDER BY i.number",
    )
    .bind(payment_id)
    .fetch_all(conn)
    .await?;
    Ok(Some((
        payment_row(&row)?,
        allocations.iter().map(allocation_row).collect(),
    )))
}

/// SQL: the balance of invoice `i` at the end of a day: its total less
/// what was paid before `$3` (the next day's start) and credited by `$2`
/// (the day); later settlements do not count.
pub(crate) const BALANCE_AT: &str = "i.total_minor
                - CAST(COALESCE((SELECT SUM(pa.amount_minor - pa.refunded_minor) FROM payment_allocations pa
                                 JOIN payments p ON p.payment_id = pa.payment_id
                                 WHERE pa.invoice_id = i.invoice_id AND p.status IN ('succeeded', 'refunded')
                                   AND p.received_at < $3), 0) AS BIGINT)
                - CAST(COALESCE((SELECT SUM(ca.amount_minor) FROM credit_allocations ca
                                 JOIN credit_notes cn ON cn.credit_note_id = ca.credit_note_id
                                 WHERE ca.invoice_id = i.invoice_id AND cn.issue_date <= $2), 0) AS BIGINT)";

/// Invoices with money owed at the end of `to`: what had been paid or
/// credited by then is subtracted, later settlements are not.
pub async fn open_at(
    conn: &mut Conn,
    customer_id: i64,
    to: NaiveDate,
) -> Result<Vec<OpenItem>, sqlx::Error> {
    let end = date_text(to);
    let end_exclusive = crate::db::day_end(to);
    let rows = sqlx::query(&format!(
        "SELECT i.currency, i.due_date, {BALANCE_AT} AS balance_minor
         FROM invoices i
         WHERE i.customer_id = $1 AND i.voided_at IS NULL AND i.issue_date <= $2"
    ))
    .bind(customer_id)
    .bind(&end)
    .bind(&end_exclusive)
    .fetch_all(conn)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(OpenItem {
                currency: decode(r, "invoices", "currency")?,
                due_date: decode(r, "invoices", "due_date")?,
                balance_minor: r.try_get("balance_minor")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(items.into_iter().filter(|i| i.balance_minor > 0).collect())
}
