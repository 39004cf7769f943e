pub mod account_nav;
pub mod invoice_status;
pub mod layout;
pub mod loaded;
pub mod local_time;
pub mod problem;
pub mod table;

pub use account_nav::{AccountNav, AccountSection};
pub use invoice_status::{InvoiceStatus, PaymentPending};
pub use layout::{Layout, SiteResource};
pub use loaded::{Loaded, LoadedPage};
pub use local_time::LocalTime;
pub use problem::ProblemView;
pub use table::{Pager, ScrollTable};
