#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL server on loopback for the test suite.
#   scripts/pg_test_server.sh start  -> prints the SQLAlchemy URL on stdout
#   scripts/pg_test_server.sh stop
# Installs Debian's postgresql when missing (root only). Any failure prints a reason on
# stderr and exits non-zero; the Makefile then runs the suite without PostgreSQL tests.
set -euo pipefail
PORT="${SOLDERNET_PG_PORT:-54329}"
DIR="${SOLDERNET_PG_DIR:-/tmp/soldernet-pg-test}"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ -z "$(pg_bin)" ]; then
      if [ "$(id -u)" -ne 0 ]; then echo "postgresql not installed" >&2; exit 1; fi
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    BIN="$(pg_bin)"
    if [ -f "$DIR/data/postmaster.pid" ]; then
      as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >&2 || true
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$DIR"; fi
    as_pg "$BIN/initdb" -D "$DIR/data" -A trust -U soldernet >/dev/null
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
    as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U soldernet soldernet_test >&2
    echo "postgresql+psycopg://soldernet@127.0.0.1:$PORT/soldernet_test"
    ;;
  stop)
    BIN="$(pg_bin)"
    if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ]; then
      as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >&2 || true
    fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
