//! Writes of the payment ledger: pending payments and their allocations,
//! state changes, refunds, credits applied. Services call these inside one
//! transaction together with `invoices::refresh_settlement`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::decode::decode;
use super::payments::{AllocationRow, PaymentRow};
use super::Conn;
use crate::db::{ts, Backend};
use crate::domain::Currency;
use crate::payments::event::PaymentKeys;

/// An invoice as the payment form needs it, read under lock when paying.
#[derive(Clone, Debug)]
pub struct PayableInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub currency: Currency,
    pub due_date: NaiveDate,
    pub balance_minor: i64,
    /// Held back by payments in flight.
    pub pending_minor: i64,
    /// Held back by the invoice's open dispute (issue 11).
    pub disputed_minor: i64,
    pub voided: bool,
    /// The early-payment discount on offer today (issue 13), filled in by
    /// `Services::attach_discounts`; None as read here.
    pub discount: Option<crate::domain::discount::DiscountOffer>,
}

impl PayableInvoice {
    /// What can be paid now.
    pub fn payable_minor(&self) -> i64 {
        crate::domain::payable_minor(self.balance_minor, self.pending_minor, self.disputed_minor)
    }
}

/// The invoices `ids` of the customer (others are silently not returned).
/// `lock` takes row locks on PostgreSQL (SQLite's BEGIN IMMEDIATE already
/// serializes writers), so two payments for one balance queue up here.
pub async fn payable_invoices(
    conn: &mut Conn,
    backend: Backend,
    customer_id: i64,
    ids: &[i64],
    lock: bool,
) -> Result<Vec<PayableInvoice>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let lock = if lock && backend == Backend::Postgres {
        "FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT invoice_id, number, currency, due_date, balance_minor, pending_minor, disputed_minor, voided_at
         FROM invoices WHERE customer_id = $1 AND invoice_id IN ({})
         ORDER BY due_date, invoice_id {lock}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(customer_id);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(PayableInvoice {
                invoice_id: r.try_get("invoice_id")?,
                number: r.try_get("number")?,
                currency: decode(r, "invoices", "currency")?,
                due_date: decode(r, "invoices", "due_date")?,
                balance_minor: r.try_get("balance_minor")?,
                pending_minor: r.try_get("pending_minor")?,
                disputed_minor: r.try_get("disputed_minor")?,
                voided: r.try_get::<Option<String>, _>("voided_at")?.is_some(),
                discount: None,
            })
        })
        .collect()
}

/// A credit note with some amount not yet applied to invoices.
#[derive(Clone, Debug)]
pub struct OpenCredit {
    pub credit_note_id: i64,
    pub number: String,
    pub currency: Currency,
    pub unapplied_minor: i64,
}

pub async fn open_credits(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<OpenCredit>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.credit_note_id, c.number, c.currency, c.amount_minor - c.applied_minor AS unapplied
         FROM credit_notes c WHERE c.customer_id = $1 AND c.applied_minor < c.amount_minor
         ORDER BY c.issue_date, c.credit_note_id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OpenCredit {
                credit_note_id: r.try_get("credit_note_id")?,
                number: r.try_get("number")?,
                currency: decode(r, "credit_notes", "currency")?,
                unapplied_minor: r.try_get("unapplied")?,
            })
        })
        .collect()
}

/// Serializes the payments of one account: what it holds and which credits
/// are still open are read and spent under this lock. PostgreSQL takes the
/// customer's row lock; SQLite's BEGIN IMMEDIATE already serializes writers.
pub async fn lock_customer(
    conn: &mut Conn,
    backend: Backend,
    customer_id: i64,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT customer_id FROM customers WHERE customer_id = $1 FOR UPDATE")
            .bind(customer_id)
            .fetch_optional(conn)
            .await?;
    }
    Ok(())
}

/// Applies `amount_minor` of a credit note to an invoice (adding to an
/// earlier application of the same note to the same invoice). The
/// database refuses (a CHECK violation, see [`is_check_violation`]) to apply
/// more than the note's amount in all.
pub async fn apply_credit(
    conn: &mut Conn,
    credit_note_id: i64,
    invoice_id: i64,
    amount_minor: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credit_allocations (credit_note_id, invoice_id, amount_minor, applied_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (credit_note_id, invoice_id)
         DO UPDATE SET amount_minor = credit_allocations.amount_minor + excluded.amount_minor, applied_at = excluded.applied_at",
    )
    .bind(credit_note_id)
    .bind(invoice_id)
    .bind(amount_minor)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub struct NewPayment<'a> {
    pub customer_id: i64,
    pub currency: Currency,
    pub amount_minor: i64,
    /// `card` or `ach`.
    pub method: &'a str,
    pub gateway: &'a str,
    pub attempt_key: &'a str,
    /// Who pressed "Pay": a signed-in contact, or the holder of an
    /// invoice link (exactly one of the two).
    pub contact_id: Option<i64>,
    pub invoice_link_id: Option<i64>,
    pub receipt_email: &'a str,
    pub credit_applied_minor: i64,
    /// Random; goes into Checkout's return and cancel URLs.
    pub return_key: &'a str,
}

pub async fn insert_pending(
    conn: &mut Conn,
    p: NewPayment<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO payments (customer_id, currency, amount_minor, method, status, gateway, attempt_key,
                               created_by_contact, receipt_email, credit_applied_minor, return_key, created_at, updated_at,
                               invoice_link_id)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $11, $10, $10, $12) RETURNING payment_id",
    )
    .bind(p.customer_id)
    .bind(p.currency.code())
    .bind(p.amount_minor)
    .bind(p.method)
    .bind(p.gateway)
    .bind(p.attempt_key)
    .bind(p.contact_id)
    .bind(p.receipt_email)
    .bind(p.credit_applied_minor)
    .bind(ts(now))
    .bind(p.return_key)
    .bind(p.invoice_link_id)
    .fetch_one(conn)
    .await?;
    Ok(row.get("payment_id"))
}

pub async fn insert_allocation(
    conn: &mut Conn,
    payment_id: i64,
    invoice_id: i64,
    amount_minor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) VALUES ($1, $2, $3)",
    )
    .bind(payment_id)
    .bind(invoice_id)
    .bind(amount_minor)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_checkout(
    conn: &mut Conn,
    payment_id: i64,
    session_id: &str,
    url: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET gateway_session_id = $2, checkout_url = $3, checkout_expires_at = $4, updated_at = $5
         WHERE payment_id = $1",
    )
    .bind(payment_id)
    .bind(session_id)
    .bind(url)
    .bind(ts(expires_at))
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The payment an event is about, locked for the transaction on PostgreSQL.
/// Our id in the metadata wins; the gateway's ids are the fallback.
pub async fn payment_for_keys(
    conn: &mut Conn,
    backend: Backend,
    keys: &PaymentKeys,
) -> Result<Option<i64>, sqlx::Error> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let by = |column: &str| format!("SELECT payment_id FROM payments WHERE {column} = $1{lock}");
    if let Some(id) = keys.payment_id {
        let row = sqlx::query(&by("payment_id"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        return Ok(row.map(|r| r.get("payment_id")));
    }
    for (column, value) in [
        ("gateway_session_id", &keys.session_id),
        ("gateway_intent_id", &keys.intent_id),
    ] {
        if let Some(value) = value {
            if let Some(r) = sqlx::query(&by(column))
                .bind(value)
                .fetch_optional(&mut *conn)
                .await?
            {
                return Ok(Some(r.get("payment_id")));
            }
        }
    }
    Ok(None)
}

pub async fn lock_payment(
    conn: &mut Conn,
    backend: Backend,
    payment_id: i64,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT payment_id FROM payments WHERE payment_id = $1 FOR UPDATE")
            .bind(payment_id)
            .fetch_optional(conn)
            .await?;
    }
    Ok(())
}

/// Writes a state change. `received_at` is set on the first success only.
pub async fn update_state(
    conn: &mut Conn,
    payment: &PaymentRow,
    status: &str,
    refunded_minor: i64,
    keys: &PaymentKeys,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let received = (payment.received_at.is_none() && matches!(status, "succeeded" | "refunded"))
        .then(|| ts(now));
    sqlx::query(
        "UPDATE payments SET status = $2, refunded_minor = $3, received_at = COALESCE(received_at, $4),
                gateway_intent_id = COALESCE(gateway_intent_id, $5),
                gateway_session_id = COALESCE(gateway_session_id, $6), updated_at = $7
         WHERE payment_id = $1",
    )
    .bind(payment.payment_id)
    .bind(status)
    .bind(refunded_minor)
    .bind(received)
    .bind(keys.intent_id.as_deref())
    .bind(keys.session_id.as_deref())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_failure_message(
    conn: &mut Conn,
    payment_id: i64,
    message: &str,
    intent_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET failure_message = $2, gateway_intent_id = COALESCE(gateway_intent_id, $3), updated_at = $4
         WHERE payment_id = $1",
    )
    .bind(payment_id)
    .bind(message)
    .bind(intent_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Flags a chargeback; returns false if the payment was already flagged.
pub async fn set_disputed(
    conn: &mut Conn,
    payment_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payments SET disputed_at = $2, dispute_reason = $3, updated_at = $2
         WHERE payment_id = $1 AND disputed_at IS NULL",
    )
    .bind(payment_id)
    .bind(ts(now))
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// (invoice_id, amount, refunded) of each allocation, latest due date
/// first: a partial refund reopens the newest invoice first.
pub async fn allocations(
    conn: &mut Conn,
    payment_id: i64,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pa.invoice_id, pa.amount_minor, pa.refunded_minor FROM payment_allocations pa
         JOIN invoices i ON i.invoice_id = pa.invoice_id
         WHERE pa.payment_id = $1 ORDER BY i.due_date DESC, pa.invoice_id DESC",
    )
    .bind(payment_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get("invoice_id"),
                r.get("amount_minor"),
                r.get("refunded_minor"),
            )
        })
        .collect())
}

pub async fn set_allocation_refunded(
    conn: &mut Conn,
    payment_id: i64,
    invoice_id: i64,
    refunded_minor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_allocations SET refunded_minor = $3 WHERE payment_id = $1 AND invoice_id = $2",
    )
    .bind(payment_id)
    .bind(invoice_id)
    .bind(refunded_minor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Pending payments whose checkout should have ended by `cutoff`, and
/// pending payments that never got a checkout (a crash between the two
/// steps of starting one) created before `cutoff`. Autopay's payments have
/// no checkout by design; its job asks the gateway again for them.
pub async fn stale_pending(
    conn: &mut Conn,
    cutoff: DateTime<Utc>,
) -> Result<Vec<(i64, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT payment_id, gateway_session_id FROM payments
         WHERE status = 'pending' AND ((checkout_expires_at IS NOT NULL AND checkout_expires_at < $1)
                                       OR (gateway_session_id IS NULL AND created_at < $1
                                           AND COALESCE(attempt_key, '') NOT LIKE 'autopay:%'))
         ORDER BY payment_id LIMIT 100",
    )
    .bind(ts(cutoff))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("payment_id"), r.get("gateway_session_id")))
        .collect())
}

/// What an earlier press of the same "Pay" form did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayAttempt {
    pub customer_id: i64,
    /// `None` when credits covered everything.
    pub payment_id: Option<i64>,
    pub invoice_id: i64,
}

pub async fn pay_attempt(
    conn: &mut Conn,
    attempt_key: &str,
) -> Result<Option<PayAttempt>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT customer_id, payment_id, invoice_id FROM pay_attempts WHERE attempt_key = $1",
    )
    .bind(attempt_key)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| PayAttempt {
        customer_id: r.get("customer_id"),
        payment_id: r.get("payment_id"),
        invoice_id: r.get("invoice_id"),
    }))
}

/// Records a "Pay" press; a second insert of the same key is a unique
/// violation ([`is_unique_violation`]).
pub async fn insert_pay_attempt(
    conn: &mut Conn,
    attempt_key: &str,
    attempt: &PayAttempt,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pay_attempts (attempt_key, customer_id, payment_id, invoice_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(attempt_key)
    .bind(attempt.customer_id)
    .bind(attempt.payment_id)
    .bind(attempt.invoice_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

// The constraint checks live with the error they turn into.
pub use crate::error::{is_check_violation, is_unique_violation};

pub async fn gateway_customer_id(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT gateway_customer_id FROM customers WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|r| r.get("gateway_customer_id")))
}

pub async fn set_gateway_customer_id(
    conn: &mut Conn,
    customer_id: i64,
    gateway_customer_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE customers SET gateway_customer_id = $2 WHERE customer_id = $1 AND gateway_customer_id IS NULL")
        .bind(customer_id)
        .bind(gateway_customer_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest payments of every account, for AR: (payment, its
/// allocations, customer name).
pub async fn recent_payments(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<(PaymentRow, Vec<AllocationRow>, String)>, sqlx::Error> {
    let ids = sqlx::query(
        "SELECT p.payment_id, c.name FROM payments p JOIN customers c ON c.customer_id = p.customer_id
         WHERE p.gateway IS NOT NULL
         ORDER BY p.updated_at DESC, p.payment_id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in &ids {
        if let Some((payment, allocations)) =
            super::payments::payment(conn, r.get("payment_id")).await?
        {
            out.push((payment, allocations, r.get("name")));
        }
    }
    Ok(out)
}
