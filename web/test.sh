#!/usr/bin/env bash
# Drives the hotel desk page (web/dist, built by web/build.sh) in Debian's headless Chromium
# against a real `issuer serve` on loopback: a citizen is enrolled and receives a credential
# with the Rust `wallet` CLI, and answers the page's requests with `wallet present`. The steps
# and checks are in web/test/desk.mjs; screenshots go to web/test-output/.
# Needs what .ci/install installs (chromium, node packages in web/).
set -euo pipefail
cd "$(dirname "$0")/.."
NICE=${NICE:-nice -n 15}

if [ ! -f web/dist/desk/index.html ] || [ ! -f web/dist/pkg/verifier_wasm_bg.wasm ]; then
  echo "test: web/dist is missing; run web/build.sh first" >&2
  exit 2
fi
chromium_bin=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium_bin" ]; then
  echo "test: $chromium_bin not found; run .ci/install" >&2
  exit 2
fi
if [ ! -d web/node_modules/puppeteer-core ]; then
  echo "test: web/node_modules is missing; run .ci/install (npm ci in web)" >&2
  exit 2
fi

echo "test: building the issuer and wallet binaries"
$NICE cargo build --quiet -p issuer -p wallet
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

work=$(mktemp -d "${TMPDIR:-/tmp}/desk-test.XXXXXX")
issuer_pid=""
cleanup() {
  if [ -n "$issuer_pid" ]; then
    kill "$issuer_pid" 2>/dev/null || true
    wait "$issuer_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export ISSUER_BIN="$target_dir/debug/issuer"
export WALLET_BIN="$target_dir/debug/wallet"
export CHROMIUM="$chromium_bin"
export WORK="$work"

# A free loopback port for the issuer: its public URL must be known before it starts (the
# offers `issuer enroll` prints name it).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export ISSUER_PUBLIC_URL="http://127.0.0.1:$port"
export ISSUER_DATA="$work/issuer-data"

"$ISSUER_BIN" serve --data "$ISSUER_DATA" --listen "127.0.0.1:$port" >"$work/issuer.out" 2>"$work/issuer.err" &
issuer_pid=$!
for _ in $(seq 1 100); do
  if grep -q '^root key fingerprint:' "$work/issuer.out" 2>/dev/null; then break; fi
  if ! kill -0 "$issuer_pid" 2>/dev/null; then
    echo "test: issuer serve exited" >&2
    cat "$work/issuer.err" >&2
    exit 1
  fi
  sleep 0.2
done
export ISSUER_FINGERPRINT
ISSUER_FINGERPRINT=$(sed -n 's/^root key fingerprint: //p' "$work/issuer.out")
if [ -z "$ISSUER_FINGERPRINT" ]; then
  echo "test: issuer serve did not start" >&2
  cat "$work/issuer.err" >&2
  exit 1
fi
echo "test: issuer on $ISSUER_PUBLIC_URL (root $ISSUER_FINGERPRINT)"

# The wallet's WebAssembly package in plain Node: receive and answer against this issuer.
if [ -f web/dist/wallet-pkg/wallet_wasm_bg.wasm ]; then
  node web/test/wallet-pkg.mjs
else
  echo "test: web/dist/wallet-pkg is missing; run web/build.sh first" >&2
  exit 2
fi

node web/test/desk.mjs
