//! Token Status List: index allocation, status changes, and the signed `statuslist+jwt` of each
//! shard (draft-ietf-oauth-status-list sections 4–5, 8).
//!
//! Every credential gets an entry at a random free index, drawn by the storage writer's CSPRNG,
//! in the open shard (2^20 entries by default). `UNIQUE (status_shard, status_idx)` makes a
//! duplicate impossible even under a bug. A shard closes at three quarters full, so a random
//! probe finds a free index in a few tries and the index reveals little about issuance order;
//! the next shard opens.
//!
//! Changes apply to the whole batch: a credential's copies (one per holder key) share a
//! `batch_id`, and revoking one revokes all.

use std::collections::HashMap;
use std::sync::Mutex;

use rand_core::RngCore;
use rusqlite::{params, OptionalExtension as _};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::db::{DbError, WriteCtx};
use crate::error::ApiError;
use crate::model::{now, Status, StatusAction};
use crate::service::Issuer;
use crate::status_changes;
use credential::status_list::{Bits, StatusList, StatusListToken};

/// The published forms of one shard, built from one read of its 2-bit state.
#[derive(Debug, Clone)]
pub struct ShardLists {
    /// The `statuslist+jwt` (draft-ietf-oauth-status-list section 5.1).
    pub token: String,
    /// The W3C `BitstringStatusListCredential` with `statusPurpose: revocation`, as a `vc+jwt`:
    /// bit set where the 2-bit status is 1.
    pub revocation: String,
    /// The same with `statusPurpose: suspension`: bit set where the 2-bit status is 2.
    pub suspension: String,
    /// The status-change log's high-water mark read before the shard's state: these lists
    /// reflect every change up to it (`status_changes`).
    pub status_seq: i64,
}

/// Which W3C Bitstring Status List projection of a shard (Bitstring Status List v1.0
/// section 2.1, `statusPurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Bit set where the credential is revoked (2-bit value 1).
    Revocation,
    /// Bit set where the credential is suspended (2-bit value 2).
    Suspension,
}

impl Purpose {
    /// Parses the path segment `revocation` or `suspension`.
    pub fn parse(text: &str) -> Option<Purpose> {
        match text {
            "revocation" => Some(Purpose::Revocation),
            "suspension" => Some(Purpose::Suspension),
            _ => None,
        }
    }

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }

    fn two_bit_value(self) -> i64 {
        match self {
            Purpose::Revocation => i64::from(Status::Revoked.bits()),
            Purpose::Suspension => i64::from(Status::Suspended.bits()),
        }
    }
}

/// Bitstring Status List v1.0 section 2.1: a list is at least 16 KB (131,072 entries) so that
/// small lists still give group privacy.
pub const BITSTRING_MIN_BITS: u64 = 131_072;

/// `encodedList` of Bitstring Status List v1.0 section 2.1: the bitstring (bit 0 is the most
/// significant bit of byte 0), GZIP-compressed, as multibase base64url without padding
/// (prefix `u`). `set` holds the indexes whose bit is 1.
///
/// # Errors
/// I/O errors of the in-memory compressor (not expected).
pub fn encode_bitstring(len_bits: u64, set: &[u64]) -> std::io::Result<String> {
    use std::io::Write as _;
    let bits = len_bits.max(BITSTRING_MIN_BITS);
    let mut bytes = vec![0u8; usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX)];
    for &idx in set {
        if let Some(b) = usize::try_from(idx / 8).ok().and_then(|i| bytes.get_mut(i)) {
            *b |= 0x80 >> (idx % 8);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes)?;
    let compressed = gz.finish()?;
    Ok(format!("u{}", credential::b64::encode(compressed)))
}

/// Signed status lists by shard, rebuilt when a status changes or when old.
#[derive(Debug, Default)]
pub struct StatusCache {
    tokens: Mutex<HashMap<i64, (ShardLists, i64)>>,
}

impl StatusCache {
    fn get(&self, shard: i64, fresh_after: i64) -> Option<ShardLists> {
        let map = self.tokens.lock().ok()?;
        map.get(&shard)
            .filter(|(_, built)| *built > fresh_after)
            .map(|(t, _)| t.clone())
    }

    fn put(&self, shard: i64, lists: ShardLists, built: i64) {
        if let Ok(mut map) = self.tokens.lock() {
            map.insert(shard, (lists, built));
        }
    }

    /// Drops every cached token.
    pub fn clear(&self) {
        if let Ok(mut map) = self.tokens.lock() {
            map.clear();
        }
    }

    pub(crate) fn invalidate(&self, shards: &[i64]) {
        if let Ok(mut map) = self.tokens.lock() {
            for s in shards {
                map.remove(s);
            }
        }
    }
}

/// Allocates a random free index in the open shard (opening one if needed).
///
/// # Errors
/// SQLite errors.
pub(crate) fn allocate(ctx: &mut WriteCtx<'_>, shard_size: u32) -> Result<(i64, u32), DbError> {
    let open: Option<(i64, i64, i64)> = ctx
        .conn
        .prepare_cached(
            "SELECT shard, size, allocated FROM status_shards WHERE state = 'open' ORDER BY shard LIMIT 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (shard, size, allocated) = match open {
        Some(s) => s,
        None => {
            let next: i64 = ctx.conn.query_row(
                "SELECT COALESCE(MAX(shard) + 1, 0) FROM status_shards",
                [],
                |r| r.get(0),
            )?;
            ctx.conn.execute(
                "INSERT INTO status_shards (shard, size, state) VALUES (?1, ?2, 'open')",
                params![next, shard_size],
            )?;
            (next, i64::from(shard_size), 0)
        }
    };
    let size_u32 = u32::try_from(size).map_err(|_| DbError::Corrupt { what: "shard size" })?;
    // Uniform draw below `size` by rejection.
    let limit = u32::MAX - u32::MAX % size_u32;
    let idx = loop {
        let v = ctx.rng.next_u32();
        if v >= limit {
            continue;
        }
        let idx = v % size_u32;
        let taken: bool = ctx
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM credentials WHERE status_shard = ?1 AND status_idx = ?2)",
            )?
            .query_row(params![shard, idx], |r| r.get(0))?;
        if !taken {
            break idx;
        }
    };
    let full = (allocated + 1) * 4 >= size * 3;
    ctx.conn
        .prepare_cached(
            "UPDATE status_shards SET allocated = allocated + 1,
               state = CASE WHEN ?2 THEN 'full' ELSE state END WHERE shard = ?1",
        )?
        .execute(params![shard, full])?;
    Ok((shard, idx))
}

/// Which credentials a status change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One credential (and its batch) by id.
    Credential(String),
    /// One credential (and its batch) by its status entry.
    Entry {
        /// Shard.
        shard: i64,
        /// Index.
        idx: u32,
    },
    /// Every credential of the citizen with this `id_number`.
    Citizen(String),
}

/// The outcome of a status change.
#[derive(Debug, Clone, Serialize)]
pub struct StatusChange {
    /// Credentials whose status changed.
    pub changed: Vec<String>,
    /// The status they now have.
    pub status: &'static str,
}

impl Issuer {
    /// The status-list URI of `shard`.
    pub fn status_uri(&self, shard: i64) -> String {
        format!("{}/status/{shard}", self.url())
    }

    /// Applies `action` to the target's credentials and every copy in their batches.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when nothing matches; [`ApiError::StatusTransition`] when no
    /// matched credential can take the change (revocation is final); storage errors.
    pub async fn change_status(
        &self,
        actor: &str,
        target: Target,
        action: StatusAction,
    ) -> Result<StatusChange, ApiError> {
        let citizen = match &target {
            Target::Citizen(id_number) => Some(self.keys.citizen_id(id_number)),
            _ => None,
        };
        let actor_log = actor.to_owned();
        let actor = actor.to_owned();
        let (change, shards) = self
            .db
            .write(move |ctx| {
                let c = ctx.conn;
                let (sql, key): (&str, Vec<rusqlite::types::Value>) = match (&target, citizen) {
                    (Target::Credential(id), _) => (
                        "SELECT id, status, status_shard, status_idx FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE id = ?1)",
                        vec![id.clone().into()],
                    ),
                    (Target::Entry { shard, idx }, _) => (
                        "SELECT id, status, status_shard, status_idx FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE status_shard = ?1 AND status_idx = ?2)",
                        vec![(*shard).into(), i64::from(*idx).into()],
                    ),
                    (Target::Citizen(_), Some(citizen)) => (
                        "SELECT id, status, status_shard, status_idx FROM credentials WHERE citizen_id = ?1",
                        vec![citizen.into()],
                    ),
                    (Target::Citizen(_), None) => unreachable!("citizen id computed above"),
                };
                let rows = c
                    .prepare(sql)
                    .map_err(DbError::from)?
                    .query_map(rusqlite::params_from_iter(key), |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    })
                    .map_err(DbError::from)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(DbError::from)?;
                if rows.is_empty() {
                    return Err(ApiError::NotFound { what: "credential" });
                }
                let t = now();
                let mut changed = Vec::new();
                let mut shards = Vec::new();
                let mut first_from = Status::Valid;
                let mut result = None;
                for (i, (id, bits, shard, idx)) in rows.into_iter().enumerate() {
                    let from = Status::from_bits(bits).ok_or(DbError::Corrupt { what: "status" })?;
                    if i == 0 {
                        first_from = from;
                    }
                    let Some(to) = action.apply(from) else { continue };
                    c.execute(
                        "UPDATE credentials SET status = ?2 WHERE id = ?1",
                        params![id, to.bits()],
                    )
                    .map_err(DbError::from)?;
                    // Same transaction: the change log never misses a change (deltas).
                    status_changes::record(c, t, shard, idx, i64::from(to.bits()))?;
                    audit::append(
                        c,
                        t,
                        &actor,
                        &format!("status.{}", action.as_str()),
                        Some(&id),
                        &json!({"from": from.as_str(), "to": to.as_str()}),
                    )?;
                    changed.push(id);
                    shards.push(shard);
                    result = Some(to);
                }
                let Some(to) = result else {
                    return Err(ApiError::StatusTransition {
                        action: action.as_str(),
                        from: first_from.as_str(),
                    });
                };
                Ok((
                    StatusChange {
                        changed,
                        status: to.as_str(),
                    },
                    shards,
                ))
            })
            .await?;
        self.status_cache.invalidate(&shards);
        tracing::info!(action = action.as_str(), count = change.changed.len(), actor = %actor_log, "status changed");
        Ok(change)
    }

    /// The signed status-list token of `shard`, from the cache when fresh.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for an unknown shard; storage errors.
    pub async fn status_token(&self, shard: i64) -> Result<String, ApiError> {
        Ok(self.shard_lists(shard).await?.token)
    }

    /// The W3C `BitstringStatusListCredential` (a `vc+jwt`) of `shard` for `purpose`, built
    /// with the status-list token from the same read of the shard's state.
    ///
    /// # Errors
    /// As [`Issuer::status_token`].
    pub async fn bitstring_credential(
        &self,
        shard: i64,
        purpose: Purpose,
    ) -> Result<String, ApiError> {
        let lists = self.shard_lists(shard).await?;
        Ok(match purpose {
            Purpose::Revocation => lists.revocation,
            Purpose::Suspension => lists.suspension,
        })
    }

    /// All published forms of `shard`, from the cache when fresh, else from one read.
    ///
    /// # Errors
    /// As [`Issuer::status_token`].
    pub async fn shard_lists(&self, shard: i64) -> Result<ShardLists, ApiError> {
        let t = now();
        // Rebuild at least every minute so changes made by another process (the CLI) show.
        let fresh_after = t - self.config.status_ttl.min(60);
        if let Some(lists) = self.status_cache.get(shard, fresh_after) {
            return Ok(lists);
        }
        let entries = self
            .db
            .read(move |c| {
                let size: Option<i64> = c
                    .query_row(
                        "SELECT size FROM status_shards WHERE shard = ?1",
                        [shard],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(size) = size else { return Ok(None) };
                // Read before the entries: the lists reflect at least every change up to it.
                let seq = status_changes::high_water(c)?;
                let mut s = c.prepare_cached(
                    "SELECT status_idx, status FROM credentials WHERE status_shard = ?1 AND status <> 0",
                )?;
                let rows = s
                    .query_map([shard], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, DbError>(Some((size, rows, seq)))
            })
            .await?;
        let (size, rows, status_seq) = entries.ok_or(ApiError::NotFound {
            what: "status list",
        })?;
        let corrupt = |_| DbError::Corrupt {
            what: "status entry",
        };
        let size = u64::try_from(size).unwrap_or(0);
        let mut list = StatusList::new(Bits::Two, size).map_err(corrupt)?;
        let mut entries = Vec::with_capacity(rows.len());
        for (idx, bits) in rows {
            let idx = u64::try_from(idx).map_err(|_| DbError::Corrupt {
                what: "status index",
            })?;
            let value = u8::try_from(bits).map_err(|_| DbError::Corrupt { what: "status" })?;
            list.set(idx, value).map_err(corrupt)?;
            entries.push((idx, bits));
        }
        let key = self.keys.active();
        let token = StatusListToken {
            sub: self.status_uri(shard),
            iat: t,
            exp: Some(t + self.config.status_validity),
            ttl: u64::try_from(self.config.status_ttl)
                .ok()
                .and_then(std::num::NonZeroU64::new),
            iss: Some(self.url().to_owned()),
            status_list: list,
        }
        .sign(&key);
        let bitstring = |purpose: Purpose| -> Result<String, ApiError> {
            let set: Vec<u64> = entries
                .iter()
                .filter(|(_, v)| *v == purpose.two_bit_value())
                .map(|(i, _)| *i)
                .collect();
            let encoded = encode_bitstring(size, &set)
                .map_err(|e| ApiError::Internal(format!("gzip: {e}")))?;
            Ok(self.sign_bitstring_credential(shard, purpose, &encoded, t, &key))
        };
        let lists = ShardLists {
            token,
            revocation: bitstring(Purpose::Revocation)?,
            suspension: bitstring(Purpose::Suspension)?,
            status_seq,
        };
        self.status_cache.put(shard, lists.clone(), t);
        Ok(lists)
    }

    /// A `BitstringStatusListCredential` (Bitstring Status List v1.0 section 2.2) secured as a
    /// compact JWS with `typ: vc+jwt` (VC-JOSE-COSE section 3.1.1): the payload is the
    /// credential itself.
    fn sign_bitstring_credential(
        &self,
        shard: i64,
        purpose: Purpose,
        encoded_list: &str,
        t: i64,
        key: &credential::jose::SigningKey,
    ) -> String {
        let id = format!("{}/{}", self.status_uri(shard), purpose.as_str());
        let rfc3339 = |secs: i64| {
            time::OffsetDateTime::from_unix_timestamp(secs)
                .ok()
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default()
        };
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": id,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.url(),
            "validFrom": rfc3339(t),
            "validUntil": rfc3339(t + self.config.status_validity),
            "credentialSubject": {
                "id": format!("{id}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": purpose.as_str(),
                "encodedList": encoded_list,
                // Milliseconds (section 2.2).
                "ttl": self.config.status_ttl.saturating_mul(1000),
            },
            "iat": t,
            "exp": t + self.config.status_validity,
        });
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("vc+jwt"));
        header.insert("cty".into(), json!("vc"));
        header.insert("kid".into(), json!(key.kid()));
        credential::jose::sign_compact(header, credential.to_string().as_bytes(), key)
    }

    /// Ids of shards that exist.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn shards(&self) -> Result<Vec<i64>, ApiError> {
        Ok(self
            .db
            .read(|c| {
                let mut s = c.prepare("SELECT shard FROM status_shards ORDER BY shard")?;
                let v = s
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<i64>, _>>()?;
                Ok::<_, DbError>(v)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn decode(encoded: &str) -> Vec<u8> {
        let gz = credential::b64::decode(encoded.strip_prefix('u').unwrap()).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn bitstring_is_msb_first_gzip_multibase_and_at_least_16_kb() {
        let bytes = decode(&encode_bitstring(1024, &[0, 9, 1023]).unwrap());
        assert_eq!(bytes.len(), 16 * 1024);
        assert_eq!(bytes[0], 0b1000_0000);
        assert_eq!(bytes[1], 0b0100_0000);
        assert_eq!(bytes[127], 0b0000_0001);
        assert!(bytes[128..].iter().all(|b| *b == 0));
        let big = decode(&encode_bitstring(1 << 20, &[(1 << 20) - 1]).unwrap());
        assert_eq!(big.len(), (1 << 20) / 8);
        assert_eq!(big[big.len() - 1], 1);
    }

    #[test]
    fn purposes_parse() {
        assert_eq!(Purpose::parse("revocation"), Some(Purpose::Revocation));
        assert_eq!(Purpose::parse("suspension"), Some(Purpose::Suspension));
        assert_eq!(Purpose::parse("refresh"), None);
    }
}
