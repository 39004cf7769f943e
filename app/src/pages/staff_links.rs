use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::invoices::staff_invoice_links;
use crate::components::{Layout, Loaded, LocalTime, ScrollTable};
use crate::models::InvoiceLinkView;

/// `/staff/invoice-links?number=`: links sent in emails; revoke any.
#[component]
pub fn StaffInvoiceLinksPage() -> impl IntoView {
    let query = use_query_map();
    let number = move || query.read().get("number").unwrap_or_default();
    let links = Resource::new(number, staff_invoice_links);
    view! {
        <Layout>
            <Title text="Invoice links · AR workspace"/>
            <h1>"Invoice links"</h1>
            <p class="muted">"Links to single invoices, as put into reminder emails. Revoking one stops it at once, also for anyone viewing it now."</p>
            {move || query.read().get("revoked").map(|_| view! { <p class="notice notice-info" role="status">"The link was revoked."</p> })}
            <form method="get" action="/staff/invoice-links" class="filters card period-form" role="search" aria-label="Find links">
                <div class="field">
                    <label for="number">"Invoice number"</label>
                    <input id="number" name="number" type="search" value=number/>
                </div>
                <button type="submit">"Find"</button>
            </form>
            <Loaded resource=links render={|links: Vec<InvoiceLinkView>| view! { <LinkTable links/> }}/>
        </Layout>
    }
}

#[component]
fn LinkTable(links: Vec<InvoiceLinkView>) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="card">"No invoice links yet."</p> }.into_any();
    }
    view! {
        <ScrollTable label="Invoice links">
            <thead>
                <tr>
                    <th scope="col">"Invoice"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col">"Last opened"</th>
                    <th scope="col">"State"</th>
                    <th scope="col"><span class="visually-hidden">"Action"</span></th>
                </tr>
            </thead>
            <tbody>
                {links.into_iter().map(|l| view! {
                    <tr>
                        <th scope="row">{l.invoice_number.clone()}</th>
                        <td><LocalTime stamp=l.created.clone()/></td>
                        <td><LocalTime stamp=l.expires.clone()/></td>
                        <td>{match l.last_used.clone() {
                            Some(s) => view! { <LocalTime stamp=s/> }.into_any(),
                            None => "Never".into_any(),
                        }}</td>
                        <td>{l.state.clone()}</td>
                        <td>{(l.state == "active").then(|| view! {
                            <form method="post" action=format!("/staff/invoice-links/{}/revoke", l.link_id) class="inline">
                                <button type="submit" class="danger">{format!("Revoke link to {}", l.invoice_number)}</button>
                            </form>
                        })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </ScrollTable>
    }
    .into_any()
}
