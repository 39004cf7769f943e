//! Server functions of saved methods and autopay (issue 12).

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::autopay::{AutopaySkipView, AutopayView, PaymentMethodsView};
#[cfg(feature = "ssr")]
use crate::models::autopay::{Notice, SavedMethodView};

/// A page's outcome or problem, named by a code in its URL (never text).
#[cfg(feature = "ssr")]
fn notice_of(query: &str) -> Option<Notice> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let ok = |text: &str| {
        Some(Notice {
            error: false,
            text: text.into(),
        })
    };
    let problem = |text: &str| {
        Some(Notice {
            error: true,
            text: text.into(),
        })
    };
    if let Some(code) = get("problem") {
        return match code {
            "gateway" => problem("The payment provider could not be reached. Nothing was changed; please try again in a minute."),
            "role" => problem("Your role on this account lets you view invoices but not pay them. An admin of the account can give you the payer role."),
            "in_use" => problem("Autopay charges this method. Turn autopay off, or turn it on again with another method, before removing it."),
            "kind" => problem("Choose a card or a bank account."),
            "scope" => problem("Choose what autopay pays: plan instalments, all invoices, or invoices up to a maximum."),
            "max_amount" => problem("Enter the maximum per invoice as an amount above zero, like 500.00."),
            "max_currency" => problem("Choose the currency of the maximum (a bank account pays USD invoices only)."),
            "days_before" => problem("Choose when to pay: on the due date or 1 to 10 days before."),
            "method_id" => problem("Choose one of your saved payment methods."),
            "agree" => problem("Tick the box to agree to the autopay terms, or leave autopay off."),
            "started" => problem("This payment has already been made or started, so it can no longer be skipped."),
            _ => problem("Nothing was changed: the autopay terms changed since the page was shown. Read them again and agree."),
        };
    }
    match get("outcome")? {
        "saved" => ok("Saved. Nothing was charged."),
        "left" => ok("Nothing was saved."),
        "default" => ok("Default method changed."),
        "removed" => ok("Removed. It can no longer be charged."),
        "on" => ok("Autopay is on. You will get an email before each payment, with a link to skip it."),
        "off" => ok("Autopay is off. Nothing more will be charged automatically."),
        "skipped" => ok("Skipped. This payment will not be made automatically; autopay stays on for the others."),
        _ => None,
    }
}

#[cfg(feature = "ssr")]
fn method_view(
    m: &portal_core::repo::payment_methods::SavedMethod,
    autopay_method: Option<i64>,
) -> SavedMethodView {
    SavedMethodView {
        method_id: m.method_id,
        label: portal_core::services::autopay::method_words(m),
        detail: match (m.exp_month, m.exp_year) {
            (Some(month), Some(year)) => format!("Expires {month:02}/{year}"),
            _ => String::new(),
        },
        is_default: m.is_default,
        autopay: autopay_method == Some(m.method_id),
    }
}

#[server(endpoint = "payment_methods_page")]
pub async fn payment_methods_page(
    customer_id: String,
    query: String,
) -> Result<PaymentMethodsView, AppError> {
    use super::ssr::{id, mapped, require_contact, services};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let saved = mapped(
        services()?
            .saved_methods(access.contact_id, customer_id)
            .await,
    )?;
    Ok(PaymentMethodsView {
        customer_id,
        customer_name: saved.customer_name,
        can_manage: saved.can_manage,
        methods: saved
            .methods
            .iter()
            .map(|m| method_view(m, saved.autopay_method_id))
            .collect(),
        notice: notice_of(&query),
    })
}

#[server(endpoint = "autopay_page")]
pub async fn autopay_page(customer_id: String, query: String) -> Result<AutopayView, AppError> {
    use super::ssr::{id, mapped, require_contact, services, stamp};
    use crate::models::autopay::{AutopayChargeView, AutopayFormView, EnrolmentView};
    use portal_core::domain::{payment_number, Money};
    use portal_core::services::autopay::{consent_text, AutopayScope, CONSENT_VERSION};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let services = services()?;
    let o = mapped(
        services
            .autopay_overview(access.contact_id, customer_id)
            .await,
    )?;
    let autopay_method = o.enrolment.as_ref().map(|e| e.method_id);
    let method_label = |method_id: i64| {
        o.methods
            .iter()
            .find(|m| m.method_id == method_id)
            .map(portal_core::services::autopay::method_words)
            .unwrap_or_else(|| "a removed method".into())
    };
    let enrolment = o.enrolment.as_ref().map(|e| EnrolmentView {
        scope: match (e.scope.as_str(), e.max_minor, e.max_currency) {
            ("up_to", Some(minor), Some(currency)) => {
                AutopayScope::UpTo(Money::new(minor, currency)).words()
            }
            ("plan", _, _) => AutopayScope::Plan.words(),
            _ => AutopayScope::All.words(),
        },
        method: method_label(e.method_id),
        when: match e.days_before {
            0 => "On the due date".into(),
            1 => "1 day before the due date".into(),
            n => format!("{n} days before the due date"),
        },
        consented_at: stamp(e.consented_at),
        consent_version: e.consent_version,
        consent_text: e.consent_text.clone(),
    });
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    let typed = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let default_method = o
        .methods
        .iter()
        .find(|m| m.is_default)
        .map(|m| m.method_id.to_string())
        .unwrap_or_default();
    let form = AutopayFormView {
        scope: Some(typed("scope"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "all".into()),
        max_amount: typed("max_amount"),
        max_currency: Some(typed("max_currency"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "USD".into()),
        days_before: Some(typed("days_before"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "0".into()),
        method_id: Some(typed("method_id"))
            .filter(|s| !s.is_empty())
            .unwrap_or(default_method),
    };
    let mut currencies: Vec<String> = access
        .accounts
        .iter()
        .filter(|m| m.customer_id == customer_id)
        .map(|m| m.currency.code().to_owned())
        .collect();
    if !currencies.iter().any(|c| c == "USD") {
        currencies.push("USD".into());
    }
    Ok(AutopayView {
        customer_id,
        can_manage: o.can_manage,
        enrolment,
        methods: o
            .methods
            .iter()
            .map(|m| method_view(m, autopay_method))
            .collect(),
        charges: o
            .charges
            .iter()
            .map(|c| AutopayChargeView {
                date: stamp(c.created_at),
                what: format!(
                    "{} ({})",
                    match c.target.split_once(':') {
                        Some(("invoice", _)) => "Invoice",
                        _ => "Plan instalment",
                    },
                    payment_number(c.payment_id)
                ),
                amount: Money::new(c.amount_minor, c.currency).display(),
                attempt: c.attempt,
                status: match c.status.as_str() {
                    "succeeded" => "Paid",
                    "processing" => "Processing (bank debit)",
                    "declined" => "Declined",
                    "abandoned" => "Not completed",
                    _ => "In progress",
                }
                .into(),
                status_key: c.status.clone(),
                message: c.message.clone(),
                payment_href: format!("/accounts/{customer_id}/payments/{}", c.payment_id),
            })
            .collect(),
        form,
        currencies,
        consent_version: CONSENT_VERSION,
        consent_text: consent_text(&services.config.seller_name, &o.customer_name),
        customer_name: o.customer_name,
        notice: notice_of(&query),
    })
}

#[server(endpoint = "autopay_skip_page")]
pub async fn autopay_skip_page(token: String, query: String) -> Result<AutopaySkipView, AppError> {
    use super::ssr::{date, mapped, services};
    use portal_core::domain::Money;

    let view = mapped(services()?.autopay_notice_for_skip(&token).await)?;
    Ok(AutopaySkipView {
        customer_name: view.customer_name,
        what: view.what,
        amount: Money::new(view.notice.amount_minor, view.notice.currency).display(),
        charge_on: date(view.notice.charge_on),
        skipped: view.notice.skipped,
        started: view.started,
        notice: notice_of(&query),
    })
}
