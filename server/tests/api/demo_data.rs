//! The demo data is what the issue promises, checked against the database
//! with the same derivation the pages use.

use portal_core::domain::invoice_query::{InvoiceQuery, StatusFilter};
use portal_core::domain::{invoice_standing, InvoiceStatus};
use portal_core::repo::invoices::list_page;

use crate::helpers::{spawn_app, Backend};

crate::on_both_databases!(
    demo_data_is_believable,
    demo_disputes_fill_the_queue_in_every_state,
    demo_reminders_show_cadences_a_pause_and_promises
);

async fn demo_data_is_believable(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.count("SELECT COUNT(*) FROM customers").await >= 3);
    assert!(app.count("SELECT COUNT(*) FROM contacts").await >= 8);
    // 300 for the four main accounts, 8 for the world customers (issue 15:
    // names and lines in Polish, Japanese, Hebrew and Greek), 1 with an
    // early-payment discount running (issue 13).
    assert_eq!(app.count("SELECT COUNT(*) FROM invoices").await, 309);
    // USD and EUR, and the world customers' PLN, JPY and ILS.
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT currency) FROM invoices")
            .await,
        5
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

/// `portal seed-demo`'s disputes (issue 11 item 8): one in each state, a
/// breached and an at-risk one at the top of AR's queue as seeded, with
/// valid attachments and internal notes; loading them twice adds nothing.
async fn demo_disputes_fill_the_queue_in_every_state(backend: Backend) {
    use portal_core::domain::attachment::check_upload;
    use portal_core::domain::sla::TargetState;
    use portal_core::services::staff_requests::{QueueFilter, Urgency};

    let app = spawn_app(backend).await;
    let summary = portal_core::seed::seed_demo_requests(&app.services)
        .await
        .unwrap();
    assert_eq!(summary.disputes, 7);
    assert!(
        portal_core::seed::seed_demo_requests(&app.services)
            .await
            .unwrap()
            .already_present
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM requests").await, 7);

    let statuses = app
        .count("SELECT COUNT(DISTINCT status) FROM requests")
        .await;
    assert_eq!(statuses, 4, "open, waiting, resolved and withdrawn");
    let status = |s: &str| format!("SELECT COUNT(*) FROM requests WHERE status = '{s}'");
    assert_eq!(app.count(&status("open")).await, 4);
    assert_eq!(app.count(&status("waiting_on_customer")).await, 1);
    assert_eq!(app.count(&status("withdrawn")).await, 1);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM requests r JOIN credit_notes n ON n.customer_id = r.customer_id
             JOIN credit_allocations a ON a.credit_note_id = n.credit_note_id AND a.invoice_id = r.invoice_id
             WHERE r.status = 'resolved' AND r.outcome = 'credit_note'"
        )
        .await,
        1,
        "resolved with a credit note applied to its invoice"
    );
    assert!(
        app.count("SELECT COUNT(*) FROM request_messages WHERE visibility = 'internal'")
            .await
            >= 2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invoices WHERE disputed_minor > 0")
            .await,
        5,
        "each open dispute holds its amount"
    );

    // Every file is one the upload rules accept, and both kinds are there.
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let files = sqlx::query_as::<_, (String, String, Vec<u8>)>(
        "SELECT display_name, kind, content FROM request_attachments",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    for (name, kind, bytes) in &files {
        let checked = check_upload(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(checked.kind.extension(), kind.as_str(), "{name}");
    }
    let kinds: Vec<&str> = files.iter().map(|(_, k, _)| k.as_str()).collect();
    assert!(
        kinds.contains(&"pdf") && kinds.contains(&"png"),
        "{kinds:?}"
    );

    // AR's queue as seeded: the breach first, an at-risk one, the waiting
    // one last.
    let admin = app
        .count("SELECT staff_id FROM staff_users WHERE email = 'ar@seller.example'")
        .await;
    let queue = app
        .services
        .request_queue(admin, QueueFilter::default())
        .await
        .unwrap();
    assert_eq!(queue.len(), 5);
    assert_eq!(queue[0].urgency, Urgency::Breached);
    assert_eq!(queue[0].clock.first_response.state, TargetState::Breached);
    assert!(
        queue
            .iter()
            .any(|r| r.urgency == Urgency::Running && r.at_risk_or_breached()),
        "a request near its breach"
    );
    assert_eq!(queue.last().unwrap().urgency, Urgency::Paused);
}

/// `portal seed-demo`'s reminders (issue 13 item 9), as AR sees them on
/// the settings and customer pages: two cadences, Northwind on the gentler
/// one, Holding Americas paused into the future, a promise kept (its
/// invoice paid) and one broken, a month of sends whose emails all went
/// out, each with its invoice link on the invoice's timeline; loading
/// them twice adds nothing.
async fn demo_reminders_show_cadences_a_pause_and_promises(backend: Backend) {
    use portal_core::seed::{seed_demo_reminders, seed_demo_requests, DEMO_KEY_ACCOUNTS};

    let app = spawn_app(backend).await;
    // In `portal seed-demo`'s order: the disputes first.
    seed_demo_requests(&app.services).await.unwrap();
    let summary = seed_demo_reminders(&app.services).await.unwrap();
    assert_eq!(summary.promises, 2);
    assert!(summary.sends >= 5, "a month of reminders: {summary:?}");
    assert!(summary.emails >= summary.sends / 10, "{summary:?}");
    assert!(
        seed_demo_reminders(&app.services)
            .await
            .unwrap()
            .already_present
    );

    let admin = app
        .count("SELECT staff_id FROM staff_users WHERE email = 'ar@seller.example'")
        .await;
    let today = app.services.today();

    // The settings page: Standard and the gentler Key accounts.
    let settings = app.services.reminder_settings_view(admin).await.unwrap();
    let names: Vec<&str> = settings
        .cadences
        .iter()
        .map(|(c, _)| c.name.as_str())
        .collect();
    assert_eq!(names, vec!["Standard", DEMO_KEY_ACCOUNTS]);
    let offsets = |name: &str| -> Vec<i64> {
        settings
            .cadences
            .iter()
            .find(|(c, _)| c.name == name)
            .map(|(_, steps)| steps.iter().map(|s| s.offset_days).collect())
            .unwrap()
    };
    assert_eq!(offsets("Standard"), vec![-3, 0, 7, 14, 30]);
    assert_eq!(offsets(DEMO_KEY_ACCOUNTS), vec![10, 21, 45]);

    // Northwind follows Key accounts; every automatic reminder it had is
    // one of that cadence's steps, and every email of it went out.
    let northwind = app.customer_id("Northwind Traders").await;
    let view = app
        .services
        .customer_reminders_view(admin, northwind)
        .await
        .unwrap();
    assert_eq!(view.cadence_name, DEMO_KEY_ACCOUNTS);
    assert!(view.paused_until.is_none());
    assert!(!view.sent.is_empty(), "Northwind had reminders");
    for s in &view.sent {
        assert!(
            s.offset_days.is_some_and(|o| [10, 21, 45].contains(&o)),
            "{s:?}"
        );
        assert!(s.sent_at.date_naive() < today + chrono::Duration::days(1));
        assert_eq!(s.emails_sent, s.emails, "sent back then: {s:?}");
        assert_eq!(
            s.emails, 2,
            "Nadia (admin) and Tom (payer), not Lena (viewer)"
        );
    }

    // The promise kept: made in the portal, its invoice paid.
    assert_eq!(view.promises.len(), 1);
    let kept = &view.promises[0];
    assert_eq!(
        (kept.status.as_str(), kept.channel.as_str()),
        ("kept", "portal")
    );
    assert!(kept.promised_on < today);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM promise_invoices pi JOIN invoices i ON i.invoice_id = pi.invoice_id
             WHERE pi.promise_id = {} AND i.balance_minor = 0",
            kept.promise_id
        ))
        .await,
        1,
        "the promised invoice is paid"
    );

    // The promise broken: Holding Europe, its date past, nothing paid, and
    // Jonas was told reminders resume.
    let holding_eu = app.customer_id("Holding Europe GmbH").await;
    let eu = app
        .services
        .customer_reminders_view(admin, holding_eu)
        .await
        .unwrap();
    assert_eq!(eu.cadence_name, "Standard");
    assert_eq!(eu.promises.len(), 1);
    let broken = &eu.promises[0];
    assert_eq!(broken.status, "broken");
    assert!(broken.promised_on < today);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM promise_invoices pi JOIN invoices i ON i.invoice_id = pi.invoice_id
             WHERE pi.promise_id = {} AND i.balance_minor > 0",
            broken.promise_id
        ))
        .await,
        1,
        "nothing paid"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM email_outbox WHERE to_address = 'eu.ap@holding.example'
             AND status = 'sent' AND subject LIKE '%promise%'"
        )
        .await,
        1,
        "the payer who promised heard that it was not kept"
    );
    assert!(!eu.sent.is_empty(), "Holding Europe had reminders");

    // Holding Americas: paused through a date two weeks ahead, and
    // reminded of nothing since the pause.
    let holding_us = app.customer_id("Holding Americas Inc.").await;
    let us = app
        .services
        .customer_reminders_view(admin, holding_us)
        .await
        .unwrap();
    assert_eq!(us.paused_until, Some(today + chrono::Duration::days(14)));
    assert!(
        us.sent
            .iter()
            .all(|s| s.sent_at.date_naive() <= today - chrono::Duration::days(12)),
        "{:?}",
        us.sent
    );

    // The invoice timelines: each send minted its invoice link there.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM reminder_sends s WHERE NOT EXISTS (
                SELECT 1 FROM invoice_links l WHERE l.invoice_id = s.invoice_id AND l.created_by = 'reminder')"
        )
        .await,
        0
    );
    // Nothing of the history is left for the outbox to mail at start-up.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM email_outbox o JOIN reminder_emails e ON e.email_id = o.email_id
             WHERE o.status <> 'sent'"
        )
        .await,
        0
    );
}
