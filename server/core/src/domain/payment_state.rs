//! The payment state machine. Stripe delivers webhooks at least once, in any
//! order, for days; every event is turned into a `Signal` and the machine
//! only ever moves forward, so a duplicate or a late event changes nothing
//! and the final state does not depend on arrival order.
//!
//! ```text
//! pending ──► processing ──► succeeded ──► refunded (in full)
//!    │            │              ▲  (partial refunds stay succeeded)
//!    │            └──► failed    │
//!    └──► canceled ──────────────┘ money reported after a cancel still counts
//! ```

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// A checkout is open; its amount is held back from the balance.
    Pending,
    /// Submitted but not settled (ACH takes days); still held back.
    Processing,
    Succeeded,
    Failed,
    Canceled,
    /// Refunded in full.
    Refunded,
}

/// What of an invoice's open balance can be paid now: the balance less
/// what payments in flight (pending checkouts, ACH debits) already hold and
/// less the amount of its open dispute (issue 11: the disputed amount is
/// held until the dispute is withdrawn or resolved; the rest stays payable).
/// The one rule behind the pay page, "Pay this invoice" and "Pay".
pub fn payable_minor(balance_minor: i64, held_by_payments_minor: i64, disputed_minor: i64) -> i64 {
    (balance_minor - held_by_payments_minor - disputed_minor).max(0)
}

/// How a payment is named to people: on pages, receipts, statements,
/// emails and in Stripe's description ("PAY-42").
pub fn payment_number(payment_id: i64) -> String {
    format!("PAY-{payment_id}")
}

/// How a payment is named on statements and receipts.
pub fn payment_reference(payment_id: i64, method: String, reference: Option<String>) -> String {
    match reference {
        Some(r) => format!("{} ({r})", payment_number(payment_id)),
        None => format!("{} ({})", payment_number(payment_id), method_label(&method)),
    }
}

/// A payment method as people name it (`payments.method` holds the key).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "card" => "Card",
        "ach" => "ACH bank debit",
        "bank_transfer" => "Bank transfer",
        "check" => "Check",
        _ => "Other",
    }
}

impl PaymentStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            "refunded" => Self::Refunded,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Refunded => "refunded",
        }
    }

    /// Whether the payment's allocations hold back the invoices' balances.
    pub fn holds_balance(self) -> bool {
        matches!(self, Self::Pending | Self::Processing)
    }

    /// Whether money arrived (a refund may have given some of it back).
    pub fn received(self) -> bool {
        matches!(self, Self::Succeeded | Self::Refunded)
    }
}

/// What the gateway said about a payment, reduced to what the ledger needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Checkout finished, money on its way (ACH submitted).
    Submitted,
    /// Money arrived.
    Paid,
    /// The payment method failed after submission (ACH returned).
    Failed,
    /// The checkout expired or was abandoned without payment.
    Expired,
    /// Stripe's cumulative refunded amount of the charge. Only a paid charge
    /// can be refunded, so this also proves the payment succeeded.
    Refunded { total_refunded_minor: i64 },
}

/// The payment after a signal. `None` means the signal changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub status: PaymentStatus,
    pub refunded_minor: i64,
}

/// Applies a signal to a payment of `amount_minor` that stands at
/// (`status`, `refunded_minor`).
pub fn apply(
    status: PaymentStatus,
    refunded_minor: i64,
    amount_minor: i64,
    signal: Signal,
) -> Option<Transition> {
    use PaymentStatus::*;
    let current = Transition {
        status,
        refunded_minor,
    };
    let to = |status| {
        Some(Transition {
            status,
            refunded_minor,
        })
    };
    match (status, signal) {
        (Pending, Signal::Submitted) | (Canceled, Signal::Submitted) => to(Processing),
        // A cancel that raced with the customer paying: the money is real and
        // is recorded (Stripe said so), never lost.
        (Pending | Processing | Canceled, Signal::Paid) => to(Succeeded),
        (Pending | Processing, Signal::Failed) => to(Failed),
        (Pending, Signal::Expired) => to(Canceled),
        (Failed, Signal::Refunded { .. }) => None,
        (
            _,
            Signal::Refunded {
                total_refunded_minor,
            },
        ) => {
            // Cumulative amounts make duplicates and reordering harmless:
            // only a larger total moves the ledger.
            let refunded = total_refunded_minor
                .clamp(0, amount_minor)
                .max(refunded_minor);
            let status = if refunded >= amount_minor {
                Refunded
            } else {
                Succeeded
            };
            let next = Transition {
                status,
                refunded_minor: refunded,
            };
            (next != current).then_some(next)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn payable_is_the_balance_less_what_is_held_never_below_zero() {
        assert_eq!(payable_minor(10_000, 0, 0), 10_000);
        assert_eq!(payable_minor(10_000, 4_000, 0), 6_000);
        assert_eq!(payable_minor(10_000, 10_000, 0), 0);
        // A refund can lower the balance under a hold: nothing is payable.
        assert_eq!(payable_minor(3_000, 4_000, 0), 0);
    }

    #[test]
    fn the_disputed_amount_is_held_like_a_payment_in_flight() {
        // Only the undisputed remainder can be paid.
        assert_eq!(payable_minor(10_000, 0, 2_500), 7_500);
        // Both holds together.
        assert_eq!(payable_minor(10_000, 4_000, 2_500), 3_500);
        // The whole balance disputed: nothing to pay now.
        assert_eq!(payable_minor(10_000, 0, 10_000), 0);
        // Holds over the balance (paid or credited since the dispute was
        // raised) never make the amount negative.
        assert_eq!(payable_minor(3_000, 2_000, 2_500), 0);
        assert_eq!(payable_minor(0, 0, 2_500), 0);
    }

    use super::PaymentStatus::*;
    use super::*;

    fn step(status: PaymentStatus, signal: Signal) -> PaymentStatus {
        apply(status, 0, 1000, signal).map_or(status, |t| t.status)
    }

    #[test]
    fn card_and_ach_paths() {
        assert_eq!(step(Pending, Signal::Paid), Succeeded);
        assert_eq!(step(Pending, Signal::Submitted), Processing);
        assert_eq!(step(Processing, Signal::Paid), Succeeded);
        assert_eq!(step(Processing, Signal::Failed), Failed);
        assert_eq!(step(Pending, Signal::Expired), Canceled);
    }

    #[test]
    fn late_and_duplicate_signals_change_nothing() {
        assert_eq!(apply(Succeeded, 0, 1000, Signal::Submitted), None);
        assert_eq!(apply(Failed, 0, 1000, Signal::Submitted), None);
        assert_eq!(apply(Processing, 0, 1000, Signal::Submitted), None);
        assert_eq!(apply(Processing, 0, 1000, Signal::Expired), None);
        assert_eq!(apply(Succeeded, 0, 1000, Signal::Failed), None);
        assert_eq!(apply(Canceled, 0, 1000, Signal::Expired), None);
    }

    #[test]
    fn money_reported_after_a_cancel_is_recorded() {
        assert_eq!(step(Canceled, Signal::Paid), Succeeded);
    }

    #[test]
    fn refunds_are_cumulative_and_order_free() {
        let partial = Signal::Refunded {
            total_refunded_minor: 300,
        };
        let more = Signal::Refunded {
            total_refunded_minor: 500,
        };
        let t = apply(Succeeded, 0, 1000, more).unwrap();
        assert_eq!((t.status, t.refunded_minor), (Succeeded, 500));
        // The older, smaller total arriving late does not undo the newer one.
        assert_eq!(apply(Succeeded, 500, 1000, partial), None);
        let full = apply(
            Succeeded,
            500,
            1000,
            Signal::Refunded {
                total_refunded_minor: 1000,
            },
        )
        .unwrap();
        assert_eq!((full.status, full.refunded_minor), (Refunded, 1000));
        // A refund seen before the payment's own success proves it was paid.
        assert_eq!(apply(Pending, 0, 1000, partial).unwrap().status, Succeeded);
        assert_eq!(apply(Failed, 0, 1000, partial), None);
    }
}
