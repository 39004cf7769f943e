//! Response headers every answer carries, and the same-origin check that
//! every state-changing request must pass (CSRF defence on top of
//! SameSite=Lax cookies).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::plain_page::plain_page;
use super::AppState;

/// Paths whose responses may be cached (static assets). Everything else is
/// personal or token-bearing and must never be stored by a browser or proxy.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/robots.txt"
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let page_nonce = app::PageNonce::default();
    req.extensions_mut().insert(page_nonce.clone());
    let mut response = next.run(req).await;
    // A page of the app: its policy allows its own nonce'd scripts.
    let page_policy = page_nonce.0.get().and_then(|nonce| {
        HeaderValue::from_str(&app::content_security_policy(
            nonce,
            &state.services.config.stripe_checkout_origin,
        ))
        .ok()
    });
    if let Some(policy) = page_policy {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    } else if is_html(response.headers()) {
        response = warn_if_scripts_without_page_policy(&path, response).await;
    }
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Sign-in links carry their token in the URL: no other site ever gets a
    // Referer from us. (Not `no-referrer`: under it browsers send
    // `Origin: null` on our own form posts.)
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    // HTML pages get their own policy with a script nonce (app::shell);
    // anything else may not run or frame anything.
    set(headers, header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    if path.starts_with("/pkg/") && state.leptos_options.hash_files {
        // Content-hashed names (cargo-leptos hash-files): a changed file has
        // a new name, so browsers may keep these for a year unasked.
        set(
            headers,
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable",
        );
    } else if is_static_asset(&path) {
        // Not content-hashed: revalidate with ETag / Last-Modified.
        set(headers, header::CACHE_CONTROL, "no-cache");
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.services.config.production {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// An HTML answer whose `PageNonce` was never set leaves with the policy
/// that allows no script. That is right for the pages the server makes
/// itself (`plain_page`, the sandbox checkout), which have none; a page
/// with scripts (a Leptos page whose shell never handed over its nonce)
/// would have them refused by the browser: logged, so that it is seen (see
/// docs/ARCHITECTURE.md, "Known problem"). Only such answers are read
/// here, and they are small and already complete.
async fn warn_if_scripts_without_page_policy(path: &str, response: Response) -> Response {
    // An invoice link's path is the link itself: never logged as it is.
    let path = super::log_path::loggable_path(path);
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            if bytes
                .windows(b"<script".len())
                .any(|w| w.eq_ignore_ascii_case(b"<script"))
            {
                tracing::warn!(
                    path = %path,
                    status = parts.status.as_u16(),
                    "an HTML page with scripts left without its page Content-Security-Policy \
                     (its nonce never reached the security middleware): browsers will refuse its scripts"
                );
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            tracing::warn!(path = %path, error = %e, "an HTML answer without a page policy could not be read");
            Response::from_parts(parts, Body::empty())
        }
    }
}

/// State changes are POSTs (GET never changes anything), and a POST must
/// come from a page of this portal: its Origin must be ours, or, when a
/// browser sends no usable Origin, Sec-Fetch-Site must say same-origin. Requests
/// with neither are refused: every browser we support sends one of them.
pub async fn same_origin_for_state_changes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if is_same_origin(req.headers(), &state.services.config.base_url) {
        return next.run(req).await;
    }
    tracing::warn!(method = %req.method(), path = %req.uri().path(), "refused a cross-origin state change");
    plain_page(
        StatusCode::FORBIDDEN,
        "This request was refused",
        "It did not come from a page of this portal. Go back to the portal, reload the page and try again.",
        ("/", "Go to the portal"),
    )
}

fn is_same_origin(headers: &HeaderMap, base_url: &url::Url) -> bool {
    // `Origin: null` (privacy modes, sandboxed frames) proves nothing: fall
    // through to Sec-Fetch-Site, which pages cannot forge.
    if let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
    {
        let ours = base_url.origin().ascii_serialization();
        if origin == ours {
            return true;
        }
        // The portal may also be reached under the Host it was asked for
        // (127.0.0.1 vs localhost in development).
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        return !host.is_empty() && origin_host == host;
    }
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-origin")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the tests' subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_page_with_scripts_but_no_page_policy_is_logged() {
        let logs = Captured::default();
        let writer = logs.clone();
        let _subscriber = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish(),
        );
        let html = r#"<!DOCTYPE html><html><head><link rel="modulepreload" href="/pkg/portal.js"><SCRIPT type="module">import("/pkg/portal.js")</SCRIPT></head></html>"#;
        let mut page = Response::new(Body::from(html));
        page.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        assert!(is_html(page.headers()));
        let page = warn_if_scripts_without_page_policy("/auth/confirm", page).await;
        let body = axum::body::to_bytes(page.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(body, html.as_bytes(), "the page goes out unchanged");
        let logged = logs.text();
        assert!(
            logged.contains("WARN")
                && logged.contains("without its page Content-Security-Policy")
                && logged.contains("/auth/confirm"),
            "{logged}"
        );

        // An invoice link's token never reaches the log.
        let mut linked = Response::new(Body::from(html));
        linked
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        warn_if_scripts_without_page_policy("/i/secret-token-value", linked).await;
        let logged = logs.text();
        assert!(
            logged.contains("/i/<redacted>") && !logged.contains("secret-token-value"),
            "{logged}"
        );

        // A page the server makes itself has no scripts: nothing to say.
        let plain = plain_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in requests",
            "Please try again in a minute.",
            ("/sign-in", "Back to sign-in"),
        );
        assert!(is_html(plain.headers()));
        let before = logs.text().len();
        let plain = warn_if_scripts_without_page_policy("/auth/sign-in", plain).await;
        assert_eq!(plain.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(logs.text().len(), before, "{}", logs.text());
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn accepts_only_our_origin() {
        let base = url::Url::parse("https://billing.example.com").unwrap();
        assert!(is_same_origin(
            &headers(&[("origin", "https://billing.example.com")]),
            &base
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example")]),
            &base
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), &base));
        assert!(is_same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            &base
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            &base
        ));
        assert!(!is_same_origin(&headers(&[]), &base));
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &base
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &base
        ));
        assert!(is_same_origin(
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            &base
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "http://evil:3000"), ("host", "localhost:3000")]),
            &base
        ));
    }
}
