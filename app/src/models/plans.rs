//! Views of the customer's payment plans (issue 12): the list, the propose
//! form with its schedule preview, and one plan. Amounts and dates are
//! formatted on the server; the live preview island receives the same views.

use serde::{Deserialize, Serialize};

use super::Stamp;

/// One plan in the account's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRowView {
    pub href: String,
    /// "Plan #12"
    pub title: String,
    /// The status in words ("Active", "Waiting for AR"…).
    pub status: String,
    pub status_key: String,
    /// `None` while AR has been asked to propose one (no terms yet).
    pub total: Option<String>,
    /// The invoices' numbers, "INV-1001, INV-1002", or empty.
    pub invoices: String,
    /// "6 monthly instalments"
    pub terms: Option<String>,
    /// The next instalment not paid: "$500.00 due Jan 5, 2027".
    pub next: Option<String>,
    pub opened: Stamp,
}

/// `/accounts/:customer_id/plans`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanListView {
    pub customer_id: i64,
    pub customer_name: String,
    pub plans: Vec<PlanRowView>,
    /// "Propose a payment plan", for payers and admins.
    pub propose_href: Option<String>,
    /// Why a viewer sees no way to propose.
    pub read_only_note: Option<String>,
}

/// One open invoice on the propose form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInvoiceOptionView {
    pub invoice_id: i64,
    pub number: String,
    pub due_date: String,
    pub currency: String,
    pub balance: String,
    /// What a plan would cover: the balance less disputed and in-flight
    /// amounts.
    pub payable: String,
    pub checked: bool,
    /// Why it cannot be chosen, in words (the box is then disabled).
    pub blocked: Option<String>,
    /// What is left out of a choosable one ("$40.00 disputed is not in the plan").
    pub note: Option<String>,
}

/// An option of a select or a radio group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionView {
    pub key: String,
    pub label: String,
    pub selected: bool,
}

/// One line of a schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstalmentView {
    /// "Down payment", "Instalment 1 of 6".
    pub label: String,
    pub due: String,
    pub amount: String,
    /// On an agreed plan: how it stands, in words ("Paid", "Upcoming",
    /// "Due today", "Late 3 days", "$20.00 left, late 3 days").
    pub status: Option<String>,
    /// upcoming, due, paid, partly, late: for the badge's class.
    pub status_key: Option<String>,
    /// What has been paid toward it, when anything has.
    pub paid: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub rows: Vec<InstalmentView>,
    pub total: String,
    /// "6 monthly instalments after a down payment; the last is due Jun 5, 2027."
    pub summary: String,
}

/// What the preview shows: the schedule, or why there is none yet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PreviewView {
    pub schedule: Option<ScheduleView>,
    /// What "Propose" would lead to: approved at once, AR reviews it, or
    /// declined with the reason.
    pub verdict: Option<String>,
    pub problem: Option<String>,
    /// The field the problem is about (`invoice`, `down_payment`, `count`,
    /// `frequency`, `first_date`), to show it there.
    pub field: Option<String>,
}

impl PreviewView {
    pub fn problem_at(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field))
            .then(|| self.problem.clone())
            .flatten()
    }
}

/// `/accounts/:customer_id/plans/new`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanProposeView {
    pub customer_id: i64,
    pub customer_name: String,
    /// Why the forms are not offered (a viewer's role).
    pub refusal: Option<String>,
    pub invoices: Vec<PlanInvoiceOptionView>,
    pub down_payment: String,
    pub count: String,
    pub frequencies: Vec<OptionView>,
    /// `YYYY-MM-DD`, as `<input type="date">` wants it, and its bounds.
    pub first_date: String,
    pub min_date: String,
    pub max_date: String,
    /// "Between Dec 7, 2026 and Feb 5, 2027."
    pub date_hint: String,
    /// "From 1 to 36."
    pub count_hint: String,
    /// The form was previewed or came back refused: show what it gives.
    pub preview: Option<PreviewView>,
    /// POST: propose; GET: this page (the "Preview" button).
    pub action: String,
    pub page_href: String,
    pub ask_action: String,
    pub ask_message: String,
    /// The invoices ticked on the ask form (kept across a refusal).
    pub ask_checked: Vec<i64>,
    pub ask_problem: Option<String>,
    /// The ask form came back refused: show it open.
    pub ask_open: bool,
    pub list_href: String,
}

/// One invoice a plan covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInvoiceView {
    pub number: String,
    pub href: String,
    /// What the plan covers of it.
    pub covered: String,
    /// Its balance now.
    pub balance: String,
}

/// Who accepted which terms, when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceView {
    pub who: String,
    pub at: Stamp,
    pub version: i64,
    /// The first characters of the terms' SHA-256, to tell versions apart.
    pub hash: String,
}

/// AR's counter-proposal waiting for the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CounterView {
    /// The hash of the terms shown: "Accept" posts it, and a change by AR
    /// meanwhile refuses the acceptance.
    pub terms_hash: String,
    pub terms_text: String,
    pub accept_action: Option<String>,
    pub decline_action: Option<String>,
}

/// `/accounts/:customer_id/plans/:plan_id`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    pub customer_id: i64,
    pub customer_name: String,
    pub plan_id: i64,
    pub title: String,
    pub status: String,
    pub status_key: String,
    /// What the status means and what happens next, in a sentence.
    pub explanation: String,
    pub invoices: Vec<PlanInvoiceView>,
    pub total: Option<String>,
    pub paid: Option<String>,
    pub left: Option<String>,
    pub schedule: Option<ScheduleView>,
    pub acceptances: Vec<AcceptanceView>,
    pub counter: Option<CounterView>,
    /// "Pay next instalment": the pay page with the plan's amounts.
    pub pay_href: Option<String>,
    pub next: Option<String>,
    pub thread_href: Option<String>,
    pub notice: Option<String>,
    pub problem: Option<String>,
    pub read_only_note: Option<String>,
    pub list_href: String,
}
