//! One gateway object (from an event, or fetched) applied to the ledger:
//! the payment's new state, refunds spread over its invoices, the audit
//! log and the customer's email, all in the caller's transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::NotApplied;
use crate::domain::audit::Action;
use crate::domain::payment_state::method_label;
use crate::domain::payment_state::{self, PaymentStatus, Transition};
use crate::domain::{Money, Signal};
use crate::email::templates::{payment_failed_email, payment_receipt_email, PaymentEmail};
use crate::payments::event::{self, PaymentEvent, PaymentKeys};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::payments::{self as payments_repo, PaymentRow};
use crate::repo::{accounts, invoices, ledger, outbox, Conn};
use crate::services::Services;

impl Services {
    /// Applies one Stripe object (from an event, or fetched) to the ledger
    /// inside `conn`'s transaction. Returns what it did, in words.
    pub(super) async fn apply_gateway_object(
        &self,
        conn: &mut Conn,
        event_type: &str,
        object: &Value,
        event_id: &str,
    ) -> Result<String, NotApplied> {
        let (keys, change) = match event::classify(event_type, object) {
            PaymentEvent::Ignored(why) => return Ok(format!("ignored: {why}")),
            PaymentEvent::Signal { keys, signal } => (keys, Change::Signal(signal)),
            PaymentEvent::AttemptFailed { keys, message } => {
                (keys, Change::AttemptFailed(message, false))
            }
            PaymentEvent::OffSessionDeclined { keys, message } => {
                (keys, Change::AttemptFailed(message, true))
            }
            PaymentEvent::Disputed { keys, reason } => (keys, Change::Disputed(reason)),
        };
        if keys.is_empty() {
            return Ok("ignored: not a portal payment".into());
        }
        let Some(payment_id) = ledger::payment_for_keys(conn, self.db.backend(), &keys).await?
        else {
            if keys.payment_id.is_some() {
                return Ok("ignored: no such portal payment".into());
            }
            // A charge event can overtake the checkout event that tells us
            // the charge's payment intent: wait for it.
            return Err(NotApplied::Later(
                "no payment with this payment intent yet".into(),
            ));
        };
        let (payment, _) = payments_repo::payment(conn, payment_id)
            .await?
            .ok_or_else(|| NotApplied::Later("payment vanished".into()))?;
        if let Some(mismatch) = self.does_not_fit(&payment, &keys) {
            // Signed by Stripe, so not forged; but not this payment's
            // (another integration on the account, a test event in live
            // mode, a reused id): AR looks at it, the ledger stays as is.
            tracing::warn!(event = %event_id, payment_id, %mismatch, "webhook event does not fit its payment");
            return Ok(format!(
                "set aside for AR: payment {payment_id}: {mismatch}"
            ));
        }
        let status = payment.status;
        match change {
            Change::Signal(signal) => {
                match payment_state::apply(
                    status,
                    payment.refunded_minor,
                    payment.amount_minor,
                    signal,
                ) {
                    None => Ok(format!(
                        "no change: payment {payment_id} is {}",
                        payment.status.as_str()
                    )),
                    Some(next) => {
                        self.write_transition(conn, &payment, next, &keys, event_id, None)
                            .await?;
                        Ok(format!(
                            "payment {payment_id}: {} -> {}",
                            payment.status.as_str(),
                            next.status.as_str()
                        ))
                    }
                }
            }
            Change::AttemptFailed(message, off_session) => {
                // Autopay applied its own answer already (with the retry
                // plan in the message): the event that follows keeps it.
                if off_session && !status.holds_balance() {
                    return Ok(format!(
                        "no change: payment {payment_id} is {}",
                        status.as_str()
                    ));
                }
                let now = self.clock.now();
                ledger::set_failure_message(
                    conn,
                    payment_id,
                    &message,
                    keys.intent_id.as_deref(),
                    now,
                )
                .await?;
                // Inside an open checkout the customer can try another card;
                // once a debit was submitted, or when nobody is there to
                // try again (autopay), a failure ends the payment.
                if status == PaymentStatus::Processing
                    || (off_session && status == PaymentStatus::Pending)
                {
                    let next = payment_state::apply(
                        status,
                        payment.refunded_minor,
                        payment.amount_minor,
                        Signal::Failed,
                    )
                    .expect("processing can fail");
                    self.write_transition(conn, &payment, next, &keys, event_id, Some(&message))
                        .await?;
                    return Ok(format!(
                        "payment {payment_id}: {} -> failed ({message})",
                        status.as_str()
                    ));
                }
                Ok(format!("payment {payment_id}: attempt failed ({message})"))
            }
            Change::Disputed(reason) => {
                let now = self.clock.now();
                if ledger::set_disputed(conn, payment_id, &reason, now).await? {
                    let detail = serde_json::json!({"payment_id": payment_id, "reason": reason, "event": event_id});
                    audit::record(
                        conn,
                        now,
                        system_audit(
                            &payment,
                            Action::PaymentDisputed,
                            detail,
                            format!("payment:{payment_id}"),
                        ),
                    )
                    .await?;
                }
                Ok(format!("payment {payment_id}: disputed ({reason})"))
            }
        }
    }

    /// Why an object that names `payment` cannot be about it: another
    /// Checkout Session or PaymentIntent than the one we stored, another
    /// amount or currency, or the other mode (test vs live).
    fn does_not_fit(&self, payment: &PaymentRow, keys: &PaymentKeys) -> Option<String> {
        for (what, ours, theirs) in [
            (
                "checkout session",
                &payment.gateway_session_id,
                &keys.session_id,
            ),
            (
                "payment intent",
                &payment.gateway_intent_id,
                &keys.intent_id,
            ),
        ] {
            if let (Some(ours), Some(theirs)) = (ours, theirs) {
                if ours != theirs {
                    return Some(format!("{what} {theirs} is not the payment's {ours}"));
                }
            }
        }
        keys.facts.mismatch(
            payment.amount_minor,
            payment.currency.code(),
            self.config.stripe_livemode(),
        )
    }

    /// Writes a state change with everything that follows from it: refunds
    /// spread over the allocations, invoice balances, audit, emails.
    pub(super) async fn write_transition(
        &self,
        conn: &mut Conn,
        payment: &PaymentRow,
        next: Transition,
        keys: &PaymentKeys,
        event_id: &str,
        failure: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = self.clock.now();
        ledger::update_state(
            conn,
            payment,
            next.status.as_str(),
            next.refunded_minor,
            keys,
            now,
        )
        .await?;
        if next.status.received() && !payment.status.received() {
            // Issue 13: the early-payment discount the checkout locked.
            self.grant_locked_discounts(conn, payment, now).await?;
        }
        let allocations = ledger::allocations(conn, payment.payment_id).await?;
        if next.refunded_minor != payment.refunded_minor {
            // Refund the newest invoices first; each allocation's refunded
            // part is recomputed from the payment's total, so it is exact.
            let mut left = next.refunded_minor;
            for (invoice_id, amount, refunded) in &allocations {
                let share = left.min(*amount);
                left -= share;
                if share != *refunded {
                    ledger::set_allocation_refunded(conn, payment.payment_id, *invoice_id, share)
                        .await?;
                }
            }
        }
        let action = Action::of_payment(next.status, next.refunded_minor > payment.refunded_minor);
        let detail = serde_json::json!({
            "payment_id": payment.payment_id,
            "from": payment.status.as_str(),
            "to": next.status.as_str(),
            "amount_minor": payment.amount_minor,
            "refunded_minor": next.refunded_minor,
            "event": event_id,
        });
        let mut subjects = vec![format!("payment:{}", payment.payment_id)];
        for (invoice_id, _, _) in &allocations {
            invoices::refresh_settlement(conn, *invoice_id).await?;
            subjects.push(format!("invoice:{invoice_id}"));
        }
        for subject in subjects {
            audit::record(
                conn,
                now,
                system_audit(payment, action, detail.clone(), subject),
            )
            .await?;
        }
        let first_success = next.status.received() && !payment.status.received();
        if first_success || next.status == PaymentStatus::Failed {
            self.queue_payment_email(conn, payment, now, failure)
                .await?;
        }
        Ok(())
    }

    async fn queue_payment_email(
        &self,
        conn: &mut Conn,
        payment: &PaymentRow,
        now: DateTime<Utc>,
        failure: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let Some(to) = payment.receipt_email.clone() else {
            return Ok(());
        };
        let customer_name = accounts::customer_name_terms(conn, payment.customer_id)
            .await?
            .map(|(name, _)| name)
            .unwrap_or_default();
        let (_, allocations) = payments_repo::payment(conn, payment.payment_id)
            .await?
            .unwrap_or((payment.clone(), Vec::new()));
        let money = |minor| Money::new(minor, payment.currency).display();
        let lines: Vec<(String, String)> = allocations
            .iter()
            .map(|a| (a.invoice_number.clone(), money(a.amount_minor)))
            .collect();
        let reference = crate::domain::payment_number(payment.payment_id);
        // A payment made through an invoice link: its reader may have no
        // account, so the mail carries no link into the portal.
        let link = match failure {
            _ if payment.invoice_link_id.is_some() => None,
            None => Some(self.config.link(&format!(
                "/accounts/{}/payments/{}",
                payment.customer_id, payment.payment_id
            ))),
            Some(_) => Some(
                self.config
                    .link(&format!("/accounts/{}/invoices", payment.customer_id)),
            ),
        };
        let facts = PaymentEmail {
            seller_name: &self.config.seller_name,
            customer_name: &customer_name,
            reference: &reference,
            amount: &money(payment.amount_minor),
            method: method_label(&payment.method),
            date: &now.format("%B %-d, %Y").to_string(),
            allocations: &lines,
            receipt_link: link.as_deref(),
        };
        let email = match failure {
            None => payment_receipt_email(&facts),
            Some(reason) => payment_failed_email(&facts, reason),
        };
        outbox::enqueue(
            conn,
            now,
            outbox::NewEmail {
                to: &to,
                subject: &email.subject,
                text_body: &email.text_body,
                html_body: &email.html_body,
            },
        )
        .await?;
        Ok(())
    }
}

/// An audit row written by the ledger itself (not a person) about `payment`.
fn system_audit(
    payment: &PaymentRow,
    action: Action,
    detail: serde_json::Value,
    subject: String,
) -> AuditEvent<'static> {
    AuditEvent {
        actor_kind: "system",
        actor_id: None,
        customer_id: Some(payment.customer_id),
        action,
        detail,
        ip: None,
        subject: Some(subject),
    }
}

/// What a gateway object asks of its payment.
enum Change {
    Signal(Signal),
    /// The gateway's message; whether the attempt was off-session.
    AttemptFailed(String, bool),
    Disputed(String),
}
