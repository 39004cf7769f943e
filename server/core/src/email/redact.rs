//! Sent mail keeps no live link. Once an email has left, the outbox row is
//! a record of what was sent, not a second copy of the sign-in or invoice
//! link in it: its bodies are rewritten with the tokens replaced.

/// What stands where a token was.
pub const REDACTED: &str = "[redacted]";

/// Where a token starts: sign-in links (`/auth/confirm?token=…`, the staff
/// one too), invoice links (`/i/…`) and autopay's skip links
/// (`/autopay/skip/…`, one debit each) and reminders' one-click
/// unsubscribe links (`/reminders/unsubscribe/…`, in the body and the
/// List-Unsubscribe header).
const MARKERS: [&str; 4] = ["token=", "/i/", "/autopay/skip/", "/reminders/unsubscribe/"];

/// Tokens are 256 bits in base64url (43 characters); a shorter run after a
/// marker is ordinary text and stays.
const MIN_TOKEN_LEN: usize = 16;

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `body` with every token after a marker replaced by `[redacted]`.
pub fn redact_tokens(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    loop {
        let next = MARKERS
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, m.len())))
            .min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        let start = at + len;
        out.push_str(&rest[..start]);
        let run = rest[start..]
            .find(|c: char| !token_char(c))
            .unwrap_or(rest.len() - start);
        if run >= MIN_TOKEN_LEN {
            out.push_str(REDACTED);
        } else {
            out.push_str(&rest[start..start + run]);
        }
        rest = &rest[start + run..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "o4dr5j8j1jm-zx7GfJpHcdk_51OOrBohfY9S3zBPV7s";

    #[test]
    fn sign_in_and_invoice_links_lose_their_tokens() {
        let text = format!(
            "Sign in:\n\nhttp://x/auth/confirm?token={TOKEN}\n\nStaff: https://x/staff/auth/confirm?token={TOKEN}&x=1\nInvoice: https://x/i/{TOKEN}\nSkip: https://x/autopay/skip/{TOKEN}\n"
        );
        let redacted = redact_tokens(&text);
        assert!(!redacted.contains(TOKEN), "{redacted}");
        assert_eq!(
            redacted,
            "Sign in:\n\nhttp://x/auth/confirm?token=[redacted]\n\nStaff: https://x/staff/auth/confirm?token=[redacted]&x=1\nInvoice: https://x/i/[redacted]\nSkip: https://x/autopay/skip/[redacted]\n"
        );
        let html = format!(
            r#"<a href="https://x/i/{TOKEN}">View</a> <span>https://x/auth/confirm?token={TOKEN}&amp;x=1</span>"#
        );
        assert_eq!(
            redact_tokens(&html),
            r#"<a href="https://x/i/[redacted]">View</a> <span>https://x/auth/confirm?token=[redacted]&amp;x=1</span>"#
        );
    }

    #[test]
    fn unsubscribe_links_lose_their_tokens_in_body_and_header() {
        let header = format!(
            "List-Unsubscribe: <https://x/reminders/unsubscribe/{TOKEN}>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click"
        );
        assert_eq!(
            redact_tokens(&header),
            "List-Unsubscribe: <https://x/reminders/unsubscribe/[redacted]>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click"
        );
        let body = format!("Stop these: https://x/reminders/unsubscribe/{TOKEN}\n");
        assert_eq!(
            redact_tokens(&body),
            "Stop these: https://x/reminders/unsubscribe/[redacted]\n"
        );
    }

    #[test]
    fn other_text_is_left_alone() {
        for text in [
            "Receipt PAY-12: https://x/accounts/3/payments/12",
            "token= short, /i/abc, /i/ and token=",
            "Grüße, Zoë — 100 €",
            "",
        ] {
            assert_eq!(redact_tokens(text), text);
        }
        // Idempotent: a sent row redacted twice stays the same.
        let once = redact_tokens(&format!("https://x/i/{TOKEN}"));
        assert_eq!(redact_tokens(&once), once);
    }
}
