//! Delivers the outbox. Woken at once when a request commits an email, and
//! every few seconds anyway (for retries, and for rows left by a process
//! that died between commit and send).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::redact::redact_tokens;
use super::transport::EmailTransport;
use crate::clock::Clock;
use crate::db::Db;
use crate::repo::outbox;

/// After this many failed attempts the email is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// A claimed email not finished within this lease is claimed again.
const LEASE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct OutboxWorker {
    pub db: Db,
    pub transport: Arc<dyn EmailTransport>,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Notify>,
}

/// Backoff before attempt n+1: 10 s, 20 s, 40 s … capped at 30 minutes.
pub fn backoff(attempts: i64) -> chrono::Duration {
    crate::domain::backoff::backoff(
        attempts,
        chrono::Duration::seconds(10),
        chrono::Duration::minutes(30),
    )
}

impl OutboxWorker {
    pub async fn run_forever(self) {
        loop {
            match self.deliver_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox worker: database error"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Sends what is due; returns how many emails it handled.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(LEASE).expect("lease fits");
        let claimed = {
            let mut conn = self.db.pool.acquire().await?;
            outbox::claim_due(&mut conn, self.db.backend(), now, lease_until, 20).await?
        };
        for email in &claimed {
            let result = self.transport.send(email).await;
            // Once the mail has left (or never will), the row keeps no live
            // sign-in or invoice link; the dev mailbox's row is the mail.
            let redacted = self.transport.redact_sent().then(|| {
                (
                    redact_tokens(&email.text_body),
                    redact_tokens(&email.html_body),
                    email.headers.as_deref().map(redact_tokens),
                )
            });
            let bodies = redacted
                .as_ref()
                .map(|(text, html, headers)| (text.as_str(), html.as_str(), headers.as_deref()));
            let mut conn = self.db.pool.acquire().await?;
            match result {
                Ok(()) => {
                    outbox::mark_sent(
                        &mut conn,
                        email.email_id,
                        self.transport.name(),
                        self.clock.now(),
                        bodies,
                    )
                    .await?
                }
                Err(error) => {
                    let retry_at = (email.attempts < MAX_ATTEMPTS)
                        .then(|| self.clock.now() + backoff(email.attempts));
                    tracing::warn!(email_id = email.email_id, attempts = email.attempts, %error, "email not sent; will retry: {}", retry_at.is_some());
                    let bodies = if retry_at.is_none() { bodies } else { None };
                    outbox::mark_attempt_failed(
                        &mut conn,
                        email.email_id,
                        &error,
                        retry_at,
                        bodies,
                    )
                    .await?;
                }
            }
        }
        Ok(claimed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1).num_seconds(), 10);
        assert_eq!(backoff(2).num_seconds(), 20);
        assert_eq!(backoff(4).num_seconds(), 80);
        assert_eq!(backoff(30).num_seconds(), 1800);
    }
}
