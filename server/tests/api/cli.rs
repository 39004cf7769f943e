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
        stdout.contains("4 customers, 8 contacts, 300 invoices"),
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
