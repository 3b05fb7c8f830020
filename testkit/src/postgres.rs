//! The PostgreSQL server the tests use, from `ISSUER_TEST_DATABASE_URL`, and one fresh database
//! per test. When it is not set the PostgreSQL tests print a skip line, unless
//! `CI_REQUIRE_POSTGRES=1`: then they fail.

use rand_core::RngCore as _;

/// Which storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the issuer's temporary data directory.
    Sqlite,
    /// A fresh database on the PostgreSQL test server.
    Postgres,
}

/// PostgreSQL tests hold it for reading; the server-restart test holds it for writing, so no
/// other PostgreSQL test of the process runs while the server restarts.
pub static PG_GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The test server's URL from `ISSUER_TEST_DATABASE_URL`; `None` (after a skip line) when it
/// is not set.
///
/// # Panics
/// When it is not set and `CI_REQUIRE_POSTGRES=1`.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("ISSUER_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CI_REQUIRE_POSTGRES=1 but ISSUER_TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped: set ISSUER_TEST_DATABASE_URL to run the PostgreSQL tests");
            None
        }
    }
}

/// `base` with its database name replaced by `db`.
pub fn with_database(base: &str, db: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (base, String::new()),
    };
    let (scheme, rest) = main.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    format!("{scheme}://{authority}/{db}{query}")
}

/// A fresh, empty PostgreSQL database for one test (tests run in parallel); its URL. `None`
/// when no server is configured.
pub async fn fresh_postgres_database() -> Option<String> {
    let base = postgres_base_url()?;
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to ISSUER_TEST_DATABASE_URL");
    let task = tokio::spawn(conn);
    let mut seed = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut seed);
    let name = format!(
        "issuer_t_{}_{:016x}",
        std::process::id(),
        u64::from_le_bytes(seed)
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE (the role needs CREATEDB)");
    drop(client);
    let _ = task.await;
    Some(with_database(&base, &name))
}
