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
//!                                               again revokes the family) ◄─ both, new
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
use crate::model::{now, ConfigId, Status};
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
    /// token, its lifetime and the first refresh token of a new family.
    ///
    /// # Errors
    /// [`ApiError::InvalidGrant`] for an unknown, used, dead or expired code or a wrong
    /// `tx_code` (which counts an attempt); [`ApiError::InvalidRequest`] when `tx_code` is
    /// missing.
    pub async fn token(&self, code: &str, tx_code: Option<&str>) -> Result<TokenGrant, ApiError> {
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
        let (access, refresh, family) = self.fresh_token_pair();
        let token_id = access.id().to_owned();
        let token_digest = access.digest(domain::ACCESS);
        let refresh_row = NewRefresh::of(&refresh, family, self.config.refresh_token_ttl);
        let ttl = self.config.access_token_ttl;
        let max_attempts = self.config.tx_code_attempts;
        let outcome = self
            .db
            .write(move |ctx| {
                let c = ctx.conn;
                let t = now();
                let row = c
                    .prepare_cached(
                        "SELECT code_hash, tx_code_hash, attempts, state, expires_at, enrolment_id, config_ids
                         FROM offers WHERE id = ?1",
                    )?
                    .query_row([&offer_id], |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, String>(6)?,
                        ))
                    })
                    .optional()?;
                let Some((code_hash, tx_hash, attempts, state, expires_at, enrolment_id, config_ids)) = row else {
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
                insert_refresh_token(c, &refresh_row, &enrolment_id, &config_ids, t)?;
                audit::append(c, t, "wallet", "offer.redeemed", Some(&offer_id),
                    &json!({"token": token_id, "refresh_family": refresh_row.family_id}))?;
                Ok(Ok(()))
            })
            .await?;
        outcome?;
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
    /// Refused with [`ApiError::InvalidGrant`] when the token is unknown, expired, revoked,
    /// already used (which also revokes its family and the access tokens it granted: a stolen
    /// copy and the real one cannot both go on), or when any credential from its enrolment is
    /// revoked (the family is revoked too) or suspended.
    ///
    /// # Errors
    /// [`ApiError::InvalidGrant`] as above; storage errors.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, ApiError> {
        let presented = BearerSecret::parse(refresh_token).ok_or(ApiError::InvalidGrant {
            reason: "refresh token unknown",
        })?;
        let presented_id = presented.id().to_owned();
        let presented_digest = presented.digest(domain::REFRESH);
        let (access, refresh, _) = self.fresh_token_pair();
        let access_id = access.id().to_owned();
        let access_digest = access.digest(domain::ACCESS);
        let ttl = self.config.access_token_ttl;
        let refresh_ttl = self.config.refresh_token_ttl;
        let next_id = refresh.id().to_owned();
        let next_digest = refresh.digest(domain::REFRESH);
        let outcome =
            self.db
                .write(move |ctx| {
                    let c = ctx.conn;
                    let t = now();
                    let Some(row) = find_refresh_token(c, &presented_id)? else {
                        return Err(ApiError::InvalidGrant {
                            reason: "refresh token unknown",
                        });
                    };
                    if !presented_digest.matches(&row.token_hash) {
                        return Err(ApiError::InvalidGrant {
                            reason: "refresh token unknown",
                        });
                    }
                    let refuse = |reason: &'static str| -> Result<Result<(), ApiError>, ApiError> {
                        audit::append(
                            c,
                            t,
                            "wallet",
                            "refresh.refused",
                            Some(&row.family_id),
                            &json!({"token": presented_id, "reason": reason}),
                        )?;
                        Ok(Err(ApiError::InvalidGrant { reason }))
                    };
                    match row.state.as_str() {
                        "active" => {}
                        "used" => {
                            revoke_refresh_family(c, &row.family_id)?;
                            return refuse("refresh token already used; its family is revoked");
                        }
                        _ => return refuse("refresh token revoked"),
                    }
                    if row.expires_at <= t {
                        return refuse("refresh token expired");
                    }
                    match enrolment_block(c, &row.enrolment_id)? {
                        Some(Status::Revoked) => {
                            revoke_refresh_family(c, &row.family_id)?;
                            return refuse("the credentials of this enrolment are revoked");
                        }
                        Some(_) => {
                            return refuse("the credentials of this enrolment are suspended")
                        }
                        None => {}
                    }
                    if !spend_refresh_token(c, &presented_id)? {
                        return Err(ApiError::InvalidGrant {
                            reason: "refresh token already used",
                        });
                    }
                    let next = NewRefresh {
                        id: next_id,
                        digest: next_digest,
                        family_id: row.family_id.clone(),
                        ttl: refresh_ttl,
                    };
                    insert_refresh_token(c, &next, &row.enrolment_id, &row.config_ids, t)?;
                    c.prepare_cached(
                    "INSERT INTO refreshed_access_tokens (id, token_hash, refresh_id, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![access_id, access_digest.0.as_slice(), next.id, t + ttl])?;
                    audit::append(
                        c,
                        t,
                        "wallet",
                        "refresh.used",
                        Some(&row.family_id),
                        &json!({"spent": presented_id, "next": next.id, "token": access_id,
                            "enrolment": row.enrolment_id}),
                    )?;
                    Ok(Ok(()))
                })
                .await?;
        outcome?;
        Ok(TokenGrant {
            access_token: access.expose(),
            expires_in: ttl,
            refresh_token: refresh.expose(),
        })
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
                let Some(grant) = find_access_grant(ctx.conn, &token_id)? else {
                    return Err(ApiError::InvalidToken { reason: "access token unknown" });
                };
                if !token_digest.matches(&grant.token_hash) {
                    return Err(ApiError::InvalidToken { reason: "access token unknown" });
                }
                if grant.expires_at <= t {
                    return Err(ApiError::InvalidToken { reason: "access token expired" });
                }
                if grant.refreshed && enrolment_block(ctx.conn, &grant.enrolment_id)?.is_some() {
                    return Err(ApiError::CredentialRequestDenied {
                        reason: "the credentials of this enrolment are revoked or suspended",
                    });
                }
                let AccessGrant { config_ids, enrolment_id, level, citizen, claims, refreshed, .. } = grant;
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
                if !record_issuance(ctx.conn, &token_id, config.as_str(), refreshed)? {
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
                // A refreshed batch joins the batch of the copies it replaces, so revoking or
                // suspending any copy of any generation reaches all of them.
                let batch_id = match refreshed {
                    true => lineage_batch(ctx.conn, &enrolment_id, config.as_str())?,
                    false => None,
                }
                .unwrap_or_else(|| ids[0].clone());
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

// Storage of refresh tokens and of the access tokens they grant: small functions of plain SQL,
// each run inside the writer's transaction.

/// A refresh token about to be stored.
struct NewRefresh {
    id: String,
    digest: SecretDigest,
    family_id: String,
    ttl: i64,
}

impl NewRefresh {
    fn of(secret: &BearerSecret, family_id: String, ttl: i64) -> NewRefresh {
        NewRefresh {
            id: secret.id().to_owned(),
            digest: secret.digest(domain::REFRESH),
            family_id,
            ttl,
        }
    }
}

/// A stored refresh token.
struct RefreshRow {
    token_hash: Vec<u8>,
    family_id: String,
    enrolment_id: String,
    config_ids: String,
    state: String,
    expires_at: i64,
}

/// An access token as the credential endpoint sees it, from a pre-authorized code or a refresh.
struct AccessGrant {
    token_hash: Vec<u8>,
    expires_at: i64,
    config_ids: String,
    enrolment_id: String,
    level: String,
    citizen: String,
    claims: Option<Vec<u8>>,
    refreshed: bool,
}

fn insert_refresh_token(
    c: &rusqlite::Connection,
    new: &NewRefresh,
    enrolment_id: &str,
    config_ids: &str,
    t: i64,
) -> Result<(), DbError> {
    c.prepare_cached(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, enrolment_id, config_ids, state, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7)",
    )?
    .execute(params![
        new.id,
        new.digest.0.as_slice(),
        new.family_id,
        enrolment_id,
        config_ids,
        t,
        t + new.ttl
    ])?;
    Ok(())
}

fn find_refresh_token(c: &rusqlite::Connection, id: &str) -> Result<Option<RefreshRow>, DbError> {
    Ok(c.prepare_cached(
        "SELECT token_hash, family_id, enrolment_id, config_ids, state, expires_at
             FROM refresh_tokens WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(RefreshRow {
            token_hash: r.get(0)?,
            family_id: r.get(1)?,
            enrolment_id: r.get(2)?,
            config_ids: r.get(3)?,
            state: r.get(4)?,
            expires_at: r.get(5)?,
        })
    })
    .optional()?)
}

/// Marks an active refresh token used. False when it was not active (a concurrent use won).
fn spend_refresh_token(c: &rusqlite::Connection, id: &str) -> Result<bool, DbError> {
    let n = c
        .prepare_cached(
            "UPDATE refresh_tokens SET state = 'used' WHERE id = ?1 AND state = 'active'",
        )?
        .execute([id])?;
    Ok(n == 1)
}

/// Revokes every refresh token of a family and expires the access tokens they granted.
fn revoke_refresh_family(c: &rusqlite::Connection, family_id: &str) -> Result<(), DbError> {
    c.prepare_cached("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = ?1")?
        .execute([family_id])?;
    c.prepare_cached(
        "UPDATE refreshed_access_tokens SET expires_at = 0
         WHERE refresh_id IN (SELECT id FROM refresh_tokens WHERE family_id = ?1)",
    )?
    .execute([family_id])?;
    Ok(())
}

/// The worst status among the enrolment's credentials when it is revoked or suspended.
fn enrolment_block(
    c: &rusqlite::Connection,
    enrolment_id: &str,
) -> Result<Option<Status>, DbError> {
    let worst: Option<i64> = c
        .prepare_cached(
            "SELECT MIN(status) FROM credentials WHERE enrolment_id = ?1 AND status <> 0",
        )?
        .query_row([enrolment_id], |r| r.get(0))?;
    // Revoked is 1 and suspended 2, so MIN picks revoked over suspended.
    match worst {
        None => Ok(None),
        Some(bits) => Status::from_bits(bits)
            .map(Some)
            .ok_or(DbError::Corrupt { what: "status" }),
    }
}

fn find_access_grant(c: &rusqlite::Connection, id: &str) -> Result<Option<AccessGrant>, DbError> {
    Ok(c
        .prepare_cached(
            "SELECT g.token_hash, g.expires_at, g.config_ids, g.enrolment_id, e.level, e.citizen_id, e.claims, g.refreshed
             FROM (SELECT a.token_hash, a.expires_at, o.config_ids, o.enrolment_id, 0 AS refreshed
                     FROM access_tokens a JOIN offers o ON o.id = a.offer_id WHERE a.id = ?1
                   UNION ALL
                   SELECT a.token_hash, a.expires_at, r.config_ids, r.enrolment_id, 1 AS refreshed
                     FROM refreshed_access_tokens a JOIN refresh_tokens r ON r.id = a.refresh_id
                     WHERE a.id = ?1) g
             JOIN enrolments e ON e.id = g.enrolment_id",
        )?
        .query_row([id], |r| {
            Ok(AccessGrant {
                token_hash: r.get(0)?,
                expires_at: r.get(1)?,
                config_ids: r.get(2)?,
                enrolment_id: r.get(3)?,
                level: r.get(4)?,
                citizen: r.get(5)?,
                claims: r.get(6)?,
                refreshed: r.get::<_, i64>(7)? == 1,
            })
        })
        .optional()?)
}

/// Records that `token_id` was used for `config_id`. False when it already was.
fn record_issuance(
    c: &rusqlite::Connection,
    token_id: &str,
    config_id: &str,
    refreshed: bool,
) -> Result<bool, DbError> {
    let sql = match refreshed {
        false => "INSERT OR IGNORE INTO token_issuances (token_id, config_id) VALUES (?1, ?2)",
        true => "INSERT OR IGNORE INTO refreshed_issuances (token_id, config_id) VALUES (?1, ?2)",
    };
    Ok(c.prepare_cached(sql)?.execute([token_id, config_id])? == 1)
}

/// The batch of the enrolment's newest credentials of `config_id`, if any.
fn lineage_batch(
    c: &rusqlite::Connection,
    enrolment_id: &str,
    config_id: &str,
) -> Result<Option<String>, DbError> {
    Ok(c.prepare_cached(
        "SELECT batch_id FROM credentials WHERE enrolment_id = ?1 AND config_id = ?2
             ORDER BY issued_at DESC LIMIT 1",
    )?
    .query_row([enrolment_id, config_id], |r| r.get(0))
    .optional()?)
}
