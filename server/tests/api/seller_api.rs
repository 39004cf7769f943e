//! The seller API (issue 14): keys, the error shape, idempotent writes,
//! customers' upsert and change-order paging, the per-key rate limit, and
//! the committed OpenAPI document.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use portal_core::services::api_keys::{ApiScopes, KeyManager};
use portal_core::ServiceError;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, staff_id, AppOptions, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    requests_without_a_valid_key_get_401_in_the_error_shape,
    a_read_only_key_cannot_write,
    keys_are_for_ar_admins_and_the_audit_log_never_holds_the_secret,
    last_use_is_written_at_most_once_a_minute,
    upsert_creates_then_updates_one_customer,
    a_retried_write_gets_the_stored_answer_and_another_body_gets_409,
    concurrent_writes_with_one_idempotency_key_write_once,
    paging_with_a_concurrent_writer_misses_no_customer_and_repeats_no_version,
    a_key_over_its_rate_limit_gets_429_with_retry_after,
    the_cli_creates_lists_and_revokes_keys,
    invalid_bodies_and_parameters_get_400_naming_the_field,
);

async fn key(app: &TestApp, scopes: ApiScopes) -> String {
    app.services
        .create_api_key(KeyManager::Operator, "test", scopes)
        .await
        .unwrap()
        .secret
}

fn v1(app: &TestApp, path: &str) -> String {
    app.url(&format!("/api/v1{path}"))
}

async fn put(app: &TestApp, key: &str, path: &str, idem: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(v1(app, path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .get(v1(app, path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

/// The status, and the body as JSON after checking it is one.
async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every API answer is JSON (status {status})"
    );
    (status, response.json().await.unwrap())
}

/// An error answer in the one shape: its code and param.
fn error_of(body: &Value) -> (String, Option<String>) {
    let error = &body["error"];
    let keys: HashSet<&str> = error
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["type", "code", "param", "message"]),
        "{body}"
    );
    assert!(!error["message"].as_str().unwrap().is_empty());
    (
        error["code"].as_str().unwrap().to_owned(),
        error["param"].as_str().map(str::to_owned),
    )
}

async fn customer_count(app: &TestApp, external_id: &str) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM customers WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn requests_without_a_valid_key_get_401_in_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) =
        json_of(app.client.get(v1(&app, "/customers")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(error_of(&body).0, "invalid_api_key");

    let live = key(&app, ApiScopes::Read).await;
    for bad in [
        "pk_not-a-key".to_owned(),
        format!("pk_{}", "A".repeat(43)),
        live.trim_start_matches("pk_").to_owned(),
    ] {
        let (status, body) = json_of(get(&app, &bad, "/customers").await).await;
        assert_eq!(
            (status, error_of(&body).0.as_str()),
            (401, "invalid_api_key")
        );
    }
    // A session-less cross-site write is not refused by the pages'
    // same-origin layer, but by the key.
    let response = app
        .client
        .put(v1(&app, "/customers/C-1"))
        .header("origin", "https://evil.example")
        .header("idempotency-key", "k")
        .json(&json!({"name": "x", "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(response).await.0, 401);

    assert_eq!(get(&app, &live, "/customers").await.status(), 200);
    let (created, revoked) = {
        let keys = app
            .services
            .list_api_keys(KeyManager::Operator)
            .await
            .unwrap();
        (keys.len(), keys[0].api_key_id)
    };
    assert_eq!(created, 1);
    app.services
        .revoke_api_key(KeyManager::Operator, revoked)
        .await
        .unwrap();
    let (status, body) = json_of(get(&app, &live, "/customers").await).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (401, "invalid_api_key")
    );

    // Unknown paths under /api/v1 answer in the same shape, without a key;
    // the document is served without a key.
    let (status, body) = json_of(app.client.get(v1(&app, "/nope")).send().await.unwrap()).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (404, "resource_missing")
    );
    let response = app
        .client
        .delete(v1(&app, "/customers/C-1"))
        .bearer_auth(&live)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (405, "method_not_allowed")
    );
    let (status, doc) = json_of(
        app.client
            .get(v1(&app, "/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
}

async fn a_read_only_key_cannot_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let read = key(&app, ApiScopes::Read).await;
    let body = json!({"name": "Read Only Ltd", "currency": "EUR"});
    let (status, answer) = json_of(put(&app, &read, "/customers/RO-1", "k1", &body).await).await;
    assert_eq!(status, 403);
    assert_eq!(answer["error"]["type"], "permission_error");
    assert_eq!(error_of(&answer).0, "insufficient_scope");
    assert_eq!(customer_count(&app, "RO-1").await, 0);
    // The same key reads.
    assert_eq!(get(&app, &read, "/customers?limit=1").await.status(), 200);
}

async fn keys_are_for_ar_admins_and_the_audit_log_never_holds_the_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = staff_id(&app, "ar@seller.example").await;
    let agent = staff_id(&app, "agent@seller.example").await;
    let refused = app
        .services
        .create_api_key(KeyManager::Staff(agent), "ERP", ApiScopes::ReadWrite)
        .await;
    assert!(
        matches!(refused, Err(ServiceError::Forbidden(_))),
        "{refused:?}"
    );
    assert!(matches!(
        app.services.list_api_keys(KeyManager::Staff(agent)).await,
        Err(ServiceError::Forbidden(_))
    ));
    let created = app
        .services
        .create_api_key(
            KeyManager::Staff(admin),
            "  ERP sync ",
            ApiScopes::ReadWrite,
        )
        .await
        .unwrap();
    assert!(created.secret.starts_with("pk_") && created.secret.len() == 46);
    assert!(created.secret.starts_with(&created.key.prefix));
    assert_eq!(created.key.name, "ERP sync");
    assert_eq!(created.key.created_by_staff_id, Some(admin));
    assert!(matches!(
        app.services
            .revoke_api_key(KeyManager::Staff(agent), created.key.api_key_id)
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    let revoked = app
        .services
        .revoke_api_key(KeyManager::Staff(admin), created.key.api_key_id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    // Revoking again changes nothing and logs nothing.
    app.services
        .revoke_api_key(KeyManager::Staff(admin), created.key.api_key_id)
        .await
        .unwrap();
    assert!(matches!(
        app.services
            .revoke_api_key(KeyManager::Staff(admin), 999_999)
            .await,
        Err(ServiceError::NotFound)
    ));

    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT action, detail, actor_id FROM audit_events WHERE subject = $1 ORDER BY audit_event_id",
    )
    .bind(format!("api_key:{}", created.key.api_key_id))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, ["api_key.created", "api_key.revoked"]);
    for (_, detail, actor) in &rows {
        assert_eq!(*actor, Some(admin));
        assert!(detail.contains("ERP sync"));
        let secret_part = created.secret.trim_start_matches("pk_");
        assert!(
            !detail.contains(secret_part),
            "the secret is in the log: {detail}"
        );
    }
    let stored_hash: String =
        sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE api_key_id = $1")
            .bind(created.key.api_key_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert!(!stored_hash.contains(created.secret.trim_start_matches("pk_")));
    assert_eq!(stored_hash.len(), 64);
}

async fn last_use_is_written_at_most_once_a_minute(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = key(&app, ApiScopes::Read).await;
    let first = app
        .services
        .authenticate_api_key(&secret)
        .await
        .unwrap()
        .unwrap();
    let t0 = first.last_used_at.expect("the first use is recorded");
    app.clock.advance(chrono::Duration::seconds(30));
    let again = app
        .services
        .authenticate_api_key(&secret)
        .await
        .unwrap()
        .unwrap();
    app.clock.advance(chrono::Duration::seconds(1));
    let listed = &app
        .services
        .list_api_keys(KeyManager::Operator)
        .await
        .unwrap()[0];
    assert_eq!(
        (again.last_used_at, listed.last_used_at),
        (Some(t0), Some(t0))
    );
    app.clock.advance(chrono::Duration::seconds(31));
    app.services
        .authenticate_api_key(&secret)
        .await
        .unwrap()
        .unwrap();
    let listed = &app
        .services
        .list_api_keys(KeyManager::Operator)
        .await
        .unwrap()[0];
    assert_eq!(
        listed.last_used_at,
        Some(t0 + chrono::Duration::seconds(62))
    );
}

async fn upsert_creates_then_updates_one_customer(backend: Backend) {
    let app = spawn_app(backend).await;
    let rw = key(&app, ApiScopes::ReadWrite).await;
    let body = json!({"name": "Globex GmbH", "currency": "EUR", "language": "DE-at"});
    let (status, created) = json_of(put(&app, &rw, "/customers/ERP-42", "a", &body).await).await;
    assert_eq!(status, 201);
    assert_eq!(created["external_id"], "ERP-42");
    assert_eq!(created["payment_terms_days"], 30);
    assert_eq!(created["language"], "de-AT");
    assert_eq!(created["segment"], Value::Null);
    assert_eq!(created["created_at"], created["updated_at"]);

    app.clock.advance(chrono::Duration::minutes(5));
    let body = json!({"name": "Globex AG", "currency": "CHF", "payment_terms_days": 45.0, "segment": "enterprise"});
    let (status, updated) = json_of(put(&app, &rw, "/customers/ERP-42", "b", &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(
        (
            &updated["name"],
            &updated["currency"],
            &updated["payment_terms_days"]
        ),
        (&json!("Globex AG"), &json!("CHF"), &json!(45))
    );
    // PUT replaces: the language not sent is cleared.
    assert_eq!(updated["language"], Value::Null);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_ne!(updated["updated_at"], created["updated_at"]);
    assert_eq!(customer_count(&app, "ERP-42").await, 1);

    let (status, read) = json_of(get(&app, &rw, "/customers/ERP-42").await).await;
    assert_eq!((status, &read), (200, &updated));
    // The same fields again: 200, nothing changes (same updated_at).
    app.clock.advance(chrono::Duration::minutes(5));
    let (status, same) = json_of(put(&app, &rw, "/customers/ERP-42", "c", &body).await).await;
    assert_eq!((status, &same), (200, &updated));

    let (status, missing) = json_of(get(&app, &rw, "/customers/ERP-43").await).await;
    assert_eq!(
        (status, error_of(&missing).0.as_str()),
        (404, "resource_missing")
    );
}

async fn idempotency_records(app: &TestApp) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM api_idempotency")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn a_retried_write_gets_the_stored_answer_and_another_body_gets_409(backend: Backend) {
    let app = spawn_app(backend).await;
    let rw = key(&app, ApiScopes::ReadWrite).await;
    let body = json!({"name": "Initech", "currency": "USD"});
    let first = put(&app, &rw, "/customers/INI-1", "retry-me", &body).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, answer) = json_of(first).await;
    assert_eq!(status, 201);

    app.clock.advance(chrono::Duration::hours(1));
    let retry = put(&app, &rw, "/customers/INI-1", "retry-me", &body).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    // The stored answer: 201 again (not 200 "updated"), byte for byte.
    assert_eq!(json_of(retry).await, (201, answer.clone()));
    assert_eq!(customer_count(&app, "INI-1").await, 1);
    assert_eq!(idempotency_records(&app).await, 1);

    let other = json!({"name": "Initrode", "currency": "USD"});
    let (status, refused) =
        json_of(put(&app, &rw, "/customers/INI-1", "retry-me", &other).await).await;
    assert_eq!(status, 409);
    assert_eq!(refused["error"]["type"], "idempotency_error");
    assert_eq!(
        error_of(&refused),
        (
            "idempotency_key_reused".into(),
            Some("Idempotency-Key".into())
        )
    );
    // Another path with the same key and body is another request too.
    let (status, _) = json_of(put(&app, &rw, "/customers/INI-2", "retry-me", &body).await).await;
    assert_eq!(status, 409);
    assert_eq!(customer_count(&app, "INI-2").await, 0);
    let (_, read) = json_of(get(&app, &rw, "/customers/INI-1").await).await;
    assert_eq!(read["name"], "Initech");
    assert_eq!(idempotency_records(&app).await, 1);

    // Another key's Idempotency-Key space is its own.
    let rw2 = key(&app, ApiScopes::ReadWrite).await;
    let (status, _) = json_of(put(&app, &rw2, "/customers/INI-1", "retry-me", &other).await).await;
    assert_eq!(status, 200);

    // After 24 hours the key is forgotten: the same key runs anew.
    app.clock.advance(chrono::Duration::hours(24));
    let (status, again) =
        json_of(put(&app, &rw, "/customers/INI-1", "retry-me", &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(again["name"], "Initech");
    assert_eq!(idempotency_records(&app).await, 2);

    // A write without an Idempotency-Key is refused, naming the header.
    let response = app
        .client
        .put(v1(&app, "/customers/INI-9"))
        .bearer_auth(&rw)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, refused) = json_of(response).await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&refused).1.as_deref(), Some("Idempotency-Key"));
}

async fn concurrent_writes_with_one_idempotency_key_write_once(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let rw = key(&app, ApiScopes::ReadWrite).await;
    let body = json!({"name": "Concurrent Co", "currency": "EUR"});
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, rw, body) = (app.clone(), rw.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            json_of(put(&app, &rw, "/customers/CC-1", "same-key", &body).await).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    // One ran (201); the others waited for it and replayed its answer.
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 201);
    assert_eq!(customer_count(&app, "CC-1").await, 1);
    assert_eq!(idempotency_records(&app).await, 1);
}

/// Every customer that existed before the listing started appears, and no
/// customer appears twice at the same version (a customer changed during
/// the listing moves to the end of the change order and appears again,
/// at its new version: that is not a repeat). The writer inserts and
/// renames customers between every two pages, three at a time.
async fn paging_with_a_concurrent_writer_misses_no_customer_and_repeats_no_version(
    backend: Backend,
) {
    let app = Arc::new(
        spawn_app_with(AppOptions {
            env: vec![
                ("PORTAL_API_RATE_PER_SECOND", "100000".into()),
                ("PORTAL_API_RATE_BURST", "100000".into()),
            ],
            ..AppOptions::new(backend)
        })
        .await,
    );
    let rw = key(&app, ApiScopes::ReadWrite).await;
    for i in 0..40 {
        let body = json!({"name": format!("Pre {i} v0"), "currency": "EUR"});
        let (status, _) = json_of(
            put(
                &app,
                &rw,
                &format!("/customers/PRE-{i}"),
                &format!("pre-{i}"),
                &body,
            )
            .await,
        )
        .await;
        assert_eq!(status, 201);
    }
    let before: HashSet<i64> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT customer_id FROM customers")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .into_iter()
            .collect()
    };
    assert!(before.len() >= 40);

    // Bounded, so the reader (7 rows a page) overtakes the writer's new
    // rows at the end and the listing ends.
    const WRITES: usize = 120;
    let writes = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicUsize::new(0));
    // Three writers at once, so their transactions interleave (the case
    // where a plain sequence or a timestamp would let a reader skip).
    let mut writers = Vec::new();
    for w in 0..3usize {
        let (app, rw, writes, stop) = (app.clone(), rw.clone(), writes.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = w;
            while stop.load(Ordering::SeqCst) == 0 && writes.load(Ordering::SeqCst) < WRITES {
                n += 3;
                // Alternately a new customer, and a new version of an old one
                // (spread over those the reader has passed and not yet reached).
                let (path, name) = if n % 2 == 0 {
                    (format!("/customers/NEW-{n}"), format!("New {n}"))
                } else {
                    let i = (n * 7) % 40;
                    (format!("/customers/PRE-{i}"), format!("Pre {i} v{n}"))
                };
                let body = json!({"name": name, "currency": "EUR"});
                let status = put(&app, &rw, &path, &format!("w-{n}"), &body)
                    .await
                    .status();
                assert!(status.is_success(), "{status}");
                writes.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    let mut seen: HashMap<(i64, String), usize> = HashMap::new();
    let mut ids_seen: HashSet<i64> = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut writes_during = 0;
    loop {
        // Let the writer write between every two pages.
        let at = writes.load(Ordering::SeqCst);
        if at < WRITES {
            while writes.load(Ordering::SeqCst) == at {
                tokio::task::yield_now().await;
            }
            writes_during += 1;
        }
        let path = match &cursor {
            Some(c) => format!("/customers?limit=7&starting_after={c}"),
            None => "/customers?limit=7".to_owned(),
        };
        let (status, page) = json_of(get(&app, &rw, &path).await).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 7);
        for c in data {
            let id = c["id"].as_i64().unwrap();
            ids_seen.insert(id);
            *seen
                .entry((id, c["name"].as_str().unwrap().to_owned()))
                .or_default() += 1;
        }
        let next = page["next_cursor"].as_str().map(str::to_owned);
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        assert!(next.is_some() && next != cursor, "the cursor moves on");
        cursor = next;
        assert!(pages < 1_000, "the listing never ends");
    }
    stop.store(1, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }

    assert!(pages >= 6, "{pages} pages");
    assert!(writes_during >= 6);
    let missing: Vec<&i64> = before.difference(&ids_seen).collect();
    assert!(missing.is_empty(), "customers skipped: {missing:?}");
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "a version listed twice: {repeated:?}");
    // The writers' changes did reach the listing: some customer the reader
    // had passed came again at its new version.
    let mut versions: HashMap<i64, usize> = HashMap::new();
    for (id, _) in seen.keys() {
        *versions.entry(*id).or_default() += 1;
    }
    assert!(
        versions.values().any(|n| *n > 1),
        "no customer moved during the listing"
    );
}

async fn a_key_over_its_rate_limit_gets_429_with_retry_after(backend: Backend) {
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("PORTAL_API_RATE_PER_SECOND", "1".into()),
            ("PORTAL_API_RATE_BURST", "3".into()),
        ],
        ..AppOptions::new(backend)
    })
    .await;
    let limited = key(&app, ApiScopes::Read).await;
    let other = key(&app, ApiScopes::Read).await;
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..5 {
        let response = get(&app, &limited, "/customers?limit=1").await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            refusal = Some((retry, json_of(response).await.1));
        }
    }
    // The burst of 3 passes at once; then one per second.
    assert_eq!(&statuses[..3], [200, 200, 200]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let (retry, body) = refusal.unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(error_of(&body).0, "rate_limited");
    // The limit is per key.
    assert_eq!(get(&app, &other, "/customers?limit=1").await.status(), 200);
}

async fn invalid_bodies_and_parameters_get_400_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let rw = key(&app, ApiScopes::ReadWrite).await;
    let cases = [
        (
            json!({"name": "X", "currency": "EUR", "payment_terms_days": 30.5}),
            "payment_terms_days",
            "invalid_value",
        ),
        (
            json!({"name": "Nul\u{0}Ltd", "currency": "EUR"}),
            "name",
            "invalid_value",
        ),
        (
            json!({"name": "Tab\tLtd", "currency": "EUR"}),
            "name",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "EUR", "segment": "a\u{0}"}),
            "segment",
            "invalid_value",
        ),
        (json!({"currency": "EUR"}), "name", "missing_field"),
        (
            json!({"name": "", "currency": "EUR"}),
            "name",
            "invalid_value",
        ),
        (
            json!({"name": " \t ", "currency": "EUR"}),
            "name",
            "invalid_value",
        ),
        (
            json!({"name": "x".repeat(201), "currency": "EUR"}),
            "name",
            "invalid_value",
        ),
        (
            json!({"name": 7, "currency": "EUR"}),
            "name",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "eur"}),
            "currency",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "EUR", "payment_terms_days": 366}),
            "payment_terms_days",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "EUR", "payment_terms_days": "30"}),
            "payment_terms_days",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "EUR", "segment": ""}),
            "segment",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "EUR", "language": "deutsch"}),
            "language",
            "invalid_value",
        ),
        (
            json!({"name": "X", "currency": "EUR", "colour": "red"}),
            "colour",
            "unknown_field",
        ),
    ];
    for (i, (body, param, code)) in cases.iter().enumerate() {
        let (status, answer) =
            json_of(put(&app, &rw, "/customers/BAD-1", &format!("bad-{i}"), body).await).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error");
        assert_eq!(
            error_of(&answer),
            (code.to_string(), Some(param.to_string())),
            "{body}"
        );
    }
    let response = app
        .client
        .put(v1(&app, "/customers/BAD-1"))
        .bearer_auth(&rw)
        .header("idempotency-key", "syntax")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(
        (status, error_of(&answer)),
        (400, ("invalid_json".into(), None))
    );
    assert_eq!(customer_count(&app, "BAD-1").await, 0);
    // Refused requests are not remembered: the key runs a good body.
    let good = json!({"name": "Good", "currency": "EUR"});
    let (status, _) = json_of(put(&app, &rw, "/customers/BAD-1", "bad-0", &good).await).await;
    assert_eq!(status, 201);

    for bad in ["/customers/-x", "/customers/a%20b", "/customers/%FF"] {
        let (status, answer) = json_of(put(&app, &rw, bad, "p", &good).await).await;
        assert_eq!(
            (status, error_of(&answer).1.as_deref()),
            (400, Some("external_id")),
            "{bad}"
        );
    }
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("starting_after=abc", "starting_after"),
        ("updated_since=yesterday", "updated_since"),
    ] {
        let (status, answer) = json_of(get(&app, &rw, &format!("/customers?{query}")).await).await;
        assert_eq!(
            (status, error_of(&answer).1.as_deref()),
            (400, Some(param)),
            "{query}"
        );
    }
    // updated_since filters by updated_at.
    app.clock.advance(chrono::Duration::days(1));
    let since = app
        .clock
        .now_for_tests()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, _) = json_of(put(&app, &rw, "/customers/LATE-1", "late", &good).await).await;
    assert_eq!(status, 201);
    let (status, page) =
        json_of(get(&app, &rw, &format!("/customers?updated_since={since}")).await).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["LATE-1"]);
}

/// docs/openapi.json is the generated document; PORTAL_UPDATE_OPENAPI=1
/// rewrites it.
#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let generated = server::api::openapi_json();
    if std::env::var("PORTAL_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the generated document: run \
         `PORTAL_UPDATE_OPENAPI=1 cargo test -p server --test api the_committed_openapi` and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let upsert = &doc["paths"]["/api/v1/customers/{external_id}"]["put"];
    for status in ["200", "201", "400", "401", "403", "409", "429"] {
        assert!(
            upsert["responses"][status].is_object(),
            "PUT documents {status}"
        );
    }
    let schema = &doc["components"]["schemas"]["CustomerUpsert"];
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["name"]["maxLength"], 200);
    assert_eq!(schema["properties"]["payment_terms_days"]["maximum"], 365);
}

async fn the_cli_creates_lists_and_revokes_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let portal = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portal"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "error")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let secret = portal(&[
        "api-key",
        "create",
        "--name",
        "CI",
        "--scopes",
        "read,write",
    ]);
    let secret = secret.trim();
    assert!(secret.starts_with("pk_") && secret.len() == 46, "{secret}");
    let body = json!({"name": "From CI", "currency": "EUR"});
    assert_eq!(
        put(&app, secret, "/customers/CI-1", "ci", &body)
            .await
            .status(),
        201
    );

    let list = portal(&["api-key", "list"]);
    assert!(
        list.contains("CI") && list.contains(&secret[..11]),
        "{list}"
    );
    assert!(
        !list.contains(&secret[11..]),
        "the list shows the secret: {list}"
    );
    let id = list.split('\t').next().unwrap();
    portal(&["api-key", "revoke", "--id", id]);
    assert_eq!(get(&app, secret, "/customers").await.status(), 401);

    assert_eq!(portal(&["openapi"]), server::api::openapi_json());
}
