use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::models::PaymentView;
use crate::models::{PaymentHistoryView, ReceiptView};

#[cfg(feature = "ssr")]
fn payment_view(
    customer_id: i64,
    p: &portal_core::repo::payments::PaymentRow,
    allocations: &[portal_core::repo::payments::AllocationRow],
) -> PaymentView {
    use super::ssr::date;
    use crate::models::AllocationView;
    use portal_core::domain::Money;
    use portal_core::repo::payments::method_label;

    let money = |minor: i64| Money::new(minor, p.currency).display();
    PaymentView {
        payment_id: p.payment_id,
        date: date(p.received_at.unwrap_or(p.created_at).date_naive()),
        method: method_label(&p.method).to_owned(),
        amount: money(p.amount_minor),
        refunded: (p.refunded_minor > 0).then(|| money(p.refunded_minor)),
        status: match p.status.as_str() {
            "succeeded" => "Succeeded",
            "processing" => "Processing",
            "pending" => "Pending",
            "failed" => "Failed",
            "canceled" => "Canceled",
            "refunded" => "Refunded",
            _ => "Unknown",
        }
        .to_owned(),
        status_key: p.status.clone(),
        reference: p
            .reference
            .clone()
            .unwrap_or_else(|| format!("PAY-{}", p.payment_id)),
        allocations: allocations
            .iter()
            .map(|a| AllocationView {
                invoice_id: a.invoice_id,
                number: a.invoice_number.clone(),
                amount: money(a.amount_minor),
            })
            .collect(),
        receipt_href: format!("/accounts/{customer_id}/payments/{}", p.payment_id),
        receipt_pdf_href: format!(
            "/accounts/{customer_id}/payments/{}/receipt.pdf",
            p.payment_id
        ),
    }
}

/// The account's payments, newest first, 25 to a page.
#[server(endpoint = "payment_history")]
pub async fn payment_history(
    customer_id: String,
    page: String,
) -> Result<PaymentHistoryView, AppError> {
    use super::ssr::{id, mapped, require_contact, services};

    let contact_id = require_contact()?;
    let customer_id = id(&customer_id)?;
    let page = page.parse::<i64>().unwrap_or(1);
    let h = mapped(
        services()?
            .payment_history(contact_id, customer_id, page)
            .await,
    )?;
    Ok(PaymentHistoryView {
        customer_id,
        customer_name: h.customer_name,
        payments: h
            .payments
            .iter()
            .map(|(p, a)| payment_view(customer_id, p, a))
            .collect(),
        page: h.page,
        pages: h.pages,
    })
}

#[server(endpoint = "receipt")]
pub async fn receipt(customer_id: String, payment_id: String) -> Result<ReceiptView, AppError> {
    use super::ssr::{id, mapped, require_contact, services};

    let contact_id = require_contact()?;
    let (customer_id, payment_id) = (id(&customer_id)?, id(&payment_id)?);
    let (customer_name, payment, allocations) = mapped(
        services()?
            .payment_receipt(contact_id, customer_id, payment_id)
            .await,
    )?;
    Ok(ReceiptView {
        customer_id,
        customer_name,
        payment: payment_view(customer_id, &payment, &allocations),
    })
}
