//! [`StoreError`]: why a storage operation failed. Either the stored state refuses it (a code
//! already used, a `c_nonce` seen before, a revoked citizen...: a domain [`Refusal`]) or the
//! storage itself failed. No HTTP here: the server maps each refusal to its status and OAuth
//! error code.

use crate::db::DbError;
use crate::domain::refusal::Refusal;

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
