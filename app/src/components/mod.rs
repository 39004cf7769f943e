pub mod account_nav;
pub mod layout;
pub mod loaded;
pub mod local_time;
pub mod problem;

pub use account_nav::{AccountNav, AccountSection};
pub use layout::{Layout, SiteResource};
pub use loaded::Loaded;
pub use local_time::LocalTime;
pub use problem::ProblemView;
