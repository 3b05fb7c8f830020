//! TLS for the PostgreSQL connection, with libpq's `sslmode` semantics, over rustls.
//!
//! ```text
//!  database_url ?sslmode=&sslrootcert=&sslcert=&sslkey=  ─┐   (either place, not both with
//!  database_sslmode, database_sslrootcert, ... (config)  ─┴─► different values)
//!        │
//!        ▼  PgTls::resolve: strips those keys from the URL for tokio-postgres, picks the default
//!  disable ─────────────► NoTls, no SSLRequest
//!  prefer  ─────────────► TLS if the server offers it, certificate not checked
//!  require ─────────────► TLS or refuse; certificate not checked (checked as verify-ca when
//!                         sslrootcert is given, as libpq does)
//!  verify-ca ───────────► TLS, chain to sslrootcert (or the system roots), any host name
//!  verify-full ─────────► TLS, chain and host name (the URL's host, not `hostaddr`)
//! ```
//!
//! Default when no `sslmode` is given: `verify-full`, unless every host is loopback
//! (`localhost`, `127.0.0.0/8`, `::1`, a Unix socket), where it is `prefer` (libpq's default).
//! Without `sslrootcert` the `verify-*` modes trust the system's roots (`/etc/ssl/certs`);
//! `sslrootcert=system` says so explicitly. `prefer` and `require` (without a root) stop a
//! passive eavesdropper only; a replica reaching its database over a network logs a warning in
//! those modes. TLS connections offer tokio-postgres the `tls-server-end-point` channel binding
//! (SCRAM-SHA-256-PLUS); `channel_binding=require` in the URL insists on it.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Deserialize;
use tokio_postgres::config::Host;

use super::settings::DatabaseUrl;

/// libpq's `sslmode` (PostgreSQL manual, section 32.19.3 "Protection Provided in Different
/// Modes"). `allow` is not offered: it never protects anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum SslMode {
    /// Plaintext; no TLS is asked for.
    Disable,
    /// TLS when the server offers it, plaintext otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked (unless `sslrootcert` is given).
    Require,
    /// TLS, and the certificate chains to a trusted root; any host name.
    VerifyCa,
    /// TLS, the certificate chains to a trusted root and names the host.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`).
    ///
    /// # Errors
    /// [`PgTlsError::InvalidSslMode`] for anything else (including `allow`).
    pub fn parse(text: &str) -> Result<SslMode, PgTlsError> {
        match text.trim() {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            _ => Err(PgTlsError::InvalidSslMode),
        }
    }

    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl TryFrom<String> for SslMode {
    type Error = PgTlsError;

    fn try_from(text: String) -> Result<SslMode, PgTlsError> {
        SslMode::parse(&text)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TLS settings from the configuration (`database_sslmode`, ...); each may instead come from
/// the URL's query (`?sslmode=...`), but not from both with different values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseTls {
    /// `sslmode`; `None`: the URL's, else the default (module docs).
    pub sslmode: Option<SslMode>,
    /// `sslrootcert`: PEM file of the trusted root certificates, or `system`.
    pub sslrootcert: Option<PathBuf>,
    /// `sslcert`: PEM file of the client certificate chain (client certificate login).
    pub sslcert: Option<PathBuf>,
    /// `sslkey`: PEM file of the client certificate's private key.
    pub sslkey: Option<PathBuf>,
}

/// The PostgreSQL connection settings are wrong (the URL or its TLS settings), or the server's
/// TLS was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgTlsError {
    /// `database_url` does not parse as a PostgreSQL URL.
    #[error("database_url is not a valid postgres:// URL")]
    BadUrl,
    /// `sslmode` is not one of the five modes.
    #[error("invalid sslmode: expected disable, prefer, require, verify-ca or verify-full")]
    InvalidSslMode,
    /// The URL's query and the configuration (or the query twice) set one TLS setting
    /// differently.
    #[error("{name} is set twice with different values (database_url's query, database_{name}): set it once")]
    Conflict {
        /// `sslmode`, `sslrootcert`, `sslcert` or `sslkey`.
        name: &'static str,
    },
    /// `sslcert` without `sslkey`, or the other way round.
    #[error("sslcert and sslkey go together: set both or neither")]
    ClientKeyPair,
    /// A certificate or key file cannot be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// `sslrootcert`, `sslcert` or `sslkey`.
        what: &'static str,
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{what} {path} holds no PEM {expected}")]
    NoPem {
        /// `sslrootcert`, `sslcert` or `sslkey`.
        what: &'static str,
        /// File.
        path: PathBuf,
        /// `certificate` or `private key`.
        expected: &'static str,
    },
    /// The system holds no root certificate rustls can use.
    #[error("no system root certificates found: set sslrootcert")]
    NoSystemRoots,
    /// rustls refused the client certificate and key (mismatch, unsupported key).
    #[error("client certificate rejected: {0}")]
    ClientCertificate(rustls::Error),
    /// `sslmode` needs TLS and the server does not offer it.
    #[error("the PostgreSQL server does not offer TLS, and sslmode={mode} requires it")]
    ServerWithoutTls {
        /// The mode.
        mode: SslMode,
    },
    /// The server's certificate does not chain to a trusted root.
    #[error("the PostgreSQL server's certificate is not issued by a trusted root (sslrootcert)")]
    UntrustedCertificate,
    /// The server's certificate does not name the host connected to (`verify-full`).
    #[error("the PostgreSQL server's certificate is not valid for host {host}")]
    WrongHostName {
        /// The URL's host.
        host: String,
    },
    /// The server's certificate is expired or not valid yet.
    #[error("the PostgreSQL server's certificate is expired or not yet valid")]
    CertificateExpired,
    /// Any other failure of the TLS handshake.
    #[error("TLS handshake with the PostgreSQL server failed: {0}")]
    Handshake(rustls::Error),
}

/// The resolved TLS setup of one database URL.
#[derive(Clone)]
pub struct PgTls {
    mode: SslMode,
    /// Every host is this machine (the default mode depends on it).
    loopback: bool,
    /// `Some` for every mode but `disable`.
    connector: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    host: String,
}

impl fmt::Debug for PgTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTls")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

const TLS_KEYS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// The URL's query values of [`TLS_KEYS`] (percent-decoded), and the URL without them.
///
/// # Errors
/// [`PgTlsError::Conflict`] when a key appears twice with different values.
fn split_url(url: &str) -> Result<(String, [Option<String>; 4]), PgTlsError> {
    let mut found: [Option<String>; 4] = Default::default();
    let Some((main, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), found));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        match TLS_KEYS.iter().position(|k| *k == key) {
            Some(i) => {
                let value = percent_decode(value);
                if found[i].as_ref().is_some_and(|seen| *seen != value) {
                    return Err(PgTlsError::Conflict { name: TLS_KEYS[i] });
                }
                found[i] = Some(value);
            }
            None => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        main.to_owned()
    } else {
        format!("{main}?{}", kept.join("&"))
    };
    Ok((rest, found))
}

fn percent_decode(text: &str) -> String {
    let hex = |b: &u8| (*b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                // Two hex digits: at most 0xff.
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn merge<T: PartialEq>(
    name: &'static str,
    from_url: Option<T>,
    configured: Option<T>,
) -> Result<Option<T>, PgTlsError> {
    match (from_url, configured) {
        (Some(a), Some(b)) if a != b => Err(PgTlsError::Conflict { name }),
        (a, b) => Ok(b.or(a)),
    }
}

/// Whether every host the configuration connects to is this machine.
fn all_loopback(config: &tokio_postgres::Config) -> bool {
    let addrs = config.get_hostaddrs();
    if !addrs.is_empty() {
        return addrs.iter().all(IpAddr::is_loopback);
    }
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|h| match h {
            Host::Tcp(name) => {
                let name = name.trim_start_matches('[').trim_end_matches(']');
                name.eq_ignore_ascii_case("localhost")
                    || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            #[cfg(unix)]
            Host::Unix(_) => true,
        })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, PgTlsError> {
    std::fs::read(path).map_err(|source| PgTlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn roots(sslrootcert: Option<&Path>) -> Result<RootCertStore, PgTlsError> {
    let mut store = RootCertStore::empty();
    match sslrootcert {
        Some(path) if path != Path::new("system") => {
            let pem = read("sslrootcert", path)?;
            for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                // A root the parser cannot use is skipped; an empty store is refused below.
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(PgTlsError::NoPem {
                    what: "sslrootcert",
                    path: path.to_path_buf(),
                    expected: "certificate",
                });
            }
        }
        _ => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(PgTlsError::NoSystemRoots);
            }
        }
    }
    Ok(store)
}

impl PgTls {
    /// Resolves the TLS setup of `url` with the configured `tls`, and returns it with the
    /// URL text tokio-postgres parses (the TLS keys removed, its own `sslmode` set).
    ///
    /// # Errors
    /// [`PgTlsError`] for a bad or conflicting setting or an unreadable certificate file, and
    /// [`PgTlsError::BadUrl`] when the rest of the URL does not parse.
    pub fn resolve(
        url: &DatabaseUrl,
        tls: &DatabaseTls,
    ) -> Result<(PgTls, tokio_postgres::Config), PgTlsError> {
        let (rest, [mode, rootcert, cert, key]) = split_url(url.expose())?;
        let mode = mode.map(|m| SslMode::parse(&m)).transpose()?;
        let mode = merge("sslmode", mode, tls.sslmode)?;
        let rootcert = merge(
            "sslrootcert",
            rootcert.map(PathBuf::from),
            tls.sslrootcert.clone(),
        )?;
        let cert = merge("sslcert", cert.map(PathBuf::from), tls.sslcert.clone())?;
        let key = merge("sslkey", key.map(PathBuf::from), tls.sslkey.clone())?;
        let mut config: tokio_postgres::Config = rest.parse().map_err(|_| PgTlsError::BadUrl)?;
        let loopback = all_loopback(&config);
        let mode = mode.unwrap_or(if loopback {
            SslMode::Prefer
        } else {
            SslMode::VerifyFull
        });
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            _ => String::new(),
        };
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        if mode == SslMode::Disable {
            return Ok((
                PgTls {
                    mode,
                    loopback,
                    connector: None,
                    host,
                },
                config,
            ));
        }
        let provider = provider();
        let verifier: Arc<dyn ServerCertVerifier> = match (mode, &rootcert) {
            (SslMode::Prefer, _) | (SslMode::Require, None) => Arc::new(Relaxed {
                provider: provider.clone(),
                webpki: None,
            }),
            _ => {
                let webpki = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots(rootcert.as_deref())?),
                    provider.clone(),
                )
                .build()
                .map_err(|e| PgTlsError::Handshake(rustls::Error::General(e.to_string())))?;
                if mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(Relaxed {
                        provider: provider.clone(),
                        webpki: Some(webpki),
                    })
                }
            }
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(PgTlsError::Handshake)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let client = match (cert, key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let pem = read("sslcert", &cert)?;
                let chain: Vec<CertificateDer<'static>> =
                    CertificateDer::pem_slice_iter(&pem).flatten().collect();
                if chain.is_empty() {
                    return Err(PgTlsError::NoPem {
                        what: "sslcert",
                        path: cert,
                        expected: "certificate",
                    });
                }
                let pem = read("sslkey", &key)?;
                let private =
                    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| PgTlsError::NoPem {
                        what: "sslkey",
                        path: key,
                        expected: "private key",
                    })?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(PgTlsError::ClientCertificate)?
            }
            _ => return Err(PgTlsError::ClientKeyPair),
        };
        Ok((
            PgTls {
                mode,
                loopback,
                connector: Some(tokio_postgres_rustls::MakeRustlsConnect::new(client)),
                host,
            },
            config,
        ))
    }

    /// The effective mode.
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// Whether the server is authenticated: `verify-ca`, `verify-full`, or a loopback host.
    pub fn authenticated(&self) -> bool {
        self.loopback || matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull)
    }

    /// The connector for deadpool: `None` for `disable`.
    pub(super) fn connector(&self) -> Option<tokio_postgres_rustls::MakeRustlsConnect> {
        self.connector.clone()
    }

    /// The TLS cause of a failed connection attempt, if it is one.
    pub fn classify(&self, e: &tokio_postgres::Error) -> Option<PgTlsError> {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(c) = cause {
            // tokio-postgres's own words when the server answers `N` to the SSLRequest and
            // the mode is `require` (connect_tls.rs); the test against a fake server pins it.
            if c.to_string() == "server does not support TLS" {
                return Some(PgTlsError::ServerWithoutTls { mode: self.mode });
            }
            let rustls_error = c.downcast_ref::<rustls::Error>().or_else(|| {
                c.downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            });
            if let Some(r) = rustls_error {
                return Some(match r {
                    rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. },
                    ) => PgTlsError::WrongHostName {
                        host: self.host.clone(),
                    },
                    rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer
                        | CertificateError::BadSignature
                        | CertificateError::UnhandledCriticalExtension,
                    ) => PgTlsError::UntrustedCertificate,
                    rustls::Error::InvalidCertificate(
                        CertificateError::Expired
                        | CertificateError::ExpiredContext { .. }
                        | CertificateError::NotValidYet
                        | CertificateError::NotValidYetContext { .. },
                    ) => PgTlsError::CertificateExpired,
                    other => PgTlsError::Handshake(other.clone()),
                });
            }
            cause = c.source();
        }
        None
    }
}

/// The server certificate checks short of libpq's `verify-full`. The handshake signatures are
/// always checked (with the provider's algorithms, as webpki does), so the channel binding is
/// the server's key's.
#[derive(Debug)]
struct Relaxed {
    provider: Arc<CryptoProvider>,
    /// `verify-ca`: the full WebPKI check (chain, validity, key usage) except the host name,
    /// which webpki checks last, after the chain. `None` (`prefer`, and `require` without
    /// `sslrootcert`): any certificate, as libpq does.
    webpki: Option<Arc<WebPkiServerVerifier>>,
}

/// A handshake signature check of [`ServerCertVerifier`], by the provider's algorithms.
macro_rules! signature_check {
    ($name:ident, $check:path) => {
        fn $name(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            $check(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }
    };
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    signature_check!(
        verify_tls12_signature,
        rustls::crypto::verify_tls12_signature
    );
    signature_check!(
        verify_tls13_signature,
        rustls::crypto::verify_tls13_signature
    );

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> DatabaseUrl {
        DatabaseUrl::parse(text).unwrap()
    }

    fn mode_of(text: &str, tls: &DatabaseTls) -> SslMode {
        PgTls::resolve(&url(text), tls).unwrap().0.mode()
    }

    /// Each URL of `cases` resolves to its mode under the file's settings `tls`.
    fn assert_modes(tls: &DatabaseTls, cases: &[(&str, SslMode)]) {
        for (text, mode) in cases {
            assert_eq!(mode_of(text, tls), *mode, "{text}");
        }
    }

    #[test]
    fn default_is_verify_full_off_loopback_and_prefer_on_it() {
        assert_modes(
            &DatabaseTls::default(),
            &[
                ("postgres://u:p@db.example/x", SslMode::VerifyFull),
                ("postgres://u:p@10.0.0.5/x", SslMode::VerifyFull),
                ("postgres://u:p@127.0.0.1/x", SslMode::Prefer),
                ("postgres://u:p@localhost/x", SslMode::Prefer),
                ("postgres://u:p@[::1]/x", SslMode::Prefer),
                (
                    "postgres://u:p@db.example/x?hostaddr=127.0.0.1",
                    SslMode::Prefer,
                ),
                ("postgres://u:p@localhost,db.example/x", SslMode::VerifyFull),
            ],
        );
    }

    #[test]
    fn mode_from_url_or_config() {
        assert_modes(
            &DatabaseTls::default(),
            &[
                (
                    "postgres://u:p@db.example/x?sslmode=disable",
                    SslMode::Disable,
                ),
                (
                    "postgres://u:p@h/x?application_name=a&sslmode=require",
                    SslMode::Require,
                ),
            ],
        );
        let cfg = DatabaseTls {
            sslmode: Some(SslMode::Require),
            ..DatabaseTls::default()
        };
        assert_modes(
            &cfg,
            &[
                ("postgres://u:p@h/x", SslMode::Require),
                ("postgres://u:p@h/x?sslmode=require", SslMode::Require),
            ],
        );
    }

    #[test]
    fn conflicting_settings_are_refused() {
        let cfg = DatabaseTls {
            sslmode: Some(SslMode::Disable),
            ..DatabaseTls::default()
        };
        let err = PgTls::resolve(&url("postgres://u:p@h/x?sslmode=verify-full"), &cfg).unwrap_err();
        assert!(matches!(err, PgTlsError::Conflict { name: "sslmode" }));
    }

    #[test]
    fn bad_mode_and_missing_files_are_typed() {
        let none = DatabaseTls::default();
        for bad in ["allow", "verify_full", ""] {
            let err = PgTls::resolve(&url(&format!("postgres://u:p@h/x?sslmode={bad}")), &none)
                .unwrap_err();
            assert!(matches!(err, PgTlsError::InvalidSslMode), "{bad}");
        }
        let err = PgTls::resolve(
            &url(
                "postgres://u:secretpw@h/x?sslmode=verify-ca&sslrootcert=/nonexistent%20dir/ca.pem",
            ),
            &none,
        )
        .unwrap_err();
        assert!(
            matches!(&err, PgTlsError::Read { what: "sslrootcert", path, .. } if path == Path::new("/nonexistent dir/ca.pem"))
        );
        assert!(!err.to_string().contains("secretpw"));
        let err = PgTls::resolve(&url("postgres://u:p@h/x?sslcert=/c.pem"), &none).unwrap_err();
        assert!(matches!(err, PgTlsError::ClientKeyPair));
    }

    #[test]
    fn tls_keys_are_removed_from_the_url() {
        let (rest, found) =
            split_url("postgres://u:p@h/x?sslmode=verify-full&connect_timeout=3&sslrootcert=%2Fa%")
                .unwrap();
        assert_eq!(rest, "postgres://u:p@h/x?connect_timeout=3");
        assert_eq!(found[0].as_deref(), Some("verify-full"));
        assert_eq!(found[1].as_deref(), Some("/a%"));
        let (rest, _) = split_url("postgres://u:p@h/x?sslmode=disable&sslmode=disable").unwrap();
        assert_eq!(rest, "postgres://u:p@h/x");
        assert!(matches!(
            split_url("postgres://u:p@h/x?sslmode=verify-full&sslmode=disable"),
            Err(PgTlsError::Conflict { name: "sslmode" })
        ));
    }
}
