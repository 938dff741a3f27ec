#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL server on loopback for the test suite.
#   scripts/postgres.sh start   -> prints the server's URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   scripts/postgres.sh stop
# The cluster lives in .tmp/pg (git-ignored; in /tmp when run as root, see below); as root
# it runs as the unprivileged user `postgres`, because initdb refuses to run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
# As root the server runs as `postgres`, which must be able to reach the cluster: a clone in
# a private directory (mktemp -d is mode 0700) would lock it out, so the cluster then lives
# in /tmp, under a name fixed by this checkout's path (start and stop find the same one).
if [ "$(id -u)" = 0 ]; then
  PGROOT="/tmp/hyperchat-pg-$(printf %s "$PWD" | md5sum | cut -c1-12)"
else
  PGROOT="$PWD/.tmp/pg"
fi
# A fixed port unless it is taken (another clone's test run, say): then any free one.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_in_use() {
  python3 -c 'import socket, sys; s = socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0)' "$1"
}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found: run 'make deps-system'" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    mkdir -p "$PGROOT"
    [ "$(id -u)" = 0 ] && chown postgres "$PGROOT"
    if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
      as_pg "$bindir/initdb" -D "$PGROOT/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGROOT/initdb.log" 2>&1
    fi
    if as_pg "$bindir/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; then
      # Already running (an earlier start): its port is line 4 of postmaster.pid.
      PORT=$(sed -n 4p "$PGROOT/data/postmaster.pid")
    else
      PORT="${PGPORT_TEST:-54329}"
      port_in_use "$PORT" && PORT=$(free_port)
      # fsync off: a test cluster that is thrown away needs no durability, and it makes CREATE DATABASE fast.
      as_pg "$bindir/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 start \
        -o "-h 127.0.0.1 -p $PORT -k $PGROOT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    if [ -f "$PGROOT/data/PG_VERSION" ]; then
      as_pg "$bindir/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  logs) echo "$PGROOT/initdb.log $PGROOT/server.log" ;;
  *) echo "usage: $0 start|stop|logs" >&2; exit 2 ;;
esac
