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
#
# Per URL it also reports the portal's CPU time per request (its utime +
# stime from /proc over the wrk run, divided by the requests wrk counted)
# and the SQL statements one request runs (a second instance logging
# sqlx's statements answers one request per URL; its lines are counted).
#
# To compare builds: BENCH_PORTAL=/path/to/portal BENCH_SITE=/path/to/site
# runs a saved binary and its site instead of building this tree, and
# BENCH_URLS="health list filtered detail statement" (the default) picks
# the URLs. BENCH_DIR (default ~/.cache/receivables-portal/bench) holds the
# databases: an older binary needs one its migrations know.
#
# AR's queue (issue 11): BENCH_STAFF=1 adds BENCH_REQUESTS (default 10,000)
# open disputes to the database once (`portal seed-scale-requests`, mixed
# states and SLA events over all scale customers), signs in an AR admin
# instead of the contact, and measures BENCH_URLS="health queue" (default
# for it) at BENCH_CONNECTIONS (default 8 with BENCH_STAFF, else 64):
#
#   BENCH_STAFF=1 scripts/bench.sh sqlite
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
staff="${BENCH_STAFF:-}"
requests="${BENCH_REQUESTS:-10000}"
connections="${BENCH_CONNECTIONS:-$([ -n "$staff" ] && echo 8 || echo 64)}"
seconds="${BENCH_SECONDS:-15}"
invoices="${BENCH_INVOICES:-1000000}"
customers="${BENCH_CUSTOMERS:-200}"
port=3400
base="http://127.0.0.1:$port"
data="${BENCH_DIR:-$HOME/.cache/receivables-portal/bench}"
mkdir -p "$data"

if [ -n "${BENCH_PORTAL:-}" ]; then
  portal="$BENCH_PORTAL"
  site="${BENCH_SITE:?BENCH_SITE goes with BENCH_PORTAL}"
else
  step "cargo leptos build --release --precompress"
  cargo leptos build --release --precompress
  portal="$CARGO_TARGET_DIR/release/portal"
  site="$repo/target/site"
fi
ticks_per_second=$(getconf CLK_TCK)

# Runs SQL against the benchmark database and prints the first column.
sql() {
  case "$engine" in
    sqlite) sqlite3 "$data/bench.db" "$1" ;;
    postgres) psql -At "$pg_url" -c "$1" ;;
  esac
}

# CPU time the server process has used so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

# SQL statements the logging instance runs for one request to $1: those
# logged between the request's start and end. The workers poll in the
# background (sandbox deliveries every second, the outboxes every 5 s), so
# the fewest of 5 requests is the request's own count.
queries_for() {
  local fewest="" start end n
  curl -s -o /dev/null -H "Cookie: portal_session=$cookie" "$counter_base$1"
  for _ in 1 2 3 4 5; do
    start=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
    curl -s -o /dev/null ${2:+-H "Cookie: portal_session=$cookie"} "$counter_base$1"
    end=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
    sleep 0.05
    n=$(sed 's/\x1b\[[0-9;]*m//g' "$data/count-$engine.log" |
      awk -v s="$start" -v e="$end" '/sqlx::query/ && $1 >= s && $1 <= e {n++} END {print n + 0}')
    if [ -z "$fewest" ] || [ "$n" -lt "$fewest" ]; then fewest=$n; fi
  done
  echo "$fewest"
}

# measure LABEL PATH [signed-in]: wrk against PATH, with the session cookie
# when a third argument is given.
measure() {
  local label="$1" path="$2" signed_in="${3:-}"
  local out queries start_ticks end_ticks requests cpu
  queries=$(queries_for "$path" "$signed_in")
  start_ticks=$(cpu_ticks)
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency ${signed_in:+-H "Cookie: portal_session=$cookie"} -H "Accept-Language: en-US" "$base$path")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  end_ticks=$(cpu_ticks)
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v t=$((end_ticks - start_ticks)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN {printf "%.3f", t * 1000 / hz / n}')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$engine" "$label" "$rps" "$p50" "$p99" "$cpu" "$queries" "${errors:-0}"
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
  export PORTAL_BASE_URL="$base" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$site"
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
  if [ -n "$staff" ]; then
    # An AR admin to sign in as (and to assign some requests to), then the
    # queue's open requests, added once.
    "$portal" create-staff --email bench-ar@seller.example --name "Bench AR" --role admin >/dev/null
    open=$(sql "SELECT COUNT(*) FROM requests WHERE status IN ('open', 'waiting_on_customer')")
    if [ "$open" -lt "$requests" ]; then
      step "$engine: portal seed-scale-requests --requests $((requests - open))"
      "$portal" seed-scale-requests --requests "$((requests - open))"
    fi
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
  # Sign in as that contact (or the AR admin) through the link the dev
  # mailbox holds.
  local who="$email" area="" home="/accounts/$customer/invoices"
  if [ -n "$staff" ]; then who="bench-ar@seller.example" area="/staff" home="/staff/requests"; fi
  jar="$(mktemp)"
  curl -s -o /dev/null -c "$jar" -H "Origin: $base" --data-urlencode "email=$who" "$base$area/auth/sign-in"
  sleep 1
  token=$(sql "SELECT text_body FROM email_outbox WHERE to_address = '$who' ORDER BY email_id DESC LIMIT 1" |
    grep -o 'token=[A-Za-z0-9_-]*' | head -1 | cut -d= -f2)
  curl -s -o /dev/null -b "$jar" -c "$jar" -H "Origin: $base" --data-urlencode "token=$token" "$base$area/auth/confirm"
  cookie=$(awk '$6 == "portal_session" {print $7}' "$jar")
  [ -n "$cookie" ] || { echo "could not sign in as $who" >&2; exit 1; }
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: portal_session=$cookie" "$base$home")
  [ "$status" = 200 ] || { echo "$home answered $status" >&2; exit 1; }
  # The statement counter: the same database and session, sqlx logging
  # every statement it runs.
  counter_base="http://127.0.0.1:$((port + 1))"
  PORTAL_BASE_URL="$counter_base" LEPTOS_SITE_ADDR="127.0.0.1:$((port + 1))" RUST_LOG="warn,sqlx::query=debug" \
    "$portal" serve >"$data/count-$engine.log" 2>&1 &
  counter=$!
  trap 'kill $server $counter 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "$counter_base/health" >/dev/null && break; sleep 0.1; done

  echo
  echo "$engine: $total invoices in the database; customer $customer has $count"
  if [ -n "$staff" ]; then
    echo "$engine: $(sql "SELECT COUNT(*) FROM requests WHERE status IN ('open', 'waiting_on_customer')") open requests in AR's queue; $connections connections"
  fi
  echo
  echo "| engine | URL | requests/s | p50 | p99 | CPU ms/request | SQL statements/request | non-2xx |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  local default_urls="health list filtered detail statement"
  if [ -n "$staff" ]; then default_urls="health queue"; fi
  for url in ${BENCH_URLS:-$default_urls}; do
    case "$url" in
      # The bare route without a session (no cookie, no SQL): the ceiling.
      health) measure "bare axum route (/health)" "/health" ;;
      list) measure "invoice list, 5,000-invoice customer" "/accounts/$customer/invoices" signed-in ;;
      filtered) measure "invoice list, filtered + sorted" "/accounts/$customer/invoices?status=unpaid&sort=balance&dir=desc" signed-in ;;
      detail) measure "invoice detail" "/accounts/$customer/invoices/$invoice" signed-in ;;
      statement) measure "statement PDF (year to date)" "/accounts/$customer/statement.pdf" signed-in ;;
      # AR's queue of every open request, sorted by time to the next breach
      # (BENCH_STAFF=1: the session is the AR admin's).
      queue) measure "AR queue, all open requests" "/staff/requests" signed-in ;;
      *) echo "unknown BENCH_URLS entry: $url" >&2; exit 2 ;;
    esac
  done
  kill "$server" "$counter" 2>/dev/null || true
  wait "$server" "$counter" 2>/dev/null || true
}

case "$which" in
  sqlite | postgres) run_engine "$which" ;;
  both) run_engine sqlite; run_engine postgres ;;
  *) echo "usage: scripts/bench.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac

echo
echo "First load (brotli, as served precompressed):"
total=0
for f in "$site"/pkg/*.wasm "$site"/pkg/*.js "$site"/pkg/*.css; do
  size=$(brotli -c -q 11 "$f" | wc -c)
  total=$((total + size))
  printf '  %-40s %8d bytes raw  %8d bytes brotli\n' "$(basename "$f")" "$(stat -c %s "$f")" "$size"
done
echo "  total brotli: $total bytes ($((total / 1024)) KB)"
