//! Secrets the issuer hands out or keeps: officer API tokens, pre-authorized codes, access
//! tokens, `tx_code`s, nonces and the data-directory master secret.
//!
//! Every bearer secret has the shape `<id>.<secret>`: the id finds the database row, and the
//! secret is compared, in constant time ([`subtle`]), with the SHA-256 digest stored there. Only
//! digests are stored. Types holding a secret print nothing secret in `Debug`, zeroize on drop and
//! implement no `Serialize`.

use std::fmt;

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use credential::b64;

/// A SHA-256 digest of a secret, as stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretDigest(pub [u8; 32]);

impl SecretDigest {
    /// Digests `secret` under a domain label, so a digest of one kind never matches another kind.
    pub fn of(domain: &str, secret: &[u8]) -> SecretDigest {
        let mut h = Sha256::new();
        h.update(domain.as_bytes());
        h.update([0u8]);
        h.update(secret);
        SecretDigest(h.finalize().into())
    }

    /// Constant-time comparison.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == 32 && bool::from(self.0.ct_eq(stored))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// A random identifier (16 bytes, base64url): row ids of offers, tokens, credentials, officers.
pub fn random_id(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    b64::encode(bytes)
}

/// A bearer secret of the form `<id>.<secret>`: officer tokens, pre-authorized codes, access
/// tokens.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BearerSecret {
    id: String,
    secret: String,
}

impl BearerSecret {
    /// A fresh secret (32 random bytes) for the row `id`.
    pub fn generate(id: String, rng: &mut impl CryptoRngCore) -> BearerSecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        BearerSecret {
            id,
            secret: b64::encode(bytes.as_ref()),
        }
    }

    /// Splits presented text into id and secret. Returns `None` for anything malformed; the
    /// length bound keeps a hostile value from costing anything.
    pub fn parse(text: &str) -> Option<BearerSecret> {
        if text.len() > 256 {
            return None;
        }
        let (id, secret) = text.split_once('.')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok(id) || !ok(secret) {
            return None;
        }
        Some(BearerSecret {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The row id (not secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The digest stored for this secret under `domain`.
    pub fn digest(&self, domain: &str) -> SecretDigest {
        SecretDigest::of(domain, self.secret.as_bytes())
    }

    /// The full text to hand to its holder, once.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}.{}", self.id, self.secret))
    }
}

impl fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerSecret")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A numeric transaction code (OpenID4VCI 1.0 section 4.1.1, `tx_code`), sent to the citizen on
/// another channel.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct TxCode(String);

impl TxCode {
    /// Number of digits.
    pub const LENGTH: usize = 6;

    /// A fresh uniformly random code.
    pub fn generate(rng: &mut impl CryptoRngCore) -> TxCode {
        // Rejection sampling: 10^6 divides no power of two, so draw below the largest multiple.
        const SPACE: u32 = 1_000_000;
        let limit = u32::MAX - u32::MAX % SPACE;
        loop {
            let v = rng.next_u32();
            if v < limit {
                return TxCode(format!("{:06}", v % SPACE));
            }
        }
    }

    /// Wraps a presented code.
    pub fn presented(text: &str) -> TxCode {
        TxCode(text.chars().take(64).collect())
    }

    /// The digest stored for this code: HMAC-SHA-256 under `key` (derived from the master
    /// secret, never in the database) over the offer id and the code. Without the key, the
    /// stored digest of a six-digit code cannot be tested against the 10^6 candidates.
    pub fn keyed_digest(&self, key: &[u8; 32], offer_id: &str) -> SecretDigest {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(b"tx_code\0");
        ctx.update(offer_id.as_bytes());
        ctx.update(b":");
        ctx.update(self.0.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        SecretDigest(out)
    }

    /// The code, to hand to the officer or citizen once.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.clone())
    }
}

impl fmt::Debug for TxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxCode(..)")
    }
}

/// A single-use nonce (`c_nonce`, attestation nonce): 32 random bytes, base64url. Not secret
/// in itself, but stored only as a digest.
pub fn random_nonce(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    b64::encode(bytes)
}

/// Bytes of a `c_nonce` before base64url: version, issue time, randomness, tag.
const C_NONCE_LEN: usize = 1 + 8 + 16 + 16;

/// A stateless `c_nonce` issued at `iat`: `0x01 || iat (big-endian) || 16 random bytes || the
/// first 16 bytes of HMAC-SHA-256 under `key` over what precedes`, base64url. The issuer stores
/// nothing when it hands one out; [`open_c_nonce`] checks it, and its use is recorded once.
pub fn seal_c_nonce(key: &[u8; 32], iat: i64, rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; C_NONCE_LEN];
    bytes[0] = 1;
    bytes[1..9].copy_from_slice(&iat.to_be_bytes());
    rng.fill_bytes(&mut bytes[9..25]);
    let tag = c_nonce_tag(key, &bytes[..25]);
    bytes[25..].copy_from_slice(&tag[..16]);
    b64::encode(bytes)
}

/// The issue time of a `c_nonce` made by [`seal_c_nonce`] under `key`; `None` when it is not
/// one (wrong length, version or tag: forged, altered, or from another master secret). The tag
/// is compared in constant time.
pub fn open_c_nonce(key: &[u8; 32], text: &str) -> Option<i64> {
    if text.len() > 64 {
        return None;
    }
    let bytes = b64::decode(text).ok()?;
    if bytes.len() != C_NONCE_LEN || bytes[0] != 1 {
        return None;
    }
    let tag = c_nonce_tag(key, &bytes[..25]);
    if !bool::from(tag[..16].ct_eq(&bytes[25..])) {
        return None;
    }
    let mut iat = [0u8; 8];
    iat.copy_from_slice(&bytes[1..9]);
    Some(i64::from_be_bytes(iat))
}

fn c_nonce_tag(key: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(b"c_nonce\0");
    ctx.update(body);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Domain labels of stored digests.
pub mod domain {
    /// Officer API tokens.
    pub const OFFICER: &str = "officer-token";
    /// Pre-authorized codes.
    pub const PRE_AUTH: &str = "pre-authorized-code";
    /// Access tokens.
    pub const ACCESS: &str = "access-token";
    /// Refresh tokens.
    pub const REFRESH: &str = "refresh-token";
    /// `c_nonce` values.
    pub const C_NONCE: &str = "c_nonce";
    /// Face-match attestation nonces.
    pub const ATTESTATION_NONCE: &str = "attestation-nonce";
    /// Proof JWTs already used.
    pub const PROOF: &str = "proof";
    /// Citizen ids (the digest of an `id_number`).
    pub const CITIZEN: &str = "citizen";
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    #[test]
    fn bearer_round_trip_and_debug() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let s = BearerSecret::generate("abc".into(), &mut rng);
        let text = s.expose();
        let parsed = BearerSecret::parse(&text).unwrap();
        assert_eq!(parsed.id(), "abc");
        assert!(parsed
            .digest(domain::ACCESS)
            .matches(&s.digest(domain::ACCESS).0));
        assert!(!parsed
            .digest(domain::OFFICER)
            .matches(&s.digest(domain::ACCESS).0));
        let secret_part = text.split_once('.').unwrap().1.to_owned();
        assert!(!format!("{s:?}").contains(&secret_part));
        assert!(BearerSecret::parse("nodot").is_none());
        assert!(BearerSecret::parse("a.b c").is_none());
        assert!(BearerSecret::parse(".x").is_none());
    }

    #[test]
    fn a_c_nonce_opens_only_under_its_key_and_unaltered() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let key = [7u8; 32];
        let nonce = seal_c_nonce(&key, 1_700_000_000, &mut rng);
        assert_eq!(open_c_nonce(&key, &nonce), Some(1_700_000_000));
        assert_eq!(open_c_nonce(&[8u8; 32], &nonce), None);
        let mut bytes = b64::decode(&nonce).unwrap();
        bytes[3] ^= 1;
        assert_eq!(open_c_nonce(&key, &b64::encode(&bytes)), None);
        assert_eq!(open_c_nonce(&key, "short"), None);
        assert_ne!(seal_c_nonce(&key, 1_700_000_000, &mut rng), nonce);
    }

    #[test]
    fn tx_code_is_six_digits() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        for _ in 0..100 {
            let code = TxCode::generate(&mut rng);
            let text = code.expose();
            assert_eq!(text.len(), TxCode::LENGTH);
            assert!(text.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(format!("{code:?}"), "TxCode(..)");
        }
    }
}
