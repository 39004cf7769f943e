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
    seed_world_customers(&mut tx, now, today, &mut summary).await?;
    seed_discount_terms(&mut tx, now, today, &mut summary).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Early-payment discounts (issue 13 item 7): Northwind pays on "2/10 net
/// 30", and one of its invoices, issued 3 days ago for $1,199.99, is
/// offered "Pay by … and save $24.00 (7 days left)". Numbered in a series
/// of its own (INV-YYYY-8xxxx) after everything else, so the rest of the
/// demo keeps its ids and numbers. Its other invoices were issued before
/// the terms were agreed: they carry their own "no discount" terms.
async fn seed_discount_terms(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    now: chrono::DateTime<chrono::Utc>,
    today: NaiveDate,
    summary: &mut SeedSummary,
) -> Result<(), sqlx::Error> {
    let customer_id: i64 =
        sqlx::query("SELECT customer_id FROM customers WHERE external_id = 'demo-northwind'")
            .fetch_one(&mut **tx)
            .await?
            .get("customer_id");
    sqlx::query("UPDATE invoices SET discount_bp = 0 WHERE customer_id = $1")
        .bind(customer_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE customers SET discount_bp = 200, discount_days = 10 WHERE customer_id = $1",
    )
    .bind(customer_id)
    .execute(&mut **tx)
    .await?;
    let issue = today - Duration::days(3);
    let due = issue + Duration::days(30);
    let number = format!("INV-{}-{:05}", issue.format("%Y"), 80_001);
    // 2 pallets of copier paper at $554.27 plus 8.25% tax: $1,199.99 (2%: $24.00).
    let (quantity_milli, unit, amount, tax) = (2_000i64, 55_427i64, 110_854i64, 9_145i64);
    let invoice_id: i64 = sqlx::query(
        "INSERT INTO invoices (customer_id, number, external_id, issue_date, due_date, po_number, currency,
                               subtotal_minor, tax_minor, total_minor, created_at)
         VALUES ($1, $2, 'erp-discount-1', $3, $4, 'PO-48810', 'USD', $5, $6, $7, $8) RETURNING invoice_id",
    )
    .bind(customer_id)
    .bind(&number)
    .bind(date_text(issue))
    .bind(date_text(due))
    .bind(amount)
    .bind(tax)
    .bind(amount + tax)
    .bind(ts(now))
    .fetch_one(&mut **tx)
    .await?
    .get("invoice_id");
    sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, position, description, quantity_milli, unit_price_minor, tax_rate_bp, amount_minor, tax_minor)
         VALUES ($1, 1, 'Copier paper, A4, pallet', $2, $3, 825, $4, $5)",
    )
    .bind(invoice_id)
    .bind(quantity_milli)
    .bind(unit)
    .bind(amount)
    .bind(tax)
    .execute(&mut **tx)
    .await?;
    crate::repo::invoices::refresh_settlement(tx, invoice_id).await?;
    summary.invoices += 1;
    Ok(())
}

/// A customer abroad (issue 15): name, contact and invoice lines in their
/// own script, so the served portal and its PDFs show every script.
struct WorldCustomer {
    key: &'static str,
    name: &'static str,
    currency: &'static str,
    /// The customer's language: its documents' /Lang (BCP 47).
    language: &'static str,
    tax_rate_bp: i64,
    contact: (&'static str, &'static str),
    /// (description, unit price in minor units, quantity)
    lines: &'static [(&'static str, i64, i64)],
}

const WORLD_CUSTOMERS: &[WorldCustomer] = &[
    WorldCustomer {
        key: "lodz",
        name: "Zakłady Łódź Sp. z o.o.",
        currency: "PLN",
        language: "pl",
        tax_rate_bp: 2300,
        contact: ("zamowienia@zaklady-lodz.example", "Małgorzata Wiśniewska"),
        lines: &[
            ("Przewóz Łódź–Gdańsk, 東京 delivery", 184_000, 1),
            ("Łożyska kulkowe SKF 6205, zestaw", 12_950, 12),
        ],
    },
    WorldCustomer {
        key: "tokyo",
        name: "株式会社東京ロジスティクス",
        currency: "JPY",
        language: "ja",
        tax_rate_bp: 1000,
        contact: ("keiri@tokyo-logistics.example", "佐藤 花子"),
        lines: &[
            ("油圧ホース 3/4インチ", 8_800, 10),
            ("配送料（東京都内）", 3_300, 1),
        ],
    },
    WorldCustomer {
        key: "telaviv",
        name: "חברת תל אביב לסחר בע״מ",
        currency: "ILS",
        language: "he",
        tax_rate_bp: 1700,
        contact: ("ap@telaviv-trade.example", "נועה כהן"),
        lines: &[
            ("כפפות בטיחות, 24 זוגות", 21_900, 6),
            ("Freight – משלוח לחיפה", 45_000, 1),
        ],
    },
    WorldCustomer {
        key: "athens",
        name: "Ελληνικά Εμπορικά Α.Ε.",
        currency: "EUR",
        language: "el",
        tax_rate_bp: 2400,
        contact: ("logistirio@ellinika.example", "Γιώργος Παπαδόπουλος"),
        lines: &[
            ("Ρουλεμάν SKF 6205", 3_100, 20),
            ("Μεταφορικά Πειραιάς – Θεσσαλονίκη", 26_000, 1),
        ],
    },
];

/// The world customers, each with an admin contact, an invoice paid a
/// little late (so a receipt) and an open one. Added after everything else
/// and numbered in a series of their own (INV-YYYY-9xxxx), so the rest of
/// the demo keeps its ids and numbers.
async fn seed_world_customers(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    now: chrono::DateTime<chrono::Utc>,
    today: NaiveDate,
    summary: &mut SeedSummary,
) -> Result<(), sqlx::Error> {
    let mut sequence = 90_000;
    for c in WORLD_CUSTOMERS {
        let customer_id: i64 = sqlx::query(
            "INSERT INTO customers (external_id, name, currency, payment_terms_days, segment, language, created_at)
             VALUES ($1, $2, $3, 30, 'smb', $4, $5) RETURNING customer_id",
        )
        .bind(format!("demo-{}", c.key))
        .bind(c.name)
        .bind(c.currency)
        .bind(c.language)
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await?
        .get("customer_id");
        summary.customers += 1;
        let (email, name) = c.contact;
        let contact_id: i64 = sqlx::query(
            "INSERT INTO contacts (email, name, created_at) VALUES ($1, $2, $3) RETURNING contact_id",
        )
        .bind(email)
        .bind(name)
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await?
        .get("contact_id");
        sqlx::query("INSERT INTO customer_contacts (customer_id, contact_id, role, created_at) VALUES ($1, $2, 'admin', $3)")
            .bind(customer_id)
            .bind(contact_id)
            .bind(ts(now))
            .execute(&mut **tx)
            .await?;
        summary.contacts += 1;

        // Issued 40 days ago and paid; issued 5 days ago and open.
        for (age, paid) in [(40, true), (5, false)] {
            sequence += 1;
            let issue = today - Duration::days(age);
            let due = issue + Duration::days(30);
            let number = format!("INV-{}-{sequence:05}", issue.format("%Y"));
            let lines: Vec<(i64, &str, i64, i64, i64, i64)> = c
                .lines
                .iter()
                .enumerate()
                .map(|(i, (description, unit, quantity))| {
                    let amount = unit * quantity;
                    let tax = (amount * c.tax_rate_bp + 5_000) / 10_000;
                    (
                        i as i64 + 1,
                        *description,
                        quantity * 1000,
                        *unit,
                        amount,
                        tax,
                    )
                })
                .collect();
            let subtotal: i64 = lines.iter().map(|l| l.4).sum();
            let tax: i64 = lines.iter().map(|l| l.5).sum();
            let invoice_id: i64 = sqlx::query(
                "INSERT INTO invoices (customer_id, number, external_id, issue_date, due_date, po_number, currency,
                                       subtotal_minor, tax_minor, total_minor, created_at)
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10) RETURNING invoice_id",
            )
            .bind(customer_id)
            .bind(&number)
            .bind(format!("erp-{}-{sequence}", c.key))
            .bind(date_text(issue))
            .bind(date_text(due))
            .bind(c.currency)
            .bind(subtotal)
            .bind(tax)
            .bind(subtotal + tax)
            .bind(ts(now))
            .fetch_one(&mut **tx)
            .await?
            .get("invoice_id");
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
                .bind(c.tax_rate_bp)
                .bind(amount)
                .bind(line_tax)
                .execute(&mut **tx)
                .await?;
            }
            summary.invoices += 1;
            if paid {
                let received_at = ts((due + Duration::days(2))
                    .and_hms_opt(10, 0, 0)
                    .expect("valid time")
                    .and_utc());
                let payment_id: i64 = sqlx::query(
                    "INSERT INTO payments (customer_id, currency, amount_minor, method, status, reference, gateway, received_at, created_at, updated_at)
                     VALUES ($1, $2, $3, 'bank_transfer', 'succeeded', $4, NULL, $5, $5, $5) RETURNING payment_id",
                )
                .bind(customer_id)
                .bind(c.currency)
                .bind(subtotal + tax)
                .bind(format!("Wire {}", 800_000 + sequence))
                .bind(received_at)
                .fetch_one(&mut **tx)
                .await?
                .get("payment_id");
                sqlx::query("INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) VALUES ($1, $2, $3)")
                    .bind(payment_id)
                    .bind(invoice_id)
                    .bind(subtotal + tax)
                    .execute(&mut **tx)
                    .await?;
                summary.payments += 1;
            }
            crate::repo::invoices::refresh_settlement(&mut **tx, invoice_id).await?;
        }
    }
    Ok(())
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

// ---------------------------------------------------------------------------
// Demo requests (issue 11 item 8)
// ---------------------------------------------------------------------------

/// What `seed_demo_requests` made.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DemoRequestsSummary {
    pub disputes: usize,
    pub already_present: bool,
}

/// The instant `minutes` business minutes before `now` in `calendar`: the
/// latest instant from which exactly that much business time has passed,
/// so a dispute "opened 330 business minutes ago" is breached whatever
/// the hour or weekday the demo is seeded at. Business time from `t` to
/// `now` only shrinks as `t` moves towards `now`, so a binary search to the
/// second finds it.
fn business_ago(
    calendar: &crate::domain::sla::BusinessCalendar,
    now: chrono::DateTime<chrono::Utc>,
    minutes: i64,
) -> chrono::DateTime<chrono::Utc> {
    let need = Duration::minutes(minutes);
    let enough = |seconds_back: i64| {
        calendar.business_time_between(now - Duration::seconds(seconds_back), now) >= need
    };
    // Seconds back: `short` is not enough, `long` is.
    let (mut short, mut long) = (0i64, 180 * 24 * 3600);
    while long - short > 1 {
        let middle = short + (long - short) / 2;
        if enough(middle) {
            long = middle;
        } else {
            short = middle;
        }
    }
    now - Duration::seconds(long)
}

/// The portal's services as they were at `at`: each service stamps what it
/// writes with its clock, so the demo's history is written by the real
/// services (their rules, events, mails and audit) at past instants.
fn services_at(services: &Services, at: chrono::DateTime<chrono::Utc>) -> Services {
    let clock = crate::clock::ManualClock::default();
    clock.advance(at - clock.now_for_tests());
    let mut past = services.clone();
    past.clock = std::sync::Arc::new(clock);
    past
}

/// A small, valid one-page PDF with `lines` of Helvetica text: the
/// objects, then a cross-reference table with each object's offset.
pub fn demo_pdf(lines: &[&str]) -> Vec<u8> {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)")
    };
    let mut content = String::from("BT /F1 12 Tf 72 720 Td 16 TL\n");
    for line in lines {
        content.push_str(&format!("({}) '\n", escape(line)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.extend_from_slice(table.as_bytes());
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// A small, valid RGB PNG of `width` x `height` pixels coloured by
/// `pixel(x, y)`: signature, IHDR, one IDAT of stored (uncompressed)
/// deflate blocks, IEND, each chunk with its CRC.
pub fn demo_png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A photo-like picture of a torn carton: brown with a dark diagonal tear.
fn damaged_carton_png() -> Vec<u8> {
    demo_png(48, 32, |x, y| {
        let tear = (x as i32 - 2 * y as i32 + 8).abs() < 2 && (10..40).contains(&x);
        if tear {
            [40, 28, 18]
        } else if y < 3 || x < 3 || y > 28 || x > 44 {
            [235, 235, 230]
        } else {
            [176 - (y as u8 % 7) * 3, 132, 84]
        }
    })
}

/// An open invoice of `customer` (by external key) with something to
/// dispute and no open dispute, skipping `taken`: the newest first.
async fn disputable_invoice(
    services: &Services,
    customer_key: &str,
    currency: Currency,
    taken: &[i64],
) -> crate::ServiceResult<(i64, i64, i64)> {
    let mut conn = services.db.pool.acquire().await?;
    let rows = sqlx::query(
        "SELECT i.invoice_id, i.customer_id, i.balance_minor FROM invoices i
         JOIN customers c ON c.customer_id = i.customer_id
         WHERE c.external_id = $1 AND i.currency = $2 AND i.balance_minor > 20000
           AND i.voided_at IS NULL AND i.disputed_minor = 0
         ORDER BY i.issue_date DESC, i.invoice_id DESC",
    )
    .bind(format!("demo-{customer_key}"))
    .bind(currency.code())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            (
                r.get::<i64, _>("invoice_id"),
                r.get::<i64, _>("customer_id"),
                r.get::<i64, _>("balance_minor"),
            )
        })
        .find(|(id, _, _)| !taken.contains(id))
        .ok_or_else(|| {
            crate::ServiceError::invalid(format!(
                "the demo customer {customer_key} has no open {} invoice left to dispute",
                currency.code()
            ))
        })
}

async fn id_by_email(services: &Services, table: &str, email: &str) -> crate::ServiceResult<i64> {
    let column = if table == "staff_users" {
        "staff_id"
    } else {
        "contact_id"
    };
    let mut conn = services.db.pool.acquire().await?;
    let row = sqlx::query(&format!(
        "SELECT {column} AS id FROM {table} WHERE email = $1"
    ))
    .bind(email)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get("id"))
}

/// "123.45" for a minor amount, as a form would be typed.
fn amount_text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// One step of a demo dispute's story, in business minutes before now.
struct Story {
    customer: &'static str,
    currency: Currency,
    contact: &'static str,
    reason: &'static str,
    scope: crate::domain::request::DisputeScope,
    message: &'static str,
    files: Vec<(String, Vec<u8>)>,
    opened: i64,
}

/// `portal seed-demo`'s disputes, one in each state the queue shows, on
/// invoices of the demo customers and timed from now in business minutes,
/// so "breached" and "at risk" hold when the server starts: open and
/// unanswered, answered by AR, waiting on the customer, breached, near its
/// resolution deadline (at the warning share), resolved with a credit
/// note, withdrawn. Written by the real services (raising, replying,
/// internal notes, waiting, resolving, withdrawing), with their events,
/// mails and audit, at past instants. Does nothing when the demo
/// customers already have requests.
///
/// Not part of [`seed_demo`], which every integration test loads: a test
/// that counts requests, mails or held amounts starts from none.
pub async fn seed_demo_requests(services: &Services) -> crate::ServiceResult<DemoRequestsSummary> {
    use crate::domain::request::DisputeScope;
    use crate::services::requests::RaiseDispute;
    use crate::services::staff_requests::Resolution;

    {
        let mut conn = services.db.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM requests r JOIN customers c ON c.customer_id = r.customer_id
             WHERE c.external_id LIKE 'demo-%'",
        )
        .fetch_one(&mut *conn)
        .await?;
        if row.get::<i64, _>("n") > 0 {
            return Ok(DemoRequestsSummary {
                already_present: true,
                ..Default::default()
            });
        }
    }
    let now = services.clock.now();
    let calendar = services.sla_settings().await?.calendar;
    let ago = |minutes: i64| business_ago(&calendar, now, minutes);
    let admin = id_by_email(services, "staff_users", "ar@seller.example").await?;
    let agent = id_by_email(services, "staff_users", "agent@seller.example").await?;
    let mut taken = Vec::new();
    let mut summary = DemoRequestsSummary::default();

    // Raises a dispute as the story says, `opened` business minutes ago.
    let raise = |story: Story, taken: Vec<i64>| async move {
        let (invoice_id, customer_id, balance) =
            disputable_invoice(services, story.customer, story.currency, &taken).await?;
        let contact = id_by_email(services, "contacts", story.contact).await?;
        let at = services_at(services, ago(story.opened));
        let access = at
            .contact_access(contact)
            .await?
            .ok_or_else(|| crate::ServiceError::invalid("a demo contact is disabled"))?;
        let line_ids = if story.scope == DisputeScope::Lines {
            crate::repo::requests::line_totals(&mut *services.db.pool.acquire().await?, invoice_id)
                .await?
                .into_iter()
                .take(1)
                .map(|l| l.invoice_line_id)
                .collect()
        } else {
            Vec::new()
        };
        let request_id = at
            .raise_dispute(
                &access,
                customer_id,
                invoice_id,
                RaiseDispute {
                    scope: story.scope,
                    line_ids,
                    amount_text: amount_text(balance * 3 / 10),
                    reason_code: story.reason.into(),
                    message: story.message.into(),
                    files: story.files,
                },
                None,
            )
            .await?;
        crate::ServiceResult::Ok((request_id, invoice_id, customer_id, access))
    };

    // 1. Breached: damaged goods, 330 business minutes without an answer
    //    (the first response is due after 240).
    let (_, invoice, _, _) = raise(
        Story {
            customer: "contoso",
            currency: Currency::USD,
            contact: "ap@contoso.example",
            reason: "damaged",
            scope: DisputeScope::Lines,
            message: "Two of the conveyor belt sections on this invoice arrived with torn edges. \
                      Our receiving clerk noted it on the carrier's delivery receipt (attached) \
                      and took the photo below. We can't install them; please credit this line \
                      or send replacements.",
            files: vec![
                ("torn-belt-section.png".into(), damaged_carton_png()),
                (
                    "delivery-receipt-4471.pdf".into(),
                    demo_pdf(&[
                        "Delivery receipt 4471",
                        "Consignee: Contoso Manufacturing, Dock 3",
                        "2 x Conveyor belt section 2 m",
                        "Remarks: 2 cartons damaged on arrival, edges torn.",
                        "Signed: R. Alvarez (receiving)",
                    ]),
                ),
            ],
            opened: 330,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    summary.disputes += 1;

    // 2. Near breach: answered long ago, its resolution (40 business hours)
    //    85% used, assigned to the agent, with an internal note.
    let (request, invoice, _, _) = raise(
        Story {
            customer: "northwind",
            currency: Currency::USD,
            contact: "ap@northwind.example",
            reason: "quantity",
            scope: DisputeScope::Amount,
            message: "We were billed for 40 boxes of fasteners but our goods-received note \
                      shows 28. Please adjust the invoice for the 12 boxes we did not receive.",
            files: vec![(
                "goods-received-note.pdf".into(),
                demo_pdf(&[
                    "Northwind Traders - Goods received note GRN-20931",
                    "Industrial fasteners, box of 500: ordered 40, received 28",
                    "Checked by: D. Osei",
                ]),
            )],
            opened: 2_060,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    services_at(services, ago(2_050))
        .assign_request(admin, request, Some(agent))
        .await?;
    services_at(services, ago(2_000))
        .staff_reply(
            agent,
            request,
            "Thank you, Nadia. I've asked our warehouse for the pick list and the carrier \
             for the proof of delivery, and will come back to you as soon as I have both.",
            false,
        )
        .await?;
    services_at(services, ago(1_990))
        .staff_reply(
            agent,
            request,
            "Warehouse says 40 boxes left the dock on one pallet. Carrier POD still missing; \
             if it shows 28 we credit 12 boxes.",
            true,
        )
        .await?;
    summary.disputes += 1;

    // 3. Open and unanswered, just in: well inside its first response.
    let (_, invoice, _, _) = raise(
        Story {
            customer: "holding-us",
            currency: Currency::USD,
            contact: "us.ap@holding.example",
            reason: "duplicate_billing",
            scope: DisputeScope::Invoice,
            message: "This invoice repeats the freight and handling we already paid on the \
                      previous invoice for the same shipment. Could you cancel it?",
            files: vec![(
                "remittance-advice.pdf".into(),
                demo_pdf(&[
                    "Holding Americas Inc. - Remittance advice",
                    "Freight and handling, shipment 88213: paid by ACH",
                ]),
            )],
            opened: 45,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    summary.disputes += 1;

    // 4. Answered by AR: the admin took it, replied, and noted internally.
    let (request, invoice, _, _) = raise(
        Story {
            customer: "holding-eu",
            currency: Currency::EUR,
            contact: "eu.ap@holding.example",
            reason: "tax",
            scope: DisputeScope::Invoice,
            message: "You charged 19% VAT, but this was an intra-community supply to our \
                      German entity with a valid VAT ID (DE 811 234 567). It should be reverse \
                      charged.",
            files: Vec::new(),
            opened: 600,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    services_at(services, ago(590))
        .assign_request(admin, request, Some(admin))
        .await?;
    services_at(services, ago(520))
        .staff_reply(
            admin,
            request,
            "Hello Jonas, you're right that the supply qualifies for the reverse charge. \
             I've asked our tax team to confirm the VAT ID and will issue a corrected invoice \
             without VAT this week.",
            false,
        )
        .await?;
    services_at(services, ago(515))
        .staff_reply(
            admin,
            request,
            "VIES check of DE 811 234 567: valid. Corrected invoice to be raised in the ERP.",
            true,
        )
        .await?;
    summary.disputes += 1;

    // 5. Waiting on the customer: AR asked for the receiving log.
    let (request, invoice, _, _) = raise(
        Story {
            customer: "northwind",
            currency: Currency::USD,
            contact: "payables@northwind.example",
            reason: "not_received",
            scope: DisputeScope::Lines,
            message: "We have no record of receiving the hydraulic hose assemblies on this \
                      invoice. Can you send proof of delivery?",
            files: Vec::new(),
            opened: 900,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    services_at(services, ago(840))
        .staff_reply(
            admin,
            request,
            "Hello Tom, our carrier shows the shipment delivered and signed for by \
             \"M. Ortiz\" at your main dock. Could you check your receiving log for that \
             day and tell us whether it was booked under another PO?",
            false,
        )
        .await?;
    services_at(services, ago(839))
        .set_waiting_on_customer(admin, request)
        .await?;
    summary.disputes += 1;

    // 6. Resolved with a credit note: a pricing error, answered with the
    //    contract's price sheet, credited and applied to the invoice.
    let (request, invoice, customer_id, access) = raise(
        Story {
            customer: "contoso",
            currency: Currency::USD,
            contact: "ap@contoso.example",
            reason: "pricing",
            scope: DisputeScope::Amount,
            message: "The safety gloves are billed at the list price, not the contract price \
                      of our 2026 framework agreement.",
            files: Vec::new(),
            opened: 1_500,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    services_at(services, ago(1_440))
        .staff_reply(
            agent,
            request,
            "Hello Chris, could you send us the page of the framework agreement with the \
             contract prices? Then I can credit the difference.",
            false,
        )
        .await?;
    services_at(services, ago(1_400))
        .add_customer_message(
            &access,
            customer_id,
            request,
            "Here is the price sheet of the agreement (page 4).",
            vec![(
                "framework-agreement-prices.pdf".into(),
                demo_pdf(&[
                    "Framework agreement 2026 - Annex B, contract prices",
                    "Safety gloves, case of 24 pairs: 52.00 USD (list 74.25 USD)",
                ]),
            )],
            None,
        )
        .await?;
    services_at(services, ago(1_300))
        .resolve_request(
            agent,
            request,
            Resolution::CreditNote {
                amount_text: {
                    let mut conn = services.db.pool.acquire().await?;
                    let row =
                        sqlx::query("SELECT disputed_minor FROM requests WHERE request_id = $1")
                            .bind(request)
                            .fetch_one(&mut *conn)
                            .await?;
                    amount_text(row.get::<i64, _>("disputed_minor"))
                },
                note: "Contract price applied; thank you for the price sheet.".into(),
            },
        )
        .await?;
    summary.disputes += 1;

    // 7. Withdrawn: the customer found their own mistake.
    let (request, invoice, customer_id, access) = raise(
        Story {
            customer: "holding-eu",
            currency: Currency::EUR,
            contact: "shared@holding.example",
            reason: "other",
            scope: DisputeScope::Invoice,
            message: "We cannot match this invoice to any purchase order on our side.",
            files: Vec::new(),
            opened: 700,
        },
        taken.clone(),
    )
    .await?;
    taken.push(invoice);
    let at = services_at(services, ago(690));
    at.add_customer_message(
        &access,
        customer_id,
        request,
        "Found it: our receiving team booked it to the wrong cost centre. Sorry for the \
         noise, we'll pay it with the next run.",
        Vec::new(),
        None,
    )
    .await?;
    at.withdraw_dispute(&access, customer_id, request, None)
        .await?;
    summary.disputes += 1;

    Ok(summary)
}

// ---------------------------------------------------------------------------
// Demo reminders and promises to pay (issue 13 item 9)
// ---------------------------------------------------------------------------

/// What `seed_demo_reminders` made.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DemoRemindersSummary {
    /// (invoice, step) reminders the past runs sent.
    pub sends: usize,
    /// Reminder emails of those runs.
    pub emails: usize,
    /// Promises to pay (one kept, one broken).
    pub promises: usize,
    pub already_present: bool,
}

/// The gentler cadence of the demo, given to Northwind Traders.
pub const DEMO_KEY_ACCOUNTS: &str = "Key accounts";

/// How many days of reminder history the demo has.
const REMINDER_HISTORY_DAYS: i64 = 30;

/// The open invoice of `customer_key` in `currency` with nothing held
/// back (no dispute, no payment in flight) that fell due on or before
/// `due_by`, the latest first; any such invoice when none is that old.
async fn promisable_invoice(
    services: &Services,
    customer_key: &str,
    currency: Currency,
    due_by: NaiveDate,
) -> crate::ServiceResult<(i64, i64, i64)> {
    let mut conn = services.db.pool.acquire().await?;
    let rows = sqlx::query(
        "SELECT i.invoice_id, i.customer_id, i.balance_minor, i.due_date FROM invoices i
         JOIN customers c ON c.customer_id = i.customer_id
         WHERE c.external_id = $1 AND i.currency = $2 AND i.balance_minor > 0
           AND i.voided_at IS NULL AND i.disputed_minor = 0 AND i.pending_minor = 0
         ORDER BY i.due_date DESC, i.invoice_id DESC",
    )
    .bind(format!("demo-{customer_key}"))
    .bind(currency.code())
    .fetch_all(&mut *conn)
    .await?;
    let all: Vec<(i64, i64, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>("invoice_id"),
                r.get::<i64, _>("customer_id"),
                r.get::<i64, _>("balance_minor"),
                r.get::<String, _>("due_date"),
            )
        })
        .collect();
    let due_by = date_text(due_by);
    all.iter()
        .find(|(_, _, _, due)| *due <= due_by)
        .or_else(|| all.first())
        .map(|(id, customer, balance, _)| (*id, *customer, *balance))
        .ok_or_else(|| {
            crate::ServiceError::invalid(format!(
                "the demo customer {customer_key} has no open {} invoice to promise",
                currency.code()
            ))
        })
}

async fn customer_id_by_key(services: &Services, key: &str) -> crate::ServiceResult<i64> {
    let mut conn = services.db.pool.acquire().await?;
    let row = sqlx::query("SELECT customer_id FROM customers WHERE external_id = $1")
        .bind(format!("demo-{key}"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get("customer_id"))
}

/// `portal seed-demo`'s reminders: the seeded "Standard" cadence for most
/// customers and a gentler "Key accounts" one (no nudge before the due
/// date, the first note ten days after it) for Northwind Traders; Holding
/// Americas paused until two weeks from today; a promise to pay kept
/// (Northwind: promised, paid before the date, closed as kept) and one
/// broken (Holding Europe: the date passed with nothing paid, so the
/// reminders resumed and the payer was told). Written by the real
/// services at past instants, the reminder job included: it ran every
/// day of the last 30 at 09:30 in the seller's zone, so the staff
/// customer pages and the invoice timelines show the reminders those
/// customers would have had. Their emails are marked sent (as the
/// outbox worker would have sent them then, tokens redacted), so starting
/// the portal does not mail a month of history at once. Does nothing when
/// the "Key accounts" cadence exists.
///
/// Not part of [`seed_demo`], which every integration test loads: the
/// reminder tests start from no history and pause every demo customer.
pub async fn seed_demo_reminders(
    services: &Services,
) -> crate::ServiceResult<DemoRemindersSummary> {
    use crate::services::reminders::PromiseDraft;
    use chrono::TimeZone;

    let admin = id_by_email(services, "staff_users", "ar@seller.example").await?;
    if services
        .reminder_settings_view(admin)
        .await?
        .cadences
        .iter()
        .any(|(c, _)| c.name == DEMO_KEY_ACCOUNTS)
    {
        return Ok(DemoRemindersSummary {
            already_present: true,
            ..Default::default()
        });
    }
    let zone = services.sla_settings().await?.calendar.time_zone();
    let today = services.clock.now().with_timezone(&zone).date_naive();
    // The instant of `hour:minute` in the seller's zone, `days` days ago.
    let at = |days: i64, hour: u32, minute: u32| {
        let local = (today - Duration::days(days))
            .and_hms_opt(hour, minute, 0)
            .expect("valid time");
        zone.from_local_datetime(&local)
            .earliest()
            .unwrap_or_else(|| zone.from_utc_datetime(&local))
            .with_timezone(&chrono::Utc)
    };
    let first_email: i64 = {
        let mut conn = services.db.pool.acquire().await?;
        sqlx::query("SELECT COALESCE(MAX(email_id), 0) AS n FROM email_outbox")
            .fetch_one(&mut *conn)
            .await?
            .get("n")
    };
    let northwind = customer_id_by_key(services, "northwind").await?;
    let holding_us = customer_id_by_key(services, "holding-us").await?;
    let nadia = id_by_email(services, "contacts", "ap@northwind.example").await?;
    let jonas = id_by_email(services, "contacts", "eu.ap@holding.example").await?;

    // A month and a day ago: AR makes the gentler cadence for key
    // accounts and gives it to Northwind.
    let start = REMINDER_HISTORY_DAYS + 1;
    let past = services_at(services, at(start, 8, 0));
    let key = past.add_reminder_cadence(admin, DEMO_KEY_ACCOUNTS).await?;
    let copied: Vec<_> = past
        .reminder_settings_view(admin)
        .await?
        .cadences
        .into_iter()
        .filter(|(c, _)| c.cadence_id == key)
        .flat_map(|(_, steps)| steps)
        .collect();
    for step in copied {
        let gentler = match step.offset_days {
            7 => Some((
                10,
                "A note about invoices from {seller_name}",
                "Hello {contact_name},\n\nAs a valued partner you may simply have these invoices of {customer_name} in your next payment run; we mention them in case they slipped through.\n\n{invoices}\n\nTotal: {totals}\n\nPay them here when convenient: {pay_all_link}\n\nIf you have already paid, thank you, and please ignore this email.",
            )),
            14 => Some((
                21,
                "Still open: invoices from {seller_name}",
                "Hello {contact_name},\n\nThese invoices of {customer_name} are three weeks past due.\n\n{invoices}\n\nTotal overdue: {totals}\n\nPay them here, or tell us when you will from the invoice page: {pay_all_link}\n\nIf something is wrong with an invoice, open it and raise a dispute, so we can sort it out.",
            )),
            30 => Some((
                45,
                "Please get in touch: overdue invoices from {seller_name}",
                "Hello {contact_name},\n\nThese invoices of {customer_name} are now six weeks past due.\n\n{invoices}\n\nTotal overdue: {totals}\n\nPay them here: {pay_all_link}\n\nIf there is a reason you cannot pay, please talk to {ar_contact}; we would rather find a way together.",
            )),
            _ => None,
        };
        match gentler {
            Some((offset, subject, body)) => {
                past.save_reminder_step(
                    admin,
                    key,
                    Some(step.step_id),
                    &offset.to_string(),
                    false,
                    subject,
                    body,
                )
                .await?;
            }
            None => past.retire_reminder_step(admin, step.step_id).await?,
        }
    }
    past.set_customer_reminders(admin, northwind, Some(key), "", "")
        .await?;

    // The story's invoices: Northwind's promise is kept, Holding Europe's
    // broken. Each fell due before the history's middle, so it had
    // reminders before its promise.
    let (kept_invoice, _, kept_balance) = promisable_invoice(
        services,
        "northwind",
        Currency::USD,
        today - Duration::days(20),
    )
    .await?;
    let (broken_invoice, holding_eu, _) = promisable_invoice(
        services,
        "holding-eu",
        Currency::EUR,
        today - Duration::days(20),
    )
    .await?;

    let mut summary = DemoRemindersSummary::default();
    for days in (1..=start).rev() {
        // The job's run of that morning (a weekend or holiday sends nothing).
        let run = services_at(services, at(days, 9, 30))
            .run_reminders(at(days, 9, 30))
            .await?;
        summary.sends += run.sends;
        summary.emails += run.emails;
        match days {
            // Holding Americas is moving to a new ERP: AR pauses its
            // reminders until two weeks from today.
            12 => {
                services_at(services, at(days, 11, 30))
                    .set_customer_reminders(
                        admin,
                        holding_us,
                        None,
                        &(today + Duration::days(14)).to_string(),
                        "",
                    )
                    .await?;
            }
            // Jonas promises to pay by six days ago, and does not.
            10 => {
                services_at(services, at(days, 15, 0))
                    .promise_to_pay(
                        jonas,
                        holding_eu,
                        &PromiseDraft {
                            invoice_ids: vec![broken_invoice],
                            promised_on: (today - Duration::days(6)).to_string(),
                            amount: String::new(),
                            note: "Waiting for the quarter's budget release.".into(),
                        },
                    )
                    .await?;
                summary.promises += 1;
            }
            // Nadia promises to pay by three days ago...
            9 => {
                services_at(services, at(days, 10, 15))
                    .promise_to_pay(
                        nadia,
                        northwind,
                        &PromiseDraft {
                            invoice_ids: vec![kept_invoice],
                            promised_on: (today - Duration::days(3)).to_string(),
                            amount: String::new(),
                            note: String::new(),
                        },
                    )
                    .await?;
                summary.promises += 1;
            }
            // ...and her wire arrives five days ago: the next run closes
            // the promise as kept.
            5 => {
                let received = ts(at(days, 14, 0));
                let mut tx = services.db.begin_write().await?;
                let payment_id: i64 = sqlx::query(
                    "INSERT INTO payments (customer_id, currency, amount_minor, method, status, reference, gateway, received_at, created_at, updated_at)
                     VALUES ($1, 'USD', $2, 'bank_transfer', 'succeeded', 'Wire 771204', NULL, $3, $3, $3) RETURNING payment_id",
                )
                .bind(northwind)
                .bind(kept_balance)
                .bind(&received)
                .fetch_one(&mut *tx)
                .await?
                .get("payment_id");
                sqlx::query("INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) VALUES ($1, $2, $3)")
                    .bind(payment_id)
                    .bind(kept_invoice)
                    .bind(kept_balance)
                    .execute(&mut *tx)
                    .await?;
                crate::repo::invoices::refresh_settlement(&mut tx, kept_invoice).await?;
                tx.commit().await?;
            }
            _ => {}
        }
    }

    // The history's emails went out back then: marked sent a minute after
    // they were queued, their tokens redacted as the SMTP worker does.
    let mut conn = services.db.pool.acquire().await?;
    let pending = sqlx::query(
        "SELECT email_id, text_body, html_body, headers, created_at FROM email_outbox
         WHERE email_id > $1 AND status = 'pending' ORDER BY email_id",
    )
    .bind(first_email)
    .fetch_all(&mut *conn)
    .await?;
    for row in pending {
        use crate::email::redact::redact_tokens;
        let created: chrono::DateTime<chrono::Utc> =
            crate::repo::decode::decode(&row, "email_outbox", "created_at")?;
        let sent_at = created + Duration::minutes(1);
        let text = redact_tokens(&row.get::<String, _>("text_body"));
        let html = redact_tokens(&row.get::<String, _>("html_body"));
        let headers = row
            .get::<Option<String>, _>("headers")
            .map(|h| redact_tokens(&h));
        crate::repo::outbox::mark_sent(
            &mut conn,
            row.get("email_id"),
            "smtp",
            sent_at,
            Some((&text, &html, headers.as_deref())),
        )
        .await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::attachment::{check_upload, AttachmentKind};

    #[test]
    fn the_demo_files_pass_the_upload_rules() {
        let pdf = demo_pdf(&["Delivery receipt (4471)", "Signed: R. Alvarez"]);
        assert_eq!(
            check_upload("receipt.pdf", &pdf).unwrap().kind,
            AttachmentKind::Pdf
        );
        let text = String::from_utf8(pdf).unwrap();
        // The cross-reference table points at each object.
        let xref = text.find("xref\n").unwrap();
        assert!(text.ends_with(&format!("startxref\n{xref}\n%%EOF\n")));
        assert_eq!(&text[9..16], "1 0 obj");
        assert!(text.contains("(Delivery receipt \\(4471\\)) '"));

        let png = damaged_carton_png();
        assert_eq!(
            check_upload("photo.png", &png).unwrap().kind,
            AttachmentKind::Png
        );
    }

    #[test]
    fn business_ago_finds_the_instant_that_many_business_minutes_back() {
        use chrono::TimeZone;
        let calendar = crate::services::staff_requests::default_business_calendar();
        // Tuesday 12 January 2027, 10:00 in New York (UTC-5).
        let now = chrono::Utc.with_ymd_and_hms(2027, 1, 12, 15, 0, 0).unwrap();
        let at = business_ago(&calendar, now, 330);
        assert_eq!(calendar.business_minutes_between(at, now), 330);
        // 60 minutes on Tuesday morning, 240 on Monday afternoon and the
        // last 30 of Monday morning: Monday 11:30 local.
        assert_eq!(
            at,
            chrono::Utc
                .with_ymd_and_hms(2027, 1, 11, 16, 30, 0)
                .unwrap()
        );
    }
}
