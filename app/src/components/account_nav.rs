//! The account's own navigation: overview, invoices, statement, payments,
//! payment plans, autopay and saved methods, requests.

use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AccountSection {
    Overview,
    Invoices,
    Statement,
    Payments,
    Plans,
    Autopay,
    Requests,
}

#[component]
pub fn AccountNav(
    customer_id: i64,
    customer_name: String,
    current: AccountSection,
) -> impl IntoView {
    let link = move |section: AccountSection, path: &str, label: &'static str| {
        let href = format!("/accounts/{customer_id}{path}");
        let here = section == current;
        view! {
            <li>
                <a href=href aria-current=if here { Some("page") } else { None }>{label}</a>
            </li>
        }
    };
    view! {
        <div class="page-head">
            <p class="account-name muted">{customer_name}</p>
            <nav class="account-nav" aria-label="This account">
                <ul>
                    {link(AccountSection::Overview, "", "Overview")}
                    {link(AccountSection::Invoices, "/invoices", "Invoices")}
                    {link(AccountSection::Statement, "/statement", "Statement")}
                    {link(AccountSection::Payments, "/payments", "Payments")}
                    {link(AccountSection::Plans, "/plans", "Payment plans")}
                    {link(AccountSection::Autopay, "/autopay", "Autopay")}
                    {link(AccountSection::Requests, "/requests", "Requests")}
                </ul>
            </nav>
        </div>
    }
}
