//! `portal seed-scale`: a large database for benchmarks, fast. Invoices are
//! spread evenly over the customers (a 1,000,000-invoice database with 200
//! customers gives each one 5,000), dated over the last three years, most
//! past ones paid. Rows go in with multi-row INSERTs of explicit ids inside
//! large transactions; settlement columns are written with the allocations
//! they summarise, so the result is the same as the portal's own writes.

use chrono::{Duration, NaiveDate};
use sqlx::Row;

use crate::db::{date_text, ts, Backend};
use crate::domain::{invoice_standing, InvoiceFacts};
use crate::services::Services;
// The demo's SplitMix64: deterministic data for comparable runs.
use crate::seed::Rng;

/// Invoices per INSERT statement (PostgreSQL allows 65,535 parameters).
const BATCH: usize = 1_000;

#[derive(Clone, Copy, Debug)]
pub struct ScaleSpec {
    pub customers: usize,
    pub invoices: usize,
}

#[derive(Clone, Debug, Default)]
pub struct ScaleSummary {
    pub customers: usize,
    pub invoices: usize,
    pub payments: usize,
    /// Email of the first scale customer's contact, to sign in as.
    pub sample_contact: String,
    pub sample_customer_id: i64,
}

async fn next_id(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    column: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT CAST(COALESCE(MAX({column}), 0) AS BIGINT) AS m FROM {table}"
    ))
    .fetch_one(conn)
    .await?;
    Ok(row.get::<i64, _>("m") + 1)
}

/// Placeholders `($1, $2, ...), (...)` for `rows` rows of `cols` columns.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

enum V {
    I(i64),
    T(String),
    /// A NULL text.
    N,
    /// A NULL integer (PostgreSQL types the parameter by what is bound).
    NI,
}

async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    cols: usize,
    rows: &[Vec<V>],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let text = format!("{head} VALUES {}", values(rows.len(), cols));
    let mut q = sqlx::query(&text);
    for row in rows {
        for v in row {
            q = match v {
                V::I(i) => q.bind(*i),
                V::T(t) => q.bind(t.as_str()),
                V::N => q.bind(None::<String>),
                V::NI => q.bind(None::<i64>),
            };
        }
    }
    q.execute(conn).await?;
    Ok(())
}

/// Fills the database; `progress(done, total)` is called after each batch.
pub async fn seed_scale(
    services: &Services,
    spec: ScaleSpec,
    progress: impl Fn(usize, usize),
) -> Result<ScaleSummary, sqlx::Error> {
    let db = &services.db;
    let pg = db.backend() == Backend::Postgres;
    // PostgreSQL identity columns take explicit ids only when asked to.
    let overriding = if pg { " OVERRIDING SYSTEM VALUE" } else { "" };
    let now = services.clock.now();
    let today = now.date_naive();
    let mut rng = Rng(0x5CA1_E000 + spec.invoices as u64);
    let mut summary = ScaleSummary::default();

    let mut conn = db.pool.acquire().await?;
    let first_customer = next_id(&mut conn, "customers", "customer_id").await?;
    let first_contact = next_id(&mut conn, "contacts", "contact_id").await?;
    let mut invoice_id = next_id(&mut conn, "invoices", "invoice_id").await?;
    let mut line_id = next_id(&mut conn, "invoice_lines", "invoice_line_id").await?;
    let mut payment_id = next_id(&mut conn, "payments", "payment_id").await?;
    drop(conn);

    let run = format!("{:x}", now.timestamp());
    let mut tx = db.begin_write().await?;
    let mut customers = Vec::new();
    let mut contacts = Vec::new();
    let mut members = Vec::new();
    for i in 0..spec.customers {
        let customer_id = first_customer + i as i64;
        let contact_id = first_contact + i as i64;
        customers.push(vec![
            V::I(customer_id),
            V::T(format!("scale-{run}-{i}")),
            V::T(format!("Scale Customer {i} ({run})")),
            V::T("USD".into()),
            V::I(30),
            V::T(ts(now)),
        ]);
        let email = format!("ap{i}-{run}@scale.example");
        if i == 0 {
            summary.sample_contact = email.clone();
            summary.sample_customer_id = customer_id;
        }
        contacts.push(vec![
            V::I(contact_id),
            V::T(email),
            V::T(format!("AP Clerk {i}")),
            V::T(ts(now)),
        ]);
        members.push(vec![
            V::I(customer_id),
            V::I(contact_id),
            V::T("admin".into()),
            V::T(ts(now)),
        ]);
    }
    for chunk in customers.chunks(BATCH) {
        insert_rows(&mut tx, &format!("INSERT INTO customers (customer_id, external_id, name, currency, payment_terms_days, created_at){overriding}"), 6, chunk).await?;
    }
    for chunk in contacts.chunks(BATCH) {
        insert_rows(
            &mut tx,
            &format!("INSERT INTO contacts (contact_id, email, name, created_at){overriding}"),
            4,
            chunk,
        )
        .await?;
    }
    for chunk in members.chunks(BATCH) {
        insert_rows(
            &mut tx,
            "INSERT INTO customer_contacts (customer_id, contact_id, role, created_at)",
            4,
            chunk,
        )
        .await?;
    }
    summary.customers = spec.customers;

    let per_customer = spec.invoices / spec.customers.max(1);
    let total = per_customer * spec.customers;
    let span_days = 3 * 365;
    let mut done = 0;
    let mut batch_invoices = Vec::with_capacity(BATCH);
    let mut batch_lines = Vec::with_capacity(BATCH);
    let mut batch_payments = Vec::new();
    let mut batch_allocations = Vec::new();
    for c in 0..spec.customers {
        let customer_id = first_customer + c as i64;
        for k in 0..per_customer {
            // Evenly over three years, newest last, with a little jitter.
            let age =
                span_days - (k as i64 * span_days / per_customer as i64) - rng.below(3) as i64;
            let issue: NaiveDate = today - Duration::days(age.max(0));
            let due = issue + Duration::days(30);
            let amount = 5_000 + rng.below(2_000_000) as i64;
            let tax = amount * 8 / 100;
            let total_minor = amount + tax;
            let overdue = due < today;
            let roll = rng.below(100);
            let paid = if overdue {
                match roll {
                    0..=91 => total_minor,
                    92..=95 => total_minor / 3,
                    _ => 0,
                }
            } else {
                match roll {
                    0..=14 => total_minor,
                    15..=24 => total_minor / 2,
                    _ => 0,
                }
            };
            let number = format!("S{run}-{c:05}-{k:06}");
            let standing = invoice_standing(
                &InvoiceFacts {
                    total_minor,
                    paid_minor: paid,
                    credited_minor: 0,
                    due_date: due,
                    voided: false,
                },
                today,
            );
            batch_invoices.push(vec![
                V::I(invoice_id),
                V::I(customer_id),
                V::T(number),
                V::T(date_text(issue)),
                V::T(date_text(due)),
                if rng.below(10) < 7 {
                    V::T(format!("PO-{}", 10_000 + rng.below(90_000)))
                } else {
                    V::N
                },
                V::T("USD".into()),
                V::I(amount),
                V::I(tax),
                V::I(total_minor),
                V::I(paid),
                V::I(standing.balance_minor),
                V::T(ts(now)),
            ]);
            batch_lines.push(vec![
                V::I(line_id),
                V::I(invoice_id),
                V::I(1),
                V::T("Industrial supplies".into()),
                V::I(1_000),
                V::I(amount),
                V::I(800),
                V::I(amount),
                V::I(tax),
            ]);
            line_id += 1;
            if paid > 0 {
                let received = std::cmp::min(due, today)
                    .and_hms_opt(12, 0, 0)
                    .expect("valid")
                    .and_utc();
                let at = ts(received);
                batch_payments.push(vec![
                    V::I(payment_id),
                    V::I(customer_id),
                    V::T("USD".into()),
                    V::I(paid),
                    V::T("ach".into()),
                    V::T("succeeded".into()),
                    V::T(at.clone()),
                    V::T(at.clone()),
                    V::T(at),
                ]);
                batch_allocations.push(vec![V::I(payment_id), V::I(invoice_id), V::I(paid)]);
                payment_id += 1;
                summary.payments += 1;
            }
            invoice_id += 1;
            done += 1;
            if batch_invoices.len() == BATCH || done == total {
                insert_rows(&mut tx, &format!("INSERT INTO invoices (invoice_id, customer_id, number, issue_date, due_date, po_number, currency, subtotal_minor, tax_minor, total_minor, paid_minor, balance_minor, created_at){overriding}"), 13, &batch_invoices).await?;
                insert_rows(&mut tx, &format!("INSERT INTO invoice_lines (invoice_line_id, invoice_id, position, description, quantity_milli, unit_price_minor, tax_rate_bp, amount_minor, tax_minor){overriding}"), 9, &batch_lines).await?;
                insert_rows(&mut tx, &format!("INSERT INTO payments (payment_id, customer_id, currency, amount_minor, method, status, received_at, created_at, updated_at){overriding}"), 9, &batch_payments).await?;
                insert_rows(
                    &mut tx,
                    "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor)",
                    3,
                    &batch_allocations,
                )
                .await?;
                batch_invoices.clear();
                batch_lines.clear();
                batch_payments.clear();
                batch_allocations.clear();
                progress(done, total);
                // Commit every 100k invoices: bounded WAL / memory, and a
                // crash keeps what was written.
                if done % 100_000 == 0 {
                    tx.commit().await?;
                    tx = db.begin_write().await?;
                }
            }
        }
    }
    tx.commit().await?;
    summary.invoices = done;
    if pg {
        let mut conn = db.pool.acquire().await?;
        for (table, column) in [
            ("customers", "customer_id"),
            ("contacts", "contact_id"),
            ("invoices", "invoice_id"),
            ("invoice_lines", "invoice_line_id"),
            ("payments", "payment_id"),
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), (SELECT MAX({column}) FROM {table}))"
            ))
            .execute(&mut *conn)
            .await?;
        }
        // VACUUM sets the visibility map, so counts can be index-only scans.
        sqlx::query("VACUUM ANALYZE").execute(&mut *conn).await?;
    } else {
        let mut conn = db.pool.acquire().await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
    }
    Ok(summary)
}

/// What `seed_scale_requests` added.
#[derive(Clone, Debug, Default)]
pub struct ScaleRequestsSummary {
    pub requests: usize,
    /// Of them, waiting on the customer.
    pub waiting: usize,
    /// Customers that got at least one.
    pub customers: usize,
    /// SLA alerts their clocks already called for, recorded as sent.
    pub alerts: usize,
}

/// The story of one benchmark request, as its events.
fn request_story(
    rng: &mut Rng,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<crate::domain::sla::SlaEvent>, &'static str) {
    use crate::domain::sla::{Priority, SlaEvent, SlaEventKind};
    // Opened in the last two weeks, any time of day (customers write at
    // night too); what followed is spread between then and now.
    let age = 5 + rng.below(14 * 24 * 60) as i64;
    let opened = now - Duration::minutes(age);
    let at = |rng: &mut Rng, share_from: i64, share_to: i64| {
        let from = age * share_from / 100;
        let to = age * share_to / 100;
        opened + Duration::minutes(from + rng.below((to - from).max(1) as u64) as i64)
    };
    let priority = match rng.below(20) {
        0 => Priority::Urgent,
        1..=3 => Priority::High,
        4..=5 => Priority::Low,
        _ => Priority::Normal,
    };
    let mut events = vec![SlaEvent::new(opened, SlaEventKind::Opened { priority })];
    let roll = rng.below(100);
    let status = match roll {
        // Nobody answered yet.
        0..=34 => "open",
        // Answered; the resolution runs.
        35..=59 => {
            events.push(SlaEvent::new(at(rng, 5, 60), SlaEventKind::StaffReplied));
            "open"
        }
        // Answered, then the customer wrote: a next response runs.
        60..=74 => {
            events.push(SlaEvent::new(at(rng, 5, 40), SlaEventKind::StaffReplied));
            events.push(SlaEvent::new(
                at(rng, 50, 90),
                SlaEventKind::CustomerMessaged,
            ));
            "open"
        }
        // Answered and waiting on the customer.
        75..=94 => {
            events.push(SlaEvent::new(at(rng, 5, 50), SlaEventKind::StaffReplied));
            events.push(SlaEvent::new(
                at(rng, 55, 95),
                SlaEventKind::WaitingOnCustomer,
            ));
            "waiting_on_customer"
        }
        // Raised to high priority by AR, not answered yet.
        _ => {
            events.push(SlaEvent::new(
                at(rng, 5, 50),
                SlaEventKind::PriorityChanged {
                    priority: Priority::High,
                },
            ));
            "open"
        }
    };
    (events, status)
}

/// Adds `count` open disputes to the scale customers' unpaid invoices (at
/// most one per invoice, spread over all customers), with their opening
/// message, AR's replies and their SLA events, for the AR queue benchmark.
/// Multi-row INSERTs of explicit ids in one transaction: seconds for
/// 10,000. The disputed amounts are held on their invoices as the
/// portal's own writes would, and the SLA alerts their clocks already call
/// for are recorded as sent (a live portal would have sent them), so
/// serving the benchmark database does not mail thousands of alerts.
pub async fn seed_scale_requests(
    services: &Services,
    count: usize,
) -> Result<ScaleRequestsSummary, crate::ServiceError> {
    use crate::domain::request::RequestKind;
    use crate::services::sla_alerts::due_alerts;

    let db = &services.db;
    let pg = db.backend() == Backend::Postgres;
    let overriding = if pg { " OVERRIDING SYSTEM VALUE" } else { "" };
    let now = services.clock.now();
    let settings = services.sla_settings().await?;
    let mut rng = Rng(0x0A11_CE00 + count as u64);
    let mut summary = ScaleRequestsSummary::default();

    let mut conn = db.pool.acquire().await?;
    // Unpaid invoices of the scale customers without an open dispute, by
    // customer: a stride over them spreads the requests over everyone.
    let invoices = sqlx::query(
        "SELECT i.invoice_id, i.customer_id, i.balance_minor, i.currency FROM invoices i
         JOIN customers c ON c.customer_id = i.customer_id
         WHERE c.external_id LIKE 'scale-%' AND i.balance_minor > 0 AND i.voided_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.invoice_id = i.invoice_id
                           AND r.status IN ('open', 'waiting_on_customer'))
         ORDER BY i.invoice_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let contacts: std::collections::HashMap<i64, i64> = sqlx::query(
        "SELECT cc.customer_id, MIN(cc.contact_id) AS contact_id FROM customer_contacts cc
         JOIN customers c ON c.customer_id = cc.customer_id
         WHERE c.external_id LIKE 'scale-%' GROUP BY cc.customer_id",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        (
            r.get::<i64, _>("customer_id"),
            r.get::<i64, _>("contact_id"),
        )
    })
    .collect();
    let staff: Vec<i64> =
        sqlx::query("SELECT staff_id FROM staff_users WHERE disabled_at IS NULL ORDER BY staff_id")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.get::<i64, _>("staff_id"))
            .collect();
    let reasons: Vec<i64> = sqlx::query(
        "SELECT reason_id FROM request_reasons WHERE retired_at IS NULL ORDER BY position",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.get::<i64, _>("reason_id"))
    .collect();
    let mut request_id = next_id(&mut conn, "requests", "request_id").await?;
    let mut message_id = next_id(&mut conn, "request_messages", "message_id").await?;
    let mut event_id = next_id(&mut conn, "request_events", "event_id").await?;
    drop(conn);
    let first_request = request_id;

    let stride = (invoices.len() / count.max(1)).max(1);
    let chosen = invoices.iter().step_by(stride).take(count);
    let mut requests = Vec::new();
    let mut messages = Vec::new();
    let mut events = Vec::new();
    let mut alerts = Vec::new();
    let mut customers = std::collections::HashSet::new();
    for invoice in chosen {
        let customer_id: i64 = invoice.get("customer_id");
        let Some(&contact_id) = contacts.get(&customer_id) else {
            continue;
        };
        let balance: i64 = invoice.get("balance_minor");
        let (story, status) = request_story(&mut rng, now);
        let (scope, disputed) = if rng.below(3) == 0 {
            ("amount", (balance / 2).max(1))
        } else {
            ("invoice", balance)
        };
        let assignee = if !staff.is_empty() && rng.below(10) < 4 {
            V::I(staff[rng.below(staff.len() as u64) as usize])
        } else {
            V::NI
        };
        let staff_author = staff.first().copied().unwrap_or(0);
        let priority = match story[0].kind {
            crate::domain::sla::SlaEventKind::Opened { priority } => priority,
            _ => unreachable!("a story starts with its opening"),
        };
        // The priority a change set is the request's current one.
        let priority = story
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                crate::domain::sla::SlaEventKind::PriorityChanged { priority } => Some(priority),
                _ => None,
            })
            .unwrap_or(priority);
        requests.push(vec![
            V::I(request_id),
            V::I(customer_id),
            V::T("dispute".into()),
            V::T(status.into()),
            V::T(priority.to_string()),
            V::I(reasons[rng.below(reasons.len() as u64) as usize]),
            V::I(invoice.get("invoice_id")),
            V::T(scope.into()),
            V::I(disputed),
            V::T(invoice.get::<String, _>("currency")),
            assignee,
            V::I(contact_id),
            V::T(ts(story[0].at)),
        ]);
        for event in &story {
            use crate::domain::sla::SlaEventKind as K;
            let message = match event.kind {
                K::Opened { .. } => Some(("contact", contact_id, "The quantity billed does not match what we received; please check the delivery.")),
                K::StaffReplied => Some(("staff", staff_author, "Thank you, we are checking this with the warehouse and will come back to you.")),
                K::CustomerMessaged => Some(("contact", contact_id, "Any news? Our month-end close is coming up.")),
                _ => None,
            };
            if let Some((author_kind, author_id, body)) = message {
                messages.push(vec![
                    V::I(message_id),
                    V::I(request_id),
                    V::T(author_kind.into()),
                    V::I(author_id),
                    V::T("customer".into()),
                    V::T(body.into()),
                    V::T(ts(event.at)),
                ]);
                message_id += 1;
            }
            let detail = serde_json::to_value(event)
                .map_err(|e| crate::ServiceError::internal("an SLA event as JSON", e))?;
            events.push(vec![
                V::I(event_id),
                V::I(request_id),
                V::T(ts(event.at)),
                V::T(detail["event"].as_str().unwrap_or_default().to_owned()),
                V::T(detail.to_string()),
            ]);
            event_id += 1;
        }
        let clock = crate::domain::sla::sla_clock(
            &settings.calendar,
            &settings.policies,
            &RequestKind::Dispute.sla_kind(),
            &story,
            now,
        )
        .map_err(|e| crate::ServiceError::internal("a scale request's SLA clock", e))?;
        for (target, level, _) in due_alerts(&clock) {
            let (name, number, level) = crate::services::sla_alerts::alert_columns(target, level);
            alerts.push(vec![
                V::I(request_id),
                V::T(name.into()),
                V::I(number),
                V::T(level.into()),
                V::I(0),
                V::T(ts(now)),
            ]);
        }
        if status == "waiting_on_customer" {
            summary.waiting += 1;
        }
        customers.insert(customer_id);
        request_id += 1;
        summary.requests += 1;
    }

    let mut tx = db.begin_write().await?;
    for chunk in requests.chunks(BATCH) {
        insert_rows(&mut tx, &format!("INSERT INTO requests (request_id, customer_id, kind, status, priority, reason_id, invoice_id, scope, disputed_minor, currency, assignee_staff_id, opened_by_contact_id, opened_at){overriding}"), 13, chunk).await?;
    }
    for chunk in messages.chunks(BATCH) {
        insert_rows(&mut tx, &format!("INSERT INTO request_messages (message_id, request_id, author_kind, author_id, visibility, body, created_at){overriding}"), 7, chunk).await?;
    }
    for chunk in events.chunks(BATCH) {
        insert_rows(
            &mut tx,
            &format!(
                "INSERT INTO request_events (event_id, request_id, at, event, detail){overriding}"
            ),
            5,
            chunk,
        )
        .await?;
    }
    for chunk in alerts.chunks(BATCH) {
        insert_rows(&mut tx, "INSERT INTO sla_alerts (request_id, target, target_number, level, recipients, queued_at)", 6, chunk).await?;
    }
    // The hold of the new disputes (migration 0009's statement, for them).
    sqlx::query(
        "UPDATE invoices SET disputed_minor = (
             SELECT CAST(COALESCE(SUM(r.disputed_minor), 0) AS BIGINT) FROM requests r
             WHERE r.invoice_id = invoices.invoice_id AND r.kind = 'dispute'
               AND r.status IN ('open', 'waiting_on_customer'))
         WHERE invoice_id IN (SELECT r.invoice_id FROM requests r WHERE r.request_id >= $1)",
    )
    .bind(first_request)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    summary.customers = customers.len();
    summary.alerts = alerts.len();
    // The queue's cached SLA positions (migration 0010), folded now by the
    // queue's own code rather than by the first reader.
    services.refresh_sla_positions().await?;

    let mut conn = db.pool.acquire().await?;
    if pg {
        for (table, column) in [
            ("requests", "request_id"),
            ("request_messages", "message_id"),
            ("request_events", "event_id"),
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), (SELECT MAX({column}) FROM {table}))"
            ))
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query("ANALYZE requests, request_events, request_messages, sla_alerts, invoices")
            .execute(&mut *conn)
            .await?;
    } else {
        for table in [
            "requests",
            "request_events",
            "request_messages",
            "sla_alerts",
        ] {
            sqlx::query(&format!("ANALYZE {table}"))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(summary)
}
