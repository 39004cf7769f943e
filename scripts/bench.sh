#!/usr/bin/env bash
# Load benchmark of the invoice pages at scale (numbers in docs/BENCHMARKS.md).
#
#   scripts/bench.sh [sqlite|postgres|both]     (default: both)
#   scripts/bench.sh webhooks                    the payment webhooks (below)
#
# For each engine: a database of 1,000,000 invoices over 200 customers (5,000
# each) made once by `portal seed-scale` and kept in ~/.cache, the release
# build serving it, one signed-in contact, then wrk at 64 connections for
# BENCH_SECONDS (default 15) per URL, in one run: a bare axum route of the
# same binary (/health), the invoice list of a 5,000-invoice customer, an
# invoice detail page and a statement PDF. Prints a Markdown table, and the
# first load's transfer size (WASM + JS + CSS, brotli).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/setup.sh

# Webhooks: the release build of the benchmark harness in
# server/tests/api/bench_webhooks.rs, on SQLite then PostgreSQL.
if [ "${1:-}" = "webhooks" ]; then
  setup_test
  TEST_DATABASE_URL="$(scripts/postgres.sh start)"
  export TEST_DATABASE_URL
  cargo test --release -p server --test api bench_webhook -- --ignored --nocapture 2>&1 | grep BENCH
  BENCH_POSTGRES=1 cargo test --release -p server --test api bench_webhook -- --ignored --nocapture 2>&1 | grep BENCH
  exit 0
fi
setup_serve
command -v wrk >/dev/null || { step "installing wrk"; as_root apt-get install -y -q wrk >/dev/null; }
command -v sqlite3 >/dev/null || { step "installing sqlite3"; as_root apt-get install -y -q sqlite3 >/dev/null; }
command -v brotli >/dev/null || { step "installing brotli"; as_root apt-get install -y -q brotli >/dev/null; }

which="${1:-both}"
seconds="${BENCH_SECONDS:-15}"
invoices="${BENCH_INVOICES:-1000000}"
customers="${BENCH_CUSTOMERS:-200}"
port=3400
base="http://127.0.0.1:$port"
data="${BENCH_DIR:-$HOME/.cache/receivables-portal/bench}"
mkdir -p "$data"

step "cargo leptos build --release --precompress"
cargo leptos build --release --precompress
portal="$CARGO_TARGET_DIR/release/portal"

# Runs SQL against the benchmark database and prints the first column.
sql() {
  case "$engine" in
    sqlite) sqlite3 "$data/bench.db" "$1" ;;
    postgres) psql -At "$pg_url" -c "$1" ;;
  esac
}

measure() {
  local label="$1" path="$2"
  local out
  out=$(wrk -t2 -c64 -d"${seconds}s" --latency -H "Cookie: portal_session=$cookie" -H "Accept-Language: en-US" "$base$path")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$engine" "$label" "$rps" "$p50" "$p99" "${errors:-0}"
}

run_engine() {
  engine="$1"
  case "$engine" in
    sqlite)
      export DATABASE_URL="sqlite://$data/bench.db"
      ;;
    postgres)
      admin="$(scripts/postgres.sh start)"
      psql -At "$admin" -c "SELECT 1 FROM pg_database WHERE datname = 'portal_bench'" | grep -q 1 ||
        psql -At "$admin" -c "CREATE DATABASE portal_bench" >/dev/null
      pg_url="${admin%/*}/portal_bench"
      export DATABASE_URL="$pg_url"
      ;;
  esac
  export PORTAL_BASE_URL="$base" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$repo/target/site"
  export PORTAL_SIGN_IN_PER_EMAIL=1000 PORTAL_SIGN_IN_IP_BURST=1000 RUST_LOG=warn
  # The statement PDF runs at 64 connections: measure its throughput, not
  # the heavy-download limit (4 at a time by default, 503 beyond).
  export PORTAL_HEAVY_DOWNLOADS=64
  "$portal" migrate >/dev/null
  have=$(sql "SELECT COUNT(*) FROM invoices")
  if [ "$have" -lt "$invoices" ]; then
    step "$engine: portal seed-scale --customers $customers --invoices $invoices"
    "$portal" seed-scale --customers "$customers" --invoices "$invoices"
  fi
  # The first scale customer and its contact.
  customer=$(sql "SELECT MIN(customer_id) FROM customers WHERE external_id LIKE 'scale-%'")
  email=$(sql "SELECT c.email FROM contacts c JOIN customer_contacts cc ON cc.contact_id = c.contact_id WHERE cc.customer_id = $customer")
  count=$(sql "SELECT COUNT(*) FROM invoices WHERE customer_id = $customer")
  invoice=$(sql "SELECT MAX(invoice_id) FROM invoices WHERE customer_id = $customer")
  total=$(sql "SELECT COUNT(*) FROM invoices")

  "$portal" serve >"$data/serve-$engine.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
  # Sign in as that contact through the link the dev mailbox holds.
  jar="$(mktemp)"
  curl -s -o /dev/null -c "$jar" -H "Origin: $base" --data-urlencode "email=$email" "$base/auth/sign-in"
  sleep 1
  token=$(sql "SELECT text_body FROM email_outbox WHERE to_address = '$email' ORDER BY email_id DESC LIMIT 1" |
    grep -o 'token=[A-Za-z0-9_-]*' | head -1 | cut -d= -f2)
  curl -s -o /dev/null -b "$jar" -c "$jar" -H "Origin: $base" --data-urlencode "token=$token" "$base/auth/confirm"
  cookie=$(awk '$6 == "portal_session" {print $7}' "$jar")
  [ -n "$cookie" ] || { echo "could not sign in as $email" >&2; exit 1; }
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: portal_session=$cookie" "$base/accounts/$customer/invoices")
  [ "$status" = 200 ] || { echo "invoice list answered $status" >&2; exit 1; }

  echo
  echo "$engine: $total invoices in the database; customer $customer has $count"
  echo
  echo "| engine | URL | requests/s | p50 | p99 | non-2xx |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
  measure "bare axum route (/health)" "/health"
  measure "invoice list, 5,000-invoice customer" "/accounts/$customer/invoices"
  measure "invoice list, filtered + sorted" "/accounts/$customer/invoices?status=unpaid&sort=balance&dir=desc"
  measure "invoice detail" "/accounts/$customer/invoices/$invoice"
  measure "statement PDF (year to date)" "/accounts/$customer/statement.pdf"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}

case "$which" in
  sqlite | postgres) run_engine "$which" ;;
  both) run_engine sqlite; run_engine postgres ;;
  *) echo "usage: scripts/bench.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac

echo
echo "First load (brotli, as served precompressed):"
total=0
for f in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  size=$(brotli -c -q 11 "$f" | wc -c)
  total=$((total + size))
  printf '  %-40s %8d bytes raw  %8d bytes brotli\n' "$(basename "$f")" "$(stat -c %s "$f")" "$size"
done
echo "  total brotli: $total bytes ($((total / 1024)) KB)"
