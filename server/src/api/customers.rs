//! `/api/v1/customers`: upsert by the ERP's id, read one, list in change
//! order. Every bound the handlers check is in the schema (and the other
//! way round), so the OpenAPI document is the contract Schemathesis checks.

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use portal_core::repo::api::ApiCustomerRow;
use portal_core::services::api_customers::{
    request_fingerprint, ChangeCursor, CustomerInput, IdempotentOutcome, IdempotentRequest,
    StoredAnswer,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{json_response, ApiError, ApiFailure};
use super::extract::{ApiState, Authenticated, IdempotencyKey, JsonBody};

pub const EXTERNAL_ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$";
pub const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";
/// Language, optional script, optional region (`de`, `pt-BR`,
/// `zh-Hant-TW`, `es-419`), any case; stored in BCP 47's canonical case.
pub const LANGUAGE_PATTERN: &str = "^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$";
/// Names: no control characters (U+0000–U+001F, U+007F; PostgreSQL text
/// cannot hold U+0000) and at least one character that is not a space.
/// Written with explicit code points only, so ECMA-262, Python and Rust
/// regexes read it alike and the handler's check is the same set.
pub const NAME_PATTERN: &str =
    "^[^\\u0000-\\u001F\\u007F]*[^\\u0000-\\u0020\\u007F][^\\u0000-\\u001F\\u007F]*$";
/// Other free text: no control characters.
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F]*$";
pub const CURSOR_PATTERN: &str = "^[0-9]{1,18}\\.[0-9]{1,18}$";
pub const NAME_MAX: usize = 200;
pub const SEGMENT_MAX: usize = 100;
pub const TERMS_MAX: i64 = 365;
pub const DEFAULT_TERMS: i64 = 30;
pub const LIMIT_MAX: u32 = 100;
pub const DEFAULT_LIMIT: u32 = 25;

/// A customer account, as the API shows it. Amounts elsewhere in the API
/// are minor units (cents); a customer has none of its own.
#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    /// The portal's id.
    pub id: i64,
    /// The ERP's id; null for a customer created in the portal and not
    /// (yet) linked to the ERP.
    pub external_id: Option<String>,
    pub name: String,
    /// ISO 4217 code of the account's default currency.
    pub currency: String,
    /// Days from issue to due date of new invoices.
    pub payment_terms_days: i64,
    pub segment: Option<String>,
    /// BCP 47 tag of the customer's language (documents, emails); null: not set.
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the API-visible fields last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<ApiCustomerRow> for Customer {
    fn from(c: ApiCustomerRow) -> Customer {
        Customer {
            id: c.customer_id,
            external_id: c.external_id,
            name: c.name,
            currency: c.currency,
            payment_terms_days: c.payment_terms_days,
            segment: c.segment,
            language: c.language,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// One page of customers in change order.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    pub data: Vec<Customer>,
    /// More rows follow: ask again with `starting_after=next_cursor`.
    pub has_more: bool,
    /// Where the next page starts; also on the last page, so a client can
    /// poll for later changes with it. Null only when nothing was listed.
    #[schema(pattern = "^[0-9]{1,18}\\.[0-9]{1,18}$")]
    pub next_cursor: Option<String>,
}

/// A customer as the ERP sends it: the whole record (PUT replaces it;
/// an omitted optional field takes its default).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpsert {
    /// 1 to 200 characters, no control characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F]*[^\\u0000-\\u0020\\u007F][^\\u0000-\\u001F\\u007F]*$"
    )]
    pub name: String,
    /// ISO 4217 code, upper case.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// 0 to 365; default 30.
    #[schema(minimum = 0, maximum = 365)]
    #[serde(default, deserialize_with = "json_integer")]
    pub payment_terms_days: Option<i64>,
    /// 1 to 100 characters; default none.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F]*$"
    )]
    pub segment: Option<String>,
    /// A BCP 47 tag: language, optional script and region (`de`, `pt-BR`,
    /// `zh-Hant-TW`); default none.
    #[schema(pattern = "^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$")]
    pub language: Option<String>,
}

/// An optional JSON Schema `integer`: any number without a fraction, so
/// `30.0` too (Schemathesis sends such; serde's i64 alone refuses them).
fn json_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(serde::de::Error::custom(format!(
            "invalid value: {n}, expected a whole number"
        ))),
    }
}

/// The list's query (documentation; the handler parses the raw query so
/// that a refusal names its parameter).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}\\.[0-9]{1,18}$")]
    pub starting_after: Option<String>,
    /// Only customers whose `updated_at` is at or after this instant (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn matches_external_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
}

/// The `{external_id}` of the path, checked against `EXTERNAL_ID_PATTERN`;
/// a path that does not decode (bad percent-encoding) is refused alike, in
/// the API's shape rather than axum's plain text.
pub struct ExternalId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ExternalId {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiFailure> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) if matches_external_id(&id) => Ok(ExternalId(id)),
            _ => Err(ApiFailure::invalid(
                "invalid_value",
                Some("external_id"),
                format!("external_id must match {EXTERNAL_ID_PATTERN}."),
            )),
        }
    }
}

/// `LANGUAGE_PATTERN`, and the tag in canonical case (`zh-hant-tw` ->
/// `zh-Hant-TW`).
fn canonical_language(tag: &str) -> Option<String> {
    let parts: Vec<&str> = tag.split('-').collect();
    let alpha = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
    };
    let (lang, rest) = parts.split_first()?;
    if !alpha(lang, 2..=3) {
        return None;
    }
    let mut out = lang.to_ascii_lowercase();
    let mut rest = rest.iter().peekable();
    if let Some(script) = rest.peek().filter(|s| alpha(s, 4..=4)) {
        out.push('-');
        out.push_str(&script[..1].to_ascii_uppercase());
        out.push_str(&script[1..].to_ascii_lowercase());
        rest.next();
    }
    if let Some(region) = rest.next() {
        if alpha(region, 2..=2) {
            out.push('-');
            out.push_str(&region.to_ascii_uppercase());
        } else if region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit()) {
            out.push('-');
            out.push_str(region);
        } else {
            return None;
        }
    }
    rest.next().is_none().then_some(out)
}

/// U+0000–U+001F and U+007F: the characters the text patterns exclude.
fn is_control(c: char) -> bool {
    c <= '\u{1F}' || c == '\u{7F}'
}

fn validate(body: CustomerUpsert) -> Result<CustomerInput, ApiFailure> {
    // NAME_PATTERN: no control character, and one that is not a space either.
    let name_ok = (1..=NAME_MAX).contains(&chars(&body.name))
        && !body.name.chars().any(is_control)
        && body.name.chars().any(|c| c != ' ');
    if !name_ok {
        return Err(ApiFailure::invalid(
            "invalid_value",
            Some("name"),
            format!("name must be 1 to {NAME_MAX} characters without control characters, not only spaces."),
        ));
    }
    let b = body.currency.as_bytes();
    if !(b.len() == 3 && b.iter().all(u8::is_ascii_uppercase)) {
        return Err(ApiFailure::invalid(
            "invalid_value",
            Some("currency"),
            "currency must be an ISO 4217 code in upper case, e.g. EUR.",
        ));
    }
    let terms = body.payment_terms_days.unwrap_or(DEFAULT_TERMS);
    if !(0..=TERMS_MAX).contains(&terms) {
        return Err(ApiFailure::invalid(
            "invalid_value",
            Some("payment_terms_days"),
            format!("payment_terms_days must be 0 to {TERMS_MAX}."),
        ));
    }
    if let Some(segment) = &body.segment {
        if !(1..=SEGMENT_MAX).contains(&chars(segment)) || segment.chars().any(is_control) {
            return Err(ApiFailure::invalid(
                "invalid_value",
                Some("segment"),
                format!("segment must be 1 to {SEGMENT_MAX} characters without control characters (or null)."),
            ));
        }
    }
    let language = match &body.language {
        None => None,
        Some(tag) => Some(canonical_language(tag).ok_or_else(|| {
            ApiFailure::invalid(
                "invalid_value",
                Some("language"),
                "language must be a BCP 47 tag: language, optional script and region, e.g. de, pt-BR, zh-Hant-TW.",
            )
        })?),
    };
    Ok(CustomerInput {
        name: body.name,
        currency: body.currency,
        payment_terms_days: terms,
        segment: body.segment,
        language,
    })
}

fn customer_json(c: &ApiCustomerRow) -> String {
    serde_json::to_string(&Customer::from(c.clone())).expect("a customer serializes")
}

/// Creates or replaces the customer with this ERP id.
#[utoipa::path(
    put,
    path = "/customers/{external_id}",
    tag = "customers",
    operation_id = "upsert_customer",
    params(
        ("external_id" = String, Path, description = "The ERP's id of the customer",
            min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"),
        ("Idempotency-Key" = String, Header,
            description = "Required on every write. A retry with the same key and the same request gets the stored answer; the same key with another request gets 409. Kept 24 hours.",
            min_length = 1, max_length = 255),
    ),
    request_body(content = CustomerUpsert, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated (or already so)", body = Customer),
        (status = 201, description = "Created", body = Customer),
        (status = 400, description = "Invalid request; `param` names the field", body = ApiError),
        (status = 401, description = "No valid API key", body = ApiError),
        (status = 403, description = "The key may only read", body = ApiError),
        (status = 409, description = "Idempotency-Key used for another request, or a concurrent change", body = ApiError),
        (status = 413, description = "Body over 64 KB", body = ApiError),
        (status = 415, description = "Body not JSON", body = ApiError),
        (status = 429, description = "Over the key's rate limit", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn upsert_customer(
    State(state): State<ApiState>,
    Authenticated(key): Authenticated,
    method: Method,
    uri: Uri,
    ExternalId(external_id): ExternalId,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    body: JsonBody<CustomerUpsert>,
) -> Result<Response, ApiFailure> {
    if !key.scopes.can_write() {
        return Err(ApiFailure::from(portal_core::ServiceError::Forbidden(
            "This API key may only read. Use a key with the write scope.".into(),
        )));
    }
    let input = validate(body.value)?;
    let request = IdempotentRequest {
        key: idempotency_key,
        fingerprint: request_fingerprint(method.as_str(), uri.path(), &body.bytes),
    };
    let outcome = state
        .services
        .api_upsert_customer(&key, &request, &external_id, input, |done| StoredAnswer {
            status: if done.created { 201 } else { 200 },
            body: customer_json(&done.customer),
        })
        .await?;
    match outcome {
        IdempotentOutcome::Done(answer) => Ok(stored(answer, false)),
        IdempotentOutcome::Replayed(answer) => Ok(stored(answer, true)),
        IdempotentOutcome::KeyReused => Err(ApiFailure::idempotency_key_reused()),
    }
}

fn stored(answer: StoredAnswer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = json_response(status, answer.body);
    if replayed {
        // Stripe's header: this is the stored answer of an earlier request.
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

/// One customer by the ERP's id.
#[utoipa::path(
    get,
    path = "/customers/{external_id}",
    tag = "customers",
    operation_id = "get_customer",
    params(
        ("external_id" = String, Path, description = "The ERP's id of the customer",
            min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"),
    ),
    responses(
        (status = 200, description = "The customer", body = Customer),
        (status = 400, description = "Invalid external_id", body = ApiError),
        (status = 401, description = "No valid API key", body = ApiError),
        (status = 404, description = "No customer with this external_id", body = ApiError),
        (status = 429, description = "Over the key's rate limit", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn get_customer(
    State(state): State<ApiState>,
    Authenticated(_key): Authenticated,
    ExternalId(external_id): ExternalId,
) -> Result<Response, ApiFailure> {
    let customer = state
        .services
        .api_customer(&external_id)
        .await
        .map_err(|e| match e {
            portal_core::ServiceError::NotFound => {
                ApiFailure::not_found("No customer with this external_id.")
            }
            other => other.into(),
        })?;
    Ok(json_response(StatusCode::OK, customer_json(&customer)))
}

/// Customers in change order: each page continues after the last, and a
/// customer changed while a client pages moves to the end (it shows again,
/// at its new version). See docs/ARCHITECTURE.md, "Seller API (issue 14)".
#[utoipa::path(
    get,
    path = "/customers",
    tag = "customers",
    operation_id = "list_customers",
    params(ListParams),
    responses(
        (status = 200, description = "One page, in change order", body = CustomerList),
        (status = 400, description = "Invalid parameter; `param` names it", body = ApiError),
        (status = 401, description = "No valid API key", body = ApiError),
        (status = 429, description = "Over the key's rate limit", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn list_customers(
    State(state): State<ApiState>,
    Authenticated(_key): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiFailure> {
    let mut limit = DEFAULT_LIMIT;
    let mut after = None;
    let mut updated_since = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=LIMIT_MAX).contains(n))
                    .ok_or_else(|| {
                        ApiFailure::invalid(
                            "invalid_value",
                            Some("limit"),
                            format!("limit must be a whole number from 1 to {LIMIT_MAX}."),
                        )
                    })?
            }
            "starting_after" => after = Some(parse_cursor(&value)?),
            "updated_since" => {
                updated_since = Some(
                    DateTime::parse_from_rfc3339(&value)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| {
                            ApiFailure::invalid(
                            "invalid_value",
                            Some("updated_since"),
                            "updated_since must be an RFC 3339 instant, e.g. 2026-12-01T00:00:00Z.",
                        )
                        })?,
                )
            }
            // Other parameters are ignored, as the document does not forbid them.
            _ => {}
        }
    }
    let page = state
        .services
        .api_customers_page(after, updated_since, limit)
        .await?;
    let list = CustomerList {
        data: page.data.into_iter().map(Customer::from).collect(),
        has_more: page.has_more,
        next_cursor: page
            .next
            .map(|c| format!("{}.{}", c.change_seq, c.customer_id)),
    };
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_string(&list).expect("a page serializes"),
    ))
}

fn parse_cursor(text: &str) -> Result<ChangeCursor, ApiFailure> {
    let bad = || {
        ApiFailure::invalid(
            "invalid_value",
            Some("starting_after"),
            "starting_after must be the next_cursor of a page.",
        )
    };
    let (seq, id) = text.split_once('.').ok_or_else(bad)?;
    let number = |s: &str| (1..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !(number(seq) && number(id)) {
        return Err(bad());
    }
    Ok(ChangeCursor {
        change_seq: seq.parse().map_err(|_| bad())?,
        customer_id: id.parse().map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_follow_the_pattern_in_canonical_case() {
        assert_eq!(canonical_language("de").as_deref(), Some("de"));
        assert_eq!(canonical_language("PT-br").as_deref(), Some("pt-BR"));
        assert_eq!(
            canonical_language("zh-hant-tw").as_deref(),
            Some("zh-Hant-TW")
        );
        assert_eq!(canonical_language("es-419").as_deref(), Some("es-419"));
        for bad in [
            "",
            "d",
            "deutsch",
            "de-",
            "de-DE-x",
            "de-1234",
            "zh-Hant-TW-x",
            "de_DE",
        ] {
            assert_eq!(canonical_language(bad), None, "{bad}");
        }
    }

    #[test]
    fn external_ids_follow_the_pattern() {
        for ok in ["A", "demo-northwind", "ERP:42.x_1", &"a".repeat(100)] {
            assert!(matches_external_id(ok), "{ok}");
        }
        for bad in ["", ".", "-a", "a/b", "a b", "é", &"a".repeat(101)] {
            assert!(!matches_external_id(bad), "{bad}");
        }
    }

    #[test]
    fn cursors_read_back() {
        assert_eq!(
            parse_cursor("12.7").unwrap(),
            ChangeCursor {
                change_seq: 12,
                customer_id: 7
            }
        );
        for bad in ["", "12", "a.b", "1.2.3", "1234567890123456789.1", "-1.2"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
