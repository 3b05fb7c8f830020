//! `verifier serve`: the relying party's online side for a bank's web flow (OpenID4VP 1.0
//! `direct_post`, section 8.2), an HTTP server on the given listener.
//!
//! ```text
//! bank backend ── POST /requests ──────────────► session {nonce, state, secret}
//!      ◄── {id, request_uri (openid4vp://), transaction_secret, result_uri}
//! wallet ── GET /requests/{id}/request ────────► signed request object (with --sign-key)
//! wallet ── POST /requests/{id}/response ──────► verified once (same library, policy, trust)
//!      ◄── {} or {"redirect_uri": "<bank>#response_code=.."}
//! bank ── GET /requests/{id}/result (Bearer secret[, response_code]) ─► the verified claims
//! ```
//!
//! Sessions live in memory (a restart forgets open requests; the wallet then gets
//! `request_unknown`). Trust comes from the same state as the offline desk (`--data`, synced by
//! `verifier sync`), read again for every answer, or from `--trust`/`--status` files.

mod routes;
mod sessions;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use verifier::Policy;

use super::state::StateArg;
use super::{read_input, Outcome};

/// Serve OpenID4VP requests and receive their direct_post answers (a bank's online flow).
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
verifier serve --data ~/bank-verifier --profile bank --listen 127.0.0.1:8090 \\\n      \
--public-url https://verify.bank.example --sign-key rp.jwk --api-token-file api-token\n\n\
Endpoints (docs/relying-party.md, \"verifier serve\"):\n  \
POST /requests                 the bank's backend makes a request: JSON {\"profile\", \"redirect_uri\"}\n  \
GET  /requests/{id}/request    the signed request object (request_uri, with --sign-key)\n  \
POST /requests/{id}/response   the wallet's direct_post answer (form: vp_token, state)\n  \
GET  /requests/{id}/result     the result, with Authorization: Bearer <transaction_secret>\n\n\
Prints `listening on http://ADDR` on standard output once the listener is bound.\n\
Exit codes: 0 stopped (Ctrl-C), 2 could not run.")]
pub struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The URL wallets reach this server at (behind a reverse proxy: its https URL); the
    /// request_uri and response_uri start with it. Default: `http://<listen address>`.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Profiles a request may name: `hotel`, `bank` or a policy file (repeatable); the first
    /// is the default. Default: `bank`.
    #[arg(long)]
    profile: Vec<String>,
    #[command(flatten)]
    data: StateArg,
    /// Trusted issuer keys instead of the state synced into --data (repeatable).
    #[arg(long, value_name = "FILE")]
    trust: Vec<PathBuf>,
    /// Status-list tokens, with --trust (repeatable).
    #[arg(long, value_name = "FILE", requires = "trust")]
    status: Vec<PathBuf>,
    /// Sign request objects with this private JWK (ES256 or EdDSA): requests are then passed
    /// by reference (`request_uri`) and the client id is the key's
    /// `decentralized_identifier:did:jwk:...`. Without it, requests go by value with the
    /// client id `redirect_uri:<response_uri>`.
    #[arg(long, value_name = "JWK")]
    sign_key: Option<PathBuf>,
    /// A file holding the bearer token the bank's backend must send to `POST /requests`.
    /// Without it anyone who reaches the listener can make requests.
    #[arg(long, value_name = "FILE")]
    api_token_file: Option<PathBuf>,
    /// How many requests may wait for their answer at once.
    #[arg(long, default_value_t = 10_000)]
    max_open: usize,
}

pub fn run(args: Args) -> Outcome {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return Outcome::CouldNotRun;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => Outcome::Accepted,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::CouldNotRun
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = config(&args)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let base = base.trim_end_matches('/').to_owned();
    if !base.starts_with("https://") && !base.starts_with("http://") {
        anyhow::bail!("--public-url must be an http(s) url");
    }
    let app = Arc::new(sessions::App::new(config, base, args.max_open));
    // Fail now, not at the first answer, when the trust material is missing.
    app.verifier(Policy::default(), super::now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("listening on http://{local}");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn config(args: &Args) -> anyhow::Result<sessions::Config> {
    let names = if args.profile.is_empty() {
        vec!["bank".to_owned()]
    } else {
        args.profile.clone()
    };
    let mut profiles = Vec::new();
    for name in &names {
        let (policy, _) = super::request::load_profile(name)?;
        profiles.push(policy);
    }
    let sign_key = match &args.sign_key {
        Some(file) => {
            let jwk = read_input(&file.display().to_string())?;
            Some(
                credential::jose::SigningKey::from_private_jwk(jwk.trim())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
            )
        }
        None => None,
    };
    let api_token = match &args.api_token_file {
        Some(file) => {
            let token = read_input(&file.display().to_string())?.trim().to_owned();
            if token.len() < 16 {
                anyhow::bail!(
                    "{}: the api token must be at least 16 characters",
                    file.display()
                );
            }
            Some(zeroize::Zeroizing::new(token))
        }
        None => None,
    };
    let trust = if args.trust.is_empty() {
        sessions::TrustSource::State(args.data.dir.clone())
    } else {
        let mut keys = Vec::new();
        for file in &args.trust {
            let text = read_input(&file.to_string_lossy())?;
            keys.push(
                serde_json::from_str(&text)
                    .map_err(|_| anyhow::anyhow!("{}: trust file is not json", file.display()))?,
            );
        }
        let mut status = Vec::new();
        for file in &args.status {
            status.push(read_input(&file.to_string_lossy())?);
        }
        sessions::TrustSource::Files { keys, status }
    };
    Ok(sessions::Config {
        profiles,
        sign_key,
        api_token,
        trust,
    })
}
