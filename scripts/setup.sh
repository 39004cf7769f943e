#!/usr/bin/env bash
# Installs what the portal needs on a Debian machine, skipping whatever is
# already there at the right version. Sourced by serve.sh and test.sh.
#
#   scripts/setup.sh          # what serving needs
#   scripts/setup.sh --test   # plus Chromium, PostgreSQL and the browser-test packages
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Build caches live outside the clone, so a fresh clone on a warm machine
# rebuilds in seconds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/receivables-portal/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# Incremental caches only pay off while editing; in these scripts they cost
# gigabytes of disk per build for little time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

CARGO_LEPTOS_VERSION="0.3.11"
# wasm-opt for release builds: npm's binaryen (a Node.js build of Binaryen),
# pinned. Debian 12's binaryen 108 emits a WASM that Chromium refuses at run
# time ("WebAssembly.Table.set(): Argument 1 is invalid for table"), so no
# island hydrates. Installed outside the clone and put first on PATH, where
# cargo-leptos (no_downloads) looks for `wasm-opt`; an older wasm-opt
# elsewhere on PATH is shadowed.
BINARYEN_VERSION="132.0.0"
tools_dir="${PORTAL_TOOLS_DIR:-$HOME/.cache/receivables-portal/tools}"
export PATH="$tools_dir/node_modules/.bin:$PATH"
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$repo/rust-toolchain.toml")"
wasm_bindgen_version="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$repo/Cargo.lock")"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1
  fi
}

apt_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

setup_rust() {
  if ! command -v rustup >/dev/null; then
    echo "rustup is required (https://rustup.rs); it installs the pinned toolchain by itself" >&2
    exit 1
  fi
  # A toolchain that rustup put in by itself (from rust-toolchain.toml, on
  # the first cargo call) can lack the target or the components: check each.
  if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
     ! rustup target list --installed --toolchain "$toolchain" | grep -q wasm32-unknown-unknown ||
     ! rustup component list --installed --toolchain "$toolchain" | grep -q '^rustfmt' ||
     ! rustup component list --installed --toolchain "$toolchain" | grep -q '^clippy'; then
    step "rustup: toolchain $toolchain with wasm32-unknown-unknown"
    rustup toolchain install "$toolchain" --profile minimal -c rustfmt,clippy -t wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    step "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads; takes 10-30 minutes once)"
    cargo install cargo-leptos --version "=$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
    step "cargo install wasm-bindgen-cli $wasm_bindgen_version (must equal the crate in Cargo.lock; ~10 minutes once)"
    cargo install wasm-bindgen-cli --version "=$wasm_bindgen_version"
  fi
}

setup_node() {
  # Node.js may come from elsewhere than Debian (it does on our machines):
  # only install Debian's when there is none at all.
  command -v node >/dev/null && command -v npm >/dev/null || apt_packages nodejs npm
}

setup_wasm_opt() {
  local installed
  installed="$(node -p "require('$tools_dir/node_modules/binaryen/package.json').version" 2>/dev/null || true)"
  if [ "$installed" != "$BINARYEN_VERSION" ]; then
    step "npm install binaryen@$BINARYEN_VERSION (wasm-opt, into $tools_dir)"
    mkdir -p "$tools_dir"
    npm install --prefix "$tools_dir" --no-audit --no-fund --silent --save-exact "binaryen@$BINARYEN_VERSION"
  fi
  local found
  found="$(command -v wasm-opt || true)"
  if [ "$found" != "$tools_dir/node_modules/.bin/wasm-opt" ] ||
     ! wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}\b"; then
    echo "wasm-opt on PATH is ${found:-missing} ($(wasm-opt --version 2>&1 | head -n1)); expected binaryen $BINARYEN_VERSION from $tools_dir" >&2
    exit 1
  fi
}

setup_serve() {
  # gcc/make for crates that build C.
  # Noto fonts for generated PDFs (SIL Open Font License 1.1): read from
  # /usr/share/fonts at start-up (PORTAL_PDF_FONT_DIRS), never downloaded.
  apt_packages ca-certificates build-essential fonts-noto-core fonts-noto-cjk
  setup_node
  setup_wasm_opt
  setup_rust
}

# Schemathesis (PyPI) fuzzes the seller API from its OpenAPI document
# (scripts/schemathesis.sh). Pinned; in a venv outside the clone, so nothing
# goes into the system Python.
SCHEMATHESIS_VERSION="4.32.5"

setup_schemathesis() {
  local venv="$tools_dir/st-venv"
  if [ "$("$venv/bin/st" --version 2>/dev/null | awk '{print $3}')" != "$SCHEMATHESIS_VERSION" ]; then
    # Debian's python3 (3.11) keeps venv and ensurepip in python3-venv.
    python3 -c 'import venv, ensurepip' 2>/dev/null || apt_packages python3-venv
    step "pip install schemathesis==$SCHEMATHESIS_VERSION (a venv in $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

setup_test() {
  setup_serve
  # poppler-utils: pdftotext / pdffonts read generated PDFs back in the tests.
  # curl: scripts/schemathesis.sh waits for the portal with it.
  apt_packages postgresql chromium poppler-utils curl python3
  setup_schemathesis
  local stamp="$repo/end2end/node_modules/.portal-lock-sha256"
  local want
  want="$(sha256sum "$repo/end2end/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    step "npm ci (end2end: Playwright, axe-core, SMTP sink; no browser download)"
    (cd "$repo/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
    echo "$want" > "$stamp"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    --test) setup_test ;;
    "") setup_serve ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
fi
