//! Resource limits: the size of a request body, the time a request may take
//! to be answered, and how many heavy downloads run at once. Each answers
//! with a plain page that says what happened.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use portal_core::Services;

use super::plain_page::plain_page;

/// The largest request body, any route: the largest legitimate form (paying
/// every open invoice of an account with a few thousand, ~40 bytes each) is
/// well under it. The Stripe webhook keeps its own, smaller limit.
pub const REQUEST_BODY_LIMIT: usize = 1024 * 1024;

/// The largest body of the two forms that carry files (a dispute, a message
/// on a request): five files of 10 MB (`domain::attachment`) plus the text
/// and the multipart framing, with room to spare. A single file over 10 MB
/// but under this limit reaches the service, which refuses it by name with
/// the form's message; over this limit the 413 page answers.
pub const UPLOAD_BODY_LIMIT: usize = 52 * 1024 * 1024;

/// The body limit of a request: `UPLOAD_BODY_LIMIT` for exactly the POSTs
/// of the upload forms, `REQUEST_BODY_LIMIT` for everything else.
pub fn body_limit_for(method: &axum::http::Method, path: &str) -> usize {
    if method == axum::http::Method::POST && is_upload_path(path) {
        UPLOAD_BODY_LIMIT
    } else {
        REQUEST_BODY_LIMIT
    }
}

/// `/accounts/{c}/invoices/{i}/dispute` and `/accounts/{c}/requests/{r}/messages`
/// (ids as digits; anything else is not an upload form).
fn is_upload_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(
        segments.as_slice(),
        ["accounts", c, "invoices", i, "dispute"] if id(c) && id(i)
    ) || matches!(
        segments.as_slice(),
        ["accounts", c, "requests", r, "messages"] if id(c) && id(r)
    )
}

/// How long a heavy download waits for its turn before 503.
pub const HEAVY_DOWNLOAD_QUEUE: Duration = Duration::from_secs(2);
/// The Retry-After of that 503, in seconds.
pub const HEAVY_DOWNLOAD_RETRY_AFTER: u64 = 10;

fn too_large(limit: usize) -> Response {
    let message = if limit == UPLOAD_BODY_LIMIT {
        "The files were too large to send together, and nothing was changed. A message can carry up to 5 files of at most 10 MB each: go back and choose fewer or smaller files.".to_owned()
    } else {
        format!(
            "The portal accepts at most {} KB in one request, and nothing was changed. Go back and send less.",
            limit / 1024
        )
    };
    plain_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "That was too much to send",
        &message,
        ("/", "Back to the start page"),
    )
}

/// Refuses any request body over its limit (`body_limit_for`) with 413: at once when
/// Content-Length says so, and otherwise (chunked) as soon as the handler
/// has read past the limit, whatever the handler then answered (a server
/// function would say 500). The handler only ever sees a body cut short, so
/// a form or server function over the limit changes nothing.
pub async fn body_limit(request: Request, next: Next) -> Response {
    let limit = body_limit_for(request.method(), request.uri().path());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    if request.body().size_hint().exact() == Some(0) {
        return next.run(request).await;
    }
    let exceeded = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let flag = exceeded.clone();
    let mut seen = 0usize;
    let limited = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > limit {
            flag.store(true, Ordering::SeqCst);
            return Err(axum::Error::new("request body over the limit"));
        }
        Ok(chunk)
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(limited)))
        .await;
    if exceeded.load(Ordering::SeqCst) {
        return too_large(limit);
    }
    response
}

/// Answers 503 (and stops the handler) when a request has not produced its
/// response within `PORTAL_REQUEST_TIMEOUT_SECONDS`. It bounds the time to
/// the response's head: a streamed download (CSV, zip) starts within
/// seconds and its body is not cut, however long the transfer takes.
pub async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(after = ?limit, "request timed out");
            let mut response = plain_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "That took too long",
                "The portal could not answer in time, and stopped. Please try again; for a statement or download, a shorter period or fewer invoices is quicker.",
                ("/", "Back to the start page"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            response
        }
    }
}

/// For the heavy downloads (zip, CSV, statement PDF): at most
/// `PORTAL_HEAVY_DOWNLOADS` at once. A request waits up to
/// `HEAVY_DOWNLOAD_QUEUE` for its turn, then gets 503 with Retry-After. The
/// permit is held until a streamed body has been sent (or the client went
/// away), since the work happens while it streams.
pub async fn heavy_download(
    State(services): State<Services>,
    request: Request,
    next: Next,
) -> Response {
    let permit = match tokio::time::timeout(
        HEAVY_DOWNLOAD_QUEUE,
        services.heavy_downloads.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(permit)) => permit,
        _ => return busy(),
    };
    let response = next.run(request).await;
    if response.body().size_hint().exact().is_some() {
        // Made in full already (a PDF, an error page): the work is done.
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut data = body.into_data_stream();
    let mut permit = Some(permit);
    let guarded = futures_util::stream::poll_fn(move |cx| {
        let next = data.poll_next_unpin(cx);
        if let std::task::Poll::Ready(None) = next {
            permit.take();
        }
        next
    });
    Response::from_parts(parts, Body::from_stream(guarded))
}

fn busy() -> Response {
    let mut response = plain_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Many downloads are being prepared",
        &format!(
            "Your download could not start right now because the portal is preparing many others. Please try again in {HEAVY_DOWNLOAD_RETRY_AFTER} seconds."
        ),
        ("/", "Back to your accounts"),
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(HEAVY_DOWNLOAD_RETRY_AFTER),
    );
    response
}

/// The body of a streamed download: its chunks as the service makes them.
pub fn streamed_body(mut chunks: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>) -> Body {
    Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        chunks.poll_recv(cx)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn only_the_two_upload_forms_get_the_upload_limit() {
        for path in [
            "/accounts/1/invoices/22/dispute",
            "/accounts/1/requests/3/messages",
        ] {
            assert_eq!(
                body_limit_for(&Method::POST, path),
                UPLOAD_BODY_LIMIT,
                "{path}"
            );
            assert_eq!(
                body_limit_for(&Method::GET, path),
                REQUEST_BODY_LIMIT,
                "{path}"
            );
        }
        for path in [
            "/accounts/1/payments",
            "/accounts/1/requests/3/withdraw",
            "/accounts/x/invoices/22/dispute",
            "/accounts/1/invoices/22/dispute/more",
            "/api/anything/accounts/1/requests/3/messages",
            "/accounts//requests/3/messages",
        ] {
            assert_eq!(
                body_limit_for(&Method::POST, path),
                REQUEST_BODY_LIMIT,
                "{path}"
            );
        }
    }
}
