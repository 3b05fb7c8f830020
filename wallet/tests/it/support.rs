//! A real issuer on loopback (the shared kit, with batches of 10 copies), and a wallet in a
//! temporary directory.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use wallet::{StorageKey, Store};

pub use testkit::{high_claims, id_number, now, TestIssuer};

/// The kit's issuer with batches of 10 copies.
pub async fn start_issuer() -> TestIssuer {
    start_issuer_with(|_| {}).await
}

/// [`start_issuer`] with the configuration changed by `tweak` (after the defaults).
pub async fn start_issuer_with(tweak: impl FnOnce(&mut issuer::config::Config)) -> TestIssuer {
    TestIssuer::builder()
        .seed(1)
        .config(|c| c.batch_size = 10)
        .config(tweak)
        .start()
        .await
}

pub fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir, &StorageKey::from_bytes([7; 32])).unwrap()
}

/// A holder-key RNG that never repeats a stream in this process: the issuer binds each
/// holder key to one credential only.
pub fn holder_rng() -> ChaCha20Rng {
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ChaCha20Rng::seed_from_u64(42 ^ (n << 32))
}
