//! The verifier's offline trust state: the last root-signed bundle with every delta applied
//! since. It is what `verify --state` uses, and what a caller caches once verified.
//!
//! ```text
//! VerifiedBundle ──> TrustState::from_bundle ──> apply(VerifiedDelta) ... ──> trust_store()
//!                                                 (base must match,           status_store()
//!                                                  newer only, all or nothing)
//! ```

use std::collections::BTreeMap;

use credential::status_list::{StatusList, StatusListError};

use crate::bundle::{trust_store_for, BundleKey, VerifiedBundle};
use crate::delta::{DeltaError, VerifiedDelta};
use crate::status::{CompressedList, KnownList, StatusStore};
use crate::trust::TrustStore;

/// ZLIB level for lists recompressed after a delta changed them: fast, and within a few
/// percent of the best level on sparse status lists.
pub const RECOMPRESS_LEVEL: u32 = 6;

/// One status list of the state.
#[derive(Debug, Clone)]
pub struct StateList {
    /// Shard number, when known.
    pub shard: Option<i64>,
    /// The list (compressed) and its freshness.
    pub known: KnownList,
}

/// Keys and status lists as of the last bundle and the deltas applied on it.
#[derive(Debug, Clone)]
pub struct TrustState {
    /// The issuer identifier.
    pub iss: String,
    /// When the newest bundle or delta was issued: the state is fresh as of then.
    pub issued_at: i64,
    /// When the issuer publishes the next update.
    pub next_update: i64,
    /// The issuer's status-change high-water mark (`None`: no delta can apply).
    pub status_seq: Option<i64>,
    /// Credential keys.
    pub keys: Vec<BundleKey>,
    /// Status lists by URI.
    pub lists: BTreeMap<String, StateList>,
}

impl TrustState {
    /// The state a verified bundle describes.
    pub fn from_bundle(bundle: VerifiedBundle) -> TrustState {
        let lists = bundle
            .lists
            .into_iter()
            .map(|l| {
                (
                    l.uri,
                    StateList {
                        shard: l.shard,
                        known: l.known,
                    },
                )
            })
            .collect();
        TrustState {
            iss: bundle.iss,
            issued_at: bundle.issued_at,
            next_update: bundle.next_update,
            status_seq: bundle.status_seq,
            keys: bundle.keys,
            lists,
        }
    }

    /// Applies a verified delta: its base must be this state's `status_seq`, it must be newer,
    /// and every change must fit its list; then the keys are replaced, the changed entries
    /// set, and every list becomes fresh as of the delta's `issued_at` (the root vouches for
    /// the whole state then) until its `status_exp`. All or nothing: on error `self` is
    /// unchanged.
    ///
    /// # Errors
    /// [`DeltaError::IssuerMismatch`], [`DeltaError::BaseMismatch`], [`DeltaError::Replayed`],
    /// [`DeltaError::InvalidChange`].
    pub fn apply(&mut self, delta: &VerifiedDelta) -> Result<(), DeltaError> {
        if delta.iss != self.iss {
            return Err(DeltaError::IssuerMismatch);
        }
        if self.status_seq != Some(delta.base_status_seq) {
            return Err(DeltaError::BaseMismatch {
                stored: self.status_seq,
                base: delta.base_status_seq,
            });
        }
        if delta.issued_at <= self.issued_at {
            return Err(DeltaError::Replayed {
                stored: self.issued_at,
                found: delta.issued_at,
            });
        }
        // Build every changed list first; commit only when all are good.
        let mut changed: Vec<(String, StateList)> = Vec::with_capacity(delta.changes.len());
        for c in &delta.changes {
            let invalid = |reason| DeltaError::InvalidChange {
                uri: c.uri.clone(),
                reason,
            };
            let (shard, mut list) = match self.lists.get(&c.uri) {
                Some(existing) => {
                    if existing.known.list.len() != c.size
                        || existing.known.list.bits() != c.bits
                        || (existing.shard.is_some()
                            && c.shard.is_some()
                            && existing.shard != c.shard)
                    {
                        return Err(invalid(
                            "list size, bits or shard differ from the stored list",
                        ));
                    }
                    let list = existing
                        .known
                        .list
                        .inflate()
                        .map_err(|_| invalid("stored list does not inflate"))?;
                    (existing.shard, list)
                }
                // A list opened after the base: it started with every entry 0 (valid).
                None => (
                    c.shard,
                    StatusList::new(c.bits, c.size).map_err(|_| invalid("list too large"))?,
                ),
            };
            for &(idx, value) in &c.set {
                list.set(idx, value).map_err(|e| match e {
                    StatusListError::IndexOutOfRange { .. } => invalid("index outside the list"),
                    _ => invalid("value does not fit"),
                })?;
            }
            changed.push((
                c.uri.clone(),
                StateList {
                    shard,
                    known: KnownList {
                        list: CompressedList::compress(&list, RECOMPRESS_LEVEL),
                        issued_at: delta.issued_at,
                        expires_at: Some(delta.status_exp),
                        ttl: None,
                    },
                },
            ));
        }
        for l in self.lists.values_mut() {
            l.known.issued_at = delta.issued_at;
            l.known.expires_at = Some(delta.status_exp);
        }
        for (uri, mut l) in changed {
            if let Some(old) = self.lists.get(&uri) {
                l.known.ttl = old.known.ttl;
            }
            self.lists.insert(uri, l);
        }
        self.keys = delta.keys.clone();
        self.issued_at = delta.issued_at;
        self.next_update = delta.next_update;
        self.status_seq = Some(delta.status_seq);
        Ok(())
    }

    /// The issuer keys as a trust store (as [`VerifiedBundle::trust_store`]).
    pub fn trust_store(&self) -> TrustStore {
        trust_store_for(&self.iss, &self.keys)
    }

    /// The status lists as a status store (compressed, as held).
    pub fn status_store(&self) -> StatusStore {
        let mut store = StatusStore::new();
        for (uri, l) in &self.lists {
            store.insert_known(uri.clone(), l.known.clone());
        }
        store
    }

    /// Both stores, consuming the state (no copy of the lists).
    pub fn into_stores(self) -> (TrustStore, StatusStore) {
        let trust = self.trust_store();
        let mut store = StatusStore::new();
        for (uri, l) in self.lists {
            store.insert_known(uri, l.known);
        }
        (trust, store)
    }

    /// Bytes held by the compressed lists.
    pub fn compressed_bytes(&self) -> usize {
        self.lists
            .values()
            .map(|l| l.known.list.as_zlib().len())
            .sum()
    }
}
