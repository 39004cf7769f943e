//! The customer's requests (issue 11): raising a dispute, the list of the
//! account's requests, and one request's thread. The forms are plain HTML
//! posting to `request_routes` (multipart where files go); the file picker
//! island adds a file list and upload progress when JavaScript runs.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::requests::{dispute_form, request_list, request_page};
use crate::components::{
    textarea_text, AccountNav, AccountSection, ColumnHeads, FilePicker, LoadedPage, LocalTime,
    ScrollTable,
};
use crate::models::requests::{DisputeFormView, DraftView, RequestListView, RequestView};

/// What the file inputs accept: by extension and type, as a hint to the
/// browser's picker; the server decides by content.
const ACCEPT: &str = ".pdf,.png,.jpg,.jpeg,.csv,.xlsx,application/pdf,image/png,image/jpeg,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const FILES_HINT: &str = "PDF, PNG, JPEG, CSV or XLSX; up to 5 files, 10 MB each.";

/// The route's two params and the query string, for a page's resource.
fn page_source(first: &'static str, second: &'static str) -> impl Fn() -> (String, String, String) {
    let params = use_params_map();
    let location = use_location();
    move || {
        let p = params.read();
        (
            p.get(first).unwrap_or_default(),
            p.get(second).unwrap_or_default(),
            location.search.get().trim_start_matches('?').to_owned(),
        )
    }
}

/// The problem next to its field (`aria-describedby` points here).
fn field_problem(id: &'static str, problem: Option<String>) -> impl IntoView {
    problem.map(|p| view! { <p id=id class="field-problem">{p}</p> })
}

/// A refusal not about one field, at the top of its form.
fn form_problem(draft: &Option<DraftView>, fields: &[&str]) -> impl IntoView {
    draft
        .as_ref()
        .filter(|d| d.field.as_deref().is_none_or(|f| !fields.contains(&f)))
        .map(|d| view! { <div class="alert error" role="alert"><p>{d.problem.clone()}</p></div> })
}

/// Files are never kept across a refused post: say so where they go.
fn choose_again(draft: &Option<DraftView>) -> impl IntoView {
    draft.as_ref().filter(|d| d.had_files).map(|_| {
        view! { <p class="notice notice-info">"The files you chose were not sent: choose them again."</p> }
    })
}

/// The file input, its hint and the island that lists what was chosen.
fn file_field(input_id: &'static str, form_id: &'static str, draft: &Option<DraftView>) -> AnyView {
    let problem = draft.as_ref().and_then(|d| d.problem_at("files"));
    let described = if problem.is_some() {
        format!("{input_id}-hint {input_id}-problem")
    } else {
        format!("{input_id}-hint")
    };
    let problem_id = if input_id == "dispute-files" {
        "dispute-files-problem"
    } else {
        "message-files-problem"
    };
    view! {
        <div class="field">
            <label for=input_id>"Attach files (optional)"</label>
            <input id=input_id name="files" type="file" multiple=true accept=ACCEPT aria-describedby=described/>
            <p id=format!("{input_id}-hint") class="muted small">{FILES_HINT}</p>
            {field_problem(problem_id, problem)}
            {choose_again(draft)}
            {view! { <FilePicker input_id=input_id.to_owned() form_id=form_id.to_owned()/> }.into_any()}
        </div>
    }
    .into_any()
}

/// `/accounts/:customer_id/invoices/:invoice_id/dispute`
#[component]
pub fn DisputeFormPage() -> impl IntoView {
    let source = page_source("customer_id", "invoice_id");
    let form = Resource::new(source, |(customer_id, invoice_id, query)| {
        dispute_form(customer_id, invoice_id, query)
    });
    view! {
        <LoadedPage resource=form render={|f: DisputeFormView| view! { <DisputeFormBody f/> }}/>
    }
}

#[component]
fn DisputeFormBody(f: DisputeFormView) -> impl IntoView {
    let title = format!(
        "Dispute invoice {} · {} · Billing portal",
        f.number, f.customer_name
    );
    let heading = format!("Dispute invoice {}", f.number);
    let body = if let Some(refusal) = f.refusal.clone() {
        view! {
            <div class="alert error" role="alert">
                <p>{refusal}</p>
                <p><a href=f.invoice_href.clone()>{format!("Back to invoice {}", f.number)}</a></p>
            </div>
        }
        .into_any()
    } else if let Some(open) = f.open_dispute_href.clone() {
        view! {
            <div class="alert" role="status">
                <p>{format!("Invoice {} already has an open dispute. Add a message to it instead of raising another.", f.number)}</p>
                <p><a href=open>"Go to the open dispute"</a></p>
            </div>
        }
        .into_any()
    } else {
        view! { <DisputeFields f=f.clone()/> }.into_any()
    };
    view! {
        <Title text=title/>
        <AccountNav customer_id=f.customer_id customer_name=f.customer_name.clone() current=AccountSection::Requests/>
        <h1>{heading}</h1>
        <p><a href=f.invoice_href.clone()>{format!("Invoice {}", f.number)}</a>{format!(" · open balance {}", f.balance)}</p>
        {body}
    }
}

#[component]
fn DisputeFields(f: DisputeFormView) -> impl IntoView {
    let d = f.draft.clone();
    let at = move |field: &str| d.as_ref().and_then(|d| d.problem_at(field));
    let scope = f.scope.clone();
    let radio = move |value: &'static str, label: String| {
        let id = format!("scope-{value}");
        view! {
            <div class="choice">
                <input type="radio" id=id.clone() name="scope" value=value checked={scope == value} required=true/>
                <label for=id>{label}</label>
            </div>
        }
    };
    let (scope_problem, lines_problem, amount_problem) = (at("scope"), at("lines"), at("amount"));
    let (reason_problem, message_problem) = (at("reason"), at("message"));
    let amount_described = if amount_problem.is_some() {
        "amount-hint amount-problem"
    } else {
        "amount-hint"
    };
    let reason_described = reason_problem.is_some().then_some("reason-problem");
    let message_described = if message_problem.is_some() {
        "message-hint message-problem"
    } else {
        "message-hint"
    };
    let scope_fields = view! {
        <fieldset class="card">
            <legend>"What do you dispute?"</legend>
            {field_problem("scope-problem", scope_problem)}
            {radio("invoice", format!("The whole invoice ({})", f.balance))}
            {radio("lines", "Some lines (choose below)".to_owned())}
            <fieldset class="nested">
                <legend>"Lines"</legend>
                {field_problem("lines-problem", lines_problem)}
                {f.lines.iter().map(|l| {
                    let id = format!("line-{}", l.invoice_line_id);
                    view! {
                        <div class="choice">
                            <input type="checkbox" id=id.clone() name="line" value=l.invoice_line_id.to_string() checked=l.checked/>
                            <label for=id>{l.description.clone()}<span class="muted">{format!(" · {}", l.amount)}</span></label>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            {radio("amount", "An amount".to_owned())}
            <div class="field nested">
                <label for="amount">{format!("Amount disputed ({})", f.currency)}</label>
                <input id="amount" name="amount" type="text" inputmode="decimal" autocomplete="off"
                    class="amount" value=f.amount.clone() aria-describedby=amount_described/>
                <p id="amount-hint" class="muted small">{format!("At most the open balance, {}.", f.balance)}</p>
                {field_problem("amount-problem", amount_problem)}
            </div>
        </fieldset>
    }
    .into_any();
    let reason_field = view! {
        <div class="field">
            <label for="reason">"Reason"</label>
            <select id="reason" name="reason" required=true aria-describedby=reason_described>
                <option value="" selected=!f.reasons.iter().any(|r| r.selected)>"Choose a reason"</option>
                {f.reasons.iter().map(|r| view! {
                    <option value=r.code.clone() selected=r.selected>{r.label.clone()}</option>
                }).collect_view()}
            </select>
            {field_problem("reason-problem", reason_problem)}
        </div>
    }
    .into_any();
    let message_field = view! {
        <div class="field">
            <label for="message">"Message to AR"</label>
            <textarea id="message" name="message" rows="6" maxlength="10000" required=true aria-describedby=message_described>{textarea_text(&f.message)}</textarea>
            <p id="message-hint" class="muted small">"Say what is wrong and what you expect; at most 10,000 characters."</p>
            {field_problem("message-problem", message_problem)}
        </div>
    }
    .into_any();
    view! {
        {form_problem(&f.draft, &["scope", "lines", "amount", "reason", "message", "files"])}
        <form id="dispute-form" method="post" action=f.action.clone() enctype="multipart/form-data" class="dispute-form">
            {scope_fields}
            <div class="card">
                {reason_field}
                {message_field}
                {file_field("dispute-files", "dispute-form", &f.draft)}
            </div>
            <p class="actions">
                <button type="submit">"Send the dispute"</button>
                <a href=f.invoice_href.clone()>"Cancel"</a>
            </p>
        </form>
    }
    .into_any()
}

/// `/accounts/:customer_id/requests`
#[component]
pub fn RequestListPage() -> impl IntoView {
    let params = use_params_map();
    let list = Resource::new(
        move || params.read().get("customer_id").unwrap_or_default(),
        request_list,
    );
    view! {
        <LoadedPage resource=list render={|l: RequestListView| view! { <RequestListBody l/> }}/>
    }
}

#[component]
fn RequestListBody(l: RequestListView) -> impl IntoView {
    let title = format!("Requests · {} · Billing portal", l.customer_name);
    let invoices = format!("/accounts/{}/invoices", l.customer_id);
    view! {
        <Title text=title/>
        <AccountNav customer_id=l.customer_id customer_name=l.customer_name.clone() current=AccountSection::Requests/>
        <h1 id="requests-heading">"Requests"</h1>
        {if l.requests.is_empty() {
            view! {
                <p>"No requests yet. To dispute an invoice, open it from "<a href=invoices>"the invoices"</a>" and choose “Dispute”."</p>
            }.into_any()
        } else {
            view! {
                <ScrollTable labelledby="requests-heading">
                    <ColumnHeads
                        names=&["Request", "Invoice", "Reason", "Disputed", "Status", "Opened", "Last activity"]
                        numeric=&["Disputed"]
                    />
                    <tbody>
                        {l.requests.into_iter().map(|r| view! {
                            <tr>
                                <th scope="row"><a href=r.href.clone()>{r.kind.clone()}</a></th>
                                <td>{match (r.invoice_number.clone(), r.invoice_href.clone()) {
                                    (Some(n), Some(href)) => view! { <a href=href>{n}</a> }.into_any(),
                                    _ => "—".into_any(),
                                }}</td>
                                <td>{r.reason.clone().unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{r.amount.clone().unwrap_or_else(|| "—".into())}</td>
                                <td><span class=format!("badge request-{}", r.status_key)>{r.status.clone()}</span></td>
                                <td><LocalTime stamp=r.opened.clone()/></td>
                                <td><LocalTime stamp=r.last_activity.clone()/></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            }.into_any()
        }}
    }
}

/// `/accounts/:customer_id/requests/:request_id`
#[component]
pub fn RequestPage() -> impl IntoView {
    let source = page_source("customer_id", "request_id");
    let page = Resource::new(source, |(customer_id, request_id, query)| {
        request_page(customer_id, request_id, query)
    });
    view! {
        <LoadedPage resource=page render={|r: RequestView| view! { <RequestBody r/> }}/>
    }
}

#[component]
fn RequestBody(r: RequestView) -> impl IntoView {
    let title = format!("{} · {} · Billing portal", r.title, r.customer_name);
    view! {
        <Title text=title/>
        <AccountNav customer_id=r.customer_id customer_name=r.customer_name.clone() current=AccountSection::Requests/>
        <h1>{r.title.clone()}</h1>
        {r.notice.clone().map(|n| view! { <div class="alert success" role="status"><p>{n}</p></div> })}
        <RequestRecord r=r.clone()/>
        <RequestThread r=r.clone()/>
        <RequestForms r/>
    }
}

#[component]
fn RequestRecord(r: RequestView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="record-heading">
            <h2 id="record-heading">"The request"</h2>
            <dl class="facts">
                <div><dt>"Status"</dt><dd><span class=format!("badge request-{}", r.status_key)>{r.status.clone()}</span></dd></div>
                {r.invoice_number.clone().zip(r.invoice_href.clone()).map(|(n, href)| view! {
                    <div><dt>"Invoice"</dt><dd><a href=href>{n}</a></dd></div>
                })}
                {r.scope.clone().map(|s| view! { <div><dt>"Disputed"</dt><dd>{s}</dd></div> })}
                {r.held.clone().map(|h| view! { <div><dt>"Amount held"</dt><dd>{h}</dd></div> })}
                {r.reason.clone().map(|s| view! { <div><dt>"Reason"</dt><dd>{s}</dd></div> })}
                <div><dt>"Opened"</dt><dd><LocalTime stamp=r.opened.clone()/></dd></div>
                {r.balance.clone().map(|b| view! { <div><dt>"Invoice balance now"</dt><dd>{b}</dd></div> })}
            </dl>
            {(!r.lines.is_empty()).then(|| view! {
                <h3>"Disputed lines"</h3>
                <ul>
                    {r.lines.iter().map(|(d, a)| view! { <li>{d.clone()}<span class="muted">{format!(" · {a}")}</span></li> }).collect_view()}
                </ul>
            })}
            {(!r.sla.is_empty()).then(|| view! {
                <h3>"When to expect an answer"</h3>
                <ul class="sla-lines">
                    {r.sla.iter().map(|l| view! {
                        <li class:late=l.late>{l.text.clone()}{l.due.clone().map(|due| view! { " "<LocalTime stamp=due/> })}</li>
                    }).collect_view()}
                </ul>
                <p class="muted small">"Counted in AR's business hours; the clock pauses while AR waits for your answer."</p>
            })}
            {r.outcome.clone().map(|o| view! {
                <h3>"Outcome"</h3>
                <p>{o}</p>
            })}
        </section>
    }
}

#[component]
fn RequestThread(r: RequestView) -> impl IntoView {
    view! {
        <section class="card" id="thread" aria-labelledby="thread-heading">
            <h2 id="thread-heading">"Messages"</h2>
            <ol class="thread">
                {r.messages.into_iter().map(|m| view! {
                    <li class="thread-message" class:from-ar=m.from_ar>
                        <p class="thread-meta">
                            <strong>{m.author.clone()}</strong>
                            {m.from_ar.then_some(" (from AR)")}
                            " · "<LocalTime stamp=m.at.clone()/>
                        </p>
                        <p class="thread-body">{m.body.clone()}</p>
                        {(!m.attachments.is_empty()).then(|| view! {
                            <ul class="attachments">
                                {m.attachments.iter().map(|a| view! {
                                    <li><a href=a.href.clone() download="">{a.name.clone()}</a>
                                        <span class="muted small">{format!(" · {} · {}", a.kind, a.size)}</span></li>
                                }).collect_view()}
                            </ul>
                        })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn RequestForms(r: RequestView) -> impl IntoView {
    let message_form = r.message_action.clone().map(|action| {
        let d = r.message_draft.clone();
        let problem = d.as_ref().and_then(|d| d.problem_at("message"));
        let described = if problem.is_some() { "reply-hint reply-problem" } else { "reply-hint" };
        view! {
            <section class="card" aria-labelledby="reply-heading">
                <h2 id="reply-heading">"Write to AR"</h2>
                {form_problem(&d, &["message", "files"])}
                <form id="message-form" method="post" action=action enctype="multipart/form-data">
                    <div class="field">
                        <label for="reply">"Message"</label>
                        <textarea id="reply" name="message" rows="5" maxlength="10000" required=true aria-describedby=described>
                            {d.as_ref().map(|d| textarea_text(&d.message)).unwrap_or_default()}
                        </textarea>
                        <p id="reply-hint" class="muted small">"At most 10,000 characters."</p>
                        {field_problem("reply-problem", problem)}
                    </div>
                    {file_field("message-files", "message-form", &d)}
                    <p class="actions"><button type="submit">"Send the message"</button></p>
                </form>
            </section>
        }
        .into_any()
    });
    let withdraw_form = r.withdraw_action.clone().map(|action| view! {
        <section class="card" aria-labelledby="withdraw-heading">
            <h2 id="withdraw-heading">"Withdraw the dispute"</h2>
            <p>"If the matter is settled, withdraw the dispute: the held amount becomes payable again."</p>
            <form method="post" action=action class="actions">
                <button type="submit" class="secondary">"Withdraw the dispute"</button>
            </form>
        </section>
    });
    let reopen_form = r.reopen_action.clone().map(|action| {
        let d = r.reopen_draft.clone();
        let problem = d.as_ref().and_then(|d| d.problem_at("message"));
        let described = if problem.is_some() { "reopen-hint reopen-problem" } else { "reopen-hint" };
        view! {
            <section class="card" aria-labelledby="reopen-heading">
                <h2 id="reopen-heading">"Reopen the dispute"</h2>
                {form_problem(&d, &["message"])}
                <form method="post" action=action>
                    <div class="field">
                        <label for="reopen-message">"Why are you reopening it?"</label>
                        <textarea id="reopen-message" name="message" rows="4" maxlength="10000" required=true aria-describedby=described>
                            {d.as_ref().map(|d| textarea_text(&d.message)).unwrap_or_default()}
                        </textarea>
                        <p id="reopen-hint" class="muted small">
                            "You can reopen it until "{r.reopen_until.clone().map(|s| view! { <LocalTime stamp=s/> })}"."
                        </p>
                        {field_problem("reopen-problem", problem)}
                    </div>
                    <p class="actions"><button type="submit">"Reopen the dispute"</button></p>
                </form>
            </section>
        }
        .into_any()
    });
    view! {
        {r.withdraw_problem.clone().map(|p| view! { <div class="alert error" role="alert"><p>{p}</p></div> })}
        {r.read_only_note.clone().map(|n| view! { <p class="muted">{n}</p> })}
        {message_form}
        {withdraw_form}
        {reopen_form}
    }
}
