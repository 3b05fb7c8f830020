//! The `issuer` command: parses arguments and calls the library. See `docs/issuer.md`, the index.
//!
//! Exit codes: 0 success; 1 the command failed (one line on stderr says why); 2 bad usage.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("issuer: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("issuer: error: {e:#}");
            // A missing data directory or a public_url that contradicts the recorded one is a
            // usage error.
            match e.downcast_ref::<issuer::config::ConfigError>() {
                Some(
                    issuer::config::ConfigError::NoDataDir { .. }
                    | issuer::config::ConfigError::PublicUrlChanged { .. },
                ) => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}
