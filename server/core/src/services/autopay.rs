//! Autopay (issue 12 item 5): the customer's enrolment with its versioned
//! consent, the notice before each debit with its skip link, and the job
//! that charges saved methods off-session.
//!
//! Never charging twice rests on three things. (1) A charge attempt is a
//! row unique by (target, attempt) and by its idempotency key
//! `autopay:<target>:<attempt>`, inserted in the transaction that creates
//! the pending payment holding the money (as "Pay" does), under the
//! account's lock, before the gateway is called: two runs or two
//! instances cannot both insert it. (2) The gateway is called with that
//! key: a crash or a 500 between commit and answer leaves the row
//! `requested`, and a later run (once the caller's lease ran out) asks
//! again with the same key, so Stripe answers the same PaymentIntent.
//! (3) The answer is recorded with a guarded `UPDATE … WHERE status =
//! 'requested'` in the transaction that applies it to the ledger (through
//! the webhook code), so it is applied once.
//!
//! Targets: every open invoice of the account (scope `all`), those whose
//! payable amount is at most the cap (`up_to`), or plan instalments
//! (`plan`, see `plan_targets`). Never charged: disputed amounts (at most
//! the payable part is), invoices paid or with a payment in progress,
//! invoices under a promise to pay, a debit the customer skipped, and
//! never more than the notice announced.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use super::Services;
use crate::domain::audit::Action;
use crate::domain::payment_state::payable_minor;
use crate::domain::{ContactRole, Currency, Money};
use crate::email::templates::{autopay_notice_email, AutopayNoticeEmail};
use crate::error::{ServiceError, ServiceResult};
use crate::payments::event::PAYMENT_ID_METADATA;
use crate::payments::{
    GatewayError, OffSessionCharge, OffSessionOutcome, OffSessionRequest, PayMethod,
    AUTOPAY_METADATA,
};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::autopay::{self as repo, ActiveEnrolment, Charge, ChargeAnswer, Enrolment};
use crate::repo::leases::ScheduledJob;
use crate::repo::ledger::{self, NewPayment};
use crate::repo::{accounts, invoices, outbox, payment_methods, Conn};

/// The consent text's version: bump it whenever the words change, so each
/// enrolment says which words the customer agreed to.
pub const CONSENT_VERSION: i64 = 1;

/// How often `portal serve` runs the job.
pub const AUTOPAY_INTERVAL: Duration = Duration::minutes(5);
/// How long an instance holds the job.
const JOB_LEASE: Duration = Duration::minutes(10);
/// How long a run may take to get the gateway's answer to one charge
/// before another run asks again (with the same key).
const CHARGE_LEASE: Duration = Duration::minutes(10);
/// Notices go out this many days before the debit, and a debit is never
/// made sooner than this after its notice.
pub const NOTICE_DAYS: i64 = 2;
/// A soft decline is tried again at most twice: attempt 2 two days after
/// attempt 1, attempt 3 two days after that.
pub(crate) const MAX_ATTEMPTS: i64 = 3;
const RETRY_AFTER: Duration = Duration::days(2);
/// Stripe keeps an idempotency key for at least 24 hours: past this, a
/// charge still without an answer is not asked again (a new request under
/// a pruned key could charge twice). It is abandoned and never retried.
const ANSWER_PATIENCE: Duration = Duration::hours(23);

/// What autopay covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutopayScope {
    /// The instalments of the account's payment plans.
    Plan,
    /// Every open invoice.
    All,
    /// Invoices whose payable amount is at most this much (others are
    /// left for the customer to pay).
    UpTo(Money),
}

impl AutopayScope {
    pub fn key(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::All => "all",
            Self::UpTo(_) => "up_to",
        }
    }

    pub fn words(self) -> String {
        match self {
            Self::Plan => "each instalment of my payment plans when it falls due".into(),
            Self::All => "every invoice when it falls due".into(),
            Self::UpTo(max) => format!(
                "every invoice of at most {} when it falls due",
                max.display()
            ),
        }
    }

    fn of(e: &Enrolment) -> Option<Self> {
        Some(match (e.scope.as_str(), e.max_minor, e.max_currency) {
            ("plan", _, _) => Self::Plan,
            ("all", _, _) => Self::All,
            ("up_to", Some(minor), Some(currency)) => Self::UpTo(Money::new(minor, currency)),
            _ => return None,
        })
    }
}

/// The consent text shown above the enrolment form's "I agree" box and
/// stored, word for word, with the enrolment (the choices of the form are
/// stored beside it: scope, cap, method, days before).
pub fn consent_text(seller: &str, customer: &str) -> String {
    format!(
        "I authorize {seller} to charge the saved payment method chosen on this form for the invoices \
         or plan instalments of {customer} covered by the scope chosen on this form, on their due date or the \
         chosen number of days before. I will get an email at least {NOTICE_DAYS} days before each \
         charge, with a link to skip that charge. Disputed amounts and invoices already paid or being \
         paid are never charged. A declined charge may be tried again at most twice over 4 days. I can \
         cancel autopay at any time in the portal; canceling does not undo charges already made. \
         (Autopay terms, version {CONSENT_VERSION}.)"
    )
}

/// The enrolment form as typed.
#[derive(Clone, Debug, Default)]
pub struct EnrolmentDraft {
    pub scope: String,
    pub max_amount: String,
    pub max_currency: String,
    pub days_before: String,
    pub method_id: String,
    /// The box "I agree" ticked.
    pub agreed: bool,
    /// The consent version the page showed.
    pub consent_version: String,
}

/// The autopay page's facts.
#[derive(Clone, Debug)]
pub struct AutopayOverview {
    pub customer_name: String,
    pub can_manage: bool,
    pub enrolment: Option<Enrolment>,
    pub methods: Vec<payment_methods::SavedMethod>,
    pub charges: Vec<Charge>,
    pub plans_available: bool,
}

/// The skip page's facts (no more than the email said).
#[derive(Clone, Debug)]
pub struct SkipView {
    pub customer_name: String,
    /// "invoice INV-1042".
    pub what: String,
    /// The charge has started (too late to skip).
    pub started: bool,
    pub notice: repo::Notice,
}

/// What one run of the job did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutopayRun {
    pub notices: usize,
    /// Gateway calls made (new attempts and repeated ones).
    pub gateway_calls: usize,
    pub succeeded: usize,
    pub declined: usize,
}

/// A debit to make: what, how much at most, and on which planned date.
#[derive(Clone, Debug)]
struct Target {
    key: String,
    /// The invoices the money goes to, in order (oldest due first): one
    /// for an invoice, the plan's for an instalment.
    invoice_ids: Vec<i64>,
    what: String,
    currency: Currency,
    /// Due date less the days before.
    debit_date: NaiveDate,
    payable_minor: i64,
}

/// An invoice under an open promise to pay (issue 13) is never charged:
/// the customer said when they will pay. `promised` is the account's
/// invoices under an open promise (`Services::promised_invoices`); a
/// promise stays open until the reminder job judges it after its day.
fn under_promise_to_pay(
    promised: &std::collections::HashMap<i64, NaiveDate>,
    invoice_id: i64,
) -> bool {
    promised.contains_key(&invoice_id)
}

impl Services {
    /// The contact's role on the account (404 when not a member).
    async fn autopay_role(
        &self,
        conn: &mut Conn,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<(String, ContactRole)> {
        accounts::memberships(conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .map(|m| (m.customer_name, m.role))
            .ok_or(ServiceError::NotFound)
    }

    /// Payers and admins manage saved methods and autopay.
    pub(crate) async fn require_autopay_manager(
        &self,
        conn: &mut Conn,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<String> {
        let (name, role) = self.autopay_role(conn, contact_id, customer_id).await?;
        if !role.can_pay() {
            return Err(ServiceError::Forbidden(format!(
                "Your role on {name} lets you view invoices but not pay them, so you cannot manage saved methods or autopay. An admin of the account can give you the payer role."
            )));
        }
        Ok(name)
    }

    /// The autopay page: the enrolment, methods to choose from, last charges.
    pub async fn autopay_overview(
        &self,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<AutopayOverview> {
        let mut conn = self.db.pool.acquire().await?;
        let (customer_name, role) = self
            .autopay_role(&mut conn, contact_id, customer_id)
            .await?;
        Ok(AutopayOverview {
            customer_name,
            can_manage: role.can_pay(),
            enrolment: repo::active_enrolment(&mut conn, customer_id).await?,
            methods: payment_methods::live_methods(&mut conn, customer_id).await?,
            charges: repo::recent_charges(&mut conn, customer_id, 20).await?,
            plans_available: false,
        })
    }

    /// "Turn on autopay": checks the form and stores the enrolment with
    /// the consent text exactly as shown, who agreed, when and from where.
    /// Pressing twice enrols once (one active enrolment per customer).
    pub async fn enrol_autopay(
        &self,
        contact_id: i64,
        customer_id: i64,
        draft: &EnrolmentDraft,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> ServiceResult<i64> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let customer_name = self
            .require_autopay_manager(&mut tx, contact_id, customer_id)
            .await?;
        if let Some(existing) = repo::active_enrolment(&mut tx, customer_id).await? {
            tx.rollback().await?;
            return Ok(existing.enrolment_id);
        }
        let scope = match draft.scope.as_str() {
            "all" => AutopayScope::All,
            "plan" => AutopayScope::Plan,
            "up_to" => {
                let currency = Currency::parse(draft.max_currency.trim()).map_err(|_| {
                    ServiceError::invalid_field("max_currency", "Choose the currency of the maximum.")
                })?;
                let max = Money::parse_amount(&draft.max_amount, currency).map_err(|e| {
                    ServiceError::invalid_field("max_amount", format!("Maximum per invoice: {e}."))
                })?;
                if max.minor <= 0 {
                    return Err(ServiceError::invalid_field(
                        "max_amount",
                        "Enter a maximum per invoice above zero.",
                    ));
                }
                AutopayScope::UpTo(max)
            }
            _ => {
                return Err(ServiceError::invalid_field(
                    "scope",
                    "Choose what autopay pays: plan instalments, all invoices, or invoices up to a maximum.",
                ))
            }
        };
        let days_before: i64 = match draft.days_before.trim().parse() {
            Ok(n) if (0..=10).contains(&n) => n,
            _ => {
                return Err(ServiceError::invalid_field(
                    "days_before",
                    "Choose when to pay: on the due date or 1 to 10 days before.",
                ))
            }
        };
        let method = match draft.method_id.trim().parse::<i64>() {
            Ok(id) => payment_methods::method(&mut tx, customer_id, id)
                .await?
                .filter(|m| !m.removed),
            Err(_) => None,
        }
        .ok_or_else(|| {
            ServiceError::invalid_field("method_id", "Choose one of your saved payment methods.")
        })?;
        if let AutopayScope::UpTo(max) = scope {
            if method.kind == "ach" && max.currency.code() != "USD" {
                return Err(ServiceError::invalid_field(
                    "max_currency",
                    "A bank account pays USD invoices only: set the maximum in USD or choose a card.",
                ));
            }
        }
        if draft.consent_version.trim() != CONSENT_VERSION.to_string() {
            return Err(ServiceError::invalid(
                "The autopay terms changed since the page was shown: read them again below and agree.",
            ));
        }
        if !draft.agreed {
            return Err(ServiceError::invalid_field(
                "agree",
                "Tick the box to agree to the autopay terms, or leave autopay off.",
            ));
        }
        let text = consent_text(&self.config.seller_name, &customer_name);
        let (max_minor, max_currency) = match scope {
            AutopayScope::UpTo(max) => (Some(max.minor), Some(max.currency)),
            _ => (None, None),
        };
        let new = repo::NewEnrolment {
            customer_id,
            contact_id,
            method_id: method.method_id,
            scope: scope.key(),
            max_minor,
            max_currency,
            days_before,
            consent_version: CONSENT_VERSION,
            consent_text: &text,
            ip,
            user_agent: user_agent.map(|ua| truncate(ua, 500)),
        };
        let enrolment_id = match repo::insert_enrolment(&mut tx, &new, now).await {
            Ok(id) => id,
            Err(e) if ledger::is_unique_violation(&e) => {
                // Two presses at once: the other one enrolled.
                tx.rollback().await?;
                let mut conn = self.db.pool.acquire().await?;
                return repo::active_enrolment(&mut conn, customer_id)
                    .await?
                    .map(|e| e.enrolment_id)
                    .ok_or_else(|| ServiceError::Conflict("Try again.".into()));
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            &mut tx,
            now,
            account_audit(
                contact_id,
                customer_id,
                Action::AutopayEnrolled,
                json!({"enrolment_id": enrolment_id, "scope": scope.key(), "days_before": days_before,
                       "method_id": method.method_id, "consent_version": CONSENT_VERSION}),
                ip,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(enrolment_id)
    }

    /// "Turn off autopay". Charges already requested finish; nothing new
    /// starts. Pressing twice is harmless.
    pub async fn cancel_autopay(
        &self,
        contact_id: i64,
        customer_id: i64,
        ip: Option<&str>,
    ) -> ServiceResult<bool> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        self.require_autopay_manager(&mut tx, contact_id, customer_id)
            .await?;
        let canceled = repo::cancel_enrolment(&mut tx, customer_id, contact_id, now).await?;
        if canceled {
            audit::record(
                &mut tx,
                now,
                account_audit(
                    contact_id,
                    customer_id,
                    Action::AutopayCanceled,
                    json!({}),
                    ip,
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(canceled)
    }

    /// The debit a skip link names. The link's token alone is the
    /// capability (256 random bits, stored hashed, good for this one
    /// debit, and all it can do is leave money where it is), so someone
    /// who opens the email's link without being signed in can use it.
    pub async fn autopay_notice_for_skip(&self, token: &str) -> ServiceResult<SkipView> {
        let hash = crate::domain::token::parse_and_hash(token).ok_or(ServiceError::NotFound)?;
        let mut conn = self.db.pool.acquire().await?;
        let notice = repo::notice_by_token_hash(&mut conn, &hash)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let started = !repo::charges_of_target(&mut conn, &notice.target)
            .await?
            .is_empty();
        let customer_name = accounts::customer_name_terms(&mut conn, notice.customer_id)
            .await?
            .map(|(name, _)| name)
            .unwrap_or_default();
        let what = match notice.target.split_once(':') {
            Some(("invoice", id)) => {
                let id: i64 = id.parse().unwrap_or_default();
                crate::repo::ledger::payable_invoices(
                    &mut conn,
                    self.db.backend(),
                    notice.customer_id,
                    &[id],
                    false,
                )
                .await?
                .first()
                .map(|i| format!("invoice {}", i.number))
                .unwrap_or_else(|| "an invoice".into())
            }
            _ => "a payment plan instalment".into(),
        };
        Ok(SkipView {
            customer_name,
            what,
            started,
            notice,
        })
    }

    /// "Skip this payment": that one debit is not made (autopay stays on).
    /// Too late once its charge has started. Pressing twice is harmless.
    pub async fn skip_autopay_debit(
        &self,
        contact_id: Option<i64>,
        token: &str,
        ip: Option<&str>,
    ) -> ServiceResult<SkipView> {
        let view = self.autopay_notice_for_skip(token).await?;
        let notice = &view.notice;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        // Under the account's lock, as the job's charge is: either the
        // skip lands first and no charge starts, or the charge did.
        ledger::lock_customer(&mut tx, self.db.backend(), notice.customer_id).await?;
        if !notice.skipped
            && !repo::charges_of_target(&mut tx, &notice.target)
                .await?
                .is_empty()
        {
            tx.rollback().await?;
            return Err(ServiceError::invalid(
                "This payment has already been made or started, so it can no longer be skipped.",
            ));
        }
        // A signed-in member is named in the record; anyone else used the link.
        let member = match contact_id {
            Some(id) => accounts::memberships(&mut tx, id)
                .await?
                .iter()
                .any(|m| m.customer_id == notice.customer_id)
                .then_some(id),
            None => None,
        };
        if repo::skip_notice(&mut tx, notice.notice_id, member, now).await? {
            audit::record(
                &mut tx,
                now,
                AuditEvent {
                    actor_kind: if member.is_some() {
                        "contact"
                    } else {
                        "anonymous"
                    },
                    actor_id: member,
                    customer_id: Some(notice.customer_id),
                    action: Action::AutopayDebitSkipped,
                    detail: json!({"notice_id": notice.notice_id, "target": notice.target}),
                    ip,
                    subject: Some(format!("customer:{}", notice.customer_id)),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(SkipView {
            notice: repo::Notice {
                skipped: true,
                ..view.notice.clone()
            },
            ..view
        })
    }

    /// `portal serve`'s runs: the job under its lease, so one instance of
    /// several runs it each interval. `None` when another holds it or it
    /// is not due.
    pub async fn run_autopay_when_due(&self) -> ServiceResult<Option<AutopayRun>> {
        self.run_when_due(
            ScheduledJob::Autopay,
            JOB_LEASE,
            AUTOPAY_INTERVAL,
            async |now| self.run_autopay(now).await,
        )
        .await
    }

    /// One run of the job: asks again about unanswered charges, sends due
    /// notices, makes due debits and due retries. Safe to run many times
    /// and on several instances at once.
    pub async fn run_autopay(&self, now: DateTime<Utc>) -> ServiceResult<AutopayRun> {
        let mut run = AutopayRun::default();
        let enrolments = {
            let mut conn = self.db.pool.acquire().await?;
            repo::active_enrolments(&mut conn).await?
        };
        // Charges left without an answer (a crash, a 500, a timeout).
        let unanswered = {
            let mut conn = self.db.pool.acquire().await?;
            repo::unanswered_charges(&mut conn, now).await?
        };
        for charge in unanswered {
            let mut conn = self.db.pool.acquire().await?;
            if !repo::lease_charge(&mut conn, charge.charge_id, now, now + CHARGE_LEASE).await? {
                continue; // another run is asking
            }
            drop(conn);
            if now - charge.created_at > ANSWER_PATIENCE {
                self.abandon_charge(&charge).await?;
                continue;
            }
            let Some(ctx) = self.charge_context(&charge).await? else {
                continue;
            };
            run.gateway_calls += 1;
            self.call_gateway(&ctx, &charge, &mut run).await?;
        }
        for active in &enrolments {
            if let Err(e) = self.autopay_enrolment(active, now, &mut run).await {
                // One account's trouble must not stop the others.
                e.log("autopay");
            }
        }
        Ok(run)
    }

    async fn autopay_enrolment(
        &self,
        active: &ActiveEnrolment,
        now: DateTime<Utc>,
        run: &mut AutopayRun,
    ) -> ServiceResult<()> {
        let e = &active.enrolment;
        let Some(scope) = AutopayScope::of(e) else {
            return Ok(());
        };
        // A removed method, or one saved at another gateway (the portal
        // moved from the sandbox to Stripe): nothing can be charged.
        if active.method_removed || active.gateway_customer_id.is_none() {
            return Ok(());
        }
        let today = now.date_naive();
        let targets = match scope {
            AutopayScope::Plan => self.plan_targets(active, today).await?,
            AutopayScope::All | AutopayScope::UpTo(_) => {
                self.invoice_targets(active, scope, today).await?
            }
        };
        for target in targets {
            let charges = {
                let mut conn = self.db.pool.acquire().await?;
                repo::charges_of_target(&mut conn, &target.key).await?
            };
            match charges.last() {
                None => {
                    let notice = {
                        let mut conn = self.db.pool.acquire().await?;
                        repo::notice(&mut conn, &target.key, target.debit_date).await?
                    };
                    match notice {
                        None if today >= target.debit_date - Duration::days(NOTICE_DAYS) => {
                            if self.send_notice(active, &target, now).await? {
                                run.notices += 1;
                            }
                        }
                        Some(n) if !n.skipped && today >= n.charge_on => {
                            let amount = target.payable_minor.min(n.amount_minor);
                            self.start_charge(active, &target, 1, amount, now, run)
                                .await?;
                        }
                        _ => {}
                    }
                }
                // A soft decline is tried again when its time comes.
                Some(last)
                    if last.status == "declined"
                        && last.hard_decline == Some(false)
                        && last.attempt < MAX_ATTEMPTS
                        && last.retry_at.is_some_and(|at| at <= now) =>
                {
                    let amount = target.payable_minor.min(charges[0].amount_minor);
                    self.start_charge(active, &target, last.attempt + 1, amount, now, run)
                        .await?;
                }
                // Charged, being charged, hard declined, out of attempts,
                // or abandoned: never again by autopay.
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Unpaid instalments of the account's running plans (active or at
    /// risk) whose debit date is at most the notice period away. What is
    /// left of an instalment is what the plan's standing says (any payment
    /// counts), at most what its invoices can take now. A plan with a
    /// payment in progress on one of its invoices waits for it.
    async fn plan_targets(
        &self,
        active: &ActiveEnrolment,
        today: NaiveDate,
    ) -> ServiceResult<Vec<Target>> {
        use crate::domain::plan::{instalment_standings, paid_toward_plan, CoveredInvoice};
        use crate::repo::plans as plans_repo;
        let e = &active.enrolment;
        let horizon = today + Duration::days(e.days_before + NOTICE_DAYS);
        let method = PayMethod::parse(&active.method_kind).unwrap_or(PayMethod::Card);
        let promised = self.promised_invoices(e.customer_id).await?;
        let mut conn = self.db.pool.acquire().await?;
        let mut targets = Vec::new();
        for plan in plans_repo::customer_plans(&mut conn, e.customer_id).await? {
            if !plan.status.is_running() || !method.available_for(plan.currency) {
                continue;
            }
            let invoices = plans_repo::plan_invoices(&mut conn, plan.plan_id).await?;
            let held: Vec<_> = invoices
                .iter()
                .filter(|i| i.released_at.is_none())
                .collect();
            if held
                .iter()
                .any(|i| i.pending_minor > 0 || under_promise_to_pay(&promised, i.invoice_id))
            {
                continue;
            }
            let payable: i64 = held
                .iter()
                .map(|i| payable_minor(i.balance_minor, i.pending_minor, i.disputed_minor))
                .sum();
            let paid = paid_toward_plan(
                &invoices
                    .iter()
                    .map(|i| CoveredInvoice {
                        covered_minor: i.covered_minor,
                        balance_minor: i.balance_minor,
                    })
                    .collect::<Vec<_>>(),
            );
            let schedule = plans_repo::current_schedule(&mut conn, plan.plan_id).await?;
            let mut room = payable;
            for s in instalment_standings(&schedule, paid, today) {
                let due = s.instalment.due_date;
                if s.left_minor == 0 || due > horizon {
                    continue;
                }
                let amount = s.left_minor.min(room);
                room -= amount;
                if amount == 0 {
                    continue;
                }
                targets.push(Target {
                    key: format!("instalment:{}:{}", plan.plan_id, s.instalment.seq),
                    invoice_ids: held.iter().map(|i| i.invoice_id).collect(),
                    what: if s.instalment.seq == 0 {
                        format!("the down payment of payment plan {}", plan.plan_id)
                    } else {
                        format!(
                            "instalment {} of payment plan {}",
                            s.instalment.seq, plan.plan_id
                        )
                    },
                    currency: plan.currency,
                    debit_date: due - Duration::days(e.days_before),
                    payable_minor: amount,
                });
            }
        }
        Ok(targets)
    }

    /// Open invoices whose debit date is at most the notice period away,
    /// less those autopay must not touch.
    async fn invoice_targets(
        &self,
        active: &ActiveEnrolment,
        scope: AutopayScope,
        today: NaiveDate,
    ) -> ServiceResult<Vec<Target>> {
        let e = &active.enrolment;
        let horizon = today + Duration::days(e.days_before + NOTICE_DAYS);
        let invoices = {
            let mut conn = self.db.pool.acquire().await?;
            repo::open_invoices_due_by(&mut conn, e.customer_id, horizon).await?
        };
        let promised = self.promised_invoices(e.customer_id).await?;
        let method = PayMethod::parse(&active.method_kind).unwrap_or(PayMethod::Card);
        Ok(invoices
            .into_iter()
            .filter(|i| method.available_for(i.currency))
            // A payment in progress (a checkout, an ACH debit, another
            // autopay charge) holds part of it: leave it alone.
            .filter(|i| i.pending_minor == 0)
            .filter(|i| !under_promise_to_pay(&promised, i.invoice_id))
            .filter_map(|i| {
                let payable = payable_minor(i.balance_minor, i.pending_minor, i.disputed_minor);
                let within_cap = match scope {
                    AutopayScope::UpTo(max) => max.currency == i.currency && payable <= max.minor,
                    _ => true,
                };
                (payable > 0 && within_cap).then(|| Target {
                    key: format!("invoice:{}", i.invoice_id),
                    invoice_ids: vec![i.invoice_id],
                    what: format!("invoice {}", i.number),
                    currency: i.currency,
                    debit_date: i.due_date - Duration::days(e.days_before),
                    payable_minor: payable,
                })
            })
            .collect())
    }

    /// The notice of one debit, with its skip link, in one transaction
    /// with its email; `false` if another run sent it.
    async fn send_notice(
        &self,
        active: &ActiveEnrolment,
        target: &Target,
        now: DateTime<Utc>,
    ) -> ServiceResult<bool> {
        let e = &active.enrolment;
        let today = now.date_naive();
        let charge_on = target.debit_date.max(today + Duration::days(NOTICE_DAYS));
        let token = crate::domain::token::mint_token();
        let mut tx = self.db.begin_write().await?;
        let sent = repo::insert_notice(
            &mut tx,
            &repo::NewNotice {
                enrolment_id: e.enrolment_id,
                customer_id: e.customer_id,
                target: &target.key,
                debit_date: target.debit_date,
                charge_on,
                amount_minor: target.payable_minor,
                currency: target.currency,
                skip_token_hash: &token.hash,
            },
            now,
        )
        .await?;
        if !sent {
            tx.rollback().await?;
            return Ok(false);
        }
        let amount = Money::new(target.payable_minor, target.currency).display();
        let email = autopay_notice_email(&AutopayNoticeEmail {
            seller_name: &self.config.seller_name,
            customer_name: &active.customer_name,
            what: &target.what,
            amount: &amount,
            method: &active.method_label,
            charge_on: &charge_on.format("%B %-d, %Y").to_string(),
            skip_link: &self.config.link(&format!("/autopay/skip/{}", token.plain)),
            autopay_link: &self
                .config
                .link(&format!("/accounts/{}/autopay", e.customer_id)),
        });
        outbox::enqueue(
            &mut tx,
            now,
            outbox::NewEmail {
                to: &active.contact_email,
                subject: &email.subject,
                text_body: &email.text_body,
                html_body: &email.html_body,
            },
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(true)
    }

    /// Attempt `attempt` of a target: the pending payment holding the
    /// money and the charge row in one transaction under the account's
    /// lock, then the gateway.
    async fn start_charge(
        &self,
        active: &ActiveEnrolment,
        target: &Target,
        attempt: i64,
        amount_minor: i64,
        now: DateTime<Utc>,
        run: &mut AutopayRun,
    ) -> ServiceResult<()> {
        let e = &active.enrolment;
        let key = format!("autopay:{}:{attempt}", target.key);
        let mut tx = self.db.begin_write().await?;
        ledger::lock_customer(&mut tx, self.db.backend(), e.customer_id).await?;
        // Everything checked again under the lock: another instance, a
        // "Pay" press or a cancel may have come first.
        let still_enrolled = repo::active_enrolment(&mut tx, e.customer_id)
            .await?
            .is_some_and(|now_active| now_active.enrolment_id == e.enrolment_id);
        let already = repo::charges_of_target(&mut tx, &target.key)
            .await?
            .iter()
            .any(|c| c.attempt >= attempt);
        // The amount goes to the target's invoices in order, each at most
        // what it can take now; none may have a payment in progress.
        let invoices = ledger::payable_invoices(
            &mut tx,
            self.db.backend(),
            e.customer_id,
            &target.invoice_ids,
            true,
        )
        .await?;
        let mut lines: Vec<(i64, i64)> = Vec::new();
        let mut left = amount_minor;
        for id in &target.invoice_ids {
            let Some(i) = invoices.iter().find(|i| i.invoice_id == *id) else {
                continue;
            };
            if i.pending_minor > 0 {
                lines.clear();
                break;
            }
            let take = left.min(if i.voided { 0 } else { i.payable_minor() });
            if take > 0 {
                lines.push((i.invoice_id, take));
                left -= take;
            }
        }
        let amount: i64 = lines.iter().map(|(_, a)| a).sum();
        if !still_enrolled || already || amount <= 0 {
            tx.rollback().await?;
            return Ok(());
        }
        let method = PayMethod::parse(&active.method_kind).unwrap_or(PayMethod::Card);
        let return_key = crate::domain::token::mint_token().plain;
        let payment_id = match ledger::insert_pending(
            &mut tx,
            NewPayment {
                customer_id: e.customer_id,
                currency: target.currency,
                amount_minor: amount,
                method: method.key(),
                gateway: self.gateway.name(),
                attempt_key: &key,
                contact_id: Some(e.contact_id),
                invoice_link_id: None,
                receipt_email: &active.contact_email,
                credit_applied_minor: 0,
                return_key: &return_key,
            },
            now,
        )
        .await
        {
            Ok(id) => id,
            // The same key inserted by another instance: it charges.
            Err(err) if ledger::is_unique_violation(&err) => {
                tx.rollback().await?;
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        };
        for (invoice_id, line_amount) in &lines {
            ledger::insert_allocation(&mut tx, payment_id, *invoice_id, *line_amount).await?;
            invoices::refresh_settlement(&mut tx, *invoice_id).await?;
        }
        let new = repo::NewCharge {
            enrolment_id: e.enrolment_id,
            customer_id: e.customer_id,
            target: &target.key,
            attempt,
            idempotency_key: &key,
            payment_id,
            method_id: e.method_id,
            amount_minor: amount,
            currency: target.currency,
        };
        let charge_id = match repo::insert_charge(&mut tx, &new, now + CHARGE_LEASE, now).await {
            Ok(id) => id,
            Err(err) if ledger::is_unique_violation(&err) => {
                tx.rollback().await?;
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        };
        let detail = json!({"payment_id": payment_id, "amount_minor": amount, "method": method.key(),
                            "autopay_charge": charge_id, "attempt": attempt});
        let subjects = std::iter::once(format!("payment:{payment_id}"))
            .chain(lines.iter().map(|(id, _)| format!("invoice:{id}")));
        for subject in subjects {
            audit::record(
                &mut tx,
                now,
                AuditEvent {
                    actor_kind: "system",
                    actor_id: None,
                    customer_id: Some(e.customer_id),
                    action: Action::PaymentPending,
                    detail: detail.clone(),
                    ip: None,
                    subject: Some(subject),
                },
            )
            .await?;
        }
        tx.commit().await?;
        let charge = {
            let mut conn = self.db.pool.acquire().await?;
            repo::charge(&mut conn, charge_id)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        run.gateway_calls += 1;
        let ctx = ChargeContext {
            gateway_customer_id: active.gateway_customer_id.clone().unwrap_or_default(),
            gateway_method_id: active.gateway_method_id.clone(),
            method,
            receipt_email: active.contact_email.clone(),
        };
        self.call_gateway(&ctx, &charge, run).await
    }

    /// What calling the gateway again for a stored charge needs.
    async fn charge_context(&self, charge: &Charge) -> ServiceResult<Option<ChargeContext>> {
        let mut conn = self.db.pool.acquire().await?;
        let Some(method) =
            payment_methods::method(&mut conn, charge.customer_id, charge.method_id).await?
        else {
            return Ok(None);
        };
        let gateway_customer_id = ledger::gateway_customer_id(&mut conn, charge.customer_id)
            .await?
            .unwrap_or_default();
        let receipt_email = crate::repo::payments::payment(&mut conn, charge.payment_id)
            .await?
            .and_then(|(p, _)| p.receipt_email)
            .unwrap_or_default();
        Ok(Some(ChargeContext {
            gateway_customer_id,
            gateway_method_id: method.gateway_method_id,
            method: PayMethod::parse(&method.kind).unwrap_or(PayMethod::Card),
            receipt_email,
        }))
    }

    /// Calls the gateway for a requested charge (this run holds its lease)
    /// and applies the answer. No answer: the lease is given back, and the
    /// next run asks again with the same key.
    async fn call_gateway(
        &self,
        ctx: &ChargeContext,
        charge: &Charge,
        run: &mut AutopayRun,
    ) -> ServiceResult<()> {
        let request = OffSessionRequest {
            payment_id: charge.payment_id,
            charge_id: charge.charge_id,
            idempotency_key: charge.idempotency_key.clone(),
            gateway_customer_id: ctx.gateway_customer_id.clone(),
            payment_method_id: ctx.gateway_method_id.clone(),
            method: ctx.method,
            amount_minor: charge.amount_minor,
            currency: charge.currency,
            description: format!(
                "Autopay {}",
                crate::domain::payment_number(charge.payment_id)
            ),
            receipt_email: ctx.receipt_email.clone(),
        };
        let answer = match self.gateway.charge_off_session(&request).await {
            Ok(answer) => answer,
            Err(GatewayError::Unavailable(reason)) => {
                tracing::warn!(charge_id = charge.charge_id, %reason, "autopay charge without an answer; asking again next run");
                let mut conn = self.db.pool.acquire().await?;
                repo::release_charge(&mut conn, charge.charge_id).await?;
                return Ok(());
            }
            // Refused outright (the method was detached, a bad parameter):
            // nothing was charged, and asking again would not help.
            Err(GatewayError::Refused(message)) => OffSessionCharge {
                intent_id: None,
                outcome: OffSessionOutcome::Declined {
                    code: "refused".into(),
                    message,
                    hard: true,
                },
            },
        };
        self.apply_charge_answer(charge, &answer, run).await
    }

    /// Records the gateway's answer and applies it to the ledger (through
    /// the webhook code, as its event would be) in one transaction.
    async fn apply_charge_answer(
        &self,
        charge: &Charge,
        answer: &OffSessionCharge,
        run: &mut AutopayRun,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let (status, event_type, decline) = match &answer.outcome {
            OffSessionOutcome::Succeeded => ("succeeded", "payment_intent.succeeded", None),
            OffSessionOutcome::Processing => ("processing", "payment_intent.processing", None),
            OffSessionOutcome::Declined {
                code,
                message,
                hard,
            } => (
                "declined",
                "payment_intent.payment_failed",
                Some((code, message, *hard)),
            ),
        };
        let retry_at = decline
            .filter(|(_, _, hard)| !hard && charge.attempt < MAX_ATTEMPTS)
            .map(|_| charge.created_at + RETRY_AFTER);
        let message = decline.map(|(_, message, hard)| {
            let next = match retry_at {
                Some(at) => format!(
                    "Autopay will try again on {}.",
                    at.date_naive().format("%B %-d, %Y")
                ),
                None if hard => "Autopay will not try this payment again: please pay the invoice in the portal, or save another payment method.".into(),
                None => "That was the last automatic attempt: please pay the invoice in the portal.".into(),
            };
            format!("{} {next}", message.trim_end())
        });
        let mut tx = self.db.begin_write().await?;
        let recorded = repo::record_answer(
            &mut tx,
            charge.charge_id,
            &ChargeAnswer {
                status,
                intent_id: answer.intent_id.as_deref(),
                decline_code: decline.map(|(code, _, _)| code.as_str()),
                hard_decline: decline.map(|(_, _, hard)| hard),
                message: message.as_deref(),
                retry_at,
            },
            now,
        )
        .await?;
        if !recorded {
            tx.rollback().await?; // another run applied it
            return Ok(());
        }
        let mut intent = json!({
            "object": "payment_intent",
            "amount": charge.amount_minor,
            "currency": charge.currency.code().to_ascii_lowercase(),
            "status": status,
            "metadata": {
                PAYMENT_ID_METADATA: charge.payment_id.to_string(),
                AUTOPAY_METADATA: charge.charge_id.to_string(),
            },
        });
        if let (Some((code, _, _)), Some(message)) = (decline, &message) {
            intent["last_payment_error"] = json!({"decline_code": code, "message": message});
        }
        // Without an id (a 402 carries none the client keeps) the object
        // is tied to its payment by our metadata alone.
        if let Some(id) = &answer.intent_id {
            intent["id"] = json!(id);
        }
        let outcome = self
            .apply_gateway_answer(
                &mut tx,
                event_type,
                &intent,
                &format!("autopay:{}", charge.charge_id),
            )
            .await?;
        tracing::info!(charge_id = charge.charge_id, %outcome, "autopay charge answered");
        tx.commit().await?;
        self.outbox_wake.notify_one();
        self.sandbox_wake.notify_one();
        match status {
            "declined" => run.declined += 1,
            _ => run.succeeded += 1,
        }
        Ok(())
    }

    /// A charge that got no answer for too long: its payment releases the
    /// money, and the target is never charged again by autopay (an intent
    /// may exist at the gateway; if it succeeds, its event still records
    /// the money on the canceled payment).
    async fn abandon_charge(&self, charge: &Charge) -> ServiceResult<()> {
        tracing::warn!(
            charge_id = charge.charge_id,
            "autopay charge abandoned without an answer"
        );
        let now = self.clock.now();
        let mut conn = self.db.pool.acquire().await?;
        repo::record_answer(
            &mut conn,
            charge.charge_id,
            &ChargeAnswer {
                status: "abandoned",
                intent_id: None,
                decline_code: None,
                hard_decline: None,
                message: Some("The payment provider did not answer; nothing more will be tried."),
                retry_at: None,
            },
            now,
        )
        .await?;
        drop(conn);
        self.cancel_without_checkout(
            charge.payment_id,
            "The payment provider did not answer the automatic payment.",
        )
        .await
    }
}

/// A contact's change to their account's autopay, as audited.
fn account_audit<'a>(
    contact_id: i64,
    customer_id: i64,
    action: Action,
    detail: serde_json::Value,
    ip: Option<&'a str>,
) -> AuditEvent<'a> {
    AuditEvent {
        actor_kind: "contact",
        actor_id: Some(contact_id),
        customer_id: Some(customer_id),
        action,
        detail,
        ip,
        subject: Some(format!("customer:{customer_id}")),
    }
}

/// Calling the gateway for one charge.
struct ChargeContext {
    gateway_customer_id: String,
    gateway_method_id: String,
    method: PayMethod,
    receipt_email: String,
}

/// A saved method in words: "visa ending 4242".
pub fn method_words(m: &payment_methods::SavedMethod) -> String {
    match m.kind.as_str() {
        "ach" => format!("bank account ({}) ending {}", m.brand, m.last4),
        _ => format!("{} card ending {}", upper_first(&m.brand), m.last4),
    }
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_names_both_parties_the_notice_and_its_version() {
        let text = consent_text("Seller Inc.", "Northwind");
        assert!(
            text.starts_with("I authorize Seller Inc. to charge"),
            "{text}"
        );
        assert!(text.contains("plan instalments of Northwind"), "{text}");
        assert!(
            text.contains(&format!("at least {NOTICE_DAYS} days before")),
            "{text}"
        );
        assert!(
            text.contains(&format!("version {CONSENT_VERSION}")),
            "{text}"
        );
    }

    #[test]
    fn scopes_in_words() {
        let cap = AutopayScope::UpTo(Money::new(50_000, Currency::USD));
        assert!(cap.words().contains("at most $500.00"));
        assert_eq!(AutopayScope::All.key(), "all");
    }
}
