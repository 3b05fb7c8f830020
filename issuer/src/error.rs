//! The errors of the layers below the server.
//!
//! [`IssuerError`]: an issuer operation was refused ([`Refusal`], the domain's "no" with its
//! reason) or failed inside (storage, an internal fault). The server alone maps it to HTTP
//! statuses and OAuth 2.0 / OpenID4VCI 1.0 error codes (`server::error`).
//!
//! A [`StoreError`] converts one to one: its refusal is the same [`Refusal`]. Descriptions name
//! the failed check and never carry secrets or claim values.

use credential::citizen::ClaimsError;

use crate::domain::refusal::Refusal;
use crate::store::DbError;
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
    /// The HSM holding the signing keys cannot be used (logged, not returned in detail).
    #[error(transparent)]
    Hsm(#[from] crate::hsm::HsmError),
    /// The metrics setup failed (the token file).
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
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

impl From<StoreError> for IssuerError {
    fn from(e: StoreError) -> IssuerError {
        match e {
            StoreError::Refused(r) => IssuerError::Refused(r),
            StoreError::Storage(e) => IssuerError::Storage(e),
            StoreError::Internal(what) => IssuerError::Internal(what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_of_the_store_is_the_same_refusal_of_the_issuer() {
        let refusals = [
            Refusal::RefreshTooSoon { retry_after: 42 },
            Refusal::InvalidNonce,
            Refusal::proof(2, "holder key already bound"),
            Refusal::StatusTransition {
                action: "revoke",
                from: "revoked",
            },
        ];
        for refusal in refusals {
            let converted = IssuerError::from(StoreError::Refused(refusal.clone()));
            assert!(
                matches!(&converted, IssuerError::Refused(r) if *r == refusal),
                "{converted:?}"
            );
        }
    }

    #[test]
    fn a_storage_failure_of_the_store_stays_a_storage_failure() {
        let converted = IssuerError::from(StoreError::Storage(DbError::Corrupt { what: "status" }));
        assert!(
            matches!(
                converted,
                IssuerError::Storage(DbError::Corrupt { what: "status" })
            ),
            "{converted:?}"
        );
        let converted = IssuerError::from(StoreError::Internal("caller bug".into()));
        assert!(
            matches!(&converted, IssuerError::Internal(what) if what == "caller bug"),
            "{converted:?}"
        );
    }
}
