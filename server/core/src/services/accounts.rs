//! What a signed-in contact may see of their accounts. Every read takes the
//! contact and checks membership first: a customer the contact does not
//! belong to is `NotFound`, exactly like one that does not exist.

use super::Services;
use crate::domain::invoice_query::{Direction, InvoiceQuery, SortKey, StatusFilter};
use crate::domain::{invoice_standing, ContactRole, Currency, InvoiceStatus, Money, StaffRole};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::accounts::{self, MembershipRow};
use crate::repo::invoices;

/// Open invoices the account overview lists (oldest due first).
pub const OVERVIEW_INVOICES: usize = 10;

#[derive(Clone, Debug)]
pub struct ContactProfile {
    pub contact_id: i64,
    pub name: String,
    pub email: String,
    pub accounts: Vec<MembershipRow>,
}

#[derive(Clone, Debug)]
pub struct StaffProfile {
    pub staff_id: i64,
    pub name: String,
    pub email: String,
    pub role: StaffRole,
}

#[derive(Clone, Debug)]
pub struct OpenInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub po_number: Option<String>,
    pub issue_date: chrono::NaiveDate,
    pub due_date: chrono::NaiveDate,
    pub total: Money,
    pub balance: Money,
    pub status: InvoiceStatus,
}

/// Open and overdue balance in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencyBalance {
    pub currency: Currency,
    pub open: Money,
    pub overdue: Money,
    pub open_count: usize,
    pub overdue_count: usize,
}

#[derive(Clone, Debug)]
pub struct AccountOverview {
    pub customer_id: i64,
    pub customer_name: String,
    pub role: ContactRole,
    pub balances: Vec<CurrencyBalance>,
    pub open_invoices: Vec<OpenInvoice>,
}

impl Services {
    pub async fn contact_profile(&self, contact_id: i64) -> ServiceResult<ContactProfile> {
        let mut conn = self.db.pool.acquire().await?;
        let contact = accounts::active_contact(&mut conn, contact_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let memberships = accounts::memberships(&mut conn, contact_id).await?;
        Ok(ContactProfile {
            contact_id,
            name: contact.name,
            email: contact.email,
            accounts: memberships,
        })
    }

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
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<AccountOverview> {
        let mut conn = self.db.pool.acquire().await?;
        let membership = accounts::memberships(&mut conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
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
        let open_invoices: Vec<OpenInvoice> = page
            .rows
            .into_iter()
            .map(|row| {
                let standing = invoice_standing(&row.facts(), today);
                OpenInvoice {
                    invoice_id: row.invoice_id,
                    number: row.number,
                    po_number: row.po_number,
                    issue_date: row.issue_date,
                    due_date: row.due_date,
                    total: Money::new(row.total_minor, row.currency),
                    balance: Money::new(standing.balance_minor, row.currency),
                    status: standing.status,
                }
            })
            .collect();
        Ok(AccountOverview {
            customer_id,
            customer_name: membership.customer_name,
            role: membership.role,
            balances: totals
                .into_iter()
                .map(|t| CurrencyBalance {
                    currency: t.currency,
                    open: Money::new(t.open_minor, t.currency),
                    overdue: Money::new(t.overdue_minor, t.currency),
                    open_count: t.open_count as usize,
                    overdue_count: t.overdue_count as usize,
                })
                .collect(),
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

    pub async fn portfolio_counts(&self) -> ServiceResult<accounts::PortfolioCounts> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(accounts::portfolio_counts(&mut conn).await?)
    }
}
