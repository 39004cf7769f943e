//! Taking money: the gateway adapter (Stripe through async-stripe, or the
//! built-in sandbox when no key is set), webhook signatures, and reading
//! Stripe events. The ledger rules are in `domain::payment_state` and
//! `services::payments`.

pub mod event;
pub mod sandbox;
pub mod signature;
pub mod stripe;

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::Currency;

/// How the customer pays. Stored as `card` / `ach` on the payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayMethod {
    Card,
    /// ACH Direct Debit from a US bank account (Stripe `us_bank_account`).
    Ach,
}

impl PayMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "card" => Some(Self::Card),
            "ach" => Some(Self::Ach),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Ach => "ach",
        }
    }

    /// Stripe's payment method type.
    pub fn stripe_type(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Ach => "us_bank_account",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Card => "Card",
            Self::Ach => "ACH bank debit",
        }
    }

    /// ACH debits US bank accounts in dollars only.
    pub fn available_for(self, currency: Currency) -> bool {
        match self {
            Self::Card => true,
            Self::Ach => currency.code() == "USD",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CustomerRequest {
    pub customer_id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug)]
pub struct CheckoutLine {
    pub name: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug)]
pub struct CheckoutRequest {
    pub payment_id: i64,
    /// Sent as the Idempotency-Key: a retried create returns the same session.
    pub idempotency_key: String,
    pub gateway_customer_id: String,
    pub currency: Currency,
    pub method: PayMethod,
    pub lines: Vec<CheckoutLine>,
    pub receipt_email: String,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutCreated {
    pub session_id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway answered with an error (declined request, bad parameter).
    #[error("the payment provider refused the request: {0}")]
    Refused(String),
    /// Network trouble or an answer we could not read.
    #[error("the payment provider could not be reached: {0}")]
    Unavailable(String),
}

/// The gateway as the ledger sees it. Objects come back as Stripe-shaped
/// JSON so the sandbox and Stripe feed the very same event code.
#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync + Debug {
    /// `stripe` or `sandbox`, stored on each payment.
    fn name(&self) -> &'static str;
    async fn create_customer(&self, customer: &CustomerRequest) -> Result<String, GatewayError>;
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutCreated, GatewayError>;
    /// The Checkout Session as it is now.
    async fn retrieve_checkout(&self, session_id: &str) -> Result<Value, GatewayError>;
    /// Ends an open session so it can no longer be paid.
    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError>;
    /// Events created at or after `since`, oldest first, as raw JSON text.
    async fn events_since(&self, since: DateTime<Utc>) -> Result<Vec<String>, GatewayError>;
}
