//! SQL of payment plans (issue 12, migration 0014): plans, their invoices,
//! schedules, acceptances and events, the approval policy and the plan
//! job's limits. Reads a customer reaches take the customer id, so another
//! account's plan is not found.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt, FromColumnText};
use super::Conn;
use crate::db::{date_text, ts};
use crate::domain::plan::{
    Frequency, PlanLimits, PlanPolicy, PlanStatus, PlanTerms, ScheduledInstalment,
};
use crate::domain::Currency;

impl FromColumnText for PlanStatus {
    const EXPECTED: &'static str = "a payment plan status";
    fn from_column_text(text: &str) -> Option<Self> {
        PlanStatus::parse(text)
    }
}

impl FromColumnText for Frequency {
    const EXPECTED: &'static str = "a payment plan frequency";
    fn from_column_text(text: &str) -> Option<Self> {
        Frequency::parse(text)
    }
}

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/// A plan as stored. The terms are `None` only while AR is asked to
/// propose (`Requested`, or declined/canceled from there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRow {
    pub plan_id: i64,
    pub customer_id: i64,
    pub request_id: i64,
    pub currency: Currency,
    pub status: PlanStatus,
    pub total_minor: i64,
    pub down_payment_minor: i64,
    pub count: Option<u32>,
    pub frequency: Option<Frequency>,
    pub first_date: Option<NaiveDate>,
    /// 0 before any schedule; each schedule written adds one.
    pub terms_version: i64,
    pub proposed_by_contact_id: i64,
    pub created_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    /// Why it was declined or defaulted, in words.
    pub decision_note: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl PlanRow {
    /// The terms of the current schedule, when there is one.
    pub fn terms(&self) -> Option<PlanTerms> {
        Some(PlanTerms {
            total_minor: self.total_minor,
            down_payment_minor: self.down_payment_minor,
            count: self.count?,
            frequency: self.frequency?,
            first_date: self.first_date?,
        })
    }
}

const PLAN_FIELDS: &str = "p.plan_id, p.customer_id, p.request_id, p.currency, p.status,
    p.total_minor, p.down_payment_minor, p.instalment_count, p.frequency, p.first_due_date,
    p.terms_version, p.proposed_by_contact_id, p.created_at, p.status_changed_at,
    p.decision_note, p.activated_at, p.ended_at";

fn plan_row(r: &AnyRow) -> Result<PlanRow, sqlx::Error> {
    const T: &str = "payment_plans";
    Ok(PlanRow {
        plan_id: r.try_get("plan_id")?,
        customer_id: r.try_get("customer_id")?,
        request_id: r.try_get("request_id")?,
        currency: decode(r, T, "currency")?,
        status: decode(r, T, "status")?,
        total_minor: r.try_get("total_minor")?,
        down_payment_minor: r.try_get("down_payment_minor")?,
        count: r
            .try_get::<Option<i64>, _>("instalment_count")?
            .map(|c| c as u32),
        frequency: decode_opt(r, T, "frequency")?,
        first_date: decode_opt(r, T, "first_due_date")?,
        terms_version: r.try_get("terms_version")?,
        proposed_by_contact_id: r.try_get("proposed_by_contact_id")?,
        created_at: decode(r, T, "created_at")?,
        status_changed_at: decode(r, T, "status_changed_at")?,
        decision_note: r.try_get("decision_note")?,
        activated_at: decode_opt(r, T, "activated_at")?,
        ended_at: decode_opt(r, T, "ended_at")?,
    })
}

/// A plan by id, whoever's it is (AR's side and the job).
pub async fn plan_by_id(conn: &mut Conn, plan_id: i64) -> Result<Option<PlanRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {PLAN_FIELDS} FROM payment_plans p WHERE p.plan_id = $1"
    ))
    .bind(plan_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

/// A plan if it is the customer's.
pub async fn customer_plan(
    conn: &mut Conn,
    customer_id: i64,
    plan_id: i64,
) -> Result<Option<PlanRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {PLAN_FIELDS} FROM payment_plans p WHERE p.plan_id = $1 AND p.customer_id = $2"
    ))
    .bind(plan_id)
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

/// The plan of a request of kind `payment_plan`.
pub async fn plan_by_request(
    conn: &mut Conn,
    request_id: i64,
) -> Result<Option<PlanRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {PLAN_FIELDS} FROM payment_plans p WHERE p.request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

/// The customer's plans, newest first.
pub async fn customer_plans(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<PlanRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {PLAN_FIELDS} FROM payment_plans p WHERE p.customer_id = $1
         ORDER BY p.created_at DESC, p.plan_id DESC"
    ))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(plan_row).collect()
}

/// The ids of the running (active or at-risk) plans, for the plan job.
pub async fn running_plan_ids(conn: &mut Conn) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT plan_id FROM payment_plans WHERE status IN ('active', 'at_risk') ORDER BY plan_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("plan_id")).collect()
}

/// Whether the customer has a plan that defaulted at or after `since`.
pub async fn defaulted_since(
    conn: &mut Conn,
    customer_id: i64,
    since: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM payment_plans
         WHERE customer_id = $1 AND status = 'defaulted' AND status_changed_at >= $2",
    )
    .bind(customer_id)
    .bind(ts(since))
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// A plan as proposed (terms present) or requested (terms `None`).
#[derive(Clone, Debug)]
pub struct NewPlan {
    pub customer_id: i64,
    pub request_id: i64,
    pub currency: Currency,
    pub status: PlanStatus,
    pub total_minor: i64,
    pub terms: Option<PlanTerms>,
    pub proposed_by_contact_id: i64,
}

/// Inserts a plan; its terms version is 1 when it has terms (the caller
/// writes that schedule with [`insert_schedule`]), else 0.
pub async fn insert_plan(
    conn: &mut Conn,
    plan: &NewPlan,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let t = plan.terms;
    let row = sqlx::query(
        "INSERT INTO payment_plans (customer_id, request_id, currency, status, total_minor,
             down_payment_minor, instalment_count, frequency, first_due_date, terms_version,
             proposed_by_contact_id, created_at, status_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING plan_id",
    )
    .bind(plan.customer_id)
    .bind(plan.request_id)
    .bind(plan.currency.code().to_owned())
    .bind(plan.status.as_str())
    .bind(plan.total_minor)
    .bind(t.map_or(0, |t| t.down_payment_minor))
    .bind(t.map(|t| i64::from(t.count)))
    .bind(t.map(|t| t.frequency.as_str()))
    .bind(t.map(|t| date_text(t.first_date)))
    .bind(i64::from(t.is_some()))
    .bind(plan.proposed_by_contact_id)
    .bind(ts(at))
    .fetch_one(conn)
    .await?;
    row.try_get("plan_id")
}

/// Writes new terms on a plan in one of `from` (a counter, or AR's first
/// proposal on a requested plan), moving it to `to`: the terms version goes
/// up by one and that version's schedule is written. `None` when the plan
/// was no longer in `from` (a second press, a race): nothing written.
pub async fn write_terms(
    conn: &mut Conn,
    plan_id: i64,
    from: &[PlanStatus],
    to: PlanStatus,
    terms: &PlanTerms,
    schedule: &[ScheduledInstalment],
    at: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "UPDATE payment_plans SET down_payment_minor = $2, instalment_count = $3, frequency = $4,
             first_due_date = $5, terms_version = terms_version + 1, status = $6,
             status_changed_at = $7
         WHERE plan_id = $1 AND status IN ({}) RETURNING terms_version",
        status_list(from)
    ))
    .bind(plan_id)
    .bind(terms.down_payment_minor)
    .bind(i64::from(terms.count))
    .bind(terms.frequency.as_str())
    .bind(date_text(terms.first_date))
    .bind(to.as_str())
    .bind(ts(at))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let version: i64 = row.try_get("terms_version")?;
    insert_schedule(conn, plan_id, version, schedule).await?;
    Ok(Some(version))
}

/// Statuses as an SQL list; they are the enum's constants, never input.
fn status_list(statuses: &[PlanStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Moves a plan from one of `from` to `to`, once: `false` when it was in
/// none of them (another run, a second press). Activation sets
/// `activated_at` (the first time), an end sets `ended_at`; `note` (a
/// decline's or default's reason) replaces the stored one when given.
pub async fn move_status(
    conn: &mut Conn,
    plan_id: i64,
    from: &[PlanStatus],
    to: PlanStatus,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let activated = if to == PlanStatus::Active {
        ", activated_at = COALESCE(activated_at, $3)"
    } else {
        ""
    };
    let ended = if to.is_ended() { ", ended_at = $3" } else { "" };
    let noted = if note.is_some() {
        ", decision_note = $4"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE payment_plans SET status = $2, status_changed_at = $3{activated}{ended}{noted}
         WHERE plan_id = $1 AND status IN ({})",
        status_list(from)
    );
    let mut query = sqlx::query(&sql)
        .bind(plan_id)
        .bind(to.as_str())
        .bind(ts(at));
    if let Some(note) = note {
        query = query.bind(note.to_owned());
    }
    let done = query.execute(conn).await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------
// Invoices of a plan
// ---------------------------------------------------------------------------

/// An invoice of a plan with its settlement now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInvoiceRow {
    pub invoice_id: i64,
    pub number: String,
    pub due_date: NaiveDate,
    /// What the plan covers of it (its payable part when proposed).
    pub covered_minor: i64,
    pub balance_minor: i64,
    pub pending_minor: i64,
    pub disputed_minor: i64,
    /// When the plan let go of it (ended).
    pub released_at: Option<DateTime<Utc>>,
}

/// The plan's invoices, oldest due first.
pub async fn plan_invoices(
    conn: &mut Conn,
    plan_id: i64,
) -> Result<Vec<PlanInvoiceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT i.invoice_id, i.number, i.due_date, pi.covered_minor, i.balance_minor,
                i.pending_minor, i.disputed_minor, pi.released_at
         FROM plan_invoices pi JOIN invoices i ON i.invoice_id = pi.invoice_id
         WHERE pi.plan_id = $1 ORDER BY i.due_date, i.invoice_id",
    )
    .bind(plan_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PlanInvoiceRow {
                invoice_id: r.try_get("invoice_id")?,
                number: r.try_get("number")?,
                due_date: decode(r, "invoices", "due_date")?,
                covered_minor: r.try_get("covered_minor")?,
                balance_minor: r.try_get("balance_minor")?,
                pending_minor: r.try_get("pending_minor")?,
                disputed_minor: r.try_get("disputed_minor")?,
                released_at: decode_opt(r, "plan_invoices", "released_at")?,
            })
        })
        .collect()
}

/// Adds an invoice to a plan. An invoice another plan holds is a unique
/// violation (index `plan_invoices_held`).
pub async fn insert_plan_invoice(
    conn: &mut Conn,
    plan_id: i64,
    invoice_id: i64,
    covered_minor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_invoices (plan_id, invoice_id, covered_minor) VALUES ($1, $2, $3)",
    )
    .bind(plan_id)
    .bind(invoice_id)
    .bind(covered_minor)
    .execute(conn)
    .await?;
    Ok(())
}

/// The plan lets go of its invoices (it ended): they can be chosen again.
pub async fn release_invoices(
    conn: &mut Conn,
    plan_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE plan_invoices SET released_at = $2 WHERE plan_id = $1 AND released_at IS NULL",
    )
    .bind(plan_id)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer's invoices a plan holds (any plan not ended): (invoice id,
/// plan id, the plan's status).
pub async fn held_invoices(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<(i64, i64, PlanStatus)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pi.invoice_id, p.plan_id, p.status FROM plan_invoices pi
         JOIN payment_plans p ON p.plan_id = pi.plan_id
         WHERE p.customer_id = $1 AND pi.released_at IS NULL
         ORDER BY pi.invoice_id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("invoice_id")?,
                r.try_get("plan_id")?,
                decode(r, "payment_plans", "status")?,
            ))
        })
        .collect()
}

/// The running plan (active or at risk) holding each of the given
/// invoices: (invoice id, plan id). What "In plan" shows.
pub async fn running_plans_of_invoices(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pi.invoice_id, p.plan_id FROM plan_invoices pi
         JOIN payment_plans p ON p.plan_id = pi.plan_id
         WHERE p.customer_id = $1 AND pi.released_at IS NULL
           AND p.status IN ('active', 'at_risk')
         ORDER BY pi.invoice_id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("invoice_id")?, r.try_get("plan_id")?)))
        .collect()
}

/// An open invoice of the customer a plan could cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub due_date: NaiveDate,
    pub currency: Currency,
    pub balance_minor: i64,
    pub pending_minor: i64,
    pub disputed_minor: i64,
}

const CANDIDATE_FIELDS: &str = "invoice_id, number, due_date, currency, balance_minor,
    pending_minor, disputed_minor";

fn candidate_row(r: &AnyRow) -> Result<CandidateInvoice, sqlx::Error> {
    Ok(CandidateInvoice {
        invoice_id: r.try_get("invoice_id")?,
        number: r.try_get("number")?,
        due_date: decode(r, "invoices", "due_date")?,
        currency: decode(r, "invoices", "currency")?,
        balance_minor: r.try_get("balance_minor")?,
        pending_minor: r.try_get("pending_minor")?,
        disputed_minor: r.try_get("disputed_minor")?,
    })
}

/// The customer's open (balance > 0, not void) invoices, oldest due first.
pub async fn open_invoices(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<CandidateInvoice>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CANDIDATE_FIELDS} FROM invoices
         WHERE customer_id = $1 AND balance_minor > 0 AND voided_at IS NULL
         ORDER BY due_date, invoice_id"
    ))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(candidate_row).collect()
}

// ---------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------

/// Writes one version of a plan's schedule.
pub async fn insert_schedule(
    conn: &mut Conn,
    plan_id: i64,
    terms_version: i64,
    schedule: &[ScheduledInstalment],
) -> Result<(), sqlx::Error> {
    for i in schedule {
        sqlx::query(
            "INSERT INTO plan_instalments (plan_id, terms_version, seq, due_date, amount_minor)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(plan_id)
        .bind(terms_version)
        .bind(i64::from(i.seq))
        .bind(date_text(i.due_date))
        .bind(i.amount_minor)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The plan's current schedule (its terms version), in order; empty while
/// it has none.
pub async fn current_schedule(
    conn: &mut Conn,
    plan_id: i64,
) -> Result<Vec<ScheduledInstalment>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.seq, s.due_date, s.amount_minor FROM plan_instalments s
         JOIN payment_plans p ON p.plan_id = s.plan_id AND p.terms_version = s.terms_version
         WHERE s.plan_id = $1 ORDER BY s.seq",
    )
    .bind(plan_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ScheduledInstalment {
                seq: r.try_get::<i64, _>("seq")? as u32,
                due_date: decode(r, "plan_instalments", "due_date")?,
                amount_minor: r.try_get("amount_minor")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Acceptances (append-only)
// ---------------------------------------------------------------------------

/// Who accepted which terms, from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptanceRow {
    pub acceptance_id: i64,
    pub plan_id: i64,
    pub terms_version: i64,
    pub contact_id: i64,
    pub contact_name: Option<String>,
    pub accepted_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub terms_hash: String,
    pub terms_text: String,
}

/// An acceptance to record.
#[derive(Clone, Debug)]
pub struct NewAcceptance<'a> {
    pub plan_id: i64,
    pub terms_version: i64,
    pub contact_id: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub terms_hash: &'a str,
    pub terms_text: &'a str,
}

/// Records an acceptance. A second one of the same terms version is a
/// unique violation.
pub async fn insert_acceptance(
    conn: &mut Conn,
    a: &NewAcceptance<'_>,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO plan_acceptances (plan_id, terms_version, contact_id, accepted_at, ip,
             user_agent, terms_hash, terms_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING acceptance_id",
    )
    .bind(a.plan_id)
    .bind(a.terms_version)
    .bind(a.contact_id)
    .bind(ts(at))
    .bind(a.ip.map(str::to_owned))
    .bind(a.user_agent.map(str::to_owned))
    .bind(a.terms_hash)
    .bind(a.terms_text)
    .fetch_one(conn)
    .await?;
    row.try_get("acceptance_id")
}

/// The plan's acceptances, oldest first.
pub async fn acceptances(conn: &mut Conn, plan_id: i64) -> Result<Vec<AcceptanceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.acceptance_id, a.plan_id, a.terms_version, a.contact_id, c.name AS contact_name,
                a.accepted_at, a.ip, a.user_agent, a.terms_hash, a.terms_text
         FROM plan_acceptances a LEFT JOIN contacts c ON c.contact_id = a.contact_id
         WHERE a.plan_id = $1 ORDER BY a.terms_version, a.acceptance_id",
    )
    .bind(plan_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AcceptanceRow {
                acceptance_id: r.try_get("acceptance_id")?,
                plan_id: r.try_get("plan_id")?,
                terms_version: r.try_get("terms_version")?,
                contact_id: r.try_get("contact_id")?,
                contact_name: r.try_get("contact_name")?,
                accepted_at: decode(r, "plan_acceptances", "accepted_at")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                terms_hash: r.try_get("terms_hash")?,
                terms_text: r.try_get("terms_text")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/// What happened to a plan (`plan_events.event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanEventKind {
    /// The customer proposed terms (queued for AR).
    Proposed,
    /// The customer asked AR to propose.
    Requested,
    /// The policy approved the customer's terms at once.
    AutoApproved,
    /// AR approved the customer's terms.
    Approved,
    /// AR proposed other terms (or its first ones on a request).
    Countered,
    /// The customer accepted AR's terms.
    Accepted,
    /// AR declined.
    Declined,
    /// The policy declined at once.
    AutoDeclined,
    /// The customer declined AR's terms.
    CounterDeclined,
    AtRisk,
    BackOnTrack,
    Defaulted,
    Completed,
    Canceled,
}

impl PlanEventKind {
    pub const ALL: [PlanEventKind; 14] = [
        Self::Proposed,
        Self::Requested,
        Self::AutoApproved,
        Self::Approved,
        Self::Countered,
        Self::Accepted,
        Self::Declined,
        Self::AutoDeclined,
        Self::CounterDeclined,
        Self::AtRisk,
        Self::BackOnTrack,
        Self::Defaulted,
        Self::Completed,
        Self::Canceled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Requested => "requested",
            Self::AutoApproved => "auto_approved",
            Self::Approved => "approved",
            Self::Countered => "countered",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::AutoDeclined => "auto_declined",
            Self::CounterDeclined => "counter_declined",
            Self::AtRisk => "at_risk",
            Self::BackOnTrack => "back_on_track",
            Self::Defaulted => "defaulted",
            Self::Completed => "completed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// As the plan page and the invoice timeline say it.
    pub const fn words(self) -> &'static str {
        match self {
            Self::Proposed => "Payment plan proposed",
            Self::Requested => "Payment plan asked of AR",
            Self::AutoApproved => "Payment plan approved",
            Self::Approved => "Payment plan approved by AR",
            Self::Countered => "AR proposed other plan terms",
            Self::Accepted => "Plan terms accepted",
            Self::Declined => "Payment plan declined by AR",
            Self::AutoDeclined => "Payment plan declined",
            Self::CounterDeclined => "AR's plan terms declined",
            Self::AtRisk => "Payment plan at risk",
            Self::BackOnTrack => "Payment plan back on track",
            Self::Defaulted => "Payment plan defaulted",
            Self::Completed => "Payment plan completed",
            Self::Canceled => "Payment plan canceled",
        }
    }
}

impl FromColumnText for PlanEventKind {
    const EXPECTED: &'static str = "a payment plan event";
    fn from_column_text(text: &str) -> Option<Self> {
        PlanEventKind::parse(text)
    }
}

/// Who did it: a contact, a staff user, or the portal itself (policy, job).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanActor {
    Contact(i64),
    Staff(i64),
    System,
}

/// A plan event as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEventRow {
    pub event_id: i64,
    pub plan_id: i64,
    pub at: DateTime<Utc>,
    pub event: PlanEventKind,
    pub actor: PlanActor,
    /// The contact's or staff user's name as it is now.
    pub actor_name: Option<String>,
    /// Customer-visible words (a reason, a summary of terms).
    pub note: Option<String>,
}

/// Appends an event.
pub async fn insert_plan_event(
    conn: &mut Conn,
    plan_id: i64,
    event: PlanEventKind,
    actor: PlanActor,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (kind, id) = match actor {
        PlanActor::Contact(id) => ("contact", Some(id)),
        PlanActor::Staff(id) => ("staff", Some(id)),
        PlanActor::System => ("system", None),
    };
    sqlx::query(
        "INSERT INTO plan_events (plan_id, at, event, actor_kind, actor_id, note)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(plan_id)
    .bind(ts(at))
    .bind(event.as_str())
    .bind(kind)
    .bind(id)
    .bind(note.map(str::to_owned))
    .execute(conn)
    .await?;
    Ok(())
}

const EVENT_SELECT: &str = "SELECT e.event_id, e.plan_id, e.at, e.event, e.actor_kind, e.actor_id,
        COALESCE(c.name, s.name) AS actor_name, e.note
    FROM plan_events e
    LEFT JOIN contacts c ON e.actor_kind = 'contact' AND c.contact_id = e.actor_id
    LEFT JOIN staff_users s ON e.actor_kind = 'staff' AND s.staff_id = e.actor_id";

fn event_row(r: &AnyRow) -> Result<PlanEventRow, sqlx::Error> {
    let kind: String = r.try_get("actor_kind")?;
    let id: Option<i64> = r.try_get("actor_id")?;
    let actor = match (kind.as_str(), id) {
        ("contact", Some(id)) => PlanActor::Contact(id),
        ("staff", Some(id)) => PlanActor::Staff(id),
        _ => PlanActor::System,
    };
    Ok(PlanEventRow {
        event_id: r.try_get("event_id")?,
        plan_id: r.try_get("plan_id")?,
        at: decode(r, "plan_events", "at")?,
        event: decode(r, "plan_events", "event")?,
        actor,
        actor_name: r.try_get("actor_name")?,
        note: r.try_get("note")?,
    })
}

/// The plan's events, oldest first.
pub async fn plan_events(conn: &mut Conn, plan_id: i64) -> Result<Vec<PlanEventRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{EVENT_SELECT} WHERE e.plan_id = $1 ORDER BY e.at, e.event_id"
    ))
    .bind(plan_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(event_row).collect()
}

/// The events of every plan that covers (or covered) the invoice, oldest
/// first: the invoice timeline's plan entries.
pub async fn invoice_plan_events(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Vec<PlanEventRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{EVENT_SELECT} JOIN plan_invoices pi ON pi.plan_id = e.plan_id
         WHERE pi.invoice_id = $1 ORDER BY e.at, e.event_id"
    ))
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(event_row).collect()
}

// ---------------------------------------------------------------------------
// Policy and limits
// ---------------------------------------------------------------------------

const POLICY_FIELDS: &str = "currency, auto_max_total_minor, auto_max_count, auto_max_days,
    auto_min_down_bp, hard_max_total_minor, hard_max_count, hard_max_days";

fn policy_row(r: &AnyRow) -> Result<PlanPolicy, sqlx::Error> {
    Ok(PlanPolicy {
        currency: decode(r, "plan_policy", "currency")?,
        auto_max_total_minor: r.try_get("auto_max_total_minor")?,
        auto_max_count: r.try_get::<i64, _>("auto_max_count")? as u32,
        auto_max_days: r.try_get("auto_max_days")?,
        auto_min_down_bp: r.try_get::<i64, _>("auto_min_down_bp")? as u32,
        hard_max_total_minor: r.try_get("hard_max_total_minor")?,
        hard_max_count: r.try_get::<i64, _>("hard_max_count")? as u32,
        hard_max_days: r.try_get("hard_max_days")?,
    })
}

/// The policy of one currency, if it has one.
pub async fn policy(
    conn: &mut Conn,
    currency: Currency,
) -> Result<Option<PlanPolicy>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {POLICY_FIELDS} FROM plan_policy WHERE currency = $1"
    ))
    .bind(currency.code().to_owned())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(policy_row).transpose()
}

/// Every currency's policy, by currency.
pub async fn policies(conn: &mut Conn) -> Result<Vec<PlanPolicy>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {POLICY_FIELDS} FROM plan_policy ORDER BY currency"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(policy_row).collect()
}

/// Writes a currency's policy (inserted or replaced). The caller checks
/// it first (`PlanPolicy::check`); the table's CHECKs are the backstop.
pub async fn upsert_policy(
    conn: &mut Conn,
    p: &PlanPolicy,
    staff_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_policy (currency, auto_max_total_minor, auto_max_count, auto_max_days,
             auto_min_down_bp, hard_max_total_minor, hard_max_count, hard_max_days, updated_at,
             updated_by_staff_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (currency) DO UPDATE SET auto_max_total_minor = excluded.auto_max_total_minor,
             auto_max_count = excluded.auto_max_count, auto_max_days = excluded.auto_max_days,
             auto_min_down_bp = excluded.auto_min_down_bp,
             hard_max_total_minor = excluded.hard_max_total_minor,
             hard_max_count = excluded.hard_max_count, hard_max_days = excluded.hard_max_days,
             updated_at = excluded.updated_at, updated_by_staff_id = excluded.updated_by_staff_id",
    )
    .bind(p.currency.code().to_owned())
    .bind(p.auto_max_total_minor)
    .bind(i64::from(p.auto_max_count))
    .bind(p.auto_max_days)
    .bind(i64::from(p.auto_min_down_bp))
    .bind(p.hard_max_total_minor)
    .bind(i64::from(p.hard_max_count))
    .bind(p.hard_max_days)
    .bind(ts(at))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a currency's policy: its plans are all queued for AR from then on.
pub async fn delete_policy(conn: &mut Conn, currency: Currency) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM plan_policy WHERE currency = $1")
        .bind(currency.code().to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The plan job's limits (the seeded row; the defaults if it is missing).
pub async fn limits(conn: &mut Conn) -> Result<PlanLimits, sqlx::Error> {
    let row = sqlx::query(
        "SELECT grace_days, default_after_days FROM plan_settings WHERE settings_id = 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map_or(Ok(PlanLimits::default()), |r| {
        Ok(PlanLimits {
            grace_days: r.try_get("grace_days")?,
            default_after_days: r.try_get("default_after_days")?,
        })
    })
}

/// Writes the plan job's limits.
pub async fn set_limits(
    conn: &mut Conn,
    limits: PlanLimits,
    staff_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_settings (settings_id, grace_days, default_after_days, updated_at,
             updated_by_staff_id)
         VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (settings_id) DO UPDATE SET grace_days = excluded.grace_days,
             default_after_days = excluded.default_after_days,
             updated_at = excluded.updated_at, updated_by_staff_id = excluded.updated_by_staff_id",
    )
    .bind(limits.grace_days)
    .bind(limits.default_after_days)
    .bind(ts(at))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The job's lease
// ---------------------------------------------------------------------------
