//! What a signed-in contact may see of their accounts. Every read takes the
//! contact and checks membership first: a customer the contact does not
//! belong to is `NotFound`, exactly like one that does not exist.

use super::access::ContactAccess;
use super::invoices::InvoiceSummary;
use super::Services;
use crate::domain::invoice_query::{Direction, InvoiceQuery, SortKey, StatusFilter};
use crate::domain::{ContactRole, StaffRole};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::accounts;
use crate::repo::invoices::{self, OpenTotals};

/// Open invoices the account overview lists (oldest due first).
pub const OVERVIEW_INVOICES: usize = 10;

#[derive(Clone, Debug)]
pub struct StaffProfile {
    pub staff_id: i64,
    pub name: String,
    pub email: String,
    pub role: StaffRole,
}

#[derive(Clone, Debug)]
pub struct AccountOverview {
    pub customer_id: i64,
    pub customer_name: String,
    pub role: ContactRole,
    /// Open and overdue balance per currency.
    pub balances: Vec<OpenTotals>,
    /// Open invoices as the invoice list shows them (with what payments in
    /// flight hold), so both pages show the same standing.
    pub open_invoices: Vec<InvoiceSummary>,
}

impl Services {
    pub async fn staff_profile(&self, staff_id: i64) -> ServiceResult<StaffProfile> {
        let mut conn = self.db.pool.acquire().await?;
        let staff = accounts::active_staff(&mut conn, staff_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(StaffProfile {
            staff_id,
            name: staff.name,
            email: staff.email,
            role: staff.role,
        })
    }

    /// The home page of one account, for a contact who belongs to it.
    pub async fn account_overview(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<AccountOverview> {
        let membership = access
            .membership(customer_id)
            .ok_or(ServiceError::NotFound)?
            .clone();
        let mut conn = self.db.pool.acquire().await?;
        let today = self.today();
        // The overview shows the oldest-due open invoices; the invoice list has the rest.
        let query = InvoiceQuery {
            status: Some(StatusFilter::Unpaid),
            sort: SortKey::Due,
            direction: Direction::Asc,
            ..InvoiceQuery::default()
        };
        let page =
            invoices::list_page(&mut conn, customer_id, &query, today, OVERVIEW_INVOICES).await?;
        let totals = invoices::open_totals(&mut conn, customer_id, &query, today).await?;
        let mut open_invoices: Vec<InvoiceSummary> = page
            .rows
            .into_iter()
            .map(|row| InvoiceSummary::of(row, today))
            .collect();
        self.with_discounts(&mut conn, customer_id, &mut open_invoices)
            .await?;
        Ok(AccountOverview {
            customer_id,
            customer_name: membership.customer_name,
            role: membership.role,
            balances: totals,
            open_invoices,
        })
    }

    pub async fn create_staff(
        &self,
        email: &str,
        name: &str,
        role: StaffRole,
    ) -> ServiceResult<i64> {
        let email = super::auth::normalise_email(email)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(ServiceError::invalid_field(
                "name",
                "Give the staff user a name",
            ));
        }
        let mut conn = self.db.pool.acquire().await?;
        Ok(accounts::upsert_staff(&mut conn, email.as_str(), name, role, self.clock.now()).await?)
    }
}
