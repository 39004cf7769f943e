//! An invoice's shared timeline (issue 11 item 6): the same entries for
//! the customer and AR, oldest first, each with its time, who acted (in
//! words) and what happened; a message's text is quoted under it. The kind
//! of an entry is said in words too (visually hidden), not by its mark.

use leptos::prelude::*;

use crate::components::LocalTime;
use crate::models::TimelineEntryView;

#[component]
pub fn InvoiceTimeline(
    /// The heading's id, for the section's label.
    heading_id: &'static str,
    entries: Vec<TimelineEntryView>,
) -> impl IntoView {
    view! {
        <section aria-labelledby=heading_id class="invoice-timeline">
            <h2 id=heading_id>"Timeline"</h2>
            <p class="muted small">"Everything that happened to this invoice, oldest first. AR sees the same list."</p>
            <ol class="timeline">
                {entries.into_iter().map(|e| view! {
                    <li class=format!("timeline-entry timeline-{}", e.kind)>
                        <p class="timeline-head">
                            <span class="visually-hidden">{kind_words(&e.kind)}</span>
                            {match e.day {
                                Some(day) => view! { <time datetime=e.at.iso.clone()>{day}</time> }.into_any(),
                                None => view! { <LocalTime stamp=e.at/> }.into_any(),
                            }}
                            " · "
                            <strong class="timeline-actor">{e.actor}</strong>
                            " "
                            <span>{e.what}</span>
                            {e.href.map(|href| view! { " " <a href=href>"See the request"</a> })}
                        </p>
                        {e.body.map(|body| view! { <blockquote class="timeline-body">{body}</blockquote> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

fn kind_words(kind: &str) -> &'static str {
    match kind {
        "issued" => "Invoice: ",
        "sent" => "Email: ",
        "viewed" => "View: ",
        "payment" => "Payment: ",
        "dispute" => "Dispute: ",
        "message" => "Message: ",
        "credit" => "Credit: ",
        _ => "",
    }
}
