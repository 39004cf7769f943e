#!/usr/bin/env bash
# Every test, in the order a failure is cheapest to find: formatting, unit
# tests, integration tests on SQLite and PostgreSQL (a real SMTP server on
# loopback), then the browser tests in Chromium (hydrated and JS off).
# Installs whatever is missing first. Exits non-zero if anything fails.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/setup.sh
setup_test
started=$(date +%s)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Runs a test command, keeping its output for the closing count.
run_tests() { "$@" 2>&1 | tee -a "$log"; }

step "cargo fmt --check"
cargo fmt --all --check

step "no server-only crate in the WASM bundle"
server_only=$(cargo tree -p portal-hydrate --target wasm32-unknown-unknown -e normal --prefix none |
  awk '{print $1}' | sort -u | grep -E '^(sqlx.*|lettre|async-stripe|stripe.*|portal-core|tower-sessions.*|tokio|axum|leptos_axum)$' || true)
if [ -n "$server_only" ]; then
  echo "server-only crates reach the WASM build: $server_only" >&2
  exit 1
fi

step "PostgreSQL on loopback"
TEST_DATABASE_URL="$(scripts/postgres.sh start)"
scripts/postgres.sh clean  # each integration test creates its own database
export TEST_DATABASE_URL  # without it every PostgreSQL test fails
unset PORTAL_TEST_SKIP_POSTGRES  # which would build them as ignored

step "unit tests (portal-core, app with ssr)"
run_tests cargo test -p portal-core
run_tests cargo test -p app --no-default-features --features ssr --lib

step "server unit tests and integration tests (SQLite and PostgreSQL)"
# In parallel (libtest's default, one test per core), each test with its own
# portal, database and SMTP server. `timeout` turns a stalled test (see
# docs/ARCHITECTURE.md, "Known problem") into a failure instead of a hung CI;
# compiling first keeps the build out of that limit.
cargo test -p server --no-run
run_tests timeout 600 cargo test -p server

# The browser tests run the release build that scripts/serve.sh ships
# (LTO, wasm-opt, precompressed assets): a bundle that only breaks once
# optimized (Debian's wasm-opt 108 did) must fail here, not in production.
step "build the release site (cargo leptos build --release --precompress; $(wasm-opt --version))"
cargo leptos build --release --precompress

step "Schemathesis against the seller API's OpenAPI document (release build, SQLite)"
PORTAL_BIN="$CARGO_TARGET_DIR/release/portal" LEPTOS_SITE_ROOT="$repo/target/site" scripts/schemathesis.sh 100

step "browser tests on the release build (Chromium: hydrated and JavaScript off, axe-core)"
(cd end2end && PORTAL_BIN="$CARGO_TARGET_DIR/release/portal" LEPTOS_SITE_ROOT="$repo/target/site" run_tests npx playwright test)

rust_passed=$(grep -o 'test result: ok\. [0-9]* passed' "$log" | awk '{s += $4} END {print s + 0}')
browser_passed=$(grep -oE '^ +[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
step "all tests passed in $(( $(date +%s) - started )) s: $rust_passed Rust, $browser_passed browser"
echo "tests: $(( rust_passed + browser_passed )) passed, 0 failed"
