//! `verifier verify`.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{json, Value};
use verifier::{Policy, StatusStore, TrustStore, VerifiedPresentation, Verifier, VerifierError};

use super::state::StateArg;
use super::{now, parse_time, read_input, Outcome};

/// Verify a presentation against local trust material, status lists and policy.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  verifier request --profile hotel --data ~/hotel-verifier --png request.png\n  \
verifier verify --data ~/hotel-verifier answer.png\n  \
verifier verify --trust did-docs/did.json --status status-0.jwt \\\n      --nonce n-8f2c --aud https://hotel.example presentation.txt\n  \
verifier verify --generic --no-key-binding --trust issuer.jwk sd-jwt.txt\n\n\
Trust: the state synced into --data by `verifier sync` (issuer keys and status lists), or the\n\
--trust files (and --status tokens) instead.\n\
Without --nonce (and without --policy, --generic or --no-key-binding), the answer (a vp_token\n\
JSON object, a direct_post body, an SD-JWT+KB, or a PNG of its QR code) must answer a request\n\
made by `verifier request` with the same --data: the nonce its key-binding JWT carries is\n\
looked up there, checked and used up, and the request supplies the audience (its client id)\n\
and the profile (the policy). --nonce and --aud are needed only to verify against a nonce of\n\
your own while key binding is required.\n\
Exit codes: 0 accepted, 1 rejected (stderr names the failed check), 2 could not run."
)]
pub struct Args {
    #[command(flatten)]
    data: StateArg,
    /// Trusted issuer keys: a JWK, a JWKS, JWT VC issuer metadata or a DID document
    /// (repeatable). Without it, the trust state synced into --data is used.
    #[arg(long, value_name = "FILE")]
    trust: Vec<PathBuf>,
    /// Status-list tokens (`statuslist+jwt`) to check revocation against (repeatable; with
    /// --trust, as the synced state carries its own).
    #[arg(long, value_name = "FILE", requires = "trust")]
    status: Vec<PathBuf>,
    /// Relying-party policy (TOML). Default: both citizen-ID types, key binding required.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The nonce this verifier issued for the presentation. Without it (and without --policy,
    /// --generic or --no-key-binding), the answer is matched to the stored request (`verifier
    /// request`) whose nonce it carries.
    #[arg(long, conflicts_with = "batch")]
    nonce: Option<String>,
    /// This verifier's audience (client id): needed with --nonce while key binding is
    /// required; with a stored request, only checked against the request's client id.
    #[arg(long, conflicts_with = "batch")]
    aud: Option<String>,
    /// Verify as of this time (RFC 3339 or Unix seconds) instead of now.
    #[arg(long, value_parser = parse_time)]
    now: Option<i64>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Plain RFC 9901 verifier: accept any credential type.
    #[arg(long)]
    generic: bool,
    /// Accept SD-JWTs without a key-binding JWT.
    #[arg(long)]
    no_key_binding: bool,
    /// Verify a file (`-`: standard input) of JSON lines {"presentation", "nonce", "aud"}, one
    /// result per line in input order, streamed: any file size, lines up to 1 MiB each
    /// (`nonce` and `aud` may be left out when key binding is not required).
    #[arg(long, value_name = "FILE", conflicts_with = "presentation")]
    batch: Option<PathBuf>,
    /// The presentation: a file (text, or a PNG of the wallet's QR code), `-` for standard
    /// input, or the presentation text itself (also the QR code's `VP1:` or `VP2:` text).
    #[arg(required_unless_present = "batch")]
    presentation: Option<String>,
}

pub fn run(args: Args) -> Outcome {
    match build(&args) {
        Ok(verifier) => {
            let now = args.now.unwrap_or_else(now);
            let stored_request = args.batch.is_none()
                && args.nonce.is_none()
                && args.policy.is_none()
                && !args.generic
                && !args.no_key_binding;
            if let Some(file) = &args.batch {
                batch(&verifier, file, now)
            } else if stored_request {
                answer::run(verifier, &args.data.dir, &args, now)
            } else {
                single(&verifier, &args, now)
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::CouldNotRun
        }
    }
}

fn build(args: &Args) -> anyhow::Result<Verifier> {
    let mut policy = match &args.policy {
        Some(file) => Policy::from_toml(&read_input(&file.to_string_lossy())?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
        None => Policy::default(),
    };
    if args.generic {
        policy.generic = true;
    }
    if args.no_key_binding {
        policy.key_binding = false;
    }
    if args.trust.is_empty() {
        let dir = &args.data.dir;
        let state = super::state::State::new(dir);
        let root = state.root()?;
        let loaded = state.load(&root)?.ok_or_else(|| {
            anyhow::anyhow!(
                "no trust bundle in {}; run `verifier sync ISSUER_URL` first or give --trust",
                dir.display()
            )
        })?;
        let (trust, status) = loaded.state.into_stores();
        return Ok(Verifier::new(trust, status, policy));
    }
    let mut trust = TrustStore::new();
    for file in &args.trust {
        let text = read_input(&file.to_string_lossy())?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|_| anyhow::anyhow!("{}: trust file is not json", file.display()))?;
        trust
            .extend_from_value(&value)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    let now = args.now.unwrap_or_else(now);
    let mut status = StatusStore::new();
    for file in &args.status {
        let text = read_input(&file.to_string_lossy())?;
        status
            .add_token(&text, &trust, now)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    Ok(Verifier::new(trust, status, policy))
}

fn single(verifier: &Verifier, args: &Args, now: i64) -> Outcome {
    let Some(input) = &args.presentation else {
        eprintln!("error: a presentation is required");
        return Outcome::CouldNotRun;
    };
    let (nonce, aud) = match (&args.nonce, &args.aud) {
        (Some(nonce), Some(aud)) => (nonce.as_str(), aud.as_str()),
        _ if !verifier.policy.key_binding => ("", ""),
        _ => {
            eprintln!(
                "error: key binding is required: give --nonce and --aud, or verify an answer to a \
                 stored request (no --nonce, --policy or --generic), or --no-key-binding"
            );
            return Outcome::CouldNotRun;
        }
    };
    let text = if input == "-" || std::path::Path::new(input).is_file() || !is_inline(input) {
        match read_input(input) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Outcome::CouldNotRun;
            }
        }
    } else {
        input.clone()
    };
    match verifier.verify(text.trim(), nonce, aud, now) {
        Ok(v) => {
            if args.json {
                println!("{}", accepted_json(&v));
            } else {
                print_human(&v);
            }
            Outcome::Accepted
        }
        Err(e) => {
            if args.json {
                println!("{}", rejected_json(&e));
            }
            match hint(&e) {
                Some(h) => eprintln!("rejected: {}: {e} ({h})", e.code()),
                None => eprintln!("rejected: {}: {e}", e.code()),
            }
            Outcome::Rejected
        }
    }
}

/// Whether a PRESENTATION argument is the presentation itself rather than a file name: a
/// JSON serialization, compact text (base64url, `.` and `~` only, with a `~`), or a QR code's
/// compact answer (`VP1:`, `VP2:`). Anything else is a file name, so an unreadable one is
/// "could not run", not a rejection.
fn is_inline(arg: &str) -> bool {
    let arg = arg.trim();
    arg.starts_with('{')
        || credential::compact::is_compact(arg)
        || (arg.contains('~')
            && arg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')))
}

/// The longest `--batch` line (a presentation is at most 256 KiB, JSON-escaped up to about
/// twice that); a longer line gets its own `batch_line_too_long` result.
pub const MAX_BATCH_LINE: usize = 1024 * 1024;
/// Lines verified together (in parallel) before their results are written.
const CHUNK_LINES: usize = 2048;
/// ... or fewer, once the chunk holds this many bytes: memory stays bounded by about this
/// much input plus its results, whatever the file's size.
const CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// One line of a batch file, as read.
enum BatchLine {
    /// The text (without its line end).
    Text(usize, String),
    /// Longer than [`MAX_BATCH_LINE`]: skipped unread.
    TooLong(usize),
    /// Not UTF-8.
    NotText(usize),
}

/// Reads the next line into `buf` (without `\n` or `\r\n`), keeping at most `limit` bytes:
/// `None` at the end of the input, else whether the line was longer than `limit` (its rest is
/// read past, never stored).
fn read_line_limited(
    reader: &mut impl BufRead,
    limit: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut started = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(started.then_some(too_long));
        }
        started = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let part = &available[..newline.unwrap_or(available.len())];
        if !too_long {
            if buf.len() + part.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = newline.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        if newline.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(too_long));
        }
    }
}

/// Reads up to one chunk of non-blank lines; `number` is the last line number read. `Ok(None)`
/// at the end of the input.
fn read_chunk(
    reader: &mut impl BufRead,
    number: &mut usize,
) -> std::io::Result<Option<Vec<BatchLine>>> {
    let mut chunk = Vec::new();
    let mut bytes = 0usize;
    let mut buf = Vec::new();
    while chunk.len() < CHUNK_LINES && bytes < CHUNK_BYTES {
        let Some(too_long) = read_line_limited(reader, MAX_BATCH_LINE, &mut buf)? else {
            break;
        };
        *number += 1;
        if too_long {
            chunk.push(BatchLine::TooLong(*number));
            continue;
        }
        // Blank lines are skipped; `line` in each result stays the line number in the file.
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        bytes += buf.len();
        match String::from_utf8(std::mem::take(&mut buf)) {
            Ok(text) => chunk.push(BatchLine::Text(*number, text)),
            Err(_) => chunk.push(BatchLine::NotText(*number)),
        }
    }
    Ok((!chunk.is_empty()).then_some(chunk))
}

/// Verifies one batch line: (accepted, the result line).
fn batch_result(verifier: &Verifier, line: BatchLine, now: i64) -> (bool, String) {
    let malformed = |number: usize, message: &str| {
        let out = json!({"line": number, "accepted": false, "error": "malformed_batch_line",
            "message": message});
        (false, out.to_string())
    };
    let (number, text) = match line {
        BatchLine::Text(number, text) => (number, text),
        BatchLine::TooLong(number) => {
            let out = json!({"line": number, "accepted": false, "error": "batch_line_too_long",
                "message": format!("line is longer than {MAX_BATCH_LINE} bytes")});
            return (false, out.to_string());
        }
        BatchLine::NotText(number) => return malformed(number, "line is not utf-8 text"),
    };
    let item: Result<Value, _> = serde_json::from_str(&text);
    drop(text);
    // Without key binding, a line needs no nonce or audience.
    let optional = !verifier.policy.key_binding;
    let fields = item.ok().and_then(|v| {
        let field = |name: &str| match v.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            None if optional => Some(String::new()),
            _ => None,
        };
        Some((
            v.get("presentation")?.as_str()?.to_owned(),
            field("nonce")?,
            field("aud")?,
        ))
    });
    let Some((presentation, nonce, aud)) = fields else {
        return malformed(number, "expected {\"presentation\", \"nonce\", \"aud\"}");
    };
    match verifier.verify(&presentation, &nonce, &aud, now) {
        Ok(v) => {
            let mut out = accepted_json(&v);
            out["line"] = json!(number);
            (true, out.to_string())
        }
        Err(e) => {
            let mut out = rejected_json(&e);
            out["line"] = json!(number);
            (false, out.to_string())
        }
    }
}

/// `--batch`: streams the file (or standard input for `-`) in chunks of lines, verifies each
/// chunk on every core and writes its results in input order before reading on, so memory is
/// bounded by the chunk, not the file.
fn batch(verifier: &Verifier, file: &std::path::Path, now: i64) -> Outcome {
    let input: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                return Outcome::CouldNotRun;
            }
        }
    };
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, input);
    // Buffered, and a closed pipe (`| head`) ends the output instead of panicking in println.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut number, mut total, mut rejected) = (0usize, 0usize, 0usize);
    loop {
        let chunk = match read_chunk(&mut reader, &mut number) {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let _ = out.flush();
                eprintln!(
                    "error: cannot read {} after line {number}: {e}",
                    file.display()
                );
                return Outcome::CouldNotRun;
            }
        };
        let results: Vec<(bool, String)> = chunk
            .into_par_iter()
            .map(|line| batch_result(verifier, line, now))
            .collect();
        total += results.len();
        rejected += results.iter().filter(|(ok, _)| !ok).count();
        if let Err(e) = results
            .iter()
            .try_for_each(|(_, line)| writeln!(out, "{line}"))
        {
            eprintln!("error: cannot write the results: {e}");
            return Outcome::CouldNotRun;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("error: cannot write the results: {e}");
        return Outcome::CouldNotRun;
    }
    if rejected > 0 {
        eprintln!("rejected: {rejected} of {total} presentations");
        Outcome::Rejected
    } else {
        Outcome::Accepted
    }
}

/// Answers to requests made by `verifier request`.
mod answer {
    use std::path::Path;

    use verifier::answer::{self, Answer};
    use verifier::{Policy, Verifier};

    use super::super::requests::State;
    use super::super::{qr, read_input, Outcome, MAX_INPUT};
    use super::{accepted_json, print_human, rejected_json, Args};

    /// A rejection before or beside the SD-JWT checks: (code, message).
    fn reject(args: &Args, code: &str, message: &str) -> Outcome {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"accepted": false, "error": code, "message": message})
            );
        }
        eprintln!("rejected: {code}: {message}");
        Outcome::Rejected
    }

    /// Reads the answer: a PNG of a QR code (decoded), a file, `-`, or the text itself.
    fn read_answer(input: &str) -> anyhow::Result<String> {
        let path = Path::new(input);
        if input != "-" && path.is_file() {
            let meta = std::fs::metadata(path)?;
            if meta.len() > MAX_INPUT {
                anyhow::bail!("{input} is larger than {MAX_INPUT} bytes");
            }
            let bytes =
                std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {input}: {e}"))?;
            if qr::is_png(&bytes) {
                return qr::decode_png(&bytes).map_err(|e| anyhow::anyhow!("{input}: {e:#}"));
            }
            return String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{input} is neither text nor a png image"));
        }
        if input == "-" {
            return read_input(input);
        }
        Ok(input.to_owned())
    }

    pub fn run(verifier: Verifier, dir: &Path, args: &Args, now: i64) -> Outcome {
        let Some(input) = &args.presentation else {
            eprintln!("error: an answer is required");
            return Outcome::CouldNotRun;
        };
        let text = match read_answer(input) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Outcome::CouldNotRun;
            }
        };
        let state = match State::open(dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Outcome::CouldNotRun;
            }
        };
        match check(verifier, &state, &text, args.aud.as_deref(), args, now) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("error: {e:#}");
                Outcome::CouldNotRun
            }
        }
    }

    fn check(
        mut verifier: Verifier,
        state: &State,
        text: &str,
        aud: Option<&str>,
        args: &Args,
        now: i64,
    ) -> anyhow::Result<Outcome> {
        let answer: Answer = match answer::parse(text) {
            Ok(a) => a,
            Err(e) => return Ok(reject(args, e.code(), &e.to_string())),
        };
        const UNKNOWN: &str = "nonce_unknown_or_used";
        let unknown =
            "the answer's nonce matches no pending request (unknown, expired or already answered)";
        let Some(nonce) = answer.nonce_hint() else {
            return Ok(reject(args, UNKNOWN, unknown));
        };
        let Some(pending) = state.find(&nonce)? else {
            return Ok(reject(args, UNKNOWN, unknown));
        };
        if pending.expires_at < now {
            state.consume(&pending.nonce)?;
            return Ok(reject(
                args,
                "request_expired",
                "the request this answers has expired",
            ));
        }
        // The request knows its client id; an --aud given anyway must agree with it.
        if let Some(aud) = aud.filter(|aud| *aud != pending.client_id) {
            anyhow::bail!(
                "--aud {aud} differs from the client id {} the request was made with",
                pending.client_id
            );
        }
        if let Err(e) = answer.check_query_ids(&pending.query_ids) {
            return Ok(reject(args, e.code(), &e.to_string()));
        }
        verifier.policy = Policy::from_toml(&pending.policy)
            .map_err(|e| anyhow::anyhow!("stored profile {}: {e}", pending.profile))?;
        // The request was built from this policy, so its DCQL query is rebuilt exactly: the
        // answer is checked against it (`multiple`) and so is key binding
        // (`require_cryptographic_holder_binding`).
        let request = verifier::request::PresentationRequest {
            client_id: pending.client_id.clone(),
            nonce: pending.nonce.clone(),
            dcql_query: verifier::request::dcql_for_policy(&verifier.policy),
            response_mode: verifier::request::ResponseMode::Shown,
            state: None,
        };
        let checked = match answer::verify_answer(&verifier, &answer, &request, now) {
            Ok(checked) => checked,
            Err(e) => return Ok(reject(args, e.code(), &e.to_string())),
        };
        // An answer whose SD-JWT or KB-JWT checks failed may come from anyone who saw the QR
        // code: it leaves the request open. Past those checks the holder answered; the nonce
        // is used up whatever the policy says, and only one process can use it up.
        let (results, holder_answered) = (checked.results, checked.holder_answered);
        if holder_answered && !state.consume(&pending.nonce)? {
            return Ok(reject(args, UNKNOWN, unknown));
        }
        for r in &results {
            if let Err(e) = r {
                if args.json {
                    let mut out = rejected_json(e);
                    out["profile"] = serde_json::json!(pending.profile);
                    println!("{out}");
                }
                eprintln!("rejected: {}: {e}", e.code());
                return Ok(Outcome::Rejected);
            }
        }
        for v in results.iter().flatten() {
            if args.json {
                let mut out = accepted_json(v);
                out["profile"] = serde_json::json!(pending.profile);
                println!("{out}");
            } else {
                println!("profile: {}", pending.profile);
                print_human(v);
            }
        }
        Ok(Outcome::Accepted)
    }
}

pub(crate) fn accepted_json(v: &VerifiedPresentation) -> Value {
    json!({
        "accepted": true,
        "issuer": v.issuer,
        "type": v.credential_type,
        "level": v.level.map(|l| l.as_str()),
        "format": v.format,
        "status": v.status,
        "holder_key": v.holder_key.as_ref().map(|k| k.to_bare_value()),
        "key_binding": v.key_binding.as_ref().map(|kb| json!({"nonce": kb.nonce, "aud": kb.aud, "iat": kb.iat})),
        "disclosed": v.disclosed.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "claims": v.claims,
    })
}

fn rejected_json(e: &VerifierError) -> Value {
    let mut v = json!({"accepted": false, "error": e.code(), "message": e.to_string()});
    if let Some(h) = hint(e) {
        v["hint"] = json!(h);
    }
    v
}

/// What the operator can do about a rejection caused by local state rather than by the
/// credential.
fn hint(e: &VerifierError) -> Option<&'static str> {
    match e.code() {
        "unknown_issuer_key" => {
            Some("the verifier does not know this issuer key; it may be new: run `verifier sync`")
        }
        "status_too_old" | "status_list_expired" | "status_unknown" => {
            Some("revocation state too old or missing; sync the verifier")
        }
        "issuer_key_withdrawn" => Some(
            "the bureau withdrew the key that signed this credential; the holder needs a new one",
        ),
        "credential_outlives_key" => {
            Some("no credential of this retired key expires this late: treat it as forged")
        }
        "status_reference_missing" | "status_reference_missing_not_short_lived" => {
            Some("this credential can never be revoked, and this policy requires that it can")
        }
        _ => None,
    }
}

fn print_human(v: &VerifiedPresentation) {
    println!("accepted");
    println!("  issuer:  {}", v.issuer);
    if let Some(t) = &v.credential_type {
        println!("  type:    {t}");
    }
    if let Some(level) = v.level {
        println!("  level:   {}", level.as_str());
    }
    let status = match &v.status {
        verifier::StatusOutcome::Valid { idx, .. } => format!("valid (index {idx})"),
        verifier::StatusOutcome::NoStatus => "no status list referenced".into(),
        verifier::StatusOutcome::Unchecked { uri } => format!("not checked (no list for {uri})"),
        _ => "unknown".into(),
    };
    println!("  status:  {status}");
    println!("  disclosed claims:");
    let claims = Value::Object(v.claims.clone());
    for path in &v.disclosed {
        let values = path.lookup(&claims);
        let shown = values
            .first()
            .map(|v| match v {
                Value::String(s) if s.chars().count() > 60 => {
                    format!(
                        "{}… ({} chars)",
                        s.chars().take(40).collect::<String>(),
                        s.chars().count()
                    )
                }
                Value::String(s) => s.clone(),
                Value::Object(_) => "{…}".into(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        println!("    {path}: {shown}");
    }
}
