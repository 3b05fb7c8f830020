use super::alg::Alg;

/// An error from key handling or JWS processing. Messages name the failed check and never
/// contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// `alg: none`: an unsigned token.
    #[error("alg none is never accepted")]
    AlgNone,
    /// An algorithm outside the allow-list (every HMAC included).
    #[error("unsupported alg {alg:?}")]
    UnsupportedAlg {
        /// The offered value, truncated.
        alg: String,
    },
    /// The algorithm does not fit the key (ES256 with an Ed25519 key, say).
    #[error("alg {alg} does not match the key type")]
    AlgKeyMismatch {
        /// The algorithm in the header.
        alg: Alg,
    },
    /// The JWK is malformed, of an unsupported type or curve, or its point is invalid.
    #[error("invalid jwk: {reason}")]
    InvalidJwk {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A public JWK was expected but private material (`d`) was present.
    #[error("jwk carries private key material where a public key was expected")]
    PrivateMaterialInPublicJwk,
    /// A compact JWS does not have three base64url parts, or a part does not decode.
    #[error("malformed jws: {reason}")]
    MalformedJws {
        /// Which part is wrong.
        reason: &'static str,
    },
    /// The JOSE header is not a JSON object or lacks `alg`.
    #[error("malformed jose header: {reason}")]
    MalformedHeader {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The header lists `crit` extensions, none of which this stack understands (RFC 7515 4.1.11).
    #[error("unsupported critical header parameter")]
    UnsupportedCrit,
    /// The signature does not verify with the given key.
    #[error("signature does not verify")]
    BadSignature,
    /// A key held outside this process (an HSM) did not sign.
    #[error("the signing key did not sign: {reason}")]
    SignerFailed {
        /// Which step failed (never key material).
        reason: &'static str,
    },
}

impl Alg {
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

impl std::str::FromStr for Alg {
    type Err = JoseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Alg::parse(s)
    }
}

/// Peer-supplied names go into errors; bound their length.
fn truncate(s: &str) -> String {
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
        for other in ["HS256", "es256"] {
            assert!(
                matches!(Alg::parse(other), Err(JoseError::UnsupportedAlg { .. })),
                "{other}"
            );
        }
    }
}
