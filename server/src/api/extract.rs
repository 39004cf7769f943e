//! What every API handler takes from a request: the key (authentication and
//! the per-key rate limit), the Idempotency-Key of a write, and the body,
//! each refused in the one error shape (axum's own rejections are plain
//! text).

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use portal_core::services::api_keys::ApiKey;
use portal_core::Services;
use serde::de::DeserializeOwned;

use super::error::ApiFailure;

/// The API router's state.
#[derive(Clone)]
pub struct ApiState {
    pub services: Services,
    pub limiter: Arc<DefaultKeyedRateLimiter<i64>>,
}

impl ApiState {
    pub fn new(services: Services) -> Self {
        let config = &services.config;
        let per_second = NonZeroU32::new(config.api_rate_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.api_rate_burst).unwrap_or(NonZeroU32::MIN);
        let limiter =
            DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst));
        ApiState {
            services,
            limiter: Arc::new(limiter),
        }
    }
}

impl FromRef<ApiState> for Services {
    fn from_ref(state: &ApiState) -> Services {
        state.services.clone()
    }
}

/// The authenticated key of the request, within its rate limit.
pub struct Authenticated(pub ApiKey);

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiFailure> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiFailure::unauthenticated(
                "No API key: send `Authorization: Bearer <key>`.",
            ));
        };
        let bearer = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or_else(|| {
                ApiFailure::unauthenticated("Send the API key as `Authorization: Bearer <key>`.")
            })?;
        let key = state
            .services
            .authenticate_api_key(bearer)
            .await?
            .ok_or_else(|| {
                ApiFailure::unauthenticated("This API key is not valid (unknown or revoked).")
            })?;
        // In-process, per key (docs/ARCHITECTURE.md, "Seller API"): N
        // instances allow N times the configured rate.
        if let Err(not_until) = state.limiter.check_key(&key.api_key_id) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiFailure::rate_limited(secs.max(1)));
        }
        Ok(Authenticated(key))
    }
}

/// The most characters of an Idempotency-Key (Stripe's limit).
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// The `Idempotency-Key` header of a write: required, 1 to 255 characters.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiFailure> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Err(ApiFailure::invalid(
                "missing_idempotency_key",
                Some("Idempotency-Key"),
                "Every write needs an Idempotency-Key header (e.g. a UUID); a retry with the same key and body gets the same answer.",
            ));
        };
        let key = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let chars = key.chars().count();
        if chars == 0 || chars > IDEMPOTENCY_KEY_MAX {
            return Err(ApiFailure::invalid(
                "invalid_idempotency_key",
                Some("Idempotency-Key"),
                format!("The Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters."),
            ));
        }
        Ok(IdempotencyKey(key))
    }
}

/// A JSON body as `T`, with its raw bytes (the idempotency fingerprint).
/// A refusal names the field at fault in `param`.
pub struct JsonBody<T> {
    pub value: T,
    pub bytes: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiFailure;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiFailure> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
                    || (v.len() > 5 && v[..v.len() - 5].contains('/') && v.ends_with("+json"))
            });
        if !json {
            return Err(ApiFailure::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                super::error::ErrorType::InvalidRequestError,
                "unsupported_media_type",
                None,
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiFailure::new(
                    e.status(),
                    super::error::ErrorType::InvalidRequestError,
                    "body_too_large",
                    None,
                    format!("The body may be at most {} KB.", super::BODY_LIMIT / 1024),
                )
            } else {
                ApiFailure::invalid(
                    "unreadable_body",
                    None,
                    "The request body could not be read.",
                )
            }
        })?;
        let value = parse_json(&bytes)?;
        Ok(JsonBody { value, bytes })
    }
}

/// Parses a body, naming the field at fault: the path serde was at, or the
/// field a "missing field" / "unknown field" message names.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        let named = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"));
        let syntax = inner.is_syntax() || inner.is_eof();
        let param = match named {
            _ if syntax => None,
            Some(field) if path == "." => Some(field.to_owned()),
            // "unknown field": serde_path_to_error's path ends at it already.
            Some(field) if path == field || path.ends_with(&format!(".{field}")) => Some(path),
            Some(field) => Some(format!("{path}.{field}")),
            None if path == "." || path.is_empty() => None,
            None => Some(path),
        };
        let code = if syntax {
            "invalid_json"
        } else if text.starts_with("missing field") {
            "missing_field"
        } else if text.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_value"
        };
        // serde's text without its "at line 1 column 9" tail when a field is named.
        let message = match &param {
            Some(p) => format!("{p}: {}", text.split(" at line ").next().unwrap_or(&text)),
            None => format!("The body is not valid JSON for this request: {text}"),
        };
        ApiFailure::invalid(code, param.as_deref(), message)
    })?;
    deserializer.end().map_err(|_| {
        ApiFailure::invalid(
            "invalid_json",
            None,
            "Trailing characters after the JSON body.",
        )
    })?;
    Ok(value)
}
