//! Reminders' recipients (migration 0019): the account's billing address,
//! one-click unsubscribes from optional steps and their tokens, and the AR
//! queue item a broken promise leaves.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::ts;

/// One address a reminder goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// None: the account's billing address.
    pub contact_id: Option<i64>,
    /// The contact's name; the customer's name for the billing address.
    pub name: String,
    pub email: String,
    /// Unsubscribed from this customer's optional steps.
    pub unsubscribed: bool,
}

/// How addresses are compared and stored here.
pub fn address_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Every payer and admin contact (not disabled), then the billing address
/// unless it is one of theirs: one entry per address.
pub async fn recipients(conn: &mut Conn, customer_id: i64) -> Result<Vec<Recipient>, sqlx::Error> {
    let contacts = super::reminders::recipients(conn, customer_id).await?;
    let billing = sqlx::query(
        "SELECT c.name, r.billing_email FROM customers c
         LEFT JOIN customer_reminders r ON r.customer_id = c.customer_id
         WHERE c.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let unsubscribed: HashSet<String> = unsubscribed(conn, customer_id)
        .await?
        .into_iter()
        .map(|(email, _)| email)
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (contact_id, name, email) in contacts {
        if seen.insert(address_key(&email)) {
            out.push(Recipient {
                unsubscribed: unsubscribed.contains(&address_key(&email)),
                contact_id: Some(contact_id),
                name,
                email,
            });
        }
    }
    if let Some(row) = billing {
        let name: String = row.try_get("name")?;
        let email: Option<String> = row.try_get("billing_email")?;
        if let Some(email) = email.filter(|e| seen.insert(address_key(e))) {
            out.push(Recipient {
                unsubscribed: unsubscribed.contains(&address_key(&email)),
                contact_id: None,
                name,
                email,
            });
        }
    }
    Ok(out)
}

pub async fn billing_email(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT billing_email FROM customer_reminders WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("billing_email")?,
        None => None,
    })
}

/// Sets (or, with None, clears) the billing address, keeping the rest of
/// the customer's reminder settings.
pub async fn store_billing_email(
    conn: &mut Conn,
    customer_id: i64,
    email: Option<&str>,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO customer_reminders (customer_id, billing_email, updated_at, updated_by_staff_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id) DO UPDATE SET billing_email = excluded.billing_email,
             updated_at = excluded.updated_at, updated_by_staff_id = excluded.updated_by_staff_id",
    )
    .bind(customer_id)
    .bind(email)
    .bind(ts(now))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_unsubscribe_token(
    conn: &mut Conn,
    token_hash: &str,
    customer_id: i64,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reminder_unsubscribe_tokens (token_hash, customer_id, email, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(customer_id)
    .bind(address_key(email))
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Who a token unsubscribes: (customer, its name, address, already unsubscribed).
pub async fn unsubscribe_target(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<(i64, String, String, bool)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.customer_id, c.name, t.email,
                CASE WHEN u.email IS NULL THEN 0 ELSE 1 END AS already
         FROM reminder_unsubscribe_tokens t
         JOIN customers c ON c.customer_id = t.customer_id
         LEFT JOIN reminder_unsubscribes u ON u.customer_id = t.customer_id AND u.email = t.email
         WHERE t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let already: i32 = r.try_get("already")?;
        Ok((
            r.try_get("customer_id")?,
            r.try_get("name")?,
            r.try_get("email")?,
            already == 1,
        ))
    })
    .transpose()
}

/// Unsubscribes the address; false when it already was.
pub async fn unsubscribe(
    conn: &mut Conn,
    customer_id: i64,
    email: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO reminder_unsubscribes (customer_id, email, unsubscribed_at) VALUES ($1, $2, $3)
         ON CONFLICT (customer_id, email) DO NOTHING",
    )
    .bind(customer_id)
    .bind(address_key(email))
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn resubscribe(
    conn: &mut Conn,
    customer_id: i64,
    email: &str,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM reminder_unsubscribes WHERE customer_id = $1 AND email = $2")
            .bind(customer_id)
            .bind(address_key(email))
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// The customer's unsubscribed addresses, with when.
pub async fn unsubscribed(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT email, unsubscribed_at FROM reminder_unsubscribes WHERE customer_id = $1 ORDER BY email",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("email")?,
                decode(r, "reminder_unsubscribes", "unsubscribed_at")?,
            ))
        })
        .collect()
}

/// Opens AR's queue item for a promise not kept (kind 'promise'), unless
/// the promise has one (the partial unique index): the request id when
/// this call added it.
pub async fn insert_promise_item(
    conn: &mut Conn,
    customer_id: i64,
    promise_id: i64,
    invoice_id: Option<i64>,
    currency: &str,
    opened_by_contact_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO requests (customer_id, kind, status, priority, invoice_id, currency,
             opened_by_contact_id, opened_at, promise_id)
         VALUES ($1, 'promise', 'open', 'normal', $2, $3, $4, $5, $6)
         ON CONFLICT (promise_id) WHERE promise_id IS NOT NULL DO NOTHING
         RETURNING request_id",
    )
    .bind(customer_id)
    .bind(invoice_id)
    .bind(currency)
    .bind(opened_by_contact_id)
    .bind(ts(now))
    .bind(promise_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("request_id")).transpose()
}

/// The contact a promise item is opened in the name of: the one who
/// promised, else (a promise taken by phone) the account's first payer or
/// admin, else any contact of the account.
pub async fn promise_item_contact(
    conn: &mut Conn,
    customer_id: i64,
    promised_by: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    if promised_by.is_some() {
        return Ok(promised_by);
    }
    let row = sqlx::query(
        "SELECT cc.contact_id FROM customer_contacts cc
         WHERE cc.customer_id = $1
         ORDER BY CASE WHEN cc.role IN ('payer', 'admin') THEN 0 ELSE 1 END, cc.contact_id
         LIMIT 1",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("contact_id")).transpose()
}

/// What a promise item shows: the promise as judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromiseFacts {
    pub promised_on: String,
    pub currency: String,
    /// What was promised (the amount, else what the invoices owed).
    pub promised_minor: i64,
    pub paid_minor: i64,
    pub status: String,
    pub channel: String,
    pub invoice_numbers: Vec<String>,
}

pub async fn promise_facts(
    conn: &mut Conn,
    request_id: i64,
) -> Result<Option<PromiseFacts>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.promise_id, p.promised_on, p.currency, COALESCE(p.amount_minor, p.owed_minor) AS promised_minor,
                COALESCE(p.paid_minor, 0) AS paid_minor, p.status, p.channel
         FROM requests r JOIN promises_to_pay p ON p.promise_id = r.promise_id
         WHERE r.request_id = $1",
    )
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let promise_id: i64 = r.try_get("promise_id")?;
    let numbers = sqlx::query(
        "SELECT i.number FROM promise_invoices pi JOIN invoices i ON i.invoice_id = pi.invoice_id
         WHERE pi.promise_id = $1 ORDER BY i.due_date, i.invoice_id",
    )
    .bind(promise_id)
    .fetch_all(conn)
    .await?;
    Ok(Some(PromiseFacts {
        promised_on: r.try_get("promised_on")?,
        currency: r.try_get("currency")?,
        promised_minor: r.try_get("promised_minor")?,
        paid_minor: r.try_get("paid_minor")?,
        status: r.try_get("status")?,
        channel: r.try_get("channel")?,
        invoice_numbers: numbers
            .iter()
            .map(|n| n.try_get("number"))
            .collect::<Result<_, _>>()?,
    }))
}
