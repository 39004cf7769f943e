//! The shared timeline of an invoice (issue 11 item 6): one list, oldest
//! first so it reads as a story, that the customer and AR both see. It
//! says when the invoice was issued, links and reminders sent, views by
//! the customer, payments and their status changes, dispute status
//! changes and customer-visible messages, credits applied, and the events
//! of payment plans covering the invoice (issue 12). Internal
//! notes are never part of it (the repository does not read them), so the
//! staff variant shows exactly the customer's entries, with names instead
//! of "you".

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::domain::audit::Action;
use crate::domain::payment_state::{method_label, payment_number};
use crate::domain::Money;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::invoices::{self as invoices_repo, InvoiceLedgerRow};
use crate::repo::plans::PlanActor;
use crate::repo::timeline::{self as repo, AuditRow};
use crate::repo::{accounts, Conn};
use crate::services::access::ContactAccess;
use crate::services::Services;

/// Who did something, as the reader of the timeline says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The contact reading the timeline.
    You,
    /// Another contact of the customer (a colleague), by name.
    Contact(String),
    /// The seller's AR team; named on the staff side only.
    Ar(Option<String>),
    /// The portal itself (reminders, a payment provider's answer).
    System,
    /// Whoever holds a link to the invoice from an email.
    LinkHolder,
}

impl Actor {
    pub fn words(&self) -> String {
        match self {
            Actor::You => "You".into(),
            Actor::Contact(name) => name.clone(),
            Actor::Ar(None) => "AR".into(),
            Actor::Ar(Some(name)) => format!("{name} (AR)"),
            Actor::System => "The portal".into(),
            Actor::LinkHolder => "Someone with the invoice link".into(),
        }
    }
}

/// What kind of thing an entry tells of (the page marks each kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Issued,
    Sent,
    Viewed,
    Payment,
    Dispute,
    Message,
    Credit,
    /// A payment plan covering the invoice was proposed, decided, or moved.
    Plan,
}

impl EntryKind {
    pub const fn key(self) -> &'static str {
        match self {
            EntryKind::Issued => "issued",
            EntryKind::Sent => "sent",
            EntryKind::Viewed => "viewed",
            EntryKind::Payment => "payment",
            EntryKind::Dispute => "dispute",
            EntryKind::Message => "message",
            EntryKind::Credit => "credit",
            EntryKind::Plan => "plan",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// Only the date is known (the issue date): show no time of day.
    pub date_only: bool,
    pub kind: EntryKind,
    pub actor: Actor,
    /// What happened, in a sentence without its actor.
    pub what: String,
    /// A message's text.
    pub body: Option<String>,
    /// The dispute the entry belongs to, for a link to its thread.
    pub request_id: Option<i64>,
}

/// Who reads the timeline: a contact ("you") or AR staff (names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reader {
    Contact(i64),
    Staff,
}

impl Services {
    /// The timeline of the customer's invoice, for a contact of the
    /// customer; another customer's invoice is `NotFound`.
    pub async fn invoice_timeline(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<Vec<TimelineEntry>> {
        access
            .membership(customer_id)
            .ok_or(ServiceError::NotFound)?;
        let mut conn = self.db.pool.acquire().await?;
        let row = invoices_repo::invoice(&mut conn, invoice_id)
            .await?
            .filter(|i| i.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        timeline_entries(&mut conn, &row, Reader::Contact(access.contact_id)).await
    }

    /// The same entries for AR staff (active ones only), naming people.
    pub async fn staff_invoice_timeline(
        &self,
        staff_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<Vec<TimelineEntry>> {
        let mut conn = self.db.pool.acquire().await?;
        accounts::active_staff(&mut conn, staff_id)
            .await?
            .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))?;
        let row = invoices_repo::invoice(&mut conn, invoice_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        timeline_entries(&mut conn, &row, Reader::Staff).await
    }
}

/// Records a view of the invoice by its customer (`contact_id`), or by a
/// link holder (`link_id`): at most one per viewer and day.
pub(crate) async fn record_view(
    conn: &mut Conn,
    invoice_id: i64,
    contact_id: Option<i64>,
    link_id: Option<i64>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let viewer = match (contact_id, link_id) {
        (Some(c), _) => format!("contact:{c}"),
        (None, Some(l)) => format!("link:{l}"),
        (None, None) => return Ok(()),
    };
    repo::record_view(conn, invoice_id, &viewer, contact_id, now).await?;
    Ok(())
}

/// Every customer-visible entry of the invoice, oldest first.
pub(crate) async fn timeline_entries(
    conn: &mut Conn,
    invoice: &InvoiceLedgerRow,
    reader: Reader,
) -> ServiceResult<Vec<TimelineEntry>> {
    let invoice_id = invoice.invoice_id;
    let money = |minor: i64| Money::new(minor, invoice.currency).display();
    let audit = repo::audit_events(conn, invoice_id).await?;
    let views = repo::views(conn, invoice_id).await?;
    let messages = repo::customer_messages(conn, invoice_id).await?;
    let disputes = repo::disputes(conn, invoice_id).await?;
    let credits = repo::credits(conn, invoice_id).await?;
    let payments = repo::payments(conn, invoice_id).await?;
    let plan_events = crate::repo::plans::invoice_plan_events(conn, invoice_id).await?;

    let contact = |id: Option<i64>, name: Option<String>| match (reader, id) {
        (Reader::Contact(me), Some(id)) if id == me => Actor::You,
        _ => Actor::Contact(name.unwrap_or_else(|| "A contact".into())),
    };
    let staff = |name: Option<String>| match reader {
        Reader::Contact(_) => Actor::Ar(None),
        Reader::Staff => Actor::Ar(name),
    };
    let mut entries = vec![TimelineEntry {
        at: invoice
            .issue_date
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc(),
        date_only: true,
        kind: EntryKind::Issued,
        actor: Actor::Ar(None),
        what: format!("Issued the invoice for {}", money(invoice.total_minor)),
        body: None,
        request_id: None,
    }];
    let entry = |at, kind, actor, what: String| TimelineEntry {
        at,
        date_only: false,
        kind,
        actor,
        what,
        body: None,
        request_id: None,
    };

    for v in views {
        let actor = match v.contact_id {
            Some(id) => contact(Some(id), v.contact_name),
            None => Actor::LinkHolder,
        };
        entries.push(entry(
            v.at,
            EntryKind::Viewed,
            actor,
            "Viewed the invoice".into(),
        ));
    }

    let payment_amounts: HashMap<i64, i64> = payments
        .iter()
        .map(|p| (p.payment_id, p.amount_minor))
        .collect();
    let mut told_payments = HashSet::new();
    // Payments autopay made, by payment: what its charge recorded (the
    // attempt, a decline's words and what happens next).
    let mut autopay_charges: HashMap<i64, repo::AutopayChargeRow> = HashMap::new();
    for a in audit.iter().filter(|a| a.action == Action::PaymentPending) {
        let payment = a.detail.get("payment_id").and_then(|v| v.as_i64());
        let charge = a.detail.get("autopay_charge").and_then(|v| v.as_i64());
        if let (Some(payment_id), Some(charge_id)) = (payment, charge) {
            if let Some(row) = repo::autopay_charge(conn, charge_id).await? {
                autopay_charges.insert(payment_id, row);
            }
        }
    }
    let disputes_by_id: HashMap<i64, &repo::DisputeRow> =
        disputes.iter().map(|d| (d.request_id, d)).collect();
    // The last resolution of a dispute that is resolved now carries its note.
    let last_resolution: HashMap<i64, usize> = audit
        .iter()
        .enumerate()
        .filter(|(_, a)| a.action == Action::RequestResolved)
        .filter_map(|(i, a)| request_of(a).map(|r| (r, i)))
        .collect();

    for (index, a) in audit.iter().enumerate() {
        let actor = match a.actor_kind.as_str() {
            "contact" => contact(a.actor_id, a.actor_name.clone()),
            "staff" => staff(a.actor_name.clone()),
            "anonymous" => Actor::LinkHolder,
            _ => Actor::System,
        };
        if let Some(payment_id) = a.detail.get("payment_id").and_then(|v| v.as_i64()) {
            told_payments.insert(payment_id);
            let amount = payment_amounts
                .get(&payment_id)
                .copied()
                .or_else(|| a.detail.get("amount_minor").and_then(|v| v.as_i64()))
                .unwrap_or(0);
            let number = payment_number(payment_id);
            let autopay = autopay_charges.get(&payment_id);
            let method = in_sentence(method_label(
                a.detail
                    .get("method")
                    .and_then(|m| m.as_str())
                    .unwrap_or(""),
            ));
            let mut body = None;
            let what = match (a.action, autopay) {
                (Action::PaymentPending, Some(charge)) => {
                    format!(
                        "Autopay started payment {number} of {} ({}, attempt {} of {})",
                        money(amount),
                        method,
                        charge.attempt,
                        crate::services::autopay::MAX_ATTEMPTS
                    )
                }
                (Action::PaymentSucceeded, Some(_)) => {
                    format!("Autopay payment {number} of {} received", money(amount))
                }
                (Action::PaymentFailed, Some(charge)) => {
                    body = charge.message.clone();
                    format!("Autopay payment {number} failed; the amount is open again")
                }
                (Action::PaymentPending, None) => {
                    format!(
                        "Started payment {number} of {} by {method} (checkout open)",
                        money(amount),
                    )
                }
                (Action::PaymentProcessing, _) => format!(
                    "Payment {number} of {} submitted; a bank payment takes a few business days",
                    money(amount)
                ),
                (Action::PaymentSucceeded, _) => {
                    format!("Payment {number} of {} received", money(amount))
                }
                (Action::PaymentFailed, _) => {
                    format!("Payment {number} failed; the amount is open again")
                }
                (Action::PaymentCanceled, _) => {
                    format!("Payment {number} canceled; nothing was charged")
                }
                (Action::PaymentRefunded, _) => format!("Payment {number} refunded"),
                (Action::PaymentPartlyRefunded, _) => format!("Payment {number} partly refunded"),
                (Action::PaymentDisputed, _) => {
                    format!("Payment {number} disputed with the card issuer")
                }
                _ => continue,
            };
            entries.push(TimelineEntry {
                body,
                ..entry(a.at, EntryKind::Payment, actor, what)
            });
            continue;
        }
        let request_id = request_of(a);
        let dispute = request_id.and_then(|r| disputes_by_id.get(&r).copied());
        let held = |d: Option<&repo::DisputeRow>| d.map(|d| money(d.disputed_minor));
        let (kind, actor, what) = match a.action {
            Action::InvoiceLinkCreated => {
                // Reminders mint a link for their email; otherwise AR (or
                // its tools) sent one.
                let reminder =
                    a.detail.get("created_by").and_then(|v| v.as_str()) == Some("reminder");
                if reminder {
                    (
                        EntryKind::Sent,
                        Actor::System,
                        "Sent a payment reminder with a link to this invoice".to_owned(),
                    )
                } else {
                    (
                        EntryKind::Sent,
                        Actor::Ar(None),
                        "Sent a link to this invoice by email".to_owned(),
                    )
                }
            }
            Action::InvoiceLinkRefreshed => (
                EntryKind::Sent,
                Actor::LinkHolder,
                "Asked for a fresh link; it was emailed to the account's contacts".to_owned(),
            ),
            Action::InvoiceLinkRevoked => (
                EntryKind::Sent,
                actor,
                "Revoked a link to this invoice".to_owned(),
            ),
            Action::DisputeRaised => {
                let amount = a
                    .detail
                    .get("disputed_minor")
                    .and_then(|v| v.as_i64())
                    .map(money)
                    .or_else(|| held(dispute))
                    .unwrap_or_default();
                let reason = dispute
                    .and_then(|d| d.reason_label.clone())
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                (
                    EntryKind::Dispute,
                    actor,
                    format!("Disputed {amount} of the invoice{reason}"),
                )
            }
            Action::DisputeWithdrawn => (
                EntryKind::Dispute,
                actor,
                "Withdrew the dispute; the held amount can be paid again".to_owned(),
            ),
            Action::RequestWaitingOnCustomer => (
                EntryKind::Dispute,
                actor,
                "Asked the customer for more information (waiting on the customer)".to_owned(),
            ),
            Action::DisputeReopened => (
                EntryKind::Dispute,
                actor,
                format!(
                    "Reopened the dispute; {} is held again",
                    held(dispute).unwrap_or_default()
                ),
            ),
            Action::RequestResolved => {
                let outcome = a.detail.get("outcome").and_then(|v| v.as_str());
                let note = dispute
                    .filter(|d| d.status == "resolved")
                    .filter(|_| request_id.and_then(|r| last_resolution.get(&r)) == Some(&index))
                    .and_then(|d| d.outcome_note.clone());
                let credit = a
                    .detail
                    .get("credit_minor")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0);
                let what = match outcome {
                    Some("credit_note") => format!(
                        "Resolved the dispute with a credit note of {}",
                        money(credit)
                    ),
                    Some("corrected_invoice") => match note {
                        Some(n) => format!("Resolved the dispute with a corrected invoice ({n})"),
                        None => "Resolved the dispute with a corrected invoice".to_owned(),
                    },
                    Some("rejected") => match note {
                        Some(n) => format!("Rejected the dispute: {n}"),
                        None => "Rejected the dispute".to_owned(),
                    },
                    _ => "Resolved the dispute".to_owned(),
                };
                (EntryKind::Dispute, actor, what)
            }
            _ => continue,
        };
        entries.push(TimelineEntry {
            request_id,
            ..entry(a.at, kind, actor, what)
        });
    }

    // Payments no event tells of (recorded in the ERP): one entry each.
    for p in payments
        .iter()
        .filter(|p| !told_payments.contains(&p.payment_id))
    {
        let number = payment_number(p.payment_id);
        let what = match p.status.as_str() {
            "succeeded" => format!(
                "Payment {number} of {} received ({})",
                money(p.amount_minor),
                method_label(&p.method)
            ),
            status => format!("Payment {number} of {}: {status}", money(p.amount_minor)),
        };
        entries.push(entry(p.at, EntryKind::Payment, Actor::System, what));
    }

    for m in messages {
        let actor = match m.author_kind.as_str() {
            "contact" => contact(Some(m.author_id), m.author_name),
            _ => staff(m.author_name),
        };
        let files = match m.attachments {
            0 => String::new(),
            1 => " (1 file)".into(),
            n => format!(" ({n} files)"),
        };
        let on = match m.kind.as_str() {
            "payment_plan" => "the payment plan request",
            _ => "the dispute",
        };
        let what = match actor {
            Actor::Ar(_) => format!("Replied on {on}{files}"),
            _ => format!("Wrote on {on}{files}"),
        };
        entries.push(TimelineEntry {
            body: Some(m.body),
            request_id: Some(m.request_id),
            ..entry(m.at, EntryKind::Message, actor, what)
        });
    }

    for c in credits {
        entries.push(entry(
            c.at,
            EntryKind::Credit,
            Actor::Ar(None),
            format!(
                "Applied credit note {} of {}",
                c.number,
                money(c.amount_minor)
            ),
        ));
    }

    // Payment plans covering the invoice: each plan event (its note is
    // customer-visible words: a reason, the portal's explanation).
    for e in plan_events {
        let actor = match e.actor {
            PlanActor::Contact(id) => contact(Some(id), e.actor_name),
            PlanActor::Staff(_) => staff(e.actor_name),
            PlanActor::System => Actor::System,
        };
        entries.push(TimelineEntry {
            body: e.note,
            ..entry(
                e.at,
                EntryKind::Plan,
                actor,
                format!("{} (plan {})", e.event.words(), e.plan_id),
            )
        });
    }

    // Oldest first; a stable sort keeps each source's own order on a tie
    // (a dispute raised before its first message).
    entries.sort_by_key(|e| e.at);
    Ok(entries)
}

/// A label inside a sentence: "Card" becomes "card", "ACH bank debit"
/// keeps its acronym.
fn in_sentence(label: &str) -> String {
    let mut chars = label.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => first
            .to_lowercase()
            .chain(label[first.len_utf8()..].chars())
            .collect(),
        _ => label.to_owned(),
    }
}

/// The request an audit event about a request names.
fn request_of(a: &AuditRow) -> Option<i64> {
    a.subject.strip_prefix("request:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_as_words_from_each_side() {
        assert_eq!(Actor::You.words(), "You");
        assert_eq!(Actor::Ar(None).words(), "AR");
        assert_eq!(Actor::Ar(Some("Ann".into())).words(), "Ann (AR)");
        assert_eq!(Actor::Contact("Bo".into()).words(), "Bo");
    }

    #[test]
    fn method_labels_read_inside_a_sentence() {
        assert_eq!(in_sentence("Card"), "card");
        assert_eq!(in_sentence("ACH bank debit"), "ACH bank debit");
        assert_eq!(in_sentence("Bank transfer"), "bank transfer");
    }
}
