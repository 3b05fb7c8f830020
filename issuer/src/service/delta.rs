//! Trust-bundle deltas (`typ: trust-bundle-delta+jwt`, `docs/scale.md`, "The delta format"):
//! every status change since a verifier's base, root-signed, so a verifier that synced once
//! downloads only what changed instead of every shard's token each day.
//!
//! ```text
//! bundle (status_seq = B) ── verifier stores it
//! GET /trust-bundle/delta?since=B ─> changes with B < seq <= S, final value per entry,
//!                                    grouped by shard, + the full key list, signed by the root
//! verifier applies it ─> its state is the issuer's at S, fresh as of the delta's issued_at
//! ```
//!
//! A delta is anchored by the status-change log's `seq` (`status_changes`), not by a time: two
//! changes in one second, or a clock step, cannot make a change fall between two deltas.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use credential::jose::{sign_compact, try_sign_compact, JoseError, JwsSigner, SigningKey};

use crate::store::DbError;

use crate::domain::refusal::Refusal;
use crate::error::IssuerError;
use crate::keys::root_header;
use crate::service::Issuer;

/// The delta's `typ`.
pub const TRUST_BUNDLE_DELTA_TYP: &str = "trust-bundle-delta+jwt";

/// The delta format version (`delta_version`).
pub const DELTA_VERSION: u32 = 1;

/// A delta is served only from a base whose last change is at most this old (30 days): past
/// that the full bundle is about as small, and the verifier must sync it.
pub const DELTA_MAX_BASE_AGE: i64 = 30 * 86_400;

/// The changed entries of one shard, sorted by index, each with its final value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardChanges {
    /// Shard number.
    pub shard: i64,
    /// Its list URI.
    pub uri: String,
    /// Entries in the shard (a verifier that lacks the shard starts from this many zeros).
    pub size: u64,
    /// `(index, new 2-bit value)`, indexes strictly increasing.
    pub set: Vec<(u64, u8)>,
}

/// What a delta says, before signing.
#[derive(Debug)]
pub struct DeltaContents<'a> {
    /// The issuer identifier.
    pub iss: &'a str,
    /// The `status_seq` of the state the delta applies to.
    pub base_status_seq: i64,
    /// The `status_seq` of the state after it.
    pub status_seq: i64,
    /// When it was built; the state it describes is fresh as of this time.
    pub issued_at: i64,
    /// When the issuer publishes the next one.
    pub next_update: i64,
    /// Until when the status state it vouches for may be used (as a status token's `exp`).
    pub status_exp: i64,
    /// The full list of credential keys, as in the bundle.
    pub keys: &'a [Value],
    /// The changes, by shard.
    pub changes: &'a [ShardChanges],
}

/// Encodes a shard's changes: for each entry in index order, the gap from the previous index
/// plus one (LEB128 varint), then the value byte; the whole ZLIB-compressed and base64url.
pub fn encode_set(set: &[(u64, u8)]) -> String {
    let mut bytes = Vec::with_capacity(set.len() * 3);
    let mut next = 0u64;
    for &(idx, value) in set {
        credential::compact::push_varint(&mut bytes, idx.saturating_sub(next));
        bytes.push(value);
        next = idx.saturating_add(1);
    }
    credential::b64::encode(credential::status_list::zlib_compress(&bytes, 9))
}

/// Signs a delta with the root key: a compact JWS with header `typ: trust-bundle-delta+jwt`,
/// the root's `kid` and public `jwk`.
pub fn sign_trust_bundle_delta(root: &SigningKey, c: &DeltaContents<'_>) -> String {
    let payload = delta_payload(c).to_string();
    sign_compact(
        root_header(TRUST_BUNDLE_DELTA_TYP, root),
        payload.as_bytes(),
        root,
    )
}

/// [`sign_trust_bundle_delta`] with any signer, such as the issuer's root key in an HSM
/// ([`crate::keys::IssuerKey`]).
///
/// # Errors
/// [`JoseError::SignerFailed`] when the key does not sign.
pub fn try_sign_trust_bundle_delta(
    root: &(impl JwsSigner + ?Sized),
    c: &DeltaContents<'_>,
) -> Result<String, JoseError> {
    let payload = delta_payload(c).to_string();
    try_sign_compact(
        root_header(TRUST_BUNDLE_DELTA_TYP, root),
        payload.as_bytes(),
        root,
    )
}

/// The claims of a delta.
fn delta_payload(c: &DeltaContents<'_>) -> Value {
    let changes: Vec<Value> = c
        .changes
        .iter()
        .map(|s| {
            json!({"shard": s.shard, "uri": s.uri, "size": s.size, "bits": 2,
                   "count": s.set.len(), "set": encode_set(&s.set)})
        })
        .collect();
    json!({
        "delta_version": DELTA_VERSION,
        "iss": c.iss,
        "base_status_seq": c.base_status_seq,
        "status_seq": c.status_seq,
        "issued_at": c.issued_at,
        "iat": c.issued_at,
        "next_update": c.next_update,
        "status_exp": c.status_exp,
        "keys": c.keys,
        "changes": changes,
    })
}

impl Issuer {
    /// The root-signed delta from the state with `status_seq == since` to the current one:
    /// every entry changed since, with its final value, grouped by shard.
    ///
    /// # Errors
    /// [`Refusal::DeltaBaseUnknown`] when `since` is negative, newer than the log, no longer in
    /// it, or older than [`DELTA_MAX_BASE_AGE`] (the verifier fetches the full bundle); storage
    /// errors.
    pub async fn trust_bundle_delta(&self, since: i64) -> Result<String, IssuerError> {
        // Pick up a rotation or key withdrawal made by another replica before publishing keys.
        self.signer().await?;
        let t = self.now();
        let read = async {
            {
                let b = self.store.status_log_bounds(since).await?;
                let unknown = |reason| Ok::<_, IssuerError>(Err(reason));
                if since < 0 {
                    return unknown("negative");
                }
                if since > b.latest {
                    return unknown("newer than the issuer's change log");
                }
                if b.oldest.is_some_and(|o| since < o - 1) || (since > 0 && b.since_at.is_none()) {
                    return unknown("no longer in the issuer's change log");
                }
                if b.since_at.is_some_and(|at| at < t - DELTA_MAX_BASE_AGE) {
                    return unknown("older than 30 days");
                }
                let (changes, sizes) = self.store.status_log_between(since, b.latest).await?;
                Ok(Ok((b.latest, changes, sizes)))
            }
        }
        .await?;
        let (latest, changes, sizes) =
            read.map_err(|reason| Refusal::DeltaBaseUnknown { since, reason })?;
        let sizes: BTreeMap<i64, i64> = sizes.into_iter().collect();
        let mut by_shard: BTreeMap<i64, BTreeMap<u64, u8>> = BTreeMap::new();
        let corrupt = |what| IssuerError::Storage(DbError::Corrupt { what });
        for ch in changes {
            // Later changes of the same entry overwrite earlier ones: the final value counts.
            let idx = u64::try_from(ch.idx).map_err(|_| corrupt("status index"))?;
            let value = u8::try_from(ch.status).map_err(|_| corrupt("status"))?;
            by_shard.entry(ch.shard).or_default().insert(idx, value);
        }
        let mut shards = Vec::with_capacity(by_shard.len());
        for (shard, set) in by_shard {
            let size = sizes
                .get(&shard)
                .and_then(|s| u64::try_from(*s).ok())
                .ok_or_else(|| corrupt("shard size"))?;
            shards.push(ShardChanges {
                shard,
                uri: self.status_uri(shard),
                size,
                set: set.into_iter().collect(),
            });
        }
        let keys =
            crate::service::withdraw::keys_json(&self.keys.published(t), &self.keys.withdrawals());
        try_sign_trust_bundle_delta(
            &self.keys.root(),
            &DeltaContents {
                iss: self.url(),
                base_status_seq: since,
                status_seq: latest,
                issued_at: t,
                next_update: t + self.config.status_ttl,
                status_exp: t + self.config.status_validity,
                keys: &keys,
                changes: &shards,
            },
        )
        .map_err(crate::keys::signing_failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_encodes_gaps_then_values() {
        let text = encode_set(&[(0, 1), (1, 2), (200, 1)]);
        let z = credential::b64::decode(&text).unwrap();
        let raw = credential::status_list::inflate_bounded(&z, 1024).unwrap();
        // 0 -> gap 0; 1 -> gap 0; 200 -> gap 198 = 0xc6 0x01.
        assert_eq!(raw, [0, 1, 0, 2, 0xc6, 0x01, 1]);
    }
}
