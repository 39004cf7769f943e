//! The rest of issue 13's reminders: the one-click unsubscribe of optional
//! steps (RFC 8058), the account's billing address as a recipient, a
//! broken promise's item in AR's queue, AR's test send to themselves and
//! sign-in returning to the "pay all" link.
//!
//! Dates as in reminders.rs: March 2030, New York (the seller's zone) on
//! EDT from Sunday 10 March (09:00 local = 13:00 UTC).
use crate::helpers::{location, new_client, signed_in_as, Backend, TestApp};
use crate::on_both_databases;
use crate::reminders::{customer, date, invoice, paid_by_hand, run, start, travel, utc};

on_both_databases!(
    reminders_of_optional_steps_carry_a_one_click_unsubscribe_that_stops_only_them,
    reminders_go_to_the_billing_address_once_with_invoice_links_only,
    a_broken_promise_puts_one_item_in_the_ar_queue_reminders_or_not,
    ar_sends_a_test_of_a_reminder_step_to_themselves_with_links_that_open_nothing,
    sign_in_returns_to_a_reminders_pay_all_link,
);

/// (to, subject, text, headers) of every outbox row to `to`, oldest first.
async fn outbox_to(app: &TestApp, to: &str) -> Vec<(String, String, Option<String>)> {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT subject, text_body, headers FROM email_outbox WHERE to_address = $1 ORDER BY email_id",
    )
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// Waits until every outbox row is sent (the worker rewrote it).
async fn all_sent(app: &TestApp) {
    for _ in 0..200 {
        if app
            .count("SELECT COUNT(*) FROM email_outbox WHERE status <> 'sent'")
            .await
            == 0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the outbox was not delivered within 10 s");
}

fn header<'a>(mail: &'a crate::helpers::ReceivedMail, name: &str) -> Option<&'a str> {
    mail.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

async fn reminders_of_optional_steps_carry_a_one_click_unsubscribe_that_stops_only_them(
    backend: Backend,
) {
    let app = start(backend).await;
    let c = customer(&app, "unsub", None).await;
    invoice(&app, c, "RX-UNSUB-1", date(2030, 3, 14)).await;
    let payer = "payer-unsub@rem.example";
    let admin = "admin-unsub@rem.example";

    // Step -3 (optional in the default cadence) on Monday 11 March.
    travel(&app, utc(2030, 3, 11, 13, 0));
    assert_eq!(run(&app).await.emails, 2);
    let mail = app.smtp.wait_for(payer, 1).await;
    let list = header(&mail, "List-Unsubscribe").expect("a List-Unsubscribe header");
    let url = list
        .trim()
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix('>'))
        .expect("<url>");
    let prefix = format!("{}/reminders/unsubscribe/", app.address);
    assert!(url.starts_with(&prefix), "{url}");
    let token = url[prefix.len()..].to_owned();
    assert_eq!(
        header(&mail, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        mail.text.contains(url),
        "the body has the link too: {}",
        mail.text
    );
    // Each address has its own link; only the hash is stored.
    let other = app.smtp.wait_for(admin, 1).await;
    assert_ne!(header(&other, "List-Unsubscribe"), Some(list));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM reminder_unsubscribe_tokens WHERE token_hash = '{}'",
            portal_core::domain::token::hash_token(&token)
        ))
        .await,
        1,
        "stored hashed"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM reminder_unsubscribe_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0,
        "the token itself is not stored"
    );
    // Once sent, the outbox row keeps no live link: header and bodies.
    all_sent(&app).await;
    for (_, text, headers) in outbox_to(&app, payer).await {
        let headers = headers.expect("the header lines are kept");
        assert!(!headers.contains(&token) && !text.contains(&token));
        assert!(
            headers.contains("/reminders/unsubscribe/[redacted]"),
            "{headers}"
        );
    }

    // A link scanner's GET unsubscribes no one: it shows a button.
    let scanner = new_client();
    let page = scanner.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\"")
            && html.contains(&format!("/reminders/unsubscribe/{token}")),
        "{html}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reminder_unsubscribes")
            .await,
        0
    );
    // A forged token is not found, and no other route takes a POST from
    // outside the portal.
    let forged = scanner
        .post(format!("{prefix}{}", "A".repeat(43)))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    let elsewhere = scanner
        .post(app.url(&format!("/accounts/{c}/reminders/friendly")))
        .form(&[("on", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        403,
        "the same-origin check still applies"
    );

    // The mail client's one-click POST: no session, no Origin of ours.
    let posted = scanner
        .post(url)
        .header("origin", "https://mail.example")
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM reminder_unsubscribes WHERE customer_id = {c} AND email = '{payer}'"
        ))
        .await,
        1
    );

    // Step 0 (optional) on Thursday: the admin only.
    travel(&app, utc(2030, 3, 14, 13, 0));
    assert_eq!(run(&app).await.emails, 1, "the payer unsubscribed");
    assert_eq!(outbox_to(&app, payer).await.len(), 1);
    // Step +7 (firm) on Thursday 21 March: both, with no unsubscribe header.
    travel(&app, utc(2030, 3, 21, 13, 0));
    assert_eq!(run(&app).await.emails, 2, "a firm step reaches everyone");
    let firm = outbox_to(&app, payer).await;
    assert_eq!(firm.len(), 2);
    assert!(firm[1].0.starts_with("Overdue"), "{}", firm[1].0);
    assert_eq!(firm[1].2, None, "no List-Unsubscribe on a firm step");

    // The payer turns the friendly reminders back on from the account.
    let client = signed_in_as(&app, payer, false).await;
    let page = app
        .get_with(&client, &format!("/accounts/{c}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Turn friendly reminders back on"),
        "the account page offers it"
    );
    let response = app
        .post_form_with(
            &client,
            &format!("/accounts/{c}/reminders/friendly"),
            &[("on", "1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reminder_unsubscribes")
            .await,
        0
    );
}

async fn reminders_go_to_the_billing_address_once_with_invoice_links_only(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "bill", None).await;
    let inv = invoice(&app, c, "RX-BILL-1", date(2030, 3, 14)).await;
    let path = format!("/staff/customers/{c}/reminders/billing-email");

    // Agents cannot set it; a wrong address is refused; an admin sets it.
    let agent = signed_in_as(&app, "agent@seller.example", true).await;
    let refused = app
        .post_form_with(&agent, &path, &[("billing_email", "ap@bill.example")])
        .await;
    assert_eq!(refused.status(), 403);
    let admin = app.signed_in_staff_client().await;
    let wrong = app
        .post_form_with(&admin, &path, &[("billing_email", "not an address")])
        .await;
    assert!(location(&wrong).contains("reminder_problem=billing_email"));
    let saved = app
        .post_form_with(&admin, &path, &[("billing_email", "ap@bill.example")])
        .await;
    assert!(location(&saved).contains("saved=billing_email"));
    let page = app
        .get_with(&admin, &format!("/staff/customers/{c}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("ap@bill.example"),
        "shown on the customer page"
    );

    travel(&app, utc(2030, 3, 11, 13, 0));
    assert_eq!(
        run(&app).await.emails,
        3,
        "payer, admin and billing address"
    );
    let billing = outbox_to(&app, "ap@bill.example").await;
    assert_eq!(billing.len(), 1);
    let text = &billing[0].1;
    assert!(text.contains("/i/"), "the invoice link: {text}");
    assert!(
        !text.contains("/pay?"),
        "no pay-all link, it needs a sign-in: {text}"
    );
    assert!(text.contains("Hello Reminder bill Ltd"), "{text}");
    let payer = outbox_to(&app, "payer-bill@rem.example").await;
    assert!(payer[0]
        .1
        .contains(&format!("/accounts/{c}/pay?invoice={inv}")));

    // The billing address equal to a contact's (any case) goes once. (A
    // new sign-in: the clock moved years past the first one.)
    let admin = app.signed_in_staff_client().await;
    let saved = app
        .post_form_with(
            &admin,
            &path,
            &[("billing_email", "Payer-Bill@REM.example")],
        )
        .await;
    assert!(location(&saved).contains("saved=billing_email"));
    travel(&app, utc(2030, 3, 14, 13, 0));
    assert_eq!(run(&app).await.emails, 2, "one email per address");
    assert_eq!(outbox_to(&app, "payer-bill@rem.example").await.len(), 2);
    assert_eq!(outbox_to(&app, "Payer-Bill@REM.example").await.len(), 0);
}

async fn contact_id(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT contact_id FROM contacts WHERE email = '{email}'"
    ))
    .await
}

async fn a_broken_promise_puts_one_item_in_the_ar_queue_reminders_or_not(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "broken", None).await;
    invoice(&app, c, "RX-BROKEN-1", date(2030, 3, 14)).await;
    let kept = customer(&app, "kept", None).await;
    let kept_invoice = invoice(&app, kept, "RX-KEPT-1", date(2030, 3, 14)).await;
    // Something else open, so the job visits the customer.
    invoice(&app, kept, "RX-KEPT-2", date(2030, 4, 30)).await;
    travel(&app, utc(2030, 3, 11, 13, 0));
    let payer = contact_id(&app, "payer-broken@rem.example").await;
    let promised = |contact: i64, customer: i64, invoice: i64| {
        let services = app.services.clone();
        async move {
            services
                .promise_to_pay(
                    contact,
                    customer,
                    &portal_core::services::reminders::PromiseDraft {
                        invoice_ids: vec![invoice],
                        promised_on: "2030-03-15".to_owned(),
                        ..Default::default()
                    },
                )
                .await
                .expect("promised")
        }
    };
    let inv = app
        .count(&format!(
            "SELECT invoice_id FROM invoices WHERE number = 'RX-BROKEN-1'"
        ))
        .await;
    let promise_id = promised(payer, c, inv).await;
    let kept_payer = contact_id(&app, "payer-kept@rem.example").await;
    promised(kept_payer, kept, kept_invoice).await;
    paid_by_hand(&app, kept, kept_invoice, 10000).await;

    // Monday 18 March: the promise of 15 March was not kept. Two job
    // instances judge it at once.
    travel(&app, utc(2030, 3, 18, 13, 0));
    let (a, b) = tokio::join!(run(&app), run(&app));
    assert_eq!(
        a.promises_closed + b.promises_closed,
        2,
        "both promises judged once"
    );
    run(&app).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM requests WHERE kind = 'promise'")
            .await,
        1,
        "one item for the broken promise, none for the kept one"
    );
    let request_id = app
        .count(&format!(
            "SELECT request_id FROM requests WHERE kind = 'promise' AND promise_id = {promise_id} AND customer_id = {c}"
        ))
        .await;
    assert!(request_id > 0);

    // AR's queue and the request page show it by its kind.
    let admin = app.signed_in_staff_client().await;
    let queue = app
        .get_with(&admin, "/staff/requests")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        queue.contains("Promise to pay not kept") && queue.contains("Reminder broken Ltd"),
        "the queue lists it"
    );
    let page = app
        .get_with(&admin, &format!("/staff/requests/{request_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The promise to pay"), "its own section");
    assert!(page.contains("RX-BROKEN-1") && page.contains("2030-03-15"));
    assert!(page.contains("$100.00") && page.contains("$0.00") && page.contains("Not kept"));
}

async fn ar_sends_a_test_of_a_reminder_step_to_themselves_with_links_that_open_nothing(
    backend: Backend,
) {
    let app = start(backend).await;
    let c = customer(&app, "test", None).await;
    invoice(&app, c, "RX-TEST-1", date(2030, 3, 14)).await;
    let step = app
        .count(
            "SELECT s.step_id FROM reminder_steps s JOIN reminder_cadences c ON c.cadence_id = s.cadence_id
             WHERE c.is_default = 1 AND s.offset_days = 7 AND s.retired_at IS NULL",
        )
        .await;
    let me = "ar@seller.example";
    let admin = app.signed_in_staff_client().await;
    let path = format!("/staff/settings/reminders/steps/{step}/test");
    let links_before = app.count("SELECT COUNT(*) FROM invoice_links").await;

    // Sample invoices.
    let before = app.smtp.messages_to(me).len();
    let sent = app.post_form_with(&admin, &path, &[("customer", "")]).await;
    assert_eq!(sent.status(), 303);
    assert!(
        location(&sent).contains("tested=ar%40seller.example"),
        "{}",
        location(&sent)
    );
    let mail = app.smtp.wait_for(me, before + 1).await;
    assert!(
        mail.subject.starts_with("[TEST] Overdue"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("SAMPLE-1001"), "{}", mail.text);

    // The customer's real invoices, still with links that open nothing.
    let sent = app
        .post_form_with(&admin, &path, &[("customer", &c.to_string())])
        .await;
    assert_eq!(sent.status(), 303);
    let mail = app.smtp.wait_for(me, before + 2).await;
    assert!(mail.subject.starts_with("[TEST] "), "{}", mail.subject);
    assert!(
        mail.text.contains("RX-TEST-1") && mail.text.contains("$100.00"),
        "{}",
        mail.text
    );
    assert!(
        !mail.text.contains(&format!("/accounts/{c}/pay")),
        "no real pay-all link"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invoice_links").await,
        links_before,
        "no invoice link minted"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM reminder_sends").await,
        0,
        "nothing recorded as sent"
    );
    assert!(
        app.smtp.messages_to("payer-test@rem.example").is_empty(),
        "the customer gets nothing"
    );
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/i/"))
        .expect("a link where the invoice link goes")
        .to_owned();
    let opened = new_client()
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!opened.contains("RX-TEST-1"), "the link opens no invoice");

    let refused = app
        .post_form_with(&admin, &path, &[("customer", "not a number")])
        .await;
    assert!(location(&refused).contains("reminder_problem=customer"));
}

/// Signs `client` in as `email` through the sign-in form; the confirm's answer.
async fn sign_in_with(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    let before = app.smtp.messages_to(email).len();
    let asked = app
        .post_form_with(client, "/auth/sign-in", &[("email", email)])
        .await;
    assert_eq!(asked.status(), 303);
    let mail = app.smtp.wait_for(email, before + 1).await;
    app.post_form_with(client, "/auth/confirm", &[("token", &mail.token())])
        .await
}

async fn sign_in_returns_to_a_reminders_pay_all_link(backend: Backend) {
    let app = start(backend).await;
    let c = customer(&app, "ret", None).await;
    let inv = invoice(&app, c, "RX-RET-1", date(2030, 3, 14)).await;
    let target = format!("/accounts/{c}/pay?invoice={inv}");
    let email = "payer-ret@rem.example";

    let client = new_client();
    let asked = app.get_with(&client, &target).await;
    assert_eq!(asked.status(), 303);
    assert!(
        location(&asked).starts_with("/sign-in"),
        "{}",
        location(&asked)
    );
    let confirmed = sign_in_with(&app, &client, email).await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(location(&confirmed), target, "back to the pay-all link");
    let page = app.get_with(&client, &target).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("RX-RET-1"), "the invoice is chosen");

    // A sign-in that asked for no page lands at home.
    let plain = new_client();
    let confirmed = sign_in_with(&app, &plain, email).await;
    assert_eq!(location(&confirmed), "/");
}
