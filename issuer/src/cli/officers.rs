use clap::{Args, Subcommand};

use issuer::domain::Role;

use super::args::{cli_actor, DataArg};
use super::roster::{ListArgs, Roster};

/// Manage officers. Tokens are shown once, at `add`, and stored only as SHA-256 digests.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer officers add --data ./issuer-data --name 'Li Wei' --role officer\n  issuer officers list --data ./issuer-data --json\n  issuer officers remove --data ./issuer-data OFFICER_ID"
)]
pub struct OfficersArgs {
    #[command(subcommand)]
    command: OfficersCommand,
}

#[derive(Debug, Subcommand)]
enum OfficersCommand {
    /// Add an officer and print its API token (once).
    Add {
        #[command(flatten)]
        data: DataArg,
        /// Display name.
        #[arg(long)]
        name: String,
        /// officer (may enrol) or admin (may also change status and manage keys).
        #[arg(long, default_value = "officer", value_parser = ["officer", "admin"])]
        role: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List officers.
    List(ListArgs),
    /// Remove an officer; its token stops working.
    Remove {
        /// Officer id.
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
}

pub async fn run(args: OfficersArgs) -> anyhow::Result<()> {
    match args.command {
        OfficersCommand::Add {
            data,
            name,
            role,
            json,
        } => {
            let issuer = data.open().await?;
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be officer or admin"))?;
            let (id, token) = issuer.add_officer(&cli_actor(), &name, role).await?;
            issuer.close();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": id, "role": role.as_str(), "token": *token})
                );
            } else {
                println!("officer id: {id}");
                println!("token (shown once): {}", *token);
            }
        }
        OfficersCommand::List(args) => Roster::Officers.list(args).await?,
        OfficersCommand::Remove { data, id } => Roster::Officers.remove(data, id).await?,
    }
    Ok(())
}
