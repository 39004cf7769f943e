//! The sandbox gateway: the default when no Stripe key is set, so the portal
//! can be tried and tested end to end without Stripe. It serves its own
//! hosted checkout page (clearly marked as a sandbox) where the tester picks
//! an outcome, and then sends the portal Stripe-shaped events, signed with
//! the webhook secret, through the same webhook endpoint Stripe uses. ACH
//! outcomes arrive after a configurable delay, as real ACH does (days).
//!
//! Its state lives in two tables (sandbox_checkouts, sandbox_deliveries) so
//! a restart loses nothing; the server's delivery task posts due events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{CheckoutCreated, CheckoutRequest, CustomerRequest, GatewayError, PaymentGateway};
use crate::clock::Clock;
use crate::db::{ts, Db};
use crate::repo::decode::decode;

#[derive(Clone, Debug)]
pub struct SandboxGateway {
    pub db: Db,
    pub clock: std::sync::Arc<dyn Clock>,
    /// Where the hosted page is served: `<base>/sandbox/checkout/<id>`.
    pub base_url: String,
    /// How long an ACH debit takes to settle or fail.
    pub ach_delay: Duration,
}

/// What the tester picks on the sandbox checkout page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxOutcome {
    CardSuccess,
    CardDecline,
    AchSuccess,
    AchFailure,
}

impl SandboxOutcome {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "card_success" => Self::CardSuccess,
            "card_decline" => Self::CardDecline,
            "ach_success" => Self::AchSuccess,
            "ach_failure" => Self::AchFailure,
            _ => return None,
        })
    }

    fn method(self) -> &'static str {
        match self {
            Self::CardSuccess | Self::CardDecline => "card",
            Self::AchSuccess | Self::AchFailure => "us_bank_account",
        }
    }
}

/// A sandbox checkout as its hosted page shows it.
#[derive(Clone, Debug)]
pub struct SandboxCheckout {
    pub session_id: String,
    pub payment_id: i64,
    pub currency: String,
    pub amount_minor: i64,
    /// `card` or `us_bank_account`.
    pub method: String,
    pub lines: Vec<(String, i64)>,
    pub receipt_email: String,
    pub success_url: String,
    pub cancel_url: String,
    pub status: String,
    pub payment_status: String,
    pub intent_id: String,
    pub decline_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A due webhook delivery of the sandbox.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub delivery_id: i64,
    pub payload: String,
}

pub const DECLINE_MESSAGE: &str = "Your card was declined.";
const ACH_FAILURE_MESSAGE: &str =
    "The bank returned the debit: the account has insufficient funds (R01).";

fn random_id(prefix: &str) -> String {
    format!("{prefix}_{:032x}", rand::random::<u128>())
}

fn checkout_row(r: &AnyRow) -> Result<SandboxCheckout, sqlx::Error> {
    const T: &str = "sandbox_checkouts";
    let lines: Vec<(String, i64)> = serde_json::from_str(&r.try_get::<String, _>("lines")?)
        .map_err(|e| sqlx::Error::ColumnDecode {
            index: format!("{T}.lines"),
            source: Box::new(e),
        })?;
    let currency: crate::domain::Currency = decode(r, T, "currency")?;
    Ok(SandboxCheckout {
        session_id: r.try_get("session_id")?,
        payment_id: r.try_get("payment_id")?,
        currency: currency.code().to_owned(),
        amount_minor: r.try_get("amount_minor")?,
        method: r.try_get("method")?,
        lines,
        receipt_email: r.try_get("receipt_email")?,
        success_url: r.try_get("success_url")?,
        cancel_url: r.try_get("cancel_url")?,
        status: r.try_get("status")?,
        payment_status: r.try_get("payment_status")?,
        intent_id: r.try_get("intent_id")?,
        decline_message: r.try_get("decline_message")?,
        created_at: decode(r, T, "created_at")?,
        expires_at: decode(r, T, "expires_at")?,
    })
}

impl SandboxCheckout {
    /// The session in the shape of a Stripe `checkout.session` object.
    pub fn as_stripe_object(&self) -> Value {
        let open = self.status == "open";
        json!({
            "id": self.session_id,
            "object": "checkout.session",
            "amount_subtotal": self.amount_minor,
            "amount_total": self.amount_minor,
            "cancel_url": self.cancel_url,
            "client_reference_id": null,
            "created": self.created_at.timestamp(),
            "currency": self.currency.to_ascii_lowercase(),
            "customer_details": {"email": self.receipt_email},
            "expires_at": self.expires_at.timestamp(),
            "livemode": false,
            "metadata": self.metadata(),
            "mode": "payment",
            "payment_intent": if open && self.decline_message.is_none() { Value::Null } else { json!(self.intent_id) },
            "payment_method_types": [self.method],
            "payment_status": self.payment_status,
            "status": self.status,
            "success_url": self.success_url,
            "url": if open { json!(self.hosted_path()) } else { Value::Null },
        })
    }

    /// Our payment id under the key the Stripe adapter uses too.
    fn metadata(&self) -> Value {
        let mut metadata = serde_json::Map::new();
        metadata.insert(
            super::event::PAYMENT_ID_METADATA.to_owned(),
            Value::String(self.payment_id.to_string()),
        );
        Value::Object(metadata)
    }

    fn intent_object(&self, status: &str, error: Option<&str>) -> Value {
        json!({
            "id": self.intent_id,
            "object": "payment_intent",
            "amount": self.amount_minor,
            "currency": self.currency.to_ascii_lowercase(),
            "livemode": false,
            "metadata": self.metadata(),
            "payment_method_types": [self.method],
            "status": status,
            "last_payment_error": error.map(|message| json!({
                "type": if self.method == "card" { "card_error" } else { "invalid_request_error" },
                "code": if self.method == "card" { "card_declined" } else { "payment_method_provider_decline" },
                "message": message,
            })),
        })
    }

    pub fn hosted_path(&self) -> String {
        format!("/sandbox/checkout/{}", self.session_id)
    }
}

/// A Stripe event envelope around `object`.
pub fn event_json(event_type: &str, created: DateTime<Utc>, object: Value) -> Value {
    json!({
        "id": random_id("evt_sandbox"),
        "object": "event",
        "api_version": "2023-10-16",
        "created": created.timestamp(),
        "livemode": false,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": object},
    })
}

impl SandboxGateway {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub async fn checkout(&self, session_id: &str) -> Result<Option<SandboxCheckout>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM sandbox_checkouts WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(checkout_row).transpose()
    }

    async fn schedule(
        &self,
        conn: &mut sqlx::AnyConnection,
        event_type: &str,
        at: DateTime<Utc>,
        object: Value,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO sandbox_deliveries (payload, deliver_at) VALUES ($1, $2)")
            .bind(event_json(event_type, at, object).to_string())
            .bind(ts(at))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Records the tester's choice and schedules the events Stripe would
    /// send. Returns where the browser goes next.
    pub async fn complete(
        &self,
        session_id: &str,
        outcome: SandboxOutcome,
    ) -> Result<Result<String, String>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        let Some(mut c) = sqlx::query("SELECT * FROM sandbox_checkouts WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(checkout_row)
            .transpose()?
        else {
            return Ok(Err("There is no such sandbox checkout.".into()));
        };
        let now = self.now();
        if c.status != "open" || now >= c.expires_at {
            return Ok(Err(
                "This checkout is no longer open: go back to the portal and start the payment again."
                    .into(),
            ));
        }
        if outcome.method() != c.method {
            return Ok(Err("That outcome is for another payment method.".into()));
        }
        let later = now + chrono::Duration::from_std(self.ach_delay).unwrap_or_default();
        let redirect = match outcome {
            SandboxOutcome::CardDecline => {
                sqlx::query(
                    "UPDATE sandbox_checkouts SET decline_message = $2 WHERE session_id = $1",
                )
                .bind(session_id)
                .bind(DECLINE_MESSAGE)
                .execute(&mut *tx)
                .await?;
                c.decline_message = Some(DECLINE_MESSAGE.into());
                let intent = c.intent_object("requires_payment_method", Some(DECLINE_MESSAGE));
                self.schedule(&mut tx, "payment_intent.payment_failed", now, intent)
                    .await?;
                c.hosted_path()
            }
            SandboxOutcome::CardSuccess
            | SandboxOutcome::AchSuccess
            | SandboxOutcome::AchFailure => {
                let paid = outcome == SandboxOutcome::CardSuccess;
                c.status = "complete".into();
                c.payment_status = if paid { "paid" } else { "unpaid" }.into();
                c.decline_message = None;
                sqlx::query(
                    "UPDATE sandbox_checkouts SET status = 'complete', payment_status = $2, decline_message = NULL WHERE session_id = $1",
                )
                .bind(session_id)
                .bind(&c.payment_status)
                .execute(&mut *tx)
                .await?;
                self.schedule(
                    &mut tx,
                    "checkout.session.completed",
                    now,
                    c.as_stripe_object(),
                )
                .await?;
                match outcome {
                    SandboxOutcome::AchSuccess => {
                        // The session itself turns paid when this event goes
                        // out (see `delivery_done`), as Stripe's does.
                        c.payment_status = "paid".into();
                        self.schedule(
                            &mut tx,
                            "checkout.session.async_payment_succeeded",
                            later,
                            c.as_stripe_object(),
                        )
                        .await?;
                    }
                    SandboxOutcome::AchFailure => {
                        self.schedule(
                            &mut tx,
                            "payment_intent.payment_failed",
                            later,
                            c.intent_object("requires_payment_method", Some(ACH_FAILURE_MESSAGE)),
                        )
                        .await?;
                        self.schedule(
                            &mut tx,
                            "checkout.session.async_payment_failed",
                            later,
                            c.as_stripe_object(),
                        )
                        .await?;
                    }
                    _ => {}
                }
                c.success_url.clone()
            }
        };
        tx.commit().await?;
        Ok(Ok(redirect))
    }

    /// Deliveries due now, oldest first.
    pub async fn due_deliveries(&self, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT delivery_id, payload FROM sandbox_deliveries
             WHERE delivered_at IS NULL AND deliver_at <= $1 ORDER BY deliver_at, delivery_id LIMIT $2",
        )
        .bind(ts(self.now()))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Delivery {
                delivery_id: r.get("delivery_id"),
                payload: r.get("payload"),
            })
            .collect())
    }

    pub async fn delivery_done(
        &self,
        delivery: &Delivery,
        delivered: bool,
    ) -> Result<(), sqlx::Error> {
        let now = self.now();
        let delivery_id = delivery.delivery_id;
        if delivered {
            let event: Value = serde_json::from_str(&delivery.payload).unwrap_or(Value::Null);
            if event.get("type").and_then(Value::as_str)
                == Some("checkout.session.async_payment_succeeded")
            {
                sqlx::query(
                    "UPDATE sandbox_checkouts SET payment_status = 'paid' WHERE session_id = $1",
                )
                .bind(event.pointer("/data/object/id").and_then(Value::as_str))
                .execute(&self.db.pool)
                .await?;
            }
            sqlx::query("UPDATE sandbox_deliveries SET delivered_at = $2, attempts = attempts + 1 WHERE delivery_id = $1")
                .bind(delivery_id)
                .bind(ts(now))
                .execute(&self.db.pool)
                .await?;
        } else {
            // Stripe retries for days with backoff; a few seconds is enough here.
            sqlx::query("UPDATE sandbox_deliveries SET deliver_at = $2, attempts = attempts + 1 WHERE delivery_id = $1")
                .bind(delivery_id)
                .bind(ts(now + chrono::Duration::seconds(5)))
                .execute(&self.db.pool)
                .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn create_customer(&self, customer: &CustomerRequest) -> Result<String, GatewayError> {
        Ok(format!("cus_sandbox_{}", customer.customer_id))
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutCreated, GatewayError> {
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        // Same idempotency as Stripe: one session per payment attempt.
        let existing = sqlx::query("SELECT * FROM sandbox_checkouts WHERE payment_id = $1")
            .bind(request.payment_id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(unavailable)?;
        let existing = existing
            .as_ref()
            .map(checkout_row)
            .transpose()
            .map_err(unavailable)?;
        let checkout = match existing {
            Some(c) => c,
            None => {
                let session_id = random_id("cs_sandbox");
                let lines: Vec<(String, i64)> = request
                    .lines
                    .iter()
                    .map(|l| (l.name.clone(), l.amount_minor))
                    .collect();
                let total: i64 = request.lines.iter().map(|l| l.amount_minor).sum();
                sqlx::query(
                    "INSERT INTO sandbox_checkouts (session_id, payment_id, customer_ref, currency, amount_minor, method, lines, receipt_email, success_url, cancel_url, status, payment_status, intent_id, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', 'unpaid', $11, $12, $13)",
                )
                .bind(&session_id)
                .bind(request.payment_id)
                .bind(&request.gateway_customer_id)
                .bind(request.currency.code())
                .bind(total)
                .bind(request.method.stripe_type())
                .bind(serde_json::to_string(&lines).unwrap_or_default())
                .bind(&request.receipt_email)
                .bind(&request.success_url)
                .bind(&request.cancel_url)
                .bind(random_id("pi_sandbox"))
                .bind(ts(self.now()))
                .bind(ts(request.expires_at))
                .execute(&self.db.pool)
                .await
                .map_err(unavailable)?;
                self.checkout(&session_id)
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(|| GatewayError::Unavailable("session vanished".into()))?
            }
        };
        Ok(CheckoutCreated {
            url: format!(
                "{}{}",
                self.base_url.trim_end_matches('/'),
                checkout.hosted_path()
            ),
            session_id: checkout.session_id,
        })
    }

    async fn retrieve_checkout(&self, session_id: &str) -> Result<Value, GatewayError> {
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let mut checkout = self
            .checkout(session_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                GatewayError::Refused(format!("No such checkout.session: {session_id}"))
            })?;
        // Stripe expires sessions at `expires_at` and sends the event; the
        // sandbox does it when someone looks.
        if checkout.status == "open" && self.now() >= checkout.expires_at {
            self.expire_checkout(session_id).await?;
            checkout.status = "expired".into();
        }
        Ok(checkout.as_stripe_object())
    }

    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError> {
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let mut tx = self.db.begin_write().await.map_err(unavailable)?;
        let updated = sqlx::query(
            "UPDATE sandbox_checkouts SET status = 'expired' WHERE session_id = $1 AND status = 'open'",
        )
        .bind(session_id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        if updated.rows_affected() == 0 {
            return Err(GatewayError::Refused(
                "Only open Checkout Sessions can be expired.".into(),
            ));
        }
        let row = sqlx::query("SELECT * FROM sandbox_checkouts WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        let checkout = checkout_row(&row).map_err(unavailable)?;
        self.schedule(
            &mut tx,
            "checkout.session.expired",
            self.now(),
            checkout.as_stripe_object(),
        )
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(())
    }

    async fn events_since(&self, since: DateTime<Utc>) -> Result<Vec<String>, GatewayError> {
        let rows = sqlx::query(
            "SELECT payload FROM sandbox_deliveries WHERE deliver_at >= $1 AND deliver_at <= $2 ORDER BY deliver_at, delivery_id",
        )
        .bind(ts(since))
        .bind(ts(self.now()))
        .fetch_all(&self.db.pool)
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(rows.iter().map(|r| r.get("payload")).collect())
    }
}
