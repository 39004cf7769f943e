//! Views of the customer's requests.

use serde::{Deserialize, Serialize};

use super::Stamp;

/// What a refused form had typed, shown again with its problem (the web
/// session kept it across the redirect; files are never kept).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftView {
    pub problem: String,
    /// The field the problem is about, to show it next to that field.
    pub field: Option<String>,
    pub scope: String,
    pub line_ids: Vec<i64>,
    pub amount: String,
    pub reason: String,
    pub message: String,
    /// Files were chosen: the page asks to choose them again.
    pub had_files: bool,
}

impl DraftView {
    /// The problem, when it is about `field`.
    pub fn problem_at(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.problem.clone())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisputeLineView {
    pub invoice_line_id: i64,
    pub description: String,
    pub amount: String,
    pub checked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReasonView {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// `/accounts/:customer_id/invoices/:invoice_id/dispute`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisputeFormView {
    pub customer_id: i64,
    pub customer_name: String,
    pub invoice_id: i64,
    pub number: String,
    pub invoice_href: String,
    pub action: String,
    /// The open balance: the most that can be disputed.
    pub balance: String,
    pub currency: String,
    /// Why the form is not offered (a viewer's role, a void or settled
    /// invoice); the page shows this instead of the form.
    pub refusal: Option<String>,
    /// The invoice's open dispute, to link to instead of a second one.
    pub open_dispute_href: Option<String>,
    pub scope: String,
    pub lines: Vec<DisputeLineView>,
    pub amount: String,
    pub reasons: Vec<ReasonView>,
    pub message: String,
    pub draft: Option<DraftView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRowView {
    pub href: String,
    pub kind: String,
    pub invoice_number: Option<String>,
    pub invoice_href: Option<String>,
    pub reason: Option<String>,
    pub amount: Option<String>,
    pub status: String,
    pub status_key: String,
    pub opened: Stamp,
    pub last_activity: Stamp,
}

/// `/accounts/:customer_id/requests`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestListView {
    pub customer_id: i64,
    pub customer_name: String,
    pub requests: Vec<RequestRowView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub size: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadMessageView {
    /// "You", the contact's name, or "AR (name)".
    pub author: String,
    pub from_ar: bool,
    pub at: Stamp,
    pub body: String,
    pub attachments: Vec<AttachmentView>,
}

/// One line of the SLA as the customer reads it: "AR aims to reply by"
/// and the moment, or a sentence alone ("Waiting on you …").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaLineView {
    pub text: String,
    pub due: Option<Stamp>,
    /// The target's time has passed (said in words too).
    pub late: bool,
}

/// `/accounts/:customer_id/requests/:request_id`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub customer_id: i64,
    pub customer_name: String,
    pub request_id: i64,
    pub title: String,
    pub kind: String,
    pub status: String,
    pub status_key: String,
    pub invoice_number: Option<String>,
    pub invoice_href: Option<String>,
    pub scope: Option<String>,
    /// The disputed lines with their amounts.
    pub lines: Vec<(String, String)>,
    pub held: Option<String>,
    pub reason: Option<String>,
    pub opened: Stamp,
    /// The SLA in the customer's words, e.g. "AR aims to reply by …".
    pub sla: Vec<SlaLineView>,
    pub outcome: Option<String>,
    pub balance: Option<String>,
    pub notice: Option<String>,
    pub messages: Vec<ThreadMessageView>,
    /// Forms offered (payers and admins, by status).
    pub message_action: Option<String>,
    pub withdraw_action: Option<String>,
    pub reopen_action: Option<String>,
    pub reopen_until: Option<Stamp>,
    /// Why a viewer sees no forms.
    pub read_only_note: Option<String>,
    /// The draft of the form a refusal came back to.
    pub message_draft: Option<DraftView>,
    pub reopen_draft: Option<DraftView>,
    pub withdraw_problem: Option<String>,
}
