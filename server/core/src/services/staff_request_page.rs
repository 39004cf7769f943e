//! One request as AR sees it: thread with internal notes, clock, events (issue 11).
//!
//! Reads only; the actions are in `staff_requests`. Everything of the page
//! is read in one snapshot, so the thread, the status and the clock agree.

use super::invoices::Download;
use super::requests::download;
use super::staff_requests::{acting_staff, fold_clock};
use super::Services;
use crate::domain::sla::{SlaClock, SlaEvent};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::requests::{
    self as requests_repo, DisputeLine, MessageRow, RequestCreditNote, RequestRow,
};
use crate::repo::staff_requests as repo;

/// A request with everything AR's page shows.
#[derive(Clone, Debug)]
pub struct StaffRequestDetail {
    pub request: RequestRow,
    pub customer_name: String,
    pub assignee_name: Option<String>,
    /// The invoice lines a dispute of chosen lines is about.
    pub disputed_lines: Vec<DisputeLine>,
    /// The whole thread, internal notes included, oldest first.
    pub messages: Vec<MessageRow>,
    /// The SLA events, in order: the status history.
    pub events: Vec<SlaEvent>,
    pub clock: SlaClock,
    /// The latest credit note a resolution issued.
    pub credit_note: Option<RequestCreditNote>,
    /// Active staff users (id, name), for the assignment form.
    pub staff: Vec<(i64, String)>,
    /// The reader is an AR admin (may assign to anyone).
    pub reader_is_admin: bool,
    pub reader_id: i64,
}

impl Services {
    /// A request of any customer for AR, with its whole thread.
    pub async fn staff_request_detail(
        &self,
        staff_id: i64,
        request_id: i64,
    ) -> ServiceResult<StaffRequestDetail> {
        let now = self.clock.now();
        let settings = self.sla_settings().await?;
        let mut tx = self.db.pool.begin().await?;
        let staff = acting_staff(&mut tx, staff_id).await?;
        let (request, customer_name, assignee_name) = repo::request_with_names(&mut tx, request_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let line_ids = requests_repo::request_line_ids(&mut tx, request_id).await?;
        let disputed_lines = match request.invoice_id {
            Some(invoice_id) if !line_ids.is_empty() => {
                requests_repo::dispute_lines(&mut tx, invoice_id)
                    .await?
                    .into_iter()
                    .filter(|l| line_ids.contains(&l.invoice_line_id))
                    .collect()
            }
            _ => Vec::new(),
        };
        let messages = requests_repo::messages(&mut tx, request_id, None).await?;
        let events = requests_repo::events(&mut tx, request_id).await?;
        let credit_note =
            requests_repo::request_credit_note(&mut tx, request.customer_id, request_id).await?;
        let staff_users = repo::active_staff_users(&mut tx).await?;
        tx.commit().await?;
        let clock = fold_clock(&settings, request_id, request.kind, &events, now)?;
        Ok(StaffRequestDetail {
            request,
            customer_name,
            assignee_name,
            disputed_lines,
            messages,
            events,
            clock,
            credit_note,
            staff: staff_users,
            reader_is_admin: staff.role == crate::domain::StaffRole::Admin,
            reader_id: staff.staff_id,
        })
    }

    /// A file of a request's thread for AR (internal notes' files too), for
    /// download; the web layer serves it with
    /// `domain::attachment::serving_headers`. A file of another request is
    /// not found.
    pub async fn staff_attachment(
        &self,
        staff_id: i64,
        request_id: i64,
        attachment_id: i64,
    ) -> ServiceResult<(Download, crate::domain::attachment::AttachmentKind)> {
        let mut conn = self.db.pool.acquire().await?;
        acting_staff(&mut conn, staff_id).await?;
        let file = repo::request_attachment(&mut conn, request_id, attachment_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let kind = file.kind;
        Ok((download(file)?, kind))
    }
}
