//! Services hold the rules: each public method is one thing a user or job
//! does, runs its own transaction, and calls repositories for the SQL.

pub mod accounts;
pub mod auth;
pub mod invoice_links;
pub mod invoices;
pub mod sessions;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox worker after a commit that queued an email.
    pub outbox_wake: Arc<Notify>,
}

impl Services {
    pub fn new(db: Db, config: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        Services {
            db,
            config,
            clock,
            outbox_wake: Arc::new(Notify::new()),
        }
    }

    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.now().date_naive()
    }
}

impl Services {
    /// The newest emails of the outbox, for the dev mailbox page.
    pub async fn recent_emails(
        &self,
        limit: i64,
    ) -> crate::ServiceResult<Vec<crate::repo::outbox::OutboxEmail>> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(crate::repo::outbox::recent(&mut conn, limit).await?)
    }
}
