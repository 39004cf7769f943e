//! Text kept in a `<textarea>` across a refused form.

/// Text for inside a `<textarea>`, escaped here: Leptos writes a
/// textarea's children unescaped (tachys: `ESCAPE_CHILDREN = false`), so a
/// kept draft containing `</textarea>` would otherwise end the element and
/// become markup. The browser decodes the entities back to what was typed.
pub fn textarea_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
