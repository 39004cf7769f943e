//! Payment plans, the customer side and the plan job (issue 12).
//!
//! A payer or admin chooses open invoices and terms; the plan covers what
//! is payable on them (balance - pending - disputed), never the invoice
//! totals. Proposing runs the policy: approved at once (the plan is
//! active), declined at once (with the reasons), or queued as an open
//! `payment_plan` request in AR's queue. Every plan has one request (its
//! thread and SLA clock); an auto-decided one is created resolved with a
//! message from the portal saying why. The customer's proposal is accepted
//! when proposed: they pressed "Propose" on exactly those terms, so the
//! acceptance (terms text, hash, who, when, IP, user agent) is recorded
//! then. A counter from AR is accepted by posting back the hash of the
//! terms the page showed; if AR changed them meanwhile nothing is accepted.
//!
//! The plan job ([`Services::run_plan_checks`]) moves running plans:
//! completed when paid, at risk past the grace period (the request is back
//! in AR's queue), back on track when caught up, defaulted past the second
//! limit (the invoices leave the plan). Each move is a guarded update in
//! the transaction that queues its mails, so runs at once or repeated
//! never move a plan (or mail) twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::access::ContactAccess;
use super::requests::{checked_message, contact_event};
use super::Services;
use crate::domain::audit::Action;
use crate::domain::dates::parse_user_date;
use crate::domain::plan::{
    build_schedule, check_first_date, days_late, evaluate_policy, instalment_standings,
    next_instalment, paid_toward_plan, plan_move, term_days, terms_hash, terms_text,
    CoveredInvoice, Frequency, InstalmentStanding, PlanMove, PlanStatus, PlanTerms, PolicyFacts,
    PolicyVerdict, ScheduledInstalment, TermsDocument, DEFAULT_MEMORY_DAYS, MAX_FIRST_DATE_DAYS,
    MAX_INSTALMENTS,
};
use crate::domain::request::{AuthorKind, RequestKind, RequestStatus, Visibility};
use crate::domain::sla::{Priority, SlaEvent, SlaEventKind};
use crate::domain::{payable_minor, Currency, Money};
use crate::email::templates::{
    plan_decision_email, plan_progress_email, plan_staff_email, PlanDecision, PlanDecisionEmail,
    PlanProgress, PlanStaffNews, RenderedEmail,
};
use crate::error::{ResultExt, ServiceError, ServiceResult};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::leases::ScheduledJob;
use crate::repo::plans::{
    self as repo, AcceptanceRow, CandidateInvoice, NewAcceptance, NewPlan, PlanActor,
    PlanEventKind, PlanEventRow, PlanInvoiceRow, PlanRow,
};
use crate::repo::requests::{self as requests_repo, MessageRow, NewMessage, NewRequest};
use crate::repo::{outbox, Conn};

/// The author id of the portal's own messages in a plan's thread (written
/// as AR's side, `author_kind = 'staff'`, with no staff user behind it):
/// the policy's decisions and the plan job's news. Threads name it "The
/// portal".
pub const PORTAL_AUTHOR_ID: i64 = 0;
/// How often `portal serve` runs the plan job.
pub const PLAN_JOB_INTERVAL: Duration = Duration::minutes(5);
/// How long an instance holds the plan job before another may run it.
const PLAN_JOB_LEASE: Duration = Duration::minutes(10);

/// The propose form, as sent (also what "Preview" reads).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanForm {
    /// The chosen invoices (one currency).
    pub invoice_ids: Vec<i64>,
    /// The down payment as typed; empty for none.
    pub down_payment: String,
    /// The number of instalments after the down payment, as typed.
    pub count: String,
    /// `Frequency::as_str` text.
    pub frequency: String,
    /// The first payment's date, YYYY-MM-DD.
    pub first_date: String,
    /// An optional note to AR (kept in the plan's thread).
    pub message: String,
}

/// Where a press came from, stored with an acceptance.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientInfo<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// An open invoice as the propose form offers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanChoice {
    pub invoice: CandidateInvoice,
    /// What a plan would cover of it (balance - pending - disputed).
    pub payable_minor: i64,
    /// Why it cannot be chosen, in words (all of it disputed or being
    /// paid, or already in a plan); `None` when it can.
    pub unavailable: Option<String>,
    /// The plan holding it, if any (pending or running).
    pub held_by_plan: Option<i64>,
}

/// The propose form of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanChoices {
    pub customer_name: String,
    /// Why this contact may not propose (a viewer), in words.
    pub refusal: Option<String>,
    /// The account's open invoices, oldest due first.
    pub invoices: Vec<PlanChoice>,
    /// The first date's window: today ..= latest_first_date.
    pub today: NaiveDate,
    pub latest_first_date: NaiveDate,
    pub max_count: u32,
}

/// An invoice of a preview or proposal with the amount the plan covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoveredLine {
    pub invoice_id: i64,
    pub number: String,
    pub covered_minor: i64,
}

/// What a proposal would be: its invoices, schedule and what the policy
/// would say (nothing is written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanPreview {
    pub currency: Currency,
    pub invoices: Vec<CoveredLine>,
    pub terms: PlanTerms,
    pub schedule: Vec<ScheduledInstalment>,
    pub verdict: PolicyVerdict,
}

/// What proposing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalOutcome {
    /// Approved at once: the plan is active.
    Approved,
    /// In AR's queue, with why it was not approved at once.
    Queued { reasons: Vec<String> },
    /// Declined at once, with the reasons.
    Declined { reasons: Vec<String> },
}

/// A proposal's plan and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub plan_id: i64,
    pub outcome: ProposalOutcome,
}

/// A plan of the account's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedPlan {
    pub plan: PlanRow,
    pub invoice_numbers: Vec<String>,
    /// Paid toward the plan so far.
    pub paid_minor: i64,
    /// The next instalment to pay (running plans).
    pub next: Option<InstalmentStanding>,
}

/// Everything the customer's plan page shows.
#[derive(Clone, Debug)]
pub struct CustomerPlanPage {
    pub customer_name: String,
    /// Payers and admins accept, decline and pay; viewers only read.
    pub may_write: bool,
    pub plan: PlanRow,
    pub invoices: Vec<PlanInvoiceRow>,
    pub paid_minor: i64,
    /// The current schedule with each instalment's standing as of today.
    pub standings: Vec<InstalmentStanding>,
    pub next: Option<InstalmentStanding>,
    /// The current terms in words (the canonical text) and its hash, which
    /// "Accept" posts back; `None` while there is no schedule.
    pub terms_text: Option<String>,
    pub terms_hash: Option<String>,
    pub acceptances: Vec<AcceptanceRow>,
    pub events: Vec<PlanEventRow>,
    /// The plan request's customer-visible thread.
    pub messages: Vec<MessageRow>,
    pub request_status: RequestStatus,
}

/// A move the plan job made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanMoved {
    pub plan_id: i64,
    pub to: PlanStatus,
}

fn require_member(
    access: &ContactAccess,
    customer_id: i64,
) -> ServiceResult<&crate::repo::accounts::MembershipRow> {
    access.membership(customer_id).ok_or(ServiceError::NotFound)
}

/// Proposing, accepting and asking are for the roles that may pay, as
/// raising a dispute is; the refusal speaks of plans.
fn require_plan_requester(
    access: &ContactAccess,
    customer_id: i64,
) -> ServiceResult<&crate::repo::accounts::MembershipRow> {
    let membership = require_member(access, customer_id)?;
    if !membership.role.can_pay() {
        return Err(ServiceError::Forbidden(format!(
            "Your role on {} lets you view invoices and plans but not propose or accept a \
             payment plan. An admin of the account can give you the payer role.",
            membership.customer_name
        )));
    }
    Ok(membership)
}

/// Terms as typed, read into domain values (the invoices come apart).
struct TypedTerms {
    down_payment_minor: i64,
    count: u32,
    frequency: Frequency,
    first_date: NaiveDate,
}

fn typed_terms(form: &PlanForm, currency: Currency, today: NaiveDate) -> ServiceResult<TypedTerms> {
    let count = form
        .count
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|c| (1..=MAX_INSTALMENTS).contains(c))
        .ok_or_else(|| {
            ServiceError::invalid_field(
                "count",
                format!("Choose from 1 to {MAX_INSTALMENTS} instalments."),
            )
        })?;
    let frequency = Frequency::parse(&form.frequency).ok_or_else(|| {
        ServiceError::invalid_field(
            "frequency",
            "Choose how often to pay: weekly, every two weeks or monthly.",
        )
    })?;
    let first_date = parse_user_date("First date", &form.first_date)
        .map_err(|m| ServiceError::invalid_field("first_date", m))?;
    check_first_date(first_date, today)
        .map_err(|p| ServiceError::invalid_field(p.field(), p.to_string()))?;
    let down = form.down_payment.trim();
    let down_payment_minor = if down.is_empty() {
        0
    } else {
        Money::parse_amount(down, currency)
            .map_err(|m| {
                ServiceError::invalid_field("down_payment", format!("Down payment: {m}."))
            })?
            .minor
    };
    Ok(TypedTerms {
        down_payment_minor,
        count,
        frequency,
        first_date,
    })
}

/// Why an open invoice cannot go into a new plan, if it cannot.
fn unavailable(invoice: &CandidateInvoice, payable: i64, held_by: Option<i64>) -> Option<String> {
    let number = &invoice.number;
    if let Some(plan_id) = held_by {
        return Some(format!(
            "Invoice {number} is already in payment plan {plan_id}."
        ));
    }
    if payable > 0 {
        return None;
    }
    Some(
        if invoice.disputed_minor > 0 && invoice.pending_minor == 0 {
            format!("Invoice {number} is disputed; a disputed amount cannot go into a plan.")
        } else if invoice.disputed_minor == 0 {
            format!("Invoice {number} has a payment in progress for all of its balance.")
        } else {
            format!("Nothing on invoice {number} can go into a plan: it is disputed or being paid.")
        },
    )
}

/// The chosen invoices read and checked: one currency, each payable and in
/// no other plan. Returns the currency and the covered lines.
async fn chosen_invoices(
    conn: &mut Conn,
    customer_id: i64,
    invoice_ids: &[i64],
) -> ServiceResult<(Currency, Vec<CoveredLine>)> {
    let chosen: BTreeSet<i64> = invoice_ids.iter().copied().collect();
    if chosen.is_empty() {
        return Err(ServiceError::invalid_field(
            "invoices",
            "Choose at least one open invoice for the plan.",
        ));
    }
    let open = repo::open_invoices(conn, customer_id).await?;
    let held: BTreeMap<i64, i64> = repo::held_invoices(conn, customer_id)
        .await?
        .into_iter()
        .map(|(invoice, plan, _)| (invoice, plan))
        .collect();
    let mut currency = None;
    let mut lines = Vec::new();
    for id in &chosen {
        let invoice = open.iter().find(|i| i.invoice_id == *id).ok_or_else(|| {
            ServiceError::invalid_field(
                "invoices",
                "One of the chosen invoices is not open on this account any more.",
            )
        })?;
        let payable = payable_minor(
            invoice.balance_minor,
            invoice.pending_minor,
            invoice.disputed_minor,
        );
        if let Some(why) = unavailable(invoice, payable, held.get(id).copied()) {
            return Err(ServiceError::invalid_field("invoices", why));
        }
        match currency {
            None => currency = Some(invoice.currency),
            Some(c) if c != invoice.currency => {
                return Err(ServiceError::invalid_field(
                    "invoices",
                    "A plan covers invoices of one currency; choose invoices in the same currency.",
                ))
            }
            Some(_) => {}
        }
        lines.push(CoveredLine {
            invoice_id: invoice.invoice_id,
            number: invoice.number.clone(),
            covered_minor: payable,
        });
    }
    let currency = currency.expect("at least one invoice was chosen");
    Ok((currency, lines))
}

impl Services {
    /// The propose form: the account's open invoices, what each would
    /// put in a plan or why it cannot go in, and the first date's window.
    /// Any member may open it; a viewer is told in `refusal` why they
    /// cannot send it.
    pub async fn plan_choices(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<PlanChoices> {
        let membership = require_member(access, customer_id)?;
        let refusal = match require_plan_requester(access, customer_id) {
            Err(ServiceError::Forbidden(m)) => Some(m),
            _ => None,
        };
        let today = self.today();
        let mut tx = self.db.pool.begin().await?;
        let open = repo::open_invoices(&mut tx, customer_id).await?;
        let held: BTreeMap<i64, i64> = repo::held_invoices(&mut tx, customer_id)
            .await?
            .into_iter()
            .map(|(invoice, plan, _)| (invoice, plan))
            .collect();
        tx.commit().await?;
        let invoices = open
            .into_iter()
            .map(|invoice| {
                let payable = payable_minor(
                    invoice.balance_minor,
                    invoice.pending_minor,
                    invoice.disputed_minor,
                );
                let held_by_plan = held.get(&invoice.invoice_id).copied();
                PlanChoice {
                    unavailable: unavailable(&invoice, payable, held_by_plan),
                    payable_minor: payable,
                    held_by_plan,
                    invoice,
                }
            })
            .collect();
        Ok(PlanChoices {
            customer_name: membership.customer_name.clone(),
            refusal,
            invoices,
            today,
            latest_first_date: today + Duration::days(MAX_FIRST_DATE_DAYS),
            max_count: MAX_INSTALMENTS,
        })
    }

    /// The schedule a form would make and what the policy would say, with
    /// nothing written ("Preview" without JavaScript, and the live island).
    pub async fn preview_plan(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        form: &PlanForm,
    ) -> ServiceResult<PlanPreview> {
        require_member(access, customer_id)?;
        let now = self.clock.now();
        let mut tx = self.db.pool.begin().await?;
        let preview = self
            .plan_preview_in(&mut tx, customer_id, form, now)
            .await?;
        tx.commit().await?;
        Ok(preview)
    }

    async fn plan_preview_in(
        &self,
        conn: &mut Conn,
        customer_id: i64,
        form: &PlanForm,
        now: DateTime<Utc>,
    ) -> ServiceResult<PlanPreview> {
        let today = now.date_naive();
        let (currency, invoices) = chosen_invoices(conn, customer_id, &form.invoice_ids).await?;
        let typed = typed_terms(form, currency, today)?;
        let terms = PlanTerms {
            total_minor: invoices.iter().map(|l| l.covered_minor).sum(),
            down_payment_minor: typed.down_payment_minor,
            count: typed.count,
            frequency: typed.frequency,
            first_date: typed.first_date,
        };
        let schedule = build_schedule(&terms)
            .map_err(|p| ServiceError::invalid_field(p.field(), p.to_string()))?;
        let policy = repo::policy(conn, currency).await?;
        let defaulted_recently =
            repo::defaulted_since(conn, customer_id, now - Duration::days(DEFAULT_MEMORY_DAYS))
                .await?;
        let verdict = evaluate_policy(
            policy.as_ref(),
            &PolicyFacts {
                total_minor: terms.total_minor,
                down_payment_minor: terms.down_payment_minor,
                count: terms.count,
                term_days: term_days(&schedule, today),
                defaulted_recently,
            },
        );
        Ok(PlanPreview {
            currency,
            invoices,
            terms,
            schedule,
            verdict,
        })
    }

    /// A payer or admin proposes a plan. The policy approves it at once,
    /// declines it at once or queues it for AR; all in one transaction with
    /// the plan request, its SLA event, the acceptance of the proposed
    /// terms, the audit event and the mails. Pressing twice finds the plan
    /// the first press made (its invoices are held by it).
    pub async fn propose_plan(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        form: &PlanForm,
        client: ClientInfo<'_>,
    ) -> ServiceResult<Proposal> {
        require_plan_requester(access, customer_id)?;
        let note = form.message.trim();
        if !note.is_empty() {
            checked_message(note)?;
        }
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        if let Some(done) = self
            .same_proposal(&mut tx, access, customer_id, &form.invoice_ids)
            .await?
        {
            return Ok(done);
        }
        let preview = self
            .plan_preview_in(&mut tx, customer_id, form, now)
            .await?;
        if let Some(done) = self
            .same_declined(&mut tx, access, customer_id, &preview, now)
            .await?
        {
            return Ok(done);
        }
        let total = Money::new(preview.terms.total_minor, preview.currency).display();
        let plan_id = self
            .open_plan(
                &mut tx,
                access,
                customer_id,
                preview.currency,
                &preview.invoices,
                Some((&preview.terms, &preview.schedule)),
                now,
            )
            .await?;
        let request_id = repo::plan_by_id(&mut tx, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?
            .request_id;
        if !note.is_empty() {
            store_message(
                &mut tx,
                request_id,
                AuthorKind::Contact,
                access.contact_id,
                note,
                now,
            )
            .await?;
        }
        // The customer pressed "Propose" on exactly these terms.
        let (text, hash) = self.current_terms(&mut tx, plan_id).await?;
        repo::insert_acceptance(
            &mut tx,
            &NewAcceptance {
                plan_id,
                terms_version: 1,
                contact_id: access.contact_id,
                ip: client.ip,
                user_agent: client.user_agent,
                terms_hash: &hash,
                terms_text: &text,
            },
            now,
        )
        .await?;
        repo::insert_plan_event(
            &mut tx,
            plan_id,
            PlanEventKind::Proposed,
            PlanActor::Contact(access.contact_id),
            None,
            now,
        )
        .await?;
        let outcome = match &preview.verdict {
            PolicyVerdict::Approve => {
                repo::move_status(
                    &mut tx,
                    plan_id,
                    &[PlanStatus::Proposed],
                    PlanStatus::Active,
                    None,
                    now,
                )
                .await?;
                let words = "Approved at once: the plan is within the approval policy. \
                             It is active; pay each instalment by its date.";
                self.auto_decided(
                    &mut tx,
                    plan_id,
                    request_id,
                    PlanEventKind::AutoApproved,
                    words,
                    now,
                )
                .await?;
                self.mail_decision(
                    &mut tx,
                    plan_id,
                    &PlanDecision::Approved {
                        note: Some("Approved at once under the approval policy."),
                    },
                    now,
                )
                .await?;
                ProposalOutcome::Approved
            }
            PolicyVerdict::Decline { reasons } => {
                let why = reasons.join(" ");
                repo::move_status(
                    &mut tx,
                    plan_id,
                    &[PlanStatus::Proposed],
                    PlanStatus::Declined,
                    Some(&why),
                    now,
                )
                .await?;
                repo::release_invoices(&mut tx, plan_id, now).await?;
                let words = format!(
                    "Declined at once: {why} You can propose other terms, or ask AR to propose a plan."
                );
                self.auto_decided(
                    &mut tx,
                    plan_id,
                    request_id,
                    PlanEventKind::AutoDeclined,
                    &words,
                    now,
                )
                .await?;
                self.mail_decision(
                    &mut tx,
                    plan_id,
                    &PlanDecision::Declined { reason: &why },
                    now,
                )
                .await?;
                ProposalOutcome::Declined {
                    reasons: reasons.clone(),
                }
            }
            PolicyVerdict::Queue { reasons } => {
                let why = reasons.join(" ");
                store_message(
                    &mut tx,
                    request_id,
                    AuthorKind::Staff,
                    PORTAL_AUTHOR_ID,
                    &format!("Sent to AR for a decision: {why}"),
                    now,
                )
                .await?;
                self.mail_staff(
                    &mut tx,
                    request_id,
                    &PlanStaffNews::Proposed {
                        total: &total,
                        why: &why,
                    },
                    now,
                )
                .await?;
                ProposalOutcome::Queued {
                    reasons: reasons.clone(),
                }
            }
        };
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                request_id,
                Action::PlanProposed,
                serde_json::json!({
                    "plan_id": plan_id,
                    "invoices": preview.invoices.iter().map(|l| (l.invoice_id, l.covered_minor)).collect::<Vec<_>>(),
                    "total_minor": preview.terms.total_minor,
                    "currency": preview.currency.code(),
                    "down_payment_minor": preview.terms.down_payment_minor,
                    "count": preview.terms.count,
                    "frequency": preview.terms.frequency.as_str(),
                    "first_date": preview.terms.first_date.to_string(),
                    "verdict": verdict_name(&preview.verdict),
                    "reasons": preview.verdict.reasons_text(),
                }),
                client.ip,
            ),
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(Proposal { plan_id, outcome })
    }

    /// A second press of "Propose" (or "Ask AR"): every chosen invoice is
    /// held by one plan this contact opened, on exactly those invoices.
    async fn same_proposal(
        &self,
        conn: &mut Conn,
        access: &ContactAccess,
        customer_id: i64,
        invoice_ids: &[i64],
    ) -> ServiceResult<Option<Proposal>> {
        let chosen: BTreeSet<i64> = invoice_ids.iter().copied().collect();
        let Some(first) = chosen.first() else {
            return Ok(None);
        };
        let held = repo::held_invoices(conn, customer_id).await?;
        let Some(plan_id) = held.iter().find(|h| h.0 == *first).map(|h| h.1) else {
            return Ok(None);
        };
        let of_plan: BTreeSet<i64> = held
            .iter()
            .filter(|h| h.1 == plan_id)
            .map(|h| h.0)
            .collect();
        let Some(plan) = repo::plan_by_id(conn, plan_id).await? else {
            return Ok(None);
        };
        if of_plan != chosen || plan.proposed_by_contact_id != access.contact_id {
            return Ok(None);
        }
        let outcome = match plan.status {
            PlanStatus::Active | PlanStatus::AtRisk => ProposalOutcome::Approved,
            _ => ProposalOutcome::Queued {
                reasons: Vec::new(),
            },
        };
        Ok(Some(Proposal { plan_id, outcome }))
    }

    /// A second press of a proposal the policy declined (its invoices were
    /// let go, so [`Self::same_proposal`] cannot see it): this contact's
    /// latest plan, declined within the last minutes, on the same invoices
    /// and terms.
    async fn same_declined(
        &self,
        conn: &mut Conn,
        access: &ContactAccess,
        customer_id: i64,
        preview: &PlanPreview,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<Proposal>> {
        let Some(plan) = repo::customer_plans(conn, customer_id)
            .await?
            .into_iter()
            .find(|p| p.proposed_by_contact_id == access.contact_id)
        else {
            return Ok(None);
        };
        if plan.status != PlanStatus::Declined
            || plan.created_at < now - Duration::minutes(10)
            || plan.terms() != Some(preview.terms)
        {
            return Ok(None);
        }
        let invoices: Vec<(i64, i64)> = repo::plan_invoices(conn, plan.plan_id)
            .await?
            .iter()
            .map(|i| (i.invoice_id, i.covered_minor))
            .collect();
        let mut chosen: Vec<(i64, i64)> = preview
            .invoices
            .iter()
            .map(|l| (l.invoice_id, l.covered_minor))
            .collect();
        chosen.sort_unstable();
        let mut invoices = invoices;
        invoices.sort_unstable();
        if invoices != chosen {
            return Ok(None);
        }
        Ok(Some(Proposal {
            plan_id: plan.plan_id,
            outcome: ProposalOutcome::Declined {
                reasons: plan.decision_note.into_iter().collect(),
            },
        }))
    }

    /// Inserts the plan request (open) and the plan (proposed, or requested
    /// when `terms` is `None`) with its invoices and first schedule.
    #[allow(clippy::too_many_arguments)]
    async fn open_plan(
        &self,
        conn: &mut Conn,
        access: &ContactAccess,
        customer_id: i64,
        currency: Currency,
        invoices: &[CoveredLine],
        terms: Option<(&PlanTerms, &[ScheduledInstalment])>,
        now: DateTime<Utc>,
    ) -> ServiceResult<i64> {
        let request_id = requests_repo::insert_request(
            conn,
            &NewRequest {
                customer_id,
                kind: RequestKind::PaymentPlan,
                priority: Priority::Normal,
                reason_id: None,
                invoice_id: None,
                scope: None,
                disputed_minor: None,
                currency: Some(currency),
                opened_by_contact_id: access.contact_id,
            },
            now,
        )
        .await?;
        requests_repo::insert_event(
            conn,
            request_id,
            &SlaEvent::new(
                now,
                SlaEventKind::Opened {
                    priority: Priority::Normal,
                },
            ),
        )
        .await?;
        let plan_id = repo::insert_plan(
            conn,
            &NewPlan {
                customer_id,
                request_id,
                currency,
                status: if terms.is_some() {
                    PlanStatus::Proposed
                } else {
                    PlanStatus::Requested
                },
                total_minor: invoices.iter().map(|l| l.covered_minor).sum(),
                terms: terms.map(|(t, _)| *t),
                proposed_by_contact_id: access.contact_id,
            },
            now,
        )
        .await?;
        let taken = || {
            ServiceError::Conflict(
                "One of the chosen invoices was put in another plan at the same moment. \
                 Reload the page and choose again."
                    .into(),
            )
        };
        for line in invoices {
            repo::insert_plan_invoice(conn, plan_id, line.invoice_id, line.covered_minor)
                .await
                .on_unique_violation(taken)?;
        }
        if let Some((_, schedule)) = terms {
            repo::insert_schedule(conn, plan_id, 1, schedule).await?;
        }
        Ok(plan_id)
    }

    /// The policy decided at once: the request is resolved (no outcome: the
    /// plan's status is the decision), the portal says why in the thread,
    /// and the plan records the event.
    async fn auto_decided(
        &self,
        conn: &mut Conn,
        plan_id: i64,
        request_id: i64,
        event: PlanEventKind,
        words: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        store_message(
            conn,
            request_id,
            AuthorKind::Staff,
            PORTAL_AUTHOR_ID,
            words,
            now,
        )
        .await?;
        requests_repo::close(conn, request_id, RequestStatus::Resolved, now).await?;
        requests_repo::insert_event(
            conn,
            request_id,
            &SlaEvent::new(now, SlaEventKind::Resolved),
        )
        .await?;
        repo::insert_plan_event(conn, plan_id, event, PlanActor::System, Some(words), now).await?;
        Ok(())
    }

    /// A payer or admin asks AR to propose a plan for chosen invoices, with
    /// a message: an open plan request in AR's queue. Returns the plan id.
    pub async fn ask_for_plan(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        invoice_ids: &[i64],
        message: &str,
        ip: Option<&str>,
    ) -> ServiceResult<i64> {
        require_plan_requester(access, customer_id)?;
        if message.trim().is_empty() {
            return Err(ServiceError::invalid_field(
                "message",
                "Write to AR what you could pay and when, so they can propose terms.",
            ));
        }
        let body = checked_message(message)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        if let Some(done) = self
            .same_proposal(&mut tx, access, customer_id, invoice_ids)
            .await?
        {
            return Ok(done.plan_id);
        }
        let (currency, invoices) = chosen_invoices(&mut tx, customer_id, invoice_ids).await?;
        let total_minor: i64 = invoices.iter().map(|l| l.covered_minor).sum();
        let plan_id = self
            .open_plan(&mut tx, access, customer_id, currency, &invoices, None, now)
            .await?;
        let request_id = repo::plan_by_id(&mut tx, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?
            .request_id;
        store_message(
            &mut tx,
            request_id,
            AuthorKind::Contact,
            access.contact_id,
            body,
            now,
        )
        .await?;
        repo::insert_plan_event(
            &mut tx,
            plan_id,
            PlanEventKind::Requested,
            PlanActor::Contact(access.contact_id),
            None,
            now,
        )
        .await?;
        let total = Money::new(total_minor, currency).display();
        self.mail_staff(
            &mut tx,
            request_id,
            &PlanStaffNews::Requested {
                total: &total,
                message: body,
            },
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                request_id,
                Action::PlanRequested,
                serde_json::json!({
                    "plan_id": plan_id,
                    "invoices": invoices.iter().map(|l| (l.invoice_id, l.covered_minor)).collect::<Vec<_>>(),
                    "total_minor": total_minor,
                    "currency": currency.code(),
                }),
                ip,
            ),
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(plan_id)
    }

    /// The account's plans, newest first, with what was paid and the next
    /// instalment (any member may read them).
    pub async fn customer_plans(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<Vec<ListedPlan>> {
        require_member(access, customer_id)?;
        let today = self.today();
        let mut tx = self.db.pool.begin().await?;
        let plans = repo::customer_plans(&mut tx, customer_id).await?;
        let mut listed = Vec::with_capacity(plans.len());
        for plan in plans {
            let invoices = repo::plan_invoices(&mut tx, plan.plan_id).await?;
            let schedule = repo::current_schedule(&mut tx, plan.plan_id).await?;
            let paid_minor = paid_of(&invoices);
            let standings = instalment_standings(&schedule, paid_minor, today);
            let next = plan
                .status
                .is_running()
                .then(|| next_instalment(&standings).copied())
                .flatten();
            listed.push(ListedPlan {
                invoice_numbers: invoices.into_iter().map(|i| i.number).collect(),
                paid_minor,
                next,
                plan,
            });
        }
        tx.commit().await?;
        Ok(listed)
    }

    /// One plan of the account: schedule with each instalment's standing,
    /// the next instalment, the terms (text and hash), acceptances, events
    /// and the customer-visible thread. Another account's plan is not found.
    pub async fn customer_plan(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        plan_id: i64,
    ) -> ServiceResult<CustomerPlanPage> {
        let membership = require_member(access, customer_id)?;
        let may_write = membership.role.can_pay();
        let customer_name = membership.customer_name.clone();
        let today = self.today();
        let mut tx = self.db.pool.begin().await?;
        let plan = repo::customer_plan(&mut tx, customer_id, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let invoices = repo::plan_invoices(&mut tx, plan_id).await?;
        let schedule = repo::current_schedule(&mut tx, plan_id).await?;
        let (terms_text, terms_hash) = if schedule.is_empty() {
            (None, None)
        } else {
            let (text, hash) = self.current_terms(&mut tx, plan_id).await?;
            (Some(text), Some(hash))
        };
        let acceptances = repo::acceptances(&mut tx, plan_id).await?;
        let events = repo::plan_events(&mut tx, plan_id).await?;
        let messages =
            requests_repo::messages(&mut tx, plan.request_id, Some(Visibility::Customer)).await?;
        let request = requests_repo::customer_request(&mut tx, customer_id, plan.request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        let paid_minor = paid_of(&invoices);
        let standings = instalment_standings(&schedule, paid_minor, today);
        let next = plan
            .status
            .is_running()
            .then(|| next_instalment(&standings).copied())
            .flatten();
        Ok(CustomerPlanPage {
            customer_name,
            may_write,
            plan,
            invoices,
            paid_minor,
            standings,
            next,
            terms_text,
            terms_hash,
            acceptances,
            events,
            messages,
            request_status: request.status,
        })
    }

    /// The customer accepts AR's counter: `terms_hash` is the hash of the
    /// terms the page showed. If AR changed the terms meanwhile nothing is
    /// accepted (a conflict saying so). Pressing twice is a no-op.
    pub async fn accept_plan_terms(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        plan_id: i64,
        terms_hash: &str,
        client: ClientInfo<'_>,
    ) -> ServiceResult<()> {
        require_plan_requester(access, customer_id)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let plan = repo::customer_plan(&mut tx, customer_id, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let (text, hash) = self.current_terms(&mut tx, plan_id).await?;
        if plan.status.is_running() {
            // A second press: these terms are already accepted.
            let accepted = repo::acceptances(&mut tx, plan_id).await?;
            if accepted.iter().any(|a| a.terms_hash == terms_hash.trim()) {
                return Ok(());
            }
        }
        if plan.status != PlanStatus::Countered {
            return Err(not_waiting(&plan));
        }
        if hash != terms_hash.trim() {
            return Err(ServiceError::Conflict(
                "AR changed the terms after you opened the page, so nothing was accepted. \
                 Read the new terms below and accept them if they suit you."
                    .into(),
            ));
        }
        if !repo::move_status(
            &mut tx,
            plan_id,
            &[PlanStatus::Countered],
            PlanStatus::Active,
            None,
            now,
        )
        .await?
        {
            return Err(not_waiting(&plan));
        }
        repo::insert_acceptance(
            &mut tx,
            &NewAcceptance {
                plan_id,
                terms_version: plan.terms_version,
                contact_id: access.contact_id,
                ip: client.ip,
                user_agent: client.user_agent,
                terms_hash: &hash,
                terms_text: &text,
            },
            now,
        )
        .await?;
        repo::insert_plan_event(
            &mut tx,
            plan_id,
            PlanEventKind::Accepted,
            PlanActor::Contact(access.contact_id),
            None,
            now,
        )
        .await?;
        close_request(&mut tx, plan.request_id, now).await?;
        self.mail_staff(&mut tx, plan.request_id, &PlanStaffNews::TermsAccepted, now)
            .await?;
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                plan.request_id,
                Action::PlanTermsAccepted,
                serde_json::json!({
                    "plan_id": plan_id,
                    "terms_version": plan.terms_version,
                    "terms_hash": hash,
                    "user_agent": client.user_agent,
                }),
                client.ip,
            ),
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// The customer declines AR's counter, optionally saying why: the plan
    /// is declined and its invoices are free again (they may propose anew).
    /// Pressing twice is a no-op.
    pub async fn decline_plan_terms(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        plan_id: i64,
        message: &str,
        ip: Option<&str>,
    ) -> ServiceResult<()> {
        require_plan_requester(access, customer_id)?;
        let body = message.trim();
        if !body.is_empty() {
            checked_message(body)?;
        }
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let plan = repo::customer_plan(&mut tx, customer_id, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if plan.status == PlanStatus::Declined {
            return Ok(());
        }
        if !repo::move_status(
            &mut tx,
            plan_id,
            &[PlanStatus::Countered],
            PlanStatus::Declined,
            Some("You declined AR's terms."),
            now,
        )
        .await?
        {
            return Err(not_waiting(&plan));
        }
        repo::release_invoices(&mut tx, plan_id, now).await?;
        if !body.is_empty() {
            store_message(
                &mut tx,
                plan.request_id,
                AuthorKind::Contact,
                access.contact_id,
                body,
                now,
            )
            .await?;
        }
        repo::insert_plan_event(
            &mut tx,
            plan_id,
            PlanEventKind::CounterDeclined,
            PlanActor::Contact(access.contact_id),
            (!body.is_empty()).then_some(body),
            now,
        )
        .await?;
        close_request(&mut tx, plan.request_id, now).await?;
        self.mail_staff(
            &mut tx,
            plan.request_id,
            &PlanStaffNews::TermsDeclined {
                message: (!body.is_empty()).then_some(body),
            },
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                plan.request_id,
                Action::PlanTermsDeclined,
                serde_json::json!({"plan_id": plan_id, "terms_version": plan.terms_version}),
                ip,
            ),
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// What the pay page offers for `?plan=`: the next instalment's
    /// outstanding amount spread over the plan's invoices, oldest due
    /// first, each at most what is payable on it now: (invoice id, amount).
    /// Empty when the plan is not running or nothing is left.
    pub async fn plan_pay_amounts(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        plan_id: i64,
    ) -> ServiceResult<Vec<(i64, i64)>> {
        require_member(access, customer_id)?;
        let today = self.today();
        let mut tx = self.db.pool.begin().await?;
        let plan = repo::customer_plan(&mut tx, customer_id, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let invoices = repo::plan_invoices(&mut tx, plan_id).await?;
        let schedule = repo::current_schedule(&mut tx, plan_id).await?;
        tx.commit().await?;
        if !plan.status.is_running() {
            return Ok(Vec::new());
        }
        let standings = instalment_standings(&schedule, paid_of(&invoices), today);
        let Some(next) = next_instalment(&standings) else {
            return Ok(Vec::new());
        };
        Ok(spread(next.left_minor, &invoices))
    }

    /// The terms text and hash of the plan's current schedule.
    pub(crate) async fn current_terms(
        &self,
        conn: &mut Conn,
        plan_id: i64,
    ) -> ServiceResult<(String, String)> {
        let plan = repo::plan_by_id(conn, plan_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let schedule = repo::current_schedule(conn, plan_id).await?;
        let invoices: Vec<(String, i64)> = repo::plan_invoices(conn, plan_id)
            .await?
            .into_iter()
            .map(|i| (i.number, i.covered_minor))
            .collect();
        let customer_name = crate::repo::accounts::customer_name_terms(conn, plan.customer_id)
            .await?
            .map(|(name, _)| name)
            .unwrap_or_default();
        let frequency = plan.frequency.ok_or_else(|| {
            ServiceError::invalid("This plan has no terms yet: AR has not proposed any.")
        })?;
        let text = terms_text(&TermsDocument {
            plan_id,
            terms_version: plan.terms_version,
            seller_name: &self.config.seller_name,
            customer_name: &customer_name,
            currency: plan.currency,
            total_minor: plan.total_minor,
            frequency,
            invoices: &invoices,
            schedule: &schedule,
        });
        let hash = terms_hash(&text);
        Ok((text, hash))
    }

    /// The running plan of each of the account's invoices that is in one:
    /// (invoice id, plan id). What "In plan" shows on invoice pages.
    pub async fn invoices_in_plan(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<BTreeMap<i64, i64>> {
        require_member(access, customer_id)?;
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::running_plans_of_invoices(&mut conn, customer_id)
            .await?
            .into_iter()
            .collect())
    }
}

/// Paid toward a plan from its invoices (released ones too: what was paid
/// while they were in the plan still counts for its history).
fn paid_of(invoices: &[PlanInvoiceRow]) -> i64 {
    let covered: Vec<CoveredInvoice> = invoices
        .iter()
        .map(|i| CoveredInvoice {
            covered_minor: i.covered_minor,
            balance_minor: i.balance_minor,
        })
        .collect();
    paid_toward_plan(&covered)
}

/// `amount` over the invoices in order, each at most its payable part now.
fn spread(amount: i64, invoices: &[PlanInvoiceRow]) -> Vec<(i64, i64)> {
    let mut left = amount;
    let mut out = Vec::new();
    for i in invoices.iter().filter(|i| i.released_at.is_none()) {
        if left == 0 {
            break;
        }
        let payable = payable_minor(i.balance_minor, i.pending_minor, i.disputed_minor);
        let take = left.min(payable);
        if take > 0 {
            out.push((i.invoice_id, take));
            left -= take;
        }
    }
    out
}

fn verdict_name(v: &PolicyVerdict) -> &'static str {
    match v {
        PolicyVerdict::Approve => "approve",
        PolicyVerdict::Queue { .. } => "queue",
        PolicyVerdict::Decline { .. } => "decline",
    }
}

/// Why a plan takes no answer from the customer now.
fn not_waiting(plan: &PlanRow) -> ServiceError {
    ServiceError::invalid(format!(
        "This plan is not waiting for your answer (it is {}).",
        plan.status.label().to_lowercase()
    ))
}

/// A message in a plan's thread, customer-visible.
pub(crate) async fn store_message(
    conn: &mut Conn,
    request_id: i64,
    author_kind: AuthorKind,
    author_id: i64,
    body: &str,
    now: DateTime<Utc>,
) -> ServiceResult<i64> {
    Ok(requests_repo::insert_message(
        conn,
        &NewMessage {
            request_id,
            author_kind,
            author_id,
            visibility: Visibility::Customer,
            body,
        },
        now,
    )
    .await?)
}

/// Resolves an open plan request (the SLA's resolution); nothing when it
/// was already closed.
pub(crate) async fn close_request(
    conn: &mut Conn,
    request_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    if requests_repo::close(conn, request_id, RequestStatus::Resolved, now).await? {
        requests_repo::insert_event(
            conn,
            request_id,
            &SlaEvent::new(now, SlaEventKind::Resolved),
        )
        .await?;
    }
    Ok(())
}

/// Mails about plans, queued in the caller's transaction.
impl Services {
    /// "your payment plan for INV-1001 and INV-1002" and the plan page.
    async fn plan_mail_context(
        &self,
        conn: &mut Conn,
        plan_id: i64,
    ) -> ServiceResult<Option<(PlanRow, String, String)>> {
        let Some(plan) = repo::plan_by_id(conn, plan_id).await? else {
            return Ok(None);
        };
        let numbers: Vec<String> = repo::plan_invoices(conn, plan_id)
            .await?
            .into_iter()
            .map(|i| i.number)
            .collect();
        let label = format!("your payment plan for {}", and_list(&numbers));
        let link = self
            .config
            .link(&format!("/accounts/{}/plans/{plan_id}", plan.customer_id));
        Ok(Some((plan, label, link)))
    }

    /// Tells the contact who proposed the plan what was decided (the
    /// policy's decisions; AR's own go through services::staff_plans).
    pub(crate) async fn mail_decision(
        &self,
        conn: &mut Conn,
        plan_id: i64,
        decision: &PlanDecision<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        self.mail_proposer(conn, plan_id, now, |e| plan_decision_email(e, decision))
            .await
    }

    /// Tells the contact who proposed the plan how it moved.
    async fn mail_progress(
        &self,
        conn: &mut Conn,
        plan_id: i64,
        progress: &PlanProgress<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        self.mail_proposer(conn, plan_id, now, |e| plan_progress_email(e, progress))
            .await
    }

    /// Queues the mail `render` writes to the plan's proposer, if they can
    /// still be written to.
    async fn mail_proposer(
        &self,
        conn: &mut Conn,
        plan_id: i64,
        now: DateTime<Utc>,
        render: impl FnOnce(&PlanDecisionEmail<'_>) -> RenderedEmail,
    ) -> ServiceResult<()> {
        let Some((plan, label, link)) = self.plan_mail_context(conn, plan_id).await? else {
            return Ok(());
        };
        let Some((name, email)) = self.plan_recipient(conn, &plan).await? else {
            return Ok(());
        };
        let message = render(&PlanDecisionEmail {
            seller_name: &self.config.seller_name,
            recipient_name: &name,
            plan_label: &label,
            link: &link,
        });
        outbox::enqueue(conn, now, message.addressed_to(&email)).await?;
        Ok(())
    }

    /// The proposer while they are still an active contact of the account
    /// (the request's opener, as for disputes).
    async fn plan_recipient(
        &self,
        conn: &mut Conn,
        plan: &PlanRow,
    ) -> ServiceResult<Option<(String, String)>> {
        Ok(requests_repo::notice_context(conn, plan.request_id)
            .await?
            .and_then(|c| c.opener))
    }

    /// Tells AR: the request's assignee, or every active staff user.
    pub(crate) async fn mail_staff(
        &self,
        conn: &mut Conn,
        request_id: i64,
        news: &PlanStaffNews<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        self.mail_request_staff(conn, request_id, now, |e| plan_staff_email(e, news))
            .await
    }
}

/// "INV-1", "INV-1 and INV-2", "INV-1, INV-2 and INV-3".
fn and_list(items: &[String]) -> String {
    match items {
        [] => "no invoices".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

// ---------------------------------------------------------------------------
// The plan job
// ---------------------------------------------------------------------------

impl Services {
    /// Moves every running plan as its standing on `now`'s date (UTC)
    /// calls for: completed, at risk, back on track, defaulted. Each move
    /// is its own transaction with its thread message, request change,
    /// plan event, audit event and mails, guarded by the status it moves
    /// from: a second run (or another instance at once) finds nothing to
    /// do. Returns the moves made.
    pub async fn run_plan_checks(&self, now: DateTime<Utc>) -> ServiceResult<Vec<PlanMoved>> {
        let ids = {
            let mut conn = self.db.pool.acquire().await?;
            repo::running_plan_ids(&mut conn).await?
        };
        let mut moved = Vec::new();
        for plan_id in ids {
            if let Some(to) = self.check_plan(plan_id, now).await? {
                moved.push(PlanMoved { plan_id, to });
            }
        }
        if !moved.is_empty() {
            self.outbox_wake.notify_one();
        }
        Ok(moved)
    }

    /// The plan job under its lease in `scheduled_jobs`: `None` when it is
    /// not due or another instance holds it. `portal serve` calls this
    /// every so often.
    pub async fn run_plan_checks_when_due(&self) -> ServiceResult<Option<Vec<PlanMoved>>> {
        self.run_when_due(
            ScheduledJob::PlanChecks,
            PLAN_JOB_LEASE,
            PLAN_JOB_INTERVAL,
            async |now| self.run_plan_checks(now).await,
        )
        .await
    }

    async fn check_plan(
        &self,
        plan_id: i64,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<PlanStatus>> {
        // Most plans have nothing to do: read without the write lock first
        // (SQLite has one writer), and read again inside the transaction.
        {
            let mut conn = self.db.pool.acquire().await?;
            if plan_step(&mut conn, plan_id, now).await?.is_none() {
                return Ok(None);
            }
        }
        let mut tx = self.db.begin_write().await?;
        let Some(PlanStep {
            plan,
            limits,
            invoices,
            standings,
            step,
        }) = plan_step(&mut tx, plan_id, now).await?
        else {
            return Ok(None);
        };
        let from: &[PlanStatus] = match step {
            PlanMove::AtRisk => &[PlanStatus::Active],
            PlanMove::BackOnTrack => &[PlanStatus::AtRisk],
            PlanMove::Complete | PlanMove::Default => &[PlanStatus::Active, PlanStatus::AtRisk],
        };
        let late = days_late(&standings);
        let left = next_instalment(&standings).map_or(0, |s| s.left_minor);
        let late_text = Money::new(left, plan.currency).display();
        let open_balance: i64 = invoices
            .iter()
            .filter(|i| i.released_at.is_none())
            .map(|i| i.balance_minor)
            .sum();
        let balance_text = Money::new(open_balance, plan.currency).display();
        let note = match step {
            PlanMove::Default => Some(format!(
                "An instalment stayed unpaid {late} days, past the limit of {} days.",
                limits.default_after_days
            )),
            _ => None,
        };
        if !repo::move_status(&mut tx, plan_id, from, step.to(), note.as_deref(), now).await? {
            return Ok(None);
        }
        let (event, words) = match step {
            PlanMove::Complete => (
                PlanEventKind::Completed,
                "The plan is paid in full and completed. Thank you.".to_owned(),
            ),
            PlanMove::AtRisk => (
                PlanEventKind::AtRisk,
                format!(
                    "The plan is at risk: an instalment is {late} days late ({late_text} still to pay). \
                     Please pay it, or write here if you cannot."
                ),
            ),
            PlanMove::BackOnTrack => (
                PlanEventKind::BackOnTrack,
                "The plan has caught up and is active again.".to_owned(),
            ),
            PlanMove::Default => (
                PlanEventKind::Defaulted,
                format!(
                    "The plan has defaulted: an instalment stayed unpaid {late} days. \
                     The invoices left the plan and their balance of {balance_text} is due again."
                ),
            ),
        };
        store_message(
            &mut tx,
            plan.request_id,
            AuthorKind::Staff,
            PORTAL_AUTHOR_ID,
            &words,
            now,
        )
        .await?;
        repo::insert_plan_event(
            &mut tx,
            plan_id,
            event,
            PlanActor::System,
            Some(&words),
            now,
        )
        .await?;
        match step {
            PlanMove::Complete => {
                repo::release_invoices(&mut tx, plan_id, now).await?;
                self.mail_progress(&mut tx, plan_id, &PlanProgress::Completed, now)
                    .await?;
            }
            PlanMove::AtRisk => {
                // Back in AR's queue: the request opens again.
                reopen_request(&mut tx, plan.request_id, now).await?;
                self.mail_progress(
                    &mut tx,
                    plan_id,
                    &PlanProgress::AtRisk {
                        late: &late_text,
                        days_late: late,
                    },
                    now,
                )
                .await?;
                self.mail_staff(
                    &mut tx,
                    plan.request_id,
                    &PlanStaffNews::AtRisk {
                        late: &late_text,
                        days_late: late,
                    },
                    now,
                )
                .await?;
            }
            PlanMove::BackOnTrack => {
                self.mail_progress(&mut tx, plan_id, &PlanProgress::BackOnTrack, now)
                    .await?;
            }
            PlanMove::Default => {
                repo::release_invoices(&mut tx, plan_id, now).await?;
                reopen_request(&mut tx, plan.request_id, now).await?;
                self.mail_progress(
                    &mut tx,
                    plan_id,
                    &PlanProgress::Defaulted {
                        balance: &balance_text,
                    },
                    now,
                )
                .await?;
                self.mail_staff(
                    &mut tx,
                    plan.request_id,
                    &PlanStaffNews::Defaulted {
                        balance: &balance_text,
                    },
                    now,
                )
                .await?;
            }
        }
        audit::record(
            &mut tx,
            now,
            AuditEvent {
                actor_kind: "system",
                actor_id: None,
                customer_id: Some(plan.customer_id),
                action: Action::PlanStatusChanged,
                detail: serde_json::json!({
                    "plan_id": plan_id,
                    "from": plan.status.as_str(),
                    "to": step.to().as_str(),
                    "days_late": late,
                }),
                ip: None,
                subject: Some(format!("request:{}", plan.request_id)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(step.to()))
    }
}

/// A running plan the job must move, with what the move needs.
struct PlanStep {
    plan: PlanRow,
    limits: crate::domain::plan::PlanLimits,
    invoices: Vec<PlanInvoiceRow>,
    standings: Vec<InstalmentStanding>,
    step: PlanMove,
}

/// The move the plan's standing on `now`'s date (UTC) calls for, if any.
async fn plan_step(
    conn: &mut Conn,
    plan_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<Option<PlanStep>> {
    let Some(plan) = repo::plan_by_id(conn, plan_id).await? else {
        return Ok(None);
    };
    let limits = repo::limits(conn).await?;
    let invoices = repo::plan_invoices(conn, plan_id).await?;
    let schedule = repo::current_schedule(conn, plan_id).await?;
    let standings = instalment_standings(&schedule, paid_of(&invoices), now.date_naive());
    Ok(
        plan_move(plan.status, &standings, limits).map(|step| PlanStep {
            plan,
            limits,
            invoices,
            standings,
            step,
        }),
    )
}

/// A resolved plan request back in AR's queue (SLA `reopened`); nothing
/// when it is still open.
async fn reopen_request(conn: &mut Conn, request_id: i64, now: DateTime<Utc>) -> ServiceResult<()> {
    if requests_repo::reopen(conn, request_id).await? {
        requests_repo::insert_event(
            conn,
            request_id,
            &SlaEvent::new(now, SlaEventKind::Reopened),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(id: i64, balance: i64, pending: i64, disputed: i64) -> PlanInvoiceRow {
        PlanInvoiceRow {
            invoice_id: id,
            number: format!("INV-{id}"),
            due_date: NaiveDate::from_ymd_opt(2026, 11, id as u32).unwrap(),
            covered_minor: balance,
            balance_minor: balance,
            pending_minor: pending,
            disputed_minor: disputed,
            released_at: None,
        }
    }

    #[test]
    fn the_next_instalment_is_spread_oldest_first_over_what_is_payable() {
        let invoices = [invoice(1, 1_000, 600, 0), invoice(2, 5_000, 0, 1_000)];
        assert_eq!(spread(2_000, &invoices), vec![(1, 400), (2, 1_600)]);
        assert_eq!(spread(300, &invoices), vec![(1, 300)]);
        assert_eq!(spread(99_999, &invoices), vec![(1, 400), (2, 4_000)]);
    }

    #[test]
    fn lists_read_as_words() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&s(&["A"])), "A");
        assert_eq!(and_list(&s(&["A", "B", "C"])), "A, B and C");
    }
}
