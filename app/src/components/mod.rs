pub mod layout;
pub mod problem;

pub use layout::{Layout, SiteResource};
pub use problem::ProblemView;
