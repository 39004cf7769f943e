//! A request's SLA clock, folded from its events.
//!
//! Each target (first response, each next response, resolution) keeps the
//! business time it has used. Time counts only while the target is open and
//! the request is not waiting on the customer, and it is measured with the
//! calendar between consecutive events, so a pause over a night or weekend
//! consumes nothing and nothing is ever added back: there is no wall-clock
//! arithmetic to double-count. Customers and AR see the same result: one
//! function, no viewer argument.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::policy::{Priority, RequestKind, SlaPolicies, SlaPolicy};

/// Something that happened to a request, as the SLA sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaEvent {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: SlaEventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SlaEventKind {
    /// Starts the first-response and resolution targets.
    Opened { priority: Priority },
    /// Meets the first response, or else the next response that waits.
    StaffReplied,
    /// Ends a wait on the customer (the answer is what the team waited
    /// for) and, once the first response is met, starts a next-response
    /// target unless one is already waiting. Ignored while resolved: coming
    /// back to a resolved request is a `Reopened` event.
    CustomerMessaged,
    /// Pauses every open target until the customer messages, or the
    /// request is resolved.
    WaitingOnCustomer,
    /// Open targets keep the business time already used and take the new
    /// priority's targets for the rest; one already past its new target is
    /// breached at the change.
    PriorityChanged { priority: Priority },
    /// Meets resolution, and any response still waiting: the resolution
    /// answers the customer.
    Resolved,
    /// The resolution target runs again, keeping the time it had used.
    Reopened,
}

impl SlaEvent {
    pub fn new(at: DateTime<Utc>, kind: SlaEventKind) -> Self {
        Self { at, kind }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    Running,
    /// Waiting on the customer: no time counts, no due instant.
    Paused,
    /// Running with at least the policy's warning share used.
    Warning,
    Met,
    /// Once breached, always breached, even if met afterwards.
    Breached,
}

/// One target's clock as at the `now` it was computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetClock {
    pub started_at: DateTime<Utc>,
    pub target_minutes: i64,
    /// Whole business minutes used (seconds count, and are rounded down here).
    pub used_minutes: i64,
    /// When it falls (or fell, once breached) due while still open; `None`
    /// once met and while paused.
    pub due: Option<DateTime<Utc>>,
    pub state: TargetState,
    pub met_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    pub priority: Priority,
    pub paused: bool,
    pub resolved: bool,
    pub first_response: TargetClock,
    /// One per customer message that started a wait for an answer, oldest
    /// first; the last one may still be open.
    pub next_responses: Vec<TargetClock>,
    pub resolution: TargetClock,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("a request's SLA events must start with its opening")]
    NotOpened,
    #[error("no SLA policy for {kind}, {priority}")]
    NoPolicy {
        kind: RequestKind,
        priority: Priority,
    },
}

/// The SLA clock of one request of `kind` as at `now`.
///
/// Events are taken in time order (equal instants in the order given);
/// events after `now` are not yet known and are left out. The first must be
/// `Opened`; later `Opened` events change nothing.
pub fn sla_clock(
    calendar: &BusinessCalendar,
    policies: &SlaPolicies,
    kind: &RequestKind,
    events: &[SlaEvent],
    now: DateTime<Utc>,
) -> Result<SlaClock, SlaError> {
    let mut known: Vec<&SlaEvent> = events.iter().filter(|e| e.at <= now).collect();
    known.sort_by_key(|e| e.at);
    let (opened, rest) = known.split_first().ok_or(SlaError::NotOpened)?;
    let SlaEventKind::Opened { priority } = opened.kind else {
        return Err(SlaError::NotOpened);
    };
    let mut fold = Fold::open(calendar, policies, kind, priority, opened.at)?;
    for event in rest {
        fold.apply(event)?;
    }
    fold.advance_to(now);
    Ok(fold.finish(now))
}

/// A target while the events are folded: time as exact durations.
struct Target {
    started_at: DateTime<Utc>,
    target: Duration,
    used: Duration,
    met_at: Option<DateTime<Utc>>,
    breached_at: Option<DateTime<Utc>>,
}

impl Target {
    fn start(at: DateTime<Utc>, minutes: i64) -> Self {
        Self {
            started_at: at,
            target: Duration::minutes(minutes),
            used: Duration::zero(),
            met_at: None,
            breached_at: None,
        }
    }

    fn is_open(&self) -> bool {
        self.met_at.is_none()
    }

    fn meet(&mut self, at: DateTime<Utc>) {
        if self.is_open() {
            self.met_at = Some(at);
        }
    }

    /// The target changes (a new priority): used time stays; a target
    /// already past the new one is breached now.
    fn retarget(&mut self, minutes: i64, at: DateTime<Utc>) {
        if !self.is_open() {
            return;
        }
        self.target = Duration::minutes(minutes);
        if self.breached_at.is_none() && self.used >= self.target {
            self.breached_at = Some(at);
        }
    }
}

struct Fold<'a> {
    calendar: &'a BusinessCalendar,
    policies: &'a SlaPolicies,
    kind: &'a RequestKind,
    policy: &'a SlaPolicy,
    paused: bool,
    resolved: bool,
    first_response: Target,
    next_responses: Vec<Target>,
    resolution: Target,
    /// Business time is accounted up to here.
    accounted_to: DateTime<Utc>,
}

impl<'a> Fold<'a> {
    fn open(
        calendar: &'a BusinessCalendar,
        policies: &'a SlaPolicies,
        kind: &'a RequestKind,
        priority: Priority,
        at: DateTime<Utc>,
    ) -> Result<Self, SlaError> {
        let policy = find_policy(policies, kind, priority)?;
        Ok(Self {
            calendar,
            policies,
            kind,
            policy,
            paused: false,
            resolved: false,
            first_response: Target::start(at, policy.targets.first_response_minutes),
            next_responses: Vec::new(),
            resolution: Target::start(at, policy.targets.resolution_minutes),
            accounted_to: at,
        })
    }

    fn apply(&mut self, event: &SlaEvent) -> Result<(), SlaError> {
        let at = event.at;
        self.advance_to(at);
        match event.kind {
            SlaEventKind::Opened { .. } => {}
            SlaEventKind::StaffReplied => {
                if self.first_response.is_open() {
                    self.first_response.meet(at);
                } else if let Some(waiting) = self.waiting_next_response() {
                    waiting.meet(at);
                }
            }
            SlaEventKind::CustomerMessaged => {
                if !self.resolved {
                    self.paused = false;
                    if !self.first_response.is_open() && self.waiting_next_response().is_none() {
                        let minutes = self.policy.targets.next_response_minutes;
                        self.next_responses.push(Target::start(at, minutes));
                    }
                }
            }
            SlaEventKind::WaitingOnCustomer => {
                if !self.resolved {
                    self.paused = true;
                }
            }
            SlaEventKind::PriorityChanged { priority } => {
                self.policy = find_policy(self.policies, self.kind, priority)?;
                let targets = self.policy.targets;
                self.first_response
                    .retarget(targets.first_response_minutes, at);
                if let Some(waiting) = self.waiting_next_response() {
                    waiting.retarget(targets.next_response_minutes, at);
                }
                self.resolution.retarget(targets.resolution_minutes, at);
            }
            SlaEventKind::Resolved => {
                if !self.resolved {
                    self.resolved = true;
                    self.paused = false;
                    self.first_response.meet(at);
                    if let Some(waiting) = self.waiting_next_response() {
                        waiting.meet(at);
                    }
                    self.resolution.meet(at);
                }
            }
            SlaEventKind::Reopened => {
                if self.resolved {
                    self.resolved = false;
                    self.resolution.met_at = None;
                }
            }
        }
        Ok(())
    }

    fn waiting_next_response(&mut self) -> Option<&mut Target> {
        self.next_responses.last_mut().filter(|t| t.is_open())
    }

    /// Counts the business time up to `to` on every target that runs.
    fn advance_to(&mut self, to: DateTime<Utc>) {
        let from = self.accounted_to;
        if to <= from {
            return;
        }
        self.accounted_to = to;
        if self.paused {
            return;
        }
        let elapsed = self.calendar.business_time_between(from, to);
        let calendar = self.calendar;
        let running = std::iter::once(&mut self.first_response)
            .chain(self.next_responses.iter_mut())
            .chain(std::iter::once(&mut self.resolution))
            .filter(|t| t.is_open());
        for target in running {
            if target.breached_at.is_none() && target.used + elapsed >= target.target {
                target.breached_at =
                    Some(calendar.add_business_time(from, target.target - target.used));
            }
            target.used += elapsed;
        }
    }

    fn finish(self, now: DateTime<Utc>) -> SlaClock {
        let render = |t: &Target| {
            let state = if t.breached_at.is_some() {
                TargetState::Breached
            } else if !t.is_open() {
                TargetState::Met
            } else if self.paused {
                TargetState::Paused
            } else if t.used * 100 >= t.target * i32::from(self.policy.warning_percent) {
                TargetState::Warning
            } else {
                TargetState::Running
            };
            let due = if !t.is_open() || self.paused {
                None
            } else {
                Some(
                    t.breached_at
                        .unwrap_or_else(|| self.calendar.add_business_time(now, t.target - t.used)),
                )
            };
            TargetClock {
                started_at: t.started_at,
                target_minutes: t.target.num_minutes(),
                used_minutes: t.used.num_minutes(),
                due,
                state,
                met_at: t.met_at,
                breached_at: t.breached_at,
            }
        };
        SlaClock {
            priority: self.policy.priority,
            paused: self.paused,
            resolved: self.resolved,
            first_response: render(&self.first_response),
            next_responses: self.next_responses.iter().map(render).collect(),
            resolution: render(&self.resolution),
        }
    }
}

fn find_policy<'a>(
    policies: &'a SlaPolicies,
    kind: &RequestKind,
    priority: Priority,
) -> Result<&'a SlaPolicy, SlaError> {
    policies
        .find(kind, priority)
        .ok_or_else(|| SlaError::NoPolicy {
            kind: kind.clone(),
            priority,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::calendar::tests::{calendars, instants, local, utc, windows};
    use crate::domain::sla::{SlaTargets, WorkingWeek};
    use chrono_tz::Europe::Berlin;
    use proptest::prelude::*;
    use SlaEventKind::*;

    fn dispute() -> RequestKind {
        RequestKind::new("invoice_dispute")
    }

    fn targets(first: i64, next: i64, resolution: i64) -> SlaTargets {
        SlaTargets {
            first_response_minutes: first,
            next_response_minutes: next,
            resolution_minutes: resolution,
        }
    }

    /// Normal: 4 hours to answer, 2 hours for each next answer, 20 hours to
    /// resolve; urgent: 1 hour, 30 minutes, 8 hours. Business hours.
    fn policies() -> SlaPolicies {
        SlaPolicies::new(vec![
            SlaPolicy::new(dispute(), Priority::Normal, targets(240, 120, 1200)),
            SlaPolicy::new(dispute(), Priority::Urgent, targets(60, 30, 480)),
        ])
        .unwrap()
    }

    /// Berlin, Mon-Fri 09:00-12:00 and 13:00-17:00: seven hours a day.
    fn office() -> BusinessCalendar {
        BusinessCalendar::new(
            Berlin,
            WorkingWeek::weekdays(&windows(&["09:00-12:00", "13:00-17:00"])),
            [],
        )
        .unwrap()
    }

    /// A local time in Berlin in the week of Monday 9 November 2026.
    fn nov(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        local(Berlin, 2026, 11, day, hour, minute)
    }

    fn clock(events: &[(DateTime<Utc>, SlaEventKind)], now: DateTime<Utc>) -> SlaClock {
        let events: Vec<_> = events
            .iter()
            .map(|&(at, kind)| SlaEvent::new(at, kind))
            .collect();
        sla_clock(&office(), &policies(), &dispute(), &events, now).unwrap()
    }

    fn opened(priority: Priority) -> SlaEventKind {
        Opened { priority }
    }

    #[test]
    fn a_first_response_in_time_is_met_with_the_business_minutes_it_took() {
        let c = clock(
            &[
                (nov(9, 10, 0), opened(Priority::Normal)),
                (nov(9, 13, 30), StaffReplied),
            ],
            nov(9, 14, 0),
        );
        assert_eq!(c.first_response.state, TargetState::Met);
        assert_eq!(c.first_response.used_minutes, 150);
        assert_eq!(c.first_response.met_at, Some(nov(9, 13, 30)));
        assert_eq!(c.first_response.due, None);
        assert_eq!(c.resolution.state, TargetState::Running);
        assert_eq!(c.resolution.used_minutes, 180);
        // 1020 minutes left: the rest of Monday (180), Tuesday (420), and
        // 420 of Wednesday, which is its closing time.
        assert_eq!(c.resolution.due, Some(nov(11, 17, 0)));
    }

    #[test]
    fn a_target_shows_a_warning_from_eighty_percent_used() {
        let events = [(nov(9, 9, 0), opened(Priority::Normal))];
        // 80% of 240 minutes is 192: 09:00 plus 180 before lunch, 12 after.
        let before = clock(&events, nov(9, 13, 11));
        assert_eq!(before.first_response.state, TargetState::Running);
        let after = clock(&events, nov(9, 13, 12));
        assert_eq!(after.first_response.state, TargetState::Warning);
        assert_eq!(after.first_response.used_minutes, 192);
        assert_eq!(after.first_response.due, Some(nov(9, 14, 0)));
    }

    #[test]
    fn a_target_that_runs_out_is_breached_at_the_instant_its_minutes_are_used() {
        // Monday 16:00-17:00 and Tuesday 09:00-12:00 use the 240 minutes:
        // breached at Tuesday's lunch, not after it.
        let c = clock(
            &[(nov(9, 16, 0), opened(Priority::Normal))],
            nov(10, 12, 45),
        );
        assert_eq!(c.first_response.state, TargetState::Breached);
        assert_eq!(c.first_response.breached_at, Some(nov(10, 12, 0)));
        assert_eq!(c.first_response.due, Some(nov(10, 12, 0)));
        assert_eq!(c.first_response.used_minutes, 240);
    }

    #[test]
    fn a_breached_target_stays_breached_once_it_is_met() {
        let c = clock(
            &[
                (nov(9, 16, 0), opened(Priority::Normal)),
                (nov(10, 14, 0), StaffReplied),
            ],
            nov(12, 9, 0),
        );
        assert_eq!(c.first_response.state, TargetState::Breached);
        assert_eq!(c.first_response.breached_at, Some(nov(10, 12, 0)));
        assert_eq!(c.first_response.met_at, Some(nov(10, 14, 0)));
        assert_eq!(c.first_response.due, None);
        assert_eq!(c.first_response.used_minutes, 300);
    }

    #[test]
    fn waiting_on_the_customer_over_a_weekend_consumes_nothing_and_has_no_due_instant() {
        let events = [
            (nov(13, 16, 0), opened(Priority::Normal)),
            (nov(13, 16, 10), StaffReplied),
            (nov(13, 16, 30), WaitingOnCustomer),
        ];
        let paused = clock(&events, nov(16, 11, 0));
        assert!(paused.paused);
        assert_eq!(paused.resolution.state, TargetState::Paused);
        assert_eq!(paused.resolution.due, None);
        assert_eq!(paused.resolution.used_minutes, 30);

        // The customer answers on Monday at 10:00: the pause ends by itself.
        let mut answered = events.to_vec();
        answered.push((nov(16, 10, 0), CustomerMessaged));
        let c = clock(&answered, nov(16, 11, 0));
        assert!(!c.paused);
        assert_eq!(c.resolution.state, TargetState::Running);
        assert_eq!(c.resolution.used_minutes, 30 + 60);
        assert_eq!(c.next_responses.len(), 1);
        assert_eq!(c.next_responses[0].started_at, nov(16, 10, 0));
        assert_eq!(c.next_responses[0].used_minutes, 60);
        assert_eq!(c.next_responses[0].due, Some(nov(16, 12, 0)));
    }

    #[test]
    fn a_pause_inside_business_hours_takes_exactly_its_length_out() {
        let c = clock(
            &[
                (nov(9, 9, 0), opened(Priority::Normal)),
                (nov(9, 10, 0), WaitingOnCustomer),
                (nov(9, 11, 15), CustomerMessaged),
            ],
            nov(9, 14, 0),
        );
        // 09:00-10:00 and 11:15-12:00, 13:00-14:00.
        assert_eq!(c.first_response.used_minutes, 60 + 45 + 60);
        assert_eq!(c.resolution.used_minutes, 165);
        // The first response was still open: no next-response target yet.
        assert!(c.next_responses.is_empty());
    }

    #[test]
    fn next_responses_start_at_the_first_unanswered_customer_message() {
        let c = clock(
            &[
                (nov(9, 9, 0), opened(Priority::Normal)),
                (nov(9, 9, 30), StaffReplied),
                (nov(9, 10, 0), CustomerMessaged),
                (nov(9, 10, 40), CustomerMessaged),
                (nov(9, 11, 0), StaffReplied),
                (nov(9, 16, 0), CustomerMessaged),
            ],
            nov(10, 10, 0),
        );
        assert_eq!(c.next_responses.len(), 2);
        let [answered, waiting] = [c.next_responses[0], c.next_responses[1]];
        assert_eq!(answered.started_at, nov(9, 10, 0));
        assert_eq!(answered.used_minutes, 60);
        assert_eq!(answered.state, TargetState::Met);
        assert_eq!(waiting.started_at, nov(9, 16, 0));
        // 16:00-17:00 and 09:00-10:00: all 120, breached at Tuesday 10:00.
        assert_eq!(waiting.used_minutes, 120);
        assert_eq!(waiting.state, TargetState::Breached);
        assert_eq!(waiting.breached_at, Some(nov(10, 10, 0)));
    }

    #[test]
    fn a_priority_change_keeps_the_minutes_used_and_applies_new_targets_to_the_rest() {
        let events = [
            (nov(9, 9, 0), opened(Priority::Normal)),
            (
                nov(9, 9, 20),
                PriorityChanged {
                    priority: Priority::Urgent,
                },
            ),
        ];
        let c = clock(&events, nov(9, 9, 30));
        assert_eq!(c.priority, Priority::Urgent);
        assert_eq!(c.first_response.target_minutes, 60);
        assert_eq!(c.first_response.used_minutes, 30);
        assert_eq!(c.first_response.due, Some(nov(9, 10, 0)));
        assert_eq!(c.resolution.target_minutes, 480);
        assert_eq!(c.resolution.due, Some(nov(10, 10, 0)));

        // Raised after 90 minutes: already past the urgent hour, breached at
        // the change.
        let late = clock(
            &[
                (nov(9, 9, 0), opened(Priority::Normal)),
                (
                    nov(9, 10, 30),
                    PriorityChanged {
                        priority: Priority::Urgent,
                    },
                ),
            ],
            nov(9, 11, 0),
        );
        assert_eq!(late.first_response.state, TargetState::Breached);
        assert_eq!(late.first_response.breached_at, Some(nov(9, 10, 30)));
        assert_eq!(late.first_response.used_minutes, 120);

        // Lowered again: the breach stays in the record.
        let lowered = clock(
            &[
                (nov(9, 9, 0), opened(Priority::Normal)),
                (
                    nov(9, 10, 30),
                    PriorityChanged {
                        priority: Priority::Urgent,
                    },
                ),
                (
                    nov(9, 10, 45),
                    PriorityChanged {
                        priority: Priority::Normal,
                    },
                ),
            ],
            nov(9, 11, 0),
        );
        assert_eq!(lowered.first_response.target_minutes, 240);
        assert_eq!(lowered.first_response.state, TargetState::Breached);
    }

    #[test]
    fn resolving_meets_every_open_target_and_reopening_resumes_the_resolution_clock() {
        let events = [
            (nov(9, 9, 0), opened(Priority::Normal)),
            (nov(9, 9, 10), StaffReplied),
            (nov(9, 9, 20), CustomerMessaged),
            (nov(9, 10, 0), Resolved),
        ];
        let resolved = clock(&events, nov(10, 9, 0));
        assert!(resolved.resolved);
        assert_eq!(resolved.resolution.state, TargetState::Met);
        assert_eq!(resolved.resolution.used_minutes, 60);
        assert_eq!(resolved.next_responses[0].state, TargetState::Met);
        assert_eq!(resolved.next_responses[0].met_at, Some(nov(9, 10, 0)));

        // A message to a resolved request changes nothing until it reopens.
        let mut later = events.to_vec();
        later.push((nov(9, 14, 0), CustomerMessaged));
        assert_eq!(clock(&later, nov(10, 9, 0)), resolved);

        later.push((nov(10, 9, 0), Reopened));
        later.push((nov(10, 9, 0), CustomerMessaged));
        let reopened = clock(&later, nov(10, 10, 0));
        assert!(!reopened.resolved);
        assert_eq!(reopened.resolution.state, TargetState::Running);
        assert_eq!(reopened.resolution.met_at, None);
        assert_eq!(reopened.resolution.used_minutes, 60 + 60);
        assert_eq!(reopened.next_responses.len(), 2);
        assert_eq!(reopened.next_responses[1].used_minutes, 60);
    }

    #[test]
    fn events_are_taken_in_time_order_and_those_after_now_are_not_yet_known() {
        let in_order = [
            (nov(9, 9, 0), opened(Priority::Normal)),
            (nov(9, 10, 0), StaffReplied),
            (nov(9, 11, 0), WaitingOnCustomer),
        ];
        let shuffled = [in_order[2], in_order[0], in_order[1]];
        assert_eq!(
            clock(&shuffled, nov(9, 15, 0)),
            clock(&in_order, nov(9, 15, 0))
        );
        let early = clock(&in_order, nov(9, 10, 30));
        assert!(!early.paused);
        assert_eq!(early.resolution.used_minutes, 90);
    }

    #[test]
    fn a_clock_needs_an_opening_first_and_a_policy_for_every_priority_it_meets() {
        let at = nov(9, 9, 0);
        let events = |kinds: &[SlaEventKind]| -> Vec<SlaEvent> {
            kinds.iter().map(|&k| SlaEvent::new(at, k)).collect()
        };
        let run = |e: &[SlaEvent]| sla_clock(&office(), &policies(), &dispute(), e, at);
        assert_eq!(run(&[]), Err(SlaError::NotOpened));
        assert_eq!(
            run(&events(&[StaffReplied, opened(Priority::Normal)])),
            Err(SlaError::NotOpened)
        );
        let no_policy = SlaError::NoPolicy {
            kind: dispute(),
            priority: Priority::Low,
        };
        assert_eq!(
            run(&events(&[opened(Priority::Low)])),
            Err(no_policy.clone())
        );
        assert_eq!(
            run(&events(&[
                opened(Priority::Normal),
                PriorityChanged {
                    priority: Priority::Low
                }
            ])),
            Err(no_policy)
        );
    }

    #[test]
    fn a_round_the_clock_target_is_due_after_real_elapsed_time_across_fall_back() {
        // New York, Sunday 1 November 2026: 02:00 EDT becomes 01:00 EST.
        let calendar = BusinessCalendar::new(
            chrono_tz::America::New_York,
            WorkingWeek::every_day(&windows(&["00:00-24:00"])),
            [],
        )
        .unwrap();
        let opened_at = utc("2026-11-01T04:00:00Z"); // 00:00 EDT
        let events = [SlaEvent::new(opened_at, opened(Priority::Normal))];
        let c = sla_clock(&calendar, &policies(), &dispute(), &events, opened_at).unwrap();
        // Four real hours: 03:00 EST on the wall, three hours after midnight.
        assert_eq!(c.first_response.due, Some(utc("2026-11-01T08:00:00Z")));
    }

    #[test]
    fn an_event_stream_reads_and_writes_as_json() {
        let event = SlaEvent::new(
            utc("2026-11-09T08:00:00Z"),
            PriorityChanged {
                priority: Priority::Urgent,
            },
        );
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"at": "2026-11-09T08:00:00Z", "event": "priority_changed", "priority": "urgent"})
        );
        assert_eq!(serde_json::from_value::<SlaEvent>(json).unwrap(), event);
    }

    // --- properties -------------------------------------------------------

    fn minute_aligned(instant: DateTime<Utc>) -> DateTime<Utc> {
        let s = instant.timestamp();
        DateTime::from_timestamp(s - s.rem_euclid(60), 0).unwrap()
    }

    /// After an opening: events at gaps of up to three days.
    fn event_streams() -> impl Strategy<Value = Vec<SlaEvent>> {
        let priority = prop_oneof![Just(Priority::Normal), Just(Priority::Urgent)];
        let kind = prop_oneof![
            Just(StaffReplied),
            Just(CustomerMessaged),
            Just(WaitingOnCustomer),
            priority
                .clone()
                .prop_map(|priority| PriorityChanged { priority }),
            Just(Resolved),
            Just(Reopened),
        ];
        (
            instants(),
            priority,
            prop::collection::vec((0i64..3 * 24 * 60, kind), 0..12),
        )
            .prop_map(|(start, priority, rest)| {
                let mut at = minute_aligned(start);
                let mut events = vec![SlaEvent::new(at, Opened { priority })];
                for (gap, kind) in rest {
                    at += Duration::minutes(gap);
                    events.push(SlaEvent::new(at, kind));
                }
                events
            })
    }

    fn targets_of(c: &SlaClock) -> Vec<TargetClock> {
        let mut all = vec![c.first_response, c.resolution];
        all.extend(c.next_responses.iter().copied());
        all
    }

    proptest! {
        #[test]
        fn a_pause_spanning_off_hours_takes_out_only_the_business_time_inside_it(
            calendar in calendars(),
            opened_at in instants(),
            gaps in (0i64..5 * 24 * 60, 0i64..10 * 24 * 60, 0i64..5 * 24 * 60),
        ) {
            let opened_at = minute_aligned(opened_at);
            let paused_at = opened_at + Duration::minutes(gaps.0);
            let answered_at = paused_at + Duration::minutes(gaps.1);
            let now = answered_at + Duration::minutes(gaps.2);
            let events = [
                SlaEvent::new(opened_at, Opened { priority: Priority::Normal }),
                SlaEvent::new(paused_at, WaitingOnCustomer),
                SlaEvent::new(answered_at, CustomerMessaged),
            ];
            let c = sla_clock(&calendar, &policies(), &dispute(), &events, now).unwrap();
            let expected = calendar.business_minutes_between(opened_at, paused_at)
                + calendar.business_minutes_between(answered_at, now);
            prop_assert_eq!(c.resolution.used_minutes, expected);
            prop_assert!(c.resolution.used_minutes <= calendar.business_minutes_between(opened_at, now));
        }

        #[test]
        fn a_priority_change_mid_way_keeps_every_minute_used(
            calendar in calendars(),
            opened_at in instants(),
            gaps in (0i64..5 * 24 * 60, 0i64..5 * 24 * 60),
        ) {
            let opened_at = minute_aligned(opened_at);
            let changed_at = opened_at + Duration::minutes(gaps.0);
            let now = changed_at + Duration::minutes(gaps.1);
            let events = [
                SlaEvent::new(opened_at, Opened { priority: Priority::Normal }),
                SlaEvent::new(changed_at, PriorityChanged { priority: Priority::Urgent }),
            ];
            let c = sla_clock(&calendar, &policies(), &dispute(), &events, now).unwrap();
            let used = calendar.business_minutes_between(opened_at, now);
            prop_assert_eq!(c.resolution.used_minutes, used);
            prop_assert_eq!(c.resolution.target_minutes, 480);
            // Normal's targets are all longer than urgent's, so a breach
            // happens exactly when the urgent target is used up.
            prop_assert_eq!(c.resolution.state == TargetState::Breached, used >= 480);
            if let Some(due) = c.resolution.due.filter(|_| used < 480) {
                prop_assert_eq!(calendar.business_minutes_between(now, due), 480 - used);
            }
        }

        #[test]
        fn a_breach_stays_and_used_minutes_never_shrink_as_time_goes_on(
            calendar in calendars(),
            events in event_streams(),
            later in (0i64..5 * 24 * 60, 0i64..5 * 24 * 60),
        ) {
            let last = events.last().unwrap().at;
            let now = last + Duration::minutes(later.0);
            let then = now + Duration::minutes(later.1);
            let c_now = sla_clock(&calendar, &policies(), &dispute(), &events, now).unwrap();
            let c_then = sla_clock(&calendar, &policies(), &dispute(), &events, then).unwrap();
            for (a, b) in targets_of(&c_now).into_iter().zip(targets_of(&c_then)) {
                prop_assert!(b.used_minutes >= a.used_minutes);
                if a.state == TargetState::Breached {
                    prop_assert_eq!(b.state, TargetState::Breached);
                    prop_assert_eq!(b.breached_at, a.breached_at);
                }
            }
        }

        #[test]
        fn no_target_uses_more_than_the_business_time_since_it_started(
            calendar in calendars(),
            events in event_streams(),
            later in 0i64..5 * 24 * 60,
        ) {
            let now = events.last().unwrap().at + Duration::minutes(later);
            let c = sla_clock(&calendar, &policies(), &dispute(), &events, now).unwrap();
            for t in targets_of(&c) {
                prop_assert!(t.used_minutes >= 0);
                prop_assert!(t.used_minutes <= calendar.business_minutes_between(t.started_at, now));
                prop_assert_eq!(t.due.is_none(), t.met_at.is_some() || c.paused);
                if let (Some(due), TargetState::Running | TargetState::Warning) = (t.due, t.state) {
                    prop_assert_eq!(
                        t.used_minutes + calendar.business_minutes_between(now, due),
                        t.target_minutes
                    );
                }
            }
        }
    }
}
