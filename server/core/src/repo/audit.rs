use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::ts;

/// One line of the audit log. `detail` is JSON and must never hold a secret.
#[derive(Clone, Debug)]
pub struct AuditEvent<'a> {
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub action: &'a str,
    pub detail: serde_json::Value,
    pub ip: Option<&'a str>,
}

pub async fn record(
    conn: &mut Conn,
    at: DateTime<Utc>,
    event: AuditEvent<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (occurred_at, actor_kind, actor_id, customer_id, action, detail, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ts(at))
    .bind(event.actor_kind)
    .bind(event.actor_id)
    .bind(event.customer_id)
    .bind(event.action)
    .bind(event.detail.to_string())
    .bind(event.ip)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub occurred_at: String,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub detail: String,
}

pub async fn recent_by_action_prefix(
    conn: &mut Conn,
    prefix: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT occurred_at, actor_kind, actor_id, action, detail FROM audit_events
         WHERE action LIKE $1 ORDER BY audit_event_id DESC LIMIT $2",
    )
    .bind(format!("{prefix}%"))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditRow {
            occurred_at: r.get("occurred_at"),
            actor_kind: r.get("actor_kind"),
            actor_id: r.get("actor_id"),
            action: r.get("action"),
            detail: r.get("detail"),
        })
        .collect())
}
