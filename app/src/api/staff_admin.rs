//! Server functions of AR's figures, customer page and settings (issue 11).

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::staff_admin::{FiguresView, StaffCustomerView, StaffSettingsView};

/// The queue's figures (staff only).
#[server(endpoint = "queue_figures")]
pub async fn queue_figures() -> Result<FiguresView, AppError> {
    use super::ssr::{date, mapped, require_staff, services, stamp};
    use crate::models::staff_admin::{KindCountView, WeekView};
    use portal_core::services::request_figures::minutes_in_words;

    let staff_id = require_staff()?;
    let f = mapped(services()?.request_figures(staff_id).await)?;
    let within_sla = f.within_sla_percent().map(|p| format!("{p}%"));
    Ok(FiguresView {
        as_of: stamp(f.as_of),
        open_total: f.open_by_kind.iter().map(|(_, n)| n).sum(),
        open_by_kind: f
            .open_by_kind
            .iter()
            .map(|(kind, count)| KindCountView {
                label: ssr_words::kind(*kind).to_owned(),
                count: *count,
            })
            .collect(),
        median_first_response: f.median_first_response_minutes.map(minutes_in_words),
        first_responses: f.first_responses,
        within_sla,
        within_sla_count: f.first_responses_within_sla,
        breaches_this_week: f.breaches_this_week,
        week_words: format!("since Monday, {} ({})", date(f.week_starts), f.time_zone),
        weeks: f
            .weeks
            .iter()
            .map(|w| WeekView {
                label: w.starts.format("%b %-d").to_string(),
                opened: w.opened,
                resolved: w.resolved,
            })
            .collect(),
    })
}

/// Words the staff pages use for the core's enums.
#[cfg(feature = "ssr")]
mod ssr_words {
    use portal_core::domain::request::{RequestKind, RequestStatus};

    pub fn kind(kind: RequestKind) -> &'static str {
        match kind {
            RequestKind::Dispute => "Disputes",
            RequestKind::PaymentPlan => "Payment plans",
            RequestKind::Question => "Questions",
            RequestKind::Promise => "Broken promises to pay",
        }
    }

    /// As AR reads it (the customer's wording says "your answer").
    pub fn status(status: RequestStatus) -> &'static str {
        match status {
            RequestStatus::Open => "Open",
            RequestStatus::WaitingOnCustomer => "Waiting on the customer",
            RequestStatus::Resolved => "Resolved",
            RequestStatus::Withdrawn => "Withdrawn",
        }
    }
}

/// AR's page of one customer account (staff only; 404 for an unknown id).
#[server(endpoint = "staff_customer")]
pub async fn staff_customer(customer_id: String) -> Result<StaffCustomerView, AppError> {
    use super::ssr::{id, mapped, require_staff, services, stamp};
    use crate::models::staff_admin::{
        AccountBalanceView, AgingView, ContactView, CustomerPaymentView, CustomerRequestView,
        TimelineView,
    };
    use portal_core::domain::payment_state::method_label;
    use portal_core::domain::statement::Bucket;
    use portal_core::domain::{payment_number, Money};

    let staff_id = require_staff()?;
    let customer_id = id(&customer_id)?;
    let c = mapped(services()?.staff_customer(staff_id, customer_id).await)?;
    let requests = c
        .requests
        .iter()
        .map(|r| {
            let money = |minor| r.currency.map(|cur| Money::new(minor, cur).display());
            CustomerRequestView {
                href: format!("/staff/requests/{}", r.request_id),
                reference: format!("Request {}", r.request_id),
                kind: crate::api::requests::ssr::kind_label(r.kind).to_owned(),
                status: ssr_words::status(r.status).to_owned(),
                status_key: r.status.as_str().to_owned(),
                open: r.status.is_open(),
                reason: r.reason_label.clone(),
                invoice: r.invoice_number.clone(),
                disputed: r.disputed_minor.and_then(money),
                opened: stamp(r.opened_at),
            }
        })
        .collect();
    Ok(StaffCustomerView {
        customer_id,
        terms: format!("Payment terms: {} days", c.terms_days),
        contacts: c
            .contacts
            .iter()
            .map(|p| ContactView {
                name: p.name.clone(),
                email: p.email.clone(),
                role: p.role.as_str().to_owned(),
                disabled: p.disabled,
            })
            .collect(),
        balances: c
            .totals
            .iter()
            .map(|t| {
                let m = |minor| Money::new(minor, t.currency).display();
                AccountBalanceView {
                    currency: t.currency.code().to_owned(),
                    open: m(t.open_minor),
                    overdue: m(t.overdue_minor),
                    disputed: m(t.disputed_minor),
                    open_count: t.open_count,
                    overdue_count: t.overdue_count,
                }
            })
            .collect(),
        bucket_labels: Bucket::ALL.iter().map(|b| b.label().to_owned()).collect(),
        aging: c
            .aging
            .iter()
            .map(|a| {
                let m = |minor| Money::new(minor, a.currency).display();
                AgingView {
                    currency: a.currency.code().to_owned(),
                    buckets: a.aging_minor.iter().map(|v| m(*v)).collect(),
                    unapplied: (a.unapplied_minor != 0).then(|| m(a.unapplied_minor)),
                    closing: m(a.closing_minor),
                }
            })
            .collect(),
        requests,
        payments: c
            .payments
            .iter()
            .map(|(p, allocations)| CustomerPaymentView {
                reference: payment_number(p.payment_id),
                created: stamp(p.created_at),
                method: method_label(&p.method).to_owned(),
                amount: Money::new(p.amount_minor, p.currency).display(),
                status: p.status.as_str().to_owned(),
                status_key: p.status.as_str().to_owned(),
                invoices: allocations
                    .iter()
                    .map(|a| a.invoice_number.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        timeline: c
            .timeline
            .iter()
            .map(|t| TimelineView {
                at: stamp(t.at),
                who: t.who.clone(),
                what: t.what.clone(),
                about: match (t.request_id, &t.invoice) {
                    (Some(id), _) => {
                        Some((format!("Request {id}"), format!("/staff/requests/{id}")))
                    }
                    (None, Some((_, number))) => Some((format!("Invoice {number}"), String::new())),
                    _ => None,
                },
            })
            .collect(),
        name: c.name,
    })
}

/// The document language section of AR's customer page (issue 15).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomerLanguageView {
    pub customer_id: i64,
    /// What the field shows: the stored tag, or after a refusal what was typed.
    pub language: String,
    /// "Polish (pl)" or the fallback in words.
    pub in_words: String,
    pub can_edit: bool,
    pub notice: Option<String>,
    pub problem: Option<String>,
}

/// The customer's document language; `query` is the page's query string
/// (`saved=language`, or `language_problem=…&language=<typed>` after a
/// refused form, checked again here to say what is wrong).
#[server(endpoint = "staff_customer_language")]
pub async fn staff_customer_language(
    customer_id: String,
    query: String,
) -> Result<CustomerLanguageView, AppError> {
    use super::ssr::{id, mapped, require_staff, services};

    let staff_id = require_staff()?;
    let customer_id = id(&customer_id)?;
    let v = mapped(
        services()?
            .staff_customer_language(staff_id, customer_id)
            .await,
    )?;
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let typed = get("language_problem").and(get("language"));
    let problem = typed
        .as_deref()
        .and_then(|t| portal_core::pdf::parse_customer_language(t).err())
        .map(|why| format!("Nothing was changed: {why}"));
    let in_words = match &v.language {
        Some(tag) => format!(
            "Invoices, statements and receipts of this customer are in language “{tag}” (their PDF language, which screen readers use), whatever the reader's browser says."
        ),
        None => "Not set: each PDF takes the language of the browser of whoever downloads it.".to_owned(),
    };
    Ok(CustomerLanguageView {
        customer_id,
        language: match (&problem, typed) {
            (Some(_), Some(t)) => t,
            _ => v.language.unwrap_or_default(),
        },
        in_words,
        can_edit: v.can_edit,
        notice: (get("saved").as_deref() == Some("language"))
            .then(|| "Document language saved.".to_owned()),
        problem,
    })
}

/// The settings page. `query` is the page's query string: after a refused
/// form it carries the typed values back (`form=…` and the fields), which
/// are checked again here to show the problem beside its field.
#[server(endpoint = "staff_settings")]
pub async fn staff_settings(query: String) -> Result<StaffSettingsView, AppError> {
    use super::ssr::{date, mapped, require_staff, services};
    use crate::models::staff_admin::{
        DayView, FormNote, HolidayView, PolicyCellView, PolicyRowView, ReasonView,
    };
    use portal_core::services::request_settings::{
        check_position, check_reason_code, check_reason_label, kind_words, parse_holiday,
        policy_field, time_zone_names, CalendarForm, PoliciesForm, TARGETS, WEEKDAYS,
    };

    let staff_id = require_staff()?;
    let overview = mapped(services()?.request_settings(staff_id).await)?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let form = get("form").unwrap_or_default();
    let saved = get("saved").unwrap_or_default();
    let reason_code = get("reason").unwrap_or_default();
    let applies = "Saved. Open requests' clocks follow it from now on.".to_owned();
    let note = |name: &str, problem: Option<(String, String)>, saved_words: &str| FormNote {
        saved: (saved == name).then(|| saved_words.to_owned()),
        problem: if form == name { problem } else { None },
    };
    let as_pair = |p: portal_core::services::request_settings::FormProblem| (p.field, p.message);

    // The calendar: as stored, or as typed when it was refused.
    let holidays = overview.settings.calendar.holidays();
    let calendar_form = if form == "calendar" {
        CalendarForm::from_pairs(&pairs)
    } else {
        CalendarForm::of(&overview.settings.calendar)
    };
    let calendar_problem = (form == "calendar")
        .then(|| calendar_form.calendar(holidays).err().map(as_pair))
        .flatten();
    let holiday_value = if form == "holiday" {
        get("holiday").unwrap_or_default()
    } else {
        String::new()
    };
    let holiday_problem = (form == "holiday")
        .then(|| parse_holiday(&holiday_value).err().map(as_pair))
        .flatten();

    let policies_form = if form == "policies" {
        PoliciesForm::from_pairs(&pairs)
    } else {
        PoliciesForm::of(&overview.settings.policies)
    };
    let policies_problem = (form == "policies")
        .then(|| policies_form.policies().err().map(as_pair))
        .flatten();

    let (new_code, new_label) = if form == "reason-add" {
        (
            get("code").unwrap_or_default(),
            get("label").unwrap_or_default(),
        )
    } else {
        (String::new(), String::new())
    };
    let reason_problem = (form == "reason-add")
        .then(|| {
            let checked = check_reason_code(&new_code).and_then(|code| {
                check_reason_label(&new_label)?;
                match overview.reasons.iter().find(|r| r.code == code) {
                    Some(_) => Err(portal_core::services::request_settings::FormProblem {
                        field: "code".into(),
                        message: format!(
                            "Code: there is already a reason with the code {code}; choose another code or edit that reason."
                        ),
                    }),
                    None => Ok(()),
                }
            });
            checked.err().map(as_pair)
        })
        .flatten();

    let active = overview.reasons.iter().filter(|r| !r.retired).count();
    let reasons = overview
        .reasons
        .iter()
        .map(|r| {
            let mine = reason_code == r.code;
            let typed = mine && form == "reason";
            let (label, position) = if typed {
                (
                    get("label").unwrap_or_default(),
                    get("position").unwrap_or_default(),
                )
            } else {
                (r.label.clone(), r.position.to_string())
            };
            let problem = if typed {
                check_reason_label(&label)
                    .and_then(|_| check_position(&position))
                    .err()
                    .map(as_pair)
            } else if mine && form == "retire" && !r.retired && active == 1 {
                Some((
                    "retire".to_owned(),
                    "Keep at least one reason on offer: customers choose one to dispute an invoice."
                        .to_owned(),
                ))
            } else {
                None
            };
            let base = format!("/staff/settings/reasons/{}", r.code);
            ReasonView {
                code: r.code.clone(),
                label,
                position,
                retired: r.retired,
                used_by: r.used_by,
                save_action: format!("{base}/save"),
                retire_action: format!("{base}/retire"),
                reactivate_action: format!("{base}/reactivate"),
                note: FormNote {
                    saved: mine
                        .then(|| match saved.as_str() {
                            "reason" => Some("Saved."),
                            "retire" => Some(
                                "Retired: it is off the dispute form; requests that named it keep it.",
                            ),
                            "reactivate" => Some("On offer again on the dispute form."),
                            _ => None,
                        })
                        .flatten()
                        .map(str::to_owned),
                    problem,
                },
            }
        })
        .collect();

    Ok(StaffSettingsView {
        can_edit: overview.can_edit,
        time_zone: calendar_form.time_zone.clone(),
        time_zones: time_zone_names().into_iter().map(str::to_owned).collect(),
        days: WEEKDAYS
            .iter()
            .zip(&calendar_form.days)
            .map(|((_, field, label), windows)| DayView {
                field: (*field).to_owned(),
                label: (*label).to_owned(),
                windows: windows.clone(),
            })
            .collect(),
        calendar_note: note("calendar", calendar_problem, &applies),
        holidays: holidays
            .iter()
            .map(|d| HolidayView {
                value: d.format("%Y-%m-%d").to_string(),
                text: format!("{} ({})", date(*d), d.format("%A")),
            })
            .collect(),
        holiday_value,
        holiday_note: note("holiday", holiday_problem, &applies),
        policies: policies_form
            .rows
            .iter()
            .map(|row| {
                let mut cells: Vec<PolicyCellView> = TARGETS
                    .iter()
                    .zip(&row.targets)
                    .map(|((cell, label), value)| PolicyCellView {
                        field: policy_field(row.kind, row.priority, cell),
                        label: (*label).to_owned(),
                        value: value.clone(),
                    })
                    .collect();
                cells.push(PolicyCellView {
                    field: policy_field(row.kind, row.priority, "warning"),
                    label: "warning at (%)".to_owned(),
                    value: row.warning_percent.clone(),
                });
                PolicyRowView {
                    name: format!("{}, {}", kind_words(row.kind), row.priority),
                    kind: kind_words(row.kind).to_owned(),
                    priority: row.priority.to_string(),
                    cells,
                }
            })
            .collect(),
        policies_note: note("policies", policies_problem, &applies),
        reasons,
        new_code,
        new_label,
        reason_note: note(
            "reason-add",
            reason_problem,
            "Reason added: customers can choose it on the dispute form now.",
        ),
    })
}
