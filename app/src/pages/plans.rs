//! The customer's payment plans (issue 12): the account's plans, the form
//! that proposes one (or asks AR to), and one plan with its schedule.
//!
//! Everything works as plain HTML: the propose form's "Preview" button is a
//! GET of this same page with the fields in the query string, and the page
//! shows the schedule they give; "Propose this plan" and the other buttons
//! POST to `plan_routes`, which answer 303. With JavaScript the
//! `SchedulePreview` island recomputes the schedule as the fields change,
//! through the `plan_preview` server function; when that call fails it says
//! so and the Preview button still works.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::plans::{plan_list, plan_page, plan_propose_form};
use crate::components::{
    textarea_text, AccountNav, AccountSection, LoadedPage, LocalTime, ScrollTable,
};
use crate::models::plans::{PlanListView, PlanProposeView, PlanView, PreviewView, ScheduleView};

/// The route's params (`customer_id` and maybe `plan_id`) and the query
/// string, for a page's resource.
fn page_source() -> impl Fn() -> (String, String, String) {
    let params = use_params_map();
    let location = use_location();
    move || {
        let p = params.read();
        (
            p.get("customer_id").unwrap_or_default(),
            p.get("plan_id").unwrap_or_default(),
            location.search.get().trim_start_matches('?').to_owned(),
        )
    }
}

/// The problem next to its field (`aria-describedby` points here).
fn field_problem(id: &'static str, problem: Option<String>) -> impl IntoView {
    problem.map(|p| view! { <p id=id class="field-problem">{p}</p> })
}

/// `aria-describedby` of a field with a hint and maybe a problem.
fn described(hint: &str, problem_id: &str, problem: &Option<String>) -> String {
    match problem {
        Some(_) => format!("{hint} {problem_id}"),
        None => hint.to_owned(),
    }
}

/// A schedule as a table. `with_status`: an agreed plan's instalments show
/// how each stands (in words) and what was paid toward it.
fn schedule_table(s: ScheduleView, labelledby: &'static str, with_status: bool) -> impl IntoView {
    view! {
        <ScrollTable labelledby=labelledby class="schedule">
            <thead>
                <tr>
                    <th scope="col">"Payment"</th>
                    <th scope="col">"Due"</th>
                    <th scope="col" class="num">"Amount"</th>
                    {with_status.then(|| view! {
                        <th scope="col">"Status"</th>
                        <th scope="col" class="num">"Paid"</th>
                    })}
                </tr>
            </thead>
            <tbody>
                {s.rows.into_iter().map(|r| view! {
                    <tr>
                        <th scope="row">{r.label}</th>
                        <td>{r.due}</td>
                        <td class="num">{r.amount}</td>
                        {with_status.then(|| view! {
                            <td>{r.status.map(|status| view! {
                                <span class=format!("status instalment-{}", r.status_key.unwrap_or_default())>{status}</span>
                            })}</td>
                            <td class="num">{r.paid.unwrap_or_else(|| "—".into())}</td>
                        })}
                    </tr>
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr>
                    <th scope="row">"Total"</th>
                    <td></td>
                    <td class="num"><strong>{s.total}</strong></td>
                    {with_status.then(|| view! { <td></td><td></td> })}
                </tr>
            </tfoot>
        </ScrollTable>
    }
}

/// `/accounts/:customer_id/plans`
#[component]
pub fn PlanListPage() -> impl IntoView {
    let source = page_source();
    let list = Resource::new(source, |(customer_id, _, _)| plan_list(customer_id));
    view! {
        <LoadedPage resource=list render={|l: PlanListView| view! { <PlanListBody l/> }}/>
    }
}

#[component]
fn PlanListBody(l: PlanListView) -> impl IntoView {
    let title = format!("Payment plans · {} · Billing portal", l.customer_name);
    view! {
        <Title text=title/>
        <AccountNav customer_id=l.customer_id customer_name=l.customer_name.clone() current=AccountSection::Plans/>
        <h1 id="plans-heading">"Payment plans"</h1>
        <p>"A payment plan spreads what you owe on some invoices over several payments. Propose one yourself, or ask AR to propose one."</p>
        {l.propose_href.clone().map(|href| view! { <p><a class="button" href=href>"Propose a payment plan"</a></p> })}
        {l.read_only_note.clone().map(|n| view! { <p class="muted">{n}</p> })}
        {if l.plans.is_empty() {
            view! { <p>"No payment plans yet."</p> }.into_any()
        } else {
            view! {
                <ScrollTable labelledby="plans-heading">
                    <thead>
                        <tr>
                            <th scope="col">"Plan"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Invoices"</th>
                            <th scope="col" class="num">"Total"</th>
                            <th scope="col">"Terms"</th>
                            <th scope="col">"Next payment"</th>
                            <th scope="col">"Opened"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {l.plans.into_iter().map(|p| view! {
                            <tr>
                                <th scope="row"><a href=p.href>{p.title}</a></th>
                                <td><span class=format!("status plan-{}", p.status_key)>{p.status}</span></td>
                                <td>{if p.invoices.is_empty() { "—".to_owned() } else { p.invoices }}</td>
                                <td class="num">{p.total.unwrap_or_else(|| "—".into())}</td>
                                <td>{p.terms.unwrap_or_else(|| "—".into())}</td>
                                <td>{p.next.unwrap_or_else(|| "—".into())}</td>
                                <td><LocalTime stamp=p.opened/></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            }.into_any()
        }}
    }
}

/// `/accounts/:customer_id/plans/new`
#[component]
pub fn PlanProposePage() -> impl IntoView {
    let source = page_source();
    let form = Resource::new(source, |(customer_id, _, query)| {
        plan_propose_form(customer_id, query)
    });
    view! {
        <LoadedPage resource=form render={|f: PlanProposeView| view! { <PlanProposeBody f/> }}/>
    }
}

#[component]
fn PlanProposeBody(f: PlanProposeView) -> impl IntoView {
    let title = format!(
        "Propose a payment plan · {} · Billing portal",
        f.customer_name
    );
    let body = match f.refusal.clone() {
        Some(refusal) => view! {
            <div class="alert error" role="alert">
                <p>{refusal}</p>
                <p><a href=f.list_href.clone()>"Back to the payment plans"</a></p>
            </div>
        }
        .into_any(),
        None => view! {
            <ProposeForm f=f.clone()/>
            <AskForm f=f.clone()/>
        }
        .into_any(),
    };
    view! {
        <Title text=title/>
        <AccountNav customer_id=f.customer_id customer_name=f.customer_name.clone() current=AccountSection::Plans/>
        <h1>"Propose a payment plan"</h1>
        {body}
    }
}

#[component]
fn ProposeForm(f: PlanProposeView) -> impl IntoView {
    let preview = f.preview.clone();
    let at = |field: &str| preview.as_ref().and_then(|p| p.problem_at(field));
    let (invoice_problem, down_problem, count_problem) =
        (at("invoices"), at("down_payment"), at("count"));
    let (frequency_problem, date_problem) = (at("frequency"), at("first_date"));
    // A problem about one field is shown at that field; the preview keeps
    // the others (and, with JavaScript, every later one).
    let initial = preview.clone().map(|p| match p.field {
        Some(_) => PreviewView {
            problem: None,
            field: None,
            ..p
        },
        None => p,
    });
    let invoices = view! {
        <fieldset class="card">
            <legend>"Invoices"</legend>
            <p id="invoices-hint" class="muted small">"The plan covers what you can pay on each invoice now: disputed amounts and payments in progress are left out."</p>
            {field_problem("invoice-problem", invoice_problem)}
            {if f.invoices.is_empty() {
                view! { <p>"This account has no open invoices."</p> }.into_any()
            } else {
                f.invoices.iter().map(|i| {
                    let id = format!("plan-invoice-{}", i.invoice_id);
                    let why = i.blocked.clone().or_else(|| i.note.clone());
                    let why_id = format!("{id}-why");
                    view! {
                        <div class="choice">
                            <input type="checkbox" id=id.clone() name="invoice" value=i.invoice_id.to_string()
                                checked=i.checked disabled=i.blocked.is_some()
                                aria-describedby=why.as_ref().map(|_| why_id.clone())/>
                            <label for=id>
                                {format!("Invoice {}", i.number)}
                                <span class="muted">{format!(" · due {} · {} in the plan", i.due_date, i.payable)}</span>
                            </label>
                            {why.map(|w| view! { <span id=why_id class="muted small">{w}</span> })}
                        </div>
                    }
                }).collect_view().into_any()
            }}
        </fieldset>
    }
    .into_any();
    let down_described = described("down-hint", "down-problem", &down_problem);
    let count_described = described("count-hint", "count-problem", &count_problem);
    let date_described = described("first-date-hint", "first-date-problem", &date_problem);
    let terms = view! {
        <fieldset class="card plan-terms">
            <legend>"Terms"</legend>
            <div class="field">
                <label for="down-payment">"Down payment (optional)"</label>
                <input id="down-payment" name="down_payment" type="text" inputmode="decimal" autocomplete="off"
                    class="amount" value=f.down_payment.clone() aria-describedby=down_described/>
                <p id="down-hint" class="muted small">"Paid first, on the first payment date. Leave empty for none."</p>
                {field_problem("down-problem", down_problem)}
            </div>
            <div class="field">
                <label for="count">"Number of instalments"</label>
                <input id="count" name="count" type="number" min="1" max="36" step="1" required=true
                    value=f.count.clone() aria-describedby=count_described/>
                <p id="count-hint" class="muted small">{f.count_hint.clone()}</p>
                {field_problem("count-problem", count_problem)}
            </div>
            <div class="field">
                <label for="frequency">"Every"</label>
                <select id="frequency" name="frequency" aria-describedby=frequency_problem.as_ref().map(|_| "frequency-problem")>
                    {f.frequencies.iter().map(|o| view! {
                        <option value=o.key.clone() selected=o.selected>{o.label.clone()}</option>
                    }).collect_view()}
                </select>
                {field_problem("frequency-problem", frequency_problem)}
            </div>
            <div class="field">
                <label for="first-date">"First payment date"</label>
                <input id="first-date" name="first_date" type="date" required=true min=f.min_date.clone() max=f.max_date.clone()
                    value=f.first_date.clone() aria-describedby=date_described/>
                <p id="first-date-hint" class="muted small">{f.date_hint.clone()}</p>
                {field_problem("first-date-problem", date_problem)}
            </div>
        </fieldset>
    }
    .into_any();
    view! {
        <form id="plan-form" method="post" action=f.action.clone() class="plan-form">
            {invoices}
            {terms}
            <SchedulePreview customer_id=f.customer_id form_id="plan-form".to_owned() initial/>
            <p class="actions">
                // First in the form: Enter in a field previews, never proposes.
                <button type="submit" class="secondary" formmethod="get" formaction=f.page_href.clone() name="preview" value="1">"Preview"</button>
                <button type="submit">"Propose this plan"</button>
                <a href=f.list_href.clone()>"Cancel"</a>
            </p>
            <p class="muted small">"Proposing records that you accept the schedule shown. Plans inside the seller's limits are approved at once; AR reviews the others."</p>
        </form>
    }
    .into_any()
}

#[component]
fn AskForm(f: PlanProposeView) -> impl IntoView {
    let problem = f.ask_problem.clone();
    // Its own invoice boxes: this form posts apart from the propose form,
    // whose "Preview" is a GET that must not carry a long message.
    let choosable = f.invoices.iter().filter(|i| i.blocked.is_none()).map(|i| {
        let id = format!("ask-invoice-{}", i.invoice_id);
        view! {
            <div class="choice">
                <input type="checkbox" id=id.clone() name="invoice" value=i.invoice_id.to_string()
                    checked=f.ask_checked.contains(&i.invoice_id)/>
                <label for=id>{format!("Invoice {}", i.number)}<span class="muted">{format!(" · {}", i.payable)}</span></label>
            </div>
        }
    }).collect_view();
    view! {
        <section class="card" id="ask" aria-labelledby="ask-heading">
            <h2 id="ask-heading">"Or ask AR to propose a plan"</h2>
            <details open=f.ask_open>
                <summary>"Ask AR to propose the terms instead"</summary>
                {problem.map(|p| view! { <div class="alert error" role="alert"><p>{p}</p></div> })}
                <form method="post" action=f.ask_action.clone()>
                    <fieldset class="plan-ask-invoices">
                        <legend>"Invoices for AR's plan"</legend>
                        {choosable}
                    </fieldset>
                    <div class="field">
                        <label for="ask-message">"Message to AR"</label>
                        <textarea id="ask-message" name="message" rows="5" maxlength="10000" required=true aria-describedby="ask-hint">
                            {textarea_text(&f.ask_message)}
                        </textarea>
                        <p id="ask-hint" class="muted small">"Say what you could pay and when; at most 10,000 characters."</p>
                    </div>
                    <p class="actions"><button type="submit">"Ask AR for a plan"</button></p>
                </form>
            </details>
        </section>
    }
}

/// The schedule the propose form gives. Server-rendered from what a
/// "Preview" sent; with JavaScript it follows the fields as they change
/// (debounced), calling `plan_preview`. A failed call keeps the last
/// schedule and says to press "Preview".
#[island]
pub fn SchedulePreview(
    customer_id: i64,
    form_id: String,
    initial: Option<PreviewView>,
) -> impl IntoView {
    let preview = RwSignal::new(initial);
    // 0: as rendered, 1: updating, 2: the last update failed.
    let state = RwSignal::new(0u8);
    // Effects run in the browser only: true once the island is live.
    let live = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        live.set(true);
        browser::wire(customer_id, &form_id, preview, state);
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (customer_id, form_id);
    view! {
        <section class="card plan-preview" aria-labelledby="schedule-heading">
            <h2 id="schedule-heading">"Schedule"</h2>
            // One live region that stays in place: screen readers hear the
            // new schedule's summary (or its problem) once it is computed.
            <p class="plan-preview-status" aria-live="polite">
                {move || match state.get() {
                    1 => "Updating the schedule…".to_owned(),
                    2 => "The schedule could not be updated just now: press “Preview” to see it.".to_owned(),
                    _ => preview.with(|p| {
                        p.as_ref()
                            .and_then(|p| p.schedule.as_ref().map(|s| s.summary.clone()).or_else(|| p.problem.clone()))
                            .unwrap_or_default()
                    }),
                }}
            </p>
            {move || match preview.get() {
                None => view! {
                    <p>{if live.get() {
                        "Choose invoices and terms: the schedule appears here."
                    } else {
                        "Choose invoices and terms, then press “Preview” to see the schedule."
                    }}</p>
                }.into_any(),
                Some(p) => view! {
                    {p.schedule.is_none().then_some(p.problem).flatten().map(|problem| view! { <p class="field-problem">{problem}</p> })}
                    {p.schedule.map(|s| schedule_table(s, "schedule-heading", false))}
                    {p.verdict.map(|v| view! { <p class="notice notice-info">{v}</p> })}
                }.into_any(),
            }}
        </section>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{Event, FormData, HtmlFormElement};

    use crate::models::plans::PreviewView;

    /// Quiet time after the last keystroke before asking the server.
    const DEBOUNCE: Duration = Duration::from_millis(350);

    pub fn wire(
        customer_id: i64,
        form_id: &str,
        preview: RwSignal<Option<PreviewView>>,
        state: RwSignal<u8>,
    ) {
        let Some(form) = document()
            .get_element_by_id(form_id)
            .and_then(|e| e.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let waiting: Rc<RefCell<Option<TimeoutHandle>>> = Rc::default();
        // Answers can arrive out of order: only the latest call's is shown.
        let latest = Rc::new(Cell::new(0u64));
        let source = form.clone();
        let on_change = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(handle) = waiting.borrow_mut().take() {
                handle.clear();
            }
            let form = source.clone();
            let latest = latest.clone();
            let handle = set_timeout_with_handle(
                move || {
                    let call = latest.get() + 1;
                    latest.set(call);
                    let query = encoded(&form);
                    state.set(1);
                    leptos::task::spawn_local(async move {
                        let answer =
                            crate::api::plans::plan_preview(customer_id.to_string(), query).await;
                        if latest.get() != call {
                            return;
                        }
                        match answer {
                            Ok(p) => {
                                preview.set(Some(p));
                                state.set(0);
                            }
                            Err(_) => state.set(2),
                        }
                    });
                },
                DEBOUNCE,
            );
            if let Ok(handle) = handle {
                *waiting.borrow_mut() = Some(handle);
            }
        });
        for event in ["input", "change"] {
            let _ =
                form.add_event_listener_with_callback(event, on_change.as_ref().unchecked_ref());
        }
        on_change.forget();
    }

    /// The form's fields as a GET would send them (disabled boxes and the
    /// buttons are left out by `FormData` too).
    fn encoded(form: &HtmlFormElement) -> String {
        let Ok(data) = FormData::new_with_form(form) else {
            return String::new();
        };
        let Ok(Some(entries)) = js_sys::try_iter(data.as_ref()) else {
            return String::new();
        };
        let mut pairs = Vec::new();
        for entry in entries.flatten() {
            let pair = js_sys::Array::from(&entry);
            let (Some(key), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string())
            else {
                continue;
            };
            let encode = |s: &str| String::from(js_sys::encode_uri_component(s));
            pairs.push(format!("{}={}", encode(&key), encode(&value)));
        }
        pairs.join("&")
    }
}

/// `/accounts/:customer_id/plans/:plan_id`
#[component]
pub fn PlanPage() -> impl IntoView {
    let source = page_source();
    let page = Resource::new(source, |(customer_id, plan_id, query)| {
        plan_page(customer_id, plan_id, query)
    });
    view! {
        <LoadedPage resource=page render={|p: PlanView| view! { <PlanBody p/> }}/>
    }
}

#[component]
fn PlanBody(p: PlanView) -> impl IntoView {
    let title = format!("{} · {} · Billing portal", p.title, p.customer_name);
    let countered = p.counter.is_some();
    let schedule = p.schedule.clone().map(|s| {
        let heading = if countered {
            "The schedule AR proposes"
        } else {
            "Schedule"
        };
        // Standing is shown once terms were agreed (the rows then say it).
        let agreed = s.rows.iter().any(|r| r.status.is_some());
        view! {
            <section class="card" aria-labelledby="plan-schedule-heading">
                <h2 id="plan-schedule-heading">{heading}</h2>
                <p>{s.summary.clone()}</p>
                {schedule_table(s, "plan-schedule-heading", agreed)}
            </section>
        }
    });
    view! {
        <Title text=title/>
        <AccountNav customer_id=p.customer_id customer_name=p.customer_name.clone() current=AccountSection::Plans/>
        <h1>{p.title.clone()}</h1>
        {p.notice.clone().map(|n| view! { <div class="alert success" role="status"><p>{n}</p></div> })}
        {p.problem.clone().map(|n| view! { <div class="alert error" role="alert"><p>{n}</p></div> })}
        <PlanRecord p=p.clone()/>
        {p.counter.clone().map(|c| view! { <CounterForms c/> })}
        {schedule}
        <PlanInvoices p=p.clone()/>
        <PlanAcceptances p/>
    }
}

#[component]
fn PlanRecord(p: PlanView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="plan-heading">
            <h2 id="plan-heading">"The plan"</h2>
            <dl class="facts">
                <div><dt>"Status"</dt><dd><span class=format!("status plan-{}", p.status_key)>{p.status.clone()}</span></dd></div>
                {p.total.clone().map(|t| view! { <div><dt>"Total"</dt><dd>{t}</dd></div> })}
                {p.paid.clone().map(|t| view! { <div><dt>"Paid so far"</dt><dd>{t}</dd></div> })}
                {p.left.clone().map(|t| view! { <div><dt>"Left to pay"</dt><dd>{t}</dd></div> })}
                {p.next.clone().map(|t| view! { <div><dt>"Next payment"</dt><dd>{t}</dd></div> })}
            </dl>
            <p>{p.explanation.clone()}</p>
            {p.read_only_note.clone().map(|n| view! { <p class="muted">{n}</p> })}
            <p class="actions">
                {p.pay_href.clone().map(|href| view! { <a class="button" href=href>"Pay next instalment"</a> })}
                {p.thread_href.clone().map(|href| view! { <a href=href>"Messages about this plan"</a> })}
                <a href=p.list_href.clone()>"All payment plans"</a>
            </p>
        </section>
    }
}

#[component]
fn CounterForms(c: crate::models::plans::CounterView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="counter-heading">
            <h2 id="counter-heading">"AR proposes different terms"</h2>
            <p>"AR answered your proposal with the schedule below. Accept it to start the plan, or decline it."</p>
            <details>
                <summary>"The terms, word for word"</summary>
                <pre class="plan-terms-text">{c.terms_text.clone()}</pre>
            </details>
            {c.accept_action.clone().map(|action| view! {
                <div class="actions">
                    <form method="post" action=action class="inline-form">
                        <input type="hidden" name="terms_hash" value=c.terms_hash.clone()/>
                        <button type="submit">"Accept these terms"</button>
                    </form>
                    {c.decline_action.clone().map(|action| view! {
                        <form method="post" action=action class="inline-form">
                            <button type="submit" class="danger">"Decline"</button>
                        </form>
                    })}
                </div>
            })}
        </section>
    }
}

#[component]
fn PlanInvoices(p: PlanView) -> impl IntoView {
    (!p.invoices.is_empty()).then(|| {
        view! {
            <section class="card" aria-labelledby="plan-invoices-heading">
                <h2 id="plan-invoices-heading">"Invoices in the plan"</h2>
                <ScrollTable labelledby="plan-invoices-heading">
                    <thead>
                        <tr>
                            <th scope="col">"Invoice"</th>
                            <th scope="col" class="num">"In the plan"</th>
                            <th scope="col" class="num">"Balance now"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {p.invoices.into_iter().map(|i| view! {
                            <tr>
                                <th scope="row"><a href=i.href>{i.number}</a></th>
                                <td class="num">{i.covered}</td>
                                <td class="num">{i.balance}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            </section>
        }
    })
}

#[component]
fn PlanAcceptances(p: PlanView) -> impl IntoView {
    (!p.acceptances.is_empty()).then(|| view! {
        <section class="card" aria-labelledby="acceptances-heading">
            <h2 id="acceptances-heading">"Terms accepted"</h2>
            <ul class="plan-acceptances">
                {p.acceptances.into_iter().map(|a| view! {
                    <li>
                        {format!("Version {} accepted by {} on ", a.version, a.who)}
                        <LocalTime stamp=a.at/>
                        <span class="muted small">{format!(" · terms fingerprint {}", a.hash)}</span>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    })
}
