//! Reminders and promises to pay (migration 0017): cadences and their
//! steps, customers' and invoices' reminder settings, sends, the emails of
//! a send, promises and the invoices they cover.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::Conn;
use crate::db::{date_text, ts};
use crate::domain::Currency;

/// The one settings row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderSettingsRow {
    pub window_start_minute: i64,
    pub window_end_minute: i64,
    pub promise_horizon_days: i64,
    pub ar_contact_name: String,
    pub ar_contact_email: Option<String>,
}

/// The reminder settings and the SLA business calendar's JSON (the
/// seller's zone and holidays) in one read: every run of the job starts
/// with it.
pub async fn settings_and_calendar(
    conn: &mut Conn,
) -> Result<(ReminderSettingsRow, String), sqlx::Error> {
    let r = sqlx::query(
        "SELECT window_start_minute, window_end_minute, promise_horizon_days, ar_contact_name, ar_contact_email,
             (SELECT value FROM sla_settings WHERE key = 'business_calendar') AS calendar
         FROM reminder_settings WHERE settings_id = 1",
    )
    .fetch_one(conn)
    .await?;
    Ok((settings_row(&r)?, r.try_get("calendar")?))
}

fn settings_row(r: &AnyRow) -> Result<ReminderSettingsRow, sqlx::Error> {
    Ok(ReminderSettingsRow {
        window_start_minute: r.try_get("window_start_minute")?,
        window_end_minute: r.try_get("window_end_minute")?,
        promise_horizon_days: r.try_get("promise_horizon_days")?,
        ar_contact_name: r.try_get("ar_contact_name")?,
        ar_contact_email: r.try_get("ar_contact_email")?,
    })
}

pub async fn settings(conn: &mut Conn) -> Result<ReminderSettingsRow, sqlx::Error> {
    let r = sqlx::query(
        "SELECT window_start_minute, window_end_minute, promise_horizon_days, ar_contact_name, ar_contact_email
         FROM reminder_settings WHERE settings_id = 1",
    )
    .fetch_one(conn)
    .await?;
    settings_row(&r)
}

pub async fn store_settings(
    conn: &mut Conn,
    s: &ReminderSettingsRow,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE reminder_settings SET window_start_minute = $1, window_end_minute = $2,
             promise_horizon_days = $3, ar_contact_name = $4, ar_contact_email = $5,
             updated_at = $6, updated_by_staff_id = $7
         WHERE settings_id = 1",
    )
    .bind(s.window_start_minute)
    .bind(s.window_end_minute)
    .bind(s.promise_horizon_days)
    .bind(&s.ar_contact_name)
    .bind(&s.ar_contact_email)
    .bind(ts(now))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CadenceRow {
    pub cadence_id: i64,
    pub name: String,
    pub is_default: bool,
}

pub async fn cadences(conn: &mut Conn) -> Result<Vec<CadenceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT cadence_id, name, is_default FROM reminder_cadences ORDER BY is_default DESC, name",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CadenceRow {
                cadence_id: r.try_get("cadence_id")?,
                name: r.try_get("name")?,
                is_default: r.try_get::<i64, _>("is_default")? == 1,
            })
        })
        .collect()
}

pub async fn insert_cadence(
    conn: &mut Conn,
    name: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO reminder_cadences (name, is_default, created_at, updated_at)
         VALUES ($1, 0, $2, $2) RETURNING cadence_id",
    )
    .bind(name)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    r.try_get("cadence_id")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRow {
    pub step_id: i64,
    pub cadence_id: i64,
    pub offset_days: i64,
    pub optional: bool,
    pub subject: String,
    pub body: String,
}

fn step_row(r: &AnyRow) -> Result<StepRow, sqlx::Error> {
    Ok(StepRow {
        step_id: r.try_get("step_id")?,
        cadence_id: r.try_get("cadence_id")?,
        offset_days: r.try_get("offset_days")?,
        optional: r.try_get::<i64, _>("optional")? == 1,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
    })
}

/// Every live step of every cadence, by cadence and offset.
pub async fn live_steps(conn: &mut Conn) -> Result<Vec<StepRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT step_id, cadence_id, offset_days, optional, subject, body FROM reminder_steps
         WHERE retired_at IS NULL ORDER BY cadence_id, offset_days",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(step_row).collect()
}

pub async fn insert_step(
    conn: &mut Conn,
    cadence_id: i64,
    offset_days: i64,
    optional: bool,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO reminder_steps (cadence_id, offset_days, optional, subject, body, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING step_id",
    )
    .bind(cadence_id)
    .bind(offset_days)
    .bind(i64::from(optional))
    .bind(subject)
    .bind(body)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    r.try_get("step_id")
}

/// Changes a live step in place (sends keep naming it): `false` when no
/// such live step exists.
pub async fn update_step(
    conn: &mut Conn,
    step_id: i64,
    offset_days: i64,
    optional: bool,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reminder_steps SET offset_days = $2, optional = $3, subject = $4, body = $5, updated_at = $6
         WHERE step_id = $1 AND retired_at IS NULL",
    )
    .bind(step_id)
    .bind(offset_days)
    .bind(i64::from(optional))
    .bind(subject)
    .bind(body)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn retire_step(
    conn: &mut Conn,
    step_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reminder_steps SET retired_at = $2, updated_at = $2 WHERE step_id = $1 AND retired_at IS NULL",
    )
    .bind(step_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A customer as the job sees it (its reminder settings, defaults where
/// it has no row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerReminderRow {
    pub customer_id: i64,
    pub name: String,
    pub cadence_id: Option<i64>,
    pub paused_until: Option<NaiveDate>,
    pub time_zone: Option<String>,
    /// The customer's local date the job last decided its reminders on.
    pub checked_on: Option<NaiveDate>,
}

const CUSTOMER_COLUMNS: &str =
    "c.customer_id, c.name, r.cadence_id, r.paused_until, r.time_zone, k.checked_on
     FROM customers c
     LEFT JOIN customer_reminders r ON r.customer_id = c.customer_id
     LEFT JOIN reminder_checks k ON k.customer_id = c.customer_id";

fn customer_row(r: &AnyRow) -> Result<CustomerReminderRow, sqlx::Error> {
    Ok(CustomerReminderRow {
        customer_id: r.try_get("customer_id")?,
        name: r.try_get("name")?,
        cadence_id: r.try_get("cadence_id")?,
        paused_until: decode_opt(r, "customer_reminders", "paused_until")?,
        time_zone: r.try_get("time_zone")?,
        checked_on: decode_opt(r, "reminder_checks", "checked_on")?,
    })
}

/// Notes that the job decided these customers' reminders for their local
/// day (one statement per 500 customers).
pub async fn mark_checked(
    conn: &mut Conn,
    checked: &[(i64, NaiveDate)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in checked.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO reminder_checks (customer_id, checked_on, checked_at) VALUES {}
             ON CONFLICT (customer_id) DO UPDATE SET checked_on = excluded.checked_on,
                 checked_at = excluded.checked_at",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (customer_id, day) in chunk {
            query = query.bind(*customer_id).bind(date_text(*day)).bind(ts(now));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Customers with something open to remind of.
pub async fn customers_with_open_invoices(
    conn: &mut Conn,
) -> Result<Vec<CustomerReminderRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS}
         WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = c.customer_id
                       AND i.balance_minor > 0 AND i.voided_at IS NULL)
         ORDER BY c.customer_id"
    );
    let rows = sqlx::query(&sql).fetch_all(conn).await?;
    rows.iter().map(customer_row).collect()
}

pub async fn customer(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<CustomerReminderRow>, sqlx::Error> {
    let sql = format!("SELECT {CUSTOMER_COLUMNS} WHERE c.customer_id = $1");
    let row = sqlx::query(&sql)
        .bind(customer_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(customer_row).transpose()
}

/// Stores a customer's cadence (None: the default), pause and zone.
pub async fn store_customer(
    conn: &mut Conn,
    customer_id: i64,
    cadence_id: Option<i64>,
    paused_until: Option<NaiveDate>,
    time_zone: Option<&str>,
    staff_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO customer_reminders (customer_id, cadence_id, paused_until, time_zone, updated_at, updated_by_staff_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (customer_id) DO UPDATE SET cadence_id = excluded.cadence_id,
             paused_until = excluded.paused_until, time_zone = excluded.time_zone,
             updated_at = excluded.updated_at, updated_by_staff_id = excluded.updated_by_staff_id",
    )
    .bind(customer_id)
    .bind(cadence_id)
    .bind(paused_until.map(date_text))
    .bind(time_zone)
    .bind(ts(now))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn store_invoice_pause(
    conn: &mut Conn,
    invoice_id: i64,
    paused_until: NaiveDate,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoice_reminder_pauses (invoice_id, paused_until, updated_at, updated_by_staff_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (invoice_id) DO UPDATE SET paused_until = excluded.paused_until,
             updated_at = excluded.updated_at, updated_by_staff_id = excluded.updated_by_staff_id",
    )
    .bind(invoice_id)
    .bind(date_text(paused_until))
    .bind(ts(now))
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An open invoice with what the send-time check needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenInvoice {
    pub invoice_id: i64,
    pub number: String,
    pub currency: Currency,
    pub due_date: NaiveDate,
    pub balance_minor: i64,
    pub pending_minor: i64,
    pub disputed_minor: i64,
    pub voided: bool,
}

fn open_invoice(r: &AnyRow) -> Result<OpenInvoice, sqlx::Error> {
    Ok(OpenInvoice {
        invoice_id: r.try_get("invoice_id")?,
        number: r.try_get("number")?,
        currency: decode(r, "invoices", "currency")?,
        due_date: decode(r, "invoices", "due_date")?,
        balance_minor: r.try_get("balance_minor")?,
        pending_minor: r.try_get("pending_minor")?,
        disputed_minor: r.try_get("disputed_minor")?,
        voided: r.try_get::<Option<String>, _>("voided_at")?.is_some(),
    })
}

const INVOICE_COLUMNS: &str =
    "invoice_id, number, currency, due_date, balance_minor, pending_minor, disputed_minor, voided_at";

/// The customer's open invoices due by `due_by`, oldest due first; with
/// `recent` = (due since, held until at least), only those due since the
/// first date or under an invoice pause or a promise whose last day is on
/// or after the second (the others cannot reach a step: the job reads
/// the recent ones only).
pub async fn open_invoices(
    conn: &mut Conn,
    customer_id: i64,
    due_by: NaiveDate,
    recent: Option<(NaiveDate, NaiveDate)>,
) -> Result<Vec<OpenInvoice>, sqlx::Error> {
    let base = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices
         WHERE customer_id = $1 AND balance_minor > 0 AND voided_at IS NULL AND due_date <= $2"
    );
    let rows = match recent {
        None => {
            sqlx::query(&format!("{base} ORDER BY due_date, invoice_id"))
                .bind(customer_id)
                .bind(date_text(due_by))
                .fetch_all(conn)
                .await?
        }
        Some((since, held_until)) => {
            sqlx::query(&format!(
                "{base} AND (due_date >= $3
                   OR invoice_id IN (SELECT invoice_id FROM invoice_reminder_pauses WHERE paused_until >= $4)
                   OR invoice_id IN (SELECT pi.invoice_id FROM promise_invoices pi
                                     JOIN promises_to_pay p ON p.promise_id = pi.promise_id
                                     WHERE p.customer_id = $1 AND p.promised_on >= $4))
                 ORDER BY due_date, invoice_id"
            ))
            .bind(customer_id)
            .bind(date_text(due_by))
            .bind(date_text(since))
            .bind(date_text(held_until))
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter().map(open_invoice).collect()
}

/// Some invoices of a customer, whatever their state.
pub async fn invoices_of(
    conn: &mut Conn,
    customer_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<OpenInvoice>, sqlx::Error> {
    let mut out = Vec::with_capacity(invoice_ids.len());
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE customer_id = $1 AND invoice_id = $2"
    );
    for id in invoice_ids {
        if let Some(r) = sqlx::query(&sql)
            .bind(customer_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        {
            out.push(open_invoice(&r)?);
        }
    }
    Ok(out)
}

/// One send as the rules read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRow {
    pub invoice_id: i64,
    pub step_id: Option<i64>,
    pub manual: bool,
    pub sent_on: NaiveDate,
}

/// The sends of the customer's open invoices.
pub async fn sends_of_open_invoices(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<SendRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.invoice_id, s.step_id, s.kind, s.sent_on FROM reminder_sends s
         JOIN invoices i ON i.invoice_id = s.invoice_id
         WHERE s.customer_id = $1 AND i.balance_minor > 0",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SendRow {
                invoice_id: r.try_get("invoice_id")?,
                step_id: r.try_get("step_id")?,
                manual: r.try_get::<String, _>("kind")? == "manual",
                sent_on: decode(r, "reminder_sends", "sent_on")?,
            })
        })
        .collect()
}

/// Invoice pauses of the customer: invoice id -> paused until.
pub async fn invoice_pauses(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<HashMap<i64, NaiveDate>, sqlx::Error> {
    invoice_dates(
        conn,
        "SELECT p.invoice_id, p.paused_until FROM invoice_reminder_pauses p
         JOIN invoices i ON i.invoice_id = p.invoice_id WHERE i.customer_id = $1",
        customer_id,
        ("invoice_reminder_pauses", "paused_until"),
    )
    .await
}

/// Runs `sql` (bound to the customer): invoice id -> the date it reads
/// from (table, column).
async fn invoice_dates(
    conn: &mut Conn,
    sql: &str,
    customer_id: i64,
    (table, column): (&str, &str),
) -> Result<HashMap<i64, NaiveDate>, sqlx::Error> {
    let rows = sqlx::query(sql).bind(customer_id).fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("invoice_id")?, decode(r, table, column)?)))
        .collect()
}

/// The promises on the customer's invoices: (invoice id, promised on,
/// still open). Closed ones count too, kept included: a kept promise for
/// part of an invoice held its reminders all the same, so the catch-up
/// counts from the day after it, as after any promise.
pub async fn promise_holds(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<(i64, NaiveDate, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pi.invoice_id, p.promised_on, p.status FROM promise_invoices pi
         JOIN promises_to_pay p ON p.promise_id = pi.promise_id
         WHERE p.customer_id = $1 AND p.status IN ('open', 'kept', 'broken', 'partly_kept')",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("invoice_id")?,
                decode(r, "promises_to_pay", "promised_on")?,
                r.try_get::<String, _>("status")? == "open",
            ))
        })
        .collect()
}

/// The customer's invoices held by a running payment plan.
pub async fn plan_held(conn: &mut Conn, customer_id: i64) -> Result<HashSet<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pi.invoice_id FROM plan_invoices pi
         JOIN payment_plans p ON p.plan_id = pi.plan_id
         WHERE p.customer_id = $1 AND pi.released_at IS NULL AND p.status IN ('active', 'at_risk')",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("invoice_id")).collect()
}

/// The contacts a reminder goes to: payers and admins, not disabled.
pub async fn recipients(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.contact_id, c.name, c.email FROM customer_contacts cc
         JOIN contacts c ON c.contact_id = cc.contact_id
         WHERE cc.customer_id = $1 AND cc.role IN ('payer', 'admin') AND c.disabled_at IS NULL
         ORDER BY c.contact_id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("contact_id")?,
                r.try_get("name")?,
                r.try_get("email")?,
            ))
        })
        .collect()
}

pub struct NewSend<'a> {
    pub invoice_id: i64,
    pub customer_id: i64,
    /// None for a manual send.
    pub step_id: Option<i64>,
    pub sent_on: NaiveDate,
    pub amount_minor: i64,
    pub currency: Currency,
    pub staff_id: Option<i64>,
    pub batch: &'a str,
}

/// Records a send: `false` when this (invoice, step) was already sent. On
/// PostgreSQL a second insert of the same pair waits for the first
/// transaction and then adds nothing.
pub async fn insert_send(
    conn: &mut Conn,
    s: &NewSend<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO reminder_sends (invoice_id, customer_id, step_id, kind, sent_on, sent_at,
             amount_minor, currency, staff_id, batch)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (invoice_id, step_id) DO NOTHING",
    )
    .bind(s.invoice_id)
    .bind(s.customer_id)
    .bind(s.step_id)
    .bind(if s.step_id.is_some() {
        "automatic"
    } else {
        "manual"
    })
    .bind(date_text(s.sent_on))
    .bind(ts(now))
    .bind(s.amount_minor)
    .bind(s.currency.code())
    .bind(s.staff_id)
    .bind(s.batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_email(
    conn: &mut Conn,
    email_id: i64,
    batch: &str,
    customer_id: i64,
    contact_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reminder_emails (email_id, batch, customer_id, contact_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(email_id)
    .bind(batch)
    .bind(customer_id)
    .bind(contact_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A reminder sent, for the history: one row per invoice of a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentReminder {
    pub invoice_id: i64,
    pub invoice_number: String,
    pub offset_days: Option<i64>,
    pub manual: bool,
    pub sent_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub currency: Currency,
    pub batch: String,
    /// The emails of its batch, and how many the outbox has sent.
    pub emails: i64,
    pub emails_sent: i64,
}

/// The customer's sends, newest first.
pub async fn sent_reminders(
    conn: &mut Conn,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<SentReminder>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.invoice_id, i.number, st.offset_days, s.kind, s.sent_at, s.amount_minor, s.currency, s.batch,
             (SELECT COUNT(*) FROM reminder_emails e WHERE e.batch = s.batch) AS emails,
             (SELECT COUNT(*) FROM reminder_emails e JOIN email_outbox o ON o.email_id = e.email_id
              WHERE e.batch = s.batch AND o.status = 'sent') AS emails_sent
         FROM reminder_sends s JOIN invoices i ON i.invoice_id = s.invoice_id
         LEFT JOIN reminder_steps st ON st.step_id = s.step_id
         WHERE s.customer_id = $1 ORDER BY s.sent_at DESC, s.send_id DESC LIMIT $2",
    )
    .bind(customer_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SentReminder {
                invoice_id: r.try_get("invoice_id")?,
                invoice_number: r.try_get("number")?,
                offset_days: r.try_get("offset_days")?,
                manual: r.try_get::<String, _>("kind")? == "manual",
                sent_at: decode(r, "reminder_sends", "sent_at")?,
                amount_minor: r.try_get("amount_minor")?,
                currency: decode(r, "reminder_sends", "currency")?,
                batch: r.try_get("batch")?,
                emails: r.try_get("emails")?,
                emails_sent: r.try_get("emails_sent")?,
            })
        })
        .collect()
}

/// A promise to pay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromiseRow {
    pub promise_id: i64,
    pub customer_id: i64,
    pub promised_on: NaiveDate,
    pub currency: Currency,
    pub amount_minor: Option<i64>,
    pub owed_minor: i64,
    pub channel: String,
    pub contact_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

const PROMISE_COLUMNS: &str =
    "promise_id, customer_id, promised_on, currency, amount_minor, owed_minor, channel,
     contact_id, staff_id, status, created_at";

fn promise_row(r: &AnyRow) -> Result<PromiseRow, sqlx::Error> {
    const T: &str = "promises_to_pay";
    Ok(PromiseRow {
        promise_id: r.try_get("promise_id")?,
        customer_id: r.try_get("customer_id")?,
        promised_on: decode(r, T, "promised_on")?,
        currency: decode(r, T, "currency")?,
        amount_minor: r.try_get("amount_minor")?,
        owed_minor: r.try_get("owed_minor")?,
        channel: r.try_get("channel")?,
        contact_id: r.try_get("contact_id")?,
        staff_id: r.try_get("staff_id")?,
        status: r.try_get("status")?,
        created_at: decode(r, T, "created_at")?,
    })
}

pub struct NewPromise<'a> {
    pub customer_id: i64,
    pub promised_on: NaiveDate,
    pub currency: Currency,
    pub amount_minor: Option<i64>,
    pub owed_minor: i64,
    pub channel: &'a str,
    pub contact_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub note: Option<&'a str>,
}

pub async fn insert_promise(
    conn: &mut Conn,
    p: &NewPromise<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO promises_to_pay (customer_id, promised_on, currency, amount_minor, owed_minor, channel,
             contact_id, staff_id, note, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10) RETURNING promise_id",
    )
    .bind(p.customer_id)
    .bind(date_text(p.promised_on))
    .bind(p.currency.code())
    .bind(p.amount_minor)
    .bind(p.owed_minor)
    .bind(p.channel)
    .bind(p.contact_id)
    .bind(p.staff_id)
    .bind(p.note)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    r.try_get("promise_id")
}

/// Covers an invoice by an open promise (the partial unique index refuses
/// a second open promise on it).
pub async fn insert_promise_invoice(
    conn: &mut Conn,
    promise_id: i64,
    invoice_id: i64,
    payable_minor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO promise_invoices (promise_id, invoice_id, payable_minor) VALUES ($1, $2, $3)",
    )
    .bind(promise_id)
    .bind(invoice_id)
    .bind(payable_minor)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn open_promises(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<PromiseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {PROMISE_COLUMNS} FROM promises_to_pay WHERE customer_id = $1 AND status = 'open'
         ORDER BY promise_id"
    );
    let rows = sqlx::query(&sql).bind(customer_id).fetch_all(conn).await?;
    rows.iter().map(promise_row).collect()
}

/// The customer's promises, newest first.
pub async fn promises_of(
    conn: &mut Conn,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<PromiseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {PROMISE_COLUMNS} FROM promises_to_pay WHERE customer_id = $1
         ORDER BY promise_id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(customer_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(promise_row).collect()
}

/// A promise's invoices: (invoice id, number, payable when promised,
/// balance now, pending now).
pub async fn promise_invoices(
    conn: &mut Conn,
    promise_id: i64,
) -> Result<Vec<(i64, String, i64, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT pi.invoice_id, i.number, pi.payable_minor, i.balance_minor, i.pending_minor
         FROM promise_invoices pi JOIN invoices i ON i.invoice_id = pi.invoice_id
         WHERE pi.promise_id = $1 ORDER BY i.due_date, i.invoice_id",
    )
    .bind(promise_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("invoice_id")?,
                r.try_get("number")?,
                r.try_get("payable_minor")?,
                r.try_get("balance_minor")?,
                r.try_get("pending_minor")?,
            ))
        })
        .collect()
}

/// Open promises covering any of these invoices.
pub async fn open_promise_on(conn: &mut Conn, invoice_id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM promise_invoices WHERE invoice_id = $1 AND released_at IS NULL",
    )
    .bind(invoice_id)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Invoices under an open promise whose date (the customer's) is on or
/// after `today`: autopay leaves these alone.
pub async fn promised_invoices(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<HashMap<i64, NaiveDate>, sqlx::Error> {
    invoice_dates(
        conn,
        "SELECT pi.invoice_id, p.promised_on FROM promise_invoices pi
         JOIN promises_to_pay p ON p.promise_id = pi.promise_id
         WHERE p.customer_id = $1 AND p.status = 'open' AND pi.released_at IS NULL",
        customer_id,
        ("promises_to_pay", "promised_on"),
    )
    .await
}

/// Closes an open promise with its outcome and releases its invoices:
/// `false` when another run closed it first.
pub async fn close_promise(
    conn: &mut Conn,
    promise_id: i64,
    status: &str,
    paid_minor: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE promises_to_pay SET status = $2, paid_minor = $3, closed_at = $4
         WHERE promise_id = $1 AND status = 'open'",
    )
    .bind(promise_id)
    .bind(status)
    .bind(paid_minor)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE promise_invoices SET released_at = $2 WHERE promise_id = $1 AND released_at IS NULL",
    )
    .bind(promise_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(true)
}
