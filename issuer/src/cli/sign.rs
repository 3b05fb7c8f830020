//! `issuer sign`: offline signing of one credential from a claims file, for key ceremonies,
//! air-gapped issuance and interoperability tests. Needs no data directory and no server.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{PublicJwk, SigningKey};
use credential::status_list::StatusReference;

/// Sign a citizen-ID credential offline and print it (`<jwt>~<disclosures>~`).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer sign --key issuer.jwk --holder-jwk holder.pub.jwk \\\n      --claims examples/claims/citizen-basic.json --type basic \\\n      --status-uri https://bureau.example.cn/status/0 --status-idx 98304 > credential.txt\n\n\
Without --status-uri the credential carries no status reference: it can never be revoked or\n\
suspended, so it is short-lived: --days defaults to 3 and may not exceed 3 (72 hours, what a\n\
relying-party profile with accept_short_lived_without_status accepts; the bank profile accepts\n\
none). With a status reference --days defaults to 365. Either way stderr says what was made:\n\
the status reference (or its absence) and the validity."
)]
pub struct SignArgs {
    /// The issuer's private JWK (ES256 or EdDSA).
    #[arg(long, value_name = "ISSUER_JWK")]
    key: PathBuf,
    /// The holder's public JWK (becomes `cnf.jwk`). A private JWK is refused.
    #[arg(long, value_name = "HOLDER_JWK")]
    holder_jwk: PathBuf,
    /// The citizen's claims (JSON, the enrolment format of examples/claims/).
    #[arg(long, value_name = "FILE")]
    claims: PathBuf,
    /// Assurance level.
    #[arg(long = "type", value_enum)]
    level: LevelArg,
    /// Credential form.
    #[arg(long, value_enum, default_value = "dc+sd-jwt")]
    format: FormatArg,
    /// Issuer identifier (`iss`).
    #[arg(long, default_value = "https://bureau.example.cn")]
    issuer: String,
    /// Status list URI (with --status-idx).
    #[arg(long, requires = "status_idx")]
    status_uri: Option<String>,
    /// Index in the status list (with --status-uri).
    #[arg(long, requires = "status_uri")]
    status_idx: Option<u64>,
    /// Validity in days (`iat` and `exp` fall on day boundaries). Default 365 with a status
    /// reference; without one 3, and at most 3 (such a credential can never be revoked).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: Option<u32>,
}

/// The longest validity, in days, of a credential signed without a status reference: 72 hours,
/// what a relying party accepts without one (`accept_short_lived_without_status`).
pub const MAX_DAYS_WITHOUT_STATUS: u32 = 3;

/// The default validity, in days, of a credential with a status reference.
pub const DEFAULT_DAYS_WITH_STATUS: u32 = 365;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LevelArg {
    Basic,
    High,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    #[value(name = "dc+sd-jwt")]
    Dc,
    #[value(name = "vc+sd-jwt")]
    Vc,
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        meta.len() <= 1 << 20,
        "{} is larger than 1 MiB",
        path.display()
    );
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub async fn run(args: SignArgs) -> anyhow::Result<()> {
    let key = SigningKey::from_private_jwk(read(&args.key)?.trim())
        .with_context(|| format!("{}", args.key.display()))?;
    let holder = PublicJwk::from_json(read(&args.holder_jwk)?.trim())
        .with_context(|| format!("{}", args.holder_jwk.display()))?;
    let level = match args.level {
        LevelArg::Basic => Level::Basic,
        LevelArg::High => Level::High,
    };
    let claims = CitizenClaims::from_json(&read(&args.claims)?, level)
        .with_context(|| format!("{}", args.claims.display()))?;
    let status = match (args.status_uri, args.status_idx) {
        (Some(uri), Some(idx)) => Some(StatusReference { idx, uri }),
        _ => None,
    };
    let days = match (&status, args.days) {
        (Some(_), days) => days.unwrap_or(DEFAULT_DAYS_WITH_STATUS),
        (None, None) => MAX_DAYS_WITHOUT_STATUS,
        (None, Some(days)) if days <= MAX_DAYS_WITHOUT_STATUS => days,
        (None, Some(days)) => anyhow::bail!(
            "--days {days} without --status-uri: a credential without a status reference can never be revoked, so it may be valid for at most {MAX_DAYS_WITHOUT_STATUS} days; give --status-uri and --status-idx for a longer one"
        ),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let request = IssueRequest {
        claims: &claims,
        level,
        format: match args.format {
            FormatArg::Dc => Format::DcSdJwt,
            FormatArg::Vc => Format::VcSdJwt,
        },
        issuer: &args.issuer,
        holder: &holder,
        status: status.as_ref(),
        issued_at: now,
        expires_at: now + i64::from(days) * 86_400,
    };
    let credential = issue(&request, &key, &mut rand_core::OsRng)?;
    // `issue` puts both times on day boundaries: report what the credential says.
    let (iat, exp) = (
        request.issued_at - request.issued_at.rem_euclid(86_400),
        request.expires_at - request.expires_at.rem_euclid(86_400),
    );
    let validity = format!(
        "valid from {} until {} ({} hours)",
        day(iat),
        day(exp),
        (exp - iat) / 3_600
    );
    match &status {
        Some(s) => eprintln!(
            "signed: status reference {} index {}; {validity}",
            s.uri, s.idx
        ),
        None => eprintln!(
            "signed: no status reference: this credential can never be revoked or suspended; {validity}"
        ),
    }
    println!("{credential}");
    Ok(())
}

/// A day boundary as `YYYY-MM-DDT00:00:00Z`.
fn day(t: i64) -> String {
    credential::timestamp::rfc3339(t).unwrap_or_else(|| t.to_string())
}
