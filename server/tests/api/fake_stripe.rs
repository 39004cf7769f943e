//! A local fake of the parts of Stripe's HTTP API the portal calls. It
//! answers with the object shapes of Stripe's own fixtures
//! (tests/fixtures/stripe/fixtures3_subset.json, ids and amounts replaced),
//! honours Idempotency-Key like Stripe (same key, same answer), and records
//! every request so tests can check what the adapter sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
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
        session["mode"] = json!("payment");
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
