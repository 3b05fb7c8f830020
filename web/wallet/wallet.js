// The wallet page: what the messaging app's mini-program shows. Every protocol step is the
// wallet core's, in WebAssembly (../wallet-pkg); this file is the Host the core runs on
// (fetch, IndexedDB, the clock, WebCrypto holder keys), the screens, and the camera.
//
// Storage (IndexedDB "citizen-id-wallet"):
//   records  key -> sealed record bytes, opaque here; written only by host.persist, one
//            transaction per call (the core's changes of one operation, atomically)
//   keys     handle -> {privateKey, publicKey}: non-extractable ECDSA P-256 CryptoKeys (the
//            browser's stand-in for a secure element; the private key never leaves WebCrypto)
//   meta     "lock" -> how the storage key is kept: {mode: "device", wrapKey (non-extractable
//            AES-GCM CryptoKey), iv, wrapped} or {mode: "passphrase", salt}
import init, { Wallet, deriveStorageKey, qrSvg } from "../wallet-pkg/wallet_wasm.js";
// The camera's QR decoder (rqrr), shared with the desk page.
import initQr, { decodeQr } from "../pkg/verifier_wasm.js";
import { scanQr } from "../common/camera.js";
import { fillTable } from "../common/table.js";

// ---------------------------------------------------------------- words (zh / en)

const WORDS = {
  zh: {
    title: "我的身份证件",
    setup_title: "欢迎使用身份证件钱包",
    setup_help: "您的证件只保存在这台手机上，并且加密保存。请选择如何上锁：",
    use_device: "用本机密钥上锁（推荐）",
    use_device_help: "本机生成一把无法导出的密钥来保护证件，不用记口令。换手机时需要重新领取证件。",
    use_passphrase: "改用口令上锁",
    new_pass: "口令（至少 12 个字符）",
    new_pass2: "再输入一次",
    set_pass: "设置口令",
    pass_short: "口令太短：至少需要 12 个字符。",
    pass_differ: "两次输入的口令不一样，请重新输入。",
    unlock_title: "请输入口令打开钱包",
    unlock: "打开",
    wrong_pass: "口令不对，请重试。",
    to_request: "出示证件（酒店、银行）",
    to_offer: "领取证件",
    cards_title: "我的证件",
    no_cards: "还没有证件。请点“领取证件”，扫描公安机关给您的领取码。",
    back: "返回",
    cancel: "取消",
    next: "下一步",
    scan: "扫码",
    scan_looking: "请把二维码放在框内……",
    camera_failed: "无法打开摄像头。请粘贴链接文字。",
    offer_title: "领取证件",
    offer_help: "扫描公安机关给您的领取码，或粘贴领取链接。",
    offer_from: "发证机关",
    offer_types: (n) => `将领取：${n}`,
    tx_label: (len) => `请输入领证码${len ? `（${len} 位）` : ""}`,
    tx_missing: "请先输入领证码。",
    receive: "领取",
    received: (n) => `已领取 ${n} 张证件。`,
    request_title: "出示证件",
    request_help: "扫描酒店前台或银行柜台屏幕上的二维码，或粘贴请求链接。",
    who_asks: "请求方",
    verified: {
      did: (k) => `✓ 请求已签名，签名已核验（密钥 ${k}）`,
      redirect_uri: "⚠ 名称未经核验：您的信息会发送到上面这个地址",
      unverified: "⚠ 名称未经核验：无法确认对方身份，请当面核对",
    },
    what_goes: "将提供以下信息",
    nothing_personal: "不提供个人信息，只证明证件类型和核验等级。",
    from_card: (type, level) => `来自您的证件：${type}${level ? `，核验等级：${level}` : ""}。`,
    how_qr: "同意后，手机上会显示答复码，请让前台用摄像头扫描。",
    how_post: (u) => `同意后，信息将通过网络直接发送给：${u}`,
    warn_reuse: (n) => `注意：这张证件的 ${n} 份副本都已出示过。再次出示同一份副本，不同机构可以把您的记录关联起来。`,
    warn_reuse_refresh: "建议先到有网络的地方更新证件，再出示。",
    warn_no_binding: "注意：对方要求不带手机签名的答复。收到的人可以把它转给别人使用。",
    warn_trust: "对方只接受它自己信任名单上的发证机关，可能不接受这张证件。",
    warn_elsewhere: (name, to) => `注意：请求方自称 ${name}，但信息将发送到另一个地址（${to}）。如果不认识这个地址，请拒绝。`,
    offline_post: "现在没有网络。此请求需要联网发送，请连上网络后再试。",
    agree: "同意并出示",
    decline: "拒绝",
    qr_help: "请把此码对准前台的摄像头",
    qr_to: (c) => `出示给：${c}。此码只能使用一次。`,
    done: "完成",
    sent_word: "✓ 已发送",
    sent_to: (u) => `您的信息已发送给 ${u}，对方已收到。`,
    busy: "请稍候……",
    levels: { basic: "基础级", high: "高级" },
    level_long: { basic: "基础级（远程人脸核验）", high: "高级（现场核验身份证）" },
    copies: (u, c) => `${c} 份副本，还有 ${u} 份未出示过。`,
    received_at: (d) => `领取于 ${d}`,
    format: (f) => (f === "vc+sd-jwt" ? "格式：vc+sd-jwt（供旧系统使用）" : `格式：${f}`),
    card_type: (t) => (/citizen[-_]id/.test(t) ? "居民身份凭证" : t),
    claims: {
      family_name: "姓", given_name: "名", id_number: "公民身份号码", birthdate: "出生日期",
      address: "住址", nationality: "国籍", sex: "性别", age_over_18: "年满 18 岁",
      "address.formatted": "住址", "address.locality": "住址（城市）",
      ethnicity: "民族", id_card: "身份证", portrait: "照片", age_equal_or_over: "年龄",
    },
    sex: { 1: "男", 2: "女" },
    age_over: (ages) => `已满 ${ages.join("、")} 周岁`,
    errors: {
      tx_code_required: "需要领证码，请输入。",
      issuer_refused: "发证机关拒绝了：领证码不对，或领取码已用过、已过期。请核对领证码，或向公安机关重新领取。",
      unsupported_grant: "这个领取码不能在本钱包使用。",
      invalid_offer: "这不是有效的领取码。",
      invalid_offer_uri: "这不是有效的领取码。",
      insecure_url: "对方地址不安全（不是 https），没有发送任何信息。",
      redirected: "对方服务器把请求转到了别处，为安全起见已停止。",
      http: "无法连接对方服务器，或对方回复有误。请检查网络后重试。",
      issuer_metadata: "发证机关的服务信息有误，请稍后再试。",
      issuer_keys: "发证机关的公钥有误，请稍后再试。",
      credential_not_verified: "收到的证件无法核验，没有保存。",
      invalid_request: "这不是有效的请求码。",
      invalid_request_object: "这不是有效的请求码。",
      unsigned_request_object: "这不是有效的请求码。",
      unsupported_client_id_prefix: "无法识别请求方的身份类型，不能出示。",
      invalid_dcql_query: "这不是有效的请求码。",
      request_expired: "请求码已过期。请让对方重新生成。",
      cannot_satisfy: "您的证件里没有对方需要的信息。",
      all_copies_shown: "这张证件的副本都已出示过。请先更新证件。",
      verifier_rejected: "对方拒绝了您的答复。",
      no_open_request: "请求已经答复过了。请重新扫码。",
      wrong_key: "口令不对，请重试。",
      corrupted: "本机保存的证件已损坏，无法打开。",
      busy: "正在处理上一个操作，请稍候。",
    },
    error_code: (c) => `出错了（${c}）。请重试，或联系发证机关。`,
  },
  en: {
    title: "My ID wallet",
    setup_title: "Welcome to your ID wallet",
    setup_help: "Your ID cards are kept only on this phone, encrypted. Choose how to lock them:",
    use_device: "Lock with this device's key (recommended)",
    use_device_help: "This phone makes a key that cannot be copied out to protect your cards; nothing to remember. On a new phone you receive your cards again.",
    use_passphrase: "Use a passphrase instead",
    new_pass: "Passphrase (at least 12 characters)",
    new_pass2: "Type it again",
    set_pass: "Set passphrase",
    pass_short: "The passphrase is too short: at least 12 characters.",
    pass_differ: "The two passphrases differ; type them again.",
    unlock_title: "Enter your passphrase to open the wallet",
    unlock: "Open",
    wrong_pass: "Wrong passphrase; try again.",
    to_request: "Show my ID (hotel, bank)",
    to_offer: "Receive an ID card",
    cards_title: "My ID cards",
    no_cards: "No ID card yet. Press “Receive an ID card” and scan the code the bureau gave you.",
    back: "Back",
    cancel: "Cancel",
    next: "Next",
    scan: "Scan code",
    scan_looking: "Hold the QR code inside the frame…",
    camera_failed: "Cannot open the camera. Paste the link text instead.",
    offer_title: "Receive an ID card",
    offer_help: "Scan the code the bureau gave you, or paste the link.",
    offer_from: "Issued by",
    offer_types: (n) => `You will receive: ${n}`,
    tx_label: (len) => `Enter the collection code${len ? ` (${len} characters)` : ""}`,
    tx_missing: "Enter the collection code first.",
    receive: "Receive",
    received: (n) => `Received ${n} ID card(s).`,
    request_title: "Show my ID",
    request_help: "Scan the QR code on the hotel desk's or bank counter's screen, or paste the request link.",
    who_asks: "Who asks",
    verified: {
      did: (k) => `✓ Signed request; the signature checked (key ${k})`,
      redirect_uri: "⚠ Name not verified: your details go to the address above",
      unverified: "⚠ Name not verified: check in person who is asking",
    },
    what_goes: "These details will be shared",
    nothing_personal: "No personal details: only the kind of ID and its assurance level.",
    from_card: (type, level) => `From your ID card: ${type}${level ? `, assurance level ${level}` : ""}.`,
    how_qr: "If you agree, your phone shows an answer code for the desk's camera.",
    how_post: (u) => `If you agree, the details are sent over the network to: ${u}`,
    warn_reuse: (n) => `Note: all ${n} copies of this card were shown before. Showing a copy again lets organisations link your visits.`,
    warn_reuse_refresh: "Better: renew the card where you have a network, then show it.",
    warn_no_binding: "Note: the asker wants an answer without your phone's signature. Whoever receives it could pass it on.",
    warn_trust: "The asker accepts only issuers on its own trust list; it may refuse this card.",
    warn_elsewhere: (name, to) => `Note: the asker calls itself ${name}, but your details go to another address (${to}). Decline if you do not know it.`,
    offline_post: "No network now. This request must be sent online; connect, then try again.",
    agree: "Agree and show",
    decline: "Decline",
    qr_help: "Hold this code up to the desk's camera",
    qr_to: (c) => `For: ${c}. This code works once.`,
    done: "Done",
    sent_word: "✓ Sent",
    sent_to: (u) => `Your details were sent to ${u}, and it confirmed receipt.`,
    busy: "Please wait…",
    levels: { basic: "basic", high: "high" },
    level_long: { basic: "basic (remote face match)", high: "high (ID card checked in person)" },
    copies: (u, c) => `${c} copies, ${u} never shown.`,
    received_at: (d) => `Received ${d}`,
    format: (f) => (f === "vc+sd-jwt" ? "Format: vc+sd-jwt (for older systems)" : `Format: ${f}`),
    card_type: (t) => (/citizen[-_]id/.test(t) ? "Citizen ID" : t),
    claims: {
      family_name: "Family name", given_name: "Given name", id_number: "ID number",
      birthdate: "Date of birth", address: "Address", nationality: "Nationality", sex: "Sex",
      age_over_18: "18 or older", "address.formatted": "Address", "address.locality": "Address (city)",
      ethnicity: "Ethnic group", id_card: "ID card", portrait: "Photo", age_equal_or_over: "Age",
    },
    sex: { 1: "male", 2: "female" },
    age_over: (ages) => `${ages.join(", ")} or over`,
    errors: {
      tx_code_required: "A collection code is needed; enter it.",
      issuer_refused: "The issuer refused: wrong collection code, or the code was used or has expired. Check the code, or ask the bureau for a new one.",
      unsupported_grant: "This collection code cannot be used with this wallet.",
      invalid_offer: "This is not a valid collection code.",
      invalid_offer_uri: "This is not a valid collection code.",
      insecure_url: "The other side's address is not secure (not https); nothing was sent.",
      redirected: "The other side's server sent the request elsewhere; stopped for safety.",
      http: "Cannot reach the other side's server, or its answer was wrong. Check the network and try again.",
      issuer_metadata: "The issuer's service information is wrong; try again later.",
      issuer_keys: "The issuer's public keys are wrong; try again later.",
      credential_not_verified: "The card received does not verify; it was not stored.",
      invalid_request: "This is not a valid request code.",
      invalid_request_object: "This is not a valid request code.",
      unsigned_request_object: "This is not a valid request code.",
      unsupported_client_id_prefix: "The asker's kind of identity is not known; the card cannot be shown.",
      invalid_dcql_query: "This is not a valid request code.",
      request_expired: "The request code has expired. Ask for a new one.",
      cannot_satisfy: "Your ID cards do not hold what is asked for.",
      all_copies_shown: "Every copy of this card was shown before. Renew the card first.",
      verifier_rejected: "The other side refused your answer.",
      no_open_request: "This request was already answered. Scan again.",
      wrong_key: "Wrong passphrase; try again.",
      corrupted: "The cards stored on this phone are damaged and cannot be opened.",
      busy: "Still working on the previous step; please wait.",
    },
    error_code: (c) => `Something went wrong (${c}). Try again, or contact the issuer.`,
  },
};

let lang = localStorage.getItem("wallet-lang") === "en" ? "en" : "zh";
const w = () => WORDS[lang];
const $ = (id) => document.getElementById(id);

function errorText(e) {
  const code = (e && e.code) || (e instanceof TypeError ? "network" : "error");
  return w().errors[code] || w().error_code(code);
}

function setText(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

function show(screen) {
  stopScan();
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== `screen-${screen}`;
  for (const e of document.querySelectorAll(".error")) e.hidden = true;
  document.body.dataset.screen = screen;
  window.scrollTo(0, 0);
}

/** Runs `job` with the busy veil; shows its error in `errorId` (with its code on the element). */
async function busy(errorId, job) {
  $("busy").hidden = false;
  const el = $(errorId);
  el.hidden = true;
  delete el.dataset.code;
  try {
    return await job();
  } catch (e) {
    el.dataset.code = (e && e.code) || "error";
    el.dataset.detail = (e && e.message) || ""; // the failed check, without personal data
    setText(errorId, errorText(e));
    return undefined;
  } finally {
    $("busy").hidden = true;
  }
}

function when(unix) {
  return new Date(unix * 1000).toLocaleDateString(lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric", month: "long", day: "numeric",
  });
}

function label(path, zh, en) {
  if (lang === "zh" && zh) return zh;
  if (lang === "en" && en) return en;
  return w().claims[path] || path;
}

function value(path, v) {
  if (path === "sex" && w().sex[v]) return w().sex[v];
  if (path === "age_equal_or_over" && v && typeof v === "object") {
    const ages = Object.keys(v).filter((k) => v[k] === true);
    return ages.length ? w().age_over(ages) : "✗";
  }
  if (v === true) return "✓";
  if (v === false) return "✗";
  if (v && typeof v === "object") {
    if (typeof v.formatted === "string") return v.formatted;
    return Object.values(v).filter((x) => typeof x === "string" || typeof x === "number").join(" ");
  }
  return String(v ?? "");
}


// ---------------------------------------------------------------- IndexedDB

const DB = "citizen-id-wallet";
let dbHandle = null;

function db() {
  if (dbHandle) return Promise.resolve(dbHandle);
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      for (const s of ["records", "keys", "meta"]) r.result.createObjectStore(s);
    };
    r.onsuccess = () => resolve((dbHandle = r.result));
    r.onerror = () => reject(r.error);
  });
}

/** One transaction over `stores`; resolves when it commits, with what `work` returned. */
async function tx(stores, mode, work) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(stores, mode);
    let out;
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error("transaction aborted"));
    out = work(t);
  });
}

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function get(store, key) {
  const d = await db();
  return req(d.transaction(store).objectStore(store).get(key));
}

async function put(store, key, v) {
  await tx([store], "readwrite", (t) => t.objectStore(store).put(v, key));
}

/** Every sealed record, as [key, bytes] pairs for Wallet.open. */
async function allRecords() {
  const d = await db();
  const s = d.transaction("records").objectStore("records");
  const [keys, values] = await Promise.all([req(s.getAllKeys()), req(s.getAll())]);
  return keys.map((k, i) => [String(k), new Uint8Array(values[i])]);
}

// ---------------------------------------------------------------- the Host

const bytes = (n) => crypto.getRandomValues(new Uint8Array(n));
const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

const host = {
  /** One HTTP exchange; the core checks scheme, status, size and type of what comes back. */
  async exchange(r) {
    let resp;
    try {
      resp = await fetch(r.url, {
        method: r.method,
        headers: r.headers,
        body: r.body,
        redirect: "manual",
        cache: "no-store",
        credentials: "omit",
      });
    } catch (e) {
      // No answer: the core reports it (a TypeError is "cannot connect").
      throw e;
    }
    // A redirect is opaque to a page ("manual"): report it as one so the core refuses it.
    const status = resp.type === "opaqueredirect" ? 302 : resp.status;
    return { status, headers: [...resp.headers], body: new Uint8Array(await resp.arrayBuffer()) };
  },
  /** One operation's changes, in one IndexedDB transaction (all or nothing). */
  async persist(changes) {
    await tx(["records"], "readwrite", (t) => {
      const s = t.objectStore("records");
      for (const [k, v] of changes.put) s.put(v, k);
      for (const k of changes.delete) s.delete(k);
    });
  },
  now: () => Math.floor(Date.now() / 1000),
  /** A non-extractable ECDSA P-256 key pair, kept as CryptoKeys in IndexedDB. */
  async createKey() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const handle = hex(bytes(16));
    await put("keys", handle, { privateKey: pair.privateKey, publicKey: pair.publicKey });
    keyCache.set(handle, pair);
    return handle;
  },
  async publicJwk(handle) {
    const pair = await holderKey(handle);
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return { kty, crv, x, y };
  },
  /** ES256 over `data`: WebCrypto returns the raw r||s (64 bytes) JOSE wants. */
  async sign(handle, data) {
    const pair = await holderKey(handle);
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data);
    return new Uint8Array(sig);
  },
};

const keyCache = new Map();
async function holderKey(handle) {
  let pair = keyCache.get(handle);
  if (!pair) {
    pair = await get("keys", handle);
    if (!pair) throw Object.assign(new Error("holder key not found"), { code: "holder_key_missing" });
    keyCache.set(handle, pair);
  }
  return pair;
}

// ---------------------------------------------------------------- the lock (storage key)

/** First run, device key: a random storage key wrapped by a non-extractable AES-GCM key. */
async function lockWithDevice() {
  const wrapKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const storageKey = bytes(32);
  const iv = bytes(12);
  const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, wrapKey, storageKey));
  await put("meta", "lock", { mode: "device", wrapKey, iv, wrapped });
  return storageKey;
}

async function unwrapDevice(lock) {
  const key = await crypto.subtle.decrypt({ name: "AES-GCM", iv: lock.iv }, lock.wrapKey, lock.wrapped);
  return new Uint8Array(key);
}

async function lockWithPassphrase(pass) {
  const salt = bytes(16);
  const storageKey = deriveStorageKey(pass, salt);
  await put("meta", "lock", { mode: "passphrase", salt });
  return storageKey;
}

// ---------------------------------------------------------------- the wallet

let wallet = null;

async function openWallet(storageKey) {
  const records = await allRecords();
  try {
    wallet = Wallet.open(host, storageKey, records, { signer: "host" });
  } finally {
    storageKey.fill(0);
  }
  if (records.length === 0) {
    // A new wallet's key check is handed to `persist` with its first call; `refresh()` of a
    // wallet with no card makes no request and writes it now, so a wrong passphrase is refused
    // from the first visit on, not only once a card is stored.
    await wallet.refresh();
  }
  await showCards();
}

async function showCards() {
  const list = wallet.list();
  const ul = $("cards");
  ul.replaceChildren();
  for (const b of list) {
    const li = document.createElement("li");
    li.className = "card";
    li.dataset.batch = b.batch_id;
    const level = b.level ? w().levels[b.level] || b.level : "";
    li.innerHTML = `<div class="card-title"></div><div class="card-line"></div><div class="card-line"></div><div class="card-line"></div>`;
    li.children[0].textContent = `${w().card_type(b.vct)}${level ? ` · ${level}` : ""}`;
    li.children[1].textContent = b.issuer;
    li.children[2].textContent = `${w().received_at(when(b.received_at))} · ${w().copies(b.unused, b.copies)}`;
    li.children[3].textContent = w().format(b.format);
    li.onclick = () => showCard(b);
    ul.append(li);
  }
  $("no-cards").hidden = list.length > 0;
  show("cards");
}

function subjectClaims(claims) {
  const subject = claims && typeof claims.credentialSubject === "object" ? claims.credentialSubject : claims || {};
  const skip = new Set(["iss", "iat", "exp", "nbf", "vct", "cnf", "status", "_sd", "_sd_alg", "level", "sub", "portrait"]);
  const order = ["family_name", "given_name", "id_number", "birthdate", "sex", "nationality", "ethnicity", "address", "id_card", "age_equal_or_over"];
  const rank = (k) => (order.includes(k) ? order.indexOf(k) : order.length);
  return Object.entries(subject).filter(([k]) => !skip.has(k)).sort(([a], [b]) => rank(a) - rank(b));
}

function showCard(b) {
  const card = wallet.show(b.batch_id);
  const info = card.credential || b;
  const level = info.level ? w().level_long[info.level] || info.level : "";
  $("card-head").innerHTML = `<div class="card-title"></div><div class="card-line"></div>`;
  $("card-head").children[0].textContent = w().card_type(info.vct || b.vct);
  $("card-head").children[1].textContent = `${info.issuer || b.issuer}${level ? ` · ${level}` : ""}`;
  fillTable($("card-claims"), subjectClaims(card.claims).map(([k, v]) => [label(k), value(k, v)]));
  const photo = card.claims && card.claims.portrait;
  $("card-photo").hidden = !(typeof photo === "string" && photo.startsWith("data:image/"));
  if (!$("card-photo").hidden) $("card-photo").src = photo;
  $("card-copies").textContent = `${w().copies(b.unused, b.copies)} ${w().received_at(when(b.received_at))}`;
  $("card-head").dataset.batch = b.batch_id;
  show("card");
}

// ---------------------------------------------------------------- receive

let offerText = "";

async function resolveOffer() {
  offerText = $("offer-text").value.trim();
  $("offer-summary").hidden = true;
  const s = await busy("offer-error", () => wallet.resolveOffer(offerText));
  if (!s) return;
  $("offer-issuer").textContent = s.credential_issuer;
  const types = s.credential_configuration_ids.map((id) => {
    const level = /high/.test(id) ? "high" : /basic/.test(id) ? "basic" : null;
    return `${w().card_type(id)}${level ? ` · ${w().levels[level]}` : ""}`;
  });
  $("offer-types").textContent = w().offer_types([...new Set(types)].join(lang === "zh" ? "、" : ", "));
  const tx = s.tx_code;
  $("tx-box").hidden = !tx;
  if (tx) {
    $("tx-label").textContent = w().tx_label(tx.length);
    setText("tx-desc", tx.description || "");
    $("tx-code").inputMode = tx.input_mode === "text" ? "text" : "numeric";
    $("tx-code").value = "";
  }
  $("offer-summary").hidden = false;
  $("offer-summary").dataset.txCode = tx ? "required" : "none";
}

async function receive() {
  const needs = $("offer-summary").dataset.txCode === "required";
  const code = $("tx-code").value.trim();
  if (needs && !code) {
    setText("offer-error", w().tx_missing);
    $("offer-error").dataset.code = "tx_code_missing";
    return;
  }
  const out = await busy("offer-error", () => wallet.receive(offerText, needs ? code : undefined));
  if (!out) return;
  $("tx-code").value = "";
  $("offer-text").value = "";
  await showCards();
}

// ---------------------------------------------------------------- present

let consent = null;

async function openRequest() {
  const text = $("request-text").value.trim();
  const t0 = performance.now();
  const c = await busy("request-error", () => wallet.openRequest(text));
  if (!c) return;
  document.body.dataset.openMs = (performance.now() - t0).toFixed(1);
  consent = c;
  showConsent();
}

function showConsent() {
  const c = consent;
  const id = c.client_identity || { kind: "unverified" };
  $("consent-who").textContent = c.asker || c.client_id;
  const verified = id.kind === "did";
  const badge = $("consent-verified");
  badge.className = `badge ${verified ? "ok" : "bad"}`;
  badge.dataset.verified = String(verified);
  const words = w().verified;
  badge.textContent = verified ? words.did(id.key_thumbprint || "") : words[id.kind] || words.unverified;
  const items = c.items || [];
  const rows = [];
  for (const item of items) {
    for (const cl of item.claims || []) rows.push([label(cl.path, cl.label_zh, cl.label), value(cl.path, cl.value)]);
  }
  fillTable($("consent-claims"), rows);
  $("consent-card").textContent = items
    .map((i) => w().from_card(w().card_type(i.credential_type), i.level ? w().level_long[i.level] || i.level : ""))
    .join(" ") + (rows.length ? "" : ` ${w().nothing_personal}`);
  const warn = $("consent-warnings");
  warn.replaceChildren();
  const addWarn = (cls, t) => {
    const p = document.createElement("p");
    p.className = "warning";
    p.dataset.warning = cls;
    p.textContent = t;
    warn.append(p);
  };
  for (const i of items) {
    if (i.unused_copies === 0) {
      addWarn("reuse", `${w().warn_reuse(i.copies)} ${i.refreshable ? w().warn_reuse_refresh : ""}`);
    }
    if (i.holder_binding === false) addWarn("no_binding", w().warn_no_binding);
    if (i.issuer_trust_unchecked) addWarn("trust", w().warn_trust);
  }
  if (c.response_uri && id.kind !== "redirect_uri" && hostName(c.response_uri) !== hostName(c.client_id)) {
    addWarn("elsewhere", w().warn_elsewhere(hostName(c.client_id) || c.client_id, hostName(c.response_uri)));
  }
  $("consent-how").textContent = c.response_uri ? w().how_post(c.response_uri) : w().how_qr;
  show("consent");
}

/** The host name of a URL (or of a client id that is one), else "". */
function hostName(u) {
  try {
    return new URL(u).hostname;
  } catch {
    return "";
  }
}

function needsReuse(c) {
  return typeof c.needs_reuse === "boolean" ? c.needs_reuse : (c.items || []).some((i) => i.unused_copies === 0);
}

async function agree() {
  if (consent.response_uri && !navigator.onLine) {
    setText("consent-error", w().offline_post);
    $("consent-error").dataset.code = "offline";
    return;
  }
  const t0 = performance.now();
  const out = await busy("consent-error", () => wallet.answer({ reuse: needsReuse(consent) }));
  if (!out) return;
  const ms = performance.now() - t0;
  document.body.dataset.answerMs = ms.toFixed(1);
  const to = consent.asker || consent.client_id;
  consent = null;
  $("request-text").value = "";
  if (out.answer) {
    $("answer-qr").innerHTML = qrSvg(out.answer); // SVG made by the wasm QR encoder from the core's answer
    $("answer-qr").dataset.answer = out.answer;
    $("qr-to").textContent = w().qr_to(to);
    show("qr");
  } else {
    $("sent-to").textContent = w().sent_to(hostName(out.sent_to) || out.sent_to);
    $("sent-box").dataset.status = String(out.status);
    show("sent");
  }
}

// ---------------------------------------------------------------- camera

let stopCamera = null;

async function startScan(targetId, then) {
  $("scanner").hidden = false;
  try {
    stopCamera = await scanQr($("video"), decodeQr, (text) => {
      stopScan();
      $(targetId).value = text;
      then();
    });
  } catch {
    stopScan();
    setText(`${targetId.split("-")[0]}-error`, w().camera_failed);
  }
}

function stopScan() {
  if (stopCamera) stopCamera();
  stopCamera = null;
  $("scanner").hidden = true;
}

// ---------------------------------------------------------------- wiring

function applyWords() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = lang === "zh" ? "我的身份证件 · My ID wallet" : "My ID wallet · 我的身份证件";
  for (const el of document.querySelectorAll("[data-t]")) {
    const v = w()[el.dataset.t];
    if (typeof v === "string") el.textContent = v;
  }
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  $("lang").lang = lang === "zh" ? "en" : "zh-CN";
  const screen = document.body.dataset.screen;
  if (wallet && screen === "cards") showCards();
  if (screen === "consent" && consent) showConsent();
}

async function main() {
  await Promise.all([init(), initQr()]);
  $("lang").onclick = () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("wallet-lang", lang);
    applyWords();
  };
  $("use-device").onclick = () => busy("setup-error", async () => openWallet(await lockWithDevice()));
  $("use-passphrase").onclick = () => { $("passphrase-box").hidden = false; $("new-pass").focus(); };
  $("set-pass").onclick = () => {
    const p = $("new-pass").value;
    if ([...p].length < 12) return setText("setup-error", w().pass_short);
    if (p !== $("new-pass2").value) return setText("setup-error", w().pass_differ);
    return busy("setup-error", async () => openWallet(await lockWithPassphrase(p)));
  };
  $("unlock").onclick = () => busy("unlock-error", async () => {
    const lock = await get("meta", "lock");
    await openWallet(deriveStorageKey($("pass").value, lock.salt));
    $("pass").value = "";
  });
  for (const b of document.querySelectorAll("button.back")) b.onclick = () => showCards();
  $("to-offer").onclick = () => { $("offer-summary").hidden = true; show("offer"); };
  $("to-request").onclick = () => show("request");
  $("resolve").onclick = () => resolveOffer();
  $("receive").onclick = () => receive();
  $("tx-code").oninput = () => { $("offer-error").hidden = true; };
  $("open-request").onclick = () => openRequest();
  $("agree").onclick = () => agree();
  $("decline").onclick = () => { consent = null; showCards(); };
  $("qr-done").onclick = () => showCards();
  $("sent-done").onclick = () => showCards();
  $("scan-stop").onclick = () => stopScan();
  for (const b of document.querySelectorAll("button.scan")) {
    const target = b.dataset.target;
    b.onclick = () => startScan(target, target === "offer-text" ? resolveOffer : openRequest);
  }
  applyWords();
  // For automation (the browser test seeds its store through this, like a user would).
  window.walletPage = { get wallet() { return wallet; }, refresh: () => showCards() };

  const lock = await get("meta", "lock");
  if (!lock) show("setup");
  else if (lock.mode === "passphrase") show("unlock");
  else {
    show("cards");
    await busy("cards-error", async () => openWallet(await unwrapDevice(lock)));
  }
  document.body.dataset.ready = "true";
}

main();
