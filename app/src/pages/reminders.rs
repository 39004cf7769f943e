//! Reminders and promises to pay (issue 13): the promise form on the
//! invoice page, the reminder settings on AR's settings page and the
//! reminder part of AR's customer page. Every form is a plain POST to
//! `server::http::reminder_routes`, so all of it works with JavaScript off.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::reminders::{
    friendly_reminders, invoice_promise, staff_customer_reminders, staff_reminder_settings,
    CustomerRemindersPageView, FriendlyRemindersView, PromiseSectionView, ReminderSettingsPageView,
};
use crate::components::ScrollTable;

/// A section that shows nothing when its server function refuses (the
/// page around it says why).
macro_rules! quiet_section {
    ($resource:expr, $render:expr) => {
        view! {
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match $resource.await {
                        Ok(value) => ($render)(value).into_any(),
                        Err(_) => ().into_any(),
                    }
                })}
            </Suspense>
        }
    };
}

/// "Promise to pay" on the invoice page (signed-in contacts).
#[component]
pub fn PromiseSection(customer_id: i64, invoice_id: i64) -> impl IntoView {
    let location = use_location();
    let promise = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        move |query| invoice_promise(customer_id.to_string(), invoice_id.to_string(), query),
    );
    quiet_section!(promise, |p: PromiseSectionView| view! { <PromiseBody p/> })
}

#[component]
fn PromiseBody(p: PromiseSectionView) -> impl IntoView {
    if p.open.is_none() && !p.can_promise && p.notice.is_none() {
        return ().into_any();
    }
    let problem = p.problem.clone();
    let field_problem = |field: &str| {
        problem
            .as_ref()
            .filter(|(code, _)| code == field)
            .map(|(_, text)| text.clone())
    };
    let date_problem = field_problem("promised_on");
    let amount_problem = field_problem("amount");
    let other_problem = problem
        .as_ref()
        .filter(|(code, _)| code != "promised_on" && code != "amount")
        .map(|(_, text)| text.clone());
    view! {
        <section id="promise" class="card" aria-labelledby="promise-heading">
            <h2 id="promise-heading">"Promise to pay"</h2>
            {p.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            {p.open.clone().map(|o| view! { <p>{o}</p> })}
            {other_problem.map(|t| view! { <div class="alert error" role="alert"><p>{t}</p></div> })}
            {p.can_promise.then(|| view! {
                <p class="muted">{format!(
                    "Tell us when you will pay, and we will not send reminders for this invoice until then. Choose a date up to {}.",
                    p.latest_words
                )}</p>
                <form method="post" action=p.action.clone()>
                    <div class="field">
                        <label for="promised_on">"I will pay by"</label>
                        {date_problem.clone().map(|t| view! { <span id="promised_on-error" class="field-problem">{t}</span> })}
                        <input id="promised_on" name="promised_on" type="date" required
                            min=p.today.clone() max=p.latest.clone()
                            aria-invalid=date_problem.is_some().then_some("true")
                            aria-describedby=date_problem.is_some().then_some("promised_on-error")/>
                    </div>
                    <div class="field">
                        <label for="promise_amount">"Amount (optional)"</label>
                        <span id="promise_amount-hint" class="muted small">{format!("Leave empty for the whole {} payable now.", p.payable)}</span>
                        {amount_problem.clone().map(|t| view! { <span id="promise_amount-error" class="field-problem">{t}</span> })}
                        <input id="promise_amount" name="amount" type="text" inputmode="decimal"
                            aria-invalid=amount_problem.is_some().then_some("true")
                            aria-describedby=if amount_problem.is_some() { "promise_amount-hint promise_amount-error" } else { "promise_amount-hint" }/>
                    </div>
                    <p class="actions"><button type="submit">"Promise to pay"</button></p>
                </form>
            })}
        </section>
    }
    .into_any()
}

/// The reminder settings on AR's settings page.
#[component]
pub fn ReminderSettingsSection() -> impl IntoView {
    let location = use_location();
    let settings = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        staff_reminder_settings,
    );
    quiet_section!(
        settings,
        |s: ReminderSettingsPageView| view! { <ReminderSettingsBody s/> }
    )
}

#[component]
fn ReminderSettingsBody(s: ReminderSettingsPageView) -> impl IntoView {
    let read_only = !s.can_edit;
    view! {
        <section id="reminders" class="card" aria-labelledby="reminders-heading">
            <h2 id="reminders-heading">"Payment reminders"</h2>
            <p class="muted small">"Reminders go out in each customer's own time zone, on weekdays that are not holidays of the business calendar, inside the send window. Each step is sent once per invoice; one email per payer and admin lists every invoice that reached a step that day."</p>
            {s.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            {s.problem.clone().map(|t| view! { <div class="alert error" role="alert"><p>"Nothing was changed. "{t}</p></div> })}
            <form method="post" action="/staff/settings/reminders">
                <fieldset disabled=read_only>
                    <legend>"Sending and promises"</legend>
                    <div class="filter-grid">
                        <div class="field">
                            <label for="reminder-window">"Send window (customer's local time)"</label>
                            <input id="reminder-window" name="window" type="text" value=s.window.clone()/>
                        </div>
                        <div class="field">
                            <label for="promise-horizon">"Longest promise to pay (days)"</label>
                            <input id="promise-horizon" name="promise_horizon_days" type="number" min="1" max="365" value=s.horizon.clone()/>
                        </div>
                        <div class="field">
                            <label for="ar-contact-name">"AR contact named in reminders"</label>
                            <input id="ar-contact-name" name="ar_contact_name" type="text" value=s.ar_contact_name.clone()/>
                        </div>
                        <div class="field">
                            <label for="ar-contact-email">"AR contact's email (optional)"</label>
                            <input id="ar-contact-email" name="ar_contact_email" type="email" value=s.ar_contact_email.clone()/>
                        </div>
                    </div>
                    {s.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save"</button></p> })}
                </fieldset>
            </form>
            {s.cadences.iter().map(|c| {
                let heading = format!("cadence-{}-heading", c.cadence_id);
                let labelledby = heading.clone();
                let title = if c.is_default { format!("{} (default)", c.name) } else { c.name.clone() };
                view! {
                    <section aria-labelledby=labelledby>
                        <h3 id=heading>{title}</h3>
                        {c.steps.iter().map(|st| {
                            let id = format!("step-{}", st.step_id);
                            view! {
                                <form method="post" action="/staff/settings/reminders/steps" class="card">
                                    <fieldset disabled=read_only>
                                        <legend>{format!("Step {}", st.day_words)}</legend>
                                        <input type="hidden" name="cadence_id" value=c.cadence_id.to_string()/>
                                        <input type="hidden" name="step_id" value=st.step_id.to_string()/>
                                        <div class="field">
                                            <label for=format!("{id}-offset")>"Days from the due date"</label>
                                            <input id=format!("{id}-offset") name="offset_days" type="text" value=st.offset.clone()/>
                                        </div>
                                        <div class="choice">
                                            <input id=format!("{id}-optional") name="optional" type="checkbox" value="1" checked=st.optional/>
                                            <label for=format!("{id}-optional")>"Friendly step (customers may unsubscribe from it)"</label>
                                        </div>
                                        <div class="field">
                                            <label for=format!("{id}-subject")>"Subject"</label>
                                            <input id=format!("{id}-subject") name="subject" type="text" value=st.subject.clone()/>
                                        </div>
                                        <div class="field">
                                            <label for=format!("{id}-body")>"Text"</label>
                                            <textarea id=format!("{id}-body") name="body" rows="10">{crate::components::textarea_text(&st.body)}</textarea>
                                        </div>
                                        {s.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save this step"</button></p> })}
                                    </fieldset>
                                </form>
                                <form method="post" action=format!("/staff/settings/reminders/steps/{}/test", st.step_id) class="inline-form">
                                    <label for=format!("{id}-test-customer")>"Customer ID for real invoices (empty: sample invoices)"</label>
                                    <input id=format!("{id}-test-customer") name="customer" type="text" inputmode="numeric" size="8"/>
                                    <button type="submit">"Send a test to me"</button>
                                </form>
                                {s.can_edit.then(|| view! {
                                    <form method="post" action=format!("/staff/settings/reminders/steps/{}/remove", st.step_id) class="inline-form">
                                        <button type="submit" class="link-button">"Remove the step "{st.day_words.clone()}</button>
                                    </form>
                                })}
                            }
                        }).collect_view()}
                        {s.can_edit.then(|| {
                            let id = format!("new-step-{}", c.cadence_id);
                            view! {
                                <form method="post" action="/staff/settings/reminders/steps" class="card">
                                    <fieldset>
                                        <legend>"Add a step"</legend>
                                        <input type="hidden" name="cadence_id" value=c.cadence_id.to_string()/>
                                        <div class="field">
                                            <label for=format!("{id}-offset")>"Days from the due date (e.g. -3, 0, +7)"</label>
                                            <input id=format!("{id}-offset") name="offset_days" type="text"/>
                                        </div>
                                        <div class="choice">
                                            <input id=format!("{id}-optional") name="optional" type="checkbox" value="1"/>
                                            <label for=format!("{id}-optional")>"Friendly step"</label>
                                        </div>
                                        <div class="field">
                                            <label for=format!("{id}-subject")>"Subject"</label>
                                            <input id=format!("{id}-subject") name="subject" type="text"/>
                                        </div>
                                        <div class="field">
                                            <label for=format!("{id}-body")>"Text"</label>
                                            <textarea id=format!("{id}-body") name="body" rows="6"></textarea>
                                        </div>
                                        <p class="actions"><button type="submit">"Add the step"</button></p>
                                    </fieldset>
                                </form>
                            }
                        })}
                    </section>
                }
            }).collect_view()}
            {s.can_edit.then(|| view! {
                <form method="post" action="/staff/settings/reminders/cadences">
                    <div class="field">
                        <label for="new-cadence">"New cadence (starts as a copy of the default)"</label>
                        <input id="new-cadence" name="name" type="text"/>
                    </div>
                    <p class="actions"><button type="submit">"Add the cadence"</button></p>
                </form>
            })}
            <h3 id="reminder-preview-heading">{format!("Reminders of the next working day ({})", s.preview_day)}</h3>
            {if s.preview.is_empty() {
                view! { <p>"None, as things stand today."</p> }.into_any()
            } else {
                view! {
                    <ScrollTable labelledby="reminder-preview-heading">
                        <thead><tr><th scope="col">"Customer"</th><th scope="col">"Invoice"</th><th scope="col">"Step"</th><th scope="col" class="num">"Asked for"</th><th scope="col">"To"</th></tr></thead>
                        <tbody>
                            {s.preview.iter().map(|p| view! {
                                <tr><td><a href=p.customer_href.clone()>{p.customer.clone()}</a></td><td>{p.invoice.clone()}</td><td>{p.step.clone()}</td><td class="num">{p.amount.clone()}</td><td>{p.recipients.clone()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                }.into_any()
            }}
            <p class="muted small">"Each customer in its own time zone; payments, disputes, pauses and promises until then change it."</p>
            <h3>"Variables"</h3>
            <dl>
                {s.variables.iter().map(|(name, what)| view! {
                    <div><dt><code>{name.clone()}</code></dt><dd>{what.clone()}</dd></div>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// The reminder part of AR's customer page.
#[component]
pub fn CustomerRemindersSection(customer_id: i64) -> impl IntoView {
    let location = use_location();
    let reminders = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        move |query| staff_customer_reminders(customer_id.to_string(), query),
    );
    quiet_section!(
        reminders,
        |r: CustomerRemindersPageView| view! { <CustomerRemindersBody r/> }
    )
}

#[component]
fn CustomerRemindersBody(r: CustomerRemindersPageView) -> impl IntoView {
    let c = r.customer_id;
    let read_only = !r.can_edit;
    let has_invoices = !r.invoices.is_empty();
    let (send_invoices, pause_invoices, promise_invoices) =
        (r.invoices.clone(), r.invoices.clone(), r.invoices.clone());
    view! {
        <section id="reminders" aria-labelledby="reminders-heading">
            <h2 id="reminders-heading">"Reminders"</h2>
            {r.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            {r.problem.clone().map(|t| view! { <div class="alert error" role="alert"><p>{t}</p></div> })}
            <p>{format!("Cadence: {}. Time zone: {}.", r.cadence_name, r.effective_zone)}</p>
            {r.paused_words.clone().map(|w| view! { <p class="notice notice-info">{w}</p> })}
            <form method="post" action=format!("/staff/customers/{c}/reminders")>
                <fieldset disabled=read_only>
                    <legend>"Reminder settings of this customer"</legend>
                    <div class="filter-grid">
                        <div class="field">
                            <label for="reminder-cadence">"Cadence"</label>
                            <select id="reminder-cadence" name="cadence_id">
                                <option value="" selected=r.cadence_id.is_none()>"The default"</option>
                                {r.cadences.iter().map(|(id, name)| view! {
                                    <option value=id.to_string() selected=r.cadence_id == Some(*id)>{name.clone()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="reminder-paused">"Paused until (included; empty: not paused)"</label>
                            <input id="reminder-paused" name="paused_until" type="date" value=r.paused_until.clone()/>
                        </div>
                        <div class="field">
                            <label for="reminder-zone">"Time zone (empty: yours)"</label>
                            <input id="reminder-zone" name="time_zone" type="text" value=r.time_zone.clone()/>
                        </div>
                    </div>
                    {r.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save"</button></p> })}
                </fieldset>
            </form>
            <form method="post" action=format!("/staff/customers/{c}/reminders/billing-email")>
                <fieldset disabled=read_only>
                    <legend>"Billing address"</legend>
                    <div class="field">
                        <label for="reminder-billing">"Also send reminders to (empty: contacts only)"</label>
                        <input id="reminder-billing" name="billing_email" type="email" autocomplete="off" value=r.billing_email.clone()/>
                        <p class="hint">"Its emails carry each invoice's link, not the \"pay all\" link (that one needs a sign-in)."</p>
                    </div>
                    {r.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save the billing address"</button></p> })}
                </fieldset>
            </form>
            {(!r.unsubscribed.is_empty()).then(|| view! {
                <p>"Unsubscribed from the friendly reminders (overdue notices still go): "{r.unsubscribed.join(", ")}</p>
            })}
            {has_invoices.then(|| view! {
                <form method="post" action=format!("/staff/customers/{c}/reminders/send")>
                    <fieldset>
                        <legend>"Open invoices"</legend>
                        <ScrollTable labelledby="reminders-heading">
                            <thead>
                                <tr>
                                    <th scope="col">"Choose"</th>
                                    <th scope="col">"Invoice"</th>
                                    <th scope="col">"Due"</th>
                                    <th scope="col" class="num">"Balance"</th>
                                    <th scope="col">"Reminders"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {send_invoices.iter().map(|i| {
                                    let box_id = format!("remind-{}", i.invoice_id);
                                    view! {
                                        <tr>
                                            <td><input id=box_id.clone() type="checkbox" name="invoice" value=i.invoice_id.to_string()/></td>
                                            <th scope="row"><label for=box_id>{i.number.clone()}</label></th>
                                            <td>{i.due.clone()}</td>
                                            <td class="num">{i.balance.clone()}</td>
                                            <td>{i.paused_until.clone().map(|d| format!("Paused through {d}")).unwrap_or_else(|| "On".into())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </ScrollTable>
                        <p class="actions"><button type="submit">"Send a reminder now"</button></p>
                        <p class="muted small">"For the chosen invoices (all open ones if none is chosen). The next automatic step waits at least three days after it."</p>
                    </fieldset>
                </form>
            })}
            {(has_invoices && r.can_edit).then(|| view! {
                <details>
                    <summary>"Pause one invoice's reminders"</summary>
                    {pause_invoices.iter().map(|i| view! {
                        <form method="post" action=format!("/staff/customers/{c}/invoices/{}/reminder-pause", i.invoice_id) class="inline-form">
                            <label for=format!("pause-{}", i.invoice_id)>{format!("{} paused until", i.number)}</label>
                            <input id=format!("pause-{}", i.invoice_id) name="paused_until" type="date"/>
                            <button type="submit">"Save"</button>
                        </form>
                    }).collect_view()}
                </details>
            })}
            {has_invoices.then(|| view! {
                <form id="promises" method="post" action=format!("/staff/customers/{c}/promises")>
                    <fieldset>
                        <legend>"Record a promise made by phone"</legend>
                        {promise_invoices.iter().map(|i| {
                            let box_id = format!("promise-{}", i.invoice_id);
                            view! {
                                <div class="choice">
                                    <input id=box_id.clone() type="checkbox" name="invoice" value=i.invoice_id.to_string()/>
                                    <label for=box_id>{format!("{} ({})", i.number, i.balance)}</label>
                                </div>
                            }
                        }).collect_view()}
                        <div class="field">
                            <label for="phone-promised-on">"Promised date"</label>
                            <input id="phone-promised-on" name="promised_on" type="date" min=r.today.clone()/>
                        </div>
                        <div class="field">
                            <label for="phone-amount">"Amount (optional)"</label>
                            <input id="phone-amount" name="amount" type="text" inputmode="decimal"/>
                        </div>
                        <div class="field">
                            <label for="phone-note">"Note"</label>
                            <input id="phone-note" name="note" type="text"/>
                        </div>
                        <p class="actions"><button type="submit">"Record the promise"</button></p>
                    </fieldset>
                </form>
            })}
            <h3 id="promises-heading">"Promises to pay"</h3>
            {if r.promises.is_empty() {
                view! { <p>"No promises."</p> }.into_any()
            } else {
                view! {
                    <ScrollTable labelledby="promises-heading">
                        <thead><tr><th scope="col">"Made"</th><th scope="col">"How"</th><th scope="col">"Pay by"</th><th scope="col" class="num">"Amount"</th><th scope="col">"Status"</th></tr></thead>
                        <tbody>
                            {r.promises.iter().map(|p| view! {
                                <tr><td>{p.made.clone()}</td><td>{p.by.clone()}</td><td>{p.promised_on.clone()}</td><td class="num">{p.amount.clone()}</td><td>{p.status.clone()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                }.into_any()
            }}
            <h3 id="sent-heading">"Reminders sent"</h3>
            {if r.sent.is_empty() {
                view! { <p>"None yet."</p> }.into_any()
            } else {
                view! {
                    <ScrollTable labelledby="sent-heading">
                        <thead><tr><th scope="col">"When"</th><th scope="col">"Invoice"</th><th scope="col">"Step"</th><th scope="col" class="num">"Asked for"</th><th scope="col">"Emails"</th></tr></thead>
                        <tbody>
                            {r.sent.iter().map(|s| view! {
                                <tr><td>{s.when.clone()}</td><td>{s.invoice.clone()}</td><td>{s.step.clone()}</td><td class="num">{s.amount.clone()}</td><td>{s.delivery.clone()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                }.into_any()
            }}
        </section>
    }
}

/// "Friendly reminders" on the account page: a payer or admin who used the
/// one-click unsubscribe turns them back on here (or off).
#[component]
pub fn FriendlyRemindersSection(customer_id: i64) -> impl IntoView {
    let location = use_location();
    let choice = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        move |query| friendly_reminders(customer_id.to_string(), query),
    );
    quiet_section!(
        choice,
        |f: FriendlyRemindersView| view! { <FriendlyRemindersBody f/> }
    )
}

#[component]
fn FriendlyRemindersBody(f: FriendlyRemindersView) -> impl IntoView {
    if !f.gets_reminders {
        return ().into_any();
    }
    let (words, button, value) = if f.on {
        (
            "You get friendly reminders before and on an invoice's due date, and notices when one is overdue.",
            "Stop friendly reminders",
            "0",
        )
    } else {
        (
            "You get no friendly reminders before or on an invoice's due date; notices about overdue invoices still come.",
            "Turn friendly reminders back on",
            "1",
        )
    };
    view! {
        <section id="reminders" aria-labelledby="friendly-heading">
            <h2 id="friendly-heading">"Payment reminders"</h2>
            {f.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            <form method="post" action=format!("/accounts/{}/reminders/friendly", f.customer_id)>
                <p>{words}</p>
                <input type="hidden" name="on" value=value/>
                <p class="actions"><button type="submit">{button}</button></p>
            </form>
        </section>
    }
    .into_any()
}
