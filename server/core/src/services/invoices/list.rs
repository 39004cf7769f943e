//! The invoice list (filtered, sorted, paged by cursor) and one invoice's
//! page with its lines, payments, credits and activity.

use super::{InvoiceDetail, InvoiceList, InvoiceSummary, Viewer};
use crate::domain::invoice_query::{Cursor, InvoiceQuery, PAGE_SIZE};
use crate::error::ServiceResult;
use crate::repo::invoices as repo;
use crate::repo::requests as requests_repo;
use crate::services::access::ContactAccess;
use crate::services::timeline::{self, Reader};
use crate::services::Services;

impl Services {
    pub async fn invoice_list(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        query: InvoiceQuery,
    ) -> ServiceResult<InvoiceList> {
        let (mut conn, customer) = self.as_member(access, customer_id).await?;
        let today = self.today();
        let page = repo::list_page(&mut conn, customer_id, &query, today, PAGE_SIZE).await?;
        let summary = repo::list_summary(&mut conn, customer_id, &query, today).await?;
        let cursor_at = |i: usize| Cursor {
            value: page.sort_values[i].clone(),
            invoice_id: page.rows[i].invoice_id,
        };
        let n = page.rows.len();
        let backwards = query.before.is_some();
        // Forward: more rows after this page means a next page; a cursor we
        // came by means a previous one. Backward: the other way round.
        let has_next = if backwards { true } else { page.more };
        let has_previous = if backwards {
            page.more
        } else {
            query.after.is_some()
        };
        let next = (n > 0 && has_next).then(|| cursor_at(n - 1));
        let previous = (n > 0 && has_previous).then(|| cursor_at(0));
        let mut invoices: Vec<InvoiceSummary> = page
            .rows
            .into_iter()
            .map(|r| InvoiceSummary::of(r, today))
            .collect();
        self.with_discounts(&mut conn, customer_id, &mut invoices)
            .await?;
        Ok(InvoiceList {
            customer_id,
            can_pay: customer.can_pay,
            customer_name: customer.name,
            invoices,
            query,
            matching: summary.matching,
            totals: summary.totals,
            next,
            previous,
            currencies: summary.currencies,
        })
    }

    pub async fn invoice_detail(
        &self,
        viewer: &Viewer,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<InvoiceDetail> {
        let (mut conn, customer, row) =
            self.viewed_invoice(viewer, customer_id, invoice_id).await?;
        let lines = repo::lines(&mut conn, invoice_id).await?;
        let applications = repo::applications(&mut conn, invoice_id).await?;
        let has_original_pdf = repo::has_original_document(&mut conn, invoice_id).await?;
        let open_dispute_id = requests_repo::open_dispute_of_invoice(&mut conn, invoice_id).await?;
        // A contact's view is recorded (once a day) and they see the shared
        // timeline; a link holder sees the invoice alone, without names or
        // the dispute's messages, and is asked to sign in for the rest.
        let timeline = match viewer {
            Viewer::Contact(access) => {
                timeline::record_view(
                    &mut conn,
                    invoice_id,
                    Some(access.contact_id),
                    None,
                    self.clock.now(),
                )
                .await?;
                Some(
                    timeline::timeline_entries(&mut conn, &row, Reader::Contact(access.contact_id))
                        .await?,
                )
            }
            Viewer::InvoiceLink(link_id) => {
                timeline::record_view(
                    &mut conn,
                    invoice_id,
                    None,
                    Some(*link_id),
                    self.clock.now(),
                )
                .await?;
                None
            }
        };
        let mut invoice = [InvoiceSummary::of(row, self.today())];
        self.with_discounts(&mut conn, customer_id, &mut invoice)
            .await?;
        let [invoice] = invoice;
        Ok(InvoiceDetail {
            customer_id,
            can_pay: customer.can_pay,
            customer_name: customer.name,
            payment_terms_days: customer.terms,
            invoice,
            lines,
            applications,
            timeline,
            open_dispute_id,
            has_original_pdf,
            via_link: matches!(viewer, Viewer::InvoiceLink(_)),
        })
    }
}
