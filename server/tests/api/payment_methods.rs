//! Saved payment methods and the autopay enrolment over HTTP (issue 12
//! items 4-5): saving through the sandbox's setup page and Stripe's
//! Checkout in setup mode (the local fake) charges nothing and saves once;
//! default and remove; viewers and other accounts are refused; enrolling
//! stores the consent text with who, when, IP and user agent, once.

use crate::autopay::stripe_options;
use crate::fake_stripe::FakeStripe;
use crate::helpers::{location, spawn_app_with, AppOptions, Backend, TestApp};
use crate::on_both_databases;
use crate::payments::PAYER;

on_both_databases!(
    a_card_saved_in_the_sandbox_is_listed_and_nothing_is_charged,
    stripe_setup_mode_saves_the_method_the_session_names,
    default_and_remove_and_other_accounts_see_nothing,
    enrolling_stores_the_consent_once_and_cancel_turns_it_off,
);

/// Saves a sandbox method of `choice` through the pages; the final page.
async fn save_in_sandbox(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    kind: &str,
    choice: &str,
) -> String {
    let base = format!("/accounts/{customer_id}/payment-methods");
    let started = app.post_form_with(client, &base, &[("kind", kind)]).await;
    assert_eq!(started.status(), 303);
    let setup_url = location(&started);
    assert!(setup_url.contains("/sandbox/setup/"), "{setup_url}");
    let setup_path = setup_url.trim_start_matches(&app.address).to_owned();
    let page = app.get_with(client, &setup_path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Nothing is charged"), "{html}");
    let chosen = app
        .post_form_with(client, &setup_path, &[("method", choice)])
        .await;
    assert_eq!(chosen.status(), 303);
    let back = location(&chosen);
    let back_path = back.trim_start_matches(&app.address).to_owned();
    assert!(
        back_path.starts_with(&format!("{base}/return?key=")),
        "{back}"
    );
    let returned = app.get_with(client, &back_path).await;
    assert_eq!(location(&returned), format!("{base}?outcome=saved"));
    // A reload of the return URL saves nothing more.
    let again = app.get_with(client, &back_path).await;
    assert_eq!(location(&again), format!("{base}?outcome=saved"));
    app.get_with(client, &format!("{base}?outcome=saved"))
        .await
        .text()
        .await
        .unwrap()
}

async fn a_card_saved_in_the_sandbox_is_listed_and_nothing_is_charged(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let payments_before = app.count("SELECT COUNT(*) FROM payments").await;
    let client = app.signed_in_client(PAYER).await;
    let html = save_in_sandbox(&app, &client, customer_id, "card", "card_ok").await;
    assert!(html.contains("Saved. Nothing was charged."), "{html}");
    assert!(html.contains("Visa card ending 4242"), "{html}");
    assert!(html.contains("Expires 12/2034"), "{html}");
    assert!(html.contains("Default"), "{html}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM saved_payment_methods")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments").await,
        payments_before,
        "saving charges nothing"
    );
    // A bank account too; the first method stays the default.
    let html = save_in_sandbox(&app, &client, customer_id, "ach", "ach_ok").await;
    assert!(html.contains("ending 6789"), "{html}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM saved_payment_methods WHERE is_default = 1")
            .await,
        1
    );
}

async fn stripe_setup_mode_saves_the_method_the_session_names(backend: Backend) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe_options(backend, &fake)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let client = app.signed_in_client(PAYER).await;
    let base = format!("/accounts/{customer_id}/payment-methods");
    let started = app
        .post_form_with(&client, &base, &[("kind", "card")])
        .await;
    assert_eq!(started.status(), 303);
    let checkout = location(&started);
    assert!(
        checkout.starts_with("https://checkout.stripe.test/c/pay/cs_fake_"),
        "{checkout}"
    );
    let sent = &fake.requests("POST", "/v1/checkout/sessions")[0];
    assert_eq!(sent.field("mode"), Some("setup"));
    assert_eq!(sent.field("payment_method_types[0]"), Some("card"));
    assert!(sent.field("customer").unwrap().starts_with("cus_fake_"));
    assert!(sent
        .field("line_items[0][price_data][unit_amount]")
        .is_none());
    assert!(sent.headers["idempotency-key"].starts_with("portal-setup-"));
    let success = sent.field("success_url").unwrap().to_owned();
    let session_id = checkout.rsplit('/').next().unwrap().to_owned();

    // Back before finishing: nothing saved.
    let back = success
        .replace("{CHECKOUT_SESSION_ID}", &session_id)
        .trim_start_matches(&app.address)
        .to_owned();
    let early = app.get_with(&client, &back).await;
    assert_eq!(location(&early), format!("{base}?outcome=left"));
    fake.complete_setup(&session_id, "pm_fake_visa_1", "card");
    let done = app.get_with(&client, &back).await;
    assert_eq!(location(&done), format!("{base}?outcome=saved"));
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (pm, last4): (String, String) = sqlx::query_as(
        "SELECT gateway_method_id, last4 FROM saved_payment_methods WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!((pm.as_str(), last4.as_str()), ("pm_fake_visa_1", "4242"));
    assert!(fake.requests("POST", "/v1/payment_intents").is_empty());

    // Removing detaches it at Stripe.
    let method_id: i64 = sqlx::query_scalar("SELECT method_id FROM saved_payment_methods")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let removed = app
        .post_form_with(&client, &format!("{base}/{method_id}/remove"), &[])
        .await;
    assert_eq!(location(&removed), format!("{base}?outcome=removed"));
    assert_eq!(
        fake.requests("POST", "/v1/payment_methods/pm_fake_visa_1/detach")
            .len(),
        1
    );
}

async fn default_and_remove_and_other_accounts_see_nothing(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let client = app.signed_in_client(PAYER).await;
    save_in_sandbox(&app, &client, customer_id, "card", "card_ok").await;
    save_in_sandbox(&app, &client, customer_id, "ach", "ach_ok").await;
    let ids: Vec<i64> = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT method_id FROM saved_payment_methods ORDER BY method_id")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    let base = format!("/accounts/{customer_id}/payment-methods");
    for _ in 0..2 {
        let r = app
            .post_form_with(&client, &format!("{base}/{}/default", ids[1]), &[])
            .await;
        assert_eq!(location(&r), format!("{base}?outcome=default"));
    }
    assert_eq!(
        app.count(&format!(
            "SELECT method_id FROM saved_payment_methods WHERE is_default = 1"
        ))
        .await,
        ids[1]
    );
    // Someone of another account: 404, and nothing changes.
    let other = app.signed_in_client("shared@holding.example").await;
    let r = app
        .post_form_with(&other, &format!("{base}/{}/remove", ids[0]), &[])
        .await;
    assert_eq!(r.status(), 404);
    let page = app.get_with(&other, &base).await;
    assert_eq!(page.status(), 404);
    // A viewer sees the list but cannot change it.
    let viewer = app.signed_in_client("controller@northwind.example").await;
    let r = app
        .post_form_with(&viewer, &base, &[("kind", "card")])
        .await;
    assert_eq!(location(&r), format!("{base}?problem=role"));
    for _ in 0..2 {
        let r = app
            .post_form_with(&client, &format!("{base}/{}/remove", ids[1]), &[])
            .await;
        assert_eq!(location(&r), format!("{base}?outcome=removed"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM saved_payment_methods WHERE removed_at IS NULL")
            .await,
        1
    );
    // The remaining method became the default.
    assert_eq!(
        app.count("SELECT method_id FROM saved_payment_methods WHERE is_default = 1")
            .await,
        ids[0]
    );
}

async fn enrolling_stores_the_consent_once_and_cancel_turns_it_off(backend: Backend) {
    let app = spawn_app_with(AppOptions::new(backend)).await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let client = app.signed_in_client(PAYER).await;
    let path = format!("/accounts/{customer_id}/autopay");
    let page = app.get_with(&client, &path).await.text().await.unwrap();
    assert!(page.contains("save a card or bank account"), "{page}");
    save_in_sandbox(&app, &client, customer_id, "card", "card_ok").await;
    let method_id = app
        .count("SELECT method_id FROM saved_payment_methods")
        .await
        .to_string();
    let page = app.get_with(&client, &path).await.text().await.unwrap();
    assert!(page.contains("Autopay terms (version 1)"), "{page}");
    assert!(page.contains("I authorize"), "{page}");

    let post = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = app.url(&path);
        let origin = app.address.clone();
        async move {
            client
                .post(url)
                .header("origin", origin)
                .header("user-agent", "Autopay-Test/1.0")
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let fields = |agree: bool, days: &str| {
        let mut f = vec![
            ("scope", "up_to".to_owned()),
            ("max_amount", "500.00".to_owned()),
            ("max_currency", "USD".to_owned()),
            ("days_before", days.to_owned()),
            ("method_id", method_id.clone()),
            ("consent_version", "1".to_owned()),
        ];
        if agree {
            f.push(("agree", "yes".to_owned()));
        }
        f
    };
    // Without the box ticked, or with a bad day count: nothing is stored,
    // and the form comes back as typed.
    let r = post(fields(false, "3")).await;
    assert!(location(&r).ends_with("problem=agree"), "{}", location(&r));
    assert!(
        location(&r).contains("max_amount=500.00"),
        "{}",
        location(&r)
    );
    let r = post(fields(true, "11")).await;
    assert!(
        location(&r).ends_with("problem=days_before"),
        "{}",
        location(&r)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM autopay_enrolments").await,
        0
    );

    for _ in 0..2 {
        let r = post(fields(true, "3")).await;
        assert_eq!(location(&r), format!("{path}?outcome=on"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM autopay_enrolments").await,
        1
    );
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let (text, version, ua, ip, days, max): (String, i64, String, Option<String>, i64, i64) =
        sqlx::query_as(
            "SELECT consent_text, consent_version, user_agent, ip, days_before, max_minor FROM autopay_enrolments",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(text.starts_with("I authorize"), "{text}");
    assert!(page.contains(&text), "the stored text is the one shown");
    assert_eq!(
        (version, ua.as_str(), days, max),
        (1, "Autopay-Test/1.0", 3, 50_000)
    );
    assert!(ip.is_some());
    let page = app
        .get_with(&client, &format!("{path}?outcome=on"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Autopay is on"), "{page}");
    assert!(page.contains("every invoice of at most $500.00"), "{page}");
    // The method autopay uses cannot be removed while it is on.
    let r = app
        .post_form_with(
            &client,
            &format!("/accounts/{customer_id}/payment-methods/{method_id}/remove"),
            &[],
        )
        .await;
    assert!(location(&r).ends_with("problem=in_use"), "{}", location(&r));

    for _ in 0..2 {
        let r = app
            .post_form_with(&client, &format!("{path}/cancel"), &[])
            .await;
        assert_eq!(location(&r), format!("{path}?outcome=off"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM autopay_enrolments WHERE canceled_at IS NULL")
            .await,
        0
    );
}
