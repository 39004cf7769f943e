//! An invoice's standing as a badge, and the badges a payment in flight
//! and an open dispute add: the overview, the list, the invoice page and
//! the pay form all show them the same way. Each says its state in words,
//! not by colour alone.

use leptos::prelude::*;

#[component]
pub fn InvoiceStatus(
    key: String,
    label: String,
    pending: Option<String>,
    /// What an open dispute holds (issue 11).
    #[prop(default = None)]
    disputed: Option<String>,
) -> impl IntoView {
    view! {
        <span class=format!("status status-{key}")>{label}</span>
        {pending.map(|amount| view! { <PaymentPending amount/> })}
        {disputed.map(|amount| view! { <Disputed amount/> })}
    }
}

/// What a payment in flight holds back (ACH takes days to settle).
#[component]
pub fn PaymentPending(amount: String) -> impl IntoView {
    view! { <span class="status status-pending">{format!("Payment pending {amount}")}</span> }
}

/// What an open dispute holds back until it is resolved.
#[component]
pub fn Disputed(amount: String) -> impl IntoView {
    view! { <span class="status status-disputed">{format!("Disputed {amount}")}</span> }
}
