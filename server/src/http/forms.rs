//! What every plain form route reads: who is signed in, and the
//! urlencoded fields of the body; and how it answers: a 303 back to the
//! page with the outcome in the query string.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use portal_core::domain::Principal;
use portal_core::session_store::SignedIn;

use super::plain_page::not_found;

/// The staff user signed in, if the session is a staff one.
pub fn staff_id(signed_in: Option<Extension<SignedIn>>) -> Option<i64> {
    match signed_in.map(|Extension(s)| s.principal) {
        Some(Principal::Staff { staff_id }) => Some(staff_id),
        _ => None,
    }
}

/// Extractor: the staff user signed in (`Staff(staff_id)`). Anyone else
/// gets 404, as for every staff address, before the body is read.
pub struct Staff(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let signed_in = parts.extensions.get::<SignedIn>().cloned().map(Extension);
        staff_id(signed_in).map(Staff).ok_or_else(not_found)
    }
}

/// An `application/x-www-form-urlencoded` body, in order (repeated names
/// such as ticked checkboxes stay repeated).
pub fn pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Extractor: the body's fields, as [`pairs`] reads them.
pub struct FormPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(FormPairs(pairs(&body)))
    }
}

/// The first value of `name`, or "" when the form did not send it.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// 303 to `path` with `query` urlencoded, and `#fragment` when given.
pub fn back_to<K: AsRef<str>, V: AsRef<str>>(
    path: &str,
    query: &[(K, V)],
    fragment: Option<&str>,
) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        q.append_pair(k.as_ref(), v.as_ref());
    }
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    Redirect::to(&format!("{path}?{}{fragment}", q.finish())).into_response()
}
