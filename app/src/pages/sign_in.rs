//! Sign-in pages, shared by customers (`/sign-in`, `/auth/confirm`) and
//! staff (`/staff/sign-in`, `/staff/auth/confirm`). Forms post to plain axum
//! routes, so everything works the same with JavaScript off.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::check_sign_in_link;
use crate::components::{layout::use_site, Layout, Loaded};
use crate::models::LinkState;

fn prefix(staff: bool) -> &'static str {
    if staff {
        "/staff"
    } else {
        ""
    }
}

/// The email form, also offered on every "link problem" page.
#[component]
fn RequestLinkForm(staff: bool, #[prop(into)] button: String) -> impl IntoView {
    view! {
        <form method="post" action=format!("{}/auth/sign-in", prefix(staff)) class="stack">
            <label for="email">"Work email"</label>
            <input id="email" name="email" type="email" autocomplete="email" required=true inputmode="email" maxlength="254"/>
            <button type="submit">{button}</button>
        </form>
    }
}

#[component]
pub fn SignInPage(staff: bool) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let q = query.read();
        if q.get("error").as_deref() == Some("invalid_email") {
            Some(("error", "Enter an email address like name@company.com."))
        } else if q.get("signed_out").is_some() {
            Some(("info", "You are signed out."))
        } else if q.get("expired").is_some() {
            Some(("info", "Your session ended. Please sign in again."))
        } else {
            None
        }
    };
    let (title, heading, intro) = if staff {
        (
            "Staff sign-in · AR workspace",
            "Sign in to the AR workspace",
            "For the accounts-receivable team. We'll email you a link that signs you in.",
        )
    } else {
        (
            "Sign in · Billing portal",
            "Sign in to your billing portal",
            "See your invoices and payments, and pay online. Enter your work email and we'll send you a link that signs you in. No password needed.",
        )
    };
    view! {
        <Layout>
            <Title text=title/>
            <section class="card narrow">
                <h1>{heading}</h1>
                <p>{intro}</p>
                {move || notice().map(|(kind, text)| view! {
                    <p class=format!("notice notice-{kind}") role=if kind == "error" { "alert" } else { "status" }>{text}</p>
                })}
                <RequestLinkForm staff button="Email me a sign-in link"/>
            </section>
        </Layout>
    }
}

#[component]
pub fn CheckEmailPage(staff: bool) -> impl IntoView {
    let site = use_site();
    view! {
        <Layout>
            <Title text="Check your email · Billing portal"/>
            <section class="card narrow">
                <h1>"Check your email"</h1>
                <p role="status">
                    "If that address belongs to an account, a sign-in link is on its way. "
                    "It works once and expires in 10 minutes."
                </p>
                <p class="muted">"Nothing arrived? Check your spam folder, or ask again in a minute."</p>
                <p><a href=format!("{}/sign-in", prefix(staff))>"Use a different email"</a></p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        site.await.ok().filter(|s| s.dev_mailbox).map(|_| view! {
                            <p class="dev-note">"Development: open the " <a href="/dev/mailbox">"dev mailbox"</a> " to find the email."</p>
                        })
                    })}
                </Suspense>
            </section>
        </Layout>
    }
}

/// What went wrong with a link, and a form to get a fresh one.
#[component]
fn LinkProblem(staff: bool, state: LinkState) -> impl IntoView {
    let (heading, text) = match state {
        LinkState::Used => (
            "This link has already been used",
            "Each sign-in link works once. Ask for a new one below.",
        ),
        LinkState::Expired => (
            "This link has expired",
            "Sign-in links work for 10 minutes. Ask for a new one below.",
        ),
        _ => (
            "This link doesn't work",
            "It may have been copied incompletely. Ask for a new one below.",
        ),
    };
    view! {
        <Title text="Sign-in link problem · Billing portal"/>
        <section class="card narrow">
            <h1>{heading}</h1>
            <p>{text}</p>
            <RequestLinkForm staff button="Email me a new link"/>
        </section>
    }
}

#[component]
pub fn LinkProblemPage(staff: bool) -> impl IntoView {
    let query = use_query_map();
    let state = move || match query.read().get("reason").as_deref() {
        Some("used") => LinkState::Used,
        Some("expired") => LinkState::Expired,
        _ => LinkState::Invalid,
    };
    view! { <Layout>{move || view! { <LinkProblem staff state=state()/> }}</Layout> }
}

/// The page a sign-in link opens. It only shows a button: the token is
/// spent by the POST, never by this GET (mail scanners open links).
#[component]
pub fn ConfirmPage(staff: bool) -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let state = Resource::new(token, move |token| check_sign_in_link(staff, token));
    view! {
        <Layout>
            <Loaded resource=state render={move |state: LinkState| match state {
                LinkState::Usable => view! {
                    <Title text="Sign in · Billing portal"/>
                    <section class="card narrow">
                        <h1>"Sign in"</h1>
                        <p>"Press the button to finish signing in on this device."</p>
                        <form method="post" action=format!("{}/auth/confirm", prefix(staff))>
                            <input type="hidden" name="token" value=token()/>
                            <button type="submit" class="primary-large">"Sign in"</button>
                        </form>
                    </section>
                }
                .into_any(),
                problem => view! { <LinkProblem staff state=problem/> }.into_any(),
            }}/>
        </Layout>
    }
}
