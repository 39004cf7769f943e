use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::api::site::load_site_info;
use crate::components::{Layout, Loaded};
use crate::models::{PersonKind, SiteInfo};

/// `/`: straight to the account for a contact with one; a chooser for a
/// contact with several; staff go to their own area.
#[component]
pub fn HomePage() -> impl IntoView {
    // Its own resource, not the layout's: one resource read under two
    // Suspense boundaries can stall an SSR response (leptos issue #4851).
    let site = Resource::new(|| (), |_| load_site_info());
    view! {
        <Layout>
            <Title text="Your accounts · Billing portal"/>
            <Loaded resource=site render={|info: SiteInfo| match info.signed_in {
                None => view! { <Redirect path="/sign-in"/> }.into_any(),
                Some(v) if v.kind == PersonKind::Staff => view! { <Redirect path="/staff"/> }.into_any(),
                Some(v) if v.accounts.len() == 1 => {
                    view! { <Redirect path=format!("/accounts/{}", v.accounts[0].customer_id)/> }.into_any()
                }
                Some(v) => view! {
                    <section class="card">
                        <h1>"Your accounts"</h1>
                        {if v.accounts.is_empty() {
                            view! { <p>"Your email is not linked to any customer account yet. Please contact your account manager."</p> }.into_any()
                        } else {
                            view! { <p>"You can see these customer accounts. Choose one to see its invoices."</p> }.into_any()
                        }}
                        <ul class="account-list">
                            {v.accounts.into_iter().map(|a| view! {
                                <li>
                                    <a href=format!("/accounts/{}", a.customer_id)>{a.name}</a>
                                    <span class="muted">" · " {role_label(&a.role)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    </section>
                }
                .into_any(),
            }}/>
        </Layout>
    }
}

pub fn role_label(role: &str) -> &'static str {
    match role {
        "admin" => "Account admin",
        "payer" => "Can pay",
        _ => "Can view",
    }
}
