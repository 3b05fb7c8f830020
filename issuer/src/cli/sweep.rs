use clap::Args;

use super::args::{cli_actor, DataArg};

/// Delete expired nonces, proofs, tokens and offers, and status changes older than the delta
/// window, once (the server also does this every `sweep_interval` seconds).
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  issuer sweep --data ./issuer-data --json")]
pub struct SweepArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: SweepArgs) -> anyhow::Result<()> {
    let issuer = args.data.open().await?;
    let r = issuer.sweep(&cli_actor()).await;
    issuer.close();
    match r? {
        None if args.json => println!("{}", serde_json::json!({"skipped": true})),
        None => println!("skipped: another replica is sweeping"),
        Some(report) if args.json => println!("{}", report.to_json()),
        Some(report) => {
            for (step, n) in &report.deleted {
                println!("{}\t{n}", step.table());
            }
            println!("total\t{}", report.total());
        }
    }
    Ok(())
}
