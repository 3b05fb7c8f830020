use std::fmt;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{Alg, JoseError};
use crate::b64;
use crate::json::optional_string;

/// A validated public key of one of the two supported types.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKey {
    /// A P-256 point, SEC1 uncompressed (`04 || x || y`), checked to be on the curve.
    P256([u8; 65]),
    /// An Ed25519 point, checked to decompress and not to be of small order.
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// The algorithm that signs with this key type.
    pub fn alg(&self) -> Alg {
        match self {
            PublicKey::P256(_) => Alg::Es256,
            PublicKey::Ed25519(_) => Alg::EdDsa,
        }
    }
}

/// A public JWK (RFC 7517) for ES256 or EdDSA, validated on parse, with its RFC 7638 thumbprint.
///
/// Two keys are equal when their key material is equal; `kid` does not take part.
#[derive(Clone)]
pub struct PublicJwk {
    key: PublicKey,
    /// Computed on first use: a holder key read from `cnf.jwk` for one verification never
    /// needs it.
    thumbprint: OnceLock<String>,
    kid: Option<String>,
    verifier: backend::Verifier,
}

impl PublicJwk {
    /// Parses a public JWK from its JSON text.
    ///
    /// # Errors
    /// As [`PublicJwk::from_value`], plus [`JoseError::InvalidJwk`] when the text is not JSON.
    pub fn from_json(text: &str) -> Result<PublicJwk, JoseError> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| JoseError::InvalidJwk { reason: "not json" })?;
        PublicJwk::from_value(&value)
    }

    /// Parses a public JWK from a JSON value.
    ///
    /// # Errors
    /// [`JoseError::PrivateMaterialInPublicJwk`] when `d` is present; [`JoseError::InvalidJwk`]
    /// for anything but an EC P-256 or OKP Ed25519 key with a valid point.
    pub fn from_value(value: &Value) -> Result<PublicJwk, JoseError> {
        let obj = value.as_object().ok_or(JoseError::InvalidJwk {
            reason: "not a json object",
        })?;
        if obj.contains_key("d") {
            return Err(JoseError::PrivateMaterialInPublicJwk);
        }
        let key = parse_public_members(obj)?;
        let kid = optional_string(
            obj,
            "kid",
            JoseError::InvalidJwk {
                reason: "kid is not a string",
            },
        )?;
        if let Some(alg) = obj.get("alg") {
            let alg = alg.as_str().ok_or(JoseError::InvalidJwk {
                reason: "alg is not a string",
            })?;
            if Alg::parse(alg)? != key.alg() {
                return Err(JoseError::InvalidJwk {
                    reason: "alg does not match the key type",
                });
            }
        }
        let mut jwk = PublicJwk::from_key(key)?;
        jwk.kid = kid;
        Ok(jwk)
    }

    /// Wraps validated key material.
    pub(crate) fn from_key(key: PublicKey) -> Result<PublicJwk, JoseError> {
        let verifier = backend::Verifier::new(&key)?;
        Ok(PublicJwk {
            key,
            thumbprint: OnceLock::new(),
            kid: None,
            verifier,
        })
    }

    /// The key material.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The algorithm this key verifies.
    pub fn alg(&self) -> Alg {
        self.key.alg()
    }

    /// The RFC 7638 JWK SHA-256 thumbprint, base64url; the stack's `kid`.
    pub fn thumbprint(&self) -> &str {
        self.thumbprint
            .get_or_init(|| b64::encode(Sha256::digest(thumbprint_input(&self.key))))
    }

    /// The `kid` the JWK carried, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The same key with `kid` set.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> PublicJwk {
        self.kid = Some(kid.into());
        self
    }

    /// The JWK as JSON: `kty`, `crv`, `x`, (`y`), and `kid` when set.
    pub fn to_value(&self) -> Value {
        let mut obj = public_members(&self.key);
        if let Some(kid) = &self.kid {
            obj.insert("kid".into(), Value::String(kid.clone()));
        }
        Value::Object(obj)
    }

    /// The JWK members without `kid`: what `cnf.jwk` carries.
    pub fn to_bare_value(&self) -> Value {
        Value::Object(public_members(&self.key))
    }

    /// Verifies an ES256 `signature` whose message the caller has already hashed with SHA-256
    /// (the same check as [`PublicJwk::verify`] with `Alg::Es256`, minus the hashing).
    ///
    /// # Errors
    /// [`JoseError::AlgKeyMismatch`] when this is not a P-256 key; [`JoseError::BadSignature`].
    pub(crate) fn verify_es256_prehashed(
        &self,
        hash: &crate::sha256::Hash,
        signature: &[u8],
    ) -> Result<(), JoseError> {
        if self.key.alg() != Alg::Es256 {
            return Err(JoseError::AlgKeyMismatch { alg: Alg::Es256 });
        }
        self.verifier.verify_prehashed(hash, signature)
    }

    /// Verifies `signature` over `message` with this key under `alg`.
    ///
    /// # Errors
    /// [`JoseError::AlgKeyMismatch`] when `alg` does not fit the key; [`JoseError::BadSignature`]
    /// when the signature does not verify.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if alg != self.key.alg() {
            return Err(JoseError::AlgKeyMismatch { alg });
        }
        self.verifier.verify(message, signature)
    }
}

impl PartialEq for PublicJwk {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for PublicJwk {}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("alg", &self.alg())
            .field("thumbprint", &self.thumbprint())
            .field("kid", &self.kid)
            .finish()
    }
}

impl serde::Serialize for PublicJwk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PublicJwk {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        PublicJwk::from_value(&value).map_err(serde::de::Error::custom)
    }
}

fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, JoseError> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or(JoseError::InvalidJwk {
            reason: "missing or non-string member",
        })
}

fn coordinate(obj: &Map<String, Value>, name: &str) -> Result<[u8; 32], JoseError> {
    let bytes = b64::decode(member(obj, name)?).map_err(|_| JoseError::InvalidJwk {
        reason: "coordinate is not base64url",
    })?;
    bytes.try_into().map_err(|_| JoseError::InvalidJwk {
        reason: "coordinate is not 32 bytes",
    })
}

/// Parses `kty`, `crv`, `x` (and `y`) into validated key material.
pub(crate) fn parse_public_members(obj: &Map<String, Value>) -> Result<PublicKey, JoseError> {
    match (member(obj, "kty")?, member(obj, "crv")?) {
        ("EC", "P-256") => {
            let mut sec1 = [0u8; 65];
            sec1[0] = 4;
            sec1[1..33].copy_from_slice(&coordinate(obj, "x")?);
            sec1[33..].copy_from_slice(&coordinate(obj, "y")?);
            check_p256_point(&sec1)?;
            Ok(PublicKey::P256(sec1))
        }
        ("OKP", "Ed25519") => {
            let x = coordinate(obj, "x")?;
            let key =
                ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| JoseError::InvalidJwk {
                    reason: "not an Ed25519 point",
                })?;
            if key.is_weak() {
                return Err(JoseError::InvalidJwk {
                    reason: "Ed25519 point of small order",
                });
            }
            Ok(PublicKey::Ed25519(x))
        }
        _ => Err(JoseError::InvalidJwk {
            reason: "only EC P-256 and OKP Ed25519 keys are supported",
        }),
    }
}

/// Checks that an uncompressed SEC1 point lies on P-256 (coordinates below the field prime,
/// curve equation). With the `aws-lc` feature the check is aws-lc's own, made once when
/// [`PublicJwk::from_key`] parses the key for verification (`EC_POINT_oct2point` rejects a
/// point off the curve); checking it here with p256 as well cost a measurable share of a
/// verification, since every presentation brings a new holder key. Without the feature, p256
/// checks it here (and again in its verifying key).
fn check_p256_point(sec1: &[u8; 65]) -> Result<(), JoseError> {
    #[cfg(feature = "aws-lc")]
    let valid = sec1[0] == 4;
    #[cfg(not(feature = "aws-lc"))]
    let valid = p256::PublicKey::from_sec1_bytes(sec1).is_ok();
    if valid {
        Ok(())
    } else {
        Err(JoseError::InvalidJwk {
            reason: "point is not on P-256",
        })
    }
}

fn public_members(key: &PublicKey) -> Map<String, Value> {
    let value = match key {
        PublicKey::P256(sec1) => json!({
            "kty": "EC", "crv": "P-256",
            "x": b64::encode(&sec1[1..33]), "y": b64::encode(&sec1[33..]),
        }),
        PublicKey::Ed25519(x) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(x)}),
    };
    match value {
        Value::Object(obj) => obj,
        // json! of an object literal is always an object.
        _ => Map::new(),
    }
}

/// RFC 7638 section 3: the required members in lexicographic order, no whitespace.
fn thumbprint_input(key: &PublicKey) -> String {
    match key {
        PublicKey::P256(sec1) => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64::encode(&sec1[1..33]),
            b64::encode(&sec1[33..])
        ),
        PublicKey::Ed25519(x) => format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            b64::encode(x)
        ),
    }
}

#[cfg(feature = "aws-lc")]
mod backend {
    use std::sync::Arc;

    use aws_lc_rs::signature::{ParsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519};

    use super::PublicKey;
    use crate::jose::JoseError;

    /// A key parsed once by aws-lc-rs.
    #[derive(Clone)]
    pub(super) struct Verifier(Arc<ParsedPublicKey>);

    impl Verifier {
        pub(super) fn new(key: &PublicKey) -> Result<Verifier, JoseError> {
            let (parsed, reason) = match key {
                // This is where a P-256 point is checked (`check_p256_point`).
                PublicKey::P256(sec1) => (
                    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, sec1),
                    "point is not on P-256",
                ),
                PublicKey::Ed25519(x) => (
                    ParsedPublicKey::new(&ED25519, x),
                    "key rejected by the crypto backend",
                ),
            };
            parsed
                .map(|p| Verifier(Arc::new(p)))
                .map_err(|_| JoseError::InvalidJwk { reason })
        }

        pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
            self.0
                .verify_sig(message, signature)
                .map_err(|_| JoseError::BadSignature)
        }

        /// ECDSA over a SHA-256 value (`ECDSA_P256_SHA256_FIXED` checks the digest algorithm;
        /// an Ed25519 key refuses).
        pub(super) fn verify_prehashed(
            &self,
            hash: &crate::sha256::Hash,
            signature: &[u8],
        ) -> Result<(), JoseError> {
            self.0
                .verify_digest_sig(&hash.0, signature)
                .map_err(|_| JoseError::BadSignature)
        }
    }
}

#[cfg(not(feature = "aws-lc"))]
mod backend {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    use p256::ecdsa::signature::Verifier as _;

    use super::PublicKey;
    use crate::jose::JoseError;

    /// A key parsed once by the RustCrypto crates.
    #[derive(Clone)]
    pub(super) enum Verifier {
        P256(p256::ecdsa::VerifyingKey),
        Ed25519(ed25519_dalek::VerifyingKey),
    }

    impl Verifier {
        pub(super) fn new(key: &PublicKey) -> Result<Verifier, JoseError> {
            let rejected = |_| JoseError::InvalidJwk {
                reason: "key rejected by the crypto backend",
            };
            Ok(match key {
                PublicKey::P256(sec1) => Verifier::P256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).map_err(rejected)?,
                ),
                PublicKey::Ed25519(x) => {
                    Verifier::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(x).map_err(rejected)?)
                }
            })
        }

        pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
            match self {
                Verifier::P256(key) => {
                    let sig = p256::ecdsa::Signature::from_slice(signature)
                        .map_err(|_| JoseError::BadSignature)?;
                    key.verify(message, &sig)
                        .map_err(|_| JoseError::BadSignature)
                }
                Verifier::Ed25519(key) => {
                    let sig = ed25519_dalek::Signature::from_slice(signature)
                        .map_err(|_| JoseError::BadSignature)?;
                    key.verify_strict(message, &sig)
                        .map_err(|_| JoseError::BadSignature)
                }
            }
        }

        /// ECDSA over a SHA-256 value; an Ed25519 key refuses.
        pub(super) fn verify_prehashed(
            &self,
            hash: &crate::sha256::Hash,
            signature: &[u8],
        ) -> Result<(), JoseError> {
            match self {
                Verifier::P256(key) => {
                    let sig = p256::ecdsa::Signature::from_slice(signature)
                        .map_err(|_| JoseError::BadSignature)?;
                    key.verify_prehash(hash.as_bytes(), &sig)
                        .map_err(|_| JoseError::BadSignature)
                }
                Verifier::Ed25519(_) => Err(JoseError::BadSignature),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_ed25519_thumbprint() {
        // RFC 8037 appendix A.3.
        let jwk = PublicJwk::from_json(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn es256_prehashed_is_es256() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let key = crate::jose::SigningKey::generate(Alg::Es256, &mut rng);
        let ed = crate::jose::SigningKey::generate(Alg::EdDsa, &mut rng);
        let sig = key.sign(b"header.payload");
        let hash = crate::sha256::digest(b"header.payload");
        key.public_jwk()
            .verify_es256_prehashed(&hash, &sig)
            .unwrap();
        let other = crate::sha256::digest(b"header.payloae");
        assert_eq!(
            key.public_jwk().verify_es256_prehashed(&other, &sig),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            ed.public_jwk().verify_es256_prehashed(&hash, &sig),
            Err(JoseError::AlgKeyMismatch { alg: Alg::Es256 })
        );
    }

    #[test]
    fn rejects_private_and_bad_points() {
        let private = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(
            PublicJwk::from_json(private).unwrap_err(),
            JoseError::PrivateMaterialInPublicJwk
        );
        let off_curve = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
            b64::encode([1u8; 32]),
            b64::encode([2u8; 32])
        );
        assert!(matches!(
            PublicJwk::from_json(&off_curve),
            Err(JoseError::InvalidJwk { .. })
        ));
        assert!(matches!(
            PublicJwk::from_json(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#),
            Err(JoseError::InvalidJwk { .. })
        ));
    }
}
