//! Server functions of the customer plan pages (issue 12). They only read:
//! the forms post to plain axum routes (`server::http::plan_routes`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::plans::{PlanListView, PlanProposeView, PlanView, PreviewView};

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::use_context;
    use portal_core::domain::plan::{
        Frequency, InstalmentStanding, InstalmentStatus, PlanStatus, PolicyVerdict,
        ScheduledInstalment,
    };
    use portal_core::domain::{Currency, Money};
    use portal_core::services::plans::{PlanForm, PlanPreview};
    use portal_core::services::requests::drafts::{self, draft_key, FormDraft, Session};
    use portal_core::ServiceError;

    use crate::api::ssr::date;
    use crate::error::AppError;
    use crate::models::plans::{InstalmentView, PreviewView, ScheduleView};

    /// A query string's pairs, decoded.
    pub fn query_pairs(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect()
    }

    pub fn value(pairs: &[(String, String)], name: &str) -> Option<String> {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// The ticked invoices (`invoice`, repeated); what is not a number is
    /// left out (the service then says none was chosen).
    pub fn invoice_ids(pairs: &[(String, String)]) -> Vec<i64> {
        pairs
            .iter()
            .filter(|(k, _)| k == "invoice")
            .filter_map(|(_, v)| v.trim().parse().ok())
            .collect()
    }

    /// The propose form as the browser sent it (GET "Preview", the POST,
    /// or the island's call).
    pub fn plan_form(pairs: &[(String, String)]) -> PlanForm {
        let text = |name: &str| value(pairs, name).unwrap_or_default();
        PlanForm {
            invoice_ids: invoice_ids(pairs),
            down_payment: text("down_payment"),
            count: text("count"),
            frequency: text("frequency"),
            first_date: text("first_date"),
            message: String::new(),
        }
    }

    /// The draft a refused post left in the web session (see
    /// `services::requests::drafts`), read only when the URL names a
    /// problem; without it (an expired session) the code says what kind.
    pub async fn draft(query: &[(String, String)], form: &str, id: i64) -> Option<FormDraft> {
        let code = value(query, "problem")?;
        let session = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Session>().cloned());
        let kept = match session {
            Some(session) => drafts::read(&session, &draft_key(form, id)).await,
            None => None,
        };
        Some(kept.unwrap_or_else(|| {
            FormDraft {
                problem: match code.as_str() {
                    "forbidden" => "Your role on this account does not allow that.",
                    "conflict" => "That changed meanwhile; the page shows it as it is now.",
                    _ => "That did not work. Check the form and send it again.",
                }
                .into(),
                ..Default::default()
            }
        }))
    }

    /// "3 instalments, paid monthly; the last is due Mar 7, 2027." with the
    /// down payment first when there is one.
    pub fn summary(
        schedule: &[ScheduledInstalment],
        frequency: Frequency,
        currency: Currency,
    ) -> String {
        let count = schedule.iter().filter(|i| i.seq > 0).count();
        let plural = if count == 1 { "" } else { "s" };
        let how = format!(
            "{count} instalment{plural}, paid {}",
            frequency.label().to_lowercase()
        );
        let last = schedule
            .iter()
            .map(|i| i.due_date)
            .max()
            .map(|d| format!("; the last is due {}.", date(d)))
            .unwrap_or_else(|| ".".into());
        match schedule.iter().find(|i| i.seq == 0) {
            Some(down) => format!(
                "A down payment of {} on {}, then {how}{last}",
                Money::new(down.amount_minor, currency).display(),
                date(down.due_date)
            ),
            None => format!("{how}{last}"),
        }
    }

    /// A schedule as proposed (no standing yet).
    pub fn schedule_view(
        schedule: &[ScheduledInstalment],
        frequency: Frequency,
        currency: Currency,
    ) -> ScheduleView {
        let count = schedule.iter().filter(|i| i.seq > 0).count() as u32;
        let money = |minor: i64| Money::new(minor, currency).display();
        ScheduleView {
            rows: schedule
                .iter()
                .map(|i| InstalmentView {
                    label: i.label(count),
                    due: date(i.due_date),
                    amount: money(i.amount_minor),
                    status: None,
                    status_key: None,
                    paid: None,
                })
                .collect(),
            total: money(schedule.iter().map(|i| i.amount_minor).sum()),
            summary: summary(schedule, frequency, currency),
        }
    }

    /// How an instalment stands, in words: partly paid ones say what is left.
    pub fn standing_words(s: &InstalmentStanding, currency: Currency) -> String {
        let label = s.status.label();
        if s.paid_minor > 0 && s.left_minor > 0 {
            format!(
                "{label}, {} left",
                Money::new(s.left_minor, currency).display()
            )
        } else {
            label
        }
    }

    /// An agreed schedule with each instalment's standing.
    pub fn standing_view(
        standings: &[InstalmentStanding],
        frequency: Frequency,
        currency: Currency,
    ) -> ScheduleView {
        let schedule: Vec<ScheduledInstalment> = standings.iter().map(|s| s.instalment).collect();
        let mut view = schedule_view(&schedule, frequency, currency);
        for (row, s) in view.rows.iter_mut().zip(standings) {
            row.status = Some(standing_words(s, currency));
            row.status_key = Some(s.status.as_str().to_owned());
            row.paid = (s.paid_minor > 0).then(|| Money::new(s.paid_minor, currency).display());
        }
        view
    }

    /// "$500.00 due Jan 5, 2027" (what is left of it).
    pub fn next_words(s: &InstalmentStanding, currency: Currency) -> String {
        let when = match s.status {
            InstalmentStatus::Late { .. } => {
                format!(
                    "was due {} ({})",
                    date(s.instalment.due_date),
                    s.status.label().to_lowercase()
                )
            }
            _ => format!("due {}", date(s.instalment.due_date)),
        };
        format!("{} {when}", Money::new(s.left_minor, currency).display())
    }

    /// What pressing "Propose" would lead to, in words.
    pub fn verdict_words(verdict: &PolicyVerdict) -> String {
        match verdict {
            PolicyVerdict::Approve => {
                "Inside the seller's limits: this plan starts as soon as you propose it.".into()
            }
            PolicyVerdict::Queue { .. } => format!(
                "AR will review this plan before it starts. {}",
                verdict.reasons_text()
            ),
            PolicyVerdict::Decline { .. } => format!(
                "This plan is outside the seller's limits and would be declined. {} Change the terms, or ask AR to propose a plan.",
                verdict.reasons_text()
            ),
        }
    }

    /// A preview's answer as the page and the island show it: the schedule,
    /// or the refusal in words with the field it is about.
    pub fn preview_view(
        answer: Result<PlanPreview, ServiceError>,
    ) -> Result<PreviewView, AppError> {
        match answer {
            Ok(p) => Ok(PreviewView {
                schedule: Some(schedule_view(&p.schedule, p.terms.frequency, p.currency)),
                verdict: Some(verdict_words(&p.verdict)),
                problem: None,
                field: None,
            }),
            Err(ServiceError::Invalid { field, message }) => Ok(PreviewView {
                schedule: None,
                verdict: None,
                problem: Some(message),
                field: field.map(str::to_owned),
            }),
            Err(ServiceError::Forbidden(message) | ServiceError::Conflict(message)) => {
                Ok(PreviewView {
                    problem: Some(message),
                    ..PreviewView::default()
                })
            }
            Err(e) => crate::api::ssr::fail(AppError::from(e)),
        }
    }

    /// What a plan's status means and what happens next.
    pub fn explanation(status: PlanStatus, note: Option<&str>) -> String {
        let base = match status {
            PlanStatus::Requested => "You asked AR to propose a plan for these invoices. AR answers in the plan's messages; until then the invoices are due as before.",
            PlanStatus::Proposed => "AR is reviewing your proposal. Until AR decides, the invoices are due as before.",
            PlanStatus::Countered => "AR answered your proposal with other terms, shown below. Accept them to start the plan, or decline them.",
            PlanStatus::Active => "The plan is running. Pay each instalment by its date; paying more than an instalment counts toward the next ones.",
            PlanStatus::AtRisk => "An instalment is late. Pay it soon: if it stays late, the plan ends and the whole balance of its invoices is due again.",
            PlanStatus::Completed => "Everything in this plan is paid.",
            PlanStatus::Defaulted => "An instalment stayed late too long, so the plan ended: the whole balance of its invoices is due again.",
            PlanStatus::Declined => "This plan was declined. You can propose other terms, or ask AR to propose a plan.",
            PlanStatus::Canceled => "This plan was canceled.",
        };
        match note.filter(|n| !n.trim().is_empty()) {
            Some(note) if matches!(status, PlanStatus::Declined | PlanStatus::Defaulted) => {
                format!("{base} Reason: {note}")
            }
            _ => base.to_owned(),
        }
    }

    /// The notice a 303 back to the plan page names by its code.
    pub fn notice(code: &str) -> Option<&'static str> {
        Some(match code {
            "approved" => "Your plan is approved and has started. The schedule is below.",
            "queued" => "Your proposal was sent to AR. You will get an email when AR decides.",
            "declined" => "Your proposal is outside the seller's limits, so it was declined. The reason is below.",
            "asked" => "Your request was sent to AR. You will get an email when AR proposes a plan.",
            "accepted" => "You accepted AR's terms: the plan has started.",
            "counter-declined" => "You declined AR's terms. The invoices are due as before.",
            _ => return None,
        })
    }
}

/// The account's plans, newest first.
#[server(endpoint = "plan_list")]
pub async fn plan_list(customer_id: String) -> Result<PlanListView, AppError> {
    use super::ssr::{id, mapped, require_contact, services, stamp};
    use crate::models::plans::PlanRowView;
    use portal_core::domain::Money;
    use ssr::next_words;

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let can_write = access
        .membership(customer_id)
        .is_some_and(|m| m.role.can_pay());
    let plans = mapped(services()?.customer_plans(&access, customer_id).await)?;
    let customer_name = super::ssr::member_customer_name(&access, customer_id)?;
    Ok(PlanListView {
        customer_id,
        customer_name,
        plans: plans
            .into_iter()
            .map(|l| {
                let p = &l.plan;
                PlanRowView {
                    href: format!("/accounts/{customer_id}/plans/{}", p.plan_id),
                    title: format!("Plan {}", p.plan_id),
                    status: p.status.label().into(),
                    status_key: p.status.as_str().into(),
                    total: Some(Money::new(p.total_minor, p.currency).display()),
                    invoices: l.invoice_numbers.join(", "),
                    terms: p.count.zip(p.frequency).map(|(n, f)| {
                        format!(
                            "{n} instalment{}, {}",
                            if n == 1 { "" } else { "s" },
                            f.label().to_lowercase()
                        )
                    }),
                    next: l.next.as_ref().map(|s| next_words(s, p.currency)),
                    opened: stamp(p.created_at),
                }
            })
            .collect(),
        propose_href: can_write.then(|| format!("/accounts/{customer_id}/plans/new")),
        read_only_note: (!can_write).then(|| {
            "Your role on this account lets you see payment plans, not propose or change them."
                .to_owned()
        }),
    })
}

/// The propose form; `query` carries what was typed (a "Preview" or a
/// refused post brings it back).
#[server(endpoint = "plan_propose_form")]
pub async fn plan_propose_form(
    customer_id: String,
    query: String,
) -> Result<PlanProposeView, AppError> {
    use super::ssr::{date, id, mapped, require_contact, services, status};
    use crate::models::plans::{OptionView, PlanInvoiceOptionView};
    use portal_core::domain::plan::Frequency;
    use portal_core::domain::Money;
    use ssr::{draft, invoice_ids, plan_form, preview_view, query_pairs, value};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let services = services()?;
    let choices = mapped(services.plan_choices(&access, customer_id).await)?;
    let pairs = query_pairs(&query);
    let base = format!("/accounts/{customer_id}/plans");
    if choices.refusal.is_some() {
        status(http::StatusCode::FORBIDDEN);
    }
    // The ask form's refusal comes back with `form=ask`; the propose
    // form's with its fields in the query (a GET, like "Preview").
    let asking = value(&pairs, "form").as_deref() == Some("ask");
    let ask_draft = if asking {
        draft(&pairs, "plan-ask", customer_id).await
    } else {
        None
    };
    let typed = !asking
        && ["count", "first_date", "preview", "problem"]
            .iter()
            .any(|k| value(&pairs, k).is_some());
    let preview = if typed && choices.refusal.is_none() {
        let form = plan_form(&pairs);
        let mut shown = preview_view(services.preview_plan(&access, customer_id, &form).await)?;
        // A refusal the preview does not see again (the plan was taken
        // meanwhile) is still said, in the words the post was refused with.
        if shown.problem.is_none() {
            if let Some(d) = draft(&pairs, "plan-propose", customer_id).await {
                shown.schedule = None;
                shown.verdict = None;
                shown.problem = Some(d.problem);
                shown.field = d.field;
            }
        }
        Some(shown)
    } else {
        None
    };
    let checked = invoice_ids(&pairs);
    let frequency = value(&pairs, "frequency").unwrap_or_else(|| "monthly".into());
    let default_first = (choices.today + chrono::Duration::days(7)).min(choices.latest_first_date);
    let text_or = |name: &str, default: String| {
        if typed {
            value(&pairs, name).unwrap_or_default()
        } else {
            default
        }
    };
    let ask = ask_draft.clone().unwrap_or_default();
    Ok(PlanProposeView {
        customer_id,
        customer_name: choices.customer_name.clone(),
        refusal: choices.refusal.clone(),
        invoices: choices
            .invoices
            .iter()
            .map(|c| {
                let i = &c.invoice;
                let money = |minor: i64| Money::new(minor, i.currency).display();
                let left_out = [
                    (i.disputed_minor.min(i.balance_minor), "disputed"),
                    (i.pending_minor, "being paid"),
                ]
                .into_iter()
                .filter(|(m, _)| *m > 0)
                .map(|(m, what)| format!("{} {what}", money(m)))
                .collect::<Vec<_>>();
                PlanInvoiceOptionView {
                    invoice_id: i.invoice_id,
                    number: i.number.clone(),
                    due_date: date(i.due_date),
                    currency: i.currency.code().to_owned(),
                    balance: money(i.balance_minor),
                    payable: money(c.payable_minor),
                    checked: c.unavailable.is_none() && checked.contains(&i.invoice_id),
                    blocked: c.unavailable.clone(),
                    note: (c.unavailable.is_none() && !left_out.is_empty()).then(|| {
                        format!(
                            "Left out of the plan: {} (of a balance of {}).",
                            left_out.join(" and "),
                            money(i.balance_minor)
                        )
                    }),
                }
            })
            .collect(),
        down_payment: text_or("down_payment", String::new()),
        count: text_or("count", "3".into()),
        frequencies: Frequency::ALL
            .iter()
            .map(|f| OptionView {
                key: f.as_str().into(),
                label: f.label().into(),
                selected: f.as_str() == frequency,
            })
            .collect(),
        first_date: text_or("first_date", default_first.to_string()),
        min_date: choices.today.to_string(),
        max_date: choices.latest_first_date.to_string(),
        date_hint: format!(
            "From today, {}, to {}.",
            date(choices.today),
            date(choices.latest_first_date)
        ),
        count_hint: format!(
            "From 1 to {}, after the down payment if there is one.",
            choices.max_count
        ),
        preview,
        action: base.clone(),
        page_href: format!("{base}/new"),
        ask_action: format!("{base}/ask"),
        ask_message: ask.message.clone(),
        ask_checked: ask.line_ids.clone(),
        ask_problem: ask_draft.as_ref().map(|d| d.problem.clone()),
        ask_open: ask_draft.is_some(),
        list_href: base,
    })
}

/// The schedule the form's fields give (the live preview island calls
/// this as the fields change; `query` is the form encoded as a GET would).
#[server(endpoint = "plan_preview")]
pub async fn plan_preview(customer_id: String, query: String) -> Result<PreviewView, AppError> {
    use super::ssr::{id, require_contact, services};
    use ssr::{plan_form, preview_view, query_pairs};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let form = plan_form(&query_pairs(&query));
    preview_view(services()?.preview_plan(&access, customer_id, &form).await)
}

/// One plan with its schedule and what the customer may do with it.
#[server(endpoint = "plan_page")]
pub async fn plan_page(
    customer_id: String,
    plan_id: String,
    query: String,
) -> Result<PlanView, AppError> {
    use super::ssr::{id, mapped, require_contact, services, stamp};
    use crate::models::plans::{AcceptanceView, CounterView, PlanInvoiceView};
    use portal_core::domain::plan::PlanStatus;
    use portal_core::domain::Money;
    use ssr::{
        draft, explanation, next_words, notice, query_pairs, schedule_view, standing_view, value,
    };

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let plan_id = id(&plan_id)?;
    let p = mapped(
        services()?
            .customer_plan(&access, customer_id, plan_id)
            .await,
    )?;
    let pairs = query_pairs(&query);
    let plan = &p.plan;
    let currency = plan.currency;
    let money = |minor: i64| Money::new(minor, currency).display();
    let base = format!("/accounts/{customer_id}/plans/{plan_id}");
    let status = plan.status;
    // Standing only means something once terms were agreed.
    let agreed =
        status.is_running() || matches!(status, PlanStatus::Completed | PlanStatus::Defaulted);
    let schedule = match plan.frequency {
        Some(frequency) if !p.standings.is_empty() => Some(if agreed {
            standing_view(&p.standings, frequency, currency)
        } else {
            let rows: Vec<_> = p.standings.iter().map(|s| s.instalment).collect();
            schedule_view(&rows, frequency, currency)
        }),
        _ => None,
    };
    let left = (plan.total_minor - p.paid_minor).max(0);
    Ok(PlanView {
        customer_id,
        customer_name: p.customer_name.clone(),
        plan_id,
        title: format!("Payment plan {plan_id}"),
        status: status.label().into(),
        status_key: status.as_str().into(),
        explanation: explanation(status, plan.decision_note.as_deref()),
        invoices: p
            .invoices
            .iter()
            .map(|i| PlanInvoiceView {
                number: i.number.clone(),
                href: format!("/accounts/{customer_id}/invoices/{}", i.invoice_id),
                covered: money(i.covered_minor),
                balance: money(i.balance_minor),
            })
            .collect(),
        total: Some(money(plan.total_minor)),
        paid: agreed.then(|| money(p.paid_minor)),
        left: agreed.then(|| money(left)),
        schedule,
        acceptances: p
            .acceptances
            .iter()
            .map(|a| AcceptanceView {
                who: if a.contact_id == access.contact_id {
                    "you".into()
                } else {
                    a.contact_name
                        .clone()
                        .unwrap_or_else(|| "a colleague".into())
                },
                at: stamp(a.accepted_at),
                version: a.terms_version,
                hash: a.terms_hash.chars().take(12).collect(),
            })
            .collect(),
        counter: (status == PlanStatus::Countered)
            .then(|| {
                Some(CounterView {
                    terms_hash: p.terms_hash.clone()?,
                    terms_text: p.terms_text.clone()?,
                    accept_action: p.may_write.then(|| format!("{base}/accept")),
                    decline_action: p.may_write.then(|| format!("{base}/decline")),
                })
            })
            .flatten(),
        pay_href: (p.may_write && p.next.is_some())
            .then(|| format!("/accounts/{customer_id}/pay?plan={plan_id}")),
        next: p.next.as_ref().map(|s| next_words(s, currency)),
        thread_href: Some(format!(
            "/accounts/{customer_id}/requests/{}",
            plan.request_id
        )),
        notice: value(&pairs, "notice")
            .and_then(|n| notice(&n))
            .map(str::to_owned),
        problem: draft(&pairs, "plan", plan_id).await.map(|d| d.problem),
        read_only_note: (!p.may_write).then(|| {
            "Your role on this account lets you see this plan, not pay or answer it.".to_owned()
        }),
        list_href: format!("/accounts/{customer_id}/plans"),
    })
}
