use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{InvoiceDetailView, InvoiceLinkView, InvoiceListView, StatementView};

/// One page of the invoice list. `query` is the page's query string as the
/// browser has it: the filters live in the URL, so a list can be shared,
/// bookmarked and walked back through.
#[server(endpoint = "invoice_list")]
pub async fn invoice_list(customer_id: String, query: String) -> Result<InvoiceListView, AppError> {
    use super::ssr::{balance, id, invoice_row, mapped, require_contact, services};
    use crate::models::{FilterState, SortLink};
    use portal_core::domain::invoice_query::{Direction, InvoiceQuery, SortKey, StatusFilter};
    use portal_core::domain::list_links::ListLinks;

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let services = services()?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let raw = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let filters = FilterState {
        status: raw("status"),
        currency: raw("currency"),
        issued_from: raw("issued_from"),
        issued_to: raw("issued_to"),
        due_from: raw("due_from"),
        due_to: raw("due_to"),
        min: raw("min"),
        max: raw("max"),
        q: raw("q"),
    };
    let path = format!("/accounts/{customer_id}/invoices");
    let csv_path = format!("/accounts/{customer_id}/invoices.csv");
    let statuses = StatusFilter::ALL
        .iter()
        .map(|s| (s.key().to_owned(), s.label().to_owned()))
        .collect();

    let parsed = InvoiceQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let query = match parsed {
        Ok(q) => q,
        Err(e) => {
            // Show the form as typed with the message; list nothing.
            super::ssr::status(http::StatusCode::BAD_REQUEST);
            return Ok(InvoiceListView {
                customer_id,
                customer_name: super::ssr::member_customer_name(&access, customer_id)?,
                filters,
                error: Some(e.message),
                rows: vec![],
                matching: 0,
                totals: vec![],
                columns: vec![],
                next_href: None,
                previous_href: None,
                csv_href: csv_path,
                statuses,
                currencies: vec![],
                filtered: true,
                can_pay: false,
            });
        }
    };
    let list = mapped(
        services
            .invoice_list(&access, customer_id, query.clone())
            .await,
    )?;
    let in_plan = mapped(services.invoices_in_plan(&access, customer_id).await)?;
    let links = ListLinks::new(&path, &query);
    let columns = [
        (SortKey::Number, "Invoice"),
        (SortKey::Po, "PO"),
        (SortKey::Issued, "Issued"),
        (SortKey::Due, "Due"),
        (SortKey::Status, "Status"),
        (SortKey::Total, "Total"),
        (SortKey::Balance, "Balance"),
    ]
    .into_iter()
    .map(|(key, label)| SortLink {
        key: key.key().to_owned(),
        label: label.to_owned(),
        href: links.sort(key),
        aria_sort: links.sorted_by(key).map(|direction| {
            match direction {
                Direction::Asc => "ascending",
                Direction::Desc => "descending",
            }
            .to_owned()
        }),
        numeric: key.is_numeric(),
    })
    .collect();
    Ok(InvoiceListView {
        customer_id,
        customer_name: list.customer_name,
        can_pay: list.can_pay,
        filtered: !query.filter_pairs().is_empty(),
        filters,
        error: None,
        rows: list
            .invoices
            .into_iter()
            .map(|i| invoice_row(i, &in_plan))
            .collect(),
        matching: list.matching,
        totals: list.totals.into_iter().map(balance).collect(),
        columns,
        next_href: list.next.as_ref().map(|c| links.next(c)),
        previous_href: list.previous.as_ref().map(|c| links.previous(c)),
        csv_href: links.export(&csv_path),
        statuses,
        currencies: list
            .currencies
            .iter()
            .map(|c| c.code().to_owned())
            .collect(),
    })
}

/// One invoice, for a contact of its account or the holder of its link.
#[server(endpoint = "invoice_detail")]
pub async fn invoice_detail(
    customer_id: String,
    invoice_id: String,
) -> Result<InvoiceDetailView, AppError> {
    use super::ssr::{date, fail, id, mapped, services, signed_in};
    use crate::models::{ApplicationView, LineView};
    use portal_core::domain::payment_state::{method_label, payment_reference};
    use portal_core::domain::Money;
    use portal_core::services::invoices::{quantity, tax_rate, Viewer};

    let signed_in = signed_in();
    let Some(viewer) = signed_in.as_ref().and_then(Viewer::of) else {
        return fail(AppError::Unauthorized);
    };
    let (customer_id, invoice_id) = (id(&customer_id)?, id(&invoice_id)?);
    let services = services()?;
    let d = mapped(
        services
            .invoice_detail(&viewer, customer_id, invoice_id)
            .await,
    )?;
    // The running plan it is in, for the account's contacts only.
    let plan_id = match signed_in.and_then(|s| s.access).filter(|_| !d.via_link) {
        Some(access) => mapped(services.invoices_in_plan(&access, customer_id).await)?
            .get(&invoice_id)
            .copied(),
        None => None,
    };
    let row = &d.invoice.row;
    let money = |minor: i64| Money::new(minor, row.currency).display();
    let via_link = d.via_link;
    Ok(InvoiceDetailView {
        customer_id,
        customer_name: d.customer_name.clone(),
        invoice_id,
        number: row.number.clone(),
        po_number: row.po_number.clone(),
        issue_date: date(row.issue_date),
        due_date: date(row.due_date),
        terms: format!("Net {} days", d.payment_terms_days),
        status_label: d.invoice.status.label(),
        status_key: d.invoice.status.key().to_owned(),
        currency: row.currency.code().to_owned(),
        subtotal: money(row.subtotal_minor),
        tax: money(row.tax_minor),
        total: money(row.total_minor),
        paid: money(row.paid_minor),
        credited: money(row.credited_minor),
        balance: d.invoice.balance.display(),
        lines: d
            .lines
            .iter()
            .map(|l| LineView {
                description: l.description.clone(),
                quantity: quantity(l.quantity_milli),
                unit_price: money(l.unit_price_minor),
                tax_rate: tax_rate(l.tax_rate_bp),
                amount: money(l.amount_minor),
            })
            .collect(),
        applications: d
            .applications
            .iter()
            .map(|a| ApplicationView {
                kind: if a.kind == "payment" {
                    "Payment".into()
                } else {
                    "Credit note".into()
                },
                date: a.date.map(date).unwrap_or_default(),
                reference: if a.kind == "payment" {
                    payment_reference(a.id, a.detail.clone(), a.reference.clone())
                } else {
                    format!("{} ({})", a.reference.clone().unwrap_or_default(), a.detail)
                },
                status: if a.kind == "payment" {
                    format!("{} · {}", method_label(&a.detail), a.status)
                } else {
                    "Applied".into()
                },
                amount: money(a.amount_minor),
                href: (a.kind == "payment" && !via_link)
                    .then(|| format!("/accounts/{customer_id}/payments/{}", a.id)),
            })
            .collect(),
        timeline: d
            .timeline
            .as_ref()
            .map(|entries| timeline_views(customer_id, entries)),
        disputed: (d.invoice.disputed_minor() > 0).then(|| money(d.invoice.disputed_minor())),
        payable_now: money(d.invoice.balance.minor - d.invoice.disputed_minor()),
        open_request_href: d
            .open_dispute_id
            .filter(|_| !via_link)
            .map(|r| format!("/accounts/{customer_id}/requests/{r}")),
        // Disputes are a conversation with AR: for the account's contacts.
        dispute_href: (d.can_pay
            && !via_link
            && d.open_dispute_id.is_none()
            && d.invoice.disputable())
        .then(|| format!("/accounts/{customer_id}/invoices/{invoice_id}/dispute")),
        pdf_href: format!("/accounts/{customer_id}/invoices/{invoice_id}/pdf"),
        original_pdf: d.has_original_pdf,
        via_link,
        pending: (row.pending_minor > 0).then(|| money(row.pending_minor)),
        pay_href: (d.can_pay && d.invoice.payable_minor() > 0)
            .then(|| format!("/accounts/{customer_id}/pay?invoice={invoice_id}")),
        discount: d.invoice.discount_sentence(),
        plan_id,
    })
}

/// An invoice's timeline as the customer's invoice page shows it; entries
/// about a dispute link to its thread.
#[cfg(feature = "ssr")]
pub(crate) fn timeline_views(
    customer_id: i64,
    entries: &[portal_core::services::timeline::TimelineEntry],
) -> Vec<crate::models::TimelineEntryView> {
    use super::ssr::{date, stamp};
    entries
        .iter()
        .map(|e| crate::models::TimelineEntryView {
            at: stamp(e.at),
            day: e.date_only.then(|| date(e.at.date_naive())),
            kind: e.kind.key().to_owned(),
            actor: e.actor.words(),
            what: e.what.clone(),
            body: e.body.clone(),
            href: e
                .request_id
                .map(|r| format!("/accounts/{customer_id}/requests/{r}")),
        })
        .collect()
}

/// Statement of account for `from..=to` (empty: the year to date).
#[server(endpoint = "statement")]
pub async fn statement(
    customer_id: String,
    from: String,
    to: String,
) -> Result<StatementView, AppError> {
    use super::ssr::{date, id, mapped, require_contact, services};
    use crate::models::{StatementCurrencyView, StatementLineView};
    use portal_core::domain::statement::{statement_period, Bucket, EntryKind};
    use portal_core::domain::Money;

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let services = services()?;
    let today = services.today();
    let (from_date, to_date) = match statement_period(&from, &to, today) {
        Ok(p) => p,
        Err(message) => {
            super::ssr::status(http::StatusCode::BAD_REQUEST);
            return Ok(StatementView {
                customer_id,
                customer_name: super::ssr::member_customer_name(&access, customer_id)?,
                from: String::new(),
                to: String::new(),
                from_value: from,
                to_value: to,
                currencies: vec![],
                pdf_href: String::new(),
                csv_href: String::new(),
                error: Some(message),
            });
        }
    };
    let soa = mapped(
        services
            .statement(&access, customer_id, from_date, to_date)
            .await,
    )?;
    let period_query = format!("from={from_date}&to={to_date}");
    Ok(StatementView {
        customer_id,
        customer_name: soa.customer_name.clone(),
        from: date(from_date),
        to: date(to_date),
        from_value: from_date.to_string(),
        to_value: to_date.to_string(),
        currencies: soa
            .statement
            .currencies
            .iter()
            .map(|c| {
                let m = |minor: i64| Money::new(minor, c.currency).display();
                StatementCurrencyView {
                    currency: c.currency.code().to_owned(),
                    opening: m(c.opening_minor),
                    invoiced: m(c.invoiced_minor),
                    paid_and_credited: m(c.paid_and_credited_minor),
                    closing: m(c.closing_minor),
                    lines: soa
                        .statement
                        .lines
                        .iter()
                        .filter(|l| l.entry.currency == c.currency)
                        .map(|l| {
                            let charge = matches!(l.entry.kind, EntryKind::Invoice);
                            StatementLineView {
                                date: date(l.entry.date),
                                kind: l.entry.kind.label().to_owned(),
                                reference: l.entry.reference.clone(),
                                charge: if charge {
                                    m(l.entry.amount_minor)
                                } else {
                                    String::new()
                                },
                                credit: if charge {
                                    String::new()
                                } else {
                                    m(l.entry.amount_minor)
                                },
                                balance: m(l.running_minor),
                            }
                        })
                        .collect(),
                    aging: Bucket::ALL
                        .iter()
                        .zip(c.aging_minor)
                        .map(|(b, minor)| (b.label().to_owned(), m(minor)))
                        .collect(),
                    disputed: Some(soa.disputed_in(c.currency)).filter(|d| *d != 0).map(m),
                    unapplied: (c.unapplied_minor != 0).then(|| m(c.unapplied_minor)),
                }
            })
            .collect(),
        pdf_href: format!("/accounts/{customer_id}/statement.pdf?{period_query}"),
        csv_href: format!("/accounts/{customer_id}/statement.csv?{period_query}"),
        error: None,
    })
}

/// Invoice links, newest first, for AR staff (optionally of one invoice).
#[server(endpoint = "staff_invoice_links")]
pub async fn staff_invoice_links(invoice_number: String) -> Result<Vec<InvoiceLinkView>, AppError> {
    use super::ssr::{mapped, require_staff, services, stamp};
    use portal_core::domain::invoice_link::LinkState;

    let staff_id = require_staff()?;
    let services = services()?;
    let now = services.clock.now();
    let links = mapped(
        services
            .staff_invoice_links(staff_id, Some(&invoice_number))
            .await,
    )?;
    Ok(links
        .into_iter()
        .map(|l| InvoiceLinkView {
            link_id: l.invoice_link_id,
            invoice_number: l.invoice_number,
            created: stamp(l.created_at),
            expires: stamp(l.expires_at),
            last_used: l.last_used_at.map(stamp),
            created_by: l.created_by,
            state: LinkState::of(l.revoked_at, l.expires_at, now)
                .key()
                .to_owned(),
        })
        .collect())
}
