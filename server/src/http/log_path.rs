//! The request path as the request log shows it. Paths that are
//! capabilities themselves carry a token that is replaced: an invoice link
//! (`/i/<token>`, `/i/<token>/fresh`) and an autopay notice's skip link
//! (`/autopay/skip/<token>`). Query strings (sign-in tokens, checkout
//! return keys) are never logged at all.

use std::borrow::Cow;

/// The paths whose next segment is a token.
const TOKEN_PREFIXES: [&str; 3] = ["/i/", "/autopay/skip/", "/reminders/unsubscribe/"];

/// `path` with the token of a capability path replaced by `<redacted>`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    for prefix in TOKEN_PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            let after_token = rest.find('/').map_or("", |at| &rest[at..]);
            return Cow::Owned(format!("{prefix}<redacted>{after_token}"));
        }
    }
    Cow::Borrowed(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_never_reach_the_log() {
        let token = "o4dr5j8j1jm-zx7GfJpHcdk_51OOrBohfY9S3zBPV7s";
        assert_eq!(loggable_path(&format!("/i/{token}")), "/i/<redacted>");
        assert_eq!(
            loggable_path(&format!("/i/{token}/fresh")),
            "/i/<redacted>/fresh"
        );
        assert_eq!(loggable_path("/i/"), "/i/<redacted>");
        assert_eq!(
            loggable_path(&format!("/reminders/unsubscribe/{token}")),
            "/reminders/unsubscribe/<redacted>"
        );
        assert_eq!(
            loggable_path(&format!("/autopay/skip/{token}")),
            "/autopay/skip/<redacted>"
        );
        for path in [
            "/",
            "/health",
            "/auth/confirm",
            "/accounts/3/invoices/12",
            "/invoice-link",
            "/api/invoice_list",
            "/iframe/i/x",
            "/accounts/3/autopay",
        ] {
            assert_eq!(loggable_path(path), path);
        }
    }
}
