use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::staff::staff_payments;
use crate::components::{ColumnHeads, Layout, Loaded, LocalTime, ScrollTable};
use crate::models::StaffPaymentsView;

/// `/staff/payments`: card and ACH payments of every account, newest first;
/// disputes and gateway events that need a person stand out.
#[component]
pub fn StaffPaymentsPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| staff_payments());
    view! {
        <Layout>
            <Title text="Payments · AR workspace"/>
            <h1>"Payments"</h1>
            <Loaded resource=overview render={|o: StaffPaymentsView| view! { <Overview o/> }}/>
        </Layout>
    }
}

#[component]
fn Overview(o: StaffPaymentsView) -> impl IntoView {
    let disputed = o.payments.iter().filter(|p| p.disputed).count();
    view! {
        <ul class="stats">
            <li class="card"><span class="stat">{disputed}</span>" disputed"</li>
            <li class="card"><span class="stat">{o.waiting_events}</span>" gateway events waiting"</li>
            <li class="card"><span class="stat">{o.set_aside.len()}</span>" events set aside"</li>
        </ul>
        {(!o.set_aside.is_empty()).then(|| view! {
            <section class="alert error" aria-labelledby="aside-heading">
                <h2 id="aside-heading">"Events set aside"</h2>
                <ul>
                    {o.set_aside.iter().map(|(id, kind, why)| view! { <li><code>{id.clone()}</code>" · "{kind.clone()}" · "{why.clone()}</li> }).collect_view()}
                </ul>
            </section>
        })}
        <ScrollTable label="Payments">
            <caption class="visually-hidden">"Payments, newest first"</caption>
            <ColumnHeads
                names=&["Payment", "Customer", "Started", "Method", "Invoices", "Status", "Amount"]
                numeric=&["Amount"]
            />
            <tbody>
                {o.payments.into_iter().map(|p| view! {
                    <tr>
                        <th scope="row">{p.reference.clone()}</th>
                        <td>{p.customer.clone()}</td>
                        <td><LocalTime stamp=p.created.clone()/></td>
                        <td>{p.method.clone()}</td>
                        <td>{p.invoices.clone()}</td>
                        <td>
                            <span class=format!("status status-pay-{}", p.status_key)>{p.status.clone()}</span>
                            {p.disputed.then(|| view! { <span class="status status-pay-failed">"Disputed"</span> })}
                            {p.failure.clone().map(|f| view! { <span class="muted small">{format!(" {f}")}</span> })}
                        </td>
                        <td class="num">
                            {p.amount.clone()}
                            {p.refunded.clone().map(|r| view! { <span class="muted small">{format!(" ({r} refunded)")}</span> })}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </ScrollTable>
    }
}
