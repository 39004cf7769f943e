//! Storing verified events, and applying the stored ones that are due.

use std::time::Duration;

use serde_json::Value;

use super::{NotApplied, WebhookRefusal};
use crate::error::ServiceResult;
use crate::payments::event;
use crate::payments::signature;
use crate::repo::webhook_events::{self, StoredEvent};
use crate::services::Services;

/// An event that cannot be applied yet (its payment is not known) is
/// retried this many times, backing off up to an hour, then set aside for AR.
const MAX_ATTEMPTS: i64 = 12;
const LEASE: Duration = Duration::from_secs(60);

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
}
