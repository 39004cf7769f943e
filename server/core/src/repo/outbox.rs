//! The email outbox. Rows are claimed with a lease (`locked_until`): a worker
//! that dies mid-send leaves the row to be retried when the lease runs out,
//! so a committed email is never lost (it may, rarely, be sent twice: SMTP
//! gives no exactly-once).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::{ts, Backend};

pub struct NewEmail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
}

pub async fn enqueue(
    conn: &mut Conn,
    now: DateTime<Utc>,
    email: NewEmail<'_>,
) -> Result<i64, sqlx::Error> {
    enqueue_with_headers(conn, now, email, None).await
}

/// `enqueue` with extra header lines ("Name: value", one a line) that the
/// SMTP transport sends as they are (a reminder's List-Unsubscribe pair).
pub async fn enqueue_with_headers(
    conn: &mut Conn,
    now: DateTime<Utc>,
    email: NewEmail<'_>,
    headers: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO email_outbox (to_address, subject, text_body, html_body, headers, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) RETURNING email_id",
    )
    .bind(email.to)
    .bind(email.subject)
    .bind(email.text_body)
    .bind(email.html_body)
    .bind(headers)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Ok(row.get("email_id"))
}

#[derive(Clone, Debug)]
pub struct OutboxEmail {
    pub email_id: i64,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// Extra header lines ("Name: value", one a line).
    pub headers: Option<String>,
    pub attempts: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

fn from_row(r: sqlx::any::AnyRow) -> Result<OutboxEmail, sqlx::Error> {
    Ok(OutboxEmail {
        email_id: r.try_get("email_id")?,
        to_address: r.try_get("to_address")?,
        subject: r.try_get("subject")?,
        text_body: r.try_get("text_body")?,
        html_body: r.try_get("html_body")?,
        headers: r.try_get("headers")?,
        attempts: r.try_get("attempts")?,
        status: r.try_get("status")?,
        created_at: super::decode::decode(&r, "email_outbox", "created_at")?,
        sent_at: super::decode::decode_opt(&r, "email_outbox", "sent_at")?,
        last_error: r.try_get("last_error")?,
    })
}

const COLUMNS: &str = "email_id, to_address, subject, text_body, html_body, headers, attempts, status, created_at, sent_at, last_error";

/// Claims up to `limit` due emails for `lease`. On PostgreSQL several
/// instances claim concurrently without blocking each other (SKIP LOCKED);
/// SQLite has a single writer, so the UPDATE alone is atomic.
pub async fn claim_due(
    conn: &mut Conn,
    backend: Backend,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OutboxEmail>, sqlx::Error> {
    let outbox = super::leases::JobTable {
        table: "email_outbox",
        key: "email_id",
        unfinished: "status = 'pending'",
        order_by: "email_id",
        returning: COLUMNS,
    };
    let rows = super::leases::claim_due(conn, backend, &outbox, now, lease_until, limit).await?;
    let mut emails = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    emails.sort_by_key(|e| e.email_id);
    Ok(emails)
}

/// Bodies (text, HTML) and header lines to store in place of the sent
/// ones (tokens redacted); `None` keeps them as they are.
pub type Rewritten<'a> = Option<(&'a str, &'a str, Option<&'a str>)>;

/// Marks the email sent and, in the same UPDATE, replaces its bodies and
/// headers with `bodies` when given.
pub async fn mark_sent(
    conn: &mut Conn,
    email_id: i64,
    transport: &str,
    now: DateTime<Utc>,
    bodies: Rewritten<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE email_outbox SET status = 'sent', transport = $2, sent_at = $3, locked_until = NULL, last_error = NULL,
                 text_body = COALESCE($4, text_body), html_body = COALESCE($5, html_body),
                 headers = COALESCE($6, headers)
                 WHERE email_id = $1")
        .bind(email_id)
        .bind(transport)
        .bind(ts(now))
        .bind(bodies.map(|(text, _, _)| text))
        .bind(bodies.map(|(_, html, _)| html))
        .bind(bodies.and_then(|(_, _, headers)| headers))
        .execute(conn)
        .await?;
    Ok(())
}

/// Schedules another try, or gives up (status `failed`, kept for AR to see,
/// with `bodies` in place of the old ones when given: a mail that will
/// never be sent keeps no live link either).
pub async fn mark_attempt_failed(
    conn: &mut Conn,
    email_id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    bodies: Rewritten<'_>,
) -> Result<(), sqlx::Error> {
    match retry_at {
        Some(at) => {
            sqlx::query("UPDATE email_outbox SET next_attempt_at = $2, locked_until = NULL, last_error = $3 WHERE email_id = $1")
                .bind(email_id)
                .bind(ts(at))
                .bind(error)
                .execute(conn)
                .await?
        }
        None => {
            sqlx::query("UPDATE email_outbox SET status = 'failed', locked_until = NULL, last_error = $2,
                         text_body = COALESCE($3, text_body), html_body = COALESCE($4, html_body),
                         headers = COALESCE($5, headers)
                         WHERE email_id = $1")
                .bind(email_id)
                .bind(error)
                .bind(bodies.map(|(text, _, _)| text))
                .bind(bodies.map(|(_, html, _)| html))
                .bind(bodies.and_then(|(_, _, headers)| headers))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// The newest emails, for the dev mailbox page.
pub async fn recent(conn: &mut Conn, limit: i64) -> Result<Vec<OutboxEmail>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM email_outbox ORDER BY email_id DESC LIMIT $1");
    let rows = sqlx::query(&sql).bind(limit).fetch_all(conn).await?;
    rows.into_iter().map(from_row).collect()
}
