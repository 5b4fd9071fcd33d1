#!/usr/bin/env bash
# Runs the widget's tests in headless Chromium (wasm-pack) against a real otklik server on a fresh database.
# Arguments go to wasm-pack (`scripts/widget-tests.sh -- --test comments` runs one file).
# The server allows exactly the test runner's origin, whose port is fixed here for that reason. Rate limits
# are off except one per-reader comment limit, which the 429 test reaches with a reader of its own; one stop
# word lets the moderation tests hold a comment. Reply notifications are on, sent to an SMTP sink on loopback
# (scripts/smtp-sink.py), so the comment form offers its "email me" box.
set -euo pipefail
cd "$(dirname "$0")/.."
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
server_port=$(free_port)
runner_port=$(free_port)
smtp_port=$(free_port)
work=$(mktemp -d)
trap 'kill ${server_pid:-} ${smtp_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build -q -p otklik-server --locked
mkdir -p "$work/mail"
target/venv/bin/python scripts/smtp-sink.py "$smtp_port" "$work/mail" >"$work/smtp.log" 2>&1 &
smtp_pid=$!
target/debug/otklik serve --listen "127.0.0.1:$server_port" --database "$work/widget-tests.db" \
  --assets "$work/no-assets" --allowed-origins "http://127.0.0.1:$runner_port" \
  --rate-limits "off,comments.reader=8/1h" --stop-words otklik-hold-me --min-compose-secs 0 \
  --smtp-url "smtp://127.0.0.1:$smtp_port" --mail-from "Comments <comments@widget-tests.example>" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  grep -qx ready "$work/smtp.log" && break
  sleep 0.1
done
grep -qx ready "$work/smtp.log" || { cat "$work/smtp.log"; exit 1; }
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$server_port/healthz" >/dev/null && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$server_port/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }

export OTKLIK_TEST_SERVER="http://127.0.0.1:$server_port"
export WASM_BINDGEN_TEST_ADDRESS="127.0.0.1:$runner_port"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# ChromeDriver makes a profile in $TMPDIR for each session and leaves it behind (~70 MB) when the runner ends
# it without a goodbye; keeping them in $work lets the trap take them away.
mkdir -p "$work/browser-tmp"
TMPDIR="$work/browser-tmp" wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" --mode no-install "$@"
