//! `verifier status`: the status value at one index of a status list.

use credential::status_list::{Limits, StatusList, StatusListError, StatusListToken, Validation};
use serde_json::Value;
use verifier::TrustStore;

use super::{now, parse_time, read_input, Outcome};

/// Print the status value (a number) at an index of a status list, given as JSON
/// (`{"bits", "lst"}`) or as a `statuslist+jwt` token.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  verifier status status-0.jwt --idx 412771 --trust did-docs/did.json\n  verifier status list.json --idx 3\n\n\
Values: 0 valid, 1 revoked (invalid), 2 suspended, 3 application-specific.\n\
Exit codes: 0 printed, 1 malformed list, bad token or index out of range, 2 could not run."
)]
pub struct Args {
    /// The list: a file or `-`.
    list: String,
    /// The index.
    #[arg(long)]
    idx: u64,
    /// Verify the token's signature with these keys (JWK, JWKS or DID document). Without it a
    /// token is read unverified.
    #[arg(long, value_name = "FILE")]
    trust: Option<String>,
    /// Check the token's `exp` as of this time (RFC 3339 or Unix seconds); default now.
    #[arg(long, value_parser = parse_time)]
    now: Option<i64>,
}

pub fn run(args: Args) -> Outcome {
    let text = match read_input(&args.list) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    };
    let trust = match &args.trust {
        None => None,
        Some(file) => match read_input(file).map(|t| TrustStore::from_json(&t)) {
            Ok(Ok(store)) => Some(store),
            Ok(Err(e)) => {
                eprintln!("error: {file}: {e}");
                return Outcome::CouldNotRun;
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return Outcome::CouldNotRun;
            }
        },
    };
    match lookup(
        text.trim(),
        args.idx,
        trust.as_ref(),
        args.now.unwrap_or_else(now),
    ) {
        Ok(value) => {
            println!("{value}");
            Outcome::Accepted
        }
        Err(e) => {
            eprintln!("rejected: {}: {e}", e.code());
            Outcome::Rejected
        }
    }
}

fn lookup(
    text: &str,
    idx: u64,
    trust: Option<&TrustStore>,
    now: i64,
) -> Result<u8, StatusListError> {
    let limits = Limits::default();
    let list: StatusList = if text.starts_with('{') {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| StatusListError::MalformedList { reason: "not json" })?;
        // A bare list, or a token's claims with `status_list` inside.
        let list = value.get("status_list").unwrap_or(&value);
        StatusList::from_json(list, &limits)?
    } else {
        let unverified = StatusListToken::parse_unverified(text, &limits)?;
        match trust {
            None => unverified.claims().status_list.clone(),
            Some(store) => {
                let claims = unverified.claims();
                let sub = claims.sub.clone();
                let key = store
                    .status_list_key(
                        unverified.header(),
                        claims.iss.as_deref().unwrap_or_default(),
                        claims.iat,
                    )
                    .map_err(|_| {
                        StatusListError::Signature(credential::jose::JoseError::BadSignature)
                    })?;
                StatusListToken::verify(text, &key, &Validation::new(&sub, now))?
                    .into_claims()
                    .status_list
            }
        }
    };
    list.get(idx)
}
