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

use super::{
    is_soft_decline, setup_result_of, CheckoutCreated, CheckoutRequest, CustomerRequest,
    GatewayError, OffSessionCharge, OffSessionOutcome, OffSessionRequest, PaymentGateway,
    SetupRequest, SetupSession,
};
use crate::clock::Clock;
use crate::db::Db;
use crate::repo::sandbox::{self as repo, NewCheckout};
pub use crate::repo::sandbox::{Delivery, SandboxCheckout};

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

pub const DECLINE_MESSAGE: &str = "Your card was declined.";
const ACH_FAILURE_MESSAGE: &str =
    "The bank returned the debit: the account has insufficient funds (R01).";

fn random_id(prefix: &str) -> String {
    format!("{prefix}_{:032x}", rand::random::<u128>())
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
        let mut conn = self.db.pool.acquire().await?;
        repo::checkout(&mut conn, session_id).await
    }

    async fn schedule(
        &self,
        conn: &mut crate::repo::Conn,
        event_type: &str,
        at: DateTime<Utc>,
        object: Value,
    ) -> Result<(), sqlx::Error> {
        let payload = event_json(event_type, at, object).to_string();
        repo::schedule_delivery(conn, &payload, at).await
    }

    /// Records the tester's choice and schedules the events Stripe would
    /// send. Returns where the browser goes next.
    pub async fn complete(
        &self,
        session_id: &str,
        outcome: SandboxOutcome,
    ) -> Result<Result<String, String>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        let Some(mut c) = repo::checkout(&mut tx, session_id).await? else {
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
                repo::set_decline(&mut tx, session_id, DECLINE_MESSAGE).await?;
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
                repo::complete(&mut tx, session_id, &c.payment_status).await?;
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
        let mut conn = self.db.pool.acquire().await?;
        repo::due_deliveries(&mut conn, self.now(), limit).await
    }

    pub async fn delivery_done(
        &self,
        delivery: &Delivery,
        delivered: bool,
    ) -> Result<(), sqlx::Error> {
        let now = self.now();
        let mut conn = self.db.pool.acquire().await?;
        if delivered {
            let event: Value = serde_json::from_str(&delivery.payload).unwrap_or(Value::Null);
            if event.get("type").and_then(Value::as_str)
                == Some("checkout.session.async_payment_succeeded")
            {
                if let Some(session_id) = event.pointer("/data/object/id").and_then(Value::as_str) {
                    repo::mark_paid(&mut conn, session_id).await?;
                }
            }
            repo::delivered(&mut conn, delivery.delivery_id, now).await
        } else {
            // Stripe retries for days with backoff; a few seconds is enough here.
            let again = now + chrono::Duration::seconds(5);
            repo::retry_delivery(&mut conn, delivery.delivery_id, again).await
        }
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
        let mut conn = self.db.pool.acquire().await.map_err(unavailable)?;
        let existing = repo::checkout_of_payment(&mut conn, request.payment_id)
            .await
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
                let new = NewCheckout {
                    session_id: &session_id,
                    payment_id: request.payment_id,
                    customer_ref: &request.gateway_customer_id,
                    currency: request.currency.code(),
                    amount_minor: request.lines.iter().map(|l| l.amount_minor).sum(),
                    method: request.method.stripe_type(),
                    lines: &lines,
                    receipt_email: &request.receipt_email,
                    success_url: &request.success_url,
                    cancel_url: &request.cancel_url,
                    intent_id: &random_id("pi_sandbox"),
                    created_at: self.now(),
                    expires_at: request.expires_at,
                };
                repo::insert_checkout(&mut conn, &new)
                    .await
                    .map_err(unavailable)?;
                repo::checkout(&mut conn, &session_id)
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
        if !repo::expire_open(&mut tx, session_id)
            .await
            .map_err(unavailable)?
        {
            return Err(GatewayError::Refused(
                "Only open Checkout Sessions can be expired.".into(),
            ));
        }
        let checkout = repo::checkout(&mut tx, session_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| GatewayError::Unavailable("session vanished".into()))?;
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
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let mut conn = self.db.pool.acquire().await.map_err(unavailable)?;
        repo::payloads_between(&mut conn, since, self.now())
            .await
            .map_err(unavailable)
    }

    async fn charge_off_session(
        &self,
        request: &OffSessionRequest,
    ) -> Result<OffSessionCharge, GatewayError> {
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let mut tx = self.db.begin_write().await.map_err(unavailable)?;
        // Stripe's idempotency: the same key answers the same intent.
        if let Some(answer) =
            crate::repo::autopay::sandbox_intent(&mut tx, &request.idempotency_key)
                .await
                .map_err(unavailable)?
        {
            tx.rollback().await.map_err(unavailable)?;
            let intent: Value = serde_json::from_str(&answer)
                .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
            return Ok(intent_outcome(&intent));
        }
        let now = self.now();
        let test_method = SandboxMethod::of_id(&request.payment_method_id).ok_or_else(|| {
            GatewayError::Refused(format!(
                "No such PaymentMethod: '{}'",
                request.payment_method_id
            ))
        })?;
        let (status, error) = match test_method.decline() {
            Some((code, message)) => (
                "requires_payment_method",
                Some(
                    json!({"type": "card_error", "code": "card_declined", "decline_code": code, "message": message}),
                ),
            ),
            None if test_method == SandboxMethod::AchOk => ("processing", None),
            None => ("succeeded", None),
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert(
            super::event::PAYMENT_ID_METADATA.to_owned(),
            Value::String(request.payment_id.to_string()),
        );
        metadata.insert(
            super::AUTOPAY_METADATA.to_owned(),
            Value::String(request.charge_id.to_string()),
        );
        let intent_id = random_id("pi_sandbox");
        let mut intent = json!({
            "id": intent_id,
            "object": "payment_intent",
            "amount": request.amount_minor,
            "currency": request.currency.code().to_ascii_lowercase(),
            "customer": request.gateway_customer_id,
            "payment_method": request.payment_method_id,
            "payment_method_types": [request.method.stripe_type()],
            "livemode": false,
            "metadata": metadata,
            "status": status,
            "last_payment_error": error,
        });
        match status {
            "succeeded" => {
                self.schedule(&mut tx, "payment_intent.succeeded", now, intent.clone())
                    .await
                    .map_err(unavailable)?;
            }
            "processing" => {
                self.schedule(&mut tx, "payment_intent.processing", now, intent.clone())
                    .await
                    .map_err(unavailable)?;
                // ACH settles days later, as its checkout does.
                let later = now + chrono::Duration::from_std(self.ach_delay).unwrap_or_default();
                let mut settled = intent.clone();
                settled["status"] = json!("succeeded");
                self.schedule(&mut tx, "payment_intent.succeeded", later, settled)
                    .await
                    .map_err(unavailable)?;
            }
            _ => {
                self.schedule(
                    &mut tx,
                    "payment_intent.payment_failed",
                    now,
                    intent.clone(),
                )
                .await
                .map_err(unavailable)?;
            }
        }
        intent["created"] = json!(now.timestamp());
        crate::repo::autopay::insert_sandbox_intent(
            &mut tx,
            &request.idempotency_key,
            &intent_id,
            &intent.to_string(),
            now,
        )
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(intent_outcome(&intent))
    }

    async fn create_setup_checkout(
        &self,
        request: &SetupRequest,
    ) -> Result<CheckoutCreated, GatewayError> {
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let session_id = random_id("cs_sandbox_setup");
        let types: Vec<&str> = request.methods.iter().map(|m| m.stripe_type()).collect();
        let mut conn = self.db.pool.acquire().await.map_err(unavailable)?;
        crate::repo::payment_methods::insert_sandbox_setup(
            &mut conn,
            &crate::repo::payment_methods::SandboxSetup {
                session_id: session_id.clone(),
                customer_ref: request.gateway_customer_id.clone(),
                method_types: types.join(","),
                success_url: request.success_url.clone(),
                cancel_url: request.cancel_url.clone(),
                status: "open".into(),
                payment_method_id: None,
                created_at: self.now(),
                expires_at: self.now() + chrono::Duration::hours(24),
            },
        )
        .await
        .map_err(unavailable)?;
        Ok(CheckoutCreated {
            url: format!(
                "{}/sandbox/setup/{session_id}",
                self.base_url.trim_end_matches('/')
            ),
            session_id,
        })
    }

    async fn retrieve_setup(&self, session_id: &str) -> Result<SetupSession, GatewayError> {
        let unavailable = |e: sqlx::Error| GatewayError::Unavailable(e.to_string());
        let setup = self
            .setup(session_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                GatewayError::Refused(format!("No such checkout.session: {session_id}"))
            })?;
        Ok(SetupSession {
            customer: Some(setup.customer_ref.clone()),
            saved: setup
                .payment_method_id
                .as_deref()
                .filter(|_| setup.status == "complete")
                .and_then(|id| SandboxMethod::of_id(id).map(|m| m.as_stripe_object(id)))
                .as_ref()
                .and_then(setup_result_of),
        })
    }

    async fn detach_payment_method(&self, _payment_method_id: &str) -> Result<(), GatewayError> {
        Ok(())
    }
}

/// An intent's outcome as the charge's caller reads it.
fn intent_outcome(intent: &Value) -> OffSessionCharge {
    let intent_id = intent.get("id").and_then(Value::as_str).map(str::to_owned);
    let outcome = match intent.get("status").and_then(Value::as_str) {
        Some("succeeded") => OffSessionOutcome::Succeeded,
        Some("processing") => OffSessionOutcome::Processing,
        _ => {
            let code = intent
                .pointer("/last_payment_error/decline_code")
                .and_then(Value::as_str)
                .unwrap_or("card_declined")
                .to_owned();
            OffSessionOutcome::Declined {
                hard: !is_soft_decline(&code),
                message: intent
                    .pointer("/last_payment_error/message")
                    .and_then(Value::as_str)
                    .unwrap_or(DECLINE_MESSAGE)
                    .to_owned(),
                code,
            }
        }
    };
    OffSessionCharge { intent_id, outcome }
}

/// The methods the sandbox's setup page saves, named by Stripe's test
/// cards: the saved method's id says how its off-session charges go, so
/// tests and demos are deterministic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxMethod {
    /// Visa 4242: every charge succeeds.
    CardOk,
    /// Visa 9979 (`stolen_card`): a hard decline.
    CardStolen,
    /// Visa 9995 (`insufficient_funds`): a soft decline.
    CardFunds,
    /// A bank account ending 6789: ACH, settles after the sandbox's delay.
    AchOk,
}

impl SandboxMethod {
    pub const ALL: [SandboxMethod; 4] = [
        SandboxMethod::CardOk,
        SandboxMethod::CardStolen,
        SandboxMethod::CardFunds,
        SandboxMethod::AchOk,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::CardOk => "card_ok",
            Self::CardStolen => "card_stolen",
            Self::CardFunds => "card_funds",
            Self::AchOk => "ach_ok",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.key() == key)
    }

    /// As the sandbox's setup page offers it.
    pub fn label(self) -> &'static str {
        match self {
            Self::CardOk => "Save Visa card ending 4242 (charges succeed)",
            Self::CardStolen => {
                "Save Visa card ending 9979 (charges are declined: stolen card, not retried)"
            }
            Self::CardFunds => {
                "Save Visa card ending 9995 (charges are declined: insufficient funds, retried)"
            }
            Self::AchOk => "Save bank account ending 6789 (ACH debits settle later)",
        }
    }

    /// `card` or `us_bank_account`.
    pub fn stripe_type(self) -> &'static str {
        match self {
            Self::AchOk => "us_bank_account",
            _ => "card",
        }
    }

    /// A new payment method id of this kind.
    pub fn new_id(self) -> String {
        random_id(&format!("pm_sandbox_{}", self.key()))
    }

    pub fn of_id(id: &str) -> Option<Self> {
        let rest = id.strip_prefix("pm_sandbox_")?;
        Self::ALL
            .into_iter()
            .find(|m| rest.starts_with(&format!("{}_", m.key())))
    }

    fn decline(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::CardStolen => Some(("stolen_card", DECLINE_MESSAGE)),
            Self::CardFunds => Some(("insufficient_funds", "Your card has insufficient funds.")),
            Self::CardOk | Self::AchOk => None,
        }
    }

    /// The method as a Stripe `payment_method` object.
    pub fn as_stripe_object(self, id: &str) -> Value {
        match self {
            Self::AchOk => json!({
                "id": id, "object": "payment_method", "type": "us_bank_account",
                "us_bank_account": {"bank_name": "STRIPE TEST BANK", "last4": "6789", "account_type": "checking"},
            }),
            card => json!({
                "id": id, "object": "payment_method", "type": "card",
                "card": {
                    "brand": "visa",
                    "last4": match card { Self::CardStolen => "9979", Self::CardFunds => "9995", _ => "4242" },
                    "exp_month": 12,
                    "exp_year": 2034,
                },
            }),
        }
    }
}

impl SandboxGateway {
    pub async fn setup(
        &self,
        session_id: &str,
    ) -> Result<Option<crate::repo::payment_methods::SandboxSetup>, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        crate::repo::payment_methods::sandbox_setup(&mut conn, session_id).await
    }

    /// The tester's choice on the sandbox setup page: saves a method of
    /// that kind. Returns where the browser goes next.
    pub async fn complete_setup(
        &self,
        session_id: &str,
        choice: SandboxMethod,
    ) -> Result<Result<String, String>, sqlx::Error> {
        let mut conn = self.db.pool.acquire().await?;
        let Some(setup) =
            crate::repo::payment_methods::sandbox_setup(&mut conn, session_id).await?
        else {
            return Ok(Err("There is no such sandbox setup.".into()));
        };
        if setup.status != "open" || self.now() >= setup.expires_at {
            return Ok(Err(
                "This setup is no longer open: go back to the portal and start again.".into(),
            ));
        }
        if !setup
            .method_types
            .split(',')
            .any(|t| t == choice.stripe_type())
        {
            return Ok(Err("That method is not offered by this setup.".into()));
        }
        crate::repo::payment_methods::complete_sandbox_setup(
            &mut conn,
            session_id,
            &choice.new_id(),
        )
        .await?;
        Ok(Ok(setup
            .success_url
            .replace("{CHECKOUT_SESSION_ID}", session_id)))
    }
}
