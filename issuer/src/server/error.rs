//! [`ApiError`]: how a request fails over HTTP. The server alone maps the issuer's errors to
//! HTTP statuses and OAuth 2.0 / OpenID4VCI 1.0 error codes (RFC 6749 section 5.2, RFC 6750
//! section 3.1, OpenID4VCI sections 6.3, 7.3.1, 8.3.1), outside the error types themselves, as
//! rustls maps its errors to alerts. Descriptions name the failed check and never carry secrets
//! or claim values; internal failures are logged and answered as `server_error`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use credential::citizen::ClaimsError;

use crate::domain::refusal::Refusal;
use crate::error::IssuerError;

/// A request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The issuer refused the request or failed to serve it.
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    /// The body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body did not arrive within `body_read_timeout`.
    #[error("request body not received within {seconds} s")]
    BodyTimeout {
        /// The configured deadline, seconds.
        seconds: u64,
    },
}

/// The OAuth 2.0 / OpenID4VCI error code a response refused with, left in the response's
/// extensions for the request metrics (`issuer_refusals_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub &'static str);

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        ApiError::Issuer(IssuerError::Refused(r))
    }
}

impl From<ClaimsError> for ApiError {
    fn from(e: ClaimsError) -> ApiError {
        Refusal::InvalidClaims(e).into()
    }
}

impl ApiError {
    /// Shorthand for [`Refusal::InvalidRequest`].
    pub fn invalid_request(reason: impl Into<String>) -> ApiError {
        Refusal::invalid_request(reason).into()
    }

    /// The refusal inside, if the issuer refused the request.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            ApiError::Issuer(IssuerError::Refused(r)) => Some(r),
            _ => None,
        }
    }

    /// The HTTP status and `error` code.
    pub fn code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Issuer(IssuerError::Refused(r)) => refusal_code(r),
            ApiError::Issuer(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
            ApiError::BodyTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "invalid_request"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
        }
    }
}

/// The HTTP status and `error` code of a refusal.
pub fn refusal_code(refusal: &Refusal) -> (StatusCode, &'static str) {
    use Refusal as R;
    match refusal {
        R::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
        R::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        R::InvalidGrant { .. } => (StatusCode::BAD_REQUEST, "invalid_grant"),
        R::RefreshTooSoon { .. } => (StatusCode::BAD_REQUEST, "slow_down"),
        R::InvalidToken { .. } => (StatusCode::UNAUTHORIZED, "invalid_token"),
        R::InsufficientScope { .. } => (StatusCode::FORBIDDEN, "insufficient_scope"),
        R::InvalidCredentialRequest { .. } => {
            (StatusCode::BAD_REQUEST, "invalid_credential_request")
        }
        R::UnknownCredentialConfiguration => {
            (StatusCode::BAD_REQUEST, "unknown_credential_configuration")
        }
        R::CredentialRequestDenied { .. } => (StatusCode::BAD_REQUEST, "credential_request_denied"),
        R::InvalidProof { .. } => (StatusCode::BAD_REQUEST, "invalid_proof"),
        R::InvalidNonce => (StatusCode::BAD_REQUEST, "invalid_nonce"),
        R::InvalidClaims(_) => (StatusCode::BAD_REQUEST, "invalid_claims"),
        R::InvalidAttestation { .. } => (StatusCode::BAD_REQUEST, "invalid_attestation"),
        R::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
        R::StatusTransition { .. } => (StatusCode::CONFLICT, "invalid_status_transition"),
        R::CitizenOnHold { .. } => (StatusCode::CONFLICT, "citizen_on_hold"),
        R::NoRevocationHold { .. } => (StatusCode::CONFLICT, "invalid_status_transition"),
        R::DeltaBaseUnknown { .. } => (StatusCode::GONE, "delta_base_unknown"),
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
        resp.extensions_mut().insert(Refused(code));
        let headers = resp.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(Refusal::RefreshTooSoon { retry_after }) = self.refusal() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limited_refresh_is_slow_down_with_retry_after() {
        let err = ApiError::from(Refusal::RefreshTooSoon { retry_after: 42 });
        assert_eq!(err.code(), (StatusCode::BAD_REQUEST, "slow_down"));
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    }
}
