//! The storage layer: the [`Store`] trait (the issuer's domain operations on its database), its
//! records (`rows.rs`), its settings ([`DatabaseUrl`], [`DatabaseTls`]) and its error
//! ([`StoreError`], no HTTP in it), with two backends beside it.
//!
//! ```text
//!  service (enrol, oid4vci, status, keys, ...) ──► Arc<dyn Store>: redeem_offer, issue, ...
//!                                                        │
//!              ┌─────────────────────────────────────────┴──────────────────────────┐
//!   sqlite.rs (default, embedded)                              postgres.rs (database_url)
//!   one group-committing writer thread + read pool            deadpool-postgres pool, one
//!   (sqlite/db.rs); single writer = serial transactions           transaction per operation, row
//!                                                              locks / ON CONFLICT / conditional
//!                                                              UPDATE; retried on serialization
//!                                                              failure, deadlock, unique race
//! ```
//!
//! Every operation is one transaction that either commits entirely or changes nothing (the one
//! deliberate exception: a wrong `tx_code` commits its attempt count and then reports
//! `invalid_grant`). Single use (pre-authorized codes, `c_nonce`, attestation nonces, proofs,
//! one issuance per configuration and token) comes from the database: conditional `UPDATE`s and
//! `DELETE`s whose row counts are checked, and unique keys. The decisions on the rows read live
//! once in `rules.rs`, so the backends cannot drift apart, and one conformance suite
//! (`issuer/tests/it/store_suite.rs`) checks both. Both dialects carry the same numbered
//! migrations ([`migrations`]).

mod error;
mod interface;
pub mod migrations;
pub mod pg_tls;
pub mod postgres;
mod rows;
pub(crate) mod rules;
mod settings;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;

use sqlite::db::Db;

pub use error::{DbError, StoreError};
pub use interface::{Store, SweepLock, SweepStep, WriteObserver};
pub use pg_tls::{DatabaseTls, PgTlsError, SslMode};
pub use postgres::PgStore;
pub use rows::{
    DirectRecord, Issuance, IssueRecord, KeyRow, NewEnrolment, NewRefresh, Redemption,
    RefreshGrant, ShardEntries, StatusKey,
};
pub use settings::DatabaseUrl;

/// The storage the service holds: either backend, behind the [`Store`] trait.
pub type SharedStore = Arc<dyn Store>;

/// Opens the configured backend: PostgreSQL when `url` is set, else SQLite in `data`.
/// Runs the migrations (under an advisory lock on PostgreSQL, so replicas starting
/// together do not race). `rng` draws status indexes.
///
/// # Errors
/// [`DbError`] when the database cannot be reached, opened or migrated.
pub async fn open(
    data: &Path,
    url: Option<&DatabaseUrl>,
    tls: &DatabaseTls,
    pool_size: usize,
    rng: ChaCha20Rng,
) -> Result<SharedStore, DbError> {
    match url {
        Some(url) => Ok(Arc::new(PgStore::connect(url, tls, pool_size, rng).await?)),
        None => Ok(Arc::new(Db::open(data, rng)?)),
    }
}
