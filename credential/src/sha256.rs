//! SHA-256 on the crypto backend in use: aws-lc-rs with the `aws-lc` feature (the same code that
//! hashes inside its ES256 verification), RustCrypto's `sha2` without.
//!
//! Streaming and cloneable, so that one pass over a presentation serves two hashes whose inputs
//! share a prefix: the issuer JWT's signing input (`header.payload`, hashed for its ES256
//! signature) is the start of the `sd_hash` input (`header.payload.signature~d1~...~`). The
//! bytes hashed are always the exact bytes received.

/// A SHA-256 computation in progress.
#[derive(Clone)]
pub(crate) struct Sha256(backend::State);

/// A finished SHA-256 value, in the form the backend's prehashed ES256 verification takes.
pub(crate) struct Hash(pub(crate) backend::Output);

impl Sha256 {
    /// An empty state.
    pub(crate) fn new() -> Sha256 {
        Sha256(backend::new())
    }

    /// Hashes `data` after what came before.
    pub(crate) fn update(&mut self, data: &[u8]) {
        backend::update(&mut self.0, data);
    }

    /// The hash of everything given.
    pub(crate) fn finish(self) -> Hash {
        Hash(backend::finish(self.0))
    }
}

impl Hash {
    /// The 32 bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

/// SHA-256 of `data` in one call.
pub(crate) fn digest(data: &[u8]) -> Hash {
    Hash(backend::one_shot(data))
}

#[cfg(feature = "aws-lc")]
pub(crate) mod backend {
    use aws_lc_rs::digest::{Context, Digest, SHA256};

    pub(crate) type State = Context;
    pub(crate) type Output = Digest;

    pub(crate) fn new() -> State {
        Context::new(&SHA256)
    }

    pub(crate) fn update(state: &mut State, data: &[u8]) {
        state.update(data);
    }

    pub(crate) fn finish(state: State) -> Output {
        state.finish()
    }

    /// aws-lc's one-shot `SHA256()`: no digest context to allocate and free.
    pub(crate) fn one_shot(data: &[u8]) -> Output {
        aws_lc_rs::digest::digest(&SHA256, data)
    }
}

#[cfg(not(feature = "aws-lc"))]
pub(crate) mod backend {
    use sha2::Digest as _;

    pub(crate) type State = sha2::Sha256;
    pub(crate) type Output = [u8; 32];

    pub(crate) fn new() -> State {
        sha2::Sha256::new()
    }

    pub(crate) fn update(state: &mut State, data: &[u8]) {
        state.update(data);
    }

    pub(crate) fn finish(state: State) -> Output {
        state.finalize().into()
    }

    pub(crate) fn one_shot(data: &[u8]) -> Output {
        sha2::Sha256::digest(data).into()
    }
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn matches_sha2_in_one_pass_and_split() {
        let data: Vec<u8> = (0..2500u32).map(|i| (i * 7 + 3) as u8).collect();
        let expected = sha2::Sha256::digest(&data);
        assert_eq!(digest(&data).as_bytes(), &expected[..]);
        for split in [0, 1, 63, 64, 65, 1500, 2500] {
            let mut prefix = Sha256::new();
            prefix.update(&data[..split]);
            let mut rest = prefix.clone();
            rest.update(&data[split..]);
            assert_eq!(rest.finish().as_bytes(), &expected[..]);
            assert_eq!(
                prefix.finish().as_bytes(),
                &sha2::Sha256::digest(&data[..split])[..]
            );
        }
    }
}
