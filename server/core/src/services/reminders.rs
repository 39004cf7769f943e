//! Reminder emails and promises to pay (issue 13).
//!
//! The job (`run_reminders`, every minute under the `reminders` lease in
//! `portal serve`) looks at each customer with something open whose local
//! time (its own zone, by default the seller's) is inside the send window
//! (default 09:00-11:00, weekdays, not the seller's holidays). For such a
//! customer it first judges promises to pay whose day has passed, then
//! plans: each open invoice reaches at most one step today
//! (`domain::reminder::reached_step`) and must pass the suppression rules
//! (`domain::reminder::verdict`). If anything is due, one write
//! transaction takes the customer's lock, reads every fact again and
//! decides again (send time, not planning time), inserts a
//! `reminder_sends` row per (invoice, step) — unique, so a second run, a
//! second instance or a run after a crash adds nothing — mints a fresh
//! invoice link per invoice and queues one email per payer or admin
//! contact listing every invoice due that day, with a "pay all" link to
//! the pay page with those invoices chosen. Nothing is sent unless the
//! transaction commits, and then the outbox sends it.
//!
//! A manual "send now" by AR records its sends with no step: every step
//! that fell due by that day counts as sent, and no automatic reminder for
//! those invoices follows within `MANUAL_QUIET_DAYS`.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::invoice_links::MintedInvoiceLink;
use super::reminder_extras::{unsubscribe_headers, BILLING_PAY_ALL};
use super::Services;
use crate::domain::reminder::{
    check_promise_date, judge_promise, local_date, local_send_day, oldest_due_reachable,
    paid_toward_promise, reached_step, render_body, render_text, resumption_horizon,
    unknown_variables, verdict, PromiseOutcome, PromisedInvoice, ReminderFacts, SendHistory,
    SendWindow, StepDef, Value, Verdict,
};
use crate::domain::sla::BusinessCalendar;
use crate::domain::{Currency, Money, StaffRole};
use crate::email::templates::{
    promise_ended_email, reminder_email, PromiseEndedEmail, ReminderEmail,
};
use crate::error::{is_unique_violation, ServiceError, ServiceResult};
use crate::repo::leases::ScheduledJob;
use crate::repo::reminders::{
    self as repo, CustomerReminderRow, OpenInvoice, ReminderSettingsRow, StepRow,
};
use crate::repo::{accounts, ledger, outbox, Conn};

/// How often the job runs.
pub const REMINDER_INTERVAL: Duration = Duration::seconds(60);
/// How long an instance holds the job.
const JOB_LEASE: Duration = Duration::minutes(5);

const ADMINS_ONLY: &str = "Only AR admins can change reminders. Ask an admin to make this change.";

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReminderRun {
    /// Customers inside their window whose day this run decided (the
    /// later runs of the same day pass them by).
    pub customers_decided: usize,
    /// Emails queued (one per contact per customer).
    pub emails: usize,
    /// (invoice, step) pairs sent.
    pub sends: usize,
    pub promises_closed: usize,
}

/// What a manual send did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManualSend {
    pub invoices: usize,
    pub emails: usize,
}

/// The stored settings and calendar, read once per run.
struct Context {
    seller_zone: Tz,
    holidays: BTreeSet<NaiveDate>,
    window: SendWindow,
    settings: ReminderSettingsRow,
    steps: Vec<StepRow>,
    default_cadence: Option<i64>,
}

impl Context {
    fn zone_of(&self, c: &CustomerReminderRow) -> Tz {
        customer_zone(c.time_zone.as_deref(), self.seller_zone)
    }

    fn steps_of(&self, c: &CustomerReminderRow) -> Vec<&StepRow> {
        let cadence = c.cadence_id.or(self.default_cadence);
        self.steps
            .iter()
            .filter(|s| Some(s.cadence_id) == cadence)
            .collect()
    }
}

/// A customer's time zone: its own (`customer_reminders.time_zone`) or
/// else the seller's. Also what early-payment discounts end by.
pub(crate) fn customer_zone(time_zone: Option<&str>, seller_zone: Tz) -> Tz {
    time_zone
        .and_then(|z| z.parse().ok())
        .unwrap_or(seller_zone)
}

/// One invoice a mail reminds of.
#[derive(Clone, Debug)]
struct Due {
    invoice: OpenInvoice,
    step: Option<StepRow>,
    amount_minor: i64,
}

/// Everything the rules need about one customer's open invoices.
#[derive(Default)]
struct CustomerFacts {
    invoices: Vec<OpenInvoice>,
    history: HashMap<i64, SendHistory>,
    pauses: HashMap<i64, NaiveDate>,
    promised: HashMap<i64, NaiveDate>,
    promise_ended: HashMap<i64, NaiveDate>,
    in_plan: HashSet<i64>,
}

async fn read_facts(
    conn: &mut Conn,
    customer_id: i64,
    due_by: NaiveDate,
    recent: Option<(NaiveDate, NaiveDate)>,
) -> ServiceResult<CustomerFacts> {
    let invoices = repo::open_invoices(conn, customer_id, due_by, recent).await?;
    let mut history: HashMap<i64, SendHistory> = HashMap::new();
    for s in repo::sends_of_open_invoices(conn, customer_id).await? {
        let h = history.entry(s.invoice_id).or_default();
        if let Some(step) = s.step_id {
            h.sent_steps.insert(step);
        }
        h.last_sent_on = h.last_sent_on.max(Some(s.sent_on));
        if s.manual {
            h.last_manual_on = h.last_manual_on.max(Some(s.sent_on));
        }
    }
    let pauses = repo::invoice_pauses(conn, customer_id).await?;
    let mut promised = HashMap::new();
    let mut promise_ended: HashMap<i64, NaiveDate> = HashMap::new();
    for (invoice_id, on, open) in repo::promise_holds(conn, customer_id).await? {
        if open {
            promised.insert(invoice_id, on);
        } else {
            let e = promise_ended.entry(invoice_id).or_insert(on);
            *e = (*e).max(on);
        }
    }
    let in_plan = repo::plan_held(conn, customer_id).await?;
    Ok(CustomerFacts {
        invoices,
        history,
        pauses,
        promised,
        promise_ended,
        in_plan,
    })
}

fn facts_of(
    customer: &CustomerReminderRow,
    facts: &CustomerFacts,
    invoice: &OpenInvoice,
    step_id: Option<i64>,
) -> ReminderFacts {
    let id = invoice.invoice_id;
    ReminderFacts {
        voided: invoice.voided,
        balance_minor: invoice.balance_minor,
        pending_minor: invoice.pending_minor,
        disputed_minor: invoice.disputed_minor,
        in_plan: facts.in_plan.contains(&id),
        promised_until: facts.promised.get(&id).copied(),
        customer_paused_until: customer.paused_until,
        invoice_paused_until: facts.pauses.get(&id).copied(),
        step_already_sent: step_id.is_some_and(|s| {
            facts
                .history
                .get(&id)
                .is_some_and(|h| h.sent_steps.contains(&s))
        }),
    }
}

/// The invoices due a step today, with the amount to ask for.
fn plan(
    steps: &[&StepRow],
    customer: &CustomerReminderRow,
    facts: &CustomerFacts,
    today: NaiveDate,
) -> Vec<Due> {
    let defs: Vec<StepDef> = steps
        .iter()
        .map(|s| StepDef {
            step_id: s.step_id,
            offset_days: s.offset_days,
            optional: s.optional,
        })
        .collect();
    let empty = SendHistory::default();
    let mut due = Vec::new();
    for invoice in &facts.invoices {
        let id = invoice.invoice_id;
        let resumed_on = [
            customer.paused_until,
            facts.pauses.get(&id).copied(),
            facts.promise_ended.get(&id).copied(),
        ]
        .into_iter()
        .flatten()
        .map(|d| d + Duration::days(1))
        .filter(|d| *d <= today)
        .max();
        let history = facts.history.get(&id).unwrap_or(&empty);
        let Some(step) = reached_step(&defs, invoice.due_date, today, resumed_on, history) else {
            continue;
        };
        if let Verdict::Remind { amount_minor } = verdict(
            &facts_of(customer, facts, invoice, Some(step.step_id)),
            today,
        ) {
            let row = steps
                .iter()
                .find(|s| s.step_id == step.step_id)
                .map(|s| (*s).clone());
            due.push(Due {
                invoice: invoice.clone(),
                step: row,
                amount_minor,
            });
        }
    }
    due
}

/// The latest due date any step of `steps` can reach by `today`.
fn due_by(steps: &[&StepRow], today: NaiveDate) -> Option<NaiveDate> {
    steps
        .iter()
        .map(|s| s.offset_days)
        .min()
        .map(|min| today - Duration::days(min))
}

/// Which open invoices can reach a step on `today` (see
/// `repo::reminders::open_invoices`): all of them when the customer's own
/// pause ended lately, else the recent ones and those held lately.
fn recent(
    steps: &[&StepRow],
    customer: &CustomerReminderRow,
    today: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let horizon = resumption_horizon(today);
    if customer.paused_until.is_some_and(|p| p >= horizon) {
        return None;
    }
    let max_offset = steps.iter().map(|s| s.offset_days).max()?;
    Some((oldest_due_reachable(max_offset, today), horizon))
}

fn date_words(d: NaiveDate) -> String {
    d.format("%b %-d, %Y").to_string()
}

fn money(minor: i64, currency: Currency) -> String {
    Money::new(minor, currency).display()
}

/// The role of an active staff user; anyone else is refused.
async fn active_staff_role(conn: &mut Conn, staff_id: i64) -> ServiceResult<StaffRole> {
    accounts::active_staff(conn, staff_id)
        .await?
        .map(|s| s.role)
        .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))
}

fn random_batch(prefix: &str) -> String {
    format!("{prefix}:{}", crate::domain::token::mint_token().hash)
}

/// The cadences' live steps and the default cadence, into `ctx`.
async fn read_cadences(conn: &mut Conn, ctx: &mut Context) -> ServiceResult<()> {
    ctx.default_cadence = repo::cadences(conn)
        .await?
        .into_iter()
        .find(|c| c.is_default)
        .map(|c| c.cadence_id);
    ctx.steps = repo::live_steps(conn).await?;
    Ok(())
}

impl Services {
    async fn reminder_context(&self, conn: &mut Conn) -> ServiceResult<Context> {
        let mut ctx = self.reminder_calendar(conn).await?;
        read_cadences(conn, &mut ctx).await?;
        Ok(ctx)
    }

    /// The part of the context that says who is inside their window (the
    /// cadences are read only when someone is).
    async fn reminder_calendar(&self, conn: &mut Conn) -> ServiceResult<Context> {
        let (settings, calendar) = repo::settings_and_calendar(conn).await?;
        let calendar: BusinessCalendar = serde_json::from_str(&calendar).map_err(|e| {
            ServiceError::internal("sla_settings key business_calendar does not parse", e)
        })?;
        let window = SendWindow::new(
            u32::try_from(settings.window_start_minute).unwrap_or(540),
            u32::try_from(settings.window_end_minute).unwrap_or(660),
        )
        .unwrap_or_default();
        Ok(Context {
            seller_zone: calendar.time_zone(),
            holidays: calendar.holidays().clone(),
            window,
            settings,
            steps: Vec::new(),
            default_cadence: None,
        })
    }

    /// `portal serve`'s runs: the job under its lease, at most once a
    /// minute across instances. `None` when it was not this instance's turn.
    pub async fn run_reminders_when_due(&self) -> ServiceResult<Option<ReminderRun>> {
        self.run_when_due(
            ScheduledJob::Reminders,
            JOB_LEASE,
            REMINDER_INTERVAL,
            async |now| self.run_reminders(now).await,
        )
        .await
    }

    /// One run as at `now`: safe to repeat, and to run on several
    /// instances at once (each (invoice, step) is sent once).
    pub async fn run_reminders(&self, now: DateTime<Utc>) -> ServiceResult<ReminderRun> {
        let mut conn = self.db.pool.acquire().await?;
        let mut ctx = self.reminder_calendar(&mut conn).await?;
        // Who is inside their window and not yet decided for their day: on
        // most runs nobody, and the run ends after these three reads.
        let todo: Vec<(CustomerReminderRow, NaiveDate)> =
            repo::customers_with_open_invoices(&mut conn)
                .await?
                .into_iter()
                .filter_map(|customer| {
                    let zone = ctx.zone_of(&customer);
                    let today = local_send_day(now, zone, ctx.window, &ctx.holidays)?;
                    (customer.checked_on != Some(today)).then_some((customer, today))
                })
                .collect();
        let mut run = ReminderRun::default();
        if todo.is_empty() {
            return Ok(run);
        }
        read_cadences(&mut conn, &mut ctx).await?;
        drop(conn);
        let mut checked = Vec::with_capacity(todo.len());
        for (customer, today) in todo {
            run.customers_decided += 1;
            match self
                .remind_customer(&ctx, &customer, today, now, &mut run)
                .await
            {
                Ok(()) => checked.push((customer.customer_id, today)),
                // One account's trouble must not stop the others; it is
                // tried again on the next run.
                Err(e) => e.log("reminders"),
            }
        }
        // Decided for the day: later runs today pass these customers by. A
        // crash before this write only makes the next run decide again,
        // which sends nothing twice (the sends are unique).
        let mut tx = self.db.begin_write().await?;
        repo::mark_checked(&mut tx, &checked, now).await?;
        tx.commit().await?;
        if run.emails > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(run)
    }

    async fn remind_customer(
        &self,
        ctx: &Context,
        customer: &CustomerReminderRow,
        today: NaiveDate,
        now: DateTime<Utc>,
        run: &mut ReminderRun,
    ) -> ServiceResult<()> {
        run.promises_closed += self
            .judge_promises(ctx, customer.customer_id, today, now)
            .await?;
        let steps = ctx.steps_of(customer);
        let Some(due_by) = due_by(&steps, today) else {
            return Ok(());
        };
        // Planning: a read, no lock.
        let planned = {
            let mut conn = self.db.pool.acquire().await?;
            let recent = recent(&steps, customer, today);
            let facts = read_facts(&mut conn, customer.customer_id, due_by, recent).await?;
            plan(&steps, customer, &facts, today)
        };
        if planned.is_empty() {
            return Ok(());
        }
        // Sending: everything again, under the customer's lock.
        let mut tx = self.db.begin_write().await?;
        // Two runs deciding one customer's mail queue up; the second sees
        // what the first sent.
        ledger::lock_customer(&mut tx, self.db.backend(), customer.customer_id).await?;
        let Some(customer) = repo::customer(&mut tx, customer.customer_id).await? else {
            return Ok(());
        };
        let recent = recent(&steps, &customer, today);
        let facts = read_facts(&mut tx, customer.customer_id, due_by, recent).await?;
        let due = plan(&steps, &customer, &facts, today);
        let batch = format!("auto:{}:{}", customer.customer_id, today);
        let mut sent = Vec::new();
        for d in due {
            let Some(step) = &d.step else { continue };
            let inserted = repo::insert_send(
                &mut tx,
                &repo::NewSend {
                    invoice_id: d.invoice.invoice_id,
                    customer_id: customer.customer_id,
                    step_id: Some(step.step_id),
                    sent_on: today,
                    amount_minor: d.amount_minor,
                    currency: d.invoice.currency,
                    staff_id: None,
                    batch: &batch,
                },
                now,
            )
            .await?;
            if inserted {
                sent.push(d);
            }
        }
        if sent.is_empty() {
            return Ok(());
        }
        let emails = self
            .queue_reminder_mail(&mut tx, ctx, &customer, &sent, today, &batch, true, now)
            .await?;
        tx.commit().await?;
        run.sends += sent.len();
        run.emails += emails;
        Ok(())
    }

    /// Mints a link per invoice and queues one email per payer or admin
    /// contact, in the caller's transaction. The template is that of the
    /// firmest step among the invoices (the highest offset).
    #[allow(clippy::too_many_arguments)]
    async fn queue_reminder_mail(
        &self,
        tx: &mut Conn,
        ctx: &Context,
        customer: &CustomerReminderRow,
        dues: &[Due],
        today: NaiveDate,
        batch: &str,
        automatic: bool,
        now: DateTime<Utc>,
    ) -> ServiceResult<usize> {
        let template = dues
            .iter()
            .filter_map(|d| d.step.as_ref())
            .max_by_key(|s| (s.offset_days, s.step_id))
            .or_else(|| ctx.steps_of(customer).into_iter().next())
            .cloned()
            .ok_or_else(|| ServiceError::invalid("The customer's cadence has no steps."))?;
        let mut links: Vec<(&Due, MintedInvoiceLink)> = Vec::with_capacity(dues.len());
        for d in dues {
            let link = self
                .mint_invoice_link_in(
                    tx,
                    d.invoice.invoice_id,
                    customer.customer_id,
                    d.invoice.due_date,
                    None,
                    "reminder",
                    now,
                )
                .await?;
            links.push((d, link));
        }
        // Issue 13: each invoice's early-payment discount, while it runs.
        let ids: Vec<i64> = dues.iter().map(|d| d.invoice.invoice_id).collect();
        let discounts = self
            .discount_offers_in(tx, customer.customer_id, &ids, ctx.seller_zone)
            .await?;
        let vars = reminder_variables(self, ctx, customer, &links, today, &discounts);
        // An email of optional steps only (automatic, every invoice at an
        // optional step) carries the one-click unsubscribe and skips the
        // addresses that used it; a firmer step reaches everyone.
        let optional = automatic
            && dues
                .iter()
                .all(|d| d.step.as_ref().is_some_and(|s| s.optional));
        let recipients = crate::repo::reminder_extras::recipients(tx, customer.customer_id).await?;
        let mut queued = 0;
        for r in recipients.iter().filter(|r| !(optional && r.unsubscribed)) {
            let mut vars = vars.clone();
            vars.push(("contact_name", Value::words(r.name.clone())));
            if r.contact_id.is_none() {
                // The billing address has no sign-in: its mail carries the
                // invoice links (which work without one) and no "pay all".
                vars.retain(|(n, _)| *n != "pay_all_link");
                vars.push(("pay_all_link", Value::words(BILLING_PAY_ALL)));
            }
            let subject = render_text(&template.subject, &vars);
            let (mut body_text, mut body_html) = render_body(&template.body, &vars);
            let unsubscribe = if optional {
                Some(
                    self.mint_reminder_unsubscribe(tx, customer.customer_id, &r.email, now)
                        .await?,
                )
            } else {
                None
            };
            if let Some(url) = &unsubscribe {
                body_text.push_str(&format!(
                    "\n\nTo stop these friendly reminders (not the overdue notices): {url}\n"
                ));
                body_html.push_str(&format!(
                    "\n<p style=\"color: #6b7280; font-size: 0.9em;\"><a href=\"{}\">Stop these friendly reminders</a> (not the overdue notices).</p>",
                    crate::email::html_escape(url)
                ));
            }
            let message = reminder_email(&ReminderEmail {
                seller_name: &self.config.seller_name,
                subject: subject.trim(),
                body_text: &body_text,
                body_html: &body_html,
            });
            let headers = unsubscribe.as_deref().map(unsubscribe_headers);
            // A run as at a later instant (`portal reminders run --at`,
            // the browser tests) queues its mail to go now, not then.
            let email_id = outbox::enqueue_with_headers(
                tx,
                now.min(self.clock.now()),
                message.addressed_to(&r.email),
                headers.as_deref(),
            )
            .await?;
            if let Some(contact_id) = r.contact_id {
                repo::insert_email(tx, email_id, batch, customer.customer_id, contact_id).await?;
            }
            queued += 1;
        }
        Ok(queued)
    }

    /// Judges the customer's open promises as at its local `today`; a
    /// promise not kept is closed and its contact (or, for a promise taken
    /// by phone, each payer and admin) is told that reminders resume.
    async fn judge_promises(
        &self,
        _ctx: &Context,
        customer_id: i64,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> ServiceResult<usize> {
        let open = {
            let mut conn = self.db.pool.acquire().await?;
            repo::open_promises(&mut conn, customer_id).await?
        };
        let judge = |invoices: &[(i64, String, i64, i64, i64)], p: &repo::PromiseRow| {
            let paid = paid_toward_promise(
                &invoices
                    .iter()
                    .map(|(_, _, then, balance, pending)| PromisedInvoice {
                        payable_then_minor: *then,
                        balance_now_minor: *balance,
                        pending_now_minor: *pending,
                    })
                    .collect::<Vec<_>>(),
            );
            let target = p.amount_minor.unwrap_or(p.owed_minor);
            judge_promise(p.promised_on, target, paid, today).map(|o| (o, paid, target))
        };
        let mut closed = 0;
        for p in open {
            // A read first: most runs find the promise still running and
            // write nothing.
            let judged = {
                let mut conn = self.db.pool.acquire().await?;
                judge(&repo::promise_invoices(&mut conn, p.promise_id).await?, &p)
            };
            if judged.is_none() {
                continue;
            }
            let mut tx = self.db.begin_write().await?;
            let invoices = repo::promise_invoices(&mut tx, p.promise_id).await?;
            let Some((outcome, paid, target)) = judge(&invoices, &p) else {
                continue;
            };
            if !repo::close_promise(&mut tx, p.promise_id, outcome.key(), paid, now).await? {
                continue;
            }
            if outcome != PromiseOutcome::Kept {
                // AR's queue item, in the transaction of the close.
                let numbered: Vec<(i64, String)> =
                    invoices.iter().map(|i| (i.0, i.1.clone())).collect();
                self.queue_broken_promise(&mut tx, &p, &numbered, now)
                    .await?;
                let customer = repo::customer(&mut tx, customer_id)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                let recipients: Vec<(i64, String, String)> = repo::recipients(&mut tx, customer_id)
                    .await?
                    .into_iter()
                    .filter(|(id, _, _)| p.contact_id.is_none() || p.contact_id == Some(*id))
                    .collect();
                let numbers: Vec<&str> =
                    invoices.iter().map(|(_, n, _, _, _)| n.as_str()).collect();
                let invoice_words = format!(
                    "invoice{} {}",
                    if numbers.len() == 1 { "" } else { "s" },
                    numbers.join(", ")
                );
                let promised = money(target, p.currency);
                let paid_words = (paid > 0).then(|| money(paid, p.currency));
                let link = self
                    .config
                    .link(&format!("/accounts/{customer_id}/invoices"));
                for (_, name, email) in &recipients {
                    let message = promise_ended_email(&PromiseEndedEmail {
                        seller_name: &self.config.seller_name,
                        recipient_name: name,
                        customer_name: &customer.name,
                        promised_on: &date_words(p.promised_on),
                        promised: &promised,
                        paid: paid_words.as_deref(),
                        invoices: &invoice_words,
                        link: &link,
                    });
                    outbox::enqueue(
                        &mut tx,
                        now.min(self.clock.now()),
                        message.addressed_to(email),
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            closed += 1;
        }
        Ok(closed)
    }

    /// AR's "send now": a reminder for the chosen open invoices of the
    /// customer (all of them when none is chosen) goes out at once, whatever
    /// the window, pauses and promises (AR decided), but never for what is
    /// paid, void, being paid, disputed in full or in a plan. Its sends
    /// count for every step that fell due by today.
    pub async fn send_reminder_now(
        &self,
        staff_id: i64,
        customer_id: i64,
        invoice_ids: &[i64],
    ) -> ServiceResult<ManualSend> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        self.require_active_staff(&mut tx, staff_id).await?;
        let ctx = self.reminder_context(&mut tx).await?;
        ledger::lock_customer(&mut tx, self.db.backend(), customer_id).await?;
        let customer = repo::customer(&mut tx, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let today = local_date(now, ctx.zone_of(&customer));
        let far = today + Duration::days(3650);
        let mut facts = read_facts(&mut tx, customer_id, far, None).await?;
        if !invoice_ids.is_empty() {
            facts
                .invoices
                .retain(|i| invoice_ids.contains(&i.invoice_id));
        }
        let steps = ctx.steps_of(&customer);
        let unpaused = CustomerReminderRow {
            paused_until: None,
            ..customer.clone()
        };
        let mut due = Vec::new();
        for invoice in &facts.invoices {
            let mut f = facts_of(&unpaused, &facts, invoice, None);
            f.promised_until = None;
            f.invoice_paused_until = None;
            if let Verdict::Remind { amount_minor } = verdict(&f, today) {
                let step = steps
                    .iter()
                    .filter(|s| invoice.due_date + Duration::days(s.offset_days) <= today)
                    .max_by_key(|s| s.offset_days)
                    .map(|s| (*s).clone());
                due.push(Due {
                    invoice: invoice.clone(),
                    step,
                    amount_minor,
                });
            }
        }
        if due.is_empty() {
            return Err(ServiceError::invalid(
                "Nothing to remind of: the chosen invoices are paid, being paid, disputed in full or in a payment plan.",
            ));
        }
        let batch = random_batch("manual");
        for d in &due {
            repo::insert_send(
                &mut tx,
                &repo::NewSend {
                    invoice_id: d.invoice.invoice_id,
                    customer_id,
                    step_id: None,
                    sent_on: today,
                    amount_minor: d.amount_minor,
                    currency: d.invoice.currency,
                    staff_id: Some(staff_id),
                    batch: &batch,
                },
                now,
            )
            .await?;
        }
        let emails = self
            .queue_reminder_mail(&mut tx, &ctx, &customer, &due, today, &batch, false, now)
            .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(ManualSend {
            invoices: due.len(),
            emails,
        })
    }
}

/// One invoice a coming day's run would remind of (the preview).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewRow {
    pub customer_id: i64,
    pub customer_name: String,
    pub invoice_number: String,
    /// The step's days from the due date.
    pub offset_days: i64,
    pub amount: Money,
    /// How many contacts the email would go to.
    pub recipients: usize,
}

impl Services {
    /// What the job would send on `on` (each customer's local date), as
    /// far as today's facts tell: no day off (weekend, the seller's
    /// holidays) sends anything, and an open promise whose day is before
    /// `on` counts as ended (a kept one leaves nothing to remind of).
    pub async fn preview_reminders(
        &self,
        staff_id: i64,
        on: NaiveDate,
    ) -> ServiceResult<Vec<PreviewRow>> {
        use chrono::Datelike;
        let mut conn = self.db.pool.acquire().await?;
        self.require_active_staff(&mut conn, staff_id).await?;
        let ctx = self.reminder_context(&mut conn).await?;
        if matches!(on.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
            || ctx.holidays.contains(&on)
        {
            return Ok(Vec::new());
        }
        let mut rows = Vec::new();
        for customer in repo::customers_with_open_invoices(&mut conn).await? {
            let steps = ctx.steps_of(&customer);
            let Some(due_by) = due_by(&steps, on) else {
                continue;
            };
            let recent = recent(&steps, &customer, on);
            let mut facts = read_facts(&mut conn, customer.customer_id, due_by, recent).await?;
            let ended: Vec<(i64, NaiveDate)> = facts
                .promised
                .iter()
                .filter(|(_, d)| **d < on)
                .map(|(i, d)| (*i, *d))
                .collect();
            for (invoice_id, promised_on) in ended {
                facts.promised.remove(&invoice_id);
                facts.promise_ended.insert(invoice_id, promised_on);
            }
            let due = plan(&steps, &customer, &facts, on);
            if due.is_empty() {
                continue;
            }
            let recipients = repo::recipients(&mut conn, customer.customer_id)
                .await?
                .len();
            rows.extend(due.into_iter().map(|d| PreviewRow {
                customer_id: customer.customer_id,
                customer_name: customer.name.clone(),
                invoice_number: d.invoice.number,
                offset_days: d.step.map(|s| s.offset_days).unwrap_or_default(),
                amount: Money::new(d.amount_minor, d.invoice.currency),
                recipients,
            }));
        }
        Ok(rows)
    }

    /// The seller's next working day after today (the preview's default).
    pub async fn next_reminder_day(&self) -> ServiceResult<NaiveDate> {
        use chrono::Datelike;
        let calendar = self.sla_settings().await?.calendar;
        let mut day = local_date(self.clock.now(), calendar.time_zone()) + Duration::days(1);
        while matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
            || calendar.holidays().contains(&day)
        {
            day += Duration::days(1);
        }
        Ok(day)
    }
}

/// The template variables of one mail (all but `contact_name`).
fn reminder_variables(
    services: &Services,
    ctx: &Context,
    customer: &CustomerReminderRow,
    links: &[(&Due, MintedInvoiceLink)],
    today: NaiveDate,
    discounts: &HashMap<i64, crate::domain::discount::DiscountOffer>,
) -> Vec<(&'static str, Value)> {
    let mut text_lines = Vec::new();
    let mut rows = Vec::new();
    let mut totals: Vec<(Currency, i64)> = Vec::new();
    let mut by_currency: Vec<(Currency, Vec<i64>)> = Vec::new();
    for (d, link) in links {
        let i = &d.invoice;
        let amount = money(d.amount_minor, i.currency);
        let days = (today - i.due_date).num_days();
        let when = match days {
            0 => "due today".to_owned(),
            n if n > 0 => format!(
                "due {}, {n} day{} overdue",
                date_words(i.due_date),
                if n == 1 { "" } else { "s" }
            ),
            n => format!(
                "due {}, in {} day{}",
                date_words(i.due_date),
                -n,
                if n == -1 { "" } else { "s" }
            ),
        };
        let disputed = (i.disputed_minor > 0).then(|| {
            format!(
                " ({} of it is disputed and not asked for)",
                money(i.disputed_minor.min(i.balance_minor), i.currency)
            )
        });
        let discount = discounts.get(&i.invoice_id).map(|o| o.sentence(i.currency));
        text_lines.push(format!(
            "- Invoice {}: {amount}, {when}{}{}\n  {}",
            i.number,
            disputed.clone().unwrap_or_default(),
            discount
                .as_ref()
                .map(|s| format!("\n  {s}"))
                .unwrap_or_default(),
            link.url
        ));
        rows.push(format!(
            "<tr><td style=\"padding: 4px 12px 4px 0;\"><a href=\"{url}\">Invoice {number}</a></td><td style=\"padding: 4px 12px 4px 0;\">{when}</td><td style=\"padding: 4px 0; text-align: right;\">{amount}{disputed}{discount}</td></tr>",
            url = crate::email::html_escape(&link.url),
            number = crate::email::html_escape(&i.number),
            when = crate::email::html_escape(&when),
            amount = crate::email::html_escape(&amount),
            disputed = crate::email::html_escape(&disputed.unwrap_or_default()),
            discount = discount
                .map(|s| format!("<br><strong>{}</strong>", crate::email::html_escape(&s)))
                .unwrap_or_default(),
        ));
        match totals.iter_mut().find(|(c, _)| *c == i.currency) {
            Some((_, sum)) => *sum += d.amount_minor,
            None => totals.push((i.currency, d.amount_minor)),
        }
        match by_currency.iter_mut().find(|(c, _)| *c == i.currency) {
            Some((_, ids)) => ids.push(i.invoice_id),
            None => by_currency.push((i.currency, vec![i.invoice_id])),
        }
    }
    let totals_words = totals
        .iter()
        .map(|(c, sum)| money(*sum, *c))
        .collect::<Vec<_>>()
        .join(" and ");
    // The pay page takes one currency per payment: one link per currency.
    let pay_links: Vec<(Currency, String)> = by_currency
        .iter()
        .map(|(c, ids)| {
            let query = ids
                .iter()
                .map(|id| format!("invoice={id}"))
                .collect::<Vec<_>>()
                .join("&");
            (
                *c,
                services
                    .config
                    .link(&format!("/accounts/{}/pay?{query}", customer.customer_id)),
            )
        })
        .collect();
    let pay_all = if pay_links.len() == 1 {
        Value::link(&pay_links[0].1, "Pay all of them")
    } else {
        Value {
            text: pay_links
                .iter()
                .map(|(c, url)| format!("{url} ({})", c.code()))
                .collect::<Vec<_>>()
                .join(" "),
            html: pay_links
                .iter()
                .map(|(c, url)| {
                    format!(
                        "<a href=\"{}\">Pay the {} invoices</a>",
                        crate::email::html_escape(url),
                        c.code()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    let ar_contact = match &ctx.settings.ar_contact_email {
        Some(email) => format!("{} ({email})", ctx.settings.ar_contact_name),
        None => ctx.settings.ar_contact_name.clone(),
    };
    vec![
        ("customer_name", Value::words(customer.name.clone())),
        ("seller_name", Value::words(services.config.seller_name.clone())),
        ("invoice_count", Value::words(links.len().to_string())),
        (
            "invoices",
            Value {
                text: text_lines.join("\n"),
                html: format!(
                    "<table style=\"border-collapse: collapse;\"><thead><tr><th style=\"text-align: left;\">Invoice</th><th style=\"text-align: left;\">Due</th><th style=\"text-align: right;\">Amount</th></tr></thead><tbody>{}</tbody></table>",
                    rows.join("")
                ),
            },
        ),
        ("totals", Value::words(totals_words)),
        ("pay_all_link", pay_all),
        ("ar_contact", Value::words(ar_contact)),
    ]
}

/// A promise as typed (from the invoice page or AR's customer page).
#[derive(Clone, Debug, Default)]
pub struct PromiseDraft {
    pub invoice_ids: Vec<i64>,
    /// YYYY-MM-DD.
    pub promised_on: String,
    /// Optional: empty means what the invoices owe.
    pub amount: String,
    pub note: String,
}

/// The reminder settings AR sees.
#[derive(Clone, Debug)]
pub struct ReminderSettingsView {
    pub window: SendWindow,
    pub promise_horizon_days: i64,
    pub ar_contact_name: String,
    pub ar_contact_email: Option<String>,
    pub cadences: Vec<(repo::CadenceRow, Vec<StepRow>)>,
    pub can_edit: bool,
}

/// A customer's reminder settings as AR sees them.
#[derive(Clone, Debug)]
pub struct CustomerRemindersView {
    pub cadence_id: Option<i64>,
    pub cadence_name: String,
    pub paused_until: Option<NaiveDate>,
    pub time_zone: Option<String>,
    pub effective_zone: String,
    pub cadences: Vec<repo::CadenceRow>,
    pub sent: Vec<repo::SentReminder>,
    pub promises: Vec<repo::PromiseRow>,
    /// The open invoices (for "send now", a phone promise, a pause), with
    /// their own pause date if any.
    pub open_invoices: Vec<(OpenInvoice, Option<NaiveDate>)>,
    /// The customer's local date.
    pub today: NaiveDate,
    pub can_edit: bool,
}

/// The promise part of the invoice page.
#[derive(Clone, Debug)]
pub struct InvoicePromise {
    /// A payer or admin, and something payable, and no open promise.
    pub can_promise: bool,
    pub open: Option<repo::PromiseRow>,
    /// The customer's local date and the latest date a promise may name.
    pub today: NaiveDate,
    pub latest: NaiveDate,
    pub payable_minor: i64,
    pub currency: Currency,
}

impl Services {
    async fn require_reminder_admin(&self, conn: &mut Conn, staff_id: i64) -> ServiceResult<()> {
        match active_staff_role(conn, staff_id).await? {
            StaffRole::Admin => Ok(()),
            StaffRole::Agent => Err(ServiceError::Forbidden(ADMINS_ONLY.into())),
        }
    }

    /// The contact's account name if they may pay there (payer or admin).
    async fn require_promiser(
        &self,
        conn: &mut Conn,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<()> {
        let membership = accounts::memberships(conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        if !membership.role.can_pay() {
            return Err(ServiceError::Forbidden(format!(
                "Your role on {} lets you view invoices but not promise payments. An admin of the account can give you the payer role.",
                membership.customer_name
            )));
        }
        Ok(())
    }

    /// The longest a promise may reach, in days (AR's setting).
    pub async fn promise_horizon_days(&self) -> ServiceResult<i64> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::settings(&mut conn).await?.promise_horizon_days)
    }

    /// A payer or admin promises to pay invoices of the account by a date.
    pub async fn promise_to_pay(
        &self,
        contact_id: i64,
        customer_id: i64,
        draft: &PromiseDraft,
    ) -> ServiceResult<i64> {
        {
            let mut conn = self.db.pool.acquire().await?;
            self.require_promiser(&mut conn, contact_id, customer_id)
                .await?;
        }
        self.insert_promise(customer_id, draft, "portal", Some(contact_id), None)
            .await
    }

    /// AR records a promise made on the phone.
    pub async fn record_phone_promise(
        &self,
        staff_id: i64,
        customer_id: i64,
        draft: &PromiseDraft,
    ) -> ServiceResult<i64> {
        {
            let mut conn = self.db.pool.acquire().await?;
            self.require_active_staff(&mut conn, staff_id).await?;
        }
        self.insert_promise(customer_id, draft, "phone", None, Some(staff_id))
            .await
    }

    async fn insert_promise(
        &self,
        customer_id: i64,
        draft: &PromiseDraft,
        channel: &str,
        contact_id: Option<i64>,
        staff_id: Option<i64>,
    ) -> ServiceResult<i64> {
        let now = self.clock.now();
        let promised_on =
            crate::domain::dates::parse_user_date("Promised date", &draft.promised_on)
                .map_err(|m| ServiceError::invalid_field("promised_on", m))?;
        if draft.invoice_ids.is_empty() {
            return Err(ServiceError::invalid_field(
                "invoice",
                "Choose at least one invoice.",
            ));
        }
        let mut tx = self.db.begin_write().await?;
        let ctx = self.reminder_context(&mut tx).await?;
        let customer = repo::customer(&mut tx, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let today = local_date(now, ctx.zone_of(&customer));
        check_promise_date(promised_on, today, ctx.settings.promise_horizon_days)
            .map_err(|m| ServiceError::invalid_field("promised_on", m))?;
        let invoices = repo::invoices_of(&mut tx, customer_id, &draft.invoice_ids).await?;
        if invoices.len() != draft.invoice_ids.len() {
            return Err(ServiceError::NotFound);
        }
        let currency = invoices[0].currency;
        if invoices.iter().any(|i| i.currency != currency) {
            return Err(ServiceError::invalid_field(
                "invoice",
                "A promise covers invoices of one currency; make one promise per currency.",
            ));
        }
        let mut owed = 0;
        let mut payables = Vec::new();
        for i in &invoices {
            let payable = crate::domain::payable_minor(
                if i.voided { 0 } else { i.balance_minor },
                i.pending_minor,
                i.disputed_minor,
            );
            if payable <= 0 {
                return Err(ServiceError::invalid_field(
                    "invoice",
                    format!("Invoice {} has nothing left to pay now.", i.number),
                ));
            }
            if repo::open_promise_on(&mut tx, i.invoice_id).await? {
                return Err(ServiceError::invalid_field(
                    "invoice",
                    format!("Invoice {} is already under a promise to pay.", i.number),
                ));
            }
            owed += payable;
            payables.push((i.invoice_id, payable));
        }
        let amount_minor = match draft.amount.trim() {
            "" => None,
            text => {
                let m = Money::parse_amount(text, currency)
                    .map_err(|m| ServiceError::invalid_field("amount", m))?;
                if m.minor <= 0 || m.minor > owed {
                    return Err(ServiceError::invalid_field(
                        "amount",
                        format!(
                            "The amount must be more than zero and at most {}.",
                            money(owed, currency)
                        ),
                    ));
                }
                Some(m.minor)
            }
        };
        let note: String = draft.note.trim().chars().take(2000).collect();
        let promise_id = repo::insert_promise(
            &mut tx,
            &repo::NewPromise {
                customer_id,
                promised_on,
                currency,
                amount_minor,
                owed_minor: owed,
                channel,
                contact_id,
                staff_id,
                note: (!note.is_empty()).then_some(note.as_str()),
            },
            now,
        )
        .await?;
        for (invoice_id, payable) in payables {
            repo::insert_promise_invoice(&mut tx, promise_id, invoice_id, payable)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        ServiceError::Conflict(
                            "Another promise was just made for one of these invoices.".into(),
                        )
                    } else {
                        e.into()
                    }
                })?;
        }
        tx.commit().await?;
        Ok(promise_id)
    }

    /// The open promise on an invoice, if any, for the invoice page.
    pub async fn open_promise_for_invoice(
        &self,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<Option<repo::PromiseRow>> {
        let mut conn = self.db.pool.acquire().await?;
        for p in repo::open_promises(&mut conn, customer_id).await? {
            let invoices = repo::promise_invoices(&mut conn, p.promise_id).await?;
            if invoices.iter().any(|(id, ..)| *id == invoice_id) {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// Invoices of the customer under an open promise (autopay leaves
    /// them alone): invoice id -> promised date.
    pub(crate) async fn promised_invoices(
        &self,
        customer_id: i64,
    ) -> ServiceResult<HashMap<i64, NaiveDate>> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::promised_invoices(&mut conn, customer_id).await?)
    }

    /// The reminder settings page's facts (agents read, admins edit).
    pub async fn reminder_settings_view(
        &self,
        staff_id: i64,
    ) -> ServiceResult<ReminderSettingsView> {
        let mut conn = self.db.pool.acquire().await?;
        let role = active_staff_role(&mut conn, staff_id).await?;
        let ctx = self.reminder_context(&mut conn).await?;
        let cadences = repo::cadences(&mut conn)
            .await?
            .into_iter()
            .map(|c| {
                let steps = ctx
                    .steps
                    .iter()
                    .filter(|s| s.cadence_id == c.cadence_id)
                    .cloned()
                    .collect();
                (c, steps)
            })
            .collect();
        Ok(ReminderSettingsView {
            window: ctx.window,
            promise_horizon_days: ctx.settings.promise_horizon_days,
            ar_contact_name: ctx.settings.ar_contact_name,
            ar_contact_email: ctx.settings.ar_contact_email,
            cadences,
            can_edit: role == StaffRole::Admin,
        })
    }

    /// An admin saves the window, the promise horizon and the AR contact.
    pub async fn save_reminder_settings(
        &self,
        staff_id: i64,
        window: &str,
        horizon_days: &str,
        ar_contact_name: &str,
        ar_contact_email: &str,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let window =
            SendWindow::parse(window).map_err(|m| ServiceError::invalid_field("window", m))?;
        let horizon: i64 = horizon_days
            .trim()
            .parse()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| {
                ServiceError::invalid_field(
                    "promise_horizon_days",
                    "The promise horizon is a number of days from 1 to 365.",
                )
            })?;
        let name = ar_contact_name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ServiceError::invalid_field(
                "ar_contact_name",
                "Name the AR contact (at most 200 characters).",
            ));
        }
        let email = match ar_contact_email.trim() {
            "" => None,
            e => Some(
                crate::domain::EmailAddress::parse(e)
                    .map_err(|_| {
                        ServiceError::invalid_field(
                            "ar_contact_email",
                            "The AR contact's email is not an email address.",
                        )
                    })?
                    .to_string(),
            ),
        };
        let mut tx = self.db.begin_write().await?;
        self.require_reminder_admin(&mut tx, staff_id).await?;
        repo::store_settings(
            &mut tx,
            &ReminderSettingsRow {
                window_start_minute: i64::from(window.start_minute),
                window_end_minute: i64::from(window.end_minute),
                promise_horizon_days: horizon,
                ar_contact_name: name.to_owned(),
                ar_contact_email: email,
            },
            staff_id,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An admin adds a step to a cadence (`step_id` None) or changes one.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_reminder_step(
        &self,
        staff_id: i64,
        cadence_id: i64,
        step_id: Option<i64>,
        offset_days: &str,
        optional: bool,
        subject: &str,
        body: &str,
    ) -> ServiceResult<i64> {
        let now = self.clock.now();
        let offset: i64 = offset_days
            .trim()
            .trim_start_matches('+')
            .parse()
            .ok()
            .filter(|d| (-60..=365).contains(d))
            .ok_or_else(|| {
                ServiceError::invalid_field(
                    "offset_days",
                    "The step's day is a number of days from the due date, from -60 to 365.",
                )
            })?;
        let (subject, body) = (subject.trim(), body.trim());
        if subject.is_empty() || subject.len() > 200 {
            return Err(ServiceError::invalid_field(
                "subject",
                "Write a subject (at most 200 characters).",
            ));
        }
        if body.is_empty() || body.len() > 10_000 {
            return Err(ServiceError::invalid_field(
                "body",
                "Write the email's text (at most 10,000 characters).",
            ));
        }
        for (field, text) in [("subject", subject), ("body", body)] {
            let unknown = unknown_variables(text);
            if !unknown.is_empty() {
                return Err(ServiceError::invalid_field(
                    field,
                    format!(
                        "Unknown variable{}: {}. The variables are listed under the form.",
                        if unknown.len() == 1 { "" } else { "s" },
                        unknown
                            .iter()
                            .map(|u| format!("{{{u}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        let mut tx = self.db.begin_write().await?;
        self.require_reminder_admin(&mut tx, staff_id).await?;
        if !repo::cadences(&mut tx)
            .await?
            .iter()
            .any(|c| c.cadence_id == cadence_id)
        {
            return Err(ServiceError::NotFound);
        }
        let taken = |e: sqlx::Error| {
            if is_unique_violation(&e) {
                ServiceError::invalid_field(
                    "offset_days",
                    format!("The cadence already has a step on day {offset}."),
                )
            } else {
                e.into()
            }
        };
        let id = match step_id {
            None => repo::insert_step(&mut tx, cadence_id, offset, optional, subject, body, now)
                .await
                .map_err(taken)?,
            Some(id) => {
                if !repo::update_step(&mut tx, id, offset, optional, subject, body, now)
                    .await
                    .map_err(taken)?
                {
                    return Err(ServiceError::NotFound);
                }
                id
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    /// An admin removes a step (its sends stay in the history).
    pub async fn retire_reminder_step(&self, staff_id: i64, step_id: i64) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        self.require_reminder_admin(&mut tx, staff_id).await?;
        if !repo::retire_step(&mut tx, step_id, now).await? {
            return Err(ServiceError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// An admin adds a cadence, starting with the default's steps.
    pub async fn add_reminder_cadence(&self, staff_id: i64, name: &str) -> ServiceResult<i64> {
        let now = self.clock.now();
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(ServiceError::invalid_field(
                "name",
                "Name the cadence (at most 100 characters).",
            ));
        }
        let mut tx = self.db.begin_write().await?;
        self.require_reminder_admin(&mut tx, staff_id).await?;
        let ctx = self.reminder_context(&mut tx).await?;
        let id = repo::insert_cadence(&mut tx, name, now)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    ServiceError::invalid_field("name", "A cadence of that name exists.")
                } else {
                    e.into()
                }
            })?;
        for s in ctx
            .steps
            .iter()
            .filter(|s| Some(s.cadence_id) == ctx.default_cadence)
        {
            repo::insert_step(
                &mut tx,
                id,
                s.offset_days,
                s.optional,
                &s.subject,
                &s.body,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// An admin sets a customer's cadence (None: the default), pause
    /// (an empty date lifts it: it then ends yesterday) and time zone
    /// (empty: the seller's).
    pub async fn set_customer_reminders(
        &self,
        staff_id: i64,
        customer_id: i64,
        cadence_id: Option<i64>,
        paused_until: &str,
        time_zone: &str,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let zone = match time_zone.trim() {
            "" => None,
            z => Some(
                z.parse::<Tz>()
                    .map_err(|_| {
                        ServiceError::invalid_field(
                            "time_zone",
                            format!(
                                "\"{z}\" is not an IANA time zone such as America/Los_Angeles."
                            ),
                        )
                    })?
                    .name()
                    .to_owned(),
            ),
        };
        let mut tx = self.db.begin_write().await?;
        self.require_reminder_admin(&mut tx, staff_id).await?;
        let ctx = self.reminder_context(&mut tx).await?;
        let current = repo::customer(&mut tx, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if let Some(id) = cadence_id {
            if !repo::cadences(&mut tx)
                .await?
                .iter()
                .any(|c| c.cadence_id == id)
            {
                return Err(ServiceError::invalid_field("cadence", "No such cadence."));
            }
        }
        let local_today = local_date(
            now,
            zone.as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(ctx.seller_zone),
        );
        let paused = match paused_until.trim() {
            "" => current
                .paused_until
                .filter(|d| *d >= local_today)
                .map(|_| local_today - Duration::days(1))
                .or(current.paused_until),
            text => Some(
                crate::domain::dates::parse_user_date("Paused until", text)
                    .map_err(|m| ServiceError::invalid_field("paused_until", m))?,
            ),
        };
        repo::store_customer(
            &mut tx,
            customer_id,
            cadence_id,
            paused,
            zone.as_deref(),
            Some(staff_id),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An admin pauses one invoice's reminders until a date (included);
    /// an empty date lifts the pause (it then ended yesterday).
    pub async fn pause_invoice_reminders(
        &self,
        staff_id: i64,
        invoice_id: i64,
        paused_until: &str,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        self.require_reminder_admin(&mut tx, staff_id).await?;
        let until = match paused_until.trim() {
            "" => now.date_naive() - Duration::days(1),
            text => crate::domain::dates::parse_user_date("Paused until", text)
                .map_err(|m| ServiceError::invalid_field("paused_until", m))?,
        };
        let exists = sqlx::query("SELECT invoice_id FROM invoices WHERE invoice_id = $1")
            .bind(invoice_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(ServiceError::NotFound);
        }
        repo::store_invoice_pause(&mut tx, invoice_id, until, staff_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A customer's reminder settings, sends and promises, for AR.
    pub async fn customer_reminders_view(
        &self,
        staff_id: i64,
        customer_id: i64,
    ) -> ServiceResult<CustomerRemindersView> {
        let mut conn = self.db.pool.acquire().await?;
        let role = active_staff_role(&mut conn, staff_id).await?;
        let ctx = self.reminder_context(&mut conn).await?;
        let customer = repo::customer(&mut conn, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let cadences = repo::cadences(&mut conn).await?;
        let cadence_name = cadences
            .iter()
            .find(|c| Some(c.cadence_id) == customer.cadence_id.or(ctx.default_cadence))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        Ok(CustomerRemindersView {
            cadence_id: customer.cadence_id,
            cadence_name,
            paused_until: customer.paused_until,
            effective_zone: ctx.zone_of(&customer).name().to_owned(),
            time_zone: customer.time_zone.clone(),
            cadences,
            sent: repo::sent_reminders(&mut conn, customer_id, 50).await?,
            promises: repo::promises_of(&mut conn, customer_id, 20).await?,
            open_invoices: {
                let today = local_date(self.clock.now(), ctx.zone_of(&customer));
                let pauses = repo::invoice_pauses(&mut conn, customer_id).await?;
                repo::open_invoices(&mut conn, customer_id, today + Duration::days(3650), None)
                    .await?
                    .into_iter()
                    .map(|i| {
                        let pause = pauses.get(&i.invoice_id).copied().filter(|d| *d >= today);
                        (i, pause)
                    })
                    .collect()
            },
            today: local_date(self.clock.now(), ctx.zone_of(&customer)),
            can_edit: role == StaffRole::Admin,
        })
    }

    /// The promise part of the invoice page, for a member of the account.
    pub async fn invoice_promise(
        &self,
        contact_id: i64,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<InvoicePromise> {
        let mut conn = self.db.pool.acquire().await?;
        let membership = accounts::memberships(&mut conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        let invoice = repo::invoices_of(&mut conn, customer_id, &[invoice_id])
            .await?
            .pop()
            .ok_or(ServiceError::NotFound)?;
        let ctx = self.reminder_context(&mut conn).await?;
        let customer = repo::customer(&mut conn, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        drop(conn);
        let today = local_date(self.clock.now(), ctx.zone_of(&customer));
        let open = self
            .open_promise_for_invoice(customer_id, invoice_id)
            .await?;
        let payable = if invoice.voided {
            0
        } else {
            crate::domain::payable_minor(
                invoice.balance_minor,
                invoice.pending_minor,
                invoice.disputed_minor,
            )
        };
        Ok(InvoicePromise {
            can_promise: membership.role.can_pay() && payable > 0 && open.is_none(),
            open,
            today,
            latest: today + Duration::days(ctx.settings.promise_horizon_days),
            payable_minor: payable,
            currency: invoice.currency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step_id: i64, offset_days: i64) -> StepRow {
        StepRow {
            step_id,
            cadence_id: 1,
            offset_days,
            optional: false,
            subject: String::new(),
            body: String::new(),
        }
    }

    fn invoice(id: i64, due: NaiveDate) -> OpenInvoice {
        OpenInvoice {
            invoice_id: id,
            number: format!("INV-{id}"),
            currency: Currency::USD,
            due_date: due,
            balance_minor: 10_000,
            pending_minor: 0,
            disputed_minor: 0,
            voided: false,
        }
    }

    #[test]
    fn a_broken_promise_resumes_the_latest_step_the_next_morning() {
        let steps = [step(1, 7), step(2, 14)];
        let steps: Vec<&StepRow> = steps.iter().collect();
        let due = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let customer = CustomerReminderRow {
            customer_id: 1,
            name: "C".into(),
            cadence_id: None,
            paused_until: None,
            time_zone: None,
            checked_on: None,
        };
        let mut facts = CustomerFacts {
            invoices: vec![invoice(5, due)],
            ..Default::default()
        };
        let promised_on = NaiveDate::from_ymd_opt(2027, 4, 1).unwrap();
        facts.promised.insert(5, promised_on);
        assert!(plan(&steps, &customer, &facts, promised_on).is_empty());
        facts.promised.clear();
        facts.promise_ended.insert(5, promised_on);
        let next = promised_on + Duration::days(1);
        let due_now = plan(&steps, &customer, &facts, next);
        assert_eq!(due_now.len(), 1);
        assert_eq!(due_now[0].step.as_ref().map(|s| s.step_id), Some(2));
    }
}

/// The invoices a test send shows when AR picks no customer.
fn sample_invoices(today: NaiveDate, currency: Currency) -> Vec<OpenInvoice> {
    [("SAMPLE-1001", 125_000, -3), ("SAMPLE-1002", 48_050, 7)]
        .into_iter()
        .enumerate()
        .map(|(i, (number, minor, overdue))| OpenInvoice {
            invoice_id: -(i as i64) - 1,
            number: number.to_owned(),
            currency,
            due_date: today - Duration::days(overdue),
            balance_minor: minor,
            pending_minor: 0,
            disputed_minor: 0,
            voided: false,
        })
        .collect()
}

impl Services {
    /// AR's "Send a test to me": the step's template rendered with sample
    /// invoices (or the chosen customer's open ones) to the acting staff
    /// member's own address, "[TEST]" in the subject. No invoice link is
    /// minted and nothing is recorded as sent: every link in it leads to
    /// a page that opens nothing for anyone.
    pub async fn send_reminder_test(
        &self,
        staff_id: i64,
        step_id: i64,
        customer_id: Option<i64>,
    ) -> ServiceResult<String> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = accounts::active_staff(&mut tx, staff_id)
            .await?
            .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))?;
        let ctx = self.reminder_context(&mut tx).await?;
        let step = ctx
            .steps
            .iter()
            .find(|s| s.step_id == step_id)
            .cloned()
            .ok_or(ServiceError::NotFound)?;
        let today = local_date(now, ctx.seller_zone);
        let (customer, invoices) = match customer_id {
            Some(id) => {
                let customer = repo::customer(&mut tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::invalid_field("customer", "Choose a customer."))?;
                let invoices =
                    repo::open_invoices(&mut tx, id, today + Duration::days(3650), None).await?;
                (customer, invoices)
            }
            None => (
                CustomerReminderRow {
                    customer_id: 0,
                    name: "Sample Customer Ltd".to_owned(),
                    cadence_id: None,
                    paused_until: None,
                    time_zone: None,
                    checked_on: None,
                },
                sample_invoices(today, Currency::parse("USD").expect("USD")),
            ),
        };
        if invoices.is_empty() {
            return Err(ServiceError::invalid_field(
                "customer",
                "That customer has no open invoice to show; send the sample instead.",
            ));
        }
        let dues: Vec<Due> = invoices
            .into_iter()
            .map(|invoice| Due {
                amount_minor: (invoice.balance_minor - invoice.disputed_minor).max(0),
                invoice,
                step: Some(step.clone()),
            })
            .collect();
        // Links that open nothing: no token, no account.
        let dead = self.config.link("/i/test-only");
        let links: Vec<(&Due, MintedInvoiceLink)> = dues
            .iter()
            .map(|d| {
                (
                    d,
                    MintedInvoiceLink {
                        link_id: 0,
                        url: dead.clone(),
                        expires_at: now,
                    },
                )
            })
            .collect();
        let mut vars = reminder_variables(self, &ctx, &customer, &links, today, &HashMap::new());
        vars.retain(|(n, _)| *n != "pay_all_link");
        vars.push((
            "pay_all_link",
            Value::link(
                &self.config.link("/accounts/0/pay?test-only"),
                "Pay all of them",
            ),
        ));
        vars.push(("contact_name", Value::words(staff.name.clone())));
        let subject = format!("[TEST] {}", render_text(&step.subject, &vars).trim());
        let (mut body_text, mut body_html) = render_body(&step.body, &vars);
        body_text.insert_str(
            0,
            "This is a test of a reminder step, sent to you only. Its links lead nowhere.\n\n",
        );
        body_html.insert_str(
            0,
            "<p><strong>This is a test of a reminder step, sent to you only. Its links lead nowhere.</strong></p>\n",
        );
        let message = reminder_email(&ReminderEmail {
            seller_name: &self.config.seller_name,
            subject: &subject,
            body_text: &body_text,
            body_html: &body_html,
        });
        outbox::enqueue(&mut tx, now, message.addressed_to(&staff.email)).await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(staff.email)
    }
}
