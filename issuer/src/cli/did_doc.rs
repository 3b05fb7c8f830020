use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::args::DataArg;

/// Write the did:web DID document of the issuer's published keys.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  issuer did-doc --data ./issuer-data --out did-docs/did.json")]
pub struct DidDocArgs {
    #[command(flatten)]
    data: DataArg,
    /// Output file.
    #[arg(long, value_name = "FILE", default_value = "did-docs/did.json")]
    out: PathBuf,
}

pub async fn run(args: DidDocArgs) -> anyhow::Result<()> {
    let issuer = args.data.open().await?;
    let doc = issuer.did_document();
    issuer.close();
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(
        &args.out,
        format!("{}\n", serde_json::to_string_pretty(&doc)?),
    )
    .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({})",
        args.out.display(),
        doc["id"].as_str().unwrap_or_default()
    );
    Ok(())
}
