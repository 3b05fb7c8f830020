use std::fmt;

use super::JoseError;

/// A JWS algorithm this stack accepts (RFC 7518, RFC 8037). The set is closed.
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

    /// Parses an `alg` header value.
    ///
    /// # Errors
    /// [`JoseError::AlgNone`] for `none`, [`JoseError::UnsupportedAlg`] for every other value
    /// (HMAC algorithms included).
    pub fn parse(value: &str) -> Result<Alg, JoseError> {
        match value {
            "ES256" => Ok(Alg::Es256),
            "EdDSA" => Ok(Alg::EdDsa),
            v if v.eq_ignore_ascii_case("none") => Err(JoseError::AlgNone),
            other => Err(JoseError::UnsupportedAlg {
                alg: truncate(other),
            }),
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Alg {
    type Err = JoseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Alg::parse(s)
    }
}

/// Peer-supplied names go into errors; bound their length.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_set() {
        assert_eq!(Alg::parse("ES256"), Ok(Alg::Es256));
        assert_eq!(Alg::parse("EdDSA"), Ok(Alg::EdDsa));
        assert_eq!(Alg::parse("none"), Err(JoseError::AlgNone));
        assert_eq!(Alg::parse("NONE"), Err(JoseError::AlgNone));
        assert!(matches!(
            Alg::parse("HS256"),
            Err(JoseError::UnsupportedAlg { .. })
        ));
        assert!(matches!(
            Alg::parse("es256"),
            Err(JoseError::UnsupportedAlg { .. })
        ));
    }
}
