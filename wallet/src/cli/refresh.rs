//! `wallet refresh BATCH_ID`: a fresh batch from the issuer once every copy was shown.

use serde_json::json;
use wallet::receive::ReceiveOptions;
use wallet::RefreshError;

use super::{finish, http, now, open, runtime, DataDir, Failure};

/// Refresh a batch: asks the issuer for new copies with the refresh token stored (sealed) with
/// the batch, verifies them, and replaces the old copies (the batch id stays). The issuer
/// refuses when the credential was revoked or suspended, or the token expired or was reused.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  wallet refresh 3f9a0c1b2d\n\n\
Exit codes: 0 refreshed, 1 refused (no refresh token, the issuer refused), 2 could not run.")]
pub struct Args {
    /// The batch id (`wallet list`).
    batch_id: String,
    /// Copies to ask for (capped at the issuer's batch size).
    #[arg(long, default_value_t = wallet::receive::DEFAULT_COPIES)]
    copies: usize,
    #[command(flatten)]
    data: DataDir,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Maps a refresh failure to the exit code classes.
pub fn failure(e: RefreshError) -> Failure {
    match e {
        RefreshError::NotRefreshable { .. }
        | RefreshError::Refused { .. }
        | RefreshError::RateLimited { .. } => Failure::Refused(e.to_string()),
        RefreshError::Store(s) => s.into(),
        other => Failure::CouldNotRun(other.into()),
    }
}

/// Refreshes one batch with the CLI's defaults.
pub fn refresh_batch(
    store: &mut wallet::Store,
    batch_id: &str,
    copies: usize,
) -> Result<wallet::Refreshed, Failure> {
    let http = http()?;
    let rt = runtime()?;
    let options = ReceiveOptions {
        copies,
        ..ReceiveOptions::default()
    };
    rt.block_on(wallet::refresh(
        &http,
        store,
        batch_id,
        &options,
        &mut rand_core::OsRng,
        now(),
    ))
    .map_err(failure)
}

pub fn run(args: Args) -> std::process::ExitCode {
    finish((|| -> Result<(), Failure> {
        let mut store = open(&args.data)?;
        let done = refresh_batch(&mut store, &args.batch_id, args.copies)?;
        if args.json {
            println!("{}", json!(done));
        } else {
            println!(
                "refreshed {}: {} new copies of {}, all verified; the shown copies were replaced",
                done.batch_id, done.copies, done.configuration
            );
        }
        Ok(())
    })())
}
