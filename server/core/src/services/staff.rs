//! What AR staff see across every account. Each method first checks that
//! the staff user is still active (a disabled user's session may outlive
//! the disabling by a request), like the customer checks of `invoices`.

use super::Services;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::accounts::{self, PortfolioCounts};
use crate::repo::payments::{AllocationRow, PaymentRow};
use crate::repo::{ledger, webhook_events};

/// What AR sees of payments: the newest ones, and the gateway events that
/// need a person.
#[derive(Clone, Debug)]
pub struct PaymentsOverview {
    /// (payment, its allocations, customer name), newest first.
    pub payments: Vec<(PaymentRow, Vec<AllocationRow>, String)>,
    pub waiting_events: i64,
    /// (event id, type, why)
    pub set_aside: Vec<(String, String, String)>,
}

impl Services {
    /// `Forbidden` unless `staff_id` is an active staff user.
    pub(crate) async fn require_active_staff(
        &self,
        conn: &mut crate::repo::Conn,
        staff_id: i64,
    ) -> ServiceResult<()> {
        match accounts::active_staff(conn, staff_id).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::Forbidden(
                "This is for active AR staff only".into(),
            )),
        }
    }

    pub async fn staff_payments_overview(&self, staff_id: i64) -> ServiceResult<PaymentsOverview> {
        let mut conn = self.db.pool.acquire().await?;
        self.require_active_staff(&mut conn, staff_id).await?;
        let payments = ledger::recent_payments(&mut conn, 100).await?;
        let (_, waiting_events) = webhook_events::counts(&mut conn).await?;
        let set_aside = webhook_events::set_aside(&mut conn, 50).await?;
        Ok(PaymentsOverview {
            payments,
            waiting_events,
            set_aside,
        })
    }

    /// How many customers, contacts and invoices the portal holds.
    pub async fn staff_portfolio_counts(&self, staff_id: i64) -> ServiceResult<PortfolioCounts> {
        let mut conn = self.db.pool.acquire().await?;
        self.require_active_staff(&mut conn, staff_id).await?;
        Ok(accounts::portfolio_counts(&mut conn).await?)
    }
}
