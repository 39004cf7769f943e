//! Stripe events read as JSON. Only the few fields the ledger needs are
//! taken, so an event of a newer API version (or of a type we do not handle)
//! never fails to parse: everything is stored raw first anyway.

use serde_json::Value;

use crate::domain::Signal;

/// The envelope every Stripe event has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub id: String,
    pub event_type: String,
    pub created: i64,
}

pub fn envelope(payload: &[u8]) -> Result<Envelope, String> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the body is not JSON ({e})"))?;
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    // `created` orders processing; Stripe always sends it, but an event
    // without it is still an event.
    let created = v.get("created").and_then(Value::as_i64).unwrap_or(0);
    match (text("id"), text("type")) {
        (Some(id), Some(event_type))
            if v.get("object").and_then(Value::as_str) == Some("event") =>
        {
            Ok(Envelope {
                id,
                event_type,
                created,
            })
        }
        _ => Err("not a Stripe event (needs object=event, id and type)".into()),
    }
}

/// The metadata key under which our payment id travels on the Checkout
/// Session and its PaymentIntent. Namespaced: another integration on the
/// same Stripe account may well use a plain `payment_id` of its own.
pub const PAYMENT_ID_METADATA: &str = "portal_payment_id";

/// How an event is tied to one of our payments: our id in the metadata
/// (we put it on the Checkout Session and on its PaymentIntent), else the
/// gateway's ids we stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentKeys {
    pub payment_id: Option<i64>,
    pub session_id: Option<String>,
    pub intent_id: Option<String>,
    /// What the object says about the money, checked against the payment
    /// before anything is applied.
    pub facts: MoneyFacts,
}

impl PaymentKeys {
    /// Nothing ties the object to any payment of ours.
    pub fn is_empty(&self) -> bool {
        self.payment_id.is_none() && self.session_id.is_none() && self.intent_id.is_none()
    }
}

/// The amount, currency and mode an object carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoneyFacts {
    /// Minor units, as Stripe sends them.
    pub amount_minor: Option<i64>,
    /// Whether `amount_minor` is the whole payment (a session, an intent, a
    /// charge) or may be part of it (a dispute).
    pub amount_is_part: bool,
    /// Lower case ISO code, as Stripe sends it.
    pub currency: Option<String>,
    pub livemode: Option<bool>,
}

impl MoneyFacts {
    fn of(v: &Value, amount_field: &str) -> MoneyFacts {
        MoneyFacts {
            amount_minor: v.get(amount_field).and_then(Value::as_i64),
            amount_is_part: false,
            currency: text(v, "/currency"),
            livemode: v.get("livemode").and_then(Value::as_bool),
        }
    }

    /// Why this object cannot be about a payment of `amount_minor` in
    /// `currency` made in `livemode`; `None` when it fits.
    pub fn mismatch(&self, amount_minor: i64, currency: &str, livemode: bool) -> Option<String> {
        if let Some(mode) = self.livemode {
            if mode != livemode {
                return Some(format!(
                    "livemode {mode} does not match this portal's {} mode",
                    if livemode { "live" } else { "test" }
                ));
            }
        }
        if let Some(theirs) = &self.currency {
            if !theirs.eq_ignore_ascii_case(currency) {
                return Some(format!("currency {theirs} is not the payment's {currency}"));
            }
        }
        match self.amount_minor {
            Some(amount) if self.amount_is_part && (amount <= 0 || amount > amount_minor) => Some(
                format!("amount {amount} does not fit the payment's {amount_minor}"),
            ),
            Some(amount) if !self.amount_is_part && amount != amount_minor => Some(format!(
                "amount {amount} is not the payment's {amount_minor}"
            )),
            _ => None,
        }
    }
}

/// What an event means for the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentEvent {
    /// A signal for the state machine.
    Signal { keys: PaymentKeys, signal: Signal },
    /// A card attempt failed inside Checkout (the customer may retry there),
    /// or an ACH debit failed: keep the gateway's message for the customer.
    AttemptFailed { keys: PaymentKeys, message: String },
    /// A chargeback: flag the payment for AR.
    Disputed { keys: PaymentKeys, reason: String },
    /// An off-session charge (autopay) was declined: nobody is there to
    /// try another card, so the payment fails.
    OffSessionDeclined { keys: PaymentKeys, message: String },
    /// Stored and ignored (type not handled, or not one of our payments).
    Ignored(String),
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn payment_id(v: &Value) -> Option<i64> {
    v.get("metadata")
        .and_then(|m| m.get(PAYMENT_ID_METADATA))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// The payment intent id, whether the field holds an id or an expanded object.
fn intent_id(v: &Value) -> Option<String> {
    match v.get("payment_intent") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(obj @ Value::Object(_)) => text(obj, "/id"),
        _ => None,
    }
}

/// A Checkout Session object, from an event or fetched from the gateway.
pub fn checkout_session_signal(session: &Value, event_type: &str) -> PaymentEvent {
    let keys = PaymentKeys {
        payment_id: payment_id(session),
        session_id: text(session, "/id"),
        intent_id: intent_id(session),
        facts: MoneyFacts::of(session, "amount_total"),
    };
    let payment_status = text(session, "/payment_status").unwrap_or_default();
    let signal = match event_type {
        "checkout.session.completed" => match payment_status.as_str() {
            "paid" => Signal::Paid,
            "unpaid" => Signal::Submitted,
            other => return PaymentEvent::Ignored(format!("payment_status {other}")),
        },
        "checkout.session.async_payment_succeeded" => Signal::Paid,
        "checkout.session.async_payment_failed" => Signal::Failed,
        "checkout.session.expired" => Signal::Expired,
        other => return PaymentEvent::Ignored(format!("type {other}")),
    };
    PaymentEvent::Signal { keys, signal }
}

/// The event type a fetched session stands for (`None`: still open).
pub fn session_state_as_event(session: &Value) -> Option<&'static str> {
    match (
        session.get("status").and_then(Value::as_str),
        session.get("payment_status").and_then(Value::as_str),
    ) {
        (Some("complete"), _) => Some("checkout.session.completed"),
        (Some("expired"), _) => Some("checkout.session.expired"),
        _ => None,
    }
}

/// Whether a PaymentIntent is one of autopay's (see `AUTOPAY_METADATA`).
fn is_autopay(intent: &Value) -> bool {
    intent
        .get("metadata")
        .and_then(|m| m.get(super::AUTOPAY_METADATA))
        .is_some()
}

fn intent_keys(intent: &Value) -> PaymentKeys {
    PaymentKeys {
        payment_id: payment_id(intent),
        session_id: None,
        intent_id: text(intent, "/id"),
        facts: MoneyFacts::of(intent, "amount"),
    }
}

pub fn classify(event_type: &str, object: &Value) -> PaymentEvent {
    match event_type {
        t if t.starts_with("checkout.session.") => checkout_session_signal(object, t),
        // Autopay's intents have no Checkout Session: their own events
        // move their payment. Checkout's intents stay with its events.
        "payment_intent.succeeded" | "payment_intent.processing" if is_autopay(object) => {
            PaymentEvent::Signal {
                keys: intent_keys(object),
                signal: if event_type == "payment_intent.succeeded" {
                    Signal::Paid
                } else {
                    Signal::Submitted
                },
            }
        }
        "payment_intent.payment_failed" if is_autopay(object) => PaymentEvent::OffSessionDeclined {
            keys: intent_keys(object),
            message: text(object, "/last_payment_error/message")
                .unwrap_or_else(|| "The payment was declined.".into()),
        },
        "payment_intent.payment_failed" => PaymentEvent::AttemptFailed {
            keys: PaymentKeys {
                payment_id: payment_id(object),
                session_id: None,
                intent_id: text(object, "/id"),
                facts: MoneyFacts::of(object, "amount"),
            },
            message: text(object, "/last_payment_error/message")
                .unwrap_or_else(|| "The payment was declined.".into()),
        },
        "charge.refunded" => PaymentEvent::Signal {
            keys: PaymentKeys {
                payment_id: payment_id(object),
                session_id: None,
                intent_id: intent_id(object),
                facts: MoneyFacts::of(object, "amount"),
            },
            signal: Signal::Refunded {
                total_refunded_minor: object
                    .get("amount_refunded")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            },
        },
        "charge.dispute.created" => PaymentEvent::Disputed {
            keys: PaymentKeys {
                payment_id: payment_id(object),
                session_id: None,
                intent_id: intent_id(object),
                facts: MoneyFacts {
                    amount_is_part: true,
                    ..MoneyFacts::of(object, "amount")
                },
            },
            reason: text(object, "/reason").unwrap_or_else(|| "unknown".into()),
        },
        other => PaymentEvent::Ignored(format!("type {other} is not handled")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_checkout_outcomes() {
        let session = json!({"id": "cs_1", "payment_status": "unpaid", "payment_intent": "pi_1", "metadata": {"portal_payment_id": "7"}});
        let PaymentEvent::Signal { keys, signal } =
            classify("checkout.session.completed", &session)
        else {
            panic!()
        };
        assert_eq!(signal, Signal::Submitted);
        assert_eq!(keys.payment_id, Some(7));
        assert_eq!(keys.intent_id.as_deref(), Some("pi_1"));
        assert!(matches!(
            classify("customer.created", &json!({})),
            PaymentEvent::Ignored(_)
        ));
    }

    #[test]
    fn only_our_namespaced_metadata_names_a_payment() {
        let generic = json!({"id": "pi_9", "metadata": {"payment_id": "7"}});
        let PaymentEvent::AttemptFailed { keys, .. } =
            classify("payment_intent.payment_failed", &generic)
        else {
            panic!()
        };
        assert_eq!(keys.payment_id, None);
    }

    #[test]
    fn money_facts_must_fit_the_payment() {
        let session = json!({"amount_total": 5000, "currency": "usd", "livemode": false});
        let facts = MoneyFacts::of(&session, "amount_total");
        assert_eq!(facts.mismatch(5000, "USD", false), None);
        assert!(facts
            .mismatch(4999, "USD", false)
            .unwrap()
            .contains("amount"));
        assert!(facts
            .mismatch(5000, "EUR", false)
            .unwrap()
            .contains("currency"));
        assert!(facts
            .mismatch(5000, "USD", true)
            .unwrap()
            .contains("livemode"));
        let dispute = MoneyFacts {
            amount_is_part: true,
            ..MoneyFacts::of(&json!({"amount": 1000, "currency": "usd"}), "amount")
        };
        assert_eq!(dispute.mismatch(5000, "USD", false), None);
        assert!(dispute.mismatch(900, "USD", false).is_some());
        // Objects without these fields are judged by the ids alone.
        assert_eq!(MoneyFacts::default().mismatch(1, "USD", true), None);
    }

    #[test]
    fn envelope_needs_an_event() {
        assert!(envelope(br#"{"id":"evt_1","object":"event","type":"x","created":1}"#).is_ok());
        assert!(envelope(br#"{"id":"evt_1","type":"x","created":1}"#).is_err());
        assert_eq!(
            envelope(br#"{"id":"evt_1","object":"event","type":"x"}"#)
                .unwrap()
                .created,
            0
        );
        assert!(envelope(b"not json").is_err());
    }
}
