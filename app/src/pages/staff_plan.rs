//! AR's side of payment plans (issue 12), as two sections other pages
//! render: the plan of a payment-plan request (on `/staff/requests/{id}`)
//! and the plan policy (on `/staff/settings`). Each loads its own server
//! function, so the pages around them stay as they were.
//!
//! Plain POST forms to `staff_plan_routes`, answered 303 back to the page:
//! the request page with `plan_notice=` or `plan_problem=` and the typed
//! values (keys of their own, so the request page's notices are not
//! confused), the settings page with `saved=` or `form=` like its other
//! forms.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::staff_plans::{staff_plan, staff_plan_policy};
use crate::components::{textarea_text, Loaded, LocalTime, ScrollTable};
use crate::models::staff_admin::FormNote;
use crate::models::staff_plans::{
    CurrencyPolicyView, PlanPolicyView, PolicyFieldView, StaffPlanView,
};
use crate::pages::staff_settings::{Note, TextField};

// ---------------------------------------------------------------------------
// The policy (settings page)
// ---------------------------------------------------------------------------

/// The payment plan policy on `/staff/settings`: admins edit it, agents
/// read it.
#[component]
pub fn PlanPolicySection() -> impl IntoView {
    let location = use_location();
    let policy = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        staff_plan_policy,
    );
    view! {
        <section id="plan-policy" class="card" aria-labelledby="plan-policy-heading">
            <h2 id="plan-policy-heading">"Payment plan policy"</h2>
            <p class="muted small">"A plan a customer proposes is approved on its own when it is inside every automatic approval limit of its currency and the customer has no plan defaulted in the last 12 months; declined on its own, with the reason, when it is above an automatic decline limit; otherwise it joins the queue for AR. A currency without a policy sends every plan to the queue."</p>
            <Loaded resource=policy render={|p: PlanPolicyView| view! { <PolicyBody p/> }}/>
        </section>
    }
}

fn policy_inputs(fields: Vec<PolicyFieldView>, note: &FormNote) -> impl IntoView {
    fields
        .into_iter()
        .map(|f| {
            let problem = note.message_for(&f.field);
            view! {
                <TextField id=f.id name=f.field label=f.label value=f.value
                    hint=f.hint problem=problem/>
            }
        })
        .collect_view()
}

#[component]
fn PolicyBody(p: PlanPolicyView) -> impl IntoView {
    let read_only = !p.can_edit;
    let timings_note = p.timings_note.clone();
    view! {
        {p.policies.into_iter().map(|c| view! { <CurrencyPolicy c can_edit=p.can_edit/> }).collect_view()}
        {p.can_edit.then(|| {
            let add = p.add.clone();
            let problem = add.note.message_for("currency");
            view! {
                <div id=add.anchor.clone() class="plan-policy-currency">
                    <h3>"Add a currency"</h3>
                    <Note note=add.note.clone()/>
                    <form method="post" action="/staff/settings/plan-policy">
                        <TextField id="plan-new-currency".into() name="currency".into() label="Currency".into()
                            value=add.typed_currency.clone() hint="A three-letter ISO 4217 code, such as EUR.".into()
                            problem=problem/>
                        <div class="filter-grid">{policy_inputs(add.fields.clone(), &add.note)}</div>
                        <p class="actions"><button type="submit">"Add the policy"</button></p>
                    </form>
                </div>
            }
        })}
        <div id="plan-timings" class="plan-policy-currency">
            <h3>"Late instalments"</h3>
            <p class="muted small">"An instalment late more than the grace period puts its plan at risk (back in the queue, the customer emailed); late more than the default delay, the plan defaults and its invoices are due again in full."</p>
            <Note note=timings_note.clone()/>
            <form method="post" action="/staff/settings/plan-timings">
                <fieldset disabled=read_only>
                    <legend class="visually-hidden">"Grace period and default delay"</legend>
                    <div class="filter-grid">{policy_inputs(p.timings.clone(), &timings_note)}</div>
                    {p.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save the delays"</button></p> })}
                </fieldset>
            </form>
        </div>
    }
}

#[component]
fn CurrencyPolicy(c: CurrencyPolicyView, can_edit: bool) -> impl IntoView {
    let heading_id = format!("{}-heading", c.anchor);
    view! {
        <div id=c.anchor.clone() class="plan-policy-currency">
            <h3 id=heading_id>{format!("{} plans", c.currency)}</h3>
            <Note note=c.note.clone()/>
            <form method="post" action="/staff/settings/plan-policy">
                <input type="hidden" name="currency" value=c.currency.clone()/>
                <fieldset disabled=!can_edit>
                    <legend class="visually-hidden">{format!("Limits for plans in {}", c.currency)}</legend>
                    <div class="filter-grid">{policy_inputs(c.fields.clone(), &c.note)}</div>
                    {can_edit.then(|| view! {
                        <p class="actions"><button type="submit">"Save"<span class="visually-hidden">{format!(" the {} policy", c.currency)}</span></button></p>
                    })}
                </fieldset>
            </form>
        </div>
    }
}

// ---------------------------------------------------------------------------
// A plan (request page)
// ---------------------------------------------------------------------------

/// The plan of a payment-plan request, on its AR page: terms, invoices,
/// schedule with each instalment's standing, why the policy left it to
/// AR, the customer's acceptance record, and approve / counter / decline.
#[component]
pub fn StaffPlanSection() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let plan = Resource::new(
        move || {
            (
                params.read().get("request_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(id, query)| staff_plan(id, query),
    );
    view! {
        <Loaded resource=plan render={|p: Option<StaffPlanView>| p.map(|p| view! { <PlanBody p/> })}/>
    }
}

#[component]
fn PlanBody(p: StaffPlanView) -> impl IntoView {
    let base = format!("/staff/requests/{}/plan", p.request_id);
    let problem_for = |form: &str| {
        (p.problem_form.as_deref() == Some(form))
            .then(|| p.problem.clone())
            .flatten()
    };
    // A problem of no form (or of a form no longer shown) goes on top.
    let top_problem = match p.problem_form.as_deref() {
        Some("approve") if p.can_decide && p.can_approve => None,
        Some("counter" | "decline") if p.can_decide => None,
        Some("close") if p.can_close => None,
        _ => p.problem.clone(),
    };
    view! {
        <section id="plan" class="card" aria-labelledby="plan-heading">
            <h2 id="plan-heading">{format!("Payment plan #{}", p.plan_id)}</h2>
            {p.notice.clone().map(|text| view! { <div class="alert success" role="status"><p>{text}</p></div> })}
            {top_problem.map(|text| view! { <div class="alert error" role="alert"><p>{text}</p></div> })}
            <dl class="facts">
                <dt>"Status"</dt>
                <dd><span class=format!("status plan-{}", p.status_key)>{p.status.clone()}</span></dd>
                <dt>"Total"</dt>
                <dd>{format!("{} ({})", p.total, p.currency)}<span class="muted small">" — what was payable on the invoices when proposed"</span></dd>
                <dt>"Terms"</dt>
                <dd>{match p.terms.clone() {
                    Some(t) => format!("{t} (terms version {})", p.terms_version),
                    None => "None yet: the customer asked AR to propose them.".to_owned(),
                }}</dd>
                <dt>"Proposed"</dt>
                <dd>
                    <LocalTime stamp=p.proposed.clone()/>
                    {p.proposer.clone().map(|(name, email)| format!(" by {name} ({email})"))}
                </dd>
                {p.decision_note.clone().map(|n| view! { <dt>"Reason given"</dt><dd>{n}</dd> })}
            </dl>
            {(!p.verdict.is_empty()).then(|| view! {
                <h3 id="plan-verdict-heading">"Why the policy left it to AR"</h3>
                <ul aria-labelledby="plan-verdict-heading">
                    {p.verdict.iter().cloned().map(|r| view! { <li>{r}</li> }).collect_view()}
                </ul>
            })}
            <h3 id="plan-invoices-heading">"Invoices covered"</h3>
            <ScrollTable labelledby="plan-invoices-heading">
                <thead>
                    <tr>
                        <th scope="col">"Invoice"</th>
                        <th scope="col">"Due"</th>
                        <th scope="col" class="num">"In the plan"</th>
                        <th scope="col" class="num">"Open now"</th>
                    </tr>
                </thead>
                <tbody>
                    {p.invoices.iter().cloned().map(|i| view! {
                        <tr>
                            <th scope="row"><a href=i.href>{i.number}</a></th>
                            <td>{i.due}</td>
                            <td class="num">{i.covered}</td>
                            <td class="num">{i.open_now}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </ScrollTable>
            {(!p.schedule.is_empty()).then(|| view! {
                <h3 id="plan-schedule-heading">"Schedule"</h3>
                <ScrollTable labelledby="plan-schedule-heading">
                    <thead>
                        <tr>
                            <th scope="col">"Payment"</th>
                            <th scope="col">"Due"</th>
                            <th scope="col" class="num">"Amount"</th>
                            <th scope="col">"Standing"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {p.schedule.iter().cloned().map(|i| view! {
                            <tr>
                                <th scope="row">{i.name}</th>
                                <td>{i.due}</td>
                                <td class="num">{i.amount}</td>
                                <td><span class=format!("status instalment-{}", i.status_key)>{i.status}</span></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            })}
            <h3 id="plan-acceptance-heading">"Customer's acceptance"</h3>
            {if p.acceptances.is_empty() {
                view! { <p>"No acceptance on record yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plan-acceptances" aria-labelledby="plan-acceptance-heading">
                        {p.acceptances.iter().cloned().map(|a| view! {
                            <li>
                                {format!("Terms version {} accepted by {} at ", a.terms_version, a.who)}
                                <LocalTime stamp=a.at/>
                                <span class="muted small">{format!(" · IP {} · {}", a.ip, a.user_agent)}</span>
                                <br/><span class="muted small">"SHA-256 of the terms: "<code class="terms-hash">{a.terms_hash}</code></span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {p.why_not.clone().map(|text| view! { <p class="notice notice-info">{text}</p> })}
            {p.can_decide.then(|| {
                let k = p.kept.clone();
                view! {
                    <h3 id="plan-decide-heading">"Decide"</h3>
                    <div class="work-forms plan-forms">
                        {p.can_approve.then(|| view! {
                            <form method="post" action=format!("{base}/approve")>
                                <h4>"Approve the customer's terms"</h4>
                                {problem_for("approve").map(|t| view! { <p class="field-problem" role="alert">{t}</p> })}
                                <p class="muted small">"The customer accepted exactly these terms when proposing them; the plan becomes active and they are emailed."</p>
                                <div class="field">
                                    <label for="plan-note">"Note to the customer (optional)"</label>
                                    <textarea id="plan-note" name="note" rows="3" maxlength="10000">{textarea_text(&k.note)}</textarea>
                                </div>
                                <div class="actions"><button type="submit">"Approve the plan"</button></div>
                            </form>
                        })}
                        <form method="post" action=format!("{base}/counter")>
                            <h4>"Propose other terms"</h4>
                            {problem_for("counter").map(|t| view! { <p class="field-problem" role="alert">{t}</p> })}
                            <p class="muted small">{format!("Over the plan's total of {}. The customer accepts or declines them; the request waits on them meanwhile.", p.total)}</p>
                            <div class="filter-grid">
                                <div class="field">
                                    <label for="plan-down">"Down payment (optional)"</label>
                                    <input id="plan-down" name="down_payment" type="text" inputmode="decimal" autocomplete="off" value=k.down_payment.clone()/>
                                </div>
                                <div class="field">
                                    <label for="plan-count">"Instalments"</label>
                                    <input id="plan-count" name="count" type="number" min="1" max="36" required=true value=k.count.clone()/>
                                </div>
                                <div class="field">
                                    <label for="plan-frequency">"Frequency"</label>
                                    <select id="plan-frequency" name="frequency">
                                        {p.frequencies.iter().cloned().map(|(value, text)| {
                                            let is = value == k.frequency || (k.frequency.is_empty() && value == "monthly");
                                            view! { <option value=value selected=is>{text}</option> }
                                        }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="plan-first-date">"First date"</label>
                                    <input id="plan-first-date" name="first_date" type="date" required=true
                                        min=p.first_date_min.clone() max=p.first_date_max.clone() value=k.first_date.clone()/>
                                </div>
                            </div>
                            <div class="field">
                                <label for="plan-message">"Message to the customer (optional)"</label>
                                <textarea id="plan-message" name="message" rows="3" maxlength="10000">{textarea_text(&k.message)}</textarea>
                            </div>
                            <div class="actions"><button type="submit">"Send these terms to the customer"</button></div>
                        </form>
                        <form method="post" action=format!("{base}/decline")>
                            <h4>"Decline the plan"</h4>
                            {problem_for("decline").map(|t| view! { <p class="field-problem" role="alert">{t}</p> })}
                            <div class="field">
                                <label for="plan-reason">"Reason (the customer reads it)"</label>
                                <textarea id="plan-reason" name="reason" rows="3" required=true maxlength="10000">{textarea_text(&k.reason)}</textarea>
                            </div>
                            <div class="actions"><button type="submit">"Decline the plan"</button></div>
                        </form>
                    </div>
                }
            })}
            {p.can_close.then(|| {
                let k = p.kept.clone();
                view! {
                    <form method="post" action=format!("{base}/close")>
                        <h3>"Close the follow-up"</h3>
                        {problem_for("close").map(|t| view! { <p class="field-problem" role="alert">{t}</p> })}
                        <p class="muted small">"The plan job reopened this request (an instalment is late). Close it once handled; the plan keeps its status, which follows what is paid."</p>
                        <div class="field">
                            <label for="plan-close-note">"Message to the customer (optional)"</label>
                            <textarea id="plan-close-note" name="note" rows="3" maxlength="10000">{textarea_text(&k.note)}</textarea>
                        </div>
                        <div class="actions"><button type="submit">"Close the request"</button></div>
                    </form>
                }
            })}
        </section>
    }
}
