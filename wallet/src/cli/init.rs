//! `wallet init`: a new wallet directory sealed under a passphrase.

use super::{create, finish, passphrase, DataDir, Failure};

/// Create a wallet: the storage key is derived from a passphrase with Argon2id (salt in
/// DIR/kdf.json); credentials and holder keys are stored encrypted in DIR/wallet.sqlite3.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  WALLET_PASSPHRASE=... wallet init --data ./wallet-data")]
pub struct Args {
    #[command(flatten)]
    data: DataDir,
}

pub fn run(args: Args) -> std::process::ExitCode {
    finish((|| -> Result<(), Failure> {
        let pass = passphrase(true)?;
        create(&args.data.dir, &pass)?;
        println!("wallet created in {}", args.data.dir.display());
        Ok(())
    })())
}
