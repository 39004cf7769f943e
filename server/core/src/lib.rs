//! Server-only core of the receivables portal: configuration, domain rules,
//! database, repositories, services, email. The HTTP layer and the `portal`
//! binary live in the `server` crate; the Leptos UI's server functions call
//! the services here. Nothing in this crate is compiled to WASM.

pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod net;
pub mod payments;
pub mod pdf;
pub mod repo;
pub mod seed;
pub mod seed_scale;
pub mod services;
pub mod session_store;

pub use config::Config;
pub use error::{ServiceError, ServiceResult};
pub use services::Services;
