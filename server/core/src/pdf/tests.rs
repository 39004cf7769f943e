use super::*;

fn spec(sections: Vec<Section>) -> DocumentSpec {
    DocumentSpec {
        title: "Statement".into(),
        seller_name: "Seller Inc.".into(),
        seller_address: "1 Main St, Springfield".into(),
        facts: vec![("Period".into(), "Jan 1 - Mar 31, 2026".into())],
        party: vec!["Buyer Ltd".into()],
        sections,
        language: "en-US".into(),
        metadata: vec![("document".into(), "statement".into())],
    }
}

#[test]
fn renders_a_multi_page_pdf() {
    let bytes = render(&spec(vec![Section::Table {
        columns: vec![
            Column::left("Reference", 100.0),
            Column::right("Amount", 74.0),
        ],
        rows: (0..200)
            .map(|i| vec![format!("INV-{i}"), format!("{i}.00")])
            .collect(),
    }]))
    .expect("renders");
    assert!(bytes.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&bytes).expect("a PDF lopdf reads");
    // 200 rows at 5 mm need several A4 pages.
    assert!(
        doc.get_pages().len() >= 4,
        "{} pages",
        doc.get_pages().len()
    );
}

/// Text in every script the portal promises, as a customer would type it.
pub const SAMPLES: &[(&str, &str)] = &[
    ("Polish", "Zakłady Łódź Sp. z o.o."),
    ("Turkish", "İstanbul Ağır Sanayi Ş."),
    ("Greek", "Ελληνικά Εμπορικά Α.Ε."),
    ("Cyrillic", "Торговый дом Москва"),
    ("Chinese", "北京贸易有限公司"),
    ("Japanese", "株式会社東京ロジスティクス"),
    ("Korean", "서울물산 주식회사"),
    ("Arabic", "شركة القاهرة للتجارة"),
    // Lam-alef ligatures (one glyph for two letters), every alef form.
    ("Arabic lam-alef", "شركة السلام للتجارة"),
    ("Arabic lam-alef forms", "لا لأن إلا الآن"),
    ("Hebrew", "חברת תל אביב בע״מ"),
    // Latin then Hebrew in one line.
    ("Latin then Hebrew", "Freight – משלוח לחיפה"),
];

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils, installed by scripts/setup.sh --test) must be installed");
    assert!(out.status.success());
    without_bidi_marks(&String::from_utf8(out.stdout).unwrap())
}

/// pdftotext wraps right-to-left words in invisible embedding marks
/// (U+202B ... U+202C); they are formatting, not text.
pub fn without_bidi_marks(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

#[test]
fn every_script_reads_back_as_typed() {
    let mut s = spec(vec![Section::Table {
        columns: vec![
            Column::left("Description", 120.0),
            Column::right("Amount", 54.0),
        ],
        rows: SAMPLES
            .iter()
            .map(|(_, text)| vec![text.to_string(), "1.00".into()])
            .collect(),
    }]);
    s.party = SAMPLES.iter().map(|(_, t)| t.to_string()).collect();
    s.seller_address = SAMPLES
        .iter()
        .map(|(_, t)| t.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = render(&s).expect("renders");
    std::fs::write(std::env::temp_dir().join("portal-pdf-scripts.pdf"), &bytes).unwrap();
    let text = pdftotext(&bytes);
    for (script, sample) in SAMPLES {
        assert_eq!(
            text.matches(sample).count(),
            3,
            "{script} {sample:?} in the address, the party and a line:\n{text}"
        );
    }
}

#[test]
fn long_cells_wrap_in_their_column_and_keep_every_word() {
    let long = "Conveyor belt section 2 m, reinforced, with fitting kit and \
                on-site installation by two technicians (Łódź plant, hall 3)";
    let bytes = render(&spec(vec![Section::Table {
        columns: vec![
            Column::left("Description", 70.0),
            Column::right("Amount", 44.0),
        ],
        rows: vec![vec![long.into(), "1.00".into()]],
    }]))
    .unwrap();
    let text = pdftotext(&bytes);
    // Nothing cut off: every word comes back, in order, over several lines.
    let mut words = text.split_whitespace();
    for wanted in long.split_whitespace() {
        assert!(
            words.any(|w| w == wanted),
            "{wanted:?} (in order) in:\n{text}"
        );
    }
    assert!(!text.lines().any(|l| l.contains(long)), "wrapped:\n{text}");
}

#[test]
fn the_document_language_is_the_viewers_first_language() {
    assert_eq!(
        language_from_accept_language(Some("pl-PL,pl;q=0.9,en;q=0.8")),
        "pl-PL"
    );
    assert_eq!(language_from_accept_language(Some("ja")), "ja");
    assert_eq!(
        language_from_accept_language(Some("zh-Hant-TW;q=1")),
        "zh-Hant-TW"
    );
    assert_eq!(language_from_accept_language(Some("*")), "en");
    assert_eq!(language_from_accept_language(Some("x\" /Foo")), "en");
    assert_eq!(language_from_accept_language(None), "en");
}

#[test]
fn a_customers_language_is_a_well_formed_tag_and_wins_over_the_viewers() {
    assert_eq!(parse_customer_language("pl"), Ok(Some("pl".to_owned())));
    assert_eq!(
        parse_customer_language(" PT-br "),
        Ok(Some("pt-BR".to_owned()))
    );
    assert_eq!(
        parse_customer_language("zh-hant-tw"),
        Ok(Some("zh-Hant-TW".to_owned()))
    );
    assert_eq!(parse_customer_language(""), Ok(None));
    for bad in [
        "polish",
        "p",
        "pl_PL",
        "en-",
        "und",
        "x\" /Foo",
        "pl-PL-u-ca-gregory",
        "\u{0660}\u{0661}",
    ] {
        let refused = parse_customer_language(bad).unwrap_err();
        assert!(
            refused.contains("is not a language tag"),
            "{bad}: {refused}"
        );
    }
    assert_eq!(document_language(Some("pl"), "en-US"), "pl");
    assert_eq!(document_language(None, "en-US"), "en-US");
}

#[test]
fn tagged_with_language_structure_and_archival_metadata() {
    let mut s = spec(vec![
        Section::Heading("Account activity".into()),
        Section::Table {
            columns: vec![
                Column::left("Reference", 100.0),
                Column::right("Amount", 74.0),
            ],
            rows: vec![
                vec!["INV-1".into(), "1.00".into()],
                vec!["".into(), "2.00".into()],
            ],
        },
    ]);
    s.language = "he-IL".into();
    s.party = vec!["חברת תל אביב לסחר בע״מ".into()];
    s.metadata = vec![("invoice-number".into(), "INV-1".into())];
    let bytes = render(&s).unwrap();
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let catalog = doc.catalog().unwrap();
    assert_eq!(catalog.get(b"Lang").unwrap().as_str().unwrap(), b"he-IL");
    assert!(catalog.get(b"StructTreeRoot").is_ok());
    let raw = String::from_utf8_lossy(&bytes);
    assert!(raw.contains("pdfaid:part") && raw.contains("pdfuaid:part"));
    assert!(raw.contains("invoice-number=INV-1"));
    // The Hebrew name reads back in logical order.
    assert!(pdftotext(&bytes).contains("חברת תל אביב לסחר בע״מ"));
}

#[test]
fn right_to_left_glyphs_each_stand_for_one_character_in_visual_order() {
    // Lam-alef is drawn as one glyph; it must read back as lam then alef,
    // and a ligature's characters are never turned around: read right to
    // left (the reverse of the drawing order), the glyphs' characters are
    // the text as typed.
    let fonts = fonts::fonts().expect("fonts installed");
    let mut shaper = text::Shaper::new(fonts, CjkRegion::Japanese);
    for typed in ["لا", "السلام", "لأن إلا الآن", "כפפות בטיחות"] {
        let line = shaper.line(typed, false);
        let mut read = String::new();
        for piece in line.pieces.iter().rev() {
            for glyph in piece.glyphs.iter().rev() {
                let chars = piece.text[glyph.text_range.clone()].chars().count();
                assert_eq!(chars, 1, "{typed:?}: {glyph:?} stands for one character");
                read.push_str(&piece.text[glyph.text_range.clone()]);
            }
        }
        assert_eq!(read, typed);
    }
    // The ligature stays one visible glyph: the carrier draws nothing.
    let lam_alef = shaper.line("لا", false);
    let advances: Vec<f32> = lam_alef.pieces[0]
        .glyphs
        .iter()
        .map(|g| g.x_advance)
        .collect();
    assert_eq!(advances.len(), 2);
    assert_eq!(advances[0], 0.0);
    assert!(advances[1] > 0.3, "{advances:?}");
}
