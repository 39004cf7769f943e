use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::Layout;

/// `/invoice-link?state=…`: why an invoice link from an email did not open,
/// and what to do: get a fresh one by email (sent to the account's contacts
/// on file, never to an address typed here) or sign in.
#[component]
pub fn InvoiceLinkPage() -> impl IntoView {
    let query = use_query_map();
    let state = move || query.read().get("state").unwrap_or_default();
    // Only a well-formed token goes into the form's action: anything else
    // (`../../sessions/end-all?`) could aim the button at another endpoint.
    let token = move || {
        query
            .read()
            .get("token")
            .filter(|t| is_well_formed_token(t))
            .unwrap_or_default()
    };
    view! {
        <Layout>
            <Title text="Invoice link · Billing portal"/>
            <section class="card narrow">
                {move || {
                    let (heading, message) = match state().as_str() {
                        "expired" => ("This invoice link has expired", "Links in our emails work for a limited time, to keep your invoices private."),
                        "revoked" => ("This invoice link was withdrawn", "Our accounts team turned this link off. You can get a new one."),
                        "ended" => ("This invoice link no longer works", "It expired or was withdrawn while you had it open."),
                        "sent" => ("Check your email", "If this invoice's account has contacts on file, we sent each of them a new link. It can take a minute to arrive."),
                        _ => ("This invoice link does not work", "It may be incomplete: try copying the whole link from the email. Or sign in to see all your invoices."),
                    };
                    let offer = matches!(state().as_str(), "expired" | "revoked") && !token().is_empty();
                    view! {
                        <h1>{heading}</h1>
                        <p>{message}</p>
                        {offer.then(|| view! {
                            <form method="post" action=format!("/i/{}/fresh", token()) class="stack">
                                <button type="submit">"Email me a fresh link"</button>
                                <p class="muted">"We send it to the contacts we have for this account."</p>
                            </form>
                        })}
                        <p><a href="/sign-in">"Sign in to see your whole account"</a></p>
                    }
                }}
            </section>
        </Layout>
    }
}

/// The portal's link tokens: 32 random bytes in unpadded base64url, i.e.
/// exactly 43 characters of `A-Z a-z 0-9 - _`.
pub fn is_well_formed_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_well_formed_token;

    #[test]
    fn only_link_tokens_are_well_formed() {
        assert!(is_well_formed_token(&"a".repeat(43)));
        assert!(is_well_formed_token(
            "AZaz09-_AZaz09-_AZaz09-_AZaz09-_AZaz09-_AZa"
        ));
        assert!(!is_well_formed_token(&"a".repeat(42)));
        assert!(!is_well_formed_token(&"a".repeat(44)));
        assert!(!is_well_formed_token(
            "../../sessions/end-all?x=aaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ));
        assert!(!is_well_formed_token(&format!("{}/", "a".repeat(42))));
        assert!(!is_well_formed_token(""));
    }
}
