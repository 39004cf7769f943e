//! Early-payment discounts (issue 13 item 7): the payment terms section of
//! AR's customer page and the pay page section of the staff settings. The
//! forms post to `server/src/http/discount_routes.rs`, which answer with
//! `saved=…` or `terms_problem=…` / `payments_problem=…` codes read here.

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::discounts::{PaymentSettingsView, StaffTermsPageView};

#[cfg(feature = "ssr")]
fn get(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The payment terms part of AR's customer page.
#[server(endpoint = "staff_payment_terms")]
pub async fn staff_payment_terms(
    customer_id: String,
    query: String,
) -> Result<StaffTermsPageView, AppError> {
    use super::ssr::{id, mapped, require_staff, services};

    let staff_id = require_staff()?;
    let customer_id = id(&customer_id)?;
    let v = mapped(services()?.staff_payment_terms(staff_id, customer_id).await)?;
    let notice = match get(&query, "saved").as_deref() {
        Some("terms") => Some("Payment terms saved.".to_owned()),
        Some("invoice_terms") => Some("The invoice's discount terms were saved.".to_owned()),
        _ => None,
    };
    let problem = get(&query, "terms_problem").map(|_| {
        "Nothing was changed: those terms were not understood. Write them like “2/10 net 30” (2% off when paid within 10 days of the issue date, due in 30 days), with the discount days fewer than the net days and a rate up to 50%; “net 30” or an empty field for no discount; on an invoice, “none” for no discount on it.".to_owned()
    });
    Ok(StaffTermsPageView {
        customer_id,
        terms: v.customer.terms,
        invoices: v
            .invoices
            .into_iter()
            .map(|i| crate::models::discounts::InvoiceTermsRowView {
                invoice_id: i.invoice_id,
                number: i.number,
                own_terms: i.own_terms.unwrap_or_default(),
                offer: i.offer,
            })
            .collect(),
        can_edit: v.can_edit,
        notice,
        problem,
    })
}

/// The pay page section of the staff settings.
#[server(endpoint = "staff_payment_settings")]
pub async fn staff_payment_settings(query: String) -> Result<PaymentSettingsView, AppError> {
    use super::ssr::{mapped, require_staff, services};

    let staff_id = require_staff()?;
    let (ach_note, can_edit) = mapped(services()?.payment_settings_view(staff_id).await)?;
    Ok(PaymentSettingsView {
        ach_note,
        can_edit,
        notice: (get(&query, "saved").as_deref() == Some("payments"))
            .then(|| "Pay page settings saved.".to_owned()),
        problem: get(&query, "payments_problem").map(|_| {
            "Nothing was changed: keep the ACH note to one line of at most 200 characters."
                .to_owned()
        }),
    })
}
