//! Configuration: defaults, then `issuer.toml` in the data directory, then `ISSUER_*`
//! environment variables, then command-line flags (each overriding the one before).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use credential::jose::Alg;

pub use crate::hsm::HsmConfig;
pub use crate::metrics::MetricsListen;
pub use crate::store::DatabaseUrl;
use crate::store::{DatabaseTls, SslMode};

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory: database, keys, config file.
    pub data: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// The credential issuer identifier (OpenID4VCI section 12.2.1): `iss` of every credential.
    pub public_url: String,
    /// Whether `public_url` was configured; when not, `issuer serve` derives it from the bound
    /// address.
    pub public_url_set: bool,
    /// Whether `DATA/issuer.toml` records `public_url`; when not, `issuer serve` records the URL
    /// it serves under there on start ([`record_public_url`]).
    pub public_url_recorded: bool,
    /// Algorithm of newly generated credential signing keys.
    pub key_alg: Alg,
    /// Most proofs (credentials) in one credential request.
    pub batch_size: usize,
    /// Lifetime of a credential offer's pre-authorized code, seconds.
    pub offer_ttl: i64,
    /// Wrong `tx_code` attempts before the code is dead.
    pub tx_code_attempts: i64,
    /// Access token lifetime, seconds.
    pub access_token_ttl: i64,
    /// Refresh token lifetime, seconds; each rotation starts a new one (sliding).
    pub refresh_token_ttl: i64,
    /// Reuse grace window, seconds: a spent refresh token presented again this soon after its
    /// use, while its successor is unused, gets a fresh successor instead of revoking its
    /// family (a retry after a lost answer). 0 disables it.
    pub refresh_reuse_grace: i64,
    /// Least time, seconds, between two successful refreshes of one refresh-token family (one
    /// enrolment's offer): a refresh sooner than this after the family's previous one is
    /// refused with `slow_down` and leaves the token usable. A grace retry is not a new
    /// refresh. 0 disables the limit.
    pub refresh_min_interval: i64,
    /// `c_nonce` and attestation-nonce lifetime, seconds.
    pub nonce_ttl: i64,
    /// Accepted age of a proof JWT's `iat`, seconds (and of a face-match attestation).
    pub proof_max_age: i64,
    /// Accepted age of a face-match attestation's `iat`, seconds.
    pub attestation_max_age: i64,
    /// Lowest face-match score that enrols.
    pub min_face_match_score: f64,
    /// Credential validity, days.
    pub credential_validity_days: i64,
    /// Status-list token `ttl` and `Cache-Control: max-age`, seconds.
    pub status_ttl: i64,
    /// Status-list token lifetime (`exp - iat`), seconds.
    pub status_validity: i64,
    /// Entries per status shard (Token Status List `lst` length). 2^20 by default.
    pub shard_size: u32,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// Seconds a client has to send a request's headers (also the idle time of a kept-alive
    /// connection); then the connection is closed.
    pub header_read_timeout: u64,
    /// Seconds a client has to send a whole request body; then `408` and the connection closes.
    pub body_read_timeout: u64,
    /// Most open client connections; a connection beyond it is closed at once.
    pub max_connections: usize,
    /// Most open client connections from one IP address; a connection beyond it is closed at
    /// once.
    pub max_connections_per_ip: usize,
    /// PostgreSQL database shared by replicas; `None`: SQLite in the data directory.
    pub database_url: Option<DatabaseUrl>,
    /// Most PostgreSQL connections this replica holds.
    pub database_pool: usize,
    /// TLS of the PostgreSQL connection (`database_sslmode`, `database_sslrootcert`,
    /// `database_sslcert`, `database_sslkey`); each may instead be in `database_url`'s query.
    pub database_tls: DatabaseTls,
    /// The master secret (32 bytes) every replica shares; `None`: `DATA/keys/master.secret`,
    /// generated on first start.
    pub master_secret_file: Option<PathBuf>,
    /// Seconds between housekeeping sweeps inside `issuer serve` (0: none; `issuer sweep`
    /// still works). 600 by default.
    pub sweep_interval: u64,
    /// Most rows (refresh families) one sweep transaction deletes. 1000 by default.
    pub sweep_chunk: i64,
    /// `hsm_*` settings: new signing keys are generated in and sign in this PKCS#11 token; `None`
    /// (the default): sealed in the database under the master secret.
    pub hsm: Option<HsmConfig>,
    /// Where `issuer serve` serves `/metrics` on a listener of its own (`off`: nowhere but the
    /// public listener with `metrics_token_file`).
    pub metrics_listen: MetricsListen,
    /// A file holding the bearer token that opens `/metrics` on the public listener; `None`:
    /// the public listener does not serve it.
    pub metrics_token_file: Option<PathBuf>,
}

impl TryFrom<String> for DatabaseUrl {
    type Error = ConfigError;

    fn try_from(text: String) -> Result<DatabaseUrl, ConfigError> {
        DatabaseUrl::parse(&text)
    }
}

impl DatabaseUrl {
    /// Accepts `postgres://...` and `postgresql://...`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for anything else.
    pub fn parse(text: &str) -> Result<DatabaseUrl, ConfigError> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(DatabaseUrl(text.to_owned()))
        } else {
            Err(ConfigError::Invalid {
                name: "database_url",
                expected: "a postgres:// URL (leave it unset for SQLite)",
            })
        }
    }
}

impl Config {
    /// Defaults for `data`.
    pub fn defaults(data: PathBuf) -> Config {
        Config {
            data,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            public_url_set: false,
            public_url_recorded: false,
            key_alg: Alg::Es256,
            batch_size: 10,
            offer_ttl: 7 * 24 * 3600,
            tx_code_attempts: 5,
            access_token_ttl: 300,
            refresh_token_ttl: 90 * 24 * 3600,
            refresh_reuse_grace: 60,
            refresh_min_interval: 3600,
            nonce_ttl: 300,
            proof_max_age: 300,
            attestation_max_age: 300,
            min_face_match_score: 0.85,
            credential_validity_days: 365,
            status_ttl: 300,
            status_validity: 24 * 3600,
            shard_size: 1 << 20,
            body_limit: 256 * 1024,
            header_read_timeout: 10,
            body_read_timeout: 30,
            max_connections: 512,
            max_connections_per_ip: 64,
            database_url: None,
            database_pool: 16,
            database_tls: DatabaseTls::default(),
            master_secret_file: None,
            sweep_interval: 600,
            sweep_chunk: 1000,
            hsm: None,
            metrics_listen: MetricsListen::Default,
            metrics_token_file: None,
        }
    }
}

/// The config file, `issuer.toml` in the data directory. Every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    key_alg: Option<String>,
    batch_size: Option<usize>,
    offer_ttl: Option<i64>,
    tx_code_attempts: Option<i64>,
    access_token_ttl: Option<i64>,
    refresh_token_ttl: Option<i64>,
    refresh_reuse_grace: Option<i64>,
    refresh_min_interval: Option<i64>,
    nonce_ttl: Option<i64>,
    proof_max_age: Option<i64>,
    attestation_max_age: Option<i64>,
    min_face_match_score: Option<f64>,
    credential_validity_days: Option<i64>,
    status_ttl: Option<i64>,
    status_validity: Option<i64>,
    shard_size: Option<u32>,
    body_limit: Option<usize>,
    header_read_timeout: Option<u64>,
    body_read_timeout: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    database_url: Option<DatabaseUrl>,
    database_pool: Option<usize>,
    database_sslmode: Option<SslMode>,
    database_sslrootcert: Option<PathBuf>,
    database_sslcert: Option<PathBuf>,
    database_sslkey: Option<PathBuf>,
    master_secret_file: Option<PathBuf>,
    sweep_interval: Option<u64>,
    sweep_chunk: Option<i64>,
    hsm_module: Option<PathBuf>,
    hsm_token_label: Option<String>,
    hsm_slot: Option<u64>,
    hsm_pin_file: Option<PathBuf>,
    hsm_pin_env: Option<String>,
    metrics_listen: Option<MetricsListen>,
    metrics_token_file: Option<PathBuf>,
}

/// A configuration value is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The config file does not parse.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {name}: {expected}")]
    Invalid {
        /// Setting.
        name: &'static str,
        /// What is allowed.
        expected: &'static str,
    },
    /// `--public-url` (or `ISSUER_PUBLIC_URL`) differs from the URL the data directory records.
    #[error(
        "public_url {given} differs from {recorded}, the URL recorded in {path}; \
         edit public_url there to move the bureau deliberately"
    )]
    PublicUrlChanged {
        /// The `issuer.toml` that records it.
        path: PathBuf,
        /// The recorded URL.
        recorded: String,
        /// The URL given by flag or environment.
        given: String,
    },
    /// The data directory is not there: a mistyped `--data` must not create a second bureau.
    #[error(
        "data directory {path} {problem}: check --data (or ISSUER_DATA); \
         only `issuer serve` creates a new bureau's data directory"
    )]
    NoDataDir {
        /// The directory given.
        path: PathBuf,
        /// "does not exist" or "is not a directory".
        problem: &'static str,
    },
    /// `issuer.toml` cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Overrides from the command line; `None` leaves the value alone.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `issuer serve --alg`.
    pub key_alg: Option<String>,
    /// `--database-url`.
    pub database_url: Option<DatabaseUrl>,
    /// `--master-secret-file`.
    pub master_secret_file: Option<PathBuf>,
    /// `issuer serve --metrics-listen`.
    pub metrics_listen: Option<MetricsListen>,
    /// `issuer serve --metrics-token-file`.
    pub metrics_token_file: Option<PathBuf>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_env<T: std::str::FromStr>(name: &'static str) -> Result<Option<T>, ConfigError> {
    match env(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ConfigError::Invalid {
            name,
            expected: "a value of the right type",
        }),
    }
}

/// The data directory: the flag, else `ISSUER_DATA`, else `./issuer-data`.
pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| env("ISSUER_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("issuer-data"))
}

/// Checks that the data directory of an existing bureau is there. Every command but `issuer
/// serve` calls this before opening it, so a mistyped `--data` is refused instead of becoming
/// a second bureau with new keys.
///
/// # Errors
/// [`ConfigError::NoDataDir`] when `data` is missing or not a directory.
pub fn require_data_dir(data: &Path) -> Result<(), ConfigError> {
    let problem = match std::fs::metadata(data) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => "is not a directory",
        Err(_) => "does not exist",
    };
    Err(ConfigError::NoDataDir {
        path: data.to_path_buf(),
        problem,
    })
}

/// Records `url` as the bureau's `public_url` in `DATA/issuer.toml` (appended; the file is
/// created, mode 0600, when missing), so the operator commands on this data directory name the
/// same issuer as the service.
///
/// # Errors
/// [`ConfigError::Read`] or [`ConfigError::Write`] when the file cannot be read or written.
pub fn record_public_url(data: &Path, url: &str) -> Result<(), ConfigError> {
    use std::io::Write as _;
    let path = data.join("issuer.toml");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let separator = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let entry = format!(
        "{separator}# The URL this bureau serves under (the credentials' iss), recorded by the first\n\
         # `issuer serve`. Every command on this directory uses it; edit it only to move the bureau.\n\
         public_url = {}\n",
        toml::Value::String(url.to_owned())
    );
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = |source| ConfigError::Write {
        path: path.clone(),
        source,
    };
    let mut file = options.open(&path).map_err(write)?;
    file.write_all(entry.as_bytes()).map_err(write)?;
    file.sync_all().map_err(write)
}

/// The HSM settings of `issuer.toml` (`hsm_module`, one of `hsm_token_label` and `hsm_slot`,
/// one of `hsm_pin_file` and `hsm_pin_env`); `None` when none is set.
fn hsm_config(file: &FileConfig) -> Result<Option<HsmConfig>, ConfigError> {
    let any = file.hsm_token_label.is_some()
        || file.hsm_slot.is_some()
        || file.hsm_pin_file.is_some()
        || file.hsm_pin_env.is_some();
    let invalid = ConfigError::Invalid {
        name: "hsm_module",
        expected: "hsm_module with one of hsm_token_label and hsm_slot \
                   and one of hsm_pin_file and hsm_pin_env",
    };
    let Some(module) = file.hsm_module.clone() else {
        return if any { Err(invalid) } else { Ok(None) };
    };
    let hsm = HsmConfig {
        module,
        token_label: file.hsm_token_label.clone(),
        slot: file.hsm_slot,
        pin_file: file.hsm_pin_file.clone(),
        pin_env: file.hsm_pin_env.clone(),
    };
    hsm.check().map_err(|_| invalid)?;
    Ok(Some(hsm))
}

/// Resolves the configuration for `data`.
///
/// # Errors
/// [`ConfigError`] when the file does not parse or a value is out of range, and
/// [`ConfigError::PublicUrlChanged`] when a flag or `ISSUER_PUBLIC_URL` names another
/// `public_url` than the one `issuer.toml` records.
pub fn load(data: &Path, flags: &Overrides) -> Result<Config, ConfigError> {
    let mut cfg = Config::defaults(data.to_path_buf());
    let path = data.join("issuer.toml");
    let file: FileConfig = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.message().to_owned(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    database_tls(&mut cfg.database_tls, &file)?;
    cfg.hsm = hsm_config(&file)?;
    let mut key_alg = file.key_alg;
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = file.$field {
                cfg.$field = v;
            }
        };
    }
    set!(listen);
    if let Some(v) = &file.public_url {
        cfg.public_url = v.clone();
    }
    set!(batch_size);
    set!(offer_ttl);
    set!(tx_code_attempts);
    set!(access_token_ttl);
    set!(refresh_token_ttl);
    set!(refresh_reuse_grace);
    set!(refresh_min_interval);
    set!(nonce_ttl);
    set!(proof_max_age);
    set!(attestation_max_age);
    set!(min_face_match_score);
    set!(credential_validity_days);
    set!(status_ttl);
    set!(status_validity);
    set!(shard_size);
    set!(body_limit);
    set!(header_read_timeout);
    set!(body_read_timeout);
    set!(max_connections);
    set!(max_connections_per_ip);
    set!(database_pool);
    set!(sweep_interval);
    set!(sweep_chunk);
    set!(metrics_listen);
    if file.metrics_token_file.is_some() {
        cfg.metrics_token_file = file.metrics_token_file;
    }
    let mut database_url = file.database_url;
    if file.master_secret_file.is_some() {
        cfg.master_secret_file = file.master_secret_file;
    }

    if let Some(v) = parse_env("ISSUER_LISTEN")? {
        cfg.listen = v;
    }
    if let Some(v) = env("ISSUER_PUBLIC_URL") {
        cfg.public_url = v;
    }
    if let Some(v) = env("ISSUER_KEY_ALG") {
        key_alg = Some(v);
    }
    if let Some(v) = parse_env("ISSUER_BATCH_SIZE")? {
        cfg.batch_size = v;
    }
    if let Some(v) = parse_env("ISSUER_MIN_FACE_MATCH_SCORE")? {
        cfg.min_face_match_score = v;
    }
    if let Some(v) = parse_env("ISSUER_SHARD_SIZE")? {
        cfg.shard_size = v;
    }
    if let Some(v) = env("ISSUER_DATABASE_URL") {
        database_url = Some(DatabaseUrl::parse(&v)?);
    }
    if let Some(v) = parse_env("ISSUER_DATABASE_POOL")? {
        cfg.database_pool = v;
    }
    if let Some(v) = env("ISSUER_MASTER_SECRET_FILE") {
        cfg.master_secret_file = Some(PathBuf::from(v));
    }
    if let Some(v) = parse_env("ISSUER_SWEEP_INTERVAL")? {
        cfg.sweep_interval = v;
    }
    if let Some(v) = parse_env("ISSUER_METRICS_LISTEN")? {
        cfg.metrics_listen = v;
    }
    if let Some(v) = env("ISSUER_METRICS_TOKEN_FILE") {
        cfg.metrics_token_file = Some(PathBuf::from(v));
    }

    if let Some(v) = flags.listen {
        cfg.listen = v;
    }
    if let Some(v) = &flags.public_url {
        cfg.public_url = v.clone();
    }
    if let Some(v) = &flags.key_alg {
        key_alg = Some(v.clone());
    }
    if let Some(v) = &flags.database_url {
        database_url = Some(v.clone());
    }
    if let Some(v) = &flags.master_secret_file {
        cfg.master_secret_file = Some(v.clone());
    }
    if let Some(v) = flags.metrics_listen {
        cfg.metrics_listen = v;
    }
    if let Some(v) = &flags.metrics_token_file {
        cfg.metrics_token_file = Some(v.clone());
    }
    cfg.database_url = database_url;
    if let Some(alg) = key_alg {
        cfg.key_alg = Alg::parse(&alg).map_err(|_| ConfigError::Invalid {
            name: "key_alg",
            expected: "ES256 or EdDSA",
        })?;
    }
    cfg.public_url_set = file.public_url.is_some()
        || env("ISSUER_PUBLIC_URL").is_some()
        || flags.public_url.is_some();
    cfg.public_url_recorded = file.public_url.is_some();
    let given = flags
        .public_url
        .clone()
        .or_else(|| env("ISSUER_PUBLIC_URL"));
    if let (Some(recorded), Some(given)) = (&file.public_url, given) {
        let recorded = recorded.trim_end_matches('/');
        if recorded != given.trim_end_matches('/') {
            return Err(ConfigError::PublicUrlChanged {
                path,
                recorded: recorded.to_owned(),
                given,
            });
        }
    }
    if !cfg.public_url_set {
        cfg.public_url = format!("http://{}", cfg.listen);
    }
    cfg.public_url = cfg.public_url.trim_end_matches('/').to_owned();
    validate(&cfg)?;
    Ok(cfg)
}

/// The `database_ssl*` settings: the file's, then `ISSUER_DATABASE_SSL*`.
fn database_tls(tls: &mut DatabaseTls, file: &FileConfig) -> Result<(), ConfigError> {
    tls.sslmode = file.database_sslmode;
    tls.sslrootcert.clone_from(&file.database_sslrootcert);
    tls.sslcert.clone_from(&file.database_sslcert);
    tls.sslkey.clone_from(&file.database_sslkey);
    if let Some(v) = env("ISSUER_DATABASE_SSLMODE") {
        tls.sslmode = Some(SslMode::parse(&v).map_err(|_| ConfigError::Invalid {
            name: "database_sslmode",
            expected: "disable, prefer, require, verify-ca or verify-full",
        })?);
    }
    for (name, slot) in [
        ("ISSUER_DATABASE_SSLROOTCERT", &mut tls.sslrootcert),
        ("ISSUER_DATABASE_SSLCERT", &mut tls.sslcert),
        ("ISSUER_DATABASE_SSLKEY", &mut tls.sslkey),
    ] {
        if let Some(v) = env(name) {
            *slot = Some(PathBuf::from(v));
        }
    }
    Ok(())
}

fn validate(cfg: &Config) -> Result<(), ConfigError> {
    // (broken, setting, what it must be), checked in order; the first broken rule is reported.
    let rules: [(bool, &'static str, &'static str); 15] = [
        (
            !(cfg.public_url.starts_with("https://") || cfg.public_url.starts_with("http://")),
            "public_url",
            "an http or https URL",
        ),
        (
            !(1..=100).contains(&cfg.batch_size),
            "batch_size",
            "1 to 100",
        ),
        (
            !(0.0..=1.0).contains(&cfg.min_face_match_score),
            "min_face_match_score",
            "0 to 1",
        ),
        (
            !(16..=(1 << 24)).contains(&cfg.shard_size) || cfg.shard_size % 4 != 0,
            "shard_size",
            "a multiple of 4 from 16 to 2^24",
        ),
        (
            !(1..=1000).contains(&cfg.database_pool),
            "database_pool",
            "1 to 1000",
        ),
        (
            cfg.refresh_token_ttl < 60,
            "refresh_token_ttl",
            "at least 60 seconds",
        ),
        (
            !(1..=100_000).contains(&cfg.sweep_chunk),
            "sweep_chunk",
            "1 to 100000",
        ),
        (
            !(0..=600).contains(&cfg.refresh_reuse_grace),
            "refresh_reuse_grace",
            "0 (off) to 600 seconds",
        ),
        (
            !(0..=30 * 24 * 3600).contains(&cfg.refresh_min_interval),
            "refresh_min_interval",
            "0 (off) to 2592000 seconds (30 days)",
        ),
        (
            !(1..=600).contains(&cfg.header_read_timeout),
            "header_read_timeout",
            "1 to 600 seconds",
        ),
        (
            !(1..=600).contains(&cfg.body_read_timeout),
            "body_read_timeout",
            "1 to 600 seconds",
        ),
        (
            !(1..=100_000).contains(&cfg.max_connections),
            "max_connections",
            "1 to 100000",
        ),
        (
            !(1..=cfg.max_connections).contains(&cfg.max_connections_per_ip),
            "max_connections_per_ip",
            "1 to max_connections",
        ),
        (
            !(1..=64 * 1024 * 1024).contains(&cfg.body_limit),
            "body_limit",
            "1 to 67108864 bytes",
        ),
        (cfg.tx_code_attempts < 1, "tx_code_attempts", "at least 1"),
    ];
    match rules.into_iter().find(|(broken, ..)| *broken) {
        Some((_, name, expected)) => Err(ConfigError::Invalid { name, expected }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Loads the configuration of the data directory `dir` whose `issuer.toml` is `toml`.
    fn load_file(dir: &Path, toml: &str) -> Result<Config, ConfigError> {
        std::fs::write(dir.join("issuer.toml"), toml).unwrap();
        load(dir, &Overrides::default())
    }

    /// Each of the `issuer.toml` lines `bad` is refused as an invalid `name`.
    fn assert_invalid(dir: &Path, name: &str, bad: &[&str]) {
        for line in bad {
            match load_file(dir, &format!("{line}\n")) {
                Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn refresh_token_ttl_from_the_file_and_its_lower_bound() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load_file(dir.path(), "refresh_token_ttl = 3600\n").unwrap();
        assert_eq!(cfg.refresh_token_ttl, 3600);
        assert_invalid(dir.path(), "refresh_token_ttl", &["refresh_token_ttl = 10"]);
    }

    #[test]
    fn sweep_settings_from_the_file_and_the_chunk_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!((cfg.sweep_interval, cfg.sweep_chunk), (600, 1000));
        let cfg = load_file(dir.path(), "sweep_interval = 0\nsweep_chunk = 50\n").unwrap();
        assert_eq!((cfg.sweep_interval, cfg.sweep_chunk), (0, 50));
        assert_invalid(dir.path(), "sweep_chunk", &["sweep_chunk = 0"]);
    }

    #[test]
    fn refresh_min_interval_defaults_to_an_hour_and_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(cfg.refresh_min_interval, 3600);
        let cfg = load_file(dir.path(), "refresh_min_interval = 0\n").unwrap();
        assert_eq!(cfg.refresh_min_interval, 0);
        assert_invalid(
            dir.path(),
            "refresh_min_interval",
            &[
                "refresh_min_interval = -1",
                "refresh_min_interval = 2592001",
            ],
        );
    }

    #[test]
    fn refresh_reuse_grace_defaults_to_a_minute_and_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(cfg.refresh_reuse_grace, 60);
        let cfg = load_file(dir.path(), "refresh_reuse_grace = 0\n").unwrap();
        assert_eq!(cfg.refresh_reuse_grace, 0);
        assert_invalid(
            dir.path(),
            "refresh_reuse_grace",
            &["refresh_reuse_grace = -1", "refresh_reuse_grace = 601"],
        );
    }

    #[test]
    fn slow_client_limits_have_defaults_come_from_the_file_and_are_bounded() {
        let limits = |cfg: Config| {
            (
                cfg.header_read_timeout,
                cfg.body_read_timeout,
                cfg.max_connections,
                cfg.max_connections_per_ip,
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let cfg = load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(limits(cfg), (10, 30, 512, 64));
        let cfg = load_file(
            dir.path(),
            "header_read_timeout = 2\nbody_read_timeout = 3\nmax_connections = 40\nmax_connections_per_ip = 4\n",
        )
        .unwrap();
        assert_eq!(limits(cfg), (2, 3, 40, 4));
        assert_invalid(
            dir.path(),
            "header_read_timeout",
            &["header_read_timeout = 0"],
        );
        assert_invalid(
            dir.path(),
            "body_read_timeout",
            &["body_read_timeout = 601"],
        );
        assert_invalid(dir.path(), "max_connections", &["max_connections = 0"]);
        assert_invalid(
            dir.path(),
            "max_connections_per_ip",
            &["max_connections = 10\nmax_connections_per_ip = 11"],
        );
    }

    #[test]
    fn a_recorded_public_url_keeps_the_other_settings_and_wins_over_the_default() {
        let dir = tempfile::tempdir().unwrap();
        // A file without a final newline: the record still starts on its own line.
        std::fs::write(dir.path().join("issuer.toml"), "batch_size = 4").unwrap();
        record_public_url(dir.path(), "https://id.example.cn").unwrap();
        let cfg = load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(cfg.batch_size, 4);
        assert_eq!(cfg.public_url, "https://id.example.cn");
        assert!(cfg.public_url_set && cfg.public_url_recorded);
        // The same URL given again (a trailing slash aside) is no conflict; another one is.
        let same = Overrides {
            public_url: Some("https://id.example.cn/".into()),
            ..Overrides::default()
        };
        assert!(load(dir.path(), &same).is_ok());
        let other = Overrides {
            public_url: Some("https://other.example.cn".into()),
            ..Overrides::default()
        };
        assert!(matches!(
            load(dir.path(), &other),
            Err(ConfigError::PublicUrlChanged { recorded, given, .. })
                if recorded == "https://id.example.cn" && given == "https://other.example.cn"
        ));
    }

    #[test]
    fn a_missing_data_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(require_data_dir(dir.path()).is_ok());
        let missing = dir.path().join("nope");
        assert!(matches!(
            require_data_dir(&missing),
            Err(ConfigError::NoDataDir {
                problem: "does not exist",
                ..
            })
        ));
    }

    #[test]
    fn database_url_hides_the_password() {
        let url = DatabaseUrl::parse(
            "postgres://issuer:s3cret-pw@db.internal:5432/issuer?sslmode=disable",
        )
        .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("postgres://issuer:***@db.internal:5432/issuer?sslmode=disable"));
        let mut cfg = Config::defaults("d".into());
        cfg.database_url = Some(url);
        assert!(!format!("{cfg:?}").contains("s3cret-pw"));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        // libpq also takes the password as a query parameter.
        let url = DatabaseUrl::parse(
            "postgres://issuer@db.internal/issuer?password=q-s3cret&sslmode=require&sslpassword=k-s3cret",
        )
        .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("?password=***&sslmode=require&sslpassword=***"),
            "{shown}"
        );
    }

    #[test]
    fn database_tls_settings_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load_file(
            dir.path(),
            "database_sslmode = \"verify-full\"\ndatabase_sslrootcert = \"/etc/issuer/pg-ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(cfg.database_tls.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(
            cfg.database_tls.sslrootcert.as_deref(),
            Some(Path::new("/etc/issuer/pg-ca.pem"))
        );
        assert!(matches!(
            load_file(dir.path(), "database_sslmode = \"allow\"\n"),
            Err(ConfigError::Parse { .. })
        ));
    }
}
