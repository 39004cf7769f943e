//! Server functions of AR's queue and request page (issue 11). They only
//! read; the forms post to plain axum routes
//! (`server::http::staff_request_routes`), which come back here with a
//! notice or a problem code (and the refused text) in the query string.

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::staff_requests::{QueueCountsView, StaffQueueView, StaffRequestView};

#[cfg(feature = "ssr")]
mod ssr {
    use chrono::{DateTime, Utc};
    use portal_core::domain::request::{priority_as_str, Outcome, RequestKind, RequestStatus};
    use portal_core::domain::sla::{Priority, SlaEvent, SlaEventKind, TargetClock, TargetState};
    use portal_core::services::staff_requests::{
        AssigneeFilter, QueueFilter, QueueRow, SlaWhere, Urgency,
    };

    use crate::models::staff_requests::{Choice, HistoryView, QueueFilterView, TargetView};

    pub fn pairs(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect()
    }

    pub fn value(pairs: &[(String, String)], name: &str) -> String {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    pub const KINDS: [RequestKind; 3] = [
        RequestKind::Dispute,
        RequestKind::PaymentPlan,
        RequestKind::Question,
    ];
    pub const PRIORITIES: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    // The words both sides use for requests and their files.
    pub use crate::api::requests::ssr::{file_size, kind_label, scope_label};

    pub fn priority_label(priority: Priority) -> &'static str {
        match priority {
            Priority::Low => "Low",
            Priority::Normal => "Normal",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }

    pub fn priority_choices() -> Vec<Choice> {
        PRIORITIES
            .iter()
            .map(|p| {
                (
                    priority_as_str(*p).to_owned(),
                    priority_label(*p).to_owned(),
                )
            })
            .collect()
    }

    /// The filters of a query string; values that do not read as a filter
    /// are ignored (the form shows them unselected).
    pub fn queue_filter(pairs: &[(String, String)]) -> (QueueFilter, QueueFilterView) {
        let view = QueueFilterView {
            kind: value(pairs, "kind"),
            status: value(pairs, "status"),
            assignee: value(pairs, "assignee"),
            customer: value(pairs, "customer"),
            reason: value(pairs, "reason"),
            sla: value(pairs, "sla"),
        };
        let filter = QueueFilter {
            kind: RequestKind::parse(&view.kind),
            status: RequestStatus::parse(&view.status),
            assignee: match view.assignee.as_str() {
                "me" => Some(AssigneeFilter::Me),
                "none" => Some(AssigneeFilter::Unassigned),
                other => other.parse().ok().map(AssigneeFilter::Staff),
            },
            customer_id: view.customer.parse().ok(),
            reason_code: (!view.reason.is_empty()).then(|| view.reason.clone()),
            only_at_risk_or_breached: false,
            sla: match view.sla.as_str() {
                "at_risk_or_breached" => Some(SlaWhere::AtRiskOrBreached),
                "breached" => Some(SlaWhere::Breached),
                "at_risk" => Some(SlaWhere::AtRisk),
                _ => None,
            },
        };
        (filter, view)
    }

    /// The filters back as a query string, empty ones left out.
    pub fn filter_query(view: &QueueFilterView) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("kind", &view.kind),
            ("status", &view.status),
            ("assignee", &view.assignee),
            ("customer", &view.customer),
            ("reason", &view.reason),
            ("sla", &view.sla),
        ] {
            if !v.is_empty() {
                query.append_pair(k, v);
            }
        }
        query.finish()
    }

    /// "3 business hours", "45 business minutes", "1 business hour 20 min".
    pub fn business_time(minutes: i64) -> String {
        let (h, m) = (minutes / 60, minutes % 60);
        match (h, m) {
            (0, 1) => "1 business minute".into(),
            (0, m) => format!("{m} business minutes"),
            (1, 0) => "1 business hour".into(),
            (h, 0) => format!("{h} business hours"),
            (1, m) => format!("1 business hour {m} min"),
            (h, m) => format!("{h} business hours {m} min"),
        }
    }

    /// Wall-clock time since a past instant: "12 min", "2 h", "3 days".
    pub fn ago(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let minutes = (now - since).num_minutes().max(0);
        if minutes < 60 {
            format!("{minutes} min")
        } else if minutes < 48 * 60 {
            format!("{} h", minutes / 60)
        } else {
            format!("{} days", minutes / (24 * 60))
        }
    }

    /// The next deadline in words and its badge (key, words).
    pub fn deadline(row: &QueueRow, now: DateTime<Utc>) -> (String, &'static str, &'static str) {
        match row.urgency {
            Urgency::Paused => ("waiting on customer".into(), "paused", "Paused"),
            Urgency::Breached => {
                let words = match row.next_due {
                    Some(due) => format!("breached {} ago", ago(due, now)),
                    None => "breached".into(),
                };
                (words, "breached", "Breached")
            }
            Urgency::Running => {
                let words = match row.business_minutes_left() {
                    Some(left) => format!("due in {}", business_time(left)),
                    None => "no deadline".into(),
                };
                if row.at_risk() {
                    (words, "at-risk", "At risk")
                } else {
                    (words, "on-track", "On track")
                }
            }
        }
    }

    pub fn state(state: TargetState) -> (&'static str, &'static str) {
        match state {
            TargetState::Running => ("running", "Running"),
            TargetState::Paused => ("paused", "Paused"),
            TargetState::Warning => ("warning", "Warning"),
            TargetState::Met => ("met", "Met"),
            TargetState::Breached => ("breached", "Breached"),
        }
    }

    pub fn target(name: String, t: &TargetClock) -> TargetView {
        let (state_key, state) = state(t.state);
        TargetView {
            name,
            used: format!(
                "{} of {} business minutes",
                t.used_minutes.min(t.target_minutes.max(t.used_minutes)),
                t.target_minutes
            ),
            due: t.due.map(super::super::ssr::stamp),
            state_key: state_key.into(),
            state: state.into(),
        }
    }

    pub fn history(events: &[SlaEvent]) -> Vec<HistoryView> {
        events
            .iter()
            .map(|e| HistoryView {
                at: super::super::ssr::stamp(e.at),
                text: match e.kind {
                    SlaEventKind::Opened { priority } => {
                        format!(
                            "Opened, priority {}",
                            priority_label(priority).to_lowercase()
                        )
                    }
                    SlaEventKind::StaffReplied => "AR replied to the customer".into(),
                    SlaEventKind::CustomerMessaged => "The customer wrote".into(),
                    SlaEventKind::WaitingOnCustomer => {
                        "Waiting on the customer (clock paused)".into()
                    }
                    SlaEventKind::PriorityChanged { priority } => format!(
                        "Priority changed to {}",
                        priority_label(priority).to_lowercase()
                    ),
                    SlaEventKind::Resolved => "Closed (resolved or withdrawn)".into(),
                    SlaEventKind::Reopened => "Reopened by the customer".into(),
                },
            })
            .collect()
    }

    pub fn outcome_label(outcome: Outcome) -> &'static str {
        match outcome {
            Outcome::CreditNote => "Credit note",
            Outcome::CorrectedInvoice => "Corrected invoice",
            Outcome::Rejected => "Rejected",
        }
    }
}

/// `/staff/requests?…`: a page of the queue with the filters of `query`.
#[server(endpoint = "staff_queue")]
pub async fn staff_queue(query: String) -> Result<StaffQueueView, AppError> {
    use self::ssr::*;
    use super::ssr::{mapped, require_staff, services};
    use crate::models::staff_requests::QueueRowView;
    use portal_core::domain::request::RequestStatus;

    let staff_id = require_staff()?;
    let services = services()?;
    let pairs = pairs(&query);
    let (filter, filters) = queue_filter(&pairs);
    let page: i64 = value(&pairs, "page").parse().unwrap_or(1).max(1);
    let (choices, queue) = mapped(services.request_queue_view(staff_id, filter, page).await)?;
    let now = services.clock.now();
    let rows = queue
        .rows
        .iter()
        .map(|r| {
            let (deadline, badge_key, badge) = deadline(r, now);
            QueueRowView {
                request_id: r.request_id,
                href: format!("/staff/requests/{}", r.request_id),
                customer_name: r.customer_name.clone(),
                customer_href: format!("/staff/customers/{}", r.customer_id),
                invoice_number: r.invoice_number.clone(),
                kind: kind_label(r.kind).into(),
                reason: r.reason_label.clone(),
                amount: r.disputed.map(|m| m.display()),
                priority: priority_label(r.priority).into(),
                status: r.status.label().into(),
                owner: r
                    .assignee_name
                    .clone()
                    .unwrap_or_else(|| "Unassigned".into()),
                deadline,
                badge_key: badge_key.into(),
                badge: badge.into(),
                can_take: r.assignee_staff_id != Some(staff_id),
            }
        })
        .collect();
    let base = filter_query(&filters);
    let link = |p: i64| {
        let sep = if base.is_empty() { "" } else { "&" };
        format!("/staff/requests?{base}{sep}page={p}")
    };
    let pages = (queue.total + queue.per_page - 1) / queue.per_page;
    let first = (queue.page - 1) * queue.per_page + 1;
    let last = (queue.page * queue.per_page).min(queue.total);
    let position = if queue.total == 0 {
        "No open requests match.".to_owned()
    } else {
        format!("Requests {first}–{last} of {}", queue.total)
    };
    let me = choices
        .staff
        .iter()
        .find(|(id, _)| *id == staff_id)
        .map(|(_, name)| name.clone())
        .unwrap_or_else(|| "me".into());
    let assign_to: Vec<(String, String)> = if choices.reader_is_admin {
        std::iter::once(("none".to_owned(), "Nobody (release)".to_owned()))
            .chain(
                choices
                    .staff
                    .iter()
                    .map(|(id, name)| (id.to_string(), name.clone())),
            )
            .collect()
    } else {
        vec![(staff_id.to_string(), format!("{me} (me)"))]
    };
    let notice = match value(&pairs, "notice").as_str() {
        "assigned" => {
            let n: i64 = value(&pairs, "n").parse().unwrap_or(0);
            let refused: i64 = value(&pairs, "refused").parse().unwrap_or(0);
            let mut text = format!("{n} request{} assigned.", if n == 1 { "" } else { "s" });
            if refused > 0 {
                text.push_str(&format!(
                    " {refused} left as they were: agents take only unassigned requests (or their own), and closed or changed ones are skipped."
                ));
            }
            Some(text)
        }
        _ => None,
    };
    let problem = match value(&pairs, "problem").as_str() {
        "" => None,
        "request" => Some("Tick the requests to assign first.".to_owned()),
        "assignee" => Some("Choose an active AR staff user to assign the requests to.".to_owned()),
        "forbidden" => Some(
            "Agents take unassigned requests and release their own; an AR admin assigns requests to others."
                .to_owned(),
        ),
        _ => Some("That did not work. The queue shows the requests as they are now.".to_owned()),
    };
    let statuses = [RequestStatus::Open, RequestStatus::WaitingOnCustomer]
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect();
    let mut assignees = vec![
        ("me".to_owned(), "Me".to_owned()),
        ("none".to_owned(), "Unassigned".to_owned()),
    ];
    assignees.extend(
        choices
            .staff
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone())),
    );
    Ok(StaffQueueView {
        query: base.clone(),
        filters,
        kinds: KINDS
            .iter()
            .map(|k| (k.as_str().to_owned(), kind_label(*k).to_owned()))
            .collect(),
        statuses,
        assignees,
        customers: choices
            .customers
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone()))
            .collect(),
        reasons: choices.reasons.clone(),
        slas: vec![
            ("at_risk_or_breached".into(), "At risk or breached".into()),
            ("breached".into(), "Breached now".into()),
            ("at_risk".into(), "At risk now".into()),
        ],
        assign_to,
        rows,
        total: queue.total,
        position,
        previous: (queue.page > 1).then(|| link(queue.page - 1)),
        next: (queue.page < pages).then(|| link(queue.page + 1)),
        notice,
        problem,
    })
}

/// The staff home's queue counts.
#[server(endpoint = "staff_queue_counts")]
pub async fn staff_queue_counts() -> Result<QueueCountsView, AppError> {
    use super::ssr::{mapped, require_staff, services};

    let staff_id = require_staff()?;
    let counts = mapped(services()?.request_queue_counts(staff_id).await)?;
    Ok(QueueCountsView {
        open: counts.open,
        breached: counts.breached,
        at_risk: counts.at_risk,
        mine: counts.assigned_to,
    })
}

/// `/staff/requests/:request_id?…`: one request with its whole thread.
#[server(endpoint = "staff_request")]
pub async fn staff_request(
    request_id: String,
    query: String,
) -> Result<StaffRequestView, AppError> {
    use self::ssr::*;
    use super::ssr::{fail, mapped, require_staff, services, stamp};
    use crate::models::staff_requests::{AttachmentView, KeptInput, StaffMessageView};
    use portal_core::domain::request::{priority_as_str, AuthorKind, Outcome, Visibility};
    use portal_core::domain::Money;

    let staff_id = require_staff()?;
    let Ok(request_id) = request_id.parse::<i64>() else {
        return fail(AppError::NotFound);
    };
    let services = services()?;
    let d = mapped(services.staff_request_detail(staff_id, request_id).await)?;
    let r = &d.request;
    let pairs = pairs(&query);
    let money = |minor: i64| r.currency.map(|c| Money::new(minor, c).display());
    let mut targets = vec![target("First response".into(), &d.clock.first_response)];
    for (i, t) in d.clock.next_responses.iter().enumerate() {
        targets.push(target(format!("Next response {}", i + 1), t));
    }
    targets.push(target("Resolution".into(), &d.clock.resolution));
    let messages = d
        .messages
        .iter()
        .map(|m| {
            let (side, label) = match (m.author_kind, m.visibility) {
                (_, Visibility::Internal) => {
                    ("internal", "Internal note — not visible to the customer")
                }
                (AuthorKind::Staff, _) => ("reply", "Reply to the customer"),
                (AuthorKind::Contact, _) => ("customer", "Customer"),
            };
            StaffMessageView {
                message_id: m.message_id,
                author: m
                    .author_name
                    .clone()
                    .unwrap_or_else(|| "Someone no longer here".into()),
                side: side.into(),
                label: label.into(),
                body: m.body.clone(),
                at: stamp(m.created_at),
                attachments: m
                    .attachments
                    .iter()
                    .map(|a| AttachmentView {
                        href: format!(
                            "/staff/requests/{}/attachments/{}",
                            r.request_id, a.attachment_id
                        ),
                        name: a.display_name.clone(),
                        size: file_size(a.size_bytes),
                    })
                    .collect(),
            }
        })
        .collect();
    let outcome = r.outcome.map(|o| {
        let mut words = outcome_label(o).to_owned();
        if o == Outcome::CreditNote {
            if let Some(note) = &d.credit_note {
                words.push_str(&format!(
                    " {} of {}",
                    note.number,
                    Money::new(note.amount_minor, note.currency).display()
                ));
            }
        }
        if let Some(note) = &r.outcome_note {
            words.push_str(": ");
            words.push_str(note);
        }
        words
    });
    let assign_to: Vec<(String, String)> = if d.reader_is_admin {
        std::iter::once(("none".to_owned(), "Nobody (release)".to_owned()))
            .chain(
                d.staff
                    .iter()
                    .map(|(id, name)| (id.to_string(), name.clone())),
            )
            .collect()
    } else {
        let me = d
            .staff
            .iter()
            .find(|(id, _)| *id == d.reader_id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "Me".into());
        vec![
            (d.reader_id.to_string(), format!("{me} (me)")),
            ("none".to_owned(), "Nobody (release)".to_owned()),
        ]
    };
    let kept = KeptInput {
        body: value(&pairs, "body"),
        internal: value(&pairs, "visibility") == "internal",
        outcome: value(&pairs, "outcome"),
        amount: value(&pairs, "amount"),
        note: value(&pairs, "note"),
        reference: value(&pairs, "reference"),
        reason: value(&pairs, "reason"),
    };
    let disputed = r.disputed_minor.and_then(money).unwrap_or_default();
    let problem = match value(&pairs, "problem").as_str() {
        "" => None,
        "message" if kept.body.is_empty() => Some("Write a message before sending.".to_owned()),
        "message" => Some(
            "A message can be at most 10,000 characters; attach a longer text as a PDF.".to_owned(),
        ),
        "amount" => Some(format!(
            "Enter the credit note's amount: more than zero and at most the disputed amount of {disputed}."
        )),
        "note" => Some("The note can be at most 1,000 characters.".to_owned()),
        "reference" => Some("Write the corrected invoice's reference.".to_owned()),
        "reason" => Some("Write why the request is rejected.".to_owned()),
        "outcome" => Some("Choose how the request is resolved.".to_owned()),
        "priority" => Some("Choose a priority.".to_owned()),
        "assignee" => Some("Choose an active AR staff user to assign the request to.".to_owned()),
        "forbidden" => Some(
            "Agents take unassigned requests and release their own; an AR admin assigns requests to others."
                .to_owned(),
        ),
        "already_resolved" => {
            Some("This request was already resolved; nothing more was written.".to_owned())
        }
        "conflict" => Some(
            "Someone changed this request at the same moment; it is shown as it is now.".to_owned(),
        ),
        "closed" => Some(
            "That change was not made: the request is no longer open, or already in that state."
                .to_owned(),
        ),
        _ => Some("That did not work. Check the form and send it again.".to_owned()),
    };
    let notice = match value(&pairs, "notice").as_str() {
        "reply" => Some("Your reply was sent to the customer."),
        "note" => Some("Your internal note was added. The customer does not see it."),
        "waiting" => {
            Some("The request is waiting on the customer; its clock is paused until they answer.")
        }
        "priority" => Some("The priority was changed; the minutes already used are kept."),
        "assigned" => Some("The assignment was changed."),
        "resolved" => Some("The request is resolved and the customer was told."),
        _ => None,
    }
    .map(str::to_owned);
    let promise = match mapped(services.promise_item_facts(request_id).await)? {
        Some(p) => {
            let of = |minor: i64| {
                portal_core::domain::Currency::parse(&p.currency)
                    .ok()
                    .map(|c| Money::new(minor, c).display())
                    .unwrap_or_else(|| format!("{} {minor}", p.currency))
            };
            vec![
                ("Invoices".to_owned(), p.invoice_numbers.join(", ")),
                ("Promised by".to_owned(), p.promised_on.clone()),
                ("Promised".to_owned(), of(p.promised_minor)),
                ("Paid by then".to_owned(), of(p.paid_minor)),
                (
                    "Outcome".to_owned(),
                    if p.status == "partly_kept" {
                        "Partly kept"
                    } else {
                        "Not kept"
                    }
                    .to_owned(),
                ),
                (
                    "Made".to_owned(),
                    if p.channel == "phone" {
                        "By phone, recorded by AR"
                    } else {
                        "In the portal"
                    }
                    .to_owned(),
                ),
            ]
        }
        None => Vec::new(),
    };
    Ok(StaffRequestView {
        request_id: r.request_id,
        kind_key: r.kind.as_str().to_owned(),
        promise,
        title: match &r.invoice_number {
            Some(number) => format!("{} on invoice {number}", kind_label(r.kind)),
            None => format!("{} #{}", kind_label(r.kind), r.request_id),
        },
        customer_name: d.customer_name.clone(),
        customer_href: format!("/staff/customers/{}", r.customer_id),
        invoice_number: r.invoice_number.clone(),
        invoice_href: r
            .invoice_id
            .map(|i| format!("/staff/customers/{}#invoice-{i}", r.customer_id)),
        kind: kind_label(r.kind).into(),
        reason: r.reason_label.clone(),
        amount: r.disputed_minor.and_then(money),
        scope: r.scope.map(|s| scope_label(s).to_owned()),
        lines: d
            .disputed_lines
            .iter()
            .map(|l| {
                (
                    l.description.clone(),
                    money(l.total_minor).unwrap_or_default(),
                )
            })
            .collect(),
        priority: priority_label(r.priority).into(),
        priority_value: priority_as_str(r.priority).into(),
        status: r.status.label().into(),
        status_key: r.status.as_str().into(),
        owner: d
            .assignee_name
            .clone()
            .unwrap_or_else(|| "Unassigned".into()),
        assignee_value: r
            .assignee_staff_id
            .map_or_else(|| "none".to_owned(), |id| id.to_string()),
        opened: stamp(r.opened_at),
        open: r.status.is_open(),
        paused: d.clock.paused,
        targets,
        messages,
        history: history(&d.events),
        outcome,
        priorities: priority_choices(),
        assign_to,
        notice,
        problem,
        kept,
    })
}
