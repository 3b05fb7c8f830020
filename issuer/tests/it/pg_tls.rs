//! TLS of the PostgreSQL connection against the real local cluster (`.ci/postgres` turns `ssl`
//! on with Debian's snakeoil certificate): `require` is encrypted, `disable` is not,
//! `verify-full` with the server's certificate as root and its host name connects, a wrong
//! root or a wrong host name is refused with a typed error that shows no password, and
//! `require` refuses a server that offers no TLS (a fake server; runs without PostgreSQL).
//!
//! Needs `ISSUER_TEST_DATABASE_URL`, `ISSUER_TEST_PG_TLS_ROOT` (the server certificate's root,
//! PEM) and `ISSUER_TEST_PG_TLS_HOST` (a DNS name in that certificate): skips otherwise, fails
//! under `CI_REQUIRE_POSTGRES=1`.

use issuer::config::DatabaseUrl;
use issuer::store::DbError;
use issuer::store::{DatabaseTls, PgStore, PgTlsError, SslMode};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::client::*;

/// A self-signed CA that signed nothing the server has.
const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBlDCCATugAwIBAgIUaQ1CS+WmsjsdyEZlrOMVNeg5C7owCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUaXNzdWVyIHRlc3Qgb3RoZXIgQ0EwIBcNMjYxMTIyMDMzMTU1
WhgPMjEyNjEwMjkwMzMxNTVaMB8xHTAbBgNVBAMMFGlzc3VlciB0ZXN0IG90aGVy
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEr+f+hx4MbqjWm4s6CgcOuVVZ
68viRLWjRU2fJ39COkP+7QvoPPQp33wGT+KNdmzNFuq+ZNoprOXtxB5pSe+rqKNT
MFEwHQYDVR0OBBYEFAW9Bl33WGdzaZUBU094y02UVZ6TMB8GA1UdIwQYMBaAFAW9
Bl33WGdzaZUBU094y02UVZ6TMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
RwAwRAIgWEUJ+PTdqMqGvwaeBTg2zLOfY28980CUnPXaUbq+O9gCIA1lMzGtci8q
A14J4pH/G/AwofPhuv6L5U8Y0FXPZay0
-----END CERTIFICATE-----
";

/// The TLS test setup; holds the PostgreSQL test gate while a test runs.
struct TlsEnv {
    /// A fresh database's URL (host 127.0.0.1 or as `.ci/postgres` printed it).
    url: String,
    root: String,
    host: String,
    _gate: tokio::sync::RwLockReadGuard<'static, ()>,
}

impl TlsEnv {
    /// The database URL with `host` (when given) and `sslmode=MODE&sslrootcert=ROOT`.
    fn rooted(&self, host: Option<&str>, mode: &str) -> DatabaseUrl {
        with(
            &self.url,
            host,
            &format!("sslmode={mode}&sslrootcert={}", self.root),
        )
    }

    /// A store connected to the database URL with `params` added; it must connect.
    async fn connected(&self, params: &str) -> PgStore {
        connect(&with(&self.url, None, params)).await.unwrap()
    }

    /// `err` shows no password, neither displayed nor debugged.
    fn assert_hides_password(&self, err: &DbError) {
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&password(&self.url)), "{shown}");
    }
}

fn tls_env_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("CI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CI_REQUIRE_POSTGRES=1 but {name} is not set"
            );
            eprintln!(
                "skipped: set {name} (eval \"$(.ci/postgres)\") to run the PostgreSQL TLS tests"
            );
            None
        }
    }
}

async fn tls_env() -> Option<TlsEnv> {
    let gate = PG_GATE.read().await;
    postgres_base_url()?;
    let root = tls_env_var("ISSUER_TEST_PG_TLS_ROOT")?;
    let host = tls_env_var("ISSUER_TEST_PG_TLS_HOST")?;
    let url = fresh_postgres_database().await?;
    Some(TlsEnv {
        url,
        root,
        host,
        _gate: gate,
    })
}

/// `url` with its host replaced by `host` (when given) and `params` added to the query.
fn with(url: &str, host: Option<&str>, params: &str) -> DatabaseUrl {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, rest) = rest.rsplit_once('@').unwrap();
    let rest = match host {
        Some(host) => {
            let port_at = rest.find([':', '/']).unwrap();
            format!("{host}{}", &rest[port_at..])
        }
        None => rest.to_owned(),
    };
    let sep = if rest.contains('?') { '&' } else { '?' };
    DatabaseUrl::parse(&format!("{scheme}://{userinfo}@{rest}{sep}{params}")).unwrap()
}

fn password(url: &str) -> String {
    let userinfo = url.split_once("://").unwrap().1.rsplit_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_owned()
}

async fn connect(url: &DatabaseUrl) -> Result<PgStore, DbError> {
    PgStore::connect(
        url,
        &DatabaseTls::default(),
        2,
        ChaCha20Rng::seed_from_u64(1),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_connects_over_tls() {
    let Some(env) = tls_env().await else { return };
    let store = env.connected("sslmode=require").await;
    assert_eq!(store.sslmode(), SslMode::Require);
    assert!(store.tls_in_use().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_is_plaintext() {
    let Some(env) = tls_env().await else { return };
    let store = env.connected("sslmode=disable").await;
    assert!(!store.tls_in_use().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_default_is_prefer_and_encrypts() {
    let Some(env) = tls_env().await else { return };
    let store = connect(&DatabaseUrl::parse(&env.url).unwrap())
        .await
        .unwrap();
    assert_eq!(store.sslmode(), SslMode::Prefer);
    assert!(store.tls_in_use().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_servers_root_and_host_name_connects() {
    let Some(env) = tls_env().await else { return };
    // The certificate's name, reached at the loopback address the cluster listens on.
    let url = with(
        &env.url,
        Some(&env.host),
        &format!(
            "hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
            env.root
        ),
    );
    let store = connect(&url).await.unwrap();
    assert_eq!(store.sslmode(), SslMode::VerifyFull);
    assert!(store.tls_in_use().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_from_config_rather_than_url_connects() {
    let Some(env) = tls_env().await else { return };
    let url = with(&env.url, Some(&env.host), "hostaddr=127.0.0.1");
    let tls = DatabaseTls {
        sslmode: Some(SslMode::VerifyFull),
        sslrootcert: Some(env.root.clone().into()),
        ..DatabaseTls::default()
    };
    let store = PgStore::connect(&url, &tls, 2, ChaCha20Rng::seed_from_u64(1))
        .await
        .unwrap();
    assert!(store.tls_in_use().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_accepts_another_host_name() {
    let Some(env) = tls_env().await else { return };
    let url = env.rooted(Some("127.0.0.1"), "verify-ca");
    let store = connect(&url).await.unwrap();
    assert!(store.tls_in_use().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_a_wrong_host_name_is_refused() {
    let Some(env) = tls_env().await else { return };
    // 127.0.0.1 is not a name in the certificate.
    let url = env.rooted(Some("127.0.0.1"), "verify-full");
    let err = connect(&url).await.unwrap_err();
    assert!(
        matches!(&err, DbError::Tls(PgTlsError::WrongHostName { host }) if host == "127.0.0.1"),
        "{err:?}"
    );
    env.assert_hides_password(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_a_wrong_root_is_refused() {
    let Some(env) = tls_env().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-ca.pem");
    std::fs::write(&other, OTHER_CA).unwrap();
    let url = with(
        &env.url,
        Some(&env.host),
        &format!(
            "hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
            other.display()
        ),
    );
    let err = connect(&url).await.unwrap_err();
    assert!(
        matches!(err, DbError::Tls(PgTlsError::UntrustedCertificate)),
        "{err:?}"
    );
    // verify-ca checks the root just the same.
    let url = with(
        &env.url,
        None,
        &format!("sslmode=verify-ca&sslrootcert={}", other.display()),
    );
    let err = connect(&url).await.unwrap_err();
    assert!(
        matches!(err, DbError::Tls(PgTlsError::UntrustedCertificate)),
        "{err:?}"
    );
    env.assert_hides_password(&err);
}

/// A server that answers every SSLRequest with `N` (no TLS), then waits.
async fn server_without_tls() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).await.is_ok() {
                    let _ = socket.write_all(b"N").await;
                    let mut rest = [0u8; 256];
                    while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_refuses_a_server_without_tls() {
    let addr = server_without_tls().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ca.pem");
    std::fs::write(&root, OTHER_CA).unwrap();
    for mode in ["require", "verify-ca", "verify-full"] {
        let url = DatabaseUrl::parse(&format!(
            "postgres://u:hunter2@127.0.0.1:{}/db?sslmode={mode}&sslrootcert={}",
            addr.port(),
            root.display()
        ))
        .unwrap();
        let err = connect(&url).await.unwrap_err();
        assert!(
            matches!(err, DbError::Tls(PgTlsError::ServerWithoutTls { .. })),
            "{mode}: {err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }
}
