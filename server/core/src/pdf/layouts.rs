//! The portal's three printed documents (invoice, statement of account,
//! payment receipt) described as `DocumentSpec`s for the engine in
//! `pdf/mod.rs`. What goes on the page lives here; what the page is
//! about (who may see it, what is read) stays in the services.

use chrono::NaiveDate;

use super::{Column, DocumentSpec, Section};
use crate::domain::payment_state::{method_label, payment_reference};
use crate::domain::statement::Bucket;
use crate::domain::Money;
use crate::repo::invoices::{Application, LineRow};
use crate::repo::payments::{AllocationRow, PaymentRow};
use crate::services::invoices::{charge_and_credit, InvoiceSummary, StatementOfAccount};

/// A quantity in thousandths, without trailing zeros (2.5, 3).
pub fn quantity(milli: i64) -> String {
    let s = format!("{}.{:03}", milli / 1000, (milli % 1000).abs());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A tax rate in basis points as a percentage (8.25%, 20%).
pub fn tax_rate(bp: i64) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

fn human_date(d: NaiveDate) -> String {
    d.format("%b %-d, %Y").to_string()
}

pub fn invoice_document(
    config: &crate::Config,
    customer_name: &str,
    terms: i64,
    invoice: &InvoiceSummary,
    lines: &[LineRow],
    applications: &[Application],
    language: &str,
) -> DocumentSpec {
    let row = &invoice.row;
    let money = |minor| Money::new(minor, row.currency).display();
    let mut facts = vec![
        ("Invoice number".to_owned(), row.number.clone()),
        ("Issued".to_owned(), human_date(row.issue_date)),
        ("Due".to_owned(), human_date(row.due_date)),
        ("Terms".to_owned(), format!("Net {terms}")),
    ];
    if let Some(po) = &row.po_number {
        facts.push(("PO number".into(), po.clone()));
    }
    facts.push(("Status".into(), invoice.status.label()));
    let mut sections = vec![Section::Table {
        columns: vec![
            Column::left("Description", 70.0),
            Column::right("Qty", 16.0),
            Column::right("Unit price", 28.0),
            Column::right("Tax", 16.0),
            Column::right("Amount", 44.0),
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    l.description.clone(),
                    quantity(l.quantity_milli),
                    money(l.unit_price_minor),
                    tax_rate(l.tax_rate_bp),
                    money(l.amount_minor),
                ]
            })
            .collect(),
    }];
    let mut summary = vec![
        ("Subtotal".to_owned(), money(row.subtotal_minor)),
        ("Tax".to_owned(), money(row.tax_minor)),
        ("Total".to_owned(), money(row.total_minor)),
    ];
    if row.paid_minor > 0 {
        summary.push(("Paid".into(), money(-row.paid_minor)));
    }
    if row.credited_minor > 0 {
        summary.push(("Credited".into(), money(-row.credited_minor)));
    }
    summary.push(("Balance due".into(), invoice.balance.display()));
    // An open dispute holds part of it (issue 11): say what is payable now.
    let disputed = invoice.disputed_minor();
    if disputed > 0 {
        summary.push(("Disputed (held)".into(), money(disputed)));
        summary.push((
            "Payable now".into(),
            money(invoice.balance.minor - disputed),
        ));
    }
    sections.push(Section::Summary(summary));
    if !applications.is_empty() {
        sections.push(Section::Heading("Payments and credits".into()));
        sections.push(Section::Table {
            columns: vec![
                Column::left("Date", 30.0),
                Column::left("Reference", 70.0),
                Column::left("Status", 30.0),
                Column::right("Amount", 44.0),
            ],
            rows: applications
                .iter()
                .map(|a| {
                    vec![
                        a.date.map(human_date).unwrap_or_default(),
                        match a.kind {
                            "payment" => {
                                payment_reference(a.id, a.detail.clone(), a.reference.clone())
                            }
                            _ => format!("Credit note {}", a.reference.clone().unwrap_or_default()),
                        },
                        a.status.clone(),
                        money(a.amount_minor),
                    ]
                })
                .collect(),
        });
    }
    sections.push(Section::Paragraph(format!(
        "Pay online at {} - questions about this invoice: reply to {}.",
        config.base_url.as_str().trim_end_matches('/'),
        config.mail_from.as_str()
    )));
    let plain = |minor| Money::new(minor, row.currency).decimal_string();
    let mut metadata = vec![
        ("document".to_owned(), "invoice".to_owned()),
        ("invoice-number".to_owned(), row.number.clone()),
        ("issue-date".to_owned(), row.issue_date.to_string()),
        ("due-date".to_owned(), row.due_date.to_string()),
        ("currency".to_owned(), row.currency.code().to_owned()),
        ("subtotal".to_owned(), plain(row.subtotal_minor)),
        ("tax".to_owned(), plain(row.tax_minor)),
        ("total".to_owned(), plain(row.total_minor)),
        ("balance-due".to_owned(), plain(invoice.balance.minor)),
    ];
    if let Some(po) = &row.po_number {
        metadata.push(("po-number".into(), po.clone()));
    }
    metadata.push(("seller".into(), config.seller_name.clone()));
    metadata.push(("buyer".into(), customer_name.to_owned()));
    DocumentSpec {
        title: format!("Invoice {}", row.number),
        seller_name: config.seller_name.clone(),
        seller_address: config.seller_address.clone(),
        facts,
        party: vec![customer_name.to_owned()],
        sections,
        language: language.to_owned(),
        metadata,
    }
}

pub fn statement_document(
    config: &crate::Config,
    soa: &StatementOfAccount,
    language: &str,
) -> DocumentSpec {
    let s = &soa.statement;
    let mut sections = Vec::new();
    let mut metadata = vec![
        ("document".to_owned(), "statement".to_owned()),
        ("period-start".to_owned(), s.from.to_string()),
        ("period-end".to_owned(), s.to.to_string()),
    ];
    for c in &s.currencies {
        metadata.push((
            format!("closing-balance-{}", c.currency.code()),
            Money::new(c.closing_minor, c.currency).decimal_string(),
        ));
    }
    metadata.push(("seller".into(), config.seller_name.clone()));
    metadata.push(("buyer".into(), soa.customer_name.clone()));
    for c in &s.currencies {
        let money = |minor| Money::new(minor, c.currency).display();
        sections.push(Section::Heading(format!(
            "Account activity in {}",
            c.currency.code()
        )));
        let mut rows = vec![vec![
            human_date(s.from),
            String::new(),
            "Opening balance".into(),
            String::new(),
            String::new(),
            money(c.opening_minor),
        ]];
        rows.extend(
            s.lines
                .iter()
                .filter(|l| l.entry.currency == c.currency)
                .map(|l| {
                    let e = &l.entry;
                    let (charge, credit) = charge_and_credit(e, money);
                    vec![
                        human_date(e.date),
                        e.kind.label().into(),
                        e.reference.clone(),
                        charge,
                        credit,
                        money(l.running_minor),
                    ]
                }),
        );
        rows.push(vec![
            human_date(s.to),
            String::new(),
            "Closing balance".into(),
            String::new(),
            String::new(),
            money(c.closing_minor),
        ]);
        sections.push(Section::Table {
            columns: vec![
                Column::left("Date", 26.0),
                Column::left("Type", 24.0),
                Column::left("Reference", 46.0),
                Column::right("Charges", 26.0),
                Column::right("Credits", 26.0),
                Column::right("Balance", 26.0),
            ],
            rows,
        });
        sections.push(Section::Heading(format!(
            "Aging in {} as of {}",
            c.currency.code(),
            human_date(s.to)
        )));
        let mut aging: Vec<(String, String)> = Bucket::ALL
            .iter()
            .zip(c.aging_minor)
            .map(|(b, minor)| (b.label().to_owned(), money(minor)))
            .collect();
        // The buckets count what is payable; what disputes hold is a line
        // of its own, and the lines add up to the balance.
        let disputed = soa.disputed_in(c.currency);
        if disputed != 0 {
            aging.push(("Disputed (held until resolved)".into(), money(disputed)));
        }
        if c.unapplied_minor != 0 {
            aging.push((
                "Unapplied payments and credits".into(),
                money(c.unapplied_minor),
            ));
        }
        aging.push((
            "Balance (the lines above add up to it)".into(),
            money(c.closing_minor),
        ));
        sections.push(Section::Summary(aging));
    }
    if s.currencies.is_empty() {
        sections.push(Section::Paragraph(
            "No activity on this account up to the end of this period.".into(),
        ));
    }
    DocumentSpec {
        title: "Statement of account".into(),
        seller_name: config.seller_name.clone(),
        seller_address: config.seller_address.clone(),
        facts: vec![
            ("From".into(), human_date(s.from)),
            ("To".into(), human_date(s.to)),
        ],
        party: vec![soa.customer_name.clone()],
        sections,
        language: language.to_owned(),
        metadata,
    }
}

pub fn receipt_document(
    config: &crate::Config,
    customer_name: &str,
    p: &PaymentRow,
    allocations: &[AllocationRow],
    language: &str,
) -> DocumentSpec {
    let money = |minor| Money::new(minor, p.currency).display();
    let mut facts = vec![
        (
            "Payment".to_owned(),
            crate::domain::payment_number(p.payment_id),
        ),
        (
            "Date".to_owned(),
            human_date(p.received_at.unwrap_or(p.created_at).date_naive()),
        ),
        ("Method".to_owned(), method_label(&p.method).to_owned()),
        ("Status".to_owned(), p.status.as_str().to_owned()),
    ];
    if let Some(r) = &p.reference {
        facts.push(("Reference".into(), r.clone()));
    }
    let mut summary = vec![("Amount".to_owned(), money(p.amount_minor))];
    if p.refunded_minor > 0 {
        summary.push(("Refunded".into(), money(-p.refunded_minor)));
    }
    let received = p.received_at.unwrap_or(p.created_at).date_naive();
    let mut metadata = vec![
        ("document".to_owned(), "payment-receipt".to_owned()),
        (
            "payment-number".to_owned(),
            crate::domain::payment_number(p.payment_id),
        ),
        ("payment-date".to_owned(), received.to_string()),
        ("currency".to_owned(), p.currency.code().to_owned()),
        (
            "amount".to_owned(),
            Money::new(p.amount_minor, p.currency).decimal_string(),
        ),
    ];
    if !allocations.is_empty() {
        metadata.push((
            "invoices".into(),
            allocations
                .iter()
                .map(|a| a.invoice_number.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    metadata.push(("seller".into(), config.seller_name.clone()));
    metadata.push(("buyer".into(), customer_name.to_owned()));
    DocumentSpec {
        language: language.to_owned(),
        metadata,
        title: "Payment receipt".into(),
        seller_name: config.seller_name.clone(),
        seller_address: config.seller_address.clone(),
        facts,
        party: vec![customer_name.to_owned()],
        sections: vec![
            Section::Table {
                columns: vec![
                    Column::left("Applied to invoice", 120.0),
                    Column::right("Amount", 54.0),
                ],
                rows: allocations
                    .iter()
                    .map(|a| vec![a.invoice_number.clone(), money(a.amount_minor)])
                    .collect(),
            },
            Section::Summary(summary),
            Section::Paragraph(format!(
                "Thank you for your payment. {}",
                config.seller_name
            )),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_tax_rates_drop_trailing_zeros() {
        assert_eq!(quantity(2500), "2.5");
        assert_eq!(quantity(3000), "3");
        assert_eq!(tax_rate(825), "8.25%");
        assert_eq!(tax_rate(2000), "20%");
    }
}
