//! [`StoreError`]: why a storage operation failed. Either the stored state refuses it (a code
//! already used, a `c_nonce` seen before, a revoked citizen...: a domain [`Refusal`]) or the
//! storage itself failed. No HTTP here: the server maps each refusal to its status and OAuth
//! error code.

use crate::domain::refusal::Refusal;

/// A storage failure. Internal: handlers log it and answer `server_error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread is gone (shutting down, or it failed).
    #[error("storage writer stopped")]
    WriterGone,
    /// The group commit holding this change failed; the change is not stored.
    #[error("commit failed")]
    CommitFailed,
    /// The database was written by a newer version of the issuer.
    #[error("database schema version {found} is newer than this binary's {supported}")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest this binary knows.
        supported: i64,
    },
    /// A stored value does not decode (corruption or a bug).
    #[error("stored value does not decode: {what}")]
    Corrupt {
        /// Which value.
        what: &'static str,
    },
    /// A blocking task panicked or was cancelled.
    #[error("blocking task failed")]
    Join,
    /// PostgreSQL reported an error (or the connection failed).
    #[error("postgres: {}", postgres_message(.0))]
    Postgres(tokio_postgres::Error),
    /// No pooled PostgreSQL connection could be had (server down, pool exhausted).
    #[error("postgres pool: {0}")]
    Pool(String),
    /// The PostgreSQL connection settings are wrong (the URL does not parse, a TLS setting is
    /// bad), or the server's TLS was refused.
    #[error(transparent)]
    Tls(#[from] super::pg_tls::PgTlsError),
    /// The database file's permissions cannot be set.
    #[error("database file: {0}")]
    Io(std::io::Error),
}

/// The server's code and message when there is one ("db error" alone says little).
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// A storage operation failed; nothing it would have written is stored (except the attempt
/// count of a wrong `tx_code`, see [`crate::store::Store::redeem_offer`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stored state refuses the operation: the pre-authorized code, `tx_code`, refresh or
    /// access token is wrong, used or expired, a proof or `c_nonce` was already used, a record
    /// is missing, a status change is not allowed, the citizen is held...
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The storage failed (logged, not returned in detail).
    #[error("storage: {0}")]
    Storage(#[from] DbError),
    /// Something that should not happen (a caller bug).
    #[error("internal: {0}")]
    Internal(String),
}

impl StoreError {
    /// Shorthand for [`Refusal::InvalidRequest`].
    pub fn invalid_request(reason: impl Into<String>) -> StoreError {
        StoreError::Refused(Refusal::invalid_request(reason))
    }

    /// Shorthand for [`Refusal::InvalidProof`].
    pub fn proof(index: usize, reason: impl Into<String>) -> StoreError {
        StoreError::Refused(Refusal::proof(index, reason))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Storage(DbError::Sqlite(e))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        StoreError::Storage(DbError::Postgres(e))
    }
}
