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

/// How long a heavy download waits for its turn before 503.
pub const HEAVY_DOWNLOAD_QUEUE: Duration = Duration::from_secs(2);
/// The Retry-After of that 503, in seconds.
pub const HEAVY_DOWNLOAD_RETRY_AFTER: u64 = 10;

fn too_large() -> Response {
    plain_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "That was too much to send",
        &format!(
            "The portal accepts at most {} KB in one request, and nothing was changed. Go back and send less.",
            REQUEST_BODY_LIMIT / 1024
        ),
        ("/", "Back to the start page"),
    )
}

/// Refuses any request body over `REQUEST_BODY_LIMIT` with 413: at once when
/// Content-Length says so, and otherwise (chunked) as soon as the handler
/// has read past the limit, whatever the handler then answered (a server
/// function would say 500). The handler only ever sees a body cut short, so
/// a form or server function over the limit changes nothing.
pub async fn body_limit(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > REQUEST_BODY_LIMIT as u64) {
        return too_large();
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
        if seen > REQUEST_BODY_LIMIT {
            flag.store(true, Ordering::SeqCst);
            return Err(axum::Error::new("request body over the limit"));
        }
        Ok(chunk)
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(limited)))
        .await;
    if exceeded.load(Ordering::SeqCst) {
        return too_large();
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
