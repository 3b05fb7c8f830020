//! `wallet delete ID`: removes a batch (every copy) or one copy.

use super::{with_store, DataDir};

/// Delete a credential: a batch id removes every copy, `<batch>-<n>` one copy.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  wallet delete 3fa2c1d0e4 --data ./wallet-data")]
pub struct Args {
    /// Batch id (from `wallet list`) or copy id.
    id: String,
    #[command(flatten)]
    data: DataDir,
}

pub fn run(args: Args) -> std::process::ExitCode {
    with_store(&args.data, |mut store| {
        let n = store.delete(&args.id)?;
        println!("deleted {n} cop{}", if n == 1 { "y" } else { "ies" });
        Ok(())
    })
}
