// What the browser tests of both pages share (web/test/desk.mjs, web/test/wallet.mjs): the
// environment web/test.sh exports, the static server for web/dist, headless Chromium on a
// profile directory (IndexedDB persists across launches), screenshots, and the desk page's
// steps (pin, sync, request, verdict).
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

export const here = dirname(fileURLToPath(import.meta.url));
export const dist = join(here, "..", "dist");
export const shots = join(here, "..", "test-output");

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run web/test.sh)`);
  return v;
};

export function run(bin, args, opts = {}) {
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
}

/** Serves web/dist on 127.0.0.1; resolves to the server (its port in `.address()`). */
export async function serveDist() {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".ts": "text/plain" };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, path.endsWith("/") ? join(path, "index.html") : path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

/** Headless Chromium on `profile` (so IndexedDB persists), its fake camera showing `camera`
 *  (a .y4m file) when given. */
export function browser(profile, camera, viewport = { width: 1100, height: 1000 }) {
  mkdirSync(profile, { recursive: true });
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  ];
  if (camera) args.push(`--use-file-for-fake-video-capture=${camera}`);
  return puppeteer.launch({ executablePath: env("CHROMIUM"), userDataDir: profile, args, headless: true, defaultViewport: viewport });
}

/** A screenshot function writing `PREFIXNN-name.png` into web/test-output/. */
export function shooter(prefix) {
  let n = 0;
  mkdirSync(shots, { recursive: true });
  return async (page, name) => {
    n += 1;
    await page.screenshot({ path: join(shots, `${prefix}${String(n).padStart(2, "0")}-${name}.png`), fullPage: true });
  };
}

/** Opens `url` in a new tab of `b`; with `cutBureau`, every request to `bureau` is aborted
 *  (as if the network were down). Waits for the page's `body[data-ready=true]`. */
export async function open(b, url, bureau, { cutBureau = false } = {}) {
  const page = await b.newPage();
  const blocked = [];
  const fetched = [];
  page.on("pageerror", (e) => console.error("page error:", e.message));
  page.on("requestfinished", (r) => {
    if (r.url().startsWith(bureau)) fetched.push(`${r.response()?.status()} ${r.url().slice(bureau.length)}`);
  });
  if (cutBureau) {
    await page.setRequestInterception(true);
    page.on("request", (r) => {
      if (r.url().startsWith(bureau)) {
        blocked.push(r.url());
        r.abort("internetdisconnected");
      } else r.continue();
    });
  }
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60000 });
  return { page, blocked, fetched };
}

export const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
export const screen = (page) => page.$eval("body", (e) => e.dataset.screen);

// ---------------------------------------------------------------- the desk page's steps

/** Pins `rootJwk` on a fresh desk and syncs from `bureau`; checks the fingerprint. */
export async function deskPinAndSync(page, rootJwk, fingerprint, bureau) {
  await page.$eval("#root-text", (e, v) => { e.value = v; }, rootJwk);
  await page.click("#pin");
  await page.waitForSelector("body[data-screen=sync]");
  const fp = (await text(page, "#fingerprint")).replace(/\s+/g, "");
  assert.equal(fp, fingerprint, "the page shows the root's RFC 7638 fingerprint");
  await page.type("#bureau-url", bureau);
  await deskSync(page);
}

/** Presses "sync" and waits for its outcome; asserts it succeeded. */
export async function deskSync(page) {
  await page.click("#sync");
  await page.waitForFunction(() => !document.getElementById("sync-result").hidden || !document.getElementById("sync-error").hidden, { timeout: 30000 });
  assert.equal(await page.$eval("#sync-error", (e) => e.hidden), true, await text(page, "#sync-error"));
}

/** The desk's verdict screen, as data. */
export async function deskVerdict(page) {
  await page.waitForSelector("body[data-screen=result]", { timeout: 30000 });
  return page.$eval("#verdict", (e) => ({
    accepted: e.dataset.accepted === "true",
    code: e.dataset.code,
    ms: Number(e.dataset.verifyMs),
    word: e.querySelector("#verdict-word").textContent,
    reason: e.querySelector("#verdict-reason").textContent,
  }));
}

/** Makes a new hotel request on the desk; returns its openid4vp:// URI. */
export async function deskNewRequest(page) {
  const before = await page.$eval("#request-qr", (e) => e.dataset.uri || "");
  await page.click((await screen(page)) === "result" ? "#next" : "#new-hotel");
  await page.waitForFunction((b) => {
    const e = document.getElementById("request-qr");
    return e.dataset.uri && e.dataset.uri !== b && e.querySelector("svg");
  }, { timeout: 30000 }, before);
  const uri = await page.$eval("#request-qr", (e) => e.dataset.uri);
  assert.match(uri, /^openid4vp:\/\//);
  return uri;
}

/** Pastes an answer into the desk and verifies it. */
export async function deskPaste(page, answer) {
  await page.evaluate(() => { document.getElementById("paste-box").open = true; });
  await page.$eval("#answer-text", (e, v) => { e.value = v; }, answer);
  await page.click("#verify");
  return deskVerdict(page);
}
