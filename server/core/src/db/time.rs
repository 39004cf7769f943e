//! Timestamps are stored as fixed-width UTC text so that text order is time
//! order on both engines; calendar dates as 'YYYY-MM-DD'.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The end of `day` as timestamp text (ISO 8601's `T24:00`): every stored
/// timestamp on `day` sorts before it, every later one at or after it. A
/// query's "received by the end of `to`" needs no next day, which the last
/// date chrono knows does not have.
pub fn day_end(day: NaiveDate) -> String {
    format!("{}T24:00:00.000000Z", date_text(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_order_is_time_order() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let b = a + chrono::Duration::microseconds(1);
        let c = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert!(ts(a) < ts(b) && ts(b) < ts(c));
        // The end of a day sorts after its last moment, before the next day.
        let day = a.date_naive();
        let last = Utc.with_ymd_and_hms(2026, 1, 2, 23, 59, 59).unwrap()
            + chrono::Duration::microseconds(999_999);
        let next = Utc.with_ymd_and_hms(2026, 1, 3, 0, 0, 0).unwrap();
        assert!(ts(last) < day_end(day) && day_end(day) < ts(next));
        // Also on the last date anyone may type.
        let last_day = crate::domain::dates::MAX_DATE;
        assert_eq!(day_end(last_day), "9999-12-31T24:00:00.000000Z");
        assert!(ts(last_day.and_hms_opt(23, 59, 59).unwrap().and_utc()) < day_end(last_day));
        assert_eq!(ts(a).len(), ts(c).len());
        use crate::repo::decode::FromColumnText;
        assert_eq!(DateTime::<Utc>::from_column_text(&ts(b)), Some(b));
    }
}
