//! Money is an integer amount in the currency's minor unit plus an ISO 4217
//! code. Never a float: sums and comparisons must be exact.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code the portal accepts. The minor-unit exponent
/// decides how amounts are written ("12.34" for USD, "1234" for JPY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

/// Currencies whose minor unit is not 1/100. Everything else valid in
/// ISO 4217 that we are asked to accept uses two decimals.
pub const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
pub const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a three-letter ISO 4217 currency code")]
pub struct InvalidCurrency(pub String);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn parse(code: &str) -> Result<Self, InvalidCurrency> {
        let upper = code.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([bytes[0], bytes[1], bytes[2]]))
        } else {
            Err(InvalidCurrency(code.to_owned()))
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII uppercase letters are ever stored.
        std::str::from_utf8(&self.0).expect("currency code is ASCII")
    }

    /// Number of decimal places of the minor unit.
    pub fn exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.code()) {
            0
        } else if THREE_DECIMAL.contains(&self.code()) {
            3
        } else {
            2
        }
    }

    /// The symbol shown before an amount, when the currency has a common one.
    pub fn symbol(&self) -> Option<&'static str> {
        match self.code() {
            "USD" => Some("$"),
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            "JPY" => Some("¥"),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Reads an amount typed by a person in this currency: digits with
    /// optional thousands commas and at most the currency's decimals
    /// ("1,234.5" is 123450 cents). Signs, symbols and extra decimals are
    /// refused rather than guessed at.
    pub fn parse_amount(text: &str, currency: Currency) -> Result<Money, String> {
        let cleaned: String = text.trim().chars().filter(|c| *c != ',').collect();
        let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        let exp = currency.exponent() as usize;
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || (cleaned.contains('.') && fraction.is_empty())
        {
            return Err(format!("“{}” is not an amount", text.trim()));
        }
        if fraction.len() > exp {
            return Err(match exp {
                0 => format!("{} amounts have no decimals", currency.code()),
                n => format!("{} amounts have at most {n} decimals", currency.code()),
            });
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| "that amount is too large".to_owned())?
        };
        let fraction_minor: i64 = format!("{fraction:0<exp$}").parse().unwrap_or(0);
        whole
            .checked_mul(10i64.pow(exp as u32))
            .and_then(|m| m.checked_add(fraction_minor))
            .map(|minor| Money { minor, currency })
            .ok_or_else(|| "that amount is too large".to_owned())
    }

    /// Plain decimal text without symbol or grouping, e.g. "-1234.50": for
    /// CSV exports and form values.
    pub fn decimal_string(&self) -> String {
        let exp = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(exp);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exp as usize
        )
    }

    /// Human text with thousands separators and the symbol when there is a
    /// well-known one, e.g. "$1,234.50", "€-0.99" is written "-€0.99",
    /// "1,000 JPY" is "¥1,000".
    pub fn display(&self) -> String {
        let exp = self.currency.exponent();
        let abs = self.minor.unsigned_abs();
        let scale = 10u64.pow(exp);
        let whole = group_thousands(abs / scale);
        let number = if exp == 0 {
            whole
        } else {
            format!("{whole}.{:0width$}", abs % scale, width = exp as usize)
        };
        let sign = if self.minor < 0 { "-" } else { "" };
        match self.currency.symbol() {
            Some(symbol) => format!("{sign}{symbol}{number}"),
            None => format!("{sign}{number} {}", self.currency.code()),
        }
    }
}

fn group_thousands(mut n: u64) -> String {
    let mut groups = Vec::new();
    loop {
        if n < 1000 {
            groups.push(n.to_string());
            break;
        }
        groups.push(format!("{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_codes() {
        assert_eq!(Currency::parse(" usd ").unwrap(), Currency::USD);
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("U$D").is_err());
        assert!(Currency::parse("USDT").is_err());
    }

    #[test]
    fn formats_by_the_currency_minor_unit() {
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Money::new(123456, Currency::USD).display(), "$1,234.56");
        assert_eq!(Money::new(-5, Currency::EUR).display(), "-€0.05");
        assert_eq!(Money::new(1_000_000, jpy).display(), "¥1,000,000");
        assert_eq!(Money::new(1_234, kwd).display(), "1.234 KWD");
        assert_eq!(Money::new(-120, Currency::USD).decimal_string(), "-1.20");
        assert_eq!(Money::new(7, jpy).decimal_string(), "7");
    }

    proptest::proptest! {
        #[test]
        fn decimal_string_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let text = Money::new(minor, Currency::USD).decimal_string();
            let back: i64 = text.replace('.', "").parse().unwrap();
            proptest::prop_assert_eq!(back, minor);
        }
    }

    #[test]
    fn parses_typed_amounts_in_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse_amount("1,234.5", usd).unwrap().minor, 123450);
        assert_eq!(Money::parse_amount(" 12 ", usd).unwrap().minor, 1200);
        assert_eq!(Money::parse_amount(".05", usd).unwrap().minor, 5);
        assert_eq!(Money::parse_amount("1000", jpy).unwrap().minor, 1000);
        assert!(Money::parse_amount("1.5", jpy).is_err());
        assert!(Money::parse_amount("1.234", usd).is_err());
        assert!(Money::parse_amount("-5", usd).is_err());
        assert!(Money::parse_amount("$5", usd).is_err());
        assert!(Money::parse_amount("", usd).is_err());
        assert!(Money::parse_amount("1.", usd).is_err());
        assert!(Money::parse_amount("99999999999999999999", usd).is_err());
    }
}
