#!/usr/bin/env bash
# Benchmark of the reminder job over 1,000,000 invoices (issue 13; numbers
# in docs/BENCHMARKS.md).
#
#   scripts/bench-reminders.sh [sqlite|postgres|both]     (default: both)
#
# For each engine: a database of BENCH_INVOICES (default 1,000,000) invoices
# over BENCH_CUSTOMERS (default 10,000) customers, made once by `portal
# seed-scale` and kept in BENCH_DIR (default ~/.cache/receivables-portal/
# bench-reminders) as a pristine copy. Each measurement starts from a fresh
# copy of it and times `portal reminders run --at T` (the release build, the
# whole process: start-up, migrations check, the run) three times:
#
#   1. go-live: the first run ever, at 09:30 in the seller's zone on the
#      next weekday: every customer is decided, every invoice that reached a
#      step within the catch-up gets its reminder;
#   2. the same day one minute later: what every later run of the day costs
#      (every customer is already decided for its day);
#   3. the next weekday at 09:30: an ordinary morning after go-live.
#
# BENCH_PORTAL=/path/to/portal runs a saved binary instead of building.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/setup.sh
setup_serve
command -v sqlite3 >/dev/null || { step "installing sqlite3"; as_root apt-get install -y -q sqlite3 >/dev/null; }

which="${1:-both}"
invoices="${BENCH_INVOICES:-1000000}"
customers="${BENCH_CUSTOMERS:-10000}"
data="${BENCH_DIR:-$HOME/.cache/receivables-portal/bench-reminders}"
mkdir -p "$data"

if [ -n "${BENCH_PORTAL:-}" ]; then
  portal="$BENCH_PORTAL"
else
  step "cargo leptos build --release"
  cargo leptos build --release
  portal="$CARGO_TARGET_DIR/release/portal"
fi
export RUST_LOG=warn

# The seller's zone (the SLA calendar's).
seller_zone() {
  sql "SELECT value FROM sla_settings WHERE key = 'business_calendar'" |
    grep -o '"time_zone":"[^"]*"' | cut -d'"' -f4
}
# The first weekday on or after the date $2 in zone $1.
weekday_from() {
  local zone="$1" day="$2"
  while [ "$(TZ="$zone" date -d "$day" +%u)" -gt 5 ]; do
    day=$(TZ="$zone" date -d "$day + 1 day" +%F)
  done
  echo "$day"
}
# 09:30 (plus $3 minutes) on the date $2 in zone $1, as RFC 3339.
morning() { TZ="$1" date -d "$2 09:$((30 + ${3:-0})):00" --iso-8601=seconds; }

sql() {
  case "$engine" in
    sqlite) sqlite3 "$db_file" "$1" ;;
    postgres) psql -At "$pg_url" -c "$1" ;;
  esac
}

# A fresh copy of the pristine database for one measurement.
fresh() {
  case "$engine" in
    sqlite)
      rm -f "$data/run.db" "$data/run.db-wal" "$data/run.db-shm"
      cp "$data/pristine.db" "$data/run.db"
      db_file="$data/run.db"
      export DATABASE_URL="sqlite://$db_file"
      ;;
    postgres)
      psql -q -At "$admin" -c "DROP DATABASE IF EXISTS portal_bench_reminders_run" >/dev/null
      psql -q -At "$admin" -c "CREATE DATABASE portal_bench_reminders_run TEMPLATE portal_bench_reminders" >/dev/null
      pg_url="${admin%/*}/portal_bench_reminders_run"
      export DATABASE_URL="$pg_url"
      ;;
  esac
}

# timed LABEL AT: one `portal reminders run --at AT`, its wall time and
# what it printed.
timed() {
  local label="$1" at="$2" start end out
  start=$(date +%s.%N)
  out=$("$portal" reminders run --at "$at")
  end=$(date +%s.%N)
  printf '| %s | %s | %s | %s s | %s |\n' "$engine" "$label" "$at" \
    "$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}')" "${out#reminders as at * }"
}

run_engine() {
  engine="$1"
  case "$engine" in
    sqlite)
      db_file="$data/pristine.db"
      export DATABASE_URL="sqlite://$db_file"
      ;;
    postgres)
      admin="$(scripts/postgres.sh start)"
      psql -q -At "$admin" -c "SELECT 1 FROM pg_database WHERE datname = 'portal_bench_reminders'" | grep -q 1 ||
        psql -q -At "$admin" -c "CREATE DATABASE portal_bench_reminders" >/dev/null
      pg_url="${admin%/*}/portal_bench_reminders"
      export DATABASE_URL="$pg_url"
      ;;
  esac
  "$portal" migrate >/dev/null
  have=$(sql "SELECT COUNT(*) FROM invoices")
  if [ "$have" -lt "$invoices" ]; then
    step "$engine: portal seed-scale --customers $customers --invoices $invoices"
    "$portal" seed-scale --customers "$customers" --invoices "$invoices"
  fi
  if [ "$engine" = sqlite ]; then
    sqlite3 "$db_file" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  fi
  local total open zone
  total=$(sql "SELECT COUNT(*) FROM invoices")
  open=$(sql "SELECT COUNT(*) FROM invoices WHERE balance_minor > 0")
  zone=$(seller_zone)
  echo
  echo "$engine: $total invoices ($open open) over $(sql "SELECT COUNT(*) FROM customers") customers; seller's zone $zone"
  echo
  echo "| engine | run | at | wall time | result |"
  echo "| --- | --- | --- | ---: | --- |"
  local first second
  first=$(weekday_from "$zone" "$(TZ="$zone" date -d tomorrow +%F)")
  second=$(weekday_from "$zone" "$(TZ="$zone" date -d "$first + 1 day" +%F)")
  fresh
  timed "go-live (first run)" "$(morning "$zone" "$first")"
  timed "same morning, a minute later" "$(morning "$zone" "$first" 1)"
  timed "the next weekday" "$(morning "$zone" "$second")"
  echo "$engine: $(sql "SELECT COUNT(*) FROM reminder_sends") sends, $(sql "SELECT COUNT(*) FROM email_outbox") emails queued"
}

case "$which" in
  sqlite | postgres) run_engine "$which" ;;
  both) run_engine sqlite; run_engine postgres ;;
  *) echo "usage: scripts/bench-reminders.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac
