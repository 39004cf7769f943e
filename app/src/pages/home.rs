use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::components::{layout::use_site, Layout, ProblemView};
use crate::models::ViewerKind;

/// `/`: straight to the account for a contact with one; a chooser for a
/// contact with several; staff go to their own area.
#[component]
pub fn HomePage() -> impl IntoView {
    let site = use_site();
    view! {
        <Layout>
            <Title text="Your accounts · Billing portal"/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match site.await {
                        Err(e) => view! { <ProblemView error=e/> }.into_any(),
                        Ok(info) => match info.viewer {
                            None => view! { <Redirect path="/sign-in"/> }.into_any(),
                            Some(v) if v.kind == ViewerKind::Staff => view! { <Redirect path="/staff"/> }.into_any(),
                            Some(v) if v.accounts.len() == 1 => {
                                view! { <Redirect path=format!("/accounts/{}", v.accounts[0].customer_id)/> }.into_any()
                            }
                            Some(v) => {
                                let empty_note = v.accounts_empty_note();
                                view! {
                                <section class="card">
                                    <h1>"Your accounts"</h1>
                                    <p>"You can see these customer accounts. Choose one to see its invoices."</p>
                                    <ul class="account-list">
                                        {v.accounts.into_iter().map(|a| view! {
                                            <li>
                                                <a href=format!("/accounts/{}", a.customer_id)>{a.name}</a>
                                                <span class="muted">" · " {role_label(&a.role)}</span>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    {empty_note}
                                </section>
                            }
                            .into_any()
                            }
                        },
                    }
                })}
            </Suspense>
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

trait EmptyNote {
    fn accounts_empty_note(&self) -> Option<AnyView>;
}

impl EmptyNote for crate::models::Viewer {
    fn accounts_empty_note(&self) -> Option<AnyView> {
        self.accounts.is_empty().then(|| {
            view! { <p>"Your email is not linked to any customer account yet. Please contact your account manager."</p> }.into_any()
        })
    }
}
