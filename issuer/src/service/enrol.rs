//! Enrolment (the bureau's side) and credential offers (OpenID4VCI 1.0 section 4.1).
//!
//! ```text
//!  basic: POST /enrol/nonce ─► platform runs liveness + face match, signs an attestation
//!         POST /enrol/basic {claims, attestation}
//!           check: platform signature · iat fresh · nonce single use · score ≥ minimum ·
//!                  id_number_sha256 matches the claims · liveness
//!  high:  POST /enrol/high {claims}   (officer at the counter; the officer is the evidence)
//!  both:  claims validated ─► enrolment row (claims sealed) + offer row (code and tx_code
//!         digests) + audit, in one transaction ─► offer URI + tx_code
//! ```

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use credential::b64;
use credential::jose::{Jws, PublicJwk};
use credential::oid4vci::{CredentialOffer, Grants, PreAuthorizedCodeGrant, Secret, TxCodeSpec};

use crate::domain::refusal::Refusal;
use crate::domain::ConfigId;
use crate::error::IssuerError;
use crate::secret::{domain, random_id, random_nonce, BearerSecret, SecretDigest, TxCode};
use crate::service::{Issuer, Officer};
use crate::store::DbError;
use crate::store::NewEnrolment;
use credential::citizen::{CitizenClaims, Level};

/// A created credential offer. Holds the `tx_code` in clear for the one answer that shows it.
pub struct Offer {
    /// Offer id (`GET /offers/{id}`).
    pub id: String,
    /// Enrolment id.
    pub enrolment_id: String,
    /// The credential offer object (section 4.1.1), pre-authorized code included.
    pub credential_offer: CredentialOffer,
    /// `openid-credential-offer://?credential_offer=...`.
    pub offer_uri: String,
    /// `openid-credential-offer://?credential_offer_uri=...`.
    pub offer_uri_by_reference: String,
    /// The PIN for the other channel.
    pub tx_code: TxCode,
    /// Unix time the code expires.
    pub expires_at: i64,
}

impl std::fmt::Debug for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offer")
            .field("id", &self.id)
            .field("enrolment_id", &self.enrolment_id)
            .finish_non_exhaustive()
    }
}

impl Offer {
    /// The JSON answer of the enrolment endpoints and `issuer enroll --json`. Contains the
    /// `tx_code`: show it once.
    pub fn answer(&self) -> Value {
        json!({
            "offer_id": self.id,
            "enrolment_id": self.enrolment_id,
            "offer_uri": self.offer_uri,
            "credential_offer_uri": self.offer_uri_by_reference,
            "credential_offer": self.credential_offer,
            "tx_code": *self.tx_code.expose(),
            "expires_at": self.expires_at,
        })
    }
}

/// The face-match attestation payload a messaging platform signs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Attestation {
    id_number_sha256: String,
    score: f64,
    liveness: bool,
    iat: i64,
    nonce: String,
}

/// The credential offer object (section 4.1.1).
pub fn credential_offer(issuer: &str, configs: &[ConfigId], code: &str) -> CredentialOffer {
    CredentialOffer {
        credential_issuer: issuer.to_owned(),
        credential_configuration_ids: configs.iter().map(|c| c.as_str().to_owned()).collect(),
        grants: Some(Grants {
            authorization_code: None,
            pre_authorized_code: Some(PreAuthorizedCodeGrant {
                pre_authorized_code: Secret::new(code),
                tx_code: Some(TxCodeSpec {
                    length: Some(TxCode::LENGTH as u32),
                    input_mode: Some("numeric".to_owned()),
                    description: Some(
                        "请输入短信中的 6 位数字 / Enter the 6-digit code sent to you by SMS"
                            .to_owned(),
                    ),
                }),
                authorization_server: None,
            }),
        }),
    }
}

/// The offer object as compact JSON, for an offer URI or QR code.
///
/// # Errors
/// [`IssuerError::Internal`] if it cannot be serialized (it always can: strings only).
pub fn offer_json(offer: &CredentialOffer) -> Result<String, IssuerError> {
    serde_json::to_string(offer).map_err(|e| IssuerError::Internal(format!("offer json: {e}")))
}

/// `openid-credential-offer://?<name>=<urlencoded value>`.
pub fn offer_uri(name: &str, value: &str) -> String {
    let query = serde_urlencoded::to_string([(name, value)]).unwrap_or_default();
    format!("openid-credential-offer://?{query}")
}

impl Issuer {
    /// Hands out a single-use nonce for a face-match attestation.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn attestation_nonce(&self) -> Result<(String, i64), IssuerError> {
        let nonce = random_nonce(&mut *self.rng());
        let digest = SecretDigest::of(domain::ATTESTATION_NONCE, nonce.as_bytes());
        let ttl = self.config.nonce_ttl;
        self.store
            .insert_attestation_nonce(digest, self.now() + ttl)
            .await?;
        Ok((nonce, ttl))
    }

    async fn check_attestation(
        &self,
        claims: &CitizenClaims,
        attestation: &str,
    ) -> Result<(SecretDigest, String, f64), IssuerError> {
        let bad = |reason| Refusal::InvalidAttestation { reason };
        if attestation.len() > 8192 {
            return Err(bad("too large").into());
        }
        let jws = Jws::parse(attestation).map_err(|_| bad("not a valid compact jws"))?;
        let kid = jws.header().kid.clone().ok_or(bad("kid missing"))?;
        let row = self.store.platform_key(&kid).await?;
        let (platform, jwk) = row.ok_or(bad("platform key not registered"))?;
        let key = PublicJwk::from_json(&jwk).map_err(|_| DbError::Corrupt {
            what: "platform jwk",
        })?;
        jws.verify(&key)
            .map_err(|_| bad("signature does not verify"))?;
        let a: Attestation =
            serde_json::from_slice(jws.payload()).map_err(|_| bad("payload is malformed"))?;
        let t = self.now();
        if a.iat > t + 60 || a.iat < t - self.config.attestation_max_age {
            return Err(bad("iat is not fresh").into());
        }
        if !a.liveness {
            return Err(bad("liveness not passed").into());
        }
        if !(0.0..=1.0).contains(&a.score) {
            return Err(bad("score out of range").into());
        }
        if a.score < self.config.min_face_match_score {
            return Err(bad("score below minimum").into());
        }
        let expected = b64::encode(Sha256::digest(claims.id_number().as_str().as_bytes()));
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            a.id_number_sha256.as_bytes(),
        )) {
            return Err(bad("id_number digest does not match the claims").into());
        }
        let nonce = SecretDigest::of(domain::ATTESTATION_NONCE, a.nonce.as_bytes());
        Ok((nonce, platform, a.score))
    }

    /// Enrols a citizen at the basic level after checking the face-match attestation.
    /// A failed check enrols no one and consumes nothing.
    ///
    /// # Errors
    /// [`Refusal::InvalidClaims`], [`Refusal::InvalidAttestation`]; storage errors.
    pub async fn enrol_basic(
        &self,
        officer: &Officer,
        claims: &Value,
        attestation: &str,
    ) -> Result<Offer, IssuerError> {
        let claims = &CitizenClaims::from_value(claims, Level::Basic)?;
        let (nonce, platform, score) = self.check_attestation(claims, attestation).await?;
        let evidence = json!({"method": "remote_face_match", "platform": platform, "score": score});
        self.enrol(officer, claims, Level::Basic, evidence, Some(nonce))
            .await
    }

    /// Enrols a citizen at the high level: an officer read the card in person; the officer is
    /// recorded as the evidence.
    ///
    /// # Errors
    /// [`Refusal::InvalidClaims`]; storage errors.
    pub async fn enrol_high(
        &self,
        officer: &Officer,
        claims: &Value,
    ) -> Result<Offer, IssuerError> {
        let claims = &CitizenClaims::from_value(claims, Level::High)?;
        let evidence =
            json!({"method": "in_person", "officer": officer.id, "card_read_at": self.now()});
        self.enrol(officer, claims, Level::High, evidence, None)
            .await
    }

    async fn enrol(
        &self,
        officer: &Officer,
        claims: &CitizenClaims,
        level: Level,
        evidence: Value,
        attestation_nonce: Option<SecretDigest>,
    ) -> Result<Offer, IssuerError> {
        let t = self.now();
        let configs = ConfigId::for_level(level);
        let (enrolment_id, code, tx_code, sealed_claims, sealed_code) = {
            let mut rng = self.rng();
            let enrolment_id = random_id(&mut *rng);
            let code = BearerSecret::generate(random_id(&mut *rng), &mut *rng);
            let tx_code = TxCode::generate(&mut *rng);
            let plain = Zeroizing::new(claims.to_value().to_string().into_bytes());
            let sealed_claims = self.keys.seal(&enrolment_id, &plain, &mut *rng)?;
            let sealed_code = self
                .keys
                .seal(code.id(), code.expose().as_bytes(), &mut *rng)?;
            (enrolment_id, code, tx_code, sealed_claims, sealed_code)
        };
        let offer_id = code.id().to_owned();
        let citizen = self.keys.citizen_id(claims.id_number().as_str());
        let expires_at = t + self.config.offer_ttl;
        let config_ids = serde_json::to_string(&configs.map(|c| c.as_str()))
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        self.store
            .enrol(NewEnrolment {
                id: enrolment_id.clone(),
                citizen_id: citizen,
                level,
                evidence,
                sealed_claims,
                actor: officer.id.clone(),
                created_at: t,
                offer_id: offer_id.clone(),
                config_ids,
                code_hash: code.digest(domain::PRE_AUTH),
                code_sealed: sealed_code,
                tx_code_hash: self.keys.tx_code_digest(&offer_id, &tx_code),
                expires_at,
                attestation_nonce,
            })
            .await?;
        // Never the offer id: it fetches the pre-authorized code from GET /offers/{id}.
        tracing::info!(enrolment = %enrolment_id, level = level.as_str(), officer = %officer.id, "enrolled");
        let code_text = code.expose();
        let credential_offer = credential_offer(self.url(), &configs, &code_text);
        Ok(Offer {
            offer_uri: offer_uri("credential_offer", &offer_json(&credential_offer)?),
            offer_uri_by_reference: offer_uri(
                "credential_offer_uri",
                &format!("{}/offers/{}", self.url(), offer_id),
            ),
            id: offer_id,
            enrolment_id,
            credential_offer,
            tx_code,
            expires_at,
        })
    }

    /// The credential offer object for `GET /offers/{id}`, while the offer is open.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown, redeemed, dead or expired offer.
    pub async fn offer(&self, id: &str) -> Result<CredentialOffer, IssuerError> {
        if id.len() > 64 {
            return Err(Refusal::NotFound { what: "offer" }.into());
        }
        let row = self.store.open_offer(id, self.now()).await?;
        let (config_ids, sealed) = row.ok_or(Refusal::NotFound { what: "offer" })?;
        let ids: Vec<String> = serde_json::from_str(&config_ids).map_err(|_| DbError::Corrupt {
            what: "offer config ids",
        })?;
        let configs: Vec<ConfigId> = ids.iter().filter_map(|s| ConfigId::parse(s)).collect();
        let code = self.keys.open_sealed(id, &sealed)?;
        let code =
            std::str::from_utf8(&code).map_err(|_| DbError::Corrupt { what: "offer code" })?;
        Ok(credential_offer(self.url(), &configs, code))
    }
}
