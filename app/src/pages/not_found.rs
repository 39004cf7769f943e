use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::Layout;

/// The body of a 404, also used when a record is not the viewer's to see.
#[component]
pub fn NotFoundBody() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found · Billing portal"/>
        <section class="card narrow">
            <h1>"We couldn't find that page"</h1>
            <p>"The link may be mistyped, or the page may belong to an account you are not signed in to."</p>
            <p><a class="button" href="/">"Go to your accounts"</a></p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! { <Layout><NotFoundBody/></Layout> }
}
