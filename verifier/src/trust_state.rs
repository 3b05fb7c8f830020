//! The verifier's offline trust state: the last root-signed bundle with every delta applied
//! since. It is what `verifier verify` (without `--trust`) uses, and what a caller caches once verified.
//!
//! ```text
//! VerifiedBundle ──> TrustState::from_bundle ──> apply(VerifiedDelta) ... ──> trust_store()
//!                                                 (base must match,           status_store()
//!                                                  newer only, all or nothing)
//! ```

use std::collections::BTreeMap;

use credential::status_list::{StatusList, StatusListError};

use crate::bundle::{trust_store_for, BundleKey, VerifiedBundle};
use crate::delta::{DeltaChange, DeltaError, VerifiedDelta};
use crate::status::{CompressedList, KnownList, ListId, StatusStore};
use crate::trust::TrustStore;

/// ZLIB level for lists recompressed after a delta changed them. A national day touches every
/// shard, so speed matters more than the last kilobytes (`docs/scale.md`, "Deltas measured").
pub const RECOMPRESS_LEVEL: u32 = 3;

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

    /// Whether `delta` is this state again within the same second, changing nothing (same
    /// `issued_at`, no status change, based on and at this state's `status_seq`, the same keys):
    /// the state is already current. `verifier sync` and the desk both decide with this.
    pub fn already_holds(&self, delta: &VerifiedDelta) -> bool {
        delta.issued_at == self.issued_at
            && delta.changes.is_empty()
            && self.status_seq == Some(delta.base_status_seq)
            && delta.status_seq == delta.base_status_seq
            && delta.keys == self.keys
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
        self.apply_chain(std::slice::from_ref(delta))
    }

    /// Applies a chain of verified deltas, oldest first, as [`TrustState::apply`] would one by
    /// one, but inflating and recompressing each changed list once for the whole chain (a
    /// national day touches every shard: one pass instead of one per delta). Lists are
    /// processed one at a time, so at most one list is inflated at once. All or nothing.
    ///
    /// # Errors
    /// As [`TrustState::apply`], for the first delta that does not follow its predecessor or
    /// does not fit.
    pub fn apply_chain(&mut self, deltas: &[VerifiedDelta]) -> Result<(), DeltaError> {
        let Some(last) = deltas.last() else {
            return Ok(());
        };
        // Every delta must follow the one before: same issuer, base = previous status_seq.
        // Deltas are ordered by the status counter, never by seconds: one that carries status
        // changes (status_seq > base) is newer than its base whatever its clock says (two syncs
        // in one second must both apply). One that carries none (status_seq = base) only
        // refreshes the state and its keys; an older one than the state is an old copy
        // (replayed). One from the same second applies: it may carry a key change made in
        // that second, and a key withdrawal, the change that matters, is re-applied on top of
        // every state from the root-signed notices anyway.
        let (mut seq, mut issued_at) = (self.status_seq, self.issued_at);
        for d in deltas {
            if d.iss != self.iss {
                return Err(DeltaError::IssuerMismatch);
            }
            if seq != Some(d.base_status_seq) {
                return Err(DeltaError::BaseMismatch {
                    stored: seq,
                    base: d.base_status_seq,
                });
            }
            if d.status_seq == d.base_status_seq && d.issued_at < issued_at {
                return Err(DeltaError::Replayed {
                    stored: issued_at,
                    found: d.issued_at,
                });
            }
            seq = Some(d.status_seq);
            issued_at = d.issued_at;
        }
        // The changes of each list, in chain order.
        let mut by_list: BTreeMap<&str, Vec<&DeltaChange>> = BTreeMap::new();
        for d in deltas {
            for c in &d.changes {
                by_list.entry(c.uri.as_str()).or_default().push(c);
            }
        }
        // Build every changed list first (compressed); commit only when all are good.
        let mut changed: Vec<(String, StateList)> = Vec::with_capacity(by_list.len());
        for (uri, changes) in by_list {
            changed.push((uri.to_owned(), self.changed_list(uri, &changes, last)?));
        }
        for l in self.lists.values_mut() {
            l.known.issued_at = last.issued_at;
            l.known.expires_at = Some(last.status_exp);
        }
        for (uri, l) in changed {
            self.lists.insert(uri, l);
        }
        self.keys = last.keys.clone();
        self.issued_at = last.issued_at;
        self.next_update = last.next_update;
        self.status_seq = Some(last.status_seq);
        Ok(())
    }

    /// The list at `uri` after `changes` (in chain order), compressed, fresh as of `last`.
    fn changed_list(
        &self,
        uri: &str,
        changes: &[&DeltaChange],
        last: &VerifiedDelta,
    ) -> Result<StateList, DeltaError> {
        let invalid = |reason| DeltaError::InvalidChange {
            uri: uri.to_owned(),
            reason,
        };
        let existing = self.lists.get(uri);
        let (mut shard, ttl, mut list) = match (existing, changes.first()) {
            (Some(e), _) => (
                e.shard,
                e.known.ttl,
                e.known
                    .list
                    .inflate()
                    .map_err(|_| invalid("stored list does not inflate"))?,
            ),
            // A list opened after the base: it started with every entry 0 (valid).
            (None, Some(first)) => (
                first.shard,
                None,
                StatusList::new(first.bits, first.size).map_err(|_| invalid("list too large"))?,
            ),
            (None, None) => return Err(invalid("no change")),
        };
        for c in changes {
            if list.len() != c.size
                || list.bits() != c.bits
                || (shard.is_some() && c.shard.is_some() && shard != c.shard)
            {
                return Err(invalid(
                    "list size, bits or shard differ from the stored list",
                ));
            }
            shard = shard.or(c.shard);
            for &(idx, value) in &c.set {
                list.set(idx, value).map_err(|e| match e {
                    StatusListError::IndexOutOfRange { .. } => invalid("index outside the list"),
                    _ => invalid("value does not fit"),
                })?;
            }
        }
        Ok(StateList {
            shard,
            known: KnownList {
                list: CompressedList::compress(&list, RECOMPRESS_LEVEL),
                issued_at: last.issued_at,
                expires_at: Some(last.status_exp),
                ttl,
            },
        })
    }

    /// The issuer keys as a trust store (as [`VerifiedBundle::trust_store`]).
    pub fn trust_store(&self) -> TrustStore {
        trust_store_for(&self.iss, &self.keys)
    }

    /// The status lists as a status store (compressed, as held).
    pub fn status_store(&self) -> StatusStore {
        let mut store = StatusStore::new();
        for (uri, l) in &self.lists {
            store.insert_known(ListId::new(&self.iss, uri), l.known.clone());
        }
        store
    }

    /// Both stores, consuming the state (no copy of the lists).
    pub fn into_stores(self) -> (TrustStore, StatusStore) {
        let trust = self.trust_store();
        let mut store = StatusStore::new();
        for (uri, l) in self.lists {
            store.insert_known(ListId::new(&self.iss, uri), l.known);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use credential::status_list::Bits;

    use super::*;

    fn state() -> TrustState {
        let list = StatusList::new(Bits::Two, 16).unwrap();
        let mut lists = BTreeMap::new();
        lists.insert(
            "https://i/status/0".to_owned(),
            StateList {
                shard: Some(0),
                known: KnownList {
                    list: CompressedList::compress(&list, 9),
                    issued_at: 100,
                    expires_at: Some(200),
                    ttl: Some(60),
                },
            },
        );
        TrustState {
            iss: "https://i".into(),
            issued_at: 100,
            next_update: 150,
            status_seq: Some(5),
            keys: Vec::new(),
            lists,
        }
    }

    fn delta(base: i64, issued_at: i64, changes: Vec<DeltaChange>) -> VerifiedDelta {
        VerifiedDelta {
            raw: String::new(),
            iss: "https://i".into(),
            base_status_seq: base,
            status_seq: base + 2,
            issued_at,
            next_update: issued_at + 50,
            status_exp: issued_at + 1000,
            keys: Vec::new(),
            changes,
        }
    }

    fn change(shard: i64, set: Vec<(u64, u8)>) -> DeltaChange {
        DeltaChange {
            shard: Some(shard),
            uri: format!("https://i/status/{shard}"),
            size: 16,
            bits: Bits::Two,
            set,
        }
    }

    fn value(s: &TrustState, shard: i64, idx: u64) -> u8 {
        s.lists[&format!("https://i/status/{shard}")]
            .known
            .list
            .get(idx)
            .unwrap()
    }

    #[test]
    fn apply_sets_values_opens_new_lists_and_refreshes_every_list() {
        let mut s = state();
        s.apply(&delta(
            5,
            120,
            vec![change(0, vec![(1, 1), (15, 2)]), change(1, vec![(3, 1)])],
        ))
        .unwrap();
        assert_eq!(
            (value(&s, 0, 1), value(&s, 0, 15), value(&s, 0, 2)),
            (1, 2, 0)
        );
        assert_eq!((value(&s, 1, 3), value(&s, 1, 4)), (1, 0));
        assert_eq!(s.status_seq, Some(7));
        assert_eq!(s.issued_at, 120);
        for l in s.lists.values() {
            assert_eq!(l.known.issued_at, 120);
            assert_eq!(l.known.expires_at, Some(1120));
        }
        assert_eq!(s.lists["https://i/status/0"].known.ttl, Some(60));
    }

    #[test]
    fn apply_is_all_or_nothing() {
        let mut s = state();
        let bad = delta(
            5,
            120,
            vec![change(0, vec![(1, 1)]), change(1, vec![(16, 1)])],
        );
        let e = s.apply(&bad).unwrap_err();
        assert_eq!(e.code(), "delta_invalid_change");
        assert_eq!(value(&s, 0, 1), 0);
        assert_eq!((s.issued_at, s.status_seq), (100, Some(5)));
        assert_eq!(s.lists.len(), 1);
        let mut resized = change(0, vec![(1, 1)]);
        resized.size = 32;
        let e = s.apply(&delta(5, 120, vec![resized])).unwrap_err();
        assert_eq!(e.code(), "delta_invalid_change");
    }

    #[test]
    fn a_chain_applies_as_its_deltas_one_by_one() {
        let d1 = delta(
            5,
            120,
            vec![change(0, vec![(1, 1), (2, 2)]), change(1, vec![(3, 1)])],
        );
        let mut d2 = delta(
            7,
            130,
            vec![change(0, vec![(2, 0)]), change(2, vec![(4, 2)])],
        );
        d2.status_seq = 9;
        let mut one_by_one = state();
        one_by_one.apply(&d1).unwrap();
        one_by_one.apply(&d2).unwrap();
        let mut chained = state();
        chained.apply_chain(&[d1.clone(), d2.clone()]).unwrap();
        assert_eq!(chained.status_seq, Some(9));
        assert_eq!(chained.issued_at, 130);
        for shard in 0..3 {
            for idx in 0..16 {
                assert_eq!(value(&chained, shard, idx), value(&one_by_one, shard, idx));
            }
        }
        assert_eq!((value(&chained, 0, 1), value(&chained, 0, 2)), (1, 0));
        // Out of order, or with a gap: refused, nothing changed.
        let mut s = state();
        let e = s.apply_chain(&[d2.clone(), d1.clone()]).unwrap_err();
        assert_eq!(e.code(), "delta_base_mismatch");
        let e = s.apply_chain(&[d1.clone(), d1]).unwrap_err();
        assert_eq!(e.code(), "delta_base_mismatch");
        assert_eq!((s.issued_at, s.status_seq), (100, Some(5)));
    }

    #[test]
    fn a_delta_with_status_changes_applies_even_in_the_same_second() {
        let mut s = state();
        s.apply(&delta(5, 120, vec![change(0, vec![(1, 1)])]))
            .unwrap();
        // The next revocation, delta built in the same second as the previous one.
        s.apply(&delta(7, 120, vec![change(0, vec![(2, 1)])]))
            .unwrap();
        assert_eq!((value(&s, 0, 1), value(&s, 0, 2)), (1, 1));
        assert_eq!(s.status_seq, Some(9));
        // A delta without status changes from an earlier second: an old copy.
        let mut empty = delta(9, 119, vec![]);
        empty.status_seq = 9;
        assert_eq!(
            s.apply(&empty).unwrap_err(),
            DeltaError::Replayed {
                stored: 120,
                found: 119
            }
        );
        // From the same second (a key change in that second): applies.
        empty.issued_at = 120;
        s.apply(&empty).unwrap();
    }

    #[test]
    fn apply_refuses_other_base_older_delta_and_other_issuer() {
        let mut s = state();
        let e = s.apply(&delta(4, 120, vec![])).unwrap_err();
        assert_eq!(
            e,
            DeltaError::BaseMismatch {
                stored: Some(5),
                base: 4
            }
        );
        let mut no_change = delta(5, 99, vec![]);
        no_change.status_seq = 5;
        let e = s.apply(&no_change).unwrap_err();
        assert_eq!(
            e,
            DeltaError::Replayed {
                stored: 100,
                found: 99
            }
        );
        let mut other = delta(5, 120, vec![]);
        other.iss = "https://other".into();
        assert_eq!(s.apply(&other).unwrap_err(), DeltaError::IssuerMismatch);
        s.status_seq = None;
        assert_eq!(
            s.apply(&delta(5, 120, vec![])).unwrap_err().code(),
            "delta_base_mismatch"
        );
    }
}
