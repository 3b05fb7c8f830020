//! Refreshing a batch: once every copy of a credential was shown, ask the issuer for a new batch
//! with the refresh token it gave at issuance (OpenID4VCI 1.0 section 6 with the OAuth 2.0
//! refresh grant, RFC 6749 section 6).
//!
//! ```text
//! Store::refresh_grant(batch)   issuer, configuration, refresh token (sealed at rest)
//!   GET  issuer and authorization-server metadata
//!   POST token_endpoint  grant_type=refresh_token      ─► new access token + NEW refresh token
//!        transport error (answer lost?) ─► the same request once more, at once: the issuer's
//!        reuse grace answers a retry of a just-spent token whose answer nobody used
//!        the new refresh token is stored at once (the old one is spent at the issuer)
//!        invalid_grant (revoked, expired, reused): the stored token is forgotten
//!   c_nonce, a fresh holder key and proof per copy, credential request, every copy verified
//!   Store: the batch's copies replaced by the new ones (same batch id), one transaction
//! ```

use credential::oid4vci;

use crate::receive::{Endpoints, ReceiveError, ReceiveOptions, TokenAnswer};
use crate::signer::HolderSigner;
use crate::store::{RecordStore, StoreError};
use crate::transport::Transport;

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
    /// The issuer's rate limit (`slow_down`; `refresh_min_interval` in docs/issuer.md): this
    /// batch was refreshed too recently. Nothing changed and the refresh token is kept; try
    /// again after `retry_after` seconds (when the issuer said).
    #[error("the issuer asks to wait before refreshing again{}", retry_after.map(|s| format!(": retry in {s} s")).unwrap_or_default())]
    RateLimited {
        /// Seconds to wait, from the issuer's `Retry-After`.
        retry_after: Option<u64>,
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
    /// The first token request failed in transport and was sent again with the same refresh
    /// token (which the issuer answers within its reuse grace window).
    pub retried: bool,
}

/// Posts the refresh grant; on a transport failure ([`ReceiveError::Http`]: no answer, a cut
/// connection, an answer that is not the token JSON) sends the same request once more. The
/// first request may have reached the issuer and spent the token; the issuer's reuse grace
/// window (`refresh_reuse_grace`, docs/issuer.md) answers such a retry with a fresh successor
/// as long as nobody used the lost answer. Every other outcome is returned as it is.
async fn token_once_retried<T: Transport>(
    http: &T,
    token_endpoint: &str,
    form: &oid4vci::TokenRequest,
) -> (Result<TokenAnswer, ReceiveError>, bool) {
    match TokenAnswer::request(http, token_endpoint, form).await {
        Err(ReceiveError::Http { .. }) => {
            (TokenAnswer::request(http, token_endpoint, form).await, true)
        }
        other => (other, false),
    }
}

/// Replaces the copies of `batch_id` with a fresh, verified batch from its issuer.
///
/// `options.copies` is the number asked for (capped at the issuer's `batch_size`);
/// `options.configurations` is ignored (the batch's own configuration is used). `signer` makes
/// the new holder keys; `now` is the current Unix time.
///
/// A token request that fails in transport is sent once more, at once, with the same refresh
/// token ([`Refreshed::retried`]): the answer may have been lost after the issuer spent the
/// token, and the issuer answers such a retry within its reuse grace window (60 s by
/// default). No other step is retried.
///
/// # Errors
/// [`RefreshError`]. On [`RefreshError::Refused`] the stored refresh token is forgotten; on
/// any other error after the token endpoint answered, the new refresh token is already stored
/// and the old copies are untouched. When both token requests fail in transport
/// ([`RefreshError::Receive`]), the old token is kept: the host may call `refresh` again, and
/// should do so within the issuer's grace window, since after it a token the issuer did spend
/// counts as reuse and revokes the family. An issuer's rate limit (`slow_down`, with
/// `Retry-After`; `refresh_min_interval` in docs/issuer.md) is [`RefreshError::RateLimited`]:
/// the token is kept and is good again after the wait.
pub async fn refresh<T: Transport, S: HolderSigner>(
    http: &T,
    signer: &mut S,
    store: &mut impl RecordStore,
    batch_id: &str,
    options: &ReceiveOptions,
    now: i64,
) -> Result<Refreshed, RefreshError> {
    let grant = store
        .refresh_grant(batch_id)?
        .ok_or_else(|| RefreshError::NotRefreshable {
            batch_id: batch_id.to_owned(),
        })?;
    let endpoints = Endpoints::discover(http, &grant.issuer).await?;
    let form = oid4vci::TokenRequest::refresh(oid4vci::Secret::from(grant.refresh_token.clone()));
    let (answer, retried) = token_once_retried(http, &endpoints.token_endpoint, &form).await;
    let token = match answer {
        Ok(t) => t,
        Err(ReceiveError::Refused {
            error, description, ..
        }) if error == "invalid_grant" => {
            store.set_refresh_token(&grant.grant_id, None)?;
            return Err(RefreshError::Refused { error, description });
        }
        Err(ReceiveError::Refused {
            error, retry_after, ..
        }) if error == "slow_down" => return Err(RefreshError::RateLimited { retry_after }),
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
            signer,
            &token.access_token,
            &configurations,
            options,
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
        retried,
    })
}
