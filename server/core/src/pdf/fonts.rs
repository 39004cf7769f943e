//! The fonts every generated document is set in: Noto Sans and its
//! Arabic, Hebrew and CJK siblings (SIL Open Font License 1.1), read once
//! per process from the Debian packages `fonts-noto-core` and
//! `fonts-noto-cjk` (installed by scripts/setup.sh; never downloaded at run
//! time), and the fallback chain that picks one of them per character.
//!
//! The directories searched are `PORTAL_PDF_FONT_DIRS` (a `:`-separated
//! list), by default the two Debian directories. The files are read once,
//! kept for the life of the process (`&'static`), and shared by every
//! document: krilla subsets each document's glyphs out of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where Debian's packages put the fonts.
pub const DEFAULT_FONT_DIRS: &str = "/usr/share/fonts/truetype/noto:/usr/share/fonts/opentype/noto";

/// The environment variable naming the font directories.
pub const FONT_DIRS_VAR: &str = "PORTAL_PDF_FONT_DIRS";

/// A family of the fallback chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Latin (all diacritics), Greek, Cyrillic, digits and punctuation.
    Sans,
    Arabic,
    Hebrew,
    /// Han, kana, Hangul and CJK punctuation, in the regional variant of
    /// the document's language.
    Cjk(CjkRegion),
}

/// The regional faces of the Noto Sans CJK collection (its index in the
/// `.ttc`: 0 JP, 1 KR, 2 SC, 3 TC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CjkRegion {
    Japanese = 0,
    Korean = 1,
    SimplifiedChinese = 2,
    TraditionalChinese = 3,
}

impl CjkRegion {
    const ALL: [CjkRegion; 4] = [
        CjkRegion::Japanese,
        CjkRegion::Korean,
        CjkRegion::SimplifiedChinese,
        CjkRegion::TraditionalChinese,
    ];

    /// The face that draws Han characters the way readers of `language`
    /// expect; for other languages Japanese (any face covers all of Han,
    /// kana and Hangul; only glyph shapes differ).
    pub fn for_language(language: &str) -> CjkRegion {
        let lower = language.to_ascii_lowercase();
        let mut parts = lower.split('-');
        match parts.next().unwrap_or("") {
            "ko" => CjkRegion::Korean,
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                if rest
                    .iter()
                    .any(|p| matches!(*p, "tw" | "hk" | "mo" | "hant"))
                {
                    CjkRegion::TraditionalChinese
                } else {
                    CjkRegion::SimplifiedChinese
                }
            }
            _ => CjkRegion::Japanese,
        }
    }
}

/// One face: krilla's handle (for embedding) and rustybuzz's (for shaping
/// and measuring), over the same bytes.
pub struct Face {
    pub pdf: krilla::text::Font,
    pub shaper: rustybuzz::Face<'static>,
    pub units_per_em: f32,
}

impl Face {
    fn new(data: &'static [u8], index: u32, file: &Path) -> Result<Face, FontError> {
        let bad = || FontError::Unreadable(file.to_owned());
        let shaper = rustybuzz::Face::from_slice(data, index).ok_or_else(bad)?;
        let pdf = krilla::text::Font::new(data.into(), index).ok_or_else(bad)?;
        Ok(Face {
            units_per_em: shaper.units_per_em() as f32,
            pdf,
            shaper,
        })
    }

    pub fn covers(&self, c: char) -> bool {
        self.shaper.glyph_index(c).is_some()
    }
}

/// Every face, loaded once.
pub struct FontSet {
    faces: HashMap<(Family, bool), Face>,
}

impl FontSet {
    pub fn face(&self, family: Family, bold: bool) -> &Face {
        &self.faces[&(family, bold)]
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum FontError {
    #[error(
        "PDF font {file} not found in {dirs} (set {FONT_DIRS_VAR}, or install the Debian packages fonts-noto-core and fonts-noto-cjk: scripts/setup.sh does)"
    )]
    Missing { file: String, dirs: String },
    #[error("PDF font {0} could not be read as an OpenType font")]
    Unreadable(PathBuf),
}

/// The files: (family, bold) -> (file name, collection index).
fn files() -> Vec<((Family, bool), &'static str, u32)> {
    let mut files = vec![
        ((Family::Sans, false), "NotoSans-Regular.ttf", 0),
        ((Family::Sans, true), "NotoSans-Bold.ttf", 0),
        ((Family::Arabic, false), "NotoSansArabic-Regular.ttf", 0),
        ((Family::Arabic, true), "NotoSansArabic-Bold.ttf", 0),
        ((Family::Hebrew, false), "NotoSansHebrew-Regular.ttf", 0),
        ((Family::Hebrew, true), "NotoSansHebrew-Bold.ttf", 0),
    ];
    for region in CjkRegion::ALL {
        files.push((
            (Family::Cjk(region), false),
            "NotoSansCJK-Regular.ttc",
            region as u32,
        ));
        files.push((
            (Family::Cjk(region), true),
            "NotoSansCJK-Bold.ttc",
            region as u32,
        ));
    }
    files
}

fn load(dirs: &str) -> Result<FontSet, FontError> {
    let search: Vec<PathBuf> = dirs
        .split(':')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    // Each file is read once, even when several faces (the CJK regions)
    // come out of it.
    let mut read: HashMap<&'static str, (&'static [u8], PathBuf)> = HashMap::new();
    let mut faces = HashMap::new();
    for (key, name, index) in files() {
        if !read.contains_key(name) {
            let path = search
                .iter()
                .map(|d| d.join(name))
                .find(|p| p.is_file())
                .ok_or_else(|| FontError::Missing {
                    file: name.to_owned(),
                    dirs: dirs.to_owned(),
                })?;
            let bytes = std::fs::read(&path).map_err(|_| FontError::Unreadable(path.clone()))?;
            // Kept for the life of the process, shared by every document.
            read.insert(name, (Box::leak(bytes.into_boxed_slice()), path));
        }
        let (data, path) = &read[name];
        faces.insert(key, Face::new(data, index, path)?);
    }
    Ok(FontSet { faces })
}

static FONTS: OnceLock<Result<FontSet, FontError>> = OnceLock::new();

/// Loads the fonts from `dirs` (the configured directories) unless they
/// are loaded already; the portal calls this at start-up, so a machine
/// without the fonts fails there with the message, not at the first PDF.
pub fn init(dirs: &str) -> Result<&'static FontSet, FontError> {
    FONTS
        .get_or_init(|| load(dirs))
        .as_ref()
        .map_err(Clone::clone)
}

/// The fonts, loaded on first use from `PORTAL_PDF_FONT_DIRS` (or the
/// Debian directories) when `init` was not called.
pub fn fonts() -> Result<&'static FontSet, FontError> {
    FONTS
        .get_or_init(|| {
            let dirs =
                std::env::var(FONT_DIRS_VAR).unwrap_or_else(|_| DEFAULT_FONT_DIRS.to_owned());
            load(&dirs)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The family whose script `c` belongs to, if it is one of the non-Latin
/// ones; `None` for Latin, Greek, Cyrillic and the shared characters
/// (spaces, digits, punctuation), which Noto Sans draws.
pub fn script_family(c: char, region: CjkRegion) -> Option<Family> {
    let u = c as u32;
    match u {
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Some(Family::Arabic)
        }
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Some(Family::Hebrew),
        0x1100..=0x11FF
        | 0x2E80..=0x2FDF
        | 0x3000..=0x303F
        | 0x3040..=0x30FF
        | 0x3100..=0x312F
        | 0x3130..=0x318F
        | 0x31A0..=0x31FF
        | 0x3200..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3134F => Some(Family::Cjk(region)),
        _ => None,
    }
}

/// The language a run of text in `family` is in, when its script says it
/// (Arabic, Hebrew, kana, Hangul); Han alone is the CJK region's language.
pub fn script_language(family: Family, text: &str) -> Option<&'static str> {
    match family {
        Family::Sans => {
            if text.chars().any(|c| ('\u{0370}'..='\u{03FF}').contains(&c)) {
                Some("el")
            } else {
                None
            }
        }
        Family::Arabic => Some("ar"),
        Family::Hebrew => Some("he"),
        Family::Cjk(region) => {
            let has =
                |range: std::ops::RangeInclusive<char>| text.chars().any(|c| range.contains(&c));
            if has('\u{3040}'..='\u{30FF}') {
                Some("ja")
            } else if has('\u{AC00}'..='\u{D7AF}') || has('\u{1100}'..='\u{11FF}') {
                Some("ko")
            } else {
                Some(match region {
                    CjkRegion::Japanese => "ja",
                    CjkRegion::Korean => "ko",
                    CjkRegion::SimplifiedChinese => "zh-Hans",
                    CjkRegion::TraditionalChinese => "zh-Hant",
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_faces_follow_the_language() {
        assert_eq!(CjkRegion::for_language("ja-JP"), CjkRegion::Japanese);
        assert_eq!(CjkRegion::for_language("ko"), CjkRegion::Korean);
        assert_eq!(
            CjkRegion::for_language("zh-CN"),
            CjkRegion::SimplifiedChinese
        );
        assert_eq!(
            CjkRegion::for_language("zh-TW"),
            CjkRegion::TraditionalChinese
        );
        assert_eq!(CjkRegion::for_language("pl"), CjkRegion::Japanese);
    }

    #[test]
    fn a_missing_font_is_named_with_what_to_do() {
        let err = match load("/nonexistent/fonts") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("no fonts there"),
        };
        assert!(
            err.contains("NotoSans-Regular.ttf")
                && err.contains(FONT_DIRS_VAR)
                && err.contains("fonts-noto-core"),
            "{err}"
        );
    }

    #[test]
    fn scripts_pick_their_family() {
        let r = CjkRegion::Japanese;
        assert_eq!(script_family('ł', r), None);
        assert_eq!(script_family('Ж', r), None);
        assert_eq!(script_family('ש', r), Some(Family::Hebrew));
        assert_eq!(script_family('ع', r), Some(Family::Arabic));
        assert_eq!(script_family('東', r), Some(Family::Cjk(r)));
        assert_eq!(script_family('한', r), Some(Family::Cjk(r)));
        assert_eq!(script_language(Family::Cjk(r), "東京"), Some("ja"));
        assert_eq!(script_language(Family::Cjk(r), "서울"), Some("ko"));
        assert_eq!(script_language(Family::Sans, "Αθήνα"), Some("el"));
    }
}
