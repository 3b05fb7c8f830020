//! [`JwsSigner`]: what signs a JWS when the private key may live outside this process. A
//! [`SigningKey`] in memory is one; an issuer's key in a hardware security module (PKCS#11) is
//! another, whose signing can fail (token removed, session lost) and whose key bytes never
//! enter memory. The fallible paths ([`try_sign_compact`], SD-JWT issuance, status-list tokens)
//! take a `JwsSigner`; the infallible [`super::sign_compact`] takes only a [`SigningKey`].

use std::sync::Arc;

use serde_json::{Map, Value};

use super::alg::Alg;
use super::error::JoseError;
use super::jwk::PublicJwk;
use super::key::SigningKey;
use crate::b64;

/// A signer of JWS signatures: the algorithm, the public key (with `kid` set to its RFC 7638
/// thumbprint) and a signature over a message.
pub trait JwsSigner {
    /// The algorithm it signs with.
    fn alg(&self) -> Alg;
    /// The public half, with `kid` set to its thumbprint.
    fn public_jwk(&self) -> &PublicJwk;
    /// The key id: the RFC 7638 thumbprint of the public key.
    fn kid(&self) -> &str {
        self.public_jwk().thumbprint()
    }
    /// Signs `message`: a 64-byte `r || s` ECDSA signature (RFC 7518 section 3.4) or an Ed25519
    /// signature.
    ///
    /// # Errors
    /// [`JoseError::SignerFailed`] when a key held elsewhere does not sign.
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError>;
}

impl JwsSigner for SigningKey {
    fn alg(&self) -> Alg {
        SigningKey::alg(self)
    }

    fn public_jwk(&self) -> &PublicJwk {
        SigningKey::public_jwk(self)
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        Ok(self.sign(message))
    }
}

impl<T: JwsSigner + ?Sized> JwsSigner for Arc<T> {
    fn alg(&self) -> Alg {
        (**self).alg()
    }

    fn public_jwk(&self) -> &PublicJwk {
        (**self).public_jwk()
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        (**self).try_sign(message)
    }
}

/// The signing input `BASE64URL(header) '.' BASE64URL(payload)` with `alg` set from `alg`.
pub(super) fn signing_input(mut header: Map<String, Value>, payload: &[u8], alg: Alg) -> String {
    header.insert("alg".into(), Value::String(alg.as_str().into()));
    let protected = b64::encode(Value::Object(header).to_string());
    format!("{protected}.{}", b64::encode(payload))
}

/// Signs a compact JWS with any [`JwsSigner`]: `alg` is set from the key; the other header
/// members are taken from `header`. Returns the compact serialization.
///
/// # Errors
/// [`JoseError::SignerFailed`] when the signer does not sign.
pub fn try_sign_compact(
    header: Map<String, Value>,
    payload: &[u8],
    key: &(impl JwsSigner + ?Sized),
) -> Result<String, JoseError> {
    let signing_input = signing_input(header, payload, key.alg());
    let signature = key.try_sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", b64::encode(signature)))
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    use super::*;
    use crate::jose::Jws;
    use crate::sd_jwt::{IssueError, RngSalts, SdJwtBuilder};

    /// A key held elsewhere that has stopped signing (a removed token).
    struct Unplugged(PublicJwk);

    impl JwsSigner for Unplugged {
        fn alg(&self) -> Alg {
            Alg::Es256
        }

        fn public_jwk(&self) -> &PublicJwk {
            &self.0
        }

        fn try_sign(&self, _: &[u8]) -> Result<Vec<u8>, JoseError> {
            Err(JoseError::SignerFailed {
                reason: "unplugged",
            })
        }
    }

    fn key() -> SigningKey {
        SigningKey::generate(Alg::Es256, &mut rand_chacha::ChaCha20Rng::seed_from_u64(4))
    }

    #[test]
    fn try_sign_compact_signs_as_sign_compact_does() {
        let key = key();
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let jws = try_sign_compact(header.clone(), b"{}", &key).unwrap();
        let parsed = Jws::parse(&jws).unwrap();
        parsed.verify(key.public_jwk()).unwrap();
        let plain = super::super::sign_compact(header, b"{}", &key);
        assert_eq!(
            jws.rsplit_once('.').unwrap().0,
            plain.rsplit_once('.').unwrap().0
        );
    }

    #[test]
    fn a_signer_that_fails_gives_signer_failed_and_no_token() {
        let dead = Unplugged(key().public_jwk().clone());
        assert_eq!(
            try_sign_compact(Map::new(), b"{}", &dead),
            Err(JoseError::SignerFailed {
                reason: "unplugged"
            })
        );
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let issued = SdJwtBuilder::new(
            json!({"iss": "https://id.example"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .issue(&dead, &mut RngSalts(&mut rng));
        assert_eq!(
            issued.err(),
            Some(IssueError::Signer(JoseError::SignerFailed {
                reason: "unplugged"
            }))
        );
    }
}
