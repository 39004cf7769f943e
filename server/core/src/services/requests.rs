//! Customer requests (issue 11), the customer's side: raising a dispute on
//! an invoice, reading one's requests and their thread, downloading a file,
//! adding a message, withdrawing. Each write is one transaction with its SLA
//! event and audit event. AR's side (queue, replies, resolution) comes next.

use chrono::{DateTime, Utc};

use super::access::ContactAccess;
use super::invoices::Download;
use super::Services;
use crate::domain::attachment::{
    check_message_files, scan_checked, stored_name, CheckedUpload, NoScan, VirusScan,
};
use crate::domain::audit::Action;
use crate::domain::request::{
    disputed_minor, AuthorKind, DisputeScope, RequestKind, RequestStatus, Visibility,
};
use crate::domain::sla::{sla_clock, SlaClock};
use crate::domain::sla::{Priority, SlaEvent, SlaEventKind};
use crate::domain::Money;
use crate::email::templates::{
    request_update_email, staff_alert_email, RequestUpdate, RequestUpdateEmail, StaffAlert,
    StaffAlertEmail,
};
use crate::error::{ResultExt, ServiceError, ServiceResult};
use crate::repo::accounts::MembershipRow;
use crate::repo::audit::{self, AuditEvent};
use crate::repo::requests::{
    self as repo, DisputeLine, InvoiceMoney, MessageRow, NewAttachment, NewMessage, NewRequest,
    ReasonRow, RequestCreditNote, RequestRow,
};
use crate::repo::{outbox, Conn};

/// A message's text is capped: a thread is read on a page, and a longer
/// statement belongs in an attached document.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// The dispute form, as sent. `files` are (claimed name, bytes) in the
/// order attached; nothing about them is trusted.
#[derive(Clone, Debug)]
pub struct RaiseDispute {
    pub scope: DisputeScope,
    /// The invoice lines disputed, for [`DisputeScope::Lines`] (ignored
    /// otherwise).
    pub line_ids: Vec<i64>,
    /// The amount typed, for [`DisputeScope::Amount`] (ignored otherwise).
    pub amount_text: String,
    pub reason_code: String,
    pub message: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// A request as its customer sees it: the record, the disputed lines and
/// the customer-visible thread (internal notes are never read for it).
#[derive(Clone, Debug)]
pub struct CustomerRequest {
    pub request: RequestRow,
    pub line_ids: Vec<i64>,
    pub messages: Vec<MessageRow>,
}

/// The dispute form of one invoice, as the customer's page shows it.
#[derive(Clone, Debug)]
pub struct DisputeForm {
    pub customer_name: String,
    pub invoice_id: i64,
    pub number: String,
    pub currency: crate::domain::Currency,
    /// What can be disputed at most (the open balance).
    pub balance_minor: i64,
    pub voided: bool,
    pub lines: Vec<DisputeLine>,
    pub reasons: Vec<ReasonRow>,
    /// The invoice's dispute still open: the form is not offered then.
    pub open_dispute: Option<i64>,
    /// Why this contact may not dispute (a viewer's role), in words.
    pub refusal: Option<String>,
}

/// One of the account's requests with its latest customer-visible activity.
#[derive(Clone, Debug)]
pub struct ListedRequest {
    pub request: RequestRow,
    pub last_activity: DateTime<Utc>,
}

/// Everything the customer's request page shows.
#[derive(Clone, Debug)]
pub struct CustomerRequestPage {
    pub customer_name: String,
    /// Payers and admins write, withdraw and reopen; viewers only read.
    pub may_write: bool,
    pub request: CustomerRequest,
    /// The disputed lines, described.
    pub lines: Vec<DisputeLine>,
    /// The SLA clock as AR's queue computes it (same settings, same fold).
    pub clock: SlaClock,
    /// The invoice's balance and hold now.
    pub invoice: Option<InvoiceMoney>,
    /// The credit note of a credit-note resolution.
    pub credit_note: Option<RequestCreditNote>,
    /// Until when a resolved dispute can be reopened, while it still can.
    pub reopen_until: Option<DateTime<Utc>>,
}

/// Files checked and scanned, ready to store with their bytes.
struct AcceptedFiles<'a> {
    uploads: Vec<(CheckedUpload, &'a [u8])>,
}

/// The membership of a contact who may act on the account's requests:
/// raising, writing and withdrawing are for the roles that may pay.
pub(super) fn require_requester(
    access: &ContactAccess,
    customer_id: i64,
) -> ServiceResult<&MembershipRow> {
    let membership = access
        .membership(customer_id)
        .ok_or(ServiceError::NotFound)?;
    if !membership.role.can_pay() {
        return Err(ServiceError::Forbidden(format!(
            "Your role on {} lets you view invoices but not dispute them or write to AR. \
             An admin of the account can give you the payer role.",
            membership.customer_name
        )));
    }
    Ok(membership)
}

/// Any member may read the account's requests.
fn require_member(access: &ContactAccess, customer_id: i64) -> ServiceResult<&MembershipRow> {
    access.membership(customer_id).ok_or(ServiceError::NotFound)
}

pub(super) fn checked_message(message: &str) -> ServiceResult<&str> {
    let body = message.trim();
    if body.is_empty() {
        return Err(ServiceError::invalid_field(
            "message",
            "Write a message saying what is wrong, so AR can look into it.",
        ));
    }
    if body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ServiceError::invalid_field(
            "message",
            format!(
                "A message can be at most {MAX_MESSAGE_CHARS} characters; attach a longer text as a PDF."
            ),
        ));
    }
    Ok(body)
}

/// The content rules, then the scanner; every problem named, in file
/// order, and nothing accepted when any file fails.
fn checked_files<'a>(
    scanner: &dyn VirusScan,
    files: &'a [(String, Vec<u8>)],
) -> ServiceResult<AcceptedFiles<'a>> {
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    let refused = |problems: Vec<String>| {
        ServiceError::invalid_field(
            "files",
            format!("{}. Nothing was sent.", problems.join("; ")),
        )
    };
    let checked = check_message_files(&refs)
        .map_err(|problems| refused(problems.iter().map(ToString::to_string).collect()))?;
    let uploads: Vec<(CheckedUpload, &[u8])> = checked
        .into_iter()
        .zip(refs.iter().map(|(_, bytes)| *bytes))
        .collect();
    let problems: Vec<String> = uploads
        .iter()
        .filter_map(|(upload, bytes)| scan_checked(scanner, upload, bytes).err())
        .map(|p| p.to_string())
        .collect();
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    Ok(AcceptedFiles { uploads })
}

impl Services {
    /// The virus-scan hook. No scanner is configured yet, so every file is
    /// clean; a configured one (clamd) belongs in `Services`, and since a
    /// real scan blocks it must then run on the blocking pool.
    fn virus_scanner(&self) -> &'static dyn VirusScan {
        &NoScan
    }

    /// The reasons the dispute form offers, in order.
    pub async fn dispute_reasons(&self) -> ServiceResult<Vec<ReasonRow>> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::active_reasons(&mut conn).await?)
    }

    /// A payer or admin disputes an invoice: all of it, chosen lines, or an
    /// amount, for a reason, with a message and files. One open dispute per
    /// invoice. Returns the new request's id.
    pub async fn raise_dispute(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        invoice_id: i64,
        dispute: RaiseDispute,
        ip: Option<&str>,
    ) -> ServiceResult<i64> {
        require_requester(access, customer_id)?;
        // Everything that needs no database first, outside the write lock.
        let body = checked_message(&dispute.message)?;
        let files = checked_files(self.virus_scanner(), &dispute.files)?;
        if dispute.reason_code.trim().is_empty() {
            return Err(ServiceError::invalid_field(
                "reason",
                "Choose the reason for the dispute.",
            ));
        }

        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let invoice = repo::invoice_of_customer(&mut tx, customer_id, invoice_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let number = invoice.number.clone();
        if invoice.voided {
            return Err(ServiceError::invalid(format!(
                "Invoice {number} is void; there is nothing to dispute."
            )));
        }
        let already_open = || {
            ServiceError::Conflict(format!(
                "Invoice {number} already has an open dispute. Add a message to it instead of raising another."
            ))
        };
        // The friendly answer; the unique index answers a race below.
        if repo::open_dispute_of_invoice(&mut tx, invoice_id)
            .await?
            .is_some()
        {
            return Err(already_open());
        }
        let reason = repo::reason_by_code(&mut tx, dispute.reason_code.trim())
            .await?
            .filter(|r| r.active)
            .ok_or_else(|| {
                ServiceError::invalid_field(
                    "reason",
                    "Choose the reason for the dispute from the list.",
                )
            })?;

        let mut line_ids = Vec::new();
        let mut line_totals = Vec::new();
        if dispute.scope == DisputeScope::Lines {
            let lines = repo::line_totals(&mut tx, invoice_id).await?;
            for id in &dispute.line_ids {
                if line_ids.contains(id) {
                    continue;
                }
                let line = lines
                    .iter()
                    .find(|l| l.invoice_line_id == *id)
                    .ok_or_else(|| {
                        ServiceError::invalid_field(
                            "lines",
                            format!("One of the chosen lines is not on invoice {number}."),
                        )
                    })?;
                line_ids.push(line.invoice_line_id);
                line_totals.push(line.total_minor);
            }
        }
        let amount = disputed_minor(
            dispute.scope,
            invoice.balance_minor,
            invoice.currency,
            &line_totals,
            &dispute.amount_text,
        )
        .map_err(|p| ServiceError::invalid_field(p.field(), p.to_string()))?;

        let request_id = repo::insert_request(
            &mut tx,
            &NewRequest {
                customer_id,
                kind: RequestKind::Dispute,
                priority: Priority::Normal,
                reason_id: Some(reason.reason_id),
                invoice_id: Some(invoice_id),
                scope: Some(dispute.scope),
                disputed_minor: Some(amount),
                currency: Some(invoice.currency),
                opened_by_contact_id: access.contact_id,
            },
            now,
        )
        .await
        .on_unique_violation(already_open)?;
        for line_id in &line_ids {
            repo::insert_line(&mut tx, request_id, *line_id).await?;
        }
        // The disputed amount is held from now on (invoices.disputed_minor).
        crate::repo::invoices::refresh_settlement(&mut tx, invoice_id).await?;
        let (_, stored) = self
            .store_customer_message(&mut tx, access, request_id, body, &files, now)
            .await?;
        repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(
                now,
                SlaEventKind::Opened {
                    priority: Priority::Normal,
                },
            ),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                request_id,
                Action::DisputeRaised,
                serde_json::json!({
                    "invoice_id": invoice_id,
                    "scope": dispute.scope.as_str(),
                    "line_ids": line_ids,
                    "disputed_minor": amount,
                    "currency": invoice.currency.code(),
                    "reason": reason.code,
                    "attachments": stored,
                }),
                ip,
            ),
        )
        .await?;
        // A new dispute is unassigned, so every active staff user hears of it.
        let amount = Money::new(amount, invoice.currency).display();
        self.notify_staff(
            &mut tx,
            request_id,
            &StaffAlert::NewDispute {
                amount: &amount,
                reason: &reason.label,
                message: body,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(request_id)
    }

    /// Writes a contact's message and its files: the message id and the
    /// attachment ids.
    async fn store_customer_message(
        &self,
        conn: &mut Conn,
        access: &ContactAccess,
        request_id: i64,
        body: &str,
        files: &AcceptedFiles<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<(i64, Vec<i64>)> {
        let message_id = repo::insert_message(
            conn,
            &NewMessage {
                request_id,
                author_kind: AuthorKind::Contact,
                author_id: access.contact_id,
                visibility: Visibility::Customer,
                body,
            },
            now,
        )
        .await?;
        let mut ids = Vec::with_capacity(files.uploads.len());
        for (upload, bytes) in &files.uploads {
            let name = stored_name();
            let id = repo::insert_attachment(
                conn,
                &NewAttachment {
                    message_id,
                    stored_name: &name,
                    display_name: &upload.display_name,
                    kind: upload.kind,
                    content: bytes,
                },
                now,
            )
            .await?;
            ids.push(id);
        }
        Ok((message_id, ids))
    }

    /// The dispute form of an invoice of the account. Any member may open
    /// it; a viewer is told in `refusal` why they cannot send it.
    pub async fn dispute_form(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<DisputeForm> {
        let membership = require_member(access, customer_id)?;
        let refusal = match require_requester(access, customer_id) {
            Err(ServiceError::Forbidden(message)) => Some(message),
            _ => None,
        };
        let mut tx = self.db.pool.begin().await?;
        let invoice = repo::invoice_of_customer(&mut tx, customer_id, invoice_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let lines = repo::dispute_lines(&mut tx, invoice_id).await?;
        let reasons = repo::active_reasons(&mut tx).await?;
        let open_dispute = repo::open_dispute_of_invoice(&mut tx, invoice_id).await?;
        tx.commit().await?;
        Ok(DisputeForm {
            customer_name: membership.customer_name.clone(),
            invoice_id,
            number: invoice.number,
            currency: invoice.currency,
            balance_minor: invoice.balance_minor,
            voided: invoice.voided,
            lines,
            reasons,
            open_dispute,
            refusal,
        })
    }

    /// The account's requests, newest first, each with its latest
    /// customer-visible activity (a message, the opening or the
    /// resolution; never an internal note).
    pub async fn customer_request_list(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<Vec<ListedRequest>> {
        require_member(access, customer_id)?;
        let mut tx = self.db.pool.begin().await?;
        let requests = repo::customer_requests(&mut tx, customer_id).await?;
        let activity = repo::last_activity(&mut tx, customer_id).await?;
        tx.commit().await?;
        Ok(requests
            .into_iter()
            .map(|request| {
                let message = activity
                    .iter()
                    .find(|(id, _)| *id == request.request_id)
                    .map(|(_, at)| *at);
                let last_activity = [Some(request.opened_at), message, request.resolved_at]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(request.opened_at);
                ListedRequest {
                    request,
                    last_activity,
                }
            })
            .collect())
    }

    /// One request of the account as its page shows it: the record and
    /// thread (`customer_request`), the disputed lines, the SLA clock
    /// folded exactly as AR's queue folds it, the invoice's balance now and
    /// the outcome's credit note.
    pub async fn customer_request_page(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        request_id: i64,
    ) -> ServiceResult<CustomerRequestPage> {
        let membership = require_member(access, customer_id)?;
        let customer_name = membership.customer_name.clone();
        let may_write = membership.role.can_pay();
        let request = self
            .customer_request(access, customer_id, request_id)
            .await?;
        let settings = self.sla_settings().await?;
        let now = self.clock.now();
        let mut tx = self.db.pool.begin().await?;
        let events = repo::events(&mut tx, request_id).await?;
        let lines = match request.request.invoice_id {
            Some(invoice_id) if !request.line_ids.is_empty() => {
                repo::dispute_lines(&mut tx, invoice_id)
                    .await?
                    .into_iter()
                    .filter(|l| request.line_ids.contains(&l.invoice_line_id))
                    .collect()
            }
            _ => Vec::new(),
        };
        let invoice = match request.request.invoice_id {
            Some(invoice_id) => repo::invoice_money(&mut tx, customer_id, invoice_id).await?,
            None => None,
        };
        let credit_note = repo::request_credit_note(&mut tx, customer_id, request_id).await?;
        tx.commit().await?;
        let clock = sla_clock(
            &settings.calendar,
            &settings.policies,
            &request.request.kind.sla_kind(),
            &events,
            now,
        )
        .map_err(|e| ServiceError::internal(format!("the SLA clock of request {request_id}"), e))?;
        let reopen_until = match (request.request.status, request.request.resolved_at) {
            (RequestStatus::Resolved, Some(at)) if request.request.kind == RequestKind::Dispute => {
                Some(at + chrono::Duration::days(super::request_reopen::REOPEN_DAYS))
                    .filter(|until| now <= *until)
            }
            _ => None,
        };
        Ok(CustomerRequestPage {
            customer_name,
            may_write,
            request,
            lines,
            clock,
            invoice,
            credit_note,
            reopen_until,
        })
    }

    /// The account's requests, newest first (any member may read them).
    pub async fn customer_requests(
        &self,
        access: &ContactAccess,
        customer_id: i64,
    ) -> ServiceResult<Vec<RequestRow>> {
        require_member(access, customer_id)?;
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::customer_requests(&mut conn, customer_id).await?)
    }

    /// One request of the account with its customer-visible thread.
    pub async fn customer_request(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        request_id: i64,
    ) -> ServiceResult<CustomerRequest> {
        require_member(access, customer_id)?;
        // One snapshot: the thread matches the record it is shown with.
        let mut tx = self.db.pool.begin().await?;
        let request = repo::customer_request(&mut tx, customer_id, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let line_ids = repo::request_line_ids(&mut tx, request_id).await?;
        let messages = repo::messages(&mut tx, request_id, Some(Visibility::Customer)).await?;
        tx.commit().await?;
        Ok(CustomerRequest {
            request,
            line_ids,
            messages,
        })
    }

    /// A file of one of the account's requests, for download. Another
    /// account's file, or one on an internal note, is not found. The web
    /// layer serves it with `domain::attachment::serving_headers`
    /// (attachment, `nosniff`, the safe name).
    pub async fn attachment(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        attachment_id: i64,
    ) -> ServiceResult<Download> {
        require_member(access, customer_id)?;
        let mut conn = self.db.pool.acquire().await?;
        let file = repo::customer_attachment(&mut conn, customer_id, attachment_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        download(file)
    }

    /// The customer takes their dispute back. Works once: a dispute already
    /// withdrawn or resolved is refused with what happened to it.
    pub async fn withdraw_dispute(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        request_id: i64,
        ip: Option<&str>,
    ) -> ServiceResult<()> {
        require_requester(access, customer_id)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let request = repo::customer_request(&mut tx, customer_id, request_id)
            .await?
            .filter(|r| r.kind == RequestKind::Dispute)
            .ok_or(ServiceError::NotFound)?;
        if !repo::close(&mut tx, request_id, RequestStatus::Withdrawn, now).await? {
            return Err(not_open(&request));
        }
        // The hold ends with the dispute: the whole balance is payable again.
        if let Some(invoice_id) = request.invoice_id {
            crate::repo::invoices::refresh_settlement(&mut tx, invoice_id).await?;
        }
        // The SLA has no "withdrawn": for the clock it ends like a
        // resolution (every target met, nothing left running).
        repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::Resolved),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                request_id,
                Action::DisputeWithdrawn,
                serde_json::json!({"invoice_id": request.invoice_id}),
                ip,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer writes to an open request, with files. A request that
    /// was waiting on the customer is open again, and its SLA clock runs
    /// again from this message. Returns the message id.
    pub async fn add_customer_message(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        request_id: i64,
        message: &str,
        files: Vec<(String, Vec<u8>)>,
        ip: Option<&str>,
    ) -> ServiceResult<i64> {
        require_requester(access, customer_id)?;
        let body = checked_message(message)?;
        let files = checked_files(self.virus_scanner(), &files)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let request = repo::customer_request(&mut tx, customer_id, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !request.status.is_open() {
            return Err(not_open(&request));
        }
        let (message_id, attachment_ids) = self
            .store_customer_message(&mut tx, access, request_id, body, &files, now)
            .await?;
        let was_waiting = repo::reopen_if_waiting(&mut tx, request_id).await?;
        repo::insert_event(
            &mut tx,
            request_id,
            &SlaEvent::new(now, SlaEventKind::CustomerMessaged),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                request_id,
                Action::RequestCustomerMessaged,
                serde_json::json!({
                    "attachments": attachment_ids,
                    "reopened_from_waiting": was_waiting,
                }),
                ip,
            ),
        )
        .await?;
        self.notify_staff(
            &mut tx,
            request_id,
            &StaffAlert::CustomerMessage { message: body },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(message_id)
    }
}

/// Notification emails of requests (issue 11 item 5). Each is queued in the
/// outbox inside the caller's transaction, so the mail exists exactly when
/// what it announces was committed (never lost, never sent for a rolled
/// back change); the caller wakes the worker after its commit.
impl Services {
    /// Tells the customer what AR did. Only the contact who opened the
    /// request is mailed for now: the account's other contacts may not
    /// care about every dispute, and who else should follow a request
    /// (watchers, the account's admins) is a choice still to make.
    pub(super) async fn notify_customer(
        &self,
        conn: &mut Conn,
        request_id: i64,
        update: &RequestUpdate<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let Some(context) = repo::notice_context(conn, request_id).await? else {
            return Ok(());
        };
        let Some((name, email)) = &context.opener else {
            return Ok(());
        };
        // The customer's request page comes later (issue 11); the link is
        // the address it will have, so mails sent now keep working then.
        let link = self.config.link(&format!(
            "/accounts/{}/requests/{request_id}",
            context.customer_id
        ));
        let label = format!(
            "your {}",
            request_label(context.kind, context.invoice_number.as_deref())
        );
        let message = request_update_email(
            &RequestUpdateEmail {
                seller_name: &self.config.seller_name,
                recipient_name: name,
                request_label: &label,
                link: &link,
            },
            update,
        );
        outbox::enqueue(
            conn,
            now,
            outbox::NewEmail {
                to: email,
                subject: &message.subject,
                text_body: &message.text_body,
                html_body: &message.html_body,
            },
        )
        .await?;
        Ok(())
    }

    /// Tells AR what the customer did: the assignee, or every active staff
    /// user when nobody (active) has the request.
    pub(super) async fn notify_staff(
        &self,
        conn: &mut Conn,
        request_id: i64,
        alert: &StaffAlert<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        self.mail_request_staff(conn, request_id, now, |e| staff_alert_email(e, alert))
            .await
    }

    /// Queues `render`'s mail about a request to the assignee, or to every
    /// active staff user when nobody (active) has it.
    pub(crate) async fn mail_request_staff(
        &self,
        conn: &mut Conn,
        request_id: i64,
        now: DateTime<Utc>,
        render: impl Fn(&StaffAlertEmail<'_>) -> crate::email::templates::RenderedEmail,
    ) -> ServiceResult<()> {
        let Some(context) = repo::notice_context(conn, request_id).await? else {
            return Ok(());
        };
        let link = self.config.link(&format!("/staff/requests/{request_id}"));
        let label = request_label(context.kind, context.invoice_number.as_deref());
        for (name, email) in repo::staff_recipients(conn, request_id).await? {
            let message = render(&StaffAlertEmail {
                seller_name: &self.config.seller_name,
                recipient_name: &name,
                customer_name: &context.customer_name,
                request_label: &label,
                link: &link,
            });
            outbox::enqueue(
                conn,
                now,
                outbox::NewEmail {
                    to: &email,
                    subject: &message.subject,
                    text_body: &message.text_body,
                    html_body: &message.html_body,
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// "dispute of invoice INV-1001", as a mail names a request.
fn request_label(kind: RequestKind, invoice_number: Option<&str>) -> String {
    match (kind, invoice_number) {
        (RequestKind::Dispute, Some(number)) => format!("dispute of invoice {number}"),
        (RequestKind::Dispute, None) => "dispute".into(),
        (RequestKind::PaymentPlan, _) => "payment plan request".into(),
        (RequestKind::Question, _) => "question".into(),
        (RequestKind::Promise, _) => "promise to pay not kept".into(),
    }
}

/// Why a closed request takes no more changes from the customer.
fn not_open(request: &RequestRow) -> ServiceError {
    let what = match request.kind {
        RequestKind::Dispute => "dispute",
        RequestKind::PaymentPlan => "payment plan request",
        RequestKind::Question => "question",
        RequestKind::Promise => "promise to pay",
    };
    ServiceError::invalid(match request.status {
        RequestStatus::Withdrawn => {
            format!("This {what} was withdrawn; raise a new one if you need to.")
        }
        _ => format!("This {what} is resolved; raise a new one if you need to."),
    })
}

/// What a contact did to one of their account's requests, for the audit log.
pub(super) fn contact_event<'a>(
    access: &ContactAccess,
    customer_id: i64,
    request_id: i64,
    action: Action,
    detail: serde_json::Value,
    ip: Option<&'a str>,
) -> AuditEvent<'a> {
    AuditEvent {
        actor_kind: "contact",
        actor_id: Some(access.contact_id),
        customer_id: Some(customer_id),
        action,
        detail,
        ip,
        subject: Some(format!("request:{request_id}")),
    }
}

/// A stored file as a download: its safe name and the detected type's
/// `Content-Type`, with its bytes.
pub(super) fn download(file: repo::AttachmentContent) -> ServiceResult<Download> {
    let bytes = file.content.ok_or_else(|| {
        ServiceError::internal(
            format!("attachment {} ({})", file.attachment_id, file.stored_name),
            "its bytes are not in the database and no directory store is configured",
        )
    })?;
    Ok(Download {
        file_name: file.display_name,
        content_type: file.kind.content_type(),
        bytes,
    })
}

/// What a refused form had typed, kept in the visitor's web session so the
/// form shows it again after the redirect.
///
/// Why the session and not the URL: without JavaScript the form's answer is
/// a 303 to the form page, and a message of up to 10,000 characters does
/// not fit a URL (nor belongs in access logs). The session is stored in
/// the database (`DbSessionStore`), so the draft survives whichever
/// instance serves the next request. One slot per form (`draft_key`): a new
/// refusal replaces it and a successful post clears it; the page reads it
/// only when its URL names a problem, so a later fresh visit starts empty.
/// Files are never kept (the page asks to choose them again).
///
/// Here in the core because both the axum routes and the server functions
/// read it and only the core depends on tower-sessions.
pub mod drafts {
    use serde::{Deserialize, Serialize};
    pub use tower_sessions::Session;

    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct FormDraft {
        /// The refusal in words.
        pub problem: String,
        /// The field it is about (`ServiceError::Invalid`'s field).
        pub field: Option<String>,
        pub scope: String,
        pub line_ids: Vec<i64>,
        pub amount: String,
        pub reason: String,
        pub message: String,
        /// Files were chosen and must be chosen again.
        pub had_files: bool,
    }

    /// The slot of one form: `dispute`, `message` or `reopen`, of one
    /// invoice or request.
    pub fn draft_key(form: &str, id: i64) -> String {
        format!("draft:{form}:{id}")
    }

    /// Keeps the draft; a session that cannot be written only loses it
    /// (the problem code in the URL still says what went wrong).
    pub async fn keep(session: &Session, key: &str, draft: &FormDraft) {
        if let Err(e) = session.insert(key, draft).await {
            tracing::warn!(error = %e, "a form draft was not kept");
        }
    }

    pub async fn read(session: &Session, key: &str) -> Option<FormDraft> {
        session.get::<FormDraft>(key).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a form draft could not be read");
            None
        })
    }

    pub async fn clear(session: &Session, key: &str) {
        if let Err(e) = session.remove::<FormDraft>(key).await {
            tracing::warn!(error = %e, "a form draft was not cleared");
        }
    }
}
