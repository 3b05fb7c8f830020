// The hotel desk page in headless Chromium, against a real issuer (started by web/test.sh,
// which exports ISSUER_BIN, WALLET_BIN, ISSUER_DATA, ISSUER_PUBLIC_URL, ISSUER_FINGERPRINT,
// CHROMIUM and WORK). Each step asserts what the clerk sees; every screen is screenshotted
// into web/test-output/. Exits non-zero on the first failed check.
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { pngToY4m } from "./y4m.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const shots = join(here, "..", "test-output");
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run web/test.sh)`);
  return v;
};
const WORK = env("WORK");
const ISSUER = env("ISSUER_PUBLIC_URL");
const FINGERPRINT = env("ISSUER_FINGERPRINT");
const walletData = join(WORK, "wallet-data");
const walletEnv = { ...process.env, WALLET_PASSPHRASE: "desk test passphrase, long enough" };

function run(bin, args, opts = {}) {
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
}

// ---------------------------------------------------------------- the citizen and her wallet

const claims = join(here, "..", "..", "examples", "claims", "citizen-high.json");
const idNumber = JSON.parse(readFileSync(claims, "utf8")).id_number;
const offer = JSON.parse(run(env("ISSUER_BIN"), ["enroll", "--data", env("ISSUER_DATA"), "--level", "high", "--claims", claims, "--json"]));
run(env("ISSUER_BIN"), ["trust-bundle", "--data", env("ISSUER_DATA"), "--root-jwk", join(WORK, "root.jwk"), "--out", join(WORK, "bundle.jwt")]);
const rootJwk = readFileSync(join(WORK, "root.jwk"), "utf8");
run(env("WALLET_BIN"), ["init", "--data", walletData], { env: walletEnv });
run(env("WALLET_BIN"), ["receive", offer.offer_uri, "--tx-code", offer.tx_code, "--data", walletData, "--json"], { env: walletEnv });

/** The wallet answers a request: returns the VP2: text and writes its QR code PNG. */
function present(uri, png) {
  const out = JSON.parse(run(env("WALLET_BIN"), ["present", uri, "--yes", "--png", png, "--json", "--data", walletData], { env: walletEnv }));
  assert.match(out.answer, /^VP2:/);
  return out.answer;
}

// ---------------------------------------------------------------- the page's web server

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
const PAGE = `http://127.0.0.1:${server.address().port}/desk/`;

// ---------------------------------------------------------------- the browser

const profile = join(WORK, "chromium-profile");
mkdirSync(profile, { recursive: true });
const y4m = join(WORK, "answer.y4m");

/** A browser on the same profile (so IndexedDB persists), its fake camera showing `y4m`. */
async function browser(camera) {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  ];
  if (camera) args.push(`--use-file-for-fake-video-capture=${camera}`);
  return puppeteer.launch({ executablePath: env("CHROMIUM"), userDataDir: profile, args, headless: true, defaultViewport: { width: 1100, height: 1000 } });
}

let shotNo = 0;
async function shot(page, name) {
  shotNo += 1;
  await page.screenshot({ path: join(shots, `${String(shotNo).padStart(2, "0")}-${name}.png`), fullPage: true });
}

async function open(b, { cutBureau = false } = {}) {
  const page = await b.newPage();
  const blocked = [];
  const fetched = [];
  page.on("pageerror", (e) => console.error("page error:", e.message));
  page.on("requestfinished", (r) => {
    if (r.url().startsWith(ISSUER)) fetched.push(`${r.response()?.status()} ${r.url().slice(ISSUER.length)}`);
  });
  if (cutBureau) {
    await page.setRequestInterception(true);
    page.on("request", (r) => {
      if (r.url().startsWith(ISSUER)) {
        blocked.push(r.url());
        r.abort("internetdisconnected");
      } else r.continue();
    });
  }
  await page.goto(PAGE);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  return { page, blocked, fetched };
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const screen = (page) => page.$eval("body", (e) => e.dataset.screen);

async function verdict(page) {
  await page.waitForSelector("body[data-screen=result]", { timeout: 30000 });
  return page.$eval("#verdict", (e) => ({
    accepted: e.dataset.accepted === "true",
    code: e.dataset.code,
    ms: Number(e.dataset.verifyMs),
    word: e.querySelector("#verdict-word").textContent,
    reason: e.querySelector("#verdict-reason").textContent,
  }));
}

async function newRequest(page) {
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

async function paste(page, answer) {
  await page.evaluate(() => { document.getElementById("paste-box").open = true; });
  await page.$eval("#answer-text", (e, v) => { e.value = v; }, answer);
  await page.click("#verify");
  return verdict(page);
}

const timings = [];
const steps = [];
const step = (s) => { steps.push(s); console.log(`desk: ${s}`); };

try {
  // 1. Pin the root, compare the fingerprint, sync from the bureau's URL.
  let b = await browser(null);
  let { page } = await open(b);
  assert.equal(await screen(page), "setup");
  await shot(page, "setup-zh");
  await page.$eval("#root-text", (e) => { e.value = "{not a key"; });
  await page.click("#pin");
  assert.match(await text(page, "#setup-error"), /根密钥/);
  await shot(page, "setup-bad-root");
  await page.$eval("#root-text", (e, v) => { e.value = v; }, rootJwk);
  await page.click("#pin");
  await page.waitForSelector("body[data-screen=sync]");
  const fp = (await text(page, "#fingerprint")).replace(/\s+/g, "");
  assert.equal(fp, FINGERPRINT, "the page shows the root's RFC 7638 fingerprint");
  step("pinned the root; fingerprint matches the issuer's");
  await page.type("#bureau-url", ISSUER);
  await page.click("#sync");
  await page.waitForFunction(() => !document.getElementById("sync-result").hidden || !document.getElementById("sync-error").hidden, { timeout: 30000 });
  assert.equal(await page.$eval("#sync-error", (e) => e.hidden), true, await text(page, "#sync-error"));
  assert.match(await text(page, "#sync-result"), /已同步/);
  await shot(page, "synced-zh");
  step("synced the trust bundle from the bureau's URL");
  await page.click("#lang");
  assert.match(await text(page, "#sync-result"), /Synced|同步/);
  await page.click("#sync");
  await page.waitForFunction(() => /Synced/.test(document.getElementById("sync-result").textContent), { timeout: 30000 });
  await shot(page, "synced-en");
  await page.click("#lang");
  await page.click("#to-check");
  const uri1 = await newRequest(page);
  await shot(page, "request-zh");
  step("made a hotel request");
  await b.close();

  // 2. Offline: the route to the bureau is cut. The answer comes through the fake camera.
  const answer1 = present(uri1, join(WORK, "answer1.png"));
  writeFileSync(y4m, pngToY4m(readFileSync(join(WORK, "answer1.png"))));
  b = await browser(y4m);
  let blocked;
  ({ page, blocked } = await open(b, { cutBureau: true }));
  assert.equal(await screen(page), "check", "the desk restored its state from IndexedDB");
  await page.click("#to-sync");
  await page.click("#sync");
  await page.waitForFunction(() => !document.getElementById("sync-error").hidden, { timeout: 30000 });
  assert.ok(blocked.length > 0, "the page tried the bureau and was cut off");
  await shot(page, "sync-offline");
  step("with the bureau cut off, a sync fails and the state is kept");
  await page.click("#to-check");
  // The request made before is still pending (IndexedDB); the camera reads the answer to it.
  await page.click("#camera");
  let v = await verdict(page);
  assert.ok(v.accepted, `camera answer accepted (got ${v.code}: ${v.reason})`);
  timings.push(v.ms);
  assert.match(await text(page, "#claims"), new RegExp(idNumber));
  await shot(page, "accepted-camera-zh");
  step(`offline, the answer read by the camera is accepted (${v.ms} ms)`);

  // 3. Pasted text: accepted once, refused when shown again.
  const uri2 = await newRequest(page);
  const answer2 = present(uri2, join(WORK, "answer2.png"));
  v = await paste(page, answer2);
  assert.ok(v.accepted, `pasted answer accepted (got ${v.code}: ${v.reason})`);
  timings.push(v.ms);
  await page.click("#lang");
  await shot(page, "accepted-paste-en");
  await page.click("#lang");
  step("offline, the pasted answer is accepted");
  await newRequest(page);
  v = await paste(page, answer2);
  assert.equal(v.accepted, false);
  assert.equal(v.code, "nonce_unknown_or_used");
  await shot(page, "refused-replay-zh");
  await newRequest(page);
  v = await paste(page, answer1);
  assert.equal(v.code, "nonce_unknown_or_used", "the camera's answer shown again is refused too");
  step("the same answers shown again are refused (nonce_unknown_or_used)");
  await b.close();

  // 4. The bureau revokes her credentials; after a sync the desk refuses with `revoked`.
  run(env("ISSUER_BIN"), ["revoke", "--data", env("ISSUER_DATA"), "--citizen", idNumber]);
  b = await browser(null);
  let fetched;
  ({ page, fetched } = await open(b));
  const uri3 = await newRequest(page);
  const answer3 = present(uri3, join(WORK, "answer3.png"));
  await page.click("#to-sync");
  await page.click("#sync");
  await page.waitForFunction(() => !document.getElementById("sync-result").hidden || !document.getElementById("sync-error").hidden, { timeout: 30000 });
  assert.equal(await page.$eval("#sync-error", (e) => e.hidden), true, await text(page, "#sync-error"));
  assert.ok(fetched.some((f) => /^200 \/trust-bundle\/delta\?since=\d+$/.test(f)), `synced by a delta: ${fetched}`);
  await b.close();
  b = await browser(null);
  ({ page, blocked } = await open(b, { cutBureau: true }));
  v = await paste(page, answer3);
  assert.equal(v.accepted, false);
  assert.equal(v.code, "revoked");
  assert.match(v.reason, /吊销/);
  await shot(page, "refused-revoked-zh");
  await page.click("#lang");
  assert.match(await text(page, "#verdict-reason"), /revoked/);
  await shot(page, "refused-revoked-en");
  assert.equal(blocked.length, 0, "verifying needs no network");
  step("after the revocation and a sync (delta), the answer is refused (revoked), offline");
  await b.close();

  const report = { steps, verify_ms: timings };
  writeFileSync(join(shots, "report.json"), JSON.stringify(report, null, 2));
  console.log(`desk: passed; verify times ${timings.map((t) => `${t} ms`).join(", ")}; screenshots in web/test-output/`);
} finally {
  server.close();
}
