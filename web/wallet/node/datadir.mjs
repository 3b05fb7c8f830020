// The Node host's wallet directory (`--data DIR`):
//
//   DIR/kdf.json        the Argon2id parameters and salt, in clear, in the Rust wallet's format
//                       (docs/wallet.md, "kdf.json bounds"); the storage key is
//                       deriveStorageKey(WALLET_PASSPHRASE, salt)
//   DIR/wallet.records  every sealed record the wasm wallet handed to `persist`, by key:
//                       {"format": "citizen-id-wallet-records", "version": 1,
//                        "records": {"<key>": "<base64url of the sealed bytes>", ...}}
//
// Nothing is in clear but record keys (ids, no claim) and the KDF parameters: claims, holder
// keys and tokens exist only inside sealed records, and the key check (`meta:key_check`) is
// one of them, so a wrong passphrase is refused before anything else is read. Every write
// replaces wallet.records whole: a temporary file in DIR, fsync, rename, fsync of DIR, so a
// crash leaves the old file or the new one, never a mix.

import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { couldNotRun } from "./failure.mjs";

export const KDF_FILE = "kdf.json";
export const RECORDS_FILE = "wallet.records";
/** The Rust wallet's SQLite store: a directory holding it belongs to the Rust CLI. */
export const RUST_STORE_FILE = "wallet.sqlite3";
export const RECORDS_FORMAT = "citizen-id-wallet-records";
export const RECORDS_VERSION = 1;

/** The largest kdf.json read (bytes), as the Rust wallet. */
export const MAX_KDF_FILE = 4096;
/** The largest wallet.records read (bytes); checked before reading or parsing. */
export const MAX_RECORDS_FILE = 256 * 1024 * 1024;

// What deriveStorageKey derives with (wallet_core::kdf::KdfParams::recommended). A kdf.json
// with other costs was not written by this host, and its key cannot be derived here.
const M_COST = 19456;
const T_COST = 2;
const P_COST = 1;
const MIN_SALT = 8;
const MAX_SALT = 64;

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Reads at most `max` bytes of `path`; null when it does not exist. Refuses a larger file. */
function readLimited(path, max, name) {
  let fd;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return null;
    throw couldNotRun(`cannot read ${name}: ${e.code ?? e.message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw couldNotRun(`${name} is not a file`);
    if (stat.size > max) throw couldNotRun(`${name} is larger than ${max} bytes`);
    const buf = Buffer.alloc(stat.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

function decodeB64url(text) {
  if (typeof text !== "string" || !B64URL.test(text) || text.length % 4 === 1) return null;
  return new Uint8Array(Buffer.from(text, "base64url"));
}

/** kdf.json's salt, after the same checks as the Rust wallet's `KdfParams::from_json`. */
function parseKdf(bytes) {
  let value;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw couldNotRun("kdf.json is not a json object");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw couldNotRun("kdf.json is not a json object");
  }
  if (value.alg !== "argon2id") throw couldNotRun("kdf.json: alg is not argon2id");
  for (const [name, want] of [["m_cost", M_COST], ["t_cost", T_COST], ["p_cost", P_COST]]) {
    const got = value[name];
    if (!Number.isSafeInteger(got) || got < 0) {
      throw couldNotRun(`kdf.json: ${name} is missing or not a whole number`);
    }
    if (got !== want) {
      throw couldNotRun(`kdf.json: ${name} = ${got} is not the ${want} this host derives with`);
    }
  }
  const salt = typeof value.salt === "string" && value.salt.length <= 2 * MAX_SALT ? decodeB64url(value.salt) : null;
  if (salt === null) throw couldNotRun("kdf.json: salt is missing or not base64url");
  if (salt.length < MIN_SALT || salt.length > MAX_SALT) {
    throw couldNotRun(`kdf.json: salt is ${salt.length} bytes, outside the accepted ${MIN_SALT}..=${MAX_SALT}`);
  }
  return salt;
}

function kdfText(salt) {
  const value = {
    alg: "argon2id",
    m_cost: M_COST,
    t_cost: T_COST,
    p_cost: P_COST,
    salt: Buffer.from(salt).toString("base64url"),
  };
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** wallet.records' records as [key, bytes] pairs, after checking its shape. */
function parseRecords(bytes) {
  const bad = (why) => couldNotRun(`${RECORDS_FILE} is not a wallet record file: ${why}`);
  let value;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw bad("not json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad("not a json object");
  if (value.format !== RECORDS_FORMAT) throw bad(`format is not ${RECORDS_FORMAT}`);
  if (value.version !== RECORDS_VERSION) {
    throw bad(`version ${JSON.stringify(value.version)} is not ${RECORDS_VERSION}`);
  }
  const records = value.records;
  if (records === null || typeof records !== "object" || Array.isArray(records)) throw bad("records is not an object");
  const out = new Map();
  for (const [key, text] of Object.entries(records)) {
    const sealed = decodeB64url(text);
    if (sealed === null) throw bad("a record is not base64url");
    out.set(key, sealed);
  }
  return out;
}

function recordsText(records) {
  const obj = {};
  for (const [key, bytes] of [...records.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    obj[key] = Buffer.from(bytes).toString("base64url");
  }
  return JSON.stringify({ format: RECORDS_FORMAT, version: RECORDS_VERSION, records: obj });
}

/** Writes `text` to DIR/name atomically: temporary file, fsync, rename, fsync of DIR. */
function writeAtomically(dir, name, text) {
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    const data = Buffer.from(text, "utf8");
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, join(dir, name));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/**
 * The sealed records of one wallet directory, in memory, written through to wallet.records:
 * `records` is what the wasm wallet opens, `persist` what it calls with each call's changes.
 */
export class DataDir {
  constructor(dir, salt, records) {
    this.dir = dir;
    this.salt = salt;
    this.records = records;
  }

  /** Creates DIR (or uses an empty one) with a fresh salt; refuses a directory with a wallet. */
  static create(dir) {
    for (const name of [KDF_FILE, RECORDS_FILE, RUST_STORE_FILE]) {
      if (existsSync(join(dir, name))) throw couldNotRun(`${dir} already holds a wallet`);
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw couldNotRun(`cannot create ${dir}: ${e.code ?? e.message}`);
    }
    return new DataDir(dir, new Uint8Array(randomBytes(16)), new Map());
  }

  /** Writes kdf.json (after the records, so a directory with kdf.json is a whole wallet). */
  writeKdf() {
    writeAtomically(this.dir, KDF_FILE, kdfText(this.salt));
  }

  /** Opens DIR: kdf.json and wallet.records, each size-checked before it is parsed. */
  static open(dir, hint) {
    const kdf = readLimited(join(dir, KDF_FILE), MAX_KDF_FILE, KDF_FILE);
    if (kdf === null) throw couldNotRun(`no wallet in ${dir} (run \`${hint} init --data ${dir}\`)`);
    const salt = parseKdf(kdf);
    const records = readLimited(join(dir, RECORDS_FILE), MAX_RECORDS_FILE, RECORDS_FILE);
    if (records === null) {
      if (existsSync(join(dir, RUST_STORE_FILE))) {
        throw couldNotRun(`${dir} holds a wallet of the Rust \`wallet\` CLI (${RUST_STORE_FILE}), not of this host`);
      }
      throw couldNotRun(`no wallet in ${dir}: ${KDF_FILE} without ${RECORDS_FILE}`);
    }
    return new DataDir(dir, salt, parseRecords(records));
  }

  /** The records as the wasm wallet's `Wallet.open` takes them. */
  entries() {
    return [...this.records.entries()];
  }

  /** Applies one call's changes and writes the whole file atomically; memory follows disk. */
  persist(changes) {
    const next = new Map(this.records);
    for (const [key, bytes] of changes.put ?? []) next.set(key, new Uint8Array(bytes));
    for (const key of changes.delete ?? []) next.delete(key);
    writeAtomically(this.dir, RECORDS_FILE, recordsText(next));
    this.records = next;
  }
}
