//! `wallet list`: the stored credentials, one line per batch.

use super::{date, with_store, DataDir};

/// List stored credentials (one line per batch of copies).
#[derive(clap::Args)]
#[command(after_help = "Example:\n  wallet list --data ./wallet-data --json")]
pub struct Args {
    #[command(flatten)]
    data: DataDir,
    /// Print JSON (an array of batches).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> std::process::ExitCode {
    with_store(&args.data, |store| {
        let batches = store.batches()?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&batches).map_err(anyhow::Error::from)?
            );
            return Ok(());
        }
        if batches.is_empty() {
            println!("no credentials");
        }
        for b in batches {
            println!(
                "{}  {:<5}  {}  {}  {}/{} unused{}  received {}  from {}",
                b.batch_id,
                b.level.map(|l| l.as_str()).unwrap_or("-"),
                b.format,
                b.vct,
                b.unused,
                b.copies,
                if b.refreshable { " (refreshable)" } else { "" },
                date(b.received_at),
                b.issuer
            );
        }
        Ok(())
    })
}
