//! Refreshing a batch: the core's refresh ([`wallet_core::refresh`]) over the desktop host's
//! reqwest client and SQLite store.

use rand_core::CryptoRngCore;

pub use wallet_core::refresh::*;

use crate::receive::ReceiveOptions;
use crate::store::Store;
use crate::transport::Reqwest;
use wallet_core::signer::SoftwareSigner;

/// Replaces the copies of `batch_id` with a fresh, verified batch from its issuer
/// ([`wallet_core::refresh()`] over `http` and `store`; its documentation says what is kept
/// on each error).
///
/// # Errors
/// [`RefreshError`].
pub async fn refresh(
    http: &reqwest::Client,
    store: &mut Store,
    batch_id: &str,
    options: &ReceiveOptions,
    rng: &mut (impl CryptoRngCore + Send),
    now: i64,
) -> Result<Refreshed, RefreshError> {
    let mut signer = SoftwareSigner::new(rng);
    wallet_core::refresh(&Reqwest(http), &mut signer, store, batch_id, options, now).await
}
