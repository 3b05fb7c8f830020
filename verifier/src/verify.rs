//! Verifying a presentation against the trust store, the status lists and the policy.

use credential::citizen::Level;
use credential::jose::{Header, PublicJwk};
use credential::sd_jwt::{
    ClaimPath, IssuerKeys, KbClaims, KeyBinding, PathSegment, SdJwt, TypPolicy, VerifyError,
    VerifyOptions, SD_JWT_VC_RESERVED,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::status::{StatusError, StatusOutcome, StatusStore};
use crate::trust::KeyLimit;
use crate::{Policy, TrustStore};

/// The two forms of the citizen-ID credential (and, for a generic verifier, anything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Format {
    /// IETF SD-JWT VC, header `typ: dc+sd-jwt`.
    #[serde(rename = "dc+sd-jwt")]
    DcSdJwt,
    /// W3C VCDM 2.0 secured with SD-JWT, header `typ: vc+sd-jwt`.
    #[serde(rename = "vc+sd-jwt")]
    VcSdJwt,
    /// Any other SD-JWT (generic mode).
    #[serde(rename = "sd-jwt")]
    SdJwt,
}

/// A presentation that passed every check. Only this type exposes the disclosed claims.
#[derive(Debug, Clone)]
pub struct VerifiedPresentation {
    /// `iss` (or the VCDM `issuer`).
    pub issuer: String,
    /// The credential type: `vct`, or the citizen-ID type found in the VCDM `type`.
    pub credential_type: Option<String>,
    /// The assurance level read from the type (never from a disclosed claim).
    pub level: Option<Level>,
    /// The form.
    pub format: Format,
    /// The processed payload (RFC 9901 section 7.1).
    pub claims: Map<String, Value>,
    /// Paths of the disclosed claims.
    pub disclosed: Vec<ClaimPath>,
    /// The holder key (`cnf.jwk`).
    pub holder_key: Option<PublicJwk>,
    /// Key binding, when present.
    pub key_binding: Option<KbClaims>,
    /// The revocation check's outcome.
    pub status: StatusOutcome,
}

/// Why a presentation was rejected. [`VerifierError::code`] names the failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// An SD-JWT check failed.
    #[error(transparent)]
    Credential(#[from] VerifyError),
    /// The credential has no `iss`.
    #[error("credential has no issuer")]
    MissingIssuer,
    /// The credential type is not accepted by the policy.
    #[error("credential type {} is not accepted", found.as_deref().unwrap_or("(none)"))]
    UnacceptedType {
        /// The type found.
        found: Option<String>,
    },
    /// The assurance level is below the policy's minimum.
    #[error("assurance level {found} is below the required {required}")]
    LevelTooLow {
        /// The credential's level.
        found: Level,
        /// The policy's minimum.
        required: Level,
    },
    /// A claim the policy requires was not disclosed.
    #[error("required claim {path} not disclosed")]
    MissingRequiredClaim {
        /// The claim.
        path: String,
    },
    /// The issuer withdrew the signing key (emergency) for credentials issued when this one
    /// was.
    #[error("issuer signing key withdrawn for credentials issued at this time")]
    KeyWithdrawn,
    /// The credential expires after its signing key's published last credential expiry: the
    /// key was retired before such a credential could be issued (a forgery with an old key).
    #[error("credential expires after its signing key's last credential expiry ({last_credential_expiry})")]
    OutlivesKey {
        /// The key's last credential expiry (Unix seconds).
        last_credential_expiry: i64,
    },
    /// The revocation check failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

impl VerifierError {
    /// A stable snake_case name of the failed check.
    pub fn code(&self) -> &'static str {
        match self {
            VerifierError::Credential(e) => e.code(),
            VerifierError::MissingIssuer => "missing_issuer",
            VerifierError::UnacceptedType { .. } => "unaccepted_type",
            VerifierError::LevelTooLow { .. } => "level_too_low",
            VerifierError::MissingRequiredClaim { .. } => "missing_required_claim",
            VerifierError::KeyWithdrawn => "issuer_key_withdrawn",
            VerifierError::OutlivesKey { .. } => "credential_outlives_key",
            VerifierError::Status(e) => e.code(),
        }
    }
}

/// A relying party's verifier: trust store, status lists and policy, all local.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    /// Trusted issuer keys.
    pub trust: TrustStore,
    /// Known status lists.
    pub status: StatusStore,
    /// The policy.
    pub policy: Policy,
}

impl Verifier {
    /// A verifier with these parts.
    pub fn new(trust: TrustStore, status: StatusStore, policy: Policy) -> Verifier {
        Verifier {
            trust,
            status,
            policy,
        }
    }

    /// Verifies a compact or JSON-serialized presentation as of `now` (Unix seconds), expecting
    /// the KB-JWT to carry `nonce` and `aud`.
    ///
    /// # Errors
    /// The [`VerifierError`] naming the first failed check.
    pub fn verify(
        &self,
        presentation: &str,
        nonce: &str,
        aud: &str,
        now: i64,
    ) -> Result<VerifiedPresentation, VerifierError> {
        self.verify_with(presentation, nonce, aud, self.policy.key_binding, now)
    }

    /// Verifies one presentation of an answer to `request` (its nonce and client id), for the
    /// credential query `query_id` (`None` for a bare SD-JWT: the request's only query). A
    /// presentation without a KB-JWT is accepted only when the policy does not insist on key
    /// binding AND that credential query said `require_cryptographic_holder_binding: false`
    /// (OpenID4VP 1.0 section 6.1); otherwise it is [`VerifyError::KeyBindingMissing`].
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_for_request(
        &self,
        presentation: &str,
        request: &crate::request::PresentationRequest,
        query_id: Option<&str>,
        now: i64,
    ) -> Result<VerifiedPresentation, VerifierError> {
        let required = self.policy.key_binding
            || crate::request::holder_binding_required(&request.dcql_query, query_id);
        self.verify_with(
            presentation,
            &request.nonce,
            &request.client_id,
            required,
            now,
        )
    }

    fn verify_with(
        &self,
        presentation: &str,
        nonce: &str,
        aud: &str,
        key_binding: bool,
        now: i64,
    ) -> Result<VerifiedPresentation, VerifierError> {
        let policy = &self.policy;
        let options = VerifyOptions {
            now,
            clock_skew: secs(policy.clock_skew),
            allowed_algs: policy.algorithms.clone(),
            typ: if policy.generic {
                TypPolicy::AnyCredential
            } else {
                TypPolicy::OneOf(vec!["dc+sd-jwt".into(), "vc+sd-jwt".into()])
            },
            key_binding: if key_binding {
                KeyBinding::Required {
                    nonce: nonce.to_owned(),
                    aud: aud.to_owned(),
                    max_age: secs(policy.kb_max_age),
                }
            } else {
                KeyBinding::NotRequired
            },
            reserved_claims: if policy.generic {
                Vec::new()
            } else {
                SD_JWT_VC_RESERVED.iter().map(|s| (*s).to_owned()).collect()
            },
            limits: Default::default(),
        };
        let sd_jwt = SdJwt::parse(presentation, &options.limits)?;
        // A withdrawn key, or a credential outliving its key, has its own code (the trust
        // store alone would say `issuer_key_not_valid`).
        match self
            .trust
            .key_limit(sd_jwt.jws().header(), sd_jwt.payload())
        {
            Some(KeyLimit::Withdrawn) => return Err(VerifierError::KeyWithdrawn),
            Some(KeyLimit::OutlivesKey {
                last_credential_expiry,
            }) => {
                return Err(VerifierError::OutlivesKey {
                    last_credential_expiry,
                })
            }
            None => {}
        }
        let verified = if policy.generic {
            sd_jwt.into_verified(&GenericKeys(&self.trust), &options)?
        } else {
            sd_jwt.into_verified(&self.trust, &options)?
        };
        let claims = verified.claims;
        let format = match verified
            .header
            .typ
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("dc+sd-jwt") => Format::DcSdJwt,
            Some("vc+sd-jwt") => Format::VcSdJwt,
            _ => Format::SdJwt,
        };
        let issuer = claims
            .get("iss")
            .or_else(|| claims.get("issuer"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let credential_type = credential_type(&claims);
        let level = credential_type
            .as_deref()
            .and_then(|t| Level::from_vct(t).ok());
        if !policy.generic {
            let accepted = credential_type
                .as_ref()
                .is_some_and(|t| policy.accepted_types.iter().any(|a| a == t));
            if !accepted {
                return Err(VerifierError::UnacceptedType {
                    found: credential_type,
                });
            }
            let found = level.ok_or(VerifierError::UnacceptedType {
                found: credential_type.clone(),
            })?;
            if found < policy.min_level {
                return Err(VerifierError::LevelTooLow {
                    found,
                    required: policy.min_level,
                });
            }
        }
        let issuer = match issuer {
            Some(i) => i,
            None if policy.generic => String::new(),
            None => return Err(VerifierError::MissingIssuer),
        };
        // Required claims are looked up in the subject: the payload itself (dc+sd-jwt) or its
        // `credentialSubject` (vc+sd-jwt). Borrowed, never copied.
        let empty = Map::new();
        let subject = match format {
            Format::VcSdJwt => claims
                .get("credentialSubject")
                .and_then(Value::as_object)
                .unwrap_or(&empty),
            _ => &claims,
        };
        for path in &policy.required_claims {
            if !has_claim(subject, path) {
                return Err(VerifierError::MissingRequiredClaim {
                    path: path.to_string(),
                });
            }
        }
        let status = self.status.check(&claims, policy, now)?;
        Ok(VerifiedPresentation {
            issuer,
            credential_type,
            level,
            format,
            claims,
            disclosed: verified.disclosed,
            holder_key: verified.holder_key,
            key_binding: verified.key_binding,
            status,
        })
    }
}

/// The generic (plain RFC 9901) verifier's key lookup: the trust store's, and when the header's
/// `kid` names no trusted key, the one trusted key that has no `kid` of its own (RFC 9901's
/// examples name their key `issuer-key-1` while a verifier is given the bare JWK). The key must
/// still be allowed for the credential's issuer and valid at its issuance. The citizen-ID
/// profiles never use this: their keys are found by `kid` only.
struct GenericKeys<'a>(&'a TrustStore);

impl IssuerKeys for GenericKeys<'_> {
    fn issuer_key(
        &self,
        header: &Header,
        payload: &Map<String, Value>,
    ) -> Result<PublicJwk, VerifyError> {
        match self.0.issuer_key(header, payload) {
            Err(VerifyError::UnknownIssuerKey) if header.kid.is_some() => {
                let mut unnamed = TrustStore::new();
                for key in self.0.keys().iter().filter(|k| k.jwk.kid().is_none()) {
                    unnamed.add(key.clone());
                }
                // Without a `kid`, a store answers only when it holds exactly one key.
                let mut anonymous = header.clone();
                anonymous.kid = None;
                unnamed.issuer_key(&anonymous, payload)
            }
            other => other,
        }
    }
}

/// Whether the claim at `path` is present in `subject`.
fn has_claim(subject: &Map<String, Value>, path: &ClaimPath) -> bool {
    match path.segments().split_first() {
        None => true,
        Some((PathSegment::Key(first), rest)) => subject.get(first).is_some_and(|value| {
            // A top-level claim (the usual case) needs no further lookup.
            rest.is_empty() || !ClaimPath(rest.to_vec()).lookup(value).is_empty()
        }),
        Some(_) => false,
    }
}

/// The credential type: `vct`, or the first citizen-ID URN in a VCDM `type` array.
fn credential_type(claims: &Map<String, Value>) -> Option<String> {
    if let Some(vct) = claims.get("vct").and_then(Value::as_str) {
        return Some(vct.to_owned());
    }
    let types = claims.get("type")?.as_array()?;
    types
        .iter()
        .filter_map(Value::as_str)
        .find(|t| Level::from_vct(t).is_ok())
        .map(str::to_owned)
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::TrustedKey;
    use credential::jose::{Alg, SigningKey};
    use rand_core::SeedableRng as _;

    fn header(kid: &str) -> Header {
        Header::parse(
            serde_json::json!({"alg": "ES256", "kid": kid})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
    }

    fn key(seed: u64) -> PublicJwk {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let jwk = SigningKey::generate(Alg::Es256, &mut rng)
            .public_jwk()
            .to_bare_value();
        // As a trust file gives it: no `kid` member.
        PublicJwk::from_value(&jwk).unwrap()
    }

    #[test]
    fn only_the_generic_lookup_tries_a_key_without_kid_for_an_unknown_kid() {
        let bare = key(1);
        assert_eq!(bare.kid(), None);
        let mut store = TrustStore::new();
        store.add(TrustedKey::new(bare.clone()));
        let payload = Map::new();
        // The citizen-ID lookup: a kid that names no trusted key is refused.
        assert_eq!(
            store.issuer_key(&header("issuer-key-1"), &payload),
            Err(VerifyError::UnknownIssuerKey)
        );
        // The generic lookup tries the one key without a kid.
        assert_eq!(
            GenericKeys(&store).issuer_key(&header("issuer-key-1"), &payload),
            Ok(bare.clone())
        );
        // Two keys without a kid: which one is meant is unknown, so neither is tried.
        store.add(TrustedKey::new(key(2)));
        assert_eq!(
            GenericKeys(&store).issuer_key(&header("issuer-key-1"), &payload),
            Err(VerifyError::UnknownIssuerKey)
        );
    }
}
