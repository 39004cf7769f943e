use leptos::prelude::*;

use crate::error::AppError;
use crate::models::AccountOverviewView;

/// One account's balances and open invoices. A contact asking for an account
/// they do not belong to gets 404, the same as for one that does not exist.
#[server(endpoint = "account_overview")]
pub async fn account_overview(customer_id: String) -> Result<AccountOverviewView, AppError> {
    use super::ssr::{date, mapped, require_contact, services};
    use crate::models::{BalanceView, InvoiceRowView};

    let contact_id = require_contact()?;
    // Any id the browser sends is just text to us: malformed is not found.
    let Ok(customer_id) = customer_id.parse::<i64>() else {
        return super::ssr::fail(AppError::NotFound);
    };
    let overview = mapped(services()?.account_overview(contact_id, customer_id).await)?;
    Ok(AccountOverviewView {
        customer_id: overview.customer_id,
        customer_name: overview.customer_name,
        role: overview.role.as_str().to_owned(),
        balances: overview
            .balances
            .into_iter()
            .map(|b| BalanceView {
                currency: b.currency.code().to_owned(),
                open: b.open.display(),
                overdue: b.overdue.display(),
                open_count: b.open_count,
                overdue_count: b.overdue_count,
            })
            .collect(),
        open_invoices: overview
            .open_invoices
            .into_iter()
            .map(|i| InvoiceRowView {
                invoice_id: i.invoice_id,
                number: i.number,
                po_number: i.po_number,
                issue_date: date(i.issue_date),
                due_date: date(i.due_date),
                total: i.total.display(),
                balance: i.balance.display(),
                status_label: i.status.label(),
                status_key: i.status.key().to_owned(),
                pending: None,
            })
            .collect(),
    })
}
