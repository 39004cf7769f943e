//! A contact's (or staff user's) own sessions: list, end one, end all.

use super::Services;
use crate::domain::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::sessions::{self, SessionRow};

impl Services {
    pub async fn list_sessions(&self, principal: Principal) -> ServiceResult<Vec<SessionRow>> {
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
        let mut conn = self.db.pool.acquire().await?;
        sessions::delete_one_of(&mut conn, principal.kind(), principal.id(), session_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    pub async fn end_all_sessions(&self, principal: Principal) -> ServiceResult<u64> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(sessions::delete_all_of(&mut conn, principal.kind(), principal.id()).await?)
    }

    pub async fn delete_expired_sessions(&self) -> ServiceResult<u64> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(sessions::delete_expired(&mut conn, self.clock.now()).await?)
    }
}
