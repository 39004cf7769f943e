//! Saved payment methods, autopay enrolment and skipping one debit
//! (issue 12). Plain forms posting to `server/src/http/autopay_routes.rs`,
//! which answer 303 back here with an outcome or a problem code.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::autopay::{autopay_page, autopay_skip_page, payment_methods_page};
use crate::components::{AccountNav, AccountSection, LoadedPage, LocalTime, ScrollTable};
use crate::models::autopay::{
    AutopaySkipView, AutopayView, Notice, PaymentMethodsView, SavedMethodView,
};

#[component]
fn NoticeBox(notice: Option<Notice>) -> impl IntoView {
    notice.map(|n| {
        if n.error {
            view! { <div class="alert error" role="alert"><p>{n.text}</p></div> }.into_any()
        } else {
            view! { <div class="alert success" role="status"><p>{n.text}</p></div> }.into_any()
        }
    })
}

/// `/accounts/:customer_id/payment-methods`
#[component]
pub fn PaymentMethodsPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let page = Resource::new(
        move || {
            (
                params.read().get("customer_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(customer_id, query)| payment_methods_page(customer_id, query),
    );
    view! {
        <LoadedPage resource=page render={|v: PaymentMethodsView| view! { <PaymentMethodsBody v/> }}/>
    }
}

#[component]
fn PaymentMethodsBody(v: PaymentMethodsView) -> impl IntoView {
    let title = format!(
        "Saved payment methods · {} · Billing portal",
        v.customer_name
    );
    let base = format!("/accounts/{}/payment-methods", v.customer_id);
    let can_manage = v.can_manage;
    let rows: Vec<_> = v
        .methods
        .iter()
        .map(|m| method_row(&base, m, can_manage))
        .collect();
    view! {
        <Title text=title/>
        <AccountNav customer_id=v.customer_id customer_name=v.customer_name.clone() current=AccountSection::Autopay/>
        <h1>"Saved payment methods"</h1>
        <NoticeBox notice=v.notice.clone()/>
        <p class="muted">"Saving a card or bank account charges nothing. Autopay, if you turn it on, charges the method you choose there."</p>
        {if v.methods.is_empty() {
            view! { <p class="card">"No saved payment methods yet."</p> }.into_any()
        } else {
            view! {
                <ScrollTable labelledby="methods-caption">
                    <caption id="methods-caption" class="visually-hidden">"Saved payment methods"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Method"</th>
                            <th scope="col">"Details"</th>
                            <th scope="col">"Status"</th>
                            {can_manage.then(|| view! { <th scope="col">"Actions"</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {rows}
                    </tbody>
                </ScrollTable>
            }.into_any()
        }}
        {can_manage.then(|| view! {
            <section class="card">
                <h2>"Save a payment method"</h2>
                <p>"You will enter the details on the payment provider's secure page, then come back here."</p>
                <div class="actions">
                    <form method="post" action=base.clone() class="inline-form">
                        <input type="hidden" name="kind" value="card"/>
                        <button type="submit">"Save a card"</button>
                    </form>
                    <form method="post" action=base.clone() class="inline-form">
                        <input type="hidden" name="kind" value="ach"/>
                        <button type="submit" class="secondary">"Save a US bank account"</button>
                    </form>
                </div>
            </section>
        })}
        <p><a href=format!("/accounts/{}/autopay", v.customer_id)>"Autopay settings"</a></p>
    }
}

fn method_row(base: &str, m: &SavedMethodView, can_manage: bool) -> impl IntoView {
    let status = match (m.is_default, m.autopay) {
        (true, true) => "Default · used by autopay",
        (true, false) => "Default",
        (false, true) => "Used by autopay",
        (false, false) => "",
    };
    let default_action = format!("{base}/{}/default", m.method_id);
    let remove_action = format!("{base}/{}/remove", m.method_id);
    let label = m.label.clone();
    let is_default = m.is_default;
    view! {
        <tr>
            <th scope="row">{m.label.clone()}</th>
            <td>{m.detail.clone()}</td>
            <td>{status}</td>
            {can_manage.then(|| view! {
                <td class="actions">
                    {(!is_default).then(|| view! {
                        <form method="post" action=default_action.clone() class="inline-form">
                            <button type="submit" class="secondary" aria-label=format!("Make default: {label}")>"Make default"</button>
                        </form>
                    })}
                    <form method="post" action=remove_action.clone() class="inline-form">
                        <button type="submit" class="danger" aria-label=format!("Remove: {}", m.label)>"Remove"</button>
                    </form>
                </td>
            })}
        </tr>
    }
}

/// `/accounts/:customer_id/autopay`
#[component]
pub fn AutopayPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let page = Resource::new(
        move || {
            (
                params.read().get("customer_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(customer_id, query)| autopay_page(customer_id, query),
    );
    view! {
        <LoadedPage resource=page render={|v: AutopayView| view! { <AutopayBody v/> }}/>
    }
}

#[component]
fn AutopayBody(v: AutopayView) -> impl IntoView {
    let title = format!("Autopay · {} · Billing portal", v.customer_name);
    let action = format!("/accounts/{}/autopay", v.customer_id);
    let methods_href = format!("/accounts/{}/payment-methods", v.customer_id);
    let form = v.form.clone();
    let charges = v.charges.clone();
    view! {
        <Title text=title/>
        <AccountNav customer_id=v.customer_id customer_name=v.customer_name.clone() current=AccountSection::Autopay/>
        <h1>"Autopay"</h1>
        <NoticeBox notice=v.notice.clone()/>
        {match v.enrolment.clone() {
            Some(e) => view! {
                <section class="card">
                    <h2>"Autopay is on"</h2>
                    <dl>
                        <dt>"Pays"</dt><dd>{e.scope.clone()}</dd>
                        <dt>"When"</dt><dd>{e.when.clone()}</dd>
                        <dt>"With"</dt><dd>{e.method.clone()}</dd>
                        <dt>"Agreed"</dt><dd><LocalTime stamp=e.consented_at.clone()/>{format!(" (terms version {})", e.consent_version)}</dd>
                    </dl>
                    <details>
                        <summary>"The terms you agreed to"</summary>
                        <p>{e.consent_text.clone()}</p>
                    </details>
                    {v.can_manage.then(|| view! {
                        <form method="post" action=format!("{action}/cancel")>
                            <button type="submit" class="danger">"Turn off autopay"</button>
                        </form>
                    })}
                </section>
            }.into_any(),
            None if !v.can_manage => view! {
                <p class="card">"Autopay is off. Only payers and admins of the account can turn it on."</p>
            }.into_any(),
            None if v.methods.is_empty() => view! {
                <section class="card">
                    <h2>"Autopay is off"</h2>
                    <p>"To turn on autopay, first "<a href=methods_href.clone()>"save a card or bank account"</a>"."</p>
                </section>
            }.into_any(),
            None => view! {
                <form method="post" action=action.clone() class="card">
                    <h2>"Turn on autopay"</h2>
                    <fieldset>
                        <legend>"What autopay pays"</legend>
                        <div class="choice">
                            <input type="radio" id="scope-all" name="scope" value="all" checked=form.scope == "all"/>
                            <label for="scope-all">"Every invoice when it falls due"</label>
                        </div>
                        <div class="choice">
                            <input type="radio" id="scope-up-to" name="scope" value="up_to" checked=form.scope == "up_to"/>
                            <label for="scope-up-to">"Invoices up to a maximum amount each (larger ones are left for you to pay)"</label>
                        </div>
                        <div class="choice">
                            <input type="radio" id="scope-plan" name="scope" value="plan" checked=form.scope == "plan"/>
                            <label for="scope-plan">"The instalments of my payment plans"</label>
                        </div>
                        <div class="field">
                            <label for="max-amount">"Maximum per invoice (for “up to a maximum”)"</label>
                            <input id="max-amount" name="max_amount" inputmode="decimal" value=form.max_amount.clone()/>
                        </div>
                        <div class="field">
                            <label for="max-currency">"Currency of the maximum"</label>
                            <select id="max-currency" name="max_currency">
                                {v.currencies.iter().map(|c| view! {
                                    <option value=c.clone() selected=*c == form.max_currency>{c.clone()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    </fieldset>
                    <div class="field">
                        <label for="days-before">"When to pay"</label>
                        <select id="days-before" name="days_before">
                            {(0..=10).map(|n| {
                                let text = match n {
                                    0 => "On the due date".to_owned(),
                                    1 => "1 day before the due date".to_owned(),
                                    n => format!("{n} days before the due date"),
                                };
                                view! { <option value=n.to_string() selected=form.days_before == n.to_string()>{text}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <fieldset>
                        <legend>"Pay with"</legend>
                        {v.methods.iter().map(|m| {
                            let id = format!("method-{}", m.method_id);
                            view! {
                                <div class="choice">
                                    <input type="radio" id=id.clone() name="method_id" value=m.method_id.to_string() checked=form.method_id == m.method_id.to_string()/>
                                    <label for=id>{m.label.clone()}</label>
                                </div>
                            }
                        }).collect_view()}
                    </fieldset>
                    <h3>{format!("Autopay terms (version {})", v.consent_version)}</h3>
                    <p>{v.consent_text.clone()}</p>
                    <input type="hidden" name="consent_version" value=v.consent_version.to_string()/>
                    <div class="choice">
                        <input type="checkbox" id="agree" name="agree" value="yes"/>
                        <label for="agree">"I agree to these autopay terms"</label>
                    </div>
                    <button type="submit">"Turn on autopay"</button>
                </form>
            }.into_any(),
        }}
        <p><a href=methods_href>"Saved payment methods"</a></p>
        <h2>"Automatic payments"</h2>
        {if charges.is_empty() {
            view! { <p class="card">"No automatic payments yet."</p> }.into_any()
        } else {
            view! {
                <ScrollTable labelledby="charges-caption">
                    <caption id="charges-caption" class="visually-hidden">"Automatic payments, newest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Date"</th>
                            <th scope="col">"Payment"</th>
                            <th scope="col">"Attempt"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col" class="num">"Amount"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {charges.into_iter().map(|c| view! {
                            <tr>
                                <td><LocalTime stamp=c.date.clone()/></td>
                                <th scope="row"><a href=c.payment_href.clone()>{c.what.clone()}</a></th>
                                <td>{c.attempt}</td>
                                <td>
                                    <span class=format!("status autopay-{}", c.status_key)>{c.status.clone()}</span>
                                    {c.message.clone().map(|m| view! { <p class="small">{m}</p> })}
                                </td>
                                <td class="num">{c.amount.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            }.into_any()
        }}
    }
}

/// `/autopay/skip/:token`: the notice email's link. The token alone is
/// enough (it can only leave money where it is); a GET shows, a POST skips.
#[component]
pub fn AutopaySkipPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let page = Resource::new(
        move || {
            (
                params.read().get("token").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(token, query)| autopay_skip_page(token, query),
    );
    let token = move || params.read().get("token").unwrap_or_default();
    view! {
        <LoadedPage resource=page render={move |v: AutopaySkipView| {
            let action = format!("/autopay/skip/{}", token());
            view! { <AutopaySkipBody v action/> }
        }}/>
    }
}

#[component]
fn AutopaySkipBody(v: AutopaySkipView, action: String) -> impl IntoView {
    view! {
        <Title text="Skip an automatic payment · Billing portal"/>
        <h1>"Skip an automatic payment"</h1>
        <NoticeBox notice=v.notice.clone()/>
        <section class="card">
            <p>{format!("Autopay of {} is set to pay {} for {} on {}.", v.customer_name, v.amount, v.what, v.charge_on)}</p>
            {if v.skipped {
                view! { <p><strong>"This payment is skipped."</strong>" Pay the invoice yourself when you are ready; autopay stays on for the others."</p> }.into_any()
            } else if v.started {
                view! { <p>"This payment has already been made or started, so it can no longer be skipped."</p> }.into_any()
            } else {
                view! {
                    <form method="post" action=action>
                        <button type="submit">"Skip this payment"</button>
                    </form>
                }.into_any()
            }}
        </section>
    }
}
