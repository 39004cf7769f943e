//! A contact's (or staff user's) own sessions: list, end one, end all.

use super::Services;
use crate::domain::audit::Action;
use crate::domain::EmailAddress;
use crate::domain::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::sessions::{self, SessionRow};
use crate::repo::{accounts, Conn};

async fn audit_disabled(
    conn: &mut Conn,
    now: chrono::DateTime<chrono::Utc>,
    principal: Principal,
) -> Result<(), sqlx::Error> {
    audit::record(
        conn,
        now,
        AuditEvent {
            actor_kind: "system",
            actor_id: None,
            customer_id: None,
            action: Action::AccessDisabled,
            detail: serde_json::json!({ "sessions_ended": true }),
            ip: None,
            subject: Some(format!("{}:{}", principal.kind(), principal.id())),
        },
    )
    .await
}

/// Sessions belong to people. A session opened from an invoice link is
/// shared by whoever has the link, so it may neither list nor end sessions
/// (it would see and end everyone's who opened that link).
fn person(principal: Principal) -> ServiceResult<Principal> {
    match principal {
        Principal::Contact { .. } | Principal::Staff { .. } => Ok(principal),
        Principal::InvoiceLink { .. } => Err(ServiceError::NotFound),
    }
}

impl Services {
    pub async fn list_sessions(&self, principal: Principal) -> ServiceResult<Vec<SessionRow>> {
        let principal = person(principal)?;
        let mut conn = self.db.pool.acquire().await?;
        Ok(sessions::list_for_principal(
            &mut conn,
            principal.kind(),
            principal.id(),
            self.clock.now(),
        )
        .await?)
    }

    /// Ends one of the principal's own sessions and returns its id hash
    /// (so the caller can tell whether it was the current one); any other
    /// id is `NotFound`.
    pub async fn end_session(
        &self,
        principal: Principal,
        session_id: i64,
    ) -> ServiceResult<String> {
        let principal = person(principal)?;
        let mut conn = self.db.pool.acquire().await?;
        sessions::delete_one_of(&mut conn, principal.kind(), principal.id(), session_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    pub async fn end_all_sessions(&self, principal: Principal) -> ServiceResult<u64> {
        let principal = person(principal)?;
        let mut conn = self.db.pool.acquire().await?;
        Ok(sessions::delete_all_of(&mut conn, principal.kind(), principal.id()).await?)
    }

    /// Whether a signed-in person may still act: a contact or staff user
    /// disabled since signing in is signed out on the next request.
    pub async fn principal_is_active(&self, principal: Principal) -> ServiceResult<bool> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(match principal {
            Principal::Contact { contact_id } => accounts::active_contact(&mut conn, contact_id)
                .await?
                .is_some(),
            Principal::Staff { staff_id } => {
                accounts::active_staff(&mut conn, staff_id).await?.is_some()
            }
            // Checked against the link itself by the session guard.
            Principal::InvoiceLink { .. } => true,
        })
    }

    /// Disables a contact and ends every session of theirs, in one
    /// transaction. Returns false if no enabled contact has that email.
    pub async fn disable_contact(&self, email: &str) -> ServiceResult<bool> {
        self.disable_person(false, email).await
    }

    /// Disables a staff user and ends every session of theirs.
    pub async fn disable_staff(&self, email: &str) -> ServiceResult<bool> {
        self.disable_person(true, email).await
    }

    async fn disable_person(&self, staff: bool, email: &str) -> ServiceResult<bool> {
        let email = EmailAddress::parse(email).map_err(|_| {
            ServiceError::invalid_field("email", format!("{email:?} is not an email address"))
        })?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let Some(id) = accounts::disable_person(&mut tx, staff, email.as_str(), now).await? else {
            return Ok(false);
        };
        let principal = if staff {
            Principal::Staff { staff_id: id }
        } else {
            Principal::Contact { contact_id: id }
        };
        sessions::delete_all_of(&mut tx, principal.kind(), principal.id()).await?;
        audit_disabled(&mut tx, now, principal).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn delete_expired_sessions(&self) -> ServiceResult<u64> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(sessions::delete_expired(&mut conn, self.clock.now()).await?)
    }
}
