//! Paying through an invoice link (issue 13; DESIGN.md: a reminder's link
//! "opens that invoice and lets the reader pay it"): the reader pays that
//! invoice in the sandbox without signing in, the receipt goes to the
//! address typed, and the link reaches nothing else of the account: no
//! other invoice, no credit note, no other payment.

use crate::helpers::{location, new_client, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::{decimal, invoice_state, open_invoices, start, PAYER};
use portal_core::domain::{Currency, Money};

on_both_databases!(
    an_invoice_link_pays_its_invoice_without_signing_in,
    an_invoice_link_pays_nothing_else_of_the_account,
);

const TYPED_RECEIPT: &str = "accounts.payable@northwind-group.example";

/// A browser that opened a fresh link to `number` (the POST of the link's
/// page), and the path of that invoice's page.
async fn opened_link(app: &TestApp, number: &str) -> (reqwest::Client, String, i64) {
    let link = app
        .services
        .create_invoice_link(number, None, "test")
        .await
        .unwrap();
    let visitor = new_client();
    let path = link.url.strip_prefix(&app.address).unwrap().to_owned();
    let response = app.post_form_with(&visitor, &path, &[]).await;
    assert_eq!(response.status(), 303);
    (visitor, location(&response), link.link_id)
}

/// The review page's attempt key, or `None` when the page has no "Pay".
fn attempt_of(review: &str) -> Option<String> {
    review
        .split("name=\"attempt\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

async fn post_pay(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    form: &[(String, String)],
) -> reqwest::Response {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form_with(client, &format!("/accounts/{customer_id}/payments"), &form)
        .await
}

fn pay_form(invoice_id: i64, amount_minor: i64, attempt: &str) -> Vec<(String, String)> {
    vec![
        ("invoice".into(), invoice_id.to_string()),
        (format!("amount_{invoice_id}"), decimal(amount_minor)),
        ("method".into(), "card".into()),
        ("email".into(), TYPED_RECEIPT.into()),
        ("attempt".into(), attempt.into()),
    ]
}

async fn an_invoice_link_pays_its_invoice_without_signing_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let (invoice_id, number, balance) = open_invoices(&app).await.remove(0);
    // The account has credit notes a signed-in payer could apply; a link
    // holder, who sees one invoice, is not offered them.
    let open_credits = app
        .count(&format!(
            "SELECT COUNT(*) FROM credit_notes WHERE customer_id = {customer_id}"
        ))
        .await;
    assert!(open_credits > 0, "the demo account has credit notes");
    let (visitor, invoice_page, link_id) = opened_link(&app, &number).await;

    // The invoice page offers to pay it, not to sign in first.
    let html = app
        .get_with(&visitor, &invoice_page)
        .await
        .text()
        .await
        .unwrap();
    let pay_href = format!("/accounts/{customer_id}/pay?invoice={invoice_id}");
    assert!(
        html.contains(&format!("href=\"{pay_href}\"")) && html.contains("Pay this invoice"),
        "{html}"
    );
    assert!(
        html.contains("you can view and pay that invoice without signing in"),
        "the banner says what the link allows"
    );
    assert!(
        !html.contains("Dispute this invoice"),
        "disputes are for the account's contacts"
    );

    // The form: that invoice, no credits, an empty receipt address.
    let page = app.get_with(&visitor, &pay_href).await;
    assert_eq!(page.status(), 200);
    let form = page.text().await.unwrap();
    assert!(form.contains(&format!("Amount to pay on invoice {number}")));
    assert!(!form.contains("Credits on your account"), "{form}");
    assert!(
        form.contains("id=\"receipt-email\" name=\"email\" type=\"email\" autocomplete=\"email\" required value=\"\""),
        "the link holder types the receipt address: {form}"
    );
    assert!(
        !form.contains("class=\"account-nav\""),
        "no navigation into the account"
    );

    // Review, pay in the sandbox, come back to the receipt.
    let query = format!(
        "invoice={invoice_id}&amount_{invoice_id}={}&method=card&email={TYPED_RECEIPT}",
        decimal(balance)
    );
    let review = app
        .get_with(
            &visitor,
            &format!("/accounts/{customer_id}/pay/review?{query}"),
        )
        .await
        .text()
        .await
        .unwrap();
    let total = Money::new(balance, Currency::USD).display();
    assert!(review.contains(&format!("Pay {total} by card")), "{review}");
    let attempt = attempt_of(&review).expect("the review page has a Pay button");
    let pay = post_pay(
        &app,
        &visitor,
        customer_id,
        &pay_form(invoice_id, balance, &attempt),
    )
    .await;
    assert_eq!(pay.status(), 303);
    let checkout = location(&pay);
    let sandbox = checkout.trim_start_matches(&app.address).to_owned();
    assert!(
        sandbox.starts_with("/sandbox/checkout/cs_sandbox_"),
        "{checkout}"
    );
    let done = app
        .post_form_with(&visitor, &sandbox, &[("outcome", "card_success")])
        .await;
    assert_eq!(done.status(), 303);
    let back = location(&done);
    let receipt_at = location(
        &app.get_with(&visitor, back.trim_start_matches(&app.address))
            .await,
    );
    let receipt = app.get_with(&visitor, &receipt_at).await;
    assert_eq!(receipt.status(), 200, "{receipt_at}");
    let receipt = receipt.text().await.unwrap();
    assert!(receipt.contains("Payment receipt PAY-"), "{receipt}");
    assert!(receipt.contains(TYPED_RECEIPT), "{receipt}");
    let pdf = app
        .get_with(&visitor, &format!("{receipt_at}/receipt.pdf"))
        .await;
    assert_eq!(pdf.status(), 200);

    // Paid once, recorded as paid through the link by nobody signed in.
    assert_eq!(invoice_state(&app, invoice_id).await, (0, 0));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payments WHERE invoice_link_id = {link_id}
             AND created_by_contact IS NULL AND status = 'succeeded' AND customer_id = {customer_id}"
        ))
        .await,
        1
    );
    // The receipt reaches the address typed; it is the receipt itself, with
    // no link into an account its reader may not have.
    let mail = app.smtp.wait_for(TYPED_RECEIPT, 1).await;
    assert!(
        mail.text.contains(&format!("Invoice {number}"))
            && mail.text.contains("Keep this email as receipt PAY-"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("/accounts/"), "{}", mail.text);
    // The account's contacts see the payment in their history.
    let payer = app.signed_in_client(PAYER).await;
    assert_eq!(app.get_with(&payer, &receipt_at).await.status(), 200);
}

async fn an_invoice_link_pays_nothing_else_of_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let invoices = open_invoices(&app).await;
    let (linked, number, balance) = invoices[0].clone();
    let (other, _, other_balance) = invoices[1].clone();
    // A payment the account's payer made, and one another link made.
    let (contact_payment, _) = start(&app, &[(invoices[2].0, invoices[2].2)], "card").await;
    let (visitor, _, link_id) = opened_link(&app, &number).await;

    // Another invoice of the account, alone or next to the linked one:
    // the form, the review and the "Pay" POST all answer 404.
    for query in [
        format!("invoice={other}"),
        format!("invoice={linked}&invoice={other}"),
    ] {
        let path = format!("/accounts/{customer_id}/pay?{query}");
        assert_eq!(app.get_with(&visitor, &path).await.status(), 404, "{path}");
        let path = format!(
            "/accounts/{customer_id}/pay/review?{query}&amount_{other}={}&method=card&email={TYPED_RECEIPT}",
            decimal(other_balance)
        );
        assert_eq!(app.get_with(&visitor, &path).await.status(), 404, "{path}");
    }
    let attempt = format!("{:032x}", rand::random::<u128>());
    let pay = post_pay(
        &app,
        &visitor,
        customer_id,
        &pay_form(other, other_balance, &attempt),
    )
    .await;
    assert_eq!(pay.status(), 404);
    assert_eq!(invoice_state(&app, other).await, (other_balance, 0));

    // The account's payment history and other payments are not the link's.
    for path in [
        format!("/accounts/{customer_id}/payments"),
        format!("/accounts/{customer_id}/payments/{contact_payment}"),
        format!("/accounts/{customer_id}/payments/{contact_payment}/receipt.pdf"),
        format!("/accounts/{customer_id}/plans"),
        format!("/accounts/{customer_id}/invoices/{linked}/dispute"),
    ] {
        assert_eq!(app.get_with(&visitor, &path).await.status(), 404, "{path}");
    }
    let cancel = app
        .post_form_with(
            &visitor,
            &format!("/accounts/{customer_id}/payments/{contact_payment}/cancel"),
            &[],
        )
        .await;
    assert_eq!(cancel.status(), 404);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payments WHERE payment_id = {contact_payment} AND status = 'pending'"
        ))
        .await,
        1,
        "the payer's checkout is untouched"
    );

    // A payment started through this link is not another link's.
    let review = app
        .get_with(
            &visitor,
            &format!(
                "/accounts/{customer_id}/pay/review?invoice={linked}&amount_{linked}={}&method=card&email={TYPED_RECEIPT}",
                decimal(balance)
            ),
        )
        .await
        .text()
        .await
        .unwrap();
    let attempt = attempt_of(&review).expect("Pay offered for the linked invoice");
    let pay = post_pay(
        &app,
        &visitor,
        customer_id,
        &pay_form(linked, balance, &attempt),
    )
    .await;
    assert_eq!(pay.status(), 303);
    let link_payment = app
        .count(&format!(
            "SELECT payment_id FROM payments WHERE invoice_link_id = {link_id}"
        ))
        .await;
    let (second_visitor, _, _) = opened_link(&app, &number).await;
    assert_eq!(
        app.get_with(
            &second_visitor,
            &format!("/accounts/{customer_id}/payments/{link_payment}")
        )
        .await
        .status(),
        404
    );
    // Its own session reaches it, and may cancel its checkout.
    assert_eq!(
        app.get_with(
            &visitor,
            &format!("/accounts/{customer_id}/payments/{link_payment}")
        )
        .await
        .status(),
        200
    );

    // Revoked by AR: the session ends, and a "Pay" writes nothing.
    let staff = app.signed_in_staff_client().await;
    let response = app
        .post_form_with(
            &staff,
            &format!("/staff/invoice-links/{link_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(response.status(), 303);
    let before = app.count("SELECT COUNT(*) FROM payments").await;
    let attempt = format!("{:032x}", rand::random::<u128>());
    let pay = post_pay(
        &app,
        &visitor,
        customer_id,
        &pay_form(linked, 100, &attempt),
    )
    .await;
    assert_eq!(pay.status(), 303);
    assert_eq!(location(&pay), "/invoice-link?state=ended");
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, before);
}
