//! The citizen's side for the demo and the end-to-end tests, on the real `wallet` library: an
//! encrypted [`wallet::Store`] under a generated [`StorageKey`], [`wallet::receive`] for
//! OpenID4VCI 1.0 offers and [`wallet::answer`] for OpenID4VP 1.0 requests. What is left here
//! is demo glue: choosing the offered configuration by format, preferring the lowest level
//! that satisfies a request, and showing a credential of the wrong type on purpose.

use std::path::Path;

use anyhow::Context as _;
use credential::jose::SigningKey;
use credential::sd_jwt::{ClaimPath, KeyBinding, Limits, PathSegment, SdJwt, VerifyOptions};
use rand_core::OsRng;
use serde_json::{Map, Value};
use verifier::TrustStore;
use wallet::consent::{ConsentSummary, Prepared};
use wallet::dcql::{MatchOutcome, Selection, Unmet};
use wallet::present::RequestRef;
use wallet::{
    AuthorizationRequest, ReceiveError, ReceiveOptions, RefreshError, Reuse, StorageKey, Store,
    TxCode,
};

use super::now;

/// A credential copy the wallet holds, with the key it is bound to.
pub struct Held {
    /// The wallet store's batch the copy belongs to.
    pub batch_id: String,
    /// The SD-JWT as issued (`<jwt>~<disclosure>~...~`).
    pub sd_jwt: String,
    /// The holder key (`cnf.jwk`).
    pub key: SigningKey,
    /// `vct`.
    pub vct: String,
    /// Every claim, as the holder sees it.
    pub claims: Map<String, Value>,
}

/// Why a wallet step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The issuer answered with an OAuth / OpenID4VCI error code.
    #[error("issuer refused: {code}")]
    Issuer {
        /// `error` of the answer (`invalid_grant`, `invalid_proof`, ...).
        code: String,
    },
    /// A received credential did not verify against the issuer's published keys.
    #[error("received credential does not verify: {code}")]
    Unverified {
        /// The failed check.
        code: &'static str,
    },
    /// The request asks for a claim no held credential has.
    #[error("no held credential has the requested claim {path}")]
    MissingClaim {
        /// The claim.
        path: String,
    },
    /// No held credential is of a requested type.
    #[error("no held credential of a requested type")]
    NoMatchingCredential,
    /// Anything else (transport, malformed answers).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The demo wallet: an HTTP client, the encrypted store and the holder's view of its copies.
pub struct DemoWallet {
    http: reqwest::Client,
    store: Store,
    /// Every copy stored so far, in the order received.
    pub held: Vec<Held>,
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> WalletError {
    WalletError::Other(anyhow::Error::new(e))
}

/// Parses an offline (by value) `openid4vp://` request.
fn parse_request(request_uri: &str) -> Result<AuthorizationRequest, WalletError> {
    match AuthorizationRequest::parse_uri(request_uri).map_err(other)? {
        RequestRef::ByValue(r) => Ok(*r),
        RequestRef::ByReference { .. } => Err(WalletError::Other(anyhow::anyhow!(
            "the demo's desks answer offline; a request by reference needs wallet::resolve_request"
        ))),
    }
}

impl DemoWallet {
    /// An empty wallet whose encrypted store lives in `dir`, sealed with a freshly generated
    /// storage key (the demo keeps it in memory only; a phone keeps it in its keystore).
    ///
    /// # Errors
    /// [`WalletError::Other`] when the store cannot be created.
    pub fn open(dir: &Path) -> Result<DemoWallet, WalletError> {
        let key = StorageKey::generate(&mut OsRng);
        Ok(DemoWallet {
            // Follows no redirect, as every wallet host must (docs/wallet.md, "Transport").
            http: wallet::http_client().map_err(other)?,
            store: Store::open(dir, &key).map_err(other)?,
            held: Vec::new(),
        })
    }

    /// Receives `copies` credentials of the offered configuration whose id ends in `format`
    /// (`dc_sd_jwt` or `vc_sd_jwt`) with [`wallet::receive`] (by value or by reference, the
    /// pre-authorized code flow with `tx_code`, one holder key and proof per copy, every
    /// credential verified against the issuer's published keys) and stores them. Returns how
    /// many copies were stored.
    ///
    /// # Errors
    /// [`WalletError::Issuer`] with the issuer's error code (a wrong `tx_code` is
    /// `invalid_grant`); [`WalletError::Other`] for anything else. Nothing is stored on error.
    pub async fn receive(
        &mut self,
        offer_uri: &str,
        tx_code: &str,
        format: &str,
        copies: usize,
    ) -> Result<usize, WalletError> {
        let refused = |e: ReceiveError| match e {
            ReceiveError::Refused { error, .. } => WalletError::Issuer { code: error },
            e => other(e),
        };
        let offer = wallet::resolve_offer(&self.http, offer_uri)
            .await
            .map_err(refused)?;
        let configuration = offer
            .credential_configuration_ids
            .iter()
            .find(|id| id.ends_with(format))
            .context("offer has no configuration of that format")?
            .clone();
        let options = ReceiveOptions {
            copies,
            configurations: vec![configuration],
            ..ReceiveOptions::default()
        };
        let received = wallet::receive(
            &self.http,
            &offer,
            Some(&TxCode::new(tx_code)),
            &options,
            &mut OsRng,
            now(),
        )
        .await
        .map_err(refused)?;
        let batches = received.store(&mut self.store).map_err(other)?;
        let mut n = 0;
        for batch_id in batches {
            n += self.hold(&batch_id)?;
        }
        Ok(n)
    }

    /// Loads the copies of a stored batch into [`DemoWallet::held`], in place of any held
    /// before under that batch id (keeping the batch's place in the order received). Returns
    /// how many.
    fn hold(&mut self, batch_id: &str) -> Result<usize, WalletError> {
        let mut at = self
            .held
            .iter()
            .position(|h| h.batch_id == batch_id)
            .unwrap_or(self.held.len());
        self.held.retain(|h| h.batch_id != batch_id);
        let mut n = 0;
        {
            let batch_id = batch_id.to_owned();
            for copy in self.store.copies(&batch_id).map_err(other)? {
                let opened = self.store.open_copy(&copy.id).map_err(other)?;
                let claims = SdJwt::parse(&opened.sd_jwt, &Limits::default())
                    .and_then(|s| s.holder_view())
                    .map_err(|e| WalletError::Unverified { code: e.code() })?
                    .claims;
                self.held.insert(
                    at,
                    Held {
                        batch_id: batch_id.clone(),
                        sd_jwt: opened.sd_jwt.to_string(),
                        key: opened.holder_key,
                        vct: opened.info.vct,
                        claims,
                    },
                );
                at += 1;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The stored batches whose every copy was shown.
    ///
    /// # Errors
    /// [`WalletError::Other`] when the store fails.
    pub fn exhausted(&self) -> Result<Vec<String>, WalletError> {
        Ok(self
            .store
            .batches()
            .map_err(other)?
            .into_iter()
            .filter(|b| b.unused == 0)
            .map(|b| b.batch_id)
            .collect())
    }

    /// Refreshes a batch with [`wallet::refresh`] (the refresh token stored with it, `copies`
    /// new holder keys and proofs, every copy verified); returns how many copies it now holds.
    ///
    /// # Errors
    /// [`WalletError::Issuer`] when the issuer refuses (`invalid_grant` once the citizen is
    /// revoked); [`WalletError::Other`] for anything else.
    pub async fn refresh(&mut self, batch_id: &str, copies: usize) -> Result<usize, WalletError> {
        let options = ReceiveOptions {
            copies,
            ..ReceiveOptions::default()
        };
        match wallet::refresh(
            &self.http,
            &mut self.store,
            batch_id,
            &options,
            &mut OsRng,
            now(),
        )
        .await
        {
            Ok(_) => self.hold(batch_id),
            Err(RefreshError::Refused { error, .. }) => Err(WalletError::Issuer { code: error }),
            Err(e) => Err(other(e)),
        }
    }

    /// Verifies a credential as the wallet does on receipt (signature by a trusted issuer key,
    /// disclosures, times, `cnf.jwk` equal to `key`) and builds the holder's view of it. The
    /// result is not stored (its `batch_id` is empty).
    ///
    /// # Errors
    /// [`WalletError::Unverified`] naming the failed check.
    pub fn check(trust: &TrustStore, sd_jwt: String, key: SigningKey) -> Result<Held, WalletError> {
        let unverified =
            |e: credential::sd_jwt::VerifyError| WalletError::Unverified { code: e.code() };
        let parsed = SdJwt::parse(&sd_jwt, &Limits::default()).map_err(unverified)?;
        let verified = parsed
            .verify(trust, &VerifyOptions::new(now(), KeyBinding::NotRequired))
            .map_err(unverified)?;
        if verified.holder_key.as_ref() != Some(key.public_jwk()) {
            return Err(WalletError::Unverified {
                code: "cnf_mismatch",
            });
        }
        let claims = verified.claims;
        let vct = claims
            .get("vct")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                claims
                    .get("type")?
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| t.starts_with("urn:cn:citizen-id:"))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let holder = parsed.holder_view().map_err(unverified)?;
        Ok(Held {
            batch_id: String::new(),
            sd_jwt,
            key,
            vct,
            claims: holder.claims,
        })
    }

    /// Answers an offline `openid4vp://` request with [`wallet::answer`]: the DCQL query is
    /// matched against the stored credentials, earliest received first (so the basic credential
    /// is shown where basic is enough), and a fresh copy is shown when one is left. Returns the
    /// `vp_token` in the `VP2:` compact form (what the phone shows as a QR code).
    ///
    /// # Errors
    /// [`WalletError::MissingClaim`] when credentials of the right type lack a requested claim,
    /// [`WalletError::NoMatchingCredential`] when none is of a requested type.
    pub fn answer(&mut self, request_uri: &str) -> Result<String, WalletError> {
        let request = parse_request(request_uri)?;
        let mut candidates = wallet::consent::candidates(&self.store).map_err(other)?;
        candidates.sort_by_key(|c| self.held.iter().position(|h| h.batch_id == c.batch_id));
        let selections = match request.dcql_query.evaluate(&candidates) {
            MatchOutcome::Matched { selections } => selections,
            MatchOutcome::Unsatisfiable { unmet } => {
                return Err(match unmet.into_iter().next() {
                    Some(Unmet::MissingClaims { claims, .. }) => WalletError::MissingClaim {
                        path: claims.join(", "),
                    },
                    _ => WalletError::NoMatchingCredential,
                })
            }
            // `MatchOutcome` may be `#[non_exhaustive]` (wallet-core keeps it so on main).
            #[allow(unreachable_patterns)]
            _ => return Err(WalletError::NoMatchingCredential),
        };
        self.answer_selections(request, selections)
    }

    /// Answers with a copy of the batch of held credential `index`, whatever its type (a wallet
    /// would not offer a credential of another type; the demo does it to show the relying party
    /// refuse). With `partial`, requested claims the credential lacks are left out instead of
    /// refusing.
    ///
    /// # Errors
    /// [`WalletError::MissingClaim`] when the credential lacks a requested claim and not
    /// `partial`.
    pub fn answer_with(
        &mut self,
        request_uri: &str,
        index: usize,
        partial: bool,
    ) -> Result<String, WalletError> {
        let request = parse_request(request_uri)?;
        let held = self.held.get(index).context("no such credential")?;
        let query = request
            .dcql_query
            .credentials
            .first()
            .context("request has no credential query")?;
        let holder_value = Value::Object(held.claims.clone());
        let subject = held.claims.get("credentialSubject");
        let mut paths = Vec::new();
        for claim in query.claims.as_deref().unwrap_or_default() {
            let path = &claim.path;
            // The W3C form keeps the claims inside credentialSubject.
            let (path, found) = match subject {
                Some(s) => (
                    ClaimPath(
                        std::iter::once(PathSegment::Key("credentialSubject".into()))
                            .chain(path.0.iter().cloned())
                            .collect(),
                    ),
                    !path.lookup(s).is_empty(),
                ),
                None => (path.clone(), !path.lookup(&holder_value).is_empty()),
            };
            if !found && partial {
                continue;
            }
            if !found {
                return Err(WalletError::MissingClaim {
                    path: path.to_string(),
                });
            }
            paths.push(path);
        }
        let selection = Selection {
            query_id: query.id.clone(),
            batch_id: held.batch_id.clone(),
            claims: paths,
            key_binding: true,
            authority: wallet::dcql::AuthorityMatch::Matched,
        };
        self.answer_selections(request, vec![selection])
    }

    /// Makes the answer with [`wallet::answer`] (reusing a copy when every one was shown).
    fn answer_selections(
        &mut self,
        request: AuthorizationRequest,
        selections: Vec<Selection>,
    ) -> Result<String, WalletError> {
        let consent = ConsentSummary {
            client_id: request.client_id.clone(),
            asker: wallet::present::asker_name(&request.client_id, &request.client_identity),
            client_identity: request.client_identity.clone(),
            response_uri: None,
            items: Vec::new(),
        };
        let prepared = Prepared {
            request,
            selections,
            consent,
        };
        let answer =
            wallet::answer(&mut self.store, &prepared, Reuse::Allow, now()).map_err(other)?;
        // The QR code's text: `VP2:`, which packs an SD-JWT+KB answer near its binary size.
        Ok(credential::compact::encode_v2(&answer.to_json_text()))
    }
}
