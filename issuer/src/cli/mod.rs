//! Subcommands, one file each: an args struct and a `run`.

mod audit;
mod bench;
mod did_doc;
mod enroll;
mod keygen;
mod keys;
mod officers;
mod platforms;
mod serve;
mod sign;
mod status;
mod sweep;
mod trust_bundle;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use issuer::config::{self, Overrides};
use issuer::Issuer;

/// The bureau's citizen-ID issuer.
#[derive(Debug, Parser)]
#[command(
    name = "issuer",
    version,
    about,
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error.\nExample:\n  issuer serve --data /var/lib/issuer --public-url https://id.example.cn"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service.
    ///
    /// Slow or greedy clients are bounded by DATA/issuer.toml: header_read_timeout (10 s),
    /// body_read_timeout (30 s), body_limit (256 KiB), max_connections (512) and
    /// max_connections_per_ip (64); a connection beyond a cap is closed at once.
    Serve(serve::ServeArgs),
    /// Manage officers and their API tokens.
    Officers(officers::OfficersArgs),
    /// Manage messaging platforms whose face-match attestations are trusted.
    Platforms(platforms::PlatformsArgs),
    /// Enrol a citizen (or a JSONL batch) and print the credential offer and tx_code.
    Enroll(enroll::EnrollArgs),
    /// Revoke a credential (every copy of its batch) or all of a citizen's credentials.
    Revoke(status::StatusArgs),
    /// Suspend a credential (every copy of its batch) or all of a citizen's credentials.
    Suspend(status::StatusArgs),
    /// Reinstate a suspended credential (every copy of its batch) or a citizen's credentials.
    Reinstate(status::StatusArgs),
    /// Lift a revoked citizen's hold so they can be enrolled again (admin decision, audited).
    LiftHold(status::LiftHoldArgs),
    /// List or rotate signing keys.
    Keys(keys::KeysArgs),
    /// Write the root-signed trust bundle.
    TrustBundle(trust_bundle::TrustBundleArgs),
    /// Write the did:web DID document.
    DidDoc(did_doc::DidDocArgs),
    /// Load-test a running issuer with complete OpenID4VCI flows.
    Bench(bench::BenchArgs),
    /// Sign one credential offline from a claims file and a holder key (no data directory).
    Sign(sign::SignArgs),
    /// Generate a signing key for offline signing (private JWK to --out, public to --public-out or stdout).
    Keygen(keygen::KeygenArgs),
    /// Delete expired nonces, proofs, tokens, offers and old status-change log rows once.
    Sweep(sweep::SweepArgs),
    /// List the audit trail (filters by time, event prefix and actor; text or JSON lines).
    Audit(audit::AuditArgs),
}

/// `--alg es256|eddsa` (any case: ES256 and EdDSA are accepted too), the one spelling of the
/// algorithm flag in every command and binary.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AlgArg {
    /// P-256 ECDSA (ES256).
    Es256,
    /// Ed25519 (EdDSA).
    Eddsa,
}

impl AlgArg {
    /// The JOSE algorithm.
    pub fn alg(self) -> credential::jose::Alg {
        match self {
            AlgArg::Es256 => credential::jose::Alg::Es256,
            AlgArg::Eddsa => credential::jose::Alg::EdDsa,
        }
    }
}

/// `--data DIR`, shared by the commands that open the data directory.
#[derive(Debug, Clone, Args)]
pub struct DataArg {
    /// Data directory of an existing bureau (database, keys, issuer.toml); refused if missing.
    /// Default: $ISSUER_DATA or ./issuer-data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

impl DataArg {
    /// Opens the issuer on the data directory with the file and environment configuration
    /// (SQLite there, or the PostgreSQL `database_url` it names). A directory that does not
    /// exist is refused ([`config::ConfigError::NoDataDir`]): only `serve` creates a bureau.
    async fn open(&self) -> anyhow::Result<Arc<Issuer>> {
        let dir = config::data_dir(self.data.clone());
        config::require_data_dir(&dir)?;
        let cfg = config::load(&dir, &Overrides::default())?;
        Ok(Issuer::connect(cfg).await?)
    }
}

/// The audit actor for commands run by hand.
fn cli_actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    use issuer::domain::StatusAction;
    match cli.command {
        Command::Serve(a) => serve::run(a).await,
        Command::Officers(a) => officers::run(a).await,
        Command::Platforms(a) => platforms::run(a).await,
        Command::Enroll(a) => enroll::run(a).await,
        Command::Revoke(a) => status::run(a, StatusAction::Revoke).await,
        Command::Suspend(a) => status::run(a, StatusAction::Suspend).await,
        Command::Reinstate(a) => status::run(a, StatusAction::Reinstate).await,
        Command::LiftHold(a) => status::lift_hold(a).await,
        Command::Keys(a) => keys::run(a).await,
        Command::TrustBundle(a) => trust_bundle::run(a).await,
        Command::DidDoc(a) => did_doc::run(a).await,
        Command::Bench(a) => bench::run(a).await,
        Command::Sign(a) => sign::run(a).await,
        Command::Keygen(a) => keygen::run(a).await,
        Command::Sweep(a) => sweep::run(a).await,
        Command::Audit(a) => audit::run(a).await,
    }
}
