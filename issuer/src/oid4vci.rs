//! OpenID4VCI 1.0, pre-authorized code flow: token endpoint (section 6), nonce endpoint
//! (section 7) and credential endpoint (section 8) with `jwt` key proofs (appendix F.1) and
//! batch issuance.
//!
//! ```text
//!  wallet                                   issuer
//!  POST /token  pre-authorized_code+tx_code ─► one transaction: code digest matches, offer open,
//!                                               unexpired; tx_code wrong → attempts+1 (dead at
//!                                               the limit); right → offer redeemed (conditional
//!                                               UPDATE) + access token  ◄─ access_token
//!  POST /nonce                              ─► c_nonce stored (digest, expiry) ◄─ c_nonce
//!  POST /credential  Bearer, proofs.jwt[]   ─► proofs checked (typ, alg, jwk, signature, aud,
//!                                               iat) ─► one transaction: token valid, config
//!                                               covered and not yet issued, c_nonce consumed,
//!                                               proofs unused, a status index per proof,
//!                                               credential rows + audit ─► sign one credential
//!                                               per proof key  ◄─ {"credentials": [...]}
//! ```

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension as _};
use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use credential::jose::{Jws, PublicJwk};

use crate::audit;
use crate::db::DbError;
use crate::error::ApiError;
use crate::model::{now, ConfigId};
use crate::secret::{domain, random_id, random_nonce, BearerSecret, SecretDigest, TxCode};
use crate::service::Issuer;
use credential::citizen::{issue, CitizenClaims, IssueRequest, Level};
use credential::status_list::StatusReference;

/// The proof JWT `typ` (appendix F.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// A credential request body (section 8.2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// Which configuration.
    pub credential_configuration_id: Option<String>,
    /// Not supported (no `authorization_details` here).
    pub credential_identifier: Option<String>,
    /// Key proofs.
    pub proofs: Option<Proofs>,
    /// The removed single-proof form; rejected with a clear message.
    pub proof: Option<Value>,
    /// Response encryption is not supported.
    pub credential_response_encryption: Option<Value>,
}

/// `proofs` (section 8.2): only the `jwt` type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// Proof JWTs.
    pub jwt: Vec<String>,
}

/// A verified proof: the holder key and the digest that detects replay.
struct CheckedProof {
    holder: PublicJwk,
    nonce: SecretDigest,
    replay: SecretDigest,
}

struct Issuance {
    enrolment_id: String,
    level: Level,
    claims: Vec<u8>,
    entries: Vec<(String, i64, u32)>,
    batch_id: String,
}

impl Issuer {
    /// Token endpoint: redeems a pre-authorized code with its `tx_code`. Returns the access
    /// token and its lifetime in seconds.
    ///
    /// # Errors
    /// [`ApiError::InvalidGrant`] for an unknown, used, dead or expired code or a wrong
    /// `tx_code` (which counts an attempt); [`ApiError::InvalidRequest`] when `tx_code` is
    /// missing.
    pub async fn token(
        &self,
        code: &str,
        tx_code: Option<&str>,
    ) -> Result<(Zeroizing<String>, i64), ApiError> {
        let code = BearerSecret::parse(code).ok_or(ApiError::InvalidGrant {
            reason: "pre-authorized code unknown",
        })?;
        let Some(tx_code) = tx_code else {
            return Err(ApiError::invalid_request("tx_code is required"));
        };
        let tx_code = TxCode::presented(tx_code);
        let offer_id = code.id().to_owned();
        let code_digest = code.digest(domain::PRE_AUTH);
        let tx_digest = tx_code.digest(&offer_id);
        let access = {
            let mut rng = self.rng();
            let id = random_id(&mut *rng);
            BearerSecret::generate(id, &mut *rng)
        };
        let token_id = access.id().to_owned();
        let token_digest = access.digest(domain::ACCESS);
        let ttl = self.config.access_token_ttl;
        let max_attempts = self.config.tx_code_attempts;
        let outcome = self
            .db
            .write(move |ctx| {
                let c = ctx.conn;
                let t = now();
                let row = c
                    .prepare_cached(
                        "SELECT code_hash, tx_code_hash, attempts, state, expires_at FROM offers WHERE id = ?1",
                    )?
                    .query_row([&offer_id], |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })
                    .optional()?;
                let Some((code_hash, tx_hash, attempts, state, expires_at)) = row else {
                    return Err(ApiError::InvalidGrant { reason: "pre-authorized code unknown" });
                };
                if !code_digest.matches(&code_hash) {
                    return Err(ApiError::InvalidGrant { reason: "pre-authorized code unknown" });
                }
                if state != "open" {
                    return Err(ApiError::InvalidGrant {
                        reason: "pre-authorized code already used or dead",
                    });
                }
                if expires_at <= t {
                    return Err(ApiError::InvalidGrant { reason: "pre-authorized code expired" });
                }
                if !tx_digest.matches(&tx_hash) {
                    // A wrong PIN is a state change on purpose: it counts, and kills the code
                    // at the limit. The job succeeds so that this is committed.
                    let attempts = attempts + 1;
                    let dead = attempts >= max_attempts;
                    c.execute(
                        "UPDATE offers SET attempts = ?2,
                           state = CASE WHEN ?3 THEN 'dead' ELSE state END,
                           code_sealed = CASE WHEN ?3 THEN NULL ELSE code_sealed END
                         WHERE id = ?1",
                        params![offer_id, attempts, dead],
                    )?;
                    if dead {
                        audit::append(c, t, "wallet", "offer.dead", Some(&offer_id), &json!({"attempts": attempts}))?;
                    }
                    return Ok(Err(ApiError::InvalidGrant { reason: "tx_code is wrong" }));
                }
                let n = c.execute(
                    "UPDATE offers SET state = 'redeemed', code_sealed = NULL
                     WHERE id = ?1 AND state = 'open' AND expires_at > ?2",
                    params![offer_id, t],
                )?;
                if n != 1 {
                    return Err(ApiError::InvalidGrant {
                        reason: "pre-authorized code already used or dead",
                    });
                }
                c.prepare_cached(
                    "INSERT INTO access_tokens (id, token_hash, offer_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![token_id, token_digest.0.as_slice(), offer_id, t + ttl])?;
                audit::append(c, t, "wallet", "offer.redeemed", Some(&offer_id), &json!({"token": token_id}))?;
                Ok(Ok(()))
            })
            .await?;
        outcome?;
        Ok((access.expose(), ttl))
    }

    /// Nonce endpoint: a fresh single-use `c_nonce`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn c_nonce(&self) -> Result<String, ApiError> {
        let nonce = random_nonce(&mut *self.rng());
        let digest = SecretDigest::of(domain::C_NONCE, nonce.as_bytes());
        let exp = now() + self.config.nonce_ttl;
        self.db
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO c_nonces (nonce_hash, expires_at) VALUES (?1, ?2)",
                    )?
                    .execute(params![digest.0.as_slice(), exp])?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(nonce)
    }

    fn check_proof(&self, index: usize, proof: &str, t: i64) -> Result<CheckedProof, ApiError> {
        let bad = |reason: &str| ApiError::proof(index, reason);
        if proof.len() > 4096 {
            return Err(bad("too large"));
        }
        let jws = Jws::parse(proof).map_err(|e| bad(&e.to_string()))?;
        let header = jws.header();
        if header.typ.as_deref() != Some(PROOF_TYP) {
            return Err(bad("typ must be openid4vci-proof+jwt"));
        }
        if header.kid.is_some() || header.members.contains_key("x5c") {
            return Err(bad("only a jwk header identifies the key"));
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
            return Err(bad("aud is not this issuer"));
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("iat missing"))?;
        if iat > t + 60 || iat < t - self.config.proof_max_age {
            return Err(bad("iat is not fresh"));
        }
        let nonce = claims
            .get("nonce")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("nonce missing"))?;
        Ok(CheckedProof {
            holder,
            nonce: SecretDigest::of(domain::C_NONCE, nonce.as_bytes()),
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
    ) -> Result<Vec<String>, ApiError> {
        let token = BearerSecret::parse(access_token).ok_or(ApiError::InvalidToken {
            reason: "malformed access token",
        })?;
        if req.proof.is_some() {
            return Err(ApiError::InvalidCredentialRequest {
                reason: "use proofs, not proof".into(),
            });
        }
        if req.credential_identifier.is_some() {
            return Err(ApiError::InvalidCredentialRequest {
                reason: "credential_identifier is not supported".into(),
            });
        }
        if req.credential_response_encryption.is_some() {
            return Err(ApiError::InvalidCredentialRequest {
                reason: "credential response encryption is not supported".into(),
            });
        }
        let config_text =
            req.credential_configuration_id
                .ok_or(ApiError::InvalidCredentialRequest {
                    reason: "credential_configuration_id missing".into(),
                })?;
        let config =
            ConfigId::parse(&config_text).ok_or(ApiError::UnknownCredentialConfiguration)?;
        let proofs = req.proofs.ok_or(ApiError::InvalidProof {
            index: 0,
            reason: "proofs missing".into(),
        })?;
        if proofs.jwt.is_empty() || proofs.jwt.len() > self.config.batch_size {
            return Err(ApiError::InvalidCredentialRequest {
                reason: format!(
                    "proofs.jwt must hold 1 to {} proofs",
                    self.config.batch_size
                ),
            });
        }
        let t = now();
        let mut checked = Vec::with_capacity(proofs.jwt.len());
        let mut keys = BTreeSet::new();
        for (i, p) in proofs.jwt.iter().enumerate() {
            let proof = self.check_proof(i, p, t)?;
            if !keys.insert(proof.holder.thumbprint().to_owned()) {
                return Err(ApiError::proof(i, "holder key repeated in the batch"));
            }
            checked.push(proof);
        }
        let signer = self.keys.active();
        let kid = signer.kid().to_owned();
        let token_id = token.id().to_owned();
        let token_digest = token.digest(domain::ACCESS);
        let validity = self.config.credential_validity_days * 86_400;
        let shard_size = self.config.shard_size;
        let nonces: BTreeSet<[u8; 32]> = checked.iter().map(|p| p.nonce.0).collect();
        let replays: Vec<SecretDigest> = checked.iter().map(|p| p.replay).collect();
        let holders: Vec<String> = checked
            .iter()
            .map(|p| p.holder.thumbprint().to_owned())
            .collect();
        let proof_expiry = t + self.config.proof_max_age + 120;
        let ids: Vec<String> = {
            let mut rng = self.rng();
            (0..=checked.len()).map(|_| random_id(&mut *rng)).collect()
        };
        let issuance = self
            .db
            .write(move |ctx| {
                let row = ctx
                    .conn
                    .prepare_cached(
                        "SELECT a.token_hash, a.expires_at, o.config_ids, o.enrolment_id, e.level, e.citizen_id, e.claims
                         FROM access_tokens a JOIN offers o ON o.id = a.offer_id
                         JOIN enrolments e ON e.id = o.enrolment_id WHERE a.id = ?1",
                    )?
                    .query_row([&token_id], |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, Option<Vec<u8>>>(6)?,
                        ))
                    })
                    .optional()?;
                let Some((hash, exp, config_ids, enrolment_id, level, citizen, claims)) = row else {
                    return Err(ApiError::InvalidToken { reason: "access token unknown" });
                };
                if !token_digest.matches(&hash) {
                    return Err(ApiError::InvalidToken { reason: "access token unknown" });
                }
                if exp <= t {
                    return Err(ApiError::InvalidToken { reason: "access token expired" });
                }
                let covered: Vec<String> = serde_json::from_str(&config_ids)
                    .map_err(|_| DbError::Corrupt { what: "offer config ids" })?;
                if !covered.iter().any(|c| c == config.as_str()) {
                    return Err(ApiError::CredentialRequestDenied {
                        reason: "the access token does not cover this credential configuration",
                    });
                }
                let claims = claims.ok_or(ApiError::CredentialRequestDenied {
                    reason: "enrolment claims were purged",
                })?;
                let level = Level::parse(&level).map_err(|_| DbError::Corrupt { what: "level" })?;
                let n = ctx
                    .conn
                    .prepare_cached("INSERT OR IGNORE INTO token_issuances (token_id, config_id) VALUES (?1, ?2)")?
                    .execute(params![token_id, config.as_str()])?;
                if n != 1 {
                    return Err(ApiError::CredentialRequestDenied {
                        reason: "this credential was already issued for this access token",
                    });
                }
                for nonce in &nonces {
                    let n = ctx
                        .conn
                        .prepare_cached("DELETE FROM c_nonces WHERE nonce_hash = ?1 AND expires_at > ?2")?
                        .execute(params![nonce.as_slice(), t])?;
                    if n != 1 {
                        return Err(ApiError::InvalidNonce);
                    }
                }
                for (i, replay) in replays.iter().enumerate() {
                    let n = ctx
                        .conn
                        .prepare_cached("INSERT OR IGNORE INTO used_proofs (proof_hash, expires_at) VALUES (?1, ?2)")?
                        .execute(params![replay.0.as_slice(), proof_expiry])?;
                    if n != 1 {
                        return Err(ApiError::proof(i, "proof already used"));
                    }
                }
                let batch_id = ids[0].clone();
                let mut entries = Vec::with_capacity(holders.len());
                for (i, holder) in holders.iter().enumerate() {
                    let (shard, idx) = crate::status::allocate(ctx, shard_size)?;
                    let id = ids[i + 1].clone();
                    ctx.conn
                        .prepare_cached(
                            "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                               status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                        )?
                        .execute(params![
                            id, enrolment_id, citizen, batch_id, config.as_str(), level.as_str(),
                            config.format.as_str(), shard, idx, kid, holder, t, t + validity
                        ])?;
                    audit::append(
                        ctx.conn, t, "wallet", "credential.issued", Some(&id),
                        &json!({"enrolment": enrolment_id, "batch": batch_id, "config": config.as_str(),
                                "shard": shard, "idx": idx, "kid": kid}),
                    )?;
                    entries.push((id, shard, idx));
                }
                Ok(Issuance { enrolment_id, level, claims, entries, batch_id })
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
                .map_err(|e| ApiError::Internal(format!("issue: {e}")))?;
            out.push(sd_jwt);
        }
        tracing::info!(batch = %issuance.batch_id, enrolment = %issuance.enrolment_id, config = config.as_str(), count = out.len(), "credentials issued");
        Ok(out)
    }
}
