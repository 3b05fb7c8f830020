use std::num::NonZeroU64;

use serde_json::{Map, Value};

use super::error::StatusListError;
use super::limits::Limits;
use super::list::StatusList;
use super::reference::StatusReference;
use super::status::Status;
use crate::jose::{sign_compact, try_sign_compact, Header, Jws, JwsSigner, PublicJwk, SigningKey};
use crate::size::at_most;

/// The JOSE header `typ` of a Status List Token (draft-ietf-oauth-status-list section 5.1).
pub const TYP: &str = "statuslist+jwt";

/// The media type of a Status List Token in JWT format (section 8.2, section 14.7).
pub const MEDIA_TYPE: &str = "application/statuslist+jwt";

/// The clock skew [`Validation::new`] allows, in seconds.
pub const DEFAULT_SKEW_SECS: u32 = 60;

/// The claims of a Status List Token in JWT format (section 5.1), as an issuer builds them
/// before [`StatusListToken::sign`], and as [`VerifiedStatusListToken`] and
/// [`UnverifiedStatusListToken`] expose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    /// `sub`: the URI of this Status List Token; Referenced Tokens carry the same value in
    /// `status.status_list.uri`.
    pub sub: String,
    /// `iat`: when the token was issued, in seconds since the Unix epoch.
    pub iat: i64,
    /// `exp` (recommended): when the token expires, in seconds since the Unix epoch.
    pub exp: Option<i64>,
    /// `ttl` (recommended): how long, in seconds, a consumer may cache the token before
    /// fetching a fresh one. Positive by type.
    pub ttl: Option<NonZeroU64>,
    /// `iss`, if the token names its issuer. Section 5.1 neither requires nor forbids it.
    pub iss: Option<String>,
    /// `status_list`: the Status List (section 4.2).
    pub status_list: StatusList,
}

impl StatusListToken {
    /// Signs the token as a compact JWS with header `{"alg", "kid", "typ": "statuslist+jwt"}`;
    /// `kid` is the key's RFC 7638 thumbprint, `alg` follows from the key (section 5.1).
    pub fn sign(&self, key: &SigningKey) -> String {
        let (header, claims) = self.to_jws_parts(key.kid());
        sign_compact(header, claims.as_bytes(), key)
    }

    /// [`StatusListToken::sign`] with any [`JwsSigner`] (a key held in an HSM).
    ///
    /// # Errors
    /// [`crate::jose::JoseError::SignerFailed`] when the signer does not sign.
    pub fn try_sign(
        &self,
        key: &(impl JwsSigner + ?Sized),
    ) -> Result<String, crate::jose::JoseError> {
        let (header, claims) = self.to_jws_parts(key.kid());
        try_sign_compact(header, claims.as_bytes(), key)
    }

    /// The protected header (without `alg`) and the claims text of the token signed by `kid`.
    fn to_jws_parts(&self, kid: &str) -> (Map<String, Value>, String) {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(TYP.into()));
        header.insert("kid".into(), Value::String(kid.into()));
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::String(self.sub.clone()));
        claims.insert("iat".into(), Value::from(self.iat));
        if let Some(exp) = self.exp {
            claims.insert("exp".into(), Value::from(exp));
        }
        if let Some(ttl) = self.ttl {
            claims.insert("ttl".into(), Value::from(ttl.get()));
        }
        if let Some(iss) = &self.iss {
            claims.insert("iss".into(), Value::String(iss.clone()));
        }
        claims.insert("status_list".into(), self.status_list.to_json());
        (header, Value::Object(claims).to_string())
    }

    /// Verifies a compact Status List Token (section 5.1, section 8.3 steps 3 to 5), in this
    /// order: size limit, JWS structure and `alg` (closed set), `typ` exactly
    /// `statuslist+jwt`, signature with `key`, required claims, `sub` equal to
    /// `validation.expected_uri`, `exp` not passed and `iat` not in the future (both with the
    /// skew), then the bounded decoding of `status_list`. The list is inflated only after the
    /// signature has verified.
    ///
    /// The caller chooses `key` (trust is out of scope, section 11.3); the header `kid` is not
    /// consulted. Freshness beyond `exp` (a maximum age from `iat`, or `ttl` for caching) is the
    /// caller's policy (section 8.3 steps 4b and 4d): the verified token exposes both.
    ///
    /// # Errors
    /// [`StatusListError::TokenTooLarge`], [`StatusListError::Jws`], [`StatusListError::Alg`],
    /// [`StatusListError::WrongTyp`], [`StatusListError::Signature`],
    /// [`StatusListError::MissingClaim`], [`StatusListError::InvalidClaim`],
    /// [`StatusListError::SubjectMismatch`], [`StatusListError::Expired`],
    /// [`StatusListError::IssuedInFuture`], and the decoding errors of
    /// [`StatusList::from_json`].
    pub fn verify(
        compact: &str,
        key: &PublicJwk,
        validation: &Validation<'_>,
    ) -> Result<VerifiedStatusListToken, StatusListError> {
        let limits = &validation.limits;
        let jws = parse_jws(compact, limits)?;
        jws.verify(key).map_err(StatusListError::from_jose)?;
        let payload = jws.payload_object().map_err(StatusListError::from_jose)?;
        let claims = Claims::read(&payload)?;
        if claims.sub != validation.expected_uri {
            return Err(StatusListError::SubjectMismatch {
                expected: validation.expected_uri.to_owned(),
                found: claims.sub.chars().take(256).collect(),
            });
        }
        let now = validation.now;
        let skew = i64::from(validation.skew_secs);
        if let Some(exp) = claims.exp {
            if now.saturating_sub(skew) >= exp {
                return Err(StatusListError::Expired { exp, now });
            }
        }
        if claims.iat > now.saturating_add(skew) {
            return Err(StatusListError::IssuedInFuture {
                iat: claims.iat,
                now,
            });
        }
        let token = claims.into_token(&payload, limits)?;
        Ok(VerifiedStatusListToken {
            token,
            header: jws.header().clone(),
        })
    }

    /// Parses a compact Status List Token **without verifying** its signature, `sub` or times,
    /// for display only (`verifier status` with no key). Structure, `alg`, `typ`, the claim
    /// types and the list's size limits are still checked.
    ///
    /// # Errors
    /// As [`StatusListToken::verify`], less the signature, subject and time checks.
    pub fn parse_unverified(
        compact: &str,
        limits: &Limits,
    ) -> Result<UnverifiedStatusListToken, StatusListError> {
        let jws = parse_jws(compact, limits)?;
        let payload = jws.payload_object().map_err(StatusListError::from_jose)?;
        let token = Claims::read(&payload)?.into_token(&payload, limits)?;
        Ok(UnverifiedStatusListToken {
            token,
            header: jws.header().clone(),
        })
    }
}

/// Size check, JWS parse (closed `alg` set, no `crit`), then `typ`.
fn parse_jws(compact: &str, limits: &Limits) -> Result<Jws, StatusListError> {
    at_most(compact.len(), limits.max_token_bytes, |len, max| {
        StatusListError::TokenTooLarge { len, max }
    })?;
    let jws = Jws::parse(compact).map_err(StatusListError::from_jose)?;
    // Exact, case-sensitive comparison: the type is registered in this one spelling, and the
    // stack's other JWTs (`kb+jwt`, `dc+sd-jwt`) must never pass for a status list.
    match jws.header().typ.as_deref() {
        Some(TYP) => Ok(jws),
        other => Err(StatusListError::WrongTyp {
            typ: other.map(|t| t.chars().take(32).collect()),
        }),
    }
}

/// The scalar claims, read and type-checked before the list is decoded.
struct Claims {
    sub: String,
    iat: i64,
    exp: Option<i64>,
    ttl: Option<NonZeroU64>,
    iss: Option<String>,
}

impl Claims {
    fn read(payload: &Map<String, Value>) -> Result<Claims, StatusListError> {
        let sub = match payload.get("sub") {
            None => return Err(StatusListError::MissingClaim { name: "sub" }),
            Some(Value::String(sub)) => sub.clone(),
            Some(_) => return Err(StatusListError::InvalidClaim { name: "sub" }),
        };
        let iat =
            numeric_date(payload, "iat")?.ok_or(StatusListError::MissingClaim { name: "iat" })?;
        let exp = numeric_date(payload, "exp")?;
        let ttl = match payload.get("ttl") {
            None => None,
            Some(ttl) => Some(
                ttl.as_u64()
                    .and_then(NonZeroU64::new)
                    .ok_or(StatusListError::InvalidClaim { name: "ttl" })?,
            ),
        };
        let iss = match payload.get("iss") {
            None => None,
            Some(Value::String(iss)) => Some(iss.clone()),
            Some(_) => return Err(StatusListError::InvalidClaim { name: "iss" }),
        };
        if !payload.contains_key("status_list") {
            return Err(StatusListError::MissingClaim {
                name: "status_list",
            });
        }
        Ok(Claims {
            sub,
            iat,
            exp,
            ttl,
            iss,
        })
    }

    fn into_token(
        self,
        payload: &Map<String, Value>,
        limits: &Limits,
    ) -> Result<StatusListToken, StatusListError> {
        let list = payload
            .get("status_list")
            .ok_or(StatusListError::MissingClaim {
                name: "status_list",
            })?;
        Ok(StatusListToken {
            sub: self.sub,
            iat: self.iat,
            exp: self.exp,
            ttl: self.ttl,
            iss: self.iss,
            status_list: StatusList::from_json(list, limits)?,
        })
    }
}

/// A NumericDate claim (RFC 7519 section 2). This stack issues and accepts whole seconds only;
/// a fractional or out-of-range value is an invalid claim.
fn numeric_date(
    payload: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, StatusListError> {
    match payload.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or(StatusListError::InvalidClaim { name }),
    }
}

/// What [`StatusListToken::verify`] checks against: the expected `sub`, the caller's clock and
/// skew, and the decoding limits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Validation<'a> {
    /// The URI the Referenced Token points at (`status.status_list.uri`); `sub` must equal it
    /// (section 8.3 step 4a).
    pub expected_uri: &'a str,
    /// The current time, in seconds since the Unix epoch.
    pub now: i64,
    /// Allowed clock difference for `exp` and `iat`, in seconds.
    pub skew_secs: u32,
    /// Size limits for the token and its list.
    pub limits: Limits,
}

impl<'a> Validation<'a> {
    /// Validation against `expected_uri` at `now`, with [`DEFAULT_SKEW_SECS`] and
    /// [`Limits::DEFAULT`].
    pub fn new(expected_uri: &'a str, now: i64) -> Validation<'a> {
        Validation {
            expected_uri,
            now,
            skew_secs: DEFAULT_SKEW_SECS,
            limits: Limits::DEFAULT,
        }
    }

    /// The same validation with another clock skew, in seconds.
    #[must_use]
    pub fn with_skew(mut self, skew_secs: u32) -> Validation<'a> {
        self.skew_secs = skew_secs;
        self
    }

    /// The same validation with other size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Validation<'a> {
        self.limits = limits;
        self
    }
}

/// A Status List Token whose signature, `typ`, `sub` and times have been checked by
/// [`StatusListToken::verify`]. Only this type answers status questions for a Referenced
/// Token.
#[derive(Debug, Clone)]
pub struct VerifiedStatusListToken {
    token: StatusListToken,
    header: Header,
}

impl VerifiedStatusListToken {
    /// The verified claims.
    pub fn claims(&self) -> &StatusListToken {
        &self.token
    }

    /// The JOSE header (its `alg` is the one verified; `kid` is informational).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// `sub`: the URI of this Status List Token.
    pub fn sub(&self) -> &str {
        &self.token.sub
    }

    /// `iat`.
    pub fn iat(&self) -> i64 {
        self.token.iat
    }

    /// `exp`, if present.
    pub fn exp(&self) -> Option<i64> {
        self.token.exp
    }

    /// `ttl`, if present.
    pub fn ttl(&self) -> Option<NonZeroU64> {
        self.token.ttl
    }

    /// The Status List.
    pub fn list(&self) -> &StatusList {
        &self.token.status_list
    }

    /// The status of the Referenced Token that carries `reference` (section 8.3 steps 4a, 6
    /// and 7).
    ///
    /// # Errors
    /// [`StatusListError::SubjectMismatch`] when `reference.uri` is not this token's `sub`;
    /// [`StatusListError::IndexOutOfRange`] when `reference.idx` is outside the list.
    pub fn status_of(&self, reference: &StatusReference) -> Result<Status, StatusListError> {
        if reference.uri != self.token.sub {
            return Err(StatusListError::SubjectMismatch {
                expected: reference.uri.clone(),
                found: self.token.sub.clone(),
            });
        }
        self.token.status_list.status(reference.idx)
    }

    /// The claims, consuming the token.
    pub fn into_claims(self) -> StatusListToken {
        self.token
    }
}

/// A Status List Token parsed by [`StatusListToken::parse_unverified`]: **not** verified, for
/// display only. Nothing in it may be relied on.
#[derive(Debug, Clone)]
pub struct UnverifiedStatusListToken {
    token: StatusListToken,
    header: Header,
}

impl UnverifiedStatusListToken {
    /// The unverified claims.
    pub fn claims(&self) -> &StatusListToken {
        &self.token
    }

    /// The unverified JOSE header.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    use super::*;
    use crate::b64;
    use crate::jose::{Alg, JoseError};
    use crate::status_list::Bits;

    const URI: &str = "https://bureau.example/status/0";

    fn key(alg: Alg) -> SigningKey {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        SigningKey::generate(alg, &mut rng)
    }

    fn token() -> StatusListToken {
        let mut list = StatusList::new(Bits::Two, 1024).unwrap();
        list.set(3, Status::Invalid.into()).unwrap();
        list.set(4, Status::Suspended.into()).unwrap();
        StatusListToken {
            sub: URI.into(),
            iat: 1_000,
            exp: Some(2_000),
            ttl: NonZeroU64::new(300),
            iss: Some("https://bureau.example".into()),
            status_list: list,
        }
    }

    /// Signs arbitrary header and claims, for malformed-token tests.
    fn sign_raw(header: Value, claims: Value, key: &SigningKey) -> String {
        let Value::Object(header) = header else {
            panic!("header must be an object")
        };
        sign_compact(header, claims.to_string().as_bytes(), key)
    }

    #[test]
    fn sign_and_verify_both_algs() {
        for alg in Alg::ALL {
            let key = key(alg);
            let jwt = token().sign(&key);
            let verified =
                StatusListToken::verify(&jwt, key.public_jwk(), &Validation::new(URI, 1_500))
                    .unwrap();
            assert_eq!(verified.claims(), &token());
            assert_eq!(verified.header().kid.as_deref(), Some(key.kid()));
            assert_eq!(verified.header().typ.as_deref(), Some(TYP));
            let reference = StatusReference {
                idx: 4,
                uri: URI.into(),
            };
            assert_eq!(verified.status_of(&reference).unwrap(), Status::Suspended);
            let elsewhere = StatusReference {
                idx: 4,
                uri: "https://bureau.example/status/1".into(),
            };
            assert!(matches!(
                verified.status_of(&elsewhere),
                Err(StatusListError::SubjectMismatch { .. })
            ));
        }
    }

    #[test]
    fn time_checks_with_skew() {
        let key = key(Alg::EdDsa);
        let jwt = token().sign(&key);
        let check = |now: i64, skew: u32| {
            StatusListToken::verify(
                &jwt,
                key.public_jwk(),
                &Validation::new(URI, now).with_skew(skew),
            )
            .map(|_| ())
        };
        assert_eq!(check(1_999, 0), Ok(()));
        assert_eq!(
            check(2_000, 0),
            Err(StatusListError::Expired {
                exp: 2_000,
                now: 2_000
            })
        );
        assert_eq!(check(2_059, 60), Ok(()));
        assert_eq!(
            check(2_060, 60),
            Err(StatusListError::Expired {
                exp: 2_000,
                now: 2_060
            })
        );
        assert_eq!(check(940, 60), Ok(()));
        assert_eq!(
            check(939, 60),
            Err(StatusListError::IssuedInFuture {
                iat: 1_000,
                now: 939
            })
        );
        assert_eq!(
            check(i64::MIN, u32::MAX),
            Err(StatusListError::IssuedInFuture {
                iat: 1_000,
                now: i64::MIN
            })
        );
    }

    #[test]
    fn missing_and_invalid_claims() {
        let key = key(Alg::EdDsa);
        let header = json!({"typ": TYP});
        let list = StatusList::new(Bits::One, 8).unwrap().to_json();
        let verify = |claims: Value| {
            let jwt = sign_raw(header.clone(), claims, &key);
            StatusListToken::verify(&jwt, key.public_jwk(), &Validation::new(URI, 1_500))
        };
        assert_eq!(
            verify(json!({"iat": 1000, "status_list": list})).unwrap_err(),
            StatusListError::MissingClaim { name: "sub" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "status_list": list})).unwrap_err(),
            StatusListError::MissingClaim { name: "iat" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "iat": 1000})).unwrap_err(),
            StatusListError::MissingClaim {
                name: "status_list"
            }
        );
        assert_eq!(
            verify(json!({"sub": 7, "iat": 1000, "status_list": list})).unwrap_err(),
            StatusListError::InvalidClaim { name: "sub" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "iat": 1000.5, "status_list": list})).unwrap_err(),
            StatusListError::InvalidClaim { name: "iat" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "iat": 1000, "exp": "never", "status_list": list}))
                .unwrap_err(),
            StatusListError::InvalidClaim { name: "exp" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "iat": 1000, "ttl": 0, "status_list": list})).unwrap_err(),
            StatusListError::InvalidClaim { name: "ttl" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "iat": 1000, "ttl": -5, "status_list": list})).unwrap_err(),
            StatusListError::InvalidClaim { name: "ttl" }
        );
        assert_eq!(
            verify(json!({"sub": URI, "iat": 1000, "iss": [], "status_list": list})).unwrap_err(),
            StatusListError::InvalidClaim { name: "iss" }
        );
        // No exp, no ttl: accepted (both are only recommended).
        let ok = verify(json!({"sub": URI, "iat": 1000, "status_list": list})).unwrap();
        assert_eq!((ok.exp(), ok.ttl()), (None, None));
    }

    #[test]
    fn typ_alg_and_structure() {
        let key = key(Alg::Es256);
        let claims =
            json!({"sub": URI, "iat": 1000, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}});
        let validation = Validation::new(URI, 1_500);
        for (header, typ) in [
            (json!({}), None),
            (json!({"typ": "JWT"}), Some("JWT")),
            (json!({"typ": "STATUSLIST+JWT"}), Some("STATUSLIST+JWT")),
            (
                json!({"typ": "application/statuslist+jwt"}),
                Some("application/statuslist+jwt"),
            ),
        ] {
            let jwt = sign_raw(header, claims.clone(), &key);
            assert_eq!(
                StatusListToken::verify(&jwt, key.public_jwk(), &validation).unwrap_err(),
                StatusListError::WrongTyp {
                    typ: typ.map(|t: &str| t.chars().take(32).collect())
                }
            );
        }
        let none = format!(
            "{}.{}.",
            b64::encode(r#"{"alg":"none","typ":"statuslist+jwt"}"#),
            b64::encode(claims.to_string())
        );
        assert_eq!(
            StatusListToken::verify(&none, key.public_jwk(), &validation).unwrap_err(),
            StatusListError::Alg(JoseError::AlgNone)
        );
        let other =
            SigningKey::generate(Alg::EdDsa, &mut rand_chacha::ChaCha20Rng::seed_from_u64(5));
        let jwt = sign_raw(json!({"typ": TYP}), claims.clone(), &key);
        assert_eq!(
            StatusListToken::verify(&jwt, other.public_jwk(), &validation).unwrap_err(),
            StatusListError::Alg(JoseError::AlgKeyMismatch { alg: Alg::Es256 })
        );
        assert!(matches!(
            StatusListToken::verify("a.b", key.public_jwk(), &validation),
            Err(StatusListError::Jws(_))
        ));
        let not_object = sign_compact(
            Map::from_iter([("typ".to_string(), Value::from(TYP))]),
            b"[1]",
            &key,
        );
        assert!(matches!(
            StatusListToken::verify(&not_object, key.public_jwk(), &validation),
            Err(StatusListError::Jws(JoseError::MalformedJws { .. }))
        ));
        let limits = Limits {
            max_token_bytes: 10,
            ..Limits::DEFAULT
        };
        assert_eq!(
            StatusListToken::verify(
                &jwt,
                key.public_jwk(),
                &validation.clone().with_limits(limits)
            )
            .unwrap_err(),
            StatusListError::TokenTooLarge {
                len: jwt.len(),
                max: 10
            }
        );
    }

    #[test]
    fn unverified_parse_skips_only_signature_sub_and_time() {
        let key = key(Alg::Es256);
        let jwt = token().sign(&key);
        let parsed = StatusListToken::parse_unverified(&jwt, &Limits::DEFAULT).unwrap();
        assert_eq!(parsed.claims(), &token());
        // Signed by someone else: verification fails, display parsing does not.
        let forged = token().sign(&SigningKey::generate(
            Alg::Es256,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(99),
        ));
        assert!(matches!(
            StatusListToken::verify(&forged, key.public_jwk(), &Validation::new(URI, 1_500)),
            Err(StatusListError::Signature(JoseError::BadSignature))
        ));
        assert!(StatusListToken::parse_unverified(&forged, &Limits::DEFAULT).is_ok());
        let kb = sign_raw(json!({"typ": "kb+jwt"}), json!({}), &key);
        assert!(matches!(
            StatusListToken::parse_unverified(&kb, &Limits::DEFAULT),
            Err(StatusListError::WrongTyp { .. })
        ));
    }
}
