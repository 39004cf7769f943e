//! Customer requests (issue 11), AR's side: the SLA settings admins keep,
//! the queue sorted by time to the next breach, and the actions on a
//! request (assign, reply or note, wait on the customer, resolve). Every
//! method takes the acting staff user's id and checks it is an active
//! staff user first, so a contact's id (or any id that is not an active
//! staff user's) is refused. Each write is one transaction with its audit
//! event and, where the SLA cares, its SLA event.

use chrono::{DateTime, NaiveDate, Utc};

use super::requests::MAX_MESSAGE_CHARS;
use super::Services;
use crate::domain::audit::Action;
use crate::domain::request::{AuthorKind, Outcome, RequestKind, RequestStatus, Visibility};
use crate::domain::sla::{
    sla_clock, BusinessCalendar, Priority, SlaClock, SlaEvent, SlaEventKind, SlaPolicies,
    SlaPolicy, SlaTargets, TargetClock, TargetState, WorkingWeek, WorkingWindow,
};
use crate::domain::{Currency, Money, StaffRole};
use crate::email::templates::RequestUpdate;
use crate::error::{ResultExt, ServiceError, ServiceResult, CONFLICT};
use crate::repo::accounts::{self, StaffRow};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::requests::{self as requests_repo, NewMessage};
use crate::repo::staff_requests::{
    self as repo, AssigneeIs, NewCreditNote, QueueRequest, QueueWhere, SlaPosition, StaffRequest,
};
pub use crate::repo::staff_requests::{QueueCounts, SlaWhere};
use crate::repo::{invoices, ledger, Conn};

/// The key of the business calendar in `sla_settings`.
pub const CALENDAR_KEY: &str = "business_calendar";
/// The key of the SLA policies in `sla_settings`.
pub const POLICIES_KEY: &str = "sla_policies";

/// A resolution's text (reference, reason, note) is short: the thread is
/// where the explanation goes.
pub const MAX_OUTCOME_CHARS: usize = 1_000;

/// The calendar and policies every request's clock is folded with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaSettings {
    pub calendar: BusinessCalendar,
    pub policies: SlaPolicies,
}

/// Office hours in New York with a lunch break, and the US federal
/// holidays of 2026 and 2027 as observed (a Saturday holiday on the Friday
/// before, a Sunday one on the Monday after). Migration 0008 stores the
/// same; a test keeps the two equal.
pub fn default_business_calendar() -> BusinessCalendar {
    let windows: Vec<WorkingWindow> = ["09:00-12:00", "13:00-17:00"]
        .iter()
        .map(|w| w.parse().expect("a valid window"))
        .collect();
    let holidays = [
        "2026-01-01",
        "2026-01-19",
        "2026-02-16",
        "2026-05-25",
        "2026-06-19",
        "2026-07-03",
        "2026-09-07",
        "2026-10-12",
        "2026-11-11",
        "2026-11-26",
        "2026-12-25",
        "2027-01-01",
        "2027-01-18",
        "2027-02-15",
        "2027-05-31",
        "2027-06-18",
        "2027-07-05",
        "2027-09-06",
        "2027-10-11",
        "2027-11-11",
        "2027-11-25",
        "2027-12-24",
        // New Year's Day 2028 is a Saturday, observed on Friday 31 December.
        "2027-12-31",
    ]
    .iter()
    .map(|d| d.parse::<NaiveDate>().expect("a valid date"));
    BusinessCalendar::new(
        chrono_tz::America::New_York,
        WorkingWeek::weekdays(&windows),
        holidays,
    )
    .expect("the default calendar is valid")
}

/// Disputes: normal priority gets 4 business hours to the first answer, 8
/// for each next one and 40 (a working week) to resolve; low twice that,
/// high half, urgent an hour, two, and one working day plus an hour.
/// Payment plans (issue 12, migration 0014): a day to the first answer,
/// two for each next one, a working week to decide; low twice that, high
/// half, urgent a quarter.
pub fn default_sla_policies() -> SlaPolicies {
    let dispute = RequestKind::Dispute.sla_kind();
    let plan = RequestKind::PaymentPlan.sla_kind();
    let policy_of = |kind: &crate::domain::sla::RequestKind, priority, first, next, resolution| {
        SlaPolicy::new(
            kind.clone(),
            priority,
            SlaTargets {
                first_response_minutes: first,
                next_response_minutes: next,
                resolution_minutes: resolution,
            },
        )
    };
    let policy =
        |priority, first, next, resolution| policy_of(&dispute, priority, first, next, resolution);
    let plan_policy =
        |priority, first, next, resolution| policy_of(&plan, priority, first, next, resolution);
    let promise = RequestKind::Promise.sla_kind();
    let promise_policy =
        |priority, first, next, resolution| policy_of(&promise, priority, first, next, resolution);
    SlaPolicies::new(vec![
        policy(Priority::Low, 480, 960, 4800),
        policy(Priority::Normal, 240, 480, 2400),
        policy(Priority::High, 120, 240, 1200),
        policy(Priority::Urgent, 60, 120, 480),
        plan_policy(Priority::Low, 960, 1920, 4800),
        plan_policy(Priority::Normal, 480, 960, 2400),
        plan_policy(Priority::High, 240, 480, 1200),
        plan_policy(Priority::Urgent, 120, 240, 480),
        // A broken promise (issue 13, migration 0019): as plans.
        promise_policy(Priority::Low, 960, 1920, 4800),
        promise_policy(Priority::Normal, 480, 960, 2400),
        promise_policy(Priority::High, 240, 480, 1200),
        promise_policy(Priority::Urgent, 120, 240, 480),
    ])
    .expect("the default policies are valid")
}

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

/// The domain's message of a JSON that did not read as a setting, without
/// serde's "at line 1 column 80" (an admin fixes the content, not a column).
fn domain_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Every priority of every kind a customer can raise needs a policy: an
/// open request without one would have no clock, and the queue could not
/// place it. Kinds the portal does not know are refused as typos.
fn check_policy_coverage(policies: &SlaPolicies) -> Result<(), String> {
    for policy in policies.policies() {
        if RequestKind::parse(policy.kind.as_str()).is_none() {
            let known: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(format!(
                "\"{}\" is not a request kind (the kinds are {})",
                policy.kind,
                known.join(", ")
            ));
        }
    }
    // Customers raise disputes and payment plans (issue 12); questions
    // may stay without a policy until customers can ask them.
    for (kind, words) in [
        (RequestKind::Dispute, "disputes"),
        (RequestKind::PaymentPlan, "payment plans"),
        (RequestKind::Promise, "broken promises to pay"),
    ] {
        let kind = kind.sla_kind();
        let missing: Vec<String> = PRIORITIES
            .into_iter()
            .filter(|p| policies.find(&kind, *p).is_none())
            .map(|p| p.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{words} need a policy for every priority (missing: {})",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

/// Reads both settings from one read of the table.
pub(crate) async fn read_settings(conn: &mut Conn) -> ServiceResult<SlaSettings> {
    Ok(read_settings_hashed(conn).await?.0)
}

/// The settings and their fingerprint (`settings_hash`), from one read.
async fn read_settings_hashed(conn: &mut Conn) -> ServiceResult<(SlaSettings, i64)> {
    let rows = repo::settings(conn).await?;
    let hash = settings_hash(&rows);
    let value = |key: &str| -> ServiceResult<&str> {
        rows.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                ServiceError::internal(
                    format!("sla_settings key {key}"),
                    "the setting is missing (migration 0008 seeds it)",
                )
            })
    };
    let parse_error = |key: &str, e: serde_json::Error| {
        ServiceError::internal(format!("sla_settings key {key} does not parse"), e)
    };
    let calendar =
        serde_json::from_str(value(CALENDAR_KEY)?).map_err(|e| parse_error(CALENDAR_KEY, e))?;
    let policies =
        serde_json::from_str(value(POLICIES_KEY)?).map_err(|e| parse_error(POLICIES_KEY, e))?;
    Ok((SlaSettings { calendar, policies }, hash))
}

/// The queue forms' choices, for `staff` (already checked to be active).
async fn read_queue_choices(conn: &mut Conn, staff: &StaffRow) -> ServiceResult<QueueChoices> {
    Ok(QueueChoices {
        staff: repo::active_staff_users(conn).await?,
        customers: repo::open_request_customers(conn).await?,
        reasons: repo::reasons(conn).await?,
        reader_is_admin: staff.role == StaffRole::Admin,
    })
}

/// The active staff user acting, or `Forbidden` (as `require_active_staff`).
pub(super) async fn acting_staff(conn: &mut Conn, staff_id: i64) -> ServiceResult<StaffRow> {
    accounts::active_staff(conn, staff_id)
        .await?
        .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))
}

/// The active staff user acting and the request they act on (`NotFound`
/// for an unknown id), as every change of AR's to a request starts.
async fn staff_on_request(
    conn: &mut Conn,
    staff_id: i64,
    request_id: i64,
) -> ServiceResult<(StaffRow, StaffRequest)> {
    let staff = acting_staff(conn, staff_id).await?;
    let request = repo::request(conn, request_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok((staff, request))
}

fn require_admin(staff: &StaffRow, doing: &str) -> ServiceResult<()> {
    match staff.role {
        StaffRole::Admin => Ok(()),
        StaffRole::Agent => Err(ServiceError::Forbidden(format!(
            "Only AR admins {doing}. Ask an admin if it needs changing."
        ))),
    }
}

pub(super) fn staff_event<'a>(
    staff: &StaffRow,
    customer_id: Option<i64>,
    subject: String,
    action: Action,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    AuditEvent {
        actor_kind: "staff",
        actor_id: Some(staff.staff_id),
        customer_id,
        action,
        detail,
        ip: None,
        subject: Some(subject),
    }
}

fn request_event<'a>(
    staff: &StaffRow,
    request: &StaffRequest,
    action: Action,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    staff_event(
        staff,
        Some(request.customer_id),
        format!("request:{}", request.request_id),
        action,
        detail,
    )
}

/// Why a closed request takes no more of AR's changes.
fn closed(request: &StaffRequest) -> ServiceError {
    match request.status {
        RequestStatus::Withdrawn => {
            ServiceError::invalid("The customer withdrew this request; it takes no more changes.")
        }
        _ => ServiceError::invalid("This request is resolved; it takes no more changes."),
    }
}

fn checked_text<'a>(
    field: &'static str,
    text: &'a str,
    what: &str,
    max: usize,
) -> ServiceResult<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ServiceError::invalid_field(field, format!("Write {what}.")));
    }
    if text.chars().count() > max {
        return Err(ServiceError::invalid_field(
            field,
            format!("{what} can be at most {max} characters."),
        ));
    }
    Ok(text)
}

/// Who the queue is narrowed to by assignee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Assigned to the staff user reading the queue.
    Me,
    /// Assigned to this staff user.
    Staff(i64),
    Unassigned,
}

/// The queue's filters; `None` leaves a dimension open.
#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    pub kind: Option<RequestKind>,
    /// The queue holds open requests only: a closed status matches nothing.
    pub status: Option<RequestStatus>,
    pub assignee: Option<AssigneeFilter>,
    pub customer_id: Option<i64>,
    pub reason_code: Option<String>,
    /// Only requests with a target at its warning share, or breached (a
    /// breach stays in the record, so a request that breached its first
    /// response stays in this list until it is resolved).
    pub only_at_risk_or_breached: bool,
    /// A narrower SLA standing (breached now, at risk now); wins over
    /// `only_at_risk_or_breached`.
    pub sla: Option<SlaWhere>,
}

impl QueueFilter {
    fn sla_where(&self) -> Option<SlaWhere> {
        self.sla.or(self
            .only_at_risk_or_breached
            .then_some(SlaWhere::AtRiskOrBreached))
    }

    fn repo_where(&self, staff_id: i64) -> QueueWhere {
        QueueWhere {
            kind: self.kind,
            status: self.status,
            assignee: self.assignee.map(|a| match a {
                AssigneeFilter::Me => AssigneeIs::Staff(staff_id),
                AssigneeFilter::Staff(id) => AssigneeIs::Staff(id),
                AssigneeFilter::Unassigned => AssigneeIs::Nobody,
            }),
            customer_id: self.customer_id,
            reason_code: self.reason_code.clone(),
        }
    }
}

/// The queue's rows on a page.
pub const QUEUE_PAGE_SIZE: i64 = 50;

/// One page of AR's queue.
#[derive(Clone, Debug)]
pub struct QueuePage {
    pub rows: Vec<QueueRow>,
    /// How many open requests match the filters (all pages).
    pub total: i64,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

/// Where a row stands in the queue's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// A target still open is past its due instant: the team is late.
    Breached,
    /// Targets run; the earliest due instant comes first.
    Running,
    /// Waiting on the customer: nothing is due and it is not the team's
    /// move, so it goes after everything the team can act on.
    Paused,
}

/// An open request in AR's queue with its SLA clock as at now.
#[derive(Clone, Debug)]
pub struct QueueRow {
    pub request_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub priority: Priority,
    pub reason_code: Option<String>,
    pub reason_label: Option<String>,
    pub invoice_id: Option<i64>,
    pub invoice_number: Option<String>,
    pub disputed: Option<Money>,
    pub assignee_staff_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub clock: SlaClock,
    pub urgency: Urgency,
    /// The earliest due instant of a running target (in the past when
    /// breached); `None` while paused.
    pub next_due: Option<DateTime<Utc>>,
}

impl QueueRow {
    /// Some target breached (now or earlier) or is at its warning share.
    pub fn at_risk_or_breached(&self) -> bool {
        targets(&self.clock)
            .any(|t| matches!(t.state, TargetState::Warning | TargetState::Breached))
    }

    /// An open target is at its warning share now (not yet breached).
    pub fn at_risk(&self) -> bool {
        open_targets(&self.clock).any(|t| t.state == TargetState::Warning)
    }

    /// Business minutes left before the next due instant (running only).
    pub fn business_minutes_left(&self) -> Option<i64> {
        open_targets(&self.clock)
            .filter(|t| t.due.is_some())
            .map(|t| (t.target_minutes - t.used_minutes).max(0))
            .min()
    }
}

fn targets(clock: &SlaClock) -> impl Iterator<Item = &TargetClock> {
    std::iter::once(&clock.first_response)
        .chain(clock.next_responses.iter())
        .chain(std::iter::once(&clock.resolution))
}

/// Targets not met yet (running, paused, or breached and still open).
fn open_targets(clock: &SlaClock) -> impl Iterator<Item = &TargetClock> {
    targets(clock).filter(|t| t.met_at.is_none())
}

/// A row of the queue: the request's clock folded as at now for showing,
/// its place (urgency, next due) from the cached position the database
/// sorted by, so the row and its place always agree.
fn queue_row(
    listed: QueueRequest,
    events: &[SlaEvent],
    settings: &SlaSettings,
    now: DateTime<Utc>,
) -> ServiceResult<QueueRow> {
    let request = listed.request;
    let clock = fold_clock(settings, request.request_id, request.kind, events, now)?;
    let position = listed.position;
    let urgency = if position.paused {
        Urgency::Paused
    } else if position.next_due.is_some_and(|due| due <= now) {
        Urgency::Breached
    } else {
        Urgency::Running
    };
    let disputed = match (request.disputed_minor, request.currency) {
        (Some(minor), Some(currency)) => Some(Money::new(minor, currency)),
        _ => None,
    };
    Ok(QueueRow {
        request_id: request.request_id,
        customer_id: request.customer_id,
        customer_name: listed.customer_name,
        kind: request.kind,
        status: request.status,
        priority: request.priority,
        reason_code: request.reason_code,
        reason_label: request.reason_label,
        invoice_id: request.invoice_id,
        invoice_number: request.invoice_number,
        disputed,
        assignee_staff_id: request.assignee_staff_id,
        assignee_name: listed.assignee_name,
        opened_at: request.opened_at,
        clock,
        urgency,
        next_due: position.next_due,
    })
}

/// A request's SLA clock as at `now`.
pub(crate) fn fold_clock(
    settings: &SlaSettings,
    request_id: i64,
    kind: RequestKind,
    events: &[SlaEvent],
    now: DateTime<Utc>,
) -> ServiceResult<SlaClock> {
    sla_clock(
        &settings.calendar,
        &settings.policies,
        &kind.sla_kind(),
        events,
        now,
    )
    .map_err(|e| ServiceError::internal(format!("the SLA clock of request {request_id}"), e))
}

/// Where a request stands in the queue, from its events, in instants that
/// do not depend on when it is read: folded as at its last event, when
/// every open target's due and warning instants are fixed until the next
/// event (time then runs on the calendar alone). The queue compares them
/// with now, so a breach shows at its instant without any write.
fn sla_position(
    settings: &SlaSettings,
    request_id: i64,
    kind: RequestKind,
    events: &[SlaEvent],
) -> ServiceResult<SlaPosition> {
    let at = events.iter().map(|e| e.at).max().ok_or_else(|| {
        ServiceError::internal(
            format!("the SLA clock of request {request_id}"),
            "it has no events",
        )
    })?;
    let clock = fold_clock(settings, request_id, kind, events, at)?;
    let warning_percent = settings
        .policies
        .find(&kind.sla_kind(), clock.priority)
        .map_or(100, |p| i32::from(p.warning_percent));
    let calendar = &settings.calendar;
    let mut next_due: Option<DateTime<Utc>> = None;
    let mut warn_at: Option<DateTime<Utc>> = None;
    let mut paused_left = i64::MAX;
    for target in open_targets(&clock) {
        paused_left = paused_left.min(target.target_minutes - target.used_minutes);
        let Some(due) = target.due else { continue };
        next_due = Some(next_due.map_or(due, |d| d.min(due)));
        // The warning share is reached when what is left is down to the
        // rest of the target: exact in nanoseconds, as the fold compares.
        let left = if due > at {
            calendar.business_time_between(at, due)
        } else {
            chrono::Duration::zero()
        };
        let rest = chrono::Duration::minutes(target.target_minutes) * (100 - warning_percent) / 100;
        let warn = if target.breached_at.is_some() || left <= rest {
            at
        } else {
            calendar.add_business_time(at, left - rest)
        };
        warn_at = Some(warn_at.map_or(warn, |w| w.min(warn)));
    }
    let breached = targets(&clock).any(|t| t.breached_at.is_some());
    Ok(SlaPosition {
        paused: clock.paused,
        next_due: if clock.paused { None } else { next_due },
        warn_at: if clock.paused { None } else { warn_at },
        breached,
        paused_left: if clock.paused && paused_left != i64::MAX {
            paused_left
        } else {
            0
        },
    })
}

/// A short, stable fingerprint of the settings a position was folded with
/// (FNV-1a over the stored JSON): the same in every process, so a server
/// never takes another's folding for its own settings' or the reverse.
fn settings_hash(rows: &[(String, String)]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (key, value) in rows {
        for byte in key.bytes().chain([0]).chain(value.bytes()).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash as i64
}

/// The choices of the queue's forms, as (id or code, name).
#[derive(Clone, Debug)]
pub struct QueueChoices {
    pub staff: Vec<(i64, String)>,
    pub customers: Vec<(i64, String)>,
    pub reasons: Vec<(String, String)>,
    pub reader_is_admin: bool,
}

/// What a bulk assignment did.
#[derive(Debug, Default)]
pub struct BulkAssigned {
    pub assigned: usize,
    /// Requests left as they were, with why (not allowed, closed, changed
    /// by someone else meanwhile, not found).
    pub refused: Vec<(i64, ServiceError)>,
}

/// How AR resolves a request.
#[derive(Clone, Debug)]
pub enum Resolution {
    /// A credit note for the dispute's customer, in the invoice's currency,
    /// applied to the invoice: more than zero and at most the disputed
    /// amount, typed as money is elsewhere ("120.50").
    CreditNote {
        amount_text: String,
        note: String,
    },
    /// The invoice was corrected (or replaced) outside the portal.
    CorrectedInvoice {
        reference: String,
    },
    Rejected {
        reason: String,
    },
}

/// What a resolution wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub outcome: Outcome,
    pub credit_note_id: Option<i64>,
    pub credit_note_number: Option<String>,
    /// The credit note's amount.
    pub credit_minor: i64,
    /// How much of it went to the invoice: all of it unless the invoice
    /// owes less now (paid since the dispute), when the rest stays on the
    /// note as credit for the customer's other invoices.
    pub applied_minor: i64,
}

impl Services {
    /// The business calendar and SLA policies in force. A stored value that
    /// does not parse is our fault (`Internal`, naming the key): the admin
    /// services only store what the domain types accept.
    pub async fn sla_settings(&self) -> ServiceResult<SlaSettings> {
        let mut conn = self.db.pool.acquire().await?;
        read_settings(&mut conn).await
    }

    /// An AR admin replaces the business calendar (JSON as
    /// `BusinessCalendar` serialises). It applies to open requests from now
    /// on: their clocks are folded with whatever is stored.
    pub async fn set_business_calendar(
        &self,
        staff_id: i64,
        json: &str,
    ) -> ServiceResult<BusinessCalendar> {
        let calendar: BusinessCalendar = serde_json::from_str(json).map_err(|e| {
            ServiceError::invalid_field(
                "calendar",
                format!("The business calendar: {}.", domain_message(&e)),
            )
        })?;
        let stored = serde_json::to_string(&calendar)
            .map_err(|e| ServiceError::internal("the business calendar as JSON", e))?;
        self.store_setting(
            staff_id,
            CALENDAR_KEY,
            &stored,
            "change the business calendar",
        )
        .await?;
        Ok(calendar)
    }

    /// An AR admin replaces the SLA policies (JSON as `SlaPolicies`
    /// serialises). Every priority of a dispute needs a policy.
    pub async fn set_sla_policies(&self, staff_id: i64, json: &str) -> ServiceResult<SlaPolicies> {
        let policies: SlaPolicies = serde_json::from_str(json).map_err(|e| {
            ServiceError::invalid_field(
                "policies",
                format!("The SLA policies: {}.", domain_message(&e)),
            )
        })?;
        check_policy_coverage(&policies).map_err(|m| {
            ServiceError::invalid_field("policies", format!("The SLA policies: {m}."))
        })?;
        let stored = serde_json::to_string(&policies)
            .map_err(|e| ServiceError::internal("the SLA policies as JSON", e))?;
        self.store_setting(staff_id, POLICIES_KEY, &stored, "change the SLA policies")
            .await?;
        Ok(policies)
    }

    async fn store_setting(
        &self,
        staff_id: i64,
        key: &str,
        value: &str,
        doing: &str,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = acting_staff(&mut tx, staff_id).await?;
        require_admin(&staff, doing)?;
        repo::set_setting(&mut tx, key, value, now).await?;
        audit::record(
            &mut tx,
            now,
            staff_event(
                &staff,
                None,
                format!("sla_settings:{key}"),
                Action::SlaSettingsChanged,
                serde_json::json!({"key": key, "value": serde_json::from_str::<serde_json::Value>(value).unwrap_or_default()}),
            ),
        )
        .await?;
        tx.commit().await?;
        // The admin who changed the settings waits for the queue's folding
        // rather than the next reader; a failure here changes nothing
        // stored, and the next read folds again.
        if let Err(e) = self.refresh_sla_positions().await {
            tracing::warn!(error = %e, "folding the queue after a settings change");
        }
        Ok(())
    }

    /// AR's queue: every open request (open or waiting on the customer)
    /// matching `filter`, with its SLA clock as at now, breached first, then
    /// by the nearest due instant, waiting-on-customer ones last. All of
    /// it: the page uses [`Services::request_queue_page`].
    pub async fn request_queue(
        &self,
        staff_id: i64,
        filter: QueueFilter,
    ) -> ServiceResult<Vec<QueueRow>> {
        Ok(self
            .queue_rows(staff_id, &filter, None, false)
            .await?
            .1
            .rows)
    }

    /// One page (1-based, `QUEUE_PAGE_SIZE` rows) of AR's queue.
    ///
    /// The order needs each request's SLA clock, which only the domain's
    /// fold computes. Folding every open request on every view costs too
    /// much with thousands open, so each request's position (the instants
    /// its earliest target falls due and reaches its warning share, paused,
    /// breach in the record) is folded once and kept in its row (migration
    /// 0010); a row is folded again when its events or the settings change
    /// (see `refresh_sla_positions`). The database then filters, counts,
    /// sorts and pages by those instants compared with now, and only the
    /// page's clocks are folded for showing.
    pub async fn request_queue_page(
        &self,
        staff_id: i64,
        filter: QueueFilter,
        page: i64,
    ) -> ServiceResult<QueuePage> {
        let page = page.max(1);
        Ok(self
            .queue_rows(staff_id, &filter, Some(page), false)
            .await?
            .1)
    }

    /// What the queue's page shows: the forms' choices and one page of
    /// rows, read in one snapshot after one check of the acting staff user
    /// (the page is AR's busiest: each statement saved is a round trip on
    /// PostgreSQL; see docs/BENCHMARKS.md).
    pub async fn request_queue_view(
        &self,
        staff_id: i64,
        filter: QueueFilter,
        page: i64,
    ) -> ServiceResult<(QueueChoices, QueuePage)> {
        let (choices, rows) = self
            .queue_rows(staff_id, &filter, Some(page.max(1)), true)
            .await?;
        let choices = choices.ok_or_else(|| {
            ServiceError::internal("queue view", "the choices were asked for and not read")
        })?;
        Ok((choices, rows))
    }

    async fn queue_rows(
        &self,
        staff_id: i64,
        filter: &QueueFilter,
        page: Option<i64>,
        with_choices: bool,
    ) -> ServiceResult<(Option<QueueChoices>, QueuePage)> {
        let now = self.clock.now();
        let per_page = QUEUE_PAGE_SIZE;
        let empty = QueuePage {
            rows: Vec::new(),
            total: 0,
            page: page.unwrap_or(1),
            per_page,
        };
        // Folding first is harmless for anyone: it only brings the cached
        // positions up to date.
        let settings = self.refresh_sla_positions().await?;
        // One snapshot for the staff check, the choices, the count, the
        // page and its events.
        let mut tx = self.db.pool.begin().await?;
        let staff = acting_staff(&mut tx, staff_id).await?;
        let choices = match with_choices {
            true => Some(read_queue_choices(&mut tx, &staff).await?),
            false => None,
        };
        if filter.status.is_some_and(|s| !s.is_open()) {
            tx.commit().await?;
            return Ok((choices, empty));
        }
        let query = filter.repo_where(staff_id);
        let sla = filter.sla_where();
        let total = repo::queue_count(&mut tx, &query, sla, now).await?;
        let (limit, offset) = match page {
            Some(p) => (Some(per_page), (p - 1) * per_page),
            None => (None, 0),
        };
        let listed =
            repo::queue_page(&mut tx, self.db.backend(), &query, sla, now, limit, offset).await?;
        let ids: Vec<i64> = listed.iter().map(|l| l.request.request_id).collect();
        let events = repo::events_of(&mut tx, &ids).await?;
        tx.commit().await?;

        let mut by_request: std::collections::HashMap<i64, Vec<SlaEvent>> =
            std::collections::HashMap::with_capacity(listed.len());
        for (request_id, event) in events {
            by_request.entry(request_id).or_default().push(event);
        }
        let rows = listed
            .into_iter()
            .map(|l| {
                let events = by_request.remove(&l.request.request_id).unwrap_or_default();
                queue_row(l, &events, &settings, now)
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok((
            choices,
            QueuePage {
                rows,
                total,
                ..empty
            },
        ))
    }

    /// What the queue's filter and assignment forms offer: active staff
    /// users, the customers with open requests, the reasons (retired ones
    /// too: old requests carry them), and whether the reader is an admin.
    pub async fn queue_choices(&self, staff_id: i64) -> ServiceResult<QueueChoices> {
        let mut tx = self.db.pool.begin().await?;
        let staff = acting_staff(&mut tx, staff_id).await?;
        let choices = read_queue_choices(&mut tx, &staff).await?;
        tx.commit().await?;
        Ok(choices)
    }

    /// The queue's headline counts for the staff home: open, breached now,
    /// at risk now, and assigned to the reader.
    pub async fn request_queue_counts(&self, staff_id: i64) -> ServiceResult<QueueCounts> {
        let now = self.clock.now();
        {
            let mut conn = self.db.pool.acquire().await?;
            acting_staff(&mut conn, staff_id).await?;
        }
        self.refresh_sla_positions().await?;
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::queue_counts(&mut conn, staff_id, now).await?)
    }

    /// Folds again the cached SLA position of every open request whose
    /// events or settings changed since it was folded, and returns the
    /// settings in force. Cheap when nothing changed (one indexed read).
    ///
    /// Stale rows are found by the event count a trigger raises with each
    /// event (whoever writes it) and by the settings' fingerprint, so no
    /// writer has to call this. The fold and the write run in one write
    /// transaction, and each row is written only if it still has the
    /// events it was folded from; a row an event overtook (possible on
    /// PostgreSQL, whose writers run side by side) is folded on the next
    /// round.
    pub async fn refresh_sla_positions(&self) -> ServiceResult<SlaSettings> {
        for _ in 0..3 {
            // The common case, nothing changed, reads the settings and two
            // small indexes (migration 0016), no open request.
            {
                let mut conn = self.db.pool.acquire().await?;
                let (settings, hash) = read_settings_hashed(&mut conn).await?;
                if repo::queue_folded_settings(&mut conn).await? == Some(hash)
                    && repo::requests_with_new_events(&mut conn).await?.is_empty()
                {
                    return Ok(settings);
                }
            }
            let mut tx = self.db.begin_write().await?;
            // Read again under the write lock: another server may have
            // changed or folded the settings meanwhile.
            let (settings, hash) = read_settings_hashed(&mut tx).await?;
            let settings_changed = repo::queue_folded_settings(&mut tx).await? != Some(hash);
            let stale = if settings_changed {
                repo::stale_positions(&mut tx, hash).await?
            } else {
                let mut open = Vec::new();
                for (request, is_open) in repo::requests_with_new_events(&mut tx).await? {
                    if is_open {
                        open.push(request);
                    } else {
                        // Closed: out of the queue, nothing to fold.
                        repo::mark_events_seen(&mut tx, request.request_id, request.event_count)
                            .await?;
                    }
                }
                open
            };
            let ids: Vec<i64> = stale.iter().map(|s| s.request_id).collect();
            let mut by_request: std::collections::HashMap<i64, Vec<SlaEvent>> =
                std::collections::HashMap::with_capacity(ids.len());
            for (request_id, event) in repo::events_of(&mut tx, &ids).await? {
                by_request.entry(request_id).or_default().push(event);
            }
            for request in &stale {
                let events = by_request.remove(&request.request_id).unwrap_or_default();
                let position = sla_position(&settings, request.request_id, request.kind, &events)?;
                repo::store_position(
                    &mut tx,
                    request.request_id,
                    request.event_count,
                    hash,
                    &position,
                )
                .await?;
            }
            // Rows an event overtook keep a count that differs from what
            // they were folded from, so the new-events index finds them.
            if settings_changed {
                repo::set_queue_folded_settings(&mut tx, hash).await?;
            }
            tx.commit().await?;
        }
        let mut conn = self.db.pool.acquire().await?;
        Ok(read_settings(&mut conn).await?)
    }

    /// Assigns an open request to a staff user, or releases it (`None`).
    /// Agents take unassigned requests and release or keep their own; only
    /// admins assign to others or take one from someone else.
    pub async fn assign_request(
        &self,
        staff_id: i64,
        request_id: i64,
        assignee: Option<i64>,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let (staff, request) = staff_on_request(&mut tx, staff_id, request_id).await?;
        if !request.status.is_open() {
            return Err(closed(&request));
        }
        let me = Some(staff.staff_id);
        let current = request.assignee_staff_id;
        let agent_may = match assignee {
            Some(_) => assignee == me && (current.is_none() || current == me),
            None => current.is_none() || current == me,
        };
        if staff.role == StaffRole::Agent && !agent_may {
            return Err(ServiceError::Forbidden(
                "Agents take unassigned requests and release their own; an AR admin assigns \
                 requests to others."
                    .into(),
            ));
        }
        // Allowed and already so: nothing to write or log.
        if current == assignee {
            return Ok(());
        }
        if let Some(to) = assignee.filter(|to| Some(*to) != me) {
            if accounts::active_staff(&mut tx, to).await?.is_none() {
                return Err(ServiceError::invalid_field(
                    "assignee",
                    "Choose an active AR staff user to assign the request to.",
                ));
            }
        }
        // The assignee read above is the expected one: a change in between
        // (two agents taking the same request) leaves this one unwritten.
        if !repo::reassign(&mut tx, request_id, request.assignee_staff_id, assignee).await? {
            return Err(ServiceError::Conflict(CONFLICT.into()));
        }
        audit::record(
            &mut tx,
            now,
            request_event(
                &staff,
                &request,
                Action::RequestAssigned,
                serde_json::json!({"from": request.assignee_staff_id, "to": assignee}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assigns several open requests at once (the queue's "assign
    /// selected"), each by the rules of [`Services::assign_request`] and in
    /// its own transaction: one refused or changed meanwhile does not undo
    /// the others. Returns how many were assigned and the refusals by id.
    pub async fn assign_requests(
        &self,
        staff_id: i64,
        request_ids: &[i64],
        assignee: Option<i64>,
    ) -> ServiceResult<BulkAssigned> {
        if request_ids.is_empty() {
            return Err(ServiceError::invalid_field(
                "request",
                "Tick the requests to assign first.",
            ));
        }
        let mut ids = request_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut done = BulkAssigned::default();
        for id in ids {
            match self.assign_request(staff_id, id, assignee).await {
                Ok(()) => done.assigned += 1,
                Err(e @ (ServiceError::Internal { .. } | ServiceError::Unavailable(_))) => {
                    return Err(e)
                }
                // A field problem is about the assignee: the same for all.
                Err(e @ ServiceError::Invalid { field: Some(_), .. }) => return Err(e),
                Err(e) => done.refused.push((id, e)),
            }
        }
        Ok(done)
    }

    /// AR changes an open request's priority. Its SLA targets become the
    /// new priority's and keep the business minutes already used (the
    /// domain's `PriorityChanged`); a target already past its new length
    /// is breached at the change. The same priority again writes nothing.
    pub async fn change_request_priority(
        &self,
        staff_id: i64,
        request_id: i64,
        priority: Priority,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let (staff, request) = staff_on_request(&mut tx, staff_id, request_id).await?;
        if !request.status.is_open() {
            return Err(closed(&request));
        }
        if !repo::set_priority(&mut tx, request_id, priority).await? {
            // Open (checked above, in this write transaction) and unchanged:
            // it already has this priority.
            return Ok(());
        }
        requests_repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::PriorityChanged { priority }),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            request_event(
                &staff,
                &request,
                Action::RequestPriorityChanged,
                serde_json::json!({"priority": priority.to_string()}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// AR writes on a request: a reply the customer reads (it answers the
    /// SLA's waiting response), or an internal note (AR only; the SLA does
    /// not see it, as the customer got no answer). Notes may be added to
    /// closed requests; replies only to open ones. Returns the message id.
    pub async fn staff_reply(
        &self,
        staff_id: i64,
        request_id: i64,
        body: &str,
        internal: bool,
    ) -> ServiceResult<i64> {
        let body = checked_text("message", body, "a message", MAX_MESSAGE_CHARS)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let (staff, request) = staff_on_request(&mut tx, staff_id, request_id).await?;
        if !internal && !request.status.is_open() {
            return Err(closed(&request));
        }
        let visibility = if internal {
            Visibility::Internal
        } else {
            Visibility::Customer
        };
        let message_id = requests_repo::insert_message(
            &mut tx,
            &NewMessage {
                request_id,
                author_kind: AuthorKind::Staff,
                author_id: staff.staff_id,
                visibility,
                body,
            },
            now,
        )
        .await?;
        if !internal {
            requests_repo::insert_event(
                &mut tx,
                request_id,
                &SlaEvent::new(now, SlaEventKind::StaffReplied),
            )
            .await?;
        }
        let action = if internal {
            Action::RequestInternalNote
        } else {
            Action::RequestStaffReplied
        };
        audit::record(
            &mut tx,
            now,
            request_event(
                &staff,
                &request,
                action,
                serde_json::json!({"message_id": message_id}),
            ),
        )
        .await?;
        // An internal note is AR's alone: it sends nothing to the customer.
        if !internal {
            self.notify_customer(
                &mut tx,
                request_id,
                &RequestUpdate::Reply { message: body },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if !internal {
            self.outbox_wake.notify_one();
        }
        Ok(message_id)
    }

    /// AR waits for the customer's answer: the request's SLA clock pauses
    /// until the customer writes (`add_customer_message` resumes it).
    pub async fn set_waiting_on_customer(
        &self,
        staff_id: i64,
        request_id: i64,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let (staff, request) = staff_on_request(&mut tx, staff_id, request_id).await?;
        if !repo::wait_on_customer(&mut tx, request_id).await? {
            return Err(match request.status {
                RequestStatus::WaitingOnCustomer => {
                    ServiceError::invalid("This request is already waiting on the customer.")
                }
                _ => closed(&request),
            });
        }
        requests_repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::WaitingOnCustomer),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            request_event(
                &staff,
                &request,
                Action::RequestWaitingOnCustomer,
                serde_json::json!({}),
            ),
        )
        .await?;
        self.notify_customer(&mut tx, request_id, &RequestUpdate::WaitingOnYou, now)
            .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// AR resolves an open request with an outcome. A credit note is issued
    /// to the dispute's customer in the invoice's currency and applied to
    /// the invoice, whose cached balance drops in the same transaction.
    ///
    /// Exactly once, also when two resolves race: the first statement of
    /// the transaction is the request's `UPDATE … WHERE status IN (open
    /// states)`, and only the transaction whose UPDATE changed the row goes
    /// on to write the credit. The other gets `Conflict` and writes nothing.
    pub async fn resolve_request(
        &self,
        staff_id: i64,
        request_id: i64,
        resolution: Resolution,
    ) -> ServiceResult<Resolved> {
        let (outcome, note) = match &resolution {
            Resolution::CreditNote { note, .. } => {
                let note = note.trim();
                if note.chars().count() > MAX_OUTCOME_CHARS {
                    return Err(ServiceError::invalid_field(
                        "note",
                        format!("A note can be at most {MAX_OUTCOME_CHARS} characters."),
                    ));
                }
                (Outcome::CreditNote, (!note.is_empty()).then_some(note))
            }
            Resolution::CorrectedInvoice { reference } => (
                Outcome::CorrectedInvoice,
                Some(checked_text(
                    "reference",
                    reference,
                    "the corrected invoice's reference",
                    MAX_OUTCOME_CHARS,
                )?),
            ),
            Resolution::Rejected { reason } => (
                Outcome::Rejected,
                Some(checked_text(
                    "reason",
                    reason,
                    "why the request is rejected",
                    MAX_OUTCOME_CHARS,
                )?),
            ),
        };
        // The staff check before the transaction, so the guard below is the
        // transaction's first statement.
        let staff = {
            let mut conn = self.db.pool.acquire().await?;
            acting_staff(&mut conn, staff_id).await?
        };
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let Some(request) = repo::resolve(&mut tx, request_id, outcome, note, now).await? else {
            let request = repo::request(&mut tx, request_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            return Err(match request.status {
                RequestStatus::Resolved => ServiceError::Conflict(format!(
                    "This request is already resolved ({}); nothing more was written.",
                    request.outcome.map_or("no outcome", Outcome::as_str)
                )),
                _ => closed(&request),
            });
        };
        // A payment plan is settled by its own actions (approve, counter,
        // decline: services::staff_plans), which move the plan with its
        // request; an outcome here would leave the plan proposed. Returning
        // drops the transaction, so the guarded update above is undone.
        if request.kind == RequestKind::PaymentPlan {
            return Err(ServiceError::Conflict(
                "A payment plan request is answered on its plan: approve, counter or decline it \
                 there. Nothing was written."
                    .into(),
            ));
        }
        let mut resolved = Resolved {
            outcome,
            credit_note_id: None,
            credit_note_number: None,
            credit_minor: 0,
            applied_minor: 0,
        };
        if let Resolution::CreditNote { amount_text, .. } = &resolution {
            resolved = self
                .issue_credit(&mut tx, &staff, &request, amount_text, note, now)
                .await?;
        }
        // Whatever the outcome, the dispute no longer holds its amount; after
        // the credit (if any) so the cache reads the applied credit too.
        if let Some(invoice_id) = request.invoice_id {
            invoices::refresh_settlement(&mut tx, invoice_id).await?;
        }
        requests_repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::Resolved),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            request_event(
                &staff,
                &request,
                Action::RequestResolved,
                serde_json::json!({
                    "outcome": outcome.as_str(),
                    "credit_note_id": resolved.credit_note_id,
                    "credit_minor": resolved.credit_minor,
                    "applied_minor": resolved.applied_minor,
                }),
            ),
        )
        .await?;
        let outcome_words = outcome_in_words(&resolved, request.currency, note);
        self.notify_customer(
            &mut tx,
            request_id,
            &RequestUpdate::Resolved {
                outcome: &outcome_words,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(resolved)
    }

    /// The credit note of a resolution, inside its transaction (after the
    /// guard): checked against the disputed amount, issued, applied to the
    /// invoice up to what it still owes, and the invoice's cache refreshed.
    async fn issue_credit(
        &self,
        tx: &mut Conn,
        staff: &StaffRow,
        request: &StaffRequest,
        amount_text: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Resolved> {
        let (Some(invoice_id), Some(disputed_minor), Some(currency)) =
            (request.invoice_id, request.disputed_minor, request.currency)
        else {
            return Err(ServiceError::invalid(
                "Only a dispute about an invoice can be resolved with a credit note.",
            ));
        };
        let amount_minor = credit_amount(amount_text, currency, disputed_minor)?;
        let backend = self.db.backend();
        // The order payments lock in (customer, then invoice), so a payment
        // spending this customer's credits waits for the new note.
        ledger::lock_customer(tx, backend, request.customer_id).await?;
        let invoice =
            ledger::payable_invoices(tx, backend, request.customer_id, &[invoice_id], true)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    ServiceError::internal(
                        format!("request {}", request.request_id),
                        "its invoice is not its customer's",
                    )
                })?;
        let prefix = format!("CN-R{}-", request.request_id);
        // A reopened request resolved again gets its next number.
        let n = repo::request_credit_notes(tx, &prefix).await? + 1;
        let number = format!("{prefix}{n}");
        let reason = note.map_or_else(
            || format!("Resolution of dispute on invoice {}", invoice.number),
            str::to_owned,
        );
        let credit_note_id = repo::insert_credit_note(
            tx,
            &NewCreditNote {
                customer_id: request.customer_id,
                number: &number,
                currency,
                amount_minor,
                reason: &reason,
                issue_date: now.date_naive(),
            },
            now,
        )
        .await
        .on_unique_violation(|| ServiceError::Conflict(CONFLICT.into()))?;
        // A void invoice owes nothing: the note stays as open credit.
        let applied_minor = if invoice.voided {
            0
        } else {
            amount_minor.min(invoice.balance_minor)
        };
        if applied_minor > 0 {
            ledger::apply_credit(tx, credit_note_id, invoice_id, applied_minor, now).await?;
            invoices::refresh_settlement(tx, invoice_id).await?;
            audit::record(
                tx,
                now,
                staff_event(
                    staff,
                    Some(request.customer_id),
                    format!("invoice:{invoice_id}"),
                    Action::CreditApplied,
                    serde_json::json!({
                        "amount_minor": applied_minor,
                        "credit_note_id": credit_note_id,
                        "request_id": request.request_id,
                    }),
                ),
            )
            .await?;
        }
        Ok(Resolved {
            outcome: Outcome::CreditNote,
            credit_note_id: Some(credit_note_id),
            credit_note_number: Some(number),
            credit_minor: amount_minor,
            applied_minor,
        })
    }
}

/// A resolution as the customer's email says it: what was decided, with
/// the amounts and the reference or reason AR gave.
fn outcome_in_words(resolved: &Resolved, currency: Option<Currency>, note: Option<&str>) -> String {
    let money =
        |minor: i64| currency.map_or_else(|| minor.to_string(), |c| Money::new(minor, c).display());
    match resolved.outcome {
        Outcome::CreditNote => {
            let mut words = format!(
                "a credit note {} of {} was issued",
                resolved.credit_note_number.as_deref().unwrap_or_default(),
                money(resolved.credit_minor)
            );
            if resolved.applied_minor == resolved.credit_minor {
                words.push_str(" and applied to the invoice");
            } else {
                words.push_str(&format!(
                    "; {} of it was applied to the invoice and the rest stays as credit on your account",
                    money(resolved.applied_minor)
                ));
            }
            if let Some(note) = note {
                words.push_str(&format!(" ({note})"));
            }
            words.push('.');
            words
        }
        Outcome::CorrectedInvoice => format!(
            "the invoice was corrected (reference: {}).",
            note.unwrap_or_default()
        ),
        Outcome::Rejected => format!("it was rejected. The reason: {}", note.unwrap_or_default()),
    }
}

/// A credit's amount typed in the invoice's currency: more than zero and
/// never above what the dispute held.
fn credit_amount(text: &str, currency: Currency, disputed_minor: i64) -> ServiceResult<i64> {
    let field = |m: String| ServiceError::invalid_field("amount", m);
    if text.trim().is_empty() {
        return Err(field("Enter the credit note's amount.".into()));
    }
    let amount = Money::parse_amount(text, currency)
        .map_err(|e| field(format!("The credit note's amount: {e}.")))?
        .minor;
    if amount <= 0 {
        return Err(field(
            "The credit note's amount must be more than zero.".into(),
        ));
    }
    if amount > disputed_minor {
        return Err(field(format!(
            "The credit note cannot be more than the disputed amount of {}.",
            Money::new(disputed_minor, currency).display()
        )));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::RequestKind as SlaKind;

    /// The JSON a migration seeds for `key` (between the quotes after it).
    fn seeded(migration: &str, key: &str) -> String {
        let at = migration
            .find(&format!("('{key}', '"))
            .unwrap_or_else(|| panic!("{key} is not seeded"));
        let rest = &migration[at + key.len() + 6..];
        rest[..rest.find('\'').expect("a closing quote")].to_owned()
    }

    /// What a migration (0014, 0019) appends to the stored policies.
    fn plans_appended(migration: &str) -> String {
        let marker = "length(value) - 1) || '";
        let at = migration.find(marker).expect("0014 appends plan policies") + marker.len();
        let rest = &migration[at..];
        rest[..rest.find('\'').expect("a closing quote")].to_owned()
    }

    #[test]
    fn the_seeded_settings_parse_and_equal_the_rust_defaults_on_both_engines() {
        for migration in [
            include_str!("../../../../migrations/sqlite/0008_sla_settings.sql"),
            include_str!("../../../../migrations/postgres/0008_sla_settings.sql"),
        ] {
            let calendar: BusinessCalendar =
                serde_json::from_str(&seeded(migration, CALENDAR_KEY)).unwrap();
            assert_eq!(calendar, default_business_calendar());
            let policies: SlaPolicies =
                serde_json::from_str(&seeded(migration, POLICIES_KEY)).unwrap();
            // 0014 appends the payment plans' policies.
            let plans = plans_appended(include_str!(
                "../../../../migrations/sqlite/0014_payment_plans.sql"
            ));
            assert_eq!(
                plans,
                plans_appended(include_str!(
                    "../../../../migrations/postgres/0014_payment_plans.sql"
                ))
            );
            // 0019 appends the broken promises' policies the same way.
            let promises = plans_appended(include_str!(
                "../../../../migrations/sqlite/0019_reminder_recipients.sql"
            ));
            assert_eq!(
                promises,
                plans_appended(include_str!(
                    "../../../../migrations/postgres/0019_reminder_recipients.sql"
                ))
            );
            let value = seeded(migration, POLICIES_KEY);
            let policies_now: SlaPolicies = serde_json::from_str(&format!(
                "{}{}{promises}",
                &value[..value.len() - 1],
                &plans[..plans.len() - 1]
            ))
            .unwrap();
            assert_eq!(policies_now, default_sla_policies());
            assert!(check_policy_coverage(&policies_now).is_ok());
            assert!(
                check_policy_coverage(&policies).is_err(),
                "0008 alone has no plan policies"
            );
        }
    }

    #[test]
    fn the_default_calendar_skips_lunch_weekends_and_holidays() {
        use chrono::TimeZone;
        let calendar = default_business_calendar();
        let ny = |d: u32, h: u32| {
            chrono_tz::America::New_York
                .with_ymd_and_hms(2026, 11, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        // Wednesday 25 Nov 9:00 to Friday 27 Nov 9:00: one working day
        // (7 hours), as Thanksgiving (26th) counts nothing.
        assert_eq!(calendar.business_minutes_between(ny(25, 9), ny(27, 9)), 420);
        // Friday 27 Nov 16:00 to Monday 30 Nov 10:00: one hour and one hour.
        assert_eq!(
            calendar.business_minutes_between(ny(27, 16), ny(30, 10)),
            120
        );
        // Lunch does not count.
        assert_eq!(
            calendar.business_minutes_between(ny(30, 11), ny(30, 14)),
            120
        );
    }

    #[test]
    fn policies_must_cover_every_dispute_priority_and_name_known_kinds() {
        let mut policies = default_sla_policies().policies().to_vec();
        policies.retain(|p| p.priority != Priority::Urgent);
        let message =
            check_policy_coverage(&SlaPolicies::new(policies.clone()).unwrap()).unwrap_err();
        assert!(message.contains("missing: urgent"), "{message}");
        let mut typo = default_sla_policies().policies().to_vec();
        typo.push(SlaPolicy::new(
            SlaKind::new("invoice_dispute"),
            Priority::Low,
            typo[0].targets,
        ));
        let message = check_policy_coverage(&SlaPolicies::new(typo).unwrap()).unwrap_err();
        assert!(
            message.contains("\"invoice_dispute\" is not a request kind"),
            "{message}"
        );
    }

    #[test]
    fn a_setting_error_carries_the_domain_message_without_a_position() {
        let overlapping =
            r#"{"time_zone":"America/New_York","week":{"monday":["09:00-12:00","11:00-13:00"]}}"#;
        let e = serde_json::from_str::<BusinessCalendar>(overlapping).unwrap_err();
        let message = domain_message(&e);
        assert!(message.contains("overlap"), "{message}");
        assert!(!message.contains("at line"), "{message}");
    }

    #[test]
    fn a_credit_is_positive_and_at_most_the_disputed_amount() {
        assert_eq!(credit_amount("12.50", Currency::USD, 5_000).unwrap(), 1_250);
        assert_eq!(credit_amount("50", Currency::USD, 5_000).unwrap(), 5_000);
        for text in ["", "0", "50.01", "abc"] {
            assert!(credit_amount(text, Currency::USD, 5_000).is_err(), "{text}");
        }
    }
}
