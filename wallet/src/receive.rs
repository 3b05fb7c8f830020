//! Receiving credentials: the core's OpenID4VCI 1.0 client ([`wallet_core::receive`]) over the
//! desktop host's reqwest client.
//!
//! The library never prompts: the host passes the `tx_code` it asked the citizen for.

use rand_core::CryptoRngCore;

pub use wallet_core::receive::*;

use crate::transport::Reqwest;
use wallet_core::signer::SoftwareSigner;

/// Parses an offer URI and fetches the offer when it is by reference
/// ([`wallet_core::resolve_offer`] over `http`).
///
/// # Errors
/// As [`parse_offer_uri`], plus [`ReceiveError::Http`].
pub async fn resolve_offer(
    http: &reqwest::Client,
    uri: &str,
) -> Result<CredentialOffer, ReceiveError> {
    wallet_core::resolve_offer(&Reqwest(http), uri).await
}

/// Runs the pre-authorized code flow for `offer` and verifies every credential received
/// ([`wallet_core::receive()`] over `http`).
///
/// `now` is the current Unix time (for proofs and credential time checks); `rng` makes the
/// holder keys.
///
/// # Errors
/// [`ReceiveError`]; on any error nothing was returned, so nothing can be stored.
pub async fn receive(
    http: &reqwest::Client,
    offer: &CredentialOffer,
    tx_code: Option<&TxCode>,
    options: &ReceiveOptions,
    rng: &mut (impl CryptoRngCore + Send),
    now: i64,
) -> Result<Received, ReceiveError> {
    let mut signer = SoftwareSigner::new(rng);
    wallet_core::receive(&Reqwest(http), &mut signer, offer, tx_code, options, now).await
}
