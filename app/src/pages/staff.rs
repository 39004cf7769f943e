use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::staff::staff_home;
use crate::api::staff_requests::staff_queue_counts;
use crate::components::{Layout, Loaded};
use crate::models::staff_requests::QueueCountsView;
use crate::models::StaffHomeView;

/// `/staff`: where AR staff land after signing in.
#[component]
pub fn StaffHomePage() -> impl IntoView {
    let home = Resource::new(|| (), |_| staff_home());
    let counts = Resource::new(|| (), |_| staff_queue_counts());
    view! {
        <Layout>
            <Title text="AR workspace"/>
            <Loaded resource=home render={|h: StaffHomeView| view! {
                <div class="page-head">
                    <h1>{format!("Welcome, {}", h.name)}</h1>
                    <p class="muted">"Signed in to the AR workspace as " {h.role.clone()} "."</p>
                </div>
                <ul class="stats">
                    <li class="card"><span class="stat">{h.customers}</span>" customer accounts"</li>
                    <li class="card"><span class="stat">{h.contacts}</span>" customer contacts"</li>
                    <li class="card"><span class="stat">{h.invoices}</span>" invoices"</li>
                </ul>
                <p><a href="/staff/payments">"Payments"</a>" (card and ACH, disputes flagged) · "<a href="/staff/invoice-links">"Invoice links"</a></p>
            }}/>
            <Loaded resource=counts render={|c: QueueCountsView| view! { <QueueCounts c/> }}/>
        </Layout>
    }
}

/// The queue at a glance, each count a link to the queue filtered to it.
#[component]
fn QueueCounts(c: QueueCountsView) -> impl IntoView {
    view! {
        <section aria-labelledby="queue-counts-heading">
            <h2 id="queue-counts-heading">"Requests"</h2>
            <ul class="stats">
                <li class="card"><a href="/staff/requests"><span class="stat">{c.open}</span>" open"</a></li>
                <li class="card"><a href="/staff/requests?sla=breached"><span class="stat">{c.breached}</span>" breached"</a></li>
                <li class="card"><a href="/staff/requests?sla=at_risk"><span class="stat">{c.at_risk}</span>" at risk"</a></li>
                <li class="card"><a href="/staff/requests?assignee=me"><span class="stat">{c.mine}</span>" assigned to me"</a></li>
            </ul>
        </section>
    }
}
