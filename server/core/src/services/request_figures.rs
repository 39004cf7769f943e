//! AR's figures of requests (issue 11 item 7): open requests by kind, the
//! median first-response time and the share answered within the SLA over
//! the last 30 days, the breaches of the seller's current week, and
//! requests opened and resolved per week for a small chart.
//!
//! Counts are aggregates the database sums. The SLA numbers need clocks,
//! which are folded in Rust (`domain::sla::sla_clock`, the same fold the
//! queue and the customer see): only for requests first answered in the
//! last 30 days, and for those open this week. With 10,000 open requests
//! that is still a fold per open request, so the answer is kept for a
//! minute per database (the page says when it was computed): the queue's
//! page can be viewed at any rate without folding again, and a change of
//! the calendar or policies is seen at once.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::staff_requests::SlaSettings;
use super::Services;
use crate::domain::request::RequestKind;
use crate::domain::sla::{sla_clock, SlaClock, SlaEvent, TargetClock};
use crate::error::ServiceResult;
use crate::repo::request_figures::{self as repo, KindEvent};

/// How far back the first-response figures look.
pub const FIRST_RESPONSE_DAYS: i64 = 30;
/// How many weeks the chart shows (the current one last).
pub const CHART_WEEKS: usize = 8;
/// How long computed figures are reused when nothing changed but time.
const CACHE_SECONDS: i64 = 60;

/// One week of the chart, from Monday in the seller's time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeekCount {
    pub starts: NaiveDate,
    pub opened: i64,
    pub resolved: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFigures {
    pub as_of: DateTime<Utc>,
    /// Every kind, in `RequestKind::ALL` order, zero included.
    pub open_by_kind: Vec<(RequestKind, i64)>,
    /// First responses (first customer-visible staff reply) in the last
    /// `FIRST_RESPONSE_DAYS` days.
    pub first_responses: i64,
    /// Their median in business minutes (paused time not counted).
    pub median_first_response_minutes: Option<i64>,
    /// How many of them met the first-response target.
    pub first_responses_within_sla: i64,
    /// Targets (first response, next responses, resolution) that fell due
    /// unmet since Monday 00:00 in the seller's time zone.
    pub breaches_this_week: i64,
    /// That Monday.
    pub week_starts: NaiveDate,
    /// The seller's time zone, as the page names it.
    pub time_zone: String,
    /// Oldest first; the last is the current week (so far).
    pub weeks: Vec<WeekCount>,
}

impl RequestFigures {
    /// The share within SLA in whole percent, if anything was answered.
    pub fn within_sla_percent(&self) -> Option<i64> {
        (self.first_responses > 0).then(|| {
            (self.first_responses_within_sla * 100 + self.first_responses / 2)
                / self.first_responses
        })
    }
}

struct Cached {
    computed_at: DateTime<Utc>,
    stamp: u64,
    figures: RequestFigures,
}

/// Per database URL (tests run several portals in one process).
static CACHE: Mutex<Option<HashMap<String, Cached>>> = Mutex::new(None);

impl Services {
    /// The queue's figures as at now (staff only).
    pub async fn request_figures(&self, staff_id: i64) -> ServiceResult<RequestFigures> {
        let now = self.clock.now();
        let mut conn = self.db.pool.acquire().await?;
        self.require_active_staff(&mut conn, staff_id).await?;
        let stamp = repo::settings_fingerprint(&mut conn).await?;
        let key = &self.config.database_url;
        if let Some(figures) = cached(key, now, stamp) {
            return Ok(figures);
        }
        drop(conn);
        let settings = self.sla_settings().await?;
        let tz = settings.calendar.time_zone();
        let week_starts = monday_of(tz, now);
        let mut bounds: Vec<DateTime<Utc>> = (0..CHART_WEEKS as i64)
            .rev()
            .map(|back| local_midnight(tz, week_starts - Duration::weeks(back)))
            .collect();
        let this_week = *bounds.last().expect("at least one week");
        bounds.push(now.max(this_week) + Duration::microseconds(1));

        let mut conn = self.db.pool.acquire().await?;
        let counted = repo::open_by_kind(&mut conn).await?;
        let weekly = repo::opened_and_resolved(&mut conn, &bounds).await?;
        let answered =
            repo::first_replied_since(&mut conn, now - Duration::days(FIRST_RESPONSE_DAYS)).await?;
        let active = repo::active_since(&mut conn, this_week).await?;
        drop(conn);

        let mut minutes = Vec::new();
        let mut within = 0;
        for clock in clocks(&settings, answered, now) {
            let first = clock.first_response;
            if first.met_at.is_some() {
                minutes.push(first.used_minutes);
                if first.breached_at.is_none() {
                    within += 1;
                }
            }
        }
        let breaches_this_week = clocks(&settings, active, now)
            .iter()
            .map(|clock| {
                targets(clock)
                    .filter(|t| t.breached_at.is_some_and(|at| at >= this_week && at <= now))
                    .count() as i64
            })
            .sum();
        let figures = RequestFigures {
            as_of: now,
            open_by_kind: RequestKind::ALL
                .into_iter()
                .map(|kind| {
                    let n = counted
                        .iter()
                        .find(|(k, _)| *k == kind)
                        .map_or(0, |(_, n)| *n);
                    (kind, n)
                })
                .collect(),
            first_responses: minutes.len() as i64,
            median_first_response_minutes: median(&mut minutes),
            first_responses_within_sla: within,
            breaches_this_week,
            week_starts,
            time_zone: tz.name().to_owned(),
            weeks: weekly
                .into_iter()
                .enumerate()
                .map(|(i, (opened, resolved))| WeekCount {
                    starts: week_starts - Duration::weeks((CHART_WEEKS - 1 - i) as i64),
                    opened,
                    resolved,
                })
                .collect(),
        };
        remember(key, now, stamp, &figures);
        Ok(figures)
    }
}

fn cached(key: &str, now: DateTime<Utc>, stamp: u64) -> Option<RequestFigures> {
    let cache = CACHE.lock().ok()?;
    let entry = cache.as_ref()?.get(key)?;
    let fresh = now >= entry.computed_at
        && now - entry.computed_at < Duration::seconds(CACHE_SECONDS)
        && entry.stamp == stamp;
    fresh.then(|| entry.figures.clone())
}

fn remember(key: &str, now: DateTime<Utc>, stamp: u64, figures: &RequestFigures) {
    if let Ok(mut cache) = CACHE.lock() {
        let map = cache.get_or_insert_with(HashMap::new);
        // Stale entries of other databases (tests) go with the next write.
        map.retain(|_, c| {
            now >= c.computed_at && now - c.computed_at < Duration::seconds(CACHE_SECONDS)
        });
        map.insert(
            key.to_owned(),
            Cached {
                computed_at: now,
                stamp,
                figures: figures.clone(),
            },
        );
    }
}

/// Folds the clock of each request of `events` (grouped by request, in
/// order). A request whose kind has no policy has no clock: it is left out
/// of the figures (and logged) rather than failing the whole page.
fn clocks(settings: &SlaSettings, events: Vec<KindEvent>, now: DateTime<Utc>) -> Vec<SlaClock> {
    let mut out = Vec::new();
    let mut group: Vec<SlaEvent> = Vec::new();
    let mut current: Option<(i64, RequestKind)> = None;
    let fold =
        |id: i64, kind: RequestKind, group: &[SlaEvent], out: &mut Vec<SlaClock>| match sla_clock(
            &settings.calendar,
            &settings.policies,
            &kind.sla_kind(),
            group,
            now,
        ) {
            Ok(clock) => out.push(clock),
            Err(e) => tracing::warn!(request_id = id, error = %e, "no SLA clock for the figures"),
        };
    for (id, kind, event) in events {
        if current.is_some_and(|(c, _)| c != id) {
            let (c, k) = current.expect("checked");
            fold(c, k, &group, &mut out);
            group.clear();
        }
        current = Some((id, kind));
        group.push(event);
    }
    if let Some((c, k)) = current {
        fold(c, k, &group, &mut out);
    }
    out
}

fn targets(clock: &SlaClock) -> impl Iterator<Item = &TargetClock> {
    std::iter::once(&clock.first_response)
        .chain(clock.next_responses.iter())
        .chain(std::iter::once(&clock.resolution))
}

/// The middle value (the mean of the two middle ones, rounded down, for an
/// even count).
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

/// The Monday of `now`'s week in `tz`.
fn monday_of(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&tz).date_naive();
    today - Duration::days(today.weekday().num_days_from_monday().into())
}

/// The first instant of `date` in `tz`. Where a zone skips midnight (a DST
/// change at 00:00), the day starts at the first local time that exists.
fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut local = date.and_time(NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(30);
    }
    // No zone skips two hours; UTC midnight is a safe answer regardless.
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// Business minutes as a person says them: "45 minutes", "2 hours",
/// "3 hours 20 minutes".
pub fn minutes_in_words(minutes: i64) -> String {
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => plural(m, "minute", "minutes"),
        (h, 0) => plural(h, "hour", "hours"),
        (h, m) => format!(
            "{} {}",
            plural(h, "hour", "hours"),
            plural(m, "minute", "minutes")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_takes_the_middle_and_averages_an_even_pair() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [30, 10, 400]), Some(30));
        assert_eq!(median(&mut [10, 20, 40, 400]), Some(30));
    }

    #[test]
    fn weeks_start_on_monday_at_local_midnight() {
        let ny = chrono_tz::America::New_York;
        // Sunday 10 Jan 2027 23:30 in New York is Monday 04:30 UTC.
        let now = Utc.with_ymd_and_hms(2027, 1, 11, 4, 30, 0).unwrap();
        let monday = monday_of(ny, now);
        assert_eq!(monday, NaiveDate::from_ymd_opt(2027, 1, 4).unwrap());
        assert_eq!(
            local_midnight(ny, monday),
            Utc.with_ymd_and_hms(2027, 1, 4, 5, 0, 0).unwrap()
        );
        // Santiago skips midnight when summer time starts (6 Sep 2026).
        let santiago = chrono_tz::America::Santiago;
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = local_midnight(santiago, day);
        assert_eq!(start.with_timezone(&santiago).date_naive(), day);
    }

    #[test]
    fn minutes_read_as_words() {
        assert_eq!(minutes_in_words(1), "1 minute");
        assert_eq!(minutes_in_words(45), "45 minutes");
        assert_eq!(minutes_in_words(120), "2 hours");
        assert_eq!(minutes_in_words(61), "1 hour 1 minute");
        assert_eq!(minutes_in_words(200), "3 hours 20 minutes");
    }
}
