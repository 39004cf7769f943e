//! The business calendar: when the team works, in its own time zone.
//!
//! One definition drives everything here: an instant is working time when
//! its local date (in the calendar's zone) is not a holiday and its local
//! wall time lies in one of that weekday's windows. Arithmetic runs on UTC
//! instants; the zone only decides which instants qualify. Consequences at
//! DST changes follow from that definition rather than from special cases:
//!
//! - Spring forward: wall times in the skipped hour never occur, so a window
//!   starting inside it (02:30-05:00 in New York) starts at the first instant
//!   after the gap (03:00 local), and a window spanning it (01:00-04:00) is
//!   one real hour shorter. A window wholly inside the gap is empty that day.
//! - Fall back: wall times in the repeated hour occur twice and both count
//!   (people are at work for both), so 01:00-04:00 lasts four real hours.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One stretch of work on a weekday, in local wall time: `[start, end)`.
/// Written and stored as `"HH:MM-HH:MM"`; the end may be `24:00`. Night
/// shifts are two windows, one each side of midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingWindow {
    start_minute: u16,
    end_minute: u16,
}

impl WorkingWindow {
    /// A window from minutes after local midnight; `end_minute` up to 1440.
    pub fn from_minutes(start_minute: u16, end_minute: u16) -> Result<Self, CalendarError> {
        if start_minute < end_minute && end_minute <= MINUTES_PER_DAY {
            Ok(Self {
                start_minute,
                end_minute,
            })
        } else {
            Err(CalendarError::BadWindow(format!(
                "{}-{}",
                clock_text(start_minute),
                clock_text(end_minute)
            )))
        }
    }

    pub fn start_minute(self) -> u16 {
        self.start_minute
    }

    pub fn end_minute(self) -> u16 {
        self.end_minute
    }

    fn local_span(self, date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let midnight = date.and_time(NaiveTime::MIN);
        (
            midnight + Duration::minutes(self.start_minute.into()),
            midnight + Duration::minutes(self.end_minute.into()),
        )
    }
}

fn clock_text(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn parse_clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let shaped = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !shaped(h) || !shaped(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl FromStr for WorkingWindow {
    type Err = CalendarError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || CalendarError::BadWindow(text.to_owned());
        let (start, end) = text.trim().split_once('-').ok_or_else(bad)?;
        let start = parse_clock(start.trim()).ok_or_else(bad)?;
        let end = parse_clock(end.trim()).ok_or_else(bad)?;
        Self::from_minutes(start, end)
    }
}

impl fmt::Display for WorkingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            clock_text(self.start_minute),
            clock_text(self.end_minute)
        )
    }
}

impl TryFrom<String> for WorkingWindow {
    type Error = CalendarError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<WorkingWindow> for String {
    fn from(window: WorkingWindow) -> Self {
        window.to_string()
    }
}

/// The windows of each weekday (any number: split shifts, lunch breaks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingWeek {
    #[serde(default)]
    pub monday: Vec<WorkingWindow>,
    #[serde(default)]
    pub tuesday: Vec<WorkingWindow>,
    #[serde(default)]
    pub wednesday: Vec<WorkingWindow>,
    #[serde(default)]
    pub thursday: Vec<WorkingWindow>,
    #[serde(default)]
    pub friday: Vec<WorkingWindow>,
    #[serde(default)]
    pub saturday: Vec<WorkingWindow>,
    #[serde(default)]
    pub sunday: Vec<WorkingWindow>,
}

impl WorkingWeek {
    /// The same windows Monday to Friday, nothing at weekends.
    pub fn weekdays(windows: &[WorkingWindow]) -> Self {
        Self {
            monday: windows.to_vec(),
            tuesday: windows.to_vec(),
            wednesday: windows.to_vec(),
            thursday: windows.to_vec(),
            friday: windows.to_vec(),
            ..Self::default()
        }
    }

    /// The same windows every day of the week.
    pub fn every_day(windows: &[WorkingWindow]) -> Self {
        Self {
            saturday: windows.to_vec(),
            sunday: windows.to_vec(),
            ..Self::weekdays(windows)
        }
    }

    pub fn windows(&self, day: Weekday) -> &[WorkingWindow] {
        match day {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    fn windows_mut(&mut self, day: Weekday) -> &mut Vec<WorkingWindow> {
        match day {
            Weekday::Mon => &mut self.monday,
            Weekday::Tue => &mut self.tuesday,
            Weekday::Wed => &mut self.wednesday,
            Weekday::Thu => &mut self.thursday,
            Weekday::Fri => &mut self.friday,
            Weekday::Sat => &mut self.saturday,
            Weekday::Sun => &mut self.sunday,
        }
    }
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "a working window is written HH:MM-HH:MM, start before end, up to 24:00 (got \"{0}\")"
    )]
    BadWindow(String),
    #[error("working windows on {day} overlap: {first} and {second}")]
    OverlappingWindows {
        day: Weekday,
        first: WorkingWindow,
        second: WorkingWindow,
    },
    #[error("a business calendar needs at least one working window in the week")]
    NoWorkingTime,
}

/// A time zone, the working week and the holidays (local dates, no work all
/// day). Built through [`BusinessCalendar::new`] (or deserialised, which
/// checks the same), so windows are sorted and never overlap: overlapping
/// windows would count their shared minutes twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarParts")]
pub struct BusinessCalendar {
    time_zone: Tz,
    week: WorkingWeek,
    holidays: BTreeSet<NaiveDate>,
}

/// What a stored calendar is read into before it is checked.
#[derive(Deserialize)]
struct CalendarParts {
    time_zone: Tz,
    week: WorkingWeek,
    #[serde(default)]
    holidays: BTreeSet<NaiveDate>,
}

impl TryFrom<CalendarParts> for BusinessCalendar {
    type Error = CalendarError;

    fn try_from(parts: CalendarParts) -> Result<Self, Self::Error> {
        Self::new(parts.time_zone, parts.week, parts.holidays)
    }
}

/// Offsets are probed this far apart when looking for DST transitions; zones
/// never change offset twice within it (changes are months apart).
const OFFSET_PROBE_STEP: Duration = Duration::hours(3);

/// `add_business_*` looks this far ahead per step, so one step is a handful
/// of days' windows rather than everything up to the answer.
const SEARCH_STEP: Duration = Duration::days(7);

impl BusinessCalendar {
    pub fn new(
        time_zone: Tz,
        mut week: WorkingWeek,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        for day in WEEK {
            let windows = week.windows_mut(day);
            windows.sort();
            windows.dedup();
            if let Some(pair) = windows
                .windows(2)
                .find(|pair| pair[1].start_minute < pair[0].end_minute)
            {
                return Err(CalendarError::OverlappingWindows {
                    day,
                    first: pair[0],
                    second: pair[1],
                });
            }
        }
        // Without any working time, adding business minutes would never end.
        if WEEK.iter().all(|&day| week.windows(day).is_empty()) {
            return Err(CalendarError::NoWorkingTime);
        }
        Ok(Self {
            time_zone,
            week,
            holidays: holidays.into_iter().collect(),
        })
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn week(&self) -> &WorkingWeek {
        &self.week
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// Working minutes in `[from, to)`; 0 when `to` is not after `from`.
    /// Seconds are counted exactly and whole minutes reported (rounded down).
    pub fn business_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.business_time_between(from, to).num_minutes()
    }

    /// The instant at which `minutes` working minutes have elapsed since
    /// `from`: inside a working window or exactly at its end, never in the
    /// off-hours after it. `minutes <= 0` gives `from` itself.
    pub fn add_business_minutes(&self, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        self.add_business_time(from, Duration::minutes(minutes))
    }

    /// Working time in `[from, to)`, exact to the nanosecond.
    pub(crate) fn business_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        self.working_intervals(from, to)
            .into_iter()
            .map(|(start, end)| end - start)
            .sum()
    }

    /// The earliest instant at which `amount` of working time has elapsed
    /// since `from`; `from` itself for a zero or negative amount.
    pub(crate) fn add_business_time(&self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut remaining = amount;
        let mut cursor = from;
        // Ends: `new` refuses a week without windows, so every step but those
        // made of holidays finds working time, and holidays are finitely many.
        while remaining > Duration::zero() {
            let step_end = cursor + SEARCH_STEP;
            for (start, end) in self.working_intervals(cursor, step_end) {
                let length = end - start;
                if remaining <= length {
                    return start + remaining;
                }
                remaining -= length;
            }
            cursor = step_end;
        }
        from
    }

    /// The working time in `[from, to)` as sorted, disjoint UTC intervals.
    ///
    /// The span is cut where the zone's offset changes; within one piece,
    /// local time is UTC plus a constant, so each local window maps to one
    /// UTC interval, clipped to the piece. Walking pieces in order keeps the
    /// result sorted even where a change repeats wall times.
    fn working_intervals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut intervals = Vec::new();
        for (piece_start, piece_end, offset) in self.offset_pieces(from, to) {
            let local_start = piece_start.naive_utc() + offset;
            let local_end = piece_end.naive_utc() + offset;
            let mut date = local_start.date();
            while date <= local_end.date() {
                if !self.holidays.contains(&date) {
                    for window in self.week.windows(date.weekday()) {
                        let (window_start, window_end) = window.local_span(date);
                        let start = (window_start - offset).and_utc().max(piece_start);
                        let end = (window_end - offset).and_utc().min(piece_end);
                        if start < end {
                            intervals.push((start, end));
                        }
                    }
                }
                date = date.succ_opt().expect("dates in chrono's range");
            }
        }
        intervals
    }

    /// `[from, to)` cut into pieces of one UTC offset each: (start, end, offset).
    fn offset_pieces(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>, Duration)> {
        let mut pieces = Vec::new();
        if from >= to {
            return pieces;
        }
        let mut piece_start = from;
        let mut offset = self.offset_at(from);
        let mut probe = from;
        while probe < to {
            let next = (probe + OFFSET_PROBE_STEP).min(to);
            let next_offset = self.offset_at(next);
            if next_offset != offset {
                let change = self.offset_change_between(probe, next, offset);
                if change < to {
                    pieces.push((piece_start, change, offset));
                    piece_start = change;
                    offset = next_offset;
                }
            }
            probe = next;
        }
        pieces.push((piece_start, to, offset));
        pieces
    }

    fn offset_at(&self, instant: DateTime<Utc>) -> Duration {
        let seconds = self
            .time_zone
            .offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc();
        Duration::seconds(seconds.into())
    }

    /// The first instant in `(before, after]` whose offset is not `old`.
    /// Zones change offset on whole seconds, so a search over whole seconds
    /// finds it exactly.
    fn offset_change_between(
        &self,
        before: DateTime<Utc>,
        after: DateTime<Utc>,
        old: Duration,
    ) -> DateTime<Utc> {
        let at = |second: i64| DateTime::from_timestamp(second, 0).expect("in range");
        let (mut old_side, mut new_side) = (before.timestamp(), after.timestamp());
        while new_side - old_side > 1 {
            let middle = old_side + (new_side - old_side) / 2;
            if self.offset_at(at(middle)) == old {
                old_side = middle;
            } else {
                new_side = middle;
            }
        }
        at(new_side).max(before)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Europe::Berlin};
    use proptest::prelude::*;

    fn window(text: &str) -> WorkingWindow {
        text.parse().unwrap()
    }

    pub(in crate::domain::sla) fn windows(texts: &[&str]) -> Vec<WorkingWindow> {
        texts.iter().map(|t| window(t)).collect()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A local wall time in `tz`; the earlier one where the hour repeats.
    pub(in crate::domain::sla) fn local(
        tz: Tz,
        y: i32,
        m: u32,
        d: u32,
        h: u32,
        min: u32,
    ) -> DateTime<Utc> {
        let naive = date(y, m, d).and_time(NaiveTime::from_hms_opt(h, min, 0).unwrap());
        tz.from_local_datetime(&naive)
            .earliest()
            .expect("not in a skipped hour")
            .with_timezone(&Utc)
    }

    pub(in crate::domain::sla) fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// New York, Mon-Fri 09:00-12:00 and 13:00-17:30 (a lunch break), with
    /// Thanksgiving 2026 (Thursday 26 November) off.
    fn new_york_office() -> BusinessCalendar {
        BusinessCalendar::new(
            New_York,
            WorkingWeek::weekdays(&windows(&["09:00-12:00", "13:00-17:30"])),
            [date(2026, 11, 26)],
        )
        .unwrap()
    }

    fn around_the_clock(tz: Tz) -> BusinessCalendar {
        BusinessCalendar::new(tz, WorkingWeek::every_day(&windows(&["00:00-24:00"])), []).unwrap()
    }

    fn every_day(tz: Tz, texts: &[&str]) -> BusinessCalendar {
        BusinessCalendar::new(tz, WorkingWeek::every_day(&windows(texts)), []).unwrap()
    }

    #[test]
    fn windows_read_and_write_as_hours_and_minutes() {
        assert_eq!(window("09:00-12:30").to_string(), "09:00-12:30");
        assert_eq!(window(" 22:00 - 24:00 ").to_string(), "22:00-24:00");
        for bad in [
            "",
            "09:00",
            "12:00-09:00",
            "09:00-09:00",
            "9:00-12:00",
            "09:60-10:00",
            "24:30-25:00",
            "00:00-24:01",
            "ab:cd-12:00",
        ] {
            assert!(bad.parse::<WorkingWindow>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_calendar_refuses_overlapping_windows_and_a_week_without_work() {
        let overlapping = WorkingWeek {
            tuesday: windows(&["13:00-17:00", "09:00-13:30"]),
            ..WorkingWeek::default()
        };
        assert_eq!(
            BusinessCalendar::new(Berlin, overlapping, []),
            Err(CalendarError::OverlappingWindows {
                day: Weekday::Tue,
                first: window("09:00-13:30"),
                second: window("13:00-17:00"),
            })
        );
        assert_eq!(
            BusinessCalendar::new(Berlin, WorkingWeek::default(), []),
            Err(CalendarError::NoWorkingTime)
        );
        // Windows that touch are fine: the shared minute counts once.
        let touching = WorkingWeek::weekdays(&windows(&["09:00-12:00", "12:00-13:00"]));
        assert!(BusinessCalendar::new(Berlin, touching, []).is_ok());
    }

    #[test]
    fn a_calendar_is_stored_as_plain_json_and_checked_when_read_back() {
        let calendar = new_york_office();
        let json = serde_json::to_value(&calendar).unwrap();
        assert_eq!(json["time_zone"], "America/New_York");
        assert_eq!(
            json["week"]["monday"],
            serde_json::json!(["09:00-12:00", "13:00-17:30"])
        );
        assert_eq!(json["holidays"], serde_json::json!(["2026-11-26"]));
        let back: BusinessCalendar = serde_json::from_value(json).unwrap();
        assert_eq!(back, calendar);

        let overlapping = serde_json::json!({
            "time_zone": "Europe/Berlin",
            "week": {"monday": ["09:00-12:00", "11:00-13:00"]},
        });
        assert!(serde_json::from_value::<BusinessCalendar>(overlapping).is_err());
        let unknown_zone = serde_json::json!({
            "time_zone": "Mars/Olympus_Mons",
            "week": {"monday": ["09:00-12:00"]},
        });
        assert!(serde_json::from_value::<BusinessCalendar>(unknown_zone).is_err());
    }

    #[test]
    fn business_minutes_follow_a_table_of_nights_weekends_holidays_and_lunch_breaks() {
        let cal = new_york_office();
        let ny = |m, d, h, min| local(New_York, 2026, m, d, h, min);
        // (from, to, working minutes, why)
        let table = [
            (ny(11, 2, 9, 0), ny(11, 2, 17, 30), 450, "a whole Monday"),
            (ny(11, 2, 8, 0), ny(11, 2, 9, 0), 0, "before opening"),
            (ny(11, 2, 11, 30), ny(11, 2, 13, 30), 60, "across lunch"),
            (ny(11, 2, 12, 10), ny(11, 2, 12, 50), 0, "inside lunch"),
            (ny(11, 2, 17, 0), ny(11, 3, 9, 30), 60, "over a night"),
            (ny(11, 6, 17, 0), ny(11, 9, 9, 30), 60, "over a weekend"),
            (ny(11, 6, 18, 0), ny(11, 9, 8, 0), 0, "a weekend entirely"),
            (
                ny(11, 25, 17, 0),
                ny(11, 27, 9, 30),
                60,
                "over Thanksgiving",
            ),
            (ny(11, 2, 9, 0), ny(11, 9, 9, 0), 5 * 450, "one week"),
            (
                ny(11, 23, 9, 0),
                ny(11, 30, 9, 0),
                4 * 450,
                "a week with a holiday",
            ),
            (ny(11, 2, 10, 0), ny(11, 2, 9, 0), 0, "backwards"),
            (ny(11, 2, 10, 0), ny(11, 2, 10, 0), 0, "empty"),
        ];
        for (from, to, minutes, why) in table {
            assert_eq!(cal.business_minutes_between(from, to), minutes, "{why}");
        }
    }

    #[test]
    fn adding_business_minutes_skips_lunch_nights_weekends_and_holidays() {
        let cal = new_york_office();
        let ny = |m, d, h, min| local(New_York, 2026, m, d, h, min);
        let table = [
            (ny(11, 2, 9, 0), 30, ny(11, 2, 9, 30), "within a window"),
            (
                ny(11, 2, 11, 30),
                30,
                ny(11, 2, 12, 0),
                "ends at lunch, not after it",
            ),
            (
                ny(11, 2, 11, 30),
                31,
                ny(11, 2, 13, 1),
                "resumes after lunch",
            ),
            (ny(11, 2, 7, 0), 1, ny(11, 2, 9, 1), "starts at opening"),
            (ny(11, 2, 17, 0), 30, ny(11, 2, 17, 30), "ends at closing"),
            (ny(11, 2, 17, 0), 31, ny(11, 3, 9, 1), "next morning"),
            (ny(11, 6, 17, 0), 60, ny(11, 9, 9, 30), "after the weekend"),
            (
                ny(11, 25, 17, 0),
                60,
                ny(11, 27, 9, 30),
                "after Thanksgiving",
            ),
            (ny(11, 2, 20, 0), 0, ny(11, 2, 20, 0), "nothing to add"),
            (
                ny(11, 2, 20, 0),
                -5,
                ny(11, 2, 20, 0),
                "nothing to take away",
            ),
        ];
        for (from, minutes, expected, why) in table {
            assert_eq!(cal.add_business_minutes(from, minutes), expected, "{why}");
        }
    }

    #[test]
    fn a_window_starting_in_new_yorks_skipped_hour_starts_when_the_clock_reaches_three() {
        // Sunday 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        let cal = every_day(New_York, &["02:30-05:00"]);
        let day_start = utc("2026-03-08T05:00:00Z");
        let day_end = utc("2026-03-09T05:00:00Z");
        assert_eq!(cal.business_minutes_between(day_start, day_end), 120);
        assert_eq!(
            cal.add_business_minutes(day_start, 1),
            utc("2026-03-08T07:01:00Z")
        );
        // The days either side keep their full window.
        assert_eq!(
            cal.business_minutes_between(day_start - Duration::days(1), day_start),
            150
        );
        assert_eq!(
            cal.business_minutes_between(day_end, day_end + Duration::days(1)),
            150
        );
    }

    #[test]
    fn a_window_inside_the_skipped_hour_is_empty_and_one_spanning_it_loses_an_hour() {
        let inside = every_day(New_York, &["02:10-02:50"]);
        let spanning = every_day(New_York, &["01:00-04:00"]);
        let day_start = utc("2026-03-08T05:00:00Z");
        let day_end = utc("2026-03-09T04:00:00Z");
        assert_eq!(inside.business_minutes_between(day_start, day_end), 0);
        assert_eq!(spanning.business_minutes_between(day_start, day_end), 120);
        // Europe/Berlin, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST.
        let berlin = every_day(Berlin, &["01:00-04:00"]);
        let (from, to) = (utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z"));
        assert_eq!(berlin.business_minutes_between(from, to), 120);
        assert_eq!(
            berlin.add_business_minutes(from, 61),
            utc("2026-03-29T01:01:00Z")
        );
    }

    #[test]
    fn the_repeated_hour_of_fall_back_counts_twice() {
        // Sunday 1 November 2026 in New York: 02:00 EDT becomes 01:00 EST.
        let spanning = every_day(New_York, &["01:00-04:00"]);
        let (from, to) = (utc("2026-11-01T04:00:00Z"), utc("2026-11-02T05:00:00Z"));
        assert_eq!(spanning.business_minutes_between(from, to), 240);
        let inside = every_day(New_York, &["01:30-01:45"]);
        assert_eq!(inside.business_minutes_between(from, to), 30);
        // The second 01:30 EST is 06:30 UTC.
        assert_eq!(
            inside.add_business_minutes(from, 16),
            utc("2026-11-01T06:31:00Z")
        );
        // Europe/Berlin, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET.
        let berlin = every_day(Berlin, &["02:00-03:00"]);
        let (from, to) = (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"));
        assert_eq!(berlin.business_minutes_between(from, to), 120);
        assert_eq!(
            berlin.add_business_minutes(from, 61),
            utc("2026-10-25T01:01:00Z")
        );
    }

    #[test]
    fn an_office_day_is_the_same_length_on_both_dst_weekends() {
        for tz in [New_York, Berlin] {
            let cal = BusinessCalendar::new(
                tz,
                WorkingWeek::weekdays(&windows(&["09:00-12:00", "13:00-17:30"])),
                [],
            )
            .unwrap();
            // Friday noon to Monday noon across each change: 5h30 + 3h.
            for (fri, mon) in [
                ((3, 6), (3, 9)),
                ((3, 27), (3, 30)),
                ((10, 23), (10, 26)),
                ((10, 30), (11, 2)),
            ] {
                let from = local(tz, 2026, fri.0, fri.1, 12, 0);
                let to = local(tz, 2026, mon.0, mon.1, 12, 0);
                assert_eq!(cal.business_minutes_between(from, to), 450, "{tz} {fri:?}");
                assert_eq!(cal.add_business_minutes(from, 450), to, "{tz} {fri:?}");
            }
        }
    }

    #[test]
    fn a_round_the_clock_calendar_counts_real_elapsed_time_across_dst_changes() {
        for tz in [New_York, Berlin] {
            let cal = around_the_clock(tz);
            for (from, to) in [
                ("2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"),
                ("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
                ("2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z"),
                ("2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"),
            ] {
                assert_eq!(
                    cal.business_minutes_between(utc(from), utc(to)),
                    3 * 24 * 60
                );
            }
        }
    }

    #[test]
    fn seconds_are_counted_exactly_and_minutes_reported_whole() {
        let cal = new_york_office();
        let from = local(New_York, 2026, 11, 2, 9, 0) + Duration::seconds(30);
        let to = from + Duration::seconds(119);
        assert_eq!(cal.business_time_between(from, to), Duration::seconds(119));
        assert_eq!(cal.business_minutes_between(from, to), 1);
        assert_eq!(
            cal.add_business_minutes(from, 2),
            from + Duration::minutes(2)
        );
    }

    // --- properties -------------------------------------------------------

    /// Calendars with split shifts in both DST zones (plus one without DST),
    /// some with weekend work and with holidays around both DST changes.
    pub(in crate::domain::sla) fn calendars() -> impl Strategy<Value = BusinessCalendar> {
        let zone = prop_oneof![Just(New_York), Just(Berlin), Just(chrono_tz::Asia::Tokyo)];
        let shift = prop_oneof![
            Just(windows(&["09:00-12:00", "13:00-17:30"])),
            Just(windows(&["08:00-16:00"])),
            Just(windows(&["01:00-04:00", "22:00-24:00"])),
            Just(windows(&["02:30-02:45", "09:00-09:05", "23:59-24:00"])),
            Just(windows(&["00:00-24:00"])),
        ];
        (zone, shift, any::<bool>(), any::<bool>()).prop_map(|(tz, shift, weekends, holidays)| {
            let week = if weekends {
                WorkingWeek::every_day(&shift)
            } else {
                WorkingWeek::weekdays(&shift)
            };
            let holidays = if holidays {
                vec![
                    date(2026, 3, 9),
                    date(2026, 3, 30),
                    date(2026, 10, 26),
                    date(2026, 11, 2),
                    date(2026, 12, 25),
                ]
            } else {
                vec![]
            };
            BusinessCalendar::new(tz, week, holidays).unwrap()
        })
    }

    /// Instants through 2026, both DST changes of both zones included, to
    /// the second.
    pub(in crate::domain::sla) fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        let start = utc("2026-01-01T00:00:00Z").timestamp();
        let end = utc("2027-01-01T00:00:00Z").timestamp();
        prop_oneof![
            (start..end).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
            // Concentrated around the changes, where mistakes would hide.
            (0usize..4, -3 * 86_400i64..3 * 86_400).prop_map(|(change, s)| {
                let changes = [
                    "2026-03-08T07:00:00Z",
                    "2026-03-29T01:00:00Z",
                    "2026-10-25T01:00:00Z",
                    "2026-11-01T06:00:00Z",
                ];
                utc(changes[change]) + Duration::seconds(s)
            }),
        ]
    }

    proptest! {
        #[test]
        fn adding_then_counting_gives_back_the_minutes_added(
            cal in calendars(), from in instants(), minutes in 1i64..20_000,
        ) {
            let due = cal.add_business_minutes(from, minutes);
            prop_assert_eq!(cal.business_minutes_between(from, due), minutes);
        }

        #[test]
        fn the_result_of_adding_is_inside_a_window_or_at_its_end(
            cal in calendars(), from in instants(), minutes in 1i64..20_000,
        ) {
            let due = cal.add_business_minutes(from, minutes);
            // The last second before it was working time: it is not in the
            // off-hours after a window.
            prop_assert_eq!(
                cal.business_time_between(due - Duration::seconds(1), due),
                Duration::seconds(1)
            );
        }

        #[test]
        fn a_later_end_never_gives_fewer_minutes(
            cal in calendars(), from in instants(), to in instants(), more in 0i64..10 * 86_400,
        ) {
            let later = to + Duration::seconds(more);
            prop_assert!(cal.business_minutes_between(from, later) >= cal.business_minutes_between(from, to));
        }

        #[test]
        fn working_time_adds_up_over_consecutive_spans(
            cal in calendars(), a in instants(), b in instants(), c in instants(),
        ) {
            let mut points = [a, b, c];
            points.sort();
            let [a, b, c] = points;
            prop_assert_eq!(
                cal.business_time_between(a, c),
                cal.business_time_between(a, b) + cal.business_time_between(b, c)
            );
        }

        #[test]
        fn working_time_never_exceeds_elapsed_time_nor_goes_negative(
            cal in calendars(), from in instants(), span in 0i64..30 * 86_400,
        ) {
            let to = from + Duration::seconds(span);
            let working = cal.business_time_between(from, to);
            prop_assert!(working >= Duration::zero());
            prop_assert!(working <= to - from);
        }

        #[test]
        fn a_round_the_clock_calendar_equals_elapsed_time(
            from in instants(), span in 0i64..30 * 86_400, berlin in any::<bool>(),
        ) {
            let cal = around_the_clock(if berlin { Berlin } else { New_York });
            let to = from + Duration::seconds(span);
            prop_assert_eq!(cal.business_time_between(from, to), to - from);
        }
    }
}
