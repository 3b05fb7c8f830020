//! Subcommands, one file each: an args struct and a `run`.

mod args;
mod audit;
mod bench;
mod did_doc;
mod enroll;
mod keygen;
mod keys;
mod officers;
mod platforms;
mod roster;
mod serve;
mod sign;
mod status;
mod sweep;
mod trust_bundle;

use clap::{Parser, Subcommand};

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
