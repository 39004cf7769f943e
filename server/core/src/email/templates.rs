//! The words of our emails: a plain-text and an HTML part, both naming the
//! seller, so mail clients and screen readers get the same message.

use super::html_escape;

/// The HTML part's document around `body` (already escaped HTML).
fn html_document(subject: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{}</title></head>
<body style="font-family: system-ui, sans-serif; color: #1f2937; line-height: 1.5;">
{body}
</body></html>"#,
        html_escape(subject)
    )
}

pub struct RenderedEmail {
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

impl RenderedEmail {
    /// The outbox row that sends this email to `to`.
    pub fn addressed_to<'a>(&'a self, to: &'a str) -> crate::repo::outbox::NewEmail<'a> {
        crate::repo::outbox::NewEmail {
            to,
            subject: &self.subject,
            text_body: &self.text_body,
            html_body: &self.html_body,
        }
    }
}

pub struct SignInEmail<'a> {
    pub seller_name: &'a str,
    pub recipient_name: &'a str,
    pub link: &'a str,
    pub valid_minutes: u64,
    /// "billing portal" for customers, "AR workspace" for staff.
    pub area_name: &'a str,
}

pub fn sign_in_email(e: &SignInEmail<'_>) -> RenderedEmail {
    let subject = format!(
        "Your sign-in link for the {} {}",
        e.seller_name, e.area_name
    );
    let text_body = format!(
        "Hello {name},\n\n\
         Use this link to sign in to the {seller} {area}:\n\n{link}\n\n\
         The link works once and expires in {minutes} minutes. It opens a page with a \
         \"Sign in\" button; nothing happens until you press it.\n\n\
         If you did not ask to sign in, you can ignore this email: nobody can sign in without it.\n\n\
         {seller}\n",
        name = e.recipient_name,
        seller = e.seller_name,
        area = e.area_name,
        link = e.link,
        minutes = e.valid_minutes,
    );
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello {name},</p>
<p>Use this button to sign in to the {seller} {area}:</p>
<p><a href="{link}" style="display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; border-radius: 6px; text-decoration: none;">Sign in to {seller}</a></p>
<p>Or copy this address into your browser:<br><span style="word-break: break-all;">{link}</span></p>
<p>The link works once and expires in {minutes} minutes. It opens a page with a "Sign in" button; nothing happens until you press it.</p>
<p>If you did not ask to sign in, you can ignore this email: nobody can sign in without it.</p>
<p>{seller}</p>"#,
            name = html_escape(e.recipient_name),
            seller = html_escape(e.seller_name),
            area = html_escape(e.area_name),
            link = html_escape(e.link),
            minutes = e.valid_minutes,
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

pub struct InvoiceLinkEmail<'a> {
    pub seller_name: &'a str,
    pub invoice_number: &'a str,
    pub amount_due: &'a str,
    pub due_date: &'a str,
    pub link: &'a str,
    pub valid_until: &'a str,
}

/// A fresh link to one invoice, asked for from an expired or revoked link.
pub fn invoice_link_email(e: &InvoiceLinkEmail<'_>) -> RenderedEmail {
    let subject = format!("Invoice {} from {}", e.invoice_number, e.seller_name);
    let text_body = format!(
        "Hello,\n\n\
         Here is a new link to invoice {number} ({amount} due {due}):\n\n{link}\n\n\
         It shows this invoice and its PDF without signing in, until {until}. \
         To see your whole account, use \"Sign in\" on that page.\n\n\
         Someone opened an old link to this invoice and asked for a new one. If that was \
         not you, you can ignore this email.\n\n{seller}\n",
        number = e.invoice_number,
        amount = e.amount_due,
        due = e.due_date,
        link = e.link,
        until = e.valid_until,
        seller = e.seller_name,
    );
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello,</p>
<p>Here is a new link to invoice {number} ({amount} due {due}):</p>
<p><a href="{link}" style="display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; border-radius: 6px; text-decoration: none;">View invoice {number}</a></p>
<p>Or copy this address into your browser:<br><span style="word-break: break-all;">{link}</span></p>
<p>It shows this invoice and its PDF without signing in, until {until}. To see your whole account, use "Sign in" on that page.</p>
<p>Someone opened an old link to this invoice and asked for a new one. If that was not you, you can ignore this email.</p>
<p>{seller}</p>"#,
            number = html_escape(e.invoice_number),
            amount = html_escape(e.amount_due),
            due = html_escape(e.due_date),
            link = html_escape(e.link),
            until = html_escape(e.valid_until),
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

pub struct PaymentEmail<'a> {
    pub seller_name: &'a str,
    pub customer_name: &'a str,
    pub reference: &'a str,
    pub amount: &'a str,
    pub method: &'a str,
    pub date: &'a str,
    /// (invoice number, amount) per invoice paid.
    pub allocations: &'a [(String, String)],
    /// The payment's page; `None` for a payment made through an invoice
    /// link, whose reader may have no account to sign in to (the mail is
    /// then the receipt).
    pub receipt_link: Option<&'a str>,
}

/// The receipt sent when a payment succeeds.
pub fn payment_receipt_email(e: &PaymentEmail<'_>) -> RenderedEmail {
    let subject = format!(
        "Receipt {} from {}: {} received",
        e.reference, e.seller_name, e.amount
    );
    let lines_text: String = e
        .allocations
        .iter()
        .map(|(number, amount)| format!("  Invoice {number}: {amount}\n"))
        .collect();
    let text_body = format!(
        "Hello,\n\n\
         Thank you: we received {amount} from {customer} on {date} by {method}.\n\n\
         Applied to:\n{lines_text}\n\
         {receipt}\n\n\
         {seller}\n",
        amount = e.amount,
        customer = e.customer_name,
        date = e.date,
        method = e.method,
        receipt = match e.receipt_link {
            Some(link) => format!("Receipt {}, with a PDF copy:\n{link}", e.reference),
            None => format!("Keep this email as receipt {}.", e.reference),
        },
        seller = e.seller_name,
    );
    let rows: String = e
        .allocations
        .iter()
        .map(|(number, amount)| {
            format!(
                "<tr><th scope=\"row\" style=\"text-align: left; padding: 4px 12px 4px 0;\">Invoice {}</th><td style=\"text-align: right;\">{}</td></tr>",
                html_escape(number),
                html_escape(amount)
            )
        })
        .collect();
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello,</p>
<p>Thank you: we received <strong>{amount}</strong> from {customer} on {date} by {method}.</p>
<table style="border-collapse: collapse;"><caption style="text-align: left; font-weight: bold;">Applied to</caption>{rows}</table>
{receipt}
<p>{seller}</p>"#,
            amount = html_escape(e.amount),
            customer = html_escape(e.customer_name),
            date = html_escape(e.date),
            method = html_escape(e.method),
            receipt = match e.receipt_link {
                Some(link) => format!(
                    r#"<p><a href="{}" style="display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; border-radius: 6px; text-decoration: none;">View receipt {}</a></p>"#,
                    html_escape(link),
                    html_escape(e.reference)
                ),
                None => format!(
                    "<p>Keep this email as receipt {}.</p>",
                    html_escape(e.reference)
                ),
            },
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

/// Sent when an ACH debit fails after it was submitted.
pub fn payment_failed_email(e: &PaymentEmail<'_>, reason: &str) -> RenderedEmail {
    let subject = format!("Payment {} to {} failed", e.reference, e.seller_name);
    let text_body = format!(
        "Hello,\n\n\
         The {method} payment of {amount} from {customer} did not go through: {reason}\n\n\
         Nothing was taken, and the invoices are open again. {again}\n\n\
         {seller}\n",
        method = e.method,
        amount = e.amount,
        customer = e.customer_name,
        again = match e.receipt_link {
            Some(link) => format!("You can pay them here:\n{link}"),
            None => "To pay again, open the invoice link in the email you paid from.".to_owned(),
        },
        seller = e.seller_name,
    );
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello,</p>
<p>The {method} payment of <strong>{amount}</strong> from {customer} did not go through: {reason}</p>
<p>Nothing was taken, and the invoices are open again.</p>
{again}
<p>{seller}</p>"#,
            method = html_escape(e.method),
            amount = html_escape(e.amount),
            customer = html_escape(e.customer_name),
            reason = html_escape(reason),
            again = match e.receipt_link {
                Some(link) => format!(
                    r#"<p><a href="{}">Pay the invoices again</a></p>"#,
                    html_escape(link)
                ),
                None => "<p>To pay again, open the invoice link in the email you paid from.</p>"
                    .to_owned(),
            },
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

/// What happened on a request, as its customer is told.
pub enum RequestUpdate<'a> {
    /// AR wrote to the customer; the reply is quoted (it is already
    /// customer-visible in the thread).
    Reply { message: &'a str },
    /// AR asked something and waits for the customer's answer.
    WaitingOnYou,
    /// AR resolved the request; `outcome` is the outcome in words.
    Resolved { outcome: &'a str },
}

pub struct RequestUpdateEmail<'a> {
    pub seller_name: &'a str,
    pub recipient_name: &'a str,
    /// "your dispute of invoice INV-1001"
    pub request_label: &'a str,
    pub link: &'a str,
}

/// To the customer's contact when AR replies, waits on them or resolves.
pub fn request_update_email(
    e: &RequestUpdateEmail<'_>,
    update: &RequestUpdate<'_>,
) -> RenderedEmail {
    let (subject, lead, quoted) = match update {
        RequestUpdate::Reply { message } => (
            format!("{} replied to {}", e.seller_name, e.request_label),
            format!("{} replied to {}:", e.seller_name, e.request_label),
            Some(*message),
        ),
        RequestUpdate::WaitingOnYou => (
            format!("{} needs your answer on {}", e.seller_name, e.request_label),
            format!(
                "{} is waiting for your answer on {}. Its clock is paused until you reply in the portal.",
                e.seller_name, e.request_label
            ),
            None,
        ),
        RequestUpdate::Resolved { outcome } => (
            format!("{} resolved {}", e.seller_name, e.request_label),
            format!("{} resolved {}: {outcome}", e.seller_name, e.request_label),
            None,
        ),
    };
    customer_thread_email(
        e.seller_name,
        e.recipient_name,
        &subject,
        &lead,
        quoted,
        "Read the whole thread and answer here",
        "Read the thread",
        e.link,
    )
}

/// A mail to a customer's contact about their thread: the greeting, `lead`,
/// AR's words quoted when there are some, a button (`button`; `call` in the
/// text part) to `link`, and the note that replies are not read.
fn customer_thread_email(
    seller_name: &str,
    recipient_name: &str,
    subject: &str,
    lead: &str,
    quoted: Option<&str>,
    call: &str,
    button: &str,
    link: &str,
) -> RenderedEmail {
    let subject = upper_first(subject);
    let quoted_text: String = quoted
        .map(|m| m.lines().map(|l| format!("> {l}\n")).collect::<String>() + "\n")
        .unwrap_or_default();
    let text_body = format!(
        "Hello {recipient_name},\n\n{lead}\n\n{quoted_text}{call}:\n{link}\n\n\
         Replies to this email are not read; please write in the portal.\n\n{seller_name}\n",
    );
    let quoted_html = quoted
        .map(|m| {
            format!(
                "<blockquote style=\"margin: 0 0 1em; padding-left: 12px; border-left: 3px solid #d1d5db; white-space: pre-wrap;\">{}</blockquote>\n",
                html_escape(m)
            )
        })
        .unwrap_or_default();
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello {name},</p>
<p>{lead}</p>
{quoted_html}<p><a href="{link}" style="display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; border-radius: 6px; text-decoration: none;">{button}</a></p>
<p>Or copy this address into your browser:<br><span style="word-break: break-all;">{link}</span></p>
<p>Replies to this email are not read; please write in the portal.</p>
<p>{seller}</p>"#,
            name = html_escape(recipient_name),
            lead = html_escape(lead),
            button = html_escape(button),
            link = html_escape(link),
            seller = html_escape(seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

/// What happened on a request, as AR is told.
pub enum StaffAlert<'a> {
    /// A customer raised a dispute of `amount` for `reason`.
    NewDispute {
        amount: &'a str,
        reason: &'a str,
        message: &'a str,
    },
    /// A customer wrote on an open request.
    CustomerMessage { message: &'a str },
    /// A customer reopened a resolved request.
    Reopened { message: &'a str },
}

pub struct StaffAlertEmail<'a> {
    pub seller_name: &'a str,
    pub recipient_name: &'a str,
    pub customer_name: &'a str,
    /// "dispute of invoice INV-1001"
    pub request_label: &'a str,
    pub link: &'a str,
}

/// To the assignee (or every active staff user when unassigned) when a
/// customer raises, writes on or reopens a request.
pub fn staff_alert_email(e: &StaffAlertEmail<'_>, alert: &StaffAlert<'_>) -> RenderedEmail {
    let (subject, lead, message) = match alert {
        StaffAlert::NewDispute {
            amount,
            reason,
            message,
        } => (
            format!("New {} from {}", e.request_label, e.customer_name),
            format!(
                "{} raised a {} for {amount}. Reason: {reason}.",
                e.customer_name, e.request_label
            ),
            *message,
        ),
        StaffAlert::CustomerMessage { message } => (
            format!("{} wrote on their {}", e.customer_name, e.request_label),
            format!("{} wrote on their {}:", e.customer_name, e.request_label),
            *message,
        ),
        StaffAlert::Reopened { message } => (
            format!("{} reopened their {}", e.customer_name, e.request_label),
            format!(
                "{} reopened their {}; it is open again and its disputed amount is held again:",
                e.customer_name, e.request_label
            ),
            *message,
        ),
    };
    staff_request_email(e, subject, &lead, Some(message))
}

/// A mail to AR about a request: the greeting, `lead`, the customer's
/// `message` quoted when there is one, and the button to the request.
fn staff_request_email(
    e: &StaffAlertEmail<'_>,
    subject: String,
    lead: &str,
    message: Option<&str>,
) -> RenderedEmail {
    let quoted_text: String = message
        .map(|m| m.lines().map(|l| format!("> {l}\n")).collect::<String>() + "\n")
        .unwrap_or_default();
    let text_body = format!(
        "Hello {name},\n\n{lead}\n\n{quoted_text}Open the request in the AR workspace:\n{link}\n\n{seller} AR workspace\n",
        name = e.recipient_name,
        link = e.link,
        seller = e.seller_name,
    );
    let quoted_html = message
        .map(|m| {
            format!(
                "<blockquote style=\"margin: 0 0 1em; padding-left: 12px; border-left: 3px solid #d1d5db; white-space: pre-wrap;\">{}</blockquote>\n",
                html_escape(m)
            )
        })
        .unwrap_or_default();
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello {name},</p>
<p>{lead}</p>
{quoted_html}<p><a href="{link}" style="display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; border-radius: 6px; text-decoration: none;">Open the request</a></p>
<p>Or copy this address into your browser:<br><span style="word-break: break-all;">{link}</span></p>
<p>{seller} AR workspace</p>"#,
            name = html_escape(e.recipient_name),
            lead = html_escape(lead),
            link = html_escape(e.link),
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

/// A subject starts with a capital even when the seller's name does not.
fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_link_and_the_seller() {
        let m = sign_in_email(&SignInEmail {
            seller_name: "Acme <Supply>",
            recipient_name: "Ana",
            link: "http://x/auth/confirm?token=abc&x=1",
            valid_minutes: 10,
            area_name: "billing portal",
        });
        assert!(m.text_body.contains("http://x/auth/confirm?token=abc&x=1"));
        assert!(m
            .html_body
            .contains("http://x/auth/confirm?token=abc&amp;x=1"));
        assert!(
            m.html_body.contains("Acme &lt;Supply&gt;") && !m.html_body.contains("Acme <Supply>")
        );
        assert!(m.subject.contains("Acme <Supply> billing portal"));
    }
    #[test]
    fn request_emails_escape_the_html_part_and_carry_the_link() {
        let m = request_update_email(
            &RequestUpdateEmail {
                seller_name: "Acme <Supply>",
                recipient_name: "Ana",
                request_label: "your dispute of invoice INV-1",
                link: "http://x/accounts/1/requests/2",
            },
            &RequestUpdate::Reply {
                message: "<b>Credit</b> on its way",
            },
        );
        assert!(m.text_body.contains("http://x/accounts/1/requests/2"));
        assert!(m.text_body.contains("> <b>Credit</b> on its way"));
        assert!(m.html_body.contains("&lt;b&gt;Credit"));
        assert!(!m.html_body.contains("<b>Credit"));
        assert!(m.html_body.contains("Acme &lt;Supply&gt;"));

        let a = staff_alert_email(
            &StaffAlertEmail {
                seller_name: "Acme",
                recipient_name: "Sam",
                customer_name: "Bad <Co>",
                request_label: "dispute of invoice INV-1",
                link: "http://x/staff/requests/2",
            },
            &StaffAlert::CustomerMessage {
                message: "hi & bye",
            },
        );
        assert!(a.subject.contains("Bad <Co>"));
        assert!(a.html_body.contains("Bad &lt;Co&gt;") && a.html_body.contains("hi &amp; bye"));
        assert!(a.text_body.contains("http://x/staff/requests/2"));
    }
}

/// An SLA alert (issue 11 item 5): a target of a request reached its
/// warning share, or its due instant passed unanswered.
pub struct SlaAlertNotice<'a> {
    pub breached: bool,
    /// "first response", "response to the customer's message 2", "resolution"
    pub target: &'a str,
    /// The due instant in the business calendar's zone, as words.
    pub due: &'a str,
    pub used_minutes: i64,
    pub target_minutes: i64,
}

/// "3 h 12 min", "45 min", "8 h": business time as a person reads it.
fn business_time(minutes: i64) -> String {
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (hours, minutes) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// To the assignee (or every active staff user when unassigned), sent by
/// the SLA alert job inside business hours only.
pub fn sla_alert_email(e: &StaffAlertEmail<'_>, n: &SlaAlertNotice<'_>) -> RenderedEmail {
    let (subject, lead) = if n.breached {
        (
            format!(
                "SLA breached: {} of {}'s {} was due {}",
                n.target, e.customer_name, e.request_label, n.due
            ),
            format!(
                "The {} of {}'s {} was due {} and is late: its target of {} business time has passed. \
                 The breach stays in the record; answering now still shortens the customer's wait.",
                n.target,
                e.customer_name,
                e.request_label,
                n.due,
                business_time(n.target_minutes)
            ),
        )
    } else {
        let left = (n.target_minutes - n.used_minutes).max(0);
        (
            format!(
                "SLA at risk: {} of {}'s {} is due {}",
                n.target, e.customer_name, e.request_label, n.due
            ),
            format!(
                "The {} of {}'s {} is due {}: {} of its {} business time is left.",
                n.target,
                e.customer_name,
                e.request_label,
                n.due,
                business_time(left),
                business_time(n.target_minutes)
            ),
        )
    };
    staff_request_email(e, subject, &lead, None)
}

// ---------------------------------------------------------------------------
// AR's decision on a payment plan (issue 12)
// ---------------------------------------------------------------------------

/// What AR decided on a customer's payment plan, as the customer is told.
pub enum PlanDecision<'a> {
    /// AR approved the customer's terms: the plan is active.
    Approved { note: Option<&'a str> },
    /// AR proposes other terms (`terms` in words); the customer accepts or
    /// declines them on the plan page.
    Countered {
        terms: &'a str,
        message: Option<&'a str>,
    },
    /// AR declined the plan, for `reason`.
    Declined { reason: &'a str },
}

pub struct PlanDecisionEmail<'a> {
    pub seller_name: &'a str,
    pub recipient_name: &'a str,
    /// "your payment plan for INV-1001 and INV-1002"
    pub plan_label: &'a str,
    /// The customer's plan page.
    pub link: &'a str,
}

/// To the contact who proposed (or asked for) a plan when AR approves,
/// counters or declines it. The link goes to the plan page, where a
/// counter is accepted or declined.
pub fn plan_decision_email(
    e: &PlanDecisionEmail<'_>,
    decision: &PlanDecision<'_>,
) -> RenderedEmail {
    let (subject, lead, quoted, button) = match decision {
        PlanDecision::Approved { note } => (
            format!("{} approved {}", e.seller_name, e.plan_label),
            format!(
                "{} approved {}. It is active: pay each instalment by its date on the plan page.",
                e.seller_name, e.plan_label
            ),
            *note,
            "See the plan",
        ),
        PlanDecision::Countered { terms, message } => (
            format!("{} proposes other terms for {}", e.seller_name, e.plan_label),
            format!(
                "{} proposes other terms for {}: {terms} Accept or decline them on the plan page; nothing changes until you do.",
                e.seller_name, e.plan_label
            ),
            *message,
            "Review the terms",
        ),
        PlanDecision::Declined { reason } => (
            format!("{} declined {}", e.seller_name, e.plan_label),
            format!(
                "{} declined {}. The invoices are due as before.",
                e.seller_name, e.plan_label
            ),
            Some(*reason),
            "See the plan",
        ),
    };
    customer_thread_email(
        e.seller_name,
        e.recipient_name,
        &subject,
        &lead,
        quoted,
        button,
        button,
        e.link,
    )
}

// ---------------------------------------------------------------------------
// A running payment plan, and plan news for AR (issue 12)
// ---------------------------------------------------------------------------

/// What happened to a customer's running plan, as the customer is told.
pub enum PlanProgress<'a> {
    /// An instalment is late past the grace period.
    AtRisk { late: &'a str, days_late: i64 },
    /// An at-risk plan caught up.
    BackOnTrack,
    /// Late past the second limit: the plan ended, the balance is due.
    Defaulted { balance: &'a str },
    /// Everything paid.
    Completed,
}

/// To the contact who proposed (or asked for) the plan when the plan job
/// moves it. `e.link` is the plan page.
pub fn plan_progress_email(
    e: &PlanDecisionEmail<'_>,
    progress: &PlanProgress<'_>,
) -> RenderedEmail {
    let (subject, lead, button) = match progress {
        PlanProgress::AtRisk { late, days_late } => (
            format!("{} is at risk", e.plan_label),
            format!(
                "An instalment of {} is {days_late} days late: {late} is still to pay. \
                 Please pay it on the plan page, or write to {} there if you cannot; \
                 if it stays unpaid, the plan ends and the whole balance is due again.",
                e.plan_label, e.seller_name
            ),
            "Pay the instalment",
        ),
        PlanProgress::BackOnTrack => (
            format!("{} is back on track", e.plan_label),
            format!(
                "Thank you: {} has caught up and is active again.",
                e.plan_label
            ),
            "See the plan",
        ),
        PlanProgress::Defaulted { balance } => (
            format!("{} has ended unpaid", e.plan_label),
            format!(
                "An instalment of {} stayed unpaid past the limit, so the plan has ended and \
                 the open balance of {balance} is due again. Write to {} on the plan page to \
                 talk it over.",
                e.plan_label, e.seller_name
            ),
            "See the plan",
        ),
        PlanProgress::Completed => (
            format!("{} is paid in full", e.plan_label),
            format!("Thank you: {} is paid in full and completed.", e.plan_label),
            "See the plan",
        ),
    };
    let subject = upper_first(&subject);
    let lead = upper_first(&lead);
    let text_body = format!(
        "Hello {name},\n\n{lead}\n\n{button}:\n{link}\n\n\
         Replies to this email are not read; please write in the portal.\n\n{seller}\n",
        name = e.recipient_name,
        link = e.link,
        seller = e.seller_name,
    );
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello {name},</p>
<p>{lead}</p>
<p><a href="{link}" style="display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; border-radius: 6px; text-decoration: none;">{button}</a></p>
<p>Or copy this address into your browser:<br><span style="word-break: break-all;">{link}</span></p>
<p>Replies to this email are not read; please write in the portal.</p>
<p>{seller}</p>"#,
            name = html_escape(e.recipient_name),
            lead = html_escape(&lead),
            link = html_escape(e.link),
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

/// Plan news for AR.
pub enum PlanStaffNews<'a> {
    /// A customer proposed terms the policy left to AR (`why` in words).
    Proposed { total: &'a str, why: &'a str },
    /// A customer asked AR to propose a plan.
    Requested { total: &'a str, message: &'a str },
    /// The customer accepted AR's terms: the plan is active.
    TermsAccepted,
    /// The customer declined AR's terms.
    TermsDeclined { message: Option<&'a str> },
    /// A plan went at risk (back in the queue).
    AtRisk { late: &'a str, days_late: i64 },
    /// A plan defaulted: the balance is due again.
    Defaulted { balance: &'a str },
}

/// To the plan request's assignee (or every active staff user while it is
/// unassigned). `e.request_label` names the plan, `e.link` its request.
pub fn plan_staff_email(e: &StaffAlertEmail<'_>, news: &PlanStaffNews<'_>) -> RenderedEmail {
    let (subject, lead, quoted) = match news {
        PlanStaffNews::Proposed { total, why } => (
            format!("{} proposed a payment plan of {total}", e.customer_name),
            format!(
                "{} proposed a payment plan of {total} that needs your decision: {why}",
                e.customer_name
            ),
            None,
        ),
        PlanStaffNews::Requested { total, message } => (
            format!("{} asks for a payment plan of {total}", e.customer_name),
            format!(
                "{} asks you to propose a payment plan for {total}:",
                e.customer_name
            ),
            Some(*message),
        ),
        PlanStaffNews::TermsAccepted => (
            format!("{} accepted the terms of {}", e.customer_name, e.request_label),
            format!(
                "{} accepted your terms; the plan is active.",
                e.customer_name
            ),
            None,
        ),
        PlanStaffNews::TermsDeclined { message } => (
            format!("{} declined the terms of {}", e.customer_name, e.request_label),
            format!("{} declined your terms; the plan is closed.", e.customer_name),
            *message,
        ),
        PlanStaffNews::AtRisk { late, days_late } => (
            format!("{} of {} is at risk", e.request_label, e.customer_name),
            format!(
                "An instalment is {days_late} days late ({late} still to pay); the plan request is back in the queue."
            ),
            None,
        ),
        PlanStaffNews::Defaulted { balance } => (
            format!("{} of {} defaulted", e.request_label, e.customer_name),
            format!(
                "The plan defaulted: its invoices left the plan and {balance} is due again."
            ),
            None,
        ),
    };
    staff_request_email(e, upper_first(&subject), &upper_first(&lead), quoted)
}

/// The notice before an autopay debit (issue 12), with the link that
/// skips that one debit.
pub struct AutopayNoticeEmail<'a> {
    pub seller_name: &'a str,
    pub customer_name: &'a str,
    /// "invoice INV-1042".
    pub what: &'a str,
    pub amount: &'a str,
    /// "visa ending 4242".
    pub method: &'a str,
    /// "December 9, 2026".
    pub charge_on: &'a str,
    pub skip_link: &'a str,
    pub autopay_link: &'a str,
}

pub fn autopay_notice_email(e: &AutopayNoticeEmail<'_>) -> RenderedEmail {
    let subject = format!(
        "Autopay will pay {} on {} for {}",
        e.amount, e.charge_on, e.customer_name
    );
    let text_body = format!(
        "Hello,\n\n\
         As {customer} agreed, autopay will charge {amount} to the {method} on {date} for {what} from {seller}.\n\n\
         To skip this one payment (autopay stays on for the others), open:\n{skip}\n\n\
         To change or cancel autopay:\n{manage}\n\n\
         {seller}\n",
        customer = e.customer_name,
        amount = e.amount,
        method = e.method,
        date = e.charge_on,
        what = e.what,
        seller = e.seller_name,
        skip = e.skip_link,
        manage = e.autopay_link,
    );
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello,</p>
<p>As {customer} agreed, autopay will charge <strong>{amount}</strong> to the {method} on <strong>{date}</strong> for {what} from {seller}.</p>
<p><a href="{skip}">Skip this one payment</a> (autopay stays on for the others).</p>
<p><a href="{manage}">Change or cancel autopay</a></p>
<p>{seller}</p>"#,
            customer = html_escape(e.customer_name),
            amount = html_escape(e.amount),
            method = html_escape(e.method),
            date = html_escape(e.charge_on),
            what = html_escape(e.what),
            seller = html_escape(e.seller_name),
            skip = html_escape(e.skip_link),
            manage = html_escape(e.autopay_link),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}

/// A payment reminder (issue 13): the step's subject and body, already
/// rendered from AR's templates (`domain::reminder::render_body`, text and
/// escaped HTML), with the seller's name under it.
pub struct ReminderEmail<'a> {
    pub seller_name: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
}

pub fn reminder_email(e: &ReminderEmail<'_>) -> RenderedEmail {
    let text_body = format!(
        "{body}\n\n{seller}\n\nEvery link in this email leads to the {seller} billing portal.\n",
        body = e.body_text.trim_end(),
        seller = e.seller_name,
    );
    let html_body = html_document(
        e.subject,
        &format!(
            "{body}\n<p>{seller}</p>\n<p style=\"color: #6b7280; font-size: 0.9em;\">Every link in this email leads to the {seller} billing portal.</p>",
            body = e.body_html,
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject: e.subject.to_owned(),
        text_body,
        html_body,
    }
}

/// A promise to pay that was not kept (issue 13): reminders resume.
pub struct PromiseEndedEmail<'a> {
    pub seller_name: &'a str,
    pub recipient_name: &'a str,
    pub customer_name: &'a str,
    /// "March 20, 2027".
    pub promised_on: &'a str,
    /// "USD 1,200.00".
    pub promised: &'a str,
    /// "USD 400.00" when part was paid.
    pub paid: Option<&'a str>,
    pub invoices: &'a str,
    pub link: &'a str,
}

pub fn promise_ended_email(e: &PromiseEndedEmail<'_>) -> RenderedEmail {
    let subject = format!(
        "Your promise to pay {} by {} was not kept",
        e.promised, e.promised_on
    );
    let what = match e.paid {
        Some(paid) => format!("we have received {paid} of it so far"),
        None => "we have not received the payment".to_owned(),
    };
    let text_body = format!(
        "Hello {name},\n\n\
         {customer} promised to pay {promised} by {date} for {invoices}, and {what}. \
         Payment reminders for these invoices start again.\n\n\
         Pay now or make a new arrangement here:\n{link}\n\n\
         If you have paid in the meantime, thank you, and please ignore this email.\n\n\
         {seller}\n",
        name = e.recipient_name,
        customer = e.customer_name,
        promised = e.promised,
        date = e.promised_on,
        invoices = e.invoices,
        link = e.link,
        seller = e.seller_name,
    );
    let html_body = html_document(
        &subject,
        &format!(
            r#"<p>Hello {name},</p>
<p>{customer} promised to pay <strong>{promised}</strong> by <strong>{date}</strong> for {invoices}, and {what}. Payment reminders for these invoices start again.</p>
<p><a href="{link}">Pay now or make a new arrangement</a></p>
<p>If you have paid in the meantime, thank you, and please ignore this email.</p>
<p>{seller}</p>"#,
            name = html_escape(e.recipient_name),
            customer = html_escape(e.customer_name),
            promised = html_escape(e.promised),
            date = html_escape(e.promised_on),
            invoices = html_escape(e.invoices),
            what = html_escape(&what),
            link = html_escape(e.link),
            seller = html_escape(e.seller_name),
        ),
    );
    RenderedEmail {
        subject,
        text_body,
        html_body,
    }
}
