//! Paying invoices, in two plain GET forms and one POST: choose amounts,
//! credits, method and receipt email; review the summary; "Pay" goes to the
//! gateway's hosted checkout. Works the same with JavaScript off.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::payments::{pay_form, pay_review};
use crate::components::{AccountHead, AccountSection, LoadedPage, PaymentPending, ScrollTable};
use crate::models::{PayFormView, PayReviewView};

/// `/accounts/:customer_id/pay?invoice=…`
#[component]
pub fn PayPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let form = Resource::new(
        move || {
            (
                params.read().get("customer_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(customer_id, query)| pay_form(customer_id, query),
    );
    view! {
        <LoadedPage resource=form render={|f: PayFormView| view! { <PayFormBody f/> }}/>
    }
}

#[component]
fn PayFormBody(f: PayFormView) -> impl IntoView {
    let title = format!("Pay invoices · {} · Billing portal", f.customer_name);
    let review = format!("/accounts/{}/pay/review", f.customer_id);
    // Through a link, "/" leads to the link's invoice.
    let (back, back_label) = if f.via_link {
        ("/".to_owned(), "Back to the invoice")
    } else {
        (
            format!("/accounts/{}/invoices", f.customer_id),
            "Back to the invoices",
        )
    };
    view! {
        <Title text=title/>
        <AccountHead customer_id=f.customer_id customer_name=f.customer_name.clone() current=AccountSection::Invoices via_link=f.via_link/>
        <h1>"Pay invoices"</h1>
        {match f.problem.clone() {
            Some(problem) => view! {
                <div class="alert error" role="alert">
                    <p>{problem}</p>
                    <p><a href=back.clone()>{back_label}</a></p>
                </div>
            }.into_any(),
            None => view! {
                <form method="get" action=review class="pay-form">
                    <section class="card" aria-labelledby="amounts-heading">
                        <h2 id="amounts-heading">"Amounts"</h2>
                        <p class="muted">{format!("Pay each invoice in full or in part, in {}.", f.currency)}</p>
                        {f.plan_note.clone().map(|note| view! { <p class="notice notice-info">{note}</p> })}
                        <ScrollTable labelledby="amounts-heading">
                            <thead>
                                <tr>
                                    <th scope="col">"Invoice"</th>
                                    <th scope="col">"Due"</th>
                                    <th scope="col" class="num">"Open balance"</th>
                                    <th scope="col" class="num">"Amount to pay"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {f.invoices.iter().map(|i| {
                                    let field = format!("amount_{}", i.invoice_id);
                                    let hint = format!("hint-{}", i.invoice_id);
                                    view! {
                                        <tr>
                                            <th scope="row">
                                                {i.number.clone()}
                                                <input type="hidden" name="invoice" value=i.invoice_id.to_string()/>
                                            </th>
                                            <td>{i.due_date.clone()}</td>
                                            <td class="num">
                                                {i.balance.clone()}
                                                {i.pending.clone().map(|amount| view! { <PaymentPending amount/> })}
                                                // Held by an open dispute: not offered (issue 11).
                                                {i.disputed.clone().map(|amount| view! {
                                                    <span class="status status-disputed">{format!("{amount} disputed, held until the dispute is resolved")}</span>
                                                })}
                                            </td>
                                            <td class="num">
                                                <label class="visually-hidden" for=field.clone()>{format!("Amount to pay on invoice {}", i.number)}</label>
                                                <input id=field.clone() name=field type="text" inputmode="decimal" autocomplete="off" required=true
                                                    class="amount" value=i.amount_value.clone() aria-describedby=hint.clone()/>
                                                <span id=hint class="muted small">{format!("at most {}", i.payable)}</span>
                                                // Issue 13: the discounted total settles it by the date.
                                                {i.discount.clone().map(|d| view! { <span class="discount-offer small">{d}</span> })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </ScrollTable>
                    </section>
                    {(!f.credits.is_empty()).then(|| view! {
                        <fieldset class="card">
                            <legend>"Credits on your account"</legend>
                            <p class="muted">"Apply a credit to pay less now. Credits settle the oldest invoice first."</p>
                            {f.credits.iter().map(|c| {
                                let box_id = format!("credit-{}", c.credit_note_id);
                                view! {
                                    <div class="choice">
                                        <input type="checkbox" id=box_id.clone() name="credit" value=c.credit_note_id.to_string() checked=c.checked/>
                                        <label for=box_id>{format!("Credit note {} · {} available", c.number, c.available)}</label>
                                    </div>
                                }
                            }).collect_view()}
                        </fieldset>
                    })}
                    <fieldset class="card">
                        <legend>"How to pay"</legend>
                        {f.methods.iter().map(|m| {
                            let radio = format!("method-{}", m.key);
                            view! {
                                <div class="choice">
                                    <input type="radio" id=radio.clone() name="method" value=m.key.clone() checked=m.checked required=true/>
                                    <label for=radio>{m.label.clone()}<span class="muted small">{format!(" · {}", m.hint)}</span></label>
                                </div>
                            }
                        }).collect_view()}
                        {f.ach_note.clone().map(|note| view! { <p class="muted small ach-note">{note}</p> })}
                    </fieldset>
                    <div class="card">
                        <label for="receipt-email">"Email the receipt to"</label>
                        <input id="receipt-email" name="email" type="email" autocomplete="email" required=true value=f.email.clone()/>
                    </div>
                    <p class="actions">
                        <button type="submit">"Review payment"</button>
                        <a href=back>"Cancel"</a>
                    </p>
                </form>
            }.into_any(),
        }}
    }
}

/// `/accounts/:customer_id/pay/review?…`
#[component]
pub fn PayReviewPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let review = Resource::new(
        move || {
            (
                params.read().get("customer_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(customer_id, query)| pay_review(customer_id, query),
    );
    view! {
        <LoadedPage resource=review render={|r: PayReviewView| view! { <PayReviewBody r/> }}/>
    }
}

#[component]
fn PayReviewBody(r: PayReviewView) -> impl IntoView {
    let title = format!("Review payment · {} · Billing portal", r.customer_name);
    let action = format!("/accounts/{}/payments", r.customer_id);
    let button = if r.charge_is_zero {
        "Apply the credits".to_owned()
    } else {
        format!("Pay {} by {}", r.charge, r.method.to_lowercase())
    };
    view! {
        <Title text=title/>
        <AccountHead customer_id=r.customer_id customer_name=r.customer_name.clone() current=AccountSection::Invoices via_link=r.via_link/>
        <h1>"Review payment"</h1>
        {r.problem.clone().map(|p| view! { <div class="alert error" role="alert"><p>{p}</p></div> })}
        {(!r.blocked).then(|| view! {
            <section class="card" aria-labelledby="summary-heading">
                <h2 id="summary-heading">"Summary"</h2>
                <ScrollTable labelledby="summary-heading">
                    <thead>
                        <tr>
                            <th scope="col">"Invoice"</th>
                            <th scope="col" class="num">"Amount"</th>
                            <th scope="col" class="num">"Credit"</th>
                            <th scope="col" class="num">"To pay"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {r.lines.iter().map(|l| view! {
                            <tr>
                                <th scope="row">{l.number.clone()}</th>
                                <td class="num">
                                    {l.amount.clone()}
                                    {l.discount.clone().map(|d| view! { <span class="discount-offer small">{format!("less {d} early-payment discount")}</span> })}
                                </td>
                                <td class="num">{l.credit.clone().unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{l.charge.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                    <tfoot>
                        <tr>
                            <th scope="row">"Total"</th>
                            <td class="num">{r.total.clone()}</td>
                            <td class="num">{r.credit_total.clone().unwrap_or_else(|| "—".into())}</td>
                            <td class="num"><strong>{r.charge.clone()}</strong></td>
                        </tr>
                    </tfoot>
                </ScrollTable>
                <dl class="facts">
                    <div><dt>"Method"</dt><dd>{r.method.clone()}</dd></div>
                    <div><dt>"Receipt to"</dt><dd>{r.email.clone()}</dd></div>
                    {r.discount_total.clone().map(|d| view! {
                        <div><dt>"Early-payment discount"</dt><dd>{format!("{d}, credited when the payment succeeds")}</dd></div>
                    })}
                    {r.credits.iter().map(|(number, used)| view! {
                        <div><dt>{format!("Credit {number}")}</dt><dd>{format!("{used} applied")}</dd></div>
                    }).collect_view()}
                </dl>
                <form method="post" action=action class="actions">
                    {r.fields.iter().map(|(k, v)| view! { <input type="hidden" name=k.clone() value=v.clone()/> }).collect_view()}
                    <input type="hidden" name="attempt" value=r.attempt.clone()/>
                    <button type="submit">{button}</button>
                    <a href=r.change_href.clone()>"Change the payment"</a>
                </form>
                {(!r.charge_is_zero).then(|| view! {
                    <p class="muted small">"You will pay on the payment provider's secure page; card and bank details never reach this portal."</p>
                })}
            </section>
        })}
        {r.blocked.then(|| view! { <p><a class="button" href=r.change_href.clone()>"Change the payment"</a></p> })}
    }
}
