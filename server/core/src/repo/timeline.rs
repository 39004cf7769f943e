//! What an invoice's shared timeline is read from (issue 11 item 6): the
//! audit events about the invoice and about its disputes, the customer's
//! views of it (migration 0012), the customer-visible messages of its
//! disputes and the credits applied to it. Only customer-visible facts are
//! read: internal notes are filtered out in SQL (never even fetched), and
//! of a dispute's audit events only the status changes a customer sees.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::{date_text, ts};
use crate::domain::audit::Action;

/// Records that `viewer` ('contact:<id>' or 'link:<id>') saw the invoice,
/// once per viewer, invoice and UTC day: a second view that day, or two
/// first views at once, write nothing.
pub async fn record_view(
    conn: &mut Conn,
    invoice_id: i64,
    viewer: &str,
    contact_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // A read first: a refresh (the common case) then takes no write lock.
    let seen = sqlx::query(
        "SELECT 1 AS seen FROM invoice_views WHERE invoice_id = $1 AND viewer = $2 AND viewed_on = $3",
    )
    .bind(invoice_id)
    .bind(viewer)
    .bind(date_text(at.date_naive()))
    .fetch_optional(&mut *conn)
    .await?;
    if seen.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO invoice_views (invoice_id, viewer, viewed_on, contact_id, first_seen_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (invoice_id, viewer, viewed_on) DO NOTHING",
    )
    .bind(invoice_id)
    .bind(viewer)
    .bind(date_text(at.date_naive()))
    .bind(contact_id)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// One recorded view (the first of its viewer's day).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewRow {
    pub at: DateTime<Utc>,
    pub viewed_on: NaiveDate,
    /// The contact who viewed; `None` for someone holding an invoice link.
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
}

pub async fn views(conn: &mut Conn, invoice_id: i64) -> Result<Vec<ViewRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT v.first_seen_at, v.viewed_on, v.contact_id, c.name AS contact_name
         FROM invoice_views v LEFT JOIN contacts c ON c.contact_id = v.contact_id
         WHERE v.invoice_id = $1 ORDER BY v.first_seen_at, v.viewer",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ViewRow {
                at: decode(r, "invoice_views", "first_seen_at")?,
                viewed_on: decode(r, "invoice_views", "viewed_on")?,
                contact_id: r.try_get("contact_id")?,
                contact_name: r.try_get("contact_name")?,
            })
        })
        .collect()
}

/// An audit event with its actor's name as it is now.
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    pub action: Action,
    /// 'contact', 'staff', 'system' or 'anonymous'.
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    /// 'invoice:<id>' or 'request:<id>'.
    pub subject: String,
    /// The event's JSON detail, parsed (`Null` if it is not JSON).
    pub detail: serde_json::Value,
}

/// The actions the timeline shows of an invoice's own events: links and
/// reminders sent, and payments (credits come from their allocations).
const INVOICE_ACTIONS: [Action; 11] = [
    Action::InvoiceLinkCreated,
    Action::InvoiceLinkRefreshed,
    Action::InvoiceLinkRevoked,
    Action::PaymentPending,
    Action::PaymentProcessing,
    Action::PaymentSucceeded,
    Action::PaymentFailed,
    Action::PaymentCanceled,
    Action::PaymentRefunded,
    Action::PaymentPartlyRefunded,
    Action::PaymentDisputed,
];

/// The status changes of a dispute a customer sees. Assignments, internal
/// notes and replies (the replies are read as messages) are left out.
const DISPUTE_ACTIONS: [Action; 5] = [
    Action::DisputeRaised,
    Action::DisputeWithdrawn,
    Action::RequestWaitingOnCustomer,
    Action::RequestResolved,
    Action::DisputeReopened,
];

fn action_list(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| format!("'{}'", a.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn audit_row(r: &AnyRow) -> Result<Option<AuditRow>, sqlx::Error> {
    let action: String = r.try_get("action")?;
    let Some(action) = Action::parse(&action) else {
        return Ok(None);
    };
    let detail: String = r.try_get("detail")?;
    Ok(Some(AuditRow {
        at: decode(r, "audit_events", "occurred_at")?,
        action,
        actor_kind: r.try_get("actor_kind")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        subject: r.try_get("subject")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
    }))
}

/// The audit events about the invoice and its disputes that the timeline
/// shows, oldest first.
pub async fn audit_events(conn: &mut Conn, invoice_id: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    // Two subjects, each read through the subject index: the invoice's own
    // events, and those of the requests about it.
    let text = format!(
        "SELECT a.occurred_at, a.action, a.actor_kind, a.actor_id, a.subject, a.detail,
                COALESCE(c.name, s.name) AS actor_name
         FROM audit_events a
         LEFT JOIN contacts c ON a.actor_kind = 'contact' AND c.contact_id = a.actor_id
         LEFT JOIN staff_users s ON a.actor_kind = 'staff' AND s.staff_id = a.actor_id
         WHERE (a.subject = $1 AND a.action IN ({invoice}))
            OR (a.subject IN (SELECT 'request:' || CAST(r.request_id AS TEXT) FROM requests r
                              WHERE r.invoice_id = $2 AND r.kind = 'dispute')
                AND a.action IN ({dispute}))
         ORDER BY a.occurred_at, a.audit_event_id",
        invoice = action_list(&INVOICE_ACTIONS),
        dispute = action_list(&DISPUTE_ACTIONS),
    );
    let rows = sqlx::query(&text)
        .bind(format!("invoice:{invoice_id}"))
        .bind(invoice_id)
        .fetch_all(conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.extend(audit_row(r)?);
    }
    Ok(out)
}

/// A customer-visible message on one of the invoice's disputes, or on the
/// request of a payment plan that covers the invoice.
#[derive(Clone, Debug)]
pub struct MessageRow {
    pub request_id: i64,
    /// The request's kind: 'dispute' or 'payment_plan'.
    pub kind: String,
    pub at: DateTime<Utc>,
    /// 'contact' or 'staff'.
    pub author_kind: String,
    pub author_id: i64,
    pub author_name: Option<String>,
    pub body: String,
    pub attachments: i64,
}

/// The customer-visible messages of the invoice's disputes and of the
/// payment plans that cover (or covered) it, oldest first. Internal notes
/// are excluded here, by a literal, so they are never read.
pub async fn customer_messages(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.request_id, r.kind, m.created_at, m.author_kind, m.author_id, m.body,
                COALESCE(c.name, s.name) AS author_name,
                CAST((SELECT COUNT(*) FROM request_attachments ra WHERE ra.message_id = m.message_id) AS BIGINT) AS attachments
         FROM request_messages m
         JOIN requests r ON r.request_id = m.request_id
         LEFT JOIN contacts c ON m.author_kind = 'contact' AND c.contact_id = m.author_id
         LEFT JOIN staff_users s ON m.author_kind = 'staff' AND s.staff_id = m.author_id
         WHERE m.visibility = 'customer'
           AND m.request_id IN (
               SELECT d.request_id FROM requests d WHERE d.invoice_id = $1 AND d.kind = 'dispute'
               UNION
               SELECT p.request_id FROM plan_invoices pi
               JOIN payment_plans p ON p.plan_id = pi.plan_id
               WHERE pi.invoice_id = $2)
         ORDER BY m.created_at, m.message_id",
    )
    .bind(invoice_id)
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MessageRow {
                request_id: r.try_get("request_id")?,
                kind: r.try_get("kind")?,
                at: decode(r, "request_messages", "created_at")?,
                author_kind: r.try_get("author_kind")?,
                author_id: r.try_get("author_id")?,
                author_name: r.try_get("author_name")?,
                body: r.try_get("body")?,
                attachments: r.try_get("attachments")?,
            })
        })
        .collect()
}

/// What the portal recorded of an autopay charge's answer (the decline's
/// words and what happens next), for the timeline entry of its payment.
#[derive(Clone, Debug)]
pub struct AutopayChargeRow {
    pub attempt: i64,
    pub message: Option<String>,
}

/// One autopay charge by its id (the payment's audit event names it).
pub async fn autopay_charge(
    conn: &mut Conn,
    charge_id: i64,
) -> Result<Option<AutopayChargeRow>, sqlx::Error> {
    let row = sqlx::query("SELECT attempt, message FROM autopay_charges WHERE charge_id = $1")
        .bind(charge_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(AutopayChargeRow {
            attempt: r.try_get("attempt")?,
            message: r.try_get("message")?,
        })
    })
    .transpose()
}

/// A dispute of the invoice as the timeline names it.
#[derive(Clone, Debug)]
pub struct DisputeRow {
    pub request_id: i64,
    pub reason_label: Option<String>,
    pub disputed_minor: i64,
    /// The latest resolution's note (a rejection's reason, a corrected
    /// invoice's reference), while the dispute is resolved.
    pub outcome_note: Option<String>,
    pub status: String,
}

pub async fn disputes(conn: &mut Conn, invoice_id: i64) -> Result<Vec<DisputeRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.request_id, rr.label AS reason_label, r.disputed_minor, r.outcome_note, r.status
         FROM requests r LEFT JOIN request_reasons rr ON rr.reason_id = r.reason_id
         WHERE r.invoice_id = $1 AND r.kind = 'dispute' ORDER BY r.request_id",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DisputeRow {
                request_id: r.try_get("request_id")?,
                reason_label: r.try_get("reason_label")?,
                disputed_minor: r.try_get::<Option<i64>, _>("disputed_minor")?.unwrap_or(0),
                outcome_note: r.try_get("outcome_note")?,
                status: r.try_get("status")?,
            })
        })
        .collect()
}

/// A credit note applied to the invoice.
#[derive(Clone, Debug)]
pub struct CreditRow {
    pub at: DateTime<Utc>,
    pub number: String,
    pub amount_minor: i64,
}

pub async fn credits(conn: &mut Conn, invoice_id: i64) -> Result<Vec<CreditRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ca.applied_at, cn.number, ca.amount_minor
         FROM credit_allocations ca JOIN credit_notes cn ON cn.credit_note_id = ca.credit_note_id
         WHERE ca.invoice_id = $1 ORDER BY ca.applied_at, cn.credit_note_id",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CreditRow {
                at: decode(r, "credit_allocations", "applied_at")?,
                number: r.try_get("number")?,
                amount_minor: r.try_get("amount_minor")?,
            })
        })
        .collect()
}

/// A payment allocated to the invoice, for the payments no audit event
/// tells of (recorded in the ERP and imported).
#[derive(Clone, Debug)]
pub struct PaymentRow {
    pub payment_id: i64,
    pub at: DateTime<Utc>,
    pub status: String,
    pub method: String,
    pub amount_minor: i64,
}

pub async fn payments(conn: &mut Conn, invoice_id: i64) -> Result<Vec<PaymentRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.payment_id, COALESCE(p.received_at, p.created_at) AS at, p.status, p.method,
                pa.amount_minor
         FROM payment_allocations pa JOIN payments p ON p.payment_id = pa.payment_id
         WHERE pa.invoice_id = $1 ORDER BY p.payment_id",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PaymentRow {
                payment_id: r.try_get("payment_id")?,
                at: decode(r, "payments", "at")?,
                status: r.try_get("status")?,
                method: r.try_get("method")?,
                amount_minor: r.try_get("amount_minor")?,
            })
        })
        .collect()
}
