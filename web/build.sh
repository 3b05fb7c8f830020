#!/usr/bin/env bash
# Builds the web pages into web/dist/: the verifier as WebAssembly (cargo, wasm-bindgen --target
# web, wasm-opt -Oz) in dist/pkg/, the wallet core likewise in dist/wallet-pkg/, the hotel desk
# page in dist/desk/. Prints each .wasm's raw and brotli sizes; fails if a module exports a
# global or the wallet's is over 2 MiB brotli. Needs what .ci/install installs (wasm32 target, wasm-bindgen-cli, node packages in
# web/ for binaryen's wasm-opt, brotli).
set -euo pipefail
cd "$(dirname "$0")/.."
NICE=${NICE:-nice -n 15}

out=web/dist
rm -rf "$out"
mkdir -p "$out/pkg" "$out/desk"

# binaryen from npm (web/package.json): Debian 12's binaryen 108 predates the reference-types
# table wasm-bindgen emits and produces a module that fails to instantiate.
wasm_opt=web/node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "build: $wasm_opt is missing; run .ci/install (npm ci in web)" >&2
  exit 2
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# build_pkg CRATE DIR [MAX_BROTLI_BYTES]: cargo (release, wasm32-unknown-unknown),
# wasm-bindgen --target web, exported globals stripped, wasm-opt -Oz, then checks (no exported
# global, brotli size at most MAX_BROTLI_BYTES) and prints the sizes.
build_pkg() {
  local crate=$1 dir=$2 max=${3:-}
  local name=${crate//-/_}
  mkdir -p "$dir"
  echo "build: $crate (release, wasm32-unknown-unknown)"
  $NICE cargo build --quiet --release --target wasm32-unknown-unknown -p "$crate"
  echo "build: $crate: wasm-bindgen --target web"
  $NICE wasm-bindgen --target web --out-dir "$dir" "$target_dir/wasm32-unknown-unknown/release/$name.wasm"
  echo "build: $crate: no exported globals"
  node web/strip-globals.mjs "$dir/${name}_bg.wasm" "$dir/$name.js"
  echo "build: $crate: wasm-opt -Oz"
  $NICE "$wasm_opt" -Oz --strip-debug --strip-producers \
    -o "$dir/${name}_bg.opt.wasm" "$dir/${name}_bg.wasm"
  mv "$dir/${name}_bg.opt.wasm" "$dir/${name}_bg.wasm"
  node -e '
    const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
    const g = WebAssembly.Module.exports(m).filter((e) => e.kind === "global");
    if (g.length) { console.error("build: exports globals: " + g.map((e) => e.name).join(", ")); process.exit(1); }
  ' "$dir/${name}_bg.wasm"
  local raw br
  raw=$(stat -c %s "$dir/${name}_bg.wasm")
  brotli -q 11 -f -k -o "$dir/${name}_bg.wasm.br" "$dir/${name}_bg.wasm"
  br=$(stat -c %s "$dir/${name}_bg.wasm.br")
  printf 'size: %s_bg.wasm %d bytes (%d KiB) raw, %d bytes (%d KiB) brotli\n' \
    "$name" "$raw" $((raw / 1024)) "$br" $((br / 1024))
  if [ -n "$max" ] && [ "$br" -gt "$max" ]; then
    echo "build: $crate: ${name}_bg.wasm.br is $br bytes, over the limit of $max" >&2
    exit 1
  fi
}

build_pkg verifier-wasm "$out/pkg"
# The wallet: a mini-program package is at most 2 MiB (brotli).
build_pkg wallet-wasm "$out/wallet-pkg" $((2 * 1024 * 1024))

echo "build: desk page"
cp web/desk/index.html web/desk/desk.js web/desk/desk.css "$out/desk/"

echo "build: wallet page"
mkdir -p "$out/wallet"
cp web/wallet/index.html web/wallet/wallet.js web/wallet/wallet.css "$out/wallet/"
mkdir -p "$out/common"
cp web/common/base.css web/common/camera.js web/common/table.js "$out/common/"
