//! What several targets share: a fixed root key, and signing fuzzed payloads with it so the
//! checks after the signature are reached.

use std::sync::LazyLock;

use credential::jose::{sign_compact, Alg, PublicJwk, SigningKey};
use rand_core::SeedableRng;
use serde_json::{json, Map};

/// A fixed Ed25519 root (fast to sign with), the same on every run.
pub static ROOT: LazyLock<SigningKey> = LazyLock::new(|| {
    SigningKey::generate(
        Alg::EdDsa,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(0x5eed),
    )
});

/// The root's public key.
pub fn root_public() -> &'static PublicJwk {
    ROOT.public_jwk()
}

/// `payload` signed by the root with `typ` and the root's thumbprint as `kid`.
pub fn signed(typ: &str, payload: &[u8]) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), json!(typ));
    header.insert("kid".into(), json!(ROOT.public_jwk().thumbprint()));
    sign_compact(header, payload, &ROOT)
}

/// The verification time of the trust targets.
pub const NOW: i64 = 1_760_000_000;

/// The text a trust target verifies: with an even `mode`, `rest` itself (when UTF-8); with an
/// odd one, `rest` as a payload signed by the root with `typ`.
pub fn text(mode: u8, typ: &str, rest: &[u8]) -> Option<String> {
    if mode % 2 == 0 {
        std::str::from_utf8(rest).ok().map(str::to_owned)
    } else {
        Some(signed(typ, rest))
    }
}
