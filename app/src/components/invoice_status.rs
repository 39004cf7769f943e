//! An invoice's standing as a badge, and the badges a payment in flight,
//! an open dispute and a running payment plan add: the overview, the list, the invoice page and
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
    /// The running payment plan it is in (issue 12).
    #[prop(default = None)]
    in_plan: Option<i64>,
) -> impl IntoView {
    view! {
        <span class=format!("status status-{key}")>{label}</span>
        {pending.map(|amount| view! { <PaymentPending amount/> })}
        {disputed.map(|amount| view! { <Disputed amount/> })}
        {in_plan.map(|_| view! { <InPlan/> })}
    }
}

/// Paid in instalments under a running payment plan (issue 12).
#[component]
pub fn InPlan() -> impl IntoView {
    view! { <span class="status status-in-plan">"In plan"</span> }
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
