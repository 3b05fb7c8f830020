//! `verifier verify`.

use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{json, Value};
use verifier::{Policy, StatusStore, TrustStore, VerifiedPresentation, Verifier, VerifierError};

use super::{now, parse_time, read_input, Outcome};

/// Verify a presentation against local trust material, status lists and policy.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  verifier verify --trust did-docs/did.json --status status-0.jwt \\\n      --nonce n-8f2c --aud https://hotel.example presentation.txt\n\n\
Exit codes: 0 accepted, 1 rejected (stderr names the failed check), 2 could not run."
)]
pub struct Args {
    /// Trusted issuer keys: a JWK, a JWKS, JWT VC issuer metadata or a DID document (repeatable).
    #[arg(
        long,
        required_unless_present = "state",
        conflicts_with = "state",
        value_name = "FILE"
    )]
    trust: Vec<PathBuf>,
    /// Use only the local trust state synced with `verifier sync` (issuer keys and status
    /// lists from the trust bundle).
    #[arg(long, value_name = "DIR", conflicts_with = "status")]
    state: Option<PathBuf>,
    /// Status-list tokens (`statuslist+jwt`) to check revocation against (repeatable).
    #[arg(long, value_name = "FILE")]
    status: Vec<PathBuf>,
    /// Relying-party policy (TOML). Default: both citizen-ID types, key binding required.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The nonce this verifier issued for the presentation.
    #[arg(long, required_unless_present = "batch")]
    nonce: Option<String>,
    /// This verifier's audience (client id).
    #[arg(long, required_unless_present = "batch")]
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
    /// Verify a file of JSON lines {"presentation", "nonce", "aud"}, one result per line.
    #[arg(long, value_name = "FILE", conflicts_with = "presentation")]
    batch: Option<PathBuf>,
    /// The presentation: a file, `-` for standard input, or the presentation text itself.
    #[arg(required_unless_present = "batch")]
    presentation: Option<String>,
}

pub fn run(args: Args) -> Outcome {
    match build(&args) {
        Ok(verifier) => {
            let now = args.now.unwrap_or_else(now);
            match &args.batch {
                Some(file) => batch(&verifier, file, now),
                None => single(&verifier, &args, now),
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
    if let Some(dir) = &args.state {
        let state = super::state::State::new(dir);
        let root = state.root()?;
        let bundle = state.bundle(&root)?.ok_or_else(|| {
            anyhow::anyhow!(
                "no trust bundle in {}; run `verifier sync ISSUER_URL` first",
                dir.display()
            )
        })?;
        return Ok(Verifier::new(
            bundle.trust_store(),
            bundle.status_store(),
            policy,
        ));
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
    let (Some(input), Some(nonce), Some(aud)) = (&args.presentation, &args.nonce, &args.aud) else {
        eprintln!("error: a presentation, --nonce and --aud are required");
        return Outcome::CouldNotRun;
    };
    let text = if input == "-" || std::path::Path::new(input).is_file() {
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

fn batch(verifier: &Verifier, file: &std::path::Path, now: i64) -> Outcome {
    let text = match read_input(&file.to_string_lossy()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let results: Vec<(bool, String)> = lines
        .par_iter()
        .enumerate()
        .map(|(i, line)| {
            let item: Result<Value, _> = serde_json::from_str(line);
            let fields = item.ok().and_then(|v| {
                Some((
                    v.get("presentation")?.as_str()?.to_owned(),
                    v.get("nonce")?.as_str()?.to_owned(),
                    v.get("aud")?.as_str()?.to_owned(),
                ))
            });
            let Some((presentation, nonce, aud)) = fields else {
                let out = json!({"line": i + 1, "accepted": false, "error": "malformed_batch_line",
                    "message": "expected {\"presentation\", \"nonce\", \"aud\"}"});
                return (false, out.to_string());
            };
            match verifier.verify(&presentation, &nonce, &aud, now) {
                Ok(v) => {
                    let mut out = accepted_json(&v);
                    out["line"] = json!(i + 1);
                    (true, out.to_string())
                }
                Err(e) => {
                    let mut out = rejected_json(&e);
                    out["line"] = json!(i + 1);
                    (false, out.to_string())
                }
            }
        })
        .collect();
    let mut rejected = 0usize;
    for (ok, line) in &results {
        println!("{line}");
        if !ok {
            rejected += 1;
        }
    }
    if rejected > 0 {
        eprintln!("rejected: {rejected} of {} presentations", results.len());
        Outcome::Rejected
    } else {
        Outcome::Accepted
    }
}

fn accepted_json(v: &VerifiedPresentation) -> Value {
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
