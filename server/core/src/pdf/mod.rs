//! Printable documents (invoices without an ERP original, statements,
//! receipts) as PDF, through printpdf with the standard Helvetica fonts:
//! nothing to ship, and the text is WinAnsi, so `pdftotext` and screen
//! readers get real text. A document is described as data (`DocumentSpec`)
//! and laid out here, with page breaks and repeated table headers; the
//! portal's own documents are described in `layouts`.

pub mod layouts;

use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rgb, TextItem,
};

#[derive(Clone, Debug)]
pub struct Column {
    pub header: String,
    pub width_mm: f32,
    pub right: bool,
}

impl Column {
    pub fn left(header: &str, width_mm: f32) -> Column {
        Column {
            header: header.into(),
            width_mm,
            right: false,
        }
    }

    pub fn right(header: &str, width_mm: f32) -> Column {
        Column {
            header: header.into(),
            width_mm,
            right: true,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Section {
    Heading(String),
    Paragraph(String),
    /// Label / value pairs, values right-aligned (totals, summaries).
    Summary(Vec<(String, String)>),
    Table {
        columns: Vec<Column>,
        rows: Vec<Vec<String>>,
    },
}

#[derive(Clone, Debug)]
pub struct DocumentSpec {
    /// Document title, e.g. "Invoice INV-2026-0001"; also the PDF's title.
    pub title: String,
    pub seller_name: String,
    pub seller_address: String,
    /// Right-hand block under the title: number, dates, terms.
    pub facts: Vec<(String, String)>,
    /// "Bill to" lines.
    pub party: Vec<String>,
    pub sections: Vec<Section>,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
const BODY: f32 = 9.5;

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the
/// standard AFM metrics; used to right-align amounts and to clip long text.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Width of `text` in millimetres at `size` points.
fn width_mm(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let code = c as u32;
            if (32..=126).contains(&code) {
                HELVETICA[(code - 32) as usize] as u32
            } else {
                600
            }
        })
        .sum();
    let factor = if bold { 1.06 } else { 1.0 };
    units as f32 / 1000.0 * size * factor * 0.352_778
}

/// Cuts `text` to fit `max_mm`, ending in "..." when cut.
fn clip(text: &str, max_mm: f32, size: f32, bold: bool) -> String {
    if width_mm(text, size, bold) <= max_mm {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        let candidate = format!("{out}{c}...");
        if width_mm(&candidate, size, bold) > max_mm {
            break;
        }
        out.push(c);
    }
    format!("{out}...")
}

struct Layout {
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Baseline of the next line, from the bottom of the page (mm).
    y: f32,
    footer: String,
}

impl Layout {
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    fn text_right(&mut self, right_x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let w = width_mm(text, size, bold);
        self.text(right_x - w, y, size, bold, text);
    }

    fn rule(&mut self, y: f32, grey: f32) {
        self.ops.push(Op::SetOutlineColor {
            col: Color::Rgb(Rgb::new(grey, grey, grey, None)),
        });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: Point::new(Mm(MARGIN), Mm(y)),
                        bezier: false,
                    },
                    LinePoint {
                        p: Point::new(Mm(PAGE_W - MARGIN), Mm(y)),
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        });
    }

    /// Makes room for `needed` mm, starting a new page when it does not fit.
    /// Returns true when a page was started.
    fn ensure(&mut self, needed: f32) -> bool {
        if self.y - needed >= MARGIN + 8.0 {
            return false;
        }
        self.finish_page();
        self.y = PAGE_H - MARGIN;
        true
    }

    fn finish_page(&mut self) {
        let number = self.pages.len() + 1;
        let footer = format!("{}  -  page {number}", self.footer);
        self.text(MARGIN, MARGIN - 6.0, 7.5, false, &footer);
        self.pages.push(std::mem::take(&mut self.ops));
    }

    fn table_header(&mut self, columns: &[Column]) {
        let mut x = MARGIN;
        for c in columns {
            if c.right {
                self.text_right(x + c.width_mm, self.y, BODY, true, &c.header);
            } else {
                self.text(x, self.y, BODY, true, &c.header);
            }
            x += c.width_mm;
        }
        self.rule(self.y - 1.8, 0.4);
        self.y -= 6.0;
    }
}

/// Lays out and serialises the document.
pub fn render(spec: &DocumentSpec) -> Vec<u8> {
    let mut l = Layout {
        pages: Vec::new(),
        ops: Vec::new(),
        y: PAGE_H - MARGIN - 4.0,
        footer: format!("{} - {}", spec.seller_name, spec.title),
    };
    // Letterhead: seller left, title and facts right.
    l.text(MARGIN, l.y, 14.0, true, &spec.seller_name);
    let mut left_y = l.y - 6.0;
    for line in spec
        .seller_address
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        l.text(MARGIN, left_y, BODY, false, line);
        left_y -= 4.6;
    }
    let right = PAGE_W - MARGIN;
    l.text_right(right, l.y, 16.0, true, &spec.title);
    let mut right_y = l.y - 7.0;
    for (label, value) in &spec.facts {
        l.text_right(right - 45.0, right_y, BODY, false, label);
        l.text_right(right, right_y, BODY, true, value);
        right_y -= 4.6;
    }
    l.y = left_y.min(right_y) - 4.0;
    if !spec.party.is_empty() {
        l.text(MARGIN, l.y, 8.0, true, "BILL TO");
        l.y -= 4.8;
        for line in &spec.party {
            l.text(MARGIN, l.y, BODY, false, line);
            l.y -= 4.6;
        }
        l.y -= 3.0;
    }

    for section in &spec.sections {
        match section {
            Section::Heading(text) => {
                l.ensure(16.0);
                l.y -= 3.0;
                l.text(MARGIN, l.y, 11.5, true, text);
                l.y -= 6.5;
            }
            Section::Paragraph(text) => {
                for line in wrap(text, PAGE_W - 2.0 * MARGIN, BODY) {
                    l.ensure(5.0);
                    l.text(MARGIN, l.y, BODY, false, &line);
                    l.y -= 4.6;
                }
                l.y -= 2.0;
            }
            Section::Summary(rows) => {
                for (label, value) in rows {
                    l.ensure(6.0);
                    l.text_right(right - 45.0, l.y, BODY, false, label);
                    l.text_right(right, l.y, BODY, true, value);
                    l.y -= 5.0;
                }
                l.y -= 2.0;
            }
            Section::Table { columns, rows } => {
                l.ensure(14.0);
                l.table_header(columns);
                for row in rows {
                    if l.ensure(5.5) {
                        l.table_header(columns);
                    }
                    let mut x = MARGIN;
                    for (cell, c) in row.iter().zip(columns) {
                        let text = clip(cell, c.width_mm - 2.0, BODY, false);
                        if c.right {
                            l.text_right(x + c.width_mm, l.y, BODY, false, &text);
                        } else {
                            l.text(x, l.y, BODY, false, &text);
                        }
                        x += c.width_mm;
                    }
                    l.y -= 5.0;
                }
                l.rule(l.y + 3.2, 0.75);
                l.y -= 3.0;
            }
        }
    }
    l.finish_page();

    let pages = l
        .pages
        .into_iter()
        .map(|ops| PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops))
        .collect();
    let mut doc = PdfDocument::new(&spec.title);
    doc.with_pages(pages);
    let mut warnings = Vec::new();
    doc.save(&PdfSaveOptions::default(), &mut warnings)
}

/// Greedy word wrap to `max_mm`.
fn wrap(text: &str, max_mm: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if width_mm(&candidate, size, false) > max_mm && !current.is_empty() {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_multi_page_pdf() {
        let spec = DocumentSpec {
            title: "Statement".into(),
            seller_name: "Seller Inc.".into(),
            seller_address: "1 Main St, Springfield".into(),
            facts: vec![("Period".into(), "Jan 1 - Mar 31, 2026".into())],
            party: vec!["Buyer Ltd".into()],
            sections: vec![Section::Table {
                columns: vec![
                    Column::left("Reference", 100.0),
                    Column::right("Amount", 74.0),
                ],
                rows: (0..200)
                    .map(|i| vec![format!("INV-{i}"), format!("{i}.00")])
                    .collect(),
            }],
        };
        let bytes = render(&spec);
        assert!(bytes.starts_with(b"%PDF-"));
        // 200 rows at 5 mm need several A4 pages, each with its footer.
        let text = String::from_utf8_lossy(&bytes);
        let pages = page_objects(&text);
        assert!(pages >= 4, "several pages: {pages}");
        assert!(
            text.contains(&format!("/Count {pages}")),
            "the page tree counts the {pages} page objects"
        );
    }

    /// The page objects of an uncompressed PDF: `/Type /Page` (any spacing)
    /// but not the page tree's `/Type /Pages`.
    fn page_objects(pdf: &str) -> usize {
        pdf.match_indices("/Type")
            .filter(|(at, _)| {
                pdf[at + "/Type".len()..]
                    .trim_start()
                    .strip_prefix("/Page")
                    .is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_alphanumeric()))
            })
            .count()
    }

    #[test]
    fn page_objects_are_told_from_the_page_tree() {
        let pdf = "<< /Type /Pages /Count 2 >> << /Type /Page >> <</Type/Page/Parent 1 0 R>>";
        assert_eq!(page_objects(pdf), 2);
    }

    #[test]
    fn long_text_is_clipped_or_wrapped_to_its_width() {
        let clipped = clip(
            "A very long description that will not fit",
            20.0,
            BODY,
            false,
        );
        assert!(clipped.ends_with("...") && width_mm(&clipped, BODY, false) <= 20.0);
        let lines = wrap("word ".repeat(80).trim(), 100.0, BODY);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width_mm(l, BODY, false) <= 100.0));
    }
}
