//! Holder keys, by handle: the host's signer creates a key, gives its public JWK and signs with
//! it. On a phone the key lives in the secure element or keystore and never leaves it; in a
//! page it is a non-extractable WebCrypto key. [`SoftwareSigner`] is the default: software keys
//! (`credential::jose::SigningKey`) whose handle is the private JWK, which the core seals
//! before the host stores it.
//!
//! ```text
//! receive:  create(alg) -> handle, public_jwk(handle) -> cnf of the proof, sign(proof input)
//! answer:   sign(KB-JWT input) with the handle stored (sealed) beside the copy
//! ```

use credential::jose::{Alg, PublicJwk, SigningKey};
use rand_core::CryptoRngCore;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// A holder key's handle: what the signer needs to find the key again (a keystore alias, or
/// for [`SoftwareSigner`] the private JWK). Stored sealed by the core; zeroized on drop;
/// `Debug` shows nothing.
#[derive(Clone)]
pub struct KeyHandle(Zeroizing<String>);

impl KeyHandle {
    /// Wraps a handle's text.
    pub fn new(text: impl Into<String>) -> KeyHandle {
        KeyHandle(Zeroizing::new(text.into()))
    }

    /// The handle's text, to store (sealed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KeyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHandle(..)")
    }
}

/// Why the signer could not create, find or use a holder key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The handle names no key the signer holds (or can read).
    #[error("holder key not found")]
    NotFound,
    /// The signer cannot make a key of this algorithm.
    #[error("holder key algorithm {alg} is not supported by the signer")]
    UnsupportedAlg {
        /// The algorithm asked for.
        alg: String,
    },
    /// The keystore refused or failed (the user cancelled, the key was invalidated, ...).
    #[error("the keystore failed: {reason}")]
    Failed {
        /// What the host says (no key material).
        reason: String,
    },
}

/// The host's holder-key signer. Used as a generic parameter, not `dyn`: WebCrypto and phone
/// keystores are async, and a browser's futures are not `Send`, which none is asked to be.
#[allow(async_fn_in_trait)] // deliberate: no `Send` bound, so a browser host can implement it
pub trait HolderSigner {
    /// Creates a fresh key for `alg`; returns its handle.
    ///
    /// # Errors
    /// [`SignerError`].
    async fn create(&mut self, alg: Alg) -> Result<KeyHandle, SignerError>;

    /// The public JWK of the key `handle` names.
    ///
    /// # Errors
    /// [`SignerError::NotFound`], or the keystore's failure.
    async fn public_jwk(&self, handle: &KeyHandle) -> Result<PublicJwk, SignerError>;

    /// Signs `message` with the key `handle` names: the JWS signature bytes of the key's
    /// algorithm (`r || s` for ES256, RFC 7518 section 3.4).
    ///
    /// # Errors
    /// [`SignerError::NotFound`], or the keystore's failure.
    async fn sign(&self, handle: &KeyHandle, message: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Software holder keys: `credential::jose::SigningKey`, made from the host's random source;
/// the handle is the private JWK (the core seals it at rest). The desktop host's signer.
pub struct SoftwareSigner<R> {
    rng: R,
}

impl<R> std::fmt::Debug for SoftwareSigner<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareSigner(..)")
    }
}

impl<R: CryptoRngCore> SoftwareSigner<R> {
    /// A signer making keys with `rng`.
    pub fn new(rng: R) -> SoftwareSigner<R> {
        SoftwareSigner { rng }
    }
}

/// The software key a [`SoftwareSigner`] handle holds.
///
/// # Errors
/// [`SignerError::NotFound`] when the handle is not a private JWK.
pub fn software_key(handle: &KeyHandle) -> Result<SigningKey, SignerError> {
    SigningKey::from_private_jwk(handle.as_str()).map_err(|_| SignerError::NotFound)
}

/// The [`SoftwareSigner`] handle of a software key (its private JWK).
pub fn software_handle(key: &SigningKey) -> KeyHandle {
    KeyHandle(key.to_private_jwk())
}

impl<R: CryptoRngCore> HolderSigner for SoftwareSigner<R> {
    async fn create(&mut self, alg: Alg) -> Result<KeyHandle, SignerError> {
        Ok(software_handle(&SigningKey::generate(alg, &mut self.rng)))
    }

    async fn public_jwk(&self, handle: &KeyHandle) -> Result<PublicJwk, SignerError> {
        Ok(software_key(handle)?.public_jwk().clone())
    }

    async fn sign(&self, handle: &KeyHandle, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(software_key(handle)?.sign(message))
    }
}

/// A compact JWS waiting for its holder-key signature (sans-IO: the host may sign it with any
/// signer, then [`ToSign::finish`]).
#[derive(Debug, Clone)]
pub struct ToSign {
    /// The key to sign with.
    pub handle: KeyHandle,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub signing_input: String,
}

impl ToSign {
    /// The JWS for `alg` over `header` (`alg` is set) and `payload`, to be signed by `handle`.
    pub fn new(handle: KeyHandle, alg: Alg, header: Map<String, Value>, payload: &[u8]) -> ToSign {
        let mut header = header;
        header.insert("alg".into(), Value::String(alg.as_str().into()));
        let protected = credential::b64::encode(Value::Object(header).to_string());
        ToSign {
            handle,
            signing_input: format!("{protected}.{}", credential::b64::encode(payload)),
        }
    }

    /// The compact JWS with `signature`.
    pub fn finish(self, signature: &[u8]) -> String {
        format!(
            "{}.{}",
            self.signing_input,
            credential::b64::encode(signature)
        )
    }

    /// Signs with `signer` and returns the compact JWS.
    ///
    /// # Errors
    /// The signer's.
    pub async fn sign_with<S: HolderSigner>(self, signer: &S) -> Result<String, SignerError> {
        let signature = signer
            .sign(&self.handle, self.signing_input.as_bytes())
            .await?;
        Ok(self.finish(&signature))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use credential::jose::Jws;
    use rand_chacha::rand_core::SeedableRng as _;
    use rand_chacha::ChaCha20Rng;

    use crate::ready::run;

    #[test]
    fn software_signer_creates_keys_whose_signatures_verify_under_their_public_jwk() {
        let mut signer = SoftwareSigner::new(ChaCha20Rng::seed_from_u64(1));
        for alg in [Alg::Es256, Alg::EdDsa] {
            let handle = run(signer.create(alg)).unwrap();
            let other = run(signer.create(alg)).unwrap();
            let public = run(signer.public_jwk(&handle)).unwrap();
            assert_ne!(public, run(signer.public_jwk(&other)).unwrap());
            let mut header = Map::new();
            header.insert("typ".into(), Value::String("kb+jwt".into()));
            let jws =
                run(ToSign::new(handle, alg, header, b"{\"nonce\":\"n\"}").sign_with(&signer))
                    .unwrap();
            let parsed = Jws::parse(&jws).unwrap();
            assert_eq!(parsed.header().typ.as_deref(), Some("kb+jwt"));
            parsed.verify(&public).unwrap();
            // Another key's signature does not verify under this key.
            let forged =
                run(ToSign::new(other, alg, Map::new(), b"{}").sign_with(&signer)).unwrap();
            assert!(Jws::parse(&forged).unwrap().verify(&public).is_err());
        }
    }

    #[test]
    fn a_handle_that_is_not_a_key_is_not_found() {
        let signer = SoftwareSigner::new(ChaCha20Rng::seed_from_u64(2));
        let handle = KeyHandle::new("keystore-alias-7");
        assert_eq!(
            run(signer.sign(&handle, b"x")).unwrap_err(),
            SignerError::NotFound
        );
        assert_eq!(
            run(signer.public_jwk(&handle)).unwrap_err(),
            SignerError::NotFound
        );
    }

    #[test]
    fn a_handle_shows_nothing_in_debug() {
        let mut signer = SoftwareSigner::new(ChaCha20Rng::seed_from_u64(3));
        let handle = run(signer.create(Alg::Es256)).unwrap();
        assert!(handle.as_str().contains("\"d\""));
        assert_eq!(format!("{handle:?}"), "KeyHandle(..)");
        let to_sign = ToSign::new(handle, Alg::Es256, Map::new(), b"{}");
        assert!(!format!("{to_sign:?}").contains("\"d\""));
    }
}
