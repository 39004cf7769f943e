//! From a string to positioned glyphs: the bidi algorithm (`unicode-bidi`)
//! splits a line into directional runs in visual order, the fallback chain
//! (`fonts`) splits each run by the font that draws its characters, and
//! rustybuzz (the shaper krilla itself uses) shapes each piece: Arabic
//! joins, marks stack, right-to-left pieces come out right to left while
//! each glyph keeps the span of the original text it stands for, so the
//! PDF's text reads back in logical order.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use krilla::text::{GlyphId, KrillaGlyph};
use rustybuzz::{Direction, ShapePlan, UnicodeBuffer};
use unicode_bidi::BidiInfo;

use super::fonts::{script_family, CjkRegion, Family, FontSet};

/// One font's share of a line, shaped.
#[derive(Debug)]
pub struct Piece {
    pub family: Family,
    pub bold: bool,
    /// The characters it draws, in logical order.
    pub text: String,
    /// In visual order; advances and offsets in ems.
    pub glyphs: Vec<KrillaGlyph>,
    /// Where it starts, from the start of the line, in ems.
    pub x_em: f32,
}

/// A shaped line of text, pieces in visual order.
#[derive(Debug)]
pub struct Line {
    pub pieces: Vec<Piece>,
    pub width_em: f32,
}

impl Line {
    pub fn width_mm(&self, size: f32) -> f32 {
        self.width_em * size * MM_PER_PT
    }
}

pub const MM_PER_PT: f32 = 25.4 / 72.0;

/// Shapes the lines of one document, remembering what it shaped (a
/// statement repeats its dates, types and amounts many times).
pub struct Shaper {
    fonts: &'static FontSet,
    region: CjkRegion,
    lines: HashMap<(bool, String), Rc<Line>>,
    plans: HashMap<(Family, bool, bool, u32), ShapePlan>,
}

impl Shaper {
    pub fn new(fonts: &'static FontSet, region: CjkRegion) -> Shaper {
        Shaper {
            fonts,
            region,
            lines: HashMap::new(),
            plans: HashMap::new(),
        }
    }

    pub fn fonts(&self) -> &'static FontSet {
        self.fonts
    }

    /// `text` as one line.
    pub fn line(&mut self, text: &str, bold: bool) -> Rc<Line> {
        if let Some(line) = self.lines.get(&(bold, text.to_owned())) {
            return line.clone();
        }
        let line = Rc::new(self.shape_line(text, bold));
        self.lines.insert((bold, text.to_owned()), line.clone());
        line
    }

    /// `text` broken into lines no wider than `max_mm` at `size`: at spaces
    /// where it can, inside a word (or between CJK characters, which have
    /// no spaces) where it must.
    pub fn wrap(&mut self, text: &str, bold: bool, size: f32, max_mm: f32) -> Vec<Rc<Line>> {
        let whole = self.line(text, bold);
        if whole.width_mm(size) <= max_mm || text.trim().is_empty() {
            return vec![whole];
        }
        let fits = |s: &mut Shaper, candidate: &str| {
            s.shape_line(candidate, bold).width_mm(size) <= max_mm
        };
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if fits(self, &candidate) {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            if fits(self, word) {
                current = word.to_owned();
                continue;
            }
            // A word wider than the line: break it between characters.
            for c in word.chars() {
                let mut candidate = current.clone();
                candidate.push(c);
                if current.is_empty() || fits(self, &candidate) {
                    current = candidate;
                } else {
                    lines.push(std::mem::replace(&mut current, c.to_string()));
                }
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        lines.iter().map(|l| self.line(l, bold)).collect()
    }

    fn shape_line(&mut self, text: &str, bold: bool) -> Line {
        let text = self.drawable(text);
        let mut pieces = Vec::new();
        let mut x = 0.0;
        if text.is_ascii() {
            // Nothing right to left, one font: the common case, without
            // the bidi pass.
            let (glyphs, width) = self.shape(Family::Sans, bold, &text, false);
            pieces.push(Piece {
                family: Family::Sans,
                bold,
                text,
                glyphs,
                x_em: 0.0,
            });
            return Line {
                pieces,
                width_em: width,
            };
        }
        let bidi = BidiInfo::new(&text, None);
        for paragraph in &bidi.paragraphs {
            let (levels, runs) = bidi.visual_runs(paragraph, paragraph.range.clone());
            for run in runs {
                let rtl = levels[run.start].is_rtl();
                let mut segments = self.segments(&text[run.clone()], bold);
                if rtl {
                    segments.reverse();
                }
                for (family, range) in segments {
                    let piece = &text[run.start + range.start..run.start + range.end];
                    let (glyphs, width) = self.shape(family, bold, piece, rtl);
                    pieces.push(Piece {
                        family,
                        bold,
                        text: piece.to_owned(),
                        glyphs,
                        x_em: x,
                    });
                    x += width;
                }
            }
        }
        Line {
            pieces,
            width_em: x,
        }
    }

    /// The text with what a PDF line cannot hold replaced: control
    /// characters (line breaks, tabs) by spaces, and characters no font of
    /// the chain has by U+FFFD (a visible mark, never an empty box, which
    /// PDF/A forbids).
    fn drawable(&self, text: &str) -> String {
        let sans = self.fonts.face(Family::Sans, false);
        text.chars()
            .map(|c| {
                if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                    ' '
                } else if c.is_ascii() || self.family_of(c, false, None).is_some() {
                    c
                } else if sans.covers('\u{FFFD}') {
                    tracing::warn!(
                        codepoint = format!("U+{:04X}", c as u32),
                        "no PDF font draws this character"
                    );
                    '\u{FFFD}'
                } else {
                    '?'
                }
            })
            .collect()
    }

    /// The font of the chain that draws `c`: its script's family, the
    /// previous character's family for spaces, digits and punctuation (so
    /// they stay in their run), else the first of Noto Sans, Arabic,
    /// Hebrew, CJK that has it.
    fn family_of(&self, c: char, bold: bool, previous: Option<Family>) -> Option<Family> {
        let covers = |f: Family| self.fonts.face(f, bold).covers(c);
        if let Some(f) = script_family(c, self.region).filter(|f| covers(*f)) {
            return Some(f);
        }
        let neutral = !c.is_alphabetic();
        if let Some(p) = previous.filter(|p| neutral && *p != Family::Sans && covers(*p)) {
            return Some(p);
        }
        [
            Family::Sans,
            Family::Arabic,
            Family::Hebrew,
            Family::Cjk(self.region),
        ]
        .into_iter()
        .find(|f| covers(*f))
    }

    /// A directional run cut where the font changes (logical order).
    fn segments(&self, run: &str, bold: bool) -> Vec<(Family, Range<usize>)> {
        let mut out: Vec<(Family, Range<usize>)> = Vec::new();
        let mut previous = None;
        for (at, c) in run.char_indices() {
            let family = self.family_of(c, bold, previous).unwrap_or(Family::Sans);
            let end = at + c.len_utf8();
            match out.last_mut() {
                Some((f, range)) if *f == family => range.end = end,
                _ => out.push((family, at..end)),
            }
            previous = Some(family);
        }
        out
    }

    /// Shapes `text` in one font; glyphs in visual order, advances in ems.
    fn shape(
        &mut self,
        family: Family,
        bold: bool,
        text: &str,
        rtl: bool,
    ) -> (Vec<KrillaGlyph>, f32) {
        let face = self.fonts.face(family, bold);
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(if rtl {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        buffer.guess_segment_properties();
        let script = buffer.script();
        let key = (
            family,
            bold,
            rtl,
            u32::from_be_bytes(script.tag().to_bytes()),
        );
        let plan = self.plans.entry(key).or_insert_with(|| {
            ShapePlan::new(
                &face.shaper,
                buffer.direction(),
                Some(script),
                buffer.language().as_ref(),
                &[],
            )
        });
        let output = rustybuzz::shape_with_plan(&face.shaper, plan, buffer);
        let upem = face.units_per_em;
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut width = 0.0;
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = info.cluster as usize;
            // The cluster ends where the next cluster in logical order
            // starts: the next glyph's for left to right, the previous
            // one's for right to left (as krilla's own shaper does).
            let neighbours: Box<dyn Iterator<Item = &rustybuzz::GlyphInfo>> = if rtl {
                Box::new(infos[..i].iter().rev())
            } else {
                Box::new(infos[i + 1..].iter())
            };
            let end = neighbours
                .map(|g| g.cluster as usize)
                .find(|c| *c != start)
                .unwrap_or(text.len());
            let advance = pos.x_advance as f32 / upem;
            width += advance;
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                advance,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end.max(start),
                None,
            ));
        }
        if rtl {
            glyphs = split_ligatures(glyphs, text, carrier_glyph(&face.shaper));
        }
        (glyphs, width)
    }
}

/// A glyph of `face` that draws nothing and has no width (the one of a
/// zero-width joiner or space), to carry a character of a ligature.
fn carrier_glyph(face: &rustybuzz::Face<'_>) -> Option<GlyphId> {
    ['\u{200C}', '\u{200D}', '\u{200B}', '\u{034F}']
        .into_iter()
        .filter_map(|c| face.glyph_index(c))
        .find(|g| {
            g.0 != 0
                && face.glyph_bounding_box(*g).is_none()
                && face.glyph_hor_advance(*g) == Some(0)
        })
        .map(|g| GlyphId::new(u32::from(g.0)))
}

/// Right-to-left glyphs (visual order) with one glyph standing for
/// several characters, a ligature like Arabic lam-alef (U+0644 U+0627
/// drawn as one glyph), split so that every glyph stands for one
/// character: the ligature keeps the first (logical) character and each
/// further one is carried by `carrier` (no ink, no width), drawn just
/// before the ligature, at its left edge. The glyphs then read, in
/// drawing (visual) order, as the line's characters in exact visual order
/// (..., alef, lam, ...), like every other glyph of the run: a reader that
/// puts right-to-left text back in logical order (poppler's `pdftotext`,
/// pdf.js, a screen reader) reverses the run and gets lam, alef. A
/// ligature mapped to both characters at once is spread left to right in
/// logical order by poppler and then reversed with its run: "لا" came back
/// as "ال" (docs/ARCHITECTURE.md, "Right-to-left text and text
/// extraction"). Without a carrier glyph in the font, nothing changes.
fn split_ligatures(
    glyphs: Vec<KrillaGlyph>,
    text: &str,
    carrier: Option<GlyphId>,
) -> Vec<KrillaGlyph> {
    let Some(carrier) = carrier else {
        return glyphs;
    };
    let shared = |i: usize| {
        let range = &glyphs[i].text_range;
        (i > 0 && glyphs[i - 1].text_range == *range)
            || glyphs.get(i + 1).is_some_and(|g| g.text_range == *range)
    };
    let mut out = Vec::with_capacity(glyphs.len() + 2);
    for (i, glyph) in glyphs.iter().enumerate() {
        let range = glyph.text_range.clone();
        let starts: Vec<usize> = text[range.clone()]
            .char_indices()
            .map(|(at, _)| range.start + at)
            .collect();
        // One glyph for several characters (a cluster of several glyphs,
        // a base and its decomposed dots, stays as krilla writes it).
        if starts.len() < 2 || shared(i) {
            out.push(glyph.clone());
            continue;
        }
        // Left to right: the last character's carrier first.
        for (k, start) in starts.iter().enumerate().skip(1).rev() {
            let end = starts.get(k + 1).copied().unwrap_or(range.end);
            out.push(KrillaGlyph::new(
                carrier,
                0.0,
                glyph.x_offset,
                glyph.y_offset,
                0.0,
                *start..end,
                None,
            ));
        }
        let mut first = glyph.clone();
        first.text_range = range.start..starts[1];
        out.push(first);
    }
    out
}
