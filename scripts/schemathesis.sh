#!/usr/bin/env bash
# Schemathesis against the seller API (issue 14): serves the release portal on
# a fresh SQLite database with the demo data, makes a read+write key with the
# CLI, and lets Schemathesis (PyPI, pinned in setup.sh) generate requests from
# the served OpenAPI document. Fails on any 5xx and on any answer the document
# does not describe (status, content type, headers, body schema).
#
#   PORTAL_BIN=… LEPTOS_SITE_ROOT=… scripts/schemathesis.sh [max examples per operation]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
: "${PORTAL_BIN:?set PORTAL_BIN to the portal binary}"
st="${PORTAL_TOOLS_DIR:-$HOME/.cache/receivables-portal/tools}/st-venv/bin/st"
port="${ST_PORT:-3190}"
work="$(mktemp -d)"
portal_pid=""
# Stops the portal and keeps the script's own exit status (the portal's,
# 143 after the kill, is not the test's).
cleanup() {
  local status=$?
  if [ -n "$portal_pid" ]; then
    kill "$portal_pid" 2>/dev/null || true
    wait "$portal_pid" 2>/dev/null || true
  fi
  cd / && rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$work/st.db"
export PORTAL_BASE_URL="http://127.0.0.1:$port"
export LEPTOS_SITE_ADDR="127.0.0.1:$port"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$repo/target/site}"
# Schemathesis sends thousands of requests with one key: the per-key limit
# (429, which the document lists) would only slow it down.
export PORTAL_API_RATE_PER_SECOND=100000
export PORTAL_API_RATE_BURST=100000
"$PORTAL_BIN" seed-demo > "$work/seed.log"
key="$("$PORTAL_BIN" api-key create --name schemathesis --scopes read,write | grep -o 'pk_[A-Za-z0-9_-]*' | head -n1)"
[ -n "$key" ] || { echo "portal api-key create printed no key" >&2; exit 1; }
"$PORTAL_BIN" serve > "$work/serve.log" 2>&1 &
portal_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/api/v1/openapi.json" -o /dev/null 2>/dev/null && break
  sleep 0.2
done
# From the scratch directory: Schemathesis keeps its example database in
# ./.schemathesis, which must not land in the clone.
cd "$work"
"$st" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  -H "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  -n "${1:-50}" --seed 1 --no-color ||
  { echo "--- portal log (last 40 lines)" >&2; tail -n 40 "$work/serve.log" >&2; exit 1; }
