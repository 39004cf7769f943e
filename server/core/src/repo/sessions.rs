//! Session rows: written by the tower-sessions store (session_store.rs),
//! listed and ended by the "your sessions" page.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::ts;

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub session_id: i64,
    pub id_hash: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Live sessions of one principal, most recently used first.
pub async fn list_for_principal(
    conn: &mut Conn,
    kind: &str,
    principal_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT session_id, id_hash, user_agent, ip, created_at, last_seen_at FROM sessions
         WHERE principal_kind = $1 AND principal_id = $2 AND expires_at > $3
         ORDER BY last_seen_at DESC",
    )
    .bind(kind)
    .bind(principal_id)
    .bind(ts(now))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(SessionRow {
                session_id: r.try_get("session_id")?,
                id_hash: r.try_get("id_hash")?,
                user_agent: r.try_get("user_agent")?,
                ip: r.try_get("ip")?,
                created_at: super::decode::decode(&r, "sessions", "created_at")?,
                last_seen_at: super::decode::decode(&r, "sessions", "last_seen_at")?,
            })
        })
        .collect()
}

/// Ends one session, only if it belongs to this principal. Returns the
/// ended session's id hash, or `None` if there was no such session of theirs.
pub async fn delete_one_of(
    conn: &mut Conn,
    kind: &str,
    principal_id: i64,
    session_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM sessions WHERE session_id = $1 AND principal_kind = $2 AND principal_id = $3 RETURNING id_hash",
    )
    .bind(session_id)
    .bind(kind)
    .bind(principal_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.get("id_hash")))
}

/// Ends every session of a principal. Returns how many.
pub async fn delete_all_of(
    conn: &mut Conn,
    kind: &str,
    principal_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2")
        .bind(kind)
        .bind(principal_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn delete_expired(conn: &mut Conn, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
