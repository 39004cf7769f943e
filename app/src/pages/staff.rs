use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::staff::staff_home;
use crate::components::{Layout, Loaded};
use crate::models::StaffHomeView;

/// `/staff`: where AR staff land after signing in.
#[component]
pub fn StaffHomePage() -> impl IntoView {
    let home = Resource::new(|| (), |_| staff_home());
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
                <p>"The request queue (disputes and payment plans) arrives here in a coming release."</p>
            }}/>
        </Layout>
    }
}
