//! The reason codes AR admins keep (`request_reasons`, migration 0007):
//! the full list with retired ones, and its writes. The form's list of
//! active reasons is `repo::requests::active_reasons`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Conn;
use crate::db::ts;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonAdminRow {
    pub reason_id: i64,
    pub code: String,
    pub label: String,
    pub position: i64,
    pub retired: bool,
    /// How many requests name it (they keep it when it is retired).
    pub used_by: i64,
}

/// Every reason, active and retired, in the form's order.
pub async fn all_reasons(conn: &mut Conn) -> Result<Vec<ReasonAdminRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT rr.reason_id, rr.code, rr.label, CAST(rr.position AS BIGINT) AS position,
                rr.retired_at,
                CAST((SELECT COUNT(*) FROM requests r WHERE r.reason_id = rr.reason_id) AS BIGINT)
                    AS used_by
         FROM request_reasons rr ORDER BY rr.position, rr.reason_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReasonAdminRow {
                reason_id: r.try_get("reason_id")?,
                code: r.try_get("code")?,
                label: r.try_get("label")?,
                position: r.try_get("position")?,
                retired: r.try_get::<Option<String>, _>("retired_at")?.is_some(),
                used_by: r.try_get("used_by")?,
            })
        })
        .collect()
}

/// Adds a reason after the last one; `None` when the code exists already
/// (the unique code decides a race).
pub async fn insert_reason(
    conn: &mut Conn,
    code: &str,
    label: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO request_reasons (code, label, position)
         SELECT $1, $2, COALESCE(MAX(position), 0) + 10 FROM request_reasons WHERE true
         ON CONFLICT (code) DO NOTHING RETURNING reason_id",
    )
    .bind(code)
    .bind(label)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("reason_id")).transpose()
}

/// Sets a reason's label and position; false if the code is unknown or
/// both were already so.
pub async fn update_reason(
    conn: &mut Conn,
    code: &str,
    label: &str,
    position: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE request_reasons SET label = $2, position = $3
         WHERE code = $1 AND (label <> $2 OR position <> $3)",
    )
    .bind(code)
    .bind(label)
    .bind(position)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Retires an active reason (`Some(now)`) or reactivates a retired one
/// (`None`); false when it already was so (or the code is unknown).
pub async fn set_retired(
    conn: &mut Conn,
    code: &str,
    retired_at: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let done =
        match retired_at {
            Some(at) => sqlx::query(
                "UPDATE request_reasons SET retired_at = $2 WHERE code = $1 AND retired_at IS NULL",
            )
            .bind(code)
            .bind(ts(at))
            .execute(conn)
            .await?,
            None => {
                sqlx::query(
                    "UPDATE request_reasons SET retired_at = NULL
                 WHERE code = $1 AND retired_at IS NOT NULL",
                )
                .bind(code)
                .execute(conn)
                .await?
            }
        };
    Ok(done.rows_affected() == 1)
}
