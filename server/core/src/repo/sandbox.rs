//! The sandbox gateway's own tables: its checkout sessions and the webhook
//! deliveries it has scheduled (see `payments::sandbox`).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::ts;

/// A sandbox checkout as its hosted page shows it.
#[derive(Clone, Debug)]
pub struct SandboxCheckout {
    pub session_id: String,
    pub payment_id: i64,
    pub currency: String,
    pub amount_minor: i64,
    /// `card` or `us_bank_account`.
    pub method: String,
    pub lines: Vec<(String, i64)>,
    pub receipt_email: String,
    pub success_url: String,
    pub cancel_url: String,
    pub status: String,
    pub payment_status: String,
    pub intent_id: String,
    pub decline_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new checkout session, open and unpaid.
pub struct NewCheckout<'a> {
    pub session_id: &'a str,
    pub payment_id: i64,
    pub customer_ref: &'a str,
    pub currency: &'a str,
    pub amount_minor: i64,
    pub method: &'a str,
    pub lines: &'a [(String, i64)],
    pub receipt_email: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    pub intent_id: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A due webhook delivery of the sandbox.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub delivery_id: i64,
    pub payload: String,
}

fn checkout_row(r: &AnyRow) -> Result<SandboxCheckout, sqlx::Error> {
    const T: &str = "sandbox_checkouts";
    let lines: Vec<(String, i64)> = serde_json::from_str(&r.try_get::<String, _>("lines")?)
        .map_err(|e| sqlx::Error::ColumnDecode {
            index: format!("{T}.lines"),
            source: Box::new(e),
        })?;
    let currency: crate::domain::Currency = decode(r, T, "currency")?;
    Ok(SandboxCheckout {
        session_id: r.try_get("session_id")?,
        payment_id: r.try_get("payment_id")?,
        currency: currency.code().to_owned(),
        amount_minor: r.try_get("amount_minor")?,
        method: r.try_get("method")?,
        lines,
        receipt_email: r.try_get("receipt_email")?,
        success_url: r.try_get("success_url")?,
        cancel_url: r.try_get("cancel_url")?,
        status: r.try_get("status")?,
        payment_status: r.try_get("payment_status")?,
        intent_id: r.try_get("intent_id")?,
        decline_message: r.try_get("decline_message")?,
        created_at: decode(r, T, "created_at")?,
        expires_at: decode(r, T, "expires_at")?,
    })
}

pub async fn checkout(
    conn: &mut Conn,
    session_id: &str,
) -> Result<Option<SandboxCheckout>, sqlx::Error> {
    sqlx::query("SELECT * FROM sandbox_checkouts WHERE session_id = $1")
        .bind(session_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(checkout_row)
        .transpose()
}

/// The session of a payment attempt, if one was created.
pub async fn checkout_of_payment(
    conn: &mut Conn,
    payment_id: i64,
) -> Result<Option<SandboxCheckout>, sqlx::Error> {
    sqlx::query("SELECT * FROM sandbox_checkouts WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(checkout_row)
        .transpose()
}

pub async fn insert_checkout(conn: &mut Conn, c: &NewCheckout<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_checkouts (session_id, payment_id, customer_ref, currency, amount_minor, method, lines, receipt_email, success_url, cancel_url, status, payment_status, intent_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', 'unpaid', $11, $12, $13)",
    )
    .bind(c.session_id)
    .bind(c.payment_id)
    .bind(c.customer_ref)
    .bind(c.currency)
    .bind(c.amount_minor)
    .bind(c.method)
    .bind(serde_json::to_string(c.lines).unwrap_or_default())
    .bind(c.receipt_email)
    .bind(c.success_url)
    .bind(c.cancel_url)
    .bind(c.intent_id)
    .bind(ts(c.created_at))
    .bind(ts(c.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The card was declined; the session stays open for another try.
pub async fn set_decline(
    conn: &mut Conn,
    session_id: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sandbox_checkouts SET decline_message = $2 WHERE session_id = $1")
        .bind(session_id)
        .bind(message)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn complete(
    conn: &mut Conn,
    session_id: &str,
    payment_status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sandbox_checkouts SET status = 'complete', payment_status = $2, decline_message = NULL WHERE session_id = $1",
    )
    .bind(session_id)
    .bind(payment_status)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_paid(conn: &mut Conn, session_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sandbox_checkouts SET payment_status = 'paid' WHERE session_id = $1")
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Expires the session if it is open. Returns whether it was.
pub async fn expire_open(conn: &mut Conn, session_id: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE sandbox_checkouts SET status = 'expired' WHERE session_id = $1 AND status = 'open'",
    )
    .bind(session_id)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub async fn schedule_delivery(
    conn: &mut Conn,
    payload: &str,
    deliver_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sandbox_deliveries (payload, deliver_at) VALUES ($1, $2)")
        .bind(payload)
        .bind(ts(deliver_at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deliveries due at `now`, oldest first.
pub async fn due_deliveries(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT delivery_id, payload FROM sandbox_deliveries
         WHERE delivered_at IS NULL AND deliver_at <= $1 ORDER BY deliver_at, delivery_id LIMIT $2",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Delivery {
                delivery_id: r.try_get("delivery_id")?,
                payload: r.try_get("payload")?,
            })
        })
        .collect()
}

pub async fn delivered(
    conn: &mut Conn,
    delivery_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sandbox_deliveries SET delivered_at = $2, attempts = attempts + 1 WHERE delivery_id = $1")
        .bind(delivery_id)
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// A failed delivery, tried again at `at`.
pub async fn retry_delivery(
    conn: &mut Conn,
    delivery_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sandbox_deliveries SET deliver_at = $2, attempts = attempts + 1 WHERE delivery_id = $1")
        .bind(delivery_id)
        .bind(ts(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// The payloads of deliveries scheduled from `since` to `until`, in order.
pub async fn payloads_between(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT payload FROM sandbox_deliveries WHERE deliver_at >= $1 AND deliver_at <= $2 ORDER BY deliver_at, delivery_id",
    )
    .bind(ts(since))
    .bind(ts(until))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("payload")).collect()
}
