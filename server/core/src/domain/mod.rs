//! Domain rules: plain Rust, no I/O, unit-tested.

pub mod attachment;
pub mod audit;
pub mod backoff;
pub mod dates;
pub mod discount;
pub mod email_address;
pub mod invoice_link;
pub mod invoice_query;
pub mod invoice_status;
pub mod list_links;
pub mod money;
pub mod payment_state;
pub mod plan;
pub mod reminder;
pub mod request;
pub mod roles;
pub mod sla;
pub mod statement;
pub mod token;

pub use email_address::{EmailAddress, InvalidEmail};
pub use invoice_status::{
    invoice_standing, InvoiceFacts, InvoiceStanding, InvoiceStatus, DUE_SOON_DAYS,
};
pub use money::{Currency, Money};
pub use payment_state::{payable_minor, payment_number, PaymentStatus, Signal};
pub use roles::{ContactRole, Principal, StaffRole};
