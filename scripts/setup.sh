#!/usr/bin/env bash
# Installs whatever the build and tests need and is missing, at the versions pinned in tools.env.
# Idempotent: each step checks first and says what it found. Everything comes from package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tools.env
source tools.env

step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export PATH="$HOME/.cargo/bin:/usr/local/bin:$PATH"

step "Rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then echo "present"; else rustup target add wasm32-unknown-unknown; fi

step "rustfmt and clippy"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then echo "present"
else rustup component add rustfmt clippy; fi

step "rust-src (the shipped widget rebuilds the standard library for size)"
if [ -f "$(rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock" ]; then echo "present"
else rustup component add rust-src; fi

step "Chromium and ChromeDriver (Debian packages)"
if have chromium && have chromedriver; then chromium --version 2>/dev/null | head -1
else
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  chromium --version | head -1
fi

step "PostgreSQL server (Debian packages; the tests start throwaway clusters of their own)"
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then ls -d /usr/lib/postgresql/*/bin | tail -1
else
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  ls -d /usr/lib/postgresql/*/bin | tail -1
fi

step "wasm-opt $BINARYEN_VERSION (npm binaryen; Debian's is too old)"
if have wasm-opt && wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then wasm-opt --version
else as_root npm install -g --prefix /usr/local "binaryen@$BINARYEN_VERSION" >/dev/null; wasm-opt --version; fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if have wasm-bindgen && wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION\$" && have wasm-bindgen-test-runner; then
  wasm-bindgen --version
else
  # Its own lock file names a crate the registry no longer serves: fall back to fresh resolution.
  cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force ||
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
locked=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked but tools.env pins $WASM_BINDGEN_VERSION: make them equal" >&2
  exit 1
fi

step "trunk $TRUNK_VERSION"
if have trunk && trunk --version | grep -q " $TRUNK_VERSION\$"; then trunk --version
else cargo install --locked trunk --version "$TRUNK_VERSION" --force; fi

step "wasm-pack $WASM_PACK_VERSION"
if have wasm-pack && wasm-pack --version | grep -q " $WASM_PACK_VERSION\$"; then wasm-pack --version
else cargo install --locked wasm-pack --version "$WASM_PACK_VERSION" --force; fi

step "axe-core $AXE_CORE_VERSION (npm; the accessibility end-to-end test injects it into pages)"
axe=target/npm/node_modules/axe-core
if [ -f "$axe/axe.min.js" ] && grep -q "\"version\": \"$AXE_CORE_VERSION\"" "$axe/package.json"; then echo "present"
else npm install --no-save --no-audit --no-fund --prefix target/npm "axe-core@$AXE_CORE_VERSION" >/dev/null; echo "installed"; fi

step "terser $TERSER_VERSION (npm; make widget minifies the widget's JS glue with it)"
terser=target/terser/node_modules/terser
if [ -f "$terser/bin/terser" ] && grep -q "\"version\": \"$TERSER_VERSION\"" "$terser/package.json"; then echo "present"
else npm install --no-save --no-audit --no-fund --prefix target/terser "terser@$TERSER_VERSION" >/dev/null; echo "installed"; fi

step "schemathesis $SCHEMATHESIS_VERSION (PyPI, in target/venv; make test fuzzes the API with it)"
st=target/venv/bin/schemathesis
if [ -x "$st" ] && "$st" --version | grep -q " $SCHEMATHESIS_VERSION\$"; then "$st" --version
else
  python3 -m venv target/venv 2>/dev/null || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf target/venv
    python3 -m venv target/venv
  }
  target/venv/bin/pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  "$st" --version
fi

step "aiosmtpd $AIOSMTPD_VERSION (PyPI, in target/venv; the notification tests send mail to it)"
if target/venv/bin/python -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null
then echo "present"
else target/venv/bin/pip install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"; echo "installed"; fi

step "crates for offline builds"
cargo fetch --locked
# The shipped widget rebuilds the standard library (see Makefile, WIDGET_ENV): fetch its crates too, as trunk
# builds offline.
RUSTC_BOOTSTRAP=1 cargo fetch --locked -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown
echo
echo "setup: all tools present"
