use std::fmt;

/// A JWS algorithm this stack accepts (RFC 7518, RFC 8037). The set is closed. Parsing a header
/// value (`Alg::parse`, `FromStr`) lives beside the errors it returns, in `jose/error.rs`, so
/// that this file, which the errors name, imports nothing of the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Alg {
    /// ECDSA over P-256 with SHA-256; the 64-byte `r || s` signature of RFC 7518 section 3.4.
    Es256,
    /// Ed25519 (RFC 8037 section 3.1).
    EdDsa,
}

impl Alg {
    /// Both algorithms, in the order the stack prefers them.
    pub const ALL: [Alg; 2] = [Alg::Es256, Alg::EdDsa];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
