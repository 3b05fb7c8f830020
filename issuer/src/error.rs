//! [`ApiError`]: every way an issuer operation fails, with the OAuth 2.0 / OpenID4VCI 1.0 error
//! code it maps to (RFC 6749 section 5.2, RFC 6750 section 3.1, OpenID4VCI sections 6.3, 7.3.1,
//! 8.3.1). Descriptions name the failed check and never carry secrets or claim values.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::db::DbError;
use credential::citizen::ClaimsError;

/// An issuer operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed: missing or wrongly typed parameters, bad body.
    #[error("{reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// `grant_type` is neither the pre-authorized code grant nor `refresh_token`.
    #[error("grant type not supported")]
    UnsupportedGrantType,
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
    /// The officer's role does not allow this.
    #[error("role {needed} required")]
    InsufficientScope {
        /// The role needed.
        needed: &'static str,
    },
    /// The credential request is malformed.
    #[error("{reason}")]
    InvalidCredentialRequest {
        /// What is wrong.
        reason: String,
    },
    /// `credential_configuration_id` is not one of ours.
    #[error("unknown credential configuration")]
    UnknownCredentialConfiguration,
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
    /// The citizen's claims fail validation.
    #[error(transparent)]
    InvalidClaims(#[from] ClaimsError),
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
    /// The body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body did not arrive within `body_read_timeout`.
    #[error("request body not received within {seconds} s")]
    BodyTimeout {
        /// The configured deadline, seconds.
        seconds: u64,
    },
    /// No trust-bundle delta can be built from this base: fetch the full bundle.
    #[error("no trust-bundle delta from status_seq {since} ({reason}); fetch the full trust bundle at /trust-bundle")]
    DeltaBaseUnknown {
        /// The base asked for.
        since: i64,
        /// Why.
        reason: &'static str,
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

    /// The HTTP status and `error` code.
    pub fn code(&self) -> (StatusCode, &'static str) {
        use ApiError as E;
        match self {
            E::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            E::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            E::InvalidGrant { .. } => (StatusCode::BAD_REQUEST, "invalid_grant"),
            E::RefreshTooSoon { .. } => (StatusCode::BAD_REQUEST, "slow_down"),
            E::InvalidToken { .. } => (StatusCode::UNAUTHORIZED, "invalid_token"),
            E::InsufficientScope { .. } => (StatusCode::FORBIDDEN, "insufficient_scope"),
            E::InvalidCredentialRequest { .. } => {
                (StatusCode::BAD_REQUEST, "invalid_credential_request")
            }
            E::UnknownCredentialConfiguration => {
                (StatusCode::BAD_REQUEST, "unknown_credential_configuration")
            }
            E::CredentialRequestDenied { .. } => {
                (StatusCode::BAD_REQUEST, "credential_request_denied")
            }
            E::InvalidProof { .. } => (StatusCode::BAD_REQUEST, "invalid_proof"),
            E::InvalidNonce => (StatusCode::BAD_REQUEST, "invalid_nonce"),
            E::InvalidClaims(_) => (StatusCode::BAD_REQUEST, "invalid_claims"),
            E::InvalidAttestation { .. } => (StatusCode::BAD_REQUEST, "invalid_attestation"),
            E::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            E::StatusTransition { .. } => (StatusCode::CONFLICT, "invalid_status_transition"),
            E::CitizenOnHold { .. } => (StatusCode::CONFLICT, "citizen_on_hold"),
            E::NoRevocationHold { .. } => (StatusCode::CONFLICT, "invalid_status_transition"),
            E::BodyTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "invalid_request"),
            E::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            E::DeltaBaseUnknown { .. } => (StatusCode::GONE, "delta_base_unknown"),
            E::Storage(_) | E::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let description = if status.is_server_error() {
            tracing::error!(error = %self, "internal failure");
            "internal error".to_owned()
        } else {
            tracing::debug!(error = code, description = %self, "request rejected");
            self.to_string()
        };
        let mut resp = (
            status,
            axum::Json(credential::oid4vci::ErrorResponse::new(code, description)),
        )
            .into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let ApiError::RefreshTooSoon { retry_after } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        resp
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::Storage(DbError::Sqlite(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limited_refresh_is_slow_down_with_retry_after() {
        let err = ApiError::RefreshTooSoon { retry_after: 42 };
        assert_eq!(err.code(), (StatusCode::BAD_REQUEST, "slow_down"));
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    }
}
