use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use issuer::config::{self, Overrides};
use issuer::{server, Issuer};

/// Run the HTTP service until SIGINT or SIGTERM.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer serve --data ./issuer-data --listen 127.0.0.1:8080 --public-url https://id.example.cn\n\nEnvironment: ISSUER_DATA, ISSUER_LISTEN, ISSUER_PUBLIC_URL, ISSUER_KEY_ALG, ISSUER_BATCH_SIZE,\nISSUER_MIN_FACE_MATCH_SCORE, ISSUER_SHARD_SIZE, RUST_LOG."
)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory [default: $ISSUER_DATA or ./issuer-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The issuer URL (`iss`) [default: http://LISTEN-ADDRESS].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Algorithm of keys generated on first start: ES256 or EdDSA [default: ES256].
    #[arg(long, value_name = "ALG")]
    key_alg: Option<String>,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let dir = config::data_dir(args.data);
    let overrides = Overrides {
        listen: args.listen,
        public_url: args.public_url,
        key_alg: args.key_alg,
    };
    let mut cfg = config::load(&dir, &overrides)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let local = listener.local_addr()?;
    if !cfg.public_url_set {
        cfg.public_url = format!("http://{local}");
    }
    let issuer = Issuer::open(cfg)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "issuer listening on http://{local}")?;
        writeln!(out, "issuer url: {}", issuer.url())?;
        writeln!(out, "root key fingerprint: {}", issuer.root_fingerprint())?;
        out.flush()?;
    }
    tracing::info!(%local, url = issuer.url(), "serving");
    server::run(listener, issuer.clone(), shutdown_signal()).await?;
    issuer.close();
    Ok(())
}
