use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::accounts::account_overview;
use crate::components::{AccountNav, AccountSection, InvoiceStatus, LoadedPage, ScrollTable};
use crate::error::AppError;
use crate::models::AccountOverviewView;
use crate::pages::home::role_label;
use crate::pages::reminders::FriendlyRemindersSection;

/// `/accounts/:customer_id`: balance per currency and the open invoices.
#[component]
pub fn AccountPage() -> impl IntoView {
    let params = use_params_map();
    let overview = Resource::new(
        move || params.read().get("customer_id"),
        |id| async move {
            match id {
                Some(id) => account_overview(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <LoadedPage resource=overview render={|account: AccountOverviewView| view! { <AccountView account/> }}/>
    }
}

#[component]
fn AccountView(account: AccountOverviewView) -> impl IntoView {
    let title = format!("{} · Billing portal", account.customer_name);
    let count = account.open_invoices.len();
    view! {
        <Title text=title/>
        <AccountNav customer_id=account.customer_id customer_name=account.customer_name.clone() current=AccountSection::Overview/>
        <h1>{account.customer_name.clone()}</h1>
        <p class="muted">"Your access: " {role_label(&account.role)}</p>
        <section aria-labelledby="balances-heading">
            <h2 id="balances-heading">"Balance"</h2>
            {if account.balances.is_empty() {
                view! { <p class="card">"Nothing is owed on this account. Thank you!"</p> }.into_any()
            } else {
                view! {
                    <ul class="balances">
                        {account.balances.into_iter().map(|b| view! {
                            <li class="card balance">
                                <span class="balance-currency">{b.currency.clone()}</span>
                                <span class="balance-open">{b.open}</span>
                                <span class="muted">{format!("{} open {}", b.open_count, plural(b.open_count, "invoice", "invoices"))}</span>
                                {(b.overdue_count > 0).then(|| view! {
                                    <span class="balance-overdue">
                                        {b.overdue} " overdue on " {b.overdue_count} " " {plural(b.overdue_count, "invoice", "invoices")}
                                    </span>
                                })}
                                // What disputes hold is counted apart from
                                // what can be paid now (issue 11).
                                {b.disputed.map(|disputed| view! {
                                    <span class="balance-disputed">{format!("{disputed} disputed, held until resolved")}</span>
                                    <span class="muted">{format!("{} payable now", b.payable)}</span>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
        <section aria-labelledby="open-heading">
            <h2 id="open-heading">"Oldest open invoices"</h2>
            {if count == 0 {
                view! { <p>"No open invoices."</p> }.into_any()
            } else {
                view! {
                    <ScrollTable labelledby="open-heading">
                        <caption class="visually-hidden">{format!("{count} oldest open invoices, by due date")}</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Invoice"</th>
                                <th scope="col">"PO"</th>
                                <th scope="col">"Issued"</th>
                                <th scope="col">"Due"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col" class="num">"Total"</th>
                                <th scope="col" class="num">"Balance"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {account.open_invoices.into_iter().map(|i| view! {
                                <tr>
                                    <th scope="row"><a href=format!("/accounts/{}/invoices/{}", account.customer_id, i.invoice_id)>{i.number}</a></th>
                                    <td>{i.po_number.unwrap_or_default()}</td>
                                    <td>{i.issue_date}</td>
                                    <td>{i.due_date}</td>
                                    <td><InvoiceStatus key=i.status_key label=i.status_label pending=i.pending disputed=i.disputed in_plan=i.in_plan/></td>
                                    <td class="num">{i.total}</td>
                                    <td class="num">{i.balance}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                }
                .into_any()
            }}
            <p class="see-all">
                <a href=format!("/accounts/{}/invoices?status=unpaid&sort=due&dir=asc", account.customer_id)>"All unpaid invoices"</a>
                " · "
                <a href=format!("/accounts/{}/invoices", account.customer_id)>"All invoices"</a>
            </p>
        </section>
        <FriendlyRemindersSection customer_id=account.customer_id/>
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
