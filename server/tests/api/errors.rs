//! One error model: a refusal in words is its own status (403 for a role
//! that may not pay, not 400), and an internal fault is a logged 500 whose
//! page shows the apology and nothing of the cause.

use portal_core::services::payments::Payer;
use portal_core::ServiceError;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::rows::captured_logs;

on_both_databases!(
    a_role_that_may_not_pay_is_refused_with_403_in_words,
    an_internal_fault_is_a_logged_500_without_detail,
    a_unique_violation_is_a_conflict,
);

const REFUSAL: &str = "lets you view invoices but not pay them";

async fn first_invoice(app: &TestApp, customer_id: i64) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>(
        "SELECT invoice_id FROM invoices WHERE customer_id = $1 ORDER BY invoice_id LIMIT 1",
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn a_role_that_may_not_pay_is_refused_with_403_in_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoice_id = first_invoice(&app, customer_id).await;
    let viewer = app.signed_in_client("controller@northwind.example").await;
    for path in [
        format!("/accounts/{customer_id}/pay?invoice={invoice_id}"),
        format!("/accounts/{customer_id}/pay/review?invoice={invoice_id}&amount_{invoice_id}=1&method=card&email=a%40b.example"),
    ] {
        let page = app.get_with(&viewer, &path).await;
        assert_eq!(page.status(), 403, "{path}");
        let body = page.text().await.unwrap();
        assert!(body.contains(REFUSAL), "{path}: {body}");
    }
    // The service says so with its own kind, whoever calls it.
    let contact_id = app
        .count("SELECT contact_id FROM contacts WHERE email = 'controller@northwind.example'")
        .await;
    let refused = app
        .services
        .payment_choice(Payer::Contact(contact_id), customer_id, &[invoice_id])
        .await
        .expect_err("a viewer may not pay");
    assert!(
        matches!(&refused, ServiceError::Forbidden(m) if m.contains(REFUSAL)),
        "{refused:?}"
    );
    assert_eq!(refused.status(), 403);
}

async fn an_internal_fault_is_a_logged_500_without_detail(backend: Backend) {
    let logs = captured_logs();
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoice_id = first_invoice(&app, customer_id).await;
    // Break the database under the pages: the invoice's lines are gone
    // (renamed away: other tables' foreign keys keep it from being dropped).
    {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query("ALTER TABLE invoice_lines RENAME TO invoice_lines_gone")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for path in [
        // A Leptos page (its server function answers through AppError) ...
        format!("/accounts/{customer_id}/invoices/{invoice_id}"),
        // ... and a plain axum route (through HttpError).
        format!("/accounts/{customer_id}/invoices/{invoice_id}/pdf"),
    ] {
        let response = app.get_with(&client, &path).await;
        assert_eq!(response.status(), 500, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("Something went wrong"),
            "{path}: the apology: {body}"
        );
        for detail in [
            "invoice_lines",
            "no such table",
            "does not exist",
            "database error",
        ] {
            assert!(!body.contains(detail), "{path} shows {detail:?}: {body}");
        }
    }
    // The log has the whole chain: what failed and the database's words.
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("failed") && l.contains("database error"))
            && logged.contains("Caused by:")
            && logged.contains("invoice_lines"),
        "{logged}"
    );
}

/// Two requests writing the same unique row at once: the loser's error is
/// a conflict (409) in words, not an internal error.
async fn a_unique_violation_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let insert = "INSERT INTO staff_users (email, name, role, created_at)
                  VALUES ('twice@seller.example', 'Twice', 'agent', '2026-01-01T00:00:00Z')";
    sqlx::query(insert).execute(&mut *conn).await.unwrap();
    let duplicate = sqlx::query(insert)
        .execute(&mut *conn)
        .await
        .expect_err("the email is taken");
    let e = ServiceError::from(duplicate);
    assert_eq!(e.status(), 409, "{e:?}");
    assert!(matches!(e, ServiceError::Conflict(_)), "{e:?}");
    assert!(!e.user_message().contains("staff_users"));
}
