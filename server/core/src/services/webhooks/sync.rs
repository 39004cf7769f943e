//! Asking the gateway itself: a checkout's state when the customer comes
//! back (or it went stale), and the events that never arrived.

use chrono::{DateTime, Utc};

use super::NotApplied;
use crate::domain::payment_state;
use crate::domain::Signal;
use crate::error::ServiceResult;
use crate::payments::event::{self, PaymentKeys};
use crate::repo::payments as payments_repo;
use crate::repo::{ledger, webhook_events};
use crate::services::Services;

impl Services {
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

    /// Applies a gateway object the portal received itself (autopay's
    /// answer to its off-session charge) in the caller's transaction, as
    /// its event would be; the event arriving later then changes nothing.
    pub(crate) async fn apply_gateway_answer(
        &self,
        conn: &mut crate::repo::Conn,
        event_type: &str,
        object: &serde_json::Value,
        source: &str,
    ) -> ServiceResult<String> {
        match self
            .apply_gateway_object(conn, event_type, object, source)
            .await
        {
            Ok(outcome) => Ok(outcome),
            Err(NotApplied::Database(e)) => Err(e.into()),
            Err(NotApplied::Later(reason)) => Ok(format!("not applied: {reason}")),
        }
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
