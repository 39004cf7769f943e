use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::payments::{payment_history, receipt};
use crate::components::{AccountHead, AccountNav, AccountSection, LoadedPage, Pager, ScrollTable};
use crate::models::{PaymentHistoryView, ReceiptView};

/// `/accounts/:customer_id/payments?page=N`
#[component]
pub fn PaymentsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let history = Resource::new(
        move || {
            (
                params.read().get("customer_id").unwrap_or_default(),
                query.read().get("page").unwrap_or_default(),
            )
        },
        |(customer_id, page)| payment_history(customer_id, page),
    );
    view! {
        <LoadedPage resource=history render={|h: PaymentHistoryView| view! { <PaymentHistoryBody h/> }}/>
    }
}

#[component]
fn PaymentHistoryBody(h: PaymentHistoryView) -> impl IntoView {
    let title = format!("Payments · {} · Billing portal", h.customer_name);
    let base = format!("/accounts/{}/payments", h.customer_id);
    let previous = (h.page > 1).then(|| format!("{base}?page={}", h.page - 1));
    let next = (h.page < h.pages).then(|| format!("{base}?page={}", h.page + 1));
    view! {
        <Title text=title/>
        <AccountNav customer_id=h.customer_id customer_name=h.customer_name.clone() current=AccountSection::Payments/>
        <h1>"Payment history"</h1>
        {if h.payments.is_empty() {
            view! { <p class="card">"No payments on this account yet."</p> }.into_any()
        } else {
            view! {
                <ScrollTable labelledby="payments-caption">
                    <caption id="payments-caption" class="visually-hidden">
                        {format!("Payments, newest first, page {} of {}", h.page, h.pages)}
                    </caption>
                    <thead>
                        <tr>
                            <th scope="col">"Date"</th>
                            <th scope="col">"Reference"</th>
                            <th scope="col">"Method"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Applied to"</th>
                            <th scope="col" class="num">"Amount"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {h.payments.into_iter().map(|p| view! {
                            <tr>
                                <td>{p.date.clone()}</td>
                                <th scope="row"><a href=p.receipt_href.clone()>{p.reference.clone()}</a></th>
                                <td>{p.method.clone()}</td>
                                <td><span class=format!("status status-pay-{}", p.status_key)>{p.status.clone()}</span></td>
                                <td class="wrap">
                                    {p.allocations.iter().map(|a| view! {
                                        <a href=format!("/accounts/{}/invoices/{}", h.customer_id, a.invoice_id)>{a.number.clone()}</a>
                                        " "
                                    }).collect_view()}
                                </td>
                                <td class="num">{p.amount.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
                <Pager previous next previous_label="← Newer" next_label="Older →"
                    position=format!("Page {} of {}", h.page, h.pages)/>
            }
            .into_any()
        }}
    }
}

/// `/accounts/:customer_id/payments/:payment_id`: the receipt.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let params = use_params_map();
    let r = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("customer_id").unwrap_or_default(),
                p.get("payment_id").unwrap_or_default(),
            )
        },
        |(customer_id, payment_id)| receipt(customer_id, payment_id),
    );
    view! {
        <LoadedPage resource=r render={|r: ReceiptView| view! { <ReceiptBody r/> }}/>
    }
}

#[component]
fn ReceiptBody(r: ReceiptView) -> impl IntoView {
    let p = r.payment;
    let received = matches!(p.status_key.as_str(), "succeeded" | "refunded");
    let heading = if received {
        format!("Payment receipt {}", p.number)
    } else {
        format!("Payment {}", p.number)
    };
    let title = format!("{heading} · Billing portal");
    let alert_class = match p.status_key.as_str() {
        "failed" | "canceled" => "alert error",
        "succeeded" => "alert success",
        _ => "alert",
    };
    // Through a link, "/" is the link's invoice (the account's list is not
    // open to it).
    let pay_again = matches!(p.status_key.as_str(), "failed" | "canceled").then(|| {
        if r.via_link {
            "/".to_owned()
        } else {
            format!("/accounts/{}/invoices", r.customer_id)
        }
    });
    view! {
        <Title text=title/>
        <AccountHead customer_id=r.customer_id customer_name=r.customer_name.clone() current=AccountSection::Payments via_link=r.via_link/>
        <div class="invoice-head">
            <div>
                <h1>{heading}</h1>
                <p><span class=format!("status status-pay-{}", p.status_key)>{p.status.clone()}</span></p>
            </div>
            <div class="invoice-due card">
                <span class="muted">"Amount"</span>
                <span class="balance-open">{p.amount.clone()}</span>
                {received.then(|| view! { <a class="button" href=p.receipt_pdf_href.clone() download="">"Download receipt (PDF)"</a> })}
            </div>
        </div>
        <div class=alert_class role="status">
            <p>{p.notice.clone()}</p>
            {p.failure.clone().map(|f| view! { <p><strong>"Last attempt: "</strong>{f}" Try another card, or pay by ACH bank debit."</p> })}
            {(p.continue_href.is_some() || p.cancel_action.is_some() || pay_again.is_some()).then(|| view! {
                <div class="actions">
                    {p.continue_href.clone().map(|h| view! { <a class="button" href=h>"Continue to checkout"</a> })}
                    {p.check_action.clone().map(|action| view! {
                        <form method="post" action=action class="inline-form">
                            <button type="submit" class="button secondary">"Check the status now"</button>
                        </form>
                    })}
                    {p.cancel_action.clone().map(|action| view! {
                        <form method="post" action=action class="inline-form">
                            <button type="submit" class="button secondary">"Cancel this payment"</button>
                        </form>
                    })}
                    {pay_again.clone().map(|h| view! { <a class="button" href=h>"Pay invoices"</a> })}
                </div>
            })}
        </div>
        {p.disputed.then(|| view! { <p class="alert error">"This payment is disputed with the card issuer; AR will contact you."</p> })}
        <dl class="facts card">
            <div><dt>"Date"</dt><dd>{p.date.clone()}</dd></div>
            <div><dt>"Method"</dt><dd>{p.method.clone()}</dd></div>
            <div><dt>"Reference"</dt><dd>{p.reference.clone()}</dd></div>
            {p.refunded.clone().map(|amount| view! { <div><dt>"Refunded"</dt><dd>{amount}</dd></div> })}
            {p.credit_applied.clone().map(|amount| view! { <div><dt>"Credits applied too"</dt><dd>{amount}</dd></div> })}
        </dl>
        <section aria-labelledby="alloc-heading">
            <h2 id="alloc-heading">"Applied to"</h2>
            <ScrollTable labelledby="alloc-heading">
                <thead><tr><th scope="col">"Invoice"</th><th scope="col" class="num">"Amount"</th></tr></thead>
                <tbody>
                    {p.allocations.iter().map(|a| view! {
                        <tr>
                            <th scope="row"><a href=format!("/accounts/{}/invoices/{}", r.customer_id, a.invoice_id)>{a.number.clone()}</a></th>
                            <td class="num">{a.amount.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </ScrollTable>
        </section>
    }
}
