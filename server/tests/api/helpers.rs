//! `spawn_app()` and the fakes around it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portal_core::clock::ManualClock;
use portal_core::{Config, Services};
use reqwest::header::{HeaderMap, ORIGIN};
use reqwest::redirect::Policy;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed test once per database engine: `sqlite::name` and
/// `postgres::name`. The PostgreSQL run needs TEST_DATABASE_URL (an admin
/// URL; each test creates its own database) and fails without it. To run
/// without a PostgreSQL server, build the tests with
/// `PORTAL_TEST_SKIP_POSTGRES=1` (read by server/build.rs): the PostgreSQL
/// variants are then ignored, and the test summary counts them as such.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(skip_postgres, ignore = "PORTAL_TEST_SKIP_POSTGRES=1")]
                async fn $name() {
                    $crate::helpers::require_postgres();
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Fails the test unless TEST_DATABASE_URL names a PostgreSQL server: a
/// PostgreSQL test never passes without running.
pub fn require_postgres() {
    let configured = std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty());
    assert!(
        configured,
        "TEST_DATABASE_URL is not set: start a server (`scripts/postgres.sh start` prints the URL) \
         or build the tests with PORTAL_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL variants"
    );
}

/// A message as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every header (name, value) as received, in order.
    pub headers: Vec<(String, String)>,
}

impl ReceivedMail {
    /// The first portal link in the plain-text part.
    pub fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("the email has a link")
            .to_owned()
    }

    pub fn token(&self) -> String {
        self.link()
            .split("token=")
            .nth(1)
            .expect("link has a token")
            .to_owned()
    }
}

/// A real SMTP server on loopback: speaks enough of RFC 5321 for lettre,
/// keeps what it receives, and can be told to refuse mail (451) to test
/// retries.
#[derive(Clone, Default)]
pub struct SmtpServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    refusing: Arc<Mutex<bool>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = SmtpServer {
            port: listener.local_addr().unwrap().port(),
            ..Default::default()
        };
        let handle = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handle = handle.clone();
                tokio::spawn(async move {
                    let _ = handle.session(stream).await;
                });
            }
        });
        server
    }

    pub fn refuse_mail(&self, refuse: bool) {
        *self.refusing.lock().unwrap() = refuse;
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 test-smtp ready\r\n").await?;
        let mut to = Vec::new();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-test-smtp\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("MAIL FROM") {
                if *self.refusing.lock().unwrap() {
                    b"451 4.3.0 try again later\r\n"
                } else {
                    to.clear();
                    b"250 OK\r\n"
                }
            } else if upper.starts_with("RCPT TO") {
                let address = line[8..]
                    .trim()
                    .trim_start_matches(':')
                    .trim()
                    .trim_matches(|c| c == '<' || c == '>')
                    .to_owned();
                to.push(address);
                b"250 OK\r\n"
            } else if upper.starts_with("DATA") {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut raw = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    raw.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                }
                self.inbox.lock().unwrap().push(parse_mail(to.clone(), raw));
                b"250 OK queued\r\n"
            } else if upper.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"250 OK\r\n"
            };
            write.write_all(reply).await?;
        }
    }

    pub fn messages_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .cloned()
            .collect()
    }

    pub fn count(&self) -> usize {
        self.inbox.lock().unwrap().len()
    }

    /// Waits (up to 10 s) for the n-th email to `address` and returns it.
    pub async fn wait_for(&self, address: &str, nth: usize) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(m) = self.messages_to(address).get(nth - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email #{nth} to {address} within 10 s");
    }
}

fn parse_mail(to: Vec<String>, raw: String) -> ReceivedMail {
    let parsed = mailparse::parse_mail(raw.as_bytes()).expect("a MIME message");
    let subject = parsed
        .headers
        .iter()
        .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
        .map(|h| h.get_value())
        .unwrap_or_default();
    let mut text = String::new();
    let mut html = String::new();
    for part in parsed.parts() {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().unwrap(),
            "text/html" => html = part.get_body().unwrap(),
            _ => {}
        }
    }
    let headers = parsed
        .headers
        .iter()
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    ReceivedMail {
        to,
        subject,
        text,
        html,
        headers,
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub smtp: SmtpServer,
    pub clock: ManualClock,
    pub services: Services,
    pub worker: portal_core::email::worker::OutboxWorker,
    pub database_url: String,
    _dir: Option<Arc<tempfile::TempDir>>,
}

pub struct AppOptions {
    pub backend: Backend,
    pub env: Vec<(&'static str, String)>,
    pub seed: bool,
    pub run_worker: bool,
    /// Reuse this database (a "restart" of the same deployment).
    pub database_url: Option<String>,
    pub smtp: Option<SmtpServer>,
    pub clock: Option<ManualClock>,
    /// Wraps the portal's router before it is served (e.g. a layer that
    /// makes requests look as if they came from another machine).
    pub wrap_router: Option<fn(axum::Router) -> axum::Router>,
}

impl AppOptions {
    pub fn new(backend: Backend) -> Self {
        AppOptions {
            backend,
            env: vec![],
            seed: true,
            run_worker: true,
            database_url: None,
            smtp: None,
            clock: None,
            wrap_router: None,
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(AppOptions::new(backend)).await
}

async fn fresh_database(backend: Backend) -> (String, Option<Arc<tempfile::TempDir>>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            (
                format!("sqlite://{}/portal.db", dir.path().display()),
                Some(Arc::new(dir)),
            )
        }
        Backend::Postgres => {
            let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let name = format!("portal_test_{:016x}", rand::random::<u64>());
            sqlx::any::install_default_drivers();
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&format!("/{name}"));
            (url.to_string(), None)
        }
    }
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let (database_url, dir) = match options.database_url {
        Some(url) => (url, None),
        None => fresh_database(options.backend).await,
    };
    let smtp = match options.smtp {
        Some(s) => s,
        None => SmtpServer::start().await,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");

    let mut vars: HashMap<&str, String> = HashMap::new();
    vars.insert("DATABASE_URL", database_url.clone());
    vars.insert("PORTAL_BASE_URL", address.clone());
    vars.insert("SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port));
    // The LEPTOS_* settings come from here too (e.g. LEPTOS_SITE_ROOT for a
    // test that serves files of its own), never from the environment.
    vars.insert("LEPTOS_HASH_FILES", "false".into());
    for (k, v) in options.env {
        vars.insert(k, v);
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration");
    let leptos_options =
        server::leptos_options(|k| vars.get(k).cloned()).expect("test Leptos options");
    let clock = options.clock.unwrap_or_default();
    let mut portal = server::build(config, leptos_options, Arc::new(clock.clone()), None)
        .await
        .expect("portal builds");
    if let Some(wrap) = options.wrap_router {
        portal.router = wrap(portal.router);
    }
    if options.seed {
        portal_core::seed::seed_demo(&portal.services)
            .await
            .expect("demo data");
    }
    let services = portal.services.clone();
    let worker = portal.worker.clone();
    if options.run_worker {
        tokio::spawn(server::serve(portal, listener));
    } else {
        // Serve without the outbox worker: what a process that dies right
        // after committing looks like to its mail.
        let router = portal.router;
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
    }
    TestApp {
        address,
        client: new_client(),
        smtp,
        clock,
        services,
        worker,
        database_url,
        _dir: dir,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests
/// look at them). A 15 s timeout turns a stalled response into a failure.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_with(&self.client, path, form).await
    }

    pub async fn post_form_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header(ORIGIN, &self.address)
            .header("accept", "text/html")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function the way the hydrated app does.
    pub async fn server_fn(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{name}")))
            .header(ORIGIN, &self.address)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The `statement` server function for `from..=to` (text as typed).
    pub async fn statement_fn(
        &self,
        client: &reqwest::Client,
        customer_id: i64,
        from: &str,
        to: &str,
    ) -> reqwest::Response {
        self.server_fn(
            client,
            "statement",
            &[
                ("customer_id", &customer_id.to_string()),
                ("from", from),
                ("to", to),
            ],
        )
        .await
    }

    pub async fn request_link(&self, email: &str) -> reqwest::Response {
        self.post_form("/auth/sign-in", &[("email", email)]).await
    }

    /// Full sign-in through the emailed link, on a fresh client. Returns it.
    pub async fn signed_in_client(&self, email: &str) -> reqwest::Client {
        let client = new_client();
        let before = self.smtp.messages_to(email).len();
        let response = self
            .post_form_with(&client, "/auth/sign-in", &[("email", email)])
            .await;
        assert_eq!(response.status(), 303, "asking for a link");
        let mail = self.smtp.wait_for(email, before + 1).await;
        let response = self
            .post_form_with(&client, "/auth/confirm", &[("token", &mail.token())])
            .await;
        assert_eq!(response.status(), 303, "confirming the link");
        client
    }

    /// An AR admin (seeded `ar@seller.example`) signed in through the staff link.
    pub async fn signed_in_staff_client(&self) -> reqwest::Client {
        let email = "ar@seller.example";
        let client = new_client();
        let before = self.smtp.messages_to(email).len();
        let response = self
            .post_form_with(&client, "/staff/auth/sign-in", &[("email", email)])
            .await;
        assert_eq!(response.status(), 303, "asking for a staff link");
        let mail = self.smtp.wait_for(email, before + 1).await;
        let response = self
            .post_form_with(&client, "/staff/auth/confirm", &[("token", &mail.token())])
            .await;
        assert_eq!(response.status(), 303, "confirming the staff link");
        client
    }

    pub async fn customer_id(&self, name: &str) -> i64 {
        let mut conn = self.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT customer_id FROM customers WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("portal_session=") || c.starts_with("__Host-portal_session="))
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-")
        .trim_start_matches("portal_session=")
        .to_owned()
}

// ---------------------------------------------------------------------------
// Disputes and AR staff (issue 11): what the request, SLA and staff tests
// share. Northwind's admin raises the disputes, on the seeded calendar.
// ---------------------------------------------------------------------------

/// A local time in New York in the week of Monday 11 January 2027 (no
/// holidays that week; Monday 18th is one). January is standard time,
/// UTC-5 (this crate does not depend on chrono-tz).
pub fn ny(day: u32, hour: u32, minute: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(2027, 1, day, 0, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from((hour + 5) * 60 + minute))
}

/// Moves the test clock to `to`.
pub fn set_clock(app: &TestApp, to: chrono::DateTime<chrono::Utc>) {
    app.clock.advance(to - app.clock.now_for_tests());
}

pub async fn staff_id(app: &TestApp, email: &str) -> i64 {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT staff_id FROM staff_users WHERE email = $1")
        .bind(email)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

pub async fn northwind(app: &TestApp) -> i64 {
    app.customer_id("Northwind Traders").await
}

/// Northwind's open USD invoices owing more than 50.00: (invoice id,
/// balance), oldest first.
pub async fn open_usd_invoices(app: &TestApp) -> Vec<(i64, i64)> {
    let customer_id = northwind(app).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT invoice_id, balance_minor FROM invoices
         WHERE customer_id = $1 AND balance_minor > 5000 AND voided_at IS NULL AND currency = 'USD'
         ORDER BY invoice_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// What the contact may see, as the session guard reads it (owned, so
/// `&access_of(..).await` is what the services take).
pub async fn access_of(app: &TestApp, email: &str) -> portal_core::services::access::ContactAccess {
    let access = app
        .services
        .contact_access(crate::payments::contact_id(app, email).await)
        .await
        .unwrap()
        .unwrap();
    (*access).clone()
}

/// A dispute of the whole invoice about its price, with `files`. Other
/// scopes: `RaiseDispute { scope, amount_text, ..pricing_dispute(files) }`.
pub fn pricing_dispute(
    files: Vec<(String, Vec<u8>)>,
) -> portal_core::services::requests::RaiseDispute {
    portal_core::services::requests::RaiseDispute {
        scope: portal_core::domain::request::DisputeScope::Invoice,
        line_ids: Vec::new(),
        amount_text: String::new(),
        reason_code: "pricing".into(),
        message: "The unit price is not the one in our contract.".into(),
        files,
    }
}

/// The Northwind contact `email` raises `dispute` on the invoice now,
/// through the service: the request id.
pub async fn raise_as(
    app: &TestApp,
    email: &str,
    invoice_id: i64,
    dispute: portal_core::services::requests::RaiseDispute,
) -> i64 {
    app.services
        .raise_dispute(
            &access_of(app, email).await,
            northwind(app).await,
            invoice_id,
            dispute,
            None,
        )
        .await
        .unwrap()
}

/// Northwind's admin disputes the whole invoice now: the request id.
pub async fn raise_whole_invoice(app: &TestApp, invoice_id: i64) -> i64 {
    raise_as(
        app,
        "ap@northwind.example",
        invoice_id,
        pricing_dispute(Vec::new()),
    )
    .await
}

/// Signs in through the emailed link on a fresh client, as a staff user
/// (`staff`) or a contact. The link mail is picked by its token, as request
/// notices may reach the same mailbox meanwhile. Sign in after moving the
/// clock: sessions end after 30 idle minutes of the test clock.
pub async fn signed_in_as(app: &TestApp, email: &str, staff: bool) -> reqwest::Client {
    let area = if staff { "/staff/auth" } else { "/auth" };
    let client = new_client();
    let before = app.smtp.messages_to(email).len();
    let response = app
        .post_form_with(&client, &format!("{area}/sign-in"), &[("email", email)])
        .await;
    assert_eq!(response.status(), 303, "asking for a link");
    let mut token = None;
    for _ in 0..200 {
        token = app.smtp.messages_to(email)[before..]
            .iter()
            .find(|m| m.text.contains("token="))
            .map(|m| m.token());
        if token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = token.expect("a sign-in link within 10 s");
    let response = app
        .post_form_with(&client, &format!("{area}/confirm"), &[("token", &token)])
        .await;
    assert_eq!(response.status(), 303, "confirming the link");
    client
}

/// The HTML of a page that must answer 200.
pub async fn page_html(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = app.get_with(client, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}
