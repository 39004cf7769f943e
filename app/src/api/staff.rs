use leptos::prelude::*;

use crate::error::AppError;
use crate::models::StaffHomeView;

#[server(endpoint = "staff_home")]
pub async fn staff_home() -> Result<StaffHomeView, AppError> {
    use super::ssr::{mapped, require_staff, services};

    let staff_id = require_staff()?;
    let services = services()?;
    let profile = mapped(services.staff_profile(staff_id).await)?;
    let counts = mapped(services.staff_portfolio_counts(staff_id).await)?;
    Ok(StaffHomeView {
        name: profile.name,
        role: profile.role.as_str().to_owned(),
        customers: counts.customers,
        contacts: counts.contacts,
        invoices: counts.invoices,
    })
}

/// AR's view of card and ACH payments: newest first, disputes flagged.
#[server(endpoint = "staff_payments")]
pub async fn staff_payments() -> Result<crate::models::StaffPaymentsView, AppError> {
    use super::ssr::{mapped, require_staff, services, stamp};
    use crate::models::{StaffPaymentView, StaffPaymentsView};
    use portal_core::domain::payment_state::method_label;
    use portal_core::domain::Money;

    let staff_id = require_staff()?;
    let services = services()?;
    let overview = mapped(services.staff_payments_overview(staff_id).await)?;
    let mut payments = Vec::new();
    for (p, allocations, customer) in overview.payments {
        let money = |minor| Money::new(minor, p.currency).display();
        payments.push(StaffPaymentView {
            reference: portal_core::domain::payment_number(p.payment_id),
            customer,
            created: stamp(p.created_at),
            method: method_label(&p.method).to_owned(),
            amount: money(p.amount_minor),
            refunded: (p.refunded_minor > 0).then(|| money(p.refunded_minor)),
            status: p.status.as_str().to_owned(),
            status_key: p.status.as_str().to_owned(),
            disputed: p.disputed_at.is_some(),
            invoices: allocations
                .iter()
                .map(|a| a.invoice_number.clone())
                .collect::<Vec<_>>()
                .join(", "),
            failure: p.failure_message.clone(),
        });
    }
    Ok(StaffPaymentsView {
        payments,
        waiting_events: overview.waiting_events,
        set_aside: overview.set_aside,
    })
}
