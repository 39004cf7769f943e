//! Gateway events into the ledger. The webhook route only verifies and
//! stores (so Stripe gets its 2xx fast and nothing is lost if we crash);
//! the worker applies stored events one transaction each, marking the event
//! processed in that same transaction, so each is applied exactly once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Services;
use crate::domain::payment_state::{self, PaymentStatus, Transition};
use crate::domain::{Money, Signal};
use crate::email::templates::{payment_failed_email, payment_receipt_email, PaymentEmail};
use crate::error::ServiceResult;
use crate::payments::event::{self, PaymentEvent, PaymentKeys};
use crate::payments::signature::{self, SignatureError};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::payments::{self as payments_repo, method_label, PaymentRow};
use crate::repo::webhook_events::{self, StoredEvent};
use crate::repo::{accounts, invoices, ledger, outbox, Conn};

/// An event that cannot be applied yet (its payment is not known) is
/// retried this many times, backing off up to an hour, then set aside for AR.
const MAX_ATTEMPTS: i64 = 12;
const LEASE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum WebhookRefusal {
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("body: {0}")]
    Body(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why an event was not applied this time.
enum NotApplied {
    /// Try again later (its payment is not known yet).
    Later(String),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for NotApplied {
    fn from(e: sqlx::Error) -> Self {
        NotApplied::Database(e)
    }
}

/// Backoff for an event that could not be applied: 5 s, 10 s, 20 s … 1 h.
fn retry_delay(attempts: i64) -> chrono::Duration {
    crate::domain::backoff::backoff(
        attempts,
        chrono::Duration::seconds(5),
        chrono::Duration::hours(1),
    )
}

impl Services {
    /// The webhook endpoint's work: verify the signature on the raw body,
    /// store the event under its id. Returns whether the event was new.
    pub async fn receive_webhook(
        &self,
        body: &[u8],
        signature_header: Option<&str>,
    ) -> Result<bool, WebhookRefusal> {
        signature::verify(
            body,
            signature_header,
            &self.config.stripe_webhook_secret,
            self.clock.now().timestamp(),
            signature::TOLERANCE_SECS,
        )?;
        let payload = std::str::from_utf8(body)
            .map_err(|_| WebhookRefusal::Body("the body is not UTF-8".into()))?;
        let envelope = event::envelope(body).map_err(WebhookRefusal::Body)?;
        let mut conn = self.db.pool.acquire().await?;
        let new = webhook_events::insert_if_new(
            &mut conn,
            &envelope.id,
            &envelope.event_type,
            envelope.created,
            payload,
            "webhook",
            self.clock.now(),
        )
        .await?;
        if new {
            self.webhook_wake.notify_one();
        }
        Ok(new)
    }

    /// Applies the stored events that are due; returns how many it claimed.
    pub async fn process_due_events(&self, limit: i64) -> ServiceResult<usize> {
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(LEASE).expect("lease fits");
        let claimed = {
            let mut conn = self.db.pool.acquire().await?;
            webhook_events::claim_due(&mut conn, self.db.backend(), now, lease_until, limit).await?
        };
        for stored in &claimed {
            self.process_stored_event(stored).await?;
        }
        Ok(claimed.len())
    }

    /// Processes until nothing is due (tests, the CLI, the benchmark).
    pub async fn process_all_due_events(&self) -> ServiceResult<usize> {
        let mut total = 0;
        loop {
            let n = self.process_due_events(100).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    async fn process_stored_event(&self, stored: &StoredEvent) -> ServiceResult<()> {
        let parsed: Option<Value> = serde_json::from_str(&stored.payload).ok();
        let object = parsed
            .as_ref()
            .and_then(|v| v.pointer("/data/object"))
            .cloned()
            .unwrap_or(Value::Null);
        let mut tx = self.db.begin_write().await?;
        let result = self
            .apply_gateway_object(&mut tx, &stored.event_type, &object, &stored.event_id)
            .await;
        match result {
            Ok(outcome) => {
                if webhook_events::mark_processed(
                    &mut tx,
                    &stored.event_id,
                    &outcome,
                    self.clock.now(),
                )
                .await?
                {
                    tx.commit().await?;
                    self.outbox_wake.notify_one();
                } else {
                    tx.rollback().await?; // another worker got there first
                }
            }
            Err(not_applied) => {
                tx.rollback().await?;
                let reason = match not_applied {
                    NotApplied::Later(reason) => reason,
                    NotApplied::Database(e) => format!("database error: {e}"),
                };
                let mut conn = self.db.pool.acquire().await?;
                if stored.attempts >= MAX_ATTEMPTS {
                    tracing::warn!(event = %stored.event_id, %reason, "webhook event set aside");
                    webhook_events::mark_processed(
                        &mut conn,
                        &stored.event_id,
                        &format!(
                            "set aside for AR after {} attempts: {reason}",
                            stored.attempts
                        ),
                        self.clock.now(),
                    )
                    .await?;
                } else {
                    webhook_events::retry_later(
                        &mut conn,
                        &stored.event_id,
                        &reason,
                        self.clock.now() + retry_delay(stored.attempts),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Applies one Stripe object (from an event, or fetched) to the ledger
    /// inside `conn`'s transaction. Returns what it did, in words.
    async fn apply_gateway_object(
        &self,
        conn: &mut Conn,
        event_type: &str,
        object: &Value,
        event_id: &str,
    ) -> Result<String, NotApplied> {
        let (keys, action) = match event::classify(event_type, object) {
            PaymentEvent::Ignored(why) => return Ok(format!("ignored: {why}")),
            PaymentEvent::Signal { keys, signal } => (keys, Action::Signal(signal)),
            PaymentEvent::AttemptFailed { keys, message } => (keys, Action::AttemptFailed(message)),
            PaymentEvent::Disputed { keys, reason } => (keys, Action::Disputed(reason)),
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
        match action {
            Action::Signal(signal) => {
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
            Action::AttemptFailed(message) => {
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
                // once a debit was submitted, a failure ends the payment.
                if status == PaymentStatus::Processing {
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
                        "payment {payment_id}: processing -> failed ({message})"
                    ));
                }
                Ok(format!("payment {payment_id}: attempt failed ({message})"))
            }
            Action::Disputed(reason) => {
                let now = self.clock.now();
                if ledger::set_disputed(conn, payment_id, &reason, now).await? {
                    let detail = serde_json::json!({"payment_id": payment_id, "reason": reason, "event": event_id});
                    audit::record(
                        conn,
                        now,
                        system_audit(
                            &payment,
                            "payment.disputed",
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
    async fn write_transition(
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
        let action = match (next.status, next.refunded_minor > payment.refunded_minor) {
            (PaymentStatus::Succeeded, true) => "payment.partly_refunded",
            (status, _) => match status {
                PaymentStatus::Pending => "payment.pending",
                PaymentStatus::Processing => "payment.processing",
                PaymentStatus::Succeeded => "payment.succeeded",
                PaymentStatus::Failed => "payment.failed",
                PaymentStatus::Canceled => "payment.canceled",
                PaymentStatus::Refunded => "payment.refunded",
            },
        };
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
        let link = match failure {
            None => self.config.link(&format!(
                "/accounts/{}/payments/{}",
                payment.customer_id, payment.payment_id
            )),
            Some(_) => self
                .config
                .link(&format!("/accounts/{}/invoices", payment.customer_id)),
        };
        let facts = PaymentEmail {
            seller_name: &self.config.seller_name,
            customer_name: &customer_name,
            reference: &reference,
            amount: &money(payment.amount_minor),
            method: method_label(&payment.method),
            date: &now.format("%B %-d, %Y").to_string(),
            allocations: &lines,
            receipt_link: &link,
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

    /// Asks the gateway for a payment's checkout as it is now and applies
    /// it like an event. Used when the customer comes back from Checkout
    /// (before the webhook may have arrived) and for checkouts that should
    /// have ended long ago.
    pub async fn refresh_from_gateway(&self, payment_id: i64) -> ServiceResult<()> {
        let session_id = {
            let mut conn = self.db.pool.acquire().await?;
            payments_repo::payment(&mut conn, payment_id)
                .await?
                .and_then(|(p, _)| p.gateway_session_id)
        };
        let Some(session_id) = session_id else {
            return Ok(());
        };
        let session = match self.gateway.retrieve_checkout(&session_id).await {
            Ok(session) => session,
            Err(e) => {
                tracing::warn!(payment_id, error = %e, "could not fetch the checkout session");
                return Ok(());
            }
        };
        let Some(event_type) = event::session_state_as_event(&session) else {
            return Ok(()); // still open
        };
        let mut tx = self.db.begin_write().await?;
        let source = format!("fetched:{session_id}");
        match self
            .apply_gateway_object(&mut tx, event_type, &session, &source)
            .await
        {
            Ok(_) => {
                tx.commit().await?;
                self.outbox_wake.notify_one();
            }
            Err(NotApplied::Database(e)) => return Err(e.into()),
            Err(NotApplied::Later(_)) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Ends pending payments whose checkout should be over: fetched from
    /// the gateway (it says expired, or paid), or, when no checkout was ever
    /// created (the process died in between), canceled.
    pub async fn sweep_stale_checkouts(&self) -> ServiceResult<usize> {
        let cutoff = self.clock.now() - chrono::Duration::minutes(5);
        let stale = {
            let mut conn = self.db.pool.acquire().await?;
            ledger::stale_pending(&mut conn, cutoff).await?
        };
        for (payment_id, session) in &stale {
            match session {
                Some(_) => self.refresh_from_gateway(*payment_id).await?,
                None => {
                    self.cancel_without_checkout(*payment_id, "The checkout could not be started.")
                        .await?
                }
            }
        }
        Ok(stale.len())
    }

    /// Cancels a pending payment that has no checkout at the gateway.
    pub(crate) async fn cancel_without_checkout(
        &self,
        payment_id: i64,
        reason: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        ledger::lock_payment(&mut tx, self.db.backend(), payment_id).await?;
        if let Some((payment, _)) = payments_repo::payment(&mut tx, payment_id).await? {
            let status = payment.status;
            if let Some(next) = payment_state::apply(
                status,
                payment.refunded_minor,
                payment.amount_minor,
                Signal::Expired,
            ) {
                ledger::set_failure_message(&mut tx, payment_id, reason, None, self.clock.now())
                    .await?;
                self.write_transition(
                    &mut tx,
                    &payment,
                    next,
                    &PaymentKeys::default(),
                    "portal",
                    None,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `portal stripe-reconcile`: lists the gateway's events since `since`,
    /// stores the ones that never arrived, and processes everything due.
    /// Returns (listed, new, processed).
    pub async fn reconcile_events(
        &self,
        since: DateTime<Utc>,
    ) -> ServiceResult<(usize, usize, usize)> {
        let events =
            self.gateway.events_since(since).await.map_err(|e| {
                crate::ServiceError::Unavailable(format!("could not list events: {e}"))
            })?;
        let mut new = 0;
        for payload in &events {
            let Ok(envelope) = event::envelope(payload.as_bytes()) else {
                continue;
            };
            let mut conn = self.db.pool.acquire().await?;
            if webhook_events::insert_if_new(
                &mut conn,
                &envelope.id,
                &envelope.event_type,
                envelope.created,
                payload,
                "reconcile",
                self.clock.now(),
            )
            .await?
            {
                new += 1;
            }
        }
        let processed = self.process_all_due_events().await?;
        Ok((events.len(), new, processed))
    }
}

/// An audit row written by the ledger itself (not a person) about `payment`.
fn system_audit<'a>(
    payment: &PaymentRow,
    action: &'a str,
    detail: serde_json::Value,
    subject: String,
) -> AuditEvent<'a> {
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

enum Action {
    Signal(Signal),
    AttemptFailed(String),
    Disputed(String),
}

/// What AR sees of payments: the newest ones, and the gateway events that
/// need a person.
#[derive(Clone, Debug)]
pub struct PaymentsOverview {
    /// (payment, its allocations, customer name), newest first.
    pub payments: Vec<(
        PaymentRow,
        Vec<crate::repo::payments::AllocationRow>,
        String,
    )>,
    pub waiting_events: i64,
    /// (event id, type, why)
    pub set_aside: Vec<(String, String, String)>,
}

impl Services {
    pub async fn payments_overview(&self) -> ServiceResult<PaymentsOverview> {
        let mut conn = self.db.pool.acquire().await?;
        let payments = ledger::recent_payments(&mut conn, 100).await?;
        let (_, waiting_events) = webhook_events::counts(&mut conn).await?;
        let set_aside = webhook_events::set_aside(&mut conn, 50).await?;
        Ok(PaymentsOverview {
            payments,
            waiting_events,
            set_aside,
        })
    }
}
