use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::args::{cli_actor, DataArg};

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
    List {
        #[command(flatten)]
        data: DataArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a platform (by id or kid).
    Remove {
        #[command(flatten)]
        data: DataArg,
        /// Platform id or kid.
        id: String,
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
        PlatformsCommand::List { data, json } => {
            let issuer = data.open().await?;
            let list = issuer.list_platforms().await?;
            issuer.close();
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                for p in list {
                    println!("{}\t{}\t{}", p.id, p.kid, p.name);
                }
            }
        }
        PlatformsCommand::Remove { data, id } => {
            let issuer = data.open().await?;
            let r = issuer.remove_platform(&cli_actor(), &id).await;
            issuer.close();
            r?;
            println!("removed {id}");
        }
    }
    Ok(())
}
