//! The frame of every page: skip link, header with the seller's name, the
//! AR workspace's sections for signed-in staff, the account switcher and
//! sign-out for signed-in people, and the main region.

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{PersonKind, SiteInfo};

pub type SiteResource = Resource<Result<SiteInfo, AppError>>;

pub fn use_site() -> SiteResource {
    expect_context::<SiteResource>()
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let site = use_site();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <Suspense fallback=|| view! { <span class="brand">"Billing portal"</span> }>
                {move || Suspend::new(async move {
                    let info = site.await.ok();
                    let seller = info.as_ref().map(|i| i.seller_name.clone()).unwrap_or_else(|| "Billing portal".into());
                    let person = info.and_then(|i| i.signed_in);
                    let home = match person.as_ref().map(|v| &v.kind) {
                        Some(PersonKind::Staff) => "/staff",
                        _ => "/",
                    };
                    view! {
                        <a class="brand" href=home>
                            <span class="brand-name">{seller}</span>
                            <span class="brand-area">
                                {match person.as_ref().map(|v| &v.kind) {
                                    Some(PersonKind::Staff) => "AR workspace",
                                    _ => "Billing portal",
                                }}
                            </span>
                        </a>
                        {(home == "/staff").then(|| view! {
                            <nav class="staff-nav" aria-label="AR workspace">
                                <a href="/staff/requests">"Requests"</a>
                                <a href="/staff/payments">"Payments"</a>
                                <a href="/staff/invoice-links">"Invoice links"</a>
                                <a href="/staff/settings">"Settings"</a>
                            </nav>
                        })}
                        {person.map(|v| {
                            let switcher = (v.accounts.len() > 1).then(|| {
                                view! {
                                    <details class="switcher">
                                        <summary>"Switch account"</summary>
                                        <ul>
                                            {v.accounts.iter().map(|a| view! {
                                                <li><a href=format!("/accounts/{}", a.customer_id)>{a.name.clone()}</a></li>
                                            }).collect_view()}
                                        </ul>
                                    </details>
                                }
                            });
                            view! {
                                <nav class="user-nav" aria-label="Your account">
                                    {switcher}
                                    <a href="/sessions">"Sessions"</a>
                                    <span class="who" title=v.email.clone()>{v.name.clone()}</span>
                                    <form method="post" action="/auth/sign-out" class="inline">
                                        <button type="submit" class="link-button">"Sign out"</button>
                                    </form>
                                </nav>
                            }
                        })}
                    }
                })}
            </Suspense>
        </header>
        <main id="main" tabindex="-1">{children()}</main>
        <HydrationMarker/>
        <footer class="site-footer">
            <p>"Questions about an invoice? Reply to any email from us, or write to your account manager."</p>
        </footer>
    }
}

/// Marks the page as taken over by the WASM bundle once the islands have
/// hydrated (the browser tests check it: a page that never hydrates must
/// not pass for one that did).
#[island]
fn HydrationMarker() -> impl IntoView {
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
