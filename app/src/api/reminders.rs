//! Server functions of reminders and promises to pay (issue 13): the
//! promise part of the invoice page, AR's reminder settings and the
//! reminder part of AR's customer page. Outcomes and problems arrive as
//! codes in the page's URL (set by `server::http::reminder_routes`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The promise part of the invoice page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromiseSectionView {
    pub action: String,
    pub can_promise: bool,
    /// "You promised to pay $60.00 by Mar 12, 2030."
    pub open: Option<String>,
    pub notice: Option<String>,
    pub problem: Option<(String, String)>,
    /// YYYY-MM-DD bounds of the date input.
    pub today: String,
    pub latest: String,
    pub latest_words: String,
    pub payable: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub step_id: i64,
    /// "-3", "0", "+7".
    pub offset: String,
    /// "3 days before the due date".
    pub day_words: String,
    pub optional: bool,
    pub subject: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CadenceView {
    pub cadence_id: i64,
    pub name: String,
    pub is_default: bool,
    pub steps: Vec<StepView>,
}

/// AR's reminder settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReminderSettingsPageView {
    pub can_edit: bool,
    pub window: String,
    pub horizon: String,
    pub ar_contact_name: String,
    pub ar_contact_email: String,
    pub cadences: Vec<CadenceView>,
    /// (name, what it is)
    pub variables: Vec<(String, String)>,
    pub notice: Option<String>,
    pub problem: Option<String>,
    /// "Thursday, Mar 28, 2030"
    pub preview_day: String,
    pub preview: Vec<PreviewView>,
}

/// One invoice the next working day's run would remind of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewView {
    pub customer: String,
    pub customer_href: String,
    pub invoice: String,
    pub step: String,
    pub amount: String,
    pub recipients: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReminderInvoiceView {
    pub invoice_id: i64,
    pub number: String,
    pub due: String,
    pub balance: String,
    pub paused_until: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentReminderView {
    pub when: String,
    pub invoice: String,
    pub step: String,
    pub amount: String,
    /// "2 of 2 emails sent"
    pub delivery: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromiseRowView {
    pub made: String,
    pub by: String,
    pub promised_on: String,
    pub amount: String,
    pub status: String,
}

/// The reminder part of AR's customer page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRemindersPageView {
    pub customer_id: i64,
    pub can_edit: bool,
    pub cadence_id: Option<i64>,
    pub cadence_name: String,
    pub cadences: Vec<(i64, String)>,
    pub paused_until: String,
    pub paused_words: Option<String>,
    pub time_zone: String,
    pub effective_zone: String,
    pub invoices: Vec<ReminderInvoiceView>,
    pub sent: Vec<SentReminderView>,
    pub promises: Vec<PromiseRowView>,
    pub notice: Option<String>,
    pub problem: Option<String>,
    pub today: String,
    /// The account's billing address (a recipient of reminders); empty: none.
    pub billing_email: String,
    /// Addresses that unsubscribed from the optional (friendly) steps.
    pub unsubscribed: Vec<String>,
}

#[cfg(feature = "ssr")]
fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

#[cfg(feature = "ssr")]
fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(feature = "ssr")]
fn date_words(d: chrono::NaiveDate) -> String {
    d.format("%b %-d, %Y").to_string()
}

#[cfg(feature = "ssr")]
fn status_words(status: &str) -> &'static str {
    match status {
        "open" => "Open",
        "kept" => "Kept",
        "partly_kept" => "Partly kept",
        "broken" => "Not kept",
        _ => "Withdrawn",
    }
}

/// The promise part of the invoice page (`query`: the page's URL query).
#[server(endpoint = "invoice_promise")]
pub async fn invoice_promise(
    customer_id: String,
    invoice_id: String,
    query: String,
) -> Result<PromiseSectionView, AppError> {
    use super::ssr::{id, mapped, require_contact, services};
    use portal_core::domain::Money;

    let access = require_contact()?;
    let (customer_id, invoice_id) = (id(&customer_id)?, id(&invoice_id)?);
    let p = mapped(
        services()?
            .invoice_promise(access.contact_id, customer_id, invoice_id)
            .await,
    )?;
    let pairs = query_pairs(&query);
    let payable = Money::new(p.payable_minor, p.currency).display();
    let latest_words = date_words(p.latest);
    let problem = get(&pairs, "promise_problem").map(|code| {
        let text = match code {
            "promised_on" => format!("Choose a date from today to {latest_words}."),
            "amount" => {
                format!("Enter an amount above zero and at most {payable}, or leave it empty.")
            }
            "conflict" => "Another promise was just made for this invoice.".to_owned(),
            _ => "This invoice has nothing left to pay now, or is already under a promise."
                .to_owned(),
        };
        (code.to_owned(), text)
    });
    let open = p.open.as_ref().map(|o| {
        let amount = o
            .amount_minor
            .map(|m| Money::new(m, o.currency).display())
            .unwrap_or_else(|| "this invoice".to_owned());
        if o.channel == "phone" {
            format!(
                "Your promise to pay {amount} by {}, taken by phone, is on record. Reminders for this invoice pause until then.",
                date_words(o.promised_on)
            )
        } else {
            format!(
                "You promised to pay {amount} by {}. Reminders for this invoice pause until then.",
                date_words(o.promised_on)
            )
        }
    });
    Ok(PromiseSectionView {
        action: format!("/accounts/{customer_id}/invoices/{invoice_id}/promise"),
        can_promise: p.can_promise,
        open,
        notice: (get(&pairs, "promised") == Some("1"))
            .then(|| "Thank you: your promise is recorded.".to_owned()),
        problem,
        today: p.today.to_string(),
        latest: p.latest.to_string(),
        latest_words,
        payable,
    })
}

#[cfg(feature = "ssr")]
fn day_words(offset: i64) -> String {
    match offset {
        0 => "on the due date".to_owned(),
        1 => "1 day after the due date".to_owned(),
        -1 => "1 day before the due date".to_owned(),
        n if n > 0 => format!("{n} days after the due date"),
        n => format!("{} days before the due date", -n),
    }
}

#[cfg(feature = "ssr")]
fn problem_words(code: &str) -> String {
    match code {
        "window" => "Write the send window as HH:MM-HH:MM, such as 09:00-11:00.",
        "promise_horizon_days" => "The promise horizon is a number of days from 1 to 365.",
        "ar_contact_name" => "Name the AR contact (at most 200 characters).",
        "ar_contact_email" => "The AR contact's email is not an email address.",
        "offset_days" => "The step's day is a number of days from the due date, from -60 to 365, and one step per day.",
        "subject" => "Check the subject: it must not be empty, at most 200 characters, with only the variables listed.",
        "body" => "Check the email's text: it must not be empty, with only the variables listed.",
        "name" => "Name the cadence (at most 100 characters, not a name already used).",
        "cadence" => "Choose one of the cadences.",
        "time_zone" => "Write an IANA time zone such as America/Los_Angeles, or leave it empty for yours.",
        "paused_until" => "Write the pause's last day as YYYY-MM-DD, or leave it empty to lift the pause.",
        "promised_on" => "The promised date must be from today to the promise horizon.",
        "amount" => "The promised amount must be above zero and at most what the invoices owe.",
        "invoice" => "Choose open invoices of one currency that are not already under a promise.",
        "conflict" => "Someone else just changed this; look again and retry.",
        "billing_email" => "The billing address is not an email address.",
        "customer" => "For a test with real invoices, write the ID of a customer with open invoices (it is in the customer page's address), or leave it empty for sample invoices.",
        _ => "Nothing to remind of: the chosen invoices are paid, being paid, disputed in full or in a payment plan.",
    }
    .to_owned()
}

/// AR's reminder settings (agents read them).
#[server(endpoint = "staff_reminder_settings")]
pub async fn staff_reminder_settings(query: String) -> Result<ReminderSettingsPageView, AppError> {
    use super::ssr::{mapped, require_staff, services};
    use portal_core::domain::reminder::VARIABLES;

    let staff_id = require_staff()?;
    let services = services()?;
    let s = mapped(services.reminder_settings_view(staff_id).await)?;
    let day = mapped(services.next_reminder_day().await)?;
    let preview = mapped(services.preview_reminders(staff_id, day).await)?;
    let pairs = query_pairs(&query);
    Ok(ReminderSettingsPageView {
        can_edit: s.can_edit,
        window: s.window.words(),
        horizon: s.promise_horizon_days.to_string(),
        ar_contact_name: s.ar_contact_name,
        ar_contact_email: s.ar_contact_email.unwrap_or_default(),
        cadences: s
            .cadences
            .into_iter()
            .map(|(c, steps)| CadenceView {
                cadence_id: c.cadence_id,
                name: c.name,
                is_default: c.is_default,
                steps: steps
                    .into_iter()
                    .map(|st| StepView {
                        step_id: st.step_id,
                        offset: if st.offset_days > 0 {
                            format!("+{}", st.offset_days)
                        } else {
                            st.offset_days.to_string()
                        },
                        day_words: day_words(st.offset_days),
                        optional: st.optional,
                        subject: st.subject,
                        body: st.body,
                    })
                    .collect(),
            })
            .collect(),
        variables: VARIABLES
            .iter()
            .map(|(n, w)| (format!("{{{n}}}"), (*w).to_owned()))
            .collect(),
        notice: match (get(&pairs, "saved"), get(&pairs, "tested")) {
            (_, Some(to)) => Some(format!("A test was sent to {to}. Its links lead nowhere.")),
            (Some("reminders"), _) => Some("Saved.".to_owned()),
            _ => None,
        },
        problem: get(&pairs, "reminder_problem").map(problem_words),
        preview_day: day.format("%A, %b %-d, %Y").to_string(),
        preview: preview
            .into_iter()
            .map(|p| PreviewView {
                customer: p.customer_name,
                customer_href: format!("/staff/customers/{}", p.customer_id),
                invoice: p.invoice_number,
                step: day_words(p.offset_days),
                amount: p.amount.display(),
                recipients: match p.recipients {
                    0 => "nobody (no payer or admin)".to_owned(),
                    1 => "1 contact".to_owned(),
                    n => format!("{n} contacts"),
                },
            })
            .collect(),
    })
}

/// The reminder part of AR's customer page.
#[server(endpoint = "staff_customer_reminders")]
pub async fn staff_customer_reminders(
    customer_id: String,
    query: String,
) -> Result<CustomerRemindersPageView, AppError> {
    use super::ssr::{id, mapped, require_staff, services};
    use portal_core::domain::Money;

    let staff_id = require_staff()?;
    let customer_id = id(&customer_id)?;
    let v = mapped(
        services()?
            .customer_reminders_view(staff_id, customer_id)
            .await,
    )?;
    let pairs = query_pairs(&query);
    let notice = match (get(&pairs, "saved"), get(&pairs, "reminded")) {
        (_, Some(n)) => Some(format!("Reminder sent for {n} invoice(s).")),
        (Some("reminders"), _) => Some("Reminder settings saved.".to_owned()),
        (Some("promise"), _) => {
            Some("Promise recorded: reminders for those invoices pause until its date.".to_owned())
        }
        (Some("invoice_pause"), _) => Some("Invoice pause saved.".to_owned()),
        (Some("billing_email"), _) => Some("Billing address saved.".to_owned()),
        _ => None,
    };
    let recipients = mapped(
        services()?
            .reminder_recipients_view(staff_id, customer_id)
            .await,
    )?;
    let problem = get(&pairs, "reminder_problem")
        .or_else(|| get(&pairs, "promise_problem"))
        .map(problem_words);
    Ok(CustomerRemindersPageView {
        customer_id,
        can_edit: v.can_edit,
        cadence_id: v.cadence_id,
        cadence_name: v.cadence_name,
        cadences: v
            .cadences
            .into_iter()
            .map(|c| (c.cadence_id, c.name))
            .collect(),
        paused_until: v
            .paused_until
            .filter(|d| *d >= v.today)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        paused_words: v
            .paused_until
            .filter(|d| *d >= v.today)
            .map(|d| format!("Reminders are paused through {}.", date_words(d))),
        time_zone: v.time_zone.unwrap_or_default(),
        effective_zone: v.effective_zone,
        invoices: v
            .open_invoices
            .into_iter()
            .map(|(i, pause)| ReminderInvoiceView {
                invoice_id: i.invoice_id,
                number: i.number,
                due: date_words(i.due_date),
                balance: Money::new(i.balance_minor, i.currency).display(),
                paused_until: pause.map(date_words),
            })
            .collect(),
        sent: v
            .sent
            .into_iter()
            .map(|s| SentReminderView {
                when: s.sent_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                invoice: s.invoice_number,
                step: match (s.manual, s.offset_days) {
                    (true, _) => "Sent by AR".to_owned(),
                    (false, Some(o)) => format!("Step {}", day_words(o)),
                    (false, None) => "Step".to_owned(),
                },
                amount: Money::new(s.amount_minor, s.currency).display(),
                delivery: match s.emails {
                    0 => "no payer or admin to email".to_owned(),
                    n => format!("{} of {n} emails sent", s.emails_sent),
                },
            })
            .collect(),
        promises: v
            .promises
            .into_iter()
            .map(|p| PromiseRowView {
                made: p.created_at.format("%Y-%m-%d").to_string(),
                by: if p.channel == "phone" {
                    "By phone (AR)".to_owned()
                } else {
                    "In the portal".to_owned()
                },
                promised_on: date_words(p.promised_on),
                amount: Money::new(p.amount_minor.unwrap_or(p.owed_minor), p.currency).display(),
                status: status_words(&p.status).to_owned(),
            })
            .collect(),
        notice,
        problem,
        today: v.today.to_string(),
        billing_email: recipients.billing_email.unwrap_or_default(),
        unsubscribed: recipients
            .unsubscribed
            .into_iter()
            .map(|(email, at)| format!("{email} (since {})", at.format("%Y-%m-%d")))
            .collect(),
    })
}

/// The friendly-reminders choice on the account page (payers and admins,
/// who get reminders).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FriendlyRemindersView {
    pub customer_id: i64,
    /// Whether the contact gets reminders at all (payer or admin).
    pub gets_reminders: bool,
    pub on: bool,
    pub notice: Option<String>,
}

/// Whether the signed-in contact gets the account's friendly reminders.
#[server(endpoint = "friendly_reminders")]
pub async fn friendly_reminders(
    customer_id: String,
    query: String,
) -> Result<FriendlyRemindersView, AppError> {
    use super::ssr::{id, mapped, require_contact, services};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let gets_reminders = access
        .membership(customer_id)
        .is_some_and(|m| m.role.can_pay());
    let on = mapped(
        services()?
            .friendly_reminders_on(access.contact_id, customer_id)
            .await,
    )?;
    let pairs = query_pairs(&query);
    let notice = match get(&pairs, "friendly") {
        Some("on") => Some("Friendly reminders are on again.".to_owned()),
        Some("off") => Some("Friendly reminders are off.".to_owned()),
        _ => None,
    };
    Ok(FriendlyRemindersView {
        customer_id,
        gets_reminders,
        on,
        notice,
    })
}
