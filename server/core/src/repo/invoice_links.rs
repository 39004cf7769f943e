//! Links to one invoice, for reminder emails. Only token hashes are stored.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::Conn;
use crate::db::ts;

#[derive(Clone, Debug)]
pub struct InvoiceLinkRow {
    pub invoice_link_id: i64,
    pub invoice_id: i64,
    pub invoice_number: String,
    pub customer_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "l.invoice_link_id, l.invoice_id, i.number, i.customer_id, l.created_at, l.expires_at,
     l.revoked_at, l.created_by, l.last_used_at";

fn link_row(r: &AnyRow) -> Result<InvoiceLinkRow, sqlx::Error> {
    const T: &str = "invoice_links";
    Ok(InvoiceLinkRow {
        invoice_link_id: r.try_get("invoice_link_id")?,
        invoice_id: r.try_get("invoice_id")?,
        invoice_number: r.try_get("number")?,
        customer_id: r.try_get("customer_id")?,
        created_at: decode(r, T, "created_at")?,
        expires_at: decode(r, T, "expires_at")?,
        revoked_at: decode_opt(r, T, "revoked_at")?,
        created_by: r.try_get("created_by")?,
        last_used_at: decode_opt(r, T, "last_used_at")?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    invoice_id: i64,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    created_by: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO invoice_links (invoice_id, token_hash, created_at, expires_at, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING invoice_link_id",
    )
    .bind(invoice_id)
    .bind(token_hash)
    .bind(ts(now))
    .bind(ts(expires_at))
    .bind(created_by)
    .fetch_one(conn)
    .await?;
    Ok(row.get("invoice_link_id"))
}

pub async fn by_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<InvoiceLinkRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoice_links l JOIN invoices i ON i.invoice_id = l.invoice_id
         WHERE l.token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(link_row).transpose()
}

pub async fn by_id(conn: &mut Conn, link_id: i64) -> Result<Option<InvoiceLinkRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoice_links l JOIN invoices i ON i.invoice_id = l.invoice_id
         WHERE l.invoice_link_id = $1"
    ))
    .bind(link_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(link_row).transpose()
}

pub async fn mark_used(
    conn: &mut Conn,
    link_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoice_links SET last_used_at = $2 WHERE invoice_link_id = $1")
        .bind(link_id)
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes a link that is not revoked yet; returns whether it changed.
pub async fn revoke(
    conn: &mut Conn,
    link_id: i64,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invoice_links SET revoked_at = $2, revoked_by = $3
         WHERE invoice_link_id = $1 AND revoked_at IS NULL",
    )
    .bind(link_id)
    .bind(ts(now))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest links, optionally of one invoice number, for AR staff.
pub async fn recent(
    conn: &mut Conn,
    invoice_number: Option<&str>,
    limit: i64,
) -> Result<Vec<InvoiceLinkRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoice_links l JOIN invoices i ON i.invoice_id = l.invoice_id
         WHERE ($1 = '' OR i.number = $1)
         ORDER BY l.created_at DESC, l.invoice_link_id DESC LIMIT $2"
    ))
    .bind(invoice_number.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(link_row).collect()
}

/// Contacts of the invoice's customer who may get a fresh link by email.
pub async fn contact_emails_of_invoice(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.contact_id, c.email FROM invoices i
         JOIN customer_contacts cc ON cc.customer_id = i.customer_id
         JOIN contacts c ON c.contact_id = cc.contact_id
         WHERE i.invoice_id = $1 AND c.disabled_at IS NULL ORDER BY c.email",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("contact_id"), r.get("email")))
        .collect())
}
