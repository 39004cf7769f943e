//! Printable documents (invoices without an ERP original, statements,
//! receipts) as PDF, written by krilla (Typst's PDF writer; see
//! docs/ARCHITECTURE.md, "Generated documents"). A document is described as
//! data (`DocumentSpec`) and laid out here, with page breaks, wrapped
//! cells and repeated table headers; the portal's own documents are
//! described in `layouts`.
//!
//! What every document gets:
//! - **Any script**: text is set in Noto Sans with a per-character
//!   fallback to Noto Sans Arabic, Hebrew and CJK (`fonts`), bidi-ordered
//!   and shaped (`text`); fonts are embedded as subsets of the glyphs used.
//! - **Tagged, PDF/UA-1**: a structure tree in reading order (title H1,
//!   section headings H2, paragraphs, tables with TH header cells), the
//!   document's language (/Lang) with the portal's own English words
//!   marked as such, a title shown by viewers, an outline; page footers,
//!   rules and repeated table headers are artifacts.
//! - **PDF/A-2a**: everything embedded, colours calibrated, and the
//!   document's facts (number, dates, amounts, currency) in its XMP
//!   metadata.
//! krilla checks both standards while writing and refuses a document that
//! breaks them; `render` reports that as an error.

pub mod fonts;
pub mod layouts;
mod text;

use std::num::NonZeroU16;
use std::rc::Rc;

use krilla::configure::{Accessibility, Archival, ConfigurationBuilder};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, SpanTag, TableHeaderScope, Tag, TagGroup,
    TagKind, TagTree,
};
use krilla::{Document, SerializeSettings};

pub use fonts::FontError;
use fonts::{script_language, CjkRegion, Family};
use text::{Line, Shaper, MM_PER_PT};

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
    /// The reader's language (BCP 47, e.g. "pl-PL"): the document's /Lang,
    /// which a screen reader speaks the customer's names, addresses and
    /// lines in. The portal's own words (labels, headings) are written in
    /// English and marked so.
    pub language: String,
    /// What an archive or AP system files the document by (kind, number,
    /// dates, amounts, currency), as key / value pairs for the XMP
    /// metadata: `pdf:Keywords` holds `key=value` items, `dc:description`
    /// a sentence of them.
    pub metadata: Vec<(String, String)>,
}

/// The language the portal's own words on a document are written in.
pub const LABEL_LANGUAGE: &str = "en";

/// The document language for an `Accept-Language` header: its first
/// language tag, if it is a well-formed one, else English (the language of
/// the portal's pages and documents).
pub fn language_from_accept_language(header: Option<&str>) -> String {
    let first = header
        .unwrap_or("")
        .split(',')
        .next()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    let well_formed = !first.is_empty()
        && first.len() <= 35
        && first.split('-').all(|part| {
            !part.is_empty() && part.len() <= 8 && part.chars().all(|c| c.is_ascii_alphanumeric())
        })
        && first.split('-').next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic())
        });
    if well_formed {
        first.to_owned()
    } else {
        LABEL_LANGUAGE.to_owned()
    }
}

/// A customer's language as AR types it (issue 15): empty means "not set"
/// (`Ok(None)`: documents follow the viewer's Accept-Language); otherwise
/// a well-formed BCP 47 language tag ("pl", "ja", "he", "zh-Hant-TW",
/// "pt-BR"), returned in its canonical case ("PT-br" -> "pt-BR"). Anything
/// else is refused with a sentence saying what to type.
pub fn parse_customer_language(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let refused = || {
        format!(
            "\u{201c}{}\u{201d} is not a language tag. Type a BCP 47 tag such as pl, ja, he, ar, el or pt-BR, \
             or leave the field empty to use the reader's browser language.",
            text.chars().take(40).collect::<String>()
        )
    };
    // A language identifier (language, script, region, variants): what a
    // PDF's /Lang and a screen reader use. The language subtag is an ISO
    // 639 code of two or three letters (the five-to-eight letter form is
    // reserved and unused, and would let "polish" through); `und` names no
    // language.
    let parsed = (text.len() <= 35)
        .then(|| icu_locale_core::LanguageIdentifier::try_from_str(text).ok())
        .flatten()
        .filter(|id| (2..=3).contains(&id.language.as_str().len()) && !id.language.is_unknown())
        .ok_or_else(refused)?;
    Ok(Some(parsed.to_string()))
}

/// A document's language: the customer's when AR set one, else the
/// viewer's (from `language_from_accept_language`).
pub fn document_language(customer: Option<&str>, viewer: &str) -> String {
    customer
        .and_then(|c| parse_customer_language(c).ok().flatten())
        .unwrap_or_else(|| viewer.to_owned())
}

fn primary(language: &str) -> String {
    language
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Fonts(#[from] FontError),
    #[error("the PDF writer refused the document: {0}")]
    Pdf(String),
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
const BODY: f32 = 9.5;
const MM: f32 = 72.0 / 25.4;

/// The structure of the document, built while laying it out: what a
/// screen reader walks through, in reading order.
#[derive(Clone, Copy)]
enum Kind {
    Heading(u16),
    P,
    Table,
    THead,
    TBody,
    Tr,
    Th(TableHeaderScope),
    Td,
}

enum Child {
    Node(usize),
    /// Text drawn on a page: `leaves[i]` gets its marked-content ids.
    Leaf(usize),
}

struct Node {
    kind: Kind,
    /// A heading's text (PDF/UA wants it as the element's title).
    title: Option<String>,
    children: Vec<Child>,
}

/// How a piece of text is marked on the page.
#[derive(Clone, Copy)]
enum Mark {
    /// Real content: the leaf it belongs to, and whether it is the
    /// portal's own (English) words rather than the customer's data.
    Content { leaf: usize, label: bool },
    /// Not read aloud: footers, repeated table headers.
    Artifact(ArtifactType),
}

enum Item {
    Text {
        /// Left end of the baseline, mm from the left / bottom edge.
        x: f32,
        y: f32,
        size: f32,
        line: Rc<Line>,
        mark: Mark,
    },
    Rule {
        y: f32,
        grey: f32,
    },
}

struct Layout {
    shaper: Shaper,
    pages: Vec<Vec<Item>>,
    items: Vec<Item>,
    /// Baseline of the next line, from the bottom of the page (mm).
    y: f32,
    footer: String,
    nodes: Vec<Node>,
    roots: Vec<usize>,
    leaves: usize,
    /// Outline entries: (text, page index, y in mm from the bottom).
    outline: Vec<(String, usize, f32)>,
}

impl Layout {
    fn node(&mut self, parent: Option<usize>, kind: Kind) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind,
            title: None,
            children: Vec::new(),
        });
        match parent {
            Some(p) => self.nodes[p].children.push(Child::Node(id)),
            None => self.roots.push(id),
        }
        id
    }

    fn leaf(&mut self, parent: usize) -> usize {
        let id = self.leaves;
        self.leaves += 1;
        self.nodes[parent].children.push(Child::Leaf(id));
        id
    }

    /// Draws one line of text as content of `parent` (or as an artifact).
    #[allow(clippy::too_many_arguments)]
    fn put(&mut self, x: f32, y: f32, size: f32, line: Rc<Line>, right: bool, mark: Mark) {
        let x = if right { x - line.width_mm(size) } else { x };
        self.items.push(Item::Text {
            x,
            y,
            size,
            line,
            mark,
        });
    }

    /// `text` at (x, y), one line, in the structure under `parent`;
    /// right-aligned on x when `right`.
    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        parent: usize,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: &str,
        right: bool,
        label: bool,
    ) {
        let line = self.shaper.line(text, bold);
        let leaf = self.leaf(parent);
        self.put(x, y, size, line, right, Mark::Content { leaf, label });
    }

    fn artifact(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str, right: bool) {
        let line = self.shaper.line(text, bold);
        self.put(
            x,
            y,
            size,
            line,
            right,
            Mark::Artifact(ArtifactType::PaginationOther),
        );
    }

    fn rule(&mut self, y: f32, grey: f32) {
        self.items.push(Item::Rule { y, grey });
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
        let line = self.shaper.line(&footer, false);
        self.put(
            MARGIN,
            MARGIN - 6.0,
            7.5,
            line,
            false,
            Mark::Artifact(ArtifactType::Footer),
        );
        self.pages.push(std::mem::take(&mut self.items));
    }

    /// A table's header row: in the structure the first time (`head`),
    /// an artifact when repeated on a later page.
    fn table_header(&mut self, columns: &[Column], head: Option<usize>) {
        let row = head.map(|h| self.node(Some(h), Kind::Tr));
        let mut x = MARGIN;
        for c in columns {
            let at = if c.right { x + c.width_mm } else { x };
            match row {
                Some(row) => {
                    let th = self.node(Some(row), Kind::Th(TableHeaderScope::Column));
                    self.text(th, at, self.y, BODY, true, &c.header, c.right, true);
                }
                None => self.artifact(at, self.y, BODY, true, &c.header, c.right),
            }
            x += c.width_mm;
        }
        self.rule(self.y - 1.8, 0.4);
        self.y -= 6.0;
    }

    /// A label / value block (facts, summaries) as a two-column table whose
    /// labels are row headers; values right-aligned at `right`.
    fn pairs(&mut self, rows: &[(String, String)], right: f32, step: f32, page_breaks: bool) {
        let table = self.node(None, Kind::Table);
        let body = self.node(Some(table), Kind::TBody);
        for (label, value) in rows {
            if page_breaks {
                self.ensure(step + 1.0);
            }
            let tr = self.node(Some(body), Kind::Tr);
            let th = self.node(Some(tr), Kind::Th(TableHeaderScope::Row));
            self.text(th, right - 45.0, self.y, BODY, false, label, true, true);
            let td = self.node(Some(tr), Kind::Td);
            self.text(td, right, self.y, BODY, true, cell(value), true, false);
            self.y -= step;
        }
    }

    fn heading(&mut self, level: u16, text: &str, x: f32, size: f32, right: bool) -> usize {
        let h = self.node(None, Kind::Heading(level));
        self.nodes[h].title = Some(text.to_owned());
        self.text(h, x, self.y, size, true, text, right, true);
        self.outline
            .push((text.to_owned(), self.pages.len(), self.y + size * MM_PER_PT));
        h
    }
}

/// What is drawn for a cell: an empty cell gets a space, so it stays a
/// cell of its row for a screen reader (an empty structure element is
/// dropped).
fn cell(text: &str) -> &str {
    if text.trim().is_empty() {
        " "
    } else {
        text
    }
}

/// Lays out and writes the document (a blocking call: run it off the
/// async threads).
pub fn render(spec: &DocumentSpec) -> Result<Vec<u8>, RenderError> {
    let fonts = fonts::fonts()?;
    let region = CjkRegion::for_language(&spec.language);
    let mut l = Layout {
        shaper: Shaper::new(fonts, region),
        pages: Vec::new(),
        items: Vec::new(),
        y: PAGE_H - MARGIN - 4.0,
        footer: format!("{} - {}", spec.seller_name, spec.title),
        nodes: Vec::new(),
        roots: Vec::new(),
        leaves: 0,
        outline: Vec::new(),
    };
    let right = PAGE_W - MARGIN;
    let top = l.y;
    // Reading order: the title, who sends it, the facts, who it is for,
    // then the sections; drawn as a letterhead (seller left, title and
    // facts right).
    l.heading(1, &spec.title, right, 16.0, true);
    let seller = l.node(None, Kind::P);
    let mut left_y = top;
    for line in l.shaper.wrap(&spec.seller_name, true, 14.0, 88.0) {
        let leaf = l.leaf(seller);
        l.put(
            MARGIN,
            left_y,
            14.0,
            line,
            false,
            Mark::Content { leaf, label: false },
        );
        left_y -= 6.0;
    }
    let address = l.node(None, Kind::P);
    for part in spec
        .seller_address
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        for line in l.shaper.wrap(part, false, BODY, 88.0) {
            let leaf = l.leaf(address);
            l.put(
                MARGIN,
                left_y,
                BODY,
                line,
                false,
                Mark::Content { leaf, label: false },
            );
            left_y -= 4.6;
        }
    }
    l.y = top - 7.0;
    l.pairs(&spec.facts, right, 4.6, false);
    let right_y = l.y;
    l.y = left_y.min(right_y) - 4.0;
    if !spec.party.is_empty() {
        l.heading(2, "Bill to", MARGIN, 8.0, false);
        l.y -= 4.8;
        let party = l.node(None, Kind::P);
        for line in &spec.party {
            for shaped in l.shaper.wrap(line, false, BODY, PAGE_W - 2.0 * MARGIN) {
                l.ensure(5.0);
                let leaf = l.leaf(party);
                let y = l.y;
                l.put(
                    MARGIN,
                    y,
                    BODY,
                    shaped,
                    false,
                    Mark::Content { leaf, label: false },
                );
                l.y -= 4.6;
            }
        }
        l.y -= 3.0;
    }

    for section in &spec.sections {
        match section {
            Section::Heading(text) => {
                l.ensure(16.0);
                l.y -= 3.0;
                l.heading(2, text, MARGIN, 11.5, false);
                l.y -= 6.5;
            }
            Section::Paragraph(text) => {
                let p = l.node(None, Kind::P);
                for line in l.shaper.wrap(text, false, BODY, PAGE_W - 2.0 * MARGIN) {
                    l.ensure(5.0);
                    let leaf = l.leaf(p);
                    let y = l.y;
                    l.put(
                        MARGIN,
                        y,
                        BODY,
                        line,
                        false,
                        Mark::Content { leaf, label: true },
                    );
                    l.y -= 4.6;
                }
                l.y -= 2.0;
            }
            Section::Summary(rows) => {
                l.pairs(rows, right, 5.0, true);
                l.y -= 2.0;
            }
            Section::Table { columns, rows } => {
                l.ensure(14.0);
                let table = l.node(None, Kind::Table);
                let head = l.node(Some(table), Kind::THead);
                l.table_header(columns, Some(head));
                let body = l.node(Some(table), Kind::TBody);
                for row in rows {
                    // Long cells wrap inside their column; the row is as
                    // tall as its tallest cell.
                    let cells: Vec<Vec<Rc<Line>>> = row
                        .iter()
                        .zip(columns)
                        .map(|(text, c)| l.shaper.wrap(cell(text), false, BODY, c.width_mm - 2.0))
                        .collect();
                    let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as f32 * 4.2;
                    if l.ensure(height + 0.8) {
                        l.table_header(columns, None);
                    }
                    let tr = l.node(Some(body), Kind::Tr);
                    let mut x = MARGIN;
                    for (lines, c) in cells.into_iter().zip(columns) {
                        let td = l.node(Some(tr), Kind::Td);
                        let mut y = l.y;
                        for line in lines {
                            let leaf = l.leaf(td);
                            let at = if c.right { x + c.width_mm } else { x };
                            l.put(
                                at,
                                y,
                                BODY,
                                line,
                                c.right,
                                Mark::Content { leaf, label: false },
                            );
                            y -= 4.2;
                        }
                        x += c.width_mm;
                    }
                    l.y -= height + 0.8;
                }
                l.rule(l.y + 3.2, 0.75);
                l.y -= 3.0;
            }
        }
    }
    l.finish_page();
    write(spec, l)
}

/// Paints the laid-out pages with krilla and builds the structure tree.
fn write(spec: &DocumentSpec, l: Layout) -> Result<Vec<u8>, RenderError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_A)
        .with_accessibility_validator(Accessibility::UA1)
        .finish()
        .map_err(|e| RenderError::Pdf(format!("{e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: true,
        ..Default::default()
    };
    let fonts = l.shaper.fonts();
    let doc_primary = primary(&spec.language);
    let mut leaves: Vec<Vec<Identifier>> = (0..l.leaves).map(|_| Vec::new()).collect();
    let mut document = Document::new_with(settings);
    for items in &l.pages {
        let mut page = document.start_page_with(
            PageSettings::from_wh(PAGE_W * MM, PAGE_H * MM).expect("A4 is a valid page size"),
        );
        let mut surface = page.surface();
        for item in items {
            match item {
                Item::Rule { y, grey } => rule(&mut surface, *y, *grey),
                Item::Text {
                    x,
                    y,
                    size,
                    line,
                    mark,
                } => {
                    if let Mark::Artifact(kind) = mark {
                        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(*kind)));
                    }
                    // A span per font piece, each with its language. Right-
                    // to-left glyphs are drawn in visual order, each mapped
                    // (ToUnicode) to the characters it stands for.
                    for piece in &line.pieces {
                        let at = Point::from_xy(x * MM + piece.x_em * size, (PAGE_H - y) * MM);
                        let face = fonts.face(piece.family, piece.bold);
                        if let Mark::Content { leaf, label } = mark {
                            let lang =
                                piece_language(&doc_primary, *label, piece.family, &piece.text);
                            let id = surface
                                .start_tagged(ContentTag::Span(SpanTag::empty().with_lang(lang)));
                            leaves[*leaf].push(id);
                        }
                        surface.draw_glyphs(
                            at,
                            &piece.glyphs,
                            face.pdf.clone(),
                            &piece.text,
                            *size,
                            false,
                        );
                        if let Mark::Content { .. } = mark {
                            surface.end_tagged();
                        }
                    }
                    if let Mark::Artifact(_) = mark {
                        surface.end_tagged();
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }

    let mut tree = TagTree::new().with_lang(Some(spec.language.clone()));
    for root in &l.roots {
        if let Some(group) = group(&l.nodes, *root, &mut leaves) {
            tree.push(group);
        }
    }
    document.set_tag_tree(tree);

    let mut outline = Outline::new();
    for (text, page, y) in &l.outline {
        outline.push_child(OutlineNode::new(
            text.clone(),
            XyzDestination::new(*page, Point::from_xy(MARGIN * MM, (PAGE_H - y) * MM)),
        ));
    }
    document.set_outline(outline);
    document.set_metadata(metadata(spec));
    document
        .finish()
        .map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

/// The /Lang of one piece of text, when it differs from the document's:
/// the portal's words are English; a customer's text in a script that
/// names its language (Arabic, Hebrew, Greek, kana, Hangul, Han) is in
/// that language unless the document's language already is.
fn piece_language(
    doc_primary: &str,
    label: bool,
    family: Family,
    text: &str,
) -> Option<&'static str> {
    if label && family == Family::Sans && script_language(family, text).is_none() {
        return (doc_primary != LABEL_LANGUAGE).then_some(LABEL_LANGUAGE);
    }
    script_language(family, text).filter(|lang| primary(lang) != doc_primary)
}

fn group(nodes: &[Node], id: usize, leaves: &mut [Vec<Identifier>]) -> Option<TagGroup> {
    let node = &nodes[id];
    let tag: TagKind = match node.kind {
        Kind::Heading(level) => Tag::Hn(
            NonZeroU16::new(level).expect("heading levels start at 1"),
            node.title.clone(),
        )
        .into(),
        Kind::P => Tag::P.into(),
        Kind::Table => Tag::Table.into(),
        Kind::THead => Tag::THead.into(),
        Kind::TBody => Tag::TBody.into(),
        Kind::Tr => Tag::TR.into(),
        Kind::Th(scope) => Tag::TH(scope).into(),
        Kind::Td => Tag::TD.into(),
    };
    let mut g = TagGroup::new(tag);
    let mut any = false;
    for child in &node.children {
        match child {
            Child::Node(c) => {
                if let Some(sub) = group(nodes, *c, leaves) {
                    g.push(sub);
                    any = true;
                }
            }
            Child::Leaf(leaf) => {
                for id in std::mem::take(&mut leaves[*leaf]) {
                    g.push(id);
                    any = true;
                }
            }
        }
    }
    any.then_some(g)
}

fn rule(surface: &mut Surface, y: f32, grey: f32) {
    let mut path = PathBuilder::new();
    let top = (PAGE_H - y) * MM;
    path.move_to(MARGIN * MM, top);
    path.line_to((PAGE_W - MARGIN) * MM, top);
    let Some(path) = path.finish() else {
        return;
    };
    let level = (grey * 255.0).round() as u8;
    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
        ArtifactType::Layout,
    )));
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: krilla::color::rgb::Color::new(level, level, level).into(),
        width: 0.6,
        ..Default::default()
    }));
    surface.draw_path(&path);
    surface.set_stroke(None);
    surface.set_fill(Some(Default::default()));
    surface.end_tagged();
}

fn metadata(spec: &DocumentSpec) -> Metadata {
    let now = chrono::Utc::now();
    use chrono::{Datelike, Timelike};
    let created = DateTime::new(now.year() as u16)
        .month(now.month() as u8)
        .day(now.day() as u8)
        .hour(now.hour() as u8)
        .minute(now.minute() as u8)
        .second(now.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    let mut description = format!("{} from {}", spec.title, spec.seller_name);
    for (key, value) in &spec.metadata {
        description.push_str(&format!("; {key}: {value}"));
    }
    Metadata::new()
        .title(spec.title.clone())
        .language(spec.language.clone())
        .authors(vec![spec.seller_name.clone()])
        .creator("Receivables portal".into())
        .description(description)
        .keywords(
            spec.metadata
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(',', " ")))
                .collect(),
        )
        .creation_date(created)
}

#[cfg(test)]
mod tests;
