#!/usr/bin/env bash
# Starts the portal for the browser tests: a fresh SQLite database with the
# demo data, mail through the loopback SMTP sink, generous rate limits (the
# tests sign in many times from one address). Run by playwright.config.ts,
# twice: the sandbox-gateway portal, and one with a Stripe key (its STRIPE_*
# variables and E2E_DATABASE_URL_FILE come from the config).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${PORTAL_BIN:?set PORTAL_BIN to the portal binary built by cargo-leptos}"
db_dir="$(mktemp -d)"
export DATABASE_URL="sqlite://$db_dir/e2e.db"
# The invoice-link tests mint links with the CLI against this database.
echo "$DATABASE_URL" > "$here/${E2E_DATABASE_URL_FILE:-.e2e-database-url}"
export PORTAL_BASE_URL="http://127.0.0.1:${E2E_PORT:-3100}"
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3100}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$here/../target/site}"
export SMTP_URL="smtp://127.0.0.1:${SMTP_PORT:-2526}"
export PORTAL_SIGN_IN_PER_EMAIL=1000
export PORTAL_SIGN_IN_IP_BURST=1000
# The sandbox gateway (no Stripe key) settles or fails ACH debits after this.
export PORTAL_SANDBOX_ACH_DELAY_SECONDS=8
"$PORTAL_BIN" seed-demo
exec "$PORTAL_BIN" serve
