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

step "cargo fmt --check"
cargo fmt --all --check

step "PostgreSQL on loopback"
TEST_DATABASE_URL="$(scripts/postgres.sh start)"
export TEST_DATABASE_URL
export PORTAL_TEST_REQUIRE_POSTGRES=1

step "unit tests (portal-core)"
cargo test -p portal-core

step "server unit tests and integration tests (SQLite and PostgreSQL)"
cargo test -p server

step "build the site (cargo leptos build: server + WASM)"
cargo leptos build

step "browser tests (Chromium: hydrated and JavaScript off, axe-core)"
(cd end2end && PORTAL_BIN="$CARGO_TARGET_DIR/debug/portal" LEPTOS_SITE_ROOT="$repo/target/site" npx playwright test)

step "all tests passed in $(( $(date +%s) - started )) s"
