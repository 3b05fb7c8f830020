//! `verifier request`: an OpenID4VP 1.0 request for a profile, shown as a URI and a QR code,
//! its nonce remembered in the data directory (`--data`).

use std::path::PathBuf;

use rand_core::OsRng;
use serde_json::json;
use verifier::request::{
    did_jwk_client_id, new_nonce, offline_response_uri, query_ids, redirect_uri_client_id,
    PresentationRequest, ResponseMode,
};
use verifier::Policy;

use super::requests::{Pending, State};
use super::state::StateArg;
use super::{now, qr, Outcome};

/// Make a presentation request for a relying-party profile and remember its nonce.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  verifier request --profile hotel --data ~/hotel-verifier --png request.png\n  verifier request --profile bank --response-uri https://bank.example/vp --json\n  \
verifier request --profile hotel --sign-key desk.jwk --request-uri https://hotel.example/r/1 --request-object r1.jwt\n\n\
Every request is in the OpenID4VP 1.0 form: response_mode=direct_post, a response_uri, client_metadata\n\
and state. Without --response-uri the desk is offline: the response_uri is https://offline.invalid/<desk>\n\
(a name that never resolves), which the citizen-ID wallet answers with a QR code. The client id is\n\
redirect_uri:<response_uri> (unsigned) or decentralized_identifier:did:jwk:... (--sign-key).\n\
The nonce is remembered in --data (requests.sqlite) until an answer to it is verified or it expires\n\
(the profile's [request] validity_seconds, default 600).\n\
Exit codes: 0 printed, 2 could not run."
)]
pub struct Args {
    /// The profile: `hotel`, `bank` (built in) or a policy file (TOML).
    #[arg(long)]
    profile: String,
    /// The desk's name (default: the profile's `[request] client_id`): an offline request's
    /// response_uri is `https://offline.invalid/<its host>`. The client id itself is
    /// `redirect_uri:<response_uri>`, or the signing key's `did:jwk` with --sign-key.
    #[arg(long)]
    client_id: Option<String>,
    /// Ask the wallet to post its answer here (`response_mode=direct_post`).
    #[arg(long, value_name = "URL")]
    response_uri: Option<String>,
    #[command(flatten)]
    data: StateArg,
    /// Also write the QR code as a PNG image.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Sign the request (JAR, `typ: oauth-authz-req+jwt`) with this private JWK (ES256 or
    /// EdDSA), e.g. one written by `issuer keygen --out FILE`. The client id becomes
    /// `decentralized_identifier:did:jwk:...` of its public key, which a wallet verifies offline.
    #[arg(long, value_name = "JWK", conflicts_with = "redirect_uri_client_id")]
    sign_key: Option<PathBuf>,
    /// Unsigned request whose client id is `redirect_uri:<response uri>` (the default for
    /// unsigned requests; kept so older scripts run).
    #[arg(long)]
    redirect_uri_client_id: bool,
    /// Pass the request by reference: the printed URI is `openid4vp://?client_id=..&
    /// request_uri=URL`, and the signed request object is written to --request-object for you
    /// to serve at URL (GET, content type `application/oauth-authz-req+jwt`). Needs --sign-key:
    /// a wallet accepts only signed request objects by reference.
    #[arg(long, value_name = "URL", requires_all = ["sign_key", "request_object"])]
    request_uri: Option<String>,
    /// Where to write the request object of --request-uri.
    #[arg(long, value_name = "FILE", requires = "request_uri")]
    request_object: Option<PathBuf>,
    /// Print `{"request_uri", "nonce", "state", "client_id", "response_uri", "profile",
    /// "expires_at", "dcql_query"}` instead of text.
    #[arg(long)]
    json: bool,
}

/// The built-in profiles.
pub const HOTEL: &str = include_str!("../../profiles/hotel.toml");
/// The bank profile.
pub const BANK: &str = include_str!("../../profiles/bank.toml");

/// Resolves `--profile` to (name, policy text).
pub fn load_profile(profile: &str) -> anyhow::Result<(Policy, String)> {
    let text = match profile {
        "hotel" => HOTEL.to_owned(),
        "bank" => BANK.to_owned(),
        file => super::read_input(file)?,
    };
    let policy = Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{profile}: {e}"))?;
    Ok((policy, text))
}

pub fn run(args: Args) -> Outcome {
    match make(&args) {
        Ok(()) => Outcome::Accepted,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::CouldNotRun
        }
    }
}

fn make(args: &Args) -> anyhow::Result<()> {
    let (policy, text) = load_profile(&args.profile)?;
    let sign_key = match &args.sign_key {
        Some(file) => {
            let jwk = super::read_input(&file.display().to_string())?;
            Some(
                credential::jose::SigningKey::from_private_jwk(jwk.trim())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
            )
        }
        None => None,
    };
    let response_mode = match args
        .response_uri
        .clone()
        .or_else(|| policy.request.response_uri.clone())
    {
        Some(uri) if uri.starts_with("https://") || uri.starts_with("http://") => {
            ResponseMode::DirectPost { response_uri: uri }
        }
        Some(_) => anyhow::bail!("--response-uri must be an http(s) url"),
        None => ResponseMode::Shown,
    };
    // The desk's name only names an offline response_uri; the client id carries a 1.0 prefix.
    let desk = args
        .client_id
        .clone()
        .or_else(|| policy.request.client_id.clone())
        .unwrap_or_default();
    let response_uri = match &response_mode {
        ResponseMode::DirectPost { response_uri } => response_uri.clone(),
        _ => offline_response_uri(&desk),
    };
    let client_id = match &sign_key {
        Some(key) => did_jwk_client_id(key.public_jwk()),
        None => redirect_uri_client_id(&response_uri),
    };
    let nonce = new_nonce(&mut OsRng);
    let mut request = PresentationRequest::for_policy(&policy, &client_id, &nonce, response_mode);
    request.state = Some(new_nonce(&mut OsRng));
    let t = now();
    let validity = i64::try_from(policy.request.validity.as_secs()).unwrap_or(600);
    let expires_at = t + validity;
    let uri = match (&sign_key, &args.request_uri, &args.request_object) {
        (Some(key), Some(request_uri), Some(file)) => {
            if !request_uri.starts_with("https://") && !request_uri.starts_with("http://") {
                anyhow::bail!("--request-uri must be an http(s) url");
            }
            std::fs::write(file, request.to_request_object(key, t, validity))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
            request.to_reference_uri(request_uri, false)
        }
        (Some(key), _, _) => request.to_signed_uri(key, t, validity),
        (None, _, _) => request.to_uri(),
    };
    let state = State::open(&args.data.dir)?;
    state.remember(
        &Pending {
            nonce: nonce.clone(),
            client_id: client_id.clone(),
            profile: policy.name.clone(),
            policy: text,
            query_ids: query_ids(&request.dcql_query),
            created_at: t,
            expires_at,
        },
        t,
    )?;
    if let Some(file) = &args.png {
        std::fs::write(file, qr::png(&uri, 6)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
    }
    if args.json {
        println!(
            "{}",
            json!({
                "request_uri": uri,
                "nonce": nonce,
                "state": request.state,
                "client_id": client_id,
                "response_uri": response_uri,
                "profile": policy.name,
                "expires_at": expires_at,
                "dcql_query": request.dcql_query,
            })
        );
    } else {
        println!("{}", qr::terminal(&uri)?);
        println!("{uri}");
        eprintln!(
            "request for profile {} remembered in {} (expires in {} s)",
            policy.name,
            args.data.dir.display(),
            expires_at - t
        );
    }
    Ok(())
}
