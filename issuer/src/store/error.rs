//! [`StoreError`]: why a storage operation failed. Either the stored state refuses it (a code
//! already used, a `c_nonce` seen before, a revoked citizen...) or the storage itself failed.
//! No HTTP here: the server maps each variant to its status and OAuth error code.

use crate::db::DbError;

/// A storage operation failed; nothing it would have written is stored (except the attempt
/// count of a wrong `tx_code`, see [`crate::store::Store::redeem_offer`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The pre-authorized code, `tx_code` or refresh token is wrong, used, dead, revoked or
    /// expired, or the enrolment's credentials are revoked or suspended.
    #[error("{reason}")]
    InvalidGrant {
        /// Which check failed.
        reason: &'static str,
    },
    /// A refresh came sooner than the minimum interval after the family's previous one; the
    /// token stays usable after `retry_after` seconds.
    #[error("refresh rate limit: retry in {retry_after} s")]
    RefreshTooSoon {
        /// Seconds until a refresh is allowed.
        retry_after: i64,
    },
    /// The access token is unknown or expired.
    #[error("{reason}")]
    InvalidToken {
        /// Which check failed.
        reason: &'static str,
    },
    /// The access token does not cover the configuration, already issued it, or its
    /// enrolment is blocked.
    #[error("{reason}")]
    CredentialRequestDenied {
        /// Why.
        reason: &'static str,
    },
    /// A key proof was already used, or its holder key is bound to another credential.
    #[error("proof {index}: {reason}")]
    InvalidProof {
        /// Position in `proofs.jwt`.
        index: usize,
        /// Which check failed.
        reason: String,
    },
    /// A `c_nonce` was already used.
    #[error("c_nonce is unknown, used or expired")]
    InvalidNonce,
    /// The face-match attestation's nonce is unknown, used or expired.
    #[error("attestation: {reason}")]
    InvalidAttestation {
        /// Which check failed.
        reason: &'static str,
    },
    /// No such record.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// A status change that is not allowed (revocation is final).
    #[error("cannot {action} a {from} credential")]
    StatusTransition {
        /// Requested action.
        action: &'static str,
        /// Current status.
        from: &'static str,
    },
    /// The citizen is revoked or suspended: no new enrolment.
    #[error("the citizen is {status}: no new enrolment")]
    CitizenOnHold {
        /// `revoked` or `suspended`.
        status: &'static str,
    },
    /// A hold lift for a citizen who is not revoked.
    #[error("lift-hold needs a revoked citizen; this citizen is {status}")]
    NoRevocationHold {
        /// `suspended` or `not on hold`.
        status: &'static str,
    },
    /// The record conflicts with one already stored (a platform key registered twice).
    #[error("{reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The storage failed (logged, not returned in detail).
    #[error("storage: {0}")]
    Storage(#[from] DbError),
    /// Something that should not happen (a caller bug).
    #[error("internal: {0}")]
    Internal(String),
}

impl StoreError {
    /// Shorthand for [`StoreError::InvalidRequest`].
    pub fn invalid_request(reason: impl Into<String>) -> StoreError {
        StoreError::InvalidRequest {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`StoreError::InvalidProof`].
    pub fn proof(index: usize, reason: impl Into<String>) -> StoreError {
        StoreError::InvalidProof {
            index,
            reason: reason.into(),
        }
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
