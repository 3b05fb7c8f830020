//! The issuer's metrics, served as Prometheus text at `GET /metrics` (`docs/issuer/operating.md`
//! names each series and a scrape configuration).
//!
//! ```text
//!  service ── issued / offer_redeemed / status_changed ──┐
//!  server  ── request (route template, status, latency)  ├──► Metrics (one registry per
//!             refused (OAuth / OpenID4VCI error code)    │    issuer) ──► render() ──► /metrics
//!  storage ── write timings (queue wait, latency) ───────┘
//! ```
//!
//! Every label value comes from a fixed vocabulary: route templates (never the concrete path,
//! which may hold an offer id), error codes, credential configuration ids, levels, status
//! changes. No token, code, name or ID number can reach a label.
//!
//! Where the metrics are served is the operator's choice ([`MetricsListen`]): by default on a
//! listener of their own on loopback, off the public one; the public listener serves them only
//! when a bearer token file is configured ([`MetricsToken`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};
use zeroize::Zeroizing;

use crate::domain::StatusAction;
use crate::secret::SecretDigest;

/// The default address of the metrics listener: loopback, port 9464 (the port OpenTelemetry's
/// Prometheus exporters use by default).
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// Shortest accepted metrics bearer token, characters.
pub const MIN_TOKEN_LEN: usize = 32;

/// The content type of [`Metrics::render`]: the Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets of HTTP requests, seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of the storage writer's queue wait and latency, seconds (a durable commit is a
/// millisecond or so on an SSD).
const STORAGE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Methods that get their own label value; any other is counted as `other`.
const METHODS: &[&str] = &["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// The metrics setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The metrics token file cannot be read.
    #[error("cannot read the metrics token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The metrics token file holds too short a token (or none).
    #[error("the metrics token in {path} is shorter than {min} characters")]
    TokenTooShort {
        /// The file.
        path: PathBuf,
        /// The least length.
        min: usize,
    },
    /// The metrics token file holds whitespace or control characters inside the token.
    #[error("the metrics token in {path} must be one line of visible ASCII characters")]
    TokenNotPrintable {
        /// The file.
        path: PathBuf,
    },
    /// `metrics_listen` is neither `off` nor an address.
    #[error("metrics_listen must be off or an address such as 127.0.0.1:9464")]
    Listen,
    /// A series could not be registered (a programming error: names are constants).
    #[error("metrics registry: {0}")]
    Registry(String),
}

impl From<prometheus::Error> for MetricsError {
    fn from(e: prometheus::Error) -> MetricsError {
        MetricsError::Registry(e.to_string())
    }
}

/// Where the metrics listener listens (`metrics_listen`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsListen {
    /// Not configured: [`DEFAULT_METRICS_LISTEN`], or an ephemeral loopback port when the
    /// public listener is on an ephemeral port itself (`--listen ADDR:0`: tests, several
    /// replicas on one host).
    #[default]
    Default,
    /// `off`: no metrics listener (the public one may still serve `/metrics` with a token).
    Off,
    /// This address.
    At(SocketAddr),
}

impl MetricsListen {
    /// Parses `off` or a socket address.
    ///
    /// # Errors
    /// [`MetricsError::Listen`] for anything else.
    pub fn parse(text: &str) -> Result<MetricsListen, MetricsError> {
        match text.trim() {
            "off" => Ok(MetricsListen::Off),
            other => other
                .parse()
                .map(MetricsListen::At)
                .map_err(|_| MetricsError::Listen),
        }
    }

    /// The address to bind, given the public listener's configured address; `None`: off.
    pub fn resolve(self, public: SocketAddr) -> Option<SocketAddr> {
        match self {
            MetricsListen::Off => None,
            MetricsListen::At(addr) => Some(addr),
            MetricsListen::Default if public.port() == 0 => {
                Some(SocketAddr::new(DEFAULT_METRICS_LISTEN.ip(), 0))
            }
            MetricsListen::Default => Some(DEFAULT_METRICS_LISTEN),
        }
    }
}

impl<'de> serde::Deserialize<'de> for MetricsListen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MetricsListen, D::Error> {
        let text = String::deserialize(d)?;
        MetricsListen::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for MetricsListen {
    type Err = MetricsError;

    fn from_str(text: &str) -> Result<MetricsListen, MetricsError> {
        MetricsListen::parse(text)
    }
}

/// The bearer token that opens `/metrics` on the public listener, kept only as a digest.
#[derive(Clone, Copy)]
pub struct MetricsToken(SecretDigest);

const TOKEN_DOMAIN: &str = "metrics-token";

impl MetricsToken {
    /// Reads the token from `path`: one line (a final newline is ignored) of at least
    /// [`MIN_TOKEN_LEN`] visible ASCII characters.
    ///
    /// # Errors
    /// [`MetricsError::TokenFile`], [`MetricsError::TokenTooShort`],
    /// [`MetricsError::TokenNotPrintable`].
    pub fn read(path: &Path) -> Result<MetricsToken, MetricsError> {
        let text =
            Zeroizing::new(
                std::fs::read(path).map_err(|source| MetricsError::TokenFile {
                    path: path.to_path_buf(),
                    source,
                })?,
            );
        let line = text
            .strip_suffix(b"\r\n")
            .or_else(|| text.strip_suffix(b"\n"))
            .unwrap_or(&text);
        if !line.iter().all(u8::is_ascii_graphic) {
            return Err(MetricsError::TokenNotPrintable {
                path: path.to_path_buf(),
            });
        }
        if line.len() < MIN_TOKEN_LEN {
            return Err(MetricsError::TokenTooShort {
                path: path.to_path_buf(),
                min: MIN_TOKEN_LEN,
            });
        }
        Ok(MetricsToken(SecretDigest::of(TOKEN_DOMAIN, line)))
    }

    /// Whether `presented` is the token (digests compared in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        SecretDigest::of(TOKEN_DOMAIN, presented.as_bytes()).matches(&self.0 .0)
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

/// The issuer's counters and histograms, in a registry of its own (so that several issuers in
/// one process, as in the tests, count apart).
pub struct Metrics {
    registry: Registry,
    token: Option<MetricsToken>,
    issued: IntCounterVec,
    offers_redeemed: IntCounter,
    refusals: IntCounterVec,
    status_changes: IntCounterVec,
    requests: HistogramVec,
    storage_queue: Histogram,
    storage_write: Histogram,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every series; `token` (when set) lets the public listener serve them.
    ///
    /// # Errors
    /// [`MetricsError::Registry`] (not expected: the names are constants).
    pub fn new(token: Option<MetricsToken>) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let issued = IntCounterVec::new(
            Opts::new(
                "issuer_credentials_issued_total",
                "Credentials issued, by credential configuration and assurance level.",
            ),
            &["credential_configuration_id", "level"],
        )?;
        let offers_redeemed = IntCounter::new(
            "issuer_offers_redeemed_total",
            "Credential offers redeemed: pre-authorized code and tx_code accepted at /token.",
        )?;
        let refusals = IntCounterVec::new(
            Opts::new(
                "issuer_refusals_total",
                "Requests refused, by OAuth 2.0 / OpenID4VCI error code.",
            ),
            &["error"],
        )?;
        let status_changes = IntCounterVec::new(
            Opts::new(
                "issuer_status_changes_total",
                "Credentials whose status changed, by change.",
            ),
            &["change"],
        )?;
        let requests = HistogramVec::new(
            HistogramOpts::new(
                "issuer_http_request_duration_seconds",
                "HTTP request latency by method, route template and status.",
            )
            .buckets(REQUEST_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )?;
        let storage_queue = Histogram::with_opts(
            HistogramOpts::new(
                "issuer_storage_queue_wait_seconds",
                "Time a storage write waited before the writer ran it (SQLite: the writer \
                 thread's queue; PostgreSQL: waiting for a pooled connection).",
            )
            .buckets(STORAGE_BUCKETS.to_vec()),
        )?;
        let storage_write = Histogram::with_opts(
            HistogramOpts::new(
                "issuer_storage_write_duration_seconds",
                "Time from submitting a storage write until its durable commit answered, \
                 queue wait included.",
            )
            .buckets(STORAGE_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(issued.clone()))?;
        registry.register(Box::new(offers_redeemed.clone()))?;
        registry.register(Box::new(refusals.clone()))?;
        registry.register(Box::new(status_changes.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(storage_queue.clone()))?;
        registry.register(Box::new(storage_write.clone()))?;
        // The status changes are few and known: show them at zero from the start.
        for action in [
            StatusAction::Revoke,
            StatusAction::Suspend,
            StatusAction::Reinstate,
        ] {
            status_changes.with_label_values(&[change_label(action)]);
        }
        Ok(Metrics {
            registry,
            token,
            issued,
            offers_redeemed,
            refusals,
            status_changes,
            requests,
            storage_queue,
            storage_write,
        })
    }

    /// The token that opens `/metrics` on the public listener, when configured.
    pub fn token(&self) -> Option<&MetricsToken> {
        self.token.as_ref()
    }

    /// `count` credentials of `configuration` at `level` were issued.
    pub fn issued(&self, configuration: &str, level: &str, count: usize) {
        self.issued
            .with_label_values(&[configuration, level])
            .inc_by(count as u64);
    }

    /// A credential offer was redeemed at `/token`.
    pub fn offer_redeemed(&self) {
        self.offers_redeemed.inc();
    }

    /// A request was refused with the error code `code`.
    pub fn refused(&self, code: &'static str) {
        self.refusals.with_label_values(&[code]).inc();
    }

    /// `count` credentials changed status by `action`.
    pub fn status_changed(&self, action: StatusAction, count: usize) {
        self.status_changes
            .with_label_values(&[change_label(action)])
            .inc_by(count as u64);
    }

    /// A request to the route template `route` answered `status` after `elapsed`.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = METHODS
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("other");
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }

    /// What the storage calls with each write's queue wait and latency
    /// ([`crate::store::Store::observe_writes`]).
    pub fn storage_observer(&self) -> crate::store::WriteObserver {
        let (queue, write) = (self.storage_queue.clone(), self.storage_write.clone());
        Arc::new(move |queued: Duration, total: Duration| {
            queue.observe(queued.as_secs_f64());
            write.observe(total.as_secs_f64());
        })
    }

    /// Every series in the Prometheus text exposition format ([`CONTENT_TYPE`]).
    ///
    /// # Errors
    /// [`MetricsError::Registry`] when encoding fails (not expected).
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|_| MetricsError::Registry("not utf-8".into()))
    }
}

/// The label of a status change: what the credential became.
fn change_label(action: StatusAction) -> &'static str {
    match action {
        StatusAction::Revoke => "revoked",
        StatusAction::Suspend => "suspended",
        StatusAction::Reinstate => "reinstated",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metrics_listen_parses_off_and_addresses_and_refuses_the_rest() {
        assert_eq!(MetricsListen::parse("off").unwrap(), MetricsListen::Off);
        assert_eq!(
            MetricsListen::parse("0.0.0.0:9100").unwrap(),
            MetricsListen::At(SocketAddr::from(([0, 0, 0, 0], 9100)))
        );
        assert!(matches!(
            MetricsListen::parse("loopback"),
            Err(MetricsError::Listen)
        ));
    }

    #[test]
    fn the_default_metrics_listener_is_loopback_and_ephemeral_beside_an_ephemeral_public_port() {
        let fixed = SocketAddr::from(([0, 0, 0, 0], 8080));
        let ephemeral = SocketAddr::from(([127, 0, 0, 1], 0));
        assert_eq!(
            MetricsListen::Default.resolve(fixed),
            Some(DEFAULT_METRICS_LISTEN)
        );
        assert_eq!(
            MetricsListen::Default.resolve(ephemeral),
            Some(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert_eq!(MetricsListen::Off.resolve(fixed), None);
    }

    #[test]
    fn a_short_or_multi_line_metrics_token_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "abc\n").unwrap();
        assert!(matches!(
            MetricsToken::read(&short),
            Err(MetricsError::TokenTooShort {
                min: MIN_TOKEN_LEN,
                ..
            })
        ));
        let spaced = dir.path().join("spaced");
        std::fs::write(&spaced, format!("{} {}\n", "a".repeat(20), "b".repeat(20))).unwrap();
        assert!(matches!(
            MetricsToken::read(&spaced),
            Err(MetricsError::TokenNotPrintable { .. })
        ));
        let missing = dir.path().join("missing");
        assert!(matches!(
            MetricsToken::read(&missing),
            Err(MetricsError::TokenFile { .. })
        ));
    }

    #[test]
    fn the_metrics_token_matches_only_itself_and_never_prints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let secret = "s3cr3t-metrics-token-0123456789abcdef";
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        let token = MetricsToken::read(&path).unwrap();
        assert!(token.matches(secret));
        assert!(!token.matches(&secret[1..]));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }
}
