use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::args::{cli_actor, DataArg};
use super::roster::{ListArgs, Roster};

/// Manage messaging platforms whose face-match attestations enrol citizens at the basic level.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer platforms add --data ./issuer-data --name WeChat --jwk platform-public.jwk\n  issuer platforms list --data ./issuer-data\n  issuer platforms remove --data ./issuer-data PLATFORM_ID"
)]
pub struct PlatformsArgs {
    #[command(subcommand)]
    command: PlatformsCommand,
}

#[derive(Debug, Subcommand)]
enum PlatformsCommand {
    /// Register a platform's public JWK (ES256 or EdDSA); attestations carry its thumbprint as kid.
    Add {
        #[command(flatten)]
        data: DataArg,
        /// Display name.
        #[arg(long)]
        name: String,
        /// File holding the public JWK.
        #[arg(long, value_name = "FILE")]
        jwk: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List platforms.
    List(ListArgs),
    /// Remove a platform (by id or kid).
    Remove {
        /// Platform id or kid.
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
}

pub async fn run(args: PlatformsArgs) -> anyhow::Result<()> {
    match args.command {
        PlatformsCommand::Add {
            data,
            name,
            jwk,
            json,
        } => {
            let text = std::fs::read_to_string(&jwk)
                .with_context(|| format!("cannot read {}", jwk.display()))?;
            let issuer = data.open().await?;
            let r = issuer.add_platform(&cli_actor(), &name, &text).await;
            issuer.close();
            let info = r?;
            if json {
                println!("{}", serde_json::to_string(&info)?);
            } else {
                println!("platform id: {}\nkid: {}", info.id, info.kid);
            }
        }
        PlatformsCommand::List(args) => Roster::Platforms.list(args).await?,
        PlatformsCommand::Remove { data, id } => Roster::Platforms.remove(data, id).await?,
    }
    Ok(())
}
