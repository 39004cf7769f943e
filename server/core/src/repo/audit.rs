use super::Conn;
use crate::db::ts;
use crate::domain::audit::Action;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One line of the audit log. `detail` is JSON and must never hold a secret.
#[derive(Clone, Debug)]
pub struct AuditEvent<'a> {
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub action: Action,
    pub detail: serde_json::Value,
    pub ip: Option<&'a str>,
    /// What the event is about, e.g. `invoice:42`, for per-record activity.
    pub subject: Option<String>,
}

pub async fn record(
    conn: &mut Conn,
    at: DateTime<Utc>,
    event: AuditEvent<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (occurred_at, actor_kind, actor_id, customer_id, action, detail, ip, subject)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ts(at))
    .bind(event.actor_kind)
    .bind(event.actor_id)
    .bind(event.customer_id)
    .bind(event.action.as_str())
    .bind(event.detail.to_string())
    .bind(event.ip)
    .bind(event.subject)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many times `action` was logged about `subject` after `since`.
pub async fn count_since(
    conn: &mut Conn,
    action: Action,
    subject: &str,
    since: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE subject = $1 AND action = $2
         AND occurred_at > $3",
    )
    .bind(subject)
    .bind(action.as_str())
    .bind(ts(since))
    .fetch_one(conn)
    .await?;
    row.try_get("n")
}
