//! SLA warning and breach alerts, sent inside business hours (issue 11
//! item 5).
//!
//! A job finds the open requests at risk or breached (by the queue's
//! cached SLA positions), folds their clocks with the stored calendar and
//! policies and, for each target (first response, each next response,
//! resolution) that reached its warning share or breached while still
//! open, queues one mail to the assignee, or to every active staff user
//! while unassigned. Each (request, target, level) is
//! mailed once: the `sla_alerts` row (migration 0011) is inserted in the
//! transaction that queues the mails, and the mails are queued only when
//! the insert added the row, so two runs or two instances never mail twice.
//!
//! Nothing is queued outside the seller's business hours: an alert that
//! falls due at night waits for the first run after the next opening
//! (escalation mail at midnight is what Zammad's users complain of). A
//! request waiting on the customer gets nothing while it waits, and a
//! target met before the alert went out needs none.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::staff_requests::{fold_clock, SlaSettings};
use super::Services;
use crate::db::Backend;
use crate::domain::request::RequestKind;
use crate::domain::sla::{BusinessCalendar, SlaClock, SlaEvent, TargetClock, TargetState};
use crate::email::templates::{sla_alert_email, SlaAlertNotice, StaffAlertEmail};
use crate::error::ServiceResult;
use crate::repo::leases::ScheduledJob;
use crate::repo::sla_alerts::{self as repo, AlertKey};
use crate::repo::staff_requests::{self as staff_repo, QueueWhere, SlaWhere};
use crate::repo::{outbox, requests as requests_repo, Conn};

/// How often the job runs.
pub const SLA_ALERT_INTERVAL: Duration = Duration::seconds(60);
/// How long an instance holds the job: a run that takes longer (or dies)
/// lets another instance run it after this.
const JOB_LEASE: Duration = Duration::minutes(5);

/// Which target of a request an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertTarget {
    FirstResponse,
    /// The n-th next response (after the n-th customer message that waited
    /// for an answer), from 1.
    NextResponse(u32),
    Resolution,
}

impl AlertTarget {
    fn column(self) -> (&'static str, i64) {
        match self {
            Self::FirstResponse => ("first_response", 0),
            Self::NextResponse(n) => ("next_response", i64::from(n)),
            Self::Resolution => ("resolution", 0),
        }
    }

    /// As a mail names it.
    fn words(self) -> String {
        match self {
            Self::FirstResponse => "first response".into(),
            Self::NextResponse(1) => "answer to the customer's message".into(),
            Self::NextResponse(n) => format!("answer to the customer's message (the {n}. wait)"),
            Self::Resolution => "resolution".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertLevel {
    /// The target used its warning share (default 80%).
    Warning,
    /// The target's due instant passed while it was open.
    Breach,
}

impl AlertLevel {
    fn column(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Breach => "breach",
        }
    }
}

/// An alert a run queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedAlert {
    pub request_id: i64,
    pub target: AlertTarget,
    pub level: AlertLevel,
    /// The addresses mailed (none when no active staff user exists).
    pub recipients: Vec<String>,
}

/// The alerts a clock calls for as at the instant it was folded for: each
/// target still open that is breached (breach) or at its warning share
/// (warning). Nothing while the request waits on the customer (it is not
/// the team's move) or once it is resolved. A breached target calls for
/// the breach only: a warning after the fact says nothing new.
pub fn due_alerts(clock: &SlaClock) -> Vec<(AlertTarget, AlertLevel, TargetClock)> {
    if clock.paused || clock.resolved {
        return Vec::new();
    }
    let targets = std::iter::once((AlertTarget::FirstResponse, clock.first_response))
        .chain(
            clock
                .next_responses
                .iter()
                .enumerate()
                .map(|(i, t)| (AlertTarget::NextResponse(i as u32 + 1), *t)),
        )
        .chain(std::iter::once((AlertTarget::Resolution, clock.resolution)));
    targets
        .filter(|(_, t)| t.met_at.is_none())
        .filter_map(|(target, t)| match t.state {
            TargetState::Breached => Some((target, AlertLevel::Breach, t)),
            TargetState::Warning => Some((target, AlertLevel::Warning, t)),
            TargetState::Running | TargetState::Paused | TargetState::Met => None,
        })
        .collect()
}

/// Whether `now` is business time in `calendar` (inside a working window
/// of a working day, not a holiday).
pub fn in_business_hours(calendar: &BusinessCalendar, now: DateTime<Utc>) -> bool {
    calendar.business_time_between(now, now + Duration::seconds(1)) > Duration::zero()
}

/// An alert as the `sla_alerts` columns store it: (target, target number,
/// level).
pub fn alert_columns(target: AlertTarget, level: AlertLevel) -> (&'static str, i64, &'static str) {
    let (name, number) = target.column();
    (name, number, level.column())
}

fn key(request_id: i64, target: AlertTarget, level: AlertLevel) -> AlertKey {
    let (name, number, level) = alert_columns(target, level);
    (request_id, name.into(), number, level.into())
}

/// Every alert the open requests call for as at `now`, as (request id,
/// target, level), read in one snapshot. The queue's cached positions
/// (migration 0010, fresh: the caller refreshed them) name the requests
/// with a breach in the record or a target at its warning share now;
/// only those are folded, and alerts already queued are left out.
async fn candidates(
    conn: &mut Conn,
    backend: Backend,
    settings: &SlaSettings,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<(i64, AlertTarget, AlertLevel)>> {
    let listed = staff_repo::queue_page(
        conn,
        backend,
        &QueueWhere::default(),
        Some(SlaWhere::AtRiskOrBreached),
        now,
        None,
        0,
    )
    .await?;
    let ids: Vec<i64> = listed.iter().map(|l| l.request.request_id).collect();
    let events = staff_repo::events_of(conn, &ids).await?;
    let sent = repo::sent_for_open_requests(conn).await?;
    let mut by_request: HashMap<i64, Vec<SlaEvent>> = HashMap::with_capacity(ids.len());
    for (request_id, event) in events {
        by_request.entry(request_id).or_default().push(event);
    }
    let mut due = Vec::new();
    for listed in listed {
        let request = listed.request;
        let events = by_request.remove(&request.request_id).unwrap_or_default();
        let clock = fold_clock(settings, request.request_id, request.kind, &events, now)?;
        for (target, level, _) in due_alerts(&clock) {
            if !sent.contains(&key(request.request_id, target, level)) {
                due.push((request.request_id, target, level));
            }
        }
    }
    Ok(due)
}

/// `due` in the calendar's zone, as a mail says it: "Tue 12 Jan, 2:48 PM EST".
fn due_words(calendar: &BusinessCalendar, due: Option<DateTime<Utc>>) -> String {
    match due {
        Some(due) => due
            .with_timezone(&calendar.time_zone())
            .format("%a %-d %b, %-I:%M %p %Z")
            .to_string(),
        None => "now".into(),
    }
}

impl Services {
    /// Queues the SLA alerts due as at `now` and returns them; nothing
    /// outside business hours. Safe to run any number of times, from any
    /// number of instances: each alert is queued once.
    ///
    /// The open requests are read and folded in one snapshot; each alert
    /// found is then queued in a transaction of its own that first folds
    /// its request again (a reply or a pause may have come in between) and
    /// inserts the `sla_alerts` row, queueing the mails only when that row
    /// is new.
    pub async fn run_sla_alerts(&self, now: DateTime<Utc>) -> ServiceResult<Vec<QueuedAlert>> {
        if !in_business_hours(&self.sla_settings().await?.calendar, now) {
            return Ok(Vec::new());
        }
        // The queue's cached positions name the candidates: bring them up
        // to date first (the settings come with them).
        let settings = self.refresh_sla_positions().await?;
        let found = {
            let mut tx = self.db.pool.begin().await?;
            let found = candidates(&mut tx, self.db.backend(), &settings, now).await?;
            tx.commit().await?;
            found
        };
        let mut queued = Vec::new();
        for (request_id, target, level) in found {
            if let Some(alert) = self
                .queue_sla_alert(&settings, request_id, target, level, now)
                .await?
            {
                queued.push(alert);
            }
        }
        if queued.iter().any(|a| !a.recipients.is_empty()) {
            self.outbox_wake.notify_one();
        }
        Ok(queued)
    }

    /// One alert, in its own transaction: `None` when it is no longer due
    /// or another run queued it first.
    async fn queue_sla_alert(
        &self,
        settings: &SlaSettings,
        request_id: i64,
        target: AlertTarget,
        level: AlertLevel,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<QueuedAlert>> {
        let mut tx = self.db.begin_write().await?;
        let Some(request) = staff_repo::request(&mut tx, request_id).await? else {
            return Ok(None);
        };
        if !request.status.is_open() {
            return Ok(None);
        }
        let events = requests_repo::events(&mut tx, request_id).await?;
        let clock = fold_clock(settings, request_id, request.kind, &events, now)?;
        let Some((_, _, target_clock)) = due_alerts(&clock)
            .into_iter()
            .find(|(t, l, _)| *t == target && *l == level)
        else {
            return Ok(None);
        };
        let Some(context) = requests_repo::notice_context(&mut tx, request_id).await? else {
            return Ok(None);
        };
        let recipients = requests_repo::staff_recipients(&mut tx, request_id).await?;
        let count = i64::try_from(recipients.len()).unwrap_or(i64::MAX);
        if !repo::record(&mut tx, &key(request_id, target, level), count, now).await? {
            return Ok(None);
        }
        let link = self.config.link(&format!("/staff/requests/{request_id}"));
        let label = match (context.kind, context.invoice_number.as_deref()) {
            (RequestKind::Dispute, Some(number)) => format!("dispute of invoice {number}"),
            (kind, _) => kind.as_str().replace('_', " "),
        };
        let target_words = target.words();
        let due = due_words(&settings.calendar, target_clock.due);
        let notice = SlaAlertNotice {
            breached: level == AlertLevel::Breach,
            target: &target_words,
            due: &due,
            used_minutes: target_clock.used_minutes,
            target_minutes: target_clock.target_minutes,
        };
        for (name, email) in &recipients {
            let message = sla_alert_email(
                &StaffAlertEmail {
                    seller_name: &self.config.seller_name,
                    recipient_name: name,
                    customer_name: &context.customer_name,
                    request_label: &label,
                    link: &link,
                },
                &notice,
            );
            outbox::enqueue(
                &mut tx,
                now,
                outbox::NewEmail {
                    to: email,
                    subject: &message.subject,
                    text_body: &message.text_body,
                    html_body: &message.html_body,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(QueuedAlert {
            request_id,
            target,
            level,
            recipients: recipients.into_iter().map(|(_, email)| email).collect(),
        }))
    }

    /// The scheduled run: when the job's row is due and free, this instance
    /// takes its lease, runs [`Services::run_sla_alerts`] and sets the next
    /// run a minute on. `None` when it was not this instance's turn. A run
    /// that fails is retried at the next minute; the lease is released
    /// either way.
    pub async fn run_sla_alerts_when_due(&self) -> ServiceResult<Option<Vec<QueuedAlert>>> {
        self.run_when_due(
            ScheduledJob::SlaAlerts,
            JOB_LEASE,
            SLA_ALERT_INTERVAL,
            async |now| self.run_sla_alerts(now).await,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::sla::{Priority, SlaEventKind};
    use crate::services::staff_requests::{default_business_calendar, default_sla_policies};

    fn settings() -> SlaSettings {
        SlaSettings {
            calendar: default_business_calendar(),
            policies: default_sla_policies(),
        }
    }

    /// New York local time in the week of Monday 11 January 2027 (UTC-5).
    fn ny(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, day, 0, 0, 0).unwrap()
            + chrono::Duration::minutes(i64::from((hour + 5) * 60 + minute))
    }

    fn clock(events: &[SlaEvent], now: DateTime<Utc>) -> SlaClock {
        fold_clock(&settings(), 1, RequestKind::Dispute, events, now).unwrap()
    }

    fn opened(at: DateTime<Utc>) -> SlaEvent {
        SlaEvent::new(
            at,
            SlaEventKind::Opened {
                priority: Priority::Normal,
            },
        )
    }

    fn levels(clock: &SlaClock) -> Vec<(AlertTarget, AlertLevel)> {
        due_alerts(clock)
            .into_iter()
            .map(|(t, l, _)| (t, l))
            .collect()
    }

    #[test]
    fn business_hours_are_the_calendars_windows() {
        let calendar = default_business_calendar();
        assert!(in_business_hours(&calendar, ny(12, 9, 0)));
        assert!(in_business_hours(&calendar, ny(12, 16, 59)));
        assert!(!in_business_hours(&calendar, ny(12, 17, 0)), "closing time");
        assert!(!in_business_hours(&calendar, ny(12, 12, 30)), "lunch");
        assert!(!in_business_hours(&calendar, ny(12, 23, 0)), "night");
        assert!(!in_business_hours(&calendar, ny(16, 10, 0)), "Saturday");
        assert!(!in_business_hours(&calendar, ny(18, 10, 0)), "a holiday");
    }

    #[test]
    fn a_first_response_warns_at_80_percent_and_breaches_at_100() {
        // 4 business hours from Tuesday 9:00: warning at 12:12 (192 min,
        // with the lunch hour not counting: 9-12 is 180, then 13:12),
        // breach at 14:00.
        let events = [opened(ny(12, 9, 0))];
        assert_eq!(levels(&clock(&events, ny(12, 13, 11))), vec![]);
        assert_eq!(
            levels(&clock(&events, ny(12, 13, 12))),
            vec![(AlertTarget::FirstResponse, AlertLevel::Warning)]
        );
        assert_eq!(
            levels(&clock(&events, ny(12, 14, 0))),
            vec![(AlertTarget::FirstResponse, AlertLevel::Breach)]
        );
    }

    #[test]
    fn a_paused_or_answered_request_calls_for_nothing() {
        let waiting = [
            opened(ny(12, 9, 0)),
            SlaEvent::new(ny(12, 9, 30), SlaEventKind::StaffReplied),
            SlaEvent::new(ny(12, 9, 31), SlaEventKind::WaitingOnCustomer),
        ];
        assert_eq!(levels(&clock(&waiting, ny(20, 10, 0))), vec![]);
        let answered = [
            opened(ny(12, 9, 0)),
            SlaEvent::new(ny(12, 14, 30), SlaEventKind::StaffReplied),
        ];
        // Breached and then met: the alert's moment has passed.
        assert_eq!(levels(&clock(&answered, ny(12, 15, 0))), vec![]);
    }

    #[test]
    fn each_next_response_is_its_own_target() {
        let events = [
            opened(ny(11, 9, 0)),
            SlaEvent::new(ny(11, 9, 10), SlaEventKind::StaffReplied),
            SlaEvent::new(ny(11, 9, 20), SlaEventKind::CustomerMessaged),
        ];
        // 8 business hours for the next response: breached on Tuesday.
        let due = levels(&clock(&events, ny(12, 11, 0)));
        assert!(due.contains(&(AlertTarget::NextResponse(1), AlertLevel::Breach)));
        assert_eq!(
            key(7, AlertTarget::NextResponse(1), AlertLevel::Breach),
            (7, "next_response".into(), 1, "breach".into())
        );
    }
}
