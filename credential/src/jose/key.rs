use std::fmt;

use p256::ecdsa::signature::Signer as _;
use rand_core::CryptoRngCore;
use serde_json::Value;
use zeroize::Zeroizing;

use super::alg::Alg;
use super::error::JoseError;
use super::jwk::parse_public_members;
use super::jwk::{PublicJwk, PublicKey};
use crate::b64;

/// A private signing key (ES256 or EdDSA).
///
/// The secret zeroizes on drop (both backends implement `ZeroizeOnDrop`), `Debug` shows only
/// the algorithm and key id, and there is no `Serialize`: the private JWK leaves this type only
/// through [`SigningKey::to_private_jwk`].
pub struct SigningKey {
    secret: Secret,
    public: PublicJwk,
}

enum Secret {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// Generates a fresh key from a CSPRNG.
    pub fn generate(alg: Alg, rng: &mut impl CryptoRngCore) -> SigningKey {
        let secret = match alg {
            Alg::Es256 => Secret::Es256(p256::ecdsa::SigningKey::random(rng)),
            Alg::EdDsa => Secret::EdDsa(ed25519_dalek::SigningKey::generate(rng)),
        };
        SigningKey::from_secret(secret)
    }

    fn from_secret(secret: Secret) -> SigningKey {
        let key = match &secret {
            Secret::Es256(sk) => {
                let point = sk.verifying_key().to_encoded_point(false);
                let mut sec1 = [0u8; 65];
                sec1.copy_from_slice(point.as_bytes());
                PublicKey::P256(sec1)
            }
            Secret::EdDsa(sk) => PublicKey::Ed25519(sk.verifying_key().to_bytes()),
        };
        // Key material derived from a valid private key is always a valid public key.
        let public = match PublicJwk::from_key(key) {
            Ok(public) => public,
            Err(_) => unreachable!("public key of a valid private key is valid"),
        };
        let kid = public.thumbprint().to_owned();
        SigningKey {
            secret,
            public: public.with_kid(kid),
        }
    }

    /// Parses a private JWK (`d` plus the public members, which must match `d`).
    ///
    /// # Errors
    /// [`JoseError::InvalidJwk`] when the JWK is malformed, `d` is missing or does not belong to
    /// the public key given beside it.
    pub fn from_private_jwk(text: &str) -> Result<SigningKey, JoseError> {
        let mut value: Value =
            serde_json::from_str(text).map_err(|_| JoseError::InvalidJwk { reason: "not json" })?;
        let obj = value.as_object_mut().ok_or(JoseError::InvalidJwk {
            reason: "not a json object",
        })?;
        // Move `d` out of the parsed tree into a string that zeroizes on drop.
        let d = match obj.remove("d") {
            Some(Value::String(d)) => Zeroizing::new(d),
            _ => {
                return Err(JoseError::InvalidJwk {
                    reason: "private jwk lacks d",
                })
            }
        };
        let public = parse_public_members(obj)?;
        let d = Zeroizing::new(
            b64::decode(d.as_bytes()).map_err(|_| JoseError::InvalidJwk {
                reason: "d is not base64url",
            })?,
        );
        let secret = match public {
            PublicKey::P256(_) => {
                Secret::Es256(p256::ecdsa::SigningKey::from_slice(&d).map_err(|_| {
                    JoseError::InvalidJwk {
                        reason: "d is not a P-256 scalar",
                    }
                })?)
            }
            PublicKey::Ed25519(_) => {
                let bytes: Zeroizing<[u8; 32]> =
                    Zeroizing::new(d.as_slice().try_into().map_err(|_| JoseError::InvalidJwk {
                        reason: "d is not 32 bytes",
                    })?);
                Secret::EdDsa(ed25519_dalek::SigningKey::from_bytes(&bytes))
            }
        };
        let key = SigningKey::from_secret(secret);
        if key.public.key() != &public {
            return Err(JoseError::InvalidJwk {
                reason: "d does not match the public key",
            });
        }
        Ok(key)
    }

    /// The private JWK as JSON text (`kty`, `crv`, `x`, `y`, `d`, `kid`), in a string that
    /// zeroizes on drop. Write it only to storage meant for secrets.
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        let mut value = self.public.to_value();
        let d = match &self.secret {
            Secret::Es256(sk) => Zeroizing::new(b64::encode(sk.to_bytes())),
            Secret::EdDsa(sk) => Zeroizing::new(b64::encode(sk.to_bytes())),
        };
        if let Value::Object(obj) = &mut value {
            obj.insert("d".into(), Value::String(d.to_string()));
        }
        let text = Zeroizing::new(value.to_string());
        if let Value::Object(obj) = &mut value {
            if let Some(Value::String(d)) = obj.get_mut("d") {
                zeroize::Zeroize::zeroize(d);
            }
        }
        text
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        self.public.alg()
    }

    /// The public half, with `kid` set to its thumbprint.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        self.public.thumbprint()
    }

    /// Signs `message`: a 64-byte `r || s` ECDSA signature (RFC 7518 3.4) or an Ed25519
    /// signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Es256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(message);
                sig.to_bytes().to_vec()
            }
            Secret::EdDsa(sk) => {
                use ed25519_dalek::Signer as _;
                sk.sign(message).to_bytes().to_vec()
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    #[test]
    fn private_jwk_round_trip_and_sign() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for alg in Alg::ALL {
            let key = SigningKey::generate(alg, &mut rng);
            let again = SigningKey::from_private_jwk(&key.to_private_jwk()).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk());
            let sig = again.sign(b"message");
            key.public_jwk().verify(alg, b"message", &sig).unwrap();
            assert_eq!(
                key.public_jwk().verify(alg, b"messagf", &sig),
                Err(JoseError::BadSignature)
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = SigningKey::generate(Alg::Es256, &mut rng);
        let jwk: Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
        let d = jwk["d"].as_str().unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains(d));
        assert!(debug.contains(key.kid()));
    }

    #[test]
    fn rejects_mismatched_d() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let a = SigningKey::generate(Alg::Es256, &mut rng);
        let b = SigningKey::generate(Alg::Es256, &mut rng);
        let mut jwk: Value = serde_json::from_str(&a.to_private_jwk()).unwrap();
        let other: Value = serde_json::from_str(&b.to_private_jwk()).unwrap();
        jwk["d"] = other["d"].clone();
        assert!(matches!(
            SigningKey::from_private_jwk(&jwk.to_string()),
            Err(JoseError::InvalidJwk { .. })
        ));
    }

    #[test]
    fn verifies_rfc9901_issuer_key() {
        let jwk = r#"{"kty":"EC","crv":"P-256","d":"Ur2bNKuBPOrAaxsRnbSH6hIhmNTxSGXshDSUD1a1y7g","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}"#;
        let key = SigningKey::from_private_jwk(jwk).unwrap();
        assert_eq!(key.alg(), Alg::Es256);
    }
}
