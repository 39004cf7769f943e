use leptos::prelude::*;

use crate::error::AppError;
use crate::models::AccountOverviewView;

/// One account's balances and open invoices. A contact asking for an account
/// they do not belong to gets 404, the same as for one that does not exist.
#[server(endpoint = "account_overview")]
pub async fn account_overview(customer_id: String) -> Result<AccountOverviewView, AppError> {
    use super::ssr::{balance, id, invoice_row, mapped, require_contact, services};

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let services = services()?;
    let overview = mapped(services.account_overview(&access, customer_id).await)?;
    let in_plan = mapped(services.invoices_in_plan(&access, customer_id).await)?;
    Ok(AccountOverviewView {
        customer_id: overview.customer_id,
        customer_name: overview.customer_name,
        role: overview.role.as_str().to_owned(),
        balances: overview.balances.into_iter().map(balance).collect(),
        open_invoices: overview
            .open_invoices
            .into_iter()
            .map(|i| invoice_row(i, &in_plan))
            .collect(),
    })
}
