//! Views of AR's plan section (on a payment-plan request's page) and of the
//! plan policy (on the settings page), issue 12.

use serde::{Deserialize, Serialize};

use super::staff_admin::FormNote;
use super::Stamp;

// ---------------------------------------------------------------------------
// Policy (settings page)
// ---------------------------------------------------------------------------

/// A labelled input of a policy form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyFieldView {
    /// The input's name.
    pub field: String,
    /// The input's id (unique on the page).
    pub id: String,
    pub label: String,
    pub hint: String,
    pub value: String,
}

/// One currency's limits as a form (or the form adding a currency).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrencyPolicyView {
    /// "USD"; empty on the form adding a currency.
    pub currency: String,
    /// The section's id, the redirect's anchor.
    pub anchor: String,
    /// The currency code as typed (the form adding a currency).
    pub typed_currency: String,
    pub fields: Vec<PolicyFieldView>,
    pub note: FormNote,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanPolicyView {
    pub can_edit: bool,
    pub policies: Vec<CurrencyPolicyView>,
    pub add: CurrencyPolicyView,
    pub timings: Vec<PolicyFieldView>,
    pub timings_note: FormNote,
}

// ---------------------------------------------------------------------------
// A plan as AR works it (request page)
// ---------------------------------------------------------------------------

/// An invoice a plan covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInvoiceView {
    pub number: String,
    pub href: String,
    pub due: String,
    /// What the plan took of it when proposed.
    pub covered: String,
    /// What is still open on it now.
    pub open_now: String,
}

/// A row of the schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstalmentView {
    /// "Down payment", "1 of 6".
    pub name: String,
    pub due: String,
    pub amount: String,
    /// "Paid", "Upcoming", "Due today", "Late (3 days)", "$20.00 left".
    pub status: String,
    /// paid | upcoming | due | late | part (for the badge's class).
    pub status_key: String,
}

/// A customer's acceptance of the terms (never edited).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceView {
    pub terms_version: i64,
    pub who: String,
    pub at: Stamp,
    pub ip: String,
    pub user_agent: String,
    pub terms_hash: String,
}

/// What was typed into a refused plan form (kept through the redirect).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanKept {
    pub note: String,
    pub down_payment: String,
    pub count: String,
    pub frequency: String,
    pub first_date: String,
    pub message: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffPlanView {
    pub request_id: i64,
    pub plan_id: i64,
    /// "Waiting for AR", "Active", ...
    pub status: String,
    pub status_key: String,
    pub terms_version: i64,
    pub currency: String,
    pub total: String,
    /// The terms in words; `None` while the customer waits for AR's.
    pub terms: Option<String>,
    pub proposed: Stamp,
    pub invoices: Vec<PlanInvoiceView>,
    pub schedule: Vec<InstalmentView>,
    /// Why the policy did not approve it on its own, in words.
    pub verdict: Vec<String>,
    pub acceptances: Vec<AcceptanceView>,
    /// (name, email) of the contact who proposed or asked.
    pub proposer: Option<(String, String)>,
    /// Why the plan ended (declined, defaulted), in words.
    pub decision_note: Option<String>,
    /// The reader may approve, counter or decline now.
    pub can_decide: bool,
    /// Why the reader cannot (assigned to someone else), when it is queued.
    pub why_not: Option<String>,
    /// Approve is offered (the customer's own terms wait for AR).
    pub can_approve: bool,
    /// The request is open while the plan is not queued (an at-risk
    /// follow-up): AR may close it once handled.
    pub can_close: bool,
    /// (value, label) of the frequencies.
    pub frequencies: Vec<(String, String)>,
    /// The earliest and latest first date the counter form accepts.
    pub first_date_min: String,
    pub first_date_max: String,
    pub notice: Option<String>,
    pub problem: Option<String>,
    /// The form a problem is about: approve | counter | decline.
    pub problem_form: Option<String>,
    pub kept: PlanKept,
}
