//! What the UI sees: plain serialisable views, built on the server from the
//! core's records (amounts already formatted with the currency's minor unit).

pub mod autopay;
pub mod discounts;
pub mod plans;
pub mod requests;
pub mod staff_admin;
pub mod staff_plans;
pub mod staff_requests;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub seller_name: String,
    pub signed_in: Option<SignedInPerson>,
    pub dev_mailbox: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PersonKind {
    Contact,
    Staff,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedInPerson {
    pub kind: PersonKind,
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
    /// Of `open`, what open disputes hold (issue 11), when any.
    pub disputed: Option<String>,
    /// `open` less `disputed`: what can be paid now.
    pub payable: String,
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
    /// Held back by a payment in flight.
    pub pending: Option<String>,
    /// What the invoice's open dispute holds (issue 11), if it has one.
    pub disputed: Option<String>,
    /// Something is owed and no dispute is open: a payer may dispute it.
    pub disputable: bool,
    /// The running payment plan it is in (issue 12), if any.
    pub in_plan: Option<i64>,
    /// "Pay by Dec 10 and save $24.00 (3 days left)" while an
    /// early-payment discount runs (issue 13).
    pub discount: Option<String>,
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

/// A moment, shown in the viewer's time zone once the page is hydrated
/// (the server renders UTC; see `components::LocalTime`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// RFC 3339, for `<time datetime>` and the browser's conversion.
    pub iso: String,
    /// Server rendering in UTC, in the viewer's language's date style.
    pub text: String,
}

/// What the filter form shows: the values as the user gave them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterState {
    pub status: String,
    pub currency: String,
    pub issued_from: String,
    pub issued_to: String,
    pub due_from: String,
    pub due_to: String,
    pub min: String,
    pub max: String,
    pub q: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SortLink {
    pub key: String,
    pub label: String,
    /// Where clicking the header goes (toggles direction on the active column).
    pub href: String,
    /// "ascending" / "descending" on the active column, for aria-sort.
    pub aria_sort: Option<String>,
    pub numeric: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceListView {
    pub customer_id: i64,
    pub customer_name: String,
    pub filters: FilterState,
    /// Why the filters were refused, if they were (nothing is listed then).
    pub error: Option<String>,
    pub rows: Vec<InvoiceRowView>,
    pub matching: i64,
    pub totals: Vec<BalanceView>,
    pub columns: Vec<SortLink>,
    pub next_href: Option<String>,
    pub previous_href: Option<String>,
    pub csv_href: String,
    pub statuses: Vec<(String, String)>,
    pub currencies: Vec<String>,
    pub filtered: bool,
    /// Payers and admins see "Pay selected"; viewers do not.
    pub can_pay: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineView {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub amount: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub kind: String,
    pub date: String,
    pub reference: String,
    pub status: String,
    pub amount: String,
    /// The payment's receipt, for contacts.
    pub href: Option<String>,
}

/// One entry of an invoice's shared timeline (issue 11 item 6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntryView {
    pub at: Stamp,
    /// Only the date is known: `day` is shown instead of `at`.
    pub day: Option<String>,
    /// issued, sent, viewed, payment, dispute, message or credit.
    pub kind: String,
    /// Who, in words: "You", a colleague's name, "AR", "The portal".
    pub actor: String,
    pub what: String,
    pub body: Option<String>,
    /// The dispute's thread, for entries about one.
    pub href: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetailView {
    pub customer_id: i64,
    pub customer_name: String,
    pub invoice_id: i64,
    pub number: String,
    pub po_number: Option<String>,
    pub issue_date: String,
    pub due_date: String,
    pub terms: String,
    pub status_label: String,
    pub status_key: String,
    pub currency: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
    pub paid: String,
    pub credited: String,
    pub balance: String,
    pub lines: Vec<LineView>,
    pub applications: Vec<ApplicationView>,
    /// `None` for someone holding an invoice link (asked to sign in).
    pub timeline: Option<Vec<TimelineEntryView>>,
    /// What the open dispute holds, and what is left to pay now.
    pub disputed: Option<String>,
    pub payable_now: String,
    /// The open dispute's thread.
    pub open_request_href: Option<String>,
    /// "Dispute this invoice", for a payer or admin when none is open.
    pub dispute_href: Option<String>,
    pub pdf_href: String,
    pub original_pdf: bool,
    pub via_link: bool,
    /// "Payment pending: $120.00" while a payment is in flight.
    pub pending: Option<String>,
    /// The pay page for this invoice, when something can be paid now.
    pub pay_href: Option<String>,
    /// The early-payment discount on offer (issue 13), in words.
    pub discount: Option<String>,
    /// The running payment plan it is in (issue 12), for the account's
    /// contacts (not shown through an invoice link).
    pub plan_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementLineView {
    pub date: String,
    pub kind: String,
    pub reference: String,
    pub charge: String,
    pub credit: String,
    pub balance: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementCurrencyView {
    pub currency: String,
    pub opening: String,
    pub invoiced: String,
    pub paid_and_credited: String,
    pub closing: String,
    pub lines: Vec<StatementLineView>,
    /// (bucket, amount) in order: current, 1-30, 31-60, 61-90, over 90.
    /// Payable amounts only: what disputes hold is in `disputed`.
    pub aging: Vec<(String, String)>,
    /// What disputes held at the end date, counted apart from the buckets.
    pub disputed: Option<String>,
    pub unapplied: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementView {
    pub customer_id: i64,
    pub customer_name: String,
    pub from: String,
    pub to: String,
    pub from_value: String,
    pub to_value: String,
    pub currencies: Vec<StatementCurrencyView>,
    pub pdf_href: String,
    pub csv_href: String,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocationView {
    pub invoice_id: i64,
    pub number: String,
    pub amount: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentView {
    pub payment_id: i64,
    /// "PAY-42": how people name this payment.
    pub number: String,
    pub date: String,
    pub method: String,
    pub amount: String,
    pub refunded: Option<String>,
    pub status: String,
    pub status_key: String,
    pub reference: String,
    pub allocations: Vec<AllocationView>,
    pub receipt_href: String,
    pub receipt_pdf_href: String,
    /// What this status means for the customer and what to do next.
    pub notice: String,
    /// The gateway's words for a failed attempt (a declined card).
    pub failure: Option<String>,
    /// Back to the open checkout, and the way to abandon it.
    pub continue_href: Option<String>,
    /// POST: cancel the checkout in progress.
    pub cancel_action: Option<String>,
    /// POST: ask the gateway now how the checkout went.
    pub check_action: Option<String>,
    pub credit_applied: Option<String>,
    pub disputed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentHistoryView {
    pub customer_id: i64,
    pub customer_name: String,
    pub payments: Vec<PaymentView>,
    pub page: i64,
    pub pages: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub customer_id: i64,
    /// Reached through an invoice link (nobody signed in): the page shows
    /// what the link allows instead of the account's navigation.
    pub via_link: bool,
    pub customer_name: String,
    pub payment: PaymentView,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceLinkView {
    pub link_id: i64,
    pub invoice_number: String,
    pub created: Stamp,
    pub expires: Stamp,
    pub last_used: Option<Stamp>,
    pub created_by: String,
    /// "active", "expired" or "revoked".
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PayInvoiceView {
    pub invoice_id: i64,
    pub number: String,
    pub due_date: String,
    pub balance: String,
    pub pending: Option<String>,
    /// What an open dispute holds back from paying (issue 11).
    pub disputed: Option<String>,
    pub payable: String,
    /// The early-payment discount (issue 13): "Pay by Dec 10 and save
    /// $24.00 (3 days left)"; the amount field then starts at the
    /// discounted total.
    pub discount: Option<String>,
    /// The amount field's starting value (plain decimal, e.g. "1234.50").
    pub amount_value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreditOptionView {
    pub credit_note_id: i64,
    pub number: String,
    pub available: String,
    pub checked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PayMethodView {
    pub key: String,
    pub label: String,
    pub hint: String,
    pub checked: bool,
}

/// The payment form: amounts, credits, method, receipt email.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PayFormView {
    pub customer_id: i64,
    /// Reached through an invoice link (nobody signed in): the page shows
    /// what the link allows instead of the account's navigation.
    pub via_link: bool,
    pub customer_name: String,
    pub currency: String,
    pub invoices: Vec<PayInvoiceView>,
    pub credits: Vec<CreditOptionView>,
    pub methods: Vec<PayMethodView>,
    pub email: String,
    /// Paying a plan's next instalment (`?plan=`, issue 12): what the
    /// amounts are, in words.
    pub plan_note: Option<String>,
    /// The seller's line on ACH, when both card and ACH are offered.
    pub ach_note: Option<String>,
    /// Why the selection cannot be paid as it is (the form is then empty).
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewLineView {
    pub invoice_id: i64,
    pub number: String,
    pub amount: String,
    pub credit: Option<String>,
    /// The early-payment discount this payment takes (issue 13).
    pub discount: Option<String>,
    pub charge: String,
}

/// The summary before "Pay": what is paid, how, and the receipt address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PayReviewView {
    pub customer_id: i64,
    /// Reached through an invoice link (nobody signed in): the page shows
    /// what the link allows instead of the account's navigation.
    pub via_link: bool,
    pub customer_name: String,
    pub lines: Vec<ReviewLineView>,
    pub credits: Vec<(String, String)>,
    pub total: String,
    pub credit_total: Option<String>,
    /// The early-payment discounts taken, in all (issue 13).
    pub discount_total: Option<String>,
    pub charge: String,
    pub charge_is_zero: bool,
    pub method: String,
    pub email: String,
    /// The form's fields, carried as hidden inputs to the POST.
    pub fields: Vec<(String, String)>,
    /// One random key per rendered page: a double click is one payment.
    pub attempt: String,
    pub change_href: String,
    pub problem: Option<String>,
    /// True when the draft itself is invalid (no Pay button then).
    pub blocked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffPaymentView {
    pub reference: String,
    pub customer: String,
    pub created: Stamp,
    pub method: String,
    pub amount: String,
    pub refunded: Option<String>,
    pub status: String,
    pub status_key: String,
    pub disputed: bool,
    pub invoices: String,
    pub failure: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffPaymentsView {
    pub payments: Vec<StaffPaymentView>,
    pub waiting_events: i64,
    pub set_aside: Vec<(String, String, String)>,
}
