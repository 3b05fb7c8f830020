// Removes exported globals from a .wasm file (a mini-program host on iOS refuses a module that
// exports one), after checking the JS glue never reads them, then fails if any is left.
// wasm-bindgen's runtime exports `__instance_terminated` and `__abort_handler` as globals for its
// abort handling, which a panic=abort build's glue does not use.
// Usage: node web/strip-globals.mjs MODULE.wasm GLUE.js
import { readFileSync, writeFileSync } from "node:fs";

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error("usage: node web/strip-globals.mjs MODULE.wasm GLUE.js");
  process.exit(2);
}
const bytes = readFileSync(wasmPath);
const glue = readFileSync(gluePath, "utf8");

function uleb(buf, pos) {
  let result = 0, shift = 0, b;
  do {
    b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

function encodeUleb(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error(`${wasmPath}: not a wasm module`);
const parts = [bytes.subarray(0, 8)];
const removed = [];
let pos = 8;
while (pos < bytes.length) {
  const id = bytes[pos];
  const [size, start] = uleb(bytes, pos + 1);
  const end = start + size;
  if (id !== 7) {
    parts.push(bytes.subarray(pos, end));
  } else {
    let [count, p] = uleb(bytes, start);
    const kept = [];
    for (let i = 0; i < count; i++) {
      const entryStart = p;
      const [len, nameStart] = uleb(bytes, p);
      const name = bytes.toString("utf8", nameStart, nameStart + len);
      const kind = bytes[nameStart + len];
      [, p] = uleb(bytes, nameStart + len + 1);
      if (kind === 3) {
        if (new RegExp(`\\b${name}\\b`).test(glue)) {
          throw new Error(`exported global ${name} is used by ${gluePath}; cannot remove it`);
        }
        removed.push(name);
      } else {
        kept.push(bytes.subarray(entryStart, p));
      }
    }
    const body = Buffer.concat([encodeUleb(kept.length), ...kept]);
    parts.push(Buffer.from([7]), encodeUleb(body.length), body);
  }
  pos = end;
}
const out = Buffer.concat(parts);
const left = WebAssembly.Module.exports(new WebAssembly.Module(out)).filter((e) => e.kind === "global");
if (left.length) throw new Error(`exported globals left: ${left.map((e) => e.name).join(", ")}`);
writeFileSync(wasmPath, out);
console.log(`strip-globals: removed ${removed.length ? removed.join(", ") : "nothing"}; no exported globals`);
