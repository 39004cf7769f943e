#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL server on loopback for the tests:
# Debian's PostgreSQL binaries, a data directory outside the clone, trust
# authentication on 127.0.0.1 only. Prints the admin URL for TEST_DATABASE_URL.
#
#   scripts/postgres.sh start   # idempotent
#   scripts/postgres.sh clean   # drop the databases earlier test runs left (portal_test_*)
#   scripts/postgres.sh stop
set -euo pipefail

PGPORT="${PORTAL_PG_PORT:-55432}"
PGDATA="${PORTAL_PG_DIR:-/tmp/portal-pg}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      mkdir -p "$PGDATA"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
      as_postgres "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PGDATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
  clean)
    echo "SELECT format('DROP DATABASE %I', datname) FROM pg_database WHERE datname LIKE 'portal\_test\_%' \gexec" |
      as_postgres "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres >/dev/null
    ;;
  stop)
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|clean|stop" >&2
    exit 2
    ;;
esac
