//! How an error looks on a page: what happened, and what to do next.

use leptos::prelude::*;

use crate::error::AppError;
use crate::pages::not_found::NotFoundBody;

#[component]
pub fn ProblemView(error: AppError) -> impl IntoView {
    match error {
        AppError::NotFound => view! { <NotFoundBody/> }.into_any(),
        AppError::Unauthorized => view! {
            <section class="card narrow">
                <h1>"Please sign in"</h1>
                <p>"Your session has ended. Sign in again to continue."</p>
                <p><a class="button" href="/sign-in">"Sign in"</a></p>
            </section>
        }
        .into_any(),
        other => view! {
            <section class="card narrow">
                <h1>"Something went wrong"</h1>
                <p>{other.to_string()}</p>
                <p><a href="/">"Back to the start page"</a></p>
            </section>
        }
        .into_any(),
    }
}
