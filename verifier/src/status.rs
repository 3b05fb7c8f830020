//! Revocation state known to the verifier: verified status lists, by list URI.
//!
//! Lists are kept ZLIB-compressed, as they arrive in their tokens (a national-scale store is
//! about 17,800 shards: 4.7 GB inflated, ~300 MB compressed; `docs/scale.md`). A lookup
//! inflates the one list it needs, and keeps the last few inflated lists in a small cache.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use credential::status_list::{
    Bits, Limits, StatusList, StatusListError, StatusListToken, Validation,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::trust::time_claim;
use crate::{Policy, TrustStore};

/// What the revocation check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatusOutcome {
    /// The entry is 0 (valid) in a list fresh enough for the policy.
    Valid {
        /// The list URI.
        uri: String,
        /// The index.
        idx: u64,
        /// When the list was issued (Unix seconds).
        list_issued_at: i64,
    },
    /// The credential references no status list: accepted only by a policy that does not
    /// require status, in generic mode, or (short-lived credentials) by a policy with
    /// `accept_short_lived_without_status`.
    NoStatus,
    /// The credential references a list the verifier does not have, and the policy allows
    /// that (`require_status = false`).
    Unchecked {
        /// The list URI.
        uri: String,
    },
}

/// Why the revocation check rejected a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// The entry is 1 (invalid): revoked.
    #[error("credential revoked (status index {idx})")]
    Revoked {
        /// The index.
        idx: u64,
    },
    /// The entry is 2: suspended.
    #[error("credential suspended (status index {idx})")]
    Suspended {
        /// The index.
        idx: u64,
    },
    /// Another non-zero value.
    #[error("credential status {value} at index {idx} is not valid")]
    NotValid {
        /// The index.
        idx: u64,
        /// The value.
        value: u8,
    },
    /// The `status` claim is malformed.
    #[error("malformed status claim")]
    MalformedReference,
    /// The credential carries no status reference, so it can never be revoked, and the policy
    /// requires status (and does not accept short-lived credentials without one).
    #[error(
        "credential carries no status reference and can never be revoked; the policy requires one"
    )]
    ReferenceMissing,
    /// The credential carries no status reference and is valid for longer than the policy
    /// accepts for a short-lived credential without one (or names no `iat` or `exp`).
    #[error("credential without a status reference is valid for {validity_seconds} s, more than the {max_seconds} s the policy accepts")]
    NotShortLived {
        /// Its `exp` minus its `iat` (`i64::MAX` when either is missing).
        validity_seconds: i64,
        /// The policy's limit.
        max_seconds: i64,
    },
    /// No list for this URI is known and the policy requires one.
    #[error("no status list known for the credential; sync the verifier")]
    Unknown,
    /// The list is older than the policy allows.
    #[error("revocation state too old ({age_seconds} s, policy allows {max_seconds} s); sync the verifier")]
    TooOld {
        /// Age of the list.
        age_seconds: i64,
        /// The policy's limit.
        max_seconds: i64,
    },
    /// The list token has expired (`exp`).
    #[error("status list expired; sync the verifier")]
    ListExpired,
    /// The list is malformed, the index out of range, or the token did not verify.
    #[error(transparent)]
    List(#[from] StatusListError),
    /// The status-list token's signing key is not trusted for the issuer the token names.
    #[error("status list signed by an unknown key")]
    UnknownListKey,
    /// The status-list token names no issuer (`iss`), so it cannot be matched to the issuer of
    /// the credentials that reference it.
    #[error("status list token names no issuer (iss)")]
    ListIssuerMissing,
}

impl StatusError {
    /// A stable snake_case name of the failed check.
    pub fn code(&self) -> &'static str {
        match self {
            StatusError::Revoked { .. } => "revoked",
            StatusError::Suspended { .. } => "suspended",
            StatusError::NotValid { .. } => "status_not_valid",
            StatusError::MalformedReference => "malformed_status_claim",
            StatusError::ReferenceMissing => "status_reference_missing",
            StatusError::NotShortLived { .. } => "status_reference_missing_not_short_lived",
            StatusError::Unknown => "status_unknown",
            StatusError::TooOld { .. } => "status_too_old",
            StatusError::ListExpired => "status_list_expired",
            StatusError::List(e) => e.code(),
            StatusError::UnknownListKey => "status_list_unknown_key",
            StatusError::ListIssuerMissing => "status_list_issuer_missing",
        }
    }
}

/// A status list kept ZLIB-compressed: its entry width, entry count and compressed bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct CompressedList {
    bits: Bits,
    len: u64,
    zlib: Vec<u8>,
}

impl std::fmt::Debug for CompressedList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompressedList")
            .field("bits", &self.bits)
            .field("len", &self.len)
            .field("compressed_bytes", &self.zlib.len())
            .finish()
    }
}

impl CompressedList {
    /// Compresses `list` (ZLIB, `level` 0 to 9).
    pub fn compress(list: &StatusList, level: u32) -> CompressedList {
        CompressedList {
            bits: list.bits(),
            len: list.len(),
            zlib: credential::status_list::zlib_compress(list.as_bytes(), level),
        }
    }

    /// Wraps compressed bytes already known to inflate to a list of `len` entries of `bits`
    /// (the `lst` of a verified token, or a verified cache). A lookup still inflates them
    /// within the bound that `len` implies.
    pub fn from_zlib(bits: Bits, len: u64, zlib: Vec<u8>) -> CompressedList {
        CompressedList { bits, len, zlib }
    }

    /// Bits per entry.
    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The compressed bytes.
    pub fn as_zlib(&self) -> &[u8] {
        &self.zlib
    }

    /// Inflates the list, never producing more bytes than `len` entries need.
    ///
    /// # Errors
    /// [`StatusListError`] when the bytes are not ZLIB, inflate past the bound, or hold fewer
    /// entries than `len`.
    pub fn inflate(&self) -> Result<StatusList, StatusListError> {
        let need = self
            .len
            .saturating_mul(u64::from(self.bits.as_u8()))
            .div_ceil(8);
        let need = usize::try_from(need).unwrap_or(usize::MAX);
        let mut limits = Limits::default();
        limits.max_compressed_bytes = self.zlib.len();
        limits.max_decompressed_bytes = need;
        let list = StatusList::from_zlib(self.bits, &self.zlib, &limits)?;
        if list.len() < self.len {
            return Err(StatusListError::MalformedList {
                reason: "compressed list shorter than its length",
            });
        }
        Ok(list)
    }

    /// Entry `idx` (inflates the whole list: for tests and one-off reads; [`StatusStore`]
    /// caches inflated lists).
    ///
    /// # Errors
    /// As [`CompressedList::inflate`]; [`StatusListError::IndexOutOfRange`].
    pub fn get(&self, idx: u64) -> Result<u8, StatusListError> {
        if idx >= self.len {
            return Err(StatusListError::IndexOutOfRange { idx, len: self.len });
        }
        self.inflate()?.get(idx)
    }
}

/// A verified list with the times that decide its freshness.
#[derive(Debug, Clone)]
pub struct KnownList {
    /// The list, compressed.
    pub list: CompressedList,
    /// When the list's state was vouched for: the token's `iat`, or the `issued_at` of the
    /// root-signed trust-bundle delta applied last.
    pub issued_at: i64,
    /// Token `exp`, or the delta's `status_exp`.
    pub expires_at: Option<i64>,
    /// Token `ttl`.
    pub ttl: Option<i64>,
}

/// How many inflated lists a [`StatusStore`] keeps (256 KiB each for a 2^20-entry shard).
pub const INFLATED_CACHE: usize = 4;

/// Where a list is kept: the issuer that signed it (the token's `iss`, checked against the
/// signing key) and its URI (the token's `sub`). A list is used only for credentials of that
/// issuer naming that URI, so another trusted issuer cannot answer for this one's credentials.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListId {
    /// The issuer identifier (`iss` of the token, and of the credentials it answers for).
    pub iss: String,
    /// The list URI (`sub` of the token, `status.status_list.uri` of the credentials).
    pub uri: String,
}

impl ListId {
    /// The list `uri` of issuer `iss`.
    pub fn new(iss: impl Into<String>, uri: impl Into<String>) -> ListId {
        ListId {
            iss: iss.into(),
            uri: uri.into(),
        }
    }
}

/// Status lists by issuer and URI ([`ListId`]), kept compressed; the last few inflated lists
/// are cached.
#[derive(Debug, Default)]
pub struct StatusStore {
    lists: BTreeMap<ListId, KnownList>,
    inflated: Mutex<Vec<(ListId, Arc<StatusList>)>>,
}

impl Clone for StatusStore {
    fn clone(&self) -> StatusStore {
        StatusStore {
            lists: self.lists.clone(),
            inflated: Mutex::default(),
        }
    }
}

impl StatusStore {
    /// An empty store.
    pub fn new() -> StatusStore {
        StatusStore::default()
    }

    /// Verifies a `statuslist+jwt` token and keeps it under its `iss` and `sub` (replacing an
    /// older list of the same issuer and URI). The token must name its issuer (`iss`) and be
    /// signed by a trusted key that may sign for that issuer, valid at the token's `iat`.
    /// Returns the URI.
    ///
    /// # Errors
    /// [`StatusError::ListIssuerMissing`] when the token has no `iss`;
    /// [`StatusError::UnknownListKey`] when no key trusted for that issuer signed it;
    /// [`StatusError::List`] when it does not verify or is malformed.
    pub fn add_token(
        &mut self,
        token: &str,
        trust: &TrustStore,
        now: i64,
    ) -> Result<String, StatusError> {
        let token = token.trim();
        let unverified = StatusListToken::parse_unverified(token, &Limits::default())?;
        let claims = unverified.claims();
        let sub = claims.sub.clone();
        let iss = claims.iss.clone().ok_or(StatusError::ListIssuerMissing)?;
        let key = trust
            .status_list_key(unverified.header(), &iss, claims.iat)
            .map_err(|_| StatusError::UnknownListKey)?;
        let verified = StatusListToken::verify(token, &key, &Validation::new(&sub, now))?;
        self.insert(&iss, verified.into_claims());
        Ok(sub)
    }

    /// Keeps an already verified token's list under `iss` (the issuer whose key verified it)
    /// and its `sub`, unless a newer one is known.
    pub fn insert(&mut self, iss: &str, token: StatusListToken) {
        let known = KnownList {
            issued_at: token.iat,
            expires_at: token.exp,
            ttl: token
                .ttl
                .map(|t| i64::try_from(t.get()).unwrap_or(i64::MAX)),
            list: CompressedList::compress(&token.status_list, 6),
        };
        self.insert_known(ListId::new(iss, token.sub), known);
    }

    /// Keeps an already verified, compressed list under `id`, unless a newer one is known.
    /// The caller vouches that a key of `id.iss` signed it.
    pub fn insert_known(&mut self, id: ListId, known: KnownList) {
        match self.lists.get(&id) {
            Some(existing) if existing.issued_at > known.issued_at => {}
            _ => {
                if let Ok(mut cache) = self.inflated.lock() {
                    cache.retain(|(u, _)| *u != id);
                }
                self.lists.insert(id, known);
            }
        }
    }

    /// The known lists.
    pub fn lists(&self) -> &BTreeMap<ListId, KnownList> {
        &self.lists
    }

    /// Bytes held by the compressed lists.
    pub fn compressed_bytes(&self) -> usize {
        self.lists.values().map(|k| k.list.as_zlib().len()).sum()
    }

    /// Entry `idx` of the list `id`, inflating it (or taking it from the cache).
    fn entry(&self, id: &ListId, known: &KnownList, idx: u64) -> Result<u8, StatusListError> {
        if idx >= known.list.len() {
            return Err(StatusListError::IndexOutOfRange {
                idx,
                len: known.list.len(),
            });
        }
        let cached = self.inflated.lock().ok().and_then(|mut cache| {
            let pos = cache.iter().position(|(u, _)| u == id)?;
            // Most recently used last.
            let hit = cache.remove(pos);
            let list = hit.1.clone();
            cache.push(hit);
            Some(list)
        });
        let list = match cached {
            Some(l) => l,
            None => {
                let l = Arc::new(known.list.inflate()?);
                if let Ok(mut cache) = self.inflated.lock() {
                    if cache.len() >= INFLATED_CACHE {
                        cache.remove(0);
                    }
                    cache.push((id.clone(), l.clone()));
                }
                l
            }
        };
        list.get(idx)
    }

    /// Checks the credential's `status.status_list` reference against the known lists of the
    /// credential's issuer (its `iss`, or the VCDM `issuer`): a list signed for another issuer
    /// is never used, even when it names the same URI.
    ///
    /// # Errors
    /// [`StatusError`] when the credential is revoked or suspended, or the state is unknown,
    /// expired or older than the policy allows.
    pub fn check(
        &self,
        claims: &Map<String, Value>,
        policy: &Policy,
        now: i64,
    ) -> Result<StatusOutcome, StatusError> {
        let Some((uri, idx)) = reference(claims)? else {
            if policy.require_status && !policy.generic {
                unrevocable_allowed(claims, policy)?;
            }
            return Ok(StatusOutcome::NoStatus);
        };
        let iss = claims
            .get("iss")
            .or_else(|| claims.get("issuer"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = ListId::new(iss, uri);
        let uri = id.uri.as_str();
        let known = if iss.is_empty() {
            None
        } else {
            self.lists.get(&id)
        };
        let Some(known) = known else {
            if policy.require_status {
                return Err(StatusError::Unknown);
            }
            return Ok(StatusOutcome::Unchecked {
                uri: uri.to_owned(),
            });
        };
        if known.expires_at.is_some_and(|exp| now > exp) {
            return Err(StatusError::ListExpired);
        }
        let age = now.saturating_sub(known.issued_at);
        let max = i64::try_from(policy.max_status_age.as_secs()).unwrap_or(i64::MAX);
        if age > max {
            return Err(StatusError::TooOld {
                age_seconds: age,
                max_seconds: max,
            });
        }
        match self.entry(&id, known, idx)? {
            0 => Ok(StatusOutcome::Valid {
                uri: uri.to_owned(),
                idx,
                list_issued_at: known.issued_at,
            }),
            1 => Err(StatusError::Revoked { idx }),
            2 => Err(StatusError::Suspended { idx }),
            value => Err(StatusError::NotValid { idx, value }),
        }
    }
}

/// Whether a credential without a status reference may pass a policy that requires status:
/// only a short-lived one, and only where the policy accepts those.
fn unrevocable_allowed(claims: &Map<String, Value>, policy: &Policy) -> Result<(), StatusError> {
    if !policy.accept_short_lived_without_status {
        return Err(StatusError::ReferenceMissing);
    }
    let validity = match (
        time_claim(claims, "iat", "validFrom"),
        time_claim(claims, "exp", "validUntil"),
    ) {
        (Some(iat), Some(exp)) => exp.saturating_sub(iat),
        _ => i64::MAX,
    };
    let max = i64::try_from(policy.short_lived_max_validity.as_secs()).unwrap_or(i64::MAX);
    if validity > max {
        return Err(StatusError::NotShortLived {
            validity_seconds: validity,
            max_seconds: max,
        });
    }
    Ok(())
}

/// The credential's status reference as `(list uri, index)`: the IETF `status.status_list`
/// claim (dc+sd-jwt), or the W3C `credentialStatus` entries (vc+sd-jwt), whose
/// `statusListCredential` URLs are `<list uri>/revocation` and `<list uri>/suspension`, two
/// projections of one 2-bit Token Status List at the same index (`docs/credential-format.md`
/// section 6).
fn reference(claims: &Map<String, Value>) -> Result<Option<(String, u64)>, StatusError> {
    if let Some(status) = claims.get("status") {
        let reference = status
            .get("status_list")
            .ok_or(StatusError::MalformedReference)?;
        let idx = reference
            .get("idx")
            .and_then(Value::as_u64)
            .ok_or(StatusError::MalformedReference)?;
        let uri = reference
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(StatusError::MalformedReference)?;
        return Ok(Some((uri.to_owned(), idx)));
    }
    let Some(entries) = claims.get("credentialStatus") else {
        return Ok(None);
    };
    let entries = entries.as_array().ok_or(StatusError::MalformedReference)?;
    let mut found: Option<(String, u64)> = None;
    for entry in entries {
        let purpose = entry.get("statusPurpose").and_then(Value::as_str);
        let list = entry.get("statusListCredential").and_then(Value::as_str);
        let idx = entry
            .get("statusListIndex")
            .and_then(Value::as_str)
            .and_then(|i| i.parse::<u64>().ok());
        let (Some(purpose), Some(list), Some(idx)) = (purpose, list, idx) else {
            return Err(StatusError::MalformedReference);
        };
        let uri = list
            .strip_suffix(&format!("/{purpose}"))
            .ok_or(StatusError::MalformedReference)?;
        match &found {
            None => found = Some((uri.to_owned(), idx)),
            // Both entries must name the same list and index.
            Some((u, i)) if u == uri && *i == idx => {}
            Some(_) => return Err(StatusError::MalformedReference),
        }
    }
    found.map(Some).ok_or(StatusError::MalformedReference)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn compressed_list_inflates_within_its_length_and_lookups_are_cached() {
        let mut list = StatusList::new(Bits::Two, 1 << 12).unwrap();
        list.set(7, 1).unwrap();
        let c = CompressedList::compress(&list, 9);
        assert!(c.as_zlib().len() < list.as_bytes().len() / 10);
        assert_eq!(c.get(7).unwrap(), 1);
        assert!(matches!(
            c.get(1 << 12),
            Err(StatusListError::IndexOutOfRange { .. })
        ));
        // Claiming fewer entries than the bytes hold: inflation stops at the bound.
        let short = CompressedList::from_zlib(Bits::Two, 8, c.as_zlib().to_vec());
        assert!(matches!(
            short.inflate(),
            Err(StatusListError::DecompressionLimit { .. })
        ));
        // Claiming more: refused too.
        let long = CompressedList::from_zlib(Bits::Two, 1 << 13, c.as_zlib().to_vec());
        assert!(long.inflate().is_err());

        let mut store = StatusStore::new();
        for shard in 0..6 {
            store.insert_known(
                ListId::new("i", format!("u{shard}")),
                KnownList {
                    list: c.clone(),
                    issued_at: 1,
                    expires_at: None,
                    ttl: None,
                },
            );
        }
        for shard in 0..6 {
            let id = ListId::new("i", format!("u{shard}"));
            let known = &store.lists()[&id];
            assert_eq!(store.entry(&id, known, 7).unwrap(), 1);
        }
        assert_eq!(store.inflated.lock().unwrap().len(), INFLATED_CACHE);
        assert_eq!(store.compressed_bytes(), 6 * c.as_zlib().len());
    }
}
