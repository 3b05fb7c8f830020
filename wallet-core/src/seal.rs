//! Sealing what the host persists: XChaCha20-Poly1305 under the 32-byte [`StorageKey`] the
//! host supplies (from the device keystore, or derived from a passphrase by the desktop host).
//!
//! Each sealed value is `nonce (24 bytes) || ciphertext`, with an associated-data label that
//! names where the value belongs (a row id and column), so a sealed value moved elsewhere does
//! not open. The nonce comes from the host's random source.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// The constant sealed as a store's key check: a wrong key fails to open it before anything
/// else is read or written.
pub const KEY_CHECK: &[u8] = b"citizen-id wallet storage key check v1";

/// The nonce length, bytes.
const NONCE: usize = 24;

/// The 32-byte key that seals the store. Zeroized on drop; its `Debug` shows nothing.
#[derive(Clone)]
pub struct StorageKey(Zeroizing<[u8; 32]>);

impl StorageKey {
    /// Wraps key bytes (from the device keystore or a KDF). The caller should zeroize its copy.
    pub fn from_bytes(bytes: [u8; 32]) -> StorageKey {
        StorageKey(Zeroizing::new(bytes))
    }

    /// A fresh random key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> StorageKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut bytes[..]);
        StorageKey(bytes)
    }

    /// The key's bytes, for a host that must hand the key across a boundary it owns (the
    /// WebAssembly package returns a derived key to JavaScript, which passes it back to open
    /// the wallet). Zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }

    /// The sealer for this key.
    pub fn sealer(&self) -> Sealer {
        Sealer(XChaCha20Poly1305::new(self.0.as_ref().into()))
    }
}

impl std::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageKey(..)")
    }
}

/// Seals and opens values under one [`StorageKey`].
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// Seals `plain` for the place `aad` names: `nonce || ciphertext`.
    pub fn seal(&self, plain: &[u8], aad: &str, rng: &mut impl CryptoRngCore) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce fails only on messages over 256 GiB.
        let sealed = self
            .0
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed for `aad`; `None` when it is damaged, sealed under another key or
    /// for another place.
    pub fn open(&self, sealed: &[u8], aad: &str) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().ok()?;
        self.0
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// Whether `sealed` is the key check sealed under this key.
    pub fn opens_key_check(&self, sealed: &[u8], aad: &str) -> bool {
        self.open(sealed, aad)
            .is_some_and(|plain| plain.as_slice() == KEY_CHECK)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rand_core::{RngCore, SeedableRng as _};

    /// A deterministic generator for the tests (the core has no OS random source).
    struct Counter(u64);
    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.next_u64().to_le_bytes()[7];
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for Counter {}
    impl rand_core::SeedableRng for Counter {
        type Seed = [u8; 8];
        fn from_seed(seed: [u8; 8]) -> Counter {
            Counter(u64::from_le_bytes(seed))
        }
    }

    #[test]
    fn sealed_value_round_trips_and_hides_the_plaintext() {
        let sealer = StorageKey::from_bytes([7; 32]).sealer();
        let mut rng = Counter::seed_from_u64(1);
        let sealed = sealer.seal(b"family_name=Wang", "b-0:sd_jwt", &mut rng);
        assert!(!sealed.windows(4).any(|w| w == b"Wang"));
        assert_eq!(
            sealer.open(&sealed, "b-0:sd_jwt").unwrap().as_slice(),
            b"family_name=Wang"
        );
        // A fresh nonce each time: the same value seals differently.
        assert_ne!(
            sealed,
            sealer.seal(b"family_name=Wang", "b-0:sd_jwt", &mut rng)
        );
    }

    #[test]
    fn tampered_moved_or_foreign_sealed_value_does_not_open() {
        let sealer = StorageKey::from_bytes([7; 32]).sealer();
        let mut rng = Counter::seed_from_u64(2);
        let sealed = sealer.seal(b"secret", "b-0:sd_jwt", &mut rng);
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(sealer.open(&flipped, "b-0:sd_jwt").is_none());
        assert!(sealer.open(&sealed, "b-1:sd_jwt").is_none());
        assert!(sealer.open(&sealed[..10], "b-0:sd_jwt").is_none());
        let other = StorageKey::from_bytes([8; 32]).sealer();
        assert!(other.open(&sealed, "b-0:sd_jwt").is_none());
        let check = sealer.seal(KEY_CHECK, "meta:key_check", &mut rng);
        assert!(sealer.opens_key_check(&check, "meta:key_check"));
        assert!(!other.opens_key_check(&check, "meta:key_check"));
    }

    #[test]
    fn storage_key_debug_shows_nothing() {
        assert_eq!(
            format!("{:?}", StorageKey::from_bytes([0xab; 32])),
            "StorageKey(..)"
        );
        assert_eq!(
            format!("{:?}", StorageKey::from_bytes([0xab; 32]).sealer()),
            "Sealer(..)"
        );
    }
}
