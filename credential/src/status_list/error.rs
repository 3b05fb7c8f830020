use crate::jose::JoseError;

/// A failed check while building, decoding, signing or verifying a Token Status List
/// (draft-ietf-oauth-status-list).
///
/// Each check has its own variant; [`StatusListError::code`] gives a stable snake_case code for
/// command lines and documentation. Messages are lowercase and never contain personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// The index is not below the number of entries in the list (section 8.3 step 6: no
    /// statement about the token can be made).
    #[error("status list index {idx} is out of range for a list of {len} entries")]
    IndexOutOfRange {
        /// The index asked for.
        idx: u64,
        /// The number of entries in the list.
        len: u64,
    },
    /// `bits` is not 1, 2, 4 or 8 (section 4.1 step 1).
    #[error("unsupported status list bits {bits}: only 1, 2, 4 and 8 are allowed")]
    UnsupportedBits {
        /// The value offered.
        bits: u64,
    },
    /// A status value does not fit the list's bits per entry (section 7).
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooWide {
        /// The value to store.
        value: u8,
        /// The list's bits per entry.
        bits: u8,
    },
    /// The list has no entries: nothing can be looked up in it.
    #[error("status list is empty")]
    EmptyList,
    /// A new list would be larger than a verifier with default [`super::Limits`] accepts.
    #[error("status list of {bytes} bytes exceeds the maximum of {max} bytes")]
    ListTooLarge {
        /// The byte array size the list would need.
        bytes: u64,
        /// The maximum.
        max: usize,
    },
    /// The JSON status list object (section 4.2) has the wrong shape.
    #[error("malformed status list: {reason}")]
    MalformedList {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `lst` is not canonical unpadded base64url (section 4.2).
    #[error("status list lst is not base64url")]
    LstNotBase64url,
    /// The compressed byte array is larger than the configured limit; checked before decoding.
    #[error("compressed status list of {len} bytes exceeds the limit of {max} bytes")]
    CompressedTooLarge {
        /// The compressed size (computed from the base64url length).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `lst` is not a complete ZLIB (RFC 1950) stream, or its checksum does not match.
    #[error("status list lst is not a valid zlib stream")]
    NotZlib,
    /// Inflating `lst` would exceed the configured limit (a decompression bomb, or simply too
    /// large a list). Decompression stops at the limit; nothing larger is ever allocated.
    #[error("decompressed status list exceeds the limit of {max} bytes")]
    DecompressionLimit {
        /// The limit.
        max: usize,
    },
    /// The compact Status List Token is longer than the configured limit; checked before parsing.
    #[error("status list token of {len} bytes exceeds the limit of {max} bytes")]
    TokenTooLarge {
        /// The token length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The compact JWS or its JOSE header is malformed, or its payload is not a JSON object.
    #[error("malformed status list token")]
    Jws(#[source] JoseError),
    /// The JWS `alg` is `none`, outside the closed set, or does not fit the verification key.
    #[error("status list token alg is not accepted")]
    Alg(#[source] JoseError),
    /// The JOSE header `typ` is not exactly `statuslist+jwt` (section 5.1).
    #[error("status list token typ is not statuslist+jwt")]
    WrongTyp {
        /// The `typ` found, truncated, if any.
        typ: Option<String>,
    },
    /// The signature does not verify with the given key (section 5.1 rule 2).
    #[error("status list token signature does not verify")]
    Signature(#[source] JoseError),
    /// A required claim of the Status List Token is absent (section 5.1, section 8.3 step 3b).
    #[error("status list token lacks the {name} claim")]
    MissingClaim {
        /// The claim name.
        name: &'static str,
    },
    /// A claim of the Status List Token has the wrong type or value (section 5.1).
    #[error("status list token claim {name} is invalid")]
    InvalidClaim {
        /// The claim name.
        name: &'static str,
    },
    /// `sub` is not the URI the Referenced Token points at (section 8.3 step 4a).
    #[error("status list token sub does not match the referenced status list uri")]
    SubjectMismatch {
        /// The URI the caller expected (from the Referenced Token).
        expected: String,
        /// The `sub` of the token, truncated.
        found: String,
    },
    /// `exp` has passed, allowing for the clock skew (section 8.3 step 4c).
    #[error("status list token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The caller's clock.
        now: i64,
    },
    /// `iat` lies in the future by more than the clock skew.
    #[error("status list token issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The caller's clock.
        now: i64,
    },
    /// The Referenced Token's `status.status_list` claim is malformed (section 6.2).
    #[error("malformed status reference: {reason}")]
    MalformedStatusReference {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl StatusListError {
    /// A stable snake_case code naming the failed check, one per variant. Command lines print it
    /// and the documentation lists it; it never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            StatusListError::IndexOutOfRange { .. } => "index_out_of_range",
            StatusListError::UnsupportedBits { .. } => "unsupported_bits",
            StatusListError::ValueTooWide { .. } => "value_too_wide",
            StatusListError::EmptyList => "empty_list",
            StatusListError::ListTooLarge { .. } => "list_too_large",
            StatusListError::MalformedList { .. } => "malformed_list",
            StatusListError::LstNotBase64url => "lst_not_base64url",
            StatusListError::CompressedTooLarge { .. } => "compressed_too_large",
            StatusListError::NotZlib => "not_zlib",
            StatusListError::DecompressionLimit { .. } => "decompression_limit",
            StatusListError::TokenTooLarge { .. } => "token_too_large",
            StatusListError::Jws(_) => "malformed_jws",
            StatusListError::Alg(_) => "unsupported_alg",
            StatusListError::WrongTyp { .. } => "wrong_typ",
            StatusListError::Signature(_) => "bad_signature",
            StatusListError::MissingClaim { .. } => "missing_claim",
            StatusListError::InvalidClaim { .. } => "invalid_claim",
            StatusListError::SubjectMismatch { .. } => "subject_mismatch",
            StatusListError::Expired { .. } => "expired",
            StatusListError::IssuedInFuture { .. } => "issued_in_future",
            StatusListError::MalformedStatusReference { .. } => "malformed_status_reference",
        }
    }

    /// Sorts a JOSE error into the check that failed: algorithm, signature or structure.
    pub(crate) fn from_jose(error: JoseError) -> StatusListError {
        match error {
            JoseError::AlgNone
            | JoseError::UnsupportedAlg { .. }
            | JoseError::AlgKeyMismatch { .. } => StatusListError::Alg(error),
            JoseError::BadSignature => StatusListError::Signature(error),
            _ => StatusListError::Jws(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn every_variant() -> Vec<StatusListError> {
        vec![
            StatusListError::IndexOutOfRange { idx: 1, len: 1 },
            StatusListError::UnsupportedBits { bits: 3 },
            StatusListError::ValueTooWide { value: 4, bits: 2 },
            StatusListError::EmptyList,
            StatusListError::ListTooLarge { bytes: 1, max: 0 },
            StatusListError::MalformedList { reason: "x" },
            StatusListError::LstNotBase64url,
            StatusListError::CompressedTooLarge { len: 2, max: 1 },
            StatusListError::NotZlib,
            StatusListError::DecompressionLimit { max: 1 },
            StatusListError::TokenTooLarge { len: 2, max: 1 },
            StatusListError::Jws(JoseError::MalformedJws { reason: "x" }),
            StatusListError::Alg(JoseError::AlgNone),
            StatusListError::WrongTyp { typ: None },
            StatusListError::Signature(JoseError::BadSignature),
            StatusListError::MissingClaim { name: "sub" },
            StatusListError::InvalidClaim { name: "ttl" },
            StatusListError::SubjectMismatch {
                expected: "a:".into(),
                found: "b:".into(),
            },
            StatusListError::Expired { exp: 1, now: 2 },
            StatusListError::IssuedInFuture { iat: 2, now: 1 },
            StatusListError::MalformedStatusReference { reason: "x" },
        ]
    }

    #[test]
    fn codes_are_unique_snake_case_and_messages_lowercase() {
        let variants = every_variant();
        let codes: HashSet<_> = variants.iter().map(StatusListError::code).collect();
        assert_eq!(codes.len(), variants.len());
        for e in &variants {
            let code = e.code();
            assert!(
                code.starts_with(|c: char| c.is_ascii_lowercase())
                    && code
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{code}"
            );
            let message = e.to_string();
            assert_eq!(message, message.to_lowercase(), "{message}");
        }
    }

    #[test]
    fn jose_errors_are_sorted_by_check() {
        assert_eq!(
            StatusListError::from_jose(JoseError::BadSignature).code(),
            "bad_signature"
        );
        assert_eq!(
            StatusListError::from_jose(JoseError::AlgNone).code(),
            "unsupported_alg"
        );
        assert_eq!(
            StatusListError::from_jose(JoseError::UnsupportedCrit).code(),
            "malformed_jws"
        );
    }
}
