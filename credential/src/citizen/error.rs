use super::{IdNumberError, Level};

/// Why citizen claims were rejected. One variant per check; fields name the claim and what was
/// expected, never the value (claims are personal data).
///
/// Nested claims are named with a dot: `address.locality`, `id_card.valid_until`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The JSON text is larger than the limit, checked before parsing.
    #[error("claims input of {bytes} bytes exceeds the limit of {max}")]
    InputTooLarge {
        /// Size of the input.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The text is not JSON (or has trailing data).
    #[error("claims input is not json (line {line}, column {column})")]
    MalformedJson {
        /// 1-based line of the failure.
        line: usize,
        /// 1-based column of the failure.
        column: usize,
    },
    /// A JSON object in the input repeats a key.
    #[error("claims input repeats a key (line {line}, column {column})")]
    DuplicateKey {
        /// 1-based line just after the repeated member.
        line: usize,
        /// 1-based column just after the repeated member.
        column: usize,
    },
    /// The claims are not a JSON object.
    #[error("claims must be a json object")]
    NotAnObject,
    /// A member that is not a citizen-ID claim (the input format denies unknown fields).
    #[error("unknown claim {name}")]
    UnknownClaim {
        /// The member's name (dotted when nested), truncated to 64 characters.
        name: String,
    },
    /// A claim the issuer computes (`age_equal_or_over`) was supplied as input.
    #[error("claim {name} is computed at issuance and must not be supplied")]
    ComputedClaim {
        /// The claim.
        name: &'static str,
    },
    /// A claim the level requires is absent.
    #[error("missing claim {name}")]
    MissingClaim {
        /// The claim.
        name: &'static str,
    },
    /// A high-only claim in basic claims.
    #[error("claim {name} is not allowed at level {level}")]
    ClaimNotAllowed {
        /// The claim.
        name: &'static str,
        /// The level the claims were checked for.
        level: Level,
    },
    /// A claim has the wrong JSON type or shape.
    #[error("claim {name} must be {expected}")]
    InvalidClaimValue {
        /// The claim.
        name: &'static str,
        /// What the claim must look like.
        expected: &'static str,
    },
    /// `id_number` is not a valid resident identity number. The message includes the inner
    /// check, so the inner error is not also reported as `source()`.
    #[error("invalid id_number: {0}")]
    InvalidIdNumber(IdNumberError),
    /// `birthdate` differs from the birth date encoded in `id_number`.
    #[error("birthdate does not match the birth date in id_number")]
    BirthdateMismatch,
    /// `sex` differs from the parity of the 17th character of `id_number`.
    #[error("sex does not match the sex digit of id_number")]
    SexMismatch,
    /// The portrait is larger than `Portrait::MAX_BYTES`.
    #[error("portrait of about {bytes} bytes exceeds the limit of {max}")]
    PortraitTooLarge {
        /// The JPEG size, estimated from the base64 length when that alone is over the limit.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The portrait decodes, but its bytes do not start with a JPEG SOI marker and end with an
    /// EOI marker.
    #[error("portrait is not a jpeg image")]
    PortraitNotJpeg,
}

impl From<IdNumberError> for ClaimsError {
    fn from(e: IdNumberError) -> Self {
        ClaimsError::InvalidIdNumber(e)
    }
}
