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
    /// Charges a saved method with nobody present (autopay): a
    /// PaymentIntent confirmed off-session under the request's
    /// Idempotency-Key. A decline is an `Ok` outcome; `Err` means the
    /// answer is unknown (try again with the same key) or the request was
    /// refused for another reason.
    async fn charge_off_session(
        &self,
        request: &OffSessionRequest,
    ) -> Result<OffSessionCharge, GatewayError>;
    /// Opens a Checkout Session in setup mode: saves a method for later,
    /// charges nothing.
    async fn create_setup_checkout(
        &self,
        request: &SetupRequest,
    ) -> Result<CheckoutCreated, GatewayError>;
    /// A setup session as it is now: its customer, and what it saved once
    /// complete.
    async fn retrieve_setup(&self, session_id: &str) -> Result<SetupSession, GatewayError>;
    /// Detaches a saved method from its customer (it can no longer be charged).
    async fn detach_payment_method(&self, payment_method_id: &str) -> Result<(), GatewayError>;
}

/// A setup-mode Checkout Session as the gateway tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupSession {
    pub customer: Option<String>,
    pub saved: Option<SetupResult>,
}

/// The metadata key that marks an off-session PaymentIntent of autopay
/// (its value is the `autopay_charges` id). No Checkout Session stands
/// behind such an intent, so its own events move its payment.
pub const AUTOPAY_METADATA: &str = "portal_autopay_charge";

/// An off-session charge of a saved method (autopay): a PaymentIntent
/// created with `confirm=true`, `off_session=true`.
#[derive(Clone, Debug)]
pub struct OffSessionRequest {
    pub payment_id: i64,
    pub charge_id: i64,
    /// Sent as the Idempotency-Key: `autopay:<target>:<attempt>`, so a
    /// retried create (after a crash or a 500) returns the same intent.
    pub idempotency_key: String,
    pub gateway_customer_id: String,
    pub payment_method_id: String,
    pub method: PayMethod,
    pub amount_minor: i64,
    pub currency: Currency,
    pub description: String,
    pub receipt_email: String,
}

/// How an off-session charge went at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffSessionOutcome {
    Succeeded,
    /// Submitted, settles later (ACH): its events finish it.
    Processing,
    Declined {
        /// Stripe's `decline_code` when the bank gave one, else the error `code`.
        code: String,
        message: String,
        hard: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffSessionCharge {
    /// Absent when Stripe refused the confirmation outright (HTTP 402
    /// carries the intent in the error, which the client does not keep).
    pub intent_id: Option<String>,
    pub outcome: OffSessionOutcome,
}

/// Whether a decline may be tried again later. Soft: the bank may say yes
/// another day (money short, issuer unavailable, limits); everything else
/// (lost or stolen card, closed account, fraud, a generic refusal,
/// authentication the customer is not there to give) is hard: retrying
/// those is what gets merchants flagged by card networks, and an unknown
/// code is treated as hard.
pub fn is_soft_decline(code: &str) -> bool {
    matches!(
        code,
        "insufficient_funds"
            | "processing_error"
            | "try_again_later"
            | "issuer_not_available"
            | "reenter_transaction"
            | "approve_with_id"
            | "card_velocity_exceeded"
            | "withdrawal_count_limit_exceeded"
            | "rate_limit"
    )
}

/// What a setup-mode Checkout Session saved: the method as the customer
/// sees it (never a card number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupResult {
    pub payment_method_id: String,
    pub method: PayMethod,
    /// Card brand (`visa`) or bank name.
    pub brand: String,
    pub last4: String,
    pub exp_month: Option<i64>,
    pub exp_year: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct SetupRequest {
    /// Sent as the Idempotency-Key.
    pub idempotency_key: String,
    pub gateway_customer_id: String,
    pub methods: Vec<PayMethod>,
    pub success_url: String,
    pub cancel_url: String,
}

/// Reads a Stripe `payment_method` object (card or us_bank_account).
pub fn setup_result_of(pm: &Value) -> Option<SetupResult> {
    let id = pm.get("id")?.as_str()?.to_owned();
    let text = |p: &str| pm.pointer(p).and_then(Value::as_str).map(str::to_owned);
    match pm.get("type")?.as_str()? {
        "card" => Some(SetupResult {
            payment_method_id: id,
            method: PayMethod::Card,
            brand: text("/card/brand").unwrap_or_else(|| "card".into()),
            last4: text("/card/last4")?,
            exp_month: pm.pointer("/card/exp_month").and_then(Value::as_i64),
            exp_year: pm.pointer("/card/exp_year").and_then(Value::as_i64),
        }),
        "us_bank_account" => Some(SetupResult {
            payment_method_id: id,
            method: PayMethod::Ach,
            brand: text("/us_bank_account/bank_name").unwrap_or_else(|| "Bank account".into()),
            last4: text("/us_bank_account/last4")?,
            exp_month: None,
            exp_year: None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod autopay_tests {
    use super::*;

    #[test]
    fn only_known_temporary_declines_are_soft() {
        assert!(is_soft_decline("insufficient_funds"));
        for hard in [
            "stolen_card",
            "lost_card",
            "card_declined",
            "generic_decline",
            "do_not_honor",
            "authentication_required",
            "something_new",
        ] {
            assert!(!is_soft_decline(hard), "{hard}");
        }
    }

    #[test]
    fn reads_saved_cards_and_bank_accounts() {
        let card = serde_json::json!({"id": "pm_1", "type": "card", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}});
        let r = setup_result_of(&card).unwrap();
        assert_eq!(
            (r.method, r.last4.as_str(), r.exp_year),
            (PayMethod::Card, "4242", Some(2034))
        );
        let bank = serde_json::json!({"id": "pm_2", "type": "us_bank_account", "us_bank_account": {"bank_name": "STRIPE TEST BANK", "last4": "6789"}});
        assert_eq!(setup_result_of(&bank).unwrap().brand, "STRIPE TEST BANK");
        assert!(
            setup_result_of(&serde_json::json!({"id": "pm_3", "type": "sepa_debit"})).is_none()
        );
    }
}
