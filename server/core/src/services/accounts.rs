//! What a signed-in contact may see of their accounts. Every read takes the
//! contact and checks membership first: a customer the contact does not
//! belong to is `NotFound`, exactly like one that does not exist.

use std::collections::BTreeMap;

use super::Services;
use crate::domain::{invoice_standing, ContactRole, Currency, InvoiceStatus, Money, StaffRole};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::accounts::{self, MembershipRow};

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

/// Sums open and overdue balances per currency (pure, for the unit tests).
pub fn balances_by_currency(invoices: &[OpenInvoice]) -> Vec<CurrencyBalance> {
    let mut by: BTreeMap<Currency, CurrencyBalance> = BTreeMap::new();
    for inv in invoices.iter().filter(|i| i.status.is_open()) {
        let c = inv.balance.currency;
        let entry = by.entry(c).or_insert_with(|| CurrencyBalance {
            currency: c,
            open: Money::zero(c),
            overdue: Money::zero(c),
            open_count: 0,
            overdue_count: 0,
        });
        entry.open.minor += inv.balance.minor;
        entry.open_count += 1;
        if matches!(inv.status, InvoiceStatus::Overdue { .. }) {
            entry.overdue.minor += inv.balance.minor;
            entry.overdue_count += 1;
        }
    }
    by.into_values().collect()
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
        let open_invoices: Vec<OpenInvoice> = accounts::unsettled_invoices(&mut conn, customer_id)
            .await?
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
            .filter(|i| i.status.is_open())
            .collect();
        Ok(AccountOverview {
            customer_id,
            customer_name: membership.customer_name,
            role: membership.role,
            balances: balances_by_currency(&open_invoices),
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
            return Err(ServiceError::Invalid("Give the staff user a name".into()));
        }
        let mut conn = self.db.pool.acquire().await?;
        Ok(accounts::upsert_staff(&mut conn, email.as_str(), name, role, self.clock.now()).await?)
    }

    pub async fn portfolio_counts(&self) -> ServiceResult<accounts::PortfolioCounts> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(accounts::portfolio_counts(&mut conn).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn inv(minor: i64, currency: Currency, status: InvoiceStatus) -> OpenInvoice {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        OpenInvoice {
            invoice_id: 1,
            number: "X".into(),
            po_number: None,
            issue_date: d,
            due_date: d,
            total: Money::new(minor, currency),
            balance: Money::new(minor, currency),
            status,
        }
    }

    #[test]
    fn balances_are_per_currency_and_count_overdue_separately() {
        let list = vec![
            inv(1_000, Currency::USD, InvoiceStatus::Open),
            inv(2_500, Currency::USD, InvoiceStatus::Overdue { days: 3 }),
            inv(700, Currency::EUR, InvoiceStatus::PartiallyPaid),
            inv(9_999, Currency::EUR, InvoiceStatus::Paid),
        ];
        let b = balances_by_currency(&list);
        assert_eq!(b.len(), 2);
        let eur = &b[0];
        let usd = &b[1];
        assert_eq!(
            (
                eur.currency,
                eur.open.minor,
                eur.overdue.minor,
                eur.open_count
            ),
            (Currency::EUR, 700, 0, 1)
        );
        assert_eq!(
            (usd.open.minor, usd.overdue.minor, usd.overdue_count),
            (3_500, 2_500, 1)
        );
    }
}
