//! Email: messages are written to the outbox with the change that causes
//! them (templates.rs), and delivered by the worker (worker.rs) through a
//! transport (transport.rs): SMTP, or the dev mailbox when none is set.

pub mod redact;
pub mod templates;
pub mod transport;
pub mod worker;

/// Escapes text for HTML bodies.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
