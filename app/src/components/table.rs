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

/// A table's head: one `scope="col"` header per name; the names also in
/// `numeric` are right-aligned (`num`), as their cells are.
#[component]
pub fn ColumnHeads(
    names: &'static [&'static str],
    #[prop(optional)] numeric: &'static [&'static str],
) -> impl IntoView {
    view! {
        <thead>
            <tr>
                {names.iter().map(|name| if numeric.contains(name) {
                    view! { <th scope="col" class="num">{*name}</th> }.into_any()
                } else {
                    view! { <th scope="col">{*name}</th> }.into_any()
                }).collect_view()}
            </tr>
        </thead>
    }
}

/// A section of a page holding one table: its heading (`id` labels the
/// section and the table's region), what stands above the table (`intro`,
/// also when it is empty), then the `rows` under `columns`, or `empty` in
/// words when there are none.
#[component]
pub fn TableSection(
    id: &'static str,
    title: &'static str,
    columns: &'static [&'static str],
    #[prop(optional)] numeric: &'static [&'static str],
    empty: &'static str,
    #[prop(optional, into)] intro: Option<ViewFn>,
    rows: Vec<AnyView>,
) -> impl IntoView {
    view! {
        <section aria-labelledby=id>
            <h2 id=id>{title}</h2>
            {intro.map(|intro| intro.run())}
            {if rows.is_empty() {
                view! { <p>{empty}</p> }.into_any()
            } else {
                view! {
                    <ScrollTable labelledby=id>
                        <ColumnHeads names=columns numeric=numeric/>
                        <tbody>{rows}</tbody>
                    </ScrollTable>
                }.into_any()
            }}
        </section>
    }
}
