//! Integration tests: the real portal on port 0 with a fresh database (SQLite,
//! and PostgreSQL through TEST_DATABASE_URL: see `on_both_databases!`), a real SMTP
//! server on loopback, and HTTP as a browser speaks it. One binary, in the
//! zero-to-production style.

mod access;
mod autopay;
mod bench_webhooks;
mod cli;
mod demo_data;
mod dev_mode;
mod discounts;
mod dispute_hold;
mod errors;
mod fake_stripe;
mod findings;
mod hardening;
mod helpers;
mod invoice_timeline;
mod invoices;
mod limits;
mod link_payments;
mod outbox;
mod overview;
mod payment_methods;
mod payments;
mod pdf_scripts;
mod plan_pages;
mod plans;
mod reminder_extras;
mod reminders;
mod request_notifications;
mod request_pages;
mod requests;
mod rows;
mod security;
mod seller_api;
mod sessions;
mod sign_in;
mod sla_alerts;
mod staff_admin;
mod staff_plans;
mod staff_request_pages;
mod staff_requests;
mod status_rule;
