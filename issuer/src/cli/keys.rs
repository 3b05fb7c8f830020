use clap::{Args, Subcommand};

use super::{cli_actor, AlgArg, DataArg};

/// List or rotate the credential signing keys.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer keys list --data ./issuer-data --json\n  issuer keys rotate --data ./issuer-data --alg eddsa\n\nA running `issuer serve` picks up a rotation made here at its next start; rotate through\nPOST /admin/keys/rotate to switch a running service at once."
)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List active and retired keys with their validity windows.
    List {
        #[command(flatten)]
        data: DataArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate a new active key; the old one is retired but stays published until the last
    /// credential it signed expires.
    Rotate {
        #[command(flatten)]
        data: DataArg,
        /// es256 or eddsa, any case [default: the configured key_alg].
        #[arg(long, value_enum, ignore_case = true)]
        alg: Option<AlgArg>,
    },
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::List { data, json } => {
            let issuer = data.open().await?;
            let keys = issuer.keys.records();
            let root = issuer.root_fingerprint();
            issuer.close();
            if json {
                let list: Vec<_> = keys.iter().map(|k| k.to_json()).collect();
                println!("{}", serde_json::json!({"root": root, "keys": list}));
            } else {
                println!("root\t{root}");
                for k in keys {
                    println!(
                        "{}\t{}\t{}\tnot_before={}",
                        k.state, k.alg, k.kid, k.not_before
                    );
                }
            }
        }
        KeysCommand::Rotate { data, alg } => {
            let issuer = data.open().await?;
            let alg = alg.map_or(issuer.config.key_alg, AlgArg::alg);
            let r = issuer.rotate_key(&cli_actor(), alg).await;
            issuer.close();
            let rec = r?;
            println!("active key: {} ({})", rec.kid, rec.alg);
        }
    }
    Ok(())
}
