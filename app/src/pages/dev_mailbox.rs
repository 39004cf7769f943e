use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::dev::dev_mailbox;
use crate::components::{Layout, Loaded};
use crate::models::MailView;

/// `/dev/mailbox` (development only): mail the portal would have sent.
#[component]
pub fn DevMailboxPage() -> impl IntoView {
    let mail = Resource::new(|| (), |_| dev_mailbox());
    view! {
        <Layout>
            <Title text="Dev mailbox · Billing portal"/>
            <Loaded resource=mail render={|list: Vec<MailView>| view! {
                <div class="page-head">
                    <h1>"Dev mailbox"</h1>
                    <p class="muted">"Development only: no SMTP server is configured, so email stays here. Newest first."</p>
                </div>
                {list.is_empty().then(|| view! { <p>"No email yet. Ask for a sign-in link first."</p> })}
                <ul class="mail-list">
                    {list.into_iter().map(|m| view! {
                        <li class="card">
                            <h2 class="mail-subject">{m.subject.clone()}</h2>
                            <p class="muted">"To " {m.to.clone()} " · " {m.created.clone()} " · " {m.status.clone()}</p>
                            {m.link.clone().map(|href| view! { <p><a class="button" href=href>"Open the link in this email"</a></p> })}
                            <pre class="mail-body">{m.text_body.clone()}</pre>
                        </li>
                    }).collect_view()}
                </ul>
            }}/>
        </Layout>
    }
}
