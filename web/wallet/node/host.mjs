// The wasm wallet's `Host` in Node 20: HTTP with fetch (no redirect followed, 30 s timeout,
// the answer read only up to the core's limit), persistence into the data directory, the
// clock. Holder keys are the core's software keys (signer "software"), sealed in the records.
// The core checks every URL (https off loopback) and every answer (status, no 3xx, size,
// content type); this file only carries bytes.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { couldNotRun, oneLine } from "./failure.mjs";

/** How long one HTTP exchange may take, as the Rust wallet's client. */
export const TIMEOUT_MS = 30_000;

const here = dirname(fileURLToPath(import.meta.url));

/** Reads at most `limit + 1` bytes of a fetch body: the core refuses a body over its limit. */
async function readBody(response, limit) {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      break;
    }
  }
  const out = new Uint8Array(Math.min(total, limit + 1));
  let off = 0;
  for (const c of chunks) {
    const n = Math.min(c.length, out.length - off);
    out.set(c.subarray(0, n), off);
    off += n;
    if (off === out.length) break;
  }
  return out;
}

/** The Host over a data directory (`DataDir`). */
export function nodeHost(dataDir) {
  return {
    async exchange(req) {
      const limit = Number.isSafeInteger(req.maxResponseBytes) ? req.maxResponseBytes : 4 * 1024 * 1024;
      const response = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body && req.body.length > 0 ? req.body : undefined,
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      return {
        status: response.status,
        headers: [...response.headers],
        body: await readBody(response, limit),
        url: response.url,
      };
    },
    async persist(changes) {
      try {
        dataDir.persist(changes);
      } catch (e) {
        throw new Error(`cannot write ${dataDir.dir}: ${oneLine(e.code ?? e.message)}`);
      }
    },
    now() {
      return Math.floor(Date.now() / 1000);
    },
  };
}

/** The wallet package's directory: WALLET_PKG, else web/dist/wallet-pkg beside this file. */
export function packageDir() {
  return resolve(process.env.WALLET_PKG || join(here, "..", "..", "dist", "wallet-pkg"));
}

/** Loads and instantiates the wasm wallet (`web/build.sh` builds it). */
export async function loadWallet() {
  const dir = packageDir();
  const js = join(dir, "wallet_wasm.js");
  const wasm = join(dir, "wallet_wasm_bg.wasm");
  if (!existsSync(js) || !existsSync(wasm)) {
    throw couldNotRun(`the wasm wallet is not built in ${dir}: run web/build.sh (or set WALLET_PKG)`);
  }
  const pkg = await import(pathToFileURL(js).href);
  await pkg.default({ module_or_path: readFileSync(wasm) });
  return pkg;
}
