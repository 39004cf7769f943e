//! The seller API's tables (issue 14): keys, idempotency records, and the
//! customers as the API reads and writes them. `change_seq` and `updated_at`
//! of customers are stamped by triggers (migrations/*/0023_seller_api.sql),
//! whoever writes.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::Conn;
use crate::db::ts;

// ---- keys -------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub api_key_id: i64,
    pub name: String,
    /// `read` or `read,write`.
    pub scopes: String,
    pub prefix: String,
    pub created_by_staff_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const KEY_COLUMNS: &str =
    "api_key_id, name, scopes, prefix, created_by_staff_id, created_at, revoked_at, last_used_at";

fn key_from(r: AnyRow) -> Result<ApiKeyRow, sqlx::Error> {
    Ok(ApiKeyRow {
        api_key_id: r.try_get("api_key_id")?,
        name: r.try_get("name")?,
        scopes: r.try_get("scopes")?,
        prefix: r.try_get("prefix")?,
        created_by_staff_id: r.try_get("created_by_staff_id")?,
        created_at: decode(&r, "api_keys", "created_at")?,
        revoked_at: decode_opt(&r, "api_keys", "revoked_at")?,
        last_used_at: decode_opt(&r, "api_keys", "last_used_at")?,
    })
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub scopes: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub created_by_staff_id: Option<i64>,
}

pub async fn insert_key(
    conn: &mut Conn,
    key: NewApiKey<'_>,
    now: DateTime<Utc>,
) -> Result<ApiKeyRow, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO api_keys (name, scopes, prefix, secret_hash, created_by_staff_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {KEY_COLUMNS}"
    ))
    .bind(key.name)
    .bind(key.scopes)
    .bind(key.prefix)
    .bind(key.secret_hash)
    .bind(key.created_by_staff_id)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    key_from(row)
}

/// Every key, newest first (revoked ones too: the list says when).
pub async fn list_keys(conn: &mut Conn) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY api_key_id DESC"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(key_from).collect()
}

pub async fn key_by_id(conn: &mut Conn, api_key_id: i64) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE api_key_id = $1"
    ))
    .bind(api_key_id)
    .fetch_optional(conn)
    .await?;
    row.map(key_from).transpose()
}

/// The unrevoked key whose secret hashes to `secret_hash`.
pub async fn live_key_by_hash(
    conn: &mut Conn,
    secret_hash: &str,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(secret_hash)
    .fetch_optional(conn)
    .await?;
    row.map(key_from).transpose()
}

/// Revokes a live key; false if it was already revoked.
pub async fn revoke_key(
    conn: &mut Conn,
    api_key_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $2 WHERE api_key_id = $1 AND revoked_at IS NULL",
    )
    .bind(api_key_id)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a use, unless one was recorded at or after `not_before` (the
/// condition keeps concurrent requests from writing it twice).
pub async fn touch_key(
    conn: &mut Conn,
    api_key_id: i64,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $2
         WHERE api_key_id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(api_key_id)
    .bind(ts(now))
    .bind(ts(not_before))
    .execute(conn)
    .await?;
    Ok(())
}

// ---- idempotency ------------------------------------------------------------

/// What claiming an Idempotency-Key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: a row "in progress" was inserted in this transaction.
    New,
    /// The key was used before for a request with this fingerprint, with
    /// this answer (status, body).
    Done {
        fingerprint: String,
        status: u16,
        body: String,
    },
}

/// Claims (key, idempotency_key) in the caller's write transaction. A row
/// older than `expired_before` is forgotten first (keys are kept 24 hours).
/// `INSERT … ON CONFLICT DO NOTHING` waits on PostgreSQL while another
/// transaction holds an uncommitted row with the same primary key, and then
/// inserts nothing; SQLite's single writer (BEGIN IMMEDIATE) serialises the
/// two anyway. So the loser always finds the winner's finished row.
pub async fn claim_idempotency_key(
    conn: &mut Conn,
    api_key_id: i64,
    idempotency_key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> Result<Claim, sqlx::Error> {
    sqlx::query(
        "DELETE FROM api_idempotency
         WHERE api_key_id = $1 AND idempotency_key = $2 AND created_at < $3",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .bind(ts(expired_before))
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO api_idempotency (api_key_id, idempotency_key, fingerprint, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (api_key_id, idempotency_key) DO NOTHING",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .bind(fingerprint)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let row = sqlx::query(
        "SELECT fingerprint, status, response_body FROM api_idempotency
         WHERE api_key_id = $1 AND idempotency_key = $2",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .fetch_one(&mut *conn)
    .await?;
    let status: Option<i64> = row.try_get("status")?;
    let body: Option<String> = row.try_get("response_body")?;
    match (status, body) {
        (Some(status), Some(body)) => Ok(Claim::Done {
            fingerprint: row.try_get("fingerprint")?,
            status: u16::try_from(status).unwrap_or(500),
            body,
        }),
        // Only a committed row can be seen, and every committed row is
        // finished: an unfinished one is never committed.
        _ => Err(sqlx::Error::Protocol(
            "api_idempotency row committed without its answer".into(),
        )),
    }
}

/// Stores the answer of the claimed key, before the commit.
pub async fn finish_idempotency_key(
    conn: &mut Conn,
    api_key_id: i64,
    idempotency_key: &str,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_idempotency SET status = $3, response_body = $4
         WHERE api_key_id = $1 AND idempotency_key = $2",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .bind(status as i64)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many idempotency records a key has (tests and support).
pub async fn idempotency_records(conn: &mut Conn, api_key_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM api_idempotency WHERE api_key_id = $1")
        .bind(api_key_id)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

// ---- customers --------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCustomerRow {
    pub customer_id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub currency: String,
    pub payment_terms_days: i64,
    pub segment: Option<String>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub change_seq: i64,
}

const CUSTOMER_COLUMNS: &str = "customer_id, external_id, name, currency, payment_terms_days, segment, language, created_at, updated_at, change_seq";

fn customer_from(r: AnyRow) -> Result<ApiCustomerRow, sqlx::Error> {
    Ok(ApiCustomerRow {
        customer_id: r.try_get("customer_id")?,
        external_id: r.try_get("external_id")?,
        name: r.try_get("name")?,
        currency: r.try_get("currency")?,
        payment_terms_days: r.try_get("payment_terms_days")?,
        segment: r.try_get("segment")?,
        language: r.try_get("language")?,
        created_at: decode(&r, "customers", "created_at")?,
        updated_at: decode(&r, "customers", "updated_at")?,
        change_seq: r.try_get("change_seq")?,
    })
}

pub async fn customer_by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> Result<Option<ApiCustomerRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE external_id = $1"
    ))
    .bind(external_id)
    .fetch_optional(conn)
    .await?;
    row.map(customer_from).transpose()
}

/// The fields the API sets on a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerFields {
    pub name: String,
    pub currency: String,
    pub payment_terms_days: i64,
    pub segment: Option<String>,
    pub language: Option<String>,
}

/// Inserts the customer unless `external_id` exists (then nothing, and
/// `None`): on PostgreSQL a concurrent insert of the same id makes this
/// wait for it and then insert nothing, so the caller's update follows.
pub async fn insert_customer_if_absent(
    conn: &mut Conn,
    external_id: &str,
    fields: &CustomerFields,
    now: DateTime<Utc>,
) -> Result<Option<ApiCustomerRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO customers (external_id, name, currency, payment_terms_days, segment, language, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (external_id) DO NOTHING
         RETURNING customer_id"
    ))
    .bind(external_id)
    .bind(&fields.name)
    .bind(&fields.currency)
    .bind(fields.payment_terms_days)
    .bind(&fields.segment)
    .bind(&fields.language)
    .bind(ts(now))
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        // Read back after the triggers stamped it (SQLite's AFTER trigger
        // ran after RETURNING was computed).
        Some(_) => customer_by_external_id(conn, external_id).await,
        None => Ok(None),
    }
}

/// Sets the fields of the customer with `external_id`; the row is unchanged
/// (no new change_seq, same updated_at) when they are all equal already.
/// Returns the row as it is now, and whether it changed.
pub async fn update_customer(
    conn: &mut Conn,
    external_id: &str,
    fields: &CustomerFields,
    now: DateTime<Utc>,
) -> Result<Option<(ApiCustomerRow, bool)>, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE customers
         SET name = $2, currency = $3, payment_terms_days = $4, segment = $5, language = $6,
             updated_at = $7
         WHERE external_id = $1
           AND NOT (name = $2 AND currency = $3 AND payment_terms_days = $4
                    AND COALESCE(segment, '') = COALESCE($5, '') AND (segment IS NULL) = ($5 IS NULL)
                    AND COALESCE(language, '') = COALESCE($6, '') AND (language IS NULL) = ($6 IS NULL))",
    )
    .bind(external_id)
    .bind(&fields.name)
    .bind(&fields.currency)
    .bind(fields.payment_terms_days)
    .bind(&fields.segment)
    .bind(&fields.language)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    let changed = done.rows_affected() == 1;
    Ok(customer_by_external_id(conn, external_id)
        .await?
        .map(|row| (row, changed)))
}

/// A page in change order after the position `after` (change_seq,
/// customer_id), optionally only rows with updated_at at or after
/// `updated_since`. Reads `limit` rows.
pub async fn customers_page(
    conn: &mut Conn,
    after: (i64, i64),
    updated_since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<ApiCustomerRow>, sqlx::Error> {
    let since_clause = if updated_since.is_some() {
        "AND updated_at >= $4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers
         WHERE (change_seq > $1 OR (change_seq = $1 AND customer_id > $2)) {since_clause}
         ORDER BY change_seq, customer_id
         LIMIT $3"
    );
    let mut query = sqlx::query(&sql).bind(after.0).bind(after.1).bind(limit);
    if let Some(since) = updated_since {
        query = query.bind(ts(since));
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter().map(customer_from).collect()
}
