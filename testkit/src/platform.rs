//! The messaging platform that attests face matches for remote enrolment at basic level.

use credential::b64;
use credential::jose::{sign_compact, Alg, SigningKey};
use rand_core::CryptoRngCore;
use serde_json::{json, Map};
use sha2::{Digest, Sha256};

/// A messaging platform's signing key (register its public JWK with the issuer).
#[derive(Debug)]
pub struct Platform {
    /// The platform's key.
    pub key: SigningKey,
}

impl Platform {
    /// A platform with a fresh ES256 key from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Platform {
        Platform {
            key: SigningKey::generate(Alg::Es256, rng),
        }
    }

    /// The key's thumbprint (the `kid` of its attestations).
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The public JWK, as the issuer registers it.
    pub fn public_jwk_json(&self) -> String {
        self.key.public_jwk().to_bare_value().to_string()
    }

    /// A face-match attestation as the platform signs it: the SHA-256 of the `id_number`, the
    /// score, liveness, `iat` and the issuer's nonce.
    pub fn attestation(&self, id_number: &str, nonce: &str, score: f64, iat: i64) -> String {
        let mut header = Map::new();
        header.insert("kid".into(), json!(self.key.kid()));
        header.insert("typ".into(), json!("face-match+jwt"));
        let payload = json!({
            "id_number_sha256": b64::encode(Sha256::digest(id_number.as_bytes())),
            "score": score,
            "liveness": true,
            "iat": iat,
            "nonce": nonce,
        });
        sign_compact(header, payload.to_string().as_bytes(), &self.key)
    }
}
