//! Claiming due rows of a job table with a lease, the one way every worker
//! does it (the outbox, webhook events, and the scheduled jobs to come):
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
