//! A customer account as AR sees it (issue 11).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::staff_admin::{staff_customer, staff_customer_language, CustomerLanguageView};
use crate::components::{LoadedPage, LocalTime, ScrollTable, TableSection};
use crate::models::staff_admin::StaffCustomerView;

/// `/staff/customers/:customer_id`
#[component]
pub fn StaffCustomerPage() -> impl IntoView {
    let params = use_params_map();
    let customer = Resource::new(
        move || params.read().get("customer_id").unwrap_or_default(),
        staff_customer,
    );
    view! {
        <LoadedPage resource=customer render={|c: StaffCustomerView| view! { <CustomerBody c/> }}/>
    }
}

#[component]
fn CustomerBody(c: StaffCustomerView) -> impl IntoView {
    let title = format!("{} · AR workspace", c.name);
    let queue = format!("/staff/requests?customer={}", c.customer_id);
    view! {
        <Title text=title/>
        <p class="muted small"><a href="/staff">"AR workspace"</a>" › Customers"</p>
        <h1>{c.name.clone()}</h1>
        <p class="muted">{c.terms.clone()}</p>

        <section aria-labelledby="balance-heading">
            <h2 id="balance-heading">"Balance"</h2>
            {if c.balances.is_empty() {
                view! { <p>"Nothing is open on this account."</p> }.into_any()
            } else {
                view! {
                    <ul class="balances">
                        {c.balances.iter().map(|b| view! {
                            <li class="card balance">
                                <span class="balance-currency">{b.currency.clone()}</span>
                                <span class="balance-open">{b.open.clone()}</span>
                                <span>{format!("open on {} invoice{}", b.open_count, if b.open_count == 1 { "" } else { "s" })}</span>
                                <span class="balance-overdue">{format!("{} overdue ({} invoice{})", b.overdue, b.overdue_count, if b.overdue_count == 1 { "" } else { "s" })}</span>
                                <span class="balance-disputed">{format!("{} disputed (held)", b.disputed)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>

        <section aria-labelledby="aging-heading">
            <h2 id="aging-heading">"Aging"</h2>
            <p class="muted small">"As on the customer's statement of account today: open invoice balances by days past due."</p>
            {if c.aging.is_empty() {
                view! { <p>"No statement activity yet."</p> }.into_any()
            } else {
                let labels = c.bucket_labels.clone();
                view! {
                    <ScrollTable labelledby="aging-heading">
                        <thead>
                            <tr>
                                <th scope="col">"Currency"</th>
                                {labels.iter().map(|l| view! { <th scope="col" class="num">{l.clone()}</th> }).collect_view()}
                                <th scope="col" class="num">"Unapplied"</th>
                                <th scope="col" class="num">"Balance"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {c.aging.iter().map(|a| view! {
                                <tr>
                                    <th scope="row">{a.currency.clone()}</th>
                                    {a.buckets.iter().map(|v| view! { <td class="num">{v.clone()}</td> }).collect_view()}
                                    <td class="num">{a.unapplied.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                    <td class="num">{a.closing.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                }.into_any()
            }}
        </section>

        <TableSection
            id="contacts-heading"
            title="Contacts"
            columns=&["Name", "Email", "Role"]
            empty="No contacts on this account."
            rows=c.contacts.iter().map(|p| view! {
                <tr>
                    <th scope="row">
                        {p.name.clone()}
                        {p.disabled.then(|| view! { <span class="muted small">" (disabled)"</span> })}
                    </th>
                    <td><a href=format!("mailto:{}", p.email)>{p.email.clone()}</a></td>
                    <td>{p.role.clone()}</td>
                </tr>
            }.into_any()).collect()
        />

        <TableSection
            id="requests-heading"
            title="Requests"
            intro=move || view! { <p class="small"><a href=queue.clone()>"This customer's open requests in the queue"</a></p> }
            columns=&["Request", "Status", "Kind", "Reason", "Invoice", "Opened", "Disputed"]
            numeric=&["Disputed"]
            empty="No requests from this customer."
            rows=c.requests.iter().map(|r| view! {
                <tr>
                    <th scope="row"><a href=r.href.clone()>{r.reference.clone()}</a></th>
                    <td><span class=format!("status status-request-{}", r.status_key)>{r.status.clone()}</span></td>
                    <td>{r.kind.clone()}</td>
                    <td>{r.reason.clone().unwrap_or_default()}</td>
                    <td>{r.invoice.clone().unwrap_or_default()}</td>
                    <td><LocalTime stamp=r.opened.clone()/></td>
                    <td class="num">{r.disputed.clone().unwrap_or_default()}</td>
                </tr>
            }.into_any()).collect()
        />

        <TableSection
            id="payments-heading"
            title="Recent payments"
            intro=|| view! { <p class="small"><a href="/staff/payments">"All payments"</a></p> }
            columns=&["Payment", "Started", "Method", "Invoices", "Status", "Amount"]
            numeric=&["Amount"]
            empty="No payments through the portal yet."
            rows=c.payments.iter().map(|p| view! {
                <tr>
                    <th scope="row">{p.reference.clone()}</th>
                    <td><LocalTime stamp=p.created.clone()/></td>
                    <td>{p.method.clone()}</td>
                    <td>{p.invoices.clone()}</td>
                    <td><span class=format!("status status-pay-{}", p.status_key)>{p.status.clone()}</span></td>
                    <td class="num">{p.amount.clone()}</td>
                </tr>
            }.into_any()).collect()
        />

        <crate::pages::discounts::PaymentTermsSection customer_id=c.customer_id/>
        <DocumentLanguageSection customer_id=c.customer_id/>
        <crate::pages::reminders::CustomerRemindersSection customer_id=c.customer_id/>

        <section aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <p class="muted small">"What happened on this account, newest first."</p>
            {if c.timeline.is_empty() {
                view! { <p>"Nothing recorded yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="timeline">
                        {c.timeline.iter().map(|t| view! {
                            <li class="timeline-entry">
                                <p class="timeline-head">
                                    <LocalTime stamp=t.at.clone()/>" · "{t.who.clone()}" "{t.what.clone()}
                                    {t.about.clone().map(|(text, href)| if href.is_empty() {
                                        view! { <span>{format!(" · {text}")}</span> }.into_any()
                                    } else {
                                        view! { <span>" · "<a href=href>{text}</a></span> }.into_any()
                                    })}
                                </p>
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

/// "Document language" (issue 15): the language of the customer's
/// invoice, statement and receipt PDFs. A plain form to
/// `server::http::customer_language_routes` (works with JavaScript off);
/// agents see it read-only. Shows nothing when its server function refuses.
#[component]
fn DocumentLanguageSection(customer_id: i64) -> impl IntoView {
    let location = use_location();
    let language = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        move |query| staff_customer_language(customer_id.to_string(), query),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match language.await {
                    Ok(l) => view! { <DocumentLanguageBody l/> }.into_any(),
                    Err(_) => ().into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DocumentLanguageBody(l: CustomerLanguageView) -> impl IntoView {
    let read_only = !l.can_edit;
    let invalid = l.problem.is_some();
    view! {
        <section id="language" aria-labelledby="language-heading">
            <h2 id="language-heading">"Document language"</h2>
            {l.notice.clone().map(|n| view! { <p class="notice notice-info" role="status">{n}</p> })}
            {l.problem.clone().map(|p| view! { <div class="alert error" role="alert"><p id="customer-language-error">{p}</p></div> })}
            <p class="muted small">{l.in_words.clone()}</p>
            <form method="post" action=format!("/staff/customers/{}/language", l.customer_id)>
                <fieldset disabled=read_only>
                    <legend>"Language of this customer's PDFs"</legend>
                    <div class="field">
                        <label for="customer-language">"Language tag"</label>
                        <span id="customer-language-hint" class="muted small">
                            "A BCP 47 tag: pl (Polish), ja (Japanese), he (Hebrew), ar (Arabic), el (Greek), pt-BR… Empty: the language of the reader's browser."
                        </span>
                        <input id="customer-language" name="language" type="text" autocomplete="off"
                            spellcheck="false" maxlength="35"
                            value=l.language.clone()
                            aria-invalid=invalid.then_some("true")
                            aria-describedby=if invalid { "customer-language-hint customer-language-error" } else { "customer-language-hint" }/>
                    </div>
                    {l.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save the language"</button></p> })}
                </fieldset>
            </form>
        </section>
    }
}
