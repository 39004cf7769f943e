use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::invoices::statement;
use crate::components::{AccountNav, AccountSection, LoadedPage, ScrollTable};
use crate::models::StatementView;

/// `/accounts/:customer_id/statement?from=&to=`: the year to date by default.
#[component]
pub fn StatementPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let soa = Resource::new(
        move || {
            let q = query.read();
            (
                params.read().get("customer_id").unwrap_or_default(),
                q.get("from").unwrap_or_default(),
                q.get("to").unwrap_or_default(),
            )
        },
        |(customer_id, from, to)| statement(customer_id, from, to),
    );
    view! {
        <LoadedPage resource=soa render={|soa: StatementView| view! { <StatementBody soa/> }}/>
    }
}

#[component]
fn StatementBody(soa: StatementView) -> impl IntoView {
    let title = format!("Statement · {} · Billing portal", soa.customer_name);
    let action = format!("/accounts/{}/statement", soa.customer_id);
    view! {
        <Title text=title/>
        <AccountNav customer_id=soa.customer_id customer_name=soa.customer_name.clone() current=AccountSection::Statement/>
        <h1>"Statement of account"</h1>
        <form method="get" action=action class="filters card period-form" aria-label="Statement period">
            <div class="field">
                <label for="from">"From"</label>
                <input id="from" name="from" type="date" value=soa.from_value.clone()/>
            </div>
            <div class="field">
                <label for="to">"To"</label>
                <input id="to" name="to" type="date" value=soa.to_value.clone()/>
            </div>
            <button type="submit">"Show statement"</button>
        </form>
        {soa.error.clone().map(|message| view! { <p class="notice notice-error" role="alert">{message}</p> })}
        {soa.error.is_none().then(|| view! {
            <div class="list-bar">
                <p class="muted">{format!("{} to {}", soa.from, soa.to)}</p>
                <p class="downloads">
                    <a class="button" href=soa.pdf_href.clone() download="">"Download PDF"</a>
                    " "
                    <a class="button secondary-link" href=soa.csv_href.clone() download="">"Download CSV"</a>
                </p>
            </div>
        })}
        {(soa.error.is_none() && soa.currencies.is_empty()).then(|| view! {
            <p class="card">"No activity on this account up to the end of this period."</p>
        })}
        {soa.currencies.into_iter().map(|c| {
            let heading_id = format!("activity-{}", c.currency);
            let aging_id = format!("aging-{}", c.currency);
            // Both tables end on the closing balance.
            let closing = c.closing.clone();
            let has_disputed = c.disputed.is_some();
            view! {
                <section aria-labelledby=heading_id.clone()>
                    <h2 id=heading_id.clone()>{format!("Activity in {}", c.currency)}</h2>
                    <ScrollTable labelledby=heading_id.clone()>
                        <thead>
                            <tr>
                                <th scope="col">"Date"</th>
                                <th scope="col">"Type"</th>
                                <th scope="col">"Reference"</th>
                                <th scope="col" class="num">"Charges"</th>
                                <th scope="col" class="num">"Credits"</th>
                                <th scope="col" class="num">"Balance"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <tr class="grand">
                                <td colspan="5">"Opening balance"</td>
                                <td class="num">{c.opening.clone()}</td>
                            </tr>
                            {c.lines.into_iter().map(|l| view! {
                                <tr>
                                    <td>{l.date}</td>
                                    <td>{l.kind}</td>
                                    <td>{l.reference}</td>
                                    <td class="num">{l.charge}</td>
                                    <td class="num">{l.credit}</td>
                                    <td class="num">{l.balance}</td>
                                </tr>
                            }).collect_view()}
                            <tr class="grand">
                                <td colspan="5">"Closing balance"</td>
                                <td class="num">{c.closing.clone()}</td>
                            </tr>
                        </tbody>
                    </ScrollTable>
                    <h3 id=aging_id.clone()>{format!("Aging in {}", c.currency)}</h3>
                    <ScrollTable labelledby=aging_id class="aging">
                        <thead>
                            <tr>
                                {c.aging.iter().map(|(label, _)| view! { <th scope="col" class="num">{label.clone()}</th> }).collect_view()}
                                {has_disputed.then(|| view! { <th scope="col" class="num">"Disputed"</th> })}
                                {c.unapplied.is_some().then(|| view! { <th scope="col" class="num">"Unapplied"</th> })}
                                <th scope="col" class="num">"Balance"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <tr>
                                {c.aging.iter().map(|(_, amount)| view! { <td class="num">{amount.clone()}</td> }).collect_view()}
                                {c.disputed.clone().map(|d| view! { <td class="num">{d}</td> })}
                                {c.unapplied.clone().map(|u| view! { <td class="num">{u}</td> })}
                                <td class="num">{closing}</td>
                            </tr>
                        </tbody>
                    </ScrollTable>
                    {has_disputed.then(|| view! {
                        <p class="muted small">"The aging columns count what is payable. Disputed amounts are held until their dispute is resolved and counted in their own column; together with any unapplied credit they add up to the balance."</p>
                    })}
                </section>
            }
        }).collect_view()}
    }
}
