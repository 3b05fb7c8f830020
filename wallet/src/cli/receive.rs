//! `wallet receive OFFER_URI`: OpenID4VCI pre-authorized code flow into the store.

use std::io::IsTerminal as _;

use serde_json::json;
use wallet::receive::{ReceiveError, ReceiveOptions, TxCode};

use super::{finish, http, now, open, runtime, DataDir, Failure};

/// Receive credentials from an offer: redeems the code with the tx_code, requests a batch of
/// copies (one holder key each), verifies every copy against the issuer's published keys and
/// stores them; if any copy does not verify, nothing is stored.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  wallet receive 'openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fid.example.cn%2Foffers%2F...' --tx-code 493027\n\n\
Exit codes: 0 stored, 1 refused (wrong tx_code, credential did not verify), 2 could not run."
)]
pub struct Args {
    /// The `openid-credential-offer://` URI (or the offer's https URL). Every URL the wallet
    /// contacts must be https (plain http only on loopback); redirects are not followed.
    offer: String,
    /// The transaction code sent on another channel (asked for when not given and stdin is a
    /// terminal).
    #[arg(long)]
    tx_code: Option<String>,
    /// Copies per credential (capped at the issuer's batch size).
    #[arg(long, default_value_t = wallet::receive::DEFAULT_COPIES)]
    copies: usize,
    /// Only these offered configurations (repeatable); default all.
    #[arg(long = "configuration")]
    configurations: Vec<String>,
    #[command(flatten)]
    data: DataDir,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn refused(e: ReceiveError) -> Failure {
    match e {
        ReceiveError::Http { .. } | ReceiveError::InvalidOfferUri { .. } => {
            Failure::CouldNotRun(e.into())
        }
        other => Failure::Refused(other.to_string()),
    }
}

pub fn run(args: Args) -> std::process::ExitCode {
    finish((|| -> Result<(), Failure> {
        let mut store = open(&args.data)?;
        let http = http()?;
        let rt = runtime()?;
        let offer = rt
            .block_on(wallet::resolve_offer(&http, &args.offer))
            .map_err(refused)?;
        let tx_code = match (&args.tx_code, &offer.tx_code) {
            (Some(c), _) => Some(TxCode::new(c.clone())),
            (None, None) => None,
            (None, Some(spec)) => {
                if !std::io::stdin().is_terminal() {
                    return Err(Failure::CouldNotRun(anyhow::anyhow!(
                        "the offer needs a tx_code: pass --tx-code"
                    )));
                }
                let prompt = format!(
                    "{}: ",
                    spec.description.as_deref().unwrap_or("transaction code")
                );
                Some(TxCode::new(
                    rpassword::prompt_password(prompt).map_err(anyhow::Error::from)?,
                ))
            }
        };
        let options = ReceiveOptions {
            copies: args.copies,
            configurations: args.configurations.clone(),
            ..ReceiveOptions::default()
        };
        let received = rt
            .block_on(wallet::receive(
                &http,
                &offer,
                tx_code.as_ref(),
                &options,
                &mut rand_core::OsRng,
                now(),
            ))
            .map_err(refused)?;
        let report = wallet_core::report::store_received(received, &mut store)?;
        if args.json {
            println!("{}", json!(report));
        } else {
            for b in &report.batches {
                println!(
                    "stored {}: {} copies of {} ({}, level {}) from {}, all verified",
                    b.batch_id,
                    b.copies,
                    b.vct,
                    b.format,
                    b.level.map(|l| l.as_str()).unwrap_or("-"),
                    report.issuer
                );
            }
        }
        Ok(())
    })())
}
