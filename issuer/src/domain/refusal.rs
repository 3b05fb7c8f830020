//! [`Refusal`]: what the issuer refuses and why, whatever carries the request (HTTP or the
//! command line): a malformed request, a wrong or used grant, a held citizen, a status change
//! that is not allowed, ... Each variant names the failed check; descriptions never carry
//! secrets or claim values. The server maps each to an HTTP status and an OAuth 2.0 /
//! OpenID4VCI 1.0 error code (`server::error`); nothing here knows HTTP.

use credential::citizen::ClaimsError;

/// The issuer refuses a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
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
    /// No trust-bundle delta can be built from this base: fetch the full bundle.
    #[error("no trust-bundle delta from status_seq {since} ({reason}); fetch the full trust bundle at /trust-bundle")]
    DeltaBaseUnknown {
        /// The base asked for.
        since: i64,
        /// Why.
        reason: &'static str,
    },
}

impl Refusal {
    /// Shorthand for [`Refusal::InvalidRequest`].
    pub fn invalid_request(reason: impl Into<String>) -> Refusal {
        Refusal::InvalidRequest {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Refusal::InvalidProof`].
    pub fn proof(index: usize, reason: impl Into<String>) -> Refusal {
        Refusal::InvalidProof {
            index,
            reason: reason.into(),
        }
    }
}
