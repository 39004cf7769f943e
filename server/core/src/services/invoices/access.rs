//! Who may see what: a contact sees the accounts they belong to; an invoice
//! link sees its own invoice while it is valid. Everything else is
//! `NotFound`, so a refusal does not tell an account or invoice exists.

use sqlx::pool::PoolConnection;
use sqlx::Any;

use crate::domain::invoice_link::LinkState;
use crate::services::access::ContactAccess;

use super::Viewer;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::invoices::{self as repo, InvoiceLedgerRow};
use crate::repo::{accounts, invoice_links, Conn};
use crate::services::Services;

pub(super) struct Customer {
    pub(super) name: String,
    pub(super) terms: i64,
    /// The viewer is a payer or admin of the account.
    pub(super) can_pay: bool,
}

pub(super) async fn customer_name_terms(
    conn: &mut Conn,
    customer_id: i64,
) -> ServiceResult<(String, i64)> {
    accounts::customer_name_terms(conn, customer_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

impl Services {
    /// A connection and the customer, if the contact belongs to it: the
    /// start of every account-wide read.
    pub(super) async fn as_member(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<(PoolConnection<Any>, Customer)> {
        let customer = member_customer(access, customer_id)?;
        Ok((self.db.pool.acquire().await?, customer))
    }

    /// A connection, the customer and the invoice, if the viewer may see
    /// that invoice: the start of every read of one invoice.
    pub(super) async fn viewed_invoice(
        &self,
        viewer: &Viewer,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<(PoolConnection<Any>, Customer, InvoiceLedgerRow)> {
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .invoice_customer(&mut conn, viewer, customer_id, invoice_id)
            .await?;
        let row = invoice_of(&mut conn, customer_id, invoice_id).await?;
        Ok((conn, customer, row))
    }

    /// The customer, if the viewer may see this invoice of it. A link
    /// grants its own invoice only, and only while valid.
    async fn invoice_customer(
        &self,
        conn: &mut Conn,
        viewer: &Viewer,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<Customer> {
        match viewer {
            Viewer::Contact(access) => member_customer(access, customer_id),
            Viewer::InvoiceLink(link_id) => {
                let (customer, linked_invoice) =
                    self.link_customer(conn, *link_id, customer_id).await?;
                if linked_invoice != invoice_id {
                    return Err(ServiceError::NotFound);
                }
                Ok(customer)
            }
        }
    }

    /// The customer of a valid link, and the one invoice it opens. The
    /// holder may pay that invoice (issue 13: a reminder's link "opens that
    /// invoice and lets the reader pay it").
    pub(super) async fn link_customer(
        &self,
        conn: &mut Conn,
        link_id: i64,
        customer_id: i64,
    ) -> ServiceResult<(Customer, i64)> {
        let link = invoice_links::by_id(conn, link_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let usable =
            LinkState::of(link.revoked_at, link.expires_at, self.clock.now()) == LinkState::Active;
        if !usable || link.customer_id != customer_id {
            return Err(ServiceError::NotFound);
        }
        let (name, terms) = customer_name_terms(conn, customer_id).await?;
        Ok((
            Customer {
                name,
                terms,
                can_pay: true,
            },
            link.invoice_id,
        ))
    }
}

/// The customer, if the contact belongs to it (from their access as read
/// this request: no query).
fn member_customer(access: &ContactAccess, customer_id: i64) -> ServiceResult<Customer> {
    let membership = access
        .membership(customer_id)
        .ok_or(ServiceError::NotFound)?;
    Ok(Customer {
        name: membership.customer_name.clone(),
        terms: membership.terms_days,
        can_pay: membership.role.can_pay(),
    })
}

/// The customer's invoice `invoice_id`; another customer's is `NotFound`.
pub(super) async fn invoice_of(
    conn: &mut Conn,
    customer_id: i64,
    invoice_id: i64,
) -> ServiceResult<InvoiceLedgerRow> {
    repo::invoice(conn, invoice_id)
        .await?
        .filter(|i| i.customer_id == customer_id)
        .ok_or(ServiceError::NotFound)
}
