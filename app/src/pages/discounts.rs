//! Early-payment discounts (issue 13 item 7): the payment terms section of
//! AR's customer page and the pay page section of the staff settings.
//! Plain forms (JavaScript off works) to `discount_routes`.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::discounts::{staff_payment_settings, staff_payment_terms};
use crate::components::ScrollTable;
use crate::models::discounts::{PaymentSettingsView, StaffTermsPageView};

/// A section that shows nothing when its server function refuses.
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

/// "Payment terms" on `/staff/customers/:customer_id`.
#[component]
pub fn PaymentTermsSection(customer_id: i64) -> impl IntoView {
    let location = use_location();
    let terms = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        move |query| staff_payment_terms(customer_id.to_string(), query),
    );
    quiet_section!(terms, |t: StaffTermsPageView| view! { <TermsBody t/> })
}

#[component]
fn TermsBody(t: StaffTermsPageView) -> impl IntoView {
    let c = t.customer_id;
    let read_only = !t.can_edit;
    view! {
        <section id="terms" aria-labelledby="terms-heading">
            <h2 id="terms-heading">"Payment terms"</h2>
            {t.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            {t.problem.clone().map(|p| view! { <div class="alert error" role="alert"><p>{p}</p></div> })}
            <form method="post" action=format!("/staff/customers/{c}/terms")>
                <fieldset disabled=read_only>
                    <legend>"Terms of this customer (the default of its invoices)"</legend>
                    <div class="field">
                        <label for="customer-terms">"Terms"</label>
                        <span id="customer-terms-hint" class="muted small">
                            "e.g. “2/10 net 30”: 2% off when paid in full within 10 days of the issue date, due in 30. “net 30” for no discount. New net days apply to future invoices."
                        </span>
                        <input id="customer-terms" name="terms" type="text" autocomplete="off"
                            value=t.terms.clone() aria-describedby="customer-terms-hint"/>
                    </div>
                    {t.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save the terms"</button></p> })}
                </fieldset>
            </form>
            {(!t.invoices.is_empty()).then(|| view! {
                <ScrollTable labelledby="terms-heading">
                    <thead>
                        <tr>
                            <th scope="col">"Open invoice"</th>
                            <th scope="col">"Early-payment discount now"</th>
                            <th scope="col">"Its own discount terms"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {t.invoices.iter().map(|i| {
                            let field = format!("invoice-terms-{}", i.invoice_id);
                            view! {
                                <tr>
                                    <th scope="row">{i.number.clone()}</th>
                                    <td>{i.offer.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                    <td>
                                        <form method="post" action=format!("/staff/customers/{c}/invoices/{}/terms", i.invoice_id) class="inline-form">
                                            <fieldset disabled=read_only class="field">
                                                <label class="visually-hidden" for=field.clone()>{format!("Discount terms of invoice {} (empty: the customer's; “none”: no discount)", i.number)}</label>
                                                <input id=field name="terms" type="text" autocomplete="off" class="policy-input"
                                                    value=i.own_terms.clone() placeholder="customer's"/>
                                                {t.can_edit.then(|| view! { <button type="submit" class="secondary">"Save"<span class="visually-hidden">{format!(" the terms of invoice {}", i.number)}</span></button> })}
                                            </fieldset>
                                        </form>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            })}
        </section>
    }
}

/// "Pay page" on `/staff/settings`: the line on ACH shown when both card
/// and ACH are offered.
#[component]
pub fn PaymentSettingsSection() -> impl IntoView {
    let location = use_location();
    let settings = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        staff_payment_settings,
    );
    quiet_section!(
        settings,
        |s: PaymentSettingsView| view! { <PaymentSettingsBody s/> }
    )
}

#[component]
fn PaymentSettingsBody(s: PaymentSettingsView) -> impl IntoView {
    let read_only = !s.can_edit;
    view! {
        <section id="payments" aria-labelledby="payments-heading" class="card">
            <h2 id="payments-heading">"Pay page"</h2>
            {s.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            {s.problem.clone().map(|p| view! { <div class="alert error" role="alert"><p>{p}</p></div> })}
            <form method="post" action="/staff/settings/payments">
                <fieldset disabled=read_only>
                    <legend>"The line under the payment methods"</legend>
                    <div class="field">
                        <label for="ach-note">"ACH note"</label>
                        <span id="ach-note-hint" class="muted small">"Shown when both card and ACH bank debit are offered; empty: no line."</span>
                        <input id="ach-note" name="ach_note" type="text" autocomplete="off" maxlength="200"
                            value=s.ach_note.clone() aria-describedby="ach-note-hint"/>
                    </div>
                    {s.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save"</button></p> })}
                </fieldset>
            </form>
        </section>
    }
}
