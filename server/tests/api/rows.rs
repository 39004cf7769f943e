//! A value in the database that the domain cannot read (a corrupted
//! currency, an impossible date) is an error that names its table and
//! column, logged, and a plain 500 for the person: never a quiet default
//! (an invoice shown in dollars, a due date in year 1).

use portal_core::services::payments::Payer;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(a_corrupted_currency_or_date_is_a_logged_error_naming_the_column);

/// Everything the portal logs in this test process (installed once, for
/// all tests: assertions look for their own words only).
pub(crate) fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        // Another test module may have installed one first; then this
        // module's assertions on logs would fail loudly, not pass quietly.
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn corrupt(app: &TestApp, sql: &str) {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
}

async fn a_corrupted_currency_or_date_is_a_logged_error_naming_the_column(backend: Backend) {
    let logs = captured_logs();
    let app = spawn_app(backend).await;
    let client = app.signed_in_client("ap@northwind.example").await;
    let customer_id = app.customer_id("Northwind Traders").await;
    let (first, second) = {
        let ids: Vec<i64> = {
            let mut conn = app.services.db.pool.acquire().await.unwrap();
            sqlx::query_scalar("SELECT invoice_id FROM invoices WHERE customer_id = $1 ORDER BY invoice_id LIMIT 2")
                .bind(customer_id)
                .fetch_all(&mut *conn)
                .await
                .unwrap()
        };
        (ids[0], ids[1])
    };
    for (invoice_id, sql, column) in [
        (
            first,
            format!("UPDATE invoices SET currency = 'U$D' WHERE invoice_id = {first}"),
            "invoices.currency",
        ),
        (
            second,
            format!("UPDATE invoices SET due_date = '2026-02-30' WHERE invoice_id = {second}"),
            "invoices.due_date",
        ),
    ] {
        corrupt(&app, &sql).await;
        let page = app
            .get_with(
                &client,
                &format!("/accounts/{customer_id}/invoices/{invoice_id}"),
            )
            .await;
        assert_eq!(page.status(), 500, "{column}");
        let body = page.text().await.unwrap();
        assert!(
            !body.contains(column) && !body.contains("U$D") && !body.contains("2026-02-30"),
            "no detail shown: {body}"
        );
        // The service says which column, and so does the log.
        let contact = {
            let mut conn = app.services.db.pool.acquire().await.unwrap();
            sqlx::query_scalar::<_, i64>(
                "SELECT contact_id FROM contacts WHERE email = 'ap@northwind.example'",
            )
            .fetch_one(&mut *conn)
            .await
            .unwrap()
        };
        let error = app
            .services
            .payment_choice(Payer::Contact(contact), customer_id, &[invoice_id])
            .await
            .expect_err("a corrupted row is an error");
        assert!(format!("{error:?}").contains(column), "{error:?}");
        let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        assert!(logged.contains(column), "the log names {column}");
        // Fixed by hand, the invoice reads again.
        corrupt(&app, &format!("UPDATE invoices SET currency = 'USD', due_date = '2026-02-28' WHERE invoice_id = {invoice_id}")).await;
    }
}
