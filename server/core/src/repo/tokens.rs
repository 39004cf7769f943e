use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::ts;

pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub purpose: &'a str,
    pub principal_id: i64,
    pub expires_at: DateTime<Utc>,
    pub requested_ip: Option<&'a str>,
}

pub async fn insert(
    conn: &mut Conn,
    now: DateTime<Utc>,
    token: NewToken<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, principal_id, created_at, expires_at, requested_ip)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.token_hash)
    .bind(token.purpose)
    .bind(token.principal_id)
    .bind(ts(now))
    .bind(ts(token.expires_at))
    .bind(token.requested_ip)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the token used if, and only if, it is unused and unexpired; the
/// single UPDATE makes two simultaneous clicks redeem it at most once.
pub async fn redeem(
    conn: &mut Conn,
    token_hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE one_time_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING principal_id",
    )
    .bind(ts(now))
    .bind(token_hash)
    .bind(purpose)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.get("principal_id")))
}

pub struct TokenState {
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

pub async fn find(conn: &mut Conn, token_hash: &str) -> Result<Option<TokenState>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT purpose, expires_at, used_at FROM one_time_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(TokenState {
            purpose: r.try_get("purpose")?,
            expires_at: super::decode::decode(&r, "one_time_tokens", "expires_at")?,
            used: r.try_get::<Option<String>, _>("used_at")?.is_some(),
        })
    })
    .transpose()
}

/// Counts this email's sign-in requests since `since`, and the oldest of them.
pub async fn sign_in_requests_since(
    conn: &mut Conn,
    email_hash: &str,
    area: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(requested_at) AS oldest FROM sign_in_requests
         WHERE email_hash = $1 AND area = $2 AND requested_at > $3",
    )
    .bind(email_hash)
    .bind(area)
    .bind(ts(since))
    .fetch_one(conn)
    .await?;
    Ok((
        row.try_get("n")?,
        super::decode::decode_opt(&row, "sign_in_requests", "oldest")?,
    ))
}

pub async fn record_sign_in_request(
    conn: &mut Conn,
    email_hash: &str,
    area: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sign_in_requests (email_hash, area, ip, requested_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(email_hash)
    .bind(area)
    .bind(ip)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}
