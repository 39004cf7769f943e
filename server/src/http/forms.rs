//! What every plain form route reads: who is signed in, and the
//! urlencoded fields of the body.

use axum::body::Bytes;
use axum::Extension;
use portal_core::domain::Principal;
use portal_core::session_store::SignedIn;

/// The staff user signed in, if the session is a staff one.
pub fn staff_id(signed_in: Option<Extension<SignedIn>>) -> Option<i64> {
    match signed_in.map(|Extension(s)| s.principal) {
        Some(Principal::Staff { staff_id }) => Some(staff_id),
        _ => None,
    }
}

/// An `application/x-www-form-urlencoded` body, in order (repeated names
/// such as ticked checkboxes stay repeated).
pub fn pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of `name`, or "" when the form did not send it.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}
