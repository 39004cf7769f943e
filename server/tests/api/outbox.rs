//! The email outbox: written with the change, delivered by the worker,
//! retried with backoff, never lost when the process dies.

use crate::helpers::{spawn_app_with, AppOptions, Backend};

crate::on_both_databases!(
    an_email_refused_by_smtp_is_retried_with_backoff,
    an_email_committed_before_a_crash_is_sent_after_restart,
    an_email_claimed_by_a_dead_worker_is_sent_once_its_lease_ends,
);

async fn an_email_refused_by_smtp_is_retried_with_backoff(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    app.smtp.refuse_mail(true);
    app.request_link("ap@northwind.example").await;
    assert_eq!(app.worker.deliver_due().await.unwrap(), 1);
    assert_eq!(app.smtp.count(), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM email_outbox WHERE status = 'pending' AND attempts = 1 AND last_error IS NOT NULL").await, 1);

    // Not due again before the backoff runs out, even once SMTP is back.
    app.smtp.refuse_mail(false);
    assert_eq!(app.worker.deliver_due().await.unwrap(), 0);
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(app.worker.deliver_due().await.unwrap(), 1);
    let mail = app.smtp.wait_for("ap@northwind.example", 1).await;
    assert!(mail.subject.contains("sign-in link"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_outbox WHERE status = 'sent' AND transport = 'smtp'")
            .await,
        1
    );
    // Sent once only.
    app.clock.advance(chrono::Duration::minutes(5));
    app.worker.deliver_due().await.unwrap();
    assert_eq!(app.smtp.messages_to("ap@northwind.example").len(), 1);
}

async fn an_email_committed_before_a_crash_is_sent_after_restart(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let first = spawn_app_with(options).await;
    first.request_link("ap@northwind.example").await;
    assert_eq!(
        first
            .count("SELECT COUNT(*) FROM email_outbox WHERE status = 'pending'")
            .await,
        1
    );
    assert_eq!(first.smtp.count(), 0, "the process 'died' before sending");

    // A new process on the same database, with its worker running.
    let mut options = AppOptions::new(backend);
    options.database_url = Some(first.database_url.clone());
    options.seed = false;
    options.smtp = Some(first.smtp.clone());
    let second = spawn_app_with(options).await;
    let mail = second.smtp.wait_for("ap@northwind.example", 1).await;
    // The link from before the crash still signs in on the new process.
    let response = second
        .post_form("/auth/confirm", &[("token", &mail.token())])
        .await;
    assert_eq!(crate::helpers::location(&response), "/");
    drop(first);
}

async fn an_email_claimed_by_a_dead_worker_is_sent_once_its_lease_ends(backend: Backend) {
    let mut options = AppOptions::new(backend);
    options.run_worker = false;
    let app = spawn_app_with(options).await;
    app.request_link("ap@northwind.example").await;
    // A worker claims the email and dies before sending.
    let now = app.clock.now_for_tests();
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    let claimed = portal_core::repo::outbox::claim_due(
        &mut conn,
        app.services.db.backend(),
        now,
        now + chrono::Duration::seconds(60),
        10,
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        app.worker.deliver_due().await.unwrap(),
        0,
        "leased to the dead worker"
    );
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(app.worker.deliver_due().await.unwrap(), 1);
    app.smtp.wait_for("ap@northwind.example", 1).await;
    assert_eq!(app.smtp.count(), 1);
}
