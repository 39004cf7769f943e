//! The invoice's shared timeline (issue 11 item 6): one list both sides
//! see, oldest first: issued, views by the customer (once a day each),
//! payments, the dispute and its customer-visible messages, never an
//! internal note. A viewer sees it but is offered no dispute; another
//! customer's invoice is not found.

use crate::dispute_hold::{
    access_of, northwind, open_usd_invoices, raise, staff_id, AR_AGENT, CUSTOMER_ADMIN,
};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{start, PAYER};
use portal_core::services::timeline::{Actor, EntryKind, TimelineEntry};
use portal_core::ServiceError;

on_both_databases!(
    the_timeline_tells_both_sides_the_same_story_without_internal_notes,
    a_viewer_sees_the_timeline_but_no_dispute_link_and_other_accounts_are_not_found,
);

const VIEWER: &str = "controller@northwind.example";
const REPLY: &str = "We are checking the contract and will come back to you.";
const NOTE: &str = "INTERNAL: the customer signed the old price list.";
const COMPLAINT: &str = "The unit price is not the one in our contract.";

async fn timeline_of(app: &TestApp, email: &str, invoice_id: i64) -> Vec<TimelineEntry> {
    let access = access_of(app, email).await;
    app.services
        .invoice_timeline(&access, northwind(app).await, invoice_id)
        .await
        .unwrap()
}

fn find<'a>(
    entries: &'a [TimelineEntry],
    kind: EntryKind,
    what: &str,
) -> Option<&'a TimelineEntry> {
    entries
        .iter()
        .find(|e| e.kind == kind && e.what.contains(what))
}

async fn the_timeline_tells_both_sides_the_same_story_without_internal_notes(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, balance) = open_usd_invoices(&app).await[0];
    let agent = staff_id(&app, AR_AGENT).await;
    // Signed in first: the dispute's emails come after the sign-in link.
    let admin = app.signed_in_client(CUSTOMER_ADMIN).await;

    // The payer starts a payment of part of it; the admin disputes 25.00.
    let (payment_id, _) = start(&app, &[(invoice_id, balance / 4)], "card").await;
    let request_id = raise(&app, invoice_id, Some("25.00")).await;
    app.services
        .staff_reply(agent, request_id, REPLY, false)
        .await
        .unwrap();
    app.services
        .staff_reply(agent, request_id, NOTE, true)
        .await
        .unwrap();

    // The admin opens the invoice page, then refreshes it: one view.
    let path = format!("/accounts/{customer_id}/invoices/{invoice_id}");
    let page = app.get_with(&admin, &path).await.text().await.unwrap();
    app.get_with(&admin, &path).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM invoice_views WHERE invoice_id = {invoice_id}"
        ))
        .await,
        1,
        "a refresh is not a second view"
    );

    let entries = timeline_of(&app, CUSTOMER_ADMIN, invoice_id).await;
    assert_eq!(entries[0].kind, EntryKind::Issued, "oldest first");
    assert!(entries.windows(2).all(|w| w[0].at <= w[1].at));
    let viewed = find(&entries, EntryKind::Viewed, "Viewed").expect("the view");
    assert_eq!(viewed.actor, Actor::You);
    let paid = find(
        &entries,
        EntryKind::Payment,
        &format!("Started payment PAY-{payment_id}"),
    )
    .expect("the payment");
    assert!(
        matches!(&paid.actor, Actor::Contact(name) if !name.is_empty()),
        "a colleague started it: {:?}",
        paid.actor
    );
    let raised = find(&entries, EntryKind::Dispute, "Disputed $25.00").expect("the dispute");
    assert_eq!(raised.actor, Actor::You);
    assert_eq!(raised.request_id, Some(request_id));
    let messages: Vec<&TimelineEntry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Message)
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].body.as_deref(), Some(COMPLAINT));
    assert_eq!(messages[0].actor, Actor::You);
    assert_eq!(messages[1].body.as_deref(), Some(REPLY));
    assert_eq!(messages[1].actor, Actor::Ar(None));
    let everything = format!("{entries:?}");
    assert!(!everything.contains("INTERNAL"), "{everything}");

    // The page shows the same, and links the entries to the request.
    for text in [COMPLAINT, REPLY, "Viewed the invoice", "Disputed $25.00"] {
        assert!(page.contains(text), "{text} on the page");
    }
    assert!(!page.contains("INTERNAL"));
    assert!(page.contains(&format!(
        "href=\"/accounts/{customer_id}/requests/{request_id}\""
    )));

    // AR sees the same entries, with names instead of "you".
    let staff = app
        .services
        .staff_invoice_timeline(agent, invoice_id)
        .await
        .unwrap();
    assert_eq!(staff.len(), entries.len());
    for (mine, theirs) in entries.iter().zip(&staff) {
        assert_eq!(
            (mine.at, mine.kind, &mine.what),
            (theirs.at, theirs.kind, &theirs.what)
        );
        assert_ne!(theirs.actor, Actor::You);
    }
    assert!(!format!("{staff:?}").contains("INTERNAL"));
    // Someone else at the customer sees the admin by name.
    let payer = timeline_of(&app, PAYER, invoice_id).await;
    let raised = find(&payer, EntryKind::Dispute, "Disputed").unwrap();
    assert!(matches!(&raised.actor, Actor::Contact(_)));
}

async fn a_viewer_sees_the_timeline_but_no_dispute_link_and_other_accounts_are_not_found(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let customer_id = northwind(&app).await;
    let (invoice_id, _) = open_usd_invoices(&app).await[0];
    let path = format!("/accounts/{customer_id}/invoices/{invoice_id}");
    let dispute_href = format!("href=\"{path}/dispute\"");

    // A payer is offered the dispute; a viewer sees the page and the
    // timeline, and no dispute link, there or on the list.
    let payer = app.signed_in_client(PAYER).await;
    let page = app.get_with(&payer, &path).await.text().await.unwrap();
    assert!(page.contains("Dispute this invoice"), "{page}");
    assert!(page.contains(&dispute_href));
    let viewer = app.signed_in_client(VIEWER).await;
    let response = app.get_with(&viewer, &path).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Timeline") && page.contains("Issued the invoice"));
    assert!(!page.contains("Dispute this invoice"));
    assert!(!page.contains("/dispute\""), "{page}");
    let list = app
        .get_with(&viewer, &format!("/accounts/{customer_id}/invoices"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains("/dispute\""));
    let list = app
        .get_with(&payer, &format!("/accounts/{customer_id}/invoices"))
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("/dispute\""), "the payer's list offers it");

    // With a dispute open, the payer is pointed at it instead.
    let request_id = raise(&app, invoice_id, Some("25.00")).await;
    let page = app.get_with(&payer, &path).await.text().await.unwrap();
    assert!(!page.contains("Dispute this invoice"));
    assert!(page.contains("Dispute open — see the request"));
    assert!(page.contains(&format!("/accounts/{customer_id}/requests/{request_id}")));
    let viewer_timeline = timeline_of(&app, VIEWER, invoice_id).await;
    assert!(find(&viewer_timeline, EntryKind::Dispute, "Disputed").is_some());

    // Another customer's invoice: not found, through Northwind or its own id.
    let (other_invoice, other_customer): (i64, i64) = sqlx::query_as(
        "SELECT invoice_id, customer_id FROM invoices WHERE customer_id <> $1
         ORDER BY invoice_id LIMIT 1",
    )
    .bind(customer_id)
    .fetch_one(&app.services.db.pool)
    .await
    .unwrap();
    let access = access_of(&app, PAYER).await;
    for (customer, invoice) in [
        (customer_id, other_invoice),
        (other_customer, other_invoice),
    ] {
        match app
            .services
            .invoice_timeline(&access, customer, invoice)
            .await
        {
            Err(ServiceError::NotFound) => {}
            other => panic!("expected NotFound, got {other:?}"),
        }
        let response = app
            .get_with(&payer, &format!("/accounts/{customer}/invoices/{invoice}"))
            .await;
        assert_eq!(response.status(), 404);
    }
}
