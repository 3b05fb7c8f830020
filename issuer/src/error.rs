//! The errors of the layers below the server.
//!
//! [`IssuerError`]: an issuer operation was refused ([`Refusal`], the domain's "no" with its
//! reason) or failed inside (storage, an internal fault). The server alone maps it to HTTP
//! statuses and OAuth 2.0 / OpenID4VCI 1.0 error codes (`server::error`).
//!
//! [`ApiError`]: what the storage layer returns until it has an error type of its own; it
//! converts into [`IssuerError`], each refusal into the [`Refusal`] of the same name. It knows
//! no HTTP either. Descriptions name the failed check and never carry secrets or claim values.

use credential::citizen::ClaimsError;

use crate::db::DbError;
use crate::domain::refusal::Refusal;
use crate::store::StoreError;

/// An issuer operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The request is refused: a check on it or a rule of the domain says no.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A storage failure (logged, not returned in detail).
    #[error("storage: {0}")]
    Storage(#[from] DbError),
    /// Something that should not happen (logged, not returned in detail).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ClaimsError> for IssuerError {
    fn from(e: ClaimsError) -> IssuerError {
        IssuerError::Refused(Refusal::InvalidClaims(e))
    }
}

impl From<rusqlite::Error> for IssuerError {
    fn from(e: rusqlite::Error) -> IssuerError {
        IssuerError::Storage(DbError::Sqlite(e))
    }
}

/// A storage operation failed or refused (the storage layer's error, see the module docs).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed: missing or wrongly typed parameters, bad body.
    #[error("{reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The pre-authorized code, `tx_code` or refresh token is wrong, used, dead, revoked or
    /// expired, or the enrolment's credentials are revoked or suspended.
    #[error("{reason}")]
    InvalidGrant {
        /// Which check failed.
        reason: &'static str,
    },
    /// A refresh came sooner than `refresh_min_interval` after the family's previous one. The
    /// token is left usable: retry after `retry_after` seconds. Mapped to `slow_down` (RFC 8628
    /// section 3.5, an extension error of the token endpoint as RFC 6749 section 8.5 allows),
    /// not `invalid_grant`, which clients take to mean the token is dead.
    #[error("refresh rate limit: this enrolment was refreshed less than the minimum interval ago; retry in {retry_after} s with the same refresh token")]
    RefreshTooSoon {
        /// Seconds until a refresh is allowed.
        retry_after: i64,
    },
    /// The bearer token is missing, unknown or expired.
    #[error("{reason}")]
    InvalidToken {
        /// Which check failed.
        reason: &'static str,
    },
    /// The access token does not cover this configuration, or it was already issued.
    #[error("{reason}")]
    CredentialRequestDenied {
        /// Why.
        reason: &'static str,
    },
    /// A key proof failed a check.
    #[error("proof {index}: {reason}")]
    InvalidProof {
        /// Position in `proofs.jwt`.
        index: usize,
        /// Which check failed.
        reason: String,
    },
    /// The proof's `c_nonce` is unknown, used or expired.
    #[error("c_nonce is unknown, used or expired")]
    InvalidNonce,
    /// The face-match attestation failed a check.
    #[error("attestation: {reason}")]
    InvalidAttestation {
        /// Which check failed.
        reason: &'static str,
    },
    /// No such resource.
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
    /// The citizen is revoked or suspended: no new enrolment (a revocation is final; a
    /// suspension ends with reinstate).
    #[error("the citizen is {status}: no new enrolment")]
    CitizenOnHold {
        /// `revoked` or `suspended`.
        status: &'static str,
    },
    /// A hold lift for a citizen who is not revoked: lift-hold ends a revocation hold only (a
    /// suspension ends with reinstate).
    #[error("lift-hold needs a revoked citizen; this citizen is {status}")]
    NoRevocationHold {
        /// `suspended` or `not on hold`.
        status: &'static str,
    },
    /// A storage failure (logged, not returned in detail).
    #[error("storage: {0}")]
    Storage(#[from] DbError),
    /// Something that should not happen (logged, not returned in detail).
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidRequest`].
    pub fn invalid_request(reason: impl Into<String>) -> ApiError {
        ApiError::InvalidRequest {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`ApiError::InvalidProof`].
    pub fn proof(index: usize, reason: impl Into<String>) -> ApiError {
        ApiError::InvalidProof {
            index,
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        use StoreError as S;
        match e {
            S::InvalidGrant { reason } => ApiError::InvalidGrant { reason },
            S::RefreshTooSoon { retry_after } => ApiError::RefreshTooSoon { retry_after },
            S::InvalidToken { reason } => ApiError::InvalidToken { reason },
            S::CredentialRequestDenied { reason } => ApiError::CredentialRequestDenied { reason },
            S::InvalidProof { index, reason } => ApiError::InvalidProof { index, reason },
            S::InvalidNonce => ApiError::InvalidNonce,
            S::InvalidAttestation { reason } => ApiError::InvalidAttestation { reason },
            S::NotFound { what } => ApiError::NotFound { what },
            S::StatusTransition { action, from } => ApiError::StatusTransition { action, from },
            S::CitizenOnHold { status } => ApiError::CitizenOnHold { status },
            S::NoRevocationHold { status } => ApiError::NoRevocationHold { status },
            S::InvalidRequest { reason } => ApiError::InvalidRequest { reason },
            S::Storage(e) => ApiError::Storage(e),
            S::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::Storage(DbError::Sqlite(e))
    }
}

impl From<ApiError> for IssuerError {
    fn from(e: ApiError) -> IssuerError {
        use ApiError as E;
        IssuerError::Refused(match e {
            E::Storage(e) => return IssuerError::Storage(e),
            E::Internal(what) => return IssuerError::Internal(what),
            E::InvalidRequest { reason } => Refusal::InvalidRequest { reason },
            E::InvalidGrant { reason } => Refusal::InvalidGrant { reason },
            E::RefreshTooSoon { retry_after } => Refusal::RefreshTooSoon { retry_after },
            E::InvalidToken { reason } => Refusal::InvalidToken { reason },
            E::CredentialRequestDenied { reason } => Refusal::CredentialRequestDenied { reason },
            E::InvalidProof { index, reason } => Refusal::InvalidProof { index, reason },
            E::InvalidNonce => Refusal::InvalidNonce,
            E::InvalidAttestation { reason } => Refusal::InvalidAttestation { reason },
            E::NotFound { what } => Refusal::NotFound { what },
            E::StatusTransition { action, from } => Refusal::StatusTransition { action, from },
            E::CitizenOnHold { status } => Refusal::CitizenOnHold { status },
            E::NoRevocationHold { status } => Refusal::NoRevocationHold { status },
        })
    }
}

impl From<StoreError> for IssuerError {
    fn from(e: StoreError) -> IssuerError {
        IssuerError::from(ApiError::from(e))
    }
}
