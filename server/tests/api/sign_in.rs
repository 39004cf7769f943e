//! Magic-link sign-in, as DESIGN.md and the foundation issue describe it.

use crate::helpers::{
    cookie_value, location, new_client, set_cookie, spawn_app, spawn_app_with, AppOptions, Backend,
};

crate::on_both_databases!(
    sign_in_end_to_end_from_the_emailed_link,
    known_and_unknown_emails_get_the_same_answer,
    opening_the_link_never_spends_it,
    a_used_link_is_refused_with_a_way_forward,
    an_expired_link_is_refused,
    malformed_links_are_refused,
    a_contact_link_cannot_sign_in_to_the_staff_area,
    invalid_email_gets_a_clear_message_and_changes_nothing,
    asking_too_often_for_one_email_gets_429_with_retry_after,
    asking_too_often_from_one_ip_gets_429_with_retry_after,
    staff_sign_in_lands_in_the_staff_area,
    a_new_session_id_is_issued_at_sign_in,
    sign_ins_and_failures_are_audited,
);

async fn sign_in_end_to_end_from_the_emailed_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();

    let response = app
        .post_form_with(
            &client,
            "/auth/sign-in",
            &[("email", "AP@Northwind.example ")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in/check-email");

    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    assert!(
        mail.subject.contains("Acme Supply Co."),
        "subject names the seller: {}",
        mail.subject
    );
    assert!(mail.text.contains("expires in 10 minutes"));
    let link = mail.link();
    assert!(
        link.starts_with(&format!("{}/auth/confirm?token=", app.address)),
        "{link}"
    );
    assert!(
        mail.html.contains(&link.replace('&', "&amp;")),
        "the HTML part carries the same link"
    );

    // The link opens a page with a button; it does not sign in by itself.
    let page = app.get_with(&client, &link.replace(&app.address, "")).await;
    assert_eq!(page.status(), 200);
    assert!(
        set_cookie(page.headers()).is_none(),
        "opening the link must not start a session"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"action="/auth/confirm""#)
            && html.contains(&format!(r#"value="{}""#, mail.token()))
    );

    let response = app
        .post_form_with(&client, "/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    let cookie = set_cookie(response.headers()).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-http development does not mark cookies Secure: {cookie}"
    );

    // Home sends a one-account contact straight to that account.
    let home = app.get_with(&client, "/").await;
    let northwind = app.customer_id("Northwind Traders").await;
    assert_eq!(home.status(), 302);
    assert_eq!(location(&home), format!("/accounts/{northwind}"));
    let account = app
        .get_with(&client, &format!("/accounts/{northwind}"))
        .await;
    assert_eq!(account.status(), 200);
    let html = account.text().await.unwrap();
    assert!(
        html.contains("Northwind Traders")
            && html.contains("Oldest open invoices")
            && html.contains("Overdue 120 days")
    );
}

async fn known_and_unknown_emails_get_the_same_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let known = app.request_link("ap@northwind.example").await;
    let unknown = app.request_link("nobody@unknown.example").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(location(&known), location(&unknown));
    let (known_body, unknown_body) = (known.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(known_body, unknown_body);

    // The page they land on is the same too.
    let a = app.get("/sign-in/check-email").await.text().await.unwrap();
    assert!(a.contains("If that address belongs to an account"));

    // The answer comes after the request's transaction: what it queued
    // for delivery is in the outbox by now, and it is one email.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_outbox WHERE to_address = 'nobody@unknown.example'")
            .await,
        0,
        "no mail to unknown addresses"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM email_outbox").await, 1);
    app.smtp.wait_for("ap@northwind.example", 1).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM one_time_tokens").await, 1);
}

async fn opening_the_link_never_spends_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    let path = mail.link().replace(&app.address, "");
    // A mail scanner fetches the link several times, with GET and HEAD.
    for _ in 0..3 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    let head = app.client.head(app.url(&path)).send().await.unwrap();
    assert!(head.status().is_success());
    let scanner_page = app.get(&path).await.text().await.unwrap();
    assert!(
        scanner_page.contains(">Sign in<"),
        "still usable after scanning"
    );

    let response = app
        .post_form("/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(location(&response), "/");
}

async fn a_used_link_is_refused_with_a_way_forward(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    let first = app
        .post_form_with(&new_client(), "/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(location(&first), "/");

    let second_client = new_client();
    let second = app
        .post_form_with(&second_client, "/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(second.status(), 303);
    assert_eq!(location(&second), "/sign-in/link-problem?reason=used");
    assert!(set_cookie(second.headers()).is_none());
    let page = app
        .get_with(&second_client, "/sign-in/link-problem?reason=used")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already been used") && page.contains("Email me a new link"));
    let confirm_page = app
        .get(&mail.link().replace(&app.address, ""))
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm_page.contains("already been used"));
    // Signed out: the account page sends this client to sign in.
    let northwind = app.customer_id("Northwind Traders").await;
    let account = app
        .get_with(&second_client, &format!("/accounts/{northwind}"))
        .await;
    assert_eq!(location(&account), "/sign-in");
}

async fn an_expired_link_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    app.clock
        .advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    let page = app
        .get(&mail.link().replace(&app.address, ""))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("This link has expired"));
    let response = app
        .post_form("/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(location(&response), "/sign-in/link-problem?reason=expired");
    assert!(set_cookie(response.headers()).is_none());
}

async fn malformed_links_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for token in [
        "",
        "abc",
        "not-a-token-at-all-but-long-enough-to-look-like-one-xx",
        "%00%00",
    ] {
        let page = app.get(&format!("/auth/confirm?token={token}")).await;
        assert_eq!(page.status(), 200);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("This link doesn't work"),
            "token {token:?}"
        );
        let response = app.post_form("/auth/confirm", &[("token", token)]).await;
        assert_eq!(location(&response), "/sign-in/link-problem?reason=invalid");
    }
    // A well-formed token that was never issued.
    let forged = "A".repeat(43);
    let response = app.post_form("/auth/confirm", &[("token", &forged)]).await;
    assert_eq!(location(&response), "/sign-in/link-problem?reason=invalid");
    let missing = app.post_form("/auth/confirm", &[]).await;
    assert_eq!(location(&missing), "/sign-in/link-problem?reason=invalid");
}

async fn a_contact_link_cannot_sign_in_to_the_staff_area(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    let response = app
        .post_form("/staff/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(
        location(&response),
        "/staff/sign-in/link-problem?reason=invalid"
    );
    // Nor does a staff address get a contact link.
    let outbox = app.count("SELECT COUNT(*) FROM email_outbox").await;
    assert_eq!(app.request_link("ar@seller.example").await.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_outbox").await,
        outbox,
        "nothing queued for a staff address asking in the contact area"
    );
    // The contact link still works where it belongs.
    let response = app
        .post_form("/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(location(&response), "/");
}

async fn invalid_email_gets_a_clear_message_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.count("SELECT COUNT(*) FROM sign_in_requests").await;
    for bad in ["", "not-an-email", "a@b", "<script>@x.com"] {
        let response = app.request_link(bad).await;
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), "/sign-in?error=invalid_email");
    }
    let page = app
        .get("/sign-in?error=invalid_email")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Enter an email address like name@company.com"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sign_in_requests").await,
        before
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM email_outbox").await, 0);
}

async fn asking_too_often_for_one_email_gets_429_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    for email in ["ap@northwind.example", "ghost@unknown.example"] {
        for _ in 0..5 {
            assert_eq!(app.request_link(email).await.status(), 303);
        }
        let limited = app.request_link(email).await;
        assert_eq!(limited.status(), 429, "{email}");
        let retry: u64 = limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= 15 * 60, "Retry-After {retry}");
        assert!(limited
            .text()
            .await
            .unwrap()
            .contains("Please try again in"));
    }
    // Exactly five links went out; the sixth request created none.
    assert_eq!(app.count("SELECT COUNT(*) FROM one_time_tokens").await, 5);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_outbox WHERE to_address = 'ap@northwind.example'")
            .await,
        5
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM email_outbox").await, 5);
    // The window passes and the address may ask again.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(app.request_link("ap@northwind.example").await.status(), 303);
}

async fn asking_too_often_from_one_ip_gets_429_with_retry_after(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.env.push(("PORTAL_SIGN_IN_IP_BURST", "4".into()));
    options
        .env
        .push(("PORTAL_SIGN_IN_IP_REFILL_SECONDS", "60".into()));
    let app = spawn_app_with(options).await;
    for n in 0..4 {
        assert_eq!(
            app.request_link(&format!("person{n}@example.com"))
                .await
                .status(),
            303
        );
    }
    let limited = app.request_link("person9@example.com").await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sign_in_requests").await,
        4,
        "the refused request was not recorded"
    );
    // Redeeming links draws on the same per-IP budget: no guessing spree.
    let guess = app
        .post_form("/auth/confirm", &[("token", &"C".repeat(43))])
        .await;
    assert_eq!(guess.status(), 429);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in.failed'")
            .await,
        0
    );
}

async fn staff_sign_in_lands_in_the_staff_area(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    let response = app
        .post_form_with(
            &client,
            "/staff/auth/sign-in",
            &[("email", "ar@seller.example")],
        )
        .await;
    assert_eq!(location(&response), "/staff/sign-in/check-email");
    let mail = app.smtp.wait_for("ar@seller.example", 1).await;
    assert!(mail.link().contains("/staff/auth/confirm?token="));
    assert!(mail.subject.contains("AR workspace"));
    let response = app
        .post_form_with(&client, "/staff/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(location(&response), "/staff");
    let page = app.get_with(&client, "/staff").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        // 300 invoices of the main accounts, 8 of the world customers, 1
        // with an early-payment discount (issue 13).
        html.contains("Welcome, Alex Rivera") && html.contains("309"),
        "staff landing shows the portfolio"
    );
    // Customer pages are not the staff's: they are sent to their own area.
    let northwind = app.customer_id("Northwind Traders").await;
    assert_eq!(
        location(
            &app.get_with(&client, &format!("/accounts/{northwind}"))
                .await
        ),
        "/staff"
    );
    // And a contact is kept out of the staff area.
    let contact = app.signed_in_client("ap@northwind.example").await;
    let refused = app.get_with(&contact, "/staff").await;
    assert_eq!(refused.status(), 303);
    assert_eq!(location(&refused), "/staff/sign-in");
    assert_eq!(
        app.server_fn(&contact, "staff_home", &[]).await.status(),
        401
    );
}

async fn a_new_session_id_is_issued_at_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    // An attacker plants a session cookie before the victim signs in.
    let planted = "cG9ydGFsLXNlc3Npb24tZml4";
    let client = new_client();
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    let response = client
        .post(app.url("/auth/confirm"))
        .header("origin", &app.address)
        .header("cookie", format!("portal_session={planted}"))
        .form(&[("token", mail.token())])
        .send()
        .await
        .unwrap();
    let issued = cookie_value(&set_cookie(response.headers()).unwrap());
    assert_ne!(issued, planted);
    // The planted id does not get anyone in.
    let attacker = new_client();
    let northwind = app.customer_id("Northwind Traders").await;
    let response = attacker
        .get(app.url(&format!("/accounts/{northwind}")))
        .header("cookie", format!("portal_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/sign-in");
    // Signing in again gives yet another id.
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 2).await;
    let response = new_client()
        .post(app.url("/auth/confirm"))
        .header("origin", &app.address)
        .form(&[("token", mail.token())])
        .send()
        .await
        .unwrap();
    let again = cookie_value(&set_cookie(response.headers()).unwrap());
    assert_ne!(again, issued);
    assert_ne!(again, planted);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE principal_kind = 'contact'")
            .await,
        2
    );
}

async fn sign_ins_and_failures_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let _client = app.signed_in_client("ap@northwind.example").await;
    app.post_form("/auth/confirm", &[("token", &"B".repeat(43))])
        .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in.succeeded'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in.failed'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in.link_sent'")
            .await,
        1
    );
    // The audit log never holds the token or the raw unknown email.
    app.request_link("stranger@nowhere.example").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE detail LIKE '%stranger@%'")
            .await,
        0
    );
}
