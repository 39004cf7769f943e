//! Services hold the rules: each public method is one thing a user or job
//! does, runs its own transaction, and calls repositories for the SQL.

pub mod access;
pub mod accounts;
pub mod api_customers;
pub mod api_keys;
pub mod auth;
pub mod autopay;
pub mod discounts;
pub mod invoice_links;
pub mod invoices;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod reminder_extras;
pub mod reminders;
pub mod request_figures;
pub mod request_reopen;
pub mod request_settings;
pub mod requests;
pub mod sessions;
pub mod sla_alerts;
pub mod staff;
pub mod staff_customers;
pub mod staff_plans;
pub mod staff_request_page;
pub mod staff_requests;
pub mod timeline;
pub mod webhooks;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::payments::sandbox::SandboxGateway;
use crate::payments::stripe::StripeGateway;
use crate::payments::PaymentGateway;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox worker after a commit that queued an email.
    pub outbox_wake: Arc<Notify>,
    /// Wakes the webhook worker after an event was stored.
    pub webhook_wake: Arc<Notify>,
    /// Stripe, or the sandbox when no key is configured.
    pub gateway: Arc<dyn PaymentGateway>,
    /// The sandbox's own handle (its hosted page and deliveries), if it runs.
    pub sandbox: Option<SandboxGateway>,
    /// Wakes the sandbox's webhook delivery task.
    pub sandbox_wake: Arc<Notify>,
    /// One permit per heavy download (zip, CSV, statement PDF) being
    /// prepared or streamed; `PORTAL_HEAVY_DOWNLOADS` of them.
    pub heavy_downloads: Arc<tokio::sync::Semaphore>,
    /// Signed-in contacts' access, read once per change (services::access).
    pub access_cache: Arc<access::AccessCache>,
}

impl Services {
    pub fn new(db: Db, config: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        let sandbox = config.stripe_secret_key.is_none().then(|| SandboxGateway {
            db: db.clone(),
            clock: clock.clone(),
            base_url: config.base_url.to_string(),
            ach_delay: config.sandbox_ach_delay,
        });
        let gateway: Arc<dyn PaymentGateway> = match (&config.stripe_secret_key, &sandbox) {
            (Some(key), _) => Arc::new(StripeGateway::new(key, &config.stripe_api_base)),
            (None, Some(sandbox)) => Arc::new(sandbox.clone()),
            (None, None) => unreachable!("the sandbox runs whenever no key is set"),
        };
        Services {
            db,
            clock,
            outbox_wake: Arc::new(Notify::new()),
            webhook_wake: Arc::new(Notify::new()),
            gateway,
            sandbox,
            sandbox_wake: Arc::new(Notify::new()),
            heavy_downloads: Arc::new(tokio::sync::Semaphore::new(config.heavy_downloads)),
            access_cache: Arc::default(),
            config,
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

impl Services {
    /// Runs a scheduled job if its next run is due and no other instance
    /// holds its lease (`None` otherwise), then sets its next run to
    /// `interval` from now, whether the run succeeded or not.
    pub(crate) async fn run_when_due<T>(
        &self,
        job: crate::repo::leases::ScheduledJob,
        lease: chrono::Duration,
        interval: chrono::Duration,
        run: impl AsyncFnOnce(chrono::DateTime<chrono::Utc>) -> crate::ServiceResult<T>,
    ) -> crate::ServiceResult<Option<T>> {
        use crate::repo::leases::{claim_scheduled_job, scheduled_job_done};
        let now = self.clock.now();
        let claimed = {
            let mut conn = self.db.pool.acquire().await?;
            claim_scheduled_job(&mut conn, self.db.backend(), job, now, now + lease).await?
        };
        if !claimed {
            return Ok(None);
        }
        let result = run(now).await;
        let mut conn = self.db.pool.acquire().await?;
        scheduled_job_done(&mut conn, job, now + interval).await?;
        result.map(Some)
    }
}
