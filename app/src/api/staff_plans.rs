//! Server functions of AR's plan views (issue 12): the plan policy on the
//! settings page, and a payment-plan request's plan on its page. The forms
//! post to `server::http::staff_plan_routes`, which answer 303 back with
//! `saved=` / `form=` (settings) or `plan_notice=` / `plan_problem=`
//! (request page) and the typed values; these functions check the typed
//! values again to say what is wrong beside the field.

use leptos::prelude::*;

use crate::error::AppError;

/// The page's query string as (key, value) pairs, in order.
#[cfg(feature = "ssr")]
fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// The first value of `key`, or "".
#[cfg(feature = "ssr")]
fn query_value(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
use crate::models::staff_plans::{PlanPolicyView, StaffPlanView};

/// The plan policy section of `/staff/settings`. `query` is the page's
/// query string (after a refused form it carries the typed values back).
#[server(endpoint = "staff_plan_policy")]
pub async fn staff_plan_policy(query: String) -> Result<PlanPolicyView, AppError> {
    use super::ssr::{mapped, require_staff, services};
    use crate::models::staff_admin::FormNote;
    use crate::models::staff_plans::{CurrencyPolicyView, PolicyFieldView};
    use portal_core::services::request_settings::FormProblem;
    use portal_core::services::staff_plans::{
        PolicyForm, TimingsForm, POLICY_FIELDS, TIMING_FIELDS,
    };

    let staff_id = require_staff()?;
    let overview = mapped(services()?.plan_policy(staff_id).await)?;
    let pairs = query_pairs(&query);
    let get = |key: &str| query_value(&pairs, key);
    let (form, saved, currency) = (get("form"), get("saved"), get("currency"));
    let as_pair = |p: FormProblem| (p.field, p.message);
    let fields = |prefix: &str, values: &[String]| -> Vec<PolicyFieldView> {
        POLICY_FIELDS
            .iter()
            .zip(values)
            .map(|((field, label, hint), value)| PolicyFieldView {
                field: (*field).to_owned(),
                id: format!("{prefix}-{field}"),
                label: (*label).to_owned(),
                hint: (*hint).to_owned(),
                value: value.clone(),
            })
            .collect()
    };
    // A refused form of `code`: its typed values and what is wrong.
    let refused = |code: &str| -> Option<(PolicyForm, Option<(String, String)>)> {
        (form == "plan-policy" && currency == code).then(|| {
            let typed = PolicyForm::from_pairs(&pairs);
            let problem = typed.limits().err().map(as_pair);
            (typed, problem)
        })
    };
    let known: Vec<String> = overview
        .policies
        .iter()
        .map(|p| p.currency.code().to_owned())
        .collect();
    let policies = overview
        .policies
        .iter()
        .map(|p| {
            let code = p.currency.code().to_owned();
            let (typed, problem) = refused(&code).unwrap_or((PolicyForm::of(p), None));
            CurrencyPolicyView {
                anchor: format!("plan-policy-{code}"),
                fields: fields(&format!("plan-{code}"), &typed.values),
                note: FormNote {
                    saved: (saved == "plan-policy" && currency == code)
                        .then(|| "Saved. Plans proposed from now on are judged by it.".to_owned()),
                    problem,
                },
                typed_currency: code.clone(),
                currency: code,
            }
        })
        .collect();
    // The form adding a currency: refused when its code is none of the
    // currencies above.
    let (add_typed, add_problem) = if form == "plan-policy" && !known.contains(&currency) {
        let typed = PolicyForm::from_pairs(&pairs);
        let problem = typed.limits().err().map(as_pair);
        (typed, problem)
    } else {
        (PolicyForm::default(), None)
    };
    let timings_form = if form == "plan-timings" {
        TimingsForm::from_pairs(&pairs)
    } else {
        TimingsForm::of(&overview.timings)
    };
    let timings_problem = (form == "plan-timings")
        .then(|| timings_form.timings().err().map(as_pair))
        .flatten();
    let timing_values = [
        timings_form.grace_days.clone(),
        timings_form.default_after_days.clone(),
    ];
    Ok(PlanPolicyView {
        can_edit: overview.can_edit,
        policies,
        add: CurrencyPolicyView {
            currency: String::new(),
            anchor: "plan-policy-add".into(),
            typed_currency: add_typed.currency.clone(),
            fields: fields("plan-new", &add_typed.values),
            note: FormNote {
                saved: None,
                problem: add_problem,
            },
        },
        timings: TIMING_FIELDS
            .iter()
            .zip(timing_values)
            .map(|((field, label, hint), value)| PolicyFieldView {
                field: (*field).to_owned(),
                id: format!("plan-{field}"),
                label: (*label).to_owned(),
                hint: (*hint).to_owned(),
                value,
            })
            .collect(),
        timings_note: FormNote {
            saved: (saved == "plan-timings")
                .then(|| "Saved. The plan check uses it from its next run.".to_owned()),
            problem: timings_problem,
        },
    })
}

/// The plan of a payment-plan request on AR's request page; `None` for a
/// request without a plan. `query` is the page's query string: the plan
/// forms' outcome (`plan_notice`, `plan_problem`, `plan_form`) and what a
/// refused form had typed (`plan_<field>`).
#[server(endpoint = "staff_plan")]
pub async fn staff_plan(
    request_id: String,
    query: String,
) -> Result<Option<StaffPlanView>, AppError> {
    use super::ssr::{date, fail, mapped, require_staff, services, stamp};
    use crate::models::staff_plans::{AcceptanceView, InstalmentView, PlanInvoiceView, PlanKept};
    use portal_core::domain::plan::{Frequency, PlanStatus, PolicyVerdict, MAX_FIRST_DATE_DAYS};
    use portal_core::domain::Money;
    use portal_core::services::staff_plans::{terms_in_words, CounterForm};

    let staff_id = require_staff()?;
    let Ok(request_id) = request_id.parse::<i64>() else {
        return fail(AppError::NotFound);
    };
    let Some(d) = mapped(services()?.staff_plan_detail(staff_id, request_id).await)? else {
        return Ok(None);
    };
    let plan = &d.plan;
    let money = |minor: i64| Money::new(minor, plan.currency).display();
    let pairs = query_pairs(&query);
    let get = |key: &str| query_value(&pairs, key);
    let kept = PlanKept {
        note: get("plan_note"),
        down_payment: get("plan_down_payment"),
        count: get("plan_count"),
        frequency: get("plan_frequency"),
        first_date: get("plan_first_date"),
        message: get("plan_message"),
        reason: get("plan_reason"),
    };
    let status = match plan.status {
        PlanStatus::Requested => "Asks AR to propose terms",
        PlanStatus::Proposed => "Waiting for AR's decision",
        PlanStatus::Countered => "Waiting for the customer's answer to AR's terms",
        PlanStatus::Active => "Active",
        PlanStatus::AtRisk => "At risk",
        PlanStatus::Completed => "Completed",
        PlanStatus::Defaulted => "Defaulted",
        PlanStatus::Declined => "Declined",
        PlanStatus::Canceled => "Canceled",
    };
    let count = plan.count.unwrap_or(0);
    let schedule: Vec<_> = d.standings.iter().map(|s| s.instalment).collect();
    let queued = matches!(plan.status, PlanStatus::Proposed | PlanStatus::Requested);
    let verdict = match (&d.verdict, queued) {
        (None, _) => vec!["The customer asked AR to propose the terms.".to_owned()],
        (Some(PolicyVerdict::Queue { reasons }), _) => reasons.clone(),
        (Some(PolicyVerdict::Decline { reasons }), _) => reasons
            .iter()
            .map(|r| format!("Above an automatic decline limit: {r}"))
            .collect(),
        (Some(PolicyVerdict::Approve), true) => vec![
            "Inside every automatic approval limit under today's policy (it changed since the plan was proposed).".to_owned(),
        ],
        (Some(PolicyVerdict::Approve), false) => Vec::new(),
    };
    let problem_text = |code: &str| -> Option<String> {
        Some(match code {
            "" => return None,
            "note" => "The note can be at most 10,000 characters.".into(),
            "message" => "The message can be at most 10,000 characters.".into(),
            "reason" if kept.reason.trim().is_empty() => {
                "Write why the plan is declined: the customer reads it.".into()
            }
            "reason" => "The reason can be at most 10,000 characters.".into(),
            "counter" => {
                let form = CounterForm {
                    down_payment: kept.down_payment.clone(),
                    count: kept.count.clone(),
                    frequency: kept.frequency.clone(),
                    first_date: kept.first_date.clone(),
                    message: kept.message.clone(),
                };
                form.terms(plan.total_minor, plan.currency, d.today)
                    .err()
                    .map(|p| p.message)
                    .unwrap_or_else(|| "Check the terms and send them again.".into())
            }
            "dates" => "The customer's first payment date has passed: propose new dates with other terms instead.".into(),
            "forbidden" => "This plan request is assigned to someone else: its owner or an AR admin decides it.".into(),
            "moved" => "The plan had already moved on (a second press, or a colleague first): nothing more was written. It is shown as it is now.".into(),
            "not_now" => "That is not possible in the plan's state: it is shown as it is now, with what can be done.".into(),
            _ => "That did not work. Check the form and send it again.".into(),
        })
    };
    let notice = match get("plan_notice").as_str() {
        "approve" => Some("The plan is approved and active; the customer was emailed."),
        "counter" => Some("Your terms were sent: the customer was emailed a link to accept or decline them. The request waits on the customer; its clock is paused."),
        "decline" => Some("The plan is declined and its invoices are due as before; the customer was emailed the reason."),
        "close" => Some("The request is closed and the customer was told; the plan keeps its status."),
        _ => None,
    }
    .map(str::to_owned);
    let problem = problem_text(&get("plan_problem"));
    let problem_form = problem.as_ref().map(|_| get("plan_form"));
    Ok(Some(StaffPlanView {
        request_id,
        plan_id: plan.plan_id,
        status: status.to_owned(),
        status_key: plan.status.as_str().to_owned(),
        terms_version: plan.terms_version,
        currency: plan.currency.code().to_owned(),
        total: money(plan.total_minor),
        terms: plan
            .terms()
            .map(|t| terms_in_words(plan.currency, &t, &schedule)),
        proposed: stamp(plan.created_at),
        invoices: d
            .invoices
            .iter()
            .map(|i| PlanInvoiceView {
                number: i.number.clone(),
                href: format!(
                    "/staff/customers/{}#invoice-{}",
                    plan.customer_id, i.invoice_id
                ),
                due: date(i.due_date),
                covered: money(i.covered_minor),
                open_now: money(i.balance_minor),
            })
            .collect(),
        schedule: d
            .standings
            .iter()
            .map(|s| {
                let part = s.paid_minor > 0 && s.left_minor > 0;
                InstalmentView {
                    name: s.instalment.label(count),
                    due: date(s.instalment.due_date),
                    amount: money(s.instalment.amount_minor),
                    status: if part {
                        format!("{} ({} left)", s.status.label(), money(s.left_minor))
                    } else {
                        s.status.label()
                    },
                    status_key: s.status.as_str().to_owned(),
                }
            })
            .collect(),
        verdict,
        acceptances: d
            .acceptances
            .iter()
            .map(|a| AcceptanceView {
                terms_version: a.terms_version,
                who: a
                    .contact_name
                    .clone()
                    .unwrap_or_else(|| format!("Contact #{}", a.contact_id)),
                at: stamp(a.accepted_at),
                ip: a.ip.clone().unwrap_or_else(|| "not recorded".into()),
                user_agent: a
                    .user_agent
                    .clone()
                    .unwrap_or_else(|| "not recorded".into()),
                terms_hash: a.terms_hash.clone(),
            })
            .collect(),
        proposer: d.proposer.clone(),
        decision_note: plan.decision_note.clone(),
        can_decide: queued && d.may_decide.is_ok(),
        why_not: if queued {
            d.may_decide.clone().err()
        } else {
            None
        },
        can_approve: plan.status == PlanStatus::Proposed,
        can_close: !plan.status.is_pending() && d.request_open && d.may_decide.is_ok(),
        frequencies: Frequency::ALL
            .iter()
            .map(|f| (f.as_str().to_owned(), f.label().to_owned()))
            .collect(),
        first_date_min: d.today.format("%Y-%m-%d").to_string(),
        first_date_max: (d.today + chrono::Duration::days(MAX_FIRST_DATE_DAYS))
            .format("%Y-%m-%d")
            .to_string(),
        notice,
        problem,
        problem_form,
        kept,
    }))
}
