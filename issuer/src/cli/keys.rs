use clap::{Args, Subcommand};

use super::{cli_actor, AlgArg, DataArg};

/// List, rotate or withdraw the credential signing keys.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer keys list --data ./issuer-data --json\n  issuer keys rotate --data ./issuer-data --alg eddsa\n  issuer keys withdraw KID --since 2026-03-01T00:00:00Z --data ./issuer-data\n\nA running `issuer serve` picks up a rotation or withdrawal made here when it next checks its\nkeys; use POST /admin/keys/rotate or /admin/keys/withdraw to act on a running service at once."
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
    /// Withdraw a compromised key at once: verifiers refuse every credential it signed, or
    /// with --since every one issued on or after that day. A new active key is made first.
    /// Recorded in the audit trail (`key.withdrawn`); verifiers get it from
    /// /trust-bundle/withdrawals at their next `verifier sync`, before anything else.
    #[command(
        after_help = "Examples:\n  issuer keys withdraw 3q2-7wE... --data ./issuer-data\n  issuer keys withdraw 3q2-7wE... --since 2026-03-01T00:00:00Z --data ./issuer-data\n\n--since is rounded down to its day (credentials carry only their issuance day), so the whole\nday is refused. A thief holding the key can backdate credentials before --since; those still\nexpire by the key's last credential expiry. Without --since every credential of the key is\nrefused; reissue to its holders."
    )]
    Withdraw {
        #[command(flatten)]
        data: DataArg,
        /// The key's kid (RFC 7638 thumbprint, from `issuer keys list`).
        kid: String,
        /// Refuse only credentials issued at or after this time (RFC 3339 or Unix seconds;
        /// rounded down to the day). Default: every credential the key signed.
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
    },
}

/// Unix seconds, or an RFC 3339 time.
fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .map_err(|_| "expected unix seconds or an RFC 3339 time".to_owned())
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::List { data, json } => {
            let issuer = data.open().await?;
            let keys = issuer.keys.records();
            let withdrawals = issuer.keys.withdrawals();
            let root = issuer.root_fingerprint();
            issuer.close();
            let list = issuer::service::withdraw::keys_json(&keys, &withdrawals);
            if json {
                println!("{}", serde_json::json!({"root": root, "keys": list}));
            } else {
                println!("root\t{root}");
                for k in list {
                    println!(
                        "{}\t{}\t{}\tnot_before={}",
                        k["state"].as_str().unwrap_or_default(),
                        k["alg"].as_str().unwrap_or_default(),
                        k["kid"].as_str().unwrap_or_default(),
                        k["not_before"]
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
        KeysCommand::Withdraw { data, kid, since } => {
            let issuer = data.open().await?;
            let r = issuer.withdraw_key(&cli_actor(), &kid, since).await;
            let active = issuer.keys.active().kid().to_owned();
            issuer.close();
            let w = r?;
            match w.since {
                Some(t) => println!(
                    "withdrawn: {} for credentials issued on or after {t}",
                    w.kid
                ),
                None => println!("withdrawn: {} for every credential it signed", w.kid),
            }
            println!("active key: {active}");
        }
    }
    Ok(())
}
