//! Renders the benchmark customer's year as a statement PDF (1,600 lines)
//! and a one-page Latin invoice, and prints the CPU time and size of each.
//! Run in release mode (figures in docs/BENCHMARKS.md, "Issue 15"):
//!
//!     cargo run --release -p portal-core --example pdf_bench
//!
//! CPU time is this thread's, from /proc/thread-self/schedstat (Linux).

use portal_core::pdf::{self, Column, DocumentSpec, Section};

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn statement(lines: usize) -> DocumentSpec {
    let mut rows = Vec::with_capacity(lines + 2);
    rows.push(vec![
        "Jan 1, 2026".into(),
        String::new(),
        "Opening balance".into(),
        String::new(),
        String::new(),
        "$0.00".into(),
    ]);
    let mut running = 0i64;
    for i in 0..lines {
        let invoice = i % 3 != 2;
        let amount = 10_000 + (i as i64 * 7_919) % 250_000;
        running += if invoice { amount } else { -amount };
        let money = |m: i64| format!("${}.{:02}", m / 100, m % 100);
        rows.push(vec![
            format!(
                "{} {}, 2026",
                ["Jan", "Feb", "Mar", "Apr"][i % 4],
                1 + i % 28
            ),
            if invoice { "Invoice" } else { "Payment" }.into(),
            if invoice {
                format!("INV-2026-{:05}", i)
            } else {
                format!("PAY-{}", 10_000 + i)
            },
            if invoice {
                money(amount)
            } else {
                String::new()
            },
            if invoice {
                String::new()
            } else {
                money(amount)
            },
            money(running),
        ]);
    }
    rows.push(vec![
        "Dec 7, 2026".into(),
        String::new(),
        "Closing balance".into(),
        String::new(),
        String::new(),
        format!("${}.{:02}", running / 100, running % 100),
    ]);
    DocumentSpec {
        title: "Statement of account".into(),
        seller_name: "Acme Supply Co.".into(),
        seller_address: "100 Market Street, Springfield, IL 62701".into(),
        facts: vec![
            ("From".into(), "Jan 1, 2026".into()),
            ("To".into(), "Dec 7, 2026".into()),
        ],
        party: vec!["Benchmark Industries".into()],
        language: "en-US".into(),
        metadata: vec![
            ("document".into(), "statement".into()),
            ("period-start".into(), "2026-01-01".into()),
            ("period-end".into(), "2026-12-07".into()),
        ],
        sections: vec![
            Section::Heading("Account activity in USD".into()),
            Section::Table {
                columns: vec![
                    Column::left("Date", 26.0),
                    Column::left("Type", 24.0),
                    Column::left("Reference", 46.0),
                    Column::right("Charges", 26.0),
                    Column::right("Credits", 26.0),
                    Column::right("Balance", 26.0),
                ],
                rows,
            },
            Section::Heading("Aging in USD as of Dec 7, 2026".into()),
            Section::Summary(vec![
                ("Current".into(), "$1,000.00".into()),
                ("1-30 days".into(), "$0.00".into()),
                (
                    "Balance (the lines above add up to it)".into(),
                    "$1,000.00".into(),
                ),
            ]),
        ],
    }
}

fn invoice() -> DocumentSpec {
    DocumentSpec {
        title: "Invoice INV-2026-0042".into(),
        seller_name: "Acme Supply Co.".into(),
        seller_address: "100 Market Street, Springfield, IL 62701".into(),
        facts: vec![
            ("Invoice number".into(), "INV-2026-0042".into()),
            ("Issued".into(), "Mar 2, 2026".into()),
            ("Due".into(), "Apr 1, 2026".into()),
            ("Terms".into(), "Net 30".into()),
            ("Status".into(), "Open".into()),
        ],
        party: vec!["Northwind Traders".into()],
        language: "en-US".into(),
        metadata: vec![
            ("document".into(), "invoice".into()),
            ("invoice-number".into(), "INV-2026-0042".into()),
            ("issue-date".into(), "2026-03-02".into()),
            ("due-date".into(), "2026-04-01".into()),
            ("currency".into(), "USD".into()),
            ("total".into(), "467.64".into()),
        ],
        sections: vec![
            Section::Table {
                columns: vec![
                    Column::left("Description", 70.0),
                    Column::right("Qty", 16.0),
                    Column::right("Unit price", 28.0),
                    Column::right("Tax", 16.0),
                    Column::right("Amount", 44.0),
                ],
                rows: (1..=8)
                    .map(|i| {
                        vec![
                            format!("Industrial fasteners, pack {i}"),
                            "12".into(),
                            "$4.50".into(),
                            "8.25%".into(),
                            "$54.00".into(),
                        ]
                    })
                    .collect(),
            },
            Section::Summary(vec![
                ("Subtotal".into(), "$432.00".into()),
                ("Tax".into(), "$35.64".into()),
                ("Total".into(), "$467.64".into()),
                ("Balance due".into(), "$467.64".into()),
            ]),
            Section::Paragraph(
                "Pay online at https://portal.example - questions about this invoice: reply to ar@seller.example."
                    .into(),
            ),
        ],
    }
}

fn measure(name: &str, spec: &DocumentSpec, runs: usize) {
    // One warm-up (fonts, allocator), then `runs` renders: the median of
    // each render's CPU time, and the mean over all of them (this VM's
    // thread clock ticks in 4 ms steps, so small documents need the mean).
    let bytes = render(spec);
    let all = cpu_ns();
    let mut times: Vec<u64> = (0..runs)
        .map(|_| {
            let start = cpu_ns();
            let out = render(spec);
            let spent = cpu_ns() - start;
            assert_eq!(out.len(), bytes.len());
            spent
        })
        .collect();
    let mean = (cpu_ns() - all) as f64 / runs as f64;
    times.sort_unstable();
    println!(
        "{name}: median {:.1} ms CPU, mean {:.2} ms (of {runs} renders; min {:.1}, max {:.1}), {} bytes",
        times[runs / 2] as f64 / 1e6,
        mean / 1e6,
        times[0] as f64 / 1e6,
        times[runs - 1] as f64 / 1e6,
        bytes.len()
    );
}

fn render(spec: &DocumentSpec) -> Vec<u8> {
    pdf::render(spec).expect("renders")
}

fn main() {
    measure("statement, 1,600 lines", &statement(1_600), 15);
    measure("invoice, one page, Latin", &invoice(), 200);
    // Kept to look at (pdfinfo, pdffonts, a viewer).
    let dir = std::env::temp_dir();
    std::fs::write(
        dir.join("pdf_bench_statement.pdf"),
        render(&statement(1_600)),
    )
    .unwrap();
    std::fs::write(dir.join("pdf_bench_invoice.pdf"), render(&invoice())).unwrap();
    println!(
        "written to {}/pdf_bench_{{statement,invoice}}.pdf",
        dir.display()
    );
}
