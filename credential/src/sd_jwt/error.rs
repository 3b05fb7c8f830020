use crate::jose::JoseError;

/// Why an SD-JWT (or SD-JWT+KB) was rejected. One variant per check of RFC 9901 section 7;
/// [`VerifyError::code`] gives each a stable snake_case name for logs, CLIs and HTTP answers.
///
/// Messages never contain claim values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is larger than [`Limits::max_bytes`](super::Limits).
    #[error("input of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More disclosures than [`Limits::max_disclosures`](super::Limits).
    #[error("{count} disclosures exceed the limit of {limit}")]
    TooManyDisclosures {
        /// How many were sent.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// JSON nested deeper than [`Limits::max_depth`](super::Limits).
    #[error("json nesting exceeds the depth limit of {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The serialization is not `<jwt>~<disclosure>~...~[<kb-jwt>]` or its JSON form.
    #[error("malformed sd-jwt: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// A JOSE-level failure in the issuer-signed JWT (bad `alg`, malformed header, ...).
    #[error("issuer jwt: {0}")]
    Jose(JoseError),
    /// The issuer-signed JWT's `alg` is valid JOSE but not on this verifier's allow-list (a
    /// KB-JWT's is [`VerifyError::KbJose`]).
    #[error("alg {alg} is not allowed by the verifier")]
    AlgNotAllowed {
        /// The algorithm.
        alg: crate::jose::Alg,
    },
    /// The issuer-signed JWT's `typ` is not accepted (a KB-JWT or status-list token offered as
    /// a credential, or a type the verifier does not accept).
    #[error("issuer jwt typ {found:?} is not accepted")]
    WrongTyp {
        /// The `typ` found (`None` when absent).
        found: Option<String>,
    },
    /// No trusted key for this issuer and `kid`.
    #[error("unknown issuer key")]
    UnknownIssuerKey,
    /// The issuer key was not valid when the credential was issued.
    #[error("issuer key was not valid at issuance time")]
    IssuerKeyNotValidAtIssuance,
    /// The issuer-signed JWT's signature does not verify.
    #[error("issuer signature does not verify")]
    IssuerSignature,
    /// The payload is not a JSON object.
    #[error("issuer jwt payload is not a json object")]
    PayloadNotObject,
    /// `_sd_alg` names a hash this verifier does not support.
    #[error("unsupported _sd_alg")]
    UnsupportedSdAlg,
    /// A disclosure is not base64url of a JSON array `[salt, name, value]` or `[salt, value]`.
    #[error("malformed disclosure: {reason}")]
    MalformedDisclosure {
        /// What is wrong.
        reason: &'static str,
    },
    /// A disclosure names a claim `_sd` or `...`, or a claim that must not be selectively
    /// disclosable (`iss`, `cnf`, `vct`, `status`, ...).
    #[error("disclosure for reserved claim name {name:?}")]
    ReservedClaimDisclosed {
        /// The claim name.
        name: String,
    },
    /// A disclosure's digest is not referenced from the payload or any other disclosure.
    #[error("disclosure digest not found in the credential")]
    DigestNotFound,
    /// The same disclosure was sent twice.
    #[error("the same disclosure appears twice")]
    DisclosureReused,
    /// A digest appears more than once in the payload and disclosures.
    #[error("a digest appears more than once")]
    DuplicateDigest,
    /// A disclosed claim has the same name as a claim already in its object.
    #[error("disclosed claim {name:?} collides with an existing claim")]
    ClaimCollision {
        /// The claim name.
        name: String,
    },
    /// `_sd` is not an array of digest strings.
    #[error("_sd is not an array of strings")]
    SdNotArray,
    /// An array element `{"...": digest}` has other members or a non-string digest.
    #[error("malformed array element digest")]
    MalformedArrayElement,
    /// An object-property disclosure is referenced from an array, or an array-element
    /// disclosure from `_sd`.
    #[error("disclosure kind does not match where its digest is")]
    DisclosureKindMismatch,
    /// `exp` has passed.
    #[error("credential expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("credential not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("credential issued in the future")]
    IssuedInFuture,
    /// A time claim is not a number.
    #[error("time claim {name} is not a number")]
    InvalidTimeClaim {
        /// The claim name.
        name: &'static str,
    },
    /// Policy requires key binding but the presentation has no KB-JWT.
    #[error("key binding jwt missing")]
    KeyBindingMissing,
    /// The credential has no usable `cnf.jwk`.
    #[error("credential has no holder key (cnf.jwk)")]
    MissingHolderKey,
    /// The KB-JWT is malformed or uses a disallowed `alg`.
    #[error("kb-jwt: {0}")]
    KbJose(JoseError),
    /// The KB-JWT's `typ` is not `kb+jwt`.
    #[error("kb-jwt typ is not kb+jwt")]
    KbWrongTyp,
    /// The KB-JWT is not signed by the `cnf` key.
    #[error("kb-jwt is not signed by the holder key")]
    KbSignature,
    /// The KB-JWT lacks a required claim or has one of the wrong type.
    #[error("kb-jwt claim {name} missing or malformed")]
    KbClaim {
        /// The claim name.
        name: &'static str,
    },
    /// The KB-JWT `nonce` is not the expected one.
    #[error("kb-jwt nonce does not match")]
    NonceMismatch,
    /// The KB-JWT `aud` is not the expected one.
    #[error("kb-jwt aud does not match")]
    AudienceMismatch,
    /// The KB-JWT `iat` is too old.
    #[error("kb-jwt iat is too old")]
    KbStale,
    /// The KB-JWT `iat` is in the future.
    #[error("kb-jwt iat is in the future")]
    KbIssuedInFuture,
    /// The KB-JWT `sd_hash` does not cover this presentation.
    #[error("kb-jwt sd_hash does not match the presentation")]
    SdHashMismatch,
}

impl VerifyError {
    /// A stable snake_case name for the failed check.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::TooManyDisclosures { .. } => "too_many_disclosures",
            VerifyError::TooDeep { .. } => "too_deep",
            VerifyError::Malformed { .. } => "malformed",
            VerifyError::Jose(JoseError::AlgNone) => "alg_none",
            VerifyError::Jose(JoseError::UnsupportedAlg { .. }) => "unsupported_alg",
            VerifyError::Jose(_) => "malformed_jwt",
            VerifyError::AlgNotAllowed { .. } => "alg_not_allowed",
            VerifyError::WrongTyp { .. } => "wrong_typ",
            VerifyError::UnknownIssuerKey => "unknown_issuer_key",
            VerifyError::IssuerKeyNotValidAtIssuance => "issuer_key_not_valid",
            VerifyError::IssuerSignature => "issuer_signature",
            VerifyError::PayloadNotObject => "payload_not_object",
            VerifyError::UnsupportedSdAlg => "unsupported_sd_alg",
            VerifyError::MalformedDisclosure { .. } => "malformed_disclosure",
            VerifyError::ReservedClaimDisclosed { .. } => "reserved_claim_disclosed",
            VerifyError::DigestNotFound => "digest_not_found",
            VerifyError::DisclosureReused => "disclosure_reused",
            VerifyError::DuplicateDigest => "duplicate_digest",
            VerifyError::ClaimCollision { .. } => "claim_collision",
            VerifyError::SdNotArray => "sd_not_array",
            VerifyError::MalformedArrayElement => "malformed_array_element",
            VerifyError::DisclosureKindMismatch => "disclosure_kind_mismatch",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::IssuedInFuture => "issued_in_future",
            VerifyError::InvalidTimeClaim { .. } => "invalid_time_claim",
            VerifyError::KeyBindingMissing => "key_binding_missing",
            VerifyError::MissingHolderKey => "missing_holder_key",
            VerifyError::KbJose(_) => "kb_malformed",
            VerifyError::KbWrongTyp => "kb_wrong_typ",
            VerifyError::KbSignature => "kb_signature",
            VerifyError::KbClaim { .. } => "kb_claim",
            VerifyError::NonceMismatch => "nonce_mismatch",
            VerifyError::AudienceMismatch => "audience_mismatch",
            VerifyError::KbStale => "kb_stale",
            VerifyError::KbIssuedInFuture => "kb_issued_in_future",
            VerifyError::SdHashMismatch => "sd_hash_mismatch",
        }
    }
}

/// Why an SD-JWT could not be issued (caller misuse, not peer input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// A path marked disclosable does not exist in the claims.
    #[error("disclosable path {path} not found in the claims")]
    PathNotFound {
        /// The path, as text.
        path: String,
    },
    /// The claims already use `_sd`, `_sd_alg` or `...`, or a reserved claim was marked
    /// disclosable.
    #[error("claim name {name:?} is reserved")]
    ReservedName {
        /// The name.
        name: String,
    },
    /// The issuer's key (held in an HSM) did not sign.
    #[error("issuer key: {0}")]
    Signer(JoseError),
}
