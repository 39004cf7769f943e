//! Calendar dates typed by people (filters, statement periods, the CLI).
//! One rule everywhere: `YYYY-MM-DD`, a real date, years 1900 to 9999.
//! chrono itself reads years up to ±262,142 (with a sign), and its last
//! date has no next day, so a query's "end of `to`" would overflow; four
//! digits also keep stored dates in text order.

use chrono::NaiveDate;

/// The earliest date anyone may type.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// The latest date anyone may type (its next day still exists).
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Reads a date a person typed; the error names the field by `label` and
/// says what is accepted.
pub fn parse_user_date(label: &str, text: &str) -> Result<NaiveDate, String> {
    let v = text.trim();
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .flatten()
        .filter(|d| (MIN_DATE..=MAX_DATE).contains(d))
        .ok_or_else(|| {
            format!(
                "{label}: enter a date as YYYY-MM-DD, from {MIN_DATE} to {MAX_DATE} (got \"{v}\")"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_four_digit_years_from_1900_to_9999() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_user_date("To", "2026-03-10"), Ok(d(2026, 3, 10)));
        assert_eq!(parse_user_date("To", " 2026-03-10 "), Ok(d(2026, 3, 10)));
        assert_eq!(parse_user_date("To", "1900-01-01"), Ok(d(1900, 1, 1)));
        assert_eq!(parse_user_date("To", "9999-12-31"), Ok(d(9999, 12, 31)));
        // The next day of the last date exists: `to + 1 day` cannot overflow.
        assert!(MAX_DATE.succ_opt().is_some());
    }

    #[test]
    fn refuses_other_years_and_shapes_naming_the_field() {
        for bad in [
            "+262142-12-31", // chrono's last date: its next day overflows
            "+262143-12-31",
            "-262143-01-01",
            "+10000-01-01",
            "10000-01-01",
            "+2026-03-10",
            "0000-01-01",
            "1899-12-31",
            "2026-3-10",
            "2026-02-30",
            "2026-13-01",
            "2026/03/10",
            "",
            "yesterday",
        ] {
            let e = parse_user_date("Due from", bad).unwrap_err();
            assert!(
                e.starts_with(
                    "Due from: enter a date as YYYY-MM-DD, from 1900-01-01 to 9999-12-31"
                ),
                "{bad}: {e}"
            );
            assert!(e.ends_with(&format!("(got \"{}\")", bad.trim())), "{e}");
        }
    }
}
