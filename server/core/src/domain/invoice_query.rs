//! What a user may ask of the invoice list: filters, search, sort and a
//! keyset cursor, parsed from the URL's query string. Parsing is strict:
//! a value that makes no sense is an error that names the field, never a
//! silently ignored filter (a user who filters by "due after 2026-13-01"
//! must not be shown every invoice as if it matched).

use chrono::NaiveDate;

use super::money::Currency;

/// Rows per page of the invoice list.
pub const PAGE_SIZE: usize = 50;

/// The status filter. `Unpaid` is every status that still owes money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    Unpaid,
    Open,
    DueSoon,
    Overdue,
    PartiallyPaid,
    Paid,
    Credited,
    Void,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 8] = [
        StatusFilter::Unpaid,
        StatusFilter::Overdue,
        StatusFilter::DueSoon,
        StatusFilter::PartiallyPaid,
        StatusFilter::Open,
        StatusFilter::Paid,
        StatusFilter::Credited,
        StatusFilter::Void,
    ];

    pub fn key(&self) -> &'static str {
        match self {
            StatusFilter::Unpaid => "unpaid",
            StatusFilter::Open => "open",
            StatusFilter::DueSoon => "due_soon",
            StatusFilter::Overdue => "overdue",
            StatusFilter::PartiallyPaid => "partially_paid",
            StatusFilter::Paid => "paid",
            StatusFilter::Credited => "credited",
            StatusFilter::Void => "void",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            StatusFilter::Unpaid => "Unpaid (any)",
            StatusFilter::Open => "Open",
            StatusFilter::DueSoon => "Due soon",
            StatusFilter::Overdue => "Overdue",
            StatusFilter::PartiallyPaid => "Partly paid",
            StatusFilter::Paid => "Paid",
            StatusFilter::Credited => "Credited",
            StatusFilter::Void => "Void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == s)
    }

    /// Whether an invoice of this status passes the filter.
    pub fn admits(&self, status: &super::InvoiceStatus) -> bool {
        use super::InvoiceStatus as S;
        match self {
            StatusFilter::Unpaid => status.is_open(),
            StatusFilter::Open => matches!(status, S::Open),
            StatusFilter::DueSoon => matches!(status, S::DueSoon { .. }),
            StatusFilter::Overdue => matches!(status, S::Overdue { .. }),
            StatusFilter::PartiallyPaid => matches!(status, S::PartiallyPaid),
            StatusFilter::Paid => matches!(status, S::Paid),
            StatusFilter::Credited => matches!(status, S::Credited),
            StatusFilter::Void => matches!(status, S::Void),
        }
    }
}

/// Columns the list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Number,
    Po,
    Issued,
    Due,
    Status,
    Total,
    Balance,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Number,
        SortKey::Po,
        SortKey::Issued,
        SortKey::Due,
        SortKey::Status,
        SortKey::Total,
        SortKey::Balance,
    ];

    pub fn key(&self) -> &'static str {
        match self {
            SortKey::Number => "number",
            SortKey::Po => "po",
            SortKey::Issued => "issued",
            SortKey::Due => "due",
            SortKey::Status => "status",
            SortKey::Total => "total",
            SortKey::Balance => "balance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }

    /// Whether the sort value is an amount (compared as an integer).
    pub fn is_numeric(&self) -> bool {
        matches!(self, SortKey::Total | SortKey::Balance)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    /// The `dir` value in a list URL.
    pub fn key(&self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }

    pub fn flipped(self) -> Direction {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }
}

/// A position in the sorted list: the sort value and id of a row. Pages
/// continue after (or before) it, so rows never repeat or go missing when
/// invoices are added while someone pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub value: String,
    pub invoice_id: i64,
}

impl Cursor {
    /// `value~id`; the value may itself contain `~`, the id never does.
    pub fn encode(&self) -> String {
        format!("{}~{}", self.value, self.invoice_id)
    }

    pub fn decode(s: &str, sort: SortKey) -> Option<Cursor> {
        let (value, id) = s.rsplit_once('~')?;
        let invoice_id = id.parse().ok()?;
        if sort.is_numeric() && value.parse::<i64>().is_err() {
            return None;
        }
        Some(Cursor {
            value: value.to_owned(),
            invoice_id,
        })
    }
}

/// An amount bound as the user typed it ("1,250.50"), kept as a decimal
/// string so each currency's minor unit can be applied to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmountBound {
    /// The amount in thousandths of a major unit, exact for every currency
    /// exponent in use (0, 2, 3).
    pub milli: i64,
}

impl AmountBound {
    pub fn parse(text: &str) -> Option<AmountBound> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != ' ')
            .collect();
        if cleaned.is_empty() || cleaned.starts_with('-') {
            return None;
        }
        let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 3
            || whole.len() > 13
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let frac_milli: i64 = format!("{frac:0<3}").parse().ok()?;
        Some(AmountBound {
            milli: whole * 1000 + frac_milli,
        })
    }

    /// The bound in a currency's minor units. A lower bound rounds up and an
    /// upper bound rounds down, so "at least 10.005 JPY" never admits 10 JPY.
    pub fn minor(&self, currency: Currency, round_up: bool) -> i64 {
        let divisor = 10_i64.pow(3 - currency.exponent().min(3));
        if round_up {
            (self.milli + divisor - 1) / divisor
        } else {
            self.milli / divisor
        }
    }
}

/// A validated request for one page of the invoice list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceQuery {
    pub status: Option<StatusFilter>,
    pub currency: Option<Currency>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
    pub amount_min: Option<AmountBound>,
    pub amount_max: Option<AmountBound>,
    /// Matches invoice number or PO number, case-insensitively, anywhere.
    pub search: Option<String>,
    pub sort: SortKey,
    pub direction: Direction,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

impl Default for InvoiceQuery {
    fn default() -> Self {
        InvoiceQuery {
            status: None,
            currency: None,
            issued_from: None,
            issued_to: None,
            due_from: None,
            due_to: None,
            amount_min: None,
            amount_max: None,
            search: None,
            sort: SortKey::Due,
            direction: Direction::Desc,
            after: None,
            before: None,
        }
    }
}

/// A field the user got wrong, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        field,
        message: message.into(),
    }
}

fn date(field: &'static str, label: &str, v: &str) -> Result<NaiveDate, QueryError> {
    super::dates::parse_user_date(label, v).map_err(|message| bad(field, message))
}

impl InvoiceQuery {
    /// Parses URL query pairs. Empty values mean "no filter"; unknown keys
    /// are ignored (tracking parameters from email links, for instance).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<InvoiceQuery, QueryError> {
        let mut q = InvoiceQuery::default();
        let mut after = None;
        let mut before = None;
        for (key, value) in pairs {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            match key {
                "status" => {
                    q.status = Some(StatusFilter::parse(v).ok_or_else(|| {
                        bad(
                            "status",
                            format!("Status: \"{v}\" is not a status to filter by"),
                        )
                    })?)
                }
                "currency" => {
                    q.currency = Some(Currency::parse(v).map_err(|_| {
                        bad(
                            "currency",
                            format!("Currency: \"{v}\" is not a currency code"),
                        )
                    })?)
                }
                "issued_from" => q.issued_from = Some(date("issued_from", "Issued from", v)?),
                "issued_to" => q.issued_to = Some(date("issued_to", "Issued to", v)?),
                "due_from" => q.due_from = Some(date("due_from", "Due from", v)?),
                "due_to" => q.due_to = Some(date("due_to", "Due to", v)?),
                "min" => {
                    q.amount_min = Some(AmountBound::parse(v).ok_or_else(|| {
                        bad(
                            "min",
                            format!("Minimum amount: enter a number like 1250.00 (got \"{v}\")"),
                        )
                    })?)
                }
                "max" => {
                    q.amount_max = Some(AmountBound::parse(v).ok_or_else(|| {
                        bad(
                            "max",
                            format!("Maximum amount: enter a number like 1250.00 (got \"{v}\")"),
                        )
                    })?)
                }
                "q" => {
                    if v.chars().count() > 100 {
                        return Err(bad("q", "Search: use at most 100 characters"));
                    }
                    q.search = Some(v.to_owned())
                }
                "sort" => {
                    q.sort = SortKey::parse(v)
                        .ok_or_else(|| bad("sort", format!("Sort: \"{v}\" is not a column")))?
                }
                "dir" => {
                    q.direction = match v {
                        "asc" => Direction::Asc,
                        "desc" => Direction::Desc,
                        _ => return Err(bad("dir", "Sort direction: use asc or desc")),
                    }
                }
                "after" => after = Some(v.to_owned()),
                "before" => before = Some(v.to_owned()),
                _ => {}
            }
        }
        // Cursors depend on the sort, which may come after them in the URL.
        let cursor = |field: &'static str, s: Option<String>| {
            s.map(|s| {
                Cursor::decode(&s, q.sort).ok_or_else(|| {
                    bad(
                        field,
                        "This page link is damaged: start again from the first page",
                    )
                })
            })
            .transpose()
        };
        q.after = cursor("after", after)?;
        q.before = cursor("before", before)?;
        if q.after.is_some() && q.before.is_some() {
            return Err(bad(
                "after",
                "This page link is damaged: start again from the first page",
            ));
        }
        if let (Some(a), Some(b)) = (q.issued_from, q.issued_to) {
            if a > b {
                return Err(bad(
                    "issued_to",
                    "Issued: the end date is before the start date",
                ));
            }
        }
        if let (Some(a), Some(b)) = (q.due_from, q.due_to) {
            if a > b {
                return Err(bad("due_to", "Due: the end date is before the start date"));
            }
        }
        if let (Some(a), Some(b)) = (&q.amount_min, &q.amount_max) {
            if a.milli > b.milli {
                return Err(bad("max", "Amount: the maximum is below the minimum"));
            }
        }
        Ok(q)
    }

    /// The filters as query pairs (no cursor), for links that keep them:
    /// the next page, a sort header, the CSV export.
    pub fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let text = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let amount = |a: &AmountBound| {
            let s = format!("{}.{:03}", a.milli / 1000, a.milli % 1000);
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        };
        if let Some(s) = self.status {
            out.push(("status", s.key().to_owned()));
        }
        if let Some(c) = self.currency {
            out.push(("currency", c.code().to_owned()));
        }
        if let Some(d) = self.issued_from {
            out.push(("issued_from", text(d)));
        }
        if let Some(d) = self.issued_to {
            out.push(("issued_to", text(d)));
        }
        if let Some(d) = self.due_from {
            out.push(("due_from", text(d)));
        }
        if let Some(d) = self.due_to {
            out.push(("due_to", text(d)));
        }
        if let Some(a) = &self.amount_min {
            out.push(("min", amount(a)));
        }
        if let Some(a) = &self.amount_max {
            out.push(("max", amount(a)));
        }
        if let Some(s) = &self.search {
            out.push(("q", s.clone()));
        }
        out
    }

    /// Filters plus sort, without a cursor.
    pub fn sorted_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = self.filter_pairs();
        out.push(("sort", self.sort.key().to_owned()));
        out.push(("dir", self.direction.key().to_owned()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_and_keeps_them_round_trip() {
        let q = InvoiceQuery::from_pairs([
            ("status", "overdue"),
            ("due_from", "2026-01-01"),
            ("due_to", "2026-03-31"),
            ("min", "1,250.5"),
            ("q", "PO-7"),
            ("sort", "balance"),
            ("dir", "asc"),
            ("after", "125050~42"),
            ("utm_source", "email"),
        ])
        .unwrap();
        assert_eq!(q.status, Some(StatusFilter::Overdue));
        assert_eq!(q.amount_min, Some(AmountBound { milli: 1_250_500 }));
        assert_eq!(
            q.after,
            Some(Cursor {
                value: "125050".into(),
                invoice_id: 42
            })
        );
        let pairs = q.sorted_pairs();
        let again = InvoiceQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(again, InvoiceQuery { after: None, ..q });
    }

    #[test]
    fn refuses_nonsense_with_a_message_naming_the_field() {
        let e = InvoiceQuery::from_pairs([("due_from", "2026-13-01")]).unwrap_err();
        assert_eq!(e.field, "due_from");
        assert!(e.message.contains("YYYY-MM-DD"));
        // Years outside 1900..=9999 (issue 9): `+262142-12-31` is chrono's
        // last date, which has no next day.
        let e = InvoiceQuery::from_pairs([("due_to", "+262142-12-31")]).unwrap_err();
        assert_eq!(e.field, "due_to");
        assert!(
            e.message.starts_with("Due to: enter a date"),
            "{}",
            e.message
        );
        assert_eq!(
            InvoiceQuery::from_pairs([("min", "-5")]).unwrap_err().field,
            "min"
        );
        assert_eq!(
            InvoiceQuery::from_pairs([("min", "5"), ("max", "4")])
                .unwrap_err()
                .field,
            "max"
        );
        assert_eq!(
            InvoiceQuery::from_pairs([("status", "lost")])
                .unwrap_err()
                .field,
            "status"
        );
        assert_eq!(
            InvoiceQuery::from_pairs([("sort", "total"), ("after", "abc~3")])
                .unwrap_err()
                .field,
            "after"
        );
    }

    #[test]
    fn amount_bounds_follow_each_currency_minor_unit() {
        let b = AmountBound::parse("10.005").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(b.minor(Currency::USD, true), 1001);
        assert_eq!(b.minor(Currency::USD, false), 1000);
        assert_eq!(b.minor(jpy, true), 11);
        assert_eq!(b.minor(jpy, false), 10);
        assert_eq!(b.minor(kwd, true), 10_005);
        assert_eq!(
            AmountBound::parse("12").unwrap().minor(Currency::EUR, true),
            1200
        );
        assert!(AmountBound::parse("1.2345").is_none());
        assert!(AmountBound::parse("abc").is_none());
    }

    #[test]
    fn cursor_values_may_hold_the_separator() {
        let c = Cursor {
            value: "PO~7".into(),
            invoice_id: 9,
        };
        assert_eq!(Cursor::decode(&c.encode(), SortKey::Po), Some(c));
    }
}
