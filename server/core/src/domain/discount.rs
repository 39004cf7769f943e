//! Early-payment discounts (issue 13 item 7): payment terms such as
//! "2/10 net 30" (2 % off when paid within 10 days of the issue date, the
//! whole amount due in 30), and what one invoice is offered today.
//!
//! The rate is in basis points (200 = 2 %) and applies to the invoice's
//! original total; the amount is rounded half up to the currency's minor
//! unit (amounts are stored in minor units, so this is rounding to an
//! integer: cents for USD, yen for JPY, fils for KWD). The discount runs to
//! the end of the last discount day (issue date + days) in the customer's
//! time zone, and only while the rest of the balance is paid in full.

use chrono::{Duration, NaiveDate};

use super::{Currency, Money};

/// The discount part of payment terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscountTerms {
    /// Basis points: 200 = 2 %.
    pub rate_bp: i64,
    /// Days from the issue date; the last of them is the last discount day.
    pub days: i64,
}

/// Payment terms as typed by AR: an optional discount and optional net days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentTerms {
    pub discount: Option<DiscountTerms>,
    pub net_days: Option<i64>,
}

/// The highest rate accepted: 50 %. Anything higher is a typo.
pub const MAX_RATE_BP: i64 = 5_000;
pub const MAX_DAYS: i64 = 365;

const FORMAT_HELP: &str =
    "Write terms like “2/10 net 30” (2% off if paid within 10 days, due in 30), “net 30”, or leave it empty for none.";

/// Reads "2/10 net 30", "1.5/15 n/45", "2/10, net 30", "2/10", "net 30",
/// "" or "none". The rate has at most two decimals (basis points); the
/// discount days must be fewer than the net days when both are given.
pub fn parse_terms(text: &str) -> Result<PaymentTerms, String> {
    let cleaned = text.trim().to_ascii_lowercase().replace(',', " ");
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "none" {
        return Ok(PaymentTerms {
            discount: None,
            net_days: None,
        });
    }
    let (discount_part, net_part) = match cleaned.find("net").or_else(|| cleaned.find("n/")) {
        Some(at) => (cleaned[..at].trim(), Some(cleaned[at..].trim())),
        None => (cleaned, None),
    };
    let net_days = match net_part {
        None => None,
        Some(net) => {
            let digits = net
                .trim_start_matches("net")
                .trim_start_matches("n/")
                .trim_start_matches('/')
                .trim();
            Some(days_of(digits, "net days")?)
        }
    };
    let discount = if discount_part.is_empty() {
        None
    } else {
        let Some((rate, days)) = discount_part.split_once('/') else {
            return Err(format!(
                "“{}” is not payment terms. {FORMAT_HELP}",
                text.trim()
            ));
        };
        let rate_bp = rate_of(rate.trim().trim_end_matches('%').trim())?;
        let days = days_of(days.trim(), "discount days")?;
        Some(DiscountTerms { rate_bp, days })
    };
    if let (Some(d), Some(net)) = (discount, net_days) {
        if d.days >= net {
            return Err(format!(
                "The discount days ({}) must be fewer than the net days ({net}): the discount is for paying early.",
                d.days
            ));
        }
    }
    Ok(PaymentTerms { discount, net_days })
}

fn rate_of(text: &str) -> Result<i64, String> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && !digits(fraction)) {
        return Err(format!(
            "The discount rate “{text}” is not a percentage. {FORMAT_HELP}"
        ));
    }
    if fraction.len() > 2 {
        return Err("The discount rate has at most two decimals (e.g. 1.25).".into());
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| "The discount rate is too large.".to_owned())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let bp = whole.saturating_mul(100).saturating_add(fraction);
    if bp == 0 || bp > MAX_RATE_BP {
        return Err(format!(
            "The discount rate must be more than 0% and at most {}%.",
            MAX_RATE_BP / 100
        ));
    }
    Ok(bp)
}

fn days_of(text: &str, what: &str) -> Result<i64, String> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "The {what} “{text}” are not a number of days. {FORMAT_HELP}"
        ));
    }
    let days: i64 = text.parse().map_err(|_| format!("Too many {what}."))?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(format!("The {what} must be from 1 to {MAX_DAYS}."));
    }
    Ok(days)
}

/// "2", "1.5", "0.25": a rate in basis points as a percentage.
pub fn format_rate(rate_bp: i64) -> String {
    let whole = rate_bp / 100;
    match rate_bp % 100 {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// "2/10 net 30", "2/10", "net 30" or "" (none).
pub fn format_terms(terms: &PaymentTerms) -> String {
    let discount = terms
        .discount
        .map(|d| format!("{}/{}", format_rate(d.rate_bp), d.days));
    let net = terms.net_days.map(|n| format!("net {n}"));
    [discount, net]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The terms that apply to an invoice: its own (an override; a rate of 0
/// there means no discount) or else its customer's.
pub fn effective_terms(
    invoice: (Option<i64>, Option<i64>),
    customer: (Option<i64>, Option<i64>),
) -> Option<DiscountTerms> {
    let pick = |(bp, days): (Option<i64>, Option<i64>)| bp.map(|bp| (bp, days));
    let (rate_bp, days) = pick(invoice).or_else(|| pick(customer))?;
    let days = days?;
    (rate_bp > 0 && days > 0).then_some(DiscountTerms { rate_bp, days })
}

/// `rate_bp` of `total_minor`, rounded half up to the minor unit.
pub fn discount_minor(total_minor: i64, rate_bp: i64) -> i64 {
    if total_minor <= 0 || rate_bp <= 0 {
        return 0;
    }
    let exact = i128::from(total_minor) * i128::from(rate_bp);
    i64::try_from((exact + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// What the offer depends on about one invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscountFacts {
    pub issue_date: NaiveDate,
    pub total_minor: i64,
    pub balance_minor: i64,
    /// Held by a payment in flight (which has its own locked discount).
    pub pending_minor: i64,
    pub disputed_minor: i64,
    pub voided: bool,
    /// A payment plan covers it (the plan's schedule replaces the terms).
    pub in_plan: bool,
}

/// The discount an invoice is offered today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscountOffer {
    pub rate_bp: i64,
    /// The last day it can be paid with the discount (customer's zone).
    pub last_day: NaiveDate,
    /// Days from today to `last_day` (0 on the last day).
    pub days_left: i64,
    pub discount_minor: i64,
    /// The balance less the discount: what settles the invoice in full.
    pub pay_minor: i64,
}

/// The last discount day of an invoice issued on `issue_date`.
pub fn last_discount_day(issue_date: NaiveDate, terms: DiscountTerms) -> NaiveDate {
    issue_date + Duration::days(terms.days)
}

/// The offer on `today` (the customer's local date): none without terms,
/// after the last day, on a void, disputed, planned or settled invoice,
/// while a payment is in flight, or when earlier payments left no more
/// than the discount to pay.
pub fn offer(
    terms: Option<DiscountTerms>,
    facts: &DiscountFacts,
    today: NaiveDate,
) -> Option<DiscountOffer> {
    let terms = terms?;
    if facts.voided
        || facts.in_plan
        || facts.disputed_minor > 0
        || facts.pending_minor > 0
        || facts.balance_minor <= 0
    {
        return None;
    }
    let last_day = last_discount_day(facts.issue_date, terms);
    if today > last_day {
        return None;
    }
    let discount = discount_minor(facts.total_minor, terms.rate_bp);
    if discount <= 0 || discount >= facts.balance_minor {
        return None;
    }
    Some(DiscountOffer {
        rate_bp: terms.rate_bp,
        last_day,
        days_left: (last_day - today).num_days(),
        discount_minor: discount,
        pay_minor: facts.balance_minor - discount,
    })
}

impl DiscountOffer {
    /// "Pay by Dec 10 and save $24.00 (3 days left)".
    pub fn sentence(&self, currency: Currency) -> String {
        let left = match self.days_left {
            0 => "last day".to_owned(),
            1 => "1 day left".to_owned(),
            n => format!("{n} days left"),
        };
        format!(
            "Pay by {} and save {} ({left})",
            self.last_day.format("%b %-d"),
            Money::new(self.discount_minor, currency).display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn terms_parse_in_the_usual_spellings() {
        let two_ten = PaymentTerms {
            discount: Some(DiscountTerms {
                rate_bp: 200,
                days: 10,
            }),
            net_days: Some(30),
        };
        for text in [
            "2/10 net 30",
            "2/10, net 30",
            " 2/10 N/30 ",
            "2%/10 net30",
            "2/10 NET 30",
        ] {
            assert_eq!(parse_terms(text), Ok(two_ten), "{text}");
        }
        assert_eq!(
            parse_terms("1.5/15").unwrap().discount,
            Some(DiscountTerms {
                rate_bp: 150,
                days: 15
            })
        );
        assert_eq!(
            parse_terms("0.25/7 net 45")
                .unwrap()
                .discount
                .unwrap()
                .rate_bp,
            25
        );
        assert_eq!(
            parse_terms("net 45"),
            Ok(PaymentTerms {
                discount: None,
                net_days: Some(45)
            })
        );
        assert_eq!(parse_terms("").unwrap().discount, None);
        assert_eq!(parse_terms("none").unwrap().discount, None);
    }

    #[test]
    fn bad_terms_are_refused_with_a_reason() {
        let err = |t: &str| parse_terms(t).unwrap_err();
        assert!(err("2/30 net 30").contains("fewer than the net days"));
        assert!(err("0/10 net 30").contains("more than 0%"));
        assert!(err("60/10").contains("at most 50%"));
        assert!(err("1.234/10").contains("two decimals"));
        assert!(err("two/10").contains("not a percentage"));
        assert!(err("2/0 net 30").contains("from 1 to 365"));
        assert!(err("2/x").contains("not a number of days"));
        assert!(err("2 10 net 30").contains("not payment terms"));
        assert!(err("net").contains("not a number of days"));
    }

    #[test]
    fn terms_format_back_as_typed() {
        for text in ["2/10 net 30", "1.5/15 net 45", "0.25/7", "net 60", ""] {
            assert_eq!(format_terms(&parse_terms(text).unwrap()), text);
        }
    }

    #[test]
    fn the_invoice_overrides_the_customer_and_zero_means_none() {
        let customer = (Some(200), Some(10));
        assert_eq!(
            effective_terms((None, None), customer),
            Some(DiscountTerms {
                rate_bp: 200,
                days: 10
            })
        );
        assert_eq!(
            effective_terms((Some(100), Some(5)), customer),
            Some(DiscountTerms {
                rate_bp: 100,
                days: 5
            })
        );
        assert_eq!(effective_terms((Some(0), None), customer), None);
        assert_eq!(effective_terms((None, None), (None, None)), None);
    }

    #[test]
    fn amounts_round_half_up_to_the_minor_unit() {
        // $1,200.00 at 2% = $24.00.
        assert_eq!(discount_minor(120_000, 200), 2_400);
        // 2% of $0.25 is 0.5 cent: half up to 1 cent; 2% of $0.24 is 0.48.
        assert_eq!(discount_minor(25, 200), 1);
        assert_eq!(discount_minor(24, 200), 0);
        // JPY has no minor unit: ¥12,345 at 2% = ¥246.9 -> ¥247; ¥125 at 2% = ¥2.5 -> ¥3.
        assert_eq!(discount_minor(12_345, 200), 247);
        assert_eq!(discount_minor(125, 200), 3);
        assert_eq!(
            Money::new(discount_minor(12_345, 200), Currency::parse("JPY").unwrap()).display(),
            "¥247"
        );
        // 1.5% of $100.10 = $1.5015 -> $1.50.
        assert_eq!(discount_minor(10_010, 150), 150);
        // KWD has three decimals: 2% of 10.025 KWD = 0.2005 -> 0.201.
        assert_eq!(discount_minor(10_025, 200), 201);
        assert_eq!(discount_minor(i64::MAX, 5_000), i64::MAX / 2 + 1);
    }

    fn facts(balance: i64) -> DiscountFacts {
        DiscountFacts {
            issue_date: d(2026, 11, 30),
            total_minor: 120_000,
            balance_minor: balance,
            pending_minor: 0,
            disputed_minor: 0,
            voided: false,
            in_plan: false,
        }
    }

    #[test]
    fn the_offer_runs_to_the_last_day_and_says_so() {
        let terms = Some(DiscountTerms {
            rate_bp: 200,
            days: 10,
        });
        let offer = offer(terms, &facts(120_000), d(2026, 12, 7)).unwrap();
        assert_eq!(offer.last_day, d(2026, 12, 10));
        assert_eq!((offer.discount_minor, offer.pay_minor), (2_400, 117_600));
        assert_eq!(
            offer.sentence(Currency::USD),
            "Pay by Dec 10 and save $24.00 (3 days left)"
        );
        let last = super::offer(terms, &facts(120_000), d(2026, 12, 10)).unwrap();
        assert_eq!(
            last.sentence(Currency::USD),
            "Pay by Dec 10 and save $24.00 (last day)"
        );
        assert_eq!(super::offer(terms, &facts(120_000), d(2026, 12, 11)), None);
        assert_eq!(super::offer(None, &facts(120_000), d(2026, 12, 7)), None);
    }

    #[test]
    fn a_partly_paid_invoice_keeps_the_discount_on_its_total() {
        let terms = Some(DiscountTerms {
            rate_bp: 200,
            days: 10,
        });
        let offer = offer(terms, &facts(50_000), d(2026, 12, 1)).unwrap();
        assert_eq!((offer.discount_minor, offer.pay_minor), (2_400, 47_600));
        // Nothing left to pay beyond the discount: no offer.
        assert_eq!(super::offer(terms, &facts(2_400), d(2026, 12, 1)), None);
    }

    #[test]
    fn disputes_plans_payments_in_flight_and_voids_have_no_offer() {
        let terms = Some(DiscountTerms {
            rate_bp: 200,
            days: 10,
        });
        let today = d(2026, 12, 1);
        for changed in [
            DiscountFacts {
                disputed_minor: 1,
                ..facts(120_000)
            },
            DiscountFacts {
                in_plan: true,
                ..facts(120_000)
            },
            DiscountFacts {
                pending_minor: 100,
                ..facts(120_000)
            },
            DiscountFacts {
                voided: true,
                ..facts(120_000)
            },
            facts(0),
        ] {
            assert_eq!(offer(terms, &changed, today), None, "{changed:?}");
        }
    }
}
