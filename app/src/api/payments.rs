use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::models::PaymentView;
use crate::models::{PayFormView, PayReviewView, PaymentHistoryView, ReceiptView};

#[cfg(feature = "ssr")]
fn payment_view(
    customer_id: i64,
    p: &portal_core::repo::payments::PaymentRow,
    allocations: &[portal_core::repo::payments::AllocationRow],
    can_pay: bool,
) -> PaymentView {
    use super::ssr::date;
    use crate::models::AllocationView;
    use portal_core::domain::payment_state::method_label;
    use portal_core::domain::{payment_number, Money, PaymentStatus};

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
        status_key: p.status.as_str().to_owned(),
        reference: p
            .reference
            .clone()
            .unwrap_or_else(|| payment_number(p.payment_id)),
        number: payment_number(p.payment_id),
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
        notice: notice(p),
        // A decline before a later success is history, not news.
        failure: matches!(p.status.as_str(), "pending" | "failed" | "canceled")
            .then(|| p.failure_message.clone())
            .flatten(),
        // Only payers and admins act on a checkout in progress; these are
        // POST forms (a link must never cancel or re-check a payment).
        continue_href: (can_pay && p.status == PaymentStatus::Pending)
            .then(|| p.checkout_url.clone())
            .flatten(),
        cancel_action: (can_pay && p.status == PaymentStatus::Pending)
            .then(|| format!("/accounts/{customer_id}/payments/{}/cancel", p.payment_id)),
        check_action: (can_pay
            && p.status == PaymentStatus::Pending
            && p.gateway_session_id.is_some())
        .then(|| format!("/accounts/{customer_id}/payments/{}/check", p.payment_id)),
        credit_applied: (p.credit_applied_minor > 0).then(|| money(p.credit_applied_minor)),
        disputed: p.disputed_at.is_some(),
    }
}

/// What a payment's status means to the customer, and what to do next.
#[cfg(feature = "ssr")]
fn notice(p: &portal_core::repo::payments::PaymentRow) -> String {
    let email = p.receipt_email.clone().unwrap_or_default();
    match p.status.as_str() {
        "pending" => "The checkout is open and nothing has been charged yet. Continue it to pay, or cancel it to release the invoices.".into(),
        "processing" => "Your bank payment was submitted. ACH debits take up to 4 business days to settle; until then the invoices show “payment pending”.".into(),
        "succeeded" if email.is_empty() => "Payment received. Thank you.".into(),
        "succeeded" => format!("Payment received. Thank you: a receipt was emailed to {email}."),
        "failed" => "This payment failed and nothing was taken. The invoices are open again: pay them by card, or check the bank account and try ACH again.".into(),
        "canceled" => "This payment was canceled and nothing was charged. The invoices are open again.".into(),
        "refunded" => "This payment was refunded in full.".into(),
        _ => String::new(),
    }
}

/// The account's payments, newest first, 25 to a page.
#[server(endpoint = "payment_history")]
pub async fn payment_history(
    customer_id: String,
    page: String,
) -> Result<PaymentHistoryView, AppError> {
    use super::ssr::{id, mapped, require_contact, services};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let page = page.parse::<i64>().unwrap_or(1);
    let h = mapped(
        services()?
            .payment_history(&access, customer_id, page)
            .await,
    )?;
    Ok(PaymentHistoryView {
        customer_id,
        customer_name: h.customer_name,
        payments: h
            .payments
            .iter()
            .map(|(p, a)| payment_view(customer_id, p, a, false))
            .collect(),
        page: h.page,
        pages: h.pages,
    })
}

#[server(endpoint = "receipt")]
pub async fn receipt(customer_id: String, payment_id: String) -> Result<ReceiptView, AppError> {
    use super::ssr::{fail, id, mapped, services, signed_in};
    use portal_core::services::invoices::Viewer;

    // The account's contacts, or the holder of the invoice link the
    // payment was made through.
    let Some(viewer) = signed_in().as_ref().and_then(Viewer::of) else {
        return fail(AppError::Unauthorized);
    };
    let via_link = matches!(viewer, Viewer::InvoiceLink(_));
    let (customer_id, payment_id) = (id(&customer_id)?, id(&payment_id)?);
    let receipt = mapped(
        services()?
            .payment_receipt(&viewer, customer_id, payment_id)
            .await,
    )?;
    Ok(ReceiptView {
        customer_id,
        via_link,
        customer_name: receipt.customer_name,
        payment: payment_view(
            customer_id,
            &receipt.payment,
            &receipt.allocations,
            receipt.can_pay,
        ),
    })
}

#[cfg(feature = "ssr")]
fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// The payment form for the invoices ticked in `query` (`invoice=…`, repeated).
#[server(endpoint = "pay_form")]
pub async fn pay_form(customer_id: String, query: String) -> Result<PayFormView, AppError> {
    use super::ssr::{date, id, payer_customer_name, require_payer, services};
    use crate::models::{CreditOptionView, PayInvoiceView, PayMethodView};
    use portal_core::domain::Money;
    use portal_core::ServiceError;

    let (payer, access) = require_payer()?;
    let via_link = access.is_none();
    let customer_id = id(&customer_id)?;
    let pairs = query_pairs(&query);
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "invoice")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    // Coming back from the review page keeps what was typed.
    let typed = |name: String| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let checked_credits: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "credit")
        .map(|(_, v)| v.clone())
        .collect();
    let services = services()?;
    // `?plan=` (a plan's "Pay next instalment"): its next instalment spread
    // over the plan's invoices. Coming back from the review names the
    // invoices instead, with what was typed.
    let plan_id = typed("plan".into())
        .filter(|_| ids.is_empty())
        .and_then(|p| p.parse::<i64>().ok());
    let plan_amounts = match (plan_id, &access) {
        (Some(plan_id), Some(access)) => super::ssr::mapped(
            services
                .plan_pay_amounts(access, customer_id, plan_id)
                .await,
        )?,
        // Plans are the account's: a link holder pays its invoice only.
        _ => Vec::new(),
    };
    // The form with nothing to fill in, only why (the page says it).
    let customer_name = payer_customer_name(payer, access.as_deref(), customer_id).await?;
    let refused = |problem: String| -> Result<PayFormView, AppError> {
        Ok(PayFormView {
            customer_id,
            via_link,
            customer_name: customer_name.clone(),
            currency: String::new(),
            invoices: vec![],
            credits: vec![],
            methods: vec![],
            email: String::new(),
            plan_note: None,
            ach_note: None,
            problem: Some(problem),
        })
    };
    if let (Some(plan_id), true) = (plan_id, plan_amounts.is_empty()) {
        return refused(format!(
            "Payment plan {plan_id} has no instalment to pay now."
        ));
    }
    let ids = if plan_amounts.is_empty() {
        ids
    } else {
        plan_amounts.iter().map(|(invoice, _)| *invoice).collect()
    };
    let choice = match services.payment_choice(payer, customer_id, &ids).await {
        Ok(choice) => choice,
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Forbidden(_))) => {
            // A role that may not pay is refused (403), in words, on the page.
            if let ServiceError::Forbidden(_) = e {
                super::ssr::status(http::StatusCode::FORBIDDEN);
            }
            return refused(e.to_string());
        }
        Err(e) => return super::ssr::fail(AppError::from(e)),
    };
    let money = |minor| Money::new(minor, choice.currency).display();
    let method = typed("method".into()).unwrap_or_else(|| "card".into());
    // Issue 13: the seller's line on ACH, where both methods are offered.
    let ach_note = if choice.methods.len() > 1 {
        Some(super::ssr::mapped(services.ach_note().await)?).filter(|n| !n.is_empty())
    } else {
        None
    };
    Ok(PayFormView {
        customer_id,
        via_link,
        customer_name: choice.customer_name.clone(),
        currency: choice.currency.code().to_owned(),
        invoices: choice
            .invoices
            .iter()
            .map(|i| PayInvoiceView {
                invoice_id: i.invoice_id,
                number: i.number.clone(),
                due_date: date(i.due_date),
                balance: money(i.balance_minor),
                pending: (i.pending_minor > 0).then(|| money(i.pending_minor)),
                disputed: (i.disputed_minor > 0)
                    .then(|| money(i.disputed_minor.min(i.balance_minor))),
                payable: money(i.payable_minor()),
                discount: i.discount.map(|d| {
                    format!(
                        "{}: pay {} to settle it in full",
                        d.sentence(choice.currency),
                        money(d.pay_minor)
                    )
                }),
                amount_value: typed(format!("amount_{}", i.invoice_id)).unwrap_or_else(|| {
                    let plan_amount = plan_amounts
                        .iter()
                        .find(|(invoice, _)| *invoice == i.invoice_id)
                        .map(|(_, amount)| *amount);
                    // The discounted total while the discount runs.
                    let full = i.discount.map_or(i.payable_minor(), |d| d.pay_minor);
                    Money::new(plan_amount.unwrap_or(full), choice.currency).decimal_string()
                }),
            })
            .collect(),
        credits: choice
            .credits
            .iter()
            .map(|c| CreditOptionView {
                credit_note_id: c.credit_note_id,
                number: c.number.clone(),
                available: money(c.unapplied_minor),
                checked: checked_credits.contains(&c.credit_note_id.to_string()),
            })
            .collect(),
        methods: choice
            .methods
            .iter()
            .map(|m| PayMethodView {
                key: m.key().to_owned(),
                label: m.label().to_owned(),
                hint: match m {
                    portal_core::payments::PayMethod::Card => "Paid at once.".into(),
                    portal_core::payments::PayMethod::Ach => {
                        "From a US bank account; settles in up to 4 business days.".into()
                    }
                },
                checked: m.key() == method,
            })
            .collect(),
        email: typed("email".into()).unwrap_or(choice.contact_email),
        ach_note,
        plan_note: plan_id.map(|plan_id| {
            format!(
                "The amounts pay the next instalment of payment plan {plan_id}, {}. You can change them: paying more counts toward the next instalments.",
                money(plan_amounts.iter().map(|(_, amount)| amount).sum::<i64>())
            )
        }),
        problem: None,
    })
}

/// The summary before paying, checked against the balances as they are now.
#[server(endpoint = "pay_review")]
pub async fn pay_review(customer_id: String, query: String) -> Result<PayReviewView, AppError> {
    use super::ssr::{id, payer_customer_name, require_payer, services};
    use crate::models::ReviewLineView;
    use portal_core::domain::Money;
    use portal_core::services::payments::{PayProblem, PaymentDraft};
    use portal_core::ServiceError;

    let (payer, access) = require_payer()?;
    let via_link = access.is_none();
    let customer_id = id(&customer_id)?;
    let pairs = query_pairs(&query);
    let draft = PaymentDraft::from_pairs(&pairs);
    // The URL names a problem by its code; the words are ours (a link
    // must not put its own text on this page).
    let problem = pairs
        .iter()
        .find(|(k, _)| k == "problem")
        .and_then(|(_, code)| PayProblem::parse(code))
        .map(|p| p.message().to_owned());
    let fields: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "problem" && k != "attempt")
        .cloned()
        .collect();
    let change_href = {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &fields {
            s.append_pair(k, v);
        }
        format!("/accounts/{customer_id}/pay?{}", s.finish())
    };
    let attempt = format!("{:032x}", rand::random::<u128>());
    let services = services()?;
    match services.review_payment(payer, customer_id, &draft).await {
        Ok(plan) => {
            let money = |minor| Money::new(minor, plan.currency).display();
            Ok(PayReviewView {
                customer_id,
                via_link,
                customer_name: plan.customer_name.clone(),
                lines: plan
                    .lines
                    .iter()
                    .map(|l| ReviewLineView {
                        invoice_id: l.invoice_id,
                        number: l.number.clone(),
                        amount: money(l.amount_minor),
                        credit: (l.credit_minor > 0).then(|| money(l.credit_minor)),
                        discount: (l.discount_minor > 0).then(|| money(l.discount_minor)),
                        charge: money(l.charge_minor),
                    })
                    .collect(),
                credits: plan
                    .credits
                    .iter()
                    .map(|(c, used)| (c.number.clone(), money(*used)))
                    .collect(),
                total: money(plan.total_minor()),
                credit_total: (plan.credit_minor() > 0).then(|| money(plan.credit_minor())),
                discount_total: (plan.discount_minor() > 0).then(|| money(plan.discount_minor())),
                charge: money(plan.charge_minor()),
                charge_is_zero: plan.charge_minor() == 0,
                method: plan.method.label().to_owned(),
                email: plan.receipt_email.as_str().to_owned(),
                fields,
                attempt,
                change_href,
                problem,
                blocked: false,
            })
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Forbidden(_))) => Ok(PayReviewView {
            customer_id,
            via_link,
            customer_name: payer_customer_name(payer, access.as_deref(), customer_id).await?,
            lines: vec![],
            credits: vec![],
            total: String::new(),
            credit_total: None,
            discount_total: None,
            charge: String::new(),
            charge_is_zero: false,
            method: String::new(),
            email: String::new(),
            fields,
            attempt,
            change_href,
            problem: Some({
                if let ServiceError::Forbidden(_) = e {
                    super::ssr::status(http::StatusCode::FORBIDDEN);
                }
                e.to_string()
            }),
            blocked: true,
        }),
        Err(e) => super::ssr::fail(AppError::from(e)),
    }
}
