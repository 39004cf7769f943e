//! What the UI sees: plain serialisable views, built on the server from the
//! core's records (amounts already formatted with the currency's minor unit).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub seller_name: String,
    pub viewer: Option<Viewer>,
    pub dev_mailbox: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ViewerKind {
    Contact,
    Staff,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub kind: ViewerKind,
    pub name: String,
    pub email: String,
    /// Accounts a contact belongs to (empty for staff).
    pub accounts: Vec<AccountLink>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountLink {
    pub customer_id: i64,
    pub name: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalanceView {
    pub currency: String,
    pub open: String,
    pub overdue: String,
    pub open_count: usize,
    pub overdue_count: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceRowView {
    pub invoice_id: i64,
    pub number: String,
    pub po_number: Option<String>,
    pub issue_date: String,
    pub due_date: String,
    pub total: String,
    pub balance: String,
    pub status_label: String,
    pub status_key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountOverviewView {
    pub customer_id: i64,
    pub customer_name: String,
    pub role: String,
    pub balances: Vec<BalanceView>,
    pub open_invoices: Vec<InvoiceRowView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: i64,
    pub device: String,
    pub ip: String,
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffHomeView {
    pub name: String,
    pub role: String,
    pub customers: i64,
    pub contacts: i64,
    pub invoices: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailView {
    pub email_id: i64,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub status: String,
    pub created: String,
    /// The first portal link in the text, for a one-click dev sign-in.
    pub link: Option<String>,
}

/// Whether a sign-in link can be used, for the confirm page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    Usable,
    Used,
    Expired,
    Invalid,
}
