//! The webhook benchmark (docs/BENCHMARKS.md), not a test: ignored unless
//! asked for (`scripts/bench.sh webhooks`). Acknowledgement latency at 64
//! connections, then the time to apply 10,000 stored events.

use portal_core::services::payments::Payer;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{spawn_app_with, AppOptions, Backend};
use portal_core::payments::signature;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with scripts/bench.sh webhooks"]
async fn bench_webhook_acknowledgement_and_processing() {
    let backend = if std::env::var("BENCH_POSTGRES").as_deref() == Ok("1") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let mut options = AppOptions::new(backend);
    options.run_worker = false; // measure storing, then applying, apart
    let app = spawn_app_with(options).await;
    let secret = app.services.config.stripe_webhook_secret.clone();
    let total = 10_000usize;
    let connections = 64usize;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = reqwest::Client::new();
        let url = app.url("/webhooks/stripe");
        let secret = secret.clone();
        let now = app.clock.now_for_tests().timestamp();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (c..total).step_by(connections) {
                // Events of no portal payment: stored, then applied as "ignored".
                let body = json!({"id": format!("evt_bench_{n}"), "object": "event", "created": now,
                    "type": "checkout.session.completed",
                    "data": {"object": {"id": format!("cs_bench_{n}"), "object": "checkout.session", "payment_status": "paid", "metadata": {}}}})
                .to_string();
                let header = signature::sign(body.as_bytes(), &secret, now);
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .header("stripe-signature", header)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "BENCH webhook ack ({backend:?}, {connections} connections, {total} events): {:.0} events/s, p50 {:.1} ms, p99 {:.1} ms",
        total as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    let applied = app.services.process_all_due_events().await.unwrap();
    println!(
        "BENCH apply {applied} stored events ({backend:?}): {:.2} s ({:.0} events/s)",
        started.elapsed().as_secs_f64(),
        applied as f64 / started.elapsed().as_secs_f64()
    );
    assert_eq!(applied, total);

    // Events that move money: 10,000 one-cent card payments over the demo's
    // open invoices, each paid by its checkout.session.completed event
    // (payment, allocation, invoice cache, audit rows, receipt email).
    let customer_id = app.customer_id("Northwind Traders").await;
    let contact: i64 = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar(
            "SELECT contact_id FROM contacts WHERE email = 'payables@northwind.example'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap()
    };
    let invoices: Vec<i64> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar(
            "SELECT invoice_id FROM invoices WHERE customer_id = $1 AND currency = 'USD' AND balance_minor > 10000",
        )
        .bind(customer_id)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };
    let started = Instant::now();
    for n in 0..total {
        let draft = portal_core::services::payments::PaymentDraft {
            amounts: vec![(invoices[n % invoices.len()], "0.01".into())],
            credit_note_ids: vec![],
            method: "card".into(),
            receipt_email: "payables@northwind.example".into(),
        };
        app.services
            .start_payment(
                Payer::Contact(contact),
                customer_id,
                &draft,
                &format!("bench-attempt-{n:010}"),
                None,
            )
            .await
            .unwrap()
            .unwrap();
    }
    println!(
        "BENCH start {total} payments through the sandbox ({backend:?}): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let sessions: Vec<(i64, String)> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_as("SELECT payment_id, gateway_session_id FROM payments WHERE attempt_key LIKE 'bench-attempt-%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    let now = app.clock.now_for_tests().timestamp();
    for (payment_id, session_id) in &sessions {
        let body = json!({"id": format!("evt_pay_{payment_id}"), "object": "event", "created": now,
            "type": "checkout.session.completed",
            "data": {"object": {"id": session_id, "object": "checkout.session", "status": "complete",
                "payment_status": "paid", "payment_intent": format!("pi_bench_{payment_id}"),
                "metadata": {"portal_payment_id": payment_id.to_string()}}}})
        .to_string();
        let header = signature::sign(body.as_bytes(), &secret, now);
        app.services
            .receive_webhook(body.as_bytes(), Some(&header))
            .await
            .unwrap();
    }
    let started = Instant::now();
    let applied = app.services.process_all_due_events().await.unwrap();
    println!(
        "BENCH apply {applied} stored events that each pay a payment ({backend:?}): {:.2} s ({:.0} events/s)",
        started.elapsed().as_secs_f64(),
        applied as f64 / started.elapsed().as_secs_f64()
    );
    assert_eq!(applied, total);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE attempt_key LIKE 'bench-attempt-%' AND status = 'succeeded'").await,
        total as i64
    );
}
