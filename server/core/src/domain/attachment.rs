//! Dispute attachments (issue 11): which files a message may carry, what they
//! are called when shown and served, and what they are called on disk. Pure
//! rules: the service reads the upload, calls [`check_message_files`] (or
//! [`check_upload`]), optionally [`scan_checked`], stores the bytes under
//! [`stored_name`] and serves them with [`serving_headers`].
//!
//! Trust model: the claimed file name and the browser's `Content-Type` are
//! written by the uploader and prove nothing, so the kind is decided by the
//! bytes alone ([`detect`]). The name is kept only as a label, cleaned so it
//! can neither walk a path nor spoof an extension ([`display_name`]); the file
//! on disk never carries it. Files are only ever served as downloads with
//! `nosniff`, so even a file that slipped through is not rendered by a browser.

use std::fmt::Write as _;
use std::io::{Cursor, Read};

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// 10 MB (MiB, as the message rounds), per file.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Files one dispute message may carry.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 5;
/// Display names are capped in characters (what the UI has room for) …
pub const MAX_DISPLAY_NAME_CHARS: usize = 120;
/// … and in UTF-8 bytes, so "Save as" works on filesystems limited to 255 bytes.
const MAX_DISPLAY_NAME_BYTES: usize = 255;
/// Used when nothing printable is left of the claimed name.
const FALLBACK_STEM: &str = "attachment";

/// The kinds a dispute message may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Pdf,
    Png,
    Jpeg,
    Csv,
    Xlsx,
}

impl AttachmentKind {
    pub const ALL: [AttachmentKind; 5] = [Self::Pdf, Self::Png, Self::Jpeg, Self::Csv, Self::Xlsx];

    /// The `Content-Type` to serve. CSV is only accepted as UTF-8, so the
    /// charset is known and stated (no charset sniffing by the browser).
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The extension every display name of this kind ends with.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// The short name used in messages ("PDF, PNG, JPEG, CSV or XLSX").
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Csv => "CSV",
            Self::Xlsx => "XLSX",
        }
    }

    /// The kind a file name's extension claims (case-insensitive; the usual
    /// JPEG spellings all count). Only used to catch a name that claims a
    /// *different* allowed kind than the content: it never decides the kind.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "pdf" => Some(Self::Pdf),
            "png" => Some(Self::Png),
            "jpg" | "jpeg" | "jpe" | "jfif" => Some(Self::Jpeg),
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }

    fn described(self) -> &'static str {
        match self {
            Self::Pdf => "a PDF document",
            Self::Png => "a PNG image",
            Self::Jpeg => "a JPEG image",
            Self::Csv => "a CSV file",
            Self::Xlsx => "an XLSX workbook",
        }
    }
}

// ---------------------------------------------------------------------------
// Detection by content
// ---------------------------------------------------------------------------

/// The kind of a file, decided by its bytes only; `None` for anything else.
///
/// * PDF: `%PDF-` at offset 0. infer's matcher accepts `%PDF` anywhere in the
///   first 1 KiB (as Acrobat does), which lets an HTML page with `%PDF` in a
///   comment pass as a PDF; we require the header where writers put it.
/// * PNG: the full 8-byte signature (infer checks the first 4).
/// * JPEG: infer's SOI + marker check (`FF D8 FF`).
/// * XLSX: see [`office_zip`]: the package's `[Content_Types].xml` must name
///   a spreadsheet main part and that part must exist; macro-enabled
///   workbooks are refused. infer's `is_xlsx` only peeks at the names of the
///   first local headers and misses valid workbooks whose parts come in
///   another order (the test `infer_alone_misses_a_valid_minimal_workbook`).
/// * CSV: see [`csv_delimiter`].
pub fn detect(bytes: &[u8]) -> Option<AttachmentKind> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(b"%PDF-") && infer::archive::is_pdf(bytes) {
        return Some(AttachmentKind::Pdf);
    }
    if bytes.starts_with(PNG_SIGNATURE) && infer::image::is_png(bytes) {
        return Some(AttachmentKind::Png);
    }
    if infer::image::is_jpeg(bytes) {
        return Some(AttachmentKind::Jpeg);
    }
    if infer::archive::is_zip(bytes) {
        return (office_zip(bytes) == OfficeZip::Workbook).then_some(AttachmentKind::Xlsx);
    }
    csv_delimiter(bytes).map(|_| AttachmentKind::Csv)
}

/// What a ZIP archive holds, as far as the rules care.
#[derive(Debug, PartialEq, Eq)]
enum OfficeZip {
    Workbook,
    MacroEnabled,
    Word,
    Presentation,
    OtherZip,
}

/// Reads the ZIP's central directory and `[Content_Types].xml` in memory
/// (no I/O). The content types part is the package's own statement of what
/// its main part is; `xl/workbook.xml` is only the usual name of that part,
/// so the name is taken from the `Override` rather than assumed.
fn office_zip(bytes: &[u8]) -> OfficeZip {
    // Far larger than any real `[Content_Types].xml`; bounds what a
    // compression bomb can make us inflate.
    const CONTENT_TYPES_LIMIT: u64 = 256 * 1024;
    const WORKBOOK: &str =
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";

    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return OfficeZip::OtherZip;
    };
    let mut types = String::new();
    match archive.by_name("[Content_Types].xml") {
        Ok(part) => {
            if part
                .take(CONTENT_TYPES_LIMIT)
                .read_to_string(&mut types)
                .is_err()
            {
                return OfficeZip::OtherZip;
            }
        }
        Err(_) => return OfficeZip::OtherZip,
    }
    // Excel refuses to open an .xlsx that carries a VBA project; so do we,
    // whatever the content types say.
    let has_macros = archive
        .file_names_raw()
        .any(|n| n.to_ascii_lowercase().ends_with(b"vbaproject.bin"));
    if has_macros || types.contains("macroEnabled") {
        return OfficeZip::MacroEnabled;
    }
    if let Some(part) = override_part_name(&types, WORKBOOK) {
        let part = part.trim_start_matches('/');
        if archive.index_for_name(part).is_some() {
            return OfficeZip::Workbook;
        }
    }
    if types.contains("wordprocessingml") {
        OfficeZip::Word
    } else if types.contains("presentationml") {
        OfficeZip::Presentation
    } else {
        OfficeZip::OtherZip
    }
}

/// `PartName` of the `<Override>` whose `ContentType` is `content_type`.
/// A string scan, not an XML parser: the part is machine-written and we only
/// need one attribute pair; anything unusual simply fails to match.
fn override_part_name<'a>(types: &'a str, content_type: &str) -> Option<&'a str> {
    types.split("<Override").skip(1).find_map(|rest| {
        let element = &rest[..rest.find('>')?];
        (attribute(element, "ContentType")? == content_type)
            .then(|| attribute(element, "PartName"))
            .flatten()
    })
}

fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let mut search = element;
    loop {
        let at = search.find(name)?;
        let after = search[at + name.len()..].trim_start();
        // `name` must be a whole attribute name, not the tail of another one.
        let whole = at == 0 || search[..at].ends_with(char::is_whitespace);
        if let (true, Some(value)) = (whole, after.strip_prefix('=')) {
            let value = value.trim_start();
            let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            let value = &value[1..];
            return value.find(quote).map(|end| &value[..end]);
        }
        search = &search[at + name.len()..];
    }
}

/// Delimiters tried, in this order, when deciding whether text is CSV.
const CSV_DELIMITERS: [char; 4] = [',', ';', '\t', '|'];
/// Records (non-blank) whose structure is compared.
const CSV_SAMPLE_RECORDS: usize = 20;

/// The CSV rule. CSV has no magic number, so "is CSV" means "is harmless,
/// tabular text":
///
/// 1. the whole file is valid UTF-8 (a leading BOM is allowed, as Excel
///    writes one) with no control characters other than tab, CR and LF, so
///    binary data and NUL-padded polyglots are out;
/// 2. its first non-whitespace character is not `<` (HTML, XML, SVG) and it
///    does not start with `#!` (a script);
/// 3. in its first 20 non-blank records, one delimiter, tried in the order
///    `,` `;` tab `|`, splits every record into the same number of fields,
///    at least two. Fields quoted with `"` may contain delimiters and line
///    breaks (`""` is a quote inside one); a quote left open at the end of
///    the file fails the rule.
///
/// So a one-column list or prose with irregular commas is not CSV (upload it
/// as XLSX or PDF); a title line above the header also fails rule 3.
/// Returns the delimiter that made the text CSV.
fn csv_delimiter(bytes: &[u8]) -> Option<char> {
    let text = clean_text(bytes)?;
    let start = text.trim_start();
    if start.is_empty() || start.starts_with('<') || start.starts_with("#!") {
        return None;
    }
    CSV_DELIMITERS
        .into_iter()
        .find(|&d| same_field_count(text, d))
}

/// Rule 1: the text without its BOM, if it is UTF-8 without stray controls.
fn clean_text(bytes: &[u8]) -> Option<&str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).ok()?;
    let stray = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'));
    (!stray).then_some(text)
}

/// Rule 3 for one delimiter.
fn same_field_count(text: &str, delimiter: char) -> bool {
    let mut expected: Option<usize> = None;
    let mut records = 0;
    let mut fields = 1;
    let mut has_content = false;
    let mut in_quotes = false;
    let mut at_field_start = true;
    // Ends a record; `false` when it breaks the rule.
    fn finish(fields: usize, expected: &mut Option<usize>) -> bool {
        match *expected {
            None if fields < 2 => false,
            None => {
                *expected = Some(fields);
                true
            }
            Some(n) => n == fields,
        }
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    in_quotes = false;
                }
            }
            continue;
        }
        match c {
            '\r' | '\n' => {
                if has_content {
                    if !finish(fields, &mut expected) {
                        return false;
                    }
                    records += 1;
                    if records == CSV_SAMPLE_RECORDS {
                        return true;
                    }
                }
                fields = 1;
                has_content = false;
                at_field_start = true;
            }
            c if c == delimiter => {
                fields += 1;
                has_content = true;
                at_field_start = true;
            }
            '"' if at_field_start => {
                in_quotes = true;
                has_content = true;
                at_field_start = false;
            }
            c => {
                at_field_start = false;
                has_content |= !c.is_whitespace();
            }
        }
    }
    if in_quotes {
        return false;
    }
    if has_content {
        if !finish(fields, &mut expected) {
            return false;
        }
        records += 1;
    }
    records > 0
}

/// For the refusal message: what the content recognisably is, when it is
/// something (the uploader usually picked the wrong file). Markup is named
/// before asking infer, whose PDF matcher would call an HTML page with
/// `%PDF` in a comment a PDF.
fn looks_like(bytes: &[u8]) -> Option<String> {
    if infer::archive::is_zip(bytes) {
        return Some(
            match office_zip(bytes) {
                OfficeZip::Workbook => "an XLSX workbook",
                OfficeZip::MacroEnabled => "an Office file with macros",
                OfficeZip::Word => "a Word document",
                OfficeZip::Presentation => "a PowerPoint presentation",
                OfficeZip::OtherZip => "a ZIP archive",
            }
            .to_string(),
        );
    }
    let text = clean_text(bytes).map(str::trim_start);
    if let Some(text) = text {
        if text.starts_with('<') {
            let markup = text.as_bytes();
            return Some(
                if infer::text::is_html(markup) {
                    "an HTML page"
                } else if infer::text::is_xml(markup) {
                    "an XML document"
                } else {
                    "HTML or XML markup"
                }
                .to_string(),
            );
        }
        if text.starts_with("#!") {
            return Some("a script".to_string());
        }
    }
    if let Some(kind) = infer::get(bytes) {
        // infer is laxer than `detect` (PDF header anywhere in the first
        // KiB, 4 of PNG's 8 signature bytes): those are not what they claim.
        let allowed = AttachmentKind::ALL
            .into_iter()
            .find(|k| k.content_type() == kind.mime_type());
        return Some(match (allowed, kind.matcher_type()) {
            (Some(k), _) => format!("a damaged or disguised {} file", k.label()),
            (None, infer::MatcherType::App) => "a program".to_string(),
            (None, infer::MatcherType::Image) => {
                format!("a {} image", kind.extension().to_ascii_uppercase())
            }
            (None, _) => format!("a .{} file", kind.extension()),
        });
    }
    Some(
        if text?.is_empty() {
            "blank text"
        } else {
            "text without consistent columns, so not CSV"
        }
        .to_string(),
    )
}

// ---------------------------------------------------------------------------
// Checking uploads
// ---------------------------------------------------------------------------

/// An upload that passed every rule: what to record next to the stored bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedUpload {
    pub kind: AttachmentKind,
    /// Safe for showing and for `Content-Disposition`; see [`display_name`].
    pub display_name: String,
    pub size_bytes: u64,
}

/// Why an upload was refused. Each message names the file (its cleaned name)
/// and says what to do; nothing is stored when any file of a message fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadProblem {
    #[error("“{name}” is empty")]
    Empty { name: String },
    #[error(
        "“{name}” is {}; files can be at most {} MB",
        megabytes(*size_bytes),
        MAX_ATTACHMENT_BYTES / (1024 * 1024)
    )]
    TooLarge { name: String, size_bytes: u64 },
    #[error("“{name}” is not a PDF, PNG, JPEG, CSV or XLSX file{}", match looks_like {
        Some(what) => format!("; its content looks like {what}"),
        None => String::new(),
    })]
    NotAllowed {
        name: String,
        looks_like: Option<String>,
    },
    #[error(
        "“{name}” is named as a {} file but its content is {}; rename it to .{} or choose the right file",
        named_as.label(),
        content.described(),
        content.extension()
    )]
    NameContradictsContent {
        name: String,
        named_as: AttachmentKind,
        content: AttachmentKind,
    },
    #[error(
        "“{name}” is file {position}; a message can carry at most {} files",
        MAX_ATTACHMENTS_PER_MESSAGE
    )]
    TooManyFiles { name: String, position: usize },
    #[error("“{name}” was refused by the virus scan ({threat})")]
    Infected { name: String, threat: String },
    #[error("“{name}” could not be checked for viruses just now; try again in a few minutes")]
    ScanUnavailable { name: String },
}

/// "11.0 MB": MiB to one decimal, rounded *up* so a file just over the limit
/// never reads as "10.0 MB" next to "at most 10 MB".
fn megabytes(size_bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    let tenths = (size_bytes * 10).div_ceil(MIB);
    format!("{}.{} MB", tenths / 10, tenths % 10)
}

/// The rules for one file. The claimed name never decides the kind, but a
/// name whose extension claims a *different* allowed kind than the content
/// (a PNG called `x.pdf`) is refused: the uploader picked the wrong file or
/// someone is disguising one, and either way the message should say so
/// rather than silently serve `x.png`. A name with no extension or one we
/// do not know (`scan`, `scan.tiff`) is accepted and gets the detected
/// kind's extension appended.
pub fn check_upload(claimed_name: &str, bytes: &[u8]) -> Result<CheckedUpload, UploadProblem> {
    let name = message_name(claimed_name);
    if bytes.is_empty() {
        return Err(UploadProblem::Empty { name });
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(UploadProblem::TooLarge {
            name,
            size_bytes: bytes.len() as u64,
        });
    }
    let Some(kind) = detect(bytes) else {
        return Err(UploadProblem::NotAllowed {
            name,
            looks_like: looks_like(bytes),
        });
    };
    let claimed_kind = split_extension(&clean_name(claimed_name))
        .and_then(|(_, ext)| AttachmentKind::from_extension(ext));
    if let Some(named_as) = claimed_kind.filter(|k| *k != kind) {
        return Err(UploadProblem::NameContradictsContent {
            name,
            named_as,
            content: kind,
        });
    }
    Ok(CheckedUpload {
        kind,
        display_name: display_name(claimed_name, kind),
        size_bytes: bytes.len() as u64,
    })
}

/// The rules for one message's files, `(claimed name, bytes)` in the order
/// attached. All or nothing: every problem is returned, in file order, so
/// the form can show them together. Files past the fifth are refused by
/// count and their content is not examined.
pub fn check_message_files(
    files: &[(&str, &[u8])],
) -> Result<Vec<CheckedUpload>, Vec<UploadProblem>> {
    let mut checked = Vec::with_capacity(files.len().min(MAX_ATTACHMENTS_PER_MESSAGE));
    let mut problems = Vec::new();
    for (index, (name, bytes)) in files.iter().enumerate() {
        if index >= MAX_ATTACHMENTS_PER_MESSAGE {
            problems.push(UploadProblem::TooManyFiles {
                name: message_name(name),
                position: index + 1,
            });
            continue;
        }
        match check_upload(name, bytes) {
            Ok(upload) => checked.push(upload),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

// ---------------------------------------------------------------------------
// Virus scanning hook
// ---------------------------------------------------------------------------

/// What a scanner says about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanVerdict {
    Clean,
    /// `threat` is the scanner's name for what it found, shown to the user.
    Infected {
        threat: String,
    },
    /// The scanner could not answer (down, timed out). Uploads fail closed.
    Unavailable,
}

/// The hook for a virus scanner (e.g. clamd over its socket). The rules
/// accept PDFs and workbooks, the usual carriers of malware, so a deployment
/// that wants scanning implements this; the service calls [`scan_checked`]
/// after the content rules and before storing. `scan` is synchronous: an
/// implementation that talks to a daemon must be called from
/// `spawn_blocking` by the service, not on the async runtime.
pub trait VirusScan: Send + Sync {
    fn scan(&self, bytes: &[u8]) -> ScanVerdict;
}

/// The default: no scanner configured, every file is clean.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoScan;

impl VirusScan for NoScan {
    fn scan(&self, _bytes: &[u8]) -> ScanVerdict {
        ScanVerdict::Clean
    }
}

/// Runs the scanner on a file that passed [`check_upload`]; the verdict as an
/// upload problem naming the file.
pub fn scan_checked(
    scanner: &dyn VirusScan,
    upload: &CheckedUpload,
    bytes: &[u8],
) -> Result<(), UploadProblem> {
    let name = upload.display_name.clone();
    match scanner.scan(bytes) {
        ScanVerdict::Clean => Ok(()),
        ScanVerdict::Infected { threat } => Err(UploadProblem::Infected { name, threat }),
        ScanVerdict::Unavailable => Err(UploadProblem::ScanUnavailable { name }),
    }
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// Invisible characters that change how a name reads without showing:
/// bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069),
/// which turn `invoice\u{202E}fdp.exe` into "invoiceexe.pdf" on screen; the
/// direction marks (LRM, RLM, ALM); zero-width space, word joiner and BOM.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

/// The claimed name reduced to something printable: the last path segment
/// (`/` and `\`, whatever the uploader's OS), whitespace of any kind as
/// single spaces, control and invisible characters removed, and no leading
/// or trailing dots or spaces (no hidden files, no `x.pdf.` tricks on
/// Windows, which drops trailing dots). May be empty.
fn clean_name(claimed: &str) -> String {
    let base = claimed.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out = String::with_capacity(base.len());
    let mut space_pending = false;
    for c in base.chars() {
        if c.is_whitespace() {
            space_pending = true;
        } else if !(c.is_control() || is_invisible(c)) {
            if space_pending && !out.is_empty() {
                out.push(' ');
            }
            space_pending = false;
            out.push(c);
        }
    }
    out.trim_matches(['.', ' ']).to_string()
}

/// `(stem, extension)` when the name has a non-empty extension after a
/// non-empty stem.
fn split_extension(name: &str) -> Option<(&str, &str)> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then_some((stem, ext))
}

/// The name as it appears in refusal messages (the kind is not known yet).
fn message_name(claimed: &str) -> String {
    let name = clean_name(claimed);
    if name.is_empty() {
        return FALLBACK_STEM.to_string();
    }
    truncate(&name, MAX_DISPLAY_NAME_CHARS, MAX_DISPLAY_NAME_BYTES).to_string()
}

fn truncate(s: &str, max_chars: usize, max_bytes: usize) -> &str {
    let end = s
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take(max_chars)
        .take_while(|end| *end <= max_bytes)
        .last()
        .unwrap_or(0);
    &s[..end]
}

/// A safe name for showing and for `Content-Disposition`, never empty, at
/// most 120 characters (and 255 UTF-8 bytes), always ending in the detected
/// kind's extension. An extension naming an allowed kind is replaced (so
/// `photo.JPEG` → `photo.jpg`, and a PNG called `x.pdf` would read `x.png`),
/// any other extension is kept as part of the stem (`scan.tiff` →
/// `scan.tiff.png`): the name always ends with what the file is. Long names
/// lose the end of the stem, not the extension.
pub fn display_name(claimed: &str, kind: AttachmentKind) -> String {
    let name = clean_name(claimed);
    let stem = match split_extension(&name) {
        Some((stem, ext)) if AttachmentKind::from_extension(ext).is_some() => stem,
        _ => &name,
    };
    let ext = kind.extension();
    let room = ext.len() + 1;
    let stem = truncate(
        stem,
        MAX_DISPLAY_NAME_CHARS - room,
        MAX_DISPLAY_NAME_BYTES - room,
    )
    .trim_end_matches(['.', ' ']);
    let stem = if stem.is_empty() { FALLBACK_STEM } else { stem };
    format!("{stem}.{ext}")
}

/// `Content-Disposition` for a download (RFC 6266): always `attachment`,
/// with an ASCII `filename` for old clients and the exact name as
/// `filename*` (RFC 5987, UTF-8, percent-encoded). In the quoted fallback,
/// non-ASCII, controls, `"`, `\` and `%` (which some clients decode) become
/// `_`, so the quoted string can never be broken out of or smuggle a CR/LF.
pub fn content_disposition(name: &str) -> String {
    let name = if name.trim().is_empty() {
        FALLBACK_STEM
    } else {
        name
    };
    let fallback: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' => '_',
            ' '..='~' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The headers every attachment download carries: the detected type (never
/// the uploader's), `attachment` so the browser saves rather than renders,
/// and `nosniff` so it does not second-guess the type.
pub fn serving_headers(kind: AttachmentKind, display_name: &str) -> [(&'static str, String); 3] {
    [
        ("content-type", kind.content_type().to_string()),
        ("content-disposition", content_disposition(display_name)),
        ("x-content-type-options", "nosniff".to_string()),
    ]
}

/// A server-made storage name: 128 random bits as 32 lowercase hex digits.
/// Nothing of the claimed name (no path to walk, no extension for a
/// misconfigured static server to act on). Hex rather than base64url: safe
/// on case-insensitive filesystems and object stores, and never starts with
/// `-` for shell tools.
pub fn stored_name() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    // ---- fixtures: small but real files of each kind --------------------

    /// A one-page PDF with a catalog, page tree and trailer.
    fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n\
          1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
          2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
          3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n\
          trailer << /Root 1 0 R /Size 4 >>\n%%EOF\n"
            .to_vec()
    }

    /// The 1×1 transparent PNG (signature, IHDR, IDAT, IEND with CRCs).
    fn png() -> Vec<u8> {
        hex::decode(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000\
             1f15c4890000000b49444154789c6360000200000500017a5eab3f00000000\
             49454e44ae426082",
        )
        .unwrap()
    }

    /// JFIF APP0 segment between SOI and EOI.
    fn jpeg() -> Vec<u8> {
        hex::decode("ffd8ffe000104a46494600010100000100010000ffd9").unwrap()
    }

    fn csv() -> Vec<u8> {
        b"invoice,amount,note\nINV-1,10.00,\"paid, partly\"\nINV-2,5.50,\n".to_vec()
    }

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, body) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#;
    const WORKBOOK_XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>"#;

    /// The smallest package that says "spreadsheet": content types naming
    /// the workbook part, and that part.
    fn xlsx() -> Vec<u8> {
        zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("xl/workbook.xml", WORKBOOK_XML),
        ])
    }

    const HTML: &[u8] = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script>\
        <!-- %PDF-1.4 --></body></html>\n";

    fn mb(n: usize) -> usize {
        n * 1024 * 1024
    }

    // ---- detection ------------------------------------------------------

    #[test]
    fn a_real_minimal_pdf_png_jpeg_csv_and_xlsx_are_accepted_with_the_right_kind() {
        let cases = [
            ("statement.pdf", pdf(), AttachmentKind::Pdf),
            ("photo.png", png(), AttachmentKind::Png),
            ("photo.jpg", jpeg(), AttachmentKind::Jpeg),
            ("remittance.csv", csv(), AttachmentKind::Csv),
            ("ledger.xlsx", xlsx(), AttachmentKind::Xlsx),
        ];
        for (name, bytes, kind) in cases {
            assert_eq!(detect(&bytes), Some(kind), "{name}");
            let upload = check_upload(name, &bytes).unwrap();
            assert_eq!(upload.kind, kind);
            assert_eq!(upload.display_name, name);
            assert_eq!(upload.size_bytes, bytes.len() as u64);
        }
    }

    #[test]
    fn infer_alone_misses_a_valid_minimal_workbook() {
        // Why detect() reads the package instead of trusting infer::is_xlsx:
        // infer looks for `xl/` in the *third* local header when the first
        // is `[Content_Types].xml`; a two-part workbook has none.
        assert!(!infer::doc::is_xlsx(&xlsx()));
        assert_eq!(detect(&xlsx()), Some(AttachmentKind::Xlsx));
    }

    #[test]
    fn workbooks_in_excel_part_order_and_with_a_renamed_main_part_are_xlsx() {
        let excel_order = zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", "<Relationships/>"),
            ("docProps/app.xml", "<Properties/>"),
            ("docProps/core.xml", "<cp:coreProperties/>"),
            ("xl/workbook.xml", WORKBOOK_XML),
        ]);
        assert_eq!(detect(&excel_order), Some(AttachmentKind::Xlsx));
        let renamed = zip_of(&[
            (
                "[Content_Types].xml",
                &CONTENT_TYPES.replace("/xl/workbook.xml", "/xl/book2.xml"),
            ),
            ("xl/book2.xml", WORKBOOK_XML),
        ]);
        assert_eq!(detect(&renamed), Some(AttachmentKind::Xlsx));
    }

    #[test]
    fn a_zip_that_is_not_xlsx_is_refused() {
        let plain = zip_of(&[("hello.txt", "hello")]);
        let err = check_upload("ledger.xlsx", &plain).unwrap_err();
        assert_eq!(
            err.to_string(),
            "“ledger.xlsx” is not a PDF, PNG, JPEG, CSV or XLSX file; \
             its content looks like a ZIP archive"
        );
        // Content types that promise a workbook the package does not hold.
        let hollow = zip_of(&[("[Content_Types].xml", CONTENT_TYPES)]);
        assert_eq!(detect(&hollow), None);
        // Starts like an Office file to infer (`xl/` first), but says nothing.
        let xl_first = zip_of(&[("xl/workbook.xml", WORKBOOK_XML)]);
        assert_eq!(detect(&xl_first), None);
    }

    #[test]
    fn word_documents_and_macro_enabled_workbooks_are_refused_and_named() {
        let docx = zip_of(&[
            (
                "[Content_Types].xml",
                r#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
            ),
            ("word/document.xml", "<w:document/>"),
        ]);
        let err = check_upload("ledger.xlsx", &docx).unwrap_err().to_string();
        assert!(err.ends_with("looks like a Word document"), "{err}");

        let xlsm = zip_of(&[
            (
                "[Content_Types].xml",
                &CONTENT_TYPES.replace(
                    "spreadsheetml.sheet.main+xml",
                    "spreadsheetml.sheet.main+xml\"/><Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject",
                ),
            ),
            ("xl/workbook.xml", WORKBOOK_XML),
            ("xl/vbaProject.bin", "macros"),
        ]);
        let err = check_upload("ledger.xlsx", &xlsm).unwrap_err().to_string();
        assert!(
            err.ends_with("looks like an Office file with macros"),
            "{err}"
        );
    }

    #[test]
    fn a_png_renamed_pdf_is_refused_by_content() {
        let err = check_upload("invoice.pdf", &png()).unwrap_err();
        assert_eq!(
            err,
            UploadProblem::NameContradictsContent {
                name: "invoice.pdf".into(),
                named_as: AttachmentKind::Pdf,
                content: AttachmentKind::Png,
            }
        );
        assert_eq!(
            err.to_string(),
            "“invoice.pdf” is named as a PDF file but its content is a PNG image; \
             rename it to .png or choose the right file"
        );
    }

    #[test]
    fn an_html_file_called_pdf_is_refused_by_content_even_with_pdf_in_its_first_kilobyte() {
        // infer's own PDF matcher would say yes: `%PDF` is in the first 1 KiB.
        assert!(infer::archive::is_pdf(HTML));
        assert_eq!(detect(HTML), None);
        let err = check_upload("invoice.pdf", HTML).unwrap_err();
        assert_eq!(
            err.to_string(),
            "“invoice.pdf” is not a PDF, PNG, JPEG, CSV or XLSX file; \
             its content looks like an HTML page"
        );
        // Behind a BOM and whitespace, and as SVG: still refused.
        let mut bommed = b"\xEF\xBB\xBF  \n".to_vec();
        bommed.extend_from_slice(HTML);
        assert_eq!(detect(&bommed), None);
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>,a\n";
        assert_eq!(detect(svg), None);
        // Binary junk in front of a PDF header is not a PDF either.
        let mut junk = b"\x00\x01MZ".to_vec();
        junk.extend_from_slice(&pdf());
        assert_eq!(
            check_upload("x.pdf", &junk).unwrap_err().to_string(),
            "“x.pdf” is not a PDF, PNG, JPEG, CSV or XLSX file; \
             its content looks like a damaged or disguised PDF file"
        );
    }

    #[test]
    fn a_file_with_no_or_an_unknown_extension_gets_the_detected_one() {
        let upload = check_upload("scan", &png()).unwrap();
        assert_eq!(upload.display_name, "scan.png");
        let upload = check_upload("scan.tiff", &png()).unwrap();
        assert_eq!(upload.display_name, "scan.tiff.png");
        let upload = check_upload("Photo.JPEG", &jpeg()).unwrap();
        assert_eq!(upload.display_name, "Photo.jpg");
        let upload = check_upload("export.txt", &csv()).unwrap();
        assert_eq!(upload.display_name, "export.txt.csv");
    }

    // ---- the CSV rule ---------------------------------------------------

    #[test]
    fn csv_is_utf8_text_with_one_consistent_delimiter() {
        assert_eq!(csv_delimiter(&csv()), Some(','));
        // Excel's European export: BOM, semicolons, CRLF.
        assert_eq!(
            csv_delimiter("\u{FEFF}Rechnung;Betrag\r\nR-1;10,00\r\n".as_bytes()),
            Some(';')
        );
        assert_eq!(csv_delimiter(b"a\tb\n1\t2\n"), Some('\t'));
        assert_eq!(csv_delimiter(b"a|b\n1|2"), Some('|'));
        // Quoted fields may hold delimiters, escaped quotes and line breaks;
        // blank lines are skipped.
        assert_eq!(
            csv_delimiter(b"a,b\n\"x, \"\"y\"\"\nz\",2\n\n3,4\n"),
            Some(',')
        );
        // A header line alone is a CSV.
        assert_eq!(csv_delimiter(b"invoice,amount"), Some(','));
    }

    #[test]
    fn text_that_is_not_tabular_or_not_harmless_is_not_csv() {
        let not_csv: &[&[u8]] = &[
            b"one column\nonly\n",                  // no delimiter
            b"a,b,c\n1,2\n",                        // field counts differ
            b"a,b\n\"never closed,1\n",             // open quote at the end
            b"a,b\x00\n1,2\n",                      // NUL
            b"a,b\x1b[31m\n1,2\n",                  // escape sequence
            b"a,b\n\xff\xfe,2\n",                   // not UTF-8
            b"  <?xml version=\"1.0\"?><a>,</a>\n", // markup
            b"#!/bin/sh\nrm -rf /,x\n",             // script
            b"   \n\t\n",                           // blank
        ];
        for bytes in not_csv {
            assert_eq!(detect(bytes), None, "{:?}", String::from_utf8_lossy(bytes));
        }
        let err = check_upload("notes.csv", b"Dear AR,\nwe paid twice.\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "“notes.csv” is not a PDF, PNG, JPEG, CSV or XLSX file; \
             its content looks like text without consistent columns, so not CSV"
        );
    }

    #[test]
    fn only_the_first_twenty_records_decide_the_structure() {
        let mut text = "a,b\n".repeat(CSV_SAMPLE_RECORDS);
        text.push_str("total only\n");
        assert_eq!(csv_delimiter(text.as_bytes()), Some(','));
    }

    // ---- size and count -------------------------------------------------

    #[test]
    fn eleven_megabytes_are_refused_with_the_limit_and_ten_exactly_accepted() {
        let mut big = pdf();
        big.resize(mb(11), b' ');
        let err = check_upload("x.pdf", &big).unwrap_err();
        assert_eq!(
            err.to_string(),
            "“x.pdf” is 11.0 MB; files can be at most 10 MB"
        );
        // Nothing was accepted, so the caller has nothing to store.
        assert!(
            matches!(err, UploadProblem::TooLarge { size_bytes, .. } if size_bytes == mb(11) as u64)
        );

        let mut limit = pdf();
        limit.resize(MAX_ATTACHMENT_BYTES, b' ');
        assert_eq!(
            check_upload("x.pdf", &limit).unwrap().kind,
            AttachmentKind::Pdf
        );

        // One byte over never reads as "10.0 MB".
        limit.push(b' ');
        assert_eq!(
            check_upload("x.pdf", &limit).unwrap_err().to_string(),
            "“x.pdf” is 10.1 MB; files can be at most 10 MB"
        );
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert_eq!(
            check_upload("x.pdf", b"").unwrap_err().to_string(),
            "“x.pdf” is empty"
        );
    }

    #[test]
    fn a_sixth_file_is_refused_and_nothing_of_the_message_is_accepted() {
        let pdf = pdf();
        let five: Vec<(&str, &[u8])> = (0..5).map(|_| ("a.pdf", pdf.as_slice())).collect();
        assert_eq!(check_message_files(&five).unwrap().len(), 5);

        let mut six = five.clone();
        six.push(("sixth.pdf", pdf.as_slice()));
        let problems = check_message_files(&six).unwrap_err();
        assert_eq!(
            problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["“sixth.pdf” is file 6; a message can carry at most 5 files"]
        );
    }

    #[test]
    fn every_problem_of_a_message_is_reported_in_file_order() {
        let png = png();
        let files: [(&str, &[u8]); 3] = [("a.pdf", &png), ("ok.png", &png), ("b.csv", b"")];
        let problems = check_message_files(&files).unwrap_err();
        assert!(matches!(
            problems[0],
            UploadProblem::NameContradictsContent { .. }
        ));
        assert!(matches!(problems[1], UploadProblem::Empty { .. }));
        assert_eq!(problems.len(), 2);
    }

    // ---- names ----------------------------------------------------------

    #[test]
    fn path_separators_in_names_leave_only_the_last_segment() {
        let k = AttachmentKind::Pdf;
        assert_eq!(display_name("../../etc/passwd", k), "passwd.pdf");
        assert_eq!(display_name("C:\\x\\y.pdf", k), "y.pdf");
        assert_eq!(display_name("..\\..\\.ssh/id_rsa.pdf", k), "id_rsa.pdf");
        assert_eq!(display_name("dir/", k), "attachment.pdf");
        assert_eq!(display_name("../..", k), "attachment.pdf");
        // Refusal messages do not echo the path either.
        let err = check_upload("../../etc/passwd.pdf", b"").unwrap_err();
        assert_eq!(err.to_string(), "“passwd.pdf” is empty");
    }

    #[test]
    fn control_characters_and_odd_whitespace_are_removed_from_names() {
        let k = AttachmentKind::Pdf;
        assert_eq!(
            display_name("in\u{0}voice\r\n\t 2024\u{7}.pdf", k),
            "invoice 2024.pdf"
        );
        assert_eq!(display_name("\u{1b}[31mred\u{9b}.pdf", k), "[31mred.pdf");
        assert_eq!(display_name("  a \u{00A0}\u{2003} b  .pdf", k), "a b.pdf");
        assert_eq!(display_name("...hidden.pdf", k), "hidden.pdf");
        assert_eq!(display_name("report..pdf.", k), "report.pdf");
        assert_eq!(display_name("\u{0}\u{1}", k), "attachment.pdf");
        assert_eq!(display_name("", k), "attachment.pdf");
    }

    #[test]
    fn a_right_to_left_override_cannot_disguise_the_extension() {
        // Rendered, `invoice\u{202E}fdp.exe` reads "invoiceexe.pdf".
        let name = display_name("invoice\u{202E}fdp.exe", AttachmentKind::Pdf);
        assert_eq!(name, "invoicefdp.exe.pdf");
        for c in [
            '\u{202A}', '\u{202D}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{FEFF}',
        ] {
            assert_eq!(
                display_name(&format!("a{c}b.pdf"), AttachmentKind::Pdf),
                "ab.pdf"
            );
        }
    }

    #[test]
    fn a_300_character_name_is_cut_to_120_keeping_the_extension() {
        let long = format!("{}.xlsx", "x".repeat(300));
        let name = display_name(&long, AttachmentKind::Xlsx);
        assert_eq!(name.chars().count(), MAX_DISPLAY_NAME_CHARS);
        assert!(name.ends_with("xxx.xlsx"));

        // Multi-byte characters: 120 characters would be 480 bytes.
        let wide = "票".repeat(300);
        let name = display_name(&wide, AttachmentKind::Pdf);
        assert!(
            name.len() <= 255 && name.ends_with(".pdf"),
            "{}",
            name.len()
        );
        assert!(name.chars().count() <= MAX_DISPLAY_NAME_CHARS);

        // The message quotes at most 120 characters of the claimed name.
        let err = check_upload(&"y".repeat(300), b"").unwrap_err();
        assert_eq!(err.to_string(), format!("“{}” is empty", "y".repeat(120)));
    }

    #[test]
    fn a_png_called_pdf_would_be_named_png_the_name_always_ends_with_the_content() {
        assert_eq!(display_name("x.pdf", AttachmentKind::Png), "x.png");
        assert_eq!(display_name("x.exe", AttachmentKind::Png), "x.exe.png");
        assert_eq!(
            display_name("Mr. Smith", AttachmentKind::Csv),
            "Mr. Smith.csv"
        );
    }

    #[test]
    fn content_disposition_for_a_name_with_quotes_and_non_ascii() {
        let header = content_disposition("Fa\"ctu\\re été 100%.pdf");
        assert_eq!(
            header,
            "attachment; filename=\"Fa_ctu_re _t_ 100_.pdf\"; \
             filename*=UTF-8''Fa%22ctu%5Cre%20%C3%A9t%C3%A9%20100%25.pdf"
        );
        // The quoted part holds no quote or backslash of the name.
        let quoted = header.split('"').nth(1).unwrap();
        assert!(!quoted.contains(['"', '\\']));
        // Whatever the caller passes, no line break reaches the header.
        let header = content_disposition("a\r\nSet-Cookie: x=1.pdf");
        assert!(!header.contains(['\r', '\n']), "{header}");
        assert_eq!(
            content_disposition(" "),
            "attachment; filename=\"attachment\"; filename*=UTF-8''attachment"
        );
    }

    #[test]
    fn downloads_are_attachments_with_the_detected_type_and_nosniff() {
        let headers = serving_headers(AttachmentKind::Csv, "remittance.csv");
        assert_eq!(
            headers[0],
            ("content-type", "text/csv; charset=utf-8".into())
        );
        assert!(headers[1].1.starts_with("attachment; "));
        assert_eq!(headers[2], ("x-content-type-options", "nosniff".into()));
    }

    #[test]
    fn stored_names_are_unique_random_and_free_of_the_claimed_name() {
        let names: std::collections::HashSet<String> = (0..1000).map(|_| stored_name()).collect();
        assert_eq!(names.len(), 1000);
        for name in &names {
            assert_eq!(name.len(), 32);
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert!(!name.contains("invoice") && !name.contains('.'));
        }
    }

    // ---- the scanning hook ---------------------------------------------

    struct Eicar;
    impl VirusScan for Eicar {
        fn scan(&self, bytes: &[u8]) -> ScanVerdict {
            if bytes.windows(5).any(|w| w == b"EICAR") {
                ScanVerdict::Infected {
                    threat: "Eicar-Test-Signature".into(),
                }
            } else {
                ScanVerdict::Clean
            }
        }
    }

    #[test]
    fn the_scan_hook_accepts_everything_by_default_and_refuses_what_a_scanner_flags() {
        let bytes = b"a,EICAR\n1,2\n";
        let upload = check_upload("x.csv", bytes).unwrap();
        assert_eq!(scan_checked(&NoScan, &upload, bytes), Ok(()));
        assert_eq!(
            scan_checked(&Eicar, &upload, bytes)
                .unwrap_err()
                .to_string(),
            "“x.csv” was refused by the virus scan (Eicar-Test-Signature)"
        );
    }
}
