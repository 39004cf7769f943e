//! A local fake of the parts of Stripe's HTTP API the portal calls. It
//! answers with the object shapes of Stripe's own fixtures
//! (tests/fixtures/stripe/fixtures3_subset.json, ids and amounts replaced),
//! honours Idempotency-Key like Stripe (same key, same answer), and records
//! every request so tests can check what the adapter sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

const FIXTURES: &str = include_str!("../../../tests/fixtures/stripe/fixtures3_subset.json");

fn fixture(resource: &str) -> Value {
    let all: Value = serde_json::from_str(FIXTURES).unwrap();
    all["resources"][resource].clone()
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    sessions: HashMap<String, Value>,
    by_idempotency_key: HashMap<String, Value>,
    events: Vec<Value>,
    next: u64,
    /// Off-session PaymentIntents by Idempotency-Key: (HTTP status, body).
    intents_by_key: HashMap<String, (u16, Value)>,
    /// Answer the next `POST /v1/payment_intents` with a 500 (before
    /// anything is created or saved under its key, as a failing proxy or
    /// an outage in front of the API would).
    fail_next_intent: bool,
    /// Intents actually created (idempotent replays not counted).
    intents_created: usize,
}

#[derive(Clone, Default)]
pub struct FakeStripe {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeStripe {
            base: format!(
                "http://127.0.0.1:{}/",
                listener.local_addr().unwrap().port()
            ),
            ..Default::default()
        };
        let app = Router::new()
            .route("/v1/customers", post(create_customer))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(retrieve_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/events", get(list_events))
            .route("/v1/payment_intents", post(create_intent))
            .route(
                "/v1/payment_methods/{id}/detach",
                post(detach_payment_method),
            )
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    pub fn requests(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.inner
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .cloned()
            .collect()
    }

    /// The next `POST /v1/payment_intents` answers 500 once.
    pub fn fail_next_intent(&self) {
        self.inner.lock().unwrap().fail_next_intent = true;
    }

    /// PaymentIntents created (a replay of a key creates none).
    pub fn intents_created(&self) -> usize {
        self.inner.lock().unwrap().intents_created
    }

    /// Completes a setup-mode session as Checkout would, saving a method
    /// of `pm_type` (`card` or `us_bank_account`) under `pm_id`.
    pub fn complete_setup(&self, id: &str, pm_id: &str, pm_type: &str) {
        let mut inner = self.inner.lock().unwrap();
        let session = inner.sessions.get_mut(id).unwrap();
        session["status"] = json!("complete");
        session["url"] = Value::Null;
        session["setup_intent"] = json!({
            "id": format!("seti_fake_{id}"),
            "object": "setup_intent",
            "status": "succeeded",
            "payment_method": payment_method(pm_id, pm_type),
        });
    }

    pub fn session(&self, id: &str) -> Value {
        self.inner.lock().unwrap().sessions[id].clone()
    }

    /// An event Stripe lists (and, in these tests, never delivers).
    pub fn add_event(&self, event: Value) {
        self.inner.lock().unwrap().events.push(event);
    }

    /// Marks a session complete as Checkout would, and queues the event
    /// Stripe would list (but, in these tests, never delivers).
    pub fn complete(&self, id: &str, payment_status: &str, created: i64) {
        let mut inner = self.inner.lock().unwrap();
        let session = inner.sessions.get_mut(id).unwrap();
        session["status"] = json!("complete");
        session["payment_status"] = json!(payment_status);
        session["payment_intent"] = json!(format!("pi_fake_{id}"));
        session["url"] = Value::Null;
        let mut event = fixture("event");
        event["id"] = json!(format!("evt_fake_{id}"));
        event["type"] = json!("checkout.session.completed");
        event["created"] = json!(created);
        event["data"] = json!({"object": session.clone()});
        inner.events.push(event);
    }
}

fn record(fake: &FakeStripe, method: &str, path: &str, headers: &HeaderMap, body: &[u8]) {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let form = url::form_urlencoded::parse(body).into_owned().collect();
    fake.inner.lock().unwrap().requests.push(Recorded {
        method: method.into(),
        path: path.into(),
        headers,
        form,
    });
}

fn idempotent(
    fake: &FakeStripe,
    headers: &HeaderMap,
    make: impl FnOnce(&mut Inner) -> Value,
) -> Value {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut inner = fake.inner.lock().unwrap();
    if let Some(answer) = key.as_ref().and_then(|k| inner.by_idempotency_key.get(k)) {
        return answer.clone();
    }
    inner.next += 1;
    let answer = make(&mut inner);
    if let Some(k) = key {
        inner.by_idempotency_key.insert(k, answer.clone());
    }
    answer
}

async fn create_customer(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    record(&fake, "POST", "/v1/customers", &headers, &body);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    Json(idempotent(&fake, &headers, |inner| {
        let mut customer = fixture("customer");
        customer["id"] = json!(format!("cus_fake_{}", inner.next));
        if let Some((_, email)) = form.iter().find(|(k, _)| k == "email") {
            customer["email"] = json!(email);
        }
        customer
    }))
}

async fn create_session(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    record(&fake, "POST", "/v1/checkout/sessions", &headers, &body);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Json(idempotent(&fake, &headers, |inner| {
        let id = format!("cs_fake_{}", inner.next);
        let total: i64 = form
            .iter()
            .filter(|(k, _)| k.ends_with("[price_data][unit_amount]"))
            .map(|(_, v)| v.parse::<i64>().unwrap())
            .sum();
        let mut session = fixture("checkout.session");
        session["id"] = json!(id);
        session["object"] = json!("checkout.session");
        session["amount_total"] = json!(total);
        session["amount_subtotal"] = json!(total);
        session["currency"] = json!(field("line_items[0][price_data][currency]"));
        session["customer"] = json!(field("customer"));
        session["metadata"] = json!({"portal_payment_id": field("metadata[portal_payment_id]")});
        session["mode"] = json!(field("mode").unwrap_or_else(|| "payment".into()));
        session["payment_intent"] = Value::Null;
        session["payment_status"] = json!("unpaid");
        session["status"] = json!("open");
        session["success_url"] = json!(field("success_url"));
        session["cancel_url"] = json!(field("cancel_url"));
        session["url"] = json!(format!("https://checkout.stripe.test/c/pay/{id}"));
        inner.sessions.insert(id, session.clone());
        session
    }))
}

async fn retrieve_session(State(fake): State<FakeStripe>, Path(id): Path<String>) -> Json<Value> {
    Json(fake.session(&id))
}

async fn expire_session(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Json<Value> {
    record(
        &fake,
        "POST",
        &format!("/v1/checkout/sessions/{id}/expire"),
        &headers,
        &body,
    );
    let mut inner = fake.inner.lock().unwrap();
    let session = inner.sessions.get_mut(&id).unwrap();
    session["status"] = json!("expired");
    session["url"] = Value::Null;
    Json(session.clone())
}

async fn list_events(State(fake): State<FakeStripe>) -> Json<Value> {
    let inner = fake.inner.lock().unwrap();
    // Newest first, as Stripe lists.
    let data: Vec<Value> = inner.events.iter().rev().cloned().collect();
    Json(json!({"object": "list", "url": "/v1/events", "has_more": false, "data": data}))
}

/// A `payment_method` object as Stripe's fixtures shape it.
fn payment_method(id: &str, pm_type: &str) -> Value {
    if pm_type == "us_bank_account" {
        json!({"id": id, "object": "payment_method", "type": "us_bank_account",
               "us_bank_account": {"bank_name": "STRIPE TEST BANK", "last4": "6789", "account_type": "checking"}})
    } else {
        json!({"id": id, "object": "payment_method", "type": "card",
               "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}})
    }
}

/// How the fake's test methods answer an off-session confirmation, after
/// Stripe's test payment methods: `pm_card_visa` succeeds,
/// `pm_card_chargeDeclinedStolenCard` (hard) and
/// `pm_card_chargeDeclinedInsufficientFunds` (soft) are declined, a
/// `pm_usBankAccount…` debit is processing.
fn confirmation(pm: &str) -> Result<&'static str, (&'static str, &'static str)> {
    if pm.contains("StolenCard") {
        Err(("stolen_card", "Your card was declined."))
    } else if pm.contains("InsufficientFunds") {
        Err(("insufficient_funds", "Your card has insufficient funds."))
    } else if pm.starts_with("pm_usBankAccount") {
        Ok("processing")
    } else {
        Ok("succeeded")
    }
}

async fn create_intent(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&fake, "POST", "/v1/payment_intents", &headers, &body);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut inner = fake.inner.lock().unwrap();
    if std::mem::take(&mut inner.fail_next_intent) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"type": "api_error", "message": "An unknown error occurred"}})),
        )
            .into_response();
    }
    if let Some((status, answer)) = key.as_ref().and_then(|k| inner.intents_by_key.get(k)) {
        return (StatusCode::from_u16(*status).unwrap(), Json(answer.clone())).into_response();
    }
    inner.next += 1;
    inner.intents_created += 1;
    let mut intent = fixture("payment_intent");
    intent["id"] = json!(format!("pi_fake_{}", inner.next));
    intent["amount"] = json!(field("amount").unwrap().parse::<i64>().unwrap());
    intent["currency"] = json!(field("currency"));
    intent["customer"] = json!(field("customer"));
    intent["payment_method"] = json!(field("payment_method"));
    intent["description"] = json!(field("description"));
    intent["receipt_email"] = json!(field("receipt_email"));
    intent["next_action"] = Value::Null;
    intent["canceled_at"] = Value::Null;
    intent["metadata"] = json!({
        "portal_payment_id": field("metadata[portal_payment_id]"),
        "portal_autopay_charge": field("metadata[portal_autopay_charge]"),
    });
    let (status, answer) = match confirmation(&field("payment_method").unwrap_or_default()) {
        Ok(status) => {
            intent["status"] = json!(status);
            intent["last_payment_error"] = Value::Null;
            (200, intent)
        }
        Err((decline_code, message)) => {
            let error = json!({"type": "card_error", "code": "card_declined",
                               "decline_code": decline_code, "message": message});
            intent["status"] = json!("requires_payment_method");
            intent["last_payment_error"] = error.clone();
            let mut error = error;
            error["payment_intent"] = intent;
            (402, json!({"error": error}))
        }
    };
    if let Some(k) = key {
        inner.intents_by_key.insert(k, (status, answer.clone()));
    }
    (StatusCode::from_u16(status).unwrap(), Json(answer)).into_response()
}

async fn detach_payment_method(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Json<Value> {
    record(
        &fake,
        "POST",
        &format!("/v1/payment_methods/{id}/detach"),
        &headers,
        &body,
    );
    let mut pm = payment_method(&id, "card");
    pm["customer"] = Value::Null;
    Json(pm)
}
