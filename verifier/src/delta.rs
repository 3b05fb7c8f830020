//! Root-signed trust-bundle deltas (`typ: trust-bundle-delta+jwt`, `docs/scale.md`): every
//! status entry the bureau changed since a base state, with the full key list, so a verifier
//! that holds a bundle syncs the day's changes (megabytes at national scale) instead of every
//! shard's token (hundreds of megabytes).
//!
//! ```text
//! pinned root JWK ─┐
//! delta bytes ─────┼─> VerifiedDelta::verify ─> VerifiedDelta ─> TrustState::apply
//! now ─────────────┘   (size, typ, root kid,       (base_status_seq must equal the state's
//!                       signature, payload,          status_seq; a delta without status
//!                       every change set decoded     changes must not be older; all or
//!                       within the limits)           nothing)
//! ```
//!
//! A delta is anchored on the issuer's status-change log (`status_seq`), not on a time. Being
//! signed by the root, it vouches for the whole status state at its `issued_at`: after it is
//! applied every list is fresh as of that time and usable until its `status_exp`.

use credential::jose::PublicJwk;
use credential::status_list::{Bits, StatusListError};
use serde::Deserialize;

use crate::bundle::{parse_key, BundleError, BundleKey, RawKey};
use crate::envelope::{self, envelope_codes, refusals_into, Envelope};

/// The delta's `typ`.
pub const TYP: &str = "trust-bundle-delta+jwt";

/// The delta format version this verifier reads.
pub const VERSION: u32 = 1;

/// Size limits applied before parsing a delta and while decoding its change sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeltaLimits {
    /// The largest delta accepted, in bytes. Default 256 MiB (a national day is ~6 MB).
    pub max_delta_bytes: usize,
    /// The most credential keys accepted. Default 1024.
    pub max_keys: usize,
    /// The most changed shards accepted. Default 65536.
    pub max_shards: usize,
    /// The largest compressed change set of one shard, in bytes. Default 4 MiB.
    pub max_set_compressed_bytes: usize,
    /// The largest inflated change set of one shard, in bytes. Default 16 MiB (a change is at
    /// most 4 bytes of index gap and one value byte for a 2^20 shard).
    pub max_set_bytes: usize,
    /// The most entries a list named by a delta may have. Default 2^26.
    pub max_list_len: u64,
    /// Clock skew allowed for `issued_at` in the future, in seconds. Default 300.
    pub skew_secs: i64,
}

impl Default for DeltaLimits {
    fn default() -> DeltaLimits {
        DeltaLimits {
            max_delta_bytes: 256 << 20,
            max_keys: 1024,
            max_shards: 65_536,
            max_set_compressed_bytes: 4 << 20,
            max_set_bytes: 16 << 20,
            max_list_len: 1 << 26,
            skew_secs: 300,
        }
    }
}

/// Why a delta was refused. The verifier's stored state is never changed by a refused delta.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// Larger than [`DeltaLimits::max_delta_bytes`].
    #[error("trust-bundle delta is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Cut short: fewer than three JWS parts, or a signature shorter than the algorithm's.
    #[error("trust-bundle delta is truncated")]
    Truncated,
    /// Not a well-formed delta (JWS structure, payload JSON, a required member).
    #[error("trust-bundle delta is malformed: {reason}")]
    Malformed {
        /// Which part.
        reason: &'static str,
    },
    /// The JWS `typ` is not `trust-bundle-delta+jwt`.
    #[error("not a trust-bundle delta (typ {found:?})")]
    WrongTyp {
        /// The `typ` found.
        found: Option<String>,
    },
    /// Signed by another root than the pinned one (header `kid`).
    #[error("trust-bundle delta signed by another root ({found}), not the pinned {expected}")]
    WrongRoot {
        /// The pinned root's thumbprint.
        expected: String,
        /// The `kid` in the delta.
        found: String,
    },
    /// Names the pinned root but the signature does not verify: corrupted or forged.
    #[error("trust-bundle delta signature does not verify against the pinned root")]
    BadSignature,
    /// A format version this verifier does not read.
    #[error("trust-bundle delta version {found} is not supported")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// `issued_at` is in the future.
    #[error("trust-bundle delta issued in the future ({issued_at}, now {now})")]
    IssuedInFuture {
        /// `issued_at`.
        issued_at: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// A key entry is invalid.
    #[error("trust-bundle delta key {index} is invalid: {reason}")]
    InvalidKey {
        /// Position in `keys`.
        index: usize,
        /// Why.
        reason: String,
    },
    /// More keys or shards than the limits allow.
    #[error("trust-bundle delta holds too many {what}")]
    TooMany {
        /// `keys` or `changes`.
        what: &'static str,
    },
    /// A change set inflates past [`DeltaLimits::max_set_bytes`] (a decompression bomb), or
    /// its compressed form is larger than allowed.
    #[error("trust-bundle delta change set for {uri} exceeds the decompression limit")]
    DecompressionLimit {
        /// The list.
        uri: String,
    },
    /// A change set does not decode, names an index outside its list, a value wider than its
    /// bits, or a list whose size or width differs from the stored one.
    #[error("trust-bundle delta change for {uri} is invalid: {reason}")]
    InvalidChange {
        /// The list.
        uri: String,
        /// Why.
        reason: &'static str,
    },
    /// The delta's base is not the stored state (`base_status_seq` differs from the state's
    /// `status_seq`, or the state has none): fetch the full bundle.
    #[error("trust-bundle delta applies to status_seq {base}, the stored state is at {stored:?}; fetch the full trust bundle")]
    BaseMismatch {
        /// The stored state's `status_seq`.
        stored: Option<i64>,
        /// The delta's `base_status_seq`.
        base: i64,
    },
    /// Carries no status change (`status_seq` = `base_status_seq`) and was issued before the
    /// stored state: an old copy (replayed). A delta that carries changes is ordered by the
    /// status counter alone, never by seconds.
    #[error("trust-bundle delta from {found} is not newer than the stored state from {stored} (replayed)")]
    Replayed {
        /// The stored state's `issued_at`.
        stored: i64,
        /// The delta's `issued_at`.
        found: i64,
    },
    /// For another issuer than the stored state's.
    #[error("trust-bundle delta is for another issuer than the stored state")]
    IssuerMismatch,
}

refusals_into!(DeltaError);

impl DeltaError {
    /// A stable snake_case name of the failed check.
    pub fn code(&self) -> &'static str {
        envelope_codes!(self, DeltaError, "delta", {
            DeltaError::InvalidKey { .. } => "delta_invalid_key",
            DeltaError::TooMany { .. } => "delta_too_many_entries",
            DeltaError::DecompressionLimit { .. } => "delta_decompression_limit",
            DeltaError::InvalidChange { .. } => "delta_invalid_change",
            DeltaError::BaseMismatch { .. } => "delta_base_mismatch",
            DeltaError::Replayed { .. } => "delta_replayed",
            DeltaError::IssuerMismatch => "delta_issuer_mismatch",
        })
    }
}

/// The changed entries of one list, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaChange {
    /// Shard number.
    pub shard: Option<i64>,
    /// The list URI.
    pub uri: String,
    /// Entries in the list (a list the verifier lacks starts as this many zeros).
    pub size: u64,
    /// Bits per entry.
    pub bits: Bits,
    /// `(index, new value)`, indexes strictly increasing, each below `size`.
    pub set: Vec<(u64, u8)>,
}

/// A delta whose signature verified against the pinned root and whose every part decoded.
#[derive(Debug, Clone)]
pub struct VerifiedDelta {
    pub(crate) raw: String,
    /// The issuer identifier.
    pub iss: String,
    /// The `status_seq` of the state it applies to.
    pub base_status_seq: i64,
    /// The `status_seq` after it.
    pub status_seq: i64,
    /// When it was built: the state it yields is fresh as of this time.
    pub issued_at: i64,
    /// When the issuer publishes the next one.
    pub next_update: i64,
    /// Until when the status state it vouches for may be used.
    pub status_exp: i64,
    /// The full list of credential keys (replaces the stored one).
    pub keys: Vec<BundleKey>,
    /// The changes, by list.
    pub changes: Vec<DeltaChange>,
}

#[derive(Deserialize)]
struct Payload {
    delta_version: Option<u64>,
    iss: String,
    base_status_seq: i64,
    status_seq: i64,
    issued_at: i64,
    next_update: i64,
    status_exp: i64,
    keys: Vec<RawKey>,
    changes: Vec<RawChange>,
}

#[derive(Deserialize)]
struct RawChange {
    shard: Option<i64>,
    uri: String,
    size: u64,
    bits: u64,
    count: Option<u64>,
    set: String,
}

impl VerifiedDelta {
    /// Verifies a compact delta against the pinned `root` as of `now` (Unix seconds): size,
    /// structure (truncation), `typ`, root `kid`, signature with the pinned key (the header's
    /// `jwk` is never trusted), payload and version, `issued_at` not in the future, every key,
    /// then every change set decoded within the limits. Whether it applies to the stored state
    /// is `TrustState::apply`'s check.
    ///
    /// # Errors
    /// The [`DeltaError`] of the first failed check.
    pub fn verify(
        text: &str,
        root: &PublicJwk,
        now: i64,
        limits: &DeltaLimits,
    ) -> Result<VerifiedDelta, DeltaError> {
        let text = text.trim();
        let envelope = Envelope {
            typ: TYP,
            max_bytes: limits.max_delta_bytes,
            truncation: true,
        };
        let payload: Payload = envelope::open(text, root, &envelope)?;
        let version = (payload.delta_version, VERSION);
        envelope::check_stamp(version, payload.issued_at, now, limits.skew_secs)?;
        if payload.base_status_seq < 0 || payload.status_seq < payload.base_status_seq {
            return Err(DeltaError::Malformed {
                reason: "status_seq before base_status_seq",
            });
        }
        if payload.next_update <= payload.issued_at || payload.status_exp <= payload.issued_at {
            return Err(DeltaError::Malformed {
                reason: "next_update or status_exp not after issued_at",
            });
        }
        if payload.keys.len() > limits.max_keys {
            return Err(DeltaError::TooMany { what: "keys" });
        }
        if payload.changes.len() > limits.max_shards {
            return Err(DeltaError::TooMany { what: "changes" });
        }
        let keys = payload
            .keys
            .into_iter()
            .enumerate()
            .map(|(index, k)| {
                parse_key(index, k).map_err(|e| match e {
                    BundleError::InvalidKey { index, reason } => {
                        DeltaError::InvalidKey { index, reason }
                    }
                    _ => DeltaError::InvalidKey {
                        index,
                        reason: "invalid".into(),
                    },
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut changes: Vec<DeltaChange> = Vec::with_capacity(payload.changes.len());
        for raw in payload.changes {
            let change = decode_change(raw, limits)?;
            if changes.iter().any(|c| c.uri == change.uri) {
                return Err(DeltaError::InvalidChange {
                    uri: change.uri,
                    reason: "list named twice",
                });
            }
            changes.push(change);
        }
        Ok(VerifiedDelta {
            raw: text.to_owned(),
            iss: payload.iss,
            base_status_seq: payload.base_status_seq,
            status_seq: payload.status_seq,
            issued_at: payload.issued_at,
            next_update: payload.next_update,
            status_exp: payload.status_exp,
            keys,
            changes,
        })
    }

    /// The compact delta as received (what the caller stores).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// How many entries it changes.
    pub fn entries(&self) -> usize {
        self.changes.iter().map(|c| c.set.len()).sum()
    }
}

/// Reads the `typ` of a compact JWS without verifying anything (to route a file to the bundle
/// or the delta parser; both then check `typ` again).
pub fn peek_typ(text: &str) -> Option<String> {
    let header = text.trim().split('.').next()?;
    if header.len() > 64 * 1024 {
        return None;
    }
    let bytes = credential::b64::decode(header).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("typ")?.as_str().map(str::to_owned)
}

fn decode_change(raw: RawChange, limits: &DeltaLimits) -> Result<DeltaChange, DeltaError> {
    let uri = raw.uri;
    let invalid = |uri: &str, reason| DeltaError::InvalidChange {
        uri: uri.chars().take(256).collect(),
        reason,
    };
    let bits = Bits::from_u64(raw.bits).map_err(|_| invalid(&uri, "unsupported bits"))?;
    if raw.size == 0 || raw.size > limits.max_list_len {
        return Err(invalid(&uri, "list size out of range"));
    }
    // Unpadded base64url carries 3 bytes in 4 characters: checked before decoding.
    if raw.set.len() / 4 * 3 > limits.max_set_compressed_bytes {
        return Err(DeltaError::DecompressionLimit { uri });
    }
    let compressed =
        credential::b64::decode(&raw.set).map_err(|_| invalid(&uri, "set is not base64url"))?;
    let bytes = credential::status_list::inflate_bounded(&compressed, limits.max_set_bytes)
        .map_err(|e| match e {
            StatusListError::DecompressionLimit { .. } => {
                DeltaError::DecompressionLimit { uri: uri.clone() }
            }
            _ => invalid(&uri, "set is not zlib"),
        })?;
    let mut set = Vec::new();
    let mut next = 0u64;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let mut gap = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *bytes
                .get(pos)
                .ok_or_else(|| invalid(&uri, "set ends inside an index"))?;
            pos += 1;
            if shift > 56 {
                return Err(invalid(&uri, "index gap too long"));
            }
            gap |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let value = *bytes
            .get(pos)
            .ok_or_else(|| invalid(&uri, "set ends before a value"))?;
        pos += 1;
        let idx = next
            .checked_add(gap)
            .filter(|i| *i < raw.size)
            .ok_or_else(|| invalid(&uri, "index outside the list"))?;
        if value > bits.max_value() {
            return Err(invalid(&uri, "value wider than bits"));
        }
        set.push((idx, value));
        next = idx + 1;
    }
    if raw.count.is_some_and(|c| c != set.len() as u64) {
        return Err(invalid(&uri, "count does not match the set"));
    }
    Ok(DeltaChange {
        shard: raw.shard,
        uri,
        size: raw.size,
        bits,
        set,
    })
}
