//! Links to one invoice for reminder emails: minted here (the CLI and the
//! reminder job share `create_invoice_link`), opened without signing in,
//! revoked by AR staff. Holding a link shows that invoice and its PDF and
//! nothing else of the account.

use chrono::{DateTime, Duration, Utc};

use super::Services;
use crate::domain::audit::Action;
use crate::domain::invoice_link::LinkState;
use crate::domain::token::{mint_token, parse_and_hash};
use crate::domain::{invoice_standing, Money};
use crate::email::templates::{invoice_link_email, InvoiceLinkEmail};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::invoice_links::{self, InvoiceLinkRow};
use crate::repo::{invoices, outbox};

#[derive(Clone, Debug)]
pub struct MintedInvoiceLink {
    pub link_id: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// What opening a link grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceLinkGrant {
    pub link_id: i64,
    pub customer_id: i64,
    pub invoice_id: i64,
}

/// Why a link does not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    Expired,
    Revoked,
    /// Malformed or never issued.
    Unknown,
}

/// A link minted after its invoice's window (a reminder for an invoice long
/// overdue) still works this long, or the email would be useless.
const MIN_VALIDITY: Duration = Duration::days(7);

/// Path of the page that opens a link.
pub const INVOICE_LINK_PATH: &str = "/i/";

/// At most one fresh link per old link in this window, so a leaked expired
/// link cannot be used to flood the customer's inboxes.
const FRESH_LINK_EVERY: Duration = Duration::hours(1);

impl Services {
    /// Mints a link to the invoice numbered `number`. It is valid until
    /// `valid_until`, or by default the configured number of days after the
    /// due date (never less than a day from now).
    pub async fn create_invoice_link(
        &self,
        number: &str,
        valid_until: Option<DateTime<Utc>>,
        created_by: &str,
    ) -> ServiceResult<MintedInvoiceLink> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let invoice = invoices::invoice_by_number(&mut tx, number.trim())
            .await?
            .ok_or_else(|| {
                ServiceError::invalid(format!("No invoice is numbered \"{}\"", number.trim()))
            })?;
        let minted = self
            .mint_invoice_link_in(
                &mut tx,
                invoice.invoice_id,
                invoice.customer_id,
                invoice.due_date,
                valid_until,
                created_by,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(minted)
    }

    /// Mints a link inside the caller's transaction (the reminder job
    /// mints one per invoice in the transaction that records its send and
    /// queues its email: no link exists for a mail that was not sent).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn mint_invoice_link_in(
        &self,
        conn: &mut crate::repo::Conn,
        invoice_id: i64,
        customer_id: i64,
        due_date: chrono::NaiveDate,
        valid_until: Option<DateTime<Utc>>,
        created_by: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<MintedInvoiceLink> {
        let expires_at = match valid_until {
            Some(t) if t <= now => {
                return Err(ServiceError::invalid(
                    "The link's expiry must be in the future",
                ))
            }
            Some(t) => t,
            None => {
                let end_of_window = (due_date
                    + Duration::days(self.config.invoice_link_days_after_due))
                .and_hms_opt(23, 59, 59)
                .expect("valid time")
                .and_utc();
                end_of_window.max(now + MIN_VALIDITY)
            }
        };
        let minted = mint_token();
        let link_id = invoice_links::insert(
            &mut *conn,
            invoice_id,
            &minted.hash,
            now,
            expires_at,
            created_by,
        )
        .await?;
        audit::record(
            &mut *conn,
            now,
            AuditEvent {
                actor_kind: "system",
                actor_id: None,
                customer_id: Some(customer_id),
                action: Action::InvoiceLinkCreated,
                detail: serde_json::json!({ "invoice_link_id": link_id, "created_by": created_by }),
                ip: None,
                subject: Some(format!("invoice:{invoice_id}")),
            },
        )
        .await?;
        Ok(MintedInvoiceLink {
            link_id,
            url: self
                .config
                .link(&format!("{INVOICE_LINK_PATH}{}", minted.plain)),
            expires_at,
        })
    }

    /// Checks a link as presented. Valid: records the use and returns what it grants.
    pub async fn open_invoice_link(
        &self,
        token: &str,
        ip: Option<&str>,
    ) -> ServiceResult<Result<InvoiceLinkGrant, LinkRefusal>> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let link = match live_link(&mut tx, token, now).await? {
            Ok(link) => link,
            Err(refusal) => return Ok(Err(refusal)),
        };
        invoice_links::mark_used(&mut tx, link.invoice_link_id, now).await?;
        audit::record(
            &mut tx,
            now,
            AuditEvent {
                actor_kind: "anonymous",
                actor_id: None,
                customer_id: Some(link.customer_id),
                action: Action::InvoiceLinkOpened,
                detail: serde_json::json!({ "invoice_link_id": link.invoice_link_id }),
                ip,
                subject: Some(format!("invoice:{}", link.invoice_id)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(InvoiceLinkGrant {
            link_id: link.invoice_link_id,
            customer_id: link.customer_id,
            invoice_id: link.invoice_id,
        }))
    }

    /// What a link would open, without opening it (the GET of `/i/{token}`
    /// only shows a page whose button opens it).
    pub async fn peek_invoice_link(
        &self,
        token: &str,
    ) -> ServiceResult<Result<(InvoiceLinkGrant, String), LinkRefusal>> {
        let mut conn = self.db.pool.acquire().await?;
        let link = match live_link(&mut conn, token, self.clock.now()).await? {
            Ok(link) => link,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let number = invoices::invoice(&mut conn, link.invoice_id)
            .await?
            .ok_or(ServiceError::NotFound)?
            .number;
        Ok(Ok((
            InvoiceLinkGrant {
                link_id: link.invoice_link_id,
                customer_id: link.customer_id,
                invoice_id: link.invoice_id,
            },
            number,
        )))
    }

    /// Whether a link is still good, for every request made through it.
    pub async fn invoice_link_grant(
        &self,
        link_id: i64,
    ) -> ServiceResult<Option<InvoiceLinkGrant>> {
        let mut conn = self.db.pool.acquire().await?;
        let now = self.clock.now();
        Ok(invoice_links::by_id(&mut conn, link_id)
            .await?
            .filter(|l| LinkState::of(l.revoked_at, l.expires_at, now) == LinkState::Active)
            .map(|l| InvoiceLinkGrant {
                link_id: l.invoice_link_id,
                customer_id: l.customer_id,
                invoice_id: l.invoice_id,
            }))
    }

    /// From an expired or revoked link: emails a fresh link to every contact
    /// of the invoice's account (never to an address the visitor types).
    /// Returns how many contacts it went to; 0 when rate-limited or unknown.
    pub async fn send_fresh_invoice_link(
        &self,
        token: &str,
        ip: Option<&str>,
    ) -> ServiceResult<usize> {
        let Some(hash) = parse_and_hash(token) else {
            return Ok(0);
        };
        let now = self.clock.now();
        let mut conn = self.db.pool.acquire().await?;
        let Some(old) = invoice_links::by_hash(&mut conn, &hash).await? else {
            return Ok(0);
        };
        let recently = audit::count_since(
            &mut conn,
            Action::InvoiceLinkRefreshed,
            &format!("invoice:{}", old.invoice_id),
            now - FRESH_LINK_EVERY,
        )
        .await?;
        if recently > 0 {
            return Ok(0);
        }
        let contacts = invoice_links::contact_emails_of_invoice(&mut conn, old.invoice_id).await?;
        let invoice = invoices::invoice(&mut conn, old.invoice_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        drop(conn);
        if contacts.is_empty() {
            return Ok(0);
        }
        let minted = self
            .create_invoice_link(&invoice.number, None, "refresh")
            .await?;
        let standing = invoice_standing(&invoice.facts(), now.date_naive());
        let link_email = invoice_link_email(&InvoiceLinkEmail {
            seller_name: &self.config.seller_name,
            invoice_number: &invoice.number,
            amount_due: &Money::new(standing.balance_minor, invoice.currency).display(),
            due_date: &invoice.due_date.format("%b %-d, %Y").to_string(),
            link: &minted.url,
            valid_until: &minted.expires_at.format("%b %-d, %Y").to_string(),
        });
        let mut tx = self.db.begin_write().await?;
        for (_, email) in &contacts {
            outbox::enqueue(
                &mut tx,
                now,
                outbox::NewEmail {
                    to: email,
                    subject: &link_email.subject,
                    text_body: &link_email.text_body,
                    html_body: &link_email.html_body,
                },
            )
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            AuditEvent {
                actor_kind: "anonymous",
                actor_id: None,
                customer_id: Some(invoice.customer_id),
                action: Action::InvoiceLinkRefreshed,
                detail: serde_json::json!({ "old_link_id": old.invoice_link_id, "new_link_id": minted.link_id, "recipients": contacts.len() }),
                ip,
                subject: Some(format!("invoice:{}", invoice.invoice_id)),
            },
        )
        .await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(contacts.len())
    }

    pub async fn revoke_invoice_link(&self, staff_id: i64, link_id: i64) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        self.require_active_staff(&mut tx, staff_id).await?;
        let link = invoice_links::by_id(&mut tx, link_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if invoice_links::revoke(&mut tx, link_id, staff_id, now).await? {
            audit::record(
                &mut tx,
                now,
                AuditEvent {
                    actor_kind: "staff",
                    actor_id: Some(staff_id),
                    customer_id: Some(link.customer_id),
                    action: Action::InvoiceLinkRevoked,
                    detail: serde_json::json!({ "invoice_link_id": link_id }),
                    ip: None,
                    subject: Some(format!("invoice:{}", link.invoice_id)),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Newest links (of one invoice number when given), for AR staff.
    pub async fn staff_invoice_links(
        &self,
        staff_id: i64,
        invoice_number: Option<&str>,
    ) -> ServiceResult<Vec<InvoiceLinkRow>> {
        let mut conn = self.db.pool.acquire().await?;
        self.require_active_staff(&mut conn, staff_id).await?;
        Ok(invoice_links::recent(
            &mut conn,
            invoice_number.map(str::trim).filter(|s| !s.is_empty()),
            100,
        )
        .await?)
    }
}

/// The link a token names, if it is well formed, known, not revoked and
/// not expired.
async fn live_link(
    conn: &mut crate::repo::Conn,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<InvoiceLinkRow, LinkRefusal>, sqlx::Error> {
    let Some(hash) = parse_and_hash(token) else {
        return Ok(Err(LinkRefusal::Unknown));
    };
    let Some(link) = invoice_links::by_hash(conn, &hash).await? else {
        return Ok(Err(LinkRefusal::Unknown));
    };
    Ok(match LinkState::of(link.revoked_at, link.expires_at, now) {
        LinkState::Active => Ok(link),
        LinkState::Expired => Err(LinkRefusal::Expired),
        LinkState::Revoked => Err(LinkRefusal::Revoked),
    })
}
