//! What a signed-in contact may see: their name and email, and the accounts
//! they belong to with their role and each account's terms. Every customer
//! page needs it (the header lists the accounts; every read checks
//! membership), so it is read from the database once per change, not on
//! every request.
//!
//! `contacts.access_version` (migration 0006) is raised by triggers whenever
//! any of it changes, whoever writes. The session guard reads that version
//! with the "still enabled?" check it makes on every request anyway (one
//! primary-key read); only when it differs from the copy held here are the
//! contact and memberships read again. The copy is per process, so several
//! portal processes each keep their own and stay correct.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::ContactRole;
use crate::error::ServiceResult;
use crate::repo::accounts::{self, MembershipRow};
use crate::services::Services;

/// A signed-in contact and their accounts, as of `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactAccess {
    pub contact_id: i64,
    pub version: i64,
    pub name: String,
    pub email: String,
    /// By account name.
    pub accounts: Vec<MembershipRow>,
}

impl ContactAccess {
    /// The contact's membership of `customer_id`, if they have one.
    pub fn membership(&self, customer_id: i64) -> Option<&MembershipRow> {
        self.accounts.iter().find(|m| m.customer_id == customer_id)
    }

    /// The contact's role on `customer_id`, if they belong to it.
    pub fn role_on(&self, customer_id: i64) -> Option<ContactRole> {
        self.membership(customer_id).map(|m| m.role)
    }
}

/// Contacts' access as last read, per contact.
#[derive(Debug, Default)]
pub struct AccessCache {
    entries: Mutex<HashMap<i64, Arc<ContactAccess>>>,
}

/// Contacts held at once. Past it the cache starts over: a few thousand
/// active contacts per process is the expected load, and a miss costs two
/// indexed reads.
const MAX_CACHED_CONTACTS: usize = 20_000;

impl AccessCache {
    fn get(&self, contact_id: i64, version: i64) -> Option<Arc<ContactAccess>> {
        let entries = self.entries.lock().expect("access cache lock");
        entries
            .get(&contact_id)
            .filter(|a| a.version == version)
            .cloned()
    }

    fn put(&self, access: Arc<ContactAccess>) {
        let mut entries = self.entries.lock().expect("access cache lock");
        if entries.len() >= MAX_CACHED_CONTACTS && !entries.contains_key(&access.contact_id) {
            entries.clear();
        }
        entries.insert(access.contact_id, access);
    }
}

impl Services {
    /// The contact's access if they are still enabled (`None` once
    /// disabled or gone). One primary-key read when the copy held is
    /// current; two more when something changed since it was read.
    pub async fn contact_access(
        &self,
        contact_id: i64,
    ) -> ServiceResult<Option<Arc<ContactAccess>>> {
        let mut conn = self.db.pool.acquire().await?;
        let Some(version) = accounts::access_version(&mut conn, contact_id).await? else {
            return Ok(None);
        };
        if let Some(access) = self.access_cache.get(contact_id, version) {
            return Ok(Some(access));
        }
        drop(conn);
        // Read in one transaction so the version matches what is read
        // with it (a change in between raises the version again and the
        // next request reads anew).
        let mut tx = self.db.pool.begin().await?;
        let Some(contact) = accounts::active_contact(&mut tx, contact_id).await? else {
            return Ok(None);
        };
        let accounts = accounts::memberships(&mut tx, contact_id).await?;
        tx.commit().await?;
        let access = Arc::new(ContactAccess {
            contact_id,
            version: contact.access_version,
            name: contact.name,
            email: contact.email,
            accounts,
        });
        self.access_cache.put(access.clone());
        Ok(Some(access))
    }
}
