//! A tower-sessions store on our own `sessions` table (both engines through
//! the Any driver). The ready-made sqlx stores keep an opaque blob per
//! session; we also need to know whose session a row is, so that a contact
//! can list their sessions and end any or all of them. The cookie's session
//! id is never stored: only its SHA-256.

use async_trait::async_trait;
use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::db::{ts, Db};
use crate::domain::Principal;

/// Keys this portal keeps in a session record.
pub mod keys {
    /// `Principal` of the signed-in party.
    pub const PRINCIPAL: &str = "principal";
    /// RFC 3339 time of sign-in, for the absolute timeout.
    pub const SIGNED_IN_AT: &str = "signed_in_at";
    /// RFC 3339 time of the last request, for the idle timeout.
    pub const LAST_SEEN_AT: &str = "last_seen_at";
    pub const USER_AGENT: &str = "user_agent";
    pub const IP: &str = "ip";
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }
}

pub fn hash_session_id(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

struct Columns {
    principal_kind: Option<&'static str>,
    principal_id: Option<i64>,
    user_agent: Option<String>,
    ip: Option<String>,
    data: String,
    expires_at: String,
}

fn columns(record: &Record) -> Result<Columns, session_store::Error> {
    let principal: Option<Principal> = record
        .data
        .get(keys::PRINCIPAL)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let text = |key: &str| {
        record
            .data
            .get(key)
            .and_then(|v| v.as_str())
            .map(|s| s.chars().take(300).collect::<String>())
    };
    let expires = chrono::DateTime::from_timestamp(record.expiry_date.unix_timestamp(), 0)
        .unwrap_or_else(Utc::now);
    Ok(Columns {
        principal_kind: principal.map(|p| p.kind()),
        principal_id: principal.map(|p| p.id()),
        user_agent: text(keys::USER_AGENT),
        ip: text(keys::IP),
        data: serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expires_at: ts(expires),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let c = columns(record)?;
            let now = ts(Utc::now());
            let inserted = sqlx::query(
                "INSERT INTO sessions (id_hash, principal_kind, principal_id, data, user_agent, ip, created_at, last_seen_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
                 ON CONFLICT (id_hash) DO NOTHING",
            )
            .bind(hash_session_id(&record.id))
            .bind(c.principal_kind)
            .bind(c.principal_id)
            .bind(c.data)
            .bind(c.user_agent)
            .bind(c.ip)
            .bind(now)
            .bind(c.expires_at)
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            // A 128-bit collision: astronomically unlikely, but never merge two sessions.
            record.id = Id::default();
        }
    }

    /// Updates an existing row only. A session ended elsewhere ("sign out
    /// everywhere") while one of its requests was in flight must stay ended,
    /// so a save never re-creates a deleted row.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let c = columns(record)?;
        sqlx::query(
            "UPDATE sessions SET principal_kind = $2, principal_id = $3, data = $4, user_agent = $5, ip = $6,
                    last_seen_at = $7, expires_at = $8
             WHERE id_hash = $1",
        )
        .bind(hash_session_id(&record.id))
        .bind(c.principal_kind)
        .bind(c.principal_id)
        .bind(c.data)
        .bind(c.user_agent)
        .bind(c.ip)
        .bind(ts(Utc::now()))
        .bind(c.expires_at)
        .execute(&self.db.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query("SELECT data, expires_at FROM sessions WHERE id_hash = $1")
            .bind(hash_session_id(session_id))
            .fetch_optional(&self.db.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: chrono::DateTime<Utc> =
            crate::repo::decode::decode(&row, "sessions", "expires_at").map_err(backend)?;
        if expires_at <= Utc::now() {
            return Ok(None);
        }
        let data: String = row.get("data");
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at.timestamp())
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash_session_id(session_id))
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Put in the request's extensions by the server's session middleware when
/// the request carries a live, signed-in session. Everything that authorizes
/// reads this, and nothing else.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub principal: Principal,
    /// SHA-256 of the cookie's session id, to mark "this device".
    pub session_hash: String,
    /// A contact's access as checked at the start of this request
    /// (services::access); `None` for staff and invoice links.
    pub access: Option<std::sync::Arc<crate::services::access::ContactAccess>>,
}
