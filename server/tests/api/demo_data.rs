//! The demo data is what the issue promises, checked against the database
//! with the same derivation the pages use.

use portal_core::domain::invoice_query::{InvoiceQuery, StatusFilter};
use portal_core::domain::{invoice_standing, InvoiceStatus};
use portal_core::repo::invoices::list_page;

use crate::helpers::{spawn_app, Backend};

crate::on_both_databases!(demo_data_is_believable);

async fn demo_data_is_believable(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.count("SELECT COUNT(*) FROM customers").await >= 3);
    assert!(app.count("SELECT COUNT(*) FROM contacts").await >= 8);
    assert_eq!(app.count("SELECT COUNT(*) FROM invoices").await, 300);
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT currency) FROM invoices")
            .await,
        2
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM invoices i WHERE NOT EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.invoice_id)").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invoices i WHERE total_minor <> (SELECT SUM(amount_minor + tax_minor) FROM invoice_lines l WHERE l.invoice_id = i.invoice_id)").await,
        0,
        "totals add up from their lines"
    );
    let span = app
        .count("SELECT COUNT(DISTINCT substr(issue_date, 1, 7)) FROM invoices")
        .await;
    assert!(
        span >= 18,
        "invoices over 18 months ({span} distinct months)"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM customer_contacts cc JOIN contacts c ON c.contact_id = cc.contact_id WHERE c.email = 'shared@holding.example'").await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM contacts WHERE email = 'ap@northwind.example'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM staff_users WHERE email = 'ar@seller.example'")
            .await,
        1
    );
    assert!(
        app.count("SELECT COUNT(*) FROM credit_allocations").await > 0,
        "some invoices are credited"
    );

    // Derived standings: paid, partly paid, overdue between 1 and 120 days.
    let today = app.services.today();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let mut overdue_days = vec![];
    let mut partly_paid = 0;
    for customer in [
        "Northwind Traders",
        "Holding Europe GmbH",
        "Holding Americas Inc.",
        "Contoso Manufacturing",
    ] {
        let id = app.customer_id(customer).await;
        let unpaid = InvoiceQuery {
            status: Some(StatusFilter::Unpaid),
            ..InvoiceQuery::default()
        };
        for row in list_page(&mut conn, id, &unpaid, today, 1_000)
            .await
            .unwrap()
            .rows
        {
            let standing = invoice_standing(&row.facts(), today);
            if row.paid_minor > 0 {
                partly_paid += 1;
            }
            if let InvoiceStatus::Overdue { days } = standing.status {
                overdue_days.push(days);
            }
        }
    }
    drop(conn);
    assert!(partly_paid >= 5, "partly paid invoices: {partly_paid}");
    assert!(
        overdue_days.contains(&1) && overdue_days.contains(&120),
        "overdue edges present"
    );
    assert!(
        overdue_days.iter().all(|d| (1..=120).contains(d)),
        "overdue from 1 to 120 days: {overdue_days:?}"
    );
    assert!(
        app.count("SELECT COUNT(*) FROM payments WHERE status = 'succeeded'")
            .await
            > 100,
        "plenty paid"
    );
}
