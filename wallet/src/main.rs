//! `wallet`: the citizen's wallet on the command line.
//!
//! Exit codes: 0 success, 1 the operation was refused (one line on stderr says why), 2 could not
//! run (usage error, unreadable file).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// The citizen's wallet.
#[derive(Parser)]
#[command(name = "wallet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a presentation of a credential file, disclosing chosen claims (stateless).
    Present(cli::present::Args),
    /// Generate a holder key (private JWK to a file, public JWK to stdout).
    Keygen(cli::keygen::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Present(args) => cli::present::run(args),
        Command::Keygen(args) => cli::keygen::run(args),
    }
}
