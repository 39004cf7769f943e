//! Claiming due rows of a job table with a lease, the one way every worker
//! does it (the outbox, webhook events, and the scheduled jobs):
//! rows whose `next_attempt_at` has come and whose lease (`locked_until`) is
//! free get a new lease and one more attempt in a single UPDATE. PostgreSQL
//! skips rows another instance is claiming (`FOR UPDATE SKIP LOCKED`);
//! SQLite's single writer needs no such clause. A worker that dies leaves a
//! lease that simply runs out.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::Conn;
use crate::db::{ts, Backend};

/// A job table as the claim needs it.
pub struct JobTable {
    pub table: &'static str,
    pub key: &'static str,
    /// Extra condition for a row still to be done, e.g. `status = 'pending'`.
    pub unfinished: &'static str,
    /// Which due rows go first.
    pub order_by: &'static str,
    /// The columns the claim returns.
    pub returning: &'static str,
}

/// Claims up to `limit` due rows until `lease_until`. An UPDATE … RETURNING
/// gives no order: callers sort what they get.
pub async fn claim_due(
    conn: &mut Conn,
    backend: Backend,
    jobs: &JobTable,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let JobTable {
        table,
        key,
        unfinished,
        order_by,
        returning,
    } = jobs;
    let sql = format!(
        "UPDATE {table} SET locked_until = $2, attempts = attempts + 1
         WHERE {key} IN (
             SELECT {key} FROM {table}
             WHERE {unfinished} AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
             ORDER BY {order_by} LIMIT $3 {lock})
         RETURNING {returning}"
    );
    sqlx::query(&sql)
        .bind(ts(now))
        .bind(ts(lease_until))
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// The jobs of `scheduled_jobs`, one row each (migrations 0011, 0014,
/// 0015, 0017): a run is claimed with a lease so one instance runs it at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduledJob {
    SlaAlerts,
    PlanChecks,
    Autopay,
    Reminders,
}

impl ScheduledJob {
    pub fn name(self) -> &'static str {
        match self {
            Self::SlaAlerts => "sla_alerts",
            Self::PlanChecks => "plan_checks",
            Self::Autopay => "autopay",
            Self::Reminders => "reminders",
        }
    }

    /// The claim's condition; the names are ours, never input.
    fn condition(self) -> &'static str {
        match self {
            Self::SlaAlerts => "name = 'sla_alerts'",
            Self::PlanChecks => "name = 'plan_checks'",
            Self::Autopay => "name = 'autopay'",
            Self::Reminders => "name = 'reminders'",
        }
    }
}

/// Claims `job` until `lease_until` if its next run is due and no other
/// instance holds it: `true` when this caller runs it.
pub async fn claim_scheduled_job(
    conn: &mut Conn,
    backend: Backend,
    job: ScheduledJob,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let rows = claim_due(
        conn,
        backend,
        &JobTable {
            table: "scheduled_jobs",
            key: "name",
            unfinished: job.condition(),
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
pub async fn scheduled_job_done(
    conn: &mut Conn,
    job: ScheduledJob,
    next: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scheduled_jobs SET locked_until = NULL, attempts = 0, next_attempt_at = $2
         WHERE name = $1",
    )
    .bind(job.name())
    .bind(ts(next))
    .execute(conn)
    .await?;
    Ok(())
}
