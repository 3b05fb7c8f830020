//! The envelope the three root-signed documents share (trust bundle, trust-bundle delta,
//! key-withdrawal notice): a compact JWS with its own `typ`, whose header `kid` names the pinned
//! root, signed by that root, with a JSON payload carrying a format version and `issued_at`.
//!
//! [`open`] runs the envelope's checks in the documents' order (size, structure, `typ`, root
//! `kid`, signature with the pinned key, payload) and [`check_stamp`] the version and
//! `issued_at`; each document then checks its own members. A failure is a [`Refused`], which
//! [`refusals_into!`] turns into the document's error variant of the same name, so every
//! document keeps its own error type and codes; [`envelope_codes!`] names those variants' codes
//! once for the three documents (`<document>_<check>`).

use credential::jose::{Jws, PublicJwk};
use credential::size::at_most;
use serde::de::DeserializeOwned;

/// Length in bytes of a signature under either allowed algorithm (ES256 r||s, Ed25519).
const SIGNATURE_LEN: usize = 64;

/// Which envelope a document expects.
pub(crate) struct Envelope {
    /// The JWS `typ`.
    pub(crate) typ: &'static str,
    /// The largest text accepted, in bytes.
    pub(crate) max_bytes: usize,
    /// Whether a text with fewer than three non-empty parts, or a signature shorter than the
    /// algorithms', is refused as truncated before parsing (the bundle and the delta do; the
    /// withdrawal notice has no such check and fails to parse or verify instead).
    pub(crate) truncation: bool,
}

/// A failed envelope check; each variant maps to the document error's variant of that name.
#[derive(Debug)]
pub(crate) enum Refused {
    TooLarge { len: usize, max: usize },
    Truncated,
    Malformed { reason: &'static str },
    WrongTyp { found: Option<String> },
    WrongRoot { expected: String, found: String },
    BadSignature,
    UnsupportedVersion { found: u64 },
    IssuedInFuture { issued_at: i64, now: i64 },
}

/// Checks the envelope of `text` (already trimmed) against the pinned `root` and decodes its
/// payload. The header's `jwk` is never trusted. The JWS (the signing input and the decoded
/// payload, each about the document's size) is freed before this returns.
pub(crate) fn open<T: DeserializeOwned>(
    text: &str,
    root: &PublicJwk,
    envelope: &Envelope,
) -> Result<T, Refused> {
    at_most(text.len(), envelope.max_bytes, |len, max| {
        Refused::TooLarge { len, max }
    })?;
    if envelope.truncation {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(Refused::Truncated);
        }
    }
    let jws = Jws::parse(text).map_err(|_| Refused::Malformed { reason: "jws" })?;
    let header = jws.header();
    if header.typ.as_deref() != Some(envelope.typ) {
        return Err(Refused::WrongTyp {
            found: header.typ.as_ref().map(|t| t.chars().take(32).collect()),
        });
    }
    let expected = root.thumbprint().to_owned();
    match header.kid.as_deref() {
        Some(kid) if kid == expected => {}
        Some(kid) => {
            return Err(Refused::WrongRoot {
                expected,
                found: kid.chars().take(64).collect(),
            })
        }
        None => return Err(Refused::Malformed { reason: "no kid" }),
    }
    if envelope.truncation && jws.signature_b64().len() < (SIGNATURE_LEN * 4).div_ceil(3) {
        return Err(Refused::Truncated);
    }
    jws.verify(root).map_err(|_| Refused::BadSignature)?;
    serde_json::from_slice(jws.payload()).map_err(|_| Refused::Malformed { reason: "payload" })
}

/// The payload's format `version` (absent means `expected`) must be the document's `expected`
/// one, and its `issued_at` not later than `now` plus `skew_secs`.
pub(crate) fn check_stamp(
    (version, expected): (Option<u64>, u32),
    issued_at: i64,
    now: i64,
    skew_secs: i64,
) -> Result<(), Refused> {
    let version = version.unwrap_or(u64::from(expected));
    if version != u64::from(expected) {
        return Err(Refused::UnsupportedVersion { found: version });
    }
    if issued_at > now.saturating_add(skew_secs) {
        return Err(Refused::IssuedInFuture { issued_at, now });
    }
    Ok(())
}

/// `impl From<Refused> for $err`, for a document error with variants of the same names and
/// fields. `Truncated => expr` names what a document without a `Truncated` variant returns (its
/// envelope never checks truncation, so the arm is not reached).
macro_rules! refusals_into {
    ($err:ident) => {
        $crate::envelope::refusals_into!($err, Truncated => $err::Truncated);
    };
    ($err:ident, Truncated => $truncated:expr) => {
        impl From<$crate::envelope::Refused> for $err {
            fn from(refused: $crate::envelope::Refused) -> $err {
                use $crate::envelope::Refused as R;
                match refused {
                    R::TooLarge { len, max } => $err::TooLarge { len, max },
                    R::Truncated => $truncated,
                    R::Malformed { reason } => $err::Malformed { reason },
                    R::WrongTyp { found } => $err::WrongTyp { found },
                    R::WrongRoot { expected, found } => $err::WrongRoot { expected, found },
                    R::BadSignature => $err::BadSignature,
                    R::UnsupportedVersion { found } => $err::UnsupportedVersion { found },
                    R::IssuedInFuture { issued_at, now } => $err::IssuedInFuture { issued_at, now },
                }
            }
        }
    };
}
pub(crate) use refusals_into;

/// The `code()` match of a document error with the envelope's variants: each is coded
/// `<prefix>_<check>` (`bundle_bad_signature`), then the document's own arms follow. A document
/// without a `Truncated` variant starts with `no Truncated:`.
macro_rules! envelope_codes {
    ($value:expr, $err:ident, $prefix:literal, { $($own:tt)* }) => {
        $crate::envelope::envelope_codes!(no Truncated: $value, $err, $prefix, {
            $err::Truncated => concat!($prefix, "_truncated"),
            $($own)*
        })
    };
    (no Truncated: $value:expr, $err:ident, $prefix:literal, { $($own:tt)* }) => {
        match $value {
            $err::TooLarge { .. } => concat!($prefix, "_too_large"),
            $err::Malformed { .. } => concat!($prefix, "_malformed"),
            $err::WrongTyp { .. } => concat!($prefix, "_wrong_typ"),
            $err::WrongRoot { .. } => concat!($prefix, "_wrong_root"),
            $err::BadSignature => concat!($prefix, "_bad_signature"),
            $err::UnsupportedVersion { .. } => concat!($prefix, "_unsupported_version"),
            $err::IssuedInFuture { .. } => concat!($prefix, "_issued_in_future"),
            $($own)*
        }
    };
}
pub(crate) use envelope_codes;

#[cfg(test)]
mod tests {
    use super::Refused;
    use crate::bundle::BundleError;
    use crate::delta::DeltaError;
    use crate::withdrawal::WithdrawalError;

    fn refusals() -> Vec<(Refused, &'static str)> {
        vec![
            (Refused::TooLarge { len: 2, max: 1 }, "too_large"),
            (Refused::Truncated, "truncated"),
            (Refused::Malformed { reason: "jws" }, "malformed"),
            (Refused::WrongTyp { found: None }, "wrong_typ"),
            (
                Refused::WrongRoot {
                    expected: "a".into(),
                    found: "b".into(),
                },
                "wrong_root",
            ),
            (Refused::BadSignature, "bad_signature"),
            (
                Refused::UnsupportedVersion { found: 9 },
                "unsupported_version",
            ),
            (
                Refused::IssuedInFuture {
                    issued_at: 2,
                    now: 1,
                },
                "issued_in_future",
            ),
        ]
    }

    #[test]
    fn every_envelope_refusal_is_coded_with_its_document_prefix() {
        for (refused, check) in refusals() {
            assert_eq!(BundleError::from(refused).code(), format!("bundle_{check}"));
        }
        for (refused, check) in refusals() {
            assert_eq!(DeltaError::from(refused).code(), format!("delta_{check}"));
        }
        for (refused, check) in refusals() {
            // The notice's envelope never checks truncation: a truncated text is malformed.
            let check = if check == "truncated" {
                "malformed"
            } else {
                check
            };
            let code = WithdrawalError::from(refused).code();
            assert_eq!(code, format!("withdrawals_{check}"));
        }
    }
}
