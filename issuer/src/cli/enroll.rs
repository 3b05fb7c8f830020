use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde::Deserialize;

use credential::citizen::Level;
use issuer::domain::Role;
use issuer::service::{Issuer, Officer};

use super::{cli_actor, DataArg};

/// Enrol one citizen, or a batch, and print the credential offer and its tx_code.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer enroll --data ./issuer-data --level high --claims citizen.json\n  issuer enroll --data ./issuer-data --level basic --claims citizen.json --attestation face.jws --json\n  issuer enroll --data ./issuer-data --new-nonce        # nonce for a face-match attestation\n  issuer enroll --data ./issuer-data --batch citizens.jsonl > offers.jsonl\n\nA batch line is {\"level\": \"basic\"|\"high\", \"claims\": {...}, \"attestation\": \"...\"}; each\nsuccess prints one JSON line with offer_uri and tx_code; failures are summarised on stderr."
)]
pub struct EnrollArgs {
    #[command(flatten)]
    data: DataArg,
    /// basic (needs --attestation) or high (in person).
    #[arg(long, value_parser = ["basic", "high"], required_unless_present_any = ["batch", "new_nonce"])]
    level: Option<String>,
    /// JSON file with the citizen's claims.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["batch", "new_nonce"])]
    claims: Option<PathBuf>,
    /// Compact JWS face-match attestation (basic level).
    #[arg(long, value_name = "FILE")]
    attestation: Option<PathBuf>,
    /// JSONL file of enrolments.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["level", "claims", "attestation"])]
    batch: Option<PathBuf>,
    /// Print a fresh attestation nonce and exit.
    #[arg(long, conflicts_with_all = ["level", "claims", "attestation", "batch"])]
    new_nonce: bool,
    /// Print JSON instead of text and a QR code.
    #[arg(long)]
    json: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLine {
    level: String,
    claims: serde_json::Value,
    attestation: Option<String>,
}

async fn enrol_one(
    issuer: &Issuer,
    officer: &Officer,
    level: Level,
    claims: &serde_json::Value,
    attestation: Option<&str>,
) -> anyhow::Result<issuer::service::enrol::Offer> {
    Ok(match level {
        Level::Basic => {
            let att =
                attestation.ok_or_else(|| anyhow::anyhow!("basic level needs an attestation"))?;
            issuer.enrol_basic(officer, claims, att).await?
        }
        Level::High => issuer.enrol_high(officer, claims).await?,
        _ => anyhow::bail!("level not supported"),
    })
}

pub async fn run(args: EnrollArgs) -> anyhow::Result<()> {
    let issuer = args.data.open().await?;
    let r = run_with(&issuer, args).await;
    issuer.close();
    r
}

async fn run_with(issuer: &Issuer, args: EnrollArgs) -> anyhow::Result<()> {
    let officer = Officer {
        id: cli_actor(),
        role: Role::Admin,
    };
    if args.new_nonce {
        let (nonce, expires_in) = issuer.attestation_nonce().await?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"nonce": nonce, "expires_in": expires_in})
            );
        } else {
            println!("{nonce}");
        }
        return Ok(());
    }
    if let Some(batch) = args.batch {
        return run_batch(issuer, &officer, &batch).await;
    }
    let level = args
        .level
        .as_deref()
        .and_then(|l| Level::parse(l).ok())
        .ok_or_else(|| anyhow::anyhow!("--level is required"))?;
    let path = args
        .claims
        .ok_or_else(|| anyhow::anyhow!("--claims is required"))?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let claims: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid claims json", path.display()))?;
    let attestation = match &args.attestation {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let offer = enrol_one(issuer, &officer, level, &claims, attestation.as_deref()).await?;
    if args.json {
        println!("{}", offer.answer());
    } else {
        if let Ok(qr) = issuer::qr::terminal(&offer.offer_uri) {
            println!("{qr}");
        }
        println!("offer_uri: {}", offer.offer_uri);
        println!("credential_offer_uri: {}", offer.offer_uri_by_reference);
        println!(
            "tx_code (send on another channel): {}",
            *offer.tx_code.expose()
        );
        println!("expires_at: {}", offer.expires_at);
    }
    Ok(())
}

async fn run_batch(issuer: &Issuer, officer: &Officer, path: &PathBuf) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<(usize, String)> = lines
        .into_iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let bar = indicatif::ProgressBar::new(lines.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} enrolled {elapsed} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut ok = 0usize;
    let mut failures = Vec::new();
    let mut out = std::io::stdout().lock();
    for (n, line) in lines {
        let result = match serde_json::from_str::<BatchLine>(&line) {
            Err(e) => Err(anyhow::anyhow!(
                "not a valid enrolment line: {}",
                issuer::server::json_problem(&e)
            )),
            Ok(b) => match Level::parse(&b.level).ok() {
                None => Err(anyhow::anyhow!("level must be basic or high")),
                Some(level) => {
                    enrol_one(issuer, officer, level, &b.claims, b.attestation.as_deref()).await
                }
            },
        };
        match result {
            Ok(offer) => {
                let mut answer = offer.answer();
                answer["line"] = serde_json::json!(n + 1);
                writeln!(out, "{answer}")?;
                ok += 1;
            }
            Err(e) => failures.push((n + 1, e.to_string())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!("enrolled {ok}, failed {}", failures.len());
    for (line, reason) in &failures {
        eprintln!("line {line}: {reason}");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {} enrolments failed",
            failures.len(),
            ok + failures.len()
        )
    }
}
