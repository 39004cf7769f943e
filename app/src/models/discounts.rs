//! Early-payment discounts (issue 13 item 7): AR's views of payment terms
//! and of the pay page's line on ACH.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceTermsRowView {
    pub invoice_id: i64,
    pub number: String,
    /// "2/10", "none", or empty: the customer's terms.
    pub own_terms: String,
    /// "Pay by Dec 10 and save $24.00 (3 days left)".
    pub offer: Option<String>,
}

/// The payment terms section of AR's customer page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffTermsPageView {
    pub customer_id: i64,
    /// "2/10 net 30".
    pub terms: String,
    pub invoices: Vec<InvoiceTermsRowView>,
    pub can_edit: bool,
    pub notice: Option<String>,
    pub problem: Option<String>,
}

/// The pay page section of the staff settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentSettingsView {
    pub ach_note: String,
    pub can_edit: bool,
    pub notice: Option<String>,
    pub problem: Option<String>,
}
