//! `verifier`: the relying party's command line. Verifies citizen-ID presentations offline
//! against local trust material, status lists and policy.
//!
//! Exit codes: 0 accepted, 1 rejected (one line on stderr names the failed check), 2 could not
//! run (usage error, unreadable file).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Verify citizen-ID presentations offline.
#[derive(Parser)]
#[command(name = "verifier", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 accepted, 1 rejected, 2 could not run.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an OpenID4VP request for a profile (URI and QR code) and remember its nonce.
    Request(cli::request::Args),
    /// Serve requests online and receive their direct_post answers (a bank's web flow).
    #[cfg(feature = "serve")]
    Serve(cli::serve::Args),
    /// Verify a presentation (SD-JWT+KB, compact or JSON serialization) or a wallet's answer.
    Verify(cli::verify::Args),
    /// Print the status value at an index of a status list.
    Status(cli::status::Args),
    /// Fetch or import the bureau's trust bundle into the local trust state.
    Sync(cli::sync::Args),
    /// Pin the bureau's root key; show the local trust state.
    Trust(cli::trust::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Request(args) => cli::request::run(args),
        Command::Verify(args) => cli::verify::run(args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => cli::serve::run(args),
        Command::Status(args) => cli::status::run(args),
        Command::Sync(args) => cli::sync::run(args),
        Command::Trust(args) => cli::trust::run(args),
    };
    outcome.exit_code()
}
