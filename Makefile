# otklik: `make run` runs the product, `make test` runs every test. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.cargo/bin:/usr/local/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
export CHROMEDRIVER ?= /usr/bin/chromedriver
SERVER_BIN := target/server/otklik
# Ratchets: the gzip weight reached plus 2 KB, rounded down; lower them when the widget shrinks. The first
# load is what a page downloads until the reader nears the thread or reports a typo (86.4 KB on
# 2026-11-28, with live updates); the whole widget is that plus the thread's and the dialog's modules
# (175.9 KB).
WIDGET_BUDGET_KB ?= 88
WIDGET_TOTAL_BUDGET_KB ?= 177

# `release`: one self-contained binary.
.PHONY: help setup widget server release run test lint test-native test-widget test-api weight bench cold-start perf size clean

help:
	@echo "make run    build the widget and the server, serve the demo at http://127.0.0.1:8080/"
	@echo "make test   formatting, lints, the size budget, server, widget (Chromium), end-to-end tests and API fuzzing"
	@echo "make release  one self-contained server binary with the widget inside (target/server/otklik)"
	@echo "make bench  server throughput and latency (release build, 64 concurrent clients)"
	@echo "make cold-start  how soon a restarted server answers its first request"
	@echo "make perf   the widget on a throttled phone in Chromium: time to usable, long tasks, layout shift, bytes"
	@echo "make size   twiggy: where the widget's wasm bytes go"
	@echo "make setup  install missing tools at the versions in tools.env (run by the targets above)"

setup:
	@scripts/setup.sh

# The widget bundle in dist/. trunk builds one module (`trunk serve` for development); the shipped widget is
# split into modules loaded when the reader needs them (the thread, the typo dialog: src/chunks.rs), a step
# trunk cannot run, so cargo compiles with `--cfg otklik_split` and relocations kept, and `xtask bundle`
# splits, binds (wasm-bindgen), shrinks (wasm-opt -Oz) and names the files by their hash. The build also
# rebuilds the standard library for size: panics become traps without message formatting, and panic
# locations and Debug output are left out (-18 KB gzip, see README "Widget weight"). These are unstable
# options of the pinned stable compiler, enabled for this one build only; its own target directory keeps it
# apart from the test builds.
WIDGET_TARGET := target/widget
WIDGET_WASM := $(WIDGET_TARGET)/wasm32-unknown-unknown/release/otklik_widget.wasm
WIDGET_BUNDLE := $(WIDGET_TARGET)/wasm32-unknown-unknown/release/bundle
WIDGET_ENV := RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_TARGET_DIR=$(WIDGET_TARGET) \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none --cfg otklik_split -Clink-arg=--emit-relocs -Dwarnings"
widget: setup
	$(WIDGET_ENV) cargo build --release --lib --target wasm32-unknown-unknown -p otklik-widget --locked
	cargo run -q -p xtask --locked -- bundle $(WIDGET_WASM) dist

server: setup
	cargo build --profile server -p otklik-server

# One file to deploy: the server with the widget compiled in (target/server/otklik; see README "Deploying").
release: widget
	cargo build --profile server -p otklik-server --features embed-assets --locked
	@echo "release: $(SERVER_BIN) carries the widget; copy it to the server"

run: widget server
	$(SERVER_BIN) serve

test: setup lint widget weight test-native test-widget test-api
	@echo "make test: all checks passed"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --exclude otklik-widget --all-targets --locked -- -D warnings
	cargo clippy -p otklik-widget -p otklik-api --target wasm32-unknown-unknown --all-targets --locked -- -D warnings

# API and server integration tests, the end-to-end tests (they need dist/ from `widget`), and the widget's
# plain string logic (linkify) natively.
# The server's integration tests run twice: on SQLite, and on a throwaway PostgreSQL cluster.
test-native:
	cargo test --workspace --exclude otklik-widget --locked
	cargo test -p otklik-widget --lib --locked linkify::
	scripts/with-postgres.sh sh -c 'cargo test -p otklik-server --locked && cargo test -p otklik-e2e --test nodes --locked'

# The API fuzzed from its own OpenAPI description by schemathesis, on a real server (scripts/api-fuzz.sh).
test-api:
	scripts/api-fuzz.sh

# Widget tests in headless Chromium, against a real server started for them.
test-widget:
	scripts/widget-tests.sh

# What a page downloads for the widget; fails above the budget.
weight:
	cargo run -q -p xtask --locked -- weight dist --budget-kb $(WIDGET_BUDGET_KB) --total-budget-kb $(WIDGET_TOTAL_BUDGET_KB)

# On SQLite, then on a throwaway PostgreSQL cluster with its default (durable) settings: one node, and two
# nodes sharing the load.
bench: setup
	cargo build --profile server -p otklik-server -p xtask --locked
	target/server/xtask bench --server $(SERVER_BIN)
	target/server/xtask import-bench --server $(SERVER_BIN)
	target/server/xtask mail-bench --server $(SERVER_BIN)
	OTKLIK_PG_DURABLE=1 scripts/with-postgres.sh sh -c 'target/server/xtask bench --server $(SERVER_BIN) \
	  --postgres "$$OTKLIK_TEST_POSTGRES" && target/server/xtask bench --server $(SERVER_BIN) \
	  --postgres "$$OTKLIK_TEST_POSTGRES" --nodes 2'

# How soon a restarted node answers: the release server started on an existing database with the widget.
cold-start: widget
	cargo build --profile server -p otklik-server -p xtask --locked
	target/server/xtask cold-start --server $(SERVER_BIN) --assets dist

# How soon the widget is usable on a phone (Lighthouse's mobile throttling, in Chromium): it measures and
# reports, passing or failing nothing. PERF_RUNS runs, each in a fresh browser; medians printed.
PERF_RUNS ?= 5
perf: widget
	cargo run -q -p otklik-e2e --bin perf --locked -- --runs $(PERF_RUNS)

clean:
	cargo clean
	rm -rf dist

# Where the widget's bytes go: twiggy's top items of the optimised wasm, with function names kept.
size: widget
	@command -v twiggy >/dev/null || cargo install --locked twiggy
	mkdir -p target/size
	wasm-bindgen --target web --keep-lld-exports --keep-debug --out-dir target/size $(WIDGET_BUNDLE)/main.wasm
	wasm-opt -Oz -g target/size/main_bg.wasm -o target/size/main.wasm
	for module in target/size/main.wasm $(WIDGET_BUNDLE)/split_*.wasm $(WIDGET_BUNDLE)/chunk_*.wasm; do \
		case $$module in *.opt.wasm) continue;; esac; echo "== $$module"; twiggy top -n 20 $$module 2>/dev/null; done
