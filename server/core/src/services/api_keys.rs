//! Seller API keys (issue 14): an AR admin (or an operator with the CLI)
//! creates one and sees its secret once; only its SHA-256 is kept. The API
//! authenticates `Authorization: Bearer <secret>` against it.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Services;
use crate::domain::audit::Action;
use crate::domain::token::{mint_token, parse_and_hash};
use crate::domain::StaffRole;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::api::{self, ApiKeyRow, NewApiKey};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::{accounts, Conn};

/// What every secret starts with, so a leaked one is recognisable (secret
/// scanners, logs) and cannot be mistaken for a sign-in token.
pub const SECRET_PREFIX: &str = "pk_";
/// How much of the secret is stored and shown to tell keys apart:
/// `pk_` and 8 of its 43 random characters (48 of 256 bits).
const SHOWN_CHARS: usize = 11;
/// A key's last use is written at most this often, so reads do not write.
pub const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);
pub const MAX_KEY_NAME_CHARS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiScopes {
    Read,
    ReadWrite,
}

impl ApiScopes {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScopes::Read => "read",
            ApiScopes::ReadWrite => "read,write",
        }
    }

    /// `read`, `read,write` (also `write,read`, and `write` alone, which
    /// implies read).
    pub fn parse(text: &str) -> Option<ApiScopes> {
        let mut read = false;
        let mut write = false;
        for part in text.split(',').map(str::trim) {
            match part {
                "read" => read = true,
                "write" => write = true,
                _ => return None,
            }
        }
        match (read, write) {
            (_, true) => Some(ApiScopes::ReadWrite),
            (true, false) => Some(ApiScopes::Read),
            _ => None,
        }
    }

    pub fn can_write(self) -> bool {
        self == ApiScopes::ReadWrite
    }
}

/// Who manages keys: an AR admin in the staff area, or an operator at the
/// command line (no staff id; the audit log says `system`, via `cli`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyManager {
    Staff(i64),
    Operator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub api_key_id: i64,
    pub name: String,
    pub scopes: ApiScopes,
    /// The secret's first characters, e.g. `pk_Xa81-QmB`.
    pub prefix: String,
    pub created_by_staff_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = ServiceError;
    fn try_from(row: ApiKeyRow) -> ServiceResult<ApiKey> {
        let scopes = ApiScopes::parse(&row.scopes).ok_or_else(|| {
            ServiceError::internal(
                "reading an API key",
                format!("unknown scopes {:?}", row.scopes),
            )
        })?;
        Ok(ApiKey {
            api_key_id: row.api_key_id,
            name: row.name,
            scopes,
            prefix: row.prefix,
            created_by_staff_id: row.created_by_staff_id,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        })
    }
}

/// A new key and its secret, which is never shown again.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

impl Services {
    /// Creates a key (AR admins; agents are refused like for the other
    /// admin-only settings). The secret is in the answer and nowhere else.
    pub async fn create_api_key(
        &self,
        by: KeyManager,
        name: &str,
        scopes: ApiScopes,
    ) -> ServiceResult<CreatedApiKey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_KEY_NAME_CHARS {
            return Err(ServiceError::invalid_field(
                "name",
                format!("Give the key a name of 1 to {MAX_KEY_NAME_CHARS} characters, e.g. the system that will use it."),
            ));
        }
        let now = self.clock.now();
        let token = mint_token();
        let secret = format!("{SECRET_PREFIX}{}", token.plain);
        let mut tx = self.db.begin_write().await?;
        let staff_id = require_key_manager(&mut tx, by).await?;
        let row = api::insert_key(
            &mut tx,
            NewApiKey {
                name,
                scopes: scopes.as_str(),
                prefix: &secret[..SHOWN_CHARS],
                secret_hash: &token.hash,
                created_by_staff_id: staff_id,
            },
            now,
        )
        .await?;
        audit::record(&mut tx, now, key_event(by, Action::ApiKeyCreated, &row)).await?;
        tx.commit().await?;
        Ok(CreatedApiKey {
            key: row.try_into()?,
            secret,
        })
    }

    /// Every key, newest first, revoked ones included (AR admins).
    pub async fn list_api_keys(&self, by: KeyManager) -> ServiceResult<Vec<ApiKey>> {
        let mut conn = self.db.pool.acquire().await?;
        require_key_manager(&mut conn, by).await?;
        api::list_keys(&mut conn)
            .await?
            .into_iter()
            .map(ApiKey::try_from)
            .collect()
    }

    /// Revokes a key at once: its next request gets 401 (AR admins).
    /// Revoking a revoked key changes nothing and is not an error.
    pub async fn revoke_api_key(&self, by: KeyManager, api_key_id: i64) -> ServiceResult<ApiKey> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        require_key_manager(&mut tx, by).await?;
        if api::revoke_key(&mut tx, api_key_id, now).await? {
            let row = api::key_by_id(&mut tx, api_key_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            audit::record(&mut tx, now, key_event(by, Action::ApiKeyRevoked, &row)).await?;
        }
        let row = api::key_by_id(&mut tx, api_key_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        row.try_into()
    }

    /// The live key a bearer secret belongs to, or `None` (malformed,
    /// unknown or revoked: the caller answers 401 alike). Records the use
    /// at most once a minute per key, so reads do not write every time.
    pub async fn authenticate_api_key(&self, bearer: &str) -> ServiceResult<Option<ApiKey>> {
        let Some(hash) = bearer.strip_prefix(SECRET_PREFIX).and_then(parse_and_hash) else {
            return Ok(None);
        };
        let mut conn = self.db.pool.acquire().await?;
        // 256 random bits: looking the hash up needs no constant-time compare.
        let Some(mut row) = api::live_key_by_hash(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let not_before = now - LAST_USED_RESOLUTION;
        if row.last_used_at.is_none_or(|t| t < not_before) {
            api::touch_key(&mut conn, row.api_key_id, now, not_before).await?;
            // As stored: whole microseconds (db::ts).
            row.last_used_at = Some(chrono::SubsecRound::trunc_subsecs(now, 6));
        }
        Ok(Some(row.try_into()?))
    }
}

/// The staff id of an active AR admin (None for the operator); agents and
/// disabled staff are refused.
async fn require_key_manager(conn: &mut Conn, by: KeyManager) -> ServiceResult<Option<i64>> {
    let KeyManager::Staff(staff_id) = by else {
        return Ok(None);
    };
    match accounts::active_staff(conn, staff_id)
        .await?
        .map(|s| s.role)
    {
        Some(StaffRole::Admin) => Ok(Some(staff_id)),
        Some(StaffRole::Agent) => Err(ServiceError::Forbidden(
            "Only AR admins can manage API keys.".into(),
        )),
        None => Err(ServiceError::Forbidden(
            "This is for active AR staff only".into(),
        )),
    }
}

fn key_event(by: KeyManager, action: Action, row: &ApiKeyRow) -> AuditEvent<'static> {
    let (actor_kind, actor_id) = match by {
        KeyManager::Staff(id) => ("staff", Some(id)),
        // The log's vocabulary ('contact' | 'staff' | 'system' |
        // 'anonymous'): the operator is the system; the detail says how.
        KeyManager::Operator => ("system", None),
    };
    let via = match by {
        KeyManager::Staff(_) => "staff_area",
        KeyManager::Operator => "cli",
    };
    AuditEvent {
        actor_kind,
        actor_id,
        customer_id: None,
        action,
        // Never the secret or its hash.
        detail: json!({ "name": row.name, "scopes": row.scopes, "prefix": row.prefix, "via": via }),
        ip: None,
        subject: Some(format!("api_key:{}", row.api_key_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_write_implies_read() {
        assert_eq!(ApiScopes::parse("read"), Some(ApiScopes::Read));
        assert_eq!(ApiScopes::parse("read,write"), Some(ApiScopes::ReadWrite));
        assert_eq!(ApiScopes::parse("write, read"), Some(ApiScopes::ReadWrite));
        assert_eq!(ApiScopes::parse("write"), Some(ApiScopes::ReadWrite));
        assert_eq!(ApiScopes::parse("admin"), None);
        assert_eq!(ApiScopes::parse(""), None);
        for s in [ApiScopes::Read, ApiScopes::ReadWrite] {
            assert_eq!(ApiScopes::parse(s.as_str()), Some(s));
        }
    }
}
