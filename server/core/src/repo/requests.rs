//! Customer requests (migration 0007): the request, its disputed lines, its
//! thread with attachments, its SLA events, and the reason list. Reads that
//! a customer reaches take the customer id, so another account's id finds
//! nothing.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt, FromColumnText};
use super::Conn;
use crate::db::ts;
use crate::domain::attachment::AttachmentKind;
use crate::domain::request::{
    parse_priority, priority_as_str, AuthorKind, DisputeScope, Outcome, RequestKind, RequestStatus,
    Visibility,
};
use crate::domain::sla::{Priority, SlaEvent};
use crate::domain::Currency;

impl FromColumnText for RequestKind {
    const EXPECTED: &'static str = "a request kind";
    fn from_column_text(text: &str) -> Option<Self> {
        RequestKind::parse(text)
    }
}

impl FromColumnText for RequestStatus {
    const EXPECTED: &'static str = "a request status";
    fn from_column_text(text: &str) -> Option<Self> {
        RequestStatus::parse(text)
    }
}

impl FromColumnText for Priority {
    const EXPECTED: &'static str = "a request priority";
    fn from_column_text(text: &str) -> Option<Self> {
        parse_priority(text)
    }
}

impl FromColumnText for DisputeScope {
    const EXPECTED: &'static str = "a dispute scope";
    fn from_column_text(text: &str) -> Option<Self> {
        DisputeScope::parse(text)
    }
}

impl FromColumnText for Outcome {
    const EXPECTED: &'static str = "a request outcome";
    fn from_column_text(text: &str) -> Option<Self> {
        Outcome::parse(text)
    }
}

impl FromColumnText for AuthorKind {
    const EXPECTED: &'static str = "a message author kind";
    fn from_column_text(text: &str) -> Option<Self> {
        AuthorKind::parse(text)
    }
}

impl FromColumnText for Visibility {
    const EXPECTED: &'static str = "a message visibility";
    fn from_column_text(text: &str) -> Option<Self> {
        Visibility::parse(text)
    }
}

impl FromColumnText for AttachmentKind {
    const EXPECTED: &'static str = "an attachment kind";
    fn from_column_text(text: &str) -> Option<Self> {
        AttachmentKind::ALL
            .into_iter()
            .find(|k| attachment_kind_text(*k) == text)
    }
}

/// The text of an attachment kind in `request_attachments.kind`: its serde
/// name, which the migration's CHECK lists.
pub fn attachment_kind_text(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Pdf => "pdf",
        AttachmentKind::Png => "png",
        AttachmentKind::Jpeg => "jpeg",
        AttachmentKind::Csv => "csv",
        AttachmentKind::Xlsx => "xlsx",
    }
}

// ---------------------------------------------------------------------------
// Reasons
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonRow {
    pub reason_id: i64,
    pub code: String,
    pub label: String,
    /// Offered on the form (not retired).
    pub active: bool,
}

fn reason_row(r: &AnyRow) -> Result<ReasonRow, sqlx::Error> {
    Ok(ReasonRow {
        reason_id: r.try_get("reason_id")?,
        code: r.try_get("code")?,
        label: r.try_get("label")?,
        active: r.try_get::<Option<String>, _>("retired_at")?.is_none(),
    })
}

/// The reasons the form offers, in their order.
pub async fn active_reasons(conn: &mut Conn) -> Result<Vec<ReasonRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT reason_id, code, label, retired_at FROM request_reasons
         WHERE retired_at IS NULL ORDER BY position, reason_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(reason_row).collect()
}

/// A reason by its code, retired or not (the caller decides).
pub async fn reason_by_code(conn: &mut Conn, code: &str) -> Result<Option<ReasonRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT reason_id, code, label, retired_at FROM request_reasons WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(reason_row).transpose()
}

// ---------------------------------------------------------------------------
// The invoice a dispute is about
// ---------------------------------------------------------------------------

/// An invoice of the customer, as a dispute needs it.
#[derive(Clone, Debug)]
pub struct DisputedInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub currency: Currency,
    /// The open balance (the settlement cache, migration 0002).
    pub balance_minor: i64,
    pub voided: bool,
}

/// The invoice if it is the customer's.
pub async fn invoice_of_customer(
    conn: &mut Conn,
    customer_id: i64,
    invoice_id: i64,
) -> Result<Option<DisputedInvoice>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT invoice_id, number, currency, balance_minor, voided_at FROM invoices
         WHERE invoice_id = $1 AND customer_id = $2",
    )
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(DisputedInvoice {
            invoice_id: r.try_get("invoice_id")?,
            number: r.try_get("number")?,
            currency: decode(&r, "invoices", "currency")?,
            balance_minor: r.try_get("balance_minor")?,
            voided: r.try_get::<Option<String>, _>("voided_at")?.is_some(),
        })
    })
    .transpose()
}

/// An invoice line's id and its total with tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTotal {
    pub invoice_line_id: i64,
    pub total_minor: i64,
}

/// Every line of the invoice with its total, in invoice order.
pub async fn line_totals(conn: &mut Conn, invoice_id: i64) -> Result<Vec<LineTotal>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT invoice_line_id, amount_minor + tax_minor AS total_minor FROM invoice_lines
         WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LineTotal {
                invoice_line_id: r.try_get("invoice_line_id")?,
                total_minor: r.try_get("total_minor")?,
            })
        })
        .collect()
}

/// The open (open or waiting on the customer) dispute of the invoice.
pub async fn open_dispute_of_invoice(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_id FROM requests WHERE invoice_id = $1 AND kind = 'dispute'
         AND status IN ('open', 'waiting_on_customer')",
    )
    .bind(invoice_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("request_id")).transpose()
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

/// A request as it is opened. Dispute fields are `None` for other kinds.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub customer_id: i64,
    pub kind: RequestKind,
    pub priority: Priority,
    pub reason_id: Option<i64>,
    pub invoice_id: Option<i64>,
    pub scope: Option<DisputeScope>,
    pub disputed_minor: Option<i64>,
    pub currency: Option<Currency>,
    pub opened_by_contact_id: i64,
}

/// Inserts an open request. A second open dispute of the same invoice is a
/// unique violation (index `requests_one_open_dispute`).
pub async fn insert_request(
    conn: &mut Conn,
    request: &NewRequest,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO requests (customer_id, kind, status, priority, reason_id, invoice_id, scope,
             disputed_minor, currency, opened_by_contact_id, opened_at)
         VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING request_id",
    )
    .bind(request.customer_id)
    .bind(request.kind.as_str())
    .bind(priority_as_str(request.priority))
    .bind(request.reason_id)
    .bind(request.invoice_id)
    .bind(request.scope.map(DisputeScope::as_str))
    .bind(request.disputed_minor)
    .bind(request.currency.map(|c| c.code().to_owned()))
    .bind(request.opened_by_contact_id)
    .bind(ts(at))
    .fetch_one(conn)
    .await?;
    row.try_get("request_id")
}

pub async fn insert_line(
    conn: &mut Conn,
    request_id: i64,
    invoice_line_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO request_lines (request_id, invoice_line_id) VALUES ($1, $2)")
        .bind(request_id)
        .bind(invoice_line_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A message of the thread.
#[derive(Clone, Debug)]
pub struct NewMessage<'a> {
    pub request_id: i64,
    pub author_kind: AuthorKind,
    pub author_id: i64,
    pub visibility: Visibility,
    pub body: &'a str,
}

pub async fn insert_message(
    conn: &mut Conn,
    message: &NewMessage<'_>,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO request_messages (request_id, author_kind, author_id, visibility, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING message_id",
    )
    .bind(message.request_id)
    .bind(message.author_kind.as_str())
    .bind(message.author_id)
    .bind(message.visibility.as_str())
    .bind(message.body)
    .bind(ts(at))
    .fetch_one(conn)
    .await?;
    row.try_get("message_id")
}

/// A checked file of a message.
#[derive(Clone, Debug)]
pub struct NewAttachment<'a> {
    pub message_id: i64,
    pub stored_name: &'a str,
    pub display_name: &'a str,
    pub kind: AttachmentKind,
    pub content: &'a [u8],
}

pub async fn insert_attachment(
    conn: &mut Conn,
    attachment: &NewAttachment<'_>,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO request_attachments (message_id, stored_name, display_name, kind, size_bytes, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING attachment_id",
    )
    .bind(attachment.message_id)
    .bind(attachment.stored_name)
    .bind(attachment.display_name)
    .bind(attachment_kind_text(attachment.kind))
    .bind(attachment.content.len() as i64)
    .bind(attachment.content.to_vec())
    .bind(ts(at))
    .fetch_one(conn)
    .await?;
    row.try_get("attachment_id")
}

/// Appends an SLA event: the whole event as JSON, its instant and name in
/// columns.
pub async fn insert_event(
    conn: &mut Conn,
    request_id: i64,
    event: &SlaEvent,
) -> Result<(), sqlx::Error> {
    let detail = serde_json::to_value(event)
        .map_err(|e| sqlx::Error::Encode(format!("an SLA event as JSON: {e}").into()))?;
    let name = detail["event"].as_str().unwrap_or_default().to_owned();
    sqlx::query(
        "INSERT INTO request_events (request_id, at, event, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(request_id)
    .bind(ts(event.at))
    .bind(name)
    .bind(detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves an open request to `to` (withdrawn or resolved), once: `false`
/// when it was no longer open (already withdrawn, resolved, or a second
/// press of the button).
pub async fn close(
    conn: &mut Conn,
    request_id: i64,
    to: RequestStatus,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    debug_assert!(!to.is_open());
    let done = sqlx::query(
        "UPDATE requests SET status = $2, resolved_at = $3
         WHERE request_id = $1 AND status IN ('open', 'waiting_on_customer')",
    )
    .bind(request_id)
    .bind(to.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Back to open when it was waiting on the customer; `false` otherwise.
pub async fn reopen_if_waiting(conn: &mut Conn, request_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET status = 'open'
         WHERE request_id = $1 AND status = 'waiting_on_customer'",
    )
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

/// A request with its reason and invoice number.
#[derive(Clone, Debug)]
pub struct RequestRow {
    pub request_id: i64,
    pub customer_id: i64,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub priority: Priority,
    pub reason_code: Option<String>,
    pub reason_label: Option<String>,
    pub invoice_id: Option<i64>,
    pub invoice_number: Option<String>,
    pub scope: Option<DisputeScope>,
    pub disputed_minor: Option<i64>,
    pub currency: Option<Currency>,
    pub assignee_staff_id: Option<i64>,
    pub opened_by_contact_id: i64,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub outcome_note: Option<String>,
}

/// The columns `request_row` reads, from `REQUEST_FROM` (AR's queue adds
/// its own joins after it).
pub(crate) const REQUEST_FIELDS: &str = "r.request_id, r.customer_id, r.kind, r.status, r.priority,
    rr.code AS reason_code, rr.label AS reason_label, r.invoice_id, i.number AS invoice_number,
    r.scope, r.disputed_minor, r.currency, r.assignee_staff_id, r.opened_by_contact_id,
    r.opened_at, r.resolved_at, r.outcome, r.outcome_note";

pub(crate) const REQUEST_FROM: &str = "FROM requests r
    LEFT JOIN request_reasons rr ON rr.reason_id = r.reason_id
    LEFT JOIN invoices i ON i.invoice_id = r.invoice_id";

pub(crate) fn request_row(r: &AnyRow) -> Result<RequestRow, sqlx::Error> {
    const T: &str = "requests";
    Ok(RequestRow {
        request_id: r.try_get("request_id")?,
        customer_id: r.try_get("customer_id")?,
        kind: decode(r, T, "kind")?,
        status: decode(r, T, "status")?,
        priority: decode(r, T, "priority")?,
        reason_code: r.try_get("reason_code")?,
        reason_label: r.try_get("reason_label")?,
        invoice_id: r.try_get("invoice_id")?,
        invoice_number: r.try_get("invoice_number")?,
        scope: decode_opt(r, T, "scope")?,
        disputed_minor: r.try_get("disputed_minor")?,
        currency: decode_opt(r, T, "currency")?,
        assignee_staff_id: r.try_get("assignee_staff_id")?,
        opened_by_contact_id: r.try_get("opened_by_contact_id")?,
        opened_at: decode(r, T, "opened_at")?,
        resolved_at: decode_opt(r, T, "resolved_at")?,
        outcome: decode_opt(r, T, "outcome")?,
        outcome_note: r.try_get("outcome_note")?,
    })
}

/// The customer's requests, newest first.
pub async fn customer_requests(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_FIELDS} {REQUEST_FROM} WHERE r.customer_id = $1
         ORDER BY r.opened_at DESC, r.request_id DESC"
    ))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(request_row).collect()
}

/// One request, if it is the customer's.
pub async fn customer_request(
    conn: &mut Conn,
    customer_id: i64,
    request_id: i64,
) -> Result<Option<RequestRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_FIELDS} {REQUEST_FROM} WHERE r.request_id = $1 AND r.customer_id = $2"
    ))
    .bind(request_id)
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(request_row).transpose()
}

/// The invoice lines a dispute is about.
pub async fn request_line_ids(conn: &mut Conn, request_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT invoice_line_id FROM request_lines WHERE request_id = $1 ORDER BY invoice_line_id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("invoice_line_id")).collect()
}

/// What a thread shows of a file: never its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub attachment_id: i64,
    pub display_name: String,
    pub kind: AttachmentKind,
    pub size_bytes: i64,
}

#[derive(Clone, Debug)]
pub struct MessageRow {
    pub message_id: i64,
    pub author_kind: AuthorKind,
    pub author_id: i64,
    /// The contact's or staff user's name as it is now.
    pub author_name: Option<String>,
    pub visibility: Visibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentMeta>,
}

/// The thread of a request, oldest first, with its files' metadata. A
/// staff message with author id 0 is the portal's own (a payment plan's
/// policy decision or the plan job's news, services::plans) and is named
/// "The portal".
/// `only` keeps the messages of one visibility: a customer's reads pass
/// `Some(Visibility::Customer)`, so internal notes and their files are not
/// even read.
pub async fn messages(
    conn: &mut Conn,
    request_id: i64,
    only: Option<Visibility>,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    // A literal from the enum, not a bound NULL-able parameter: PostgreSQL
    // cannot type `$2 IS NULL` through the Any driver.
    let filter = match only {
        Some(v) => format!("AND m.visibility = '{}'", v.as_str()),
        None => String::new(),
    };
    let rows = sqlx::query(&format!(
        "SELECT m.message_id, m.author_kind, m.author_id,
             COALESCE(c.name, s.name, CASE WHEN m.author_kind = 'staff' AND m.author_id = 0
                 THEN 'The portal' END) AS author_name,
             m.visibility, m.body, m.created_at
         FROM request_messages m
         LEFT JOIN contacts c ON m.author_kind = 'contact' AND c.contact_id = m.author_id
         LEFT JOIN staff_users s ON m.author_kind = 'staff' AND s.staff_id = m.author_id
         WHERE m.request_id = $1 {filter}
         ORDER BY m.created_at, m.message_id"
    ))
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await?;
    const T: &str = "request_messages";
    let mut messages = rows
        .iter()
        .map(|r| {
            Ok(MessageRow {
                message_id: r.try_get("message_id")?,
                author_kind: decode(r, T, "author_kind")?,
                author_id: r.try_get("author_id")?,
                author_name: r.try_get("author_name")?,
                visibility: decode(r, T, "visibility")?,
                body: r.try_get("body")?,
                created_at: decode(r, T, "created_at")?,
                attachments: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let files = sqlx::query(&format!(
        "SELECT a.attachment_id, a.message_id, a.display_name, a.kind, a.size_bytes
         FROM request_attachments a JOIN request_messages m ON m.message_id = a.message_id
         WHERE m.request_id = $1 {filter}
         ORDER BY a.attachment_id"
    ))
    .bind(request_id)
    .fetch_all(conn)
    .await?;
    for r in &files {
        let message_id: i64 = r.try_get("message_id")?;
        let meta = AttachmentMeta {
            attachment_id: r.try_get("attachment_id")?,
            display_name: r.try_get("display_name")?,
            kind: decode(r, "request_attachments", "kind")?,
            size_bytes: r.try_get("size_bytes")?,
        };
        if let Some(m) = messages.iter_mut().find(|m| m.message_id == message_id) {
            m.attachments.push(meta);
        }
    }
    Ok(messages)
}

/// A stored file with its bytes.
#[derive(Clone, Debug)]
pub struct AttachmentContent {
    pub attachment_id: i64,
    pub stored_name: String,
    pub display_name: String,
    pub kind: AttachmentKind,
    /// `None` once files live in a directory store (named `stored_name`).
    pub content: Option<Vec<u8>>,
}

/// A file of one of the customer's requests, on a message the customer may
/// read; another customer's id, or a file of an internal note, finds nothing.
pub async fn customer_attachment(
    conn: &mut Conn,
    customer_id: i64,
    attachment_id: i64,
) -> Result<Option<AttachmentContent>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.attachment_id, a.stored_name, a.display_name, a.kind, a.content
         FROM request_attachments a
         JOIN request_messages m ON m.message_id = a.message_id
         JOIN requests r ON r.request_id = m.request_id
         WHERE a.attachment_id = $1 AND r.customer_id = $2 AND m.visibility = 'customer'",
    )
    .bind(attachment_id)
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(attachment_content).transpose()
}

/// A file read with `a.attachment_id, a.stored_name, a.display_name,
/// a.kind, a.content` of `request_attachments a`.
pub(super) fn attachment_content(r: &AnyRow) -> Result<AttachmentContent, sqlx::Error> {
    Ok(AttachmentContent {
        attachment_id: r.try_get("attachment_id")?,
        stored_name: r.try_get("stored_name")?,
        display_name: r.try_get("display_name")?,
        kind: decode(r, "request_attachments", "kind")?,
        content: r.try_get("content")?,
    })
}

/// The SLA events of a request in the order they happened, for
/// `domain::sla::sla_clock`. A detail that is not an SLA event is an error
/// naming the column, never skipped (a skipped pause would bill the team
/// for a customer's silence).
pub async fn events(conn: &mut Conn, request_id: i64) -> Result<Vec<SlaEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT detail FROM request_events WHERE request_id = $1 ORDER BY at, event_id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            serde_json::from_str(&detail).map_err(|e| sqlx::Error::ColumnDecode {
                index: "request_events.detail".into(),
                source: format!("{detail:?} is not an SLA event: {e}").into(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Notifications and reopening
// ---------------------------------------------------------------------------

/// What a request's notification emails name: the account, the invoice,
/// and the contact who opened it (when they can still be written to).
#[derive(Clone, Debug)]
pub struct NoticeContext {
    pub customer_id: i64,
    pub customer_name: String,
    pub kind: RequestKind,
    pub invoice_number: Option<String>,
    /// (name, email) of the opener, `None` when they were disabled or are
    /// no longer a contact of the account: mail must not reach someone who
    /// lost access to the thread it links to.
    pub opener: Option<(String, String)>,
}

pub async fn notice_context(
    conn: &mut Conn,
    request_id: i64,
) -> Result<Option<NoticeContext>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT r.customer_id, c.name AS customer_name, r.kind, i.number AS invoice_number,
                ct.name AS opener_name, ct.email AS opener_email
         FROM requests r
         JOIN customers c ON c.customer_id = r.customer_id
         LEFT JOIN invoices i ON i.invoice_id = r.invoice_id
         LEFT JOIN customer_contacts cc
                ON cc.customer_id = r.customer_id AND cc.contact_id = r.opened_by_contact_id
         LEFT JOIN contacts ct
                ON ct.contact_id = cc.contact_id AND ct.disabled_at IS NULL
         WHERE r.request_id = $1",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let name: Option<String> = r.try_get("opener_name")?;
        let email: Option<String> = r.try_get("opener_email")?;
        Ok(NoticeContext {
            customer_id: r.try_get("customer_id")?,
            customer_name: r.try_get("customer_name")?,
            kind: decode(&r, "requests", "kind")?,
            invoice_number: r.try_get("invoice_number")?,
            opener: name.zip(email),
        })
    })
    .transpose()
}

/// Who AR's side of a request is mailed to: its assignee when assigned
/// and active, otherwise every active staff user (agents and admins), so a
/// new dispute or a customer's answer is never seen by nobody. (name,
/// email) pairs, by staff id.
pub async fn staff_recipients(
    conn: &mut Conn,
    request_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.name, s.email FROM staff_users s
         WHERE s.disabled_at IS NULL AND (
             s.staff_id = (SELECT r.assignee_staff_id FROM requests r WHERE r.request_id = $1)
             OR NOT EXISTS (SELECT 1 FROM requests r JOIN staff_users a
                                ON a.staff_id = r.assignee_staff_id AND a.disabled_at IS NULL
                            WHERE r.request_id = $1))
         ORDER BY s.staff_id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("email")?)))
        .collect()
}

/// A resolved request back to open, its outcome cleared (the CHECKs of
/// migration 0007 want no outcome and no `resolved_at` on an open request):
/// `false` when it was not resolved (a withdrawn one stays withdrawn). A
/// dispute whose invoice has another open dispute by now is a unique
/// violation (index `requests_one_open_dispute`).
pub async fn reopen(conn: &mut Conn, request_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET status = 'open', resolved_at = NULL, outcome = NULL, outcome_note = NULL
         WHERE request_id = $1 AND status = 'resolved'",
    )
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------
// The customer's pages
// ---------------------------------------------------------------------------

/// An invoice line as the dispute form and the request page name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeLine {
    pub invoice_line_id: i64,
    pub description: String,
    /// With tax, as `line_totals` (the amount a dispute of it holds).
    pub total_minor: i64,
}

/// Every line of the invoice with its description, in invoice order.
pub async fn dispute_lines(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Vec<DisputeLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT invoice_line_id, description, amount_minor + tax_minor AS total_minor
         FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DisputeLine {
                invoice_line_id: r.try_get("invoice_line_id")?,
                description: r.try_get("description")?,
                total_minor: r.try_get("total_minor")?,
            })
        })
        .collect()
}

/// What an invoice owes now and how much of it a dispute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceMoney {
    pub currency: Currency,
    pub balance_minor: i64,
    pub disputed_minor: i64,
}

/// The settlement cache of one of the customer's invoices.
pub async fn invoice_money(
    conn: &mut Conn,
    customer_id: i64,
    invoice_id: i64,
) -> Result<Option<InvoiceMoney>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT currency, balance_minor, disputed_minor FROM invoices
         WHERE invoice_id = $1 AND customer_id = $2",
    )
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(InvoiceMoney {
            currency: decode(&r, "invoices", "currency")?,
            balance_minor: r.try_get("balance_minor")?,
            disputed_minor: r.try_get("disputed_minor")?,
        })
    })
    .transpose()
}

/// A credit note a resolution issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestCreditNote {
    pub number: String,
    pub currency: Currency,
    pub amount_minor: i64,
}

/// The latest credit note issued by resolving the request: resolutions
/// number theirs `CN-R{request_id}-{n}` (services::staff_requests), so the
/// prefix with its closing dash finds exactly this request's notes.
pub async fn request_credit_note(
    conn: &mut Conn,
    customer_id: i64,
    request_id: i64,
) -> Result<Option<RequestCreditNote>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT number, currency, amount_minor FROM credit_notes
         WHERE customer_id = $1 AND number LIKE $2
         ORDER BY created_at DESC, credit_note_id DESC",
    )
    .bind(customer_id)
    .bind(format!("CN-R{request_id}-%"))
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(RequestCreditNote {
            number: r.try_get("number")?,
            currency: decode(&r, "credit_notes", "currency")?,
            amount_minor: r.try_get("amount_minor")?,
        })
    })
    .transpose()
}

/// The latest activity of each of the customer's requests: its last
/// customer-visible message, else its opening.
pub async fn last_activity(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<(i64, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.request_id, MAX(m.created_at) AS at FROM requests r
         JOIN request_messages m ON m.request_id = r.request_id AND m.visibility = 'customer'
         WHERE r.customer_id = $1 GROUP BY r.request_id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("request_id")?,
                decode(r, "request_messages", "at")?,
            ))
        })
        .collect()
}
