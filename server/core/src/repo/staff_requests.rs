//! AR's side of requests (issue 11): the SLA settings (migration 0008), the
//! queue's two reads, and the writes of assigning, waiting on the customer,
//! resolving and issuing a resolution's credit note. The customer's side
//! and the shared writes (messages, events) are in `repo::requests`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::requests::{request_row, RequestRow, REQUEST_FIELDS, REQUEST_FROM};
use super::Conn;
use crate::db::{date_text, ts};
use crate::domain::request::{Outcome, RequestKind, RequestStatus};
use crate::domain::sla::SlaEvent;
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

/// An open request as the queue lists it: the request and the names to
/// show beside it.
#[derive(Clone, Debug)]
pub struct QueueRequest {
    pub request: RequestRow,
    pub customer_name: String,
    pub assignee_name: Option<String>,
}

fn queue_request(r: &AnyRow) -> Result<QueueRequest, sqlx::Error> {
    Ok(QueueRequest {
        request: request_row(r)?,
        customer_name: r.try_get("customer_name")?,
        assignee_name: r.try_get("assignee_name")?,
    })
}

/// The open requests matching `filter`, oldest first (the service orders
/// them by their SLA clocks, which SQL cannot compute).
pub async fn queue_requests(
    conn: &mut Conn,
    filter: &QueueWhere,
) -> Result<Vec<QueueRequest>, sqlx::Error> {
    let (clause, binds) = filter.clause();
    let sql = format!(
        "SELECT {REQUEST_FIELDS}, c.name AS customer_name, s.name AS assignee_name
         {REQUEST_FROM}
         JOIN customers c ON c.customer_id = r.customer_id
         LEFT JOIN staff_users s ON s.staff_id = r.assignee_staff_id
         WHERE {clause} ORDER BY r.opened_at, r.request_id"
    );
    let rows = bind_all(sqlx::query(&sql), binds).fetch_all(conn).await?;
    rows.iter().map(queue_request).collect()
}

/// The SLA events of every open request matching `filter`, as (request id,
/// event), by request and then in the order they happened: one read for
/// the whole queue rather than one per request.
pub async fn queue_events(
    conn: &mut Conn,
    filter: &QueueWhere,
) -> Result<Vec<(i64, SlaEvent)>, sqlx::Error> {
    let (clause, binds) = filter.clause();
    let sql = format!(
        "SELECT e.request_id, e.detail FROM request_events e
         JOIN requests r ON r.request_id = e.request_id
         LEFT JOIN request_reasons rr ON rr.reason_id = r.reason_id
         WHERE {clause} ORDER BY e.request_id, e.at, e.event_id"
    );
    let rows = bind_all(sqlx::query(&sql), binds).fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            let event = serde_json::from_str(&detail).map_err(|e| sqlx::Error::ColumnDecode {
                index: "request_events.detail".into(),
                source: format!("{detail:?} is not an SLA event: {e}").into(),
            })?;
            Ok((r.try_get("request_id")?, event))
        })
        .collect()
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
