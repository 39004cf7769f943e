//! Sessions: server-side end, timeouts, the sessions page, cookie flags.

use crate::helpers::{
    cookie_value, location, new_client, set_cookie, spawn_app, spawn_app_with, AppOptions, Backend,
};

crate::on_both_databases!(
    a_signed_out_cookie_is_refused_afterwards,
    idle_sessions_end_after_thirty_minutes,
    sessions_end_at_the_absolute_limit_however_active,
    the_sessions_page_lists_and_ends_sessions,
    sign_out_everywhere_ends_every_session,
    production_cookies_are_secure,
);

async fn a_signed_out_cookie_is_refused_afterwards(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    app.request_link("ap@northwind.example").await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    let response = app
        .post_form_with(&client, "/auth/confirm", &[("token", &mail.token())])
        .await;
    let stolen = cookie_value(&set_cookie(response.headers()).unwrap());
    let northwind = app.customer_id("Northwind Traders").await;
    let page = format!("/accounts/{northwind}");
    assert_eq!(app.get_with(&client, &page).await.status(), 200);

    let out = app.post_form_with(&client, "/auth/sign-out", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/sign-in?signed_out=1");
    assert!(
        set_cookie(out.headers()).unwrap().contains("Max-Age=0"),
        "the cookie is cleared"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        0,
        "the session is gone from the server"
    );

    // Replaying the old cookie gets nothing: not a page, not data.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = replay
        .get(app.url(&page))
        .header("cookie", format!("portal_session={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/sign-in");
    let data = replay
        .post(app.url("/api/account_overview"))
        .header("origin", &app.address)
        .header("cookie", format!("portal_session={stolen}"))
        .form(&[("customer_id", northwind.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sign_out'")
            .await,
        1
    );
}

async fn idle_sessions_end_after_thirty_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let northwind = app.customer_id("Northwind Traders").await;
    let page = format!("/accounts/{northwind}");
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        app.get_with(&client, &page).await.status(),
        200,
        "29 idle minutes: still signed in"
    );
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        app.get_with(&client, &page).await.status(),
        200,
        "activity slides the idle window"
    );
    app.clock.advance(chrono::Duration::minutes(30));
    let response = app.get_with(&client, &page).await;
    assert_eq!(location(&response), "/sign-in?expired=1");
    let html = app
        .get_with(&client, "/sign-in?expired=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your session ended"));
    assert_eq!(
        location(&app.get_with(&client, &page).await),
        "/sign-in",
        "and it stays ended"
    );
}

async fn sessions_end_at_the_absolute_limit_however_active(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options
        .env
        .push(("PORTAL_SESSION_ABSOLUTE_MINUTES", "60".into()));
    let app = spawn_app_with(options).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let northwind = app.customer_id("Northwind Traders").await;
    let page = format!("/accounts/{northwind}");
    for _ in 0..2 {
        app.clock.advance(chrono::Duration::minutes(25));
        assert_eq!(app.get_with(&client, &page).await.status(), 200);
    }
    app.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(
        location(&app.get_with(&client, &page).await),
        "/sign-in?expired=1"
    );
}

async fn the_sessions_page_lists_and_ends_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.signed_in_client("ap@northwind.example").await;
    let phone = app.signed_in_client("ap@northwind.example").await;
    let other_person = app.signed_in_client("payables@northwind.example").await;

    let page = app.get_with(&laptop, "/sessions").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(
        html.matches("Sign out this session").count(),
        1,
        "the other device"
    );
    assert_eq!(html.matches("This device").count(), 1);
    assert!(html.contains("Sign out everywhere"));

    // Whose sessions are whose: ids come from the database.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let ids: Vec<(i64, String)> = sqlx::query_as::<_, (i64, String)>(
        "SELECT s.session_id, c.email FROM sessions s JOIN contacts c ON c.contact_id = s.principal_id ORDER BY s.session_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let phone_id = ids[1].0;
    let other_person_id = ids
        .iter()
        .find(|(_, e)| e == "payables@northwind.example")
        .unwrap()
        .0;

    // Ending somebody else's session is a 404, and it survives.
    let refused = app
        .post_form_with(&laptop, &format!("/sessions/{other_person_id}/end"), &[])
        .await;
    assert_eq!(refused.status(), 404);
    assert_eq!(app.get_with(&other_person, "/sessions").await.status(), 200);

    let ended = app
        .post_form_with(&laptop, &format!("/sessions/{phone_id}/end"), &[])
        .await;
    assert_eq!(location(&ended), "/sessions");
    assert_eq!(
        location(&app.get_with(&phone, "/sessions").await),
        "/sign-in"
    );
    assert_eq!(app.get_with(&laptop, "/sessions").await.status(), 200);
}

async fn sign_out_everywhere_ends_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.signed_in_client("shared@holding.example").await;
    let b = app.signed_in_client("shared@holding.example").await;
    let bystander = app.signed_in_client("ap@northwind.example").await;
    let response = app.post_form_with(&a, "/sessions/end-all", &[]).await;
    assert_eq!(location(&response), "/sign-in?signed_out=1");
    for client in [&a, &b] {
        assert_eq!(
            location(&app.get_with(client, "/sessions").await),
            "/sign-in"
        );
    }
    assert_eq!(
        app.get_with(&bystander, "/sessions").await.status(),
        200,
        "other people stay signed in"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sign_out.everywhere'")
            .await,
        1
    );
}

async fn production_cookies_are_secure(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.env.push(("PORTAL_ENV", "production".into()));
    options
        .env
        .push(("STRIPE_SECRET_KEY", "sk_test_not_used".into()));
    options
        .env
        .push(("STRIPE_WEBHOOK_SECRET", "whsec_not_used".into()));
    options
        .env
        .push(("PORTAL_BASE_URL", "https://billing.example.com".into()));
    let app = spawn_app_with(options).await;
    let client = new_client();
    app.post_form_with(
        &client,
        "/auth/sign-in",
        &[("email", "ap@northwind.example")],
    )
    .await;
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    assert!(mail
        .link()
        .starts_with("https://billing.example.com/auth/confirm?token="));
    let response = app
        .post_form_with(&client, "/auth/confirm", &[("token", &mail.token())])
        .await;
    let cookie = set_cookie(response.headers()).unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        cookie.starts_with("__Host-portal_session="),
        "host-only prefix in production: {cookie}"
    );
    assert!(!cookie.contains("Domain="));
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    // Dev pages do not exist in production.
    assert_eq!(
        app.server_fn(&client, "dev_mailbox", &[]).await.status(),
        404
    );
}
