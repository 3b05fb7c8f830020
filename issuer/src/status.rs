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
use credential::status_list::{Bits, StatusList, StatusListToken};

/// Signed status-list tokens by shard, rebuilt when a status changes or when old.
#[derive(Debug, Default)]
pub struct StatusCache {
    tokens: Mutex<HashMap<i64, (String, i64)>>,
}

impl StatusCache {
    fn get(&self, shard: i64, fresh_after: i64) -> Option<String> {
        let map = self.tokens.lock().ok()?;
        map.get(&shard)
            .filter(|(_, built)| *built > fresh_after)
            .map(|(t, _)| t.clone())
    }

    fn put(&self, shard: i64, token: String, built: i64) {
        if let Ok(mut map) = self.tokens.lock() {
            map.insert(shard, (token, built));
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
                        "SELECT id, status, status_shard FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE id = ?1)",
                        vec![id.clone().into()],
                    ),
                    (Target::Entry { shard, idx }, _) => (
                        "SELECT id, status, status_shard FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE status_shard = ?1 AND status_idx = ?2)",
                        vec![(*shard).into(), i64::from(*idx).into()],
                    ),
                    (Target::Citizen(_), Some(citizen)) => (
                        "SELECT id, status, status_shard FROM credentials WHERE citizen_id = ?1",
                        vec![citizen.into()],
                    ),
                    (Target::Citizen(_), None) => unreachable!("citizen id computed above"),
                };
                let rows = c
                    .prepare(sql)
                    .map_err(DbError::from)?
                    .query_map(rusqlite::params_from_iter(key), |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
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
                for (i, (id, bits, shard)) in rows.into_iter().enumerate() {
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
        let t = now();
        // Rebuild at least every minute so changes made by another process (the CLI) show.
        let fresh_after = t - self.config.status_ttl.min(60);
        if let Some(token) = self.status_cache.get(shard, fresh_after) {
            return Ok(token);
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
                let mut s = c.prepare_cached(
                    "SELECT status_idx, status FROM credentials WHERE status_shard = ?1 AND status <> 0",
                )?;
                let rows = s
                    .query_map([shard], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, DbError>(Some((size, rows)))
            })
            .await?;
        let (size, rows) = entries.ok_or(ApiError::NotFound {
            what: "status list",
        })?;
        let corrupt = |_| DbError::Corrupt {
            what: "status entry",
        };
        let mut list =
            StatusList::new(Bits::Two, u64::try_from(size).unwrap_or(0)).map_err(corrupt)?;
        for (idx, bits) in rows {
            let idx = u64::try_from(idx).map_err(|_| DbError::Corrupt {
                what: "status index",
            })?;
            let bits = u8::try_from(bits).map_err(|_| DbError::Corrupt { what: "status" })?;
            list.set(idx, bits).map_err(corrupt)?;
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
        self.status_cache.put(shard, token.clone(), t);
        Ok(token)
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
