//! The root-signed trust bundle (`typ: trust-bundle+jwt`, `docs/trust-model.md`): what an
//! offline verifier syncs from the bureau. It carries the credential signing keys (current and
//! retired, each with its validity window) and the latest status-list token of every shard,
//! with `issued_at` and `next_update`.
//!
//! ```text
//! pinned root JWK ─┐
//! bundle bytes ────┼─> VerifiedBundle::verify ─> VerifiedBundle ─┬─> trust_store()  (TrustStore)
//! now ─────────────┘        │                                   └─> status_store() (StatusStore)
//!                           └─ check_newer(stored) refuses replays
//! ```
//!
//! This module does no I/O: the caller reads the bundle, keeps the pinned root and the stored
//! bundle, and writes state atomically.

use credential::jose::{Jws, PublicJwk};
use credential::status_list::{Limits, StatusListError, StatusListToken, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::envelope::{self, envelope_codes, refusals_into, Envelope};
use crate::status::{CompressedList, KnownList, ListId, StatusStore};
use crate::trust::{TrustStore, TrustedKey, Withdrawal};

/// The bundle's `typ`.
pub const TYP: &str = "trust-bundle+jwt";

/// Resolution of credential `iat` values (the issuer rounds them down to the day).
pub const IAT_GRANULARITY: i64 = 86_400;

/// The bundle format version this verifier reads.
pub const VERSION: u32 = 1;

/// Size limits applied before parsing a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BundleLimits {
    /// The largest bundle accepted, in bytes. Default 1 GiB (national scale is a few hundred
    /// MB; see `docs/scale.md`).
    pub max_bundle_bytes: usize,
    /// The most credential keys accepted. Default 1024.
    pub max_keys: usize,
    /// The most status lists accepted. Default 65536.
    pub max_lists: usize,
    /// Limits for each status-list token (decompression bombs stop here).
    pub status: Limits,
    /// Clock skew allowed for `issued_at` in the future, in seconds. Default 300.
    pub skew_secs: i64,
}

impl Default for BundleLimits {
    fn default() -> BundleLimits {
        BundleLimits {
            max_bundle_bytes: 1 << 30,
            max_keys: 1024,
            max_lists: 65_536,
            status: Limits::default(),
            skew_secs: 300,
        }
    }
}

/// Why a trust bundle was refused. The verifier's stored state is never changed by a refused
/// bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`BundleLimits::max_bundle_bytes`].
    #[error("trust bundle is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Cut short: fewer than three JWS parts, or a signature shorter than the algorithm's.
    #[error("trust bundle is truncated")]
    Truncated,
    /// Not a well-formed bundle (JWS structure, payload JSON, a required member).
    #[error("trust bundle is malformed: {reason}")]
    Malformed {
        /// Which part.
        reason: &'static str,
    },
    /// The JWS `typ` is not `trust-bundle+jwt`.
    #[error("not a trust bundle (typ {found:?})")]
    WrongTyp {
        /// The `typ` found.
        found: Option<String>,
    },
    /// Signed by another root than the pinned one (header `kid`).
    #[error("trust bundle signed by another root ({found}), not the pinned {expected}")]
    WrongRoot {
        /// The pinned root's thumbprint.
        expected: String,
        /// The `kid` in the bundle.
        found: String,
    },
    /// Names the pinned root but the signature does not verify: corrupted or forged.
    #[error("trust bundle signature does not verify against the pinned root")]
    BadSignature,
    /// A format version this verifier does not read.
    #[error("trust bundle version {found} is not supported")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// `issued_at` is in the future.
    #[error("trust bundle issued in the future ({issued_at}, now {now})")]
    IssuedInFuture {
        /// `issued_at`.
        issued_at: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// Older than the bundle the verifier already has.
    #[error("trust bundle from {found} is older than the stored one from {stored} (replayed)")]
    Replayed {
        /// The stored bundle's `issued_at`.
        stored: i64,
        /// This bundle's `issued_at`.
        found: i64,
    },
    /// Same `issued_at` as the stored bundle but different content: cannot be ordered.
    #[error("trust bundle has the stored bundle's issued_at ({issued_at}) but other content")]
    Conflicting {
        /// The shared `issued_at`.
        issued_at: i64,
    },
    /// A key entry is invalid.
    #[error("trust bundle key {index} is invalid: {reason}")]
    InvalidKey {
        /// Position in `keys`.
        index: usize,
        /// Why.
        reason: String,
    },
    /// More keys or lists than the limits allow.
    #[error("trust bundle holds too many {what}")]
    TooMany {
        /// `keys` or `status_lists`.
        what: &'static str,
    },
    /// A status-list token's `sub` names another list than its entry's `uri`.
    #[error("status list token for {expected} names another list")]
    StatusSubjectMismatch {
        /// The entry's `uri`.
        expected: String,
        /// The token's `sub` (truncated).
        found: String,
    },
    /// A status-list token is signed by no key of the bundle, or by a key outside its window.
    #[error("status list token for {uri} is not signed by a bundle key valid at its iat")]
    StatusListKey {
        /// The entry's `uri`.
        uri: String,
    },
    /// A status-list token names another issuer (`iss`) than the bundle, or none.
    #[error("status list token for {uri} does not name the bundle's issuer")]
    StatusListIssuer {
        /// The entry's `uri`.
        uri: String,
    },
    /// A status-list token failed to verify or decode (a decompression bomb stops here with
    /// [`StatusListError::DecompressionLimit`]).
    #[error("status list token for {uri}: {source}")]
    StatusList {
        /// The entry's `uri`.
        uri: String,
        /// What failed.
        #[source]
        source: StatusListError,
    },
}

refusals_into!(BundleError);

impl BundleError {
    /// A stable snake_case name of the failed check.
    pub fn code(&self) -> &'static str {
        envelope_codes!(self, BundleError, "bundle", {
            BundleError::Replayed { .. } => "bundle_replayed",
            BundleError::Conflicting { .. } => "bundle_conflicting",
            BundleError::InvalidKey { .. } => "bundle_invalid_key",
            BundleError::TooMany { .. } => "bundle_too_many_entries",
            BundleError::StatusSubjectMismatch { .. } => "status_subject_mismatch",
            BundleError::StatusListKey { .. } => "status_list_unknown_key",
            BundleError::StatusListIssuer { .. } => "status_list_wrong_issuer",
            BundleError::StatusList { source, .. } => match source {
                StatusListError::DecompressionLimit { .. } => "status_list_decompression_limit",
                _ => "status_list_invalid",
            },
        })
    }
}

/// Whether a credential key still signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// Signs new credentials.
    Active,
    /// Signed credentials in its window; kept until the last of them expires.
    Retired,
    /// Withdrawn by the issuer in an emergency (presumed compromised): credentials it signed
    /// are refused, all of them or those issued at or after [`BundleKey::withdrawn_since`].
    Withdrawn,
}

impl KeyState {
    /// The state's name in the bundle (`active`, `retired`, `withdrawn`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Withdrawn => "withdrawn",
        }
    }
}

/// A credential signing key from the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleKey {
    /// RFC 7638 thumbprint (checked against the key).
    pub kid: String,
    /// Its state.
    pub state: KeyState,
    /// Start of its signing window (Unix seconds).
    pub not_before: i64,
    /// End of its signing window (retired keys).
    pub not_after: Option<i64>,
    /// When the last credential it signed expires (retired keys).
    pub last_credential_expiry: Option<i64>,
    /// A withdrawn key: credentials issued at or after this time are refused (`None`: all of
    /// them).
    pub withdrawn_since: Option<i64>,
    /// The key.
    pub jwk: PublicJwk,
}

impl BundleKey {
    /// The key as the bundle's `keys` entry carries it (for caching a verified state).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "kid": self.kid,
            "state": self.state.as_str(),
            "not_before": self.not_before,
            "not_after": self.not_after,
            "last_credential_expiry": self.last_credential_expiry,
            "withdrawn_since": self.withdrawn_since,
            "jwk": self.jwk.to_bare_value(),
        })
    }

    /// Reads a `keys` entry, with the checks of bundle verification (thumbprint, state,
    /// window).
    ///
    /// # Errors
    /// [`BundleError::InvalidKey`].
    pub fn from_json(index: usize, value: &Value) -> Result<BundleKey, BundleError> {
        let raw: RawKey =
            serde_json::from_value(value.clone()).map_err(|_| BundleError::InvalidKey {
                index,
                reason: "not a key entry".into(),
            })?;
        parse_key(index, raw)
    }

    fn valid_at(&self, t: i64) -> bool {
        t >= self.not_before && self.not_after.is_none_or(|na| t <= na)
    }
}

/// A status shard from the bundle, its token verified. The list is kept compressed, as the
/// token carried it.
#[derive(Debug, Clone)]
pub struct BundleList {
    /// Shard number, when given.
    pub shard: Option<i64>,
    /// The list URI (credentials' `status.status_list.uri`).
    pub uri: String,
    /// The list and its token's `iat`, `exp` and `ttl`.
    pub known: KnownList,
    /// Size of the compact token in bytes.
    pub token_bytes: usize,
}

/// A bundle whose signature verified against the pinned root and whose every part checked.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    raw: String,
    /// The issuer identifier (`iss` of its credentials).
    pub iss: String,
    /// When the bundle was built (Unix seconds).
    pub issued_at: i64,
    /// When the issuer publishes the next one.
    pub next_update: i64,
    /// Credential keys.
    pub keys: Vec<BundleKey>,
    /// Status shards.
    pub lists: Vec<BundleList>,
    /// The issuer's status-change high-water mark these lists reflect: the base a
    /// trust-bundle delta applies to (`None`: this bundle cannot take deltas).
    pub status_seq: Option<i64>,
}

/// What [`VerifiedBundle::check_newer`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Newer than the stored bundle (or none stored): store it.
    Newer,
    /// Byte for byte the stored bundle: nothing to do.
    Unchanged,
}

#[derive(Deserialize)]
struct Payload {
    bundle_version: Option<u64>,
    iss: String,
    issued_at: i64,
    next_update: i64,
    keys: Vec<RawKey>,
    status_lists: Vec<RawList>,
    status_seq: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct RawKey {
    kid: String,
    state: String,
    not_before: i64,
    not_after: Option<i64>,
    last_credential_expiry: Option<i64>,
    #[serde(default)]
    withdrawn_since: Option<i64>,
    jwk: Value,
}

#[derive(Deserialize)]
struct RawList {
    shard: Option<i64>,
    uri: String,
    token: String,
}

impl VerifiedBundle {
    /// Verifies a compact bundle against the pinned `root` as of `now` (Unix seconds), in
    /// this order: size, structure (truncation), `typ`, root `kid`, signature with the pinned
    /// key (the header's `jwk` is never trusted), payload and version, `issued_at` not in the
    /// future, every key, then every status-list token: signed by a bundle key valid at the
    /// token's `iat`, `sub` equal to the entry's `uri`, list decoded within the limits, `iss`
    /// equal to the bundle's `iss`. A token's `exp` is checked as of the bundle's `issued_at`;
    /// freshness at verification time is the policy's ([`StatusStore::check`]).
    ///
    /// # Errors
    /// The [`BundleError`] of the first failed check.
    pub fn verify(
        text: &str,
        root: &PublicJwk,
        now: i64,
        limits: &BundleLimits,
    ) -> Result<VerifiedBundle, BundleError> {
        let text = text.trim();
        let envelope = Envelope {
            typ: TYP,
            max_bytes: limits.max_bundle_bytes,
            truncation: true,
        };
        let payload: Payload = envelope::open(text, root, &envelope)?;
        let version = (payload.bundle_version, VERSION);
        envelope::check_stamp(version, payload.issued_at, now, limits.skew_secs)?;
        if payload.next_update <= payload.issued_at {
            return Err(BundleError::Malformed {
                reason: "next_update not after issued_at",
            });
        }
        if payload.status_seq.is_some_and(|s| s < 0) {
            return Err(BundleError::Malformed {
                reason: "negative status_seq",
            });
        }
        if payload.keys.len() > limits.max_keys {
            return Err(BundleError::TooMany { what: "keys" });
        }
        if payload.status_lists.len() > limits.max_lists {
            return Err(BundleError::TooMany {
                what: "status_lists",
            });
        }
        let keys = payload
            .keys
            .into_iter()
            .enumerate()
            .map(|(index, k)| parse_key(index, k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut lists = Vec::with_capacity(payload.status_lists.len());
        for entry in payload.status_lists {
            lists.push(verify_list(
                entry,
                &payload.iss,
                &keys,
                payload.issued_at,
                limits,
            )?);
        }
        Ok(VerifiedBundle {
            raw: text.to_owned(),
            iss: payload.iss,
            issued_at: payload.issued_at,
            next_update: payload.next_update,
            keys,
            lists,
            status_seq: payload.status_seq,
        })
    }

    /// The compact bundle as received (what the caller stores).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Decides whether this bundle may replace `stored`, by [`order`]: the time, and the
    /// status counter between bundles of the same second.
    ///
    /// # Errors
    /// [`BundleError::Replayed`] when it is older; [`BundleError::Conflicting`] when it has
    /// the same `issued_at` but other content.
    pub fn check_newer(&self, stored: Option<&VerifiedBundle>) -> Result<Freshness, BundleError> {
        let Some(stored) = stored else {
            return Ok(Freshness::Newer);
        };
        match order(
            (self.status_seq, self.issued_at),
            (stored.status_seq, stored.issued_at),
        ) {
            std::cmp::Ordering::Greater => Ok(Freshness::Newer),
            std::cmp::Ordering::Less => Err(BundleError::Replayed {
                stored: stored.issued_at,
                found: self.issued_at,
            }),
            std::cmp::Ordering::Equal if self.raw == stored.raw => Ok(Freshness::Unchanged),
            std::cmp::Ordering::Equal => Err(BundleError::Conflicting {
                issued_at: self.issued_at,
            }),
        }
    }

    /// The issuer keys as a trust store: each key for the bundle's `iss` only, within its
    /// signing window (a retired key verifies what it signed inside its window, nothing
    /// signed after).
    ///
    /// Credentials carry an `iat` rounded down to the day ([`IAT_GRANULARITY`], so that the
    /// issuance time does not single out a citizen); a window's start is rounded down the same
    /// way, so a key created at 10:00 verifies what it signed that day. Its end is kept: a
    /// credential signed after retirement carries a later day, unless it is the same day.
    pub fn trust_store(&self) -> TrustStore {
        trust_store_for(&self.iss, &self.keys)
    }

    /// The status lists as a status store (tokens already verified; lists stay compressed).
    pub fn status_store(&self) -> StatusStore {
        let mut store = StatusStore::new();
        for l in &self.lists {
            store.insert_known(ListId::new(&self.iss, &l.uri), l.known.clone());
        }
        store
    }
}

/// Orders two trust states given as `(status_seq, issued_at)`: by `issued_at`, and between
/// states of the same second by the issuer's status counter (when both carry one), so a full
/// bundle built in the same second as the stored state but after more status changes is newer.
/// Time stays the first key for full bundles: after the bureau restores a backup its counter
/// goes back, and its next bundle must still replace the stored state.
pub fn order(a: (Option<i64>, i64), b: (Option<i64>, i64)) -> std::cmp::Ordering {
    match (a.1.cmp(&b.1), a.0, b.0) {
        (std::cmp::Ordering::Equal, Some(x), Some(y)) => x.cmp(&y),
        (by_time, _, _) => by_time,
    }
}

/// The trust store of `keys` for `iss` (see [`VerifiedBundle::trust_store`]).
pub(crate) fn trust_store_for(iss: &str, keys: &[BundleKey]) -> TrustStore {
    let mut store = TrustStore::new();
    for k in keys {
        store.add(TrustedKey {
            jwk: k.jwk.clone().with_kid(k.kid.clone()),
            issuers: vec![iss.to_owned()],
            not_before: Some(k.not_before - k.not_before.rem_euclid(IAT_GRANULARITY)),
            not_after: k.not_after,
            // An active key's credentials are bounded by its window only; a retired or
            // withdrawn key's also by the last expiry the issuer published for it.
            last_credential_expiry: if k.state == KeyState::Active {
                None
            } else {
                k.last_credential_expiry
            },
            withdrawn: (k.state == KeyState::Withdrawn).then_some(match k.withdrawn_since {
                Some(t) => Withdrawal::Since(t),
                None => Withdrawal::All,
            }),
        });
    }
    store
}

pub(crate) fn parse_key(index: usize, k: RawKey) -> Result<BundleKey, BundleError> {
    let invalid = |reason: &str| BundleError::InvalidKey {
        index,
        reason: reason.to_owned(),
    };
    let jwk = PublicJwk::from_value(&k.jwk).map_err(|e| invalid(&e.to_string()))?;
    if jwk.thumbprint() != k.kid {
        return Err(invalid("kid is not the key's thumbprint"));
    }
    let state = match k.state.as_str() {
        "active" => KeyState::Active,
        "retired" => KeyState::Retired,
        "withdrawn" => KeyState::Withdrawn,
        _ => return Err(invalid("unknown state")),
    };
    if state == KeyState::Retired && k.not_after.is_none() {
        return Err(invalid("retired key without not_after"));
    }
    if k.not_after.is_some_and(|na| na < k.not_before) {
        return Err(invalid("not_after before not_before"));
    }
    if state != KeyState::Withdrawn && k.withdrawn_since.is_some() {
        return Err(invalid("withdrawn_since on a key that is not withdrawn"));
    }
    Ok(BundleKey {
        kid: k.kid,
        state,
        not_before: k.not_before,
        not_after: k.not_after,
        last_credential_expiry: k.last_credential_expiry,
        withdrawn_since: k.withdrawn_since,
        jwk,
    })
}

fn verify_list(
    entry: RawList,
    iss: &str,
    keys: &[BundleKey],
    issued_at: i64,
    limits: &BundleLimits,
) -> Result<BundleList, BundleError> {
    let uri = entry.uri;
    let list_err = |source: StatusListError| match source {
        StatusListError::SubjectMismatch { expected, found } => {
            BundleError::StatusSubjectMismatch { expected, found }
        }
        source => BundleError::StatusList {
            uri: uri.clone(),
            source,
        },
    };
    // Header and `iat` first, to pick the key; the list itself is inflated only after the
    // signature verified (StatusListToken::verify).
    let jws = Jws::parse(entry.token.trim()).map_err(|_| BundleError::StatusList {
        uri: uri.clone(),
        source: StatusListError::MalformedList {
            reason: "token is not a jws",
        },
    })?;
    let payload = jws.payload_object().ok();
    let iat = payload
        .as_ref()
        .and_then(|p| p.get("iat").and_then(Value::as_i64));
    let key = jws
        .header()
        .kid
        .as_deref()
        .and_then(|kid| keys.iter().find(|k| k.kid == kid))
        .filter(|k| iat.is_some_and(|t| k.valid_at(t)))
        .ok_or_else(|| BundleError::StatusListKey { uri: uri.clone() })?;
    let validation = Validation::new(&uri, issued_at).with_limits(limits.status);
    let verified =
        StatusListToken::verify(entry.token.trim(), &key.jwk, &validation).map_err(list_err)?;
    // Keep the list as the token carried it (ZLIB), now that it verified and inflated within
    // the limits: no recompression, and the inflated copy is dropped here.
    let zlib = payload
        .as_ref()
        .and_then(|p| {
            p.get("status_list")?
                .get("lst")?
                .as_str()
                .and_then(|t| credential::b64::decode(t).ok())
        })
        .ok_or_else(|| BundleError::StatusList {
            uri: uri.clone(),
            source: StatusListError::MalformedList {
                reason: "lst is missing",
            },
        })?;
    let claims = verified.into_claims();
    // The bundle's keys are its issuer's; a token naming another issuer is not its list.
    if claims.iss.as_deref() != Some(iss) {
        return Err(BundleError::StatusListIssuer { uri });
    }
    let known = KnownList {
        list: CompressedList::from_zlib(claims.status_list.bits(), claims.status_list.len(), zlib),
        issued_at: claims.iat,
        expires_at: claims.exp,
        ttl: claims
            .ttl
            .map(|t| i64::try_from(t.get()).unwrap_or(i64::MAX)),
    };
    Ok(BundleList {
        shard: entry.shard,
        token_bytes: entry.token.len(),
        known,
        uri,
    })
}
