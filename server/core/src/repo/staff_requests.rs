//! AR's side of requests (issue 11): the SLA settings (migration 0008), the
//! queue's reads over the cached SLA positions (migration 0010), the request
//! page's reads, and the writes of assigning, waiting on the customer,
//! changing priority, resolving and issuing a resolution's credit note. The
//! customer's side and the shared writes (messages, events) are in
//! `repo::requests`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::requests::{
    attachment_content, request_row, AttachmentContent, RequestRow, REQUEST_FIELDS, REQUEST_FROM,
};
use super::Conn;
use crate::db::{date_text, ts, Backend};
use crate::domain::request::{priority_as_str, Outcome, RequestKind, RequestStatus};
use crate::domain::sla::{Priority, SlaEvent};
use crate::domain::Currency;

// ---------------------------------------------------------------------------
// SLA settings
// ---------------------------------------------------------------------------

/// Every stored setting as (key, JSON): one read for all of them.
pub async fn settings(conn: &mut Conn) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT key, value FROM sla_settings ORDER BY key")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
        .collect()
}

/// Stores a setting (inserting the key if a database lacks it).
pub async fn set_setting(
    conn: &mut Conn,
    key: &str,
    value: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sla_settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The queue
// ---------------------------------------------------------------------------

/// Who a queue read is narrowed to by assignee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeIs {
    Staff(i64),
    Nobody,
}

/// The filters the database applies; the SLA filter (at risk, breached)
/// needs the fold and is applied by the service.
#[derive(Clone, Debug, Default)]
pub struct QueueWhere {
    pub kind: Option<RequestKind>,
    /// An open status; the queue never reads closed requests.
    pub status: Option<RequestStatus>,
    pub assignee: Option<AssigneeIs>,
    pub customer_id: Option<i64>,
    pub reason_code: Option<String>,
}

enum Bind {
    Int(i64),
    Text(String),
}

impl QueueWhere {
    /// The WHERE clause over `r` (requests) and `rr` (request_reasons) and
    /// its values, the same for both queue reads so they see the same set.
    /// The join the reason filter needs, only when it is set: without it
    /// the count reads the status index alone.
    fn reasons_join(&self) -> &'static str {
        if self.reason_code.is_some() {
            "LEFT JOIN request_reasons rr ON rr.reason_id = r.reason_id"
        } else {
            ""
        }
    }

    fn clause(&self) -> (String, Vec<Bind>) {
        let mut conditions = vec!["r.status IN ('open', 'waiting_on_customer')".to_owned()];
        let mut binds = Vec::new();
        let next = |bind: Bind, binds: &mut Vec<Bind>| {
            binds.push(bind);
            format!("${}", binds.len())
        };
        if let Some(kind) = self.kind {
            let p = next(Bind::Text(kind.as_str().into()), &mut binds);
            conditions.push(format!("r.kind = {p}"));
        }
        if let Some(status) = self.status {
            let p = next(Bind::Text(status.as_str().into()), &mut binds);
            conditions.push(format!("r.status = {p}"));
        }
        match self.assignee {
            Some(AssigneeIs::Staff(id)) => {
                let p = next(Bind::Int(id), &mut binds);
                conditions.push(format!("r.assignee_staff_id = {p}"));
            }
            Some(AssigneeIs::Nobody) => conditions.push("r.assignee_staff_id IS NULL".into()),
            None => {}
        }
        if let Some(id) = self.customer_id {
            let p = next(Bind::Int(id), &mut binds);
            conditions.push(format!("r.customer_id = {p}"));
        }
        if let Some(code) = &self.reason_code {
            let p = next(Bind::Text(code.clone()), &mut binds);
            conditions.push(format!("rr.code = {p}"));
        }
        (conditions.join(" AND "), binds)
    }
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        query = match b {
            Bind::Int(v) => query.bind(v),
            Bind::Text(v) => query.bind(v),
        };
    }
    query
}

/// Which SLA standing the queue is narrowed to, compared with `now` by the
/// query (the cached instants do not move without an event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaWhere {
    /// A breach in the record, or an open target at its warning share now.
    AtRiskOrBreached,
    /// Running and past its earliest due instant: the team is late now.
    Breached,
    /// Running, at its warning share, not yet due.
    AtRisk,
}

impl SlaWhere {
    /// The condition over `r`, with `now` as parameter `now_param`.
    fn condition(self, now_param: &str) -> String {
        match self {
            SlaWhere::AtRiskOrBreached => format!(
                "(r.sla_breached = 1 OR (r.sla_paused = 0 AND r.sla_warn_at <= {now_param}))"
            ),
            SlaWhere::Breached => {
                format!("(r.sla_paused = 0 AND r.sla_next_due <= {now_param})")
            }
            SlaWhere::AtRisk => format!(
                "(r.sla_paused = 0 AND r.sla_warn_at <= {now_param} AND r.sla_next_due > {now_param})"
            ),
        }
    }
}

/// The queue's order over the cached SLA position: running requests by
/// their earliest due instant (the breached ones, due in the past, come
/// first by that alone), then those waiting on the customer by the fewest
/// minutes left; ties by age.
const QUEUE_ORDER: &str =
    "r.sla_paused, r.sla_next_due, r.sla_paused_left, r.opened_at, r.request_id";

/// An open request as the queue lists it: the request, the names to show
/// beside it and its cached SLA position.
#[derive(Clone, Debug)]
pub struct QueueRequest {
    pub request: RequestRow,
    pub customer_name: String,
    pub assignee_name: Option<String>,
    pub position: SlaPosition,
}

/// A request's SLA position as folded from its events (see migration 0010):
/// nothing in it depends on the time it is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPosition {
    pub paused: bool,
    pub next_due: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub breached: bool,
    pub paused_left: i64,
}

fn sla_position(r: &AnyRow) -> Result<SlaPosition, sqlx::Error> {
    const T: &str = "requests";
    let paused: i64 = r.try_get("sla_paused")?;
    let breached: i64 = r.try_get("sla_breached")?;
    Ok(SlaPosition {
        paused: paused != 0,
        next_due: decode_opt(r, T, "sla_next_due")?,
        warn_at: decode_opt(r, T, "sla_warn_at")?,
        breached: breached != 0,
        paused_left: r.try_get("sla_paused_left")?,
    })
}

fn queue_request(r: &AnyRow) -> Result<QueueRequest, sqlx::Error> {
    Ok(QueueRequest {
        request: request_row(r)?,
        customer_name: r.try_get("customer_name")?,
        assignee_name: r.try_get("assignee_name")?,
        position: sla_position(r)?,
    })
}

impl QueueWhere {
    /// The full condition (the filters and the SLA standing as at `now`).
    fn with_sla(&self, sla: Option<SlaWhere>, now: DateTime<Utc>) -> (String, Vec<Bind>) {
        let (mut clause, mut binds) = self.clause();
        if let Some(sla) = sla {
            binds.push(Bind::Text(ts(now)));
            let p = format!("${}", binds.len());
            clause = format!("{clause} AND {}", sla.condition(&p));
        }
        (clause, binds)
    }
}

/// A page of the queue in its order (`limit` `None`: all of it). The page
/// is chosen over `requests` alone (the partial index `requests_sla_queue`
/// holds the order), and only its rows are joined to their names.
///
/// On SQLite the page names that index (`INDEXED BY`): without it SQLite's
/// planner takes the index on status and sorts every open request (10 ms
/// with 10,000 open, against 0.05 ms walking the order's index; see
/// docs/BENCHMARKS.md). PostgreSQL plans it well by itself.
pub async fn queue_page(
    conn: &mut Conn,
    backend: Backend,
    filter: &QueueWhere,
    sla: Option<SlaWhere>,
    now: DateTime<Utc>,
    limit: Option<i64>,
    offset: i64,
) -> Result<Vec<QueueRequest>, sqlx::Error> {
    let (clause, binds) = filter.with_sla(sla, now);
    // Integers, formatted: not user text.
    let window = match limit {
        Some(n) => format!("LIMIT {} OFFSET {}", n.max(0), offset.max(0)),
        None => String::new(),
    };
    let order_index = match backend {
        Backend::Sqlite => "INDEXED BY requests_sla_queue",
        Backend::Postgres => "",
    };
    let reasons = filter.reasons_join();
    let sql = format!(
        "SELECT {REQUEST_FIELDS}, c.name AS customer_name, s.name AS assignee_name,
             r.sla_paused, r.sla_next_due, r.sla_warn_at, r.sla_breached, r.sla_paused_left
         {REQUEST_FROM}
         JOIN customers c ON c.customer_id = r.customer_id
         LEFT JOIN staff_users s ON s.staff_id = r.assignee_staff_id
         WHERE r.request_id IN (
             SELECT r.request_id FROM requests r {order_index} {reasons}
             WHERE {clause} ORDER BY {QUEUE_ORDER} {window})
         ORDER BY {QUEUE_ORDER}"
    );
    let rows = bind_all(sqlx::query(&sql), binds).fetch_all(conn).await?;
    rows.iter().map(queue_request).collect()
}

/// How many open requests match (for the pager).
pub async fn queue_count(
    conn: &mut Conn,
    filter: &QueueWhere,
    sla: Option<SlaWhere>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let (clause, binds) = filter.with_sla(sla, now);
    let reasons = filter.reasons_join();
    let sql = format!("SELECT COUNT(*) AS n FROM requests r {reasons} WHERE {clause}");
    let row = bind_all(sqlx::query(&sql), binds).fetch_one(conn).await?;
    row.try_get("n")
}

/// The queue's headline counts as at `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub open: i64,
    pub breached: i64,
    pub at_risk: i64,
    pub assigned_to: i64,
}

/// Open, breached and at-risk requests, and those assigned to `staff_id`,
/// in one pass over the open requests.
pub async fn queue_counts(
    conn: &mut Conn,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<QueueCounts, sqlx::Error> {
    let breached = SlaWhere::Breached.condition("$1");
    let at_risk = SlaWhere::AtRisk.condition("$1");
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS open,
             COALESCE(SUM(CASE WHEN {breached} THEN 1 ELSE 0 END), 0) AS breached,
             COALESCE(SUM(CASE WHEN {at_risk} THEN 1 ELSE 0 END), 0) AS at_risk,
             COALESCE(SUM(CASE WHEN r.assignee_staff_id = $2 THEN 1 ELSE 0 END), 0) AS mine
         FROM requests r WHERE r.status IN ('open', 'waiting_on_customer')"
    ))
    .bind(ts(now))
    .bind(staff_id)
    .fetch_one(conn)
    .await?;
    Ok(QueueCounts {
        open: row.try_get("open")?,
        breached: row.try_get("breached")?,
        at_risk: row.try_get("at_risk")?,
        assigned_to: row.try_get("mine")?,
    })
}

/// An open request whose cached SLA position is stale: folded from fewer
/// events than it has, or with other settings (or never).
#[derive(Clone, Copy, Debug)]
pub struct StaleRequest {
    pub request_id: i64,
    pub kind: RequestKind,
    pub event_count: i64,
}

/// Every open request not folded from its events with these settings: a
/// scan of the open requests, for when the settings changed.
pub async fn stale_positions(
    conn: &mut Conn,
    settings_hash: i64,
) -> Result<Vec<StaleRequest>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT request_id, kind, sla_event_count FROM requests
         WHERE status IN ('open', 'waiting_on_customer')
           AND (sla_folded_events <> sla_event_count OR sla_folded_settings IS NULL
                OR sla_folded_settings <> $1)
         ORDER BY request_id",
    )
    .bind(settings_hash)
    .fetch_all(conn)
    .await?;
    rows.iter().map(stale_request).collect()
}

fn stale_request(r: &AnyRow) -> Result<StaleRequest, sqlx::Error> {
    Ok(StaleRequest {
        request_id: r.try_get("request_id")?,
        kind: decode(r, "requests", "kind")?,
        event_count: r.try_get("sla_event_count")?,
    })
}

/// The requests with events their cached position was not folded from
/// (never folded counts too: -1 events), open or just closed, with whether
/// they are open. Reads the expression index `requests_sla_new_events`
/// (migration 0016): a few entries when nothing changed.
pub async fn requests_with_new_events(
    conn: &mut Conn,
) -> Result<Vec<(StaleRequest, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT request_id, kind, sla_event_count, status FROM requests
         WHERE sla_event_count - sla_folded_events > 0",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let status: RequestStatus = decode(r, "requests", "status")?;
            Ok((stale_request(r)?, status.is_open()))
        })
        .collect()
}

/// Marks a closed request's events as seen, so it leaves the new-events
/// index (its position is not kept: the queue lists open requests only).
pub async fn mark_events_seen(
    conn: &mut Conn,
    request_id: i64,
    event_count: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE requests SET sla_folded_events = $2
         WHERE request_id = $1 AND sla_event_count = $2",
    )
    .bind(request_id)
    .bind(event_count)
    .execute(conn)
    .await?;
    Ok(())
}

/// The settings hash every open request was last folded with (migration
/// 0016), if known.
pub async fn queue_folded_settings(conn: &mut Conn) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT folded_settings FROM sla_queue_state WHERE state_id = 1")
        .fetch_optional(conn)
        .await
        .map(Option::flatten)
}

pub async fn set_queue_folded_settings(conn: &mut Conn, hash: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sla_queue_state SET folded_settings = $1 WHERE state_id = 1")
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a folded position if the request still has the events it was
/// folded from (`false`: an event came in between; it stays stale).
pub async fn store_position(
    conn: &mut Conn,
    request_id: i64,
    folded_events: i64,
    settings_hash: i64,
    position: &SlaPosition,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET sla_folded_events = $2, sla_folded_settings = $3, sla_paused = $4,
             sla_next_due = $5, sla_warn_at = $6, sla_breached = $7, sla_paused_left = $8
         WHERE request_id = $1 AND sla_event_count = $2",
    )
    .bind(request_id)
    .bind(folded_events)
    .bind(settings_hash)
    .bind(i64::from(position.paused))
    .bind(position.next_due.map(ts))
    .bind(position.warn_at.map(ts))
    .bind(i64::from(position.breached))
    .bind(position.paused_left)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The SLA events of the given requests, as (request id, event), by
/// request and then in the order they happened.
pub async fn events_of(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, SlaEvent)>, sqlx::Error> {
    let mut out = Vec::new();
    // Ids are integers, formatted in; chunks keep the statement small.
    for chunk in ids.chunks(500) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT request_id, detail FROM request_events WHERE request_id IN ({})
             ORDER BY request_id, at, event_id",
            list.join(", ")
        );
        let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
        for r in &rows {
            let detail: String = r.try_get("detail")?;
            let event = serde_json::from_str(&detail).map_err(|e| sqlx::Error::ColumnDecode {
                index: "request_events.detail".into(),
                source: format!("{detail:?} is not an SLA event: {e}").into(),
            })?;
            out.push((r.try_get("request_id")?, event));
        }
    }
    Ok(out)
}

/// Every active staff user, by name: who a request can be assigned to.
pub async fn active_staff_users(conn: &mut Conn) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT staff_id, name FROM staff_users WHERE disabled_at IS NULL ORDER BY name, staff_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("staff_id")?, r.try_get("name")?)))
        .collect()
}

/// The customers with open requests, by name: the queue's customer filter.
pub async fn open_request_customers(conn: &mut Conn) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.customer_id, c.name FROM customers c
         WHERE EXISTS (SELECT 1 FROM requests r WHERE r.customer_id = c.customer_id
                         AND r.status IN ('open', 'waiting_on_customer'))
         ORDER BY c.name, c.customer_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("customer_id")?, r.try_get("name")?)))
        .collect()
}

/// Every reason code with its label, retired ones too, in form order.
pub async fn reasons(conn: &mut Conn) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, label FROM request_reasons ORDER BY position, code")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("label")?)))
        .collect()
}

/// One request of any customer, with its customer's and assignee's names.
pub async fn request_with_names(
    conn: &mut Conn,
    request_id: i64,
) -> Result<Option<(RequestRow, String, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_FIELDS}, c.name AS customer_name, s.name AS assignee_name
         {REQUEST_FROM}
         JOIN customers c ON c.customer_id = r.customer_id
         LEFT JOIN staff_users s ON s.staff_id = r.assignee_staff_id
         WHERE r.request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok((
            request_row(&r)?,
            r.try_get("customer_name")?,
            r.try_get("assignee_name")?,
        ))
    })
    .transpose()
}

/// A file of a message of this request, internal notes' files included.
pub async fn request_attachment(
    conn: &mut Conn,
    request_id: i64,
    attachment_id: i64,
) -> Result<Option<AttachmentContent>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.attachment_id, a.stored_name, a.display_name, a.kind, a.content
         FROM request_attachments a
         JOIN request_messages m ON m.message_id = a.message_id
         WHERE a.attachment_id = $1 AND m.request_id = $2",
    )
    .bind(attachment_id)
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(attachment_content).transpose()
}

/// A new priority for an open request; `false` when it was not open or
/// had that priority already.
pub async fn set_priority(
    conn: &mut Conn,
    request_id: i64,
    priority: Priority,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET priority = $2
         WHERE request_id = $1 AND priority <> $2 AND status IN ('open', 'waiting_on_customer')",
    )
    .bind(request_id)
    .bind(priority_as_str(priority))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------
// One request, as AR sees it
// ---------------------------------------------------------------------------

/// What AR's writes need of a request, whatever its customer.
#[derive(Clone, Debug)]
pub struct StaffRequest {
    pub request_id: i64,
    pub customer_id: i64,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub invoice_id: Option<i64>,
    pub disputed_minor: Option<i64>,
    pub currency: Option<Currency>,
    pub assignee_staff_id: Option<i64>,
    pub outcome: Option<Outcome>,
}

const STAFF_REQUEST_COLUMNS: &str = "request_id, customer_id, kind, status, invoice_id,
    disputed_minor, currency, assignee_staff_id, outcome";

fn staff_request(r: &AnyRow) -> Result<StaffRequest, sqlx::Error> {
    const T: &str = "requests";
    Ok(StaffRequest {
        request_id: r.try_get("request_id")?,
        customer_id: r.try_get("customer_id")?,
        kind: decode(r, T, "kind")?,
        status: decode(r, T, "status")?,
        invoice_id: r.try_get("invoice_id")?,
        disputed_minor: r.try_get("disputed_minor")?,
        currency: decode_opt(r, T, "currency")?,
        assignee_staff_id: r.try_get("assignee_staff_id")?,
        outcome: decode_opt(r, T, "outcome")?,
    })
}

pub async fn request(
    conn: &mut Conn,
    request_id: i64,
) -> Result<Option<StaffRequest>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {STAFF_REQUEST_COLUMNS} FROM requests WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(staff_request).transpose()
}

/// Sets the assignee of an open request if it is still `expected` (`None`:
/// unassigned): `false` when another change came first or the request left
/// the open states. Staff ids are positive, so 0 stands for "nobody" in the
/// comparison (a bound NULL cannot be typed on PostgreSQL through Any).
pub async fn reassign(
    conn: &mut Conn,
    request_id: i64,
    expected: Option<i64>,
    to: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET assignee_staff_id = $3
         WHERE request_id = $1 AND COALESCE(assignee_staff_id, 0) = $2
           AND status IN ('open', 'waiting_on_customer')",
    )
    .bind(request_id)
    .bind(expected.unwrap_or(0))
    .bind(to)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open to waiting on the customer; `false` when it was not open.
pub async fn wait_on_customer(conn: &mut Conn, request_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET status = 'waiting_on_customer' WHERE request_id = $1 AND status = 'open'",
    )
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Resolves an open request with its outcome, once: the guard of a
/// resolution. Two resolves of one request both run this UPDATE; the
/// database lets one change the row (PostgreSQL makes the second wait for
/// the first's row lock, then re-checks the status; SQLite's BEGIN
/// IMMEDIATE runs them one after the other), and the other gets `None`.
/// Returns the request as it was before (still open, with what the
/// resolution needs to write the credit).
pub async fn resolve(
    conn: &mut Conn,
    request_id: i64,
    outcome: Outcome,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Option<StaffRequest>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "UPDATE requests SET status = 'resolved', resolved_at = $2, outcome = $3, outcome_note = $4
         WHERE request_id = $1 AND status IN ('open', 'waiting_on_customer')
         RETURNING {STAFF_REQUEST_COLUMNS}"
    ))
    .bind(request_id)
    .bind(ts(at))
    .bind(outcome.as_str())
    .bind(note)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(staff_request).transpose()
}

/// How many credit notes a request's resolutions issued, for the next
/// note's number.
pub async fn request_credit_notes(conn: &mut Conn, prefix: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM credit_notes WHERE number LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(conn)
        .await?;
    row.try_get("n")
}

/// A credit note issued to a customer.
#[derive(Clone, Debug)]
pub struct NewCreditNote<'a> {
    pub customer_id: i64,
    pub number: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    pub reason: &'a str,
    pub issue_date: NaiveDate,
}

pub async fn insert_credit_note(
    conn: &mut Conn,
    note: &NewCreditNote<'_>,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO credit_notes (customer_id, number, currency, amount_minor, reason, issue_date, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING credit_note_id",
    )
    .bind(note.customer_id)
    .bind(note.number)
    .bind(note.currency.code())
    .bind(note.amount_minor)
    .bind(note.reason)
    .bind(date_text(note.issue_date))
    .bind(ts(at))
    .fetch_one(conn)
    .await?;
    row.try_get("credit_note_id")
}
