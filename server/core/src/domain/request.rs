//! Customer requests (issue 11): what a request is, where it stands, what a
//! dispute is about, and the rule for the amount a dispute holds. Disputes
//! are the first kind; payment plans and questions share the record, the
//! thread and the SLA clock (domain::sla). Pure rules, no I/O.

use super::money::{Currency, Money};
use super::sla::{self, Priority};

/// What a request is about. Stored as text in `requests.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Dispute,
    PaymentPlan,
    Question,
    /// A promise to pay that was not kept (issue 13): the reminder job puts
    /// it in AR's queue; the customer never raises one.
    Promise,
}

impl RequestKind {
    pub const ALL: [RequestKind; 4] = [
        Self::Dispute,
        Self::PaymentPlan,
        Self::Question,
        Self::Promise,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dispute => "dispute",
            Self::PaymentPlan => "payment_plan",
            Self::Question => "question",
            Self::Promise => "promise",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The SLA engine keeps kinds as open text (its policies are data); this
    /// is the key a policy for this kind is stored under.
    pub fn sla_kind(self) -> sla::RequestKind {
        sla::RequestKind::new(self.as_str())
    }
}

/// Where a request stands. Stored as text in `requests.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    Open,
    /// AR asked the customer something; the SLA clock is paused.
    WaitingOnCustomer,
    Resolved,
    /// The customer took it back before AR resolved it.
    Withdrawn,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 4] = [
        Self::Open,
        Self::WaitingOnCustomer,
        Self::Resolved,
        Self::Withdrawn,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::WaitingOnCustomer => "waiting_on_customer",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still being worked (the states the one-open-dispute index counts).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::WaitingOnCustomer)
    }

    /// As a customer reads it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::WaitingOnCustomer => "Waiting for your answer",
            Self::Resolved => "Resolved",
            Self::Withdrawn => "Withdrawn",
        }
    }
}

/// What part of an invoice a dispute is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisputeScope {
    /// The whole open balance.
    Invoice,
    /// Chosen lines, with their tax.
    Lines,
    /// An amount the customer types.
    Amount,
}

impl DisputeScope {
    pub const ALL: [DisputeScope; 3] = [Self::Invoice, Self::Lines, Self::Amount];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Lines => "lines",
            Self::Amount => "amount",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How AR resolved a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    CreditNote,
    CorrectedInvoice,
    Rejected,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Self::CreditNote, Self::CorrectedInvoice, Self::Rejected];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreditNote => "credit_note",
            Self::CorrectedInvoice => "corrected_invoice",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// Who wrote a message of a request's thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthorKind {
    Contact,
    Staff,
}

impl AuthorKind {
    pub const ALL: [AuthorKind; 2] = [Self::Contact, Self::Staff];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Staff => "staff",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Who may read a message: both sides, or AR only (an internal note).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    Customer,
    Internal,
}

impl Visibility {
    pub const ALL: [Visibility; 2] = [Self::Customer, Self::Internal];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Internal => "internal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// The text of a priority in `requests.priority`: the SLA's own names
/// (its `Display` and serde names), so the column and the events agree.
pub fn priority_as_str(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

pub fn parse_priority(text: &str) -> Option<Priority> {
    [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ]
    .into_iter()
    .find(|p| priority_as_str(*p) == text)
}

/// Why a disputed amount cannot be taken; each message says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisputeAmountProblem {
    #[error("This invoice has no open balance, so there is nothing to dispute.")]
    NothingOpen,
    #[error("Choose at least one line of the invoice to dispute.")]
    NoLines,
    #[error("Enter the amount you dispute.")]
    NoAmount,
    #[error("The disputed amount: {0}.")]
    Unreadable(String),
    #[error("The disputed amount must be more than zero.")]
    NotPositive,
    #[error("The disputed amount cannot be more than the open balance of {balance}.")]
    AboveBalance { balance: String },
}

impl DisputeAmountProblem {
    /// The form field the problem is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NothingOpen => "invoice",
            Self::NoLines => "lines",
            Self::NoAmount
            | Self::Unreadable(_)
            | Self::NotPositive
            | Self::AboveBalance { .. } => "amount",
        }
    }
}

/// The amount a dispute holds, in the invoice's minor units.
///
/// * `Invoice`: the open balance.
/// * `Lines`: the chosen lines' totals (tax included), at most the open
///   balance: lines of a part-paid invoice can add up to more than is still
///   owed, and a dispute never holds money that is not owed.
/// * `Amount`: `amount_text` read in the invoice's currency, more than zero
///   and never above the open balance (the message names the balance).
///
/// `chosen_line_totals_minor` are the lines already checked to be the
/// invoice's; `amount_text` is ignored unless the scope is `Amount`.
pub fn disputed_minor(
    scope: DisputeScope,
    open_balance_minor: i64,
    currency: Currency,
    chosen_line_totals_minor: &[i64],
    amount_text: &str,
) -> Result<i64, DisputeAmountProblem> {
    if open_balance_minor <= 0 {
        return Err(DisputeAmountProblem::NothingOpen);
    }
    match scope {
        DisputeScope::Invoice => Ok(open_balance_minor),
        DisputeScope::Lines => {
            if chosen_line_totals_minor.is_empty() {
                return Err(DisputeAmountProblem::NoLines);
            }
            // Saturating: the cap applies anyway, and a sum of many large
            // lines must not wrap into a small or negative number.
            let sum = chosen_line_totals_minor
                .iter()
                .fold(0i64, |acc, t| acc.saturating_add(*t));
            Ok(sum.clamp(0, open_balance_minor))
        }
        DisputeScope::Amount => {
            if amount_text.trim().is_empty() {
                return Err(DisputeAmountProblem::NoAmount);
            }
            let amount = Money::parse_amount(amount_text, currency)
                .map_err(DisputeAmountProblem::Unreadable)?
                .minor;
            if amount <= 0 {
                return Err(DisputeAmountProblem::NotPositive);
            }
            if amount > open_balance_minor {
                return Err(DisputeAmountProblem::AboveBalance {
                    balance: Money::new(open_balance_minor, currency).display(),
                });
            }
            Ok(amount)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_reads_back_what_it_writes() {
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
        for s in DisputeScope::ALL {
            assert_eq!(DisputeScope::parse(s.as_str()), Some(s));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        for a in AuthorKind::ALL {
            assert_eq!(AuthorKind::parse(a.as_str()), Some(a));
        }
        for v in Visibility::ALL {
            assert_eq!(Visibility::parse(v.as_str()), Some(v));
        }
        assert_eq!(RequestKind::parse("Dispute"), None);
        assert_eq!(RequestStatus::parse("closed"), None);
        assert_eq!(parse_priority("urgent"), Some(Priority::Urgent));
        assert_eq!(parse_priority("URGENT"), None);
    }

    #[test]
    fn priority_text_is_the_sla_engines_own_name() {
        for p in [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ] {
            assert_eq!(priority_as_str(p), p.to_string());
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(priority_as_str(p))
            );
        }
        assert_eq!(RequestKind::Dispute.sla_kind().as_str(), "dispute");
    }

    #[test]
    fn only_open_and_waiting_are_open() {
        assert!(RequestStatus::Open.is_open());
        assert!(RequestStatus::WaitingOnCustomer.is_open());
        assert!(!RequestStatus::Resolved.is_open());
        assert!(!RequestStatus::Withdrawn.is_open());
    }

    const USD: Currency = Currency::USD;

    #[test]
    fn the_whole_invoice_holds_the_open_balance() {
        assert_eq!(
            disputed_minor(DisputeScope::Invoice, 12_345, USD, &[], "99"),
            Ok(12_345)
        );
    }

    #[test]
    fn lines_hold_their_totals_capped_at_the_open_balance() {
        let scope = DisputeScope::Lines;
        assert_eq!(
            disputed_minor(scope, 50_000, USD, &[1_000, 2_500], ""),
            Ok(3_500)
        );
        // Part paid: the lines come to more than is still owed.
        assert_eq!(
            disputed_minor(scope, 3_000, USD, &[1_000, 2_500], ""),
            Ok(3_000)
        );
        assert_eq!(
            disputed_minor(scope, 3_000, USD, &[i64::MAX, i64::MAX], ""),
            Ok(3_000)
        );
        assert_eq!(
            disputed_minor(scope, 3_000, USD, &[], ""),
            Err(DisputeAmountProblem::NoLines)
        );
    }

    #[test]
    fn a_typed_amount_is_positive_and_never_above_the_balance() {
        let scope = DisputeScope::Amount;
        assert_eq!(disputed_minor(scope, 10_000, USD, &[], "25.50"), Ok(2_550));
        assert_eq!(disputed_minor(scope, 10_000, USD, &[], " 100 "), Ok(10_000));
        let above = disputed_minor(scope, 10_000, USD, &[], "100.01").unwrap_err();
        assert_eq!(
            above.to_string(),
            "The disputed amount cannot be more than the open balance of $100.00."
        );
        assert_eq!(above.field(), "amount");
        assert_eq!(
            disputed_minor(scope, 10_000, USD, &[], "0"),
            Err(DisputeAmountProblem::NotPositive)
        );
        assert_eq!(
            disputed_minor(scope, 10_000, USD, &[], "  "),
            Err(DisputeAmountProblem::NoAmount)
        );
        assert!(matches!(
            disputed_minor(scope, 10_000, USD, &[], "ten"),
            Err(DisputeAmountProblem::Unreadable(_))
        ));
        assert!(matches!(
            disputed_minor(scope, 10_000, USD, &[], "-5"),
            Err(DisputeAmountProblem::Unreadable(_) | DisputeAmountProblem::NotPositive)
        ));
        // Read in the invoice's own minor unit.
        assert_eq!(
            disputed_minor(scope, 1_000, Currency::parse("JPY").unwrap(), &[], "999"),
            Ok(999)
        );
    }

    #[test]
    fn nothing_open_means_nothing_to_dispute_whatever_the_scope() {
        for scope in DisputeScope::ALL {
            let err = disputed_minor(scope, 0, USD, &[100], "1").unwrap_err();
            assert_eq!(err, DisputeAmountProblem::NothingOpen);
            assert_eq!(err.field(), "invoice");
        }
    }
}
