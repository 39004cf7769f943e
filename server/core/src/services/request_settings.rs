//! AR admins' settings of requests (issue 11 item 3): the business
//! calendar, holidays and SLA policies as plain form fields, and the
//! dispute reason codes.
//!
//! The calendar and policies are stored by `set_business_calendar` and
//! `set_sla_policies` (staff_requests.rs), which take the domain types'
//! JSON; this module turns form fields into those types, so every edit is
//! checked by the domain's own rules (windows that do not overlap, targets
//! above zero, a policy for every dispute priority) and a problem names the
//! field it is about. The checks are pure functions: the settings page runs
//! them again on the values a refused form sent back, to show the message
//! beside the field with the typed values kept.
//!
//! Clocks are folded from events with whatever is stored, so a change
//! applies to open requests from then on.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;

use super::staff_requests::{acting_staff, staff_event, SlaSettings};
use super::Services;
use crate::domain::audit::Action;
use crate::domain::request::RequestKind;
use crate::domain::sla::{
    BusinessCalendar, CalendarError, Priority, SlaPolicies, SlaPolicy, SlaTargets, WorkingWeek,
    WorkingWindow, DEFAULT_WARNING_PERCENT,
};
use crate::domain::StaffRole;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::accounts::StaffRow;
use crate::repo::audit::{self, AuditEvent};
use crate::repo::request_settings::{self as repo, ReasonAdminRow};
use crate::repo::Conn;

/// A refused form field: its name in the form and what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormProblem {
    pub field: String,
    pub message: String,
}

impl FormProblem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// As a service error: `group` names the form (the field is in the
    /// message, and the page shows it beside the field).
    fn into_error(self, group: &'static str) -> ServiceError {
        ServiceError::invalid_field(group, self.message)
    }
}

/// The week as the calendar form lists it: (day, field name, label).
pub const WEEKDAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Mon, "monday", "Monday"),
    (Weekday::Tue, "tuesday", "Tuesday"),
    (Weekday::Wed, "wednesday", "Wednesday"),
    (Weekday::Thu, "thursday", "Thursday"),
    (Weekday::Fri, "friday", "Friday"),
    (Weekday::Sat, "saturday", "Saturday"),
    (Weekday::Sun, "sunday", "Sunday"),
];

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------
// The business calendar
// ---------------------------------------------------------------------------

/// The calendar form as typed: a time zone and each weekday's windows
/// ("09:00-12:00, 13:00-17:30"; empty for a day off), in `WEEKDAYS` order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalendarForm {
    pub time_zone: String,
    pub days: [String; 7],
}

/// Windows as the form writes them.
pub fn windows_text(windows: &[WorkingWindow]) -> String {
    windows
        .iter()
        .map(WorkingWindow::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl CalendarForm {
    pub fn of(calendar: &BusinessCalendar) -> Self {
        Self {
            time_zone: calendar.time_zone().name().to_owned(),
            days: WEEKDAYS.map(|(day, _, _)| windows_text(calendar.week().windows(day))),
        }
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            time_zone: value(pairs, "time_zone").to_owned(),
            days: WEEKDAYS.map(|(_, field, _)| value(pairs, field).to_owned()),
        }
    }

    /// The calendar these fields describe, with `holidays`.
    pub fn calendar(
        &self,
        holidays: &BTreeSet<NaiveDate>,
    ) -> Result<BusinessCalendar, FormProblem> {
        let zone = self.time_zone.trim();
        let time_zone: Tz = zone.parse().map_err(|_| {
            FormProblem::new(
                "time_zone",
                if zone.is_empty() {
                    "Time zone: choose the IANA time zone the team works in, such as America/New_York."
                        .to_owned()
                } else {
                    format!(
                        "Time zone: \"{zone}\" is not an IANA time zone; write one such as America/New_York or Europe/Berlin."
                    )
                },
            )
        })?;
        let mut week = WorkingWeek::default();
        for ((day, field, label), text) in WEEKDAYS.iter().zip(&self.days) {
            let windows = text
                .split([',', ';'])
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(|w| {
                    w.parse::<WorkingWindow>()
                        .map_err(|e| FormProblem::new(*field, format!("{label}: {e}.")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            *week_day_mut(&mut week, *day) = windows;
        }
        BusinessCalendar::new(time_zone, week, holidays.iter().copied()).map_err(|e| match e {
            CalendarError::OverlappingWindows { day, .. } => {
                let (_, field, label) = WEEKDAYS
                    .iter()
                    .find(|(d, _, _)| *d == day)
                    .expect("every weekday is listed");
                FormProblem::new(*field, format!("{label}: {e}."))
            }
            other => FormProblem::new("monday", format!("Working hours: {other}.")),
        })
    }
}

fn week_day_mut(week: &mut WorkingWeek, day: Weekday) -> &mut Vec<WorkingWindow> {
    match day {
        Weekday::Mon => &mut week.monday,
        Weekday::Tue => &mut week.tuesday,
        Weekday::Wed => &mut week.wednesday,
        Weekday::Thu => &mut week.thursday,
        Weekday::Fri => &mut week.friday,
        Weekday::Sat => &mut week.saturday,
        Weekday::Sun => &mut week.sunday,
    }
}

/// Every IANA time zone name, for the form's list of suggestions.
pub fn time_zone_names() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

/// A holiday as typed (a date field sends YYYY-MM-DD).
pub fn parse_holiday(text: &str) -> Result<NaiveDate, FormProblem> {
    let text = text.trim();
    let problem = |m: String| FormProblem::new("holiday", m);
    if text.is_empty() {
        return Err(problem("Holiday: choose a date.".into()));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| problem(format!("Holiday: \"{text}\" is not a date as YYYY-MM-DD.")))?;
    let year = chrono::Datelike::year(&date);
    if !(2000..=2100).contains(&year) {
        return Err(problem(
            "Holiday: choose a date between the years 2000 and 2100.".into(),
        ));
    }
    Ok(date)
}

// ---------------------------------------------------------------------------
// SLA policies
// ---------------------------------------------------------------------------

pub const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

/// The three targets of a policy row: (field suffix, label).
pub const TARGETS: [(&str, &str); 3] = [
    ("first", "first response"),
    ("next", "next response"),
    ("resolution", "resolution"),
];

/// The form field of one cell of the policy table, e.g. `dispute-normal-first`.
pub fn policy_field(kind: RequestKind, priority: Priority, cell: &str) -> String {
    format!("{}-{priority}-{cell}", kind.as_str())
}

/// Business minutes as the form writes them: hours and minutes, "4:00".
pub fn minutes_text(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// A target as typed: "4:30" (hours and minutes), "4" or "4h" (hours),
/// "90m" or "90 min" (minutes), "1h 30m". Business time, more than zero.
pub fn parse_business_minutes(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let number = |s: &str| -> Option<i64> {
        let s = s.trim();
        (!s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let minutes = if let Some((h, m)) = t.split_once(':') {
        let (h, m) = (number(h), number(m));
        match (h, m) {
            (Some(h), Some(m)) if m < 60 => Some(h * 60 + m),
            _ => None,
        }
    } else if let Some(m) = t
        .strip_suffix("minutes")
        .or_else(|| t.strip_suffix("min"))
        .or_else(|| t.strip_suffix('m'))
    {
        match m.split_once('h') {
            Some((h, m)) => number(h).zip(number(m)).map(|(h, m)| h * 60 + m),
            None => number(m),
        }
    } else {
        let h = t
            .strip_suffix("hours")
            .or_else(|| t.strip_suffix("hour"))
            .or_else(|| t.strip_suffix('h'))
            .unwrap_or(&t);
        number(h).map(|h| h * 60)
    };
    match minutes {
        None if t.is_empty() => Err("enter hours and minutes, such as 4:00".into()),
        None => Err(format!(
            "\"{}\" is not a duration; write hours and minutes such as 4:00, or 90m",
            text.trim()
        )),
        Some(0) => Err("must be more than zero".into()),
        // A year of round-the-clock minutes: anything longer is a typo.
        Some(m) if m > 525_600 => Err("is longer than a year".into()),
        Some(m) => Ok(m),
    }
}

/// One row of the policy table as typed; all blank means "no policy".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRow {
    pub kind: RequestKind,
    pub priority: Priority,
    /// first, next, resolution (as `TARGETS`).
    pub targets: [String; 3],
    pub warning_percent: String,
}

/// The policy table as typed: every kind by every priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoliciesForm {
    pub rows: Vec<PolicyRow>,
}

impl PoliciesForm {
    pub fn of(policies: &SlaPolicies) -> Self {
        let mut rows = Vec::new();
        for kind in RequestKind::ALL {
            for priority in PRIORITIES {
                let row = match policies.find(&kind.sla_kind(), priority) {
                    Some(p) => PolicyRow {
                        kind,
                        priority,
                        targets: [
                            minutes_text(p.targets.first_response_minutes),
                            minutes_text(p.targets.next_response_minutes),
                            minutes_text(p.targets.resolution_minutes),
                        ],
                        warning_percent: p.warning_percent.to_string(),
                    },
                    None => PolicyRow {
                        kind,
                        priority,
                        targets: Default::default(),
                        warning_percent: String::new(),
                    },
                };
                rows.push(row);
            }
        }
        Self { rows }
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut rows = Vec::new();
        for kind in RequestKind::ALL {
            for priority in PRIORITIES {
                let cell = |c: &str| value(pairs, &policy_field(kind, priority, c)).to_owned();
                rows.push(PolicyRow {
                    kind,
                    priority,
                    targets: TARGETS.map(|(c, _)| cell(c)),
                    warning_percent: cell("warning"),
                });
            }
        }
        Self { rows }
    }

    /// The policies these fields describe. Disputes and payment plans
    /// (which customers raise) need every priority; questions may be left
    /// blank until customers can ask them.
    pub fn policies(&self) -> Result<SlaPolicies, FormProblem> {
        let mut policies = Vec::new();
        for row in &self.rows {
            let blank = row.targets.iter().all(|t| t.trim().is_empty())
                && row.warning_percent.trim().is_empty();
            let name = format!("{} ({} priority)", kind_words(row.kind), row.priority);
            if blank {
                // A broken promise's item (issue 13) needs a clock: left
                // blank, it keeps the portal's default targets.
                if row.kind == RequestKind::Promise {
                    let default = super::staff_requests::default_sla_policies()
                        .find(&row.kind.sla_kind(), row.priority)
                        .cloned()
                        .expect("default promise policies cover every priority");
                    policies.push(default);
                    continue;
                }
                if row.kind != RequestKind::Question {
                    return Err(FormProblem::new(
                        policy_field(row.kind, row.priority, "first"),
                        format!("{name}: every priority needs its targets."),
                    ));
                }
                continue;
            }
            let mut minutes = [0i64; 3];
            for (i, (cell, label)) in TARGETS.iter().enumerate() {
                minutes[i] = parse_business_minutes(&row.targets[i]).map_err(|m| {
                    FormProblem::new(
                        policy_field(row.kind, row.priority, cell),
                        format!("{name}, {label}: {m}."),
                    )
                })?;
            }
            let warning = row.warning_percent.trim();
            let warning_percent = if warning.is_empty() {
                DEFAULT_WARNING_PERCENT
            } else {
                warning
                    .trim_end_matches('%')
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|p| (1..=100).contains(p))
                    .ok_or_else(|| {
                        FormProblem::new(
                            policy_field(row.kind, row.priority, "warning"),
                            format!("{name}, warning: write a share from 1 to 100 percent."),
                        )
                    })?
            };
            let mut policy = SlaPolicy::new(
                row.kind.sla_kind(),
                row.priority,
                SlaTargets {
                    first_response_minutes: minutes[0],
                    next_response_minutes: minutes[1],
                    resolution_minutes: minutes[2],
                },
            );
            policy.warning_percent = warning_percent;
            policies.push(policy);
        }
        SlaPolicies::new(policies).map_err(|e| FormProblem::new("policies", format!("{e}.")))
    }
}

/// A request kind as the settings page names it.
pub fn kind_words(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Dispute => "Disputes",
        RequestKind::PaymentPlan => "Payment plans",
        RequestKind::Question => "Questions",
        RequestKind::Promise => "Broken promises to pay",
    }
}

// ---------------------------------------------------------------------------
// Reason codes
// ---------------------------------------------------------------------------

pub const MAX_REASON_CODE: usize = 40;
pub const MAX_REASON_LABEL: usize = 120;

/// A new reason's code: lower-case letters, digits and underscores,
/// starting with a letter (it appears in URLs, filters and exports).
pub fn check_reason_code(code: &str) -> Result<String, FormProblem> {
    let code = code.trim();
    let shaped = code.len() <= MAX_REASON_CODE
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if code.is_empty() {
        Err(FormProblem::new(
            "code",
            "Code: write a short code, such as late_delivery.",
        ))
    } else if !shaped {
        Err(FormProblem::new(
            "code",
            format!(
                "Code: use lower-case letters, digits and underscores, starting with a letter, at most {MAX_REASON_CODE} characters (such as late_delivery)."
            ),
        ))
    } else {
        Ok(code.to_owned())
    }
}

/// A reason's label, as customers read it on the dispute form.
pub fn check_reason_label(label: &str) -> Result<String, FormProblem> {
    let label = label.trim();
    if label.is_empty() {
        Err(FormProblem::new(
            "label",
            "Label: write the reason as customers will read it.",
        ))
    } else if label.chars().count() > MAX_REASON_LABEL || label.chars().any(char::is_control) {
        Err(FormProblem::new(
            "label",
            format!("Label: one line of at most {MAX_REASON_LABEL} characters."),
        ))
    } else {
        Ok(label.to_owned())
    }
}

/// A reason's place on the form: a whole number, smaller comes first.
pub fn check_position(text: &str) -> Result<i64, FormProblem> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|p| (0..=100_000).contains(p))
        .ok_or_else(|| {
            FormProblem::new(
                "position",
                "Order: write a whole number from 0 to 100000; smaller comes first.",
            )
        })
}

/// What the settings page shows.
#[derive(Clone, Debug)]
pub struct SettingsOverview {
    pub settings: SlaSettings,
    pub reasons: Vec<ReasonAdminRow>,
    /// An AR admin (agents read the settings only).
    pub can_edit: bool,
}

const ADMINS_ONLY: &str =
    "Only AR admins change the calendar, SLA policies and reason codes. Ask an admin if something needs changing.";

async fn acting_admin(conn: &mut Conn, staff_id: i64) -> ServiceResult<StaffRow> {
    let staff = acting_staff(conn, staff_id).await?;
    match staff.role {
        StaffRole::Admin => Ok(staff),
        StaffRole::Agent => Err(ServiceError::Forbidden(ADMINS_ONLY.into())),
    }
}

fn reason_event<'a>(
    staff: &StaffRow,
    code: &str,
    action: Action,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    staff_event(
        staff,
        None,
        format!("request_reason:{code}"),
        action,
        detail,
    )
}

impl Services {
    /// The settings in force and every reason code (staff only).
    pub async fn request_settings(&self, staff_id: i64) -> ServiceResult<SettingsOverview> {
        let mut conn = self.db.pool.acquire().await?;
        let staff = acting_staff(&mut conn, staff_id).await?;
        let reasons = repo::all_reasons(&mut conn).await?;
        drop(conn);
        Ok(SettingsOverview {
            settings: self.sla_settings().await?,
            reasons,
            can_edit: staff.role == StaffRole::Admin,
        })
    }

    async fn require_settings_admin(&self, staff_id: i64) -> ServiceResult<()> {
        let mut conn = self.db.pool.acquire().await?;
        acting_admin(&mut conn, staff_id).await.map(|_| ())
    }

    /// Stores a calendar unless it is the one in force (pressing "Save"
    /// twice writes and logs once).
    async fn store_calendar(&self, staff_id: i64, calendar: BusinessCalendar) -> ServiceResult<()> {
        if self.sla_settings().await?.calendar == calendar {
            return Ok(());
        }
        let json = serde_json::to_string(&calendar)
            .map_err(|e| ServiceError::internal("the business calendar as JSON", e))?;
        self.set_business_calendar(staff_id, &json)
            .await
            .map(|_| ())
    }

    /// An AR admin saves the time zone and working windows (holidays kept).
    pub async fn save_calendar_form(
        &self,
        staff_id: i64,
        form: &CalendarForm,
    ) -> ServiceResult<()> {
        self.require_settings_admin(staff_id).await?;
        let current = self.sla_settings().await?.calendar;
        let calendar = form
            .calendar(current.holidays())
            .map_err(|p| p.into_error("calendar"))?;
        self.store_calendar(staff_id, calendar).await
    }

    /// An AR admin adds (`add`) or removes a holiday. Adding one that is
    /// there, or removing one that is not, changes nothing.
    pub async fn change_holiday(&self, staff_id: i64, date: &str, add: bool) -> ServiceResult<()> {
        self.require_settings_admin(staff_id).await?;
        let date = parse_holiday(date).map_err(|p| p.into_error("holiday"))?;
        let current = self.sla_settings().await?.calendar;
        let mut holidays = current.holidays().clone();
        if add {
            holidays.insert(date);
        } else {
            holidays.remove(&date);
        }
        let calendar = BusinessCalendar::new(current.time_zone(), current.week().clone(), holidays)
            .map_err(|e| ServiceError::internal("the stored calendar with a holiday", e))?;
        self.store_calendar(staff_id, calendar).await
    }

    /// An AR admin saves the policy table.
    pub async fn save_policies_form(
        &self,
        staff_id: i64,
        form: &PoliciesForm,
    ) -> ServiceResult<()> {
        self.require_settings_admin(staff_id).await?;
        let policies = form.policies().map_err(|p| p.into_error("policies"))?;
        if self.sla_settings().await?.policies == policies {
            return Ok(());
        }
        let json = serde_json::to_string(&policies)
            .map_err(|e| ServiceError::internal("the SLA policies as JSON", e))?;
        self.set_sla_policies(staff_id, &json).await.map(|_| ())
    }

    /// An AR admin adds a reason code, offered on the dispute form at once
    /// (last). Adding the same code and label again changes nothing; the
    /// same code with another label is refused.
    pub async fn add_reason(&self, staff_id: i64, code: &str, label: &str) -> ServiceResult<()> {
        let code = check_reason_code(code).map_err(|p| p.into_error("code"))?;
        let label = check_reason_label(label).map_err(|p| p.into_error("label"))?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = acting_admin(&mut tx, staff_id).await?;
        if repo::insert_reason(&mut tx, &code, &label).await?.is_none() {
            let existing = repo::all_reasons(&mut tx).await?;
            return match existing.iter().find(|r| r.code == code) {
                Some(r) if r.label == label => Ok(()),
                _ => Err(ServiceError::invalid_field(
                    "code",
                    format!("Code: there is already a reason with the code {code}; choose another code or edit that reason."),
                )),
            };
        }
        audit::record(
            &mut tx,
            now,
            reason_event(
                &staff,
                &code,
                Action::RequestReasonAdded,
                serde_json::json!({"code": code, "label": label}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An AR admin renames a reason or moves it on the form. Requests that
    /// named it show the new label (it is the same reason).
    pub async fn update_reason(
        &self,
        staff_id: i64,
        code: &str,
        label: &str,
        position: &str,
    ) -> ServiceResult<()> {
        let label = check_reason_label(label).map_err(|p| p.into_error("label"))?;
        let position = check_position(position).map_err(|p| p.into_error("position"))?;
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = acting_admin(&mut tx, staff_id).await?;
        let before = repo::all_reasons(&mut tx).await?;
        let Some(before) = before.into_iter().find(|r| r.code == code) else {
            return Err(ServiceError::NotFound);
        };
        if !repo::update_reason(&mut tx, code, &label, position).await? {
            return Ok(());
        }
        audit::record(
            &mut tx,
            now,
            reason_event(
                &staff,
                code,
                Action::RequestReasonChanged,
                serde_json::json!({
                    "label": {"from": before.label, "to": label},
                    "position": {"from": before.position, "to": position},
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An AR admin retires a reason (off the dispute form; requests that
    /// named it keep it) or offers it again. At least one reason stays on
    /// offer, or customers could not dispute at all.
    pub async fn set_reason_retired(
        &self,
        staff_id: i64,
        code: &str,
        retired: bool,
    ) -> ServiceResult<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let staff = acting_admin(&mut tx, staff_id).await?;
        let reasons = repo::all_reasons(&mut tx).await?;
        let Some(reason) = reasons.iter().find(|r| r.code == code) else {
            return Err(ServiceError::NotFound);
        };
        if retired && !reason.retired && reasons.iter().filter(|r| !r.retired).count() == 1 {
            return Err(ServiceError::invalid_field(
                "code",
                "Keep at least one reason on offer: customers choose one to dispute an invoice.",
            ));
        }
        if !repo::set_retired(&mut tx, code, retired.then_some(now)).await? {
            return Ok(());
        }
        let action = if retired {
            Action::RequestReasonRetired
        } else {
            Action::RequestReasonReactivated
        };
        audit::record(
            &mut tx,
            now,
            reason_event(&staff, code, action, serde_json::json!({"code": code})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::staff_requests::{default_business_calendar, default_sla_policies};

    fn form(zone: &str, monday: &str) -> CalendarForm {
        let mut form = CalendarForm::of(&default_business_calendar());
        form.time_zone = zone.into();
        form.days[0] = monday.into();
        form
    }

    #[test]
    fn the_calendar_form_reads_back_as_the_calendar_it_shows() {
        let calendar = default_business_calendar();
        let form = CalendarForm::of(&calendar);
        assert_eq!(form.days[0], "09:00-12:00, 13:00-17:00");
        assert_eq!(form.days[6], "");
        assert_eq!(form.calendar(calendar.holidays()).unwrap(), calendar);
    }

    #[test]
    fn bad_windows_and_zones_name_their_field() {
        let none = BTreeSet::new();
        let p = form("America/New_York", "17:00-09:00")
            .calendar(&none)
            .unwrap_err();
        assert_eq!(p.field, "monday");
        assert!(p.message.starts_with("Monday:"), "{}", p.message);
        assert!(p.message.contains("17:00-09:00"), "{}", p.message);
        let p = form("America/New_York", "09:00-12:00, 11:00-13:00")
            .calendar(&none)
            .unwrap_err();
        assert_eq!(p.field, "monday");
        assert!(p.message.contains("overlap"), "{}", p.message);
        let p = form("Mars/Olympus", "09:00-17:00")
            .calendar(&none)
            .unwrap_err();
        assert_eq!(p.field, "time_zone");
        assert!(p.message.contains("Mars/Olympus"), "{}", p.message);
        // Split shifts with either separator.
        let c = form("Europe/Berlin", "08:00-12:00; 13:00-17:30")
            .calendar(&none)
            .unwrap();
        assert_eq!(c.week().monday.len(), 2);
    }

    #[test]
    fn durations_read_in_several_spellings() {
        for (text, minutes) in [
            ("4:00", 240),
            ("4", 240),
            ("4h", 240),
            ("1h 30m", 90),
            ("90m", 90),
            ("90 min", 90),
            ("0:45", 45),
        ] {
            assert_eq!(parse_business_minutes(text), Ok(minutes), "{text}");
        }
        for text in ["", "0", "4:75", "soon", "-3"] {
            assert!(parse_business_minutes(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_policy_form_reads_back_and_needs_every_dispute_priority() {
        let policies = default_sla_policies();
        let form = PoliciesForm::of(&policies);
        assert_eq!(form.policies().unwrap(), policies);
        let mut broken = form.clone();
        broken.rows[1].targets = Default::default();
        broken.rows[1].warning_percent.clear();
        let p = broken.policies().unwrap_err();
        assert_eq!(p.field, "dispute-normal-first");
        let mut broken = form.clone();
        broken.rows[2].targets[2] = "0".into();
        let p = broken.policies().unwrap_err();
        assert_eq!(p.field, "dispute-high-resolution");
        let mut broken = form;
        broken.rows[3].warning_percent = "120".into();
        assert_eq!(
            broken.policies().unwrap_err().field,
            "dispute-urgent-warning"
        );
    }

    #[test]
    fn reason_codes_are_short_lower_case_words() {
        assert_eq!(
            check_reason_code(" late_delivery ").unwrap(),
            "late_delivery"
        );
        for bad in ["", "Late", "9lives", "late delivery", "late-delivery"] {
            assert_eq!(check_reason_code(bad).unwrap_err().field, "code", "{bad}");
        }
        assert!(check_reason_label("  ").is_err());
        assert!(check_position("-1").is_err());
        assert_eq!(check_position("15"), Ok(15));
    }
}
