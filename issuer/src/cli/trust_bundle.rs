use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::args::DataArg;

/// Write the root-signed trust bundle (keys with validity windows, latest status lists), or
/// with `--delta-since` the root-signed delta from a bundle's `status_seq`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer trust-bundle --data ./issuer-data --out trust-bundle.jwt --root-jwk root.jwk\n  issuer trust-bundle --data ./issuer-data --delta-since 41234 --out delta.jwt\n\n\
The delta carries every status change after the base's status_seq (shown by `verifier trust show`).\n\
It fails with delta_base_unknown when that base is unknown or too old: ship the full bundle then."
)]
pub struct TrustBundleArgs {
    #[command(flatten)]
    data: DataArg,
    /// Output file [default: stdout].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the root's public JWK here (what verifiers pin with `verifier trust pin`).
    #[arg(long, value_name = "FILE")]
    root_jwk: Option<PathBuf>,
    /// Write the delta since this `status_seq` instead of the full bundle.
    #[arg(long, value_name = "SEQ")]
    delta_since: Option<i64>,
}

pub async fn run(args: TrustBundleArgs) -> anyhow::Result<()> {
    let issuer = args.data.open().await?;
    if let Some(path) = &args.root_jwk {
        let jwk = issuer.keys.root().public_jwk().to_bare_value();
        std::fs::write(path, format!("{jwk}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("root key fingerprint: {}", issuer.root_fingerprint());
    }
    let r = match args.delta_since {
        Some(since) => issuer.trust_bundle_delta(since).await,
        None => issuer.trust_bundle().await,
    };
    issuer.close();
    let bundle = r?;
    match args.out {
        Some(path) => std::fs::write(&path, format!("{bundle}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{bundle}"),
    }
    Ok(())
}
