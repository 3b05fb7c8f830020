// Command-line parsing for host-node.mjs: the Rust `wallet` CLI's subcommands, flags and
// defaults (`wallet init|receive|present|list|show`), with Node's own util.parseArgs. A usage
// error is a could-not-run failure (exit 2), as clap's.

import { parseArgs } from "node:util";
import { couldNotRun } from "./failure.mjs";

/** The name the help and error messages use. */
export const PROG = "node web/wallet/host-node.mjs";

/** The Rust wallet's default number of copies per credential (wallet::receive::DEFAULT_COPIES). */
export const DEFAULT_COPIES = 10;

const DATA = {
  data: { type: "string", default: "./wallet-data", help: "--data <DIR>        The wallet directory [default: ./wallet-data]" },
};
const JSON_FLAG = { json: { type: "boolean", help: "--json              Print JSON" } };

export const COMMANDS = {
  init: {
    about: "Create a wallet directory sealed under a passphrase",
    long:
      "Create a wallet: the storage key is derived from a passphrase (WALLET_PASSPHRASE, or typed at the\n" +
      "prompt) with Argon2id (salt in DIR/kdf.json); credentials and holder keys are stored sealed in\n" +
      "DIR/wallet.records.",
    example: `WALLET_PASSPHRASE=... ${PROG} init --data ./wallet-data`,
    positionals: [],
    options: { ...DATA },
  },
  receive: {
    about: "Receive credentials from an OpenID4VCI offer",
    long:
      "Receive credentials from an offer: redeems the code with the tx_code, requests a batch of copies\n" +
      "(one holder key each), verifies every copy against the issuer's published keys and stores them;\n" +
      "if any copy does not verify, nothing is stored. Every URL the wallet contacts must be https\n" +
      "(plain http only on loopback); redirects are not followed.",
    example: `${PROG} receive 'openid-credential-offer://?credential_offer_uri=...' --tx-code 493027`,
    exit: "Exit codes: 0 stored, 1 refused (wrong passphrase, wrong tx_code, credential did not verify), 2 could not run.",
    positionals: ["OFFER"],
    options: {
      "tx-code": { type: "string", help: "--tx-code <TX_CODE> The transaction code sent on another channel (asked for on a terminal)" },
      copies: { type: "string", help: `--copies <COPIES>   Copies per credential (capped at the issuer's batch size) [default: ${DEFAULT_COPIES}]` },
      configuration: { type: "string", multiple: true, help: "--configuration <ID> Only these offered configurations (repeatable); default all" },
      ...DATA,
      ...JSON_FLAG,
    },
  },
  present: {
    about: "Answer an OpenID4VP request",
    long:
      "Answer a presentation request: shows who asks and exactly which claims would be disclosed, asks\n" +
      "y/N (unless --yes), then posts the answer (direct_post) or prints it with a QR code (offline).\n" +
      "Each answer uses a copy never shown before when one is left.",
    example: `${PROG} present "$REQUEST" --yes --png answer.png`,
    exit: "Exit codes: 0 answered, 1 refused (declined, cannot satisfy, verifier rejected), 2 could not run.",
    positionals: ["REQUEST"],
    options: {
      yes: { type: "boolean", help: "--yes               Consent without asking (for scripts)" },
      png: { type: "string", help: "--png <FILE>        Also write the offline answer's QR code as a PNG" },
      "allow-reuse": { type: "boolean", help: "--allow-reuse       When every copy was shown before, reuse one (verifiers could link the answers)" },
      refresh: { type: "boolean", help: "--refresh           When every copy was shown before, first ask the issuer for a fresh batch" },
      ...JSON_FLAG,
      ...DATA,
    },
  },
  refresh: {
    about: "Get a fresh batch from the issuer once every copy was shown",
    long:
      "Refresh a batch with its refresh token: new holder keys, every new copy verified; the shown\n" +
      "copies are replaced, the batch id stays.",
    example: `${PROG} refresh 3f9a0c1b2d`,
    exit: "Exit codes: 0 refreshed, 1 refused (no refresh token, the issuer refused), 2 could not run.",
    positionals: ["BATCH_ID"],
    options: {
      copies: { type: "string", help: `--copies <COPIES>   Copies (capped at the issuer's batch size) [default: ${DEFAULT_COPIES}]` },
      ...DATA,
      ...JSON_FLAG,
    },
  },
  list: {
    about: "List stored credentials",
    long: "List stored credentials (one line per batch of copies).",
    example: `${PROG} list --data ./wallet-data --json`,
    positionals: [],
    options: { ...DATA, ...JSON_FLAG },
  },
  show: {
    about: "Show a credential as a card",
    long: "Show a credential's claims as a card, with its assurance level.",
    example: `${PROG} show 3fa2c1d0e4 --data ./wallet-data`,
    positionals: ["ID"],
    options: { ...DATA, ...JSON_FLAG },
  },
};

/** The top-level help. */
export function usage() {
  const lines = [
    "The citizen's wallet in WebAssembly, on the command line (Node 20): the same commands, flags,",
    "JSON and exit codes as the Rust `wallet` CLI, over the wasm wallet package (web/build.sh builds",
    "it into web/dist/wallet-pkg; WALLET_PKG names another directory).",
    "",
    `Usage: ${PROG} <COMMAND>`,
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.about}`),
    "",
    "The passphrase comes from WALLET_PASSPHRASE (or a prompt on a terminal), never from a flag.",
    "Exit codes: 0 success, 1 refused, 2 could not run.",
  ];
  return `${lines.join("\n")}\n`;
}

/** One command's help. */
export function commandHelp(name) {
  const c = COMMANDS[name];
  const args = c.positionals.map((p) => ` <${p}>`).join("");
  const lines = [
    c.long,
    "",
    `Usage: ${PROG} ${name} [OPTIONS]${args}`,
    "",
    "Options:",
    ...Object.values(c.options).map((o) => `  ${o.help}`),
    "  -h, --help          Print help",
    "",
    "Example:",
    `  ${c.example}`,
  ];
  if (c.exit) lines.push("", c.exit);
  return `${lines.join("\n")}\n`;
}

/**
 * Parses argv (without node and the script): `{ help: text }` for a help request, else
 * `{ command, args, values }`. Throws a could-not-run Failure for a usage error.
 */
export function parseCommand(argv) {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "-h" || name === "--help") return { help: usage() };
  const spec = COMMANDS[name];
  if (spec === undefined) throw couldNotRun(`unrecognized subcommand '${name}' (try --help)`);
  if (rest.includes("-h") || rest.includes("--help")) return { help: commandHelp(name) };
  const options = {};
  for (const [flag, o] of Object.entries(spec.options)) {
    options[flag] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw couldNotRun(`${name}: ${e.message}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > spec.positionals.length) {
    throw couldNotRun(`${name}: unexpected argument '${positionals[spec.positionals.length]}'`);
  }
  if (positionals.length < spec.positionals.length) {
    throw couldNotRun(`${name}: the argument <${spec.positionals[positionals.length]}> is required`);
  }
  if (name === "receive" || name === "refresh") {
    const text = values.copies ?? String(DEFAULT_COPIES);
    if (!/^[0-9]{1,6}$/.test(text)) throw couldNotRun(`${name}: invalid value '${text}' for '--copies <COPIES>'`);
    values.copies = Number(text);
  }
  if (name === "present" && values.refresh && values["allow-reuse"]) {
    throw couldNotRun("present: the argument '--allow-reuse' cannot be used with '--refresh'");
  }
  return { command: name, args: positionals, values };
}
