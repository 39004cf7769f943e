use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::sessions::my_sessions;
use crate::components::{Layout, Loaded};
use crate::models::SessionView;

/// `/sessions`: where you are signed in, with "sign out" on each and
/// "sign out everywhere".
#[component]
pub fn SessionsPage() -> impl IntoView {
    let sessions = Resource::new(|| (), |_| my_sessions());
    view! {
        <Layout>
            <Title text="Your sessions · Billing portal"/>
            <Loaded resource=sessions render={|list: Vec<SessionView>| view! {
                <div class="page-head">
                    <h1>"Where you are signed in"</h1>
                    <p class="muted">"Sessions end by themselves after 30 minutes without use. End any you don't recognise."</p>
                </div>
                <ul class="session-list">
                    {list.into_iter().map(|s| view! {
                        <li class="card session">
                            <div>
                                <strong>{s.device.clone()}</strong>
                                {s.current.then(|| view! { <span class="tag">"This device"</span> })}
                                <p class="muted">
                                    "Signed in " {s.signed_in.clone()} " · last active " {s.last_seen.clone()} " · IP " {s.ip.clone()}
                                </p>
                            </div>
                            <form method="post" action=format!("/sessions/{}/end", s.session_id)>
                                <button type="submit" class="secondary">
                                    {if s.current { "Sign out" } else { "Sign out this session" }}
                                </button>
                            </form>
                        </li>
                    }).collect_view()}
                </ul>
                <form method="post" action="/sessions/end-all">
                    <button type="submit" class="danger">"Sign out everywhere"</button>
                </form>
            }}/>
        </Layout>
    }
}
