//! Refreshing a batch: once every copy of a credential was shown, ask the issuer for a new batch
//! with the refresh token it gave at issuance (OpenID4VCI 1.0 section 6 with the OAuth 2.0
//! refresh grant, RFC 6749 section 6).
//!
//! ```text
//! Store::refresh_grant(batch)   issuer, configuration, refresh token (sealed at rest)
//!   GET  issuer and authorization-server metadata
//!   POST token_endpoint  grant_type=refresh_token      ─► new access token + NEW refresh token
//!        the new refresh token is stored at once (the old one is spent at the issuer)
//!        invalid_grant (revoked, expired, reused): the stored token is forgotten
//!   c_nonce, a fresh holder key and proof per copy, credential request, every copy verified
//!   Store: the batch's copies replaced by the new ones (same batch id), one transaction
//! ```

use rand_core::CryptoRngCore;

use crate::receive::{Endpoints, ReceiveError, ReceiveOptions, TokenAnswer};
use crate::store::{Store, StoreError};

/// Why a batch could not be refreshed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The wallet holds no refresh token for this batch (imported, issued without one, or
    /// refused before).
    #[error("batch {batch_id} cannot be refreshed: the wallet holds no refresh token for it")]
    NotRefreshable {
        /// The batch.
        batch_id: String,
    },
    /// The issuer refused the refresh token (revoked credentials, expired, reused or revoked
    /// token). The wallet forgot it; the citizen has to be issued a new credential.
    #[error("the issuer refused to refresh: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// The OAuth `error` (`invalid_grant`).
        error: String,
        /// `error_description`, when given.
        description: Option<String>,
    },
    /// Receiving the new batch failed (network, issuer, or a credential that does not verify).
    /// The rotated refresh token was kept, so the host can try again.
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refreshed {
    /// The batch (its id is kept).
    pub batch_id: String,
    /// The configuration it was issued under.
    pub configuration: String,
    /// New copies stored, none shown yet.
    pub copies: usize,
}

/// Replaces the copies of `batch_id` with a fresh, verified batch from its issuer.
///
/// `options.copies` is the number asked for (capped at the issuer's `batch_size`);
/// `options.configurations` is ignored (the batch's own configuration is used). `rng` makes
/// the new holder keys; `now` is the current Unix time.
///
/// # Errors
/// [`RefreshError`]. On [`RefreshError::Refused`] the stored refresh token is forgotten; on
/// any other error after the token endpoint answered, the new refresh token is already stored
/// and the old copies are untouched.
pub async fn refresh(
    http: &reqwest::Client,
    store: &mut Store,
    batch_id: &str,
    options: &ReceiveOptions,
    rng: &mut (impl CryptoRngCore + Send),
    now: i64,
) -> Result<Refreshed, RefreshError> {
    let grant = store
        .refresh_grant(batch_id)?
        .ok_or_else(|| RefreshError::NotRefreshable {
            batch_id: batch_id.to_owned(),
        })?;
    let endpoints = Endpoints::discover(http, &grant.issuer).await?;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", grant.refresh_token.as_str()),
    ];
    let token = match TokenAnswer::request(http, &endpoints.token_endpoint, &form).await {
        Ok(t) => t,
        Err(ReceiveError::Refused {
            error, description, ..
        }) if error == "invalid_grant" => {
            store.set_refresh_token(&grant.grant_id, None)?;
            return Err(RefreshError::Refused { error, description });
        }
        Err(e) => return Err(e.into()),
    };
    // The presented token is spent at the issuer: keep the next one before anything else can
    // fail. An issuer that does not rotate leaves the old one usable.
    if let Some(next) = &token.refresh_token {
        store.set_refresh_token(&grant.grant_id, Some(next))?;
    }
    let configurations = [grant.configuration.clone()];
    let mut batches = endpoints
        .issue(
            http,
            &token.access_token,
            &configurations,
            options,
            rng,
            now,
        )
        .await?;
    let batch = batches.pop().ok_or(ReceiveError::WrongCount {
        expected: 1,
        got: 0,
    })?;
    let copies = store.replace_batch(&grant, batch.into_copies())?;
    Ok(Refreshed {
        batch_id: grant.batch_id.clone(),
        configuration: grant.configuration.clone(),
        copies,
    })
}
