//! A contact's access (name, accounts, role, account names and terms) is
//! read once and kept until it changes (services::access). Whatever
//! changes it, written straight to the database as an import or the CLI
//! would, must show on the very next request: no stale account, role or
//! name is ever served.

use app::models::{InvoiceListView, SiteInfo};

use crate::helpers::{spawn_app, Backend, TestApp};

crate::on_both_databases!(a_change_to_a_contacts_access_shows_on_the_next_request);

const EMAIL: &str = "ap@northwind.example";

async fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
}

async fn site(app: &TestApp, client: &reqwest::Client) -> SiteInfo {
    let response = app.server_fn(client, "site_info", &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The status of the invoice list and, when it answered, its view.
async fn list(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
) -> (u16, Option<InvoiceListView>) {
    let response = app
        .server_fn(
            client,
            "invoice_list",
            &[("customer_id", &customer_id.to_string()), ("query", "")],
        )
        .await;
    let status = response.status().as_u16();
    let view = if status == 200 {
        Some(response.json().await.unwrap())
    } else {
        None
    };
    (status, view)
}

/// The account names the header lists.
fn accounts(site: &SiteInfo) -> Vec<String> {
    let person = site.signed_in.as_ref().expect("signed in");
    person.accounts.iter().map(|a| a.name.clone()).collect()
}

async fn a_change_to_a_contacts_access_shows_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client(EMAIL).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let contact_id = app
        .count(&format!(
            "SELECT contact_id FROM contacts WHERE email = '{EMAIL}'"
        ))
        .await;
    let membership = format!("customer_id = {customer_id} AND contact_id = {contact_id}");

    // Read once, then served from the copy: the same answer twice.
    let first = site(&app, &client).await;
    assert!(accounts(&first).contains(&"Northwind Traders".to_owned()));
    assert_eq!(site(&app, &client).await, first);
    let (status, view) = list(&app, &client, customer_id).await;
    assert_eq!(status, 200);
    assert!(view.unwrap().can_pay, "an admin may pay");

    // The account is renamed.
    execute(
        &app,
        &format!(
            "UPDATE customers SET name = 'Northwind Renamed' WHERE customer_id = {customer_id}"
        ),
    )
    .await;
    assert!(accounts(&site(&app, &client).await).contains(&"Northwind Renamed".to_owned()));
    let (_, view) = list(&app, &client, customer_id).await;
    assert_eq!(view.unwrap().customer_name, "Northwind Renamed");

    // The contact is made a viewer: no longer offered to pay.
    execute(
        &app,
        &format!("UPDATE customer_contacts SET role = 'viewer' WHERE {membership}"),
    )
    .await;
    let (_, view) = list(&app, &client, customer_id).await;
    assert!(!view.unwrap().can_pay, "a viewer may not pay");

    // The contact is renamed.
    execute(
        &app,
        &format!("UPDATE contacts SET name = 'Ana Renamed' WHERE contact_id = {contact_id}"),
    )
    .await;
    assert_eq!(
        site(&app, &client).await.signed_in.unwrap().name,
        "Ana Renamed"
    );

    // The contact is taken off the account: it is gone from the header and
    // its pages are not found, at once.
    execute(
        &app,
        &format!("DELETE FROM customer_contacts WHERE {membership}"),
    )
    .await;
    assert!(!accounts(&site(&app, &client).await).contains(&"Northwind Renamed".to_owned()));
    assert_eq!(list(&app, &client, customer_id).await.0, 404);
    let page = client
        .get(format!(
            "{}/accounts/{customer_id}/invoices.csv",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404, "the CSV export");

    // And put back, as a payer.
    execute(
        &app,
        &format!(
            "INSERT INTO customer_contacts (customer_id, contact_id, role, created_at)
             VALUES ({customer_id}, {contact_id}, 'payer', '2026-01-01T00:00:00Z')"
        ),
    )
    .await;
    let (status, view) = list(&app, &client, customer_id).await;
    assert_eq!(status, 200);
    assert!(view.unwrap().can_pay, "a payer may pay");
}
