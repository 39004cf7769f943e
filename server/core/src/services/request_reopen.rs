//! A customer reopens their resolved dispute (issue 11 item 4: "reopened
//! within 14 days by the customer"). Apart from `services::requests` so the
//! rule (who, which requests, how long) reads in one place.

use chrono::Duration;

use super::access::ContactAccess;
use super::requests::{checked_message, contact_event, require_requester};
use super::Services;
use crate::domain::audit::Action;
use crate::domain::request::{AuthorKind, RequestKind, RequestStatus, Visibility};
use crate::domain::sla::{SlaEvent, SlaEventKind};
use crate::email::templates::StaffAlert;
use crate::error::{ResultExt, ServiceError, ServiceResult};
use crate::repo::audit;
use crate::repo::requests::{self as repo, NewMessage};

/// How long after its resolution a customer may reopen a dispute: long
/// enough to check a credit note against the next statement, short enough
/// that a closed matter stays closed.
pub const REOPEN_DAYS: i64 = 14;

impl Services {
    /// A payer or admin reopens a resolved dispute of their account, with a
    /// message saying why, within [`REOPEN_DAYS`] of its resolution. The
    /// dispute is open again with no outcome, holds its disputed amount on
    /// the invoice again, its SLA resolution target runs again (with the
    /// time it had used), and AR is told. A withdrawn dispute cannot be
    /// reopened (the customer took it back; they raise a new one). Returns
    /// the message id.
    pub async fn reopen_request(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        request_id: i64,
        message: &str,
        ip: Option<&str>,
    ) -> ServiceResult<i64> {
        require_requester(access, customer_id)?;
        let body = checked_message(message)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let request = repo::customer_request(&mut tx, customer_id, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if request.kind != RequestKind::Dispute {
            return Err(ServiceError::invalid(
                "Only a dispute can be reopened; write to AR in a new request instead.",
            ));
        }
        match request.status {
            RequestStatus::Resolved => {}
            RequestStatus::Withdrawn => {
                return Err(ServiceError::invalid(
                    "You withdrew this dispute, so it cannot be reopened; raise a new one if you need to.",
                ))
            }
            _ => {
                return Err(ServiceError::invalid(
                    "This dispute is still open; add a message to it instead.",
                ))
            }
        }
        let resolved_at = request.resolved_at.ok_or_else(|| {
            ServiceError::internal(
                format!("request {request_id}"),
                "resolved without resolved_at (the CHECK of migration 0007 forbids it)",
            )
        })?;
        if now - resolved_at > Duration::days(REOPEN_DAYS) {
            return Err(ServiceError::invalid(format!(
                "A dispute can be reopened within {REOPEN_DAYS} days of its resolution, and this \
                 one was resolved on {}. Raise a new dispute if you need to.",
                resolved_at.format("%b %-d, %Y")
            )));
        }
        let number = request.invoice_number.clone().unwrap_or_default();
        // The guarded UPDATE decides two reopens at once; the unique index a
        // new dispute raised on the invoice since (it would hold the amount
        // twice).
        let reopened = repo::reopen(&mut tx, request_id)
            .await
            .on_unique_violation(|| {
                ServiceError::Conflict(format!(
                    "Invoice {number} has another open dispute now; add a message to that one."
                ))
            })?;
        if !reopened {
            return Err(ServiceError::Conflict(
                "This dispute changed meanwhile; reload the page to see it.".into(),
            ));
        }
        // The dispute holds its amount again (invoices.disputed_minor).
        if let Some(invoice_id) = request.invoice_id {
            crate::repo::invoices::refresh_settlement(&mut tx, invoice_id).await?;
        }
        let message_id = repo::insert_message(
            &mut tx,
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
        // Reopened restarts the resolution target; the message then asks
        // for a response as any customer message does (the SLA ignores a
        // message to a request it still sees resolved, hence the order).
        for kind in [SlaEventKind::Reopened, SlaEventKind::CustomerMessaged] {
            repo::insert_event(&mut tx, request_id, &SlaEvent::new(now, kind)).await?;
        }
        audit::record(
            &mut tx,
            now,
            contact_event(
                access,
                customer_id,
                request_id,
                Action::DisputeReopened,
                serde_json::json!({
                    "invoice_id": request.invoice_id,
                    "message_id": message_id,
                    "previous_outcome": request.outcome.map(|o| o.as_str()),
                }),
                ip,
            ),
        )
        .await?;
        self.notify_staff(
            &mut tx,
            request_id,
            &StaffAlert::Reopened { message: body },
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(message_id)
    }
}
