//! A data table in a region that scrolls sideways on narrow screens. The
//! region takes keyboard focus and a name, so it can be scrolled without a
//! mouse and a screen reader says what it holds.

use leptos::prelude::*;

/// Name the region by the id of its heading or caption (`labelledby`), or
/// in words (`label`) when there is none on the page.
#[component]
pub fn ScrollTable(
    #[prop(optional, into)] labelledby: Option<String>,
    #[prop(optional)] label: Option<&'static str>,
    /// Extra classes of the table.
    #[prop(optional)]
    class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let class = match class {
        Some(extra) => format!("invoices {extra}"),
        None => "invoices".to_owned(),
    };
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-labelledby=labelledby aria-label=label>
            <table class=class>{children()}</table>
        </div>
    }
}

/// Links to the pages before and after, with where the reader is between.
#[component]
pub fn Pager(
    previous: Option<String>,
    next: Option<String>,
    previous_label: &'static str,
    next_label: &'static str,
    #[prop(optional)] position: Option<String>,
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {previous.map(|href| view! { <a href=href rel="prev">{previous_label}</a> })}
            {position.map(|text| view! { <span class="muted">{text}</span> })}
            {next.map(|href| view! { <a href=href rel="next">{next_label}</a> })}
        </nav>
    }
}
