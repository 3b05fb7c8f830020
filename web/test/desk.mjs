// The hotel desk page in headless Chromium, against a real issuer (started by web/test.sh,
// which exports ISSUER_BIN, WALLET_BIN, ISSUER_DATA, ISSUER_PUBLIC_URL, ISSUER_FINGERPRINT,
// CHROMIUM and WORK). Each step asserts what the clerk sees; every screen is screenshotted
// into web/test-output/. Exits non-zero on the first failed check.
import { mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { pngToY4m } from "./y4m.mjs";
import {
  here, shots, env, run, serveDist, browser as launch, shooter, open as openPage, text, screen,
  deskVerdict as verdict, deskNewRequest as newRequest, deskPaste as paste, deskSync, deskPinAndSync,
} from "./common.mjs";

rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const WORK = env("WORK");
const ISSUER = env("ISSUER_PUBLIC_URL");
const FINGERPRINT = env("ISSUER_FINGERPRINT");
const walletData = join(WORK, "wallet-data");
const walletEnv = { ...process.env, WALLET_PASSPHRASE: "desk test passphrase, long enough" };

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

// ---------------------------------------------------------------- the page and the browser

const server = await serveDist();
const PAGE = `http://127.0.0.1:${server.address().port}/desk/`;
const profile = join(WORK, "chromium-profile");
const y4m = join(WORK, "answer.y4m");
/** A browser on the same profile (so IndexedDB persists), its fake camera showing `camera`. */
const browser = (camera) => launch(profile, camera);
const shot = shooter("desk-");
const open = (b, opts) => openPage(b, PAGE, ISSUER, opts);

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
  await deskPinAndSync(page, rootJwk, FINGERPRINT, ISSUER);
  step("pinned the root; fingerprint matches the issuer's");
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
  await deskSync(page);
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

  // 5. The bureau withdraws the signing key in an emergency: the desk fetches the notice when
  //    it syncs, says so on screen, and refuses the key's credentials.
  const keys = JSON.parse(run(env("ISSUER_BIN"), ["keys", "list", "--data", env("ISSUER_DATA"), "--json"])).keys;
  const signing = keys.find((k) => k.state === "active");
  assert.ok(signing, `an active key: ${JSON.stringify(keys)}`);
  run(env("ISSUER_BIN"), ["keys", "withdraw", signing.kid, "--data", env("ISSUER_DATA")]);
  b = await browser(null);
  ({ page, fetched } = await open(b));
  const uri4 = await newRequest(page);
  const answer4 = present(uri4, join(WORK, "answer4.png"));
  await page.click("#to-sync");
  assert.equal(await page.$eval("#withdrawn-note", (e) => e.hidden), true, "no key withdrawn before the sync");
  await deskSync(page);
  assert.ok(fetched.some((f) => f === "200 /trust-bundle/withdrawals"), `fetched the withdrawal notice: ${fetched}`);
  assert.equal(await page.$eval("#withdrawn-note", (e) => e.hidden), false, "the withdrawal is on screen");
  // The language chosen last (English, step 4) is kept.
  assert.match(await text(page, "#withdrawn-note"), new RegExp(`withdrawn.*${signing.kid.slice(0, 8)}`));
  await shot(page, "key-withdrawn-en");
  await page.click("#lang");
  assert.match(await text(page, "#withdrawn-note"), new RegExp(`撤销.*${signing.kid.slice(0, 8)}`));
  await shot(page, "key-withdrawn-zh");
  await page.click("#to-check");
  v = await paste(page, answer4);
  assert.equal(v.accepted, false);
  assert.equal(v.code, "issuer_key_withdrawn");
  assert.match(v.reason, /紧急撤销/);
  await shot(page, "refused-key-withdrawn-zh");
  step("after an emergency key withdrawal and a sync, the desk shows it and refuses the key's credentials (issuer_key_withdrawn)");
  await b.close();

  const report = { steps, verify_ms: timings };
  writeFileSync(join(shots, "report.json"), JSON.stringify(report, null, 2));
  console.log(`desk: passed; verify times ${timings.map((t) => `${t} ms`).join(", ")}; screenshots in web/test-output/`);
} finally {
  server.close();
}
