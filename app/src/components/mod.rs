pub mod layout;
pub mod loaded;
pub mod problem;

pub use layout::{Layout, SiteResource};
pub use loaded::Loaded;
pub use problem::ProblemView;
