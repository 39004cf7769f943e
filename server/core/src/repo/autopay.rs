//! SQL of autopay enrolments, charges and notices (issue 12, migration
//! 0015), the autopay job's schedule, and the sandbox gateway's
//! off-session intents.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::Conn;
use crate::db::{date_text, ts};
use crate::domain::Currency;

/// An enrolment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    pub enrolment_id: i64,
    pub customer_id: i64,
    pub contact_id: i64,
    pub method_id: i64,
    /// `plan`, `all` or `up_to`.
    pub scope: String,
    pub max_minor: Option<i64>,
    pub max_currency: Option<Currency>,
    pub days_before: i64,
    pub consent_version: i64,
    pub consent_text: String,
    pub consented_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub canceled_at: Option<DateTime<Utc>>,
}

const ENROLMENT_COLUMNS: &str = "e.enrolment_id, e.customer_id, e.contact_id, e.method_id, e.scope,
     e.max_minor, e.max_currency, e.days_before, e.consent_version, e.consent_text, e.consented_at,
     e.ip, e.user_agent, e.canceled_at";

fn enrolment_row(r: &AnyRow) -> Result<Enrolment, sqlx::Error> {
    const T: &str = "autopay_enrolments";
    Ok(Enrolment {
        enrolment_id: r.try_get("enrolment_id")?,
        customer_id: r.try_get("customer_id")?,
        contact_id: r.try_get("contact_id")?,
        method_id: r.try_get("method_id")?,
        scope: r.try_get("scope")?,
        max_minor: r.try_get("max_minor")?,
        max_currency: decode_opt(r, T, "max_currency")?,
        days_before: r.try_get("days_before")?,
        consent_version: r.try_get("consent_version")?,
        consent_text: r.try_get("consent_text")?,
        consented_at: decode(r, T, "consented_at")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        canceled_at: decode_opt(r, T, "canceled_at")?,
    })
}

/// An active enrolment with what the job needs to charge it.
#[derive(Clone, Debug)]
pub struct ActiveEnrolment {
    pub enrolment: Enrolment,
    pub customer_name: String,
    pub gateway_customer_id: Option<String>,
    pub contact_email: String,
    pub gateway_method_id: String,
    /// `card` or `ach`.
    pub method_kind: String,
    pub method_label: String,
    pub method_removed: bool,
}

/// Every active enrolment, oldest first.
pub async fn active_enrolments(conn: &mut Conn) -> Result<Vec<ActiveEnrolment>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {ENROLMENT_COLUMNS}, c.name AS customer_name, c.gateway_customer_id,
                k.email AS contact_email, m.gateway_method_id, m.kind, m.brand, m.last4, m.removed_at
         FROM autopay_enrolments e
         JOIN customers c ON c.customer_id = e.customer_id
         JOIN contacts k ON k.contact_id = e.contact_id
         JOIN saved_payment_methods m ON m.method_id = e.method_id
         WHERE e.canceled_at IS NULL
         ORDER BY e.enrolment_id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let brand: String = r.try_get("brand")?;
            let last4: String = r.try_get("last4")?;
            Ok(ActiveEnrolment {
                enrolment: enrolment_row(r)?,
                customer_name: r.try_get("customer_name")?,
                gateway_customer_id: r.try_get("gateway_customer_id")?,
                contact_email: r.try_get("contact_email")?,
                gateway_method_id: r.try_get("gateway_method_id")?,
                method_kind: r.try_get("kind")?,
                method_label: format!("{brand} ending {last4}"),
                method_removed: r.try_get::<Option<String>, _>("removed_at")?.is_some(),
            })
        })
        .collect()
}

/// The customer's active enrolment, if any.
pub async fn active_enrolment(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<Enrolment>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ENROLMENT_COLUMNS} FROM autopay_enrolments e
         WHERE e.customer_id = $1 AND e.canceled_at IS NULL"
    ))
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(enrolment_row).transpose()
}

pub struct NewEnrolment<'a> {
    pub customer_id: i64,
    pub contact_id: i64,
    pub method_id: i64,
    pub scope: &'a str,
    pub max_minor: Option<i64>,
    pub max_currency: Option<Currency>,
    pub days_before: i64,
    pub consent_version: i64,
    pub consent_text: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Inserts an enrolment; a second active one of the customer is a unique
/// violation (the partial index decides).
pub async fn insert_enrolment(
    conn: &mut Conn,
    e: &NewEnrolment<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO autopay_enrolments (customer_id, contact_id, method_id, scope, max_minor, max_currency,
                                         days_before, consent_version, consent_text, consented_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING enrolment_id",
    )
    .bind(e.customer_id)
    .bind(e.contact_id)
    .bind(e.method_id)
    .bind(e.scope)
    .bind(e.max_minor)
    .bind(e.max_currency.map(|c| c.code().to_owned()))
    .bind(e.days_before)
    .bind(e.consent_version)
    .bind(e.consent_text)
    .bind(ts(now))
    .bind(e.ip)
    .bind(e.user_agent)
    .fetch_one(conn)
    .await?;
    row.try_get("enrolment_id")
}

/// Ends the customer's active enrolment; `false` when there was none.
pub async fn cancel_enrolment(
    conn: &mut Conn,
    customer_id: i64,
    contact_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE autopay_enrolments SET canceled_at = $3, canceled_by_contact = $2
         WHERE customer_id = $1 AND canceled_at IS NULL",
    )
    .bind(customer_id)
    .bind(contact_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An open invoice due by `due_by`, with what holds its balance.
#[derive(Clone, Debug)]
pub struct DueInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub currency: Currency,
    pub due_date: NaiveDate,
    pub balance_minor: i64,
    pub pending_minor: i64,
    pub disputed_minor: i64,
}

/// The customer's open invoices due on or before `due_by`, oldest first.
pub async fn open_invoices_due_by(
    conn: &mut Conn,
    customer_id: i64,
    due_by: NaiveDate,
) -> Result<Vec<DueInvoice>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT invoice_id, number, currency, due_date, balance_minor, pending_minor, disputed_minor
         FROM invoices
         WHERE customer_id = $1 AND balance_minor > 0 AND voided_at IS NULL AND due_date <= $2
         ORDER BY due_date, invoice_id",
    )
    .bind(customer_id)
    .bind(date_text(due_by))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DueInvoice {
                invoice_id: r.try_get("invoice_id")?,
                number: r.try_get("number")?,
                currency: decode(r, "invoices", "currency")?,
                due_date: decode(r, "invoices", "due_date")?,
                balance_minor: r.try_get("balance_minor")?,
                pending_minor: r.try_get("pending_minor")?,
                disputed_minor: r.try_get("disputed_minor")?,
            })
        })
        .collect()
}

/// A notice of a coming debit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub notice_id: i64,
    pub enrolment_id: i64,
    pub customer_id: i64,
    pub target: String,
    pub debit_date: NaiveDate,
    pub charge_on: NaiveDate,
    pub amount_minor: i64,
    pub currency: Currency,
    pub skipped: bool,
}

const NOTICE_COLUMNS: &str =
    "notice_id, enrolment_id, customer_id, target, debit_date, charge_on, amount_minor, currency, skipped_at";

fn notice_row(r: &AnyRow) -> Result<Notice, sqlx::Error> {
    const T: &str = "autopay_notices";
    Ok(Notice {
        notice_id: r.try_get("notice_id")?,
        enrolment_id: r.try_get("enrolment_id")?,
        customer_id: r.try_get("customer_id")?,
        target: r.try_get("target")?,
        debit_date: decode(r, T, "debit_date")?,
        charge_on: decode(r, T, "charge_on")?,
        amount_minor: r.try_get("amount_minor")?,
        currency: decode(r, T, "currency")?,
        skipped: r.try_get::<Option<String>, _>("skipped_at")?.is_some(),
    })
}

pub async fn notice(
    conn: &mut Conn,
    target: &str,
    debit_date: NaiveDate,
) -> Result<Option<Notice>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {NOTICE_COLUMNS} FROM autopay_notices WHERE target = $1 AND debit_date = $2"
    ))
    .bind(target)
    .bind(date_text(debit_date))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(notice_row).transpose()
}

pub struct NewNotice<'a> {
    pub enrolment_id: i64,
    pub customer_id: i64,
    pub target: &'a str,
    pub debit_date: NaiveDate,
    pub charge_on: NaiveDate,
    pub amount_minor: i64,
    pub currency: Currency,
    pub skip_token_hash: &'a str,
}

/// Records a notice; `false` when (target, debit date) already had one
/// (another run or instance sent it).
pub async fn insert_notice(
    conn: &mut Conn,
    n: &NewNotice<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO autopay_notices (enrolment_id, customer_id, target, debit_date, charge_on, amount_minor,
                                      currency, skip_token_hash, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (target, debit_date) DO NOTHING",
    )
    .bind(n.enrolment_id)
    .bind(n.customer_id)
    .bind(n.target)
    .bind(date_text(n.debit_date))
    .bind(date_text(n.charge_on))
    .bind(n.amount_minor)
    .bind(n.currency.code())
    .bind(n.skip_token_hash)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn notice_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<Notice>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {NOTICE_COLUMNS} FROM autopay_notices WHERE skip_token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(notice_row).transpose()
}

/// Skips one debit; `false` if it was already skipped.
pub async fn skip_notice(
    conn: &mut Conn,
    notice_id: i64,
    contact_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE autopay_notices SET skipped_at = $2, skipped_by_contact = $3
         WHERE notice_id = $1 AND skipped_at IS NULL",
    )
    .bind(notice_id)
    .bind(ts(now))
    .bind(contact_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One charge attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub charge_id: i64,
    pub enrolment_id: i64,
    pub customer_id: i64,
    pub target: String,
    pub attempt: i64,
    pub idempotency_key: String,
    pub payment_id: i64,
    pub method_id: i64,
    pub amount_minor: i64,
    pub currency: Currency,
    /// `requested`, `succeeded`, `processing`, `declined` or `abandoned`.
    pub status: String,
    pub decline_code: Option<String>,
    pub hard_decline: Option<bool>,
    pub message: Option<String>,
    pub retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const CHARGE_COLUMNS: &str =
    "charge_id, enrolment_id, customer_id, target, attempt, idempotency_key,
     payment_id, method_id, amount_minor, currency, status, decline_code, hard_decline, message,
     retry_at, created_at";

fn charge_row(r: &AnyRow) -> Result<Charge, sqlx::Error> {
    const T: &str = "autopay_charges";
    Ok(Charge {
        charge_id: r.try_get("charge_id")?,
        enrolment_id: r.try_get("enrolment_id")?,
        customer_id: r.try_get("customer_id")?,
        target: r.try_get("target")?,
        attempt: r.try_get("attempt")?,
        idempotency_key: r.try_get("idempotency_key")?,
        payment_id: r.try_get("payment_id")?,
        method_id: r.try_get("method_id")?,
        amount_minor: r.try_get("amount_minor")?,
        currency: decode(r, T, "currency")?,
        status: r.try_get("status")?,
        decline_code: r.try_get("decline_code")?,
        hard_decline: r.try_get::<Option<i64>, _>("hard_decline")?.map(|h| h == 1),
        message: r.try_get("message")?,
        retry_at: decode_opt(r, T, "retry_at")?,
        created_at: decode(r, T, "created_at")?,
    })
}

/// A target's attempts, first first.
pub async fn charges_of_target(conn: &mut Conn, target: &str) -> Result<Vec<Charge>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS} FROM autopay_charges WHERE target = $1 ORDER BY attempt"
    ))
    .bind(target)
    .fetch_all(conn)
    .await?;
    rows.iter().map(charge_row).collect()
}

pub async fn charge(conn: &mut Conn, charge_id: i64) -> Result<Option<Charge>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS} FROM autopay_charges WHERE charge_id = $1"
    ))
    .bind(charge_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(charge_row).transpose()
}

/// The customer's newest charges, for the autopay page.
pub async fn recent_charges(
    conn: &mut Conn,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<Charge>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS} FROM autopay_charges WHERE customer_id = $1
         ORDER BY created_at DESC, charge_id DESC LIMIT $2"
    ))
    .bind(customer_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(charge_row).collect()
}

pub struct NewCharge<'a> {
    pub enrolment_id: i64,
    pub customer_id: i64,
    pub target: &'a str,
    pub attempt: i64,
    pub idempotency_key: &'a str,
    pub payment_id: i64,
    pub method_id: i64,
    pub amount_minor: i64,
    pub currency: Currency,
}

/// Inserts a charge, `requested` and leased to the caller until
/// `lease_until`. A second (target, attempt) is a unique violation.
pub async fn insert_charge(
    conn: &mut Conn,
    c: &NewCharge<'_>,
    lease_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO autopay_charges (enrolment_id, customer_id, target, attempt, idempotency_key, payment_id,
                                      method_id, amount_minor, currency, locked_until, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING charge_id",
    )
    .bind(c.enrolment_id)
    .bind(c.customer_id)
    .bind(c.target)
    .bind(c.attempt)
    .bind(c.idempotency_key)
    .bind(c.payment_id)
    .bind(c.method_id)
    .bind(c.amount_minor)
    .bind(c.currency.code())
    .bind(ts(lease_until))
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    row.try_get("charge_id")
}

/// Requested charges whose caller's lease ran out (it died, or the
/// gateway did not answer): their gateway call is made again, same key.
pub async fn unanswered_charges(
    conn: &mut Conn,
    now: DateTime<Utc>,
) -> Result<Vec<Charge>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS} FROM autopay_charges
         WHERE status = 'requested' AND (locked_until IS NULL OR locked_until <= $1)
         ORDER BY charge_id LIMIT 100"
    ))
    .bind(ts(now))
    .fetch_all(conn)
    .await?;
    rows.iter().map(charge_row).collect()
}

/// Takes the lease of a requested charge whose lease ran out: `true` when
/// this caller now calls the gateway for it.
pub async fn lease_charge(
    conn: &mut Conn,
    charge_id: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE autopay_charges SET locked_until = $3, updated_at = $2
         WHERE charge_id = $1 AND status = 'requested' AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(charge_id)
    .bind(ts(now))
    .bind(ts(lease_until))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a lease back early (the gateway could not be reached).
pub async fn release_charge(conn: &mut Conn, charge_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE autopay_charges SET locked_until = NULL WHERE charge_id = $1 AND status = 'requested'",
    )
    .bind(charge_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// How a charge ended at the gateway.
pub struct ChargeAnswer<'a> {
    /// `succeeded`, `processing`, `declined` or `abandoned`.
    pub status: &'a str,
    pub intent_id: Option<&'a str>,
    pub decline_code: Option<&'a str>,
    pub hard_decline: Option<bool>,
    pub message: Option<&'a str>,
    pub retry_at: Option<DateTime<Utc>>,
}

/// Records the answer of a requested charge; `false` when another run
/// recorded it first (the caller then changes nothing else).
pub async fn record_answer(
    conn: &mut Conn,
    charge_id: i64,
    a: &ChargeAnswer<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE autopay_charges SET status = $2, gateway_intent_id = $3, decline_code = $4,
                hard_decline = $5, message = $6, retry_at = $7, locked_until = NULL, updated_at = $8
         WHERE charge_id = $1 AND status = 'requested'",
    )
    .bind(charge_id)
    .bind(a.status)
    .bind(a.intent_id)
    .bind(a.decline_code)
    .bind(a.hard_decline.map(i64::from))
    .bind(a.message)
    .bind(a.retry_at.map(ts))
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The sandbox's stored answer to an Idempotency-Key.
pub async fn sandbox_intent(
    conn: &mut Conn,
    idempotency_key: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT answer FROM sandbox_intents WHERE idempotency_key = $1")
        .bind(idempotency_key)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("answer")).transpose()
}

pub async fn insert_sandbox_intent(
    conn: &mut Conn,
    idempotency_key: &str,
    intent_id: &str,
    answer: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_intents (idempotency_key, intent_id, answer, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(idempotency_key)
    .bind(intent_id)
    .bind(answer)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}
