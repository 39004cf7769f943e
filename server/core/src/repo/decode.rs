//! Reading text columns into domain types, once, here. A value the domain
//! cannot read is an error that names its table and column (sqlx's
//! `ColumnDecode`), never a quiet default: a corrupted currency must not
//! print an invoice in dollars, nor a bad date sort it to year 1.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::domain::{ContactRole, Currency, PaymentStatus, StaffRole};

/// A domain value stored as text.
pub trait FromColumnText: Sized {
    /// What the value should look like, for the error.
    const EXPECTED: &'static str;
    fn from_column_text(text: &str) -> Option<Self>;
}

impl FromColumnText for Currency {
    const EXPECTED: &'static str = "an ISO 4217 currency code";
    fn from_column_text(text: &str) -> Option<Self> {
        Currency::parse(text).ok()
    }
}

impl FromColumnText for NaiveDate {
    const EXPECTED: &'static str = "a date as YYYY-MM-DD";
    fn from_column_text(text: &str) -> Option<Self> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
    }
}

impl FromColumnText for DateTime<Utc> {
    const EXPECTED: &'static str = "an RFC 3339 timestamp";
    fn from_column_text(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

impl FromColumnText for PaymentStatus {
    const EXPECTED: &'static str = "a payment status";
    fn from_column_text(text: &str) -> Option<Self> {
        PaymentStatus::parse(text)
    }
}

impl FromColumnText for ContactRole {
    const EXPECTED: &'static str = "a contact role";
    fn from_column_text(text: &str) -> Option<Self> {
        ContactRole::parse(text)
    }
}

impl FromColumnText for StaffRole {
    const EXPECTED: &'static str = "a staff role";
    fn from_column_text(text: &str) -> Option<Self> {
        StaffRole::parse(text)
    }
}

fn bad_value(table: &str, column: &str, value: &str, expected: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("{table}.{column}"),
        source: format!("{value:?} is not {expected}").into(),
    }
}

/// The column `column` (of table `table`, for the error) as a `T`.
pub fn decode<T: FromColumnText>(
    row: &AnyRow,
    table: &str,
    column: &str,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    T::from_column_text(&text).ok_or_else(|| bad_value(table, column, &text, T::EXPECTED))
}

/// A nullable column as an `Option<T>`; a present but unreadable value is
/// still an error.
pub fn decode_opt<T: FromColumnText>(
    row: &AnyRow,
    table: &str,
    column: &str,
) -> Result<Option<T>, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        T::from_column_text(&text).ok_or_else(|| bad_value(table, column, &text, T::EXPECTED))
    })
    .transpose()
}

/// The same rule for a value that was read as text elsewhere (session
/// data, a JSON column): `what` names where it came from.
pub fn parse_text<T: FromColumnText>(what: &str, text: &str) -> Result<T, sqlx::Error> {
    T::from_column_text(text).ok_or_else(|| {
        sqlx::Error::Decode(format!("{what}: {text:?} is not {}", T::EXPECTED).into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_what_it_writes_and_refuses_the_rest() {
        assert_eq!(Currency::from_column_text("EUR"), Some(Currency::EUR));
        assert_eq!(Currency::from_column_text("EURO"), None);
        assert!(NaiveDate::from_column_text("2026-02-30").is_none());
        assert!(DateTime::<Utc>::from_column_text("yesterday").is_none());
        assert_eq!(
            PaymentStatus::from_column_text("pending"),
            Some(PaymentStatus::Pending)
        );
        assert_eq!(PaymentStatus::from_column_text("pendng"), None);
        assert!(ContactRole::from_column_text("owner").is_none());
        assert!(StaffRole::from_column_text("root").is_none());
    }

    #[test]
    fn the_error_names_table_and_column() {
        let e = bad_value("invoices", "currency", "XXX1", Currency::EXPECTED);
        let text = e.to_string();
        assert!(
            text.contains("invoices.currency") && text.contains("XXX1"),
            "{text}"
        );
    }
}
