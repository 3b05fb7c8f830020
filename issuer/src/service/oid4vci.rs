//! OpenID4VCI 1.0, pre-authorized code flow: token endpoint (section 6), nonce endpoint
//! (section 7) and credential endpoint (section 8) with `jwt` key proofs (appendix F.1) and
//! batch issuance.
//!
//! ```text
//!  wallet                                   issuer
//!  POST /token  pre-authorized_code+tx_code ─► one transaction: code digest matches, offer open,
//!                                               unexpired; tx_code wrong → attempts+1 (dead at
//!                                               the limit); right → offer redeemed (conditional
//!                                               UPDATE) + access token + refresh token
//!                                               (new family)  ◄─ access_token, refresh_token
//!  POST /token  grant_type=refresh_token    ─► one transaction: token active, unexpired,
//!                                               enrolment not revoked/suspended; spent, next
//!                                               of the family stored (a spent one presented
//!                                               again revokes the family, except a retry
//!                                               within refresh_reuse_grace while the first
//!                                               answer is unused: that answer is superseded
//!                                               by a fresh one); sooner than
//!                                               refresh_min_interval after the family's last
//!                                               refresh → slow_down, token kept  ◄─ both, new
//!  POST /nonce                              ─► nothing stored: HMAC-sealed issue time +
//!                                               randomness under a master-secret key ◄─ c_nonce
//!  POST /credential  Bearer, proofs.jwt[]   ─► proofs checked (typ, alg, jwk, signature, aud,
//!                                               iat, c_nonce tag and age) ─► one transaction:
//!                                               token valid, config covered and not yet
//!                                               issued, c_nonce recorded as used (once),
//!                                               proofs unused, each holder key never bound
//!                                               before (unique index), a status index per
//!                                               proof, credential rows + audit ─► sign one credential
//!                                               per proof key  ◄─ {"credentials": [...]}
//! ```

use std::collections::BTreeSet;

use serde_json::Value;
use zeroize::Zeroizing;

use credential::jose::{Jws, PublicJwk};
use credential::oid4vci::{CredentialRequest, PROOF_TYP};

use crate::domain::refusal::Refusal;
use crate::domain::ConfigId;
use crate::error::IssuerError;
use crate::secret::{
    domain, open_c_nonce, random_id, seal_c_nonce, BearerSecret, SecretDigest, TxCode,
};
use crate::service::Issuer;
use crate::store::DbError;
use crate::store::{IssueRecord, NewRefresh, Redemption, RefreshGrant};
use credential::citizen::{issue, CitizenClaims, IssueRequest};
use credential::status_list::StatusReference;

/// What the token endpoint hands out (RFC 6749 section 5.1). `Debug` shows no secret.
pub struct TokenGrant {
    /// The access token (`<id>.<secret>`).
    pub access_token: Zeroizing<String>,
    /// Its lifetime, seconds.
    pub expires_in: i64,
    /// The refresh token (`<id>.<secret>`), single use.
    pub refresh_token: Zeroizing<String>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A verified proof: the holder key and the digest that detects replay.
struct CheckedProof {
    holder: PublicJwk,
    nonce: SecretDigest,
    /// When the `c_nonce` expires (its issue time + `nonce_ttl`).
    nonce_expiry: i64,
    replay: SecretDigest,
}

impl Issuer {
    /// Token endpoint: redeems a pre-authorized code with its `tx_code`. Returns the access
    /// token, its lifetime and the first refresh token of a new family.
    ///
    /// # Errors
    /// [`Refusal::InvalidGrant`] for an unknown, used, dead or expired code or a wrong
    /// `tx_code` (which counts an attempt); [`Refusal::InvalidRequest`] when `tx_code` is
    /// missing.
    pub async fn token(
        &self,
        code: &str,
        tx_code: Option<&str>,
    ) -> Result<TokenGrant, IssuerError> {
        let code = BearerSecret::parse(code).ok_or(Refusal::InvalidGrant {
            reason: "pre-authorized code unknown",
        })?;
        let Some(tx_code) = tx_code else {
            return Err(Refusal::invalid_request("tx_code is required").into());
        };
        let tx_code = TxCode::presented(tx_code);
        let offer_id = code.id().to_owned();
        let code_digest = code.digest(domain::PRE_AUTH);
        let tx_digest = self.keys.tx_code_digest(&offer_id, &tx_code);
        let (access, refresh, family) = self.fresh_token_pair();
        let ttl = self.config.access_token_ttl;
        self.store
            .redeem_offer(Redemption {
                offer_id,
                code: code_digest,
                tx_code: tx_digest,
                token_id: access.id().to_owned(),
                token_hash: access.digest(domain::ACCESS),
                token_ttl: ttl,
                max_attempts: self.config.tx_code_attempts,
                refresh: NewRefresh::of(&refresh, family, self.config.refresh_token_ttl),
            })
            .await?;
        self.metrics.offer_redeemed();
        Ok(TokenGrant {
            access_token: access.expose(),
            expires_in: ttl,
            refresh_token: refresh.expose(),
        })
    }

    /// A new access token and a new refresh token; the family id is fresh too (the refresh
    /// grant keeps the old family instead).
    fn fresh_token_pair(&self) -> (BearerSecret, BearerSecret, String) {
        let mut rng = self.rng();
        let access_id = random_id(&mut *rng);
        let access = BearerSecret::generate(access_id, &mut *rng);
        let refresh_id = random_id(&mut *rng);
        let refresh = BearerSecret::generate(refresh_id, &mut *rng);
        (access, refresh, random_id(&mut *rng))
    }

    /// Token endpoint, refresh grant (RFC 6749 section 6): exchanges a refresh token for a new
    /// access token, which allows one fresh batch of each configuration the original offer
    /// covered, and a new refresh token of the same family. The presented one is spent.
    ///
    /// Refused with [`Refusal::InvalidGrant`] when the token is unknown, expired, revoked,
    /// already used (which also revokes its family and the access tokens it granted: a stolen
    /// copy and the real one cannot both go on), or when any credential from its enrolment is
    /// revoked (the family is revoked too) or suspended.
    ///
    /// Reuse grace (`refresh_reuse_grace`, 0 disables): a used token presented again within
    /// that many seconds of its use, while the refresh token and the access token it was
    /// answered with are both unused, is a retry after a lost answer. It gets a fresh pair;
    /// the unanswered pair is invalidated (its refresh token, if presented later, revokes the
    /// family), so one refresh yields one live successor and at most one batch.
    ///
    /// Rate limit (`refresh_min_interval`, 0 disables): a refresh sooner than that after the
    /// family's previous successful one is refused with [`Refusal::RefreshTooSoon`]
    /// (`slow_down`) and the token stays usable. A grace retry is not a new refresh.
    ///
    /// # Errors
    /// [`Refusal::InvalidGrant`] as above; [`Refusal::RefreshTooSoon`]; storage errors.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, IssuerError> {
        let presented = BearerSecret::parse(refresh_token).ok_or(Refusal::InvalidGrant {
            reason: "refresh token unknown",
        })?;
        let (access, refresh, _) = self.fresh_token_pair();
        let ttl = self.config.access_token_ttl;
        self.store
            .refresh_grant(RefreshGrant {
                presented_id: presented.id().to_owned(),
                presented_hash: presented.digest(domain::REFRESH),
                access_id: access.id().to_owned(),
                access_hash: access.digest(domain::ACCESS),
                access_ttl: ttl,
                next: NewRefresh::of(&refresh, String::new(), self.config.refresh_token_ttl),
                grace: self.config.refresh_reuse_grace,
                min_interval: self.config.refresh_min_interval,
            })
            .await?;
        Ok(TokenGrant {
            access_token: access.expose(),
            expires_in: ttl,
            refresh_token: refresh.expose(),
        })
    }

    /// Nonce endpoint: a fresh single-use `c_nonce`. Stateless: its issue time and randomness
    /// sealed with an HMAC under a key derived from the master secret (which replicas share);
    /// nothing is stored until a proof uses it, so calling `/nonce` costs no storage. A nonce is
    /// accepted for `nonce_ttl` seconds and used once (recorded in the credential endpoint's
    /// transaction).
    ///
    /// # Errors
    /// None today; kept fallible for the handler's shape.
    pub async fn c_nonce(&self) -> Result<String, IssuerError> {
        let key = self.keys.c_nonce_key();
        Ok(seal_c_nonce(&key, self.now(), &mut *self.rng()))
    }

    /// The expiry of a presented `c_nonce`, or [`Refusal::InvalidNonce`] when it is forged,
    /// altered, from another master secret, expired, or issued in the future.
    fn check_c_nonce(&self, nonce: &str, t: i64) -> Result<i64, IssuerError> {
        let iat = open_c_nonce(&self.keys.c_nonce_key(), nonce).ok_or(Refusal::InvalidNonce)?;
        let expiry = iat.saturating_add(self.config.nonce_ttl);
        if expiry <= t || iat > t + 60 {
            return Err(Refusal::InvalidNonce.into());
        }
        Ok(expiry)
    }

    fn check_proof(&self, index: usize, proof: &str, t: i64) -> Result<CheckedProof, IssuerError> {
        let bad = |reason: &str| Refusal::proof(index, reason);
        if proof.len() > 4096 {
            return Err(bad("too large").into());
        }
        let jws = Jws::parse(proof).map_err(|e| bad(&e.to_string()))?;
        let header = jws.header();
        if header.typ.as_deref() != Some(PROOF_TYP) {
            return Err(bad("typ must be openid4vci-proof+jwt").into());
        }
        if header.kid.is_some() || header.members.contains_key("x5c") {
            return Err(bad("only a jwk header identifies the key").into());
        }
        let jwk = header
            .members
            .get("jwk")
            .ok_or_else(|| bad("jwk header missing"))?;
        let holder = PublicJwk::from_value(jwk).map_err(|e| bad(&e.to_string()))?;
        jws.verify(&holder).map_err(|e| bad(&e.to_string()))?;
        let claims = jws.payload_object().map_err(|e| bad(&e.to_string()))?;
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == self.url(),
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(self.url())),
            _ => false,
        };
        if !aud_ok {
            return Err(bad("aud is not this issuer").into());
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("iat missing"))?;
        if iat > t + 60 || iat < t - self.config.proof_max_age {
            return Err(bad("iat is not fresh").into());
        }
        let nonce = claims
            .get("nonce")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("nonce missing"))?;
        let nonce_expiry = self.check_c_nonce(nonce, t)?;
        Ok(CheckedProof {
            holder,
            nonce: SecretDigest::of(domain::C_NONCE, nonce.as_bytes()),
            nonce_expiry,
            replay: SecretDigest::of(domain::PROOF, jws.signing_input().as_bytes()),
        })
    }

    /// Credential endpoint: checks the request and proofs, records one credential per proof key
    /// (each with its own status index) in one transaction, and signs them.
    ///
    /// # Errors
    /// The section 8.3.1 error for the first failed check; nothing is stored on failure.
    pub async fn credential(
        &self,
        access_token: &str,
        req: CredentialRequest,
    ) -> Result<Vec<String>, IssuerError> {
        let token = BearerSecret::parse(access_token).ok_or(Refusal::InvalidToken {
            reason: "malformed access token",
        })?;
        if req.proof.is_some() {
            return Err(Refusal::InvalidCredentialRequest {
                reason: "use proofs, not proof".into(),
            }
            .into());
        }
        if req.credential_identifier.is_some() {
            return Err(Refusal::InvalidCredentialRequest {
                reason: "credential_identifier is not supported".into(),
            }
            .into());
        }
        if req.credential_response_encryption.is_some() {
            return Err(Refusal::InvalidCredentialRequest {
                reason: "credential response encryption is not supported".into(),
            }
            .into());
        }
        let config_text =
            req.credential_configuration_id
                .ok_or(Refusal::InvalidCredentialRequest {
                    reason: "credential_configuration_id missing".into(),
                })?;
        let config =
            ConfigId::parse(&config_text).ok_or(Refusal::UnknownCredentialConfiguration)?;
        let proofs = req.proofs.ok_or(Refusal::InvalidProof {
            index: 0,
            reason: "proofs missing".into(),
        })?;
        if proofs.jwt.is_empty() || proofs.jwt.len() > self.config.batch_size {
            return Err(Refusal::InvalidCredentialRequest {
                reason: format!(
                    "proofs.jwt must hold 1 to {} proofs",
                    self.config.batch_size
                ),
            }
            .into());
        }
        let t = self.now();
        let mut checked = Vec::with_capacity(proofs.jwt.len());
        let mut keys = BTreeSet::new();
        for (i, p) in proofs.jwt.iter().enumerate() {
            let proof = self.check_proof(i, p, t)?;
            if !keys.insert(proof.holder.thumbprint().to_owned()) {
                return Err(Refusal::proof(
                    i,
                    "holder key repeated in the batch; each copy needs its own key",
                )
                .into());
            }
            checked.push(proof);
        }
        let signer = self.signer().await?;
        let validity = self.config.credential_validity_days * 86_400;
        let ids: Vec<String> = {
            let mut rng = self.rng();
            (0..=checked.len()).map(|_| random_id(&mut *rng)).collect()
        };
        let issuance = self
            .store
            .issue(IssueRecord {
                token_id: token.id().to_owned(),
                token_hash: token.digest(domain::ACCESS),
                config,
                nonces: checked
                    .iter()
                    .map(|p| (p.nonce.0, p.nonce_expiry))
                    .collect::<std::collections::BTreeMap<[u8; 32], i64>>()
                    .into_iter()
                    .collect(),
                replays: checked.iter().map(|p| p.replay).collect(),
                proof_expiry: t + self.config.proof_max_age + 120,
                holders: checked
                    .iter()
                    .map(|p| p.holder.thumbprint().to_owned())
                    .collect(),
                ids,
                kid: signer.kid().to_owned(),
                validity,
                shard_size: self.config.shard_size,
                now: t,
            })
            .await?;
        let plain = self
            .keys
            .open_sealed(&issuance.enrolment_id, &issuance.claims)?;
        let claims = std::str::from_utf8(&plain)
            .ok()
            .and_then(|text| CitizenClaims::from_json(text, issuance.level).ok())
            .ok_or(DbError::Corrupt {
                what: "enrolment claims",
            })?;
        let mut rng = self.child_rng();
        let mut out = Vec::with_capacity(checked.len());
        for (proof, (_, shard, idx)) in checked.iter().zip(&issuance.entries) {
            let request = IssueRequest {
                claims: &claims,
                level: issuance.level,
                format: config.format,
                issuer: self.url(),
                holder: &proof.holder,
                status: Some(&StatusReference {
                    idx: u64::from(*idx),
                    uri: self.status_uri(*shard),
                }),
                issued_at: t,
                expires_at: t + validity,
            };
            let sd_jwt = issue(&request, &signer, &mut rng)
                .map_err(|e| IssuerError::Internal(format!("issue: {e}")))?;
            out.push(sd_jwt);
        }
        tracing::info!(batch = %issuance.batch_id, enrolment = %issuance.enrolment_id, config = config.as_str(), count = out.len(), "credentials issued");
        self.metrics
            .issued(config.as_str(), issuance.level.as_str(), out.len());
        Ok(out)
    }
}
