//! Reminders' recipients (issue 13): the one-click unsubscribe of optional
//! steps (RFC 8058), the account's billing address, and a contact's own
//! choice on their account page.
//!
//! An email of optional steps only carries `List-Unsubscribe` with a link
//! made for that email and address (a random token, stored hashed like
//! every token here) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
//! The mail client POSTs the link (no session, no same-origin check:
//! `server::http` routes it outside both, the token is the capability); a
//! GET only shows a button that POSTs, so link scanners unsubscribe no one.
//! The address then gets no optional step of that customer; firm steps,
//! manual sends and promise emails still reach it.

use chrono::{DateTime, Utc};

use super::Services;
use crate::domain::sla::{Priority, SlaEvent, SlaEventKind};
use crate::domain::token::{mint_token, parse_and_hash};
use crate::domain::{EmailAddress, StaffRole};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::{accounts, reminder_extras as repo, Conn};

/// What `{pay_all_link}` says in the billing address's mail: the "pay all"
/// page needs a sign-in the billing address does not have, the invoice
/// links (listed above it) do not.
pub const BILLING_PAY_ALL: &str = "open each invoice's link above to view and pay it";

/// The RFC 8058 header pair for `url`, as outbox header lines.
pub fn unsubscribe_headers(url: &str) -> String {
    format!("List-Unsubscribe: <{url}>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click")
}

/// What an unsubscribe link's page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsubscribeTarget {
    pub customer_name: String,
    pub email: String,
    pub already: bool,
}

/// A customer's recipients as AR sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderRecipientsView {
    pub billing_email: Option<String>,
    /// Addresses unsubscribed from the optional steps, with when.
    pub unsubscribed: Vec<(String, DateTime<Utc>)>,
    pub can_edit: bool,
}

impl Services {
    /// Mints the unsubscribe link of one email, in the caller's transaction.
    pub(crate) async fn mint_reminder_unsubscribe(
        &self,
        tx: &mut Conn,
        customer_id: i64,
        email: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<String> {
        let token = mint_token();
        repo::insert_unsubscribe_token(tx, &token.hash, customer_id, email, now).await?;
        Ok(self
            .config
            .link(&format!("/reminders/unsubscribe/{}", token.plain)))
    }

    /// Whom a link unsubscribes (the GET page); NotFound for a bad token.
    pub async fn reminder_unsubscribe_target(
        &self,
        token: &str,
    ) -> ServiceResult<UnsubscribeTarget> {
        let hash = parse_and_hash(token).ok_or(ServiceError::NotFound)?;
        let mut conn = self.db.pool.acquire().await?;
        let (_, customer_name, email, already) = repo::unsubscribe_target(&mut conn, &hash)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(UnsubscribeTarget {
            customer_name,
            email,
            already,
        })
    }

    /// The one-click POST: unsubscribes the link's address from the
    /// customer's optional steps (again: a no-op).
    pub async fn reminder_unsubscribe(&self, token: &str) -> ServiceResult<UnsubscribeTarget> {
        let hash = parse_and_hash(token).ok_or(ServiceError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let (customer_id, customer_name, email, _) = repo::unsubscribe_target(&mut tx, &hash)
            .await?
            .ok_or(ServiceError::NotFound)?;
        repo::unsubscribe(&mut tx, customer_id, &email, now).await?;
        tx.commit().await?;
        Ok(UnsubscribeTarget {
            customer_name,
            email,
            already: true,
        })
    }

    /// The signed-in contact's address for `customer_id`, if a member.
    async fn member_address(
        &self,
        conn: &mut Conn,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<String> {
        accounts::memberships(conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        Ok(accounts::active_contact(conn, contact_id)
            .await?
            .ok_or(ServiceError::NotFound)?
            .email)
    }

    /// Whether the contact gets the account's optional (friendly) reminders.
    pub async fn friendly_reminders_on(
        &self,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<bool> {
        let mut conn = self.db.pool.acquire().await?;
        let email = self
            .member_address(&mut conn, contact_id, customer_id)
            .await?;
        let off = repo::unsubscribed(&mut conn, customer_id)
            .await?
            .into_iter()
            .any(|(e, _)| e == repo::address_key(&email));
        Ok(!off)
    }

    /// A contact turns the account's optional reminders on or off.
    pub async fn set_friendly_reminders(
        &self,
        contact_id: i64,
        customer_id: i64,
        on: bool,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let email = self
            .member_address(&mut tx, contact_id, customer_id)
            .await?;
        if on {
            repo::resubscribe(&mut tx, customer_id, &email).await?;
        } else {
            repo::unsubscribe(&mut tx, customer_id, &email, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The billing address and the unsubscribed addresses, for AR.
    pub async fn reminder_recipients_view(
        &self,
        staff_id: i64,
        customer_id: i64,
    ) -> ServiceResult<ReminderRecipientsView> {
        let mut conn = self.db.pool.acquire().await?;
        let staff = accounts::active_staff(&mut conn, staff_id)
            .await?
            .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))?;
        Ok(ReminderRecipientsView {
            billing_email: repo::billing_email(&mut conn, customer_id).await?,
            unsubscribed: repo::unsubscribed(&mut conn, customer_id).await?,
            can_edit: staff.role == StaffRole::Admin,
        })
    }

    /// An admin sets (or, empty, clears) the account's billing address.
    pub async fn set_billing_email(
        &self,
        staff_id: i64,
        customer_id: i64,
        email: &str,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let email = match email.trim() {
            "" => None,
            typed => Some(
                EmailAddress::parse(typed)
                    .map_err(|_| {
                        ServiceError::invalid_field(
                            "billing_email",
                            "The billing address is not an email address.",
                        )
                    })?
                    .as_str()
                    .to_owned(),
            ),
        };
        let mut tx = self.db.begin_write().await?;
        match accounts::active_staff(&mut tx, staff_id).await? {
            Some(s) if s.role == StaffRole::Admin => {}
            Some(_) => {
                return Err(ServiceError::Forbidden(
                    "Only AR admins can change reminders. Ask an admin to make this change.".into(),
                ))
            }
            None => {
                return Err(ServiceError::Forbidden(
                    "This is for active AR staff only".into(),
                ))
            }
        }
        if accounts::customer_name_terms(&mut tx, customer_id)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound);
        }
        repo::store_billing_email(&mut tx, customer_id, email.as_deref(), staff_id, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Services {
    /// AR's queue item for a promise the job just closed as not kept, in
    /// the transaction of that close (whose guarded UPDATE lets one
    /// instance through; the unique index on `requests.promise_id` is the
    /// second lock). `invoices`: (id, number) of the promise's invoices.
    pub(crate) async fn queue_broken_promise(
        &self,
        tx: &mut Conn,
        promise: &crate::repo::reminders::PromiseRow,
        invoices: &[(i64, String)],
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<i64>> {
        let Some(contact_id) =
            repo::promise_item_contact(tx, promise.customer_id, promise.contact_id).await?
        else {
            tracing::warn!(
                promise_id = promise.promise_id,
                "a promise not kept, and its account has no contact to open AR's item in the name of"
            );
            return Ok(None);
        };
        let invoice_id = match invoices {
            [(id, _)] => Some(*id),
            _ => None,
        };
        let Some(request_id) = repo::insert_promise_item(
            tx,
            promise.customer_id,
            promise.promise_id,
            invoice_id,
            promise.currency.code(),
            contact_id,
            now,
        )
        .await?
        else {
            return Ok(None);
        };
        crate::repo::requests::insert_event(
            tx,
            request_id,
            &SlaEvent::new(
                now,
                SlaEventKind::Opened {
                    priority: Priority::Normal,
                },
            ),
        )
        .await?;
        Ok(Some(request_id))
    }

    /// The promise an item of kind 'promise' is about, for AR's request page.
    pub async fn promise_item_facts(
        &self,
        request_id: i64,
    ) -> ServiceResult<Option<repo::PromiseFacts>> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::promise_facts(&mut conn, request_id).await?)
    }
}
