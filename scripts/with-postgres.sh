#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL cluster: created in a temporary directory, on a free port on
# loopback, owned by an unprivileged user (initdb and postgres refuse to run as root), and removed when the
# command ends, however it ends. The command finds it in OTKLIK_TEST_POSTGRES (a superuser URL whose
# tests create databases of their own); nothing depends on a server that happens to be running.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL's server is not installed: run make setup" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d /tmp/otklik-pg.XXXXXX)
chmod 755 "$dir"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" != 0 ] || chown postgres: "$dir"
stop() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# In the cluster's own configuration, so that a test may stop and start it again (see OTKLIK_TEST_PG_CTL).
# Durability settings off for tests: a test cluster lives for one run, and its crash would be the test's
# failure anyway. OTKLIK_PG_DURABLE=1 keeps PostgreSQL's defaults (the benchmark measures what a site gets).
cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = '127.0.0.1'
max_connections = 400
CONF
if [ "${OTKLIK_PG_DURABLE:-}" != 1 ]; then
  printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/data/postgresql.conf"
fi
# pg_ctl for this cluster, as its owner: the fault tests stop and start the database under running nodes.
cat >"$dir/ctl" <<CTL
#!/bin/sh
if [ "\$(id -u)" = 0 ]; then exec runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w "\$@"
else exec "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w "\$@"; fi
CTL
chmod 755 "$dir/ctl"
"$dir/ctl" -t 60 start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
export OTKLIK_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
export OTKLIK_TEST_PG_CTL="$dir/ctl"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at 127.0.0.1:$port for: $*"
"$@"
