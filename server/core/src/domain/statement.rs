//! Statement of account arithmetic: opening balance, dated entries with a
//! running balance, and aging of what is still open at the end date, per
//! currency. Pure: the repository supplies the entries and open items.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::money::Currency;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// Raises the balance.
    Invoice,
    /// Lowers it.
    CreditNote,
    /// Lowers it.
    Payment,
}

impl EntryKind {
    pub fn label(&self) -> &'static str {
        match self {
            EntryKind::Invoice => "Invoice",
            EntryKind::CreditNote => "Credit note",
            EntryKind::Payment => "Payment",
        }
    }
}

/// Something that moved the account's balance on a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub date: NaiveDate,
    pub kind: EntryKind,
    pub reference: String,
    pub currency: Currency,
    /// Always positive; the kind says which way it moves the balance.
    pub amount_minor: i64,
}

impl Entry {
    fn signed(&self) -> i64 {
        match self.kind {
            EntryKind::Invoice => self.amount_minor,
            EntryKind::CreditNote | EntryKind::Payment => -self.amount_minor,
        }
    }
}

/// An invoice with a balance left at the statement's end date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenItem {
    pub currency: Currency,
    pub due_date: NaiveDate,
    pub balance_minor: i64,
}

/// Aging buckets by days past due at the end date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    /// Not yet due, or due on the end date itself.
    Current,
    Days1To30,
    Days31To60,
    Days61To90,
    Over90,
}

impl Bucket {
    pub const ALL: [Bucket; 5] = [
        Bucket::Current,
        Bucket::Days1To30,
        Bucket::Days31To60,
        Bucket::Days61To90,
        Bucket::Over90,
    ];

    pub fn of(due: NaiveDate, as_of: NaiveDate) -> Bucket {
        match (as_of - due).num_days() {
            i64::MIN..=0 => Bucket::Current,
            1..=30 => Bucket::Days1To30,
            31..=60 => Bucket::Days31To60,
            61..=90 => Bucket::Days61To90,
            _ => Bucket::Over90,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Bucket::Current => "Current",
            Bucket::Days1To30 => "1-30 days",
            Bucket::Days31To60 => "31-60 days",
            Bucket::Days61To90 => "61-90 days",
            Bucket::Over90 => "Over 90 days",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub entry: Entry,
    /// Balance in the entry's currency after it.
    pub running_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencySummary {
    pub currency: Currency,
    pub opening_minor: i64,
    pub invoiced_minor: i64,
    pub paid_and_credited_minor: i64,
    pub closing_minor: i64,
    /// Open invoice balances by bucket, in `Bucket::ALL` order.
    pub aging_minor: [i64; 5],
    /// Closing balance minus the aged invoice balances: negative when
    /// payments or credits are waiting to be applied to an invoice.
    pub unapplied_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lines: Vec<Line>,
    pub currencies: Vec<CurrencySummary>,
}

/// Builds the statement for `from..=to` from the balance per currency
/// before `from` (`opening`: the sum of every earlier entry, read as an
/// aggregate), the entries up to `to` (any before `from` are added to the
/// opening balance too) and the invoices open at `to`.
pub fn build_statement(
    from: NaiveDate,
    to: NaiveDate,
    opening: &[(Currency, i64)],
    entries: &[Entry],
    open_at_end: &[OpenItem],
) -> Statement {
    let mut sorted: Vec<&Entry> = entries.iter().filter(|e| e.date <= to).collect();
    // Same day: invoices before what pays them, then by reference, so the
    // running balance reads naturally and the order is stable.
    sorted.sort_by(|a, b| (a.date, a.kind, &a.reference).cmp(&(b.date, b.kind, &b.reference)));

    let mut summaries: BTreeMap<Currency, CurrencySummary> = BTreeMap::new();
    let summary = |map: &mut BTreeMap<Currency, CurrencySummary>, c: Currency| {
        map.entry(c)
            .or_insert_with(|| CurrencySummary {
                currency: c,
                opening_minor: 0,
                invoiced_minor: 0,
                paid_and_credited_minor: 0,
                closing_minor: 0,
                aging_minor: [0; 5],
                unapplied_minor: 0,
            })
            .currency
    };
    for (currency, minor) in opening {
        summary(&mut summaries, *currency);
        let s = summaries.get_mut(currency).expect("inserted above");
        s.opening_minor += minor;
        s.closing_minor += minor;
    }
    let mut lines = Vec::new();
    for e in sorted {
        summary(&mut summaries, e.currency);
        let s = summaries.get_mut(&e.currency).expect("inserted above");
        if e.date < from {
            s.opening_minor += e.signed();
            s.closing_minor += e.signed();
            continue;
        }
        s.closing_minor += e.signed();
        match e.kind {
            EntryKind::Invoice => s.invoiced_minor += e.amount_minor,
            _ => s.paid_and_credited_minor += e.amount_minor,
        }
        lines.push(Line {
            entry: e.clone(),
            running_minor: s.closing_minor,
        });
    }
    for item in open_at_end.iter().filter(|i| i.balance_minor > 0) {
        summary(&mut summaries, item.currency);
        let s = summaries.get_mut(&item.currency).expect("inserted above");
        let bucket = Bucket::of(item.due_date, to);
        let index = Bucket::ALL
            .iter()
            .position(|b| *b == bucket)
            .expect("listed");
        s.aging_minor[index] += item.balance_minor;
    }
    for s in summaries.values_mut() {
        s.unapplied_minor = s.closing_minor - s.aging_minor.iter().sum::<i64>();
    }
    Statement {
        from,
        to,
        lines,
        currencies: summaries.into_values().collect(),
    }
}

/// Longest statement period, in months (a statement of a busy account over
/// two years is thousands of lines; longer is a job for an export).
pub const MAX_STATEMENT_MONTHS: u32 = 24;

/// Why a statement period is refused, if it is: longer than
/// `MAX_STATEMENT_MONTHS` (from `to` back to the day after the same date
/// two years earlier).
pub fn statement_period_problem(from: NaiveDate, to: NaiveDate) -> Option<String> {
    let earliest = to
        .checked_sub_months(chrono::Months::new(MAX_STATEMENT_MONTHS))
        .and_then(|d| d.succ_opt())
        .unwrap_or(NaiveDate::MIN);
    (from < earliest).then(|| {
        format!(
            "A statement covers at most {} years: for a statement to {to}, choose a start date on or after {earliest}",
            MAX_STATEMENT_MONTHS / 12
        )
    })
}

/// The period a statement covers, from the `from` and `to` a person typed
/// (blank: the start of `today`'s year, and `today`). The message names what
/// to change: an unreadable date, an end before the start, a period too long.
pub fn statement_period(
    from: &str,
    to: &str,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), String> {
    let typed = |label: &str, text: &str| {
        let text = text.trim();
        (!text.is_empty())
            .then(|| super::dates::parse_user_date(label, text))
            .transpose()
    };
    let start_of_year = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("valid date");
    let from = typed("From", from)?.unwrap_or(start_of_year);
    let to = typed("To", to)?.unwrap_or(today);
    if from > to {
        return Err("The end date is before the start date".into());
    }
    if let Some(problem) = statement_period_problem(from, to) {
        return Err(problem);
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn buckets_at_the_boundary_days() {
        let as_of = d("2026-06-30");
        let cases = [
            (-5, Bucket::Current),
            (0, Bucket::Current),
            (1, Bucket::Days1To30),
            (30, Bucket::Days1To30),
            (31, Bucket::Days31To60),
            (60, Bucket::Days31To60),
            (61, Bucket::Days61To90),
            (90, Bucket::Days61To90),
            (91, Bucket::Over90),
            (400, Bucket::Over90),
        ];
        for (days_past_due, bucket) in cases {
            let due = as_of - chrono::Duration::days(days_past_due);
            assert_eq!(
                Bucket::of(due, as_of),
                bucket,
                "{days_past_due} days past due"
            );
        }
    }

    #[test]
    fn opening_running_and_closing_balances() {
        let e = |date: &str, kind, reference: &str, amount| Entry {
            date: d(date),
            kind,
            reference: reference.into(),
            currency: Currency::USD,
            amount_minor: amount,
        };
        let entries = vec![
            e("2026-01-10", EntryKind::Invoice, "INV-1", 10_000),
            e("2026-02-01", EntryKind::Payment, "PAY-1", 4_000),
            e("2026-02-01", EntryKind::Invoice, "INV-2", 5_000),
            e("2026-02-15", EntryKind::CreditNote, "CN-1", 1_000),
            e("2026-03-05", EntryKind::Invoice, "INV-3", 2_500), // after the end
        ];
        let open = vec![
            OpenItem {
                currency: Currency::USD,
                due_date: d("2026-02-09"),
                balance_minor: 6_000,
            },
            OpenItem {
                currency: Currency::USD,
                due_date: d("2026-03-03"),
                balance_minor: 3_000,
            },
        ];
        let s = build_statement(d("2026-02-01"), d("2026-02-28"), &[], &entries, &open);
        assert_eq!(
            s.lines
                .iter()
                .map(|l| (l.entry.reference.as_str(), l.running_minor))
                .collect::<Vec<_>>(),
            vec![("INV-2", 15_000), ("PAY-1", 11_000), ("CN-1", 10_000)]
        );
        let usd = &s.currencies[0];
        assert_eq!(usd.opening_minor, 10_000);
        assert_eq!(usd.invoiced_minor, 5_000);
        assert_eq!(usd.paid_and_credited_minor, 5_000);
        assert_eq!(usd.closing_minor, 10_000);
        // Due 2026-02-09 is 19 days past due on the 28th; 2026-03-03 is not yet due.
        assert_eq!(usd.aging_minor, [3_000, 6_000, 0, 0, 0]);
        assert_eq!(usd.unapplied_minor, 1_000);

        // The same statement from the balance before the period, as the
        // database sums it, and only the period's entries.
        let in_period: Vec<Entry> = entries
            .iter()
            .filter(|e| e.date >= d("2026-02-01"))
            .cloned()
            .collect();
        let from_opening = build_statement(
            d("2026-02-01"),
            d("2026-02-28"),
            &[(Currency::USD, 10_000)],
            &in_period,
            &open,
        );
        assert_eq!(from_opening, s);
    }

    #[test]
    fn a_currency_with_only_history_still_shows_its_opening_balance() {
        let s = build_statement(
            d("2026-02-01"),
            d("2026-02-28"),
            &[(Currency::EUR, 0), (Currency::USD, 2_500)],
            &[],
            &[],
        );
        let got: Vec<(Currency, i64, i64)> = s
            .currencies
            .iter()
            .map(|c| (c.currency, c.opening_minor, c.closing_minor))
            .collect();
        let mut want = vec![(Currency::EUR, 0, 0), (Currency::USD, 2_500, 2_500)];
        want.sort();
        assert_eq!(got, want);
        assert!(s.lines.is_empty());
    }

    #[test]
    fn a_blank_period_is_the_year_to_date() {
        let today = d("2026-03-15");
        assert_eq!(
            statement_period("", " ", today),
            Ok((d("2026-01-01"), today))
        );
        assert_eq!(
            statement_period("2025-12-01", "", today),
            Ok((d("2025-12-01"), today))
        );
        assert_eq!(
            statement_period("", "2026-02-28", today),
            Ok((d("2026-01-01"), d("2026-02-28")))
        );
    }

    #[test]
    fn a_period_names_the_date_it_cannot_use() {
        let today = d("2026-03-15");
        assert_eq!(
            statement_period(" 2026-02-01 ", "2026-02-28", today),
            Ok((d("2026-02-01"), d("2026-02-28")))
        );
        assert!(statement_period("soon", "", today)
            .unwrap_err()
            .contains("From"));
        assert!(statement_period("", "2026-02-30", today)
            .unwrap_err()
            .contains("To"));
        assert_eq!(
            statement_period("2026-03-01", "2026-02-01", today),
            Err("The end date is before the start date".into())
        );
        assert!(statement_period("2023-01-01", "2026-02-01", today)
            .unwrap_err()
            .contains("at most 2 years"));
    }

    #[test]
    fn statements_cover_at_most_two_years() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            statement_period_problem(d("2024-04-01"), d("2026-03-31")),
            None
        );
        assert_eq!(
            statement_period_problem(d("2026-03-31"), d("2026-03-31")),
            None
        );
        assert_eq!(
            statement_period_problem(d("2024-03-31"), d("2026-03-31")).as_deref(),
            Some("A statement covers at most 2 years: for a statement to 2026-03-31, choose a start date on or after 2024-04-01")
        );
        // From a leap day: two years before 2026-02-28 is 2024-02-28.
        assert_eq!(
            statement_period_problem(d("2024-02-29"), d("2026-02-28")),
            None
        );
        assert!(statement_period_problem(d("2024-02-28"), d("2026-02-28")).is_some());
        assert!(statement_period_problem(d("0001-01-01"), d("2026-02-28")).is_some());
    }
}
