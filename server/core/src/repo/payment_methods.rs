//! SQL of saved payment methods (issue 12, migration 0015): the customer's
//! saved cards and bank accounts, the "save a method" presses, and the
//! sandbox gateway's setup sessions.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::ts;

/// A saved method as the customer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedMethod {
    pub method_id: i64,
    pub customer_id: i64,
    pub gateway: String,
    pub gateway_method_id: String,
    /// `card` or `ach`.
    pub kind: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: Option<i64>,
    pub exp_year: Option<i64>,
    pub is_default: bool,
    pub saved_at: DateTime<Utc>,
    pub removed: bool,
}

const METHOD_COLUMNS: &str =
    "method_id, customer_id, gateway, gateway_method_id, kind, brand, last4,
     exp_month, exp_year, is_default, saved_at, removed_at";

fn method_row(r: &AnyRow) -> Result<SavedMethod, sqlx::Error> {
    Ok(SavedMethod {
        method_id: r.try_get("method_id")?,
        customer_id: r.try_get("customer_id")?,
        gateway: r.try_get("gateway")?,
        gateway_method_id: r.try_get("gateway_method_id")?,
        kind: r.try_get("kind")?,
        brand: r.try_get("brand")?,
        last4: r.try_get("last4")?,
        exp_month: r.try_get("exp_month")?,
        exp_year: r.try_get("exp_year")?,
        is_default: r.try_get::<i64, _>("is_default")? == 1,
        saved_at: decode(r, "saved_payment_methods", "saved_at")?,
        removed: r.try_get::<Option<String>, _>("removed_at")?.is_some(),
    })
}

/// The customer's methods that are not removed, default first.
pub async fn live_methods(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Vec<SavedMethod>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {METHOD_COLUMNS} FROM saved_payment_methods
         WHERE customer_id = $1 AND removed_at IS NULL
         ORDER BY is_default DESC, method_id"
    ))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(method_row).collect()
}

/// One method of the customer (removed ones too: charges name them).
pub async fn method(
    conn: &mut Conn,
    customer_id: i64,
    method_id: i64,
) -> Result<Option<SavedMethod>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {METHOD_COLUMNS} FROM saved_payment_methods WHERE customer_id = $1 AND method_id = $2"
    ))
    .bind(customer_id)
    .bind(method_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(method_row).transpose()
}

pub struct NewMethod<'a> {
    pub customer_id: i64,
    pub gateway: &'a str,
    pub gateway_method_id: &'a str,
    pub kind: &'a str,
    pub brand: &'a str,
    pub last4: &'a str,
    pub exp_month: Option<i64>,
    pub exp_year: Option<i64>,
    pub contact_id: i64,
}

/// Saves a method; the customer's first live method becomes the default.
/// A method already saved (the same gateway id) is returned as it is.
pub async fn insert_method(
    conn: &mut Conn,
    m: &NewMethod<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    if let Some(r) =
        sqlx::query("SELECT method_id FROM saved_payment_methods WHERE gateway_method_id = $1")
            .bind(m.gateway_method_id)
            .fetch_optional(&mut *conn)
            .await?
    {
        return r.try_get("method_id");
    }
    let row = sqlx::query(
        "INSERT INTO saved_payment_methods (customer_id, gateway, gateway_method_id, kind, brand, last4,
                                            exp_month, exp_year, is_default, saved_by_contact, saved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                 CASE WHEN EXISTS (SELECT 1 FROM saved_payment_methods
                                   WHERE customer_id = $1 AND is_default = 1) THEN 0 ELSE 1 END,
                 $9, $10)
         RETURNING method_id",
    )
    .bind(m.customer_id)
    .bind(m.gateway)
    .bind(m.gateway_method_id)
    .bind(m.kind)
    .bind(m.brand)
    .bind(m.last4)
    .bind(m.exp_month)
    .bind(m.exp_year)
    .bind(m.contact_id)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    row.try_get("method_id")
}

/// Makes `method_id` the customer's default (a live method only).
pub async fn set_default(
    conn: &mut Conn,
    customer_id: i64,
    method_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE saved_payment_methods SET is_default = 0 WHERE customer_id = $1 AND is_default = 1 AND method_id <> $2",
    )
    .bind(customer_id)
    .bind(method_id)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "UPDATE saved_payment_methods SET is_default = 1
         WHERE customer_id = $1 AND method_id = $2 AND removed_at IS NULL",
    )
    .bind(customer_id)
    .bind(method_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a method removed (no longer default); `false` if it already was.
pub async fn remove(
    conn: &mut Conn,
    customer_id: i64,
    method_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE saved_payment_methods SET removed_at = $3, is_default = 0
         WHERE customer_id = $1 AND method_id = $2 AND removed_at IS NULL",
    )
    .bind(customer_id)
    .bind(method_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One "save a method" press.
#[derive(Clone, Debug)]
pub struct Setup {
    pub setup_id: i64,
    pub customer_id: i64,
    pub contact_id: i64,
    pub gateway_session_id: Option<String>,
    pub method_id: Option<i64>,
}

pub async fn insert_setup(
    conn: &mut Conn,
    customer_id: i64,
    contact_id: i64,
    return_key_hash: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO payment_method_setups (customer_id, contact_id, return_key_hash, created_at)
         VALUES ($1, $2, $3, $4) RETURNING setup_id",
    )
    .bind(customer_id)
    .bind(contact_id)
    .bind(return_key_hash)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    row.try_get("setup_id")
}

pub async fn set_setup_session(
    conn: &mut Conn,
    setup_id: i64,
    session_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payment_method_setups SET gateway_session_id = $2 WHERE setup_id = $1")
        .bind(setup_id)
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The press behind a return URL's key (stored hashed).
pub async fn setup_by_key(
    conn: &mut Conn,
    return_key_hash: &str,
) -> Result<Option<Setup>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT setup_id, customer_id, contact_id, gateway_session_id, method_id
         FROM payment_method_setups WHERE return_key_hash = $1",
    )
    .bind(return_key_hash)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Setup {
            setup_id: r.try_get("setup_id")?,
            customer_id: r.try_get("customer_id")?,
            contact_id: r.try_get("contact_id")?,
            gateway_session_id: r.try_get("gateway_session_id")?,
            method_id: r.try_get("method_id")?,
        })
    })
    .transpose()
}

/// Links the saved method to its press; `false` if another return did.
pub async fn finish_setup(
    conn: &mut Conn,
    setup_id: i64,
    method_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payment_method_setups SET method_id = $2 WHERE setup_id = $1 AND method_id IS NULL",
    )
    .bind(setup_id)
    .bind(method_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A sandbox setup-mode checkout session.
#[derive(Clone, Debug)]
pub struct SandboxSetup {
    pub session_id: String,
    pub customer_ref: String,
    /// `card`, `us_bank_account`, comma separated.
    pub method_types: String,
    pub success_url: String,
    pub cancel_url: String,
    pub status: String,
    pub payment_method_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_sandbox_setup(conn: &mut Conn, s: &SandboxSetup) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_setups (session_id, customer_ref, method_types, success_url, cancel_url,
                                     status, payment_method_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&s.session_id)
    .bind(&s.customer_ref)
    .bind(&s.method_types)
    .bind(&s.success_url)
    .bind(&s.cancel_url)
    .bind(&s.status)
    .bind(s.payment_method_id.as_deref())
    .bind(ts(s.created_at))
    .bind(ts(s.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn sandbox_setup(
    conn: &mut Conn,
    session_id: &str,
) -> Result<Option<SandboxSetup>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT session_id, customer_ref, method_types, success_url, cancel_url, status,
                payment_method_id, created_at, expires_at
         FROM sandbox_setups WHERE session_id = $1",
    )
    .bind(session_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(SandboxSetup {
            session_id: r.try_get("session_id")?,
            customer_ref: r.try_get("customer_ref")?,
            method_types: r.try_get("method_types")?,
            success_url: r.try_get("success_url")?,
            cancel_url: r.try_get("cancel_url")?,
            status: r.try_get("status")?,
            payment_method_id: r.try_get("payment_method_id")?,
            created_at: decode(&r, "sandbox_setups", "created_at")?,
            expires_at: decode(&r, "sandbox_setups", "expires_at")?,
        })
    })
    .transpose()
}

/// Completes an open sandbox setup with `payment_method_id` (the first
/// press wins).
pub async fn complete_sandbox_setup(
    conn: &mut Conn,
    session_id: &str,
    payment_method_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sandbox_setups SET status = 'complete', payment_method_id = $2
         WHERE session_id = $1 AND status = 'open'",
    )
    .bind(session_id)
    .bind(payment_method_id)
    .execute(conn)
    .await?;
    Ok(())
}
