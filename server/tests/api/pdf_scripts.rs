//! Issue 15: generated invoices, statements and receipts render every
//! customer's script, read aloud in a screen reader, and archive. Each PDF
//! is fetched through the portal's own routes as the signed-in customer,
//! then read back the way its readers would: poppler's `pdftotext` (the
//! exact text, right-to-left text in logical order), `pdffonts` (every font
//! embedded and subset), and lopdf (the structure tree, /Lang, MarkInfo and
//! the XMP metadata with the PDF/A and PDF/UA identification and the
//! invoice's data).

use chrono::Duration;
use lopdf::{Dictionary, Object};
use sqlx::Row;

use crate::helpers::{
    location, page_html, signed_in_as, spawn_app_with, staff_id, AppOptions, Backend, TestApp,
};

crate::on_both_databases!(
    every_script_reads_back_from_the_invoice_statement_and_receipt,
    the_demo_world_customers_see_their_own_script,
    the_customers_language_tags_its_documents_whatever_the_browser_says,
    only_an_admin_sets_a_well_formed_language
);

/// A customer in one script: (script, Accept-Language, name, an address
/// line, an invoice line).
const SCRIPTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Polish",
        "pl-PL",
        "Zakłady Łódź Sp. z o.o.",
        "ul. Piotrkowska 12 Łódź",
        "Przewóz Łódź–Gdańsk, 東京 delivery",
    ),
    (
        "Turkish",
        "tr-TR",
        "İstanbul Ağır Sanayi Ş.",
        "Büyükdere Caddesi 5 Şişli İstanbul",
        "Çelik boru, özel üretim",
    ),
    (
        "Greek",
        "el-GR",
        "Ελληνικά Εμπορικά Α.Ε.",
        "Οδός Ερμού 10 Αθήνα",
        "Ρουλεμάν SKF 6205 σετ",
    ),
    (
        "Cyrillic",
        "ru-RU",
        "Торговый дом «Москва»",
        "ул. Тверская 7 Москва",
        "Подшипник шариковый, комплект",
    ),
    (
        "Chinese",
        "zh-CN",
        "北京贸易有限公司",
        "北京市朝阳区建国路一号",
        "液压软管（四分之三英寸）",
    ),
    (
        "Japanese",
        "ja-JP",
        "株式会社東京ロジスティクス",
        "東京都千代田区丸の内一丁目",
        "配送料（東京都内）",
    ),
    (
        "Korean",
        "ko-KR",
        "서울물산 주식회사",
        "서울특별시 중구 세종대로",
        "안전 장갑 스물네 켤레",
    ),
    (
        "Arabic",
        "ar-EG",
        // Lam-alef (لا, one glyph for two letters) in each: "al-Salam",
        // "Independence Street", "non-slip".
        "شركة السلام للتجارة",
        "شارع الاستقلال القاهرة",
        "قفازات عمل لا تنزلق",
    ),
    (
        "Hebrew",
        "he-IL",
        "חברת תל אביב לסחר בע״מ",
        "רחוב הרצל תל אביב",
        "כפפות בטיחות לעבודה",
    ),
];

/// Runs a poppler tool on a PDF. A missing tool fails the test with what
/// to install: these checks never pass without running.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new(tool)
        .args(args)
        .arg(&path)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{tool} could not run ({e}): install Debian's poppler-utils \
                 (scripts/setup.sh --test does)"
            )
        });
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pdftotext wraps right-to-left words in invisible embedding marks
    // (U+202B ... U+202C): formatting, not text.
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// `pdffonts`: every font embedded and subset; returns the font names.
fn assert_fonts_embedded_and_subset(pdf: &[u8], what: &str) -> Vec<String> {
    let listing = poppler("pdffonts", &[], pdf);
    let rows: Vec<&str> = listing
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!rows.is_empty(), "{what}: no fonts at all?\n{listing}");
    let mut names = Vec::new();
    for row in rows {
        // name type... encoding emb sub uni object ID: read from the right,
        // the type has spaces in it.
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert!(n >= 7, "{what}: pdffonts row {row:?}");
        let (emb, sub) = (cols[n - 5], cols[n - 4]);
        assert_eq!(
            (emb, sub),
            ("yes", "yes"),
            "{what}: every font embedded and subset:\n{listing}"
        );
        assert!(
            cols[0].len() > 7 && cols[0].as_bytes()[6] == b'+',
            "subset tag in {row:?}"
        );
        names.push(cols[0].to_owned());
    }
    names
}

fn deref<'a>(doc: &'a lopdf::Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.get_object(*id).expect("reference resolves"),
        other => other,
    }
}

/// What lopdf reads of a document's accessibility and archival parts.
struct PdfFacts {
    lang: String,
    marked: bool,
    struct_types: Vec<String>,
    xmp: String,
}

fn pdf_facts(pdf: &[u8]) -> PdfFacts {
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf reads the PDF");
    let root = deref(&doc, doc.trailer.get(b"Root").expect("a catalog"));
    let catalog: &Dictionary = root.as_dict().expect("the catalog is a dictionary");
    let lang = match catalog.get(b"Lang").map(|o| deref(&doc, o)) {
        Ok(Object::String(bytes, _)) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("/Lang in the catalog: {other:?}"),
    };
    assert!(
        catalog.get(b"StructTreeRoot").is_ok(),
        "the catalog has a StructTreeRoot"
    );
    let marked = catalog
        .get(b"MarkInfo")
        .map(|o| deref(&doc, o))
        .ok()
        .and_then(|o| o.as_dict().ok())
        .and_then(|d| d.get(b"Marked").ok())
        .and_then(|m| m.as_bool().ok())
        .unwrap_or(false);
    let xmp = match deref(&doc, catalog.get(b"Metadata").expect("an XMP stream")) {
        Object::Stream(s) => String::from_utf8_lossy(
            &s.decompressed_content()
                .unwrap_or_else(|_| s.content.clone()),
        )
        .into_owned(),
        other => panic!("/Metadata is a stream: {other:?}"),
    };
    let struct_types = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| {
            d.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"StructElem".as_slice())
                || d.has(b"P") && d.has(b"S")
        })
        .filter_map(|d| d.get(b"S").and_then(|s| s.as_name()).ok())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    PdfFacts {
        lang,
        marked,
        struct_types,
        xmp,
    }
}

/// The checks every generated document passes: tagged, with a language,
/// headings and table header cells, PDF/A and PDF/UA identified in XMP,
/// fonts embedded and subset. Returns the XMP for document-specific checks.
fn assert_accessible_and_archival(pdf: &[u8], language: &str, what: &str) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "{what} is a PDF");
    assert_fonts_embedded_and_subset(pdf, what);
    let facts = pdf_facts(pdf);
    assert_eq!(
        facts.lang, language,
        "{what}: /Lang from the viewer's language"
    );
    assert!(facts.marked, "{what}: MarkInfo /Marked true");
    for tag in ["H1", "Table", "TR", "TH", "TD"] {
        assert!(
            facts.struct_types.iter().any(|t| t == tag),
            "{what}: a {tag} element in {:?}",
            facts.struct_types
        );
    }
    let xmp = facts.xmp;
    assert!(
        xmp.contains("<pdfaid:part>2</pdfaid:part>") || xmp.contains("pdfaid:part=\"2\""),
        "{what}: PDF/A-2 identification in XMP:\n{xmp}"
    );
    assert!(
        xmp.contains("<pdfuaid:part>1</pdfuaid:part>") || xmp.contains("pdfuaid:part=\"1\""),
        "{what}: PDF/UA-1 identification in XMP:\n{xmp}"
    );
    xmp
}

async fn get_pdf(app: &TestApp, client: &reqwest::Client, path: &str, language: &str) -> Vec<u8> {
    let response = client
        .get(app.url(path))
        .header("accept-language", format!("{language},en;q=0.5"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(response.headers()["content-type"], "application/pdf");
    response.bytes().await.unwrap().to_vec()
}

struct Account {
    customer_id: i64,
    invoice_id: i64,
    number: String,
    payment_id: i64,
    email: String,
}

/// A customer named `name` with one contact, one invoice whose line is
/// `line`, and a payment of half of it.
async fn account(app: &TestApp, index: usize, name: &str, line: &str) -> Account {
    let today = app.services.today();
    let now = "2026-01-01T00:00:00.000000Z";
    let email = format!("ap{index}@scripts.example");
    let number = format!("INV-S-{index:04}");
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let customer_id: i64 = sqlx::query("INSERT INTO customers (external_id, name, currency, payment_terms_days, created_at) VALUES ($1, $2, 'EUR', 30, $3) RETURNING customer_id")
        .bind(format!("scripts-{index}"))
        .bind(name)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("customer_id");
    let contact_id: i64 = sqlx::query(
        "INSERT INTO contacts (email, name, created_at) VALUES ($1, $2, $3) RETURNING contact_id",
    )
    .bind(&email)
    .bind(name)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get("contact_id");
    sqlx::query("INSERT INTO customer_contacts (customer_id, contact_id, role, created_at) VALUES ($1, $2, 'admin', $3)")
        .bind(customer_id)
        .bind(contact_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .unwrap();
    let issue = today - Duration::days(20);
    let invoice_id: i64 = sqlx::query("INSERT INTO invoices (customer_id, number, external_id, issue_date, due_date, currency, subtotal_minor, tax_minor, total_minor, created_at) VALUES ($1, $2, $3, $4, $5, 'EUR', 10000, 2000, 12000, $6) RETURNING invoice_id")
        .bind(customer_id)
        .bind(&number)
        .bind(format!("scripts-erp-{index}"))
        .bind(issue.to_string())
        .bind((issue + Duration::days(30)).to_string())
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("invoice_id");
    sqlx::query("INSERT INTO invoice_lines (invoice_id, position, description, quantity_milli, unit_price_minor, tax_rate_bp, amount_minor, tax_minor) VALUES ($1, 1, $2, 1000, 10000, 2000, 10000, 2000)")
        .bind(invoice_id)
        .bind(line)
        .execute(&mut *conn)
        .await
        .unwrap();
    let paid_at = format!("{}T12:00:00.000000Z", today - Duration::days(2));
    let payment_id: i64 = sqlx::query("INSERT INTO payments (customer_id, currency, amount_minor, method, status, reference, received_at, created_at, updated_at) VALUES ($1, 'EUR', 6000, 'bank_transfer', 'succeeded', 'Wire 1', $2, $2, $2) RETURNING payment_id")
        .bind(customer_id)
        .bind(&paid_at)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("payment_id");
    sqlx::query("INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor) VALUES ($1, $2, 6000)")
        .bind(payment_id)
        .bind(invoice_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    portal_core::repo::invoices::refresh_settlement(&mut conn, invoice_id)
        .await
        .unwrap();
    Account {
        customer_id,
        invoice_id,
        number,
        payment_id,
        email,
    }
}

async fn every_script_reads_back_from_the_invoice_statement_and_receipt(backend: Backend) {
    // The seller's address holds every script's address line: each
    // document shows it, so each script is checked in an address too.
    let address = SCRIPTS.iter().map(|s| s.3).collect::<Vec<_>>().join("\n");
    let mut options = AppOptions::new(backend);
    options.env.push(("PORTAL_SELLER_ADDRESS", address));
    options.seed = false;
    let app = spawn_app_with(options).await;
    let today = app.services.today();
    for (index, (script, language, name, address_line, line)) in SCRIPTS.iter().enumerate() {
        let a = account(&app, index, name, line).await;
        let client = app.signed_in_client(&a.email).await;
        let c = a.customer_id;

        let invoice = get_pdf(
            &app,
            &client,
            &format!("/accounts/{c}/invoices/{}/pdf", a.invoice_id),
            language,
        )
        .await;
        let statement = get_pdf(
            &app,
            &client,
            &format!(
                "/accounts/{c}/statement.pdf?from={}&to={today}",
                today - Duration::days(60)
            ),
            language,
        )
        .await;
        let receipt = get_pdf(
            &app,
            &client,
            &format!("/accounts/{c}/payments/{}/receipt.pdf", a.payment_id),
            language,
        )
        .await;

        for (what, pdf) in [
            ("invoice", &invoice),
            ("statement", &statement),
            ("receipt", &receipt),
        ] {
            let what = format!("{script} {what}");
            let text = poppler("pdftotext", &[], pdf);
            assert!(
                text.contains(name),
                "{what}: the customer's name {name:?} as typed in:\n{text}"
            );
            assert!(
                text.contains(address_line),
                "{what}: the address line {address_line:?} as typed in:\n{text}"
            );
            if what.ends_with("invoice") {
                assert!(
                    text.contains(line),
                    "{what}: the invoice line {line:?} as typed in:\n{text}"
                );
            }
            let xmp = assert_accessible_and_archival(pdf, language, &what);
            match what.rsplit(' ').next() {
                Some("invoice") => {
                    for fact in [
                        format!("invoice-number={}", a.number),
                        format!("issue-date={}", today - Duration::days(20)),
                        format!("due-date={}", today + Duration::days(10)),
                        "currency=EUR".to_owned(),
                        "total=120.00".to_owned(),
                        "balance-due=60.00".to_owned(),
                    ] {
                        assert!(xmp.contains(&fact), "{what}: {fact} in the XMP:\n{xmp}");
                    }
                }
                Some("statement") => {
                    assert!(
                        xmp.contains("document=statement")
                            && xmp.contains("closing-balance-EUR=60.00"),
                        "{what}: {xmp}"
                    )
                }
                _ => assert!(
                    xmp.contains(&format!("payment-number=PAY-{}", a.payment_id))
                        && xmp.contains(&format!("invoices={}", a.number)),
                    "{what}: {xmp}"
                ),
            }
        }
    }
}

/// `portal seed-demo`'s customers abroad get their names and lines back
/// (the issue's own example: "Przewóz Łódź–Gdańsk, 東京 delivery").
async fn the_demo_world_customers_see_their_own_script(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    for (email, name, line, language) in [
        (
            "zamowienia@zaklady-lodz.example",
            "Zakłady Łódź Sp. z o.o.",
            "Przewóz Łódź–Gdańsk, 東京 delivery",
            "pl",
        ),
        (
            "keiri@tokyo-logistics.example",
            "株式会社東京ロジスティクス",
            "配送料（東京都内）",
            "ja",
        ),
        (
            "ap@telaviv-trade.example",
            "חברת תל אביב לסחר בע״מ",
            "Freight – משלוח לחיפה",
            "he",
        ),
        (
            "logistirio@ellinika.example",
            "Ελληνικά Εμπορικά Α.Ε.",
            "Ρουλεμάν SKF 6205",
            "el",
        ),
    ] {
        let customer_id = app.customer_id(name).await;
        let invoice_ids: Vec<i64> = {
            let mut conn = app.services.db.pool.acquire().await.unwrap();
            sqlx::query(
                "SELECT invoice_id FROM invoices WHERE customer_id = $1 ORDER BY invoice_id",
            )
            .bind(customer_id)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>("invoice_id"))
            .collect()
        };
        assert_eq!(invoice_ids.len(), 2, "{name}: a paid and an open invoice");
        let client = app.signed_in_client(email).await;
        for invoice_id in invoice_ids {
            let pdf = get_pdf(
                &app,
                &client,
                &format!("/accounts/{customer_id}/invoices/{invoice_id}/pdf"),
                "en-US",
            )
            .await;
            let text = poppler("pdftotext", &[], &pdf);
            assert!(
                text.contains(name) && text.contains(line),
                "{name} / {line} in:\n{text}"
            );
            // The demo customer's language, not the English browser's.
            assert_eq!(pdf_facts(&pdf).lang, language, "{name}: /Lang");
        }
    }
}

/// The /Lang of a customer's invoice, statement and receipt PDFs fetched
/// by a browser that sends `browser` as its Accept-Language.
async fn document_languages(
    app: &TestApp,
    client: &reqwest::Client,
    a: &Account,
    browser: &str,
) -> [String; 3] {
    let today = app.services.today();
    let c = a.customer_id;
    let paths = [
        format!("/accounts/{c}/invoices/{}/pdf", a.invoice_id),
        format!(
            "/accounts/{c}/statement.pdf?from={}&to={today}",
            today - Duration::days(60)
        ),
        format!("/accounts/{c}/payments/{}/receipt.pdf", a.payment_id),
    ];
    let mut langs = Vec::new();
    for path in &paths {
        let pdf = get_pdf(app, client, path, browser).await;
        langs.push(pdf_facts(&pdf).lang);
    }
    langs.try_into().unwrap()
}

async fn stored_language(app: &TestApp, customer_id: i64) -> Option<String> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, Option<String>>("SELECT language FROM customers WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn post_language(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    language: &str,
) -> reqwest::Response {
    app.post_form_with(
        client,
        &format!("/staff/customers/{customer_id}/language"),
        &[("language", language)],
    )
    .await
}

/// Issue 15: "document title and language set from the customer's
/// language". AR sets a Polish customer's language on the customer page;
/// its invoice, statement and receipt are then `pl` for a reader whose
/// browser says en-US. Without one, the reader's browser language is used.
async fn the_customers_language_tags_its_documents_whatever_the_browser_says(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let a = account(&app, 40, "Zakłady Testowe Sp. z o.o.", "Łożyska kulkowe").await;
    let contact = app.signed_in_client(&a.email).await;
    let c = a.customer_id;

    // Not set: each document follows the reader's browser.
    assert_eq!(stored_language(&app, c).await, None);
    assert_eq!(
        document_languages(&app, &contact, &a, "en-US").await,
        ["en-US", "en-US", "en-US"]
    );
    assert_eq!(
        document_languages(&app, &contact, &a, "de-DE").await,
        ["de-DE", "de-DE", "de-DE"]
    );

    // An AR admin sets it on the staff customer page (a plain form).
    let admin = app.signed_in_staff_client().await;
    let page = page_html(&app, &admin, &format!("/staff/customers/{c}")).await;
    assert!(
        page.contains("Document language")
            && page.contains(&format!("action=\"/staff/customers/{c}/language\"")),
        "the language form on the customer page:\n{page}"
    );
    let saved = post_language(&app, &admin, c, "pl").await;
    assert_eq!(saved.status(), 303);
    let back = location(&saved);
    assert!(
        back.starts_with(&format!("/staff/customers/{c}?saved=language")),
        "{back}"
    );
    assert_eq!(stored_language(&app, c).await.as_deref(), Some("pl"));
    let page = page_html(&app, &admin, &back).await;
    assert!(page.contains("Document language saved."), "{page}");
    assert!(page.contains("value=\"pl\""), "the field shows pl:\n{page}");

    // The browser says English; the documents are Polish.
    assert_eq!(
        document_languages(&app, &contact, &a, "en-US").await,
        ["pl", "pl", "pl"]
    );

    // Cleared (an empty field): the reader's browser again.
    let cleared = post_language(&app, &admin, c, "  ").await;
    assert_eq!(cleared.status(), 303);
    assert_eq!(stored_language(&app, c).await, None);
    assert_eq!(
        document_languages(&app, &contact, &a, "ja-JP").await,
        ["ja-JP", "ja-JP", "ja-JP"]
    );

    // The service the API (issue 14) will call stores the canonical case.
    let admin_id = staff_id(&app, "ar@seller.example").await;
    assert_eq!(
        app.services
            .set_customer_language(admin_id, c, "PT-br")
            .await
            .unwrap()
            .as_deref(),
        Some("pt-BR")
    );
    assert_eq!(
        document_languages(&app, &contact, &a, "en-US").await,
        ["pt-BR", "pt-BR", "pt-BR"]
    );
}

/// A malformed tag is refused with a sentence saying what to type and
/// changes nothing; an agent may read the language but not change it.
async fn only_an_admin_sets_a_well_formed_language(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let a = account(&app, 41, "Zakłady Próbne Sp. z o.o.", "Łożyska").await;
    let c = a.customer_id;
    let admin_id = staff_id(&app, "ar@seller.example").await;
    app.services
        .set_customer_language(admin_id, c, "pl")
        .await
        .unwrap();

    let admin = app.signed_in_staff_client().await;
    for bad in ["Polish", "pl_PL", "en-", "x\" /Lang (de)"] {
        let refused = post_language(&app, &admin, c, bad).await;
        assert_eq!(refused.status(), 303, "{bad}");
        let back = location(&refused);
        assert!(back.contains("language_problem=language"), "{back}");
        assert_eq!(
            stored_language(&app, c).await.as_deref(),
            Some("pl"),
            "{bad}"
        );
        let page = page_html(&app, &admin, &back).await;
        assert!(
            page.contains("Nothing was changed:") && page.contains("is not a language tag"),
            "{bad}: the problem beside the field:\n{page}"
        );
    }
    let refused = app
        .services
        .set_customer_language(admin_id, c, "english please")
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            portal_core::ServiceError::Invalid {
                field: Some("language"),
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("is not a language tag"),
        "{refused}"
    );

    // An agent sees the language, read-only, and cannot change it.
    let agent = signed_in_as(&app, "agent@seller.example", true).await;
    let page = page_html(&app, &agent, &format!("/staff/customers/{c}")).await;
    assert!(
        page.contains("Document language") && page.contains("value=\"pl\""),
        "{page}"
    );
    assert!(!page.contains("Save the language"), "{page}");
    let forbidden = post_language(&app, &agent, c, "de").await;
    assert_eq!(forbidden.status(), 403);
    let agent_id = staff_id(&app, "agent@seller.example").await;
    assert!(matches!(
        app.services.set_customer_language(agent_id, c, "de").await,
        Err(portal_core::ServiceError::Forbidden(_))
    ));
    assert_eq!(stored_language(&app, c).await.as_deref(), Some("pl"));
    // An unknown customer is not found.
    assert!(matches!(
        app.services
            .set_customer_language(admin_id, 987_654, "de")
            .await,
        Err(portal_core::ServiceError::NotFound)
    ));
}
