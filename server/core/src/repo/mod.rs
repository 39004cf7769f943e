//! Repositories: the SQL, and nothing but the SQL. Each function takes a
//! connection (or a transaction deref'd to one) so services decide what
//! runs atomically.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod autopay;
pub mod decode;
pub mod discounts;
pub mod invoice_links;
pub mod invoices;
pub mod leases;
pub mod ledger;
pub mod outbox;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod reminder_extras;
pub mod reminders;
pub mod request_figures;
pub mod request_settings;
pub mod requests;
pub mod sandbox;
pub mod sessions;
pub mod sla_alerts;
pub mod staff_customers;
pub mod staff_plans;
pub mod staff_requests;
pub mod statement;
pub mod timeline;
pub mod tokens;
pub mod webhook_events;

use sqlx::AnyConnection;

/// Shorthand used by every repository.
pub type Conn = AnyConnection;
