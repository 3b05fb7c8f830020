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
        alg: super::Alg,
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
}
