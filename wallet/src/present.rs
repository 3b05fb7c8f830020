//! Presenting: the core's OpenID4VP requests and answers ([`wallet_core::present`]) with the
//! desktop host's reqwest client for `request_uri` and `direct_post`.

pub use wallet_core::present::*;

use crate::transport::Reqwest;

/// Parses a request URI and fetches the request object when it is by reference
/// ([`wallet_core::resolve_request`] over `http`, which must follow no redirect:
/// [`crate::http_client`]).
///
/// # Errors
/// [`PresentationError`]; [`PresentationError::InsecureUrl`] for a plain-http `request_uri`
/// off loopback, [`PresentationError::Redirected`] for a redirect.
pub async fn resolve_request(
    http: &reqwest::Client,
    uri: &str,
) -> Result<AuthorizationRequest, PresentationError> {
    wallet_core::resolve_request(&Reqwest(http), uri).await
}

/// Sends an online answer to `response_uri`, once ([`wallet_core::send`] over `http`, which
/// must follow no redirect: [`crate::http_client`]).
///
/// # Errors
/// As [`wallet_core::send`].
pub async fn send(
    http: &reqwest::Client,
    answer: &Answer,
) -> Result<DirectPostOutcome, PresentationError> {
    wallet_core::send(&Reqwest(http), answer).await
}
