#!/usr/bin/env node
// The wasm wallet on the command line (Node 20): `init`, `receive`, `present`, `refresh`,
// `list`, `show` with the same flags, defaults, exit codes and `--json` output as the Rust
// `wallet` CLI, so a script that drives one drives the other (tests/wasm_wallet.rs runs the
// hotel journey with both). The protocols are the wasm wallet's (web/dist/wallet-pkg, built
// by web/build.sh, or WALLET_PKG); this file is the host: arguments, the passphrase, the data
// directory (node/datadir.mjs), HTTP and the clock (node/host.mjs), the terminal.
// docs/wallet.md, "The Node host".

import { createInterface } from "node:readline";
import { writeFileSync } from "node:fs";
import { PROG, parseCommand } from "./node/args.mjs";
import { DataDir } from "./node/datadir.mjs";
import { couldNotRun, exitWithFailure, fromWallet, refused } from "./node/failure.mjs";
import { loadWallet, nodeHost } from "./node/host.mjs";
import { printConsent, shortValue, utcDate } from "./node/text.mjs";
import { svgToPng } from "./node/qrpng.mjs";

const out = (line) => process.stdout.write(`${line}\n`);
const err = (line) => process.stderr.write(`${line}\n`);

/** Reads a line from the terminal without echo. */
function promptHidden(prompt) {
  return new Promise((resolvePromise, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let muted = false;
    rl._writeToOutput = (s) => {
      if (!muted) process.stderr.write(s);
    };
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolvePromise(answer);
    });
    muted = true;
    rl.on("SIGINT", () => {
      rl.close();
      reject(couldNotRun("interrupted"));
    });
  });
}

/** Reads a line from the terminal. */
function promptLine(prompt) {
  return new Promise((resolvePromise) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    rl.question(prompt, (answer) => {
      rl.close();
      resolvePromise(answer);
    });
  });
}

/** The passphrase from WALLET_PASSPHRASE, else the terminal (twice when `confirm`). */
async function passphrase(confirm) {
  const fromEnv = process.env.WALLET_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) throw couldNotRun("no passphrase: set WALLET_PASSPHRASE or run in a terminal");
  const first = await promptHidden("wallet passphrase: ");
  if (confirm && (await promptHidden("again: ")) !== first) throw couldNotRun("the passphrases differ");
  if (first.length === 0) throw couldNotRun("empty passphrase");
  return first;
}

/** Opens the wallet in --data: kdf.json, the records, the storage key, the wasm wallet. */
async function openWallet(values) {
  const dataDir = DataDir.open(values.data, PROG);
  const pkg = await loadWallet();
  const pass = await passphrase(false);
  let key;
  try {
    key = pkg.deriveStorageKey(pass, dataDir.salt);
  } catch (e) {
    throw fromWallet("open", e);
  }
  try {
    return { pkg, wallet: pkg.Wallet.open(nodeHost(dataDir), key, dataDir.entries(), { signer: "software" }) };
  } catch (e) {
    throw fromWallet("open", e);
  } finally {
    key.fill(0);
  }
}

async function init(values) {
  const pass = await passphrase(true);
  const pkg = await loadWallet();
  const dataDir = DataDir.create(values.data);
  const key = pkg.deriveStorageKey(pass, dataDir.salt);
  try {
    const wallet = pkg.Wallet.open(nodeHost(dataDir), key, [], { signer: "software" });
    // A new wallet's first change is its key check, which the wallet hands to `persist` with
    // its next call. It is written now, so that a wrong passphrase is refused from the first
    // command on: `refresh()` of a new wallet has no batch to refresh (no network) and
    // persists the pending change.
    const none = await wallet.refresh();
    if (!Array.isArray(none) || none.length !== 0) throw couldNotRun("a new wallet refreshed a batch");
  } catch (e) {
    throw fromWallet("open", e);
  } finally {
    key.fill(0);
  }
  dataDir.writeKdf();
  out(`wallet created in ${values.data}`);
}

async function receive([offer], values) {
  const { wallet } = await openWallet(values);
  let summary;
  try {
    summary = await wallet.resolveOffer(offer);
  } catch (e) {
    throw fromWallet("receive", e);
  }
  let txCode = values["tx-code"];
  if (txCode === undefined && summary.tx_code) {
    if (!process.stdin.isTTY) throw couldNotRun("the offer needs a tx_code: pass --tx-code");
    txCode = await promptHidden(`${summary.tx_code.description ?? "transaction code"}: `);
  }
  const options = { copies: values.copies };
  if (values.configuration?.length) options.configurations = values.configuration;
  let report;
  try {
    report = await wallet.receive(offer, txCode, options);
  } catch (e) {
    throw fromWallet("receive", e);
  }
  if (values.json) {
    out(JSON.stringify(report));
    return;
  }
  for (const b of report.batches) {
    out(`stored ${b.batch_id}: ${b.copies} copies of ${b.vct} (${b.format}, level ${b.level ?? "-"}) from ${report.issuer}, all verified`);
  }
}

async function list(values) {
  const { wallet } = await openWallet(values);
  let batches;
  try {
    batches = wallet.list();
  } catch (e) {
    throw fromWallet("read", e);
  }
  if (values.json) {
    out(JSON.stringify(batches, null, 2));
    return;
  }
  if (batches.length === 0) out("no credentials");
  for (const b of batches) {
    out(
      `${b.batch_id}  ${(b.level ?? "-").padEnd(5)}  ${b.format}  ${b.vct}  ${b.unused}/${b.copies} unused` +
        `${b.refreshable ? " (refreshable)" : ""}  received ${utcDate(b.received_at)}  from ${b.issuer}`,
    );
  }
}

async function show([id], values) {
  const { wallet } = await openWallet(values);
  let card;
  try {
    card = wallet.show(id);
  } catch (e) {
    throw fromWallet("read", e);
  }
  if (values.json) {
    out(JSON.stringify(card, null, 2));
    return;
  }
  const info = card.credential;
  const subject =
    card.claims.credentialSubject && typeof card.claims.credentialSubject === "object" ? card.claims.credentialSubject : card.claims;
  out(`┌ citizen ID · 居民身份凭证 · level ${info.level ?? "unknown"}`);
  out(`│ type     ${info.vct}`);
  out(`│ format   ${info.format}`);
  out(`│ issuer   ${info.issuer}`);
  for (const [name, value] of Object.entries(subject)) {
    if (["iss", "iat", "exp", "nbf", "vct", "cnf", "status", "_sd_alg"].includes(name)) continue;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      out(`│ ${name}`);
      for (const [k, v] of Object.entries(value)) out(`│   ${k.padEnd(18)} ${shortValue(v)}`);
    } else {
      out(`│ ${name.padEnd(28)} ${shortValue(value)}`);
    }
  }
  for (const [label, key] of [["valid from", "nbf"], ["expires", "exp"]]) {
    if (Number.isSafeInteger(card.claims[key])) out(`│ ${label.padEnd(8)} ${utcDate(card.claims[key])}`);
  }
  out(`└ received ${utcDate(info.received_at)}`);
}

async function present([request], values) {
  const { pkg, wallet } = await openWallet(values);
  const openRequest = async () => {
    try {
      return await wallet.openRequest(request);
    } catch (e) {
      if (e?.code === "cannot_satisfy" && values.json && e.details !== undefined) out(JSON.stringify(e.details));
      throw fromWallet("openRequest", e);
    }
  };
  let consent = await openRequest();
  const exhausted = consent.items.filter((i) => i.unused_copies === 0);
  let refresh = consent.needs_reuse && values.refresh;
  if (consent.needs_reuse && !values.refresh && !values["allow-reuse"] && !values.yes && process.stdin.isTTY) {
    if (exhausted.every((i) => i.refreshable)) {
      const line = await promptLine(
        "every copy of a requested credential was shown before; ask its issuer for a fresh batch " +
          "now (new keys; nothing is shared with the verifier yet)? [y/N] ",
      );
      refresh = ["y", "Y", "yes"].includes(line.trim());
    }
  }
  if (refresh) {
    for (const item of exhausted) {
      err(`every copy of batch ${item.batch_id} was shown; asking its issuer for a fresh batch`);
      let done;
      try {
        done = await wallet.refresh(item.batch_id);
      } catch (e) {
        throw fromWallet("refresh", e);
      }
      err(`refreshed ${item.batch_id}: ${done.copies} new copies, all verified`);
    }
    consent = await openRequest();
  }
  if (!values.json || !values.yes) printConsent(consent, err);
  if (consent.needs_reuse && !values["allow-reuse"]) {
    throw refused(
      "every copy of a requested credential was shown before; pass --refresh for a fresh batch from the issuer, or --allow-reuse",
    );
  }
  if (!values.yes) {
    if (!process.stdin.isTTY) throw refused("no consent: stdin is not a terminal (pass --yes to consent)");
    const line = await promptLine("share these claims? [y/N] ");
    if (!["y", "Y", "yes"].includes(line.trim())) throw refused("declined; nothing was sent");
  }
  let report;
  try {
    report = await wallet.answer({ reuse: Boolean(values["allow-reuse"]) });
  } catch (e) {
    throw fromWallet("answer", e);
  }
  if (report.sent_to !== undefined) {
    if (values.json) {
      out(JSON.stringify(report));
    } else {
      out(`sent to ${report.sent_to} (http ${report.status})`);
      if (report.redirect_uri) out(`continue at ${report.redirect_uri}`);
    }
    return;
  }
  if (values.png !== undefined) {
    try {
      writeFileSync(values.png, svgToPng(pkg.qrSvg(report.answer)));
    } catch (e) {
      throw couldNotRun(`cannot write ${values.png}: ${e.code ?? e.message}`);
    }
  }
  if (values.json) {
    out(JSON.stringify(report));
  } else {
    err(`answer: ${report.bytes} bytes${report.qr_version != null ? `, qr version ${report.qr_version}` : ""}`);
    out(report.answer);
  }
}

async function refresh([batchId], values) {
  const { wallet } = await openWallet(values);
  let done;
  try {
    done = await wallet.refresh(batchId, { copies: values.copies });
  } catch (e) {
    throw fromWallet("refresh", e);
  }
  if (values.json) {
    out(JSON.stringify(done));
  } else {
    out(`refreshed ${done.batch_id}: ${done.copies} new copies of ${done.configuration}, all verified; the shown copies were replaced`);
  }
}

const COMMAND_RUNNERS = {
  init: (_, values) => init(values),
  receive,
  present,
  refresh,
  list: (_, values) => list(values),
  show,
};

async function main() {
  const parsed = parseCommand(process.argv.slice(2));
  if (parsed.help !== undefined) {
    out(parsed.help.trimEnd());
    return;
  }
  await COMMAND_RUNNERS[parsed.command](parsed.args, parsed.values);
}

main().catch(exitWithFailure);
