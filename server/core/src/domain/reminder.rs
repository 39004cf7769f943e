//! Reminder rules (issue 13), without I/O: which step of a cadence an
//! invoice reaches on a customer's local date, the send window in the
//! customer's time zone, whether an invoice may be reminded at all (the
//! suppression rules, checked again at send time), how a promise to pay is
//! judged, and the templates' plain `{variable}` substitution with HTML
//! escaping.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// A missed step (the send window was closed: a weekend, a holiday, the
/// job down) is still sent up to this many days after it fell due, or
/// after the pause or promise that held it ended. Older ones are left: the
/// next step comes in its time.
pub const CATCH_UP_DAYS: i64 = 7;

/// After a manual "send now" by AR, no automatic reminder for the same
/// invoice goes out sooner than this many days later.
pub const MANUAL_QUIET_DAYS: i64 = 3;

/// One step of a cadence as the rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepDef {
    pub step_id: i64,
    /// Days from the due date (negative: before it).
    pub offset_days: i64,
    /// A friendly step a one-click unsubscribe may stop.
    pub optional: bool,
}

/// What was already sent for one invoice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendHistory {
    /// Steps sent automatically.
    pub sent_steps: BTreeSet<i64>,
    /// The customer's local date of the newest send of any kind.
    pub last_sent_on: Option<NaiveDate>,
    /// The customer's local date of the newest manual send.
    pub last_manual_on: Option<NaiveDate>,
}

/// The step an invoice due on `due` reaches on the customer's local date
/// `today`, to be sent now; `None` when nothing is due.
///
/// The step is the latest whose date (due + offset) is on or before
/// today, and only it: steps skipped over (a pause, a promise, a window
/// that stayed closed) are not sent late one after another. It is due
/// unless: it was sent; a send of any kind (a manual one by AR) happened on
/// or after its date, which covers it; a manual send happened less than
/// [`MANUAL_QUIET_DAYS`] ago; or it is more than [`CATCH_UP_DAYS`] late,
/// counted from its date or from `resumed_on` (the first day after a pause
/// or a promise that held the invoice), whichever is later.
pub fn reached_step<'a>(
    steps: &'a [StepDef],
    due: NaiveDate,
    today: NaiveDate,
    resumed_on: Option<NaiveDate>,
    history: &SendHistory,
) -> Option<&'a StepDef> {
    let step = steps
        .iter()
        .filter(|s| step_date(due, s) <= today)
        .max_by_key(|s| (s.offset_days, s.step_id))?;
    let date = step_date(due, step);
    if history.sent_steps.contains(&step.step_id) {
        return None;
    }
    if history.last_sent_on.is_some_and(|on| on >= date) {
        return None;
    }
    if history
        .last_manual_on
        .is_some_and(|on| today < on + Duration::days(MANUAL_QUIET_DAYS))
    {
        return None;
    }
    let late_from = match resumed_on {
        Some(r) if r > date && r <= today => r,
        _ => date,
    };
    if today - late_from > Duration::days(CATCH_UP_DAYS) {
        return None;
    }
    Some(step)
}

/// The oldest due date whose latest step can still be sent on `today`
/// without a pause or promise that ended lately: with the furthest step
/// `max_offset` days from the due date, anything due before this is late
/// past the catch-up (see [`reached_step`]).
pub fn oldest_due_reachable(max_offset: i64, today: NaiveDate) -> NaiveDate {
    today - Duration::days(CATCH_UP_DAYS + max_offset)
}

/// A pause or promise that ended (its last day) on or after this date can
/// still make a step due on `today`; older ones cannot.
pub fn resumption_horizon(today: NaiveDate) -> NaiveDate {
    today - Duration::days(CATCH_UP_DAYS + 1)
}

/// The date a step falls on for an invoice due on `due`.
pub fn step_date(due: NaiveDate, step: &StepDef) -> NaiveDate {
    due + Duration::days(step.offset_days)
}

/// The hours reminders go out, in the customer's local time, on weekdays
/// that are not the seller's holidays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow {
    /// Minutes after local midnight, start included.
    pub start_minute: u32,
    /// Minutes after local midnight, end excluded.
    pub end_minute: u32,
}

impl Default for SendWindow {
    /// 09:00-11:00.
    fn default() -> Self {
        SendWindow {
            start_minute: 9 * 60,
            end_minute: 11 * 60,
        }
    }
}

impl SendWindow {
    pub fn new(start_minute: u32, end_minute: u32) -> Result<Self, String> {
        if start_minute >= end_minute || end_minute > 24 * 60 {
            return Err("The send window must start before it ends, within one day.".into());
        }
        Ok(SendWindow {
            start_minute,
            end_minute,
        })
    }

    /// "09:00-11:00".
    pub fn words(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }

    /// Parses "09:00-11:00".
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("\"{}\" is not a window like 09:00-11:00.", text.trim());
        let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
        let minute = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        };
        let (start, end) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
        Self::new(start, end)
    }
}

/// The customer's local date when `now` is inside the send window in
/// `zone`: a weekday, not one of `holidays` (the seller's, compared with
/// the customer's local date), local wall time in the window. Local time
/// is computed from the UTC instant, so a daylight-saving change moves the
/// window with the clocks: 09:00 local stays 09:00 local.
pub fn local_send_day(
    now: DateTime<Utc>,
    zone: Tz,
    window: SendWindow,
    holidays: &BTreeSet<NaiveDate>,
) -> Option<NaiveDate> {
    let local = now.with_timezone(&zone);
    let day = local.date_naive();
    if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || holidays.contains(&day) {
        return None;
    }
    let minute = local.hour() * 60 + local.minute();
    (window.start_minute <= minute && minute < window.end_minute).then_some(day)
}

/// The customer's local date at `now`.
pub fn local_date(now: DateTime<Utc>, zone: Tz) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// Everything the send-time check knows about one invoice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReminderFacts {
    pub voided: bool,
    pub balance_minor: i64,
    /// Held by payments pending or processing (a checkout, ACH on its way).
    pub pending_minor: i64,
    /// Held by an open dispute.
    pub disputed_minor: i64,
    /// Held by a running payment plan (active or at risk): the plan's own
    /// instalment emails replace reminders.
    pub in_plan: bool,
    /// The date an open promise to pay runs to (included).
    pub promised_until: Option<NaiveDate>,
    pub customer_paused_until: Option<NaiveDate>,
    pub invoice_paused_until: Option<NaiveDate>,
    /// This step was already sent for this invoice.
    pub step_already_sent: bool,
}

/// Why an invoice gets no reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suppressed {
    Void,
    Paid,
    PaymentInProgress,
    Disputed,
    InPlan,
    Promised,
    CustomerPaused,
    InvoicePaused,
    AlreadySent,
}

impl Suppressed {
    pub fn words(self) -> &'static str {
        match self {
            Self::Void => "void",
            Self::Paid => "paid",
            Self::PaymentInProgress => "a payment is in progress",
            Self::Disputed => "disputed in full",
            Self::InPlan => "in a payment plan",
            Self::Promised => "under a promise to pay",
            Self::CustomerPaused => "the customer's reminders are paused",
            Self::InvoicePaused => "the invoice's reminders are paused",
            Self::AlreadySent => "already sent",
        }
    }
}

/// The send-time verdict: remind of this much (the balance less a disputed
/// part), or not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Remind { amount_minor: i64 },
    Suppress(Suppressed),
}

/// Whether an invoice may be reminded on the customer's local date `today`.
/// The order only decides which reason is named; any one suppresses.
pub fn verdict(facts: &ReminderFacts, today: NaiveDate) -> Verdict {
    use Suppressed::*;
    let suppress = Verdict::Suppress;
    if facts.voided {
        return suppress(Void);
    }
    if facts.balance_minor <= 0 {
        return suppress(Paid);
    }
    if facts.pending_minor > 0 {
        return suppress(PaymentInProgress);
    }
    let undisputed = facts.balance_minor - facts.disputed_minor.max(0);
    if undisputed <= 0 {
        return suppress(Disputed);
    }
    if facts.in_plan {
        return suppress(InPlan);
    }
    if facts.promised_until.is_some_and(|d| d >= today) {
        return suppress(Promised);
    }
    if facts.customer_paused_until.is_some_and(|d| d >= today) {
        return suppress(CustomerPaused);
    }
    if facts.invoice_paused_until.is_some_and(|d| d >= today) {
        return suppress(InvoicePaused);
    }
    if facts.step_already_sent {
        return suppress(AlreadySent);
    }
    Verdict::Remind {
        amount_minor: undisputed,
    }
}

/// How a promise ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromiseOutcome {
    Kept,
    PartlyKept,
    Broken,
}

impl PromiseOutcome {
    pub fn key(self) -> &'static str {
        match self {
            Self::Kept => "kept",
            Self::PartlyKept => "partly_kept",
            Self::Broken => "broken",
        }
    }
}

/// One invoice of a promise: what could be paid when promised, and its
/// balance and payments in progress now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromisedInvoice {
    pub payable_then_minor: i64,
    pub balance_now_minor: i64,
    pub pending_now_minor: i64,
}

/// What was paid (or is being paid) toward a promise: per invoice, how far
/// its unpaid, unheld balance fell since the promise.
pub fn paid_toward_promise(invoices: &[PromisedInvoice]) -> i64 {
    invoices
        .iter()
        .map(|i| {
            let left = (i.balance_now_minor - i.pending_now_minor).max(0);
            (i.payable_then_minor - left).max(0)
        })
        .sum()
}

/// A promise judged: `None` while it is still open (its date has not
/// passed, and not everything promised is paid yet). Paid in full (or the
/// promised amount) by then: kept, at once; after its day: partly kept when
/// something was paid, broken when nothing was.
pub fn judge_promise(
    promised_on: NaiveDate,
    target_minor: i64,
    paid_minor: i64,
    today: NaiveDate,
) -> Option<PromiseOutcome> {
    if paid_minor >= target_minor {
        return Some(PromiseOutcome::Kept);
    }
    if today <= promised_on {
        return None;
    }
    Some(if paid_minor > 0 {
        PromiseOutcome::PartlyKept
    } else {
        PromiseOutcome::Broken
    })
}

/// Checks a promised date: from today to `horizon_days` ahead.
pub fn check_promise_date(
    promised_on: NaiveDate,
    today: NaiveDate,
    horizon_days: i64,
) -> Result<(), String> {
    if promised_on < today {
        return Err("The promised date must be today or later.".into());
    }
    if promised_on > today + Duration::days(horizon_days) {
        return Err(format!(
            "The promised date can be at most {horizon_days} days from today ({}).",
            (today + Duration::days(horizon_days)).format("%b %-d, %Y")
        ));
    }
    Ok(())
}

/// The variables a template may use.
pub const VARIABLES: &[(&str, &str)] = &[
    ("contact_name", "the name of the contact the email goes to"),
    ("customer_name", "the customer account's name"),
    ("seller_name", "your company's name"),
    ("invoice_count", "how many invoices the email lists"),
    (
        "invoices",
        "the list of invoices, each with its amount, due date and link (on a line of its own)",
    ),
    ("totals", "the total per currency"),
    (
        "pay_all_link",
        "the link to pay every listed invoice at once",
    ),
    (
        "ar_contact",
        "the AR contact named in the reminder settings",
    ),
];

/// Variables that are blocks of their own in HTML (a table, not words).
const BLOCK_VARIABLES: &[&str] = &["invoices"];

/// A variable's value in both parts of the email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    /// Already HTML (escaped where it came from input).
    pub html: String,
}

impl Value {
    /// Plain words: the HTML is the text escaped.
    pub fn words(text: impl Into<String>) -> Self {
        let text = text.into();
        Value {
            html: escape(&text),
            text,
        }
    }

    /// A link: the URL in text, an anchor in HTML.
    pub fn link(url: &str, label: &str) -> Self {
        Value {
            text: url.to_owned(),
            html: format!("<a href=\"{}\">{}</a>", escape(url), escape(label)),
        }
    }
}

/// The `{names}` a template uses that are not variables.
pub fn unknown_variables(template: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    for piece in pieces(template) {
        if let Piece::Var(name) = piece {
            if !VARIABLES.iter().any(|(v, _)| *v == name) && !unknown.iter().any(|u| u == name) {
                unknown.push(name.to_owned());
            }
        }
    }
    unknown
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a template into literal text and `{name}`s (a name is
/// lower-case letters and underscores; any other brace is text).
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}');
        let name = close.map(|c| &after[..c]);
        match name {
            Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                if open > 0 {
                    out.push(Piece::Text(&rest[..open]));
                }
                out.push(Piece::Var(n));
                rest = &after[n.len() + 1..];
            }
            _ => {
                out.push(Piece::Text(&rest[..=open]));
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// Substitutes in one line of text, as text.
pub fn render_text(template: &str, vars: &[(&str, Value)]) -> String {
    pieces(template)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_owned(),
            Piece::Var(name) => match vars.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => v.text.clone(),
                None => format!("{{{name}}}"),
            },
        })
        .collect()
}

fn render_html_inline(template: &str, vars: &[(&str, Value)]) -> String {
    pieces(template)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => escape(t),
            Piece::Var(name) => match vars.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => v.html.clone(),
                None => escape(&format!("{{{name}}}")),
            },
        })
        .collect::<String>()
        .replace('\n', "<br>\n")
}

/// A body template rendered: (plain text, HTML). Literal text is escaped
/// in HTML; paragraphs are separated by blank lines; a paragraph that is
/// only a block variable (`{invoices}`) becomes that block, not a `<p>`.
pub fn render_body(template: &str, vars: &[(&str, Value)]) -> (String, String) {
    let text = render_text(template, vars);
    let normalised = template.replace("\r\n", "\n");
    let html = normalised
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|paragraph| {
            let block = BLOCK_VARIABLES
                .iter()
                .find(|b| paragraph == format!("{{{b}}}"));
            match block.and_then(|b| vars.iter().find(|(n, _)| n == b)) {
                Some((_, v)) => v.html.clone(),
                None => format!("<p>{}</p>", render_html_inline(paragraph, vars)),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (text, html)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn standard() -> Vec<StepDef> {
        [
            (1, -3, true),
            (2, 0, true),
            (3, 7, false),
            (4, 14, false),
            (5, 30, false),
        ]
        .into_iter()
        .map(|(step_id, offset_days, optional)| StepDef {
            step_id,
            offset_days,
            optional,
        })
        .collect()
    }

    fn step_on(today: NaiveDate, history: &SendHistory) -> Option<i64> {
        let steps = standard();
        reached_step(&steps, d(2027, 3, 10), today, None, history).map(|s| s.step_id)
    }

    #[test]
    fn each_step_on_its_day_and_only_the_latest_reached() {
        let none = SendHistory::default();
        assert_eq!(step_on(d(2027, 3, 6), &none), None);
        assert_eq!(step_on(d(2027, 3, 7), &none), Some(1));
        assert_eq!(step_on(d(2027, 3, 10), &none), Some(2));
        assert_eq!(step_on(d(2027, 3, 17), &none), Some(3));
        assert_eq!(step_on(d(2027, 3, 24), &none), Some(4));
        assert_eq!(step_on(d(2027, 4, 9), &none), Some(5));
        // A step missed over a weekend is still sent a few days late…
        assert_eq!(step_on(d(2027, 3, 19), &none), Some(3));
        // …but not past the catch-up.
        assert_eq!(step_on(d(2027, 3, 23), &none), Some(3));
        assert_eq!(step_on(d(2027, 5, 20), &none), None);
    }

    #[test]
    fn a_sent_step_is_not_sent_again_and_a_later_send_covers_it() {
        let sent = SendHistory {
            sent_steps: [3].into(),
            last_sent_on: Some(d(2027, 3, 17)),
            last_manual_on: None,
        };
        assert_eq!(step_on(d(2027, 3, 18), &sent), None);
        assert_eq!(step_on(d(2027, 3, 24), &sent), Some(4));
    }

    #[test]
    fn a_manual_send_covers_the_steps_due_by_its_day_and_quiets_the_next_days() {
        // AR sends by hand on day +6: step +7 the next morning is not sent,
        // nor the day after; on day +9 it may go (still inside catch-up).
        let manual = SendHistory {
            sent_steps: BTreeSet::new(),
            last_sent_on: Some(d(2027, 3, 16)),
            last_manual_on: Some(d(2027, 3, 16)),
        };
        assert_eq!(step_on(d(2027, 3, 17), &manual), None);
        assert_eq!(step_on(d(2027, 3, 18), &manual), None);
        assert_eq!(step_on(d(2027, 3, 19), &manual), Some(3));
        // A manual send on day +8 covers step +7 (already fallen due).
        let manual = SendHistory {
            sent_steps: BTreeSet::new(),
            last_sent_on: Some(d(2027, 3, 18)),
            last_manual_on: Some(d(2027, 3, 18)),
        };
        for day in 18..=23 {
            assert_eq!(step_on(d(2027, 3, day), &manual), None, "day {day}");
        }
        assert_eq!(step_on(d(2027, 3, 24), &manual), Some(4));
    }

    #[test]
    fn a_pause_that_ended_restarts_the_catch_up() {
        let steps = standard();
        let none = SendHistory::default();
        let due = d(2027, 3, 10);
        // Step +14 fell on Mar 24; a promise held it to Apr 5.
        assert!(reached_step(&steps, due, d(2027, 4, 6), None, &none).is_none());
        let resumed = reached_step(&steps, due, d(2027, 4, 6), Some(d(2027, 4, 6)), &none);
        assert_eq!(resumed.map(|s| s.step_id), Some(4));
    }

    fn window_day(now: DateTime<Utc>, zone: Tz) -> Option<NaiveDate> {
        local_send_day(now, zone, SendWindow::default(), &BTreeSet::new())
    }

    #[test]
    fn the_window_is_local_time_on_both_sides_of_a_dst_change() {
        let la = chrono_tz::America::Los_Angeles;
        // Friday 12 March 2027 (PST, UTC-8) and Monday 15 March (PDT, UTC-7).
        let before = Utc.with_ymd_and_hms(2027, 3, 12, 17, 0, 0).unwrap(); // 09:00 PST
        let after = Utc.with_ymd_and_hms(2027, 3, 15, 16, 0, 0).unwrap(); // 09:00 PDT
        assert_eq!(window_day(before, la), Some(d(2027, 3, 12)));
        assert_eq!(window_day(after, la), Some(d(2027, 3, 15)));
        // 17:00 UTC on Monday is 10:00 PDT: in; 18:00 UTC is 11:00: out.
        assert!(window_day(after + Duration::hours(1), la).is_some());
        assert!(window_day(after + Duration::hours(2), la).is_none());
        // 16:00 UTC on the Friday was 08:00 PST: not yet.
        assert!(window_day(before - Duration::hours(1), la).is_none());
        // Weekend.
        assert!(window_day(Utc.with_ymd_and_hms(2027, 3, 13, 17, 0, 0).unwrap(), la).is_none());
    }

    #[test]
    fn tokyo_mornings_are_the_previous_utc_evening() {
        let tokyo = chrono_tz::Asia::Tokyo;
        // Monday 15 March 2027 09:30 JST = Sunday 14 March 00:30 UTC.
        let now = Utc.with_ymd_and_hms(2027, 3, 15, 0, 30, 0).unwrap();
        assert_eq!(window_day(now, tokyo), Some(d(2027, 3, 15)));
        let sunday_utc_evening = Utc.with_ymd_and_hms(2027, 3, 14, 0, 30, 0).unwrap();
        assert_eq!(
            window_day(sunday_utc_evening, tokyo),
            None,
            "Sunday in Tokyo"
        );
    }

    #[test]
    fn holidays_close_the_window() {
        let ny = chrono_tz::America::New_York;
        let now = Utc.with_ymd_and_hms(2027, 1, 18, 15, 0, 0).unwrap(); // MLK day, 10:00
        let holidays: BTreeSet<_> = [d(2027, 1, 18)].into();
        assert_eq!(
            local_send_day(now, ny, SendWindow::default(), &holidays),
            None
        );
        assert!(local_send_day(now, ny, SendWindow::default(), &BTreeSet::new()).is_some());
    }

    #[test]
    fn windows_parse_and_print() {
        assert_eq!(SendWindow::parse("09:00-11:00"), Ok(SendWindow::default()));
        assert_eq!(SendWindow::default().words(), "09:00-11:00");
        assert!(SendWindow::parse("11:00-09:00").is_err());
        assert!(SendWindow::parse("9-11").is_err());
        assert_eq!(SendWindow::parse("08:30-24:00").unwrap().end_minute, 1440);
    }

    fn open_facts() -> ReminderFacts {
        ReminderFacts {
            balance_minor: 10_000,
            ..Default::default()
        }
    }

    #[test]
    fn each_suppression_rule_suppresses() {
        let today = d(2027, 3, 17);
        assert_eq!(
            verdict(&open_facts(), today),
            Verdict::Remind {
                amount_minor: 10_000
            }
        );
        let cases: Vec<(ReminderFacts, Suppressed)> = vec![
            (
                ReminderFacts {
                    voided: true,
                    ..open_facts()
                },
                Suppressed::Void,
            ),
            (
                ReminderFacts {
                    balance_minor: 0,
                    ..open_facts()
                },
                Suppressed::Paid,
            ),
            (
                ReminderFacts {
                    pending_minor: 1,
                    ..open_facts()
                },
                Suppressed::PaymentInProgress,
            ),
            (
                ReminderFacts {
                    disputed_minor: 10_000,
                    ..open_facts()
                },
                Suppressed::Disputed,
            ),
            (
                ReminderFacts {
                    in_plan: true,
                    ..open_facts()
                },
                Suppressed::InPlan,
            ),
            (
                ReminderFacts {
                    promised_until: Some(today),
                    ..open_facts()
                },
                Suppressed::Promised,
            ),
            (
                ReminderFacts {
                    customer_paused_until: Some(today),
                    ..open_facts()
                },
                Suppressed::CustomerPaused,
            ),
            (
                ReminderFacts {
                    invoice_paused_until: Some(today + Duration::days(3)),
                    ..open_facts()
                },
                Suppressed::InvoicePaused,
            ),
            (
                ReminderFacts {
                    step_already_sent: true,
                    ..open_facts()
                },
                Suppressed::AlreadySent,
            ),
        ];
        for (facts, reason) in cases {
            assert_eq!(verdict(&facts, today), Verdict::Suppress(reason));
        }
    }

    #[test]
    fn a_part_dispute_reminds_of_the_rest_and_ended_pauses_do_not_count() {
        let today = d(2027, 3, 17);
        let facts = ReminderFacts {
            disputed_minor: 2_500,
            promised_until: Some(today - Duration::days(1)),
            customer_paused_until: Some(today - Duration::days(1)),
            invoice_paused_until: Some(today - Duration::days(1)),
            ..open_facts()
        };
        assert_eq!(
            verdict(&facts, today),
            Verdict::Remind {
                amount_minor: 7_500
            }
        );
    }

    #[test]
    fn promises_are_judged_after_their_day() {
        let on = d(2027, 3, 20);
        assert_eq!(judge_promise(on, 100, 0, on), None);
        assert_eq!(judge_promise(on, 100, 100, on), Some(PromiseOutcome::Kept));
        assert_eq!(
            judge_promise(on, 100, 40, on + Duration::days(1)),
            Some(PromiseOutcome::PartlyKept)
        );
        assert_eq!(
            judge_promise(on, 100, 0, on + Duration::days(1)),
            Some(PromiseOutcome::Broken)
        );
        let paid = paid_toward_promise(&[
            PromisedInvoice {
                payable_then_minor: 100,
                balance_now_minor: 60,
                pending_now_minor: 10,
            },
            PromisedInvoice {
                payable_then_minor: 50,
                balance_now_minor: 80, // a charge added later counts nothing
                pending_now_minor: 0,
            },
        ]);
        assert_eq!(paid, 50);
        assert!(check_promise_date(on, on, 30).is_ok());
        assert!(check_promise_date(on - Duration::days(1), on, 30).is_err());
        assert!(check_promise_date(on + Duration::days(31), on, 30).is_err());
    }

    #[test]
    fn templates_substitute_and_escape() {
        let vars = [
            ("contact_name", Value::words("Tom <O'Kafor>")),
            (
                "invoices",
                Value {
                    text: "- INV-1 $10.00".into(),
                    html: "<table><tr><td>INV-1</td></tr></table>".into(),
                },
            ),
            (
                "pay_all_link",
                Value::link("https://p.example/pay?a=1&b=2", "Pay all"),
            ),
        ];
        let template =
            "Hello {contact_name},\n\n{invoices}\n\nPay: {pay_all_link} {unknown} {not a var} <b>";
        let (text, html) = render_body(template, &vars);
        assert_eq!(
            text,
            "Hello Tom <O'Kafor>,\n\n- INV-1 $10.00\n\nPay: https://p.example/pay?a=1&b=2 {unknown} {not a var} <b>"
        );
        assert_eq!(
            html,
            "<p>Hello Tom &lt;O&#39;Kafor&gt;,</p>\n<table><tr><td>INV-1</td></tr></table>\n<p>Pay: <a href=\"https://p.example/pay?a=1&amp;b=2\">Pay all</a> {unknown} {not a var} &lt;b&gt;</p>"
        );
        assert_eq!(unknown_variables(template), vec!["unknown".to_owned()]);
        assert_eq!(render_text("{seller_name}", &[]), "{seller_name}");
    }

    proptest! {
        /// Whatever the instant and zone, a day is given only inside the
        /// local window on a weekday, and it is the local date.
        #[test]
        fn the_window_holds_for_any_instant(secs in 1_700_000_000i64..1_900_000_000, z in 0usize..4) {
            let zone = [chrono_tz::Asia::Tokyo, chrono_tz::America::Los_Angeles,
                        chrono_tz::Europe::Berlin, chrono_tz::Australia::Sydney][z];
            let now = Utc.timestamp_opt(secs, 0).unwrap();
            let local = now.with_timezone(&zone);
            let day = local_send_day(now, zone, SendWindow::default(), &BTreeSet::new());
            let inside = (9..11).contains(&local.hour())
                && !matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
            prop_assert_eq!(day.is_some(), inside);
            if let Some(day) = day {
                prop_assert_eq!(day, local.date_naive());
            }
        }

        /// The job reads only invoices due since `oldest_due_reachable`
        /// or held by something that ended since `resumption_horizon`:
        /// nothing else can reach a step.
        #[test]
        fn older_invoices_reach_nothing(due_back in 0i64..500, today_off in 0i64..400,
                                        resumed_back in proptest::option::of(0i64..60)) {
            let steps = standard();
            let today = d(2027, 6, 1) + Duration::days(today_off);
            let due = today - Duration::days(due_back);
            let ended = resumed_back.map(|b| today - Duration::days(b));
            let resumed_on = ended.map(|e| e + Duration::days(1));
            let reached = reached_step(&steps, due, today, resumed_on, &SendHistory::default());
            let read = due >= oldest_due_reachable(30, today)
                || ended.is_some_and(|e| e >= resumption_horizon(today));
            prop_assert!(reached.is_none() || read);
        }

        /// Running every day, each step is sent at most once and never
        /// before its date; without pauses every step is sent on its day.
        #[test]
        fn daily_runs_send_each_step_once_on_its_day(due_offset in 0i64..400) {
            let steps = standard();
            let due = d(2027, 1, 1) + Duration::days(due_offset);
            let mut history = SendHistory::default();
            let mut sent = Vec::new();
            let mut today = due - Duration::days(10);
            while today < due + Duration::days(60) {
                if let Some(step) = reached_step(&steps, due, today, None, &history) {
                    prop_assert!(step_date(due, step) <= today);
                    sent.push((step.step_id, today));
                    history.sent_steps.insert(step.step_id);
                    history.last_sent_on = Some(today);
                }
                today += Duration::days(1);
            }
            let expected: Vec<_> = steps.iter().map(|s| (s.step_id, step_date(due, s))).collect();
            prop_assert_eq!(sent, expected);
        }
    }
}
