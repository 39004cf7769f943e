//! The request path as the request log shows it: an invoice link's path
//! (`/i/<token>`, `/i/<token>/fresh`) is the link itself, so its token is
//! replaced. Query strings (sign-in tokens, checkout return keys) are never
//! logged at all.

use std::borrow::Cow;

/// `path` with the token of an invoice link replaced by `<redacted>`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/i/") {
        Some(rest) => {
            let after_token = rest.find('/').map_or("", |at| &rest[at..]);
            Cow::Owned(format!("/i/<redacted>{after_token}"))
        }
        None => Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoice_link_tokens_never_reach_the_log() {
        let token = "o4dr5j8j1jm-zx7GfJpHcdk_51OOrBohfY9S3zBPV7s";
        assert_eq!(loggable_path(&format!("/i/{token}")), "/i/<redacted>");
        assert_eq!(
            loggable_path(&format!("/i/{token}/fresh")),
            "/i/<redacted>/fresh"
        );
        assert_eq!(loggable_path("/i/"), "/i/<redacted>");
        for path in [
            "/",
            "/health",
            "/auth/confirm",
            "/accounts/3/invoices/12",
            "/invoice-link",
            "/api/invoice_list",
            "/iframe/i/x",
        ] {
            assert_eq!(loggable_path(path), path);
        }
    }
}
