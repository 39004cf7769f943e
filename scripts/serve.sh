#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build the portal
# (release), create the SQLite database with demo data, and serve it at
# http://127.0.0.1:3000. No keys or accounts needed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/setup.sh
setup_serve

step "cargo leptos build --release --precompress"
cargo leptos build --release --precompress
portal="$CARGO_TARGET_DIR/release/portal"

"$portal" seed-demo
cat <<MSG

  The portal is starting at ${PORTAL_BASE_URL:-http://127.0.0.1:3000}

  Sign in as a customer: open /sign-in and enter  ap@northwind.example
      (or shared@holding.example, a contact of two customers).
  Sign in as AR staff:   open /staff/sign-in and enter  ar@seller.example
  No SMTP server is configured, so the sign-in email lands in the dev
  mailbox: ${PORTAL_BASE_URL:-http://127.0.0.1:3000}/dev/mailbox (the link is also printed below).
  Payments: with no STRIPE_SECRET_KEY, "Pay" opens the sandbox checkout, where
  you pick card success, card decline, ACH success or ACH failure (ACH
  settles after ${PORTAL_SANDBOX_ACH_DELAY_SECONDS:-60} s). Receipts land in the dev mailbox too.

  Stop with Ctrl-C.

MSG
exec "$portal" serve
