//! The one way pages wait for a server function: a loading line, then the
//! value rendered by the page, or the problem (404, sign in, apology).

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use super::{Layout, ProblemView};
use crate::error::AppError;

#[component]
pub fn Loaded<T, F, V>(resource: Resource<Result<T, AppError>>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => render(value).into_any(),
                        Err(error) => view! { <ProblemView error/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A whole page that shows one server function's answer.
#[component]
pub fn LoadedPage<T, F, V>(resource: Resource<Result<T, AppError>>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Layout>
            <Loaded resource render/>
        </Layout>
    }
}
