//! Notification emails of requests (issue 11 item 5) and the customer's
//! reopen within 14 days (item 4). Services are called directly; mail is
//! delivered by driving the outbox worker (`deliver_due`, no background
//! worker, no sleeping) and read from the test SMTP server.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::helpers::{
    access_of, northwind, open_usd_invoices, raise_whole_invoice, spawn_app_with, staff_id,
    AppOptions, Backend, ReceivedMail, TestApp,
};
use crate::on_both_databases;
use portal_core::domain::request::RequestStatus;
use portal_core::services::staff_requests::Resolution;
use portal_core::ServiceError;

on_both_databases!(
    a_new_dispute_emails_every_active_agent_and_admin_when_unassigned,
    a_staff_reply_emails_the_opener_with_the_request_link_and_a_note_emails_nobody,
    waiting_on_the_customer_and_a_resolution_email_the_opener_the_outcome,
    a_customer_message_emails_only_the_assignee,
    a_resolved_dispute_reopens_within_14_days_and_holds_its_amount_again,
    a_dispute_cannot_be_reopened_after_14_days_nor_once_withdrawn,
);

const CUSTOMER_ADMIN: &str = "ap@northwind.example";
const AR_ADMIN: &str = "ar@seller.example";
const AR_AGENT: &str = "agent@seller.example";

/// Monday 11 January 2027, 10:00 in New York (standard time, UTC-5): a
/// business day, so nothing depends on the calendar.
fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 11, 15, 0, 0).unwrap()
}

/// An app whose outbox is delivered only when the test says so.
async fn app(backend: Backend) -> TestApp {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    app.clock
        .advance(monday_morning() - app.clock.now_for_tests());
    app
}

/// An open USD invoice of Northwind with some balance.
async fn open_invoice(app: &TestApp) -> i64 {
    open_usd_invoices(app).await[0].0
}

async fn disputed(app: &TestApp, invoice_id: i64) -> i64 {
    app.count(&format!(
        "SELECT disputed_minor FROM invoices WHERE invoice_id = {invoice_id}"
    ))
    .await
}

async fn outbox_rows(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM email_outbox").await
}

/// Delivers what is due and returns the newest mail to `to`.
async fn last_mail_to(app: &TestApp, to: &str) -> ReceivedMail {
    app.worker.deliver_due().await.unwrap();
    app.smtp
        .messages_to(to)
        .pop()
        .unwrap_or_else(|| panic!("no mail to {to}"))
}

fn invalid<T: std::fmt::Debug>(result: Result<T, ServiceError>, says: &str) {
    match result {
        Err(ServiceError::Invalid { ref message, .. }) if message.contains(says) => {}
        other => panic!("expected Invalid saying {says:?}, got {other:?}"),
    }
}

async fn a_new_dispute_emails_every_active_agent_and_admin_when_unassigned(backend: Backend) {
    let app = app(backend).await;
    let before = outbox_rows(&app).await;
    let request_id = raise_whole_invoice(&app, open_invoice(&app).await).await;
    // One mail per active staff user (the seed has two), none to the customer.
    assert_eq!(outbox_rows(&app).await - before, 2);
    assert_eq!(app.worker.deliver_due().await.unwrap(), 2);
    for to in [AR_ADMIN, AR_AGENT] {
        let mail = app.smtp.messages_to(to).pop().expect("mail to staff");
        assert!(
            mail.subject.contains("Northwind Traders"),
            "{}",
            mail.subject
        );
        assert!(
            mail.text.contains("The unit price is not the one"),
            "{}",
            mail.text
        );
        assert!(
            mail.text
                .contains(&format!("{}/staff/requests/{request_id}", app.address)),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("Acme Supply Co."));
    }
    assert!(app.smtp.messages_to(CUSTOMER_ADMIN).is_empty());
}

async fn a_staff_reply_emails_the_opener_with_the_request_link_and_a_note_emails_nobody(
    backend: Backend,
) {
    let app = app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let request_id = raise_whole_invoice(&app, open_invoice(&app).await).await;
    app.worker.deliver_due().await.unwrap();

    let before = outbox_rows(&app).await;
    app.services
        .staff_reply(agent, request_id, "Checking <the contract> now", true)
        .await
        .unwrap();
    assert_eq!(
        outbox_rows(&app).await,
        before,
        "an internal note mails nobody"
    );

    app.services
        .staff_reply(agent, request_id, "We are <checking> the contract.", false)
        .await
        .unwrap();
    assert_eq!(outbox_rows(&app).await, before + 1);
    let mail = last_mail_to(&app, CUSTOMER_ADMIN).await;
    let link = format!(
        "{}/accounts/{}/requests/{request_id}",
        app.address,
        northwind(&app).await
    );
    assert_eq!(mail.link(), link);
    assert!(mail.text.contains("We are <checking> the contract."));
    assert!(mail.html.contains("We are &lt;checking&gt; the contract."));
    assert!(!mail.text.contains("Checking <the contract> now"));
    assert!(mail.subject.contains("replied"), "{}", mail.subject);
}

async fn waiting_on_the_customer_and_a_resolution_email_the_opener_the_outcome(backend: Backend) {
    let app = app(backend).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let request_id = raise_whole_invoice(&app, open_invoice(&app).await).await;

    app.services
        .set_waiting_on_customer(admin, request_id)
        .await
        .unwrap();
    let waiting = last_mail_to(&app, CUSTOMER_ADMIN).await;
    assert!(
        waiting.subject.contains("needs your answer"),
        "{}",
        waiting.subject
    );

    let resolved = app
        .services
        .resolve_request(
            admin,
            request_id,
            Resolution::CreditNote {
                amount_text: "25.00".into(),
                note: String::new(),
            },
        )
        .await
        .unwrap();
    let mail = last_mail_to(&app, CUSTOMER_ADMIN).await;
    assert!(mail.subject.contains("resolved"), "{}", mail.subject);
    let number = resolved.credit_note_number.unwrap();
    assert!(
        mail.text
            .contains(&format!("a credit note {number} of $25.00")),
        "{}",
        mail.text
    );
    assert!(mail.text.contains(&format!("/requests/{request_id}")));

    // A rejection says why.
    let other = app.count(&format!(
        "SELECT MIN(invoice_id) FROM invoices WHERE customer_id = {} AND invoice_id > (SELECT invoice_id FROM requests WHERE request_id = {request_id})
         AND balance_minor > 5000 AND voided_at IS NULL AND currency = 'USD'",
        northwind(&app).await
    ))
    .await;
    let second = raise_whole_invoice(&app, other).await;
    app.services
        .resolve_request(
            admin,
            second,
            Resolution::Rejected {
                reason: "The price matches the signed quote.".into(),
            },
        )
        .await
        .unwrap();
    let mail = last_mail_to(&app, CUSTOMER_ADMIN).await;
    assert!(
        mail.text
            .contains("it was rejected. The reason: The price matches the signed quote."),
        "{}",
        mail.text
    );
}

async fn a_customer_message_emails_only_the_assignee(backend: Backend) {
    let app = app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let request_id = raise_whole_invoice(&app, open_invoice(&app).await).await;
    app.worker.deliver_due().await.unwrap();
    app.services
        .assign_request(agent, request_id, Some(agent))
        .await
        .unwrap();
    let admin_mails = app.smtp.messages_to(AR_ADMIN).len();
    let agent_mails = app.smtp.messages_to(AR_AGENT).len();
    app.services
        .add_customer_message(
            &access_of(&app, CUSTOMER_ADMIN).await,
            northwind(&app).await,
            request_id,
            "Here is the contract page.",
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    let mail = last_mail_to(&app, AR_AGENT).await;
    assert!(mail.text.contains("Here is the contract page."));
    assert_eq!(app.smtp.messages_to(AR_AGENT).len(), agent_mails + 1);
    assert_eq!(app.smtp.messages_to(AR_ADMIN).len(), admin_mails);
}

async fn a_resolved_dispute_reopens_within_14_days_and_holds_its_amount_again(backend: Backend) {
    let app = app(backend).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let invoice_id = open_invoice(&app).await;
    let request_id = raise_whole_invoice(&app, invoice_id).await;
    let held = disputed(&app, invoice_id).await;
    assert!(held > 0);
    app.services
        .resolve_request(
            admin,
            request_id,
            Resolution::Rejected {
                reason: "The price matches the signed quote.".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(disputed(&app, invoice_id).await, 0);
    app.worker.deliver_due().await.unwrap();

    app.clock.advance(Duration::days(13));
    let customer_id = northwind(&app).await;
    app.services
        .reopen_request(
            &access_of(&app, CUSTOMER_ADMIN).await,
            customer_id,
            request_id,
            "The quote you mention was superseded.",
            None,
        )
        .await
        .unwrap();
    assert_eq!(disputed(&app, invoice_id).await, held, "the hold is back");
    let request = app
        .services
        .customer_request(
            &access_of(&app, CUSTOMER_ADMIN).await,
            customer_id,
            request_id,
        )
        .await
        .unwrap()
        .request;
    assert_eq!(request.status, RequestStatus::Open);
    assert!(request.resolved_at.is_none() && request.outcome.is_none());
    assert!(request.outcome_note.is_none());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM request_events WHERE request_id = {request_id} AND event = 'reopened'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'dispute.reopened'")
            .await,
        1
    );
    // Unassigned: every active staff user is told.
    for to in [AR_ADMIN, AR_AGENT] {
        let mail = last_mail_to(&app, to).await;
        assert!(mail.subject.contains("reopened"), "{}", mail.subject);
        assert!(mail.text.contains("The quote you mention was superseded."));
    }
    // It is open again: AR can work it and resolve it once more.
    app.services
        .resolve_request(
            admin,
            request_id,
            Resolution::CorrectedInvoice {
                reference: "INV-CORR-1".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(disputed(&app, invoice_id).await, 0);
}

async fn a_dispute_cannot_be_reopened_after_14_days_nor_once_withdrawn(backend: Backend) {
    let app = app(backend).await;
    let admin = staff_id(&app, AR_ADMIN).await;
    let customer_id = northwind(&app).await;
    let invoice_id = open_invoice(&app).await;

    // Withdrawn: never reopened.
    let withdrawn = raise_whole_invoice(&app, invoice_id).await;
    app.services
        .withdraw_dispute(
            &access_of(&app, CUSTOMER_ADMIN).await,
            customer_id,
            withdrawn,
            None,
        )
        .await
        .unwrap();
    invalid(
        app.services
            .reopen_request(
                &access_of(&app, CUSTOMER_ADMIN).await,
                customer_id,
                withdrawn,
                "Again.",
                None,
            )
            .await,
        "withdrew",
    );

    // Resolved 14 days and a minute ago: too late.
    let resolved = raise_whole_invoice(&app, invoice_id).await;
    app.services
        .resolve_request(
            admin,
            resolved,
            Resolution::Rejected {
                reason: "No.".into(),
            },
        )
        .await
        .unwrap();
    app.clock.advance(Duration::days(14) + Duration::minutes(1));
    let before = outbox_rows(&app).await;
    invalid(
        app.services
            .reopen_request(
                &access_of(&app, CUSTOMER_ADMIN).await,
                customer_id,
                resolved,
                "Again.",
                None,
            )
            .await,
        "within 14 days",
    );
    assert_eq!(disputed(&app, invoice_id).await, 0);
    assert_eq!(outbox_rows(&app).await, before, "a refusal mails nobody");

    // Another account's request is not found.
    let other_customer = app.customer_id("Contoso Manufacturing").await;
    assert!(matches!(
        app.services
            .reopen_request(
                &access_of(&app, CUSTOMER_ADMIN).await,
                other_customer,
                resolved,
                "x",
                None
            )
            .await,
        Err(ServiceError::NotFound)
    ));
}
