//! Stored gateway events: inserted once under their id, claimed by the
//! worker with a lease, marked processed in the transaction that applied them.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::{ts, Backend};

#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub attempts: i64,
}

/// Stores an event unless one with its id is already there. Returns
/// whether it was new.
pub async fn insert_if_new(
    conn: &mut Conn,
    event_id: &str,
    event_type: &str,
    gateway_created: i64,
    payload: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO webhook_events (event_id, event_type, gateway_created, payload, source, received_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(event_type)
    .bind(gateway_created)
    .bind(payload)
    .bind(source)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Claims up to `limit` unprocessed events that are due, in the order
/// Stripe created them, leasing them until `lease_until`.
pub async fn claim_due(
    conn: &mut Conn,
    backend: Backend,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let events_table = super::leases::JobTable {
        table: "webhook_events",
        key: "event_id",
        unfinished: "processed_at IS NULL",
        order_by: "gateway_created, event_id",
        returning: "event_id, event_type, payload, attempts, gateway_created",
    };
    let rows =
        super::leases::claim_due(conn, backend, &events_table, now, lease_until, limit).await?;
    let mut events: Vec<(i64, StoredEvent)> = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get("gateway_created")?,
                StoredEvent {
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("event_type")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    events.sort_by(|a, b| (a.0, &a.1.event_id).cmp(&(b.0, &b.1.event_id)));
    Ok(events.into_iter().map(|(_, e)| e).collect())
}

/// Marks an event processed unless another worker already did (returns
/// false then, and the caller rolls back).
pub async fn mark_processed(
    conn: &mut Conn,
    event_id: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_events SET processed_at = $2, outcome = $3, locked_until = NULL, last_error = NULL
         WHERE event_id = $1 AND processed_at IS NULL",
    )
    .bind(event_id)
    .bind(ts(now))
    .bind(outcome)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Schedules another try of an event that could not be applied yet.
pub async fn retry_later(
    conn: &mut Conn,
    event_id: &str,
    error: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_events SET next_attempt_at = $2, last_error = $3, locked_until = NULL
         WHERE event_id = $1 AND processed_at IS NULL",
    )
    .bind(event_id)
    .bind(ts(at))
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// (processed, waiting) counts, for the CLI and tests.
pub async fn counts(conn: &mut Conn) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN processed_at IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) AS processed,
                CAST(COALESCE(SUM(CASE WHEN processed_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting
         FROM webhook_events",
    )
    .fetch_one(conn)
    .await?;
    Ok((row.get("processed"), row.get("waiting")))
}

/// Events AR should look at: set aside after too many tries, newest first.
pub async fn set_aside(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT event_id, event_type, outcome FROM webhook_events
         WHERE outcome LIKE 'set aside%' ORDER BY processed_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("event_id"), r.get("event_type"), r.get("outcome")))
        .collect())
}
