//! SLA alerts already queued (migration 0011) and the schedule of the job
//! that queues them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::leases::{claim_due, JobTable};
use super::Conn;
use crate::db::{ts, Backend};

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

/// Claims the scheduled job `name` until `lease_until` if its next run is
/// due and no other instance holds it: `true` when this caller runs it.
pub async fn claim_job(
    conn: &mut Conn,
    backend: Backend,
    name: &'static str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // The name is a constant of ours, never input: it can be part of the SQL.
    let unfinished = match name {
        "sla_alerts" => "name = 'sla_alerts'",
        other => unreachable!("no scheduled job {other}"),
    };
    let rows = claim_due(
        conn,
        backend,
        &JobTable {
            table: "scheduled_jobs",
            key: "name",
            unfinished,
            order_by: "name",
            returning: "name",
        },
        now,
        lease_until,
        1,
    )
    .await?;
    Ok(!rows.is_empty())
}

/// The job ran (or failed): its lease ends and its next run is `next`.
pub async fn job_done(conn: &mut Conn, name: &str, next: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scheduled_jobs SET locked_until = NULL, attempts = 0, next_attempt_at = $2
         WHERE name = $1",
    )
    .bind(name)
    .bind(ts(next))
    .execute(conn)
    .await?;
    Ok(())
}
