//! An invoice's standing as a badge, and the second badge a payment in
//! flight adds: the overview, the list, the invoice page and the pay form
//! all show it the same way.

use leptos::prelude::*;

#[component]
pub fn InvoiceStatus(key: String, label: String, pending: Option<String>) -> impl IntoView {
    view! {
        <span class=format!("status status-{key}")>{label}</span>
        {pending.map(|amount| view! { <PaymentPending amount/> })}
    }
}

/// What a payment in flight holds back (ACH takes days to settle).
#[component]
pub fn PaymentPending(amount: String) -> impl IntoView {
    view! { <span class="status status-pending">{format!("Payment pending {amount}")}</span> }
}
