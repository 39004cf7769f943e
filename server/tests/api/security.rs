//! Access control and the security baseline.

use std::collections::HashSet;
use std::time::Duration;

use crate::helpers::{
    location, new_client, spawn_app, spawn_app_with, AppOptions, Backend, TestApp,
};

crate::on_both_databases!(
    a_contact_gets_404_for_another_customers_records,
    a_contact_on_two_customers_sees_both,
    server_functions_refuse_the_signed_out,
    cross_origin_state_changes_are_refused,
    security_headers_are_set,
    every_html_answer_carries_the_policy_of_its_own_nonce_under_load,
    the_dev_mailbox_shows_mail_in_development,
);

async fn a_contact_gets_404_for_another_customers_records(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let holding_eu = app.customer_id("Holding Europe GmbH").await;
    let contoso = app.customer_id("Contoso Manufacturing").await;
    for id in [
        holding_eu.to_string(),
        contoso.to_string(),
        "999999".into(),
        "-1".into(),
        "abc".into(),
        "1e3".into(),
    ] {
        let page = app.get_with(&client, &format!("/accounts/{id}")).await;
        assert_eq!(page.status(), 404, "page /accounts/{id}");
        let html = page.text().await.unwrap();
        assert!(html.contains("We couldn't find that page"));
        assert!(
            !html.contains("Holding Europe") && !html.contains("Contoso"),
            "nothing of the other customer leaks"
        );
        let data = app
            .server_fn(&client, "account_overview", &[("customer_id", &id)])
            .await;
        assert_eq!(data.status(), 404, "server fn with {id}");
        assert!(!data.text().await.unwrap().contains("Holding"));
    }
    // The same contact's own account works through both doors.
    let northwind = app.customer_id("Northwind Traders").await.to_string();
    let own = app
        .server_fn(&client, "account_overview", &[("customer_id", &northwind)])
        .await;
    assert_eq!(own.status(), 200);
    let json: serde_json::Value = own.json().await.unwrap();
    assert_eq!(json["customer_name"], "Northwind Traders");
}

async fn a_contact_on_two_customers_sees_both(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("shared@holding.example").await;
    let eu = app.customer_id("Holding Europe GmbH").await;
    let us = app.customer_id("Holding Americas Inc.").await;
    let home = app.get_with(&client, "/").await;
    assert_eq!(
        home.status(),
        200,
        "two accounts: a chooser, not a redirect"
    );
    let html = home.text().await.unwrap();
    assert!(html.contains(&format!("/accounts/{eu}")) && html.contains(&format!("/accounts/{us}")));
    assert!(html.contains("Switch account"));
    for id in [eu, us] {
        assert_eq!(
            app.get_with(&client, &format!("/accounts/{id}"))
                .await
                .status(),
            200
        );
    }
    let eu_page = app
        .get_with(&client, &format!("/accounts/{eu}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(eu_page.contains("€"), "the EUR account shows euro balances");
    let northwind = app.customer_id("Northwind Traders").await;
    assert_eq!(
        app.get_with(&client, &format!("/accounts/{northwind}"))
            .await
            .status(),
        404
    );
}

async fn server_functions_refuse_the_signed_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous = new_client();
    let northwind = app.customer_id("Northwind Traders").await.to_string();
    for (name, form) in [
        (
            "account_overview",
            vec![("customer_id", northwind.as_str())],
        ),
        ("my_sessions", vec![]),
        ("staff_home", vec![]),
    ] {
        let response = app.server_fn(&anonymous, name, &form).await;
        assert_eq!(response.status(), 401, "{name}");
    }
    // Pages send the signed-out to sign in.
    assert_eq!(location(&app.get_with(&anonymous, "/").await), "/sign-in");
    assert_eq!(
        location(&app.get_with(&anonymous, "/sessions").await),
        "/sign-in"
    );
    assert_eq!(
        location(&app.get_with(&anonymous, "/staff").await),
        "/staff/sign-in"
    );
}

async fn cross_origin_state_changes_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let evil = client
        .post(app.url("/auth/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[("email", "payables@northwind.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let no_origin = client
        .post(app.url("/auth/sign-out"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    let cross_site = client
        .post(app.url("/sessions/end-all"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    // Nothing changed: no link was issued, and the session lives on.
    assert_eq!(app.count("SELECT COUNT(*) FROM one_time_tokens").await, 1);
    assert_eq!(app.get_with(&client, "/sessions").await.status(), 200);
    // GET never changes state: sign-out by GET is not a thing.
    let get = app.get_with(&client, "/auth/sign-out").await;
    assert_eq!(get.status(), 405);
    assert_eq!(app.get_with(&client, "/sessions").await.status(), 200);
}

async fn security_headers_are_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let northwind = app.customer_id("Northwind Traders").await;
    for path in [
        format!("/accounts/{northwind}"),
        "/sign-in".into(),
        "/auth/confirm?token=x".into(),
        "/sessions".into(),
    ] {
        let response = app.get_with(&client, &path).await;
        let h = response.headers().clone();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        for directive in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        // Forms post to the portal; "Pay" is redirected (303) to Stripe
        // Checkout, and Chromium applies form-action to that redirect.
        assert_eq!(
            directive(&csp, "form-action"),
            Some("form-action 'self' https://checkout.stripe.com"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("a script nonce")
            .to_owned();
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"<script type="module" nonce="{nonce}">"#)),
            "hydration script carries the header's nonce ({path})"
        );
        assert!(
            !html.contains("<script>"),
            "no inline script without a nonce"
        );
    }
    let a = app.get("/sign-in").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let b = app.get("/sign-in").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(a, b, "a fresh nonce per response");
    let health = app.get("/health").await;
    let other = health.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        other.contains("default-src 'none'") && other.contains("frame-ancestors 'none'"),
        "{other}"
    );
    assert_eq!(directive(&other, "form-action"), Some("form-action 'self'"));
    assert_eq!(health.headers()["x-frame-options"], "DENY");
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}

/// One directive of a Content-Security-Policy, as written.
fn directive<'a>(policy: &'a str, name: &str) -> Option<&'a str> {
    policy
        .split(';')
        .map(str::trim)
        .find(|d| d.split_whitespace().next() == Some(name))
}

/// The nonce of a page policy's `script-src`.
fn policy_nonce(policy: &str) -> Option<String> {
    policy
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .map(str::to_owned)
}

/// A portal serving the files in `site` (its LEPTOS_SITE_ROOT), with
/// hashed asset names if `hash_files`.
async fn spawn_app_serving(
    site: &std::path::Path,
    hash_files: bool,
    mut options: AppOptions,
) -> TestApp {
    options
        .env
        .push(("LEPTOS_SITE_ROOT", site.display().to_string()));
    options
        .env
        .push(("LEPTOS_HASH_FILES", hash_files.to_string()));
    spawn_app_with(options).await
}

/// A page once arrived without its policy (docs/ARCHITECTURE.md, "Known
/// problem"). Hundreds of requests at once, pages signed out and signed in
/// (three sessions) mixed with static files: every HTML answer carries the
/// page policy, with the configured checkout origin, whose nonce is the one
/// on every script of that page and on no other answer; everything else
/// carries the policy that allows nothing.
async fn every_html_answer_carries_the_policy_of_its_own_nonce_under_load(backend: Backend) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    for (file, body) in [
        ("pkg/portal.js", "export default function init() {}"),
        ("pkg/portal.wasm", "\0asm"),
        ("pkg/portal.css", "body { margin: 0 }"),
        ("favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
        ("robots.txt", "User-agent: *"),
    ] {
        std::fs::write(site.path().join(file), body).unwrap();
    }
    let checkout = "https://checkout.example.test";
    let app = spawn_app_serving(
        site.path(),
        false,
        AppOptions {
            env: vec![("STRIPE_CHECKOUT_ORIGIN", checkout.into())],
            ..AppOptions::new(backend)
        },
    )
    .await;
    let northwind = app.customer_id("Northwind Traders").await;
    let europe = app.customer_id("Holding Europe GmbH").await;
    let payer = app.signed_in_client("ap@northwind.example").await;
    let shared = app.signed_in_client("shared@holding.example").await;
    let staff = app.signed_in_staff_client().await;
    let anonymous = new_client();
    let mut kinds: Vec<(&reqwest::Client, String)> = vec![];
    for path in [
        "/sign-in",
        "/staff/sign-in",
        "/auth/confirm?token=x",
        "/sign-in/check-email",
        "/sign-in/link-problem",
        "/no-such-page",
        "/",
    ] {
        kinds.push((&anonymous, path.into()));
    }
    for path in [
        format!("/accounts/{northwind}"),
        format!("/accounts/{northwind}/invoices"),
        format!("/accounts/{northwind}/invoices?status=unpaid&sort=due_date"),
        format!("/accounts/{northwind}/statement"),
        format!("/accounts/{northwind}/payments"),
        "/sessions".into(),
    ] {
        kinds.push((&payer, path));
    }
    kinds.push((&shared, "/".into()));
    kinds.push((&shared, format!("/accounts/{europe}")));
    kinds.push((&staff, "/staff".into()));
    kinds.push((&staff, "/staff/invoice-links".into()));
    for path in [
        "/pkg/portal.js",
        "/pkg/portal.wasm",
        "/pkg/portal.css",
        "/favicon.svg",
        "/robots.txt",
        "/health",
    ] {
        kinds.push((&payer, path.into()));
        kinds.push((&anonymous, path.into()));
    }

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..300 {
        let (client, path) = &kinds[i % kinds.len()];
        let request = client
            .get(app.url(path))
            .header("accept", "text/html")
            .timeout(Duration::from_secs(120))
            .send();
        let path = path.clone();
        requests.spawn(async move {
            let response = request.await.unwrap_or_else(|e| panic!("{path}: {e}"));
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            let (status, content_type, policy) = (
                response.status(),
                header("content-type").unwrap_or_default(),
                header("content-security-policy"),
            );
            (
                path,
                status,
                content_type,
                policy,
                response.text().await.unwrap(),
            )
        });
    }

    let mut nonces = HashSet::new();
    let (mut pages, mut others) = (0, 0);
    while let Some(answer) = requests.join_next().await {
        let (path, status, content_type, policy, body) = answer.unwrap();
        assert!(!status.is_server_error(), "{path}: {status}");
        let policy =
            policy.unwrap_or_else(|| panic!("{path} ({status}): no Content-Security-Policy"));
        if !content_type.starts_with("text/html") {
            others += 1;
            assert_eq!(
                directive(&policy, "default-src"),
                Some("default-src 'none'"),
                "{path} ({content_type})"
            );
            continue;
        }
        pages += 1;
        let nonce = policy_nonce(&policy)
            .unwrap_or_else(|| panic!("{path} ({status}): HTML without the page policy: {policy}"));
        assert_eq!(
            directive(&policy, "form-action"),
            Some(format!("form-action 'self' {checkout}").as_str()),
            "{path}"
        );
        assert!(
            nonces.insert(nonce.clone()),
            "{path}: nonce {nonce} given to two answers"
        );
        let scripts: Vec<&str> = body
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or(""))
            .collect();
        assert!(
            !scripts.is_empty(),
            "{path} ({status}): a page without scripts"
        );
        for tag in &scripts {
            assert!(
                tag.contains(&format!(r#"nonce="{nonce}""#)),
                "{path}: <script{tag}> lacks the header's nonce {nonce}"
            );
        }
        for attribute in body.split(r#"nonce=""#).skip(1) {
            assert!(
                attribute.starts_with(&format!("{nonce}\"")),
                "{path}: a nonce other than the header's {nonce} in the page"
            );
        }
    }
    assert_eq!(pages + others, 300);
    // 17 of the 29 kinds are pages, 16 of them HTML (the signed-out "/" is
    // a bare 303 to /sign-in): 169 HTML answers.
    assert!(
        pages >= 150 && others >= 100,
        "{pages} pages, {others} other answers"
    );
}

async fn the_dev_mailbox_shows_mail_in_development(backend: Backend) {
    let app = spawn_app(backend).await;
    app.request_link("ap@northwind.example").await;
    app.smtp.wait_for("ap@northwind.example", 1).await;
    let page = app.get("/dev/mailbox").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Your sign-in link for the Acme Supply Co. billing portal")
            && html.contains("ap@northwind.example")
    );
}

/// Built assets (cargo-leptos with hash-files and --precompress) go out as
/// the brotli or gzip file the browser accepts, cacheable for a year.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_assets_are_served_precompressed_and_cached_for_a_year() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("portal.abc123.js"), "console.log('plain');").unwrap();
    std::fs::write(pkg.join("portal.abc123.js.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("portal.abc123.js.gz"), b"gzip bytes").unwrap();
    let app = spawn_app_serving(
        site.path(),
        true,
        AppOptions {
            seed: false,
            ..AppOptions::new(Backend::Sqlite)
        },
    )
    .await;

    let client = reqwest::Client::new(); // decompresses nothing (no such features)
    let get = |encoding: &'static str| {
        client
            .get(app.url("/pkg/portal.abc123.js"))
            .header("accept-encoding", encoding)
            .send()
    };
    let br = get("br, gzip").await.unwrap();
    assert_eq!(br.status(), 200);
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(
        br.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let gz = get("gzip").await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gzip bytes");
    let plain = get("identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.text().await.unwrap(), "console.log('plain');");
    let response = client.get(app.url("/pkg/nothing.js")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}
