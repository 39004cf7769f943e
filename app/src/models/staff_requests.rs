//! Views of AR's queue and request page.

use serde::{Deserialize, Serialize};

use super::Stamp;

/// A choice of a select: (value, label).
pub type Choice = (String, String);

/// The queue's filters as the reader gave them (echoed into the form).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFilterView {
    pub kind: String,
    pub status: String,
    pub assignee: String,
    pub customer: String,
    pub reason: String,
    pub sla: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffQueueView {
    pub filters: QueueFilterView,
    /// The filters as a query string (no page), for links and the
    /// assignment form's way back.
    pub query: String,
    pub kinds: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub customers: Vec<Choice>,
    pub reasons: Vec<Choice>,
    pub slas: Vec<Choice>,
    /// Who "assign selected to" offers: everyone active for an admin, the
    /// reader alone for an agent.
    pub assign_to: Vec<Choice>,
    pub rows: Vec<QueueRowView>,
    pub total: i64,
    /// "Requests 51–100 of 10,000".
    pub position: String,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub notice: Option<String>,
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueRowView {
    pub request_id: i64,
    pub href: String,
    pub customer_name: String,
    pub customer_href: String,
    pub invoice_number: Option<String>,
    pub kind: String,
    pub reason: Option<String>,
    pub amount: Option<String>,
    pub priority: String,
    pub status: String,
    /// The assignee's name, or "Unassigned".
    pub owner: String,
    /// "due in 3 business hours", "breached 2 h ago", "waiting on customer".
    pub deadline: String,
    /// CSS key: breached, at-risk, on-track, paused.
    pub badge_key: String,
    /// The badge's words (status is never colour alone).
    pub badge: String,
    /// "Assign to me" is offered (not already the reader's).
    pub can_take: bool,
}

/// The staff home's counts, each a link to the filtered queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueCountsView {
    pub open: i64,
    pub breached: i64,
    pub at_risk: i64,
    pub mine: i64,
}

/// One SLA target's clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetView {
    pub name: String,
    /// "95 of 240 business minutes".
    pub used: String,
    pub due: Option<Stamp>,
    /// CSS key: running, paused, warning, met, breached.
    pub state_key: String,
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub href: String,
    pub name: String,
    pub size: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffMessageView {
    pub message_id: i64,
    pub author: String,
    /// customer, reply or internal: how the message is styled.
    pub side: String,
    /// "Customer", "Reply to the customer", "Internal note — not visible
    /// to the customer".
    pub label: String,
    pub body: String,
    pub at: Stamp,
    pub attachments: Vec<AttachmentView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    pub at: Stamp,
    pub text: String,
}

/// What the reader typed, kept when a form was refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeptInput {
    pub body: String,
    pub internal: bool,
    pub outcome: String,
    pub amount: String,
    pub note: String,
    pub reference: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffRequestView {
    pub request_id: i64,
    /// `RequestKind::as_str`: what the page decides by (`kind` is words).
    pub kind_key: String,
    /// A broken promise's facts (label, value), for an item of kind
    /// "promise" (issue 13).
    pub promise: Vec<(String, String)>,
    pub title: String,
    pub customer_name: String,
    pub customer_href: String,
    pub invoice_number: Option<String>,
    pub invoice_href: Option<String>,
    pub kind: String,
    pub reason: Option<String>,
    pub amount: Option<String>,
    pub scope: Option<String>,
    /// (description, amount) of the disputed lines.
    pub lines: Vec<(String, String)>,
    pub priority: String,
    pub priority_value: String,
    pub status: String,
    pub status_key: String,
    pub owner: String,
    pub assignee_value: String,
    pub opened: Stamp,
    pub open: bool,
    pub paused: bool,
    pub targets: Vec<TargetView>,
    pub messages: Vec<StaffMessageView>,
    pub history: Vec<HistoryView>,
    /// The resolution in words, once resolved.
    pub outcome: Option<String>,
    pub priorities: Vec<Choice>,
    pub assign_to: Vec<Choice>,
    pub notice: Option<String>,
    pub problem: Option<String>,
    pub kept: KeptInput,
}
