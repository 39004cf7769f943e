//! Customers, contacts, staff and the invoice reads of the home pages.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::decode::decode;
use super::Conn;
use crate::db::ts;
use crate::domain::{ContactRole, Currency, StaffRole};

#[derive(Clone, Debug)]
pub struct ContactRow {
    pub contact_id: i64,
    pub email: String,
    pub name: String,
    /// Raised by triggers whenever the contact's access changes (0006).
    pub access_version: i64,
}

#[derive(Clone, Debug)]
pub struct StaffRow {
    pub staff_id: i64,
    pub email: String,
    pub name: String,
    pub role: StaffRole,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRow {
    pub customer_id: i64,
    pub customer_name: String,
    pub currency: Currency,
    pub role: ContactRole,
    /// The account's payment terms, in days.
    pub terms_days: i64,
}

fn contact_from(r: sqlx::any::AnyRow) -> ContactRow {
    ContactRow {
        contact_id: r.get("contact_id"),
        email: r.get("email"),
        name: r.get("name"),
        access_version: r.get("access_version"),
    }
}

pub async fn active_contact_by_email(
    conn: &mut Conn,
    email: &str,
) -> Result<Option<ContactRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT contact_id, email, name, access_version FROM contacts WHERE email = $1 AND disabled_at IS NULL",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(contact_from))
}

pub async fn active_contact(
    conn: &mut Conn,
    contact_id: i64,
) -> Result<Option<ContactRow>, sqlx::Error> {
    let row = sqlx::query("SELECT contact_id, email, name, access_version FROM contacts WHERE contact_id = $1 AND disabled_at IS NULL")
        .bind(contact_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(contact_from))
}

/// The contact's access version if they are enabled: the one read the
/// session guard makes per request (see services::access).
pub async fn access_version(conn: &mut Conn, contact_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT access_version FROM contacts WHERE contact_id = $1 AND disabled_at IS NULL",
    )
    .bind(contact_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("access_version")).transpose()
}

fn staff_from(r: sqlx::any::AnyRow) -> Result<StaffRow, sqlx::Error> {
    Ok(StaffRow {
        staff_id: r.try_get("staff_id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: decode(&r, "staff_users", "role")?,
    })
}

pub async fn active_staff_by_email(
    conn: &mut Conn,
    email: &str,
) -> Result<Option<StaffRow>, sqlx::Error> {
    let row = sqlx::query("SELECT staff_id, email, name, role FROM staff_users WHERE email = $1 AND disabled_at IS NULL")
        .bind(email)
        .fetch_optional(conn)
        .await?;
    row.map(staff_from).transpose()
}

pub async fn active_staff(conn: &mut Conn, staff_id: i64) -> Result<Option<StaffRow>, sqlx::Error> {
    let row = sqlx::query("SELECT staff_id, email, name, role FROM staff_users WHERE staff_id = $1 AND disabled_at IS NULL")
        .bind(staff_id)
        .fetch_optional(conn)
        .await?;
    row.map(staff_from).transpose()
}

/// Creates a staff user, or renames / re-enables the one with this email.
pub async fn upsert_staff(
    conn: &mut Conn,
    email: &str,
    name: &str,
    role: StaffRole,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO staff_users (email, name, role, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO UPDATE SET name = excluded.name, role = excluded.role, disabled_at = NULL
         RETURNING staff_id",
    )
    .bind(email)
    .bind(name)
    .bind(role.as_str())
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Ok(row.get("staff_id"))
}

/// The accounts a contact belongs to, by name.
pub async fn memberships(
    conn: &mut Conn,
    contact_id: i64,
) -> Result<Vec<MembershipRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.customer_id, c.name, c.currency, cc.role,
                CAST(c.payment_terms_days AS BIGINT) AS terms_days
         FROM customer_contacts cc JOIN customers c ON c.customer_id = cc.customer_id
         JOIN contacts p ON p.contact_id = cc.contact_id
         WHERE cc.contact_id = $1 AND p.disabled_at IS NULL ORDER BY c.name",
    )
    .bind(contact_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MembershipRow {
                customer_id: r.try_get("customer_id")?,
                customer_name: r.try_get("name")?,
                currency: decode(&r, "customers", "currency")?,
                role: decode(&r, "customer_contacts", "role")?,
                terms_days: r.try_get("terms_days")?,
            })
        })
        .collect()
}

/// Disables the enabled contact (`staff = false`) or staff user with this
/// email; returns its id, or `None` if there is none.
pub async fn disable_person(
    conn: &mut Conn,
    staff: bool,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    let (table, id) = if staff {
        ("staff_users", "staff_id")
    } else {
        ("contacts", "contact_id")
    };
    let row = sqlx::query(&format!(
        "UPDATE {table} SET disabled_at = $2 WHERE email = $1 AND disabled_at IS NULL RETURNING {id} AS person_id"
    ))
    .bind(email)
    .bind(ts(now))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.get("person_id")))
}

/// A customer's name and payment terms (days).
pub async fn customer_name_terms(
    conn: &mut Conn,
    customer_id: i64,
) -> Result<Option<(String, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT name, CAST(payment_terms_days AS BIGINT) AS terms FROM customers WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.get("name"), r.get("terms"))))
}

#[derive(Clone, Debug, Default)]
pub struct PortfolioCounts {
    pub customers: i64,
    pub contacts: i64,
    pub invoices: i64,
}

pub async fn portfolio_counts(conn: &mut Conn) -> Result<PortfolioCounts, sqlx::Error> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM customers) AS customers,
                (SELECT COUNT(*) FROM contacts) AS contacts,
                (SELECT COUNT(*) FROM invoices) AS invoices",
    )
    .fetch_one(conn)
    .await?;
    Ok(PortfolioCounts {
        customers: row.get("customers"),
        contacts: row.get("contacts"),
        invoices: row.get("invoices"),
    })
}
