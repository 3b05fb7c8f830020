//! `wallet import FILE --trust FILE --holder-key JWK`: stores a credential from a file after
//! verifying it.

use credential::jose::SigningKey;

use super::{finish, now, open, read_input, DataDir, Failure};

/// Import a credential file (`<jwt>~<disclosures>~`, e.g. from `issuer sign`). It is verified
/// against the trust file (JWK, JWKS, JWT VC issuer metadata or DID document) and must be bound
/// to the holder key.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  wallet import cred.txt --trust jwt-vc-issuer.json --holder-key holder.jwk\n\n\
Exit codes: 0 stored, 1 refused (does not verify), 2 could not run."
)]
pub struct Args {
    /// The credential file, or `-`.
    file: String,
    /// The issuer's keys.
    #[arg(long, value_name = "FILE")]
    trust: String,
    /// The holder's private JWK the credential is bound to (from `wallet keygen`).
    #[arg(long, value_name = "JWK")]
    holder_key: String,
    #[command(flatten)]
    data: DataDir,
}

pub fn run(args: Args) -> std::process::ExitCode {
    finish((|| -> Result<(), Failure> {
        let credential = read_input(&args.file)?;
        let trust = read_input(&args.trust)?;
        let key = read_input(&args.holder_key)?;
        let key = SigningKey::from_private_jwk(key.trim())
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.holder_key))?;
        let batch = wallet::receive::import(&credential, &trust, key, now())
            .map_err(|e| Failure::Refused(e.to_string()))?;
        let vct = batch.vct.clone();
        let mut store = open(&args.data)?;
        let id = store.insert_batch(batch.into_copies())?;
        println!("stored {id}: {vct}, verified");
        Ok(())
    })())
}
