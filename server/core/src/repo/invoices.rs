//! Invoice reads for the list, detail, downloads and statement, and the
//! settlement cache on the invoice row (see migration 0002).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::decode::{decode, decode_opt};
use super::Conn;
use crate::db::date_text;
use crate::domain::invoice_query::{Direction, InvoiceQuery, SortKey};
use crate::domain::invoice_status::sql as status_sql;
use crate::domain::money::{THREE_DECIMAL, ZERO_DECIMAL};
use crate::domain::{Currency, InvoiceFacts, PaymentStatus};

/// An invoice with the sums its standing is derived from.
#[derive(Clone, Debug)]
pub struct InvoiceLedgerRow {
    pub invoice_id: i64,
    pub customer_id: i64,
    pub number: String,
    pub po_number: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub currency: Currency,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub credited_minor: i64,
    /// Held back by payments in flight (checkout open, ACH processing).
    pub pending_minor: i64,
    /// Held back by the invoice's open dispute (issue 11): its disputed
    /// amount while it is open or waiting on the customer, else 0.
    pub disputed_minor: i64,
    pub voided: bool,
}

impl InvoiceLedgerRow {
    /// What the standing of this invoice is derived from.
    pub fn facts(&self) -> InvoiceFacts {
        InvoiceFacts {
            total_minor: self.total_minor,
            paid_minor: self.paid_minor,
            credited_minor: self.credited_minor,
            due_date: self.due_date,
            voided: self.voided,
        }
    }
}

const LEDGER_COLUMNS: &str =
    "i.invoice_id, i.customer_id, i.number, i.po_number, i.issue_date, i.due_date, i.currency,
     i.subtotal_minor, i.tax_minor, i.total_minor, i.paid_minor, i.credited_minor, i.pending_minor,
     i.disputed_minor, i.voided_at";

fn ledger_row(r: &AnyRow) -> Result<InvoiceLedgerRow, sqlx::Error> {
    const T: &str = "invoices";
    Ok(InvoiceLedgerRow {
        invoice_id: r.try_get("invoice_id")?,
        customer_id: r.try_get("customer_id")?,
        number: r.try_get("number")?,
        po_number: r.try_get("po_number")?,
        issue_date: decode(r, T, "issue_date")?,
        due_date: decode(r, T, "due_date")?,
        currency: decode(r, T, "currency")?,
        subtotal_minor: r.try_get("subtotal_minor")?,
        tax_minor: r.try_get("tax_minor")?,
        total_minor: r.try_get("total_minor")?,
        paid_minor: r.try_get("paid_minor")?,
        credited_minor: r.try_get("credited_minor")?,
        pending_minor: r.try_get("pending_minor")?,
        disputed_minor: r.try_get("disputed_minor")?,
        voided: r.try_get::<Option<String>, _>("voided_at")?.is_some(),
    })
}

/// Recomputes the settlement cache of one invoice from its allocations and
/// its open dispute. Call it in the transaction that changed an allocation,
/// a payment's status, or raised, withdrew or resolved a dispute.
pub async fn refresh_settlement(conn: &mut Conn, invoice_id: i64) -> Result<(), sqlx::Error> {
    // The row lock first, in a statement of its own: on PostgreSQL (READ
    // COMMITTED) an UPDATE that waits for a concurrent writer of the row
    // (a "Pay" holding it FOR UPDATE) still computes its subqueries from
    // the snapshot taken before the wait, and would write a stale
    // pending_minor. Callers that did not lock the invoice first (a dispute
    // withdrawn) wait here, and the recount below then sees what the other
    // transaction committed. A no-op on SQLite, whose writers are serial.
    sqlx::query("UPDATE invoices SET disputed_minor = disputed_minor WHERE invoice_id = $1")
        .bind(invoice_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE invoices SET
            paid_minor = CAST(COALESCE((SELECT SUM(pa.amount_minor - pa.refunded_minor) FROM payment_allocations pa
                                        JOIN payments p ON p.payment_id = pa.payment_id
                                        WHERE pa.invoice_id = invoices.invoice_id AND p.status IN ('succeeded', 'refunded')), 0) AS BIGINT),
            pending_minor = CAST(COALESCE((SELECT SUM(pa.amount_minor) FROM payment_allocations pa
                                           JOIN payments p ON p.payment_id = pa.payment_id
                                           WHERE pa.invoice_id = invoices.invoice_id AND p.status IN ('pending', 'processing')), 0)
                               + COALESCE((SELECT SUM(pd.discount_minor) FROM payment_discounts pd
                                           JOIN payments p ON p.payment_id = pd.payment_id
                                           WHERE pd.invoice_id = invoices.invoice_id AND pd.credit_note_id IS NULL
                                             AND p.status IN ('pending', 'processing')), 0) AS BIGINT),
            credited_minor = CAST(COALESCE((SELECT SUM(ca.amount_minor) FROM credit_allocations ca
                                            WHERE ca.invoice_id = invoices.invoice_id), 0) AS BIGINT),
            disputed_minor = CAST(COALESCE((SELECT SUM(r.disputed_minor) FROM requests r
                                            WHERE r.invoice_id = invoices.invoice_id AND r.kind = 'dispute'
                                              AND r.status IN ('open', 'waiting_on_customer')), 0) AS BIGINT)
         WHERE invoice_id = $1",
    )
    .bind(invoice_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE invoices SET balance_minor = {} WHERE invoice_id = $1",
        status_sql::BALANCE
    ))
    .bind(invoice_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A bind value of a dynamically built query.
enum Value {
    Int(i64),
    Text(String),
}

/// A WHERE clause under construction, with numbered placeholders.
struct Sql {
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Sql {
    fn new() -> Self {
        Sql {
            conditions: Vec::new(),
            values: Vec::new(),
        }
    }

    fn int(&mut self, v: i64) -> String {
        self.values.push(Value::Int(v));
        format!("${}", self.values.len())
    }

    fn text(&mut self, v: impl Into<String>) -> String {
        self.values.push(Value::Text(v.into()));
        format!("${}", self.values.len())
    }

    fn and(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    fn where_clause(&self) -> String {
        self.conditions.join(" AND ")
    }

    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for v in &self.values {
            q = match v {
                Value::Int(i) => q.bind(*i),
                Value::Text(t) => q.bind(t.as_str()),
            };
        }
        q
    }
}

fn quoted_list(codes: &[&str]) -> String {
    codes
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `amount` in each row's own minor unit: the bound differs for JPY and USD.
fn per_currency_bound(
    sql: &mut Sql,
    bound: &crate::domain::invoice_query::AmountBound,
    round_up: bool,
) -> String {
    let zero = sql.int(bound.minor(Currency::parse("JPY").expect("valid"), round_up));
    let three = sql.int(bound.minor(Currency::parse("KWD").expect("valid"), round_up));
    let two = sql.int(bound.minor(Currency::USD, round_up));
    format!(
        "(CASE WHEN i.currency IN ({}) THEN {zero} WHEN i.currency IN ({}) THEN {three} ELSE {two} END)",
        quoted_list(ZERO_DECIMAL),
        quoted_list(THREE_DECIMAL)
    )
}

/// The sort column as SQL. Status sorts by urgency (overdue, due soon,
/// partly paid, open, paid, credited, void), then by due date.
fn sort_expression(sql: &mut Sql, sort: SortKey, today: NaiveDate) -> String {
    match sort {
        SortKey::Number => "i.number".into(),
        SortKey::Po => "COALESCE(i.po_number, '')".into(),
        SortKey::Issued => "i.issue_date".into(),
        SortKey::Due => "i.due_date".into(),
        SortKey::Total => "i.total_minor".into(),
        SortKey::Balance => "i.balance_minor".into(),
        SortKey::Status => status_sql::urgency(today, |d| sql.text(date_text(d))),
    }
}

/// The customer's invoices matching the query's filters (no cursor).
fn filtered(customer_id: i64, q: &InvoiceQuery, today: NaiveDate) -> Sql {
    let mut sql = Sql::new();
    let c = sql.int(customer_id);
    sql.and(format!("i.customer_id = {c}"));
    if let Some(status) = q.status {
        let cond = status_sql::matching(status, today, |d| sql.text(date_text(d)));
        sql.and(cond);
    }
    if let Some(currency) = q.currency {
        let p = sql.text(currency.code());
        sql.and(format!("i.currency = {p}"));
    }
    for (bound, column, op) in [
        (q.issued_from, "i.issue_date", ">="),
        (q.issued_to, "i.issue_date", "<="),
        (q.due_from, "i.due_date", ">="),
        (q.due_to, "i.due_date", "<="),
    ] {
        if let Some(d) = bound {
            let p = sql.text(date_text(d));
            sql.and(format!("{column} {op} {p}"));
        }
    }
    if let Some(min) = &q.amount_min {
        let b = per_currency_bound(&mut sql, min, true);
        sql.and(format!("i.total_minor >= {b}"));
    }
    if let Some(max) = &q.amount_max {
        let b = per_currency_bound(&mut sql, max, false);
        sql.and(format!("i.total_minor <= {b}"));
    }
    if let Some(search) = &q.search {
        let escaped = search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = sql.text(format!("%{escaped}%"));
        sql.and(format!(
            "(LOWER(i.number) LIKE {p} ESCAPE '\\' OR LOWER(COALESCE(i.po_number, '')) LIKE {p} ESCAPE '\\')"
        ));
    }
    sql
}

/// One page of the list, in display order, plus whether more rows lie
/// beyond it in the direction of travel.
pub struct Page {
    pub rows: Vec<InvoiceLedgerRow>,
    pub more: bool,
    /// The sort value of each row, for the cursors of the page links.
    pub sort_values: Vec<String>,
}

pub async fn list_page(
    conn: &mut Conn,
    customer_id: i64,
    q: &InvoiceQuery,
    today: NaiveDate,
    limit: usize,
) -> Result<Page, sqlx::Error> {
    let mut sql = filtered(customer_id, q, today);
    let expr = sort_expression(&mut sql, q.sort, today);
    // Paging backwards reads in the opposite order, then flips the rows.
    let backwards = q.before.is_some();
    let ascending = (q.direction == Direction::Asc) != backwards;
    if let Some(cursor) = q.after.as_ref().or(q.before.as_ref()) {
        let v = if q.sort.is_numeric() {
            sql.int(cursor.value.parse().unwrap_or(0))
        } else {
            sql.text(cursor.value.clone())
        };
        let id = sql.int(cursor.invoice_id);
        let op = if ascending { ">" } else { "<" };
        sql.and(format!(
            "({expr} {op} {v} OR ({expr} = {v} AND i.invoice_id {op} {id}))"
        ));
    }
    let order = if ascending { "ASC" } else { "DESC" };
    let text = format!(
        "SELECT {LEDGER_COLUMNS}, {expr_text} AS sort_value FROM invoices i WHERE {w}
         ORDER BY {expr} {order}, i.invoice_id {order} LIMIT {limit}",
        expr_text = if q.sort.is_numeric() {
            format!("CAST({expr} AS TEXT)")
        } else {
            expr.clone()
        },
        w = sql.where_clause(),
        limit = limit + 1,
    );
    let rows = sql.bind(sqlx::query(&text)).fetch_all(conn).await?;
    let more = rows.len() > limit;
    let mut rows: Vec<(InvoiceLedgerRow, String)> = rows
        .iter()
        .take(limit)
        .map(|r| Ok((ledger_row(r)?, r.try_get::<String, _>("sort_value")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    if backwards {
        rows.reverse();
    }
    let (rows, sort_values) = rows.into_iter().unzip();
    Ok(Page {
        rows,
        more,
        sort_values,
    })
}

/// Open and overdue balance per currency of the matching invoices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTotals {
    pub currency: Currency,
    pub open_minor: i64,
    pub overdue_minor: i64,
    /// Of `open_minor`, what open disputes hold (issue 11), shown apart.
    /// Each invoice counts at most its balance: a payment recorded in the
    /// ERP can leave less owed than was disputed.
    pub disputed_minor: i64,
    pub open_count: i64,
    pub overdue_count: i64,
}

/// The per-currency open and overdue totals of the matching invoices, as
/// a SELECT over `sql`'s filters with the columns `part` ('totals'),
/// `currency`, `open_minor`, `overdue_minor`, `disputed_minor`,
/// `open_count`, `overdue_count`. Reads only the partial index of open invoices.
fn totals_select(sql: &mut Sql, today: NaiveDate) -> String {
    let overdue = status_sql::past_due(today, |d| sql.text(date_text(d)));
    format!(
        "SELECT 'totals' AS part, i.currency,
                CAST(SUM(i.balance_minor) AS BIGINT) AS open_minor,
                CAST(SUM(CASE WHEN {overdue} THEN i.balance_minor ELSE 0 END) AS BIGINT) AS overdue_minor,
                CAST(SUM(CASE WHEN i.disputed_minor < i.balance_minor THEN i.disputed_minor
                              ELSE i.balance_minor END) AS BIGINT) AS disputed_minor,
                CAST(COUNT(*) AS BIGINT) AS open_count,
                CAST(SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END) AS BIGINT) AS overdue_count
         FROM invoices i WHERE {} AND {} GROUP BY i.currency",
        sql.where_clause(),
        status_sql::OWED
    )
}

fn totals_row(r: &AnyRow) -> Result<OpenTotals, sqlx::Error> {
    Ok(OpenTotals {
        currency: decode(r, "invoices", "currency")?,
        open_minor: r.try_get("open_minor")?,
        overdue_minor: r.try_get("overdue_minor")?,
        disputed_minor: r.try_get("disputed_minor")?,
        open_count: r.try_get("open_count")?,
        overdue_count: r.try_get("overdue_count")?,
    })
}

/// Open and overdue balance per currency of the matching invoices.
pub async fn open_totals(
    conn: &mut Conn,
    customer_id: i64,
    q: &InvoiceQuery,
    today: NaiveDate,
) -> Result<Vec<OpenTotals>, sqlx::Error> {
    let mut sql = filtered(customer_id, q, today);
    let text = format!("{} ORDER BY i.currency", totals_select(&mut sql, today));
    let rows = sql.bind(sqlx::query(&text)).fetch_all(conn).await?;
    rows.iter().map(totals_row).collect()
}

/// What the list says beside its page of rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSummary {
    /// How many invoices match the filters.
    pub matching: i64,
    /// Open and overdue balance per currency of the matching invoices.
    pub totals: Vec<OpenTotals>,
    /// Every currency the customer has invoices in (for the filter).
    pub currencies: Vec<Currency>,
}

/// The count, the totals and the customer's currencies in one round trip:
/// three reads, each with its own index-only plan, joined by UNION ALL
/// (a single GROUP BY over all the customer's invoices would read every row).
pub async fn list_summary(
    conn: &mut Conn,
    customer_id: i64,
    q: &InvoiceQuery,
    today: NaiveDate,
) -> Result<ListSummary, sqlx::Error> {
    let mut sql = filtered(customer_id, q, today);
    let totals = totals_select(&mut sql, today);
    let c = sql.int(customer_id);
    let text = format!(
        "SELECT 'count' AS part, '' AS currency, CAST(0 AS BIGINT) AS open_minor,
                CAST(0 AS BIGINT) AS overdue_minor, CAST(0 AS BIGINT) AS disputed_minor,
                CAST(COUNT(*) AS BIGINT) AS open_count,
                CAST(0 AS BIGINT) AS overdue_count
         FROM invoices i WHERE {w}
         UNION ALL {totals}
         UNION ALL
         SELECT 'currency' AS part, d.currency, CAST(0 AS BIGINT), CAST(0 AS BIGINT),
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT)
         FROM (SELECT DISTINCT currency FROM invoices WHERE customer_id = {c}) AS d",
        w = sql.where_clause(),
    );
    let rows = sql.bind(sqlx::query(&text)).fetch_all(conn).await?;
    let mut summary = ListSummary {
        matching: 0,
        totals: Vec::new(),
        currencies: Vec::new(),
    };
    for r in &rows {
        match r.try_get::<String, _>("part")?.as_str() {
            "count" => summary.matching = r.try_get("open_count")?,
            "totals" => summary.totals.push(totals_row(r)?),
            _ => summary.currencies.push(decode(r, "invoices", "currency")?),
        }
    }
    summary.totals.sort_by_key(|t| t.currency);
    summary.currencies.sort();
    Ok(summary)
}

/// Most rows one CSV export holds; the page says so when a filter matches more.
pub const MAX_EXPORT_ROWS: usize = 100_000;

/// Every matching invoice in list order (up to `limit`), for the CSV
/// export: one query whose rows go to `rows` as the database returns them,
/// never all in memory. Stops early, without error, when `rows` is closed.
pub async fn send_matching(
    conn: &mut Conn,
    customer_id: i64,
    q: &InvoiceQuery,
    today: NaiveDate,
    limit: usize,
    rows: &tokio::sync::mpsc::Sender<InvoiceLedgerRow>,
) -> Result<(), sqlx::Error> {
    use futures_util::TryStreamExt;

    let mut sql = filtered(customer_id, q, today);
    let expr = sort_expression(&mut sql, q.sort, today);
    // The list's first page order, without its cursor.
    let order = if q.direction == Direction::Asc {
        "ASC"
    } else {
        "DESC"
    };
    let text = format!(
        "SELECT {LEDGER_COLUMNS} FROM invoices i WHERE {w}
         ORDER BY {expr} {order}, i.invoice_id {order} LIMIT {limit}",
        w = sql.where_clause(),
    );
    let mut stream = sql.bind(sqlx::query(&text)).fetch(conn);
    while let Some(row) = stream.try_next().await? {
        if rows.send(ledger_row(&row)?).await.is_err() {
            break;
        }
    }
    Ok(())
}

pub async fn invoice(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Option<InvoiceLedgerRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {LEDGER_COLUMNS} FROM invoices i WHERE i.invoice_id = $1"
    ))
    .bind(invoice_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(ledger_row).transpose()
}

pub async fn invoice_by_number(
    conn: &mut Conn,
    number: &str,
) -> Result<Option<InvoiceLedgerRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {LEDGER_COLUMNS} FROM invoices i WHERE i.number = $1"
    ))
    .bind(number)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(ledger_row).transpose()
}

/// The customer's invoices among `ids` (others' ids are silently absent).
pub async fn invoices_of_customer(
    conn: &mut Conn,
    customer_id: i64,
    ids: &[i64],
) -> Result<Vec<InvoiceLedgerRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new();
    let c = sql.int(customer_id);
    let placeholders: Vec<String> = ids.iter().map(|id| sql.int(*id)).collect();
    let text = format!(
        "SELECT {LEDGER_COLUMNS} FROM invoices i WHERE i.customer_id = {c} AND i.invoice_id IN ({})
         ORDER BY i.number",
        placeholders.join(", ")
    );
    let rows = sql.bind(sqlx::query(&text)).fetch_all(conn).await?;
    rows.iter().map(ledger_row).collect()
}

#[derive(Clone, Debug)]
pub struct LineRow {
    pub description: String,
    pub quantity_milli: i64,
    pub unit_price_minor: i64,
    pub tax_rate_bp: i64,
    pub amount_minor: i64,
    pub tax_minor: i64,
}

pub async fn lines(conn: &mut Conn, invoice_id: i64) -> Result<Vec<LineRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT description, quantity_milli, unit_price_minor, CAST(tax_rate_bp AS BIGINT) AS tax_rate_bp, amount_minor, tax_minor
         FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| LineRow {
            description: r.get("description"),
            quantity_milli: r.get("quantity_milli"),
            unit_price_minor: r.get("unit_price_minor"),
            tax_rate_bp: r.get("tax_rate_bp"),
            amount_minor: r.get("amount_minor"),
            tax_minor: r.get("tax_minor"),
        })
        .collect())
}

/// A payment or credit applied to an invoice.
#[derive(Clone, Debug)]
pub struct Application {
    /// `payment` or `credit_note`.
    pub kind: &'static str,
    pub id: i64,
    pub date: Option<NaiveDate>,
    /// Payment method, or the credit note's reason.
    pub detail: String,
    pub reference: Option<String>,
    pub status: String,
    pub amount_minor: i64,
}

pub async fn applications(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Vec<Application>, sqlx::Error> {
    let payments = sqlx::query(
        "SELECT p.payment_id, p.received_at, p.created_at, p.method, p.reference, p.status, pa.amount_minor
         FROM payment_allocations pa JOIN payments p ON p.payment_id = pa.payment_id
         WHERE pa.invoice_id = $1 ORDER BY p.created_at, p.payment_id",
    )
    .bind(invoice_id)
    .fetch_all(&mut *conn)
    .await?;
    let credits = sqlx::query(
        "SELECT cn.credit_note_id, cn.number, cn.reason, cn.issue_date, ca.amount_minor
         FROM credit_allocations ca JOIN credit_notes cn ON cn.credit_note_id = ca.credit_note_id
         WHERE ca.invoice_id = $1 ORDER BY cn.issue_date, cn.credit_note_id",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?;
    let mut out: Vec<Application> = payments
        .iter()
        .map(|r| {
            let when: DateTime<Utc> = match decode_opt(r, "payments", "received_at")? {
                Some(received) => received,
                None => decode(r, "payments", "created_at")?,
            };
            let status: PaymentStatus = decode(r, "payments", "status")?;
            Ok(Application {
                kind: "payment",
                id: r.try_get("payment_id")?,
                date: Some(when.date_naive()),
                detail: r.try_get("method")?,
                reference: r.try_get("reference")?,
                status: status.as_str().to_owned(),
                amount_minor: r.try_get("amount_minor")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    for r in &credits {
        out.push(Application {
            kind: "credit_note",
            id: r.try_get("credit_note_id")?,
            date: Some(decode(r, "credit_notes", "issue_date")?),
            detail: r.try_get("reason")?,
            reference: Some(r.try_get("number")?),
            status: "applied".into(),
            amount_minor: r.try_get("amount_minor")?,
        });
    }
    out.sort_by_key(|a| (a.date, a.kind, a.id));
    Ok(out)
}

#[derive(Clone, Debug)]
pub struct ActivityRow {
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor_kind: String,
}

/// Audit events about one invoice, newest first.
pub async fn activity(conn: &mut Conn, invoice_id: i64) -> Result<Vec<ActivityRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT occurred_at, action, actor_kind FROM audit_events WHERE subject = $1
         ORDER BY occurred_at DESC LIMIT 50",
    )
    .bind(format!("invoice:{invoice_id}"))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ActivityRow {
                at: decode(r, "audit_events", "occurred_at")?,
                action: r.try_get("action")?,
                actor_kind: r.try_get("actor_kind")?,
            })
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct Document {
    pub content_type: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Whether the ERP sent a PDF with the invoice (without reading it).
pub async fn has_original_document(conn: &mut Conn, invoice_id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 AS present FROM invoice_documents WHERE invoice_id = $1")
        .bind(invoice_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// The PDF the ERP sent with the invoice, if it sent one.
pub async fn original_document(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Option<Document>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT content_type, file_name, bytes FROM invoice_documents WHERE invoice_id = $1",
    )
    .bind(invoice_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Document {
        content_type: r.get("content_type"),
        file_name: r.get("file_name"),
        bytes: r.get("bytes"),
    }))
}
