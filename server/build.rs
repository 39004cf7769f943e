//! `PORTAL_TEST_SKIP_POSTGRES=1` at build time marks the integration tests'
//! PostgreSQL variants as ignored (`cfg(skip_postgres)`), so a run without
//! a PostgreSQL server shows them as skipped instead of passing them.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(skip_postgres)");
    println!("cargo::rerun-if-env-changed=PORTAL_TEST_SKIP_POSTGRES");
    if std::env::var("PORTAL_TEST_SKIP_POSTGRES").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_postgres");
    }
}
