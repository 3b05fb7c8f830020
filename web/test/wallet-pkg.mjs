// The wallet's WebAssembly package (web/dist/wallet-pkg, built by web/build.sh) in plain Node,
// against a real issuer (started by web/test.sh, which exports ISSUER_BIN, ISSUER_DATA,
// ISSUER_PUBLIC_URL and WORK): open, resolveOffer, receive, list, show, openRequest and
// answer, with the core's software keys and with WebCrypto keys behind the host signer; the
// answer is checked by the desk's verifier package (web/dist/pkg). Then one check per error
// code the package maps. Exits non-zero on the first failed check.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run web/test.sh)`);
  return v;
};
const WORK = env("WORK");
const run = (bin, args) => execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const wasm = await import(join(dist, "wallet-pkg", "wallet_wasm.js"));
await wasm.default({ module_or_path: readFileSync(join(dist, "wallet-pkg", "wallet_wasm_bg.wasm")) });
const desk = await import(join(dist, "pkg", "verifier_wasm.js"));
await desk.default({ module_or_path: readFileSync(join(dist, "pkg", "verifier_wasm_bg.wasm")) });

const claimsFile = join(here, "..", "..", "examples", "claims", "citizen-high.json");
const familyName = JSON.parse(readFileSync(claimsFile, "utf8")).family_name;
const enroll = () =>
  JSON.parse(run(env("ISSUER_BIN"), ["enroll", "--data", env("ISSUER_DATA"), "--level", "high", "--claims", claimsFile, "--json"]));
const now = () => Math.floor(Date.now() / 1000);

/** A host over fetch (no redirect followed) and an in-memory record map. */
function host(records = new Map(), extra = {}) {
  return {
    records,
    persisted: 0,
    async exchange(req) {
      const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        redirect: "manual",
      });
      const body = new Uint8Array(await res.arrayBuffer());
      return { status: res.status === 0 ? 302 : res.status, headers: [...res.headers], body, url: res.url };
    },
    async persist(changes) {
      for (const [key, bytes] of changes.put) records.set(key, bytes);
      for (const key of changes.delete) records.delete(key);
      this.persisted++;
    },
    now,
    ...extra,
  };
}

/** Holder keys as non-extractable WebCrypto ECDSA P-256 keys (the page's signer). */
function webCryptoKeys() {
  const keys = new Map();
  const b64u = (buf) => Buffer.from(buf).toString("base64url");
  return {
    keys,
    async createKey() {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
      const handle = `webcrypto-${keys.size}`;
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      keys.set(handle, { pair, jwk: { kty: "EC", crv: "P-256", x: b64u(raw.slice(1, 33)), y: b64u(raw.slice(33, 65)) } });
      return handle;
    },
    async publicJwk(handle) {
      const k = keys.get(handle);
      if (!k) throw new Error("no such key");
      return k.jwk;
    },
    async sign(handle, data) {
      const k = keys.get(handle);
      if (!k) throw new Error("no such key");
      return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, k.pair.privateKey, data));
    },
  };
}

async function rejects(promiseOrFn, code) {
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    assert.ok(e instanceof Error, `an Error, got ${e}`);
    assert.equal(e.code, code, `${e.message}`);
    return e;
  }
  assert.fail(`expected code ${code}`);
}

/** A desk synced with the bureau's bundle (as of now), and the verdict of `answer` for
 *  `pending`. */
function verdict(answer, pending) {
  run(env("ISSUER_BIN"), ["trust-bundle", "--data", env("ISSUER_DATA"), "--root-jwk", join(WORK, "pkg-root.jwk"), "--out", join(WORK, "pkg-bundle.jwt")]);
  const d = desk.Desk.pin(readFileSync(join(WORK, "pkg-root.jwk"), "utf8"));
  d.sync(readFileSync(join(WORK, "pkg-bundle.jwt"), "utf8"), now());
  return d.verify(answer, [pending], now());
}

// ------------------------------------------------------------- software keys, the CLI's JSON

const salt = crypto.getRandomValues(new Uint8Array(16));
const key = wasm.deriveStorageKey("a passphrase long enough", salt);
assert.equal(key.length, 32);
assert.deepEqual(wasm.deriveStorageKey("a passphrase long enough", salt), key, "the same key each time");

const h = host();
const wallet = wasm.Wallet.open(h, key, [], { signer: "software" });
assert.deepEqual(wallet.list(), []);

const offer = enroll();
const summary = await wallet.resolveOffer(offer.offer_uri);
assert.equal(summary.credential_issuer, env("ISSUER_PUBLIC_URL"));
assert.equal(summary.tx_code.length, 6);
const received = await wallet.receive(offer.offer_uri, offer.tx_code);
assert.equal(received.issuer, env("ISSUER_PUBLIC_URL"));
assert.deepEqual(Object.keys(received), ["issuer", "batches"]);
assert.deepEqual(Object.keys(received.batches[0]), ["configuration", "vct", "level", "format", "copies", "batch_id"]);
assert.ok(received.batches[0].copies >= 1);
const batchId = received.batches[0].batch_id;

const listed = wallet.list();
assert.equal(listed.length, received.batches.length);
const batch = listed.find((b) => b.batch_id === batchId);
assert.deepEqual(Object.keys(batch), ["batch_id", "issuer", "vct", "level", "format", "copies", "unused", "received_at", "refreshable"]);
assert.equal(batch.unused, batch.copies);
const card = wallet.show(batchId);
assert.deepEqual(Object.keys(card), ["credential", "claims"]);
assert.equal(card.claims.family_name, familyName);

// Nothing in clear leaves the core: no claim, no issuer URL in the persisted records.
assert.ok(h.records.size > batch.copies, "a key check and one record per copy");
for (const [, bytes] of h.records) {
  const text = Buffer.from(bytes).toString("utf8");
  assert.ok(!text.includes(familyName) && !text.includes(env("ISSUER_PUBLIC_URL")), "a record in clear");
}

// An offline request from the desk: consent, answer, verified by the desk.
const made = desk.makeRequest("hotel", now());
const consent = await wallet.openRequest(made.uri);
assert.equal(consent.response_mode, "offline");
assert.equal(consent.needs_reuse, false);
assert.equal(consent.items[0].batch_id, batchId);
assert.ok(consent.items[0].claims.some((c) => c.label_zh && c.label));
const answered = await wallet.answer({});
assert.deepEqual(Object.keys(answered), ["consent", "answer", "bytes", "answer_json_bytes", "qr_version", "copies_used"]);
assert.match(answered.answer, /^VP2:/);
assert.ok(answered.qr_version >= 1 && answered.qr_version <= 40);
assert.match(wasm.qrSvg(answered.answer), /^<\?xml|^<svg/);
const v = verdict(answered.answer, made.pending);
assert.equal(v.accepted, true, `desk: ${v.error} ${v.message}`);
assert.equal(wallet.list().find((b) => b.batch_id === batchId).unused, batch.copies - 1, "the copy is marked shown");
await rejects(wallet.answer({}), "no_open_request");

// The records reopen to the same wallet (the copy stays shown); another key is refused.
const reopened = wasm.Wallet.open(host(new Map(h.records)), key, [...h.records], { signer: "software" });
assert.deepEqual(reopened.list(), wallet.list());
const otherKey = wasm.deriveStorageKey("another passphrase", salt);
await rejects(() => wasm.Wallet.open(host(), otherKey, [...h.records], { signer: "software" }), "wrong_key");
const tampered = [...h.records].map(([k, b]) => [k, k.startsWith("copy:") ? Uint8Array.from(b, (x, i) => (i === 40 ? x ^ 1 : x)) : b]);
await rejects(() => wasm.Wallet.open(host(), key, tampered, { signer: "software" }), "corrupted");
console.log(`wallet-pkg: software keys: received ${batch.copies} copies, answered offline, desk accepted`);

// ------------------------------------------------------------- the host's WebCrypto keys

const signer = webCryptoKeys();
const hostWallet = wasm.Wallet.open(host(new Map(), signer), key, [], { signer: "host" });
const second = enroll();
const got = await hostWallet.receive(second.offer_uri, second.tx_code, { copies: 2 });
assert.ok(got.batches.every((b) => b.copies === 2));
assert.equal(signer.keys.size, got.batches.length * 2, "one WebCrypto key per copy");
const made2 = desk.makeRequest("hotel", now());
await hostWallet.openRequest(made2.uri);
const answered2 = await hostWallet.answer({});
const v2 = verdict(answered2.answer, made2.pending);
assert.equal(v2.accepted, true, `desk: ${v2.error} ${v2.message}`);
console.log("wallet-pkg: WebCrypto keys: received 2 copies, answered offline, desk accepted");

// ------------------------------------------------------------- one check per error code

await rejects(() => wasm.Wallet.open(host(), key.slice(0, 31), [], { signer: "software" }), "invalid_argument");
await rejects(() => wasm.Wallet.open(host(), key, [], { signer: "keystore" }), "invalid_argument");
await rejects(() => wasm.Wallet.open(host(), key, [["copy:x", "text"]], { signer: "software" }), "invalid_argument");
await rejects(() => wasm.Wallet.open(host(), key, [], { signer: "host" }), "host_failed");
await rejects(() => wasm.deriveStorageKey("p", new Uint8Array(4)), "key_derivation");
await rejects(wallet.resolveOffer("not an offer"), "invalid_offer_uri");
await rejects(
  wallet.resolveOffer(`openid-credential-offer://?credential_offer_uri=${encodeURIComponent("http://bureau.example/offers/1")}`),
  "insecure_url",
);
const third = enroll();
const wrong = third.tx_code === "000000" ? "111111" : "000000";
await rejects(wallet.receive(third.offer_uri, wrong), "issuer_refused");
await rejects(wallet.receive(enroll().offer_uri), "tx_code_required");
await rejects(wallet.receive(offer.offer_uri, offer.tx_code, { copies: "ten" }), "invalid_argument");
await rejects(wallet.openRequest("openid4vp://?client_id=x"), "invalid_request");
const noSuchType = `openid4vp://?${new URLSearchParams({
  client_id: "x509_san_dns:hotel.example",
  nonce: "n-1",
  response_type: "vp_token",
  dcql_query: JSON.stringify({ credentials: [{ id: "q", format: "dc+sd-jwt", meta: { vct_values: ["urn:example:other"] } }] }),
})}`;
const unsatisfied = await rejects(wallet.openRequest(noSuchType), "cannot_satisfy");
assert.equal(unsatisfied.details.client_id, "x509_san_dns:hotel.example");
assert.equal(unsatisfied.details.cannot_satisfy.length, 1);
assert.throws(() => wallet.show("0000000000"), (e) => e.code === "not_found");
// A host that cannot persist: the call fails, and the changes are written with the next call.
const failing = host();
const flaky = wasm.Wallet.open(failing, key, [], { signer: "software" });
failing.persist = async () => { throw new Error("disk full"); };
const fourth = enroll();
await rejects(flaky.receive(fourth.offer_uri, fourth.tx_code), "persist_failed");
failing.persist = host(failing.records).persist.bind(failing);
await flaky.resolveOffer(enroll().offer_uri);
assert.ok(failing.records.size > 1, "the pending changes were written with the next call");
// One call at a time on a wallet.
const fifth = enroll();
const sixth = enroll();
const slow = wallet.receive(fifth.offer_uri, fifth.tx_code);
await rejects(wallet.receive(sixth.offer_uri, sixth.tx_code), "busy");
await rejects(() => wallet.list(), "busy");
await slow;
assert.ok(wallet.list().length > 1, "the first call went through");
console.log("wallet-pkg: every mapped error code checked");
