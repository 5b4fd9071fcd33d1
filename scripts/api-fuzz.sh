#!/usr/bin/env bash
# Fuzzes the whole API from its own OpenAPI description with schemathesis: every operation, generated valid
# and invalid input, against a real server on a fresh database with the editors' token. Two passes: rate
# limits off (so generated writes reach the store) and at their defaults (so 429s are met and must be
# documented answers). Fails on any server error, any answer the description does not allow (status,
# content type, headers, body), any invalid input accepted, and any editors' route open without the token.
# Usage: scripts/api-fuzz.sh [EXAMPLES_PER_OPERATION]   (default 100, as make test runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-100}
st=target/venv/bin/schemathesis
[ -x "$st" ] || { echo "schemathesis is missing: run make setup" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
token=api-fuzz-editors-token-0123456789

cargo build -q -p otklik-server --locked

# pass NAME SERVER-FLAGS...: one server, one schemathesis run; the report and the server's log are kept in
# target/api-fuzz/NAME.
pass() {
  local name=$1
  shift
  local port
  port=$(free_port)
  local out="target/api-fuzz/$name"
  rm -rf "$out"
  mkdir -p "$out"
  target/debug/otklik --log-format json serve --listen "127.0.0.1:$port" --database "$work/$name.db" --assets "$work/no-assets" \
    --admin-token "$token" "$@" >"$out/server.log" 2>&1 &
  server_pid=$!
  echo "==> api-fuzz: $name (server flags: $*)"
  # --wait-for-schema: the run starts when the server answers with its description (no sleeping here).
  if ! "$st" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --url "http://127.0.0.1:$port" --wait-for-schema 60 -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance --max-examples "$examples" --seed 20261128 --no-color \
    --report junit --report-dir "$out"; then
    echo "api-fuzz: $name failed; the server's log is $out/server.log" >&2
    exit 1
  fi
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  # What the server answered, by status, from its access log: the limits pass must have met 429s.
  echo "api-fuzz: $name: the server's answers by status:"
  grep -o "\"status\":[0-9]*" "$out/server.log" | sort | uniq -c | sort -rn | tr '\n' ' '
  echo
}

pass no-limits --rate-limits off --min-compose-secs 0
pass limits
grep -q "\"status\":429" target/api-fuzz/limits/server.log || { echo "api-fuzz: the limits pass met no 429" >&2; exit 1; }
echo "api-fuzz: no failures"
