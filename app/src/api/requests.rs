//! Server functions of the customer's requests (issue 11). The forms post to
//! plain axum routes (`server::http::request_routes`); these only read.

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::requests::{DisputeFormView, RequestListView, RequestView};

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::use_context;
    use portal_core::domain::attachment::AttachmentKind;
    use portal_core::domain::request::{DisputeScope, Outcome, RequestKind};
    use portal_core::domain::sla::{SlaClock, TargetClock, TargetState};
    use portal_core::domain::Money;
    use portal_core::services::requests::drafts::{self, draft_key, Session};

    use crate::models::requests::{DraftView, SlaLineView};

    /// The query string's value of `name`.
    pub fn query_value(query: &str, name: &str) -> Option<String> {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The draft a refused form left in the web session, when the URL says
    /// a problem brought the browser back (see `drafts`).
    pub async fn draft(query: &str, form: &str, id: i64) -> Option<DraftView> {
        let code = query_value(query, "problem")?;
        let session = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Session>().cloned());
        let kept = match session {
            Some(session) => drafts::read(&session, &draft_key(form, id)).await,
            None => None,
        };
        // Without the draft (an expired session) the code still says what
        // kind of problem it was.
        let d = kept.unwrap_or_else(|| drafts::FormDraft {
            problem: match code.as_str() {
                "forbidden" => "Your role on this account does not allow that.",
                "conflict" => "That changed meanwhile; the page shows it as it is now.",
                _ => "That did not work. Check the form and send it again.",
            }
            .into(),
            ..Default::default()
        });
        Some(DraftView {
            problem: d.problem,
            field: d.field,
            scope: d.scope,
            line_ids: d.line_ids,
            amount: d.amount,
            reason: d.reason,
            message: d.message,
            had_files: d.had_files,
        })
    }

    pub fn scope_label(scope: DisputeScope) -> &'static str {
        match scope {
            DisputeScope::Invoice => "The whole invoice",
            DisputeScope::Lines => "Some lines",
            DisputeScope::Amount => "An amount",
        }
    }

    pub fn kind_label(kind: RequestKind) -> &'static str {
        match kind {
            RequestKind::Dispute => "Dispute",
            RequestKind::PaymentPlan => "Payment plan",
            RequestKind::Question => "Question",
            RequestKind::Promise => "Promise to pay not kept",
        }
    }

    /// "12 KB", "1.5 MB".
    pub fn file_size(bytes: i64) -> String {
        const KB: i64 = 1024;
        if bytes < KB {
            format!("{bytes} bytes")
        } else if bytes < KB * KB {
            format!("{} KB", (bytes + KB - 1) / KB)
        } else {
            format!("{:.1} MB", bytes as f64 / (KB * KB) as f64)
        }
    }

    pub fn kind_name(kind: AttachmentKind) -> &'static str {
        kind.label()
    }

    /// The clock AR's queue shows, in the customer's words: what AR aims
    /// to do by when, or that it waits on them.
    pub fn sla_lines(clock: &SlaClock) -> Vec<SlaLineView> {
        if clock.resolved {
            return Vec::new();
        }
        if clock.paused {
            return vec![SlaLineView {
                text: "Waiting on you: AR asked you something. Their clock is paused until you answer below.".into(),
                due: None,
                late: false,
            }];
        }
        let line = |target: &TargetClock, aim: &str, late: &str| {
            let breached = target.state == TargetState::Breached;
            SlaLineView {
                text: if breached { late } else { aim }.to_owned(),
                due: target.due.map(super::super::ssr::stamp),
                late: breached,
            }
        };
        let mut lines = Vec::new();
        let reply = std::iter::once(&clock.first_response)
            .chain(clock.next_responses.iter())
            .find(|t| t.met_at.is_none());
        if let Some(target) = reply {
            lines.push(line(
                target,
                "AR aims to reply by",
                "AR's reply is late; it was due by",
            ));
        }
        if clock.resolution.met_at.is_none() {
            lines.push(line(
                &clock.resolution,
                "AR aims to resolve this by",
                "The resolution is late; it was due by",
            ));
        }
        lines
    }

    pub fn outcome(
        outcome: Outcome,
        note: Option<&str>,
        credit: Option<&portal_core::repo::requests::RequestCreditNote>,
    ) -> String {
        match outcome {
            Outcome::CreditNote => match credit {
                Some(c) => format!(
                    "Credit note {} of {} was issued and applied to the invoice.",
                    c.number,
                    Money::new(c.amount_minor, c.currency).display()
                ),
                None => "A credit note was issued.".into(),
            },
            Outcome::CorrectedInvoice => format!(
                "The invoice was corrected. Reference: {}.",
                note.unwrap_or("none given")
            ),
            Outcome::Rejected => format!(
                "AR rejected the dispute. Their reason: {}",
                note.unwrap_or("none given")
            ),
        }
    }
}

/// The dispute form of an invoice (`query` is the page's query string: a
/// problem code brings back the refused draft).
#[server(endpoint = "dispute_form")]
pub async fn dispute_form(
    customer_id: String,
    invoice_id: String,
    query: String,
) -> Result<DisputeFormView, AppError> {
    use super::ssr::{id, mapped, require_contact, services, status};
    use crate::models::requests::{DisputeLineView, ReasonView};
    use portal_core::domain::Money;
    use ssr::draft;

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let invoice_id = id(&invoice_id)?;
    let f = mapped(
        services()?
            .dispute_form(&access, customer_id, invoice_id)
            .await,
    )?;
    let draft = draft(&query, "dispute", invoice_id).await;
    let money = |minor: i64| Money::new(minor, f.currency).display();
    let refusal = if let Some(refusal) = f.refusal.clone() {
        status(http::StatusCode::FORBIDDEN);
        Some(refusal)
    } else if f.voided {
        Some(format!(
            "Invoice {} is void; there is nothing to dispute.",
            f.number
        ))
    } else if f.balance_minor <= 0 && f.open_dispute.is_none() {
        Some(format!(
            "Invoice {} has no open balance, so there is nothing to dispute.",
            f.number
        ))
    } else {
        None
    };
    let d = draft.clone().unwrap_or_default();
    Ok(DisputeFormView {
        customer_id,
        customer_name: f.customer_name,
        invoice_id,
        invoice_href: format!("/accounts/{customer_id}/invoices/{invoice_id}"),
        action: format!("/accounts/{customer_id}/invoices/{invoice_id}/dispute"),
        balance: money(f.balance_minor),
        currency: f.currency.code().to_owned(),
        refusal,
        open_dispute_href: f
            .open_dispute
            .map(|r| format!("/accounts/{customer_id}/requests/{r}")),
        scope: if d.scope.is_empty() {
            "invoice".into()
        } else {
            d.scope.clone()
        },
        lines: f
            .lines
            .iter()
            .map(|l| DisputeLineView {
                invoice_line_id: l.invoice_line_id,
                description: l.description.clone(),
                amount: money(l.total_minor),
                checked: d.line_ids.contains(&l.invoice_line_id),
            })
            .collect(),
        amount: d.amount.clone(),
        reasons: f
            .reasons
            .iter()
            .map(|r| ReasonView {
                selected: r.code == d.reason,
                code: r.code.clone(),
                label: r.label.clone(),
            })
            .collect(),
        message: d.message.clone(),
        number: f.number,
        draft,
    })
}

/// The account's requests, newest first.
#[server(endpoint = "request_list")]
pub async fn request_list(customer_id: String) -> Result<RequestListView, AppError> {
    use super::ssr::{id, mapped, member_customer_name, require_contact, services, stamp};
    use crate::models::requests::RequestRowView;
    use portal_core::domain::Money;
    use ssr::kind_label;

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let customer_name = member_customer_name(&access, customer_id)?;
    let listed = mapped(
        services()?
            .customer_request_list(&access, customer_id)
            .await,
    )?;
    Ok(RequestListView {
        customer_id,
        customer_name,
        requests: listed
            .into_iter()
            .map(|l| {
                let r = l.request;
                RequestRowView {
                    href: format!("/accounts/{customer_id}/requests/{}", r.request_id),
                    kind: kind_label(r.kind).into(),
                    invoice_href: r
                        .invoice_id
                        .map(|i| format!("/accounts/{customer_id}/invoices/{i}")),
                    invoice_number: r.invoice_number,
                    reason: r.reason_label,
                    amount: r
                        .disputed_minor
                        .zip(r.currency)
                        .map(|(minor, c)| Money::new(minor, c).display()),
                    status: r.status.label().into(),
                    status_key: r.status.as_str().into(),
                    opened: stamp(r.opened_at),
                    last_activity: stamp(l.last_activity),
                }
            })
            .collect(),
    })
}

/// One request: record, SLA, thread, outcome and the forms the contact's
/// role and the request's status allow.
#[server(endpoint = "request_page")]
pub async fn request_page(
    customer_id: String,
    request_id: String,
    query: String,
) -> Result<RequestView, AppError> {
    use super::ssr::{id, mapped, require_contact, services, stamp};
    use crate::models::requests::{AttachmentView, ThreadMessageView};
    use portal_core::domain::request::{AuthorKind, RequestKind};
    use portal_core::domain::Money;
    use ssr::{
        draft, file_size, kind_label, kind_name, outcome, query_value, scope_label, sla_lines,
    };

    let access = require_contact()?;
    let customer_id = id(&customer_id)?;
    let request_id = id(&request_id)?;
    let p = mapped(
        services()?
            .customer_request_page(&access, customer_id, request_id)
            .await,
    )?;
    let r = &p.request.request;
    let money = |minor: i64| r.currency.map(|c| Money::new(minor, c).display());
    let form = query_value(&query, "form").unwrap_or_default();
    let draft_of = |name: &str| {
        let name = name.to_owned();
        let form = form.clone();
        let query = query.clone();
        async move {
            if form == name {
                draft(&query, &name, request_id).await
            } else {
                None
            }
        }
    };
    let message_draft = draft_of("message").await;
    let reopen_draft = draft_of("reopen").await;
    let withdraw_problem = draft_of("withdraw").await.map(|d| d.problem);
    let open = r.status.is_open();
    let base = format!("/accounts/{customer_id}/requests/{request_id}");
    let title = match (&r.invoice_number, r.kind) {
        (Some(number), RequestKind::Dispute) => format!("Dispute of invoice {number}"),
        _ => kind_label(r.kind).to_owned(),
    };
    let notice = query_value(&query, "notice").and_then(|n| {
        Some(match n.as_str() {
            "sent" => "Your dispute was sent to AR. The disputed amount is held: it is left out of what you are asked to pay until AR resolves it.",
            "message" => "Your message was sent to AR.",
            "withdrawn" => "The dispute was withdrawn. The whole balance of the invoice is payable again.",
            "reopened" => "The dispute is open again and AR was told.",
            _ => return None,
        }
        .to_owned())
    });
    Ok(RequestView {
        customer_id,
        customer_name: p.customer_name.clone(),
        request_id,
        title,
        kind: kind_label(r.kind).into(),
        status: r.status.label().into(),
        status_key: r.status.as_str().into(),
        invoice_href: r
            .invoice_id
            .map(|i| format!("/accounts/{customer_id}/invoices/{i}")),
        invoice_number: r.invoice_number.clone(),
        scope: r.scope.map(|s| scope_label(s).to_owned()),
        lines: p
            .lines
            .iter()
            .map(|l| {
                (
                    l.description.clone(),
                    money(l.total_minor).unwrap_or_default(),
                )
            })
            .collect(),
        held: r.disputed_minor.and_then(money),
        reason: r.reason_label.clone(),
        opened: stamp(r.opened_at),
        sla: sla_lines(&p.clock),
        outcome: r
            .outcome
            .map(|o| outcome(o, r.outcome_note.as_deref(), p.credit_note.as_ref())),
        balance: p.invoice.map(|i| {
            let balance = Money::new(i.balance_minor, i.currency).display();
            if i.disputed_minor > 0 {
                format!(
                    "{balance}, of which {} is disputed",
                    Money::new(i.disputed_minor, i.currency).display()
                )
            } else {
                balance
            }
        }),
        notice,
        messages: p
            .request
            .messages
            .iter()
            .map(|m| {
                let from_ar = m.author_kind == AuthorKind::Staff;
                let name = m.author_name.clone().unwrap_or_default();
                ThreadMessageView {
                    author: if from_ar {
                        if name.is_empty() {
                            "AR".into()
                        } else {
                            format!("AR · {name}")
                        }
                    } else if m.author_id == access.contact_id {
                        "You".into()
                    } else {
                        name
                    },
                    from_ar,
                    at: stamp(m.created_at),
                    body: m.body.clone(),
                    attachments: m
                        .attachments
                        .iter()
                        .map(|a| AttachmentView {
                            href: format!("{base}/attachments/{}", a.attachment_id),
                            name: a.display_name.clone(),
                            kind: kind_name(a.kind).into(),
                            size: file_size(a.size_bytes),
                        })
                        .collect(),
                }
            })
            .collect(),
        message_action: (p.may_write && open).then(|| format!("{base}/messages")),
        withdraw_action: (p.may_write && open && r.kind == RequestKind::Dispute)
            .then(|| format!("{base}/withdraw")),
        reopen_action: (p.may_write && p.reopen_until.is_some()).then(|| format!("{base}/reopen")),
        reopen_until: p.reopen_until.map(stamp),
        read_only_note: (!p.may_write).then(|| {
            "Your role on this account lets you read requests, not write to AR or change them."
                .to_owned()
        }),
        message_draft,
        reopen_draft,
        withdraw_problem,
    })
}
