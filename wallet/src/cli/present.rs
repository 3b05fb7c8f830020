//! `wallet present`: answer an OpenID4VP request from the store (after consent), or, with
//! `--credential`, the stateless form (credential file + holder key → presentation).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;
use std::process::ExitCode;

use credential::jose::SigningKey;
use credential::sd_jwt::ClaimPath;
use serde_json::json;
use wallet::consent::ConsentSummary;
use wallet::dcql::Unmet;
use wallet::{Preparation, PresentationError, ResponseMode, Reuse};

use super::{finish, http, now, open, qr, read_input, runtime, short_value, DataDir, Failure};

/// Answer a presentation request: shows who asks and exactly which claims would be disclosed,
/// asks y/N (unless --yes), then posts the answer (direct_post) or prints it with a QR code
/// (offline). Each answer uses a copy never shown before when one is left.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  wallet present 'openid4vp://?client_id=...&nonce=...&response_type=vp_token&dcql_query=...'\n  wallet present \"$REQUEST\" --yes --png answer.png\n\n\
Stateless form (no store):\n  wallet present --credential cred.txt --holder-key holder.jwk \\\n      --disclose given_name,family_name,id_number --nonce n-8f2c --aud https://hotel.example\n\n\
Claim paths of the stateless form are dotted: address.locality, age_equal_or_over.18; for the\n\
W3C form prefix credentialSubject. (credentialSubject.given_name).\n\n\
Exit codes: 0 answered, 1 refused (declined, cannot satisfy, verifier rejected), 2 could not run."
)]
pub struct Args {
    /// The `openid4vp://` request (by value, or with `request_uri` pointing to a signed request
    /// object). `request_uri` and `response_uri` must be https (plain http only on loopback);
    /// requests with `transaction_data` are refused.
    request: Option<String>,
    /// Consent without asking (for scripts).
    #[arg(long)]
    yes: bool,
    /// Also write the offline answer's QR code as a PNG.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// When every copy was shown before, reuse one (verifiers could link the answers).
    #[arg(long, conflicts_with = "refresh")]
    allow_reuse: bool,
    /// When every copy was shown before, first ask the issuer for a fresh batch (as
    /// `wallet refresh`), then answer with a new copy.
    #[arg(long)]
    refresh: bool,
    /// Print JSON (consent summary and answer) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataDir,
    /// Stateless form: the credential as issued (`<jwt>~<disclosures>~`), a file or `-`.
    #[arg(long, value_name = "FILE")]
    credential: Option<String>,
    /// Stateless form: the holder's private JWK.
    #[arg(long, value_name = "JWK")]
    holder_key: Option<String>,
    /// Stateless form: claims to disclose, comma-separated dotted paths.
    #[arg(long, value_delimiter = ',')]
    disclose: Vec<String>,
    /// Stateless form: the verifier's nonce.
    #[arg(long)]
    nonce: Option<String>,
    /// Stateless form: the verifier's audience (client id).
    #[arg(long)]
    aud: Option<String>,
    /// Stateless form: KB-JWT issuance time (Unix seconds); default now.
    #[arg(long)]
    iat: Option<i64>,
}

pub fn run(args: Args) -> ExitCode {
    if args.credential.is_some() {
        return run_stateless(args);
    }
    finish(run_request(args))
}

fn print_consent(c: &ConsentSummary) {
    match &c.client_identity {
        wallet::ClientIdentity::Did {
            did,
            key_thumbprint,
        } => eprintln!(
            "{} asks for (signed request, verified: key {key_thumbprint} of {}):",
            c.client_id,
            if did.len() > 40 { &did[..40] } else { did }
        ),
        wallet::ClientIdentity::RedirectUri { uri } => {
            eprintln!("{uri} asks for (unsigned; the answer goes to that address):")
        }
        _ => eprintln!(
            "{} asks for (unsigned request: the name is not verified):",
            c.asker
        ),
    }
    for item in &c.items {
        eprintln!(
            "  your {} credential ({}, level {}){}",
            item.credential_type,
            item.format,
            item.level.map(|l| l.as_str()).unwrap_or("-"),
            item.purpose
                .as_deref()
                .map(|p| format!(" — purpose: {p}"))
                .unwrap_or_default()
        );
        for claim in &item.claims {
            let label = match (&claim.label, &claim.label_zh) {
                (Some(en), Some(zh)) => format!("{en} / {zh}"),
                _ => claim.path.clone(),
            };
            eprintln!("    - {label:<30} {}", short_value(&claim.value));
        }
        if !item.holder_binding {
            eprintln!("    warning: the verifier asked for an answer without holder binding (no KB-JWT): whoever receives it could show it elsewhere");
        }
        if item.issuer_trust_unchecked {
            eprintln!("    note: the verifier accepts only issuers on trust lists this wallet cannot check offline; it may refuse this credential");
        }
        if item.claims.is_empty() {
            eprintln!("    (no personal claim; only the credential type and level)");
        }
        if item.unused_copies == 0 {
            eprintln!(
                "    note: all {} copies of batch {} were shown before; {}",
                item.copies,
                item.batch_id,
                if item.refreshable {
                    "--refresh gets a fresh batch from the issuer first (--allow-reuse would reuse one)"
                } else {
                    "it cannot be refreshed (no refresh token); --allow-reuse would reuse one"
                }
            );
        }
    }
    match &c.response_uri {
        Some(uri) => eprintln!("the answer is sent to {uri}"),
        None => eprintln!("the answer is shown as a QR code (offline)"),
    }
}

fn ask() -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Refused(
            "no consent: stdin is not a terminal (pass --yes to consent)".into(),
        ));
    }
    yes_or_no("share these claims? [y/N] ")
}

/// Asks whether to refresh exhausted batches (interactive `present` without `--refresh`).
fn ask_refresh() -> Result<bool, Failure> {
    yes_or_no(
        "every copy of a requested credential was shown before; ask its issuer for a fresh batch \
         now (new keys; nothing is shared with the verifier yet)? [y/N] ",
    )
}

/// Prints `question` on stderr and reads one answer line from stdin: yes is `y`, `Y` or `yes`.
fn yes_or_no(question: &str) -> Result<bool, Failure> {
    eprint!("{question}");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(anyhow::Error::from)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn unmet_line(u: &Unmet) -> String {
    match u {
        Unmet::MissingClaims { query_id, claims } => {
            format!("{query_id}: your credential has no {}", claims.join(", "))
        }
        Unmet::NoCredentialOfType {
            query_id,
            format,
            types,
        } => format!(
            "{query_id}: no {format} credential of type {}",
            if types.is_empty() {
                "(any)".to_owned()
            } else {
                types.join(" or ")
            }
        ),
        Unmet::NoTrustedIssuer { query_id } => {
            format!("{query_id}: no credential from an issuer the verifier trusts (trusted_authorities)")
        }
        _ => format!("{u:?}"),
    }
}

fn run_request(args: Args) -> Result<(), Failure> {
    let request_text = args
        .request
        .clone()
        .ok_or_else(|| anyhow::anyhow!("give a REQUEST, or --credential for the stateless form"))?;
    let mut store = open(&args.data)?;
    let http = http()?;
    let rt = runtime()?;
    let request = rt
        .block_on(wallet::resolve_request(&http, &request_text))
        .map_err(|e| Failure::CouldNotRun(e.into()))?;
    let mut prepared = prepare(&store, &request, args.json)?;
    let exhausted_refreshable = prepared.consent.exhausted().iter().all(|i| i.refreshable);
    let refresh = prepared.consent.needs_reuse()
        && (args.refresh
            || (!args.allow_reuse
                && !args.yes
                && exhausted_refreshable
                && std::io::stdin().is_terminal()
                && ask_refresh()?));
    if refresh {
        let exhausted: Vec<String> = prepared
            .consent
            .exhausted()
            .iter()
            .map(|i| i.batch_id.clone())
            .collect();
        for batch_id in exhausted {
            eprintln!(
                "every copy of batch {batch_id} was shown; asking its issuer for a fresh batch"
            );
            let done = super::refresh::refresh_batch(
                &mut store,
                &batch_id,
                wallet::receive::DEFAULT_COPIES,
            )?;
            eprintln!(
                "refreshed {batch_id}: {} new copies, all verified",
                done.copies
            );
        }
        prepared = prepare(&store, &request, args.json)?;
    }
    if !args.json || !args.yes {
        print_consent(&prepared.consent);
    }
    if prepared.consent.needs_reuse() && !args.allow_reuse {
        return Err(Failure::Refused(
            "every copy of a requested credential was shown before; pass --refresh for a fresh batch from the issuer (or run wallet refresh BATCH_ID), or --allow-reuse".into(),
        ));
    }
    if !args.yes && !ask()? {
        return Err(Failure::Refused("declined; nothing was sent".into()));
    }
    let reuse = if args.allow_reuse {
        Reuse::Allow
    } else {
        Reuse::Refuse
    };
    let answer = wallet::answer(&mut store, &prepared, reuse, now()).map_err(|e| match e {
        PresentationError::AllCopiesShown { .. } => Failure::Refused(e.to_string()),
        other => Failure::CouldNotRun(other.into()),
    })?;
    deliver(&args, &http, &rt, &prepared, &answer)
}

fn prepare(
    store: &wallet::Store,
    request: &wallet::AuthorizationRequest,
    json_out: bool,
) -> Result<Box<wallet::Prepared>, Failure> {
    match wallet::prepare(store, request).map_err(anyhow::Error::from)? {
        Preparation::Ready(p) => Ok(p),
        Preparation::CannotSatisfy { client_id, unmet } => {
            if json_out {
                let report = wallet_core::report::CannotSatisfyReport {
                    client_id: &client_id,
                    cannot_satisfy: &unmet,
                };
                println!("{}", json!(report));
            }
            let lines: Vec<String> = unmet.iter().map(unmet_line).collect();
            Err(Failure::Refused(format!(
                "cannot satisfy {client_id}: {}",
                lines.join("; ")
            )))
        }
        _ => Err(Failure::CouldNotRun(anyhow::anyhow!("unknown preparation"))),
    }
}

fn deliver(
    args: &Args,
    http: &reqwest::Client,
    rt: &tokio::runtime::Runtime,
    prepared: &wallet::Prepared,
    answer: &wallet::Answer,
) -> Result<(), Failure> {
    match &answer.response_mode {
        ResponseMode::DirectPost { response_uri } => {
            let outcome = rt
                .block_on(wallet::send(http, answer))
                .map_err(|e| match e {
                    PresentationError::Rejected { .. } => Failure::Refused(e.to_string()),
                    other => Failure::CouldNotRun(other.into()),
                })?;
            if args.json {
                let report = wallet_core::report::SentReport::new(
                    &prepared.consent,
                    response_uri,
                    &outcome,
                    answer,
                );
                println!("{}", json!(report));
            } else {
                println!("sent to {response_uri} (http {})", outcome.status);
                if let Some(r) = outcome.redirect_uri {
                    println!("continue at {r}");
                }
            }
        }
        _ => {
            let text = answer.to_text();
            let version = qr::version(&text).ok();
            if let Some(path) = &args.png {
                std::fs::write(path, qr::png(&text)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
            if args.json {
                let report =
                    wallet_core::report::OfflineReport::new(&prepared.consent, answer, |_| version);
                println!("{}", json!(report));
            } else {
                if let Ok(code) = qr::terminal(&text) {
                    eprintln!("{code}");
                }
                eprintln!(
                    "answer: {} bytes{}",
                    text.len(),
                    version
                        .map(|v| format!(", qr version {v}"))
                        .unwrap_or_default()
                );
                println!("{text}");
            }
        }
    }
    Ok(())
}

fn run_stateless(args: Args) -> ExitCode {
    let (Some(cred), Some(key_file), Some(nonce), Some(aud)) =
        (&args.credential, &args.holder_key, &args.nonce, &args.aud)
    else {
        eprintln!("error: the stateless form needs --credential, --holder-key, --disclose, --nonce and --aud");
        return ExitCode::from(super::COULD_NOT_RUN);
    };
    if args.disclose.is_empty() {
        eprintln!("error: --disclose is required with --credential");
        return ExitCode::from(super::COULD_NOT_RUN);
    }
    let (credential, key) = match (read_input(cred), read_input(key_file)) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::COULD_NOT_RUN);
        }
    };
    let key = match SigningKey::from_private_jwk(key.trim()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {key_file}: {e}");
            return ExitCode::from(super::COULD_NOT_RUN);
        }
    };
    let paths: Vec<ClaimPath> = args
        .disclose
        .iter()
        .map(|s| ClaimPath::parse_dotted(s.trim()))
        .collect();
    let iat = args.iat.unwrap_or_else(now);
    match wallet::present(credential.trim(), &key, &paths, nonce, aud, iat) {
        Ok(p) => {
            println!("{p}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("refused: {e}");
            ExitCode::from(super::REFUSED)
        }
    }
}
