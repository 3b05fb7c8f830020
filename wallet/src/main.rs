//! `wallet`: the citizen's wallet on the command line.
//!
//! Exit codes: 0 success, 1 the operation was refused (one line on stderr says why), 2 could not
//! run (usage error, unreadable file, network).

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
    /// Create a wallet directory sealed under a passphrase.
    Init(cli::init::Args),
    /// Receive credentials from an OpenID4VCI offer.
    Receive(cli::receive::Args),
    /// Import a credential file after verifying it.
    Import(cli::import::Args),
    /// List stored credentials.
    List(cli::list::Args),
    /// Get a fresh batch from the issuer once every copy was shown.
    Refresh(cli::refresh::Args),
    /// Show a credential as a card.
    Show(cli::show::Args),
    /// Delete a credential.
    Delete(cli::delete::Args),
    /// Answer an OpenID4VP request (or, with --credential, present a file statelessly).
    Present(cli::present::Args),
    /// Generate a holder key (private JWK to --out, public JWK to --public-out or stdout).
    Keygen(cli::keygen::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init(args) => cli::init::run(args),
        Command::Receive(args) => cli::receive::run(args),
        Command::Import(args) => cli::import::run(args),
        Command::List(args) => cli::list::run(args),
        Command::Refresh(args) => cli::refresh::run(args),
        Command::Show(args) => cli::show::run(args),
        Command::Delete(args) => cli::delete::run(args),
        Command::Present(args) => cli::present::run(args),
        Command::Keygen(args) => cli::keygen::run(args),
    }
}
