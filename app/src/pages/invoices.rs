use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::invoices::{invoice_detail, invoice_list};
use crate::components::{
    AccountHead, AccountNav, AccountSection, InvoiceStatus, InvoiceTimeline, LoadedPage, Pager,
    ScrollTable,
};
use crate::models::{InvoiceDetailView, InvoiceListView, InvoiceRowView};

/// `/accounts/:customer_id/invoices`: filters in the URL, keyset pages.
#[component]
pub fn InvoiceListPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let list = Resource::new(
        move || {
            (
                params.read().get("customer_id").unwrap_or_default(),
                location.search.get().trim_start_matches('?').to_owned(),
            )
        },
        |(customer_id, query)| invoice_list(customer_id, query),
    );
    view! {
        <LoadedPage resource=list render={|list: InvoiceListView| view! { <InvoiceListView list/> }}/>
    }
}

#[component]
fn InvoiceListView(list: InvoiceListView) -> impl IntoView {
    let title = format!("Invoices · {} · Billing portal", list.customer_name);
    let f = list.filters.clone();
    let action = format!("/accounts/{}/invoices", list.customer_id);
    let zip_action = format!("/accounts/{}/invoices.zip", list.customer_id);
    let summary = if list.error.is_some() {
        String::new()
    } else if list.matching == 1 {
        "1 invoice matches".to_owned()
    } else {
        format!("{} invoices match", list.matching)
    };
    let count = list.rows.len();
    view! {
        <Title text=title/>
        <AccountNav customer_id=list.customer_id customer_name=list.customer_name.clone() current=AccountSection::Invoices/>
        <h1>"Invoices"</h1>
        <form method="get" action=action.clone() class="filters card" role="search" aria-label="Filter invoices">
            <div class="filter-grid">
                <div class="field field-wide">
                    <label for="q">"Invoice or PO number"</label>
                    <input id="q" name="q" type="search" value=f.q.clone() autocomplete="off"/>
                </div>
                <div class="field">
                    <label for="status">"Status"</label>
                    <select id="status" name="status">
                        <option value="" selected=f.status.is_empty()>"Any status"</option>
                        {list.statuses.iter().map(|(key, label)| {
                            let selected = *key == f.status;
                            view! { <option value=key.clone() selected=selected>{label.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {(list.currencies.len() > 1).then(|| view! {
                    <div class="field">
                        <label for="currency">"Currency"</label>
                        <select id="currency" name="currency">
                            <option value="" selected=f.currency.is_empty()>"Any currency"</option>
                            {list.currencies.iter().map(|c| {
                                let selected = *c == f.currency;
                                view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                })}
                <fieldset class="field range">
                    <legend>"Issued"</legend>
                    <label for="issued_from" class="visually-hidden">"Issued from"</label>
                    <input id="issued_from" name="issued_from" type="date" value=f.issued_from.clone()/>
                    <span aria-hidden="true">"–"</span>
                    <label for="issued_to" class="visually-hidden">"Issued to"</label>
                    <input id="issued_to" name="issued_to" type="date" value=f.issued_to.clone()/>
                </fieldset>
                <fieldset class="field range">
                    <legend>"Due"</legend>
                    <label for="due_from" class="visually-hidden">"Due from"</label>
                    <input id="due_from" name="due_from" type="date" value=f.due_from.clone()/>
                    <span aria-hidden="true">"–"</span>
                    <label for="due_to" class="visually-hidden">"Due to"</label>
                    <input id="due_to" name="due_to" type="date" value=f.due_to.clone()/>
                </fieldset>
                <fieldset class="field range">
                    <legend>"Invoice total"</legend>
                    <label for="min" class="visually-hidden">"Minimum total"</label>
                    <input id="min" name="min" type="text" inputmode="decimal" placeholder="min" value=f.min.clone()/>
                    <span aria-hidden="true">"–"</span>
                    <label for="max" class="visually-hidden">"Maximum total"</label>
                    <input id="max" name="max" type="text" inputmode="decimal" placeholder="max" value=f.max.clone()/>
                </fieldset>
            </div>
            <div class="filter-actions">
                <button type="submit">"Apply filters"</button>
                {list.filtered.then(|| view! { <a href=action.clone()>"Clear filters"</a> })}
            </div>
        </form>
        {list.error.clone().map(|message| view! {
            <p class="notice notice-error" role="alert">{message}</p>
        })}
        {(!list.totals.is_empty()).then(|| view! {
            <ul class="balances compact" aria-label="Open balance of the listed invoices">
                {list.totals.iter().map(|b| view! {
                    <li class="card balance">
                        <span class="balance-currency">{format!("{} open", b.currency)}</span>
                        <span class="balance-open">{b.open.clone()}</span>
                        {(b.overdue_count > 0).then(|| view! {
                            <span class="balance-overdue">{format!("{} overdue", b.overdue)}</span>
                        })}
                        {b.disputed.clone().map(|disputed| view! {
                            <span class="balance-disputed">{format!("{disputed} disputed, held until resolved")}</span>
                            <span class="muted small">{format!("{} payable now", b.payable)}</span>
                        })}
                    </li>
                }).collect_view()}
            </ul>
        })}
        <div class="list-bar">
            <p class="muted" role="status">{summary}</p>
            {list.error.is_none().then(|| view! {
                <a class="button secondary-link" href=list.csv_href.clone() download="">"Export CSV"</a>
            })}
        </div>
        {if count == 0 {
            (list.error.is_none()).then(|| view! { <p class="card">"No invoices match these filters."</p> }).into_any()
        } else {
            view! {
                <form method="get" action=zip_action class="zip-form">
                    <ScrollTable labelledby="invoice-table-caption">
                        <caption id="invoice-table-caption" class="visually-hidden">
                            {format!("Invoices, {count} on this page. Column headers sort the list.")}
                        </caption>
                        <thead>
                            <tr>
                                <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                {list.columns.iter().map(|c| view! {
                                    <th scope="col" class:num=c.numeric aria-sort=c.aria_sort.clone()>
                                        <a href=c.href.clone()>
                                            {c.label.clone()}
                                            {c.aria_sort.as_deref().map(|s| if s == "ascending" { " ▲" } else { " ▼" })}
                                        </a>
                                    </th>
                                }).collect_view()}
                                {list.can_pay.then(|| view! { <th scope="col">"Dispute"</th> })}
                            </tr>
                        </thead>
                        <tbody>
                            {list.rows.iter().map(|i| {
                                let href = format!("/accounts/{}/invoices/{}", list.customer_id, i.invoice_id);
                                let dispute = dispute_cell(list.can_pay, &href, i);
                                let box_id = format!("pick-{}", i.invoice_id);
                                view! {
                                    <tr>
                                        <td>
                                            <input type="checkbox" name="invoice" value=i.invoice_id.to_string() id=box_id.clone()/>
                                            <label for=box_id class="visually-hidden">{format!("Select invoice {}", i.number)}</label>
                                        </td>
                                        <th scope="row"><a href=href>{i.number.clone()}</a></th>
                                        <td>{i.po_number.clone().unwrap_or_default()}</td>
                                        <td>{i.issue_date.clone()}</td>
                                        <td>{i.due_date.clone()}</td>
                                        <td>
                                            <InvoiceStatus key=i.status_key.clone() label=i.status_label.clone() pending=i.pending.clone() disputed=i.disputed.clone() in_plan=i.in_plan/>
                                        </td>
                                        <td class="num">{i.total.clone()}</td>
                                        <td class="num">
                                            {i.balance.clone()}
                                            {i.discount.clone().map(|d| view! { <span class="discount-offer small">{d}</span> })}
                                        </td>
                                        {dispute}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                    <div class="list-bar">
                        {list.can_pay.then(|| view! {
                            <button type="submit" formaction=format!("/accounts/{}/pay", list.customer_id)>"Pay selected"</button>
                        })}
                        <button type="submit" class="secondary">"Download selected PDFs (zip)"</button>
                        <Pager previous=list.previous_href.clone() next=list.next_href.clone()
                            previous_label="← Previous" next_label="Next →"/>
                    </div>
                </form>
            }
            .into_any()
        }}
    }
}

/// The list's "Dispute" cell for a payer or admin (nothing for a viewer):
/// a link to raise one, or to the invoice whose open dispute it names.
fn dispute_cell(can_pay: bool, invoice_href: &str, i: &InvoiceRowView) -> Option<AnyView> {
    if !can_pay {
        return None;
    }
    let cell = if i.disputed.is_some() {
        view! {
            <td><a href=invoice_href.to_owned()>"Dispute open"<span class="visually-hidden">{format!(" on invoice {}", i.number)}</span></a></td>
        }
        .into_any()
    } else if i.disputable {
        view! {
            <td><a href=format!("{invoice_href}/dispute")>"Dispute"<span class="visually-hidden">{format!(" invoice {}", i.number)}</span></a></td>
        }
        .into_any()
    } else {
        view! { <td></td> }.into_any()
    };
    Some(cell)
}

/// `/accounts/:customer_id/invoices/:invoice_id`
#[component]
pub fn InvoiceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("customer_id").unwrap_or_default(),
                p.get("invoice_id").unwrap_or_default(),
            )
        },
        |(customer_id, invoice_id)| invoice_detail(customer_id, invoice_id),
    );
    view! {
        <LoadedPage resource=detail render={|invoice: InvoiceDetailView| view! { <InvoiceView invoice/> }}/>
    }
}

#[component]
fn InvoiceView(invoice: InvoiceDetailView) -> impl IntoView {
    let i = invoice;
    let title = format!("Invoice {} · Billing portal", i.number);
    let pdf_label = if i.original_pdf {
        "Download PDF (original)"
    } else {
        "Download PDF"
    };
    view! {
        <Title text=title/>
        <AccountHead customer_id=i.customer_id customer_name=i.customer_name.clone() current=AccountSection::Invoices via_link=i.via_link/>
        <div class="invoice-head">
            <div>
                <h1>{format!("Invoice {}", i.number)}</h1>
                <p>
                    <InvoiceStatus key=i.status_key.clone() label=i.status_label.clone() pending=i.pending.clone() disputed=i.disputed.clone() in_plan=i.plan_id/>
                </p>
                {i.plan_id.map(|plan_id| view! {
                    <p><a href=format!("/accounts/{}/plans/{plan_id}", i.customer_id)>{format!("Paid in instalments: see payment plan {plan_id}")}</a></p>
                })}
                {i.open_request_href.clone().map(|href| view! {
                    <p><a href=href>"Dispute open — see the request"</a></p>
                })}
                {i.dispute_href.clone().map(|href| view! {
                    <p><a href=href>"Dispute this invoice"</a></p>
                })}
            </div>
            <div class="invoice-due card">
                <span class="muted">"Balance due"</span>
                <span class="balance-open">{i.balance.clone()}</span>
                {i.disputed.clone().map(|disputed| view! {
                    <dl class="dispute-hold">
                        <div>
                            <dt>"Disputed"</dt>
                            <dd>{disputed} " "
                                {i.open_request_href.clone().map(|href| view! { <a href=href>"(see the request)"</a> })}
                            </dd>
                        </div>
                        <div><dt>"Payable now"</dt><dd>{i.payable_now.clone()}</dd></div>
                    </dl>
                    <p class="muted small">"The disputed amount is held until the dispute is resolved."</p>
                })}
                {i.discount.clone().map(|d| view! { <p class="discount-offer">{d}</p> })}
                {i.pay_href.clone().map(|href| view! { <a class="button" href=href>"Pay this invoice"</a> })}
                <a class="button secondary" href=i.pdf_href.clone() download="">{pdf_label}</a>
            </div>
        </div>
        <dl class="facts card">
            <div><dt>"Issued"</dt><dd>{i.issue_date.clone()}</dd></div>
            <div><dt>"Due"</dt><dd>{i.due_date.clone()}</dd></div>
            <div><dt>"Terms"</dt><dd>{i.terms.clone()}</dd></div>
            <div><dt>"PO number"</dt><dd>{i.po_number.clone().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Currency"</dt><dd>{i.currency.clone()}</dd></div>
        </dl>
        <section aria-labelledby="lines-heading">
            <h2 id="lines-heading">"Lines"</h2>
            <ScrollTable labelledby="lines-heading">
                <thead>
                    <tr>
                        <th scope="col">"Description"</th>
                        <th scope="col" class="num">"Quantity"</th>
                        <th scope="col" class="num">"Unit price"</th>
                        <th scope="col" class="num">"Tax"</th>
                        <th scope="col" class="num">"Amount"</th>
                    </tr>
                </thead>
                <tbody>
                    {i.lines.iter().map(|l| view! {
                        <tr>
                            <td class="wrap">{l.description.clone()}</td>
                            <td class="num">{l.quantity.clone()}</td>
                            <td class="num">{l.unit_price.clone()}</td>
                            <td class="num">{l.tax_rate.clone()}</td>
                            <td class="num">{l.amount.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr><th scope="row" colspan="4" class="num">"Subtotal"</th><td class="num">{i.subtotal.clone()}</td></tr>
                    <tr><th scope="row" colspan="4" class="num">"Tax"</th><td class="num">{i.tax.clone()}</td></tr>
                    <tr><th scope="row" colspan="4" class="num">"Total"</th><td class="num">{i.total.clone()}</td></tr>
                    <tr><th scope="row" colspan="4" class="num">"Paid"</th><td class="num">{i.paid.clone()}</td></tr>
                    <tr><th scope="row" colspan="4" class="num">"Credited"</th><td class="num">{i.credited.clone()}</td></tr>
                    <tr class="grand"><th scope="row" colspan="4" class="num">"Balance"</th><td class="num">{i.balance.clone()}</td></tr>
                    {i.disputed.clone().map(|disputed| view! {
                        <tr><th scope="row" colspan="4" class="num">"Disputed (held)"</th><td class="num">{disputed}</td></tr>
                        <tr><th scope="row" colspan="4" class="num">"Payable now"</th><td class="num">{i.payable_now.clone()}</td></tr>
                    })}
                </tfoot>
            </ScrollTable>
        </section>
        <section aria-labelledby="applied-heading">
            <h2 id="applied-heading">"Payments and credits"</h2>
            {if i.applications.is_empty() {
                view! { <p>"Nothing has been paid or credited on this invoice yet."</p> }.into_any()
            } else {
                view! {
                    <ScrollTable labelledby="applied-heading">
                        <thead>
                            <tr>
                                <th scope="col">"Date"</th>
                                <th scope="col">"Type"</th>
                                <th scope="col">"Reference"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col" class="num">"Amount"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {i.applications.iter().map(|a| view! {
                                <tr>
                                    <td>{a.date.clone()}</td>
                                    <td>{a.kind.clone()}</td>
                                    <td>{match a.href.clone() {
                                        Some(h) => view! { <a href=h>{a.reference.clone()}</a> }.into_any(),
                                        None => a.reference.clone().into_any(),
                                    }}</td>
                                    <td>{a.status.clone()}</td>
                                    <td class="num">{a.amount.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                }
                .into_any()
            }}
        </section>
        {(!i.via_link).then(|| view! {
            <crate::pages::reminders::PromiseSection customer_id=i.customer_id invoice_id=i.invoice_id/>
        })}
        {match i.timeline.clone() {
            Some(entries) => view! { <InvoiceTimeline heading_id="timeline-heading" entries/> }.into_any(),
            None => view! {
                <section aria-labelledby="timeline-heading">
                    <h2 id="timeline-heading">"Timeline"</h2>
                    <p>"Sign in to see this invoice's history, its payments and any dispute."</p>
                </section>
            }
            .into_any(),
        }}
    }
}
