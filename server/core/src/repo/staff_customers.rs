//! What AR's customer page reads that no other page does: the account's
//! contacts with their roles, and its audit events as a timeline.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::domain::ContactRole;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountContact {
    pub contact_id: i64,
    pub name: String,
    pub email: String,
    pub role: ContactRole,
    pub disabled: bool,
}

/// The account's contacts, active ones first, by name.
pub async fn contacts(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<AccountContact>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.contact_id, p.name, p.email, cc.role, p.disabled_at
         FROM customer_contacts cc JOIN contacts p ON p.contact_id = cc.contact_id
         WHERE cc.customer_id = $1
         ORDER BY CASE WHEN p.disabled_at IS NULL THEN 0 ELSE 1 END, p.name, p.contact_id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountContact {
                contact_id: r.try_get("contact_id")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                role: decode(r, "customer_contacts", "role")?,
                disabled: r.try_get::<Option<String>, _>("disabled_at")?.is_some(),
            })
        })
        .collect()
}

/// One audit event of the account, with who did it by name. `detail` is
/// deliberately not read: the timeline says what happened in words of its
/// own and never repeats stored values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEvent {
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub subject: Option<String>,
}

/// The account's newest `limit` audit events, newest first (index
/// `audit_events_customer`).
pub async fn account_events(
    conn: &mut Conn,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<AccountEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.occurred_at, a.actor_kind, a.action, a.subject,
                CASE WHEN a.actor_kind = 'contact' THEN p.name
                     WHEN a.actor_kind = 'staff' THEN s.name END AS actor_name
         FROM audit_events a
         LEFT JOIN contacts p ON a.actor_kind = 'contact' AND p.contact_id = a.actor_id
         LEFT JOIN staff_users s ON a.actor_kind = 'staff' AND s.staff_id = a.actor_id
         WHERE a.customer_id = $1
         ORDER BY a.occurred_at DESC, a.audit_event_id DESC LIMIT $2",
    )
    .bind(customer_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountEvent {
                occurred_at: decode(r, "audit_events", "occurred_at")?,
                actor_kind: r.try_get("actor_kind")?,
                actor_name: r.try_get("actor_name")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
            })
        })
        .collect()
}

/// The numbers of these invoices of the account, as (id, number).
pub async fn invoice_numbers(
    conn: &mut Conn,
    customer_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if invoice_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers parsed by the caller: safe to list inline.
    let list = invoice_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT invoice_id, number FROM invoices WHERE customer_id = $1 AND invoice_id IN ({list})"
    ))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("invoice_id")?, r.try_get("number")?)))
        .collect()
}

/// The customer's language (issue 15: its documents' /Lang): `None` for
/// an unknown customer, `Some(None)` when not set.
pub async fn customer_language(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<Option<String>>, sqlx::Error> {
    let row = sqlx::query("SELECT language FROM customers WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("language")).transpose()
}

/// Sets (or, with `None`, clears) the customer's language; false for an
/// unknown customer.
pub async fn set_customer_language(
    conn: &mut Conn,
    customer_id: i64,
    language: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE customers SET language = $2 WHERE customer_id = $1")
        .bind(customer_id)
        .bind(language)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
