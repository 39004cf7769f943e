//! The `portal` binary as an operator uses it.

use std::process::Command;

fn portal(db_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/cli.db", db_dir.display()),
        )
        .env("RUST_LOG", "error")
        .current_dir(db_dir);
    cmd
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("PORTAL_ENV", "staging"),
        ("PORTAL_BASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://x"),
        ("SMTP_URL", "http://mail"),
    ] {
        let out = portal(dir.path())
            .env(var, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("configuration error: {var}:")),
            "{stderr}"
        );
    }
}

#[test]
fn migrate_seed_demo_and_create_staff() {
    let dir = tempfile::tempdir().unwrap();
    let out = portal(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = portal(dir.path()).arg("seed-demo").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        // The four main accounts and the four world customers (issue 15),
        // and one invoice with an early-payment discount (issue 13).
        stdout.contains("8 customers, 12 contacts, 309 invoices"),
        "{stdout}"
    );
    let again = portal(dir.path()).arg("seed-demo").output().unwrap();
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .contains("already present"));

    let out = portal(dir.path())
        .args([
            "create-staff",
            "--email",
            "New.Agent@Seller.example",
            "--name",
            "New Agent",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("new.agent@seller.example (agent)"));

    let bad = portal(dir.path())
        .args(["create-staff", "--email", "not-an-email", "--name", "X"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8(bad.stderr)
        .unwrap()
        .contains("Enter an email address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_reconcile_stores_and_applies_events_that_never_arrived() {
    let fake = crate::fake_stripe::FakeStripe::start().await;
    fake.add_event(serde_json::json!({
        "id": "evt_missed_1", "object": "event", "type": "checkout.session.completed", "created": 1_790_000_000,
        "data": {"object": {"id": "cs_other_1", "object": "checkout.session", "payment_status": "paid", "metadata": {}}}
    }));
    let dir = tempfile::tempdir().unwrap();
    let run = |dir: std::path::PathBuf, base: String| {
        tokio::task::spawn_blocking(move || {
            portal(&dir)
                .env("STRIPE_SECRET_KEY", "sk_test_cli")
                .env("STRIPE_WEBHOOK_SECRET", "whsec_cli")
                .env("STRIPE_API_BASE", base)
                .args(["stripe-reconcile", "--since", "2026-01-01"])
                .output()
                .unwrap()
        })
    };
    let out = run(dir.path().to_owned(), fake.base.clone()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "1 events listed by stripe since 2026-01-01; 1 had not arrived; 1 applied now"
    );
    let again = run(dir.path().to_owned(), fake.base.clone()).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "1 events listed by stripe since 2026-01-01; 0 had not arrived; 0 applied now"
    );
}
