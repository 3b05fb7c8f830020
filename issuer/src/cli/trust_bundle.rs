use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::DataArg;

/// Write the root-signed trust bundle (keys with validity windows, latest status lists).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer trust-bundle --data ./issuer-data --out trust-bundle.jwt --root-jwk root.jwk"
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
}

pub async fn run(args: TrustBundleArgs) -> anyhow::Result<()> {
    let issuer = args.data.open().await?;
    if let Some(path) = &args.root_jwk {
        let jwk = issuer.keys.root().public_jwk().to_bare_value();
        std::fs::write(path, format!("{jwk}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("root key fingerprint: {}", issuer.root_fingerprint());
    }
    let r = issuer.trust_bundle().await;
    issuer.close();
    let bundle = r?;
    match args.out {
        Some(path) => std::fs::write(&path, format!("{bundle}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{bundle}"),
    }
    Ok(())
}
