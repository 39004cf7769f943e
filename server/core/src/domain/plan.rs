//! Payment plans (issue 12): the schedule, instalment standing, the approval policy. Pure rules, no I/O.
//!
//! - **Schedule** ([`build_schedule`]): an optional down payment (seq 0)
//!   due on the first date, then `count` instalments (seq 1..=count) one
//!   period apart, the first on the first date (no down payment) or one
//!   period after it (with one). The instalments split total - down payment
//!   in minor units into equal parts, the remainder on the LAST one, so
//!   they always sum exactly to the plan's total. Monthly dates keep the
//!   first date's day of month, clamped to each month's end (Jan 31 ->
//!   Feb 28/29 -> Mar 31): every date is counted from the first date, never
//!   from the previous one, so a short month does not drag the rest.
//! - **Standing** ([`instalment_standings`]): never stored. What was paid
//!   toward the plan ([`paid_toward_plan`]) is walked over the schedule in
//!   order: fully covered instalments are paid, the next one shows what is
//!   left, later ones are upcoming / due / late by their date. Paying more
//!   than an instalment rolls forward by construction.
//! - **Policy** ([`evaluate_policy`]): approve at once, queue for AR, or
//!   decline at once with the reasons in words.
//! - **Terms** ([`terms_text`], [`terms_hash`]): the canonical text a
//!   customer accepts and its SHA-256, stored with the acceptance.

use chrono::{Months, NaiveDate};
use sha2::{Digest, Sha256};

use super::money::{Currency, Money};

/// At most this many instalments (a hard rule, whatever the policy says).
pub const MAX_INSTALMENTS: u32 = 36;
/// The first date is today or later, at most this many days ahead.
pub const MAX_FIRST_DATE_DAYS: i64 = 60;
/// A defaulted plan this recent (days) keeps the customer from auto-approval.
pub const DEFAULT_MEMORY_DAYS: i64 = 365;

/// How often an instalment falls due. Stored as text in
/// `payment_plans.frequency`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Frequency {
    Weekly,
    /// Every two weeks.
    Biweekly,
    Monthly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Self::Weekly, Self::Biweekly, Self::Monthly];

    /// The stored and form text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Weekly => "weekly",
            Self::Biweekly => "biweekly",
            Self::Monthly => "monthly",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text.trim())
    }

    /// As a person reads it ("Every two weeks").
    pub const fn label(self) -> &'static str {
        match self {
            Self::Weekly => "Weekly",
            Self::Biweekly => "Every two weeks",
            Self::Monthly => "Monthly",
        }
    }

    /// The date `n` periods after `first`. Monthly dates keep `first`'s day
    /// of month, clamped to the month's end (chrono's month arithmetic
    /// clamps, and counting from `first` keeps the anchor).
    pub fn nth_date(self, first: NaiveDate, n: u32) -> NaiveDate {
        match self {
            Self::Weekly => first + chrono::Duration::weeks(i64::from(n)),
            Self::Biweekly => first + chrono::Duration::weeks(2 * i64::from(n)),
            Self::Monthly => first
                .checked_add_months(Months::new(n))
                .expect("at most 36 months after a date people may type"),
        }
    }
}

/// The terms a schedule is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanTerms {
    /// What the plan covers (payable on its invoices when proposed).
    pub total_minor: i64,
    /// Paid first, on the first date; 0 for none.
    pub down_payment_minor: i64,
    /// Instalments after the down payment, 1..=36.
    pub count: u32,
    pub frequency: Frequency,
    /// The first payment's date (the down payment's, else instalment 1's).
    pub first_date: NaiveDate,
}

/// One line of a schedule: seq 0 is the down payment, 1..=count the
/// instalments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduledInstalment {
    pub seq: u32,
    pub due_date: NaiveDate,
    pub amount_minor: i64,
}

impl ScheduledInstalment {
    /// "Down payment" or "Instalment 3 of 6" (`count` instalments).
    pub fn label(&self, count: u32) -> String {
        if self.seq == 0 {
            "Down payment".into()
        } else {
            format!("Instalment {} of {count}", self.seq)
        }
    }
}

/// Why terms make no schedule, in words; `field` names the form field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    #[error("There is nothing to pay on the chosen invoices.")]
    NothingToPay,
    #[error("Choose from 1 to {} instalments.", MAX_INSTALMENTS)]
    Count,
    #[error("The down payment cannot be negative.")]
    NegativeDownPayment,
    #[error(
        "The down payment must be less than the total, so something is left for the instalments."
    )]
    DownPaymentTooLarge,
    #[error("{0} instalments would leave some of them at zero; choose fewer instalments.")]
    TooManyForAmount(u32),
    #[error("The first date cannot be in the past.")]
    FirstDatePast,
    #[error(
        "The first date can be at most {} days from today.",
        MAX_FIRST_DATE_DAYS
    )]
    FirstDateTooFar,
}

impl ScheduleProblem {
    /// The form field the problem is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NothingToPay => "invoices",
            Self::Count | Self::TooManyForAmount(_) => "count",
            Self::NegativeDownPayment | Self::DownPaymentTooLarge => "down_payment",
            Self::FirstDatePast | Self::FirstDateTooFar => "first_date",
        }
    }
}

/// The first date is today or later and at most 60 days ahead.
pub fn check_first_date(first: NaiveDate, today: NaiveDate) -> Result<(), ScheduleProblem> {
    if first < today {
        Err(ScheduleProblem::FirstDatePast)
    } else if (first - today).num_days() > MAX_FIRST_DATE_DAYS {
        Err(ScheduleProblem::FirstDateTooFar)
    } else {
        Ok(())
    }
}

/// The schedule of `terms`: the down payment (when > 0) then `count`
/// equal instalments with the remainder on the last; they sum exactly to
/// the total. The first date's window is checked apart
/// ([`check_first_date`]), since a stored schedule is rebuilt later.
pub fn build_schedule(terms: &PlanTerms) -> Result<Vec<ScheduledInstalment>, ScheduleProblem> {
    if terms.total_minor <= 0 {
        return Err(ScheduleProblem::NothingToPay);
    }
    if !(1..=MAX_INSTALMENTS).contains(&terms.count) {
        return Err(ScheduleProblem::Count);
    }
    if terms.down_payment_minor < 0 {
        return Err(ScheduleProblem::NegativeDownPayment);
    }
    if terms.down_payment_minor >= terms.total_minor {
        return Err(ScheduleProblem::DownPaymentTooLarge);
    }
    let rest = terms.total_minor - terms.down_payment_minor;
    let count = i64::from(terms.count);
    let part = rest / count;
    if part == 0 {
        return Err(ScheduleProblem::TooManyForAmount(terms.count));
    }
    let mut schedule = Vec::with_capacity(terms.count as usize + 1);
    let offset = u32::from(terms.down_payment_minor > 0);
    if offset == 1 {
        schedule.push(ScheduledInstalment {
            seq: 0,
            due_date: terms.first_date,
            amount_minor: terms.down_payment_minor,
        });
    }
    for seq in 1..=terms.count {
        let amount_minor = if seq == terms.count {
            rest - part * (count - 1)
        } else {
            part
        };
        schedule.push(ScheduledInstalment {
            seq,
            due_date: terms.frequency.nth_date(terms.first_date, seq - 1 + offset),
            amount_minor,
        });
    }
    Ok(schedule)
}

/// The longest term of a schedule in days: its last due date - `from` (the
/// proposal date); 0 for an empty one.
pub fn term_days(schedule: &[ScheduledInstalment], from: NaiveDate) -> i64 {
    schedule
        .iter()
        .map(|i| i.due_date)
        .max()
        .map_or(0, |last| (last - from).num_days().max(0))
}

// ---------------------------------------------------------------------------
// Standing
// ---------------------------------------------------------------------------

/// What a plan's invoice says about what was paid toward the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoveredInvoice {
    /// The part of the invoice the plan covers (payable when proposed).
    pub covered_minor: i64,
    /// The invoice's open balance now (payments of any kind and credits
    /// lower it; a later dispute does not).
    pub balance_minor: i64,
}

/// Paid toward the plan: for each invoice, what of its covered amount is no
/// longer open (covered - balance now, at least 0, at most covered).
pub fn paid_toward_plan(invoices: &[CoveredInvoice]) -> i64 {
    invoices
        .iter()
        .map(|i| (i.covered_minor - i.balance_minor.max(0)).clamp(0, i.covered_minor.max(0)))
        .sum()
}

/// Where one instalment stands. Never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstalmentStatus {
    Paid,
    /// Due after today.
    Upcoming,
    /// Due today.
    Due,
    /// Due before today and not paid in full.
    Late {
        days: i64,
    },
}

impl InstalmentStatus {
    /// As a customer reads it ("Late by 3 days").
    pub fn label(self) -> String {
        match self {
            Self::Paid => "Paid".into(),
            Self::Upcoming => "Upcoming".into(),
            Self::Due => "Due today".into(),
            Self::Late { days: 1 } => "Late by 1 day".into(),
            Self::Late { days } => format!("Late by {days} days"),
        }
    }

    /// A stable name for styles and tests: paid, upcoming, due, late.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Upcoming => "upcoming",
            Self::Due => "due",
            Self::Late { .. } => "late",
        }
    }
}

/// An instalment of the schedule with what was paid of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstalmentStanding {
    pub instalment: ScheduledInstalment,
    /// Paid toward this instalment (0..=amount).
    pub paid_minor: i64,
    /// Still to pay of it (amount - paid).
    pub left_minor: i64,
    pub status: InstalmentStatus,
}

/// Walks `paid` over the schedule in order (cumulative): each instalment
/// is paid when the payments reach its end, partly paid (left_minor < amount)
/// when they stop inside it; an unpaid rest is upcoming, due or late by its
/// date against `today`.
pub fn instalment_standings(
    schedule: &[ScheduledInstalment],
    paid: i64,
    today: NaiveDate,
) -> Vec<InstalmentStanding> {
    let mut remaining = paid.max(0);
    schedule
        .iter()
        .map(|i| {
            let paid_minor = remaining.min(i.amount_minor);
            remaining -= paid_minor;
            let left_minor = i.amount_minor - paid_minor;
            let status = if left_minor == 0 {
                InstalmentStatus::Paid
            } else if i.due_date > today {
                InstalmentStatus::Upcoming
            } else if i.due_date == today {
                InstalmentStatus::Due
            } else {
                InstalmentStatus::Late {
                    days: (today - i.due_date).num_days(),
                }
            };
            InstalmentStanding {
                instalment: *i,
                paid_minor,
                left_minor,
                status,
            }
        })
        .collect()
}

/// The first instalment not paid in full: what "Pay next instalment" pays.
pub fn next_instalment(standings: &[InstalmentStanding]) -> Option<&InstalmentStanding> {
    standings.iter().find(|s| s.left_minor > 0)
}

/// The most days any unpaid instalment is late (0 when none is).
pub fn days_late(standings: &[InstalmentStanding]) -> i64 {
    standings
        .iter()
        .filter_map(|s| match s.status {
            InstalmentStatus::Late { days } => Some(days),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Where a plan stands. Stored as text in `payment_plans.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanStatus {
    /// The customer asked AR to propose; no schedule yet.
    Requested,
    /// The customer's terms wait for AR.
    Proposed,
    /// AR's terms wait for the customer.
    Countered,
    Active,
    /// An instalment is late past the grace period.
    AtRisk,
    Completed,
    /// Late past the second limit: the balance is due again.
    Defaulted,
    Declined,
    Canceled,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 9] = [
        Self::Requested,
        Self::Proposed,
        Self::Countered,
        Self::Active,
        Self::AtRisk,
        Self::Completed,
        Self::Defaulted,
        Self::Declined,
        Self::Canceled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Proposed => "proposed",
            Self::Countered => "countered",
            Self::Active => "active",
            Self::AtRisk => "at_risk",
            Self::Completed => "completed",
            Self::Defaulted => "defaulted",
            Self::Declined => "declined",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// As a customer reads it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Requested => "Waiting for AR's proposal",
            Self::Proposed => "Waiting for AR's decision",
            Self::Countered => "AR proposed new terms",
            Self::Active => "Active",
            Self::AtRisk => "At risk",
            Self::Completed => "Completed",
            Self::Defaulted => "Defaulted",
            Self::Declined => "Declined",
            Self::Canceled => "Canceled",
        }
    }

    /// Running: its invoices show "In plan" and the plan job watches it.
    pub const fn is_running(self) -> bool {
        matches!(self, Self::Active | Self::AtRisk)
    }

    /// Waiting for a decision (AR's or the customer's).
    pub const fn is_pending(self) -> bool {
        matches!(self, Self::Requested | Self::Proposed | Self::Countered)
    }

    /// Over: the plan lets go of its invoices.
    pub const fn is_ended(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Defaulted | Self::Declined | Self::Canceled
        )
    }
}

/// The plan job's limits (`plan_settings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// Late more than this many days: at risk.
    pub grace_days: i64,
    /// Late more than this many days: defaulted.
    pub default_after_days: i64,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self {
            grace_days: 5,
            default_after_days: 30,
        }
    }
}

/// What the plan job does to a running plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMove {
    /// Everything paid.
    Complete,
    /// Late past the grace period (from active).
    AtRisk,
    /// Late past the second limit.
    Default,
    /// An at-risk plan caught up (nothing late past the grace period).
    BackOnTrack,
}

impl PlanMove {
    /// The status the move leads to.
    pub const fn to(self) -> PlanStatus {
        match self {
            Self::Complete => PlanStatus::Completed,
            Self::AtRisk => PlanStatus::AtRisk,
            Self::Default => PlanStatus::Defaulted,
            Self::BackOnTrack => PlanStatus::Active,
        }
    }
}

/// The move of a running plan with these standings, if any.
pub fn plan_move(
    status: PlanStatus,
    standings: &[InstalmentStanding],
    limits: PlanLimits,
) -> Option<PlanMove> {
    if !status.is_running() {
        return None;
    }
    if standings.iter().all(|s| s.left_minor == 0) {
        return Some(PlanMove::Complete);
    }
    let late = days_late(standings);
    if late > limits.default_after_days {
        Some(PlanMove::Default)
    } else if late > limits.grace_days {
        (status == PlanStatus::Active).then_some(PlanMove::AtRisk)
    } else {
        (status == PlanStatus::AtRisk).then_some(PlanMove::BackOnTrack)
    }
}

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

/// The approval policy of one currency (`plan_policy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanPolicy {
    pub currency: Currency,
    pub auto_max_total_minor: i64,
    pub auto_max_count: u32,
    pub auto_max_days: i64,
    /// Basis points of the total (1000 = 10%).
    pub auto_min_down_bp: u32,
    pub hard_max_total_minor: i64,
    pub hard_max_count: u32,
    pub hard_max_days: i64,
}

impl PlanPolicy {
    /// The seeded USD row: approve up to 5,000.00 over at most 6
    /// instalments and 180 days with no down payment required; decline
    /// beyond 50,000.00, 24 instalments or 365 days.
    pub fn default_usd() -> Self {
        Self {
            currency: Currency::USD,
            auto_max_total_minor: 500_000,
            auto_max_count: 6,
            auto_max_days: 180,
            auto_min_down_bp: 0,
            hard_max_total_minor: 5_000_000,
            hard_max_count: 24,
            hard_max_days: 365,
        }
    }

    /// The problems of a policy as an admin typed it: the auto limits
    /// inside the hard ones, counts 1..=36, a share at most 100%.
    pub fn check(&self) -> Result<(), String> {
        if self.auto_max_total_minor < 0 || self.auto_max_days < 0 {
            return Err("Limits cannot be negative.".into());
        }
        if !(1..=MAX_INSTALMENTS).contains(&self.auto_max_count)
            || !(1..=MAX_INSTALMENTS).contains(&self.hard_max_count)
        {
            return Err(format!("Instalment counts go from 1 to {MAX_INSTALMENTS}."));
        }
        if self.auto_min_down_bp > 10_000 {
            return Err("The down payment share is at most 100%.".into());
        }
        if self.hard_max_total_minor < self.auto_max_total_minor
            || self.hard_max_count < self.auto_max_count
            || self.hard_max_days < self.auto_max_days
        {
            return Err("Each decline limit must be at least its approval limit.".into());
        }
        Ok(())
    }
}

/// What the policy looks at in a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyFacts {
    pub total_minor: i64,
    pub down_payment_minor: i64,
    pub count: u32,
    /// Last due date - proposal date ([`term_days`]).
    pub term_days: i64,
    /// The customer has a plan defaulted in the last 12 months.
    pub defaulted_recently: bool,
}

/// The policy's answer, with its reasons in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyVerdict {
    /// Inside every auto limit: active at once.
    Approve,
    /// AR decides; why it was not approved at once.
    Queue { reasons: Vec<String> },
    /// Beyond a hard limit: declined at once; every limit crossed.
    Decline { reasons: Vec<String> },
}

impl PolicyVerdict {
    /// The reasons joined as one sentence list ("" for an approval).
    pub fn reasons_text(&self) -> String {
        match self {
            Self::Approve => String::new(),
            Self::Queue { reasons } | Self::Decline { reasons } => reasons.join(" "),
        }
    }
}

/// Approve, queue or decline `facts` under `policy` (`None`: the currency
/// has no policy, AR decides every plan).
pub fn evaluate_policy(policy: Option<&PlanPolicy>, facts: &PolicyFacts) -> PolicyVerdict {
    let Some(p) = policy else {
        return PolicyVerdict::Queue {
            reasons: vec!["Plans in this currency are decided by AR.".into()],
        };
    };
    let money = |minor| Money::new(minor, p.currency).display();
    let mut hard = Vec::new();
    if facts.total_minor > p.hard_max_total_minor {
        hard.push(format!(
            "The total of {} is above the {} a plan can cover.",
            money(facts.total_minor),
            money(p.hard_max_total_minor)
        ));
    }
    if facts.count > p.hard_max_count {
        hard.push(format!(
            "{} instalments are more than the {} a plan can have.",
            facts.count, p.hard_max_count
        ));
    }
    if facts.term_days > p.hard_max_days {
        hard.push(format!(
            "The last payment is {} days away; a plan can last at most {} days.",
            facts.term_days, p.hard_max_days
        ));
    }
    if !hard.is_empty() {
        return PolicyVerdict::Decline { reasons: hard };
    }
    let mut soft = Vec::new();
    if facts.total_minor > p.auto_max_total_minor {
        soft.push(format!(
            "The total is above {}.",
            money(p.auto_max_total_minor)
        ));
    }
    if facts.count > p.auto_max_count {
        soft.push(format!("More than {} instalments.", p.auto_max_count));
    }
    if facts.term_days > p.auto_max_days {
        soft.push(format!("Longer than {} days.", p.auto_max_days));
    }
    // down / total >= bp / 10000, in integers (no rounding either way).
    let needed = i128::from(facts.total_minor) * i128::from(p.auto_min_down_bp);
    if i128::from(facts.down_payment_minor) * 10_000 < needed {
        soft.push(format!(
            "A down payment of at least {} is approved at once.",
            percent_text(p.auto_min_down_bp)
        ));
    }
    if facts.defaulted_recently {
        soft.push("A plan of the account defaulted in the last 12 months.".into());
    }
    if soft.is_empty() {
        PolicyVerdict::Approve
    } else {
        PolicyVerdict::Queue { reasons: soft }
    }
}

/// Basis points as a percentage ("12.5%", "10%").
pub fn percent_text(bp: u32) -> String {
    let whole = bp / 100;
    match bp % 100 {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

// ---------------------------------------------------------------------------
// Terms text
// ---------------------------------------------------------------------------

/// Everything the accepted terms say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermsDocument<'a> {
    pub plan_id: i64,
    pub terms_version: i64,
    pub seller_name: &'a str,
    pub customer_name: &'a str,
    pub currency: Currency,
    pub total_minor: i64,
    pub frequency: Frequency,
    /// (invoice number, amount covered), in the plan's order.
    pub invoices: &'a [(String, i64)],
    pub schedule: &'a [ScheduledInstalment],
}

/// The canonical text of the terms: what the customer is shown and agrees
/// to, byte for byte (its hash is stored with the acceptance). Plain
/// lines, fixed order, dates ISO, amounts in the currency's display.
pub fn terms_text(doc: &TermsDocument<'_>) -> String {
    let money = |minor| Money::new(minor, doc.currency).display();
    let count = doc.schedule.iter().filter(|i| i.seq > 0).count() as u32;
    let mut text = format!(
        "Payment plan {} (terms version {})\n\
         Between {} and {}.\n\
         Total: {} ({}), paid {} as follows.\n\
         Invoices covered:\n",
        doc.plan_id,
        doc.terms_version,
        doc.seller_name,
        doc.customer_name,
        money(doc.total_minor),
        doc.currency.code(),
        doc.frequency.label().to_lowercase(),
    );
    for (number, covered) in doc.invoices {
        text.push_str(&format!("- Invoice {number}: {}\n", money(*covered)));
    }
    text.push_str("Schedule:\n");
    for i in doc.schedule {
        text.push_str(&format!(
            "- {}: {} due {}\n",
            i.label(count),
            money(i.amount_minor),
            i.due_date.format("%Y-%m-%d")
        ));
    }
    text.push_str(
        "Payments of any kind toward these invoices count toward the schedule in order. \
         An instalment late past the grace period puts the plan at risk; \
         late past the default limit, the plan ends and the whole balance is due again.\n",
    );
    text
}

/// SHA-256 of the terms text, lower-case hex.
pub fn terms_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn terms(
        total: i64,
        down: i64,
        count: u32,
        frequency: Frequency,
        first: NaiveDate,
    ) -> PlanTerms {
        PlanTerms {
            total_minor: total,
            down_payment_minor: down,
            count,
            frequency,
            first_date: first,
        }
    }

    proptest! {
        #[test]
        fn instalments_sum_exactly_to_the_total(
            total in 1i64..=100_000_000_000,
            down_share in 0u32..=100,
            count in 1u32..=36,
            code in prop::sample::select(vec!["JPY", "USD", "KWD"]),
            freq in prop::sample::select(Frequency::ALL.to_vec()),
        ) {
            let currency = Currency::parse(code).unwrap();
            prop_assert!([0, 2, 3].contains(&currency.exponent()));
            let down = total * i64::from(down_share) / 101;
            match build_schedule(&terms(total, down, count, freq, d(2026, 1, 31))) {
                Ok(schedule) => {
                    prop_assert_eq!(schedule.iter().map(|i| i.amount_minor).sum::<i64>(), total);
                    prop_assert!(schedule.iter().all(|i| i.amount_minor > 0));
                    let parts: Vec<_> = schedule.iter().filter(|i| i.seq > 0).collect();
                    prop_assert_eq!(parts.len(), count as usize);
                    // Equal parts, the remainder (< count) only on the last.
                    let first = parts[0].amount_minor;
                    prop_assert!(parts[..parts.len() - 1].iter().all(|i| i.amount_minor == first));
                    let extra = parts[parts.len() - 1].amount_minor - first;
                    prop_assert!((0..i64::from(count)).contains(&extra));
                    prop_assert_eq!(schedule.iter().any(|i| i.seq == 0), down > 0);
                    // Dates strictly increase.
                    prop_assert!(schedule.windows(2).all(|w| w[0].due_date < w[1].due_date));
                }
                Err(ScheduleProblem::TooManyForAmount(_)) => {
                    prop_assert!(total - down < i64::from(count));
                }
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn monthly_dates_keep_the_day_or_the_months_end(
            year in 1990i32..2100,
            month in 1u32..=12,
            day in 1u32..=31,
            n in 0u32..36,
        ) {
            prop_assume!(NaiveDate::from_ymd_opt(year, month, day).is_some());
            let first = d(year, month, day);
            let date = Frequency::Monthly.nth_date(first, n);
            let months = (year * 12 + month as i32 - 1) + n as i32;
            let (y, m) = (months / 12, months as u32 % 12 + 1);
            prop_assert_eq!((date.year(), date.month()), (y, m));
            let month_end = (28..=31).rev().find(|dd| NaiveDate::from_ymd_opt(y, m, *dd).is_some()).unwrap();
            prop_assert_eq!(date.day(), day.min(month_end));
        }
    }

    use chrono::Datelike;

    #[test]
    fn monthly_from_jan_31_clamps_without_drifting() {
        let s = build_schedule(&terms(600, 0, 4, Frequency::Monthly, d(2026, 1, 31))).unwrap();
        let dates: Vec<_> = s.iter().map(|i| i.due_date).collect();
        assert_eq!(
            dates,
            vec![
                d(2026, 1, 31),
                d(2026, 2, 28),
                d(2026, 3, 31),
                d(2026, 4, 30)
            ]
        );
        // A leap year has Feb 29.
        let s = build_schedule(&terms(600, 0, 3, Frequency::Monthly, d(2028, 1, 31))).unwrap();
        let dates: Vec<_> = s.iter().map(|i| i.due_date).collect();
        assert_eq!(dates, vec![d(2028, 1, 31), d(2028, 2, 29), d(2028, 3, 31)]);
        // Feb 29 anchors on the 29th afterwards, and clamps in a common year.
        let s = build_schedule(&terms(1300, 0, 13, Frequency::Monthly, d(2028, 2, 29))).unwrap();
        assert_eq!(s[1].due_date, d(2028, 3, 29));
        assert_eq!(s[12].due_date, d(2029, 2, 28));
    }

    #[test]
    fn weekly_and_biweekly_cross_the_leap_day() {
        let s = build_schedule(&terms(300, 0, 3, Frequency::Weekly, d(2028, 2, 22))).unwrap();
        assert_eq!(s[1].due_date, d(2028, 2, 29));
        assert_eq!(s[2].due_date, d(2028, 3, 7));
        let s = build_schedule(&terms(300, 0, 2, Frequency::Biweekly, d(2027, 2, 22))).unwrap();
        assert_eq!(s[1].due_date, d(2027, 3, 8));
    }

    #[test]
    fn a_down_payment_comes_first_and_the_remainder_last() {
        let s = build_schedule(&terms(
            100_000,
            10_001,
            3,
            Frequency::Monthly,
            d(2026, 12, 15),
        ))
        .unwrap();
        let rows: Vec<_> = s
            .iter()
            .map(|i| (i.seq, i.due_date, i.amount_minor))
            .collect();
        assert_eq!(
            rows,
            vec![
                (0, d(2026, 12, 15), 10_001),
                (1, d(2027, 1, 15), 29_999),
                (2, d(2027, 2, 15), 29_999),
                (3, d(2027, 3, 15), 30_001),
            ]
        );
    }

    #[test]
    fn terms_that_make_no_schedule_say_why() {
        let first = d(2026, 12, 15);
        let problem = |t| build_schedule(&t).unwrap_err();
        assert_eq!(
            problem(terms(0, 0, 1, Frequency::Weekly, first)),
            ScheduleProblem::NothingToPay
        );
        assert_eq!(
            problem(terms(100, 0, 0, Frequency::Weekly, first)),
            ScheduleProblem::Count
        );
        assert_eq!(
            problem(terms(100, 0, 37, Frequency::Weekly, first)),
            ScheduleProblem::Count
        );
        assert_eq!(
            problem(terms(100, 100, 1, Frequency::Weekly, first)),
            ScheduleProblem::DownPaymentTooLarge
        );
        assert_eq!(
            problem(terms(5, 0, 6, Frequency::Weekly, first)),
            ScheduleProblem::TooManyForAmount(6)
        );
        let today = d(2026, 12, 7);
        assert_eq!(
            check_first_date(d(2026, 12, 6), today),
            Err(ScheduleProblem::FirstDatePast)
        );
        assert_eq!(check_first_date(today, today), Ok(()));
        assert_eq!(check_first_date(d(2027, 2, 5), today), Ok(()));
        assert_eq!(
            check_first_date(d(2027, 2, 6), today),
            Err(ScheduleProblem::FirstDateTooFar)
        );
    }

    #[test]
    fn payments_walk_the_schedule_in_order_and_roll_forward() {
        let s = build_schedule(&terms(300, 0, 3, Frequency::Monthly, d(2026, 11, 1))).unwrap();
        let today = d(2026, 12, 1);
        let st = instalment_standings(&s, 150, today);
        assert_eq!(st[0].status, InstalmentStatus::Paid);
        assert_eq!((st[1].paid_minor, st[1].left_minor), (50, 50));
        assert_eq!(st[1].status, InstalmentStatus::Due);
        assert_eq!(st[2].status, InstalmentStatus::Upcoming);
        assert_eq!(next_instalment(&st).unwrap().instalment.seq, 2);
        let st = instalment_standings(&s, 0, d(2026, 12, 4));
        assert_eq!(st[0].status, InstalmentStatus::Late { days: 33 });
        assert_eq!(days_late(&st), 33);
        assert_eq!(st[0].status.label(), "Late by 33 days");
        let st = instalment_standings(&s, 300, today);
        assert!(next_instalment(&st).is_none());
    }

    #[test]
    fn paid_toward_a_plan_counts_only_the_covered_part() {
        let invoices = [
            // Partly paid since the plan started.
            CoveredInvoice {
                covered_minor: 1_000,
                balance_minor: 400,
            },
            // The plan covered only the payable part; the rest still open.
            CoveredInvoice {
                covered_minor: 500,
                balance_minor: 700,
            },
            // Paid in full.
            CoveredInvoice {
                covered_minor: 300,
                balance_minor: 0,
            },
        ];
        assert_eq!(paid_toward_plan(&invoices), 600 + 300);
    }

    #[test]
    fn the_plan_job_moves_running_plans_by_days_late() {
        let s = build_schedule(&terms(300, 0, 3, Frequency::Monthly, d(2026, 11, 1))).unwrap();
        let limits = PlanLimits::default();
        let at =
            |paid, today, status| plan_move(status, &instalment_standings(&s, paid, today), limits);
        use PlanStatus::*;
        assert_eq!(at(0, d(2026, 11, 6), Active), None); // 5 days: within grace
        assert_eq!(at(0, d(2026, 11, 7), Active), Some(PlanMove::AtRisk));
        assert_eq!(at(0, d(2026, 11, 7), AtRisk), None);
        assert_eq!(at(0, d(2026, 12, 1), AtRisk), None); // 30 days
        assert_eq!(at(0, d(2026, 12, 2), AtRisk), Some(PlanMove::Default));
        assert_eq!(at(0, d(2026, 12, 2), Active), Some(PlanMove::Default));
        assert_eq!(
            at(100, d(2026, 11, 20), AtRisk),
            Some(PlanMove::BackOnTrack)
        );
        assert_eq!(at(300, d(2027, 6, 1), AtRisk), Some(PlanMove::Complete));
        assert_eq!(at(300, d(2027, 6, 1), Proposed), None);
    }

    #[test]
    fn policy_table() {
        let usd = PlanPolicy::default_usd();
        let facts = |total, down, count, days, defaulted| PolicyFacts {
            total_minor: total,
            down_payment_minor: down,
            count,
            term_days: days,
            defaulted_recently: defaulted,
        };
        let kind = |v: &PolicyVerdict| match v {
            PolicyVerdict::Approve => "approve",
            PolicyVerdict::Queue { .. } => "queue",
            PolicyVerdict::Decline { .. } => "decline",
        };
        let table: &[(PolicyFacts, &str)] = &[
            (facts(100_000, 0, 3, 60, false), "approve"),
            (facts(500_000, 0, 6, 180, false), "approve"), // on every limit
            (facts(500_001, 0, 6, 180, false), "queue"),
            (facts(100_000, 0, 7, 180, false), "queue"),
            (facts(100_000, 0, 6, 181, false), "queue"),
            (facts(100_000, 0, 3, 60, true), "queue"),
            (facts(5_000_000, 0, 24, 365, false), "queue"), // on every hard limit
            (facts(5_000_001, 0, 3, 60, false), "decline"),
            (facts(100_000, 0, 25, 300, false), "decline"),
            (facts(100_000, 0, 12, 366, false), "decline"),
            (facts(9_000_000, 0, 30, 400, true), "decline"),
        ];
        for (f, want) in table {
            assert_eq!(kind(&evaluate_policy(Some(&usd), f)), *want, "{f:?}");
        }
        // No policy for the currency: AR decides.
        assert_eq!(kind(&evaluate_policy(None, &table[0].0)), "queue");
        // A down payment share is required when set.
        let mut with_down = usd.clone();
        with_down.auto_min_down_bp = 1_000;
        assert_eq!(
            kind(&evaluate_policy(
                Some(&with_down),
                &facts(100_000, 9_999, 3, 60, false)
            )),
            "queue"
        );
        assert_eq!(
            kind(&evaluate_policy(
                Some(&with_down),
                &facts(100_000, 10_000, 3, 60, false)
            )),
            "approve"
        );
        // A decline names every hard limit crossed.
        let PolicyVerdict::Decline { reasons } = evaluate_policy(Some(&usd), &table[10].0) else {
            panic!("declined");
        };
        assert_eq!(reasons.len(), 3);
        assert!(reasons[0].contains("$50,000.00"), "{reasons:?}");
        assert!(usd.check().is_ok());
        assert_eq!(percent_text(1_250), "12.5%");
        assert_eq!(percent_text(1_000), "10%");
    }

    #[test]
    fn the_terms_text_and_hash_change_with_any_term() {
        let s = build_schedule(&terms(30_000, 0, 3, Frequency::Monthly, d(2026, 12, 15))).unwrap();
        let invoices = vec![("INV-1001".to_owned(), 30_000)];
        let doc = TermsDocument {
            plan_id: 7,
            terms_version: 1,
            seller_name: "Seller",
            customer_name: "Northwind",
            currency: Currency::USD,
            total_minor: 30_000,
            frequency: Frequency::Monthly,
            invoices: &invoices,
            schedule: &s,
        };
        let text = terms_text(&doc);
        assert!(
            text.contains("- Instalment 3 of 3: $100.00 due 2027-02-15\n"),
            "{text}"
        );
        assert_eq!(terms_hash(&text).len(), 64);
        assert_eq!(terms_hash(&text), terms_hash(&terms_text(&doc)));
        let v2 = TermsDocument {
            terms_version: 2,
            ..doc.clone()
        };
        assert_ne!(terms_hash(&text), terms_hash(&terms_text(&v2)));
    }
}
