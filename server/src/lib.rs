//! The portal's HTTP layer: builds the axum router around the Leptos app,
//! with sessions, the sign-in routes, the security middleware and the
//! background workers. `main.rs` is the `portal` command line on top.

pub mod api;
pub mod http;
pub mod startup;

pub use startup::{build, leptos_options, serve, Portal, StartError};
