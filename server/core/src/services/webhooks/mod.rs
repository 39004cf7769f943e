//! Gateway events into the ledger. The webhook route only verifies and
//! stores (so Stripe gets its 2xx fast and nothing is lost if we crash);
//! the worker applies stored events one transaction each, marking the event
//! processed in that same transaction, so each is applied exactly once.
//!
//! `receiving`: storing events and working through the stored ones;
//! `apply`: one gateway object into the ledger (state, refunds, audit,
//! emails); `sync`: asking the gateway itself (returns from Checkout,
//! stale checkouts, reconciliation).

mod apply;
mod receiving;
mod sync;

use crate::payments::signature::SignatureError;

#[derive(Debug, thiserror::Error)]
pub enum WebhookRefusal {
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("body: {0}")]
    Body(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why an event was not applied this time.
enum NotApplied {
    /// Try again later (its payment is not known yet).
    Later(String),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for NotApplied {
    fn from(e: sqlx::Error) -> Self {
        NotApplied::Database(e)
    }
}
