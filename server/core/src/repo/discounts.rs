//! Early-payment discounts (issue 13 item 7): payment terms on customers
//! and invoices, the discount locked by a checkout, and the credit note it
//! becomes when that payment succeeds.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::{date_text, ts};
use crate::domain::discount::{effective_terms, DiscountFacts, DiscountTerms};
use crate::domain::Currency;

/// One invoice with what its discount offer depends on.
#[derive(Clone, Debug)]
pub struct DiscountRow {
    pub invoice_id: i64,
    pub currency: Currency,
    pub terms: Option<DiscountTerms>,
    pub facts: DiscountFacts,
    /// A discount was already granted on it (a refund must not lead to a
    /// second one).
    pub already_discounted: bool,
}

/// The invoices `ids` of the customer (others are not returned), without
/// `in_plan` (the caller knows the plans).
pub async fn discount_rows(
    conn: &mut Conn,
    customer_id: i64,
    ids: &[i64],
) -> Result<Vec<DiscountRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT i.invoice_id, i.currency, i.issue_date, i.total_minor, i.balance_minor, i.pending_minor,
                i.disputed_minor, i.voided_at, i.discount_bp, i.discount_days,
                c.discount_bp AS customer_bp, c.discount_days AS customer_days,
                CASE WHEN EXISTS (SELECT 1 FROM credit_allocations ca
                                  JOIN credit_notes cn ON cn.credit_note_id = ca.credit_note_id
                                  WHERE ca.invoice_id = i.invoice_id AND cn.number = 'DISC-' || i.number)
                     THEN 1 ELSE 0 END AS discounted
         FROM invoices i JOIN customers c ON c.customer_id = i.customer_id
         WHERE i.customer_id = $1 AND i.invoice_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(customer_id);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let terms = effective_terms(
                (r.try_get("discount_bp")?, r.try_get("discount_days")?),
                (r.try_get("customer_bp")?, r.try_get("customer_days")?),
            );
            Ok(DiscountRow {
                invoice_id: r.try_get("invoice_id")?,
                currency: decode(r, "invoices", "currency")?,
                terms,
                facts: DiscountFacts {
                    issue_date: decode(r, "invoices", "issue_date")?,
                    total_minor: r.try_get("total_minor")?,
                    balance_minor: r.try_get("balance_minor")?,
                    pending_minor: r.try_get("pending_minor")?,
                    disputed_minor: r.try_get("disputed_minor")?,
                    voided: r.try_get::<Option<String>, _>("voided_at")?.is_some(),
                    in_plan: false,
                },
                already_discounted: r.try_get::<i64, _>("discounted")? != 0,
            })
        })
        .collect()
}

/// Whether any invoice of the customer, or the customer, has discount
/// terms (most have none: their pages skip the rest).
pub async fn customer_has_terms(conn: &mut Conn, customer_id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM customers WHERE customer_id = $1 AND discount_bp > 0)
                       OR EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1 AND discount_bp > 0)
                THEN 1 ELSE 0 END AS has",
    )
    .bind(customer_id)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("has")? != 0)
}

/// The customer's discount terms: (rate bp, days), each NULL when unset.
pub async fn customer_terms(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<(Option<i64>, Option<i64>, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT discount_bp, discount_days, payment_terms_days FROM customers WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("discount_bp")?,
            r.try_get("discount_days")?,
            r.try_get::<i64, _>("payment_terms_days")?,
        ))
    })
    .transpose()
}

/// Stores a customer's terms (None: no discount); `net_days` replaces the
/// default net days of its future invoices when given.
pub async fn set_customer_terms(
    conn: &mut Conn,
    customer_id: i64,
    terms: Option<DiscountTerms>,
    net_days: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE customers SET discount_bp = $2, discount_days = $3,
                payment_terms_days = COALESCE($4, payment_terms_days)
         WHERE customer_id = $1",
    )
    .bind(customer_id)
    .bind(terms.map(|t| t.rate_bp))
    .bind(terms.map(|t| t.days))
    .bind(net_days)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// An invoice's own terms: `Some(None)` means "no discount on this
/// invoice", `None` back to the customer's.
pub async fn set_invoice_terms(
    conn: &mut Conn,
    customer_id: i64,
    invoice_id: i64,
    terms: Option<Option<DiscountTerms>>,
) -> Result<bool, sqlx::Error> {
    let (bp, days) = match terms {
        None => (None, None),
        Some(None) => (Some(0), None),
        Some(Some(t)) => (Some(t.rate_bp), Some(t.days)),
    };
    let done = sqlx::query(
        "UPDATE invoices SET discount_bp = $2, discount_days = $3 WHERE invoice_id = $1 AND customer_id = $4",
    )
    .bind(invoice_id)
    .bind(bp)
    .bind(days)
    .bind(customer_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The discount a new payment locks for one invoice.
pub async fn insert_locked(
    conn: &mut Conn,
    payment_id: i64,
    invoice_id: i64,
    discount_minor: i64,
    rate_bp: i64,
    last_day: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_discounts (payment_id, invoice_id, discount_minor, rate_bp, last_day)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(payment_id)
    .bind(invoice_id)
    .bind(discount_minor)
    .bind(rate_bp)
    .bind(date_text(last_day))
    .execute(conn)
    .await?;
    Ok(())
}

/// A locked discount not yet granted.
#[derive(Clone, Debug)]
pub struct LockedDiscount {
    pub invoice_id: i64,
    pub invoice_number: String,
    pub discount_minor: i64,
    pub rate_bp: i64,
    pub last_day: NaiveDate,
}

/// The discounts `payment_id` locked and that were not granted yet.
pub async fn ungranted(
    conn: &mut Conn,
    payment_id: i64,
) -> Result<Vec<LockedDiscount>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pd.invoice_id, i.number, pd.discount_minor, pd.rate_bp, pd.last_day
         FROM payment_discounts pd JOIN invoices i ON i.invoice_id = pd.invoice_id
         WHERE pd.payment_id = $1 AND pd.credit_note_id IS NULL ORDER BY pd.invoice_id",
    )
    .bind(payment_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LockedDiscount {
                invoice_id: r.try_get("invoice_id")?,
                invoice_number: r.try_get("number")?,
                discount_minor: r.try_get("discount_minor")?,
                rate_bp: r.try_get("rate_bp")?,
                last_day: decode(r, "payment_discounts", "last_day")?,
            })
        })
        .collect()
}

/// Writes the discount's credit note (number `DISC-<invoice>`). The
/// caller applies it to the invoice.
#[allow(clippy::too_many_arguments)]
pub async fn insert_discount_note(
    conn: &mut Conn,
    customer_id: i64,
    invoice_number: &str,
    currency: Currency,
    amount_minor: i64,
    reason: &str,
    issue_date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO credit_notes (customer_id, number, currency, amount_minor, reason, issue_date, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING credit_note_id",
    )
    .bind(customer_id)
    .bind(format!("DISC-{invoice_number}"))
    .bind(currency.code())
    .bind(amount_minor)
    .bind(reason)
    .bind(date_text(issue_date))
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    row.try_get("credit_note_id")
}

/// Marks a locked discount granted; false when it already was (then the
/// caller rolls back rather than grant twice).
pub async fn mark_granted(
    conn: &mut Conn,
    payment_id: i64,
    invoice_id: i64,
    credit_note_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_discounts SET credit_note_id = $3
         WHERE payment_id = $1 AND invoice_id = $2 AND credit_note_id IS NULL",
    )
    .bind(payment_id)
    .bind(invoice_id)
    .bind(credit_note_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The seller's note on ACH shown on the pay page.
pub async fn ach_note(conn: &mut Conn) -> Result<String, sqlx::Error> {
    let row = sqlx::query("SELECT ach_note FROM payment_settings WHERE settings_id = 1")
        .fetch_optional(conn)
        .await?;
    Ok(row
        .map(|r| r.try_get::<String, _>("ach_note"))
        .transpose()?
        .unwrap_or_default())
}

pub async fn set_ach_note(
    conn: &mut Conn,
    note: &str,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_settings SET ach_note = $1, updated_at = $2, updated_by_staff_id = $3
         WHERE settings_id = 1",
    )
    .bind(note)
    .bind(ts(now))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An open invoice of a customer with its own discount terms, for AR.
#[derive(Clone, Debug)]
pub struct OpenInvoiceTerms {
    pub invoice_id: i64,
    pub number: String,
    pub currency: Currency,
    /// (rate bp, days) when the invoice has its own terms.
    pub own: Option<(i64, Option<i64>)>,
}

/// The customer's open invoices (oldest due first, at most `limit`).
pub async fn open_invoice_terms(
    conn: &mut Conn,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<OpenInvoiceTerms>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT invoice_id, number, currency, discount_bp, discount_days FROM invoices
         WHERE customer_id = $1 AND balance_minor > 0 AND voided_at IS NULL
         ORDER BY due_date, invoice_id LIMIT $2",
    )
    .bind(customer_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let bp: Option<i64> = r.try_get("discount_bp")?;
            Ok(OpenInvoiceTerms {
                invoice_id: r.try_get("invoice_id")?,
                number: r.try_get("number")?,
                currency: decode(r, "invoices", "currency")?,
                own: bp
                    .map(|bp| Ok::<_, sqlx::Error>((bp, r.try_get("discount_days")?)))
                    .transpose()?,
            })
        })
        .collect()
}
