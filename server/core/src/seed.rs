//! `portal seed-demo`: believable demo data. Deterministic (a fixed seed),
//! dated relative to today so the demo always has current, due-soon and
//! overdue invoices, and safe to run twice (it does nothing the second time).

use chrono::{Duration, NaiveDate};
use sqlx::Row;

use crate::db::{date_text, ts, Db};
use crate::domain::{Currency, StaffRole};
use crate::services::Services;

/// Small deterministic generator (SplitMix64): the demo (and the scale
/// data, `seed_scale`) must not change between runs or crate upgrades.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct DemoCustomer {
    key: &'static str,
    name: &'static str,
    currency: Currency,
    invoices: usize,
    /// Share of invoices billed in EUR for a USD account (and vice versa).
    other_currency_percent: u64,
    segment: &'static str,
}

const CUSTOMERS: &[DemoCustomer] = &[
    DemoCustomer {
        key: "northwind",
        name: "Northwind Traders",
        currency: Currency::USD,
        invoices: 100,
        other_currency_percent: 15,
        segment: "enterprise",
    },
    DemoCustomer {
        key: "holding-eu",
        name: "Holding Europe GmbH",
        currency: Currency::EUR,
        invoices: 70,
        other_currency_percent: 0,
        segment: "mid-market",
    },
    DemoCustomer {
        key: "holding-us",
        name: "Holding Americas Inc.",
        currency: Currency::USD,
        invoices: 60,
        other_currency_percent: 0,
        segment: "mid-market",
    },
    DemoCustomer {
        key: "contoso",
        name: "Contoso Manufacturing",
        currency: Currency::USD,
        invoices: 70,
        other_currency_percent: 10,
        segment: "smb",
    },
];

/// A demo contact: email, name, and (customer key, role) memberships.
type DemoContact = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const CONTACTS: &[DemoContact] = &[
    (
        "ap@northwind.example",
        "Nadia Patel",
        &[("northwind", "admin")],
    ),
    (
        "payables@northwind.example",
        "Tom Okafor",
        &[("northwind", "payer")],
    ),
    (
        "controller@northwind.example",
        "Lena Fischer",
        &[("northwind", "viewer")],
    ),
    (
        "shared@holding.example",
        "Sam Moreau",
        &[("holding-eu", "admin"), ("holding-us", "payer")],
    ),
    (
        "eu.ap@holding.example",
        "Jonas Weber",
        &[("holding-eu", "payer")],
    ),
    (
        "us.ap@holding.example",
        "Maria Garcia",
        &[("holding-us", "payer")],
    ),
    ("ap@contoso.example", "Chris Lee", &[("contoso", "admin")]),
    (
        "finance@contoso.example",
        "Priya Nair",
        &[("contoso", "viewer")],
    ),
];

const STAFF: &[(&str, &str, StaffRole)] = &[
    ("ar@seller.example", "Alex Rivera", StaffRole::Admin),
    ("agent@seller.example", "Jordan Blake", StaffRole::Agent),
];

const PRODUCTS: &[(&str, i64)] = &[
    ("Industrial fasteners, box of 500", 4_850),
    ("Hydraulic hose assembly 3/4\"", 12_900),
    ("Safety gloves, case of 24 pairs", 7_425),
    ("Bearing kit SKF 6205", 3_310),
    ("Freight and handling", 18_000),
    ("Pallet wrap, 18\" x 1500'", 2_799),
    ("Maintenance service, hourly", 9_500),
    ("Conveyor belt section 2 m", 41_000),
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub customers: usize,
    pub contacts: usize,
    pub invoices: usize,
    pub payments: usize,
    pub credit_notes: usize,
    pub already_present: bool,
}

/// What happens to an invoice in the demo's story.
enum Fate {
    Open,
    Paid,
    PartlyPaid(u64),
    Credited,
    PartlyCredited(u64),
}

pub async fn seed_demo(services: &Services) -> Result<SeedSummary, sqlx::Error> {
    let db: &Db = &services.db;
    let now = services.clock.now();
    let today = now.date_naive();
    let mut tx = db.begin_write().await?;

    let exists =
        sqlx::query("SELECT COUNT(*) AS n FROM customers WHERE external_id = 'demo-northwind'")
            .fetch_one(&mut *tx)
            .await?;
    if exists.get::<i64, _>("n") > 0 {
        return Ok(SeedSummary {
            already_present: true,
            ..Default::default()
        });
    }

    let mut rng = Rng(0x5EED_2026);
    let mut summary = SeedSummary::default();
    let mut customer_ids = std::collections::HashMap::new();
    for c in CUSTOMERS {
        let row = sqlx::query(
            "INSERT INTO customers (external_id, name, currency, payment_terms_days, segment, created_at)
             VALUES ($1, $2, $3, 30, $4, $5) RETURNING customer_id",
        )
        .bind(format!("demo-{}", c.key))
        .bind(c.name)
        .bind(c.currency.code())
        .bind(c.segment)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        customer_ids.insert(c.key, row.get::<i64, _>("customer_id"));
        summary.customers += 1;
    }

    for (email, name, memberships) in CONTACTS {
        let row = sqlx::query("INSERT INTO contacts (email, name, created_at) VALUES ($1, $2, $3) RETURNING contact_id")
            .bind(email)
            .bind(name)
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
        let contact_id: i64 = row.get("contact_id");
        for (key, role) in *memberships {
            sqlx::query("INSERT INTO customer_contacts (customer_id, contact_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(customer_ids[key])
                .bind(contact_id)
                .bind(role)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
        }
        summary.contacts += 1;
    }

    for (email, name, role) in STAFF {
        crate::repo::accounts::upsert_staff(&mut tx, email, name, *role, now).await?;
    }

    // Invoices over the last 18 months, numbered in issue order per year.
    let mut planned: Vec<(&DemoCustomer, NaiveDate, Currency)> = Vec::new();
    for c in CUSTOMERS {
        for _ in 0..c.invoices {
            let issue = today - Duration::days(rng.below(548) as i64);
            let other = if c.currency == Currency::USD {
                Currency::EUR
            } else {
                Currency::USD
            };
            let currency = if rng.chance(c.other_currency_percent) {
                other
            } else {
                c.currency
            };
            planned.push((c, issue, currency));
        }
    }
    // Make the story's edges certain: the main demo account has one invoice
    // overdue by exactly 1 day and one by exactly 120 days.
    planned[0].1 = today - Duration::days(31);
    planned[1].1 = today - Duration::days(150);
    planned.sort_by_key(|(c, issue, _)| (*issue, c.key));

    let mut sequence_by_year = std::collections::HashMap::new();
    for (index, (customer, issue, currency)) in planned.iter().enumerate() {
        let customer_id = customer_ids[customer.key];
        let due = *issue + Duration::days(30);
        let seq = sequence_by_year
            .entry(issue.format("%Y").to_string())
            .or_insert(0u32);
        *seq += 1;
        let number = format!("INV-{}-{:05}", issue.format("%Y"), seq);

        // Lines and totals.
        let tax_rate_bp: i64 = if *currency == Currency::EUR {
            1900
        } else {
            825
        };
        let line_count = 1 + rng.below(4) as usize;
        let mut lines = Vec::new();
        let (mut subtotal, mut tax) = (0i64, 0i64);
        for position in 0..line_count {
            let (description, unit) = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
            let quantity_milli = (1 + rng.below(40) as i64) * 1000;
            let amount = unit * quantity_milli / 1000;
            let line_tax = (amount * tax_rate_bp + 5_000) / 10_000;
            subtotal += amount;
            tax += line_tax;
            lines.push((
                position as i64 + 1,
                description,
                quantity_milli,
                unit,
                amount,
                line_tax,
            ));
        }
        let total = subtotal + tax;
        let po = rng
            .chance(70)
            .then(|| format!("PO-{}", 40_000 + rng.below(9_999)));
        let row = sqlx::query(
            "INSERT INTO invoices (customer_id, number, external_id, issue_date, due_date, po_number, currency,
                                   subtotal_minor, tax_minor, total_minor, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING invoice_id",
        )
        .bind(customer_id)
        .bind(&number)
        .bind(format!("erp-{}", 900_000 + index))
        .bind(date_text(*issue))
        .bind(date_text(due))
        .bind(po)
        .bind(currency.code())
        .bind(subtotal)
        .bind(tax)
        .bind(total)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        let invoice_id: i64 = row.get("invoice_id");
        for (position, description, quantity_milli, unit, amount, line_tax) in lines {
            sqlx::query(
                "INSERT INTO invoice_lines (invoice_id, position, description, quantity_milli, unit_price_minor, tax_rate_bp, amount_minor, tax_minor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(invoice_id)
            .bind(position)
            .bind(description)
            .bind(quantity_milli)
            .bind(unit)
            .bind(tax_rate_bp)
            .bind(amount)
            .bind(line_tax)
            .execute(&mut *tx)
            .await?;
        }
        summary.invoices += 1;

        let days_overdue = (today - due).num_days();
        let fate = if days_overdue > 120 {
            // Nothing in the demo is overdue by more than 120 days.
            match rng.below(100) {
                0..=91 => Fate::Paid,
                92..=95 => Fate::Credited,
                _ => Fate::PartlyCredited(40),
            }
        } else if days_overdue >= 1 {
            match rng.below(100) {
                0..=54 => Fate::Paid,
                55..=79 => Fate::Open,
                80..=91 => Fate::PartlyPaid(20 + rng.below(60)),
                92..=95 => Fate::Credited,
                _ => Fate::PartlyCredited(10 + rng.below(30)),
            }
        } else {
            match rng.below(100) {
                0..=69 => Fate::Open,
                70..=84 => Fate::PartlyPaid(20 + rng.below(60)),
                _ => Fate::Paid,
            }
        };
        // The two certain edges stay open.
        let fate = if index_is_edge(&planned, index, today) {
            Fate::Open
        } else {
            fate
        };

        let pay_date = std::cmp::min(
            due - Duration::days(rng.below(20) as i64) + Duration::days(rng.below(25) as i64),
            today,
        );
        let paid_at = ts(pay_date
            .and_hms_opt(15, 0, 0)
            .expect("valid time")
            .and_utc());
        let pay = |amount: i64| (amount, paid_at.clone());
        let mut payment = None;
        let mut credit = None;
        match fate {
            Fate::Open => {}
            Fate::Paid => payment = Some(pay(total)),
            Fate::PartlyPaid(percent) => payment = Some(pay(total * percent as i64 / 100)),
            Fate::Credited => credit = Some(total),
            Fate::PartlyCredited(percent) => {
                let credited = total * percent as i64 / 100;
                credit = Some(credited);
                payment = Some(pay(total - credited));
            }
        }
        if let Some((amount, received_at)) = payment.filter(|(a, _)| *a > 0) {
            let method = ["ach", "card", "bank_transfer", "check"][rng.below(4) as usize];
            let reference = match method {
                "check" => Some(format!("Check #{}", 10_000 + rng.below(89_999))),
                "bank_transfer" => Some(format!("Wire {}", 700_000 + rng.below(99_999))),
                _ => None,
            };
            let row = sqlx::query(
                "INSERT INTO payments (customer_id, currency, amount_minor, method, status, reference, gateway, received_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'succeeded', $5, $6, $7, $7, $7) RETURNING payment_id",
            )
            .bind(customer_id)
            .bind(currency.code())
            .bind(amount)
            .bind(method)
            .bind(reference)
            .bind(if matches!(method, "ach" | "card") { Some("stripe") } else { None })
            .bind(received_at)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) VALUES ($1, $2, $3)")
                .bind(row.get::<i64, _>("payment_id"))
                .bind(invoice_id)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
            summary.payments += 1;
        }
        if let Some(amount) = credit.filter(|a| *a > 0) {
            let reason = [
                "Damaged goods returned",
                "Pricing correction",
                "Short shipment",
                "Goodwill credit",
            ][rng.below(4) as usize];
            let row = sqlx::query(
                "INSERT INTO credit_notes (customer_id, number, currency, amount_minor, reason, issue_date, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING credit_note_id",
            )
            .bind(customer_id)
            .bind(format!("CN-{}", number.trim_start_matches("INV-")))
            .bind(currency.code())
            .bind(amount)
            .bind(reason)
            .bind(date_text(std::cmp::min(due, today)))
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO credit_allocations (credit_note_id, invoice_id, amount_minor, applied_at) VALUES ($1, $2, $3, $4)")
                .bind(row.get::<i64, _>("credit_note_id"))
                .bind(invoice_id)
                .bind(amount)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            summary.credit_notes += 1;
        }
        crate::repo::invoices::refresh_settlement(&mut tx, invoice_id).await?;
    }
    tx.commit().await?;
    Ok(summary)
}

/// The two Northwind invoices placed at exactly 1 and 120 days overdue.
fn index_is_edge(
    planned: &[(&DemoCustomer, NaiveDate, Currency)],
    index: usize,
    today: NaiveDate,
) -> bool {
    let (customer, issue, _) = &planned[index];
    customer.key == "northwind"
        && (*issue == today - Duration::days(31) || *issue == today - Duration::days(150))
}
