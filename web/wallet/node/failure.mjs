// How a command ends, as the Rust `wallet` CLI ends: 0 done; 1 refused (wrong passphrase,
// wrong tx_code, a credential that does not verify, declined, cannot satisfy, verifier
// rejected); 2 could not run (usage, files, network). One line on stderr says why.

/** Exit code: the operation was refused. */
export const REFUSED = 1;
/** Exit code: could not run. */
export const COULD_NOT_RUN = 2;

/** A command's failure: `refused` (exit 1) or `error` (could not run, exit 2). */
export class Failure extends Error {
  constructor(kind, message, code) {
    super(message);
    this.kind = kind;
    /** The wasm wallet's error code, when the failure came from it. */
    this.code = code;
  }
}

/** Refused (exit 1). */
export const refused = (message, code) => new Failure("refused", message, code);
/** Could not run (exit 2). */
export const couldNotRun = (message, code) => new Failure("error", message, code);

// The wasm wallet's error codes that the Rust CLI reports as a refusal (exit 1), per command.
// Everything else (network, files, a damaged wallet, a request that does not parse) could not
// run (exit 2), as there.
const OPEN_REFUSED = new Set(["wrong_key"]);
const RECEIVE_COULD_NOT_RUN = new Set([
  "http",
  "invalid_offer_uri",
  "corrupted",
  "records_too_large",
  "schema_too_new",
  "store_failed",
  "persist_failed",
  "host_failed",
  "invalid_argument",
  "busy",
]);
const ANSWER_REFUSED = new Set(["all_copies_shown", "verifier_rejected"]);
const REFRESH_REFUSED = new Set(["refresh_refused", "rate_limited", "not_refreshable"]);

/**
 * The wasm wallet's error (an `Error` with a `code`) as a Failure, for the step that threw it:
 * `open`, `receive`, `openRequest`, `answer`, `refresh` or `read` (list, show).
 */
export function fromWallet(step, e) {
  if (e instanceof Failure) return e;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = oneLine(e?.message ?? String(e));
  if (code === undefined) return couldNotRun(message);
  let isRefusal;
  switch (step) {
    case "open":
      isRefusal = OPEN_REFUSED.has(code);
      break;
    case "receive":
      isRefusal = !RECEIVE_COULD_NOT_RUN.has(code);
      break;
    case "openRequest":
      isRefusal = code === "cannot_satisfy";
      break;
    case "answer":
      isRefusal = ANSWER_REFUSED.has(code);
      break;
    case "refresh":
      isRefusal = REFRESH_REFUSED.has(code);
      break;
    default:
      isRefusal = false;
  }
  return isRefusal ? refused(message, code) : couldNotRun(message, code);
}

/** The first line of a message, so an error is always one line on stderr. */
export function oneLine(text) {
  return String(text).split(/\r?\n/, 1)[0];
}

/** Ends the process for a failure (or anything thrown): one line on stderr, exit 1 or 2. */
export function exitWithFailure(e) {
  const failure = e instanceof Failure ? e : couldNotRun(oneLine(e?.message ?? String(e)));
  if (failure.kind === "refused") {
    process.stderr.write(`refused: ${failure.message}\n`);
    process.exitCode = REFUSED;
  } else {
    process.stderr.write(`error: ${failure.message}\n`);
    process.exitCode = COULD_NOT_RUN;
  }
}
