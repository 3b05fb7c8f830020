use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::DataArg;

/// Write the root-signed trust bundle (keys with validity windows, latest status lists).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer trust-bundle --data ./issuer-data --out trust-bundle.jwt"
)]
pub struct TrustBundleArgs {
    #[command(flatten)]
    data: DataArg,
    /// Output file [default: stdout].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn run(args: TrustBundleArgs) -> anyhow::Result<()> {
    let issuer = args.data.open()?;
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
