//! Views of AR's figures, customer page and settings.

use serde::{Deserialize, Serialize};

use super::Stamp;

// ---------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindCountView {
    pub label: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeekView {
    /// "Nov 30" (the Monday).
    pub label: String,
    pub opened: i64,
    pub resolved: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiguresView {
    /// When they were computed (kept for a minute).
    pub as_of: Stamp,
    pub open_by_kind: Vec<KindCountView>,
    pub open_total: i64,
    /// "2 hours 15 minutes" of business time, if anything was answered.
    pub median_first_response: Option<String>,
    pub first_responses: i64,
    /// "83%", if anything was answered.
    pub within_sla: Option<String>,
    pub within_sla_count: i64,
    pub breaches_this_week: i64,
    /// "since Monday, Dec 7 (America/New_York)".
    pub week_words: String,
    pub weeks: Vec<WeekView>,
}

// ---------------------------------------------------------------------------
// Customer page
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactView {
    pub name: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountBalanceView {
    pub currency: String,
    pub open: String,
    pub overdue: String,
    /// Held by open disputes.
    pub disputed: String,
    pub open_count: i64,
    pub overdue_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgingView {
    pub currency: String,
    /// In the order of `bucket_labels`.
    pub buckets: Vec<String>,
    /// Payments or credits not applied to an invoice, if any.
    pub unapplied: Option<String>,
    pub closing: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRequestView {
    pub href: String,
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub status_key: String,
    pub open: bool,
    pub reason: Option<String>,
    pub invoice: Option<String>,
    pub disputed: Option<String>,
    pub opened: Stamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerPaymentView {
    pub reference: String,
    pub created: Stamp,
    pub method: String,
    pub amount: String,
    pub status: String,
    pub status_key: String,
    pub invoices: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineView {
    pub at: Stamp,
    pub who: String,
    pub what: String,
    /// (text, href) of what it was about.
    pub about: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffCustomerView {
    pub customer_id: i64,
    pub name: String,
    pub terms: String,
    pub contacts: Vec<ContactView>,
    pub balances: Vec<AccountBalanceView>,
    pub bucket_labels: Vec<String>,
    pub aging: Vec<AgingView>,
    pub requests: Vec<CustomerRequestView>,
    pub payments: Vec<CustomerPaymentView>,
    pub timeline: Vec<TimelineView>,
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

/// A form's outcome shown at its top: saved, or the problem of one field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FormNote {
    pub saved: Option<String>,
    /// (field name, message)
    pub problem: Option<(String, String)>,
}

impl FormNote {
    /// The message if `field` is the one refused.
    pub fn message_for(&self, field: &str) -> Option<String> {
        self.problem
            .as_ref()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayView {
    pub field: String,
    pub label: String,
    pub windows: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HolidayView {
    /// YYYY-MM-DD, the form value.
    pub value: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyCellView {
    pub field: String,
    pub label: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRowView {
    /// "Disputes, normal"
    pub name: String,
    pub kind: String,
    pub priority: String,
    /// first, next, resolution, warning
    pub cells: Vec<PolicyCellView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReasonView {
    pub code: String,
    pub label: String,
    pub position: String,
    pub retired: bool,
    pub used_by: i64,
    pub save_action: String,
    pub retire_action: String,
    pub reactivate_action: String,
    pub note: FormNote,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffSettingsView {
    pub can_edit: bool,
    pub time_zone: String,
    pub time_zones: Vec<String>,
    pub days: Vec<DayView>,
    pub calendar_note: FormNote,
    pub holidays: Vec<HolidayView>,
    pub holiday_value: String,
    pub holiday_note: FormNote,
    pub policies: Vec<PolicyRowView>,
    pub policies_note: FormNote,
    pub reasons: Vec<ReasonView>,
    pub new_code: String,
    pub new_label: String,
    pub reason_note: FormNote,
}
