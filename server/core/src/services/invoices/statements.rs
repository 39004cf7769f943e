//! The statement of account for a period, on screen, as PDF and as CSV.

use crate::services::access::ContactAccess;
use chrono::NaiveDate;

use super::documents::render_pdf;
use super::exports::csv_safe;
use super::{safe_file_name, Download, StatementOfAccount};
use crate::domain::statement::{
    build_statement, statement_period_problem, Bucket, Entry, EntryKind, Statement,
};
use crate::domain::Money;
use crate::error::{ServiceError, ServiceResult};
use crate::pdf::layouts;
use crate::repo::payments as payments_repo;
use crate::repo::statement::{self as statement_repo, DisputedItem};
use crate::services::Services;

/// An entry's amount in the charges column (an invoice) or the credits
/// column (a payment or credit note), shown by `show`; the other is empty.
pub(crate) fn charge_and_credit(entry: &Entry, show: impl Fn(i64) -> String) -> (String, String) {
    match entry.kind {
        EntryKind::Invoice => (show(entry.amount_minor), String::new()),
        _ => (String::new(), show(entry.amount_minor)),
    }
}

/// Takes what disputes held at the end of the period out of the aging
/// buckets (issue 11 item 2): the buckets then count what is payable, and
/// the disputed sum is a figure of its own, per currency in the order of
/// `statement.currencies`. The closing balance is unchanged and still adds
/// up: buckets + disputed + unapplied = closing.
pub(crate) fn hold_disputed_apart(
    statement: &mut Statement,
    disputed: &[DisputedItem],
) -> Vec<i64> {
    let to = statement.to;
    statement
        .currencies
        .iter_mut()
        .map(|c| {
            let mut held = 0;
            for d in disputed.iter().filter(|d| d.currency == c.currency) {
                let bucket = Bucket::of(d.due_date, to);
                let index = Bucket::ALL
                    .iter()
                    .position(|b| *b == bucket)
                    .expect("listed");
                // Never more than the bucket holds (the invoice's balance
                // is in it, and the held amount is capped at that).
                let take = d.held_minor.min(c.aging_minor[index]).max(0);
                c.aging_minor[index] -= take;
                held += take;
            }
            c.unapplied_minor = c.closing_minor - c.aging_minor.iter().sum::<i64>() - held;
            held
        })
        .collect()
}

impl StatementOfAccount {
    /// What disputes held in `currency` at the end of the period.
    pub fn disputed_in(&self, currency: crate::domain::Currency) -> i64 {
        self.statement
            .currencies
            .iter()
            .zip(&self.disputed_minor)
            .find(|(c, _)| c.currency == currency)
            .map_or(0, |(_, d)| *d)
    }
}

impl Services {
    pub async fn statement(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<StatementOfAccount> {
        if from > to {
            return Err(ServiceError::invalid(
                "The statement's end date is before its start date",
            ));
        }
        // Callers parse with `dates::parse_user_date`; this keeps any other
        // caller inside the range too.
        use crate::domain::dates::{MAX_DATE, MIN_DATE};
        if from < MIN_DATE || to > MAX_DATE {
            return Err(ServiceError::invalid(format!(
                "A statement's dates are from {MIN_DATE} to {MAX_DATE}"
            )));
        }
        if let Some(problem) = statement_period_problem(from, to) {
            return Err(ServiceError::invalid(problem));
        }
        let (mut conn, customer) = self.as_member(access, customer_id).await?;
        // Only the period's entries; everything earlier is one sum per currency.
        let opening = statement_repo::opening_balances(&mut conn, customer_id, from).await?;
        let entries = statement_repo::entries_between(&mut conn, customer_id, from, to).await?;
        let open = payments_repo::open_at(&mut conn, customer_id, to).await?;
        let disputed = statement_repo::disputed_at(&mut conn, customer_id, to).await?;
        let mut statement = build_statement(from, to, &opening, &entries, &open);
        let disputed_minor = hold_disputed_apart(&mut statement, &disputed);
        Ok(StatementOfAccount {
            customer_id,
            customer_name: customer.name,
            statement,
            disputed_minor,
        })
    }

    pub async fn statement_pdf(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        from: NaiveDate,
        to: NaiveDate,
        language: &str,
    ) -> ServiceResult<Download> {
        let soa = self.statement(access, customer_id, from, to).await?;
        let language = {
            let mut conn = self.db.pool.acquire().await?;
            self.customer_document_language(&mut conn, customer_id, language)
                .await?
        };
        let spec = layouts::statement_document(&self.config, &soa, &language);
        let bytes = render_pdf(spec).await?;
        Ok(Download::pdf(
            format!(
                "statement-{}-{from}-{to}.pdf",
                safe_file_name(&soa.customer_name)
            ),
            bytes,
        ))
    }

    pub async fn statement_csv(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<Download> {
        let soa = self.statement(access, customer_id, from, to).await?;
        // Two tables in one file (activity, then aging): rows differ in width.
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        let fail = |e: csv::Error| ServiceError::internal("writing a statement CSV", e);
        out.write_record([
            "Date",
            "Type",
            "Reference",
            "Currency",
            "Charges",
            "Credits",
            "Balance",
        ])
        .map_err(fail)?;
        for c in &soa.statement.currencies {
            let m = |minor| Money::new(minor, c.currency).decimal_string();
            out.write_record([
                from.to_string(),
                "Opening balance".into(),
                String::new(),
                c.currency.code().into(),
                String::new(),
                String::new(),
                m(c.opening_minor),
            ])
            .map_err(fail)?;
            for line in soa
                .statement
                .lines
                .iter()
                .filter(|l| l.entry.currency == c.currency)
            {
                let e = &line.entry;
                let (charge, credit) = charge_and_credit(e, m);
                out.write_record([
                    e.date.to_string(),
                    e.kind.label().into(),
                    csv_safe(&e.reference),
                    c.currency.code().into(),
                    charge,
                    credit,
                    m(line.running_minor),
                ])
                .map_err(fail)?;
            }
            out.write_record([
                to.to_string(),
                "Closing balance".into(),
                String::new(),
                c.currency.code().into(),
                String::new(),
                String::new(),
                m(c.closing_minor),
            ])
            .map_err(fail)?;
        }
        out.write_record(["", "", "", "", "", "", ""])
            .map_err(fail)?;
        let mut header = vec!["Aging".to_owned(), "Currency".to_owned()];
        header.extend(Bucket::ALL.iter().map(|b| b.label().to_owned()));
        // The buckets count what is payable; what disputes hold is its own
        // column, and the row adds up to the closing balance.
        header.push("Disputed".into());
        header.push("Unapplied".into());
        header.push("Balance".into());
        out.write_record(&header).map_err(fail)?;
        for c in &soa.statement.currencies {
            let m = |minor| Money::new(minor, c.currency).decimal_string();
            let mut record = vec![format!("As of {to}"), c.currency.code().to_owned()];
            record.extend(c.aging_minor.iter().map(|a| m(*a)));
            record.push(m(soa.disputed_in(c.currency)));
            record.push(m(c.unapplied_minor));
            record.push(m(c.closing_minor));
            out.write_record(&record).map_err(fail)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| ServiceError::internal("writing a statement CSV", e.into_error()))?;
        Ok(Download::csv(
            format!(
                "statement-{}-{from}-{to}.csv",
                safe_file_name(&soa.customer_name)
            ),
            bytes,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::statement::OpenItem;
    use crate::domain::Currency;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn disputed_amounts_leave_their_bucket_and_the_totals_still_add_up() {
        let usd = Currency::USD;
        let invoice = |reference: &str, amount_minor| Entry {
            date: day(1),
            kind: EntryKind::Invoice,
            reference: reference.into(),
            currency: usd,
            amount_minor,
        };
        let entries = [invoice("A", 10_000), invoice("B", 5_000)];
        // A is 20 days late, B not yet due; 30.00 of A is disputed.
        let open = [
            OpenItem {
                currency: usd,
                due_date: day(5),
                balance_minor: 10_000,
            },
            OpenItem {
                currency: usd,
                due_date: day(30),
                balance_minor: 5_000,
            },
        ];
        let mut statement = build_statement(day(1), day(25), &[], &entries, &open);
        let held = hold_disputed_apart(
            &mut statement,
            &[DisputedItem {
                currency: usd,
                due_date: day(5),
                held_minor: 3_000,
            }],
        );
        assert_eq!(held, vec![3_000]);
        let c = &statement.currencies[0];
        assert_eq!(c.aging_minor, [5_000, 7_000, 0, 0, 0]);
        assert_eq!(c.closing_minor, 15_000);
        assert_eq!(c.unapplied_minor, 0);
        assert_eq!(
            c.aging_minor.iter().sum::<i64>() + held[0] + c.unapplied_minor,
            c.closing_minor
        );
    }
}
