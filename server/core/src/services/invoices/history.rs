//! A customer's payments: the paged history, one payment's page and its
//! receipt PDF.

use super::documents::render_pdf;
use super::{Download, PaymentHistory, PaymentReceipt, Viewer};
use crate::error::{ServiceError, ServiceResult};
use crate::pdf::layouts;
use crate::repo::payments as payments_repo;
use crate::services::access::ContactAccess;
use crate::services::Services;

pub const PAYMENTS_PER_PAGE: i64 = 25;

impl Services {
    pub async fn payment_history(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        page: i64,
    ) -> ServiceResult<PaymentHistory> {
        let (mut conn, customer) = self.as_member(access, customer_id).await?;
        let count = payments_repo::count_payments(&mut conn, customer_id).await?;
        let pages = ((count + PAYMENTS_PER_PAGE - 1) / PAYMENTS_PER_PAGE).max(1);
        let page = page.clamp(1, pages);
        let payments = payments_repo::payments_of_customer(
            &mut conn,
            customer_id,
            PAYMENTS_PER_PAGE,
            (page - 1) * PAYMENTS_PER_PAGE,
        )
        .await?;
        Ok(PaymentHistory {
            customer_id,
            customer_name: customer.name,
            payments,
            page,
            pages,
        })
    }

    /// One payment's page: for the account's contacts, or for the holder
    /// of the invoice link it was paid through (that link's payments only).
    pub async fn payment_receipt(
        &self,
        viewer: &Viewer,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<PaymentReceipt> {
        let (mut conn, customer, link) = match viewer {
            Viewer::Contact(access) => {
                let (conn, customer) = self.as_member(access, customer_id).await?;
                (conn, customer, None)
            }
            Viewer::InvoiceLink(link_id) => {
                let mut conn = self.db.pool.acquire().await?;
                let (customer, _) = self.link_customer(&mut conn, *link_id, customer_id).await?;
                (conn, customer, Some(*link_id))
            }
        };
        let (payment, allocations) = payments_repo::payment(&mut conn, payment_id)
            .await?
            .filter(|(p, _)| p.customer_id == customer_id)
            .filter(|(p, _)| link.is_none() || p.invoice_link_id == link)
            .ok_or(ServiceError::NotFound)?;
        Ok(PaymentReceipt {
            customer_name: customer.name,
            can_pay: customer.can_pay,
            payment,
            allocations,
        })
    }

    pub async fn receipt_pdf(
        &self,
        viewer: &Viewer,
        customer_id: i64,
        payment_id: i64,
        language: &str,
    ) -> ServiceResult<Download> {
        let receipt = self
            .payment_receipt(viewer, customer_id, payment_id)
            .await?;
        let language = {
            let mut conn = self.db.pool.acquire().await?;
            self.customer_document_language(&mut conn, customer_id, language)
                .await?
        };
        let spec = layouts::receipt_document(
            &self.config,
            &receipt.customer_name,
            &receipt.payment,
            &receipt.allocations,
            &language,
        );
        let bytes = render_pdf(spec).await?;
        Ok(Download::pdf(
            format!("receipt-{}.pdf", crate::domain::payment_number(payment_id)),
            bytes,
        ))
    }
}
