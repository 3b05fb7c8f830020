// The hotel desk page. Every check is the verifier's, in WebAssembly (../pkg); this file only
// shows screens, stores the desk's state in IndexedDB, fetches from the bureau and reads the
// camera. Each request's nonce is kept here until an answer uses it (once) or it expires.
import init, { Desk, makeRequest, decodeQr } from "../pkg/verifier_wasm.js";
import { scanQr } from "../common/camera.js";
import { fillTable } from "../common/table.js";

// ---------------------------------------------------------------- words (zh / en)

const WORDS = {
  zh: {
    title: "前台身份核验",
    setup_title: "第一步：设置公安机关根密钥",
    setup_help: "只需设置一次。把公安机关提供的根密钥（JWK 文本）粘贴到下面，或选择文件。",
    choose_file: "选择文件",
    pin: "设置根密钥",
    sync_title: "第二步：核对指纹并同步",
    fingerprint_help: "请将下面的指纹与公安机关公布的指纹逐组核对。不一致时不要继续。",
    bureau_url: "公安机关地址",
    sync_now: "立即同步",
    sync_file: "从文件同步（离线）",
    repin: "更换根密钥",
    start_checking: "开始核验客人",
    new_hotel: "新客人（酒店入住）",
    new_bank: "银行开户",
    settings: "同步 / 设置",
    show_code: "请客人用身份证件钱包扫描此码",
    read_answer: "然后读取客人手机上的答复码",
    camera_start: "打开摄像头扫码",
    camera_stop: "关闭摄像头",
    camera_looking: "请把客人手机上的二维码对准摄像头……",
    camera_failed: "无法打开摄像头，请粘贴答复文字。",
    paste_title: "或粘贴答复文字",
    verify: "核验",
    next_guest: "下一位客人",
    try_again: "重新生成请求码",
    accept: "通过",
    reject: "拒绝",
    accept_reason: "身份凭证有效，未被吊销。请核对本人与下列信息。",
    request_for: (p) => (p === "bank" ? "银行开户请求" : "酒店入住请求"),
    expires_at: (t) => `此码有效至 ${t}，每个码只能使用一次。`,
    synced: (r) => `已同步：${r.issuer}，状态发布于 ${r.when}（${r.age}）。`,
    state_line: (fp, age, stale) =>
      `根密钥 ${fp} · 吊销状态更新于${age}` + (stale ? " · 已过期，请同步" : ""),
    state_none: (fp) => `根密钥 ${fp} · 尚未同步`,
    no_root: "尚未设置根密钥",
    freshness: (age, when) => `吊销状态更新于${age}（公安机关 ${when} 发布）。`,
    ago: (n, unit) => `${n} ${{ s: "秒", m: "分钟", h: "小时", d: "天" }[unit]}前`,
    just_now: "刚刚",
    rejected_code: (c) => `拒绝原因代码：${c}`,
    sync_failed: (c) => `同步失败（${c}）。原有状态保留不变。`,
    fetch_failed: "无法连接公安机关地址，原有状态保留不变。请检查网络，或从文件同步。",
    withdrawn: (keys) => `⚠ 公安机关已紧急撤销签发密钥：${keys}。由这些密钥签发的凭证一律拒绝。`,
    withdrawn_key: (kid, since) => (since ? `${kid}…（${since} 起签发的凭证）` : `${kid}…（全部凭证）`),
    claims: {
      family_name: "姓", given_name: "名", id_number: "公民身份号码", birthdate: "出生日期",
      address: "住址", nationality: "国籍", sex: "性别", age_over_18: "年满 18 岁",
    },
    sex: { 1: "男", 2: "女" },
    level: { basic: "基础级（远程人脸核验）", high: "高级（现场核验身份证）" },
    level_label: "核验等级",
    errors: {
      revoked: "此身份凭证已被公安机关吊销。",
      suspended: "此身份凭证已被暂停使用。",
      nonce_unknown_or_used: "此答复已使用过，或不是对本台请求的答复。请让客人重新扫码。",
      request_expired: "请求码已过期。请点“新客人”重新生成，让客人再次扫码。",
      status_too_old: "本台的吊销状态太旧，无法确认。请先同步。",
      status_list_expired: "本台的吊销状态已过期。请先同步。",
      status_unknown: "本台没有此凭证的吊销状态。请先同步。",
      unknown_issuer_key: "签发密钥未知，可能是新密钥。请先同步后重试。",
      issuer_key_withdrawn: "签发此凭证的密钥已被公安机关紧急撤销，凭证不能接受。请客人重新领取凭证。",
      no_trust_state: "尚未同步公安机关的密钥和吊销状态。请先同步。",
      issuer_signature: "签发机关签名无效：凭证可能被篡改或伪造。",
      kb_signature: "客人手机的签名无效：答复可能是伪造的。",
      key_binding_missing: "答复没有客人手机的签名，不能接受。",
      nonce_mismatch: "答复不是对本台请求的答复。",
      audience_mismatch: "答复是给其他机构的，不是给本台的。",
      kb_stale: "答复太旧。请让客人重新扫码。",
      kb_issued_in_future: "答复时间不对。请检查本台和客人手机的时间。",
      expired: "身份凭证已过有效期。",
      not_yet_valid: "身份凭证尚未生效。",
      issued_in_future: "身份凭证的签发时间不对。请检查本台时间。",
      unaccepted_type: "此类凭证不被本业务接受。",
      level_too_low: "凭证核验等级不够（本业务需要现场核验的高级凭证）。",
      missing_required_claim: "客人没有提供本业务必需的信息。",
      issuer_key_not_valid: "签发密钥在签发时不在有效期内。",
      answer_empty: "答复是空的。",
      answer_too_large: "答复太大。",
      answer_unknown_form: "无法识别的答复，不是身份证件钱包的答复码。",
      answer_compact_invalid: "答复码损坏或不完整。请重新扫码。",
      answer_unknown_query: "答复与本台请求不符。",
      answer_not_multiple: "答复与本台请求不符。",
      sd_hash_mismatch: "答复与凭证不匹配：可能被篡改。",
      digest_not_found: "答复中的信息不属于此凭证：可能被篡改。",
      root_invalid: "这不是有效的根密钥（JWK）。",
      saved_state_malformed: "本机保存的状态已损坏。请重新设置根密钥并同步。",
      bundle_bad_signature: "信任包签名无效：不是此根密钥签发的。",
      bundle_wrong_root: "信任包由其他根密钥签发。",
      bundle_replayed: "收到的信任包比本台已有的旧。",
      delta_bad_signature: "更新包签名无效：不是此根密钥签发的。",
      delta_base_mismatch: "更新包与本台状态不衔接。请完整同步。",
      withdrawals_bad_signature: "密钥撤销通知签名无效：不是此根密钥签发的。",
      withdrawals_wrong_root: "密钥撤销通知由其他根密钥签发。",
    },
    malformed: "答复格式错误或被篡改，不能接受。",
  },
  en: {
    title: "Front desk ID check",
    setup_title: "Step 1: set the bureau's root key",
    setup_help: "Done once. Paste the root key (JWK text) the bureau gave you below, or choose its file.",
    choose_file: "Choose file",
    pin: "Set root key",
    sync_title: "Step 2: compare the fingerprint and sync",
    fingerprint_help: "Compare this fingerprint, group by group, with the one the bureau publishes. Do not go on if they differ.",
    bureau_url: "Bureau address",
    sync_now: "Sync now",
    sync_file: "Sync from file (offline)",
    repin: "Change root key",
    start_checking: "Start checking guests",
    new_hotel: "New guest (hotel check-in)",
    new_bank: "Bank account",
    settings: "Sync / settings",
    show_code: "Ask the guest to scan this code with their ID wallet",
    read_answer: "Then read the answer code on the guest's phone",
    camera_start: "Scan with camera",
    camera_stop: "Stop camera",
    camera_looking: "Hold the QR code on the guest's phone up to the camera…",
    camera_failed: "Cannot open the camera; paste the answer text instead.",
    paste_title: "Or paste the answer text",
    verify: "Check",
    next_guest: "Next guest",
    try_again: "New request code",
    accept: "ACCEPTED",
    reject: "REFUSED",
    accept_reason: "The ID credential is valid and not revoked. Check the guest against the details below.",
    request_for: (p) => (p === "bank" ? "Bank account request" : "Hotel check-in request"),
    expires_at: (t) => `This code is valid until ${t} and can be used once.`,
    synced: (r) => `Synced: ${r.issuer}, state issued ${r.when} (${r.age}).`,
    state_line: (fp, age, stale) =>
      `Root key ${fp} · revocation state ${age}` + (stale ? " · out of date, sync now" : ""),
    state_none: (fp) => `Root key ${fp} · not synced yet`,
    no_root: "No root key set",
    freshness: (age, when) => `Revocation state ${age} (issued by the bureau ${when}).`,
    ago: (n, unit) => `${n} ${{ s: "seconds", m: "minutes", h: "hours", d: "days" }[unit]} old`,
    just_now: "just updated",
    rejected_code: (c) => `Reason code: ${c}`,
    sync_failed: (c) => `Sync failed (${c}). The previous state is kept.`,
    fetch_failed: "Cannot reach the bureau's address; the previous state is kept. Check the network, or sync from a file.",
    withdrawn: (keys) => `⚠ The bureau has withdrawn signing keys in an emergency: ${keys}. Credentials they signed are refused.`,
    withdrawn_key: (kid, since) => (since ? `${kid}… (credentials issued from ${since})` : `${kid}… (every credential)`),
    claims: {
      family_name: "Family name", given_name: "Given name", id_number: "ID number",
      birthdate: "Date of birth", address: "Address", nationality: "Nationality", sex: "Sex",
      age_over_18: "18 or older",
    },
    sex: { 1: "male", 2: "female" },
    level: { basic: "basic (remote face match)", high: "high (ID card checked in person)" },
    level_label: "Assurance level",
    errors: {
      revoked: "This ID credential has been revoked by the bureau.",
      suspended: "This ID credential is suspended.",
      nonce_unknown_or_used: "This answer was already used, or does not answer this desk's request. Ask the guest to scan again.",
      request_expired: "The request code has expired. Press “New guest” and ask the guest to scan again.",
      status_too_old: "This desk's revocation state is too old to be sure. Sync first.",
      status_list_expired: "This desk's revocation state has expired. Sync first.",
      status_unknown: "This desk has no revocation state for this credential. Sync first.",
      unknown_issuer_key: "Unknown issuing key; it may be new. Sync, then try again.",
      issuer_key_withdrawn: "The key that signed this credential was withdrawn by the bureau in an emergency; it cannot be accepted. The guest must receive the credential again.",
      no_trust_state: "The bureau's keys and revocation state are not synced yet. Sync first.",
      issuer_signature: "The bureau's signature is invalid: the credential may be altered or forged.",
      kb_signature: "The phone's signature is invalid: the answer may be forged.",
      key_binding_missing: "The answer is not signed by the guest's phone; it cannot be accepted.",
      nonce_mismatch: "The answer does not answer this desk's request.",
      audience_mismatch: "The answer was made for another organisation, not this desk.",
      kb_stale: "The answer is too old. Ask the guest to scan again.",
      kb_issued_in_future: "The answer's time is wrong. Check the clocks of this desk and the phone.",
      expired: "The ID credential has expired.",
      not_yet_valid: "The ID credential is not valid yet.",
      issued_in_future: "The credential's issue time is wrong. Check this desk's clock.",
      unaccepted_type: "This kind of credential is not accepted here.",
      level_too_low: "The credential's assurance level is too low (this service needs the high level, checked in person).",
      missing_required_claim: "The guest did not share information this service requires.",
      issuer_key_not_valid: "The issuing key was not valid when the credential was signed.",
      answer_empty: "The answer is empty.",
      answer_too_large: "The answer is too large.",
      answer_unknown_form: "Not an answer code from an ID wallet.",
      answer_compact_invalid: "The answer code is damaged or incomplete. Scan again.",
      answer_unknown_query: "The answer does not fit this desk's request.",
      answer_not_multiple: "The answer does not fit this desk's request.",
      sd_hash_mismatch: "The answer does not match the credential: it may be altered.",
      digest_not_found: "The answer holds details that are not in the credential: it may be altered.",
      root_invalid: "This is not a valid root key (JWK).",
      saved_state_malformed: "The state saved on this device is damaged. Set the root key and sync again.",
      bundle_bad_signature: "The trust bundle's signature is invalid: not signed by this root key.",
      bundle_wrong_root: "The trust bundle is signed by another root key.",
      bundle_replayed: "The trust bundle received is older than the one this desk has.",
      delta_bad_signature: "The update's signature is invalid: not signed by this root key.",
      delta_base_mismatch: "The update does not follow this desk's state. Do a full sync.",
      withdrawals_bad_signature: "The key-withdrawal notice's signature is invalid: not signed by this root key.",
      withdrawals_wrong_root: "The key-withdrawal notice is signed by another root key.",
    },
    malformed: "The answer is malformed or altered; it cannot be accepted.",
  },
};

let lang = localStorage.getItem("desk-lang") === "en" ? "en" : "zh";
const w = () => WORDS[lang];

/** A sentence for an error code, in the current language. */
function reason(code) {
  const e = w().errors[code];
  if (e) return e;
  if (/^(kb_|malformed|disclosure|duplicate|claim_|sd_|too_|payload|reserved|wrong_typ|alg_|unsupported)/.test(code)) {
    return w().malformed;
  }
  return w().rejected_code(code);
}

function applyWords() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = lang === "zh" ? "前台身份核验 · Front desk ID check" : "Front desk ID check · 前台身份核验";
  for (const el of document.querySelectorAll("[data-t]")) {
    const v = w()[el.dataset.t];
    if (typeof v === "string") el.textContent = v;
  }
  const other = lang === "zh" ? "English" : "中文";
  $("lang").textContent = other;
  $("lang").lang = lang === "zh" ? "en" : "zh-CN";
  refreshStateLine();
  showWithdrawn();
  if (desk && !$("sync-result").hidden) showSynced();
  if (lastVerdict) showVerdict(lastVerdict.v, lastVerdict.ms);
  if (current) showRequestExpiry();
}

// ---------------------------------------------------------------- small helpers

const $ = (id) => document.getElementById(id);
const now = () => Math.floor(Date.now() / 1000);

function show(screen) {
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== `screen-${screen}`;
  if (screen !== "check") stopCamera();
  document.body.dataset.screen = screen;
}

function setText(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

function age(seconds) {
  const s = Math.max(0, seconds);
  if (s < 60) return s < 5 ? w().just_now : w().ago(s, "s");
  if (s < 3600) return w().ago(Math.floor(s / 60), "m");
  if (s < 172800) return w().ago(Math.floor(s / 3600), "h");
  return w().ago(Math.floor(s / 86400), "d");
}

function when(unix) {
  return new Date(unix * 1000).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

/** The fingerprint in groups of four, easy to read aloud and compare. */
function grouped(fp) {
  return fp.match(/.{1,4}/g).join(" ");
}

// ---------------------------------------------------------------- storage (IndexedDB)

const DB = "citizen-id-desk";

function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function dbGet(key) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const r = db.transaction("kv").objectStore("kv").get(key);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function dbPut(key, value) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

// ---------------------------------------------------------------- state

let desk = null; // the wasm Desk
let pending = []; // requests not yet answered: {nonce, client_id, profile, expires_at}
let current = null; // the request on screen
let lastVerdict = null;

async function saveDesk() {
  await dbPut("desk", desk.save());
}

async function savePending() {
  await dbPut("pending", JSON.stringify(pending));
}

function refreshStateLine() {
  const el = $("state-line");
  el.classList.remove("stale");
  if (!desk) {
    el.textContent = w().no_root;
    return;
  }
  const info = desk.info(now());
  const fp = desk.fingerprint.slice(0, 8) + "…";
  if (!info.synced) {
    el.textContent = w().state_none(fp);
    return;
  }
  const stale = info.next_update < now();
  el.classList.toggle("stale", stale);
  el.textContent = w().state_line(fp, age(info.age_seconds), stale);
  $("to-check").disabled = false;
}

// ---------------------------------------------------------------- 1. pin

async function pin(text) {
  setText("setup-error", "");
  try {
    desk = Desk.pin(text);
  } catch (e) {
    setText("setup-error", reason(e.code || "root_invalid"));
    return;
  }
  await saveDesk();
  toSync();
}

function toSync() {
  $("fingerprint").textContent = grouped(desk.fingerprint);
  showWithdrawn();
  $("to-check").disabled = !desk.info(now()).synced;
  refreshStateLine();
  show("sync");
}

// ---------------------------------------------------------------- 2. sync

/** Fetches the bureau's key-withdrawal notice first (applied and kept even when what follows
 *  fails), then the delta since the stored state (or the full bundle). */
async function syncFromUrl(base) {
  base = base.trim().replace(/\/+$/, "");
  localStorage.setItem("desk-bureau-url", base);
  let refusedNotice = null;
  try {
    const r = await fetch(`${base}/trust-bundle/withdrawals`, { cache: "no-store" });
    if (r.ok) await takeSynced([await r.text()]);
  } catch (e) {
    // Unreachable: the bundle fetch below reports it. A refused notice is reported after it.
    if (!(e instanceof TypeError)) refusedNotice = e;
  }
  await syncBundleFromUrl(base);
  if (refusedNotice) throw refusedNotice;
}

async function syncBundleFromUrl(base) {
  const seq = desk.statusSeq;
  if (seq !== undefined) {
    let r = null;
    try {
      r = await fetch(`${base}/trust-bundle/delta?since=${seq}`, { cache: "no-store" });
    } catch {
      r = null; // unreachable, or an answer the page may not read: try the full bundle
    }
    if (r && r.ok) return takeSynced([await r.text()]);
    if (r && r.status !== 404 && r.status !== 410) throw Object.assign(new Error("http"), { code: `http_${r.status}` });
  }
  const r = await fetch(`${base}/trust-bundle`, { cache: "no-store" });
  if (!r.ok) throw Object.assign(new Error("http"), { code: `http_${r.status}` });
  return takeSynced([await r.text()]);
}

async function takeSynced(texts) {
  let report = null;
  for (const t of texts) report = desk.sync(t, now());
  await saveDesk();
  return report;
}

async function runSync(job) {
  setText("sync-error", "");
  setText("sync-result", "");
  $("sync").disabled = true;
  try {
    await job();
    showSynced();
  } catch (e) {
    if (e instanceof TypeError) setText("sync-error", w().fetch_failed);
    else setText("sync-error", w().sync_failed(e.code || "error") + (w().errors[e.code] ? " " + w().errors[e.code] : ""));
  } finally {
    $("sync").disabled = false;
    refreshStateLine();
    showWithdrawn();
  }
}

/** Says what the last sync brought, in the current language. */
function showSynced() {
  const info = desk.info(now());
  setText("sync-result", w().synced({ issuer: info.issuer, when: when(info.issued_at), age: age(info.age_seconds) }));
}

/** Says which of the bureau's signing keys are withdrawn: their credentials are refused. */
function showWithdrawn() {
  const keys = (desk && desk.info(now()).withdrawn_keys) || [];
  const el = $("withdrawn-note");
  el.hidden = keys.length === 0;
  el.dataset.count = String(keys.length);
  el.textContent = keys.length
    ? w().withdrawn(keys.map((k) => w().withdrawn_key(k.kid.slice(0, 8), k.since == null ? null : when(k.since))).join("；"))
    : "";
}

// ---------------------------------------------------------------- 3. request and answer

async function newRequest(profile) {
  setText("check-error", "");
  lastVerdict = null;
  const t = now();
  // Requests long expired are forgotten (an answer to them would be refused anyway).
  pending = pending.filter((p) => p.expires_at > t - 3600);
  current = makeRequest(profile, t);
  pending.push(current.pending);
  await savePending();
  await dbPut("current", JSON.stringify(current));
  showRequest();
  show("check");
}

/** Shows the current request's QR code, when it is still open. */
function showRequest() {
  const open = current && current.pending.expires_at > now() && pending.some((p) => p.nonce === current.pending.nonce);
  $("request-box").hidden = !open;
  if (!open) return;
  $("request-qr").innerHTML = current.svg; // SVG made by the wasm QR encoder from our own URI
  $("request-qr").dataset.uri = current.uri;
  showRequestExpiry();
  $("answer-text").value = "";
}

function showRequestExpiry() {
  $("request-expiry").textContent = `${w().request_for(current.pending.profile)} · ${w().expires_at(when(current.pending.expires_at).split(" ").pop())}`;
}

async function verifyAnswer(text) {
  stopCamera();
  const t0 = performance.now();
  const v = desk.verify(text.trim(), pending, now());
  const ms = performance.now() - t0;
  if (v.consume) {
    pending = pending.filter((p) => p.nonce !== v.consume);
    await savePending();
  }
  showVerdict(v, ms);
  show("result");
}

// ---------------------------------------------------------------- camera

let stopScan = null;

async function startCamera() {
  setText("camera-note", w().camera_looking);
  const video = $("video");
  video.hidden = false;
  $("camera").hidden = true;
  $("camera-stop").hidden = false;
  try {
    stopScan = await scanQr(video, decodeQr, (text) => verifyAnswer(text));
  } catch {
    stopCamera();
    setText("camera-note", w().camera_failed);
    $("paste-box").open = true;
  }
}

function stopCamera() {
  if (stopScan) stopScan();
  stopScan = null;
  $("video").hidden = true;
  $("camera").hidden = false;
  $("camera-stop").hidden = true;
  $("camera-note").hidden = true;
}

// ---------------------------------------------------------------- 4. verdict

function claimValue(path, value) {
  if (path === "sex" && w().sex[value]) return w().sex[value];
  if (value === true) return "✓";
  if (value === false) return "✗";
  if (value && typeof value === "object") {
    return Object.values(value).filter((x) => typeof x === "string").join(" ");
  }
  return String(value ?? "");
}

function showVerdict(v, ms) {
  lastVerdict = { v, ms };
  const box = $("verdict");
  box.className = `verdict ${v.accepted ? "ok" : "bad"}`;
  box.dataset.accepted = String(v.accepted);
  box.dataset.code = v.error || "";
  box.dataset.verifyMs = ms.toFixed(1);
  $("verdict-word").textContent = v.accepted ? `✓ ${w().accept}` : `✗ ${w().reject}`;
  $("verdict-reason").textContent = v.accepted ? w().accept_reason : reason(v.error);
  $("next").textContent = v.accepted ? w().next_guest : w().try_again;
  const rows = [];
  if (v.accepted) {
    rows.push(...v.claims.map((c) => [w().claims[c.path] || c.path, claimValue(c.path, c.value)]));
    const level = v.credentials[0] && v.credentials[0].level;
    if (level) rows.push([w().level_label, w().level[level] || level]);
  }
  fillTable($("claims"), rows);
  const fresh = v.revocation_age_seconds != null && v.state_issued_at != null
    ? w().freshness(age(v.revocation_age_seconds), when(now() - v.revocation_age_seconds))
    : "";
  $("freshness").textContent = fresh;
}

// ---------------------------------------------------------------- wiring

async function readFile(input) {
  return Promise.all([...input.files].map((f) => f.text()));
}

async function main() {
  await init();
  $("lang").onclick = () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("desk-lang", lang);
    applyWords();
  };
  $("pin").onclick = () => pin($("root-text").value);
  $("root-file").onchange = async (e) => {
    const [text] = await readFile(e.target);
    if (text !== undefined) $("root-text").value = text;
  };
  $("repin").onclick = () => show("setup");
  $("sync").onclick = () => runSync(() => syncFromUrl($("bureau-url").value));
  $("sync-file").onchange = (e) => runSync(async () => takeSynced(await readFile(e.target)));
  $("to-check").onclick = () => {
    showRequest();
    show("check");
  };
  $("to-sync").onclick = () => toSync();
  $("new-hotel").onclick = () => newRequest("hotel");
  $("new-bank").onclick = () => newRequest("bank");
  $("camera").onclick = () => startCamera();
  $("camera-stop").onclick = () => stopCamera();
  $("verify").onclick = () => verifyAnswer($("answer-text").value);
  $("next").onclick = () => newRequest(current ? current.pending.profile : "hotel");

  $("bureau-url").value = localStorage.getItem("desk-bureau-url") || "";
  pending = JSON.parse((await dbGet("pending")) || "[]");
  const saved = await dbGet("desk");
  if (saved) {
    try {
      desk = Desk.restore(saved, now());
    } catch (e) {
      setText("setup-error", reason(e.code || "saved_state_malformed"));
    }
  }
  applyWords();
  if (!desk) show("setup");
  else if (!desk.info(now()).synced) toSync();
  else {
    current = JSON.parse((await dbGet("current")) || "null");
    showRequest();
    show("check");
  }
  document.body.dataset.ready = "true";
}

main();
