//! Small server-made HTML pages for answers that are not Leptos routes
//! (429 from the rate limits, a failed POST). Same stylesheet and landmarks
//! as the app, so they read and scan like the rest of the portal.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portal_core::email::html_escape;

pub fn plain_page(status: StatusCode, title: &str, message: &str, link: (&str, &str)) -> Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="{css}"></head>
<body><header class="site-header"><a class="brand" href="/"><span class="brand-name">Billing portal</span></a></header>
<main id="main"><section class="card narrow"><h1>{title}</h1><p>{message}</p><p><a class="button" href="{href}">{label}</a></p></section></main>
</body></html>"#,
        css = app::stylesheet_href(),
        title = html_escape(title),
        message = html_escape(message),
        href = html_escape(link.0),
        label = html_escape(link.1),
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A page whose one action is a button that POSTs to `action` (the
/// same-origin check then applies): for links that must not act on a GET.
pub fn action_page(title: &str, message: &str, action: &str, button: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="{css}"></head>
<body><header class="site-header"><a class="brand" href="/"><span class="brand-name">Billing portal</span></a></header>
<main id="main"><section class="card narrow"><h1>{title}</h1><p>{message}</p>
<form method="post" action="{action}"><button type="submit">{button}</button></form></section></main>
</body></html>"#,
        css = app::stylesheet_href(),
        title = html_escape(title),
        message = html_escape(message),
        action = html_escape(action),
        button = html_escape(button),
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// 429 with Retry-After, in words a person can act on.
pub fn too_many_requests(retry_after_secs: u64, back_to: &str) -> Response {
    let minutes = retry_after_secs.div_ceil(60);
    let wait = if retry_after_secs < 60 {
        format!("{retry_after_secs} seconds")
    } else if minutes == 1 {
        "a minute".to_owned()
    } else {
        format!("{minutes} minutes")
    };
    let mut response = plain_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-in requests",
        &format!("For your security we limit how often sign-in links can be requested. Please try again in {wait}."),
        (back_to, "Back to sign-in"),
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs.max(1)),
    );
    response
}

pub fn server_error() -> Response {
    plain_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "We could not finish that on our side. Please try again in a moment.",
        ("/", "Back to the start page"),
    )
}

pub fn not_found() -> Response {
    plain_page(
        StatusCode::NOT_FOUND,
        "We couldn't find that page",
        "The link may be mistyped, or the page may belong to an account you are not signed in to.",
        ("/", "Go to your accounts"),
    )
}
