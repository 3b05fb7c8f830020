// The wallet page in headless Chromium, against the real issuer web/test.sh started (it exports
// ISSUER_BIN, VERIFIER_BIN, ISSUER_DATA, ISSUER_PUBLIC_URL, ISSUER_FINGERPRINT, CHROMIUM, WORK):
//
// 1. first run with a device key; a citizen enrolled by `issuer enroll` receives her batch
//    from the real offer (pasted, with the tx_code); the page lists it and shows the card;
// 2. a hotel request made by the desk page is answered with an answer QR code; a screenshot
//    of that QR is the desk's fake camera (.y4m); the desk, cut off from the bureau, accepts;
//    the same answer shown again is refused;
// 3. a bank request (`verifier request --response-uri`) is answered online by direct_post to a
//    loopback receiver here, whose received body `verifier verify` accepts.
// With WEB_MEASURE=1, the answer time with 50 and with 1,000 credentials stored (seeded through
// the page's own API: real offers, real receives) goes to web/test-output/wallet-report.json.
// Every screen is screenshotted as web/test-output/wallet-NN-what.png.
import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { pngToY4m } from "./y4m.mjs";
import {
  here, shots, env, run, serveDist, browser, shooter, open, text, screen,
  deskPinAndSync, deskNewRequest, deskVerdict,
} from "./common.mjs";

const WORK = env("WORK");
const ISSUER = env("ISSUER_PUBLIC_URL");
const FINGERPRINT = env("ISSUER_FINGERPRINT");
const MEASURE = process.env.WEB_MEASURE === "1";
const shot = shooter("wallet-");
const steps = [];
const step = (s) => { steps.push(s); console.log(`wallet: ${s}`); };

// ---------------------------------------------------------------- citizens and offers

/** A valid 18-digit resident ID number (GB 11643 check digit) for citizen number `n`: born
 *  1985-01-01, an even sequence number (female). */
function idNumber(n) {
  const body = `11010519850101${String((2 * n) % 1000).padStart(3, "0")}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return body + "10X98765432"[sum % 11];
}

const base = JSON.parse(readFileSync(join(here, "..", "..", "examples", "claims", "citizen-high.json"), "utf8"));

/** Enrols citizen `n` at the high level; returns {offer_uri, tx_code, id_number}. */
function enroll(n) {
  const claims = { ...base, family_name: "王", given_name: "小红", birthdate: "1985-01-01", sex: 2, id_number: idNumber(n) };
  const file = join(WORK, `claims-${n}.json`);
  writeFileSync(file, JSON.stringify(claims));
  const offer = JSON.parse(run(env("ISSUER_BIN"), ["enroll", "--data", env("ISSUER_DATA"), "--level", "high", "--claims", file, "--json"]));
  return { ...offer, id_number: claims.id_number };
}

// ---------------------------------------------------------------- the bank's receiver

/** A loopback direct_post receiver: keeps each POST body; readable by the page (CORS). */
async function receiver() {
  const bodies = [];
  const server = createServer((req, res) => {
    const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "content-type", "access-control-allow-methods": "POST" };
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors).end();
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      bodies.push({ type: req.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { ...cors, "content-type": "application/json", "cache-control": "no-store" });
      res.end("{}");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, bodies, url: `http://127.0.0.1:${server.address().port}/vp` };
}

// ---------------------------------------------------------------- the wallet page's steps

const phone = { width: 412, height: 860, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function waitScreen(page, name) {
  await page.waitForFunction((n) => document.body.dataset.screen === n && document.getElementById("busy").hidden, { timeout: 120000 }, name);
}

/** Fails with the page's error text when `errorId` shows one instead of reaching `name`. */
async function expectScreen(page, name, errorId) {
  await page.waitForFunction(
    (n, e) => (document.body.dataset.screen === n || !document.getElementById(e).hidden) && document.getElementById("busy").hidden,
    { timeout: 120000 }, name, errorId,
  );
  const err = await page.$eval(`#${errorId}`, (e) => (e.hidden ? null : `${e.dataset.code}: ${e.textContent} (${e.dataset.detail})`));
  assert.equal(err, null, `${name}: ${err}`);
  assert.equal(await screen(page), name);
}

async function receiveOffer(page, offer, { shots: take = false } = {}) {
  await page.click("#to-offer");
  await waitScreen(page, "offer");
  await page.$eval("#offer-text", (e, v) => { e.value = v; }, offer.offer_uri);
  if (take) await shot(page, "offer-pasted-zh");
  await page.click("#resolve");
  await page.waitForFunction(() => !document.getElementById("offer-summary").hidden || !document.getElementById("offer-error").hidden, { timeout: 60000 });
  assert.equal(await page.$eval("#offer-error", (e) => e.hidden), true, await text(page, "#offer-error"));
  assert.equal(await page.$eval("#offer-summary", (e) => e.dataset.txCode), "required", "the offer asks for a tx_code");
  if (take) {
    // Receiving without the code is refused on the page, before any request.
    await page.click("#receive");
    assert.equal(await page.$eval("#offer-error", (e) => e.dataset.code), "tx_code_missing");
    await shot(page, "offer-tx-code-missing-zh");
  }
  await page.type("#tx-code", offer.tx_code);
  if (take) await shot(page, "offer-tx-code-zh");
  await page.click("#receive");
  await expectScreen(page, "cards", "offer-error");
}

async function openRequest(page, uri) {
  await page.click("#to-request");
  await waitScreen(page, "request");
  await page.$eval("#request-text", (e, v) => { e.value = v; }, uri);
  await page.click("#open-request");
  await expectScreen(page, "consent", "request-error");
}

/** Agrees on the consent screen; returns the page's answer time (ms). */
async function agree(page, expected) {
  await page.click("#agree");
  await expectScreen(page, expected, "consent-error");
  return Number(await page.$eval("body", (e) => e.dataset.answerMs));
}

// ---------------------------------------------------------------- the test

const dist = await serveDist();
const PAGES = `http://127.0.0.1:${dist.address().port}`;
const bank = await receiver();
const report = { steps };

try {
  const rootFile = join(WORK, "wallet-test-root.jwk");
  run(env("ISSUER_BIN"), ["trust-bundle", "--data", env("ISSUER_DATA"), "--root-jwk", rootFile, "--out", join(WORK, "wallet-test-bundle.jwt")]);
  const rootJwk = readFileSync(rootFile, "utf8");
  const citizen = enroll(1);

  // 1. First run: the device key; receive; the cards.
  const wb = await browser(join(WORK, "wallet-test-wallet"), null, phone);
  let { page } = await open(wb, `${PAGES}/wallet/`, ISSUER);
  assert.equal(await screen(page), "setup");
  await shot(page, "first-run-zh");
  await page.click("#lang");
  await shot(page, "first-run-en");
  await page.click("#lang");
  await page.click("#use-passphrase");
  await page.type("#new-pass", "short");
  await page.type("#new-pass2", "short");
  await page.click("#set-pass");
  assert.match(await text(page, "#setup-error"), /太短/);
  await shot(page, "first-run-passphrase-too-short-zh");
  await page.click("#use-device");
  await expectScreen(page, "cards", "setup-error");
  assert.equal(await page.$eval("#no-cards", (e) => e.hidden), false);
  await shot(page, "no-cards-zh");
  step("first run: the storage key is wrapped by a non-extractable device key; no cards yet");

  await receiveOffer(page, citizen, { shots: true });
  const cards = await page.$$eval("#cards li", (ls) => ls.map((l) => ({ batch: l.dataset.batch, text: l.textContent })));
  // One batch per configuration the offer names (the two SD-JWT formats), each labelled.
  assert.ok(cards.length >= 1, JSON.stringify(cards));
  for (const c of cards) assert.match(c.text, /居民身份凭证 · 高级.*格式：/);
  await shot(page, "cards-zh");
  await page.click("#cards li");
  await waitScreen(page, "card");
  assert.match(await text(page, "#card-claims"), new RegExp(citizen.id_number));
  await shot(page, "card-zh");
  await page.click("#lang");
  await shot(page, "card-en");
  await page.click("#lang");
  await page.click("#screen-card button.back");
  await waitScreen(page, "cards");
  step("received a batch from a real offer (tx_code), listed it, opened the card");

  // The device key and holder keys are non-extractable CryptoKeys in IndexedDB.
  const keys = await page.evaluate(async (idNumber) => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open("citizen-id-wallet"); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const get = (store, fn) => new Promise((res) => { const r = db.transaction(store).objectStore(store)[fn](); r.onsuccess = () => res(r.result); });
    const lock = (await get("meta", "getAll"))[0];
    const holder = await get("keys", "getAll");
    const records = await get("records", "getAll");
    return {
      lock: { mode: lock.mode, type: lock.wrapKey.algorithm.name, extractable: lock.wrapKey.extractable },
      holders: holder.map((k) => ({ alg: k.privateKey.algorithm.name, curve: k.privateKey.algorithm.namedCurve, extractable: k.privateKey.extractable })),
      records: records.length,
      plain: records.some((r) => new TextDecoder().decode(r).includes(idNumber)),
    };
  }, citizen.id_number);
  assert.deepEqual(keys.lock, { mode: "device", type: "AES-GCM", extractable: false });
  assert.ok(keys.holders.length >= 1, "holder keys made by WebCrypto");
  assert.ok(keys.holders.every((k) => k.alg === "ECDSA" && k.curve === "P-256" && k.extractable === false), JSON.stringify(keys.holders));
  assert.ok(keys.records > 0 && !keys.plain, "records are sealed: no claim in clear");
  step(`storage: ${keys.records} sealed records, ${keys.holders.length} non-extractable P-256 holder keys`);

  // 2. The hotel's request, answered with a QR code the desk reads with its camera.
  // The desk (its own browser profile) syncs, now that her credential is issued, and makes
  // its hotel request.
  const deskProfile = join(WORK, "wallet-test-desk");
  let desk = await browser(deskProfile, null);
  let { page: dp } = await open(desk, `${PAGES}/desk/`, ISSUER);
  await deskPinAndSync(dp, rootJwk, FINGERPRINT, ISSUER);
  await dp.click("#to-check");
  const hotelUri = await deskNewRequest(dp);
  await desk.close();

  await openRequest(page, hotelUri);
  assert.equal(await text(page, "#consent-who"), "hotel.example", "the offline desk is named by the name it gives itself");
  assert.equal(await page.$eval("#consent-verified", (e) => e.dataset.verified), "false", "an unsigned request's name is not verified");
  assert.match(await text(page, "#consent-claims"), new RegExp(citizen.id_number));
  assert.match(await text(page, "#consent-how"), /答复码/);
  assert.equal(await page.$$eval("#consent-warnings p", (ps) => ps.length), 0, "no warning for the hotel");
  await shot(page, "consent-hotel-zh");
  await page.click("#lang");
  await shot(page, "consent-hotel-en");
  await page.click("#lang");
  await agree(page, "qr");
  const answer = await page.$eval("#answer-qr", (e) => e.dataset.answer);
  assert.match(answer, /^VP2:/);
  await shot(page, "answer-qr-zh");
  const qrPng = join(WORK, "wallet-answer.png");
  await (await page.$("#answer-qr svg")).screenshot({ path: qrPng });
  writeFileSync(join(WORK, "wallet-answer.y4m"), pngToY4m(readFileSync(qrPng)));
  await page.click("#qr-done");
  await waitScreen(page, "cards");
  step("answered the desk's hotel request with an answer QR code (VP2)");

  desk = await browser(deskProfile, join(WORK, "wallet-answer.y4m"));
  let blocked;
  ({ page: dp, blocked } = await open(desk, `${PAGES}/desk/`, ISSUER, { cutBureau: true }));
  assert.equal(await screen(dp), "check", "the desk restored its state and its pending request");
  await dp.click("#camera");
  let v = await deskVerdict(dp);
  assert.ok(v.accepted, `the desk accepts the wallet page's QR (got ${v.code}: ${v.reason})`);
  assert.match(await text(dp, "#claims"), new RegExp(citizen.id_number));
  await shot(dp, "desk-accepts-zh");
  await deskNewRequest(dp);
  await dp.click("#camera");
  v = await deskVerdict(dp);
  assert.equal(v.accepted, false);
  assert.equal(v.code, "nonce_unknown_or_used", "the same answer shown again is refused");
  await shot(dp, "desk-refuses-again-zh");
  assert.equal(blocked.length, 0, "the desk verified offline");
  await desk.close();
  step("the desk, cut off from the bureau, read the QR with its camera and accepted; the same answer again is refused");

  // 3. The bank's request: direct_post to the bank's receiver, online.
  const vdata = join(WORK, "bank-verifier");
  run(env("VERIFIER_BIN"), ["trust", "pin", rootFile, "--data", vdata]);
  run(env("VERIFIER_BIN"), ["sync", ISSUER, "--data", vdata]);
  const bankReq = JSON.parse(run(env("VERIFIER_BIN"), ["request", "--profile", "bank", "--response-uri", bank.url, "--data", vdata, "--json"]));
  await openRequest(page, bankReq.request_uri);
  assert.match(await text(page, "#consent-how"), new RegExp(bank.url.replace(/[/.]/g, "\\$&")));
  assert.match(await text(page, "#consent-claims"), /住址/);
  // An OpenID4VP 1.0 `redirect_uri:` client is the address the answer goes to: the page names
  // that address as the asker and has nothing to warn about.
  assert.equal(await text(page, "#consent-who"), bank.url);
  assert.deepEqual(await page.$$eval("#consent-warnings p", (ps) => ps.map((p) => p.dataset.warning)), []);
  await shot(page, "consent-bank-zh");
  await agree(page, "sent");
  assert.equal(await page.$eval("#sent-box", (e) => e.dataset.status), "200");
  await shot(page, "sent-bank-zh");
  assert.equal(bank.bodies.length, 1, "the bank received one answer");
  const bodyFile = join(WORK, "bank-body.txt");
  writeFileSync(bodyFile, bank.bodies[0].body);
  const verdict = JSON.parse(run(env("VERIFIER_BIN"), ["verify", "--data", vdata, "--json", bodyFile]));
  assert.equal(verdict.accepted ?? verdict.valid, true, JSON.stringify(verdict));
  await page.click("#sent-done");
  step("answered the bank's direct_post request online; `verifier verify` accepts what the bank received");

  // Declining shares nothing and uses no copy. The request screen and its camera first.
  const unused = () => page.$$eval("#cards li", (ls) => ls.map((l) => l.textContent).join("|"));
  const before = await unused();
  const declined = JSON.parse(run(env("VERIFIER_BIN"), ["request", "--profile", "hotel", "--data", vdata, "--json"]));
  await page.click("#to-request");
  await waitScreen(page, "request");
  await page.click("#screen-request button.scan");
  await page.waitForFunction(() => !document.getElementById("scanner").hidden && document.getElementById("video").readyState >= 2, { timeout: 30000 });
  await shot(page, "scanning-zh");
  await page.click("#scan-stop");
  await page.$eval("#request-text", (e, v) => { e.value = v; }, declined.request_uri);
  await shot(page, "request-pasted-zh");
  await page.click("#open-request");
  await expectScreen(page, "consent", "request-error");
  await page.click("#decline");
  await waitScreen(page, "cards");
  assert.equal(await unused(), before, "declining used no copy");
  step("declining a request shares nothing and uses no copy");

  await page.click("#lang");
  await shot(page, "cards-en");
  await page.click("#lang");

  // A passphrase instead of the device key: Argon2id (deriveStorageKey) over it and a salt;
  // a later visit asks for it, a wrong one is refused (wrong_key), the right one opens.
  const pb = await browser(join(WORK, "wallet-test-passphrase"), null, phone);
  const pp = (await open(pb, `${PAGES}/wallet/`, ISSUER)).page;
  await pp.click("#use-passphrase");
  await pp.type("#new-pass", "correct horse battery staple");
  await pp.type("#new-pass2", "correct horse battery staple");
  await pp.click("#set-pass");
  await expectScreen(pp, "cards", "setup-error");
  // Reopened with a passphrase: a wrong one is refused (wrong_key), the right one opens.
  const unlock = async (pass) => {
    await pp.reload();
    await pp.waitForSelector("body[data-ready=true]");
    assert.equal(await screen(pp), "unlock");
    await pp.type("#pass", "wrong horse battery staple");
    await pp.click("#unlock");
    await pp.waitForFunction(() => !document.getElementById("unlock-error").hidden && document.getElementById("busy").hidden, { timeout: 60000 });
    assert.equal(await pp.$eval("#unlock-error", (e) => e.dataset.code), "wrong_key");
    if (pass === "shot") await shot(pp, "unlock-wrong-passphrase-zh");
    await pp.$eval("#pass", (e) => { e.value = ""; });
    await pp.type("#pass", "correct horse battery staple");
    await pp.click("#unlock");
    await expectScreen(pp, "cards", "unlock-error");
  };
  // Before any card: the key check written when the wallet was made refuses a wrong passphrase.
  await unlock("empty");
  await receiveOffer(pp, enroll(2));
  await unlock("shot");
  assert.ok((await pp.$$eval("#cards li", (ls) => ls.length)) >= 1);
  await pb.close();
  step("a passphrase wallet: reopened with the right passphrase; a wrong one is refused (wrong_key)");

  if (MEASURE) report.answer_ms = await measure(page);
  await wb.close();
  writeFileSync(join(shots, "wallet-report.json"), JSON.stringify(report, null, 2));
  console.log(`wallet: passed; screenshots in web/test-output/wallet-*.png`);
} finally {
  dist.close();
  bank.server.close();
}

/** The time to open a hotel request and answer it with a QR code, with 50 and 1,000
 *  credentials stored, the store seeded through the page's own Wallet: real offers received
 *  from the issuer (one configuration each, batches of 10 copies, each copy a credential). */
async function measure(page) {
  const out = {};
  const count = () => page.evaluate(() => window.walletPage.wallet.list().reduce((n, b) => n + b.copies, 0));
  let stored = await count();
  let n = 100;
  for (const target of [50, 1000]) {
    const t0 = Date.now();
    while (stored < target) {
      const o = enroll(n++);
      const copies = Math.min(10, target - stored);
      await page.evaluate((uri, code, k) => window.walletPage.wallet.receive(uri, code, { copies: k, configurations: ["citizen_id_high_dc_sd_jwt"] }), o.offer_uri, o.tx_code, copies);
      stored = await count();
    }
    await page.evaluate(() => window.walletPage.refresh());
    const seeded = Date.now() - t0;
    const times = [];
    for (let i = 0; i < 5; i++) {
      const made = JSON.parse(run(env("VERIFIER_BIN"), ["request", "--profile", "hotel", "--data", join(WORK, "bank-verifier"), "--json"]));
      await openRequest(page, made.request_uri);
      const open = Number(await page.$eval("body", (e) => e.dataset.openMs));
      const answer = await agree(page, "qr");
      times.push({ open_ms: open, answer_ms: answer, total_ms: Math.round((open + answer) * 10) / 10 });
      await page.click("#qr-done");
      await waitScreen(page, "cards");
    }
    const median = [...times].sort((a, b) => a.total_ms - b.total_ms)[2];
    out[target] = { credentials: stored, runs: times, median, seed_ms: seeded };
    console.log(`wallet: measure: ${stored} credentials stored: open request + answer ${times.map((t) => `${t.open_ms}+${t.answer_ms}`).join(", ")} ms`);
  }
  return out;
}
