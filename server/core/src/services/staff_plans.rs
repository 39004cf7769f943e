//! AR's side of payment plans (issue 12): the approval policy admins keep
//! (limits per currency, and the plan job's grace and default days), and
//! AR's answer to a queued plan: approve, counter with other terms, or
//! decline with a reason.
//!
//! The policy forms follow the request settings (request_settings.rs): the
//! checks are pure functions over the typed text, so the settings page runs
//! them again on a refused form's values to say what is wrong beside the
//! field, and saving what is stored writes and logs nothing.
//!
//! Each action on a plan is one write transaction whose first write is the
//! plan's guarded `UPDATE … WHERE status = <the status read>`: of a double
//! post, or two staff users at once, one moves the plan and the other
//! writes nothing and is told the plan already moved. The same transaction
//! moves the plan's request (resolved, or waiting on the customer with its
//! SLA clock paused), writes the thread message, the SLA events, the audit
//! event and the customer's email (the outbox).

use chrono::NaiveDate;

use super::plans::{close_request, store_message};
use super::request_settings::FormProblem;
use super::requests::MAX_MESSAGE_CHARS;
use super::Services;
use crate::domain::audit::Action;
use crate::domain::dates::parse_user_date;
use crate::domain::plan::{
    build_schedule, check_first_date, evaluate_policy, instalment_standings, paid_toward_plan,
    term_days, CoveredInvoice, Frequency, InstalmentStanding, PlanLimits, PlanPolicy, PlanStatus,
    PlanTerms, PolicyFacts, PolicyVerdict, ScheduleProblem, ScheduledInstalment,
    DEFAULT_MEMORY_DAYS, MAX_INSTALMENTS,
};
use crate::domain::request::{AuthorKind, RequestStatus};
use crate::domain::sla::{SlaEvent, SlaEventKind};
use crate::domain::{Currency, Money, StaffRole};
use crate::email::templates::{PlanDecision, RequestUpdate};
use crate::error::{ServiceError, ServiceResult, CONFLICT};
use crate::repo::accounts::{self, StaffRow};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::plans::{
    self as repo, AcceptanceRow, PlanActor, PlanEventKind, PlanInvoiceRow, PlanRow,
};
use crate::repo::requests as requests_repo;
use crate::repo::staff_plans as plan_repo_staff;
use crate::repo::staff_requests::{self as staff_repo, StaffRequest};
use crate::repo::Conn;

// ---------------------------------------------------------------------------
// The policy, as forms
// ---------------------------------------------------------------------------

/// The longest term a policy may allow, in days: a first date 60 days out
/// and 36 monthly instalments come to about three years.
pub const MAX_TERM_DAYS: i64 = 1_200;
/// The longest grace or default delay, in days.
pub const MAX_LATE_DAYS: i64 = 365;

/// The fields of a currency's policy form: (field, label, hint).
pub const POLICY_FIELDS: [(&str, &str, &str); 7] = [
    (
        "auto_max_total",
        "Approve automatically up to (total)",
        "A plan's total is what was payable on its invoices when proposed.",
    ),
    (
        "auto_max_count",
        "Approve automatically up to (instalments)",
        "1 to 36.",
    ),
    (
        "auto_max_days",
        "Approve automatically up to (days of term)",
        "From the day it is proposed to the last instalment's date.",
    ),
    (
        "auto_min_down",
        "Approve automatically from a down payment of (% of the total)",
        "0 when no down payment is needed.",
    ),
    (
        "hard_max_total",
        "Decline automatically above (total)",
        "Between the two limits, AR decides.",
    ),
    (
        "hard_max_count",
        "Decline automatically above (instalments)",
        "1 to 36.",
    ),
    (
        "hard_max_days",
        "Decline automatically above (days of term)",
        "From the day it is proposed to the last instalment's date.",
    ),
];

/// The fields of the plan job's settings form: (field, label, hint).
pub const TIMING_FIELDS: [(&str, &str, &str); 2] = [
    (
        "grace_days",
        "Grace period (days late before a plan is at risk)",
        "0 to 365.",
    ),
    (
        "default_after_days",
        "Default after (days late)",
        "More than the grace period, at most 365.",
    ),
];

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

fn problem(field: &str, message: String) -> FormProblem {
    FormProblem {
        field: field.to_owned(),
        message,
    }
}

fn label_of(field: &str) -> &'static str {
    POLICY_FIELDS
        .iter()
        .chain(TIMING_FIELDS.iter())
        .find(|(f, _, _)| *f == field)
        .map_or("This field", |(_, label, _)| label)
}

/// A whole number of `field` in `min..=max`.
fn whole(field: &str, text: &str, min: i64, max: i64) -> Result<i64, FormProblem> {
    let t = text.trim();
    let label = label_of(field);
    if t.is_empty() {
        return Err(problem(field, format!("{label}: enter a number.")));
    }
    match t.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err(problem(
            field,
            format!("{label}: enter a number from {min} to {max}."),
        )),
        Err(_) => Err(problem(
            field,
            format!("{label}: \"{t}\" is not a whole number."),
        )),
    }
}

/// A number of instalments, 1 to 36.
fn count(field: &str, text: &str) -> Result<u32, FormProblem> {
    whole(field, text, 1, i64::from(MAX_INSTALMENTS)).map(|n| n as u32)
}

/// An amount in `currency`, zero or more.
fn amount(field: &str, text: &str, currency: Currency) -> Result<i64, FormProblem> {
    let label = label_of(field);
    if text.trim().is_empty() {
        return Err(problem(field, format!("{label}: enter an amount.")));
    }
    Money::parse_amount(text, currency)
        .map(|m| m.minor)
        .map_err(|e| problem(field, format!("{label}: {e}.")))
}

/// A share of the total as typed ("10", "12.5", "10%"), in basis points,
/// from 0 to 99.99%.
fn percent_bp(field: &str, text: &str) -> Result<u32, FormProblem> {
    let label = label_of(field);
    let t = text.trim().trim_end_matches('%').trim();
    let bad = || {
        problem(
            field,
            format!("{label}: write a share from 0 to 99.99, such as 10 or 12.5."),
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 3
        || !digits(whole)
        || fraction.len() > 2
        || !digits(fraction)
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let bp = whole * 100 + fraction;
    if bp >= 10_000 {
        return Err(bad());
    }
    Ok(bp)
}

/// Basis points as the form writes them: "10", "12.5", "0".
pub fn percent_field(bp: u32) -> String {
    let (whole, fraction) = (bp / 100, bp % 100);
    match fraction {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// A currency's policy form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyForm {
    /// The currency code (a hidden field, or typed when adding one).
    pub currency: String,
    /// In `POLICY_FIELDS` order.
    pub values: [String; 7],
}

impl PolicyForm {
    pub fn of(p: &PlanPolicy) -> Self {
        let money = |minor| Money::new(minor, p.currency).decimal_string();
        Self {
            currency: p.currency.code().to_owned(),
            values: [
                money(p.auto_max_total_minor),
                p.auto_max_count.to_string(),
                p.auto_max_days.to_string(),
                percent_field(p.auto_min_down_bp),
                money(p.hard_max_total_minor),
                p.hard_max_count.to_string(),
                p.hard_max_days.to_string(),
            ],
        }
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            currency: value(pairs, "currency").trim().to_ascii_uppercase(),
            values: POLICY_FIELDS.map(|(f, _, _)| value(pairs, f).to_owned()),
        }
    }

    /// The limits these fields describe: every value in range, and each
    /// automatic approval limit inside its automatic decline limit (or the
    /// queue between them would be empty or inverted).
    pub fn limits(&self) -> Result<PlanPolicy, FormProblem> {
        let currency = Currency::parse(&self.currency).map_err(|_| {
            problem(
                "currency",
                if self.currency.trim().is_empty() {
                    "Currency: write a three-letter ISO 4217 code, such as USD.".to_owned()
                } else {
                    format!(
                        "Currency: \"{}\" is not a three-letter ISO 4217 code, such as USD.",
                        self.currency.trim()
                    )
                },
            )
        })?;
        let [auto_total, auto_count, auto_days, auto_down, hard_total, hard_count, hard_days] =
            &self.values;
        let p = PlanPolicy {
            currency,
            auto_max_total_minor: amount("auto_max_total", auto_total, currency)?,
            auto_max_count: count("auto_max_count", auto_count)?,
            auto_max_days: whole("auto_max_days", auto_days, 1, MAX_TERM_DAYS)?,
            auto_min_down_bp: percent_bp("auto_min_down", auto_down)?,
            hard_max_total_minor: amount("hard_max_total", hard_total, currency)?,
            hard_max_count: count("hard_max_count", hard_count)?,
            hard_max_days: whole("hard_max_days", hard_days, 1, MAX_TERM_DAYS)?,
        };
        if p.hard_max_total_minor == 0 {
            return Err(problem(
                "hard_max_total",
                format!(
                    "{}: must be more than zero, or every plan is declined.",
                    label_of("hard_max_total")
                ),
            ));
        }
        let inside = |field: &str, auto: String, hard: String| {
            problem(
                field,
                format!(
                    "{}: {auto} is above the automatic decline limit of {hard}; make it at most that.",
                    label_of(field)
                ),
            )
        };
        if p.auto_max_total_minor > p.hard_max_total_minor {
            let m = |minor| Money::new(minor, currency).display();
            return Err(inside(
                "auto_max_total",
                m(p.auto_max_total_minor),
                m(p.hard_max_total_minor),
            ));
        }
        if p.auto_max_count > p.hard_max_count {
            return Err(inside(
                "auto_max_count",
                p.auto_max_count.to_string(),
                p.hard_max_count.to_string(),
            ));
        }
        if p.auto_max_days > p.hard_max_days {
            return Err(inside(
                "auto_max_days",
                format!("{} days", p.auto_max_days),
                format!("{} days", p.hard_max_days),
            ));
        }
        Ok(p)
    }
}

/// The plan job's settings form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimingsForm {
    pub grace_days: String,
    pub default_after_days: String,
}

impl TimingsForm {
    pub fn of(t: &PlanLimits) -> Self {
        Self {
            grace_days: t.grace_days.to_string(),
            default_after_days: t.default_after_days.to_string(),
        }
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            grace_days: value(pairs, "grace_days").to_owned(),
            default_after_days: value(pairs, "default_after_days").to_owned(),
        }
    }

    /// A plan defaults only after it was at risk: the default delay is
    /// longer than the grace period.
    pub fn timings(&self) -> Result<PlanLimits, FormProblem> {
        let grace_days = whole("grace_days", &self.grace_days, 0, MAX_LATE_DAYS)?;
        let default_after_days = whole(
            "default_after_days",
            &self.default_after_days,
            1,
            MAX_LATE_DAYS,
        )?;
        if default_after_days <= grace_days {
            return Err(problem(
                "default_after_days",
                format!(
                    "{}: make it more than the grace period of {grace_days} days, so a plan is at risk before it defaults.",
                    label_of("default_after_days")
                ),
            ));
        }
        Ok(PlanLimits {
            grace_days,
            default_after_days,
        })
    }
}

/// The policy in force, for the settings page.
#[derive(Clone, Debug)]
pub struct PlanPolicyOverview {
    /// One per currency with a policy; a currency without one queues
    /// every plan.
    pub policies: Vec<PlanPolicy>,
    pub timings: PlanLimits,
    pub can_edit: bool,
}

const ADMINS_ONLY: &str =
    "Only AR admins change the payment plan policy. Ask an admin if something needs changing.";

async fn active_staff(conn: &mut Conn, staff_id: i64) -> ServiceResult<StaffRow> {
    accounts::active_staff(conn, staff_id)
        .await?
        .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))
}

async fn acting_admin(conn: &mut Conn, staff_id: i64) -> ServiceResult<StaffRow> {
    let staff = active_staff(conn, staff_id).await?;
    match staff.role {
        StaffRole::Admin => Ok(staff),
        StaffRole::Agent => Err(ServiceError::Forbidden(ADMINS_ONLY.into())),
    }
}

fn settings_event<'a>(
    staff: &StaffRow,
    subject: String,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    AuditEvent {
        actor_kind: "staff",
        actor_id: Some(staff.staff_id),
        customer_id: None,
        action: Action::PlanPolicyChanged,
        detail,
        ip: None,
        subject: Some(subject),
    }
}

impl Services {
    /// The plan policy of every currency and the plan job's settings (any
    /// active staff user; only admins may change them).
    pub async fn plan_policy(&self, staff_id: i64) -> ServiceResult<PlanPolicyOverview> {
        let mut tx = self.db.pool.begin().await?;
        let staff = active_staff(&mut tx, staff_id).await?;
        let policies = repo::policies(&mut tx).await?;
        let timings = repo::limits(&mut tx).await?;
        tx.commit().await?;
        Ok(PlanPolicyOverview {
            policies,
            timings,
            can_edit: staff.role == StaffRole::Admin,
        })
    }

    /// An AR admin saves one currency's limits (a currency without a
    /// policy gets one). Agents are refused before the values are read;
    /// saving what is stored writes and logs nothing.
    pub async fn save_plan_policy_form(
        &self,
        staff_id: i64,
        form: &PolicyForm,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = acting_admin(&mut tx, staff_id).await?;
        let limits = form
            .limits()
            .map_err(|p| ServiceError::invalid_field("plan-policy", p.message))?;
        let before = repo::policies(&mut tx)
            .await?
            .into_iter()
            .find(|p| p.currency == limits.currency);
        if before.as_ref() == Some(&limits) {
            return Ok(());
        }
        repo::upsert_policy(&mut tx, &limits, staff.staff_id, now).await?;
        audit::record(
            &mut tx,
            now,
            settings_event(
                &staff,
                format!("plan_policy:{}", limits.currency),
                serde_json::json!({
                    "currency": limits.currency.code(),
                    "before": before.map(|b| policy_json(&b)),
                    "after": policy_json(&limits),
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An AR admin saves the plan job's grace and default days. They apply
    /// to the job's next run, for every plan.
    pub async fn save_plan_timings_form(
        &self,
        staff_id: i64,
        form: &TimingsForm,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = acting_admin(&mut tx, staff_id).await?;
        let timings = form
            .timings()
            .map_err(|p| ServiceError::invalid_field("plan-timings", p.message))?;
        let before = repo::limits(&mut tx).await?;
        if before == timings {
            return Ok(());
        }
        repo::set_limits(&mut tx, timings, staff.staff_id, now).await?;
        audit::record(
            &mut tx,
            now,
            settings_event(
                &staff,
                "plan_settings".into(),
                serde_json::json!({
                    "before": {"grace_days": before.grace_days, "default_after_days": before.default_after_days},
                    "after": {"grace_days": timings.grace_days, "default_after_days": timings.default_after_days},
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// AR's answer to a queued plan
// ---------------------------------------------------------------------------

/// A reason, note or message AR writes on a plan is thread text.
const MAX_NOTE_CHARS: usize = MAX_MESSAGE_CHARS;

/// AR's counter-proposal as typed: the schedule's parameters (the total is
/// the plan's: what was payable on its invoices when proposed) and words
/// for the customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterForm {
    /// Empty for none.
    pub down_payment: String,
    pub count: String,
    pub frequency: String,
    /// YYYY-MM-DD (a date input).
    pub first_date: String,
    /// Optional: the thread says the new terms either way.
    pub message: String,
}

/// The counter form's fields, for the redirect that keeps them.
pub const COUNTER_FIELDS: [&str; 5] = [
    "down_payment",
    "count",
    "frequency",
    "first_date",
    "message",
];

impl CounterForm {
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            down_payment: value(pairs, "down_payment").to_owned(),
            count: value(pairs, "count").to_owned(),
            frequency: value(pairs, "frequency").to_owned(),
            first_date: value(pairs, "first_date").to_owned(),
            message: value(pairs, "message").to_owned(),
        }
    }

    /// The terms and schedule these fields make for a plan of
    /// `total_minor`, on `today`: the domain's rules (1 to 36 instalments,
    /// a first date from today to 60 days ahead, every instalment above
    /// zero, a down payment below the total), each named by its field.
    pub fn terms(
        &self,
        total_minor: i64,
        currency: Currency,
        today: NaiveDate,
    ) -> Result<(PlanTerms, Vec<ScheduledInstalment>), FormProblem> {
        let down = self.down_payment.trim();
        let down_payment_minor = if down.is_empty() {
            0
        } else {
            Money::parse_amount(down, currency)
                .map_err(|e| problem("down_payment", format!("Down payment: {e}.")))?
                .minor
        };
        let count = self.count.trim();
        let count: u32 = count
            .parse()
            .ok()
            .filter(|c| (1..=MAX_INSTALMENTS).contains(c))
            .ok_or_else(|| {
                problem(
                    "count",
                    format!("Instalments: choose from 1 to {MAX_INSTALMENTS}."),
                )
            })?;
        let frequency = Frequency::parse(&self.frequency)
            .ok_or_else(|| problem("frequency", "Frequency: choose how often.".into()))?;
        let first_date = parse_user_date("First date", &self.first_date)
            .map_err(|m| problem("first_date", format!("{m}.")))?;
        let as_problem = |p: ScheduleProblem| {
            let label = match p.field() {
                "down_payment" => "Down payment",
                "count" => "Instalments",
                "first_date" => "First date",
                _ => "Terms",
            };
            problem(p.field(), format!("{label}: {p}"))
        };
        check_first_date(first_date, today).map_err(as_problem)?;
        let terms = PlanTerms {
            total_minor,
            down_payment_minor,
            count,
            frequency,
            first_date,
        };
        let schedule = build_schedule(&terms).map_err(as_problem)?;
        Ok((terms, schedule))
    }
}

/// A date as the thread and emails write it: "Jan 15, 2027".
fn day(date: NaiveDate) -> String {
    date.format("%b %-d, %Y").to_string()
}

/// Terms in words for the thread and the email: "$5,500.00: a down
/// payment of $500.00 on Jan 15, 2027, then 6 monthly instalments of
/// $833.33 (the last $833.35) from Feb 15, 2027 to Jul 15, 2027."
pub fn terms_in_words(
    currency: Currency,
    terms: &PlanTerms,
    schedule: &[ScheduledInstalment],
) -> String {
    let money = |minor| Money::new(minor, currency).display();
    let parts: Vec<&ScheduledInstalment> = schedule.iter().filter(|i| i.seq > 0).collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return money(terms.total_minor);
    };
    let how_often = match terms.frequency {
        Frequency::Weekly => "weekly",
        Frequency::Biweekly => "two-weekly",
        Frequency::Monthly => "monthly",
    };
    let amounts = if first.amount_minor == last.amount_minor {
        format!("of {}", money(first.amount_minor))
    } else {
        format!(
            "of {} (the last {})",
            money(first.amount_minor),
            money(last.amount_minor)
        )
    };
    let instalments = if parts.len() == 1 {
        format!(
            "one payment of {} on {}",
            money(first.amount_minor),
            day(first.due_date)
        )
    } else {
        format!(
            "{} {how_often} instalments {amounts} from {} to {}",
            parts.len(),
            day(first.due_date),
            day(last.due_date)
        )
    };
    match schedule.iter().find(|i| i.seq == 0) {
        Some(down) => format!(
            "{} in total: a down payment of {} on {}, then {instalments}.",
            money(terms.total_minor),
            money(down.amount_minor),
            day(down.due_date)
        ),
        None => format!("{} in total: {instalments}.", money(terms.total_minor)),
    }
}

/// Everything AR's plan section shows.
#[derive(Clone, Debug)]
pub struct StaffPlanDetail {
    pub plan: PlanRow,
    pub invoices: Vec<PlanInvoiceRow>,
    /// The current schedule with each instalment's standing today.
    pub standings: Vec<InstalmentStanding>,
    /// The policy's verdict on the terms as they stand (why it waits for
    /// AR); `None` while the plan has no terms.
    pub verdict: Option<PolicyVerdict>,
    pub acceptances: Vec<AcceptanceRow>,
    /// (name, email) of the contact who proposed or asked.
    pub proposer: Option<(String, String)>,
    pub today: NaiveDate,
    /// The plan's request is open (queued, waiting on the customer, or
    /// reopened by the plan job).
    pub request_open: bool,
    /// `Ok` when the reader may approve, counter or decline (if the plan's
    /// status allows it), else why not.
    pub may_decide: Result<(), String>,
}

/// May this staff user act on the plan of this request? Admins act on
/// any; agents on those assigned to them or to nobody (the assignment
/// rule of the queue: an agent takes unassigned requests).
fn may_decide(staff: &StaffRow, request: &StaffRequest) -> Result<(), String> {
    match (staff.role, request.assignee_staff_id) {
        (StaffRole::Admin, _) | (StaffRole::Agent, None) => Ok(()),
        (StaffRole::Agent, Some(id)) if id == staff.staff_id => Ok(()),
        (StaffRole::Agent, Some(_)) => Err(
            "This plan request is assigned to someone else: its owner or an AR admin decides it."
                .into(),
        ),
    }
}

/// Why a plan in `status` takes no approval, counter or decline now: a
/// conflict when it already moved on (a second press, a colleague first).
fn plan_moved(status: PlanStatus) -> ServiceError {
    ServiceError::Conflict(match status {
        PlanStatus::Active | PlanStatus::AtRisk | PlanStatus::Completed | PlanStatus::Defaulted => {
            "This plan was already approved; nothing more was written.".into()
        }
        PlanStatus::Countered => {
            "Other terms were already proposed to the customer; their answer comes first. Nothing more was written.".into()
        }
        PlanStatus::Declined => "This plan was already declined; nothing more was written.".into(),
        PlanStatus::Canceled => "The customer canceled this plan; nothing was written.".into(),
        PlanStatus::Requested | PlanStatus::Proposed => CONFLICT.into(),
    })
}

/// What every action on a plan reads first, in its transaction.
struct Acting {
    staff: StaffRow,
    request: StaffRequest,
    plan: PlanRow,
}

impl Services {
    /// The staff user, the request and its plan, and whether the staff
    /// user may decide it: `NotFound` for a request without a plan.
    async fn acting_on_plan(
        &self,
        tx: &mut Conn,
        staff_id: i64,
        request_id: i64,
    ) -> ServiceResult<Acting> {
        let staff = active_staff(tx, staff_id).await?;
        let request = staff_repo::request(tx, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let plan = repo::plan_by_request(tx, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        may_decide(&staff, &request).map_err(ServiceError::Forbidden)?;
        Ok(Acting {
            staff,
            request,
            plan,
        })
    }

    /// The plan of a payment-plan request as AR's page shows it; `None`
    /// for a request without a plan (a dispute).
    pub async fn staff_plan_detail(
        &self,
        staff_id: i64,
        request_id: i64,
    ) -> ServiceResult<Option<StaffPlanDetail>> {
        let today = self.today();
        let mut tx = self.db.pool.begin().await?;
        let staff = active_staff(&mut tx, staff_id).await?;
        let Some(plan) = repo::plan_by_request(&mut tx, request_id).await? else {
            return Ok(None);
        };
        let request = staff_repo::request(&mut tx, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let invoices = repo::plan_invoices(&mut tx, plan.plan_id).await?;
        let schedule = repo::current_schedule(&mut tx, plan.plan_id).await?;
        let acceptances = repo::acceptances(&mut tx, plan.plan_id).await?;
        let proposer = plan_repo_staff::proposer(&mut tx, plan.plan_id).await?;
        let verdict = match plan.terms() {
            Some(terms) => {
                let policy = repo::policy(&mut tx, plan.currency).await?;
                let since = plan.created_at - chrono::Duration::days(DEFAULT_MEMORY_DAYS);
                let facts = PolicyFacts {
                    total_minor: terms.total_minor,
                    down_payment_minor: terms.down_payment_minor,
                    count: terms.count,
                    term_days: term_days(&schedule, plan.created_at.date_naive()),
                    defaulted_recently: repo::defaulted_since(&mut tx, plan.customer_id, since)
                        .await?,
                };
                Some(evaluate_policy(policy.as_ref(), &facts))
            }
            None => None,
        };
        tx.commit().await?;
        let covered: Vec<CoveredInvoice> = invoices
            .iter()
            .map(|i| CoveredInvoice {
                covered_minor: i.covered_minor,
                balance_minor: i.balance_minor,
            })
            .collect();
        let standings = instalment_standings(&schedule, paid_toward_plan(&covered), today);
        Ok(Some(StaffPlanDetail {
            may_decide: may_decide(&staff, &request),
            request_open: request.status.is_open(),
            plan,
            invoices,
            standings,
            verdict,
            acceptances,
            proposer,
            today,
        }))
    }

    /// AR approves the customer's proposed terms: the plan is active. The
    /// customer accepted exactly these terms when proposing them (their
    /// acceptance is on record), so nothing more is asked of them. The
    /// request is resolved, the thread and the customer told.
    pub async fn approve_plan(
        &self,
        staff_id: i64,
        request_id: i64,
        note: &str,
    ) -> ServiceResult<()> {
        let note = optional_text("note", note, "A note")?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let Acting {
            staff,
            request,
            plan,
        } = self.acting_on_plan(&mut tx, staff_id, request_id).await?;
        match plan.status {
            PlanStatus::Proposed => {}
            PlanStatus::Requested => {
                return Err(ServiceError::invalid(
                    "The customer asked AR to propose terms: there is nothing to approve yet. Counter with the terms instead.",
                ))
            }
            other => return Err(plan_moved(other)),
        }
        // Approving terms whose first date has passed would start the plan
        // late: new dates are a counter the customer accepts.
        if let Some(first) = plan.first_date.filter(|d| *d < self.today()) {
            return Err(ServiceError::invalid_field(
                "dates",
                format!(
                    "The customer's first payment date, {}, has passed: propose new dates with other terms instead.",
                    day(first)
                ),
            ));
        }
        let accepted = repo::acceptances(&mut tx, plan.plan_id)
            .await?
            .iter()
            .any(|a| a.terms_version == plan.terms_version);
        if !accepted {
            return Err(ServiceError::internal(
                format!("plan {}", plan.plan_id),
                "proposed without the customer's acceptance of its terms",
            ));
        }
        if !repo::move_status(
            &mut tx,
            plan.plan_id,
            &[PlanStatus::Proposed],
            PlanStatus::Active,
            None,
            now,
        )
        .await?
        {
            return Err(self.moved_now(&mut tx, plan.plan_id).await);
        }
        repo::insert_plan_event(
            &mut tx,
            plan.plan_id,
            PlanEventKind::Approved,
            PlanActor::Staff(staff.staff_id),
            note,
            now,
        )
        .await?;
        let schedule = repo::current_schedule(&mut tx, plan.plan_id).await?;
        let terms = plan
            .terms()
            .map(|t| terms_in_words(plan.currency, &t, &schedule));
        let mut body = format!(
            "Payment plan approved. {}",
            terms.as_deref().unwrap_or_default()
        );
        if let Some(note) = note {
            body.push_str("\n\n");
            body.push_str(note);
        }
        store_message(
            &mut tx,
            request.request_id,
            AuthorKind::Staff,
            staff.staff_id,
            &body,
            now,
        )
        .await?;
        close_request(&mut tx, request.request_id, now).await?;
        audit::record(
            &mut tx,
            now,
            plan_event(
                &staff,
                &plan,
                Action::PlanApproved,
                serde_json::json!({
                    "terms_version": plan.terms_version,
                }),
            ),
        )
        .await?;
        self.mail_decision(&mut tx, plan.plan_id, &PlanDecision::Approved { note }, now)
            .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// AR proposes other terms (on the customer's proposal, or the first
    /// terms of a plan the customer asked AR for): a new terms version and
    /// schedule from `domain::plan`, the plan waits for the customer, and
    /// so does the request (its SLA clock pauses, as "waiting on the
    /// customer" does). The thread gets AR's words and the terms; the
    /// customer an email linking to the plan page. Returns the new terms
    /// version.
    pub async fn counter_plan(
        &self,
        staff_id: i64,
        request_id: i64,
        form: &CounterForm,
    ) -> ServiceResult<i64> {
        let message = optional_text("message", &form.message, "A message")?;
        let now = self.clock.now();
        let today = self.today();
        let mut tx = self.db.begin_write().await?;
        let Acting {
            staff,
            request,
            plan,
        } = self.acting_on_plan(&mut tx, staff_id, request_id).await?;
        if !matches!(plan.status, PlanStatus::Proposed | PlanStatus::Requested) {
            return Err(plan_moved(plan.status));
        }
        if !request.status.is_open() {
            return Err(ServiceError::invalid(
                "This plan's request is closed; it takes no more changes.",
            ));
        }
        let (terms, schedule) = form
            .terms(plan.total_minor, plan.currency, today)
            .map_err(|p| ServiceError::invalid_field("counter", p.message))?;
        let Some(version) = repo::write_terms(
            &mut tx,
            plan.plan_id,
            &[plan.status],
            PlanStatus::Countered,
            &terms,
            &schedule,
            now,
        )
        .await?
        else {
            return Err(self.moved_now(&mut tx, plan.plan_id).await);
        };
        let words = terms_in_words(plan.currency, &terms, &schedule);
        repo::insert_plan_event(
            &mut tx,
            plan.plan_id,
            PlanEventKind::Countered,
            PlanActor::Staff(staff.staff_id),
            Some(&words),
            now,
        )
        .await?;
        let mut body = format!("Proposed terms (version {version}): {words}");
        if let Some(message) = message {
            body = format!("{message}\n\n{body}");
        }
        body.push_str("\n\nAccept or decline them on the plan page.");
        store_message(
            &mut tx,
            request_id,
            AuthorKind::Staff,
            staff.staff_id,
            &body,
            now,
        )
        .await?;
        requests_repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::StaffReplied),
        )
        .await?;
        // Open to waiting (a request AR already marked waiting stays so).
        if staff_repo::wait_on_customer(&mut tx, request_id).await? {
            requests_repo::insert_event(
                &mut tx,
                request_id,
                &SlaEvent::new(now, SlaEventKind::WaitingOnCustomer),
            )
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            plan_event(
                &staff,
                &plan,
                Action::PlanCountered,
                serde_json::json!({
                    "terms_version": version,
                    "down_payment_minor": terms.down_payment_minor,
                    "count": terms.count,
                    "frequency": terms.frequency.as_str(),
                    "first_date": terms.first_date.to_string(),
                }),
            ),
        )
        .await?;
        self.mail_decision(
            &mut tx,
            plan.plan_id,
            &PlanDecision::Countered {
                terms: &words,
                message,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(version)
    }

    /// AR declines a queued plan with a reason: the plan lets go of its
    /// invoices (due as before), the request is resolved, the thread and
    /// the customer told the reason.
    pub async fn decline_plan(
        &self,
        staff_id: i64,
        request_id: i64,
        reason: &str,
    ) -> ServiceResult<()> {
        let reason = optional_text("reason", reason, "The reason")?.ok_or_else(|| {
            ServiceError::invalid_field("reason", "Write why the plan is declined.")
        })?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let Acting {
            staff,
            request,
            plan,
        } = self.acting_on_plan(&mut tx, staff_id, request_id).await?;
        if !matches!(plan.status, PlanStatus::Proposed | PlanStatus::Requested) {
            return Err(plan_moved(plan.status));
        }
        if !repo::move_status(
            &mut tx,
            plan.plan_id,
            &[plan.status],
            PlanStatus::Declined,
            Some(reason),
            now,
        )
        .await?
        {
            return Err(self.moved_now(&mut tx, plan.plan_id).await);
        }
        repo::release_invoices(&mut tx, plan.plan_id, now).await?;
        repo::insert_plan_event(
            &mut tx,
            plan.plan_id,
            PlanEventKind::Declined,
            PlanActor::Staff(staff.staff_id),
            Some(reason),
            now,
        )
        .await?;
        let body = format!("Payment plan declined. The reason: {reason}");
        store_message(
            &mut tx,
            request.request_id,
            AuthorKind::Staff,
            staff.staff_id,
            &body,
            now,
        )
        .await?;
        close_request(&mut tx, request.request_id, now).await?;
        audit::record(
            &mut tx,
            now,
            plan_event(
                &staff,
                &plan,
                Action::PlanDeclined,
                serde_json::json!({
                    "reason": reason,
                }),
            ),
        )
        .await?;
        self.mail_decision(
            &mut tx,
            plan.plan_id,
            &PlanDecision::Declined { reason },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// AR closes a plan's request that is open while the plan is no
    /// longer queued: an at-risk plan's follow-up once handled (the plan
    /// job reopened the request). The plan keeps its status (the job
    /// moves it by what is paid); the request is resolved without an
    /// outcome, with AR's words in the thread when given, and the customer
    /// told. Queued plans are decided by approve, counter or decline.
    pub async fn close_plan_request_handled(
        &self,
        staff_id: i64,
        request_id: i64,
        note: &str,
    ) -> ServiceResult<()> {
        let note = optional_text("note", note, "A note")?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let Acting {
            staff,
            request,
            plan,
        } = self.acting_on_plan(&mut tx, staff_id, request_id).await?;
        if plan.status.is_pending() {
            return Err(ServiceError::invalid(
                "This plan waits for a decision: approve, counter or decline it instead.",
            ));
        }
        if !requests_repo::close(&mut tx, request_id, RequestStatus::Resolved, now).await? {
            return Err(ServiceError::Conflict(
                "This request is already closed; nothing more was written.".into(),
            ));
        }
        requests_repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::Resolved),
        )
        .await?;
        if let Some(note) = note {
            store_message(
                &mut tx,
                request_id,
                AuthorKind::Staff,
                staff.staff_id,
                note,
                now,
            )
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            AuditEvent {
                actor_kind: "staff",
                actor_id: Some(staff.staff_id),
                customer_id: Some(request.customer_id),
                action: Action::RequestResolved,
                detail: serde_json::json!({"plan_id": plan.plan_id, "plan_status": plan.status.as_str()}),
                ip: None,
                subject: Some(format!("request:{request_id}")),
            },
        )
        .await?;
        let outcome = format!(
            "the follow-up of your payment plan is closed; the plan is {}.",
            plan.status.label().to_lowercase()
        );
        self.notify_customer(
            &mut tx,
            request_id,
            &RequestUpdate::Resolved { outcome: &outcome },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// The refusal after a guarded update changed nothing: the plan as it
    /// is now says why.
    async fn moved_now(&self, tx: &mut Conn, plan_id: i64) -> ServiceError {
        match repo::plan_by_id(tx, plan_id).await {
            Ok(Some(plan)) => plan_moved(plan.status),
            Ok(None) => ServiceError::NotFound,
            Err(e) => e.into(),
        }
    }
}

/// Trimmed text of at most `MAX_NOTE_CHARS`; `None` when empty.
fn optional_text<'a>(
    field: &'static str,
    text: &'a str,
    what: &str,
) -> ServiceResult<Option<&'a str>> {
    let text = text.trim();
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(ServiceError::invalid_field(
            field,
            format!("{what} can be at most {MAX_NOTE_CHARS} characters."),
        ));
    }
    Ok((!text.is_empty()).then_some(text))
}

fn plan_event<'a>(
    staff: &StaffRow,
    plan: &PlanRow,
    action: Action,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    AuditEvent {
        actor_kind: "staff",
        actor_id: Some(staff.staff_id),
        customer_id: Some(plan.customer_id),
        action,
        detail,
        ip: None,
        subject: Some(format!("plan:{}", plan.plan_id)),
    }
}

fn policy_json(p: &PlanPolicy) -> serde_json::Value {
    serde_json::json!({
        "auto_max_total_minor": p.auto_max_total_minor,
        "auto_max_count": p.auto_max_count,
        "auto_max_days": p.auto_max_days,
        "auto_min_down_bp": p.auto_min_down_bp,
        "hard_max_total_minor": p.hard_max_total_minor,
        "hard_max_count": p.hard_max_count,
        "hard_max_days": p.hard_max_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd_form(values: [&str; 7]) -> PolicyForm {
        PolicyForm {
            currency: "USD".into(),
            values: values.map(str::to_owned),
        }
    }

    #[test]
    fn the_seeded_usd_policy_reads_back_from_its_form() {
        let seeded = PlanPolicy::default_usd();
        assert_eq!(PolicyForm::of(&seeded).limits(), Ok(seeded));
        let typed = usd_form(["5,000", "6", "180", "12.5%", "50000.00", "24", "365"]);
        let limits = typed.limits().unwrap();
        assert_eq!(limits.auto_max_total_minor, 500_000);
        assert_eq!(limits.auto_min_down_bp, 1_250);
        assert_eq!(percent_field(1_250), "12.5");
        assert_eq!(percent_field(1_205), "12.05");
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                ["", "6", "180", "0", "50000", "24", "365"],
                "auto_max_total",
            ),
            (
                ["5000", "0", "180", "0", "50000", "24", "365"],
                "auto_max_count",
            ),
            (
                ["5000", "37", "180", "0", "50000", "24", "365"],
                "auto_max_count",
            ),
            (
                ["5000", "6", "x", "0", "50000", "24", "365"],
                "auto_max_days",
            ),
            (
                ["5000", "6", "180", "100", "50000", "24", "365"],
                "auto_min_down",
            ),
            (
                ["5000", "6", "180", "-1", "50000", "24", "365"],
                "auto_min_down",
            ),
            (
                ["5000", "6", "180", "0", "0", "24", "365"],
                "hard_max_total",
            ),
            (
                ["60000", "6", "180", "0", "50000", "24", "365"],
                "auto_max_total",
            ),
            (
                ["5000", "30", "180", "0", "50000", "24", "365"],
                "auto_max_count",
            ),
            (
                ["5000", "6", "400", "0", "50000", "24", "365"],
                "auto_max_days",
            ),
            (
                ["5000.001", "6", "180", "0", "50000", "24", "365"],
                "auto_max_total",
            ),
        ];
        for (values, field) in cases {
            let p = usd_form(values).limits().unwrap_err();
            assert_eq!(p.field, field, "{values:?}: {}", p.message);
            assert!(p.message.starts_with(label_of(field)), "{}", p.message);
        }
        let mut bad_currency = usd_form(["5000", "6", "180", "0", "50000", "24", "365"]);
        bad_currency.currency = "dollars".into();
        assert_eq!(bad_currency.limits().unwrap_err().field, "currency");
    }

    #[test]
    fn a_plan_is_at_risk_before_it_defaults() {
        let form = |g: &str, d: &str| TimingsForm {
            grace_days: g.into(),
            default_after_days: d.into(),
        };
        assert_eq!(
            form("5", "30").timings(),
            Ok(PlanLimits {
                grace_days: 5,
                default_after_days: 30
            })
        );
        assert_eq!(
            form("30", "30").timings().unwrap_err().field,
            "default_after_days"
        );
        assert_eq!(form("-1", "30").timings().unwrap_err().field, "grace_days");
        assert_eq!(
            form("5", "").timings().unwrap_err().field,
            "default_after_days"
        );
    }

    fn counter(down: &str, count: &str, frequency: &str, first: &str) -> CounterForm {
        CounterForm {
            down_payment: down.into(),
            count: count.into(),
            frequency: frequency.into(),
            first_date: first.into(),
            message: String::new(),
        }
    }

    #[test]
    fn a_counter_splits_the_plan_total_and_names_the_field_it_refuses() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 12).unwrap();
        let (terms, schedule) = counter("100.00", "3", "monthly", "2027-01-31")
            .terms(100_001, Currency::USD, today)
            .unwrap();
        assert_eq!(terms.down_payment_minor, 10_000);
        let amounts: Vec<i64> = schedule.iter().map(|i| i.amount_minor).collect();
        assert_eq!(amounts, [10_000, 30_000, 30_000, 30_001]);
        assert_eq!(
            terms_in_words(Currency::USD, &terms, &schedule),
            "$1,000.01 in total: a down payment of $100.00 on Jan 31, 2027, then 3 monthly \
             instalments of $300.00 (the last $300.01) from Feb 28, 2027 to Apr 30, 2027."
        );
        let cases = [
            (counter("", "0", "monthly", "2027-01-20"), "count"),
            (counter("", "37", "monthly", "2027-01-20"), "count"),
            (counter("", "3", "yearly", "2027-01-20"), "frequency"),
            (counter("", "3", "monthly", "2027-01-11"), "first_date"),
            (counter("", "3", "monthly", "2027-03-14"), "first_date"),
            (counter("", "3", "monthly", "20/01/2027"), "first_date"),
            (
                counter("1000.01", "3", "monthly", "2027-01-20"),
                "down_payment",
            ),
            (counter("-5", "3", "monthly", "2027-01-20"), "down_payment"),
        ];
        for (form, field) in cases {
            let p = form.terms(100_001, Currency::USD, today).unwrap_err();
            assert_eq!(p.field, field, "{form:?}: {}", p.message);
        }
    }
}
