//! The one function that says what an invoice owes and how it stands.
//! Balances and statuses are never stored or edited by hand: every page,
//! export and rule derives them here from the invoice's total, the
//! succeeded payment allocations and the credit allocations.
//!
//! The list filters, sorts and totals thousands of invoices in the
//! database, so the same rule is also written as SQL, in [`sql`] below and
//! nowhere else. `server/tests/api/status_rule.rs` runs both over generated
//! invoices on SQLite and PostgreSQL and requires the same answers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Days before the due date from which an open invoice counts as "due soon".
pub const DUE_SOON_DAYS: i64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    DueSoon { days_left: i64 },
    Overdue { days: i64 },
    PartiallyPaid,
    Paid,
    Credited,
    Void,
}

impl InvoiceStatus {
    /// Whether anything is still owed on the invoice.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            InvoiceStatus::Open
                | InvoiceStatus::DueSoon { .. }
                | InvoiceStatus::Overdue { .. }
                | InvoiceStatus::PartiallyPaid
        )
    }

    /// Short label as a customer would say it.
    pub fn label(&self) -> String {
        match self {
            InvoiceStatus::Open => "Open".into(),
            InvoiceStatus::DueSoon { days_left: 0 } => "Due today".into(),
            InvoiceStatus::DueSoon { days_left: 1 } => "Due tomorrow".into(),
            InvoiceStatus::DueSoon { days_left } => format!("Due in {days_left} days"),
            InvoiceStatus::Overdue { days: 1 } => "Overdue 1 day".into(),
            InvoiceStatus::Overdue { days } => format!("Overdue {days} days"),
            InvoiceStatus::PartiallyPaid => "Partly paid".into(),
            InvoiceStatus::Paid => "Paid".into(),
            InvoiceStatus::Credited => "Credited".into(),
            InvoiceStatus::Void => "Void".into(),
        }
    }

    /// Where the status sorts when the list is ordered by status: what the
    /// customer must act on first. [`sql::urgency`] is the same order.
    pub fn urgency(&self) -> char {
        match self {
            InvoiceStatus::Overdue { .. } => '1',
            InvoiceStatus::DueSoon { .. } => '2',
            InvoiceStatus::PartiallyPaid => '3',
            InvoiceStatus::Open => '4',
            InvoiceStatus::Paid => '5',
            InvoiceStatus::Credited => '6',
            InvoiceStatus::Void => '7',
        }
    }

    /// Stable machine name, for CSS classes and filters.
    pub fn key(&self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::DueSoon { .. } => "due_soon",
            InvoiceStatus::Overdue { .. } => "overdue",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Credited => "credited",
            InvoiceStatus::Void => "void",
        }
    }
}

/// What the ledger knows about one invoice, in its own currency's minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceFacts {
    pub total_minor: i64,
    /// Sum of allocations of payments that have succeeded.
    pub paid_minor: i64,
    /// Sum of credit notes applied to this invoice.
    pub credited_minor: i64,
    pub due_date: NaiveDate,
    pub voided: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceStanding {
    pub balance_minor: i64,
    pub status: InvoiceStatus,
}

/// Derives balance and status. `today` is the viewer's (or the job's) date:
/// an invoice due today is not overdue until tomorrow.
pub fn invoice_standing(facts: &InvoiceFacts, today: NaiveDate) -> InvoiceStanding {
    if facts.voided {
        return InvoiceStanding {
            balance_minor: 0,
            status: InvoiceStatus::Void,
        };
    }
    let balance_minor = facts.total_minor - facts.paid_minor - facts.credited_minor;
    let status = if balance_minor <= 0 {
        // Fully settled: "Paid" when any money came in, "Credited" when
        // credit notes alone cleared it.
        if facts.paid_minor > 0 || facts.credited_minor == 0 {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::Credited
        }
    } else {
        let days_to_due = (facts.due_date - today).num_days();
        if days_to_due < 0 {
            InvoiceStatus::Overdue { days: -days_to_due }
        } else if facts.paid_minor + facts.credited_minor > 0 {
            InvoiceStatus::PartiallyPaid
        } else if days_to_due <= DUE_SOON_DAYS {
            InvoiceStatus::DueSoon {
                days_left: days_to_due,
            }
        } else {
            InvoiceStatus::Open
        }
    };
    InvoiceStanding {
        balance_minor: balance_minor.max(0),
        status,
    }
}

/// [`invoice_standing`] as SQL over the settlement cache of the `invoices`
/// row (`paid_minor`, `credited_minor`, `balance_minor`, migration 0002),
/// aliased `i`. Dates are compared as `YYYY-MM-DD` text on both engines.
/// Each function that needs a date takes `param`, which binds a date and
/// returns its placeholder, so a query binds only the dates it uses.
pub mod sql {
    use chrono::{Duration, NaiveDate};

    use super::DUE_SOON_DAYS;
    use crate::domain::invoice_query::StatusFilter;

    /// The cached balance, as `refresh_settlement` writes it (columns of
    /// the row being updated, unaliased): nothing owed on a void invoice,
    /// never below zero.
    pub const BALANCE: &str = "CASE WHEN voided_at IS NOT NULL THEN 0
            WHEN total_minor - paid_minor - credited_minor < 0 THEN 0
            ELSE total_minor - paid_minor - credited_minor END";

    /// Something is still owed (`InvoiceStatus::is_open`). A void invoice's
    /// cached balance is 0, so `balance_minor > 0` alone says it, and it is
    /// the predicate of the partial index the totals read.
    pub const OWED: &str = "i.balance_minor > 0";

    /// Money or credit has come in (an open one is then "partly paid").
    const SETTLED_SOME: &str = "i.paid_minor + i.credited_minor > 0";

    /// Fully settled, and by money: "Paid" rather than "Credited".
    const PAID_NOT_CREDITED: &str = "(i.paid_minor > 0 OR i.credited_minor = 0)";

    /// Past its due date on `today` (an invoice due today is not overdue).
    pub fn past_due(today: NaiveDate, mut param: impl FnMut(NaiveDate) -> String) -> String {
        format!("i.due_date < {}", param(today))
    }

    /// The invoices a status filter keeps.
    pub fn matching(
        status: StatusFilter,
        today: NaiveDate,
        mut param: impl FnMut(NaiveDate) -> String,
    ) -> String {
        let open = format!("i.voided_at IS NULL AND {OWED}");
        let soon_end = today + Duration::days(DUE_SOON_DAYS);
        match status {
            StatusFilter::Unpaid => format!("({open})"),
            StatusFilter::Overdue => format!("({open} AND i.due_date < {})", param(today)),
            StatusFilter::PartiallyPaid => {
                format!("({open} AND i.due_date >= {} AND {SETTLED_SOME})", param(today))
            }
            StatusFilter::DueSoon => format!(
                "({open} AND i.due_date >= {} AND i.due_date <= {} AND NOT ({SETTLED_SOME}))",
                param(today),
                param(soon_end)
            ),
            StatusFilter::Open => format!(
                "({open} AND i.due_date > {} AND NOT ({SETTLED_SOME}))",
                param(soon_end)
            ),
            StatusFilter::Paid => format!(
                "(i.voided_at IS NULL AND i.balance_minor = 0 AND {PAID_NOT_CREDITED})"
            ),
            StatusFilter::Credited => {
                "(i.voided_at IS NULL AND i.balance_minor = 0 AND i.paid_minor = 0 AND i.credited_minor > 0)"
                    .into()
            }
            StatusFilter::Void => "(i.voided_at IS NOT NULL)".into(),
        }
    }

    /// The status sort key: [`super::InvoiceStatus::urgency`], then the due
    /// date, as one text value.
    pub fn urgency(today: NaiveDate, mut param: impl FnMut(NaiveDate) -> String) -> String {
        let soon_end = param(today + Duration::days(DUE_SOON_DAYS));
        let today = param(today);
        format!(
            "((CASE WHEN i.voided_at IS NOT NULL THEN '7'
                    WHEN i.balance_minor = 0 THEN (CASE WHEN {PAID_NOT_CREDITED} THEN '5' ELSE '6' END)
                    WHEN i.due_date < {today} THEN '1'
                    WHEN {SETTLED_SOME} THEN '3'
                    WHEN i.due_date <= {soon_end} THEN '2'
                    ELSE '4' END) || i.due_date)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn facts(total: i64, paid: i64, credited: i64, due: &str) -> InvoiceFacts {
        InvoiceFacts {
            total_minor: total,
            paid_minor: paid,
            credited_minor: credited,
            due_date: day(due),
            voided: false,
        }
    }

    #[test]
    fn due_today_is_due_soon_and_tomorrow_overdue_by_one_day() {
        let f = facts(10_000, 0, 0, "2026-03-10");
        assert_eq!(
            invoice_standing(&f, day("2026-03-10")).status,
            InvoiceStatus::DueSoon { days_left: 0 }
        );
        assert_eq!(
            invoice_standing(&f, day("2026-03-11")).status,
            InvoiceStatus::Overdue { days: 1 }
        );
        assert_eq!(
            invoice_standing(&f, day("2026-07-08")).status,
            InvoiceStatus::Overdue { days: 120 }
        );
    }

    #[test]
    fn due_soon_window_is_seven_days() {
        let f = facts(10_000, 0, 0, "2026-03-10");
        assert_eq!(
            invoice_standing(&f, day("2026-03-03")).status,
            InvoiceStatus::DueSoon { days_left: 7 }
        );
        assert_eq!(
            invoice_standing(&f, day("2026-03-02")).status,
            InvoiceStatus::Open
        );
    }

    #[test]
    fn partial_payment_and_credit_reduce_the_balance() {
        let f = facts(10_000, 2_500, 1_000, "2026-03-10");
        let s = invoice_standing(&f, day("2026-02-01"));
        assert_eq!(s.balance_minor, 6_500);
        assert_eq!(s.status, InvoiceStatus::PartiallyPaid);
        // Overdue wins over "partly paid": it is what the customer must act on.
        assert_eq!(
            invoice_standing(&f, day("2026-03-20")).status,
            InvoiceStatus::Overdue { days: 10 }
        );
    }

    #[test]
    fn settled_invoices_are_paid_or_credited() {
        assert_eq!(
            invoice_standing(&facts(500, 500, 0, "2026-01-01"), day("2026-06-01")).status,
            InvoiceStatus::Paid
        );
        assert_eq!(
            invoice_standing(&facts(500, 200, 300, "2026-01-01"), day("2026-06-01")).status,
            InvoiceStatus::Paid
        );
        assert_eq!(
            invoice_standing(&facts(500, 0, 500, "2026-01-01"), day("2026-06-01")).status,
            InvoiceStatus::Credited
        );
        assert_eq!(
            invoice_standing(&facts(500, 0, 500, "2026-01-01"), day("2026-06-01")).balance_minor,
            0
        );
    }

    #[test]
    fn void_owes_nothing_whatever_was_allocated() {
        let mut f = facts(500, 100, 0, "2026-01-01");
        f.voided = true;
        let s = invoice_standing(&f, day("2026-06-01"));
        assert_eq!((s.balance_minor, s.status), (0, InvoiceStatus::Void));
        assert!(!s.status.is_open());
    }

    proptest::proptest! {
        #[test]
        fn balance_is_never_negative_and_open_iff_positive(
            total in 0i64..1_000_000, paid in 0i64..1_000_000, credited in 0i64..1_000_000, offset in -400i64..400
        ) {
            let f = facts(total, paid, credited, "2026-06-15");
            let today = day("2026-06-15") + chrono::Duration::days(offset);
            let s = invoice_standing(&f, today);
            proptest::prop_assert!(s.balance_minor >= 0);
            proptest::prop_assert_eq!(s.status.is_open(), total - paid - credited > 0);
        }
    }
}
