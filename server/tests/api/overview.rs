//! The account overview: its open invoices show what the invoice list shows,
//! including a payment in flight.

use serde_json::Value;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{open_invoices, start, PAYER};
use portal_core::domain::{Currency, Money};

on_both_databases!(the_overview_shows_a_payment_in_flight_as_payment_pending,);

/// The overview's open invoices, by id, as the server function answers.
async fn overview_rows(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    let customer_id = app.customer_id("Northwind Traders").await;
    let response = app
        .server_fn(
            client,
            "account_overview",
            &[("customer_id", &customer_id.to_string())],
        )
        .await;
    assert_eq!(response.status(), 200);
    let overview: Value = response.json().await.unwrap();
    overview["open_invoices"].as_array().unwrap().clone()
}

fn row_of(rows: &[Value], invoice_id: i64) -> &Value {
    rows.iter()
        .find(|r| r["invoice_id"] == invoice_id)
        .expect("the invoice is on the overview")
}

async fn the_overview_shows_a_payment_in_flight_as_payment_pending(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let payer = app.signed_in_client(PAYER).await;

    let rows = overview_rows(&app, &payer).await;
    let (invoice_id, number, balance) = open_invoices(&app)
        .await
        .into_iter()
        .find(|(id, _, _)| rows.iter().any(|r| r["invoice_id"] == *id))
        .expect("an open USD invoice on the overview");
    assert_eq!(row_of(&rows, invoice_id)["pending"], Value::Null);

    // Part of the balance goes into a checkout (held until it settles).
    let held = balance / 2;
    start(&app, &[(invoice_id, held)], "card").await;
    let pending = Money::new(held, Currency::USD).display();

    let rows = overview_rows(&app, &payer).await;
    assert_eq!(row_of(&rows, invoice_id)["pending"], pending.as_str());
    // The same row as the invoice list's.
    let list: Value = app
        .server_fn(
            &payer,
            "invoice_list",
            &[
                ("customer_id", &customer_id.to_string()),
                ("query", &format!("q={number}")),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        row_of(list["rows"].as_array().unwrap(), invoice_id),
        row_of(&rows, invoice_id)
    );
    // And the page says so.
    let page = app
        .get_with(&payer, &format!("/accounts/{customer_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Payment pending {pending}")),
        "{page}"
    );
}
