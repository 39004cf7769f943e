//! One request as AR works it (issue 11): header, SLA targets, the thread
//! (customer messages, replies, and internal notes set apart), status
//! history, and the forms, each a plain POST answered by a redirect back
//! here with a notice or a problem (the typed text kept).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::staff_requests::staff_request;
use crate::components::{textarea_text, LoadedPage, LocalTime, ScrollTable};
use crate::models::staff_requests::{StaffMessageView, StaffRequestView};
use crate::pages::staff_plan::StaffPlanSection;

/// `/staff/requests/:request_id`
#[component]
pub fn StaffRequestPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let request = Resource::new(
        move || {
            (
                params.read().get("request_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(id, query)| staff_request(id, query),
    );
    view! {
        <LoadedPage resource=request render={|r: StaffRequestView| view! { <RequestBody r/> }}/>
    }
}

#[component]
fn RequestBody(r: StaffRequestView) -> impl IntoView {
    let title = format!("{} · AR workspace", r.title);
    let base = format!("/staff/requests/{}", r.request_id);
    let is_plan = r.kind_key == "payment_plan";
    let promise = r.promise.clone();
    view! {
        <Title text=title/>
        <p><a href="/staff/requests">"← Requests"</a></p>
        <div class="page-head">
            <h1>{r.title.clone()}</h1>
            <p class="muted">{format!("Request #{} · opened ", r.request_id)}<LocalTime stamp=r.opened.clone()/></p>
        </div>
        {r.notice.clone().map(|text| view! { <div class="alert success" role="status"><p>{text}</p></div> })}
        {r.problem.clone().map(|text| view! { <div class="alert error" role="alert"><p>{text}</p></div> })}
        <RequestHeader r=r.clone()/>
        // A payment plan is decided in its own section (issue 12), not
        // with a dispute's outcomes.
        {is_plan.then(|| view! { <StaffPlanSection/> })}
        // A broken promise to pay (issue 13): what was promised and paid.
        {(!promise.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="promise-heading">
                <h2 id="promise-heading">"The promise to pay"</h2>
                <dl class="facts">
                    {promise.into_iter().map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> }).collect_view()}
                </dl>
            </section>
        })}
        <SlaTargets r=r.clone()/>
        <section class="card" aria-labelledby="thread-heading">
            <h2 id="thread-heading">"Thread"</h2>
            <ol class="thread">
                {r.messages.iter().cloned().map(|m| view! { <Message m/> }).collect_view()}
            </ol>
            <ReplyForm r=r.clone() action=format!("{base}/reply")/>
        </section>
        {r.open.then(|| view! { <WorkForms r=r.clone() base=base.clone() resolve=!is_plan/> })}
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Status history"</h2>
            <ol class="history">
                {r.history.iter().cloned().map(|h| view! {
                    <li><LocalTime stamp=h.at/>" — "{h.text}</li>
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn RequestHeader(r: StaffRequestView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="summary-heading">
            <h2 id="summary-heading">"Summary"</h2>
            <dl class="facts">
                <dt>"Customer"</dt><dd><a href=r.customer_href.clone()>{r.customer_name.clone()}</a></dd>
                {r.invoice_number.clone().map(|number| view! {
                    <dt>"Invoice"</dt>
                    <dd>{match r.invoice_href.clone() {
                        Some(href) => view! { <a href=href>{number}</a> }.into_any(),
                        None => number.into_any(),
                    }}</dd>
                })}
                {r.amount.clone().map(|a| view! { <dt>"Disputed amount"</dt><dd>{a}</dd> })}
                {r.reason.clone().map(|a| view! { <dt>"Reason"</dt><dd>{a}</dd> })}
                {r.scope.clone().map(|a| view! { <dt>"Scope"</dt><dd>{a}</dd> })}
                <dt>"Priority"</dt><dd>{r.priority.clone()}</dd>
                <dt>"Status"</dt><dd><span class=format!("request-status status-{}", r.status_key)>{r.status.clone()}</span></dd>
                <dt>"Owner"</dt><dd>{r.owner.clone()}</dd>
                {r.outcome.clone().map(|o| view! { <dt>"Outcome"</dt><dd>{o}</dd> })}
            </dl>
            {(!r.lines.is_empty()).then(|| view! {
                <h3 id="lines-heading">"Disputed lines"</h3>
                <ScrollTable labelledby="lines-heading">
                    <thead><tr><th scope="col">"Line"</th><th scope="col" class="num">"Amount"</th></tr></thead>
                    <tbody>
                        {r.lines.iter().cloned().map(|(d, a)| view! {
                            <tr><th scope="row">{d}</th><td class="num">{a}</td></tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            })}
        </section>
    }
}

#[component]
fn SlaTargets(r: StaffRequestView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="sla-heading">
            <h2 id="sla-heading">"SLA targets"</h2>
            {r.paused.then(|| view! {
                <p class="alert"><strong>"Paused"</strong>" — waiting on the customer: no business time counts until they answer."</p>
            })}
            <ScrollTable labelledby="sla-heading">
                <thead>
                    <tr>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Used"</th>
                        <th scope="col">"Due"</th>
                        <th scope="col">"State"</th>
                    </tr>
                </thead>
                <tbody>
                    {r.targets.iter().cloned().map(|t| view! {
                        <tr>
                            <th scope="row">{t.name}</th>
                            <td>{t.used}</td>
                            <td>{match t.due {
                                Some(stamp) => view! { <LocalTime stamp/> }.into_any(),
                                None => "—".into_any(),
                            }}</td>
                            <td><span class=format!("sla-badge sla-{}", t.state_key)>{t.state}</span></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </ScrollTable>
        </section>
    }
}

#[component]
fn Message(m: StaffMessageView) -> impl IntoView {
    let class = format!("message message-{}", m.side);
    view! {
        <li class=class>
            <p class="message-meta">
                <strong class="message-label">{m.label.clone()}</strong>
                " · "{m.author.clone()}" · "<LocalTime stamp=m.at.clone()/>
            </p>
            <div class="message-body">{m.body.clone()}</div>
            {(!m.attachments.is_empty()).then(|| view! {
                <ul class="attachments">
                    {m.attachments.iter().cloned().map(|a| view! {
                        <li><a href=a.href download="">{a.name}</a>" "<span class="muted">{format!("({})", a.size)}</span></li>
                    }).collect_view()}
                </ul>
            })}
        </li>
    }
}

#[component]
fn ReplyForm(r: StaffRequestView, action: String) -> impl IntoView {
    let internal = r.kept.internal || !r.open;
    view! {
        <form method="post" action=action class="reply-form">
            <h3 id="reply-heading">{if r.open { "Reply or add an internal note" } else { "Add an internal note" }}</h3>
            <div class="field">
                <label for="reply-body">"Message"</label>
                <textarea id="reply-body" name="body" rows="6" required=true maxlength="10000">{textarea_text(&r.kept.body)}</textarea>
            </div>
            <fieldset class="choice">
                <legend>"Who sees it"</legend>
                {r.open.then(|| view! {
                    <label><input type="radio" name="visibility" value="customer" checked=!internal/>" The customer (a reply; they are emailed)"</label>
                })}
                <label><input type="radio" name="visibility" value="internal" checked=internal/>" AR only (internal note — not visible to the customer)"</label>
            </fieldset>
            <div class="actions"><button type="submit">"Send"</button></div>
        </form>
    }
}

#[component]
fn WorkForms(r: StaffRequestView, base: String, resolve: bool) -> impl IntoView {
    let k = r.kept.clone();
    let outcome = if k.outcome.is_empty() {
        "credit_note".to_owned()
    } else {
        k.outcome.clone()
    };
    view! {
        <section class="card" aria-labelledby="work-heading">
            <h2 id="work-heading">"Work on the request"</h2>
            <div class="work-forms">
                {(r.status_key == "open").then(|| view! {
                    <form method="post" action=format!("{base}/waiting")>
                        <h3>"Waiting on the customer"</h3>
                        <p class="muted small">"Pauses the clock until the customer answers. Reply with your question first."</p>
                        <button type="submit">"Mark as waiting on the customer"</button>
                    </form>
                })}
                <form method="post" action=format!("{base}/priority")>
                    <h3><label for="priority">"Priority"</label></h3>
                    <p class="muted small">"The minutes already used are kept."</p>
                    <select id="priority" name="priority">
                        {r.priorities.iter().cloned().map(|(value, text)| {
                            let is = value == r.priority_value;
                            view! { <option value=value selected=is>{text}</option> }
                        }).collect_view()}
                    </select>
                    " "<button type="submit">"Change priority"</button>
                </form>
                <form method="post" action=format!("{base}/assign")>
                    <h3><label for="assignee">"Owner"</label></h3>
                    <select id="assignee" name="assignee">
                        {r.assign_to.iter().cloned().map(|(value, text)| {
                            let is = value == r.assignee_value;
                            view! { <option value=value selected=is>{text}</option> }
                        }).collect_view()}
                    </select>
                    " "<button type="submit">"Assign"</button>
                </form>
            </div>
            {resolve.then(|| view! {
            <form method="post" action=format!("{base}/resolve") class="resolve-form">
                <h3 id="resolve-heading">"Resolve"</h3>
                <fieldset class="choice">
                    <legend>"Outcome"</legend>
                    <label><input type="radio" name="outcome" value="credit_note" checked=outcome == "credit_note"/>" Credit note"</label>
                    <label><input type="radio" name="outcome" value="corrected_invoice" checked=outcome == "corrected_invoice"/>" Corrected invoice"</label>
                    <label><input type="radio" name="outcome" value="rejected" checked=outcome == "rejected"/>" Rejected"</label>
                </fieldset>
                <div class="filter-grid">
                    <div class="field">
                        <label for="resolve-amount">"Credit note amount"</label>
                        <input id="resolve-amount" name="amount" type="text" inputmode="decimal" autocomplete="off" value=k.amount.clone()/>
                        <span class="muted small">{r.amount.clone().map(|a| format!("At most the disputed {a}."))}</span>
                    </div>
                    <div class="field">
                        <label for="resolve-note">"Credit note text (optional)"</label>
                        <input id="resolve-note" name="note" type="text" maxlength="1000" value=k.note.clone()/>
                    </div>
                    <div class="field">
                        <label for="resolve-reference">"Corrected invoice reference"</label>
                        <input id="resolve-reference" name="reference" type="text" maxlength="1000" value=k.reference.clone()/>
                    </div>
                    <div class="field">
                        <label for="resolve-reason">"Why it is rejected"</label>
                        <input id="resolve-reason" name="reason" type="text" maxlength="1000" value=k.reason.clone()/>
                    </div>
                </div>
                <p class="muted small">"Only the fields of the chosen outcome are used. The customer is emailed the outcome."</p>
                <div class="actions"><button type="submit">"Resolve the request"</button></div>
            </form>
            })}
        </section>
    }
}
