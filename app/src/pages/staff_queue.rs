//! AR's queue of open requests (issue 11): filters as a GET form, the rows
//! in the order of the next breach, and one POST form around the table for
//! "assign to me" per row and "assign selected" (plain HTML, works with
//! JavaScript off).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use crate::api::staff_requests::staff_queue;
use crate::components::{Layout, Loaded, Pager, ScrollTable};
use crate::models::staff_requests::{Choice, QueueRowView, StaffQueueView};
use crate::pages::staff_figures::QueueFigures;

/// `/staff/requests`
#[component]
pub fn StaffQueuePage() -> impl IntoView {
    let location = use_location();
    let queue = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        staff_queue,
    );
    view! {
        <Layout>
            <Title text="Requests · AR workspace"/>
            <div class="page-head">
                <h1>"Requests"</h1>
                <p class="muted">"Open requests, the next breach first; waiting on the customer last."</p>
            </div>
            <QueueFigures/>
            <Loaded resource=queue render={|q: StaffQueueView| view! { <QueueBody q/> }}/>
        </Layout>
    }
}

/// A labelled select with an "Any" choice.
#[component]
fn FilterSelect(
    id: &'static str,
    label: &'static str,
    any: &'static str,
    choices: Vec<Choice>,
    selected: String,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id name=id>
                <option value="" selected=selected.is_empty()>{any}</option>
                {choices.into_iter().map(|(value, text)| {
                    let is = value == selected;
                    view! { <option value=value selected=is>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
fn QueueBody(q: StaffQueueView) -> impl IntoView {
    let f = q.filters.clone();
    view! {
        {q.notice.clone().map(|text| view! { <div class="alert success" role="status"><p>{text}</p></div> })}
        {q.problem.clone().map(|text| view! { <div class="alert error" role="alert"><p>{text}</p></div> })}
        <form method="get" action="/staff/requests" class="filters card" aria-labelledby="filter-heading">
            <h2 id="filter-heading" class="visually-hidden">"Filters"</h2>
            <div class="filter-grid">
                <FilterSelect id="kind" label="Kind" any="Any kind" choices=q.kinds.clone() selected=f.kind.clone()/>
                <FilterSelect id="status" label="Status" any="Any open status" choices=q.statuses.clone() selected=f.status.clone()/>
                <FilterSelect id="assignee" label="Assignee" any="Anyone or nobody" choices=q.assignees.clone() selected=f.assignee.clone()/>
                <FilterSelect id="customer" label="Customer" any="Any customer" choices=q.customers.clone() selected=f.customer.clone()/>
                <FilterSelect id="reason" label="Reason" any="Any reason" choices=q.reasons.clone() selected=f.reason.clone()/>
                <FilterSelect id="sla" label="SLA" any="Any" choices=q.slas.clone() selected=f.sla.clone()/>
            </div>
            <div class="filter-actions">
                <button type="submit">"Show requests"</button>
                <a href="/staff/requests">"Clear filters"</a>
            </div>
        </form>
        <div class="list-bar">
            <p id="queue-heading" class="muted">{q.position.clone()}</p>
            <Pager previous=q.previous.clone() next=q.next.clone() previous_label="Previous page" next_label="Next page"/>
        </div>
        {(!q.rows.is_empty()).then(|| view! { <QueueTable q=q.clone()/> })}
    }
}

#[component]
fn QueueTable(q: StaffQueueView) -> impl IntoView {
    view! {
        <form method="post" action="/staff/requests/assign" class="queue-form">
            <input type="hidden" name="back" value=q.query.clone()/>
            <ScrollTable labelledby="queue-heading" class="queue">
                <thead>
                    <tr>
                        <th scope="col"><span class="visually-hidden">"Select"</span></th>
                        <th scope="col">"Request"</th>
                        <th scope="col">"Customer"</th>
                        <th scope="col">"Invoice"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col" class="num">"Amount"</th>
                        <th scope="col">"Priority"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Owner"</th>
                        <th scope="col">"Next deadline"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {q.rows.into_iter().map(|r| view! { <QueueRow r/> }).collect_view()}
                </tbody>
            </ScrollTable>
            <div class="filter-actions">
                <label for="bulk-assignee">"Assign selected to"</label>
                <select id="bulk-assignee" name="assignee">
                    {q.assign_to.into_iter().map(|(value, text)| view! { <option value=value>{text}</option> }).collect_view()}
                </select>
                <button type="submit" name="bulk" value="1">"Assign selected"</button>
            </div>
        </form>
    }
}

#[component]
fn QueueRow(r: QueueRowView) -> impl IntoView {
    let pick = format!("pick-{}", r.request_id);
    let what = format!("Select request #{} of {}", r.request_id, r.customer_name);
    let badge_class = format!("sla-badge sla-{}", r.badge_key);
    view! {
        <tr>
            <td>
                <input type="checkbox" id=pick.clone() name="request" value=r.request_id.to_string()/>
                <label class="visually-hidden" for=pick>{what}</label>
            </td>
            <th scope="row"><a href=r.href.clone()>{format!("{} #{}", r.kind, r.request_id)}</a></th>
            <td><a href=r.customer_href.clone()>{r.customer_name.clone()}</a></td>
            <td>{r.invoice_number.clone().unwrap_or_default()}</td>
            <td>{r.reason.clone().unwrap_or_default()}</td>
            <td class="num">{r.amount.clone().unwrap_or_default()}</td>
            <td>{r.priority.clone()}</td>
            <td>{r.status.clone()}</td>
            <td>{r.owner.clone()}</td>
            <td><span class=badge_class>{r.badge.clone()}</span>" "<span class="deadline">{r.deadline.clone()}</span></td>
            <td>
                {r.can_take.then(|| view! {
                    <button type="submit" name="take" value=r.request_id.to_string() class="link-button">"Assign to me"</button>
                })}
            </td>
        </tr>
    }
}
