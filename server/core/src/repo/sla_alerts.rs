//! SLA alerts already queued (migration 0011) and the schedule of the job
//! that queues them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::ts;

/// One alert: (request id, target, target number, level), as stored.
pub type AlertKey = (i64, String, i64, String);

/// The alerts already queued for requests still open (open or waiting on
/// the customer): the job leaves these out before it opens a transaction.
pub async fn sent_for_open_requests(conn: &mut Conn) -> Result<HashSet<AlertKey>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.request_id, a.target, a.target_number, a.level FROM sla_alerts a
         JOIN requests r ON r.request_id = a.request_id
         WHERE r.status IN ('open', 'waiting_on_customer')",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("request_id")?,
                r.try_get("target")?,
                r.try_get("target_number")?,
                r.try_get("level")?,
            ))
        })
        .collect()
}

/// Records an alert as queued: `false` when it already was (by another
/// run or instance). The primary key decides; on PostgreSQL a second
/// insert of the same key waits for the first transaction and then adds
/// nothing.
pub async fn record(
    conn: &mut Conn,
    key: &AlertKey,
    recipients: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let (request_id, target, target_number, level) = key;
    let done = sqlx::query(
        "INSERT INTO sla_alerts (request_id, target, target_number, level, recipients, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (request_id, target, target_number, level) DO NOTHING",
    )
    .bind(request_id)
    .bind(target.as_str())
    .bind(target_number)
    .bind(level.as_str())
    .bind(recipients)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
