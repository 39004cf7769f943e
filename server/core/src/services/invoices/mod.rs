//! The invoice experience: list, detail, downloads (PDF, CSV, zip),
//! statement of account and payment history. Every method starts by
//! checking who is asking (`access`); what they may not see is `NotFound`.
//! This module holds the views the pages and downloads are made from.

mod access;
mod documents;
mod exports;
mod history;
mod list;
pub(crate) mod statements;

use std::sync::Arc;

use chrono::NaiveDate;
use tokio::sync::mpsc;

use crate::domain::invoice_query::{Cursor, InvoiceQuery};
use crate::domain::statement::Statement;
use crate::domain::{invoice_standing, Currency, InvoiceStatus, Money, Principal};
use crate::repo::invoices::{Application, InvoiceLedgerRow, LineRow, OpenTotals};
use crate::repo::payments::{AllocationRow, PaymentRow};
use crate::services::access::ContactAccess;
use crate::services::timeline::TimelineEntry;
use crate::session_store::SignedIn;

pub use crate::pdf::layouts::{quantity, tax_rate};
pub use documents::{CHUNK_BYTES, MAX_ZIP_INVOICES};
pub use history::PAYMENTS_PER_PAGE;
pub(crate) use statements::charge_and_credit;

/// Who is looking at an invoice: the one viewer type of the portal (the
/// header's `app::models::SignedInPerson` is only what it displays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// A signed-in contact, with what they may see.
    Contact(Arc<ContactAccess>),
    /// Someone holding a link to one invoice.
    InvoiceLink(i64),
}

impl Viewer {
    /// The viewer a signed-in request stands for (staff see invoices
    /// through their own pages).
    pub fn of(signed_in: &SignedIn) -> Option<Viewer> {
        match signed_in.principal {
            Principal::Contact { .. } => signed_in.access.clone().map(Viewer::Contact),
            Principal::InvoiceLink { link_id } => Some(Viewer::InvoiceLink(link_id)),
            Principal::Staff { .. } => None,
        }
    }
}

/// A file to download.
#[derive(Clone, Debug)]
pub struct Download {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Download {
    fn pdf(file_name: String, bytes: Vec<u8>) -> Download {
        Download {
            file_name,
            content_type: "application/pdf",
            bytes,
        }
    }

    fn csv(file_name: String, bytes: Vec<u8>) -> Download {
        Download {
            file_name,
            content_type: "text/csv; charset=utf-8",
            bytes,
        }
    }
}

/// An invoice as the pages show it: ledger facts plus derived standing.
#[derive(Clone, Debug)]
pub struct InvoiceSummary {
    pub row: InvoiceLedgerRow,
    pub balance: Money,
    pub status: InvoiceStatus,
    /// The early-payment discount on offer today (issue 13), where the
    /// page asked for it (`Services::with_discounts`).
    pub discount: Option<crate::domain::discount::DiscountOffer>,
}

impl InvoiceSummary {
    pub(crate) fn of(row: InvoiceLedgerRow, today: NaiveDate) -> InvoiceSummary {
        let standing = invoice_standing(&row.facts(), today);
        InvoiceSummary {
            balance: Money::new(standing.balance_minor, row.currency),
            status: standing.status,
            row,
            discount: None,
        }
    }

    /// "Pay by Dec 10 and save $24.00 (3 days left)", while on offer.
    pub fn discount_sentence(&self) -> Option<String> {
        self.discount.map(|d| d.sentence(self.row.currency))
    }

    pub fn total(&self) -> Money {
        Money::new(self.row.total_minor, self.row.currency)
    }

    /// What can be paid now (the balance less what payments in flight and
    /// an open dispute hold).
    pub fn payable_minor(&self) -> i64 {
        crate::domain::payable_minor(
            self.balance.minor,
            self.row.pending_minor,
            self.row.disputed_minor,
        )
    }

    /// What the invoice's open dispute holds, at most the balance (a
    /// payment recorded in the ERP can leave less owed than was disputed).
    pub fn disputed_minor(&self) -> i64 {
        self.row.disputed_minor.clamp(0, self.balance.minor.max(0))
    }

    /// Whether a dispute could be raised on it now: something is owed and
    /// no dispute is open.
    pub fn disputable(&self) -> bool {
        !self.row.voided && self.balance.minor > 0 && self.row.disputed_minor == 0
    }
}

impl crate::services::Services {
    /// Fills in the discount each summary is offered today.
    pub(crate) async fn with_discounts(
        &self,
        conn: &mut crate::repo::Conn,
        customer_id: i64,
        summaries: &mut [InvoiceSummary],
    ) -> crate::error::ServiceResult<()> {
        let ids: Vec<i64> = summaries.iter().map(|s| s.row.invoice_id).collect();
        let offers = self.discount_offers(conn, customer_id, &ids).await?;
        for s in summaries.iter_mut() {
            s.discount = offers.get(&s.row.invoice_id).copied();
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct InvoiceList {
    pub customer_id: i64,
    pub customer_name: String,
    /// The viewer is a payer or admin (is offered "Pay").
    pub can_pay: bool,
    pub query: InvoiceQuery,
    pub invoices: Vec<InvoiceSummary>,
    /// How many invoices match the filters, over all pages.
    pub matching: i64,
    pub totals: Vec<OpenTotals>,
    pub next: Option<Cursor>,
    pub previous: Option<Cursor>,
    /// Currencies the account has invoices in, for the filter.
    pub currencies: Vec<Currency>,
}

/// One payment as its page shows it.
#[derive(Clone, Debug)]
pub struct PaymentReceipt {
    pub customer_name: String,
    /// The viewer is a payer or admin: offered to continue or cancel a
    /// checkout in progress.
    pub can_pay: bool,
    pub payment: PaymentRow,
    pub allocations: Vec<AllocationRow>,
}

#[derive(Clone, Debug)]
pub struct InvoiceDetail {
    pub customer_id: i64,
    pub customer_name: String,
    /// The viewer is a payer or admin (is offered "Pay").
    pub can_pay: bool,
    pub invoice: InvoiceSummary,
    pub payment_terms_days: i64,
    pub lines: Vec<LineRow>,
    pub applications: Vec<Application>,
    /// The shared timeline (issue 11 item 6), for a signed-in contact; a
    /// link holder sees the invoice only.
    pub timeline: Option<Vec<TimelineEntry>>,
    /// The invoice's open dispute (open or waiting on the customer).
    pub open_dispute_id: Option<i64>,
    pub has_original_pdf: bool,
    /// The viewer came through an invoice link (sees this invoice only).
    pub via_link: bool,
}

#[derive(Clone, Debug)]
pub struct StatementOfAccount {
    pub customer_id: i64,
    pub customer_name: String,
    /// Its aging buckets count what is payable: disputed amounts are out
    /// of them, in `disputed_minor` (see `statements::hold_disputed_apart`).
    pub statement: Statement,
    /// What disputes held at the end of the period, per currency in the
    /// order of `statement.currencies`.
    pub disputed_minor: Vec<i64>,
}

#[derive(Clone, Debug)]
pub struct PaymentHistory {
    pub customer_id: i64,
    pub customer_name: String,
    pub payments: Vec<(PaymentRow, Vec<AllocationRow>)>,
    pub page: i64,
    pub pages: i64,
}

/// A download made while it is sent: the body's chunks arrive on `chunks`
/// as they are written. Dropping the receiver (the client went away) stops
/// the work; an `Err` chunk means it failed midway (the body is cut off).
#[derive(Debug)]
pub struct StreamedDownload {
    pub file_name: String,
    pub content_type: &'static str,
    pub chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
}

/// A file name without path separators or control characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(['-', '.']);
    if trimmed.is_empty() {
        "document".into()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_defused() {
        assert_eq!(safe_file_name("INV/2026 01"), "INV-2026-01");
        assert_eq!(safe_file_name("../.."), "document");
    }
}
