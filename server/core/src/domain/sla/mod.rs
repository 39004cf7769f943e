//! Business-hours SLA clocks for customer requests (issue 11): a business
//! calendar in an IANA time zone, policies per request kind and priority,
//! and each request's clock folded from its events. Pure rules: calendar,
//! holidays and policies are plain data a repository can store, and the
//! clock is computed from events and `now`, never stored.
//!
//! - [`calendar`]: working windows, holidays, business minutes between two
//!   instants and the instant a number of business minutes away.
//! - [`policy`]: targets per kind and priority, the warning share.
//! - [`clock`]: the fold from events to each target's used minutes, due
//!   instant and state.

pub mod calendar;
pub mod clock;
pub mod policy;

pub use calendar::{BusinessCalendar, CalendarError, WorkingWeek, WorkingWindow};
pub use clock::{sla_clock, SlaClock, SlaError, SlaEvent, SlaEventKind, TargetClock, TargetState};
pub use policy::{
    PolicyError, Priority, RequestKind, SlaPolicies, SlaPolicy, SlaTargets, DEFAULT_WARNING_PERCENT,
};
