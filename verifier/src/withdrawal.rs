//! Emergency key withdrawals (`typ: key-withdrawals+jwt`, `docs/trust-model.md`, "Emergency
//! key withdrawal"): the bureau's root-signed list of every credential signing key it has
//! withdrawn, each for all the credentials it signed or for those issued from a time on.
//! `verifier sync` fetches it before anything else and applies it even when the bundle or
//! delta that follows fails.
//!
//! ```text
//! pinned root JWK ─┐
//! notice bytes ────┼─> VerifiedWithdrawals::verify ─> TrustState::apply_withdrawals
//! now ─────────────┘   (size, typ, root kid,          (same issuer; each named key becomes
//!                       signature, payload,             withdrawn; never undone, so order and
//!                       every entry)                    replays do not matter)
//! ```
//!
//! A withdrawal only ever adds refusals: applying a notice twice, an older notice after a
//! newer one, or a bundle built before the withdrawal after it, cannot bring a withdrawn key
//! back. That is why a notice needs no sequence number and may be applied out of band.

use credential::jose::PublicJwk;
use serde::Deserialize;

use crate::bundle::KeyState;
use crate::envelope::{self, envelope_codes, refusals_into, Envelope};
use crate::TrustState;

/// The notice's `typ`.
pub const TYP: &str = "key-withdrawals+jwt";

/// The notice format version this verifier reads.
pub const VERSION: u32 = 1;

/// Size limits applied before parsing a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithdrawalLimits {
    /// The largest notice accepted, in bytes. Default 256 KiB.
    pub max_bytes: usize,
    /// The most withdrawals accepted. Default 1024.
    pub max_entries: usize,
    /// Clock skew allowed for `issued_at` in the future, in seconds. Default 300.
    pub skew_secs: i64,
}

impl Default for WithdrawalLimits {
    fn default() -> WithdrawalLimits {
        WithdrawalLimits {
            max_bytes: 256 << 10,
            max_entries: 1024,
            skew_secs: 300,
        }
    }
}

/// Why a withdrawal notice was refused (nothing is stored or applied then).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WithdrawalError {
    /// Larger than [`WithdrawalLimits::max_bytes`].
    #[error("key-withdrawal notice is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a well-formed notice (JWS structure, payload JSON, a required member).
    #[error("key-withdrawal notice is malformed: {reason}")]
    Malformed {
        /// Which part.
        reason: &'static str,
    },
    /// The JWS `typ` is not `key-withdrawals+jwt`.
    #[error("not a key-withdrawal notice (typ {found:?})")]
    WrongTyp {
        /// The `typ` found.
        found: Option<String>,
    },
    /// Signed by another root than the pinned one (header `kid`).
    #[error("key-withdrawal notice signed by another root ({found}), not the pinned {expected}")]
    WrongRoot {
        /// The pinned root's thumbprint.
        expected: String,
        /// The `kid` in the notice.
        found: String,
    },
    /// Names the pinned root but the signature does not verify.
    #[error("key-withdrawal notice signature does not verify against the pinned root")]
    BadSignature,
    /// A format version this verifier does not read.
    #[error("key-withdrawal notice version {found} is not supported")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// `issued_at` is in the future.
    #[error("key-withdrawal notice issued in the future ({issued_at}, now {now})")]
    IssuedInFuture {
        /// `issued_at`.
        issued_at: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// More entries than the limits allow.
    #[error("key-withdrawal notice holds too many entries")]
    TooMany,
    /// An entry is invalid (a `kid` that is not a thumbprint's shape).
    #[error("key-withdrawal notice entry {index} is invalid: {reason}")]
    InvalidEntry {
        /// Position in `withdrawals`.
        index: usize,
        /// Why.
        reason: &'static str,
    },
    /// For another issuer than the stored state's.
    #[error("key-withdrawal notice is for another issuer than the stored state")]
    IssuerMismatch,
}

refusals_into!(WithdrawalError, Truncated => WithdrawalError::Malformed { reason: "jws" });

impl WithdrawalError {
    /// A stable snake_case name of the failed check.
    pub fn code(&self) -> &'static str {
        envelope_codes!(no Truncated: self, WithdrawalError, "withdrawals", {
            WithdrawalError::TooMany => "withdrawals_too_many_entries",
            WithdrawalError::InvalidEntry { .. } => "withdrawals_invalid_entry",
            WithdrawalError::IssuerMismatch => "withdrawals_issuer_mismatch",
        })
    }
}

/// One withdrawn key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWithdrawal {
    /// The key's RFC 7638 thumbprint.
    pub kid: String,
    /// Credentials issued (`iat`) at or after this time are refused; `None`: all of them.
    pub since: Option<i64>,
    /// When the bureau withdrew it.
    pub withdrawn_at: i64,
}

/// A notice whose signature verified against the pinned root and whose every entry checked.
#[derive(Debug, Clone)]
pub struct VerifiedWithdrawals {
    raw: String,
    /// The issuer identifier.
    pub iss: String,
    /// When the notice was built.
    pub issued_at: i64,
    /// The withdrawn keys.
    pub withdrawals: Vec<KeyWithdrawal>,
}

#[derive(Deserialize)]
struct Payload {
    withdrawals_version: Option<u64>,
    iss: String,
    issued_at: i64,
    withdrawals: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    kid: String,
    since: Option<i64>,
    withdrawn_at: i64,
}

impl VerifiedWithdrawals {
    /// Verifies a compact notice against the pinned `root` as of `now`: size, `typ`, root
    /// `kid`, signature with the pinned key (the header's `jwk` is never trusted), payload
    /// and version, `issued_at` not in the future, every entry.
    ///
    /// # Errors
    /// The [`WithdrawalError`] of the first failed check.
    pub fn verify(
        text: &str,
        root: &PublicJwk,
        now: i64,
        limits: &WithdrawalLimits,
    ) -> Result<VerifiedWithdrawals, WithdrawalError> {
        let text = text.trim();
        let envelope = Envelope {
            typ: TYP,
            max_bytes: limits.max_bytes,
            truncation: false,
        };
        let payload: Payload = envelope::open(text, root, &envelope)?;
        let version = (payload.withdrawals_version, VERSION);
        envelope::check_stamp(version, payload.issued_at, now, limits.skew_secs)?;
        if payload.withdrawals.len() > limits.max_entries {
            return Err(WithdrawalError::TooMany);
        }
        let mut withdrawals = Vec::with_capacity(payload.withdrawals.len());
        for (index, e) in payload.withdrawals.into_iter().enumerate() {
            // An RFC 7638 SHA-256 thumbprint: 43 base64url characters.
            if e.kid.len() != 43
                || !e
                    .kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(WithdrawalError::InvalidEntry {
                    index,
                    reason: "kid is not a key thumbprint",
                });
            }
            withdrawals.push(KeyWithdrawal {
                kid: e.kid,
                since: e.since,
                withdrawn_at: e.withdrawn_at,
            });
        }
        Ok(VerifiedWithdrawals {
            raw: text.to_owned(),
            iss: payload.iss,
            issued_at: payload.issued_at,
            withdrawals,
        })
    }

    /// The compact notice as received (what the caller stores).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this notice withdraws every key `other` withdraws, at least as strictly (so
    /// `other` need not be kept beside it).
    pub fn covers(&self, other: &VerifiedWithdrawals) -> bool {
        self.iss == other.iss
            && other.withdrawals.iter().all(|o| {
                self.withdrawals
                    .iter()
                    .any(|w| w.kid == o.kid && stricter(w.since, o.since) == w.since)
            })
    }
}

/// The stricter of two withdrawals of one key (`None`: every credential).
fn stricter(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        _ => None,
    }
}

impl TrustState {
    /// Applies a verified withdrawal notice: every key of the state that it names becomes
    /// withdrawn (for all its credentials, or from the earliest `since` known). Keys the state
    /// does not hold are skipped. Nothing is ever un-withdrawn. Returns how many keys changed.
    ///
    /// # Errors
    /// [`WithdrawalError::IssuerMismatch`] when the notice is for another issuer.
    pub fn apply_withdrawals(
        &mut self,
        notice: &VerifiedWithdrawals,
    ) -> Result<usize, WithdrawalError> {
        if notice.iss != self.iss {
            return Err(WithdrawalError::IssuerMismatch);
        }
        let mut changed = 0;
        for w in &notice.withdrawals {
            for key in self.keys.iter_mut().filter(|k| k.kid == w.kid) {
                let since = if key.state == KeyState::Withdrawn {
                    stricter(key.withdrawn_since, w.since)
                } else {
                    w.since
                };
                if key.state != KeyState::Withdrawn || key.withdrawn_since != since {
                    key.state = KeyState::Withdrawn;
                    key.withdrawn_since = since;
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(entries: &[(&str, Option<i64>)]) -> VerifiedWithdrawals {
        VerifiedWithdrawals {
            raw: String::new(),
            iss: "https://i".into(),
            issued_at: 0,
            withdrawals: entries
                .iter()
                .map(|(kid, since)| KeyWithdrawal {
                    kid: (*kid).into(),
                    since: *since,
                    withdrawn_at: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_notice_covers_another_only_when_at_least_as_strict_for_every_key() {
        let old = notice(&[("a", Some(10))]);
        assert!(notice(&[("a", Some(10))]).covers(&old));
        assert!(notice(&[("a", Some(5)), ("b", None)]).covers(&old));
        assert!(notice(&[("a", None)]).covers(&old));
        assert!(!notice(&[("a", Some(20))]).covers(&old));
        assert!(!notice(&[("b", None)]).covers(&old));
        assert!(!notice(&[]).covers(&old));
        assert!(notice(&[]).covers(&notice(&[])));
    }

    #[test]
    fn a_withdrawal_only_gets_stricter() {
        assert_eq!(stricter(Some(5), Some(3)), Some(3));
        assert_eq!(stricter(Some(5), None), None);
        assert_eq!(stricter(None, Some(3)), None);
    }
}
