#!/usr/bin/env bash
# Builds the web pages into web/dist/: the verifier as WebAssembly (cargo, wasm-bindgen --target
# web, wasm-opt -Oz) in dist/pkg/, the hotel desk page in dist/desk/. Prints the .wasm's raw and
# brotli sizes. Needs what .ci/install installs (wasm32 target, wasm-bindgen-cli, node packages in
# web/ for binaryen's wasm-opt, brotli).
set -euo pipefail
cd "$(dirname "$0")/.."
NICE=${NICE:-nice -n 15}

out=web/dist
rm -rf "$out"
mkdir -p "$out/pkg" "$out/desk"

echo "build: verifier-wasm (release, wasm32-unknown-unknown)"
$NICE cargo build --quiet --release --target wasm32-unknown-unknown -p verifier-wasm
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
wasm="$target_dir/wasm32-unknown-unknown/release/verifier_wasm.wasm"

echo "build: wasm-bindgen --target web"
$NICE wasm-bindgen --target web --out-dir "$out/pkg" "$wasm"

echo "build: no exported globals"
node web/strip-globals.mjs "$out/pkg/verifier_wasm_bg.wasm" "$out/pkg/verifier_wasm.js"

echo "build: wasm-opt -Oz"
# binaryen from npm (web/package.json): Debian 12's binaryen 108 predates the reference-types
# table wasm-bindgen emits and produces a module that fails to instantiate.
wasm_opt=web/node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "build: $wasm_opt is missing; run .ci/install (npm ci in web)" >&2
  exit 2
fi
$NICE "$wasm_opt" -Oz --strip-debug --strip-producers \
  -o "$out/pkg/verifier_wasm_bg.opt.wasm" "$out/pkg/verifier_wasm_bg.wasm"
mv "$out/pkg/verifier_wasm_bg.opt.wasm" "$out/pkg/verifier_wasm_bg.wasm"

echo "build: desk page"
cp web/desk/index.html web/desk/desk.js web/desk/desk.css "$out/desk/"

echo "build: wallet page"
mkdir -p "$out/wallet"
cp web/wallet/index.html web/wallet/wallet.js web/wallet/wallet.css "$out/wallet/"

raw=$(stat -c %s "$out/pkg/verifier_wasm_bg.wasm")
brotli -q 11 -f -k -o "$out/pkg/verifier_wasm_bg.wasm.br" "$out/pkg/verifier_wasm_bg.wasm"
br=$(stat -c %s "$out/pkg/verifier_wasm_bg.wasm.br")
printf 'size: verifier_wasm_bg.wasm %d bytes (%d KiB) raw, %d bytes (%d KiB) brotli\n' \
  "$raw" $((raw / 1024)) "$br" $((br / 1024))
