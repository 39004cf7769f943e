//! Server functions: thin. Each one authenticates, authorizes, calls one
//! service of `portal-core`, and maps the result to a view. One file per area.

pub mod accounts;
pub mod auth;
pub mod autopay;
pub mod dev;
pub mod discounts;
pub mod invoices;
pub mod payments;
pub mod plans;
pub mod reminders;
pub mod requests;
pub mod sessions;
pub mod site;
pub mod staff;
pub mod staff_admin;
pub mod staff_plans;
pub mod staff_requests;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use http::StatusCode;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use std::sync::Arc;

    use portal_core::domain::Principal;
    use portal_core::services::access::ContactAccess;
    use portal_core::services::payments::Payer;
    use portal_core::session_store::SignedIn;
    use portal_core::Services;

    use crate::error::AppError;

    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| {
            tracing::error!("Services missing from the Leptos context");
            AppError::Internal
        })
    }

    pub fn signed_in() -> Option<SignedIn> {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedIn>().cloned())
    }

    pub fn status(code: StatusCode) {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(code);
        }
    }

    /// Sets the HTTP status that goes with an error, so a page or a
    /// server-function call answers 404 / 401 / 500 and not 200.
    pub fn fail<T>(error: AppError) -> Result<T, AppError> {
        status(error.status_code());
        Err(error)
    }

    /// The signed-in contact and what they may see (read by the session
    /// guard at the start of this request).
    pub fn require_contact() -> Result<Arc<ContactAccess>, AppError> {
        match signed_in() {
            Some(SignedIn {
                principal: Principal::Contact { .. },
                access: Some(access),
                ..
            }) => Ok(access),
            _ => fail(AppError::Unauthorized),
        }
    }

    /// Who may pay on this request: a signed-in contact (with their
    /// access), or the holder of an invoice link, who pays that invoice
    /// only (issue 13; the payment services check which invoice).
    pub fn require_payer() -> Result<(Payer, Option<Arc<ContactAccess>>), AppError> {
        match signed_in() {
            Some(SignedIn {
                principal: Principal::Contact { contact_id },
                access: Some(access),
                ..
            }) => Ok((Payer::Contact(contact_id), Some(access))),
            Some(SignedIn {
                principal: Principal::InvoiceLink { link_id },
                ..
            }) => Ok((Payer::InvoiceLink(link_id), None)),
            _ => fail(AppError::Unauthorized),
        }
    }

    /// The name of the account a payer pays on (404 when not theirs).
    pub async fn payer_customer_name(
        payer: Payer,
        access: Option<&ContactAccess>,
        customer_id: i64,
    ) -> Result<String, AppError> {
        match (payer, access) {
            (_, Some(access)) => member_customer_name(access, customer_id),
            (Payer::InvoiceLink(link_id), None) => mapped(
                services()?
                    .link_payer_customer_name(link_id, customer_id)
                    .await,
            ),
            (Payer::Contact(_), None) => fail(AppError::Unauthorized),
        }
    }

    pub fn require_staff() -> Result<i64, AppError> {
        match signed_in().map(|s| s.principal) {
            Some(Principal::Staff { staff_id }) => Ok(staff_id),
            _ => fail(AppError::Unauthorized),
        }
    }

    /// The name of a customer the contact belongs to (404 otherwise), for
    /// pages that must name the account without loading anything else.
    pub fn member_customer_name(
        access: &ContactAccess,
        customer_id: i64,
    ) -> Result<String, AppError> {
        match access.membership(customer_id) {
            Some(account) => Ok(account.customer_name.clone()),
            None => fail(AppError::NotFound),
        }
    }

    /// Runs a service call and maps its error (with the right status, and
    /// an internal error logged once, see `AppError::from`).
    pub fn mapped<T>(result: Result<T, portal_core::ServiceError>) -> Result<T, AppError> {
        result.or_else(|e| fail(AppError::from(e)))
    }

    /// How the viewer's language writes a date, from Accept-Language.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum DateStyle {
        /// Jan 5, 2026 (en-US and the default)
        MonthFirst,
        /// 5 Jan 2026 (en-GB, en-AU, en-IE, en-NZ, en-IN ...)
        DayFirst,
        /// 05.01.2026 (de, ru, pl, fi, ...)
        Dotted,
        /// 05/01/2026 (fr, es, it, pt, nl-BE ...)
        Slashed,
        /// 2026-01-05 (sv, ja, zh, ko, lt, ...)
        Iso,
    }

    pub fn date_style_for(accept_language: &str) -> DateStyle {
        let first = accept_language
            .split(',')
            .next()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let (lang, region) = first.split_once('-').unwrap_or((first.as_str(), ""));
        match lang {
            "en" if region.is_empty() || region == "us" || region == "ca" || region == "ph" => {
                DateStyle::MonthFirst
            }
            "en" => DateStyle::DayFirst,
            "de" | "ru" | "pl" | "fi" | "nb" | "no" | "da" | "cs" | "sk" | "tr" | "uk" | "ro"
            | "hu" => DateStyle::Dotted,
            "fr" | "es" | "it" | "pt" | "el" | "vi" | "id" | "ca" => DateStyle::Slashed,
            "nl" => DateStyle::Slashed,
            "sv" | "ja" | "zh" | "ko" | "lt" | "hr" => DateStyle::Iso,
            _ => DateStyle::MonthFirst,
        }
    }

    fn date_style() -> DateStyle {
        use_context::<http::request::Parts>()
            .and_then(|p| {
                p.headers
                    .get(http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .map(date_style_for)
            })
            .unwrap_or(DateStyle::MonthFirst)
    }

    /// A calendar date (issue, due) in the viewer's style. Calendar dates
    /// have no time zone: an invoice due on the 5th is due on the 5th.
    pub fn date(d: chrono::NaiveDate) -> String {
        let pattern = match date_style() {
            DateStyle::MonthFirst => "%b %-d, %Y",
            DateStyle::DayFirst => "%-d %b %Y",
            DateStyle::Dotted => "%d.%m.%Y",
            DateStyle::Slashed => "%d/%m/%Y",
            DateStyle::Iso => "%Y-%m-%d",
        };
        d.format(pattern).to_string()
    }

    pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
        format!("{} {} UTC", date(t.date_naive()), t.format("%H:%M"))
    }

    /// A moment: UTC from the server, the viewer's zone after hydration.
    pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> crate::models::Stamp {
        crate::models::Stamp {
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: timestamp(t),
        }
    }

    /// One invoice row of a list, the same on the overview and the invoice
    /// list (status, and what a payment in flight holds back).
    /// `in_plan`: the account's invoices in a running payment plan and
    /// the plan of each (`Services::invoices_in_plan`, issue 12).
    pub fn invoice_row(
        i: portal_core::services::invoices::InvoiceSummary,
        in_plan: &std::collections::BTreeMap<i64, i64>,
    ) -> crate::models::InvoiceRowView {
        use portal_core::domain::Money;
        let disputed = (i.disputed_minor() > 0)
            .then(|| Money::new(i.disputed_minor(), i.row.currency).display());
        let disputable = i.disputable();
        let discount = i.discount_sentence();
        crate::models::InvoiceRowView {
            invoice_id: i.row.invoice_id,
            total: i.total().display(),
            number: i.row.number,
            po_number: i.row.po_number,
            issue_date: date(i.row.issue_date),
            due_date: date(i.row.due_date),
            balance: i.balance.display(),
            status_label: i.status.label(),
            status_key: i.status.key().to_owned(),
            pending: (i.row.pending_minor > 0)
                .then(|| Money::new(i.row.pending_minor, i.row.currency).display()),
            disputed,
            disputable,
            in_plan: in_plan.get(&i.row.invoice_id).copied(),
            discount,
        }
    }

    /// Open and overdue balance in one currency, and what disputes hold
    /// of it (counted apart: the rest is payable now).
    pub fn balance(t: portal_core::repo::invoices::OpenTotals) -> crate::models::BalanceView {
        use portal_core::domain::Money;
        let m = |minor: i64| Money::new(minor, t.currency).display();
        crate::models::BalanceView {
            currency: t.currency.code().to_owned(),
            open: m(t.open_minor),
            overdue: m(t.overdue_minor),
            disputed: (t.disputed_minor > 0).then(|| m(t.disputed_minor)),
            payable: m(t.open_minor - t.disputed_minor),
            open_count: t.open_count as usize,
            overdue_count: t.overdue_count as usize,
        }
    }

    /// The ids in a route are text from the browser: malformed is not found.
    pub fn id(text: &str) -> Result<i64, AppError> {
        text.parse::<i64>().or_else(|_| fail(AppError::NotFound))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn date_styles_follow_the_first_language() {
            assert_eq!(date_style_for("en-US,en;q=0.9"), DateStyle::MonthFirst);
            assert_eq!(date_style_for("en-GB,en;q=0.8"), DateStyle::DayFirst);
            assert_eq!(date_style_for("de-DE,de;q=0.9,en;q=0.5"), DateStyle::Dotted);
            assert_eq!(date_style_for("fr"), DateStyle::Slashed);
            assert_eq!(date_style_for("sv-SE"), DateStyle::Iso);
            assert_eq!(date_style_for(""), DateStyle::MonthFirst);
        }
    }
}
