//! The invoice list (filtered, sorted, paged by cursor) and one invoice's
//! page with its lines, payments, credits and activity.

use super::{Activity, InvoiceDetail, InvoiceList, InvoiceSummary, Viewer};
use crate::domain::audit::Action;
use crate::domain::invoice_query::{Cursor, InvoiceQuery, PAGE_SIZE};
use crate::domain::payment_state::method_label;
use crate::domain::Money;
use crate::error::ServiceResult;
use crate::repo::invoices as repo;
use crate::services::access::ContactAccess;
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
        Ok(InvoiceList {
            customer_id,
            can_pay: customer.can_pay,
            customer_name: customer.name,
            invoices: page
                .rows
                .into_iter()
                .map(|r| InvoiceSummary::of(r, today))
                .collect(),
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
        let mut activity: Vec<Activity> = repo::activity(&mut conn, invoice_id)
            .await?
            .into_iter()
            .map(|a| Activity {
                at: a.at,
                what: activity_label(&a.action, &a.actor_kind),
            })
            .collect();
        // The ledger's own events complete the story.
        activity.push(Activity {
            at: row
                .issue_date
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc(),
            what: "Invoice issued".into(),
        });
        for a in &applications {
            if let Some(d) = a.date {
                activity.push(Activity {
                    at: d.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
                    what: match a.kind {
                        "payment" => format!(
                            "Payment {} ({}) {}: {}",
                            crate::domain::payment_number(a.id),
                            method_label(&a.detail),
                            a.status,
                            Money::new(a.amount_minor, row.currency).display()
                        ),
                        _ => format!(
                            "Credit note {} applied: {}",
                            a.reference.clone().unwrap_or_default(),
                            Money::new(a.amount_minor, row.currency).display()
                        ),
                    },
                });
            }
        }
        activity.sort_by_key(|a| std::cmp::Reverse(a.at));
        Ok(InvoiceDetail {
            customer_id,
            can_pay: customer.can_pay,
            customer_name: customer.name,
            payment_terms_days: customer.terms,
            invoice: InvoiceSummary::of(row, self.today()),
            lines,
            applications,
            activity,
            has_original_pdf,
            via_link: matches!(viewer, Viewer::InvoiceLink(_)),
        })
    }
}

/// An audit event as the invoice's activity says it; one this version
/// does not know shows as stored.
fn activity_label(action: &str, actor: &str) -> String {
    let what = match Action::parse(action) {
        Some(Action::InvoiceLinkCreated) => "Invoice link created for an email",
        Some(Action::InvoiceLinkOpened) => "Opened through an invoice link",
        Some(Action::InvoiceLinkRevoked) => "Invoice link revoked by AR",
        Some(Action::InvoiceLinkRefreshed) => {
            "A fresh invoice link was emailed to the account's contacts"
        }
        Some(Action::PaymentPending) => "Payment started (checkout open)",
        Some(Action::PaymentProcessing) => "Bank payment submitted; it takes a few business days",
        Some(Action::PaymentSucceeded) => "Payment received",
        Some(Action::PaymentFailed) => "Payment failed; the amount is open again",
        Some(Action::PaymentCanceled) => "Payment canceled; nothing was charged",
        Some(Action::PaymentRefunded) => "Payment refunded",
        Some(Action::PaymentPartlyRefunded) => "Payment partly refunded",
        Some(Action::PaymentDisputed) => "Payment disputed with the card issuer",
        Some(Action::CreditApplied) => "Credit applied",
        _ => return format!("{action} ({actor})"),
    };
    what.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_reads_known_actions_and_shows_unknown_ones_as_stored() {
        assert_eq!(
            activity_label("payment.succeeded", "system"),
            "Payment received"
        );
        assert_eq!(
            activity_label("invoice_link.revoked", "staff"),
            "Invoice link revoked by AR"
        );
        assert_eq!(
            activity_label("sign_in.failed", "anonymous"),
            "sign_in.failed (anonymous)"
        );
        assert_eq!(
            activity_label("ledger.rebuilt", "system"),
            "ledger.rebuilt (system)"
        );
    }
}
