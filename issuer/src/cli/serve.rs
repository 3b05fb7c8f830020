use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use issuer::config::{self, DatabaseUrl, MetricsListen, Overrides};
use issuer::{server, Issuer};

use super::args::AlgArg;

/// Run the HTTP service until SIGINT or SIGTERM.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer serve --data ./issuer-data --listen 127.0.0.1:8080 --public-url https://id.example.cn\n\nReplica over PostgreSQL:\n  issuer serve --data ./replica-1 --listen 127.0.0.1:8081 --public-url https://id.example.cn \\\n    --database-url postgres://issuer:PASSWORD@db:5432/issuer --master-secret-file /etc/issuer/master.secret\n\nEnvironment: ISSUER_DATA, ISSUER_LISTEN, ISSUER_PUBLIC_URL, ISSUER_KEY_ALG, ISSUER_BATCH_SIZE,\nISSUER_MIN_FACE_MATCH_SCORE, ISSUER_SHARD_SIZE, ISSUER_DATABASE_URL, ISSUER_DATABASE_POOL,\nISSUER_MASTER_SECRET_FILE, ISSUER_SWEEP_INTERVAL, ISSUER_METRICS_LISTEN,\nISSUER_METRICS_TOKEN_FILE, RUST_LOG.\n\nMetrics: GET /metrics on 127.0.0.1:9464 by default (its own listener, no token: keep it on\nthe scraper's network); --metrics-listen off and --metrics-token-file FILE serve it on the\npublic listener to bearers of that token instead."
)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory, created with the bureau's keys on first start [default: $ISSUER_DATA or
    /// ./issuer-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The issuer URL (`iss`), recorded in DATA/issuer.toml on first start; later starts and
    /// every other command use the recorded one, and a different --public-url is refused (edit
    /// issuer.toml to move the bureau) [default: the recorded one, else http://LISTEN-ADDRESS].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Algorithm of keys generated on first start: es256 or eddsa, any case [default:
    /// $ISSUER_KEY_ALG, else ES256].
    #[arg(long, value_enum, ignore_case = true)]
    alg: Option<AlgArg>,
    /// PostgreSQL database shared by replicas, postgres://USER:PASSWORD@HOST:PORT/DB
    /// [default: $ISSUER_DATABASE_URL, else SQLite in the data directory].
    #[arg(long, value_name = "URL", value_parser = DatabaseUrl::parse)]
    database_url: Option<DatabaseUrl>,
    /// The 32-byte master secret every replica shares [default: $ISSUER_MASTER_SECRET_FILE,
    /// else DATA/keys/master.secret].
    #[arg(long, value_name = "FILE")]
    master_secret_file: Option<PathBuf>,
    /// Where to serve GET /metrics (Prometheus text) to the scraper, on a listener of its own
    /// without a token; `off` for none; a given address that is taken stops the start
    /// [default: $ISSUER_METRICS_LISTEN, else 127.0.0.1:9464 (skipped with a warning when
    /// taken), or an ephemeral loopback port when --listen has port 0].
    #[arg(long, value_name = "ADDR|off", value_parser = MetricsListen::parse)]
    metrics_listen: Option<MetricsListen>,
    /// A file holding a bearer token (at least 32 visible characters) that opens GET /metrics
    /// on the public listener too [default: $ISSUER_METRICS_TOKEN_FILE, else the public
    /// listener does not serve /metrics].
    #[arg(long, value_name = "FILE")]
    metrics_token_file: Option<PathBuf>,
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

/// Colours only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .init();
    let dir = config::data_dir(args.data);
    let overrides = Overrides {
        listen: args.listen,
        public_url: args.public_url,
        key_alg: args.alg.map(|a| a.alg().as_str().to_owned()),
        database_url: args.database_url,
        master_secret_file: args.master_secret_file,
        metrics_listen: args.metrics_listen,
        metrics_token_file: args.metrics_token_file,
    };
    let mut cfg = config::load(&dir, &overrides)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let local = listener.local_addr()?;
    // A configured metrics address must work; the default one may be taken (another service
    // or replica on the host): then the service runs without a metrics listener and says so.
    let metrics_listener = match cfg.metrics_listen.resolve(cfg.listen) {
        None => None,
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) if cfg.metrics_listen == MetricsListen::Default => {
                tracing::warn!(%addr, error = %e, "metrics not served: the default metrics address is taken; set metrics_listen");
                None
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot listen for metrics on {addr} (metrics_listen)")
                })
            }
        },
    };
    if !cfg.public_url_set {
        cfg.public_url = format!("http://{local}");
    }
    // The URL this data directory serves under is recorded on first start, so the operator
    // commands on it name the same issuer. One derived from an ephemeral port (`--listen
    // ADDR:0` without `--public-url`) would be wrong after a restart: it is not recorded.
    let record = !cfg.public_url_recorded && (cfg.public_url_set || cfg.listen.port() != 0);
    if !cfg.public_url_recorded && !record {
        tracing::warn!("public_url not recorded in issuer.toml: listening on an ephemeral port without --public-url");
    }
    let issuer = Issuer::connect(cfg).await?;
    if record {
        if let Err(e) = config::record_public_url(&dir, issuer.url()) {
            issuer.close();
            return Err(e.into());
        }
    }
    {
        // One write of the whole banner: a reader that stops after the lines it wants (the
        // tests read up to the fingerprint) must not make a later line fail the start.
        let mut banner = format!(
            "issuer listening on http://{local}\nissuer url: {}\nroot key fingerprint: {}\n",
            issuer.url(),
            issuer.root_fingerprint()
        );
        if let Some(l) = &metrics_listener {
            banner.push_str(&format!("metrics on http://{}/metrics\n", l.local_addr()?));
        }
        let mut out = std::io::stdout().lock();
        out.write_all(banner.as_bytes())?;
        out.flush()?;
    }
    tracing::info!(%local, url = issuer.url(), storage = issuer.store.backend(), "serving");
    // Housekeeping beside the server; over PostgreSQL one replica at a time sweeps.
    let sweeper = (issuer.config.sweep_interval > 0).then(|| {
        let every = std::time::Duration::from_secs(issuer.config.sweep_interval);
        tokio::spawn(issuer::service::sweep::run_periodically(
            issuer.clone(),
            every,
        ))
    });
    let metrics_server = metrics_listener
        .map(|l| server::spawn_metrics(l, issuer.clone()))
        .transpose()?;
    let served = server::run(listener, issuer.clone(), shutdown_signal()).await;
    if let Some(task) = sweeper {
        task.abort();
    }
    if let Some(metrics) = metrics_server {
        metrics.shutdown().await?;
    }
    served?;
    issuer.close();
    Ok(())
}
