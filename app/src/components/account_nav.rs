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

/// What heads a customer page: the account's navigation, or, for someone
/// who came through an invoice link in an email (nobody signed in), what
/// the link allows and how to see the rest. The link opens one invoice and
/// lets its reader pay it (issue 13); every other page of the account needs
/// a sign-in.
#[component]
pub fn AccountHead(
    customer_id: i64,
    customer_name: String,
    current: AccountSection,
    via_link: bool,
) -> impl IntoView {
    if via_link {
        view! {
            <div class="notice notice-info link-banner">
                <p>"You came here through a link to one invoice in an email: you can view and pay that invoice without signing in. To see all invoices, statements and payments of "
                    {customer_name} ", sign in."</p>
                <a class="button" href="/sign-in">"See your whole account"</a>
            </div>
        }
        .into_any()
    } else {
        view! { <AccountNav customer_id customer_name current/> }.into_any()
    }
}
