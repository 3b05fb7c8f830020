//! `wallet present` (stateless form): credential file + holder key → presentation.

use std::process::ExitCode;

use credential::jose::SigningKey;
use credential::sd_jwt::ClaimPath;

use super::read_input;

/// Present a credential file, disclosing only the named claims.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  wallet present --credential cred.txt --holder-key holder.jwk \\\n      --disclose given_name,family_name,id_number --nonce n-8f2c --aud https://hotel.example\n\n\
Claim paths are dotted: address.locality, age_equal_or_over.18; for the W3C form prefix\n\
credentialSubject. (credentialSubject.given_name).\n\n\
Exit codes: 0 printed, 1 refused (stderr says why), 2 could not run."
)]
pub struct Args {
    /// The credential as issued (`<jwt>~<disclosures>~`), a file or `-`.
    #[arg(long, value_name = "FILE")]
    credential: String,
    /// The holder's private JWK (the key the credential is bound to).
    #[arg(long, value_name = "JWK")]
    holder_key: String,
    /// Claims to disclose, comma-separated dotted paths. Nothing else is disclosed.
    #[arg(long, value_delimiter = ',', required = true)]
    disclose: Vec<String>,
    /// The verifier's nonce.
    #[arg(long)]
    nonce: String,
    /// The verifier's audience (client id).
    #[arg(long)]
    aud: String,
    /// KB-JWT issuance time (Unix seconds); default now.
    #[arg(long)]
    iat: Option<i64>,
}

pub fn run(args: Args) -> ExitCode {
    let (credential, key) = match (read_input(&args.credential), read_input(&args.holder_key)) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let key = match SigningKey::from_private_jwk(key.trim()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {}: {e}", args.holder_key);
            return ExitCode::from(2);
        }
    };
    let paths: Vec<ClaimPath> = args
        .disclose
        .iter()
        .map(|s| ClaimPath::parse_dotted(s.trim()))
        .collect();
    let iat = args
        .iat
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
    match wallet::present(credential.trim(), &key, &paths, &args.nonce, &args.aud, iat) {
        Ok(p) => {
            println!("{p}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("refused: {e}");
            ExitCode::from(1)
        }
    }
}
