//! What AR's figures read (issue 11 item 7): counts the database sums, and
//! the SLA events of the few requests whose clocks the figures need.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::ts;
use crate::domain::request::RequestKind;
use crate::domain::sla::SlaEvent;

/// Open requests (open or waiting on the customer) per kind.
pub async fn open_by_kind(conn: &mut Conn) -> Result<Vec<(RequestKind, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kind, CAST(COUNT(*) AS BIGINT) AS n FROM requests
         WHERE status IN ('open', 'waiting_on_customer') GROUP BY kind",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((decode(r, "requests", "kind")?, r.try_get("n")?)))
        .collect()
}

/// A request's kind and one of its SLA events.
pub type KindEvent = (i64, RequestKind, SlaEvent);

fn kind_event(r: &AnyRow) -> Result<KindEvent, sqlx::Error> {
    let detail: String = r.try_get("detail")?;
    let event = serde_json::from_str(&detail).map_err(|e| sqlx::Error::ColumnDecode {
        index: "request_events.detail".into(),
        source: format!("{detail:?} is not an SLA event: {e}").into(),
    })?;
    Ok((
        r.try_get("request_id")?,
        decode(r, "requests", "kind")?,
        event,
    ))
}

/// Every SLA event of the requests `which` selects (a condition on `r`,
/// requests, with `$1` the instant `since`), by request and in the order
/// they happened.
async fn events_of(
    conn: &mut Conn,
    which: &str,
    since: DateTime<Utc>,
) -> Result<Vec<KindEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT e.request_id, r.kind, e.detail FROM request_events e
         JOIN requests r ON r.request_id = e.request_id
         WHERE {which}
         ORDER BY e.request_id, e.at, e.event_id"
    ))
    .bind(ts(since))
    .fetch_all(conn)
    .await?;
    rows.iter().map(kind_event).collect()
}

/// The events of the requests whose first staff reply was at or after
/// `since`, found through `request_events_event` (migration 0013): a reply
/// in the range, with no earlier reply of the same request.
pub async fn first_replied_since(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<KindEvent>, sqlx::Error> {
    events_of(
        conn,
        "r.request_id IN (
             SELECT f.request_id FROM request_events f
             WHERE f.event = 'staff_replied' AND f.at >= $1
               AND NOT EXISTS (SELECT 1 FROM request_events p
                               WHERE p.request_id = f.request_id AND p.event = 'staff_replied'
                                 AND p.at < $1))",
        since,
    )
    .await
}

/// The events of the requests that could have breached a target at or
/// after `since`: those open now and those closed since.
pub async fn active_since(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<KindEvent>, sqlx::Error> {
    events_of(
        conn,
        "r.status IN ('open', 'waiting_on_customer') OR r.resolved_at >= $1",
        since,
    )
    .await
}

/// Requests opened, and requests resolved (not withdrawn), in each of the
/// consecutive periods `bounds[i]..bounds[i + 1]`: one aggregate read.
pub async fn opened_and_resolved(
    conn: &mut Conn,
    bounds: &[DateTime<Utc>],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if bounds.len() < 2 {
        return Ok(Vec::new());
    }
    let periods = bounds.len() - 1;
    // $1..$n are the bounds; each period sums two CASEs over them.
    let mut columns = Vec::with_capacity(periods * 2);
    for i in 0..periods {
        let (from, to) = (i + 1, i + 2);
        columns.push(format!(
            "CAST(SUM(CASE WHEN opened_at >= ${from} AND opened_at < ${to} THEN 1 ELSE 0 END) AS BIGINT) AS o{i}"
        ));
        columns.push(format!(
            "CAST(SUM(CASE WHEN status = 'resolved' AND resolved_at >= ${from} AND resolved_at < ${to}
                           THEN 1 ELSE 0 END) AS BIGINT) AS r{i}"
        ));
    }
    let sql = format!(
        "SELECT {} FROM requests WHERE opened_at >= $1 OR resolved_at >= $1",
        columns.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for bound in bounds {
        query = query.bind(ts(*bound));
    }
    let row = query.fetch_one(conn).await?;
    (0..periods)
        .map(|i| {
            let o: Option<i64> = row.try_get(format!("o{i}").as_str())?;
            let r: Option<i64> = row.try_get(format!("r{i}").as_str())?;
            Ok((o.unwrap_or(0), r.unwrap_or(0)))
        })
        .collect()
}

/// A fingerprint of the stored SLA settings: figures computed with other
/// settings are computed again at once.
pub async fn settings_fingerprint(conn: &mut Conn) -> Result<u64, sqlx::Error> {
    use std::hash::{Hash, Hasher};
    let rows = sqlx::query("SELECT key, value FROM sla_settings ORDER BY key")
        .fetch_all(conn)
        .await?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for r in &rows {
        r.try_get::<String, _>("key")?.hash(&mut hasher);
        r.try_get::<String, _>("value")?.hash(&mut hasher);
    }
    Ok(hasher.finish())
}
