//! The SQLite backend: each operation is a job of the group-committing writer
//! ([`Db::write`]) or a read on the pooled read-only connections ([`Db::read`]). The single
//! writer makes every write transaction serial, so the checks below need no row locks.

mod audit;
pub(crate) mod db;
mod status_changes;

use async_trait::async_trait;
use rand_core::RngCore as _;
use rusqlite::{params, Connection, OptionalExtension as _};
use serde_json::json;

use credential::citizen::Level;

use super::error::DbError;
use super::error::StoreError;
use super::interface::{mismatched_lock, Store, SweepLock, SweepStep};
use super::rows::{
    DirectRecord, Issuance, IssueRecord, KeyRow, NewEnrolment, NewRefresh, Redemption,
    RefreshGrant, ShardEntries, StatusKey, SIM_ENROLMENT,
};
use super::rules::{self, RefreshRow, RefreshStep};
use crate::domain::audit::{AuditEntry, AuditEvent};
use crate::domain::keys::{KeyPurpose, KeyWithdrawal};
use crate::domain::people::{OfficerInfo, PlatformInfo};
use crate::domain::refusal::Refusal;
use crate::domain::status::{LogBounds, LoggedChange, ShardSizes, StatusChange};
use crate::domain::{Status, StatusAction};
use crate::secret::SecretDigest;
use db::{Db, WriteCtx};

/// Allocates a random free index in the open shard (opening one if needed).
fn allocate(ctx: &mut WriteCtx<'_>, shard_size: u32) -> Result<(i64, u32), DbError> {
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
    let idx = loop {
        let idx = crate::domain::status::draw_index(ctx.rng, size_u32);
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
    let full = crate::domain::status::closes_shard(allocated, size);
    ctx.conn
        .prepare_cached(
            "UPDATE status_shards SET allocated = allocated + 1,
               state = CASE WHEN ?2 THEN 'full' ELSE state END WHERE shard = ?1",
        )?
        .execute(params![shard, full])?;
    Ok((shard, idx))
}

fn insert_refresh_token(
    c: &Connection,
    new: &NewRefresh,
    family_id: &str,
    enrolment_id: &str,
    config_ids: &str,
    t: i64,
) -> Result<(), DbError> {
    c.prepare_cached(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, enrolment_id, config_ids, state, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7)",
    )?
    .execute(params![
        new.id,
        new.digest.0.as_slice(),
        family_id,
        enrolment_id,
        config_ids,
        t,
        t + new.ttl
    ])?;
    Ok(())
}

/// The worst status among the enrolment's credentials when it is revoked or suspended.
fn enrolment_block(c: &Connection, enrolment_id: &str) -> Result<Option<Status>, StoreError> {
    let worst: Option<i64> = c
        .prepare_cached(rules::ENROLMENT_WORST_SQLITE)?
        .query_row([enrolment_id], |r| r.get(0))?;
    rules::block_of(worst)
}

/// Applies a citizen's hold change; on revocation also kills their open offers and revokes
/// their active refresh tokens (every enrolment), audited as `citizen.<action>`.
fn apply_hold(
    c: &Connection,
    citizen: &str,
    hold: Option<rules::HoldChange>,
    action: StatusAction,
    actor: &str,
    now: i64,
) -> Result<(), StoreError> {
    match hold {
        Some(rules::HoldChange::Set(status)) => {
            c.execute(
                rules::SET_HOLD_SQLITE,
                params![citizen, status.bits(), now, actor],
            )
            .map_err(DbError::from)?;
        }
        Some(rules::HoldChange::Clear) => {
            c.execute(rules::CLEAR_HOLD_SQLITE, [citizen])
                .map_err(DbError::from)?;
        }
        None => {}
    }
    let (mut offers, mut tokens) = (0, 0);
    if action == StatusAction::Revoke {
        offers = c
            .execute(rules::KILL_OFFERS_SQLITE, [citizen])
            .map_err(DbError::from)?;
        tokens = c
            .execute(rules::REVOKE_REFRESH_SQLITE, [citizen])
            .map_err(DbError::from)?;
    }
    if hold.is_some() || offers + tokens > 0 {
        audit::append(
            c,
            now,
            actor,
            AuditEvent::Citizen(action).as_str(),
            Some(citizen),
            &json!({"offers_closed": offers, "refresh_tokens_revoked": tokens}),
        )?;
    }
    Ok(())
}

fn ensure_sim_enrolment(conn: &Connection, level: Level, now: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR IGNORE INTO enrolments (id, citizen_id, level, evidence, claims, actor, created_at)
         VALUES (?1, ?1, ?2, 'simulated', NULL, 'simulate', ?3)",
        params![SIM_ENROLMENT, level.as_str(), now],
    )?;
    Ok(())
}

fn key_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<rules::KeyColumns> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn insert_key(conn: &Connection, row: &KeyRow) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO signing_keys (kid, alg, purpose, state, file, sealed_jwk, not_before,
                                   hsm_key, public_jwk)
         VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, ?7, ?8)",
        params![
            row.kid,
            row.alg.as_str(),
            row.purpose.as_str(),
            row.file,
            row.sealed,
            row.not_before,
            row.hsm_key,
            row.public_jwk
        ],
    )?;
    Ok(())
}

#[async_trait]
impl Store for Db {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn close(&self) {
        Db::close(self);
    }

    fn observe_writes(&self, observer: super::interface::WriteObserver) {
        self.set_write_observer(observer);
    }

    async fn insert_attestation_nonce(
        &self,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.insert_nonce("attestation_nonces", digest, expires_at)
            .await
    }

    #[cfg(feature = "test-util")]
    async fn insert_c_nonce(
        &self,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.insert_nonce("c_nonces", digest, expires_at).await
    }

    #[cfg(feature = "test-util")]
    async fn count_rows(&self, what: &str) -> Result<i64, StoreError> {
        self.count_sql(rules::count_sql(what)).await
    }

    async fn sweep_lock(&self) -> Result<Option<SweepLock>, StoreError> {
        Ok(Some(SweepLock::unheld()))
    }

    async fn sweep_chunk(
        &self,
        lock: &SweepLock,
        step: SweepStep,
        cutoff: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        match lock.session() {
            None => self.sweep_sql(step.sql(), cutoff, limit).await,
            Some(_) => Err(mismatched_lock()),
        }
    }

    async fn sweep_audit(
        &self,
        lock: &SweepLock,
        at: i64,
        actor: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        match lock.session() {
            None => {
                self.append_audit(at, actor, AuditEvent::HousekeepingSweep, None, detail)
                    .await
            }
            Some(_) => Err(mismatched_lock()),
        }
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            Ok::<_, DbError>(c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn platform_key(&self, kid: &str) -> Result<Option<(String, String)>, StoreError> {
        let kid = kid.to_owned();
        self.read(move |c| {
            c.query_row(
                "SELECT id, jwk FROM platforms WHERE kid = ?1 AND removed_at IS NULL",
                [&kid],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(DbError::from)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn enrol(&self, e: NewEnrolment) -> Result<(), StoreError> {
        self.write(move |ctx| {
            let c = ctx.conn;
            let hold: Option<i64> = c
                .prepare_cached(rules::CITIZEN_HOLD_SQLITE)
                .map_err(DbError::from)?
                .query_row([&e.citizen_id], |r| r.get(0))
                .optional()
                .map_err(DbError::from)?;
            rules::judge_enrol_hold(hold)?;
            if let Some(nonce) = e.attestation_nonce {
                let n = c
                    .execute(
                        "DELETE FROM attestation_nonces WHERE nonce_hash = ?1 AND expires_at > ?2",
                        params![nonce.0.as_slice(), e.created_at],
                    )
                    .map_err(DbError::from)?;
                if n != 1 {
                    return Err(StoreError::Refused(Refusal::InvalidAttestation {
                        reason: "nonce unknown, used or expired",
                    }));
                }
            }
            c.execute(
                "INSERT INTO enrolments (id, citizen_id, level, evidence, claims, actor, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![e.id, e.citizen_id, e.level.as_str(), e.evidence.to_string(), e.sealed_claims, e.actor, e.created_at],
            )
            .map_err(DbError::from)?;
            c.execute(
                "INSERT INTO offers (id, enrolment_id, config_ids, code_hash, code_sealed, tx_code_hash, state, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
                params![e.offer_id, e.id, e.config_ids, e.code_hash.0.as_slice(), e.code_sealed, e.tx_code_hash.0.as_slice(), e.created_at, e.expires_at],
            )
            .map_err(DbError::from)?;
            audit::append(
                c,
                e.created_at,
                &e.actor,
                AuditEvent::enrolment(e.level).as_str(),
                Some(&e.id),
                // No offer id: it fetches the pre-authorized code from GET /offers/{id}.
                &json!({"citizen": e.citizen_id, "evidence": e.evidence}),
            )?;
            Ok(())
        })
        .await
    }

    async fn open_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let key = id.to_owned();
        self.read(move |c| {
            c.query_row(
                "SELECT config_ids, code_sealed FROM offers o
                 WHERE id = ?1 AND state = 'open' AND expires_at > ?2 AND code_sealed IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM citizen_holds h JOIN enrolments e
                                     ON e.citizen_id = h.citizen_id WHERE e.id = o.enrolment_id)",
                params![key, now],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .map_err(DbError::from)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn redeem_offer(&self, r: Redemption) -> Result<(), StoreError> {
        let outcome = self
            .write(move |ctx| {
                let c = ctx.conn;
                let t = crate::domain::now();
                let row = c
                    .prepare_cached(
                        "SELECT code_hash, tx_code_hash, attempts, state, expires_at, enrolment_id, config_ids
                         FROM offers WHERE id = ?1",
                    )?
                    .query_row([&r.offer_id], |row| {
                        Ok(rules::OfferRow {
                            code_hash: row.get(0)?,
                            tx_code_hash: row.get(1)?,
                            attempts: row.get(2)?,
                            state: row.get(3)?,
                            expires_at: row.get(4)?,
                            enrolment_id: row.get(5)?,
                            config_ids: row.get(6)?,
                        })
                    })
                    .optional()?;
                let offer = match (rules::judge_redemption(&r, row.as_ref(), t)?, row) {
                    (rules::Judgement::WrongTxCode { attempts, dead }, row) => {
                        // A wrong PIN is a state change on purpose: it counts, and kills the
                        // code at the limit. The job succeeds so that this is committed.
                        c.execute(
                            "UPDATE offers SET attempts = ?2,
                               state = CASE WHEN ?3 THEN 'dead' ELSE state END,
                               code_sealed = CASE WHEN ?3 THEN NULL ELSE code_sealed END
                             WHERE id = ?1",
                            params![r.offer_id, attempts, dead],
                        )?;
                        if dead {
                            // Audited by enrolment: the offer id fetches the code.
                            let enrolment = row.map(|o| o.enrolment_id);
                            audit::append(c, t, "wallet", AuditEvent::OfferDead.as_str(), enrolment.as_deref(), &json!({"attempts": attempts}))?;
                        }
                        return Ok(Err(StoreError::Refused(Refusal::InvalidGrant { reason: "tx_code is wrong" })));
                    }
                    (rules::Judgement::Redeem, Some(offer)) => offer,
                    (rules::Judgement::Redeem, None) => return Err(rules::CODE_UNKNOWN),
                };
                // A revoked or suspended citizen's offer is not redeemable (the single writer
                // makes this check and the redemption one serial step).
                rules::judge_redeem_block(enrolment_block(c, &offer.enrolment_id)?)?;
                let n = c.execute(
                    "UPDATE offers SET state = 'redeemed', code_sealed = NULL
                     WHERE id = ?1 AND state = 'open' AND expires_at > ?2",
                    params![r.offer_id, t],
                )?;
                if n != 1 {
                    return Err(rules::CODE_USED);
                }
                c.prepare_cached(
                    "INSERT INTO access_tokens (id, token_hash, offer_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![r.token_id, r.token_hash.0.as_slice(), r.offer_id, t + r.token_ttl])?;
                insert_refresh_token(c, &r.refresh, &r.refresh.family_id, &offer.enrolment_id, &offer.config_ids, t)?;
                audit::append(c, t, "wallet", AuditEvent::OfferRedeemed.as_str(), Some(&offer.enrolment_id),
                    &json!({"token": r.token_id, "refresh_family": r.refresh.family_id}))?;
                Ok(Ok(()))
            })
            .await?;
        outcome
    }

    async fn refresh_grant(&self, r: RefreshGrant) -> Result<(), StoreError> {
        let outcome = self
            .write(move |ctx| {
                let c = ctx.conn;
                let t = crate::domain::now();
                let row = c
                    .prepare_cached(&format!(
                        "SELECT {} FROM refresh_tokens WHERE id = ?1",
                        rules::REFRESH_ROW_COLUMNS
                    ))?
                    .query_row([&r.presented_id], |row| {
                        Ok(RefreshRow {
                            token_hash: row.get(0)?,
                            family_id: row.get(1)?,
                            enrolment_id: row.get(2)?,
                            config_ids: row.get(3)?,
                            state: row.get(4)?,
                            expires_at: row.get(5)?,
                            used_at: row.get(6)?,
                            next_id: row.get(7)?,
                            superseded: row.get(8)?,
                        })
                    })
                    .optional()?;
                let mut step = rules::judge_refresh(&r, row.as_ref(), t)?;
                let Some(row) = row else { return Err(rules::REFRESH_UNKNOWN) };
                if let RefreshStep::Retry { successor, .. } = &step {
                    // The single writer makes this read and the writes below one serial step.
                    let next = c
                        .prepare_cached(
                            "SELECT r.state, EXISTS (SELECT 1 FROM refreshed_access_tokens a
                                 JOIN refreshed_issuances i ON i.token_id = a.id WHERE a.refresh_id = r.id)
                             FROM refresh_tokens r WHERE r.id = ?1",
                        )?
                        .query_row([successor], |row| {
                            Ok(rules::SuccessorRow { state: row.get(0)?, access_used: row.get(1)? })
                        })
                        .optional()?;
                    step = rules::judge_retry(step, next.as_ref());
                }
                if rules::grants(&step) {
                    step = rules::with_enrolment(step, enrolment_block(c, &row.enrolment_id)?);
                }
                if matches!(step, RefreshStep::Proceed) && r.min_interval > 0 {
                    let last: Option<i64> = c
                        .prepare_cached(rules::FAMILY_LAST_REFRESH_SQLITE)?
                        .query_row([&row.family_id], |row| row.get(0))?;
                    step = rules::judge_rate(step, last, r.min_interval, t);
                }
                let grace = match step {
                    RefreshStep::TooSoon { retry_after } => {
                        audit::append(c, t, "wallet", AuditEvent::RefreshRefused.as_str(), Some(&row.family_id),
                            &rules::too_soon_audit(&r, retry_after))?;
                        // Committed: the audit event; the token is untouched.
                        return Ok(Err(StoreError::Refused(Refusal::RefreshTooSoon { retry_after })));
                    }
                    RefreshStep::Refuse { reason, revoke_family } => {
                        if revoke_family {
                            c.prepare_cached("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = ?1")?
                                .execute([&row.family_id])?;
                            c.prepare_cached(
                                "UPDATE refreshed_access_tokens SET expires_at = 0
                                 WHERE refresh_id IN (SELECT id FROM refresh_tokens WHERE family_id = ?1)",
                            )?
                            .execute([&row.family_id])?;
                        }
                        audit::append(c, t, "wallet", AuditEvent::RefreshRefused.as_str(), Some(&row.family_id),
                            &json!({"token": r.presented_id, "reason": reason}))?;
                        // Committed: the refusal (and a family revocation) must stick.
                        return Ok(Err(StoreError::Refused(Refusal::InvalidGrant { reason })));
                    }
                    RefreshStep::Grace { successor, used_at } => Some((successor, used_at)),
                    RefreshStep::Proceed | RefreshStep::Retry { .. } => None,
                };
                if let Some((successor, _)) = &grace {
                    let n = c
                        .prepare_cached(
                            "UPDATE refresh_tokens SET state = 'revoked', superseded_at = ?2
                             WHERE id = ?1 AND state = 'active'",
                        )?
                        .execute(params![successor, t])?;
                    if n != 1 {
                        return Err(StoreError::Refused(Refusal::InvalidGrant { reason: "refresh token already used" }));
                    }
                    c.prepare_cached("UPDATE refreshed_access_tokens SET expires_at = 0 WHERE refresh_id = ?1")?
                        .execute([successor])?;
                    c.prepare_cached("UPDATE refresh_tokens SET next_id = ?2 WHERE id = ?1 AND state = 'used'")?
                        .execute(params![r.presented_id, r.next.id])?;
                } else {
                    let spent = c
                        .prepare_cached(
                            "UPDATE refresh_tokens SET state = 'used', used_at = ?2, next_id = ?3
                             WHERE id = ?1 AND state = 'active'",
                        )?
                        .execute(params![r.presented_id, t, r.next.id])?;
                    if spent != 1 {
                        return Err(StoreError::Refused(Refusal::InvalidGrant { reason: "refresh token already used" }));
                    }
                }
                insert_refresh_token(c, &r.next, &row.family_id, &row.enrolment_id, &row.config_ids, t)?;
                c.prepare_cached(
                    "INSERT INTO refreshed_access_tokens (id, token_hash, refresh_id, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![r.access_id, r.access_hash.0.as_slice(), r.next.id, t + r.access_ttl])?;
                let (event, detail) = rules::refresh_audit(&r, &row, grace.as_ref(), t);
                audit::append(c, t, "wallet", event.as_str(), Some(&row.family_id), &detail)?;
                Ok(Ok(()))
            })
            .await?;
        outcome
    }

    async fn issue(&self, r: IssueRecord) -> Result<Issuance, StoreError> {
        self.write(move |ctx| {
            let t = r.now;
            let row = ctx
                .conn
                .prepare_cached(rules::ACCESS_GRANT_SQLITE)?
                .query_row([&r.token_id], |row| {
                    Ok(rules::TokenRow {
                        token_hash: row.get(0)?,
                        expires_at: row.get(1)?,
                        config_ids: row.get(2)?,
                        enrolment_id: row.get(3)?,
                        level: row.get(4)?,
                        citizen_id: row.get(5)?,
                        claims: row.get(6)?,
                        refreshed: row.get::<_, i64>(7)? == 1,
                    })
                })
                .optional()?;
            let (token, level, claims) = rules::judge_token(&r, row)?;
            rules::judge_holders(&r)?;
            // Every access token, refreshed or not: a citizen revoked or suspended after the
            // token was granted gets nothing more from it.
            if enrolment_block(ctx.conn, &token.enrolment_id)?.is_some() {
                return Err(rules::BLOCKED);
            }
            let sql = match token.refreshed {
                false => "INSERT OR IGNORE INTO token_issuances (token_id, config_id) VALUES (?1, ?2)",
                true => "INSERT OR IGNORE INTO refreshed_issuances (token_id, config_id) VALUES (?1, ?2)",
            };
            let n = ctx.conn.prepare_cached(sql)?.execute(params![r.token_id, r.config.as_str()])?;
            if n != 1 {
                return Err(rules::ALREADY_ISSUED);
            }
            // A c_nonce is stateless until used: using it records it, once (primary key).
            for (nonce, expires_at) in &r.nonces {
                let n = ctx
                    .conn
                    .prepare_cached("INSERT OR IGNORE INTO c_nonces (nonce_hash, expires_at) VALUES (?1, ?2)")?
                    .execute(params![nonce.as_slice(), expires_at])?;
                if n != 1 {
                    return Err(StoreError::Refused(Refusal::InvalidNonce));
                }
            }
            for (i, replay) in r.replays.iter().enumerate() {
                let n = ctx
                    .conn
                    .prepare_cached("INSERT OR IGNORE INTO used_proofs (proof_hash, expires_at) VALUES (?1, ?2)")?
                    .execute(params![replay.0.as_slice(), r.proof_expiry])?;
                if n != 1 {
                    return Err(StoreError::proof(i, "proof already used"));
                }
            }
            let fresh = r.ids.first().cloned().ok_or(DbError::Corrupt { what: "issuance ids" })?;
            // A refreshed batch joins the batch of the copies it replaces, so revoking or
            // suspending any copy of any generation reaches all of them.
            let lineage = match token.refreshed {
                true => ctx
                    .conn
                    .prepare_cached(rules::LINEAGE_SQLITE)?
                    .query_row(params![token.enrolment_id, r.config.as_str()], |row| row.get(0))
                    .optional()?,
                false => None,
            };
            let batch_id = lineage.unwrap_or(fresh);
            let mut entries = Vec::with_capacity(r.holders.len());
            for (i, (holder, id)) in r.holders.iter().zip(r.ids.iter().skip(1)).enumerate() {
                let (shard, idx) = allocate(ctx, r.shard_size)?;
                // A holder key bound to any credential (unique index, migration 7) refuses the
                // request; the error rolls everything back.
                let n = ctx
                    .conn
                    .prepare_cached(
                        "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                           status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                         ON CONFLICT (holder_thumbprint) DO NOTHING",
                    )?
                    .execute(params![
                        id, token.enrolment_id, token.citizen_id, batch_id, r.config.as_str(), level.as_str(),
                        r.config.format.as_str(), shard, idx, r.kid, holder, t, t + r.validity
                    ])?;
                if n != 1 {
                    return Err(rules::holder_reused(i));
                }
                audit::append(
                    ctx.conn, t, "wallet", AuditEvent::CredentialIssued.as_str(), Some(id),
                    &rules::issued_detail(&token.enrolment_id, &batch_id, r.config, shard, idx, &r.kid),
                )?;
                entries.push((id.clone(), shard, idx));
            }
            Ok(Issuance { enrolment_id: token.enrolment_id, level, claims, entries, batch_id })
        })
        .await
    }

    async fn change_status(
        &self,
        key: StatusKey,
        action: StatusAction,
        actor: &str,
        now: i64,
    ) -> Result<(StatusChange, Vec<i64>), StoreError> {
        let actor = actor.to_owned();
        self.write(move |ctx| {
            let c = ctx.conn;
            let (sql, params): (&str, Vec<rusqlite::types::Value>) = match &key {
                StatusKey::Credential(id) => (
                    "SELECT id, status, status_shard, status_idx FROM credentials WHERE batch_id IN
                       (SELECT batch_id FROM credentials WHERE id = ?1) ORDER BY id",
                    vec![id.clone().into()],
                ),
                StatusKey::Entry { shard, idx } => (
                    "SELECT id, status, status_shard, status_idx FROM credentials WHERE batch_id IN
                       (SELECT batch_id FROM credentials WHERE status_shard = ?1 AND status_idx = ?2) ORDER BY id",
                    vec![(*shard).into(), i64::from(*idx).into()],
                ),
                StatusKey::Citizen(citizen) => (
                    "SELECT id, status, status_shard, status_idx FROM credentials WHERE citizen_id = ?1 ORDER BY id",
                    vec![citizen.clone().into()],
                ),
            };
            let rows = c
                .prepare(sql)
                .map_err(DbError::from)?
                .query_map(rusqlite::params_from_iter(params), |r| {
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
            let plan = match &key {
                StatusKey::Citizen(citizen) => {
                    let known: bool = c
                        .query_row(rules::CITIZEN_KNOWN_SQLITE, [citizen], |r| r.get(0))
                        .map_err(DbError::from)?;
                    let hold: Option<i64> = c
                        .query_row(rules::CITIZEN_HOLD_SQLITE, [citizen], |r| r.get(0))
                        .optional()
                        .map_err(DbError::from)?;
                    rules::plan_citizen_change(rows, action, rules::block_of(hold)?, known)?
                }
                _ => rules::plan_status_change(rows, action)?,
            };
            if let StatusKey::Citizen(citizen) = &key {
                apply_hold(c, citizen, plan.hold, action, &actor, now)?;
            }
            for (id, from, to, shard, idx) in &plan.changes {
                c.execute("UPDATE credentials SET status = ?2 WHERE id = ?1", params![id, to.bits()])
                    .map_err(DbError::from)?;
                // Same transaction: the change log never misses a change (deltas).
                status_changes::record(c, now, *shard, *idx, i64::from(to.bits()))?;
                audit::append(
                    c,
                    now,
                    &actor,
                    AuditEvent::Status(action).as_str(),
                    Some(id),
                    &json!({"from": from.as_str(), "to": to.as_str()}),
                )?;
            }
            for shard in &plan.shards {
                c.execute("UPDATE status_shards SET version = version + 1 WHERE shard = ?1", [shard])
                    .map_err(DbError::from)?;
            }
            Ok(plan.finish())
        })
        .await
    }

    async fn shard_version(&self, shard: i64) -> Result<Option<i64>, StoreError> {
        self.read(move |c| {
            c.prepare_cached("SELECT version FROM status_shards WHERE shard = ?1")?
                .query_row([shard], |r| r.get(0))
                .optional()
                .map_err(DbError::from)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn shard_entries(&self, shard: i64) -> Result<Option<ShardEntries>, StoreError> {
        self.read(move |c| {
            // One read transaction, so size, version and entries agree.
            c.execute_batch("BEGIN")?;
            let result = (|| {
                let head: Option<(i64, i64)> = c
                    .query_row(
                        "SELECT size, version FROM status_shards WHERE shard = ?1",
                        [shard],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let Some((size, version)) = head else { return Ok(None) };
                // Read before the entries: they reflect at least every change up to it.
                let status_seq = status_changes::high_water(c)?;
                let mut s = c.prepare_cached(
                    "SELECT status_idx, status FROM credentials WHERE status_shard = ?1 AND status <> 0",
                )?;
                let entries = s
                    .query_map([shard], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, DbError>(Some(ShardEntries { size, version, entries, status_seq }))
            })();
            let _ = c.execute_batch("COMMIT");
            result
        })
        .await
        .map_err(StoreError::from)
    }

    async fn status_high_water(&self) -> Result<i64, StoreError> {
        self.read(status_changes::high_water)
            .await
            .map_err(StoreError::from)
    }

    async fn status_log_bounds(&self, since: i64) -> Result<LogBounds, StoreError> {
        self.read(move |c| status_changes::bounds(c, since))
            .await
            .map_err(StoreError::from)
    }

    async fn status_log_between(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<(Vec<LoggedChange>, ShardSizes), StoreError> {
        self.read(move |c| status_changes::between(c, after, upto))
            .await
            .map_err(StoreError::from)
    }

    async fn shards(&self) -> Result<Vec<i64>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare("SELECT shard FROM status_shards ORDER BY shard")?;
            let v = s
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok::<_, DbError>(v)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn add_officer(
        &self,
        actor: &str,
        info: OfficerInfo,
        token_hash: SecretDigest,
    ) -> Result<(), StoreError> {
        let actor = actor.to_owned();
        self.write(move |ctx| {
            ctx.conn.execute(
                "INSERT INTO officers (id, name, role, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![info.id, info.name, info.role, token_hash.0.as_slice(), info.created_at],
            )?;
            audit::append(ctx.conn, info.created_at, &actor, AuditEvent::OfficerAdded.as_str(), Some(&info.id), &json!({"role": info.role}))?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    async fn list_officers(&self) -> Result<Vec<OfficerInfo>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT id, name, role, created_at FROM officers WHERE removed_at IS NULL ORDER BY created_at, id",
            )?;
            let rows = s
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, name, role, created_at)| {
                    Ok(OfficerInfo {
                        id,
                        name,
                        role: rules::officer_role(&role)?.as_str(),
                        created_at,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()
        })
        .await
        .map_err(StoreError::from)
    }

    async fn remove_officer(&self, actor: &str, id: &str, now: i64) -> Result<(), StoreError> {
        let (actor, id) = (actor.to_owned(), id.to_owned());
        self.write(move |ctx| {
            let n = ctx.conn.execute(
                "UPDATE officers SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
                params![id, now],
            )?;
            if n == 0 {
                return Err(StoreError::Refused(Refusal::NotFound { what: "officer" }));
            }
            audit::append(
                ctx.conn,
                now,
                &actor,
                AuditEvent::OfficerRemoved.as_str(),
                Some(&id),
                &json!({}),
            )?;
            Ok(())
        })
        .await
    }

    async fn officer_secret(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT role, token_hash FROM officers WHERE id = ?1 AND removed_at IS NULL",
            )?
            .query_row([&id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()
            .map_err(DbError::from)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn add_platform(
        &self,
        actor: &str,
        row: PlatformInfo,
        jwk: String,
    ) -> Result<(), StoreError> {
        let actor = actor.to_owned();
        self.write(move |ctx| {
            let exists: bool = ctx
                .conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM platforms WHERE kid = ?1 AND removed_at IS NULL)",
                    [&row.kid],
                    |r| r.get(0),
                )
                .map_err(DbError::from)?;
            if exists {
                return Err(StoreError::invalid_request("platform key already registered"));
            }
            ctx.conn
                .execute("DELETE FROM platforms WHERE kid = ?1", [&row.kid])
                .map_err(DbError::from)?;
            ctx.conn.execute(
                "INSERT INTO platforms (id, name, kid, jwk, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.id, row.name, row.kid, jwk, row.created_at],
            ).map_err(DbError::from)?;
            audit::append(ctx.conn, row.created_at, &actor, AuditEvent::PlatformAdded.as_str(), Some(&row.id), &json!({"kid": row.kid}))?;
            Ok(())
        })
        .await
    }

    async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT id, name, kid, created_at FROM platforms WHERE removed_at IS NULL ORDER BY created_at, id",
            )?;
            let rows = s
                .query_map([], |r| {
                    Ok(PlatformInfo {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        kid: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, DbError>(rows)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn remove_platform(&self, actor: &str, id: &str, now: i64) -> Result<(), StoreError> {
        let (actor, id) = (actor.to_owned(), id.to_owned());
        self.write(move |ctx| {
            let n = ctx.conn.execute(
                "UPDATE platforms SET removed_at = ?2 WHERE (id = ?1 OR kid = ?1) AND removed_at IS NULL",
                params![id, now],
            )?;
            if n == 0 {
                return Err(StoreError::Refused(Refusal::NotFound { what: "platform" }));
            }
            audit::append(ctx.conn, now, &actor, AuditEvent::PlatformRemoved.as_str(), Some(&id), &json!({}))?;
            Ok(())
        })
        .await
    }

    async fn key_rows(&self) -> Result<Vec<KeyRow>, StoreError> {
        self.read(|c| {
            let mut s = c.prepare(&format!(
                "SELECT {} FROM signing_keys ORDER BY not_before, kid",
                rules::KEY_ROW_COLUMNS
            ))?;
            let rows = s
                .query_map([], key_columns)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(rules::decode_key_row)
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(StoreError::from)
    }

    async fn active_kid(&self, purpose: KeyPurpose) -> Result<Option<String>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT kid FROM signing_keys WHERE purpose = ?1 AND state = 'active'",
            )?
            .query_row([purpose.as_str()], |r| r.get(0))
            .optional()
            .map_err(DbError::from)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn create_first_key(&self, row: KeyRow) -> Result<bool, StoreError> {
        self.write(move |ctx| {
            let exists: bool = ctx.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE purpose = ?1 AND state = 'active')",
                [row.purpose.as_str()],
                |r| r.get(0),
            )?;
            if exists {
                return Ok(false);
            }
            insert_key(ctx.conn, &row)?;
            audit::append(
                ctx.conn,
                row.not_before,
                "system",
                AuditEvent::KeyCreated.as_str(),
                Some(&row.kid),
                &json!({"purpose": row.purpose.as_str(), "alg": row.alg.as_str()}),
            )?;
            Ok::<_, StoreError>(true)
        })
        .await
    }

    async fn rotate_key(
        &self,
        actor: &str,
        row: KeyRow,
        max_validity: i64,
    ) -> Result<String, StoreError> {
        let actor = actor.to_owned();
        self.write(move |ctx| {
            let now = row.not_before;
            let old: String = ctx.conn.query_row(
                "SELECT kid FROM signing_keys WHERE purpose = 'credential' AND state = 'active'",
                [],
                |r| r.get(0),
            )?;
            let last: Option<i64> = ctx.conn.query_row(
                "SELECT MAX(expires_at) FROM credentials WHERE kid = ?1",
                [&old],
                |r| r.get(0),
            )?;
            let last = last.unwrap_or(0).max(now + max_validity);
            ctx.conn.execute(
                "UPDATE signing_keys SET state = 'retired', not_after = ?2, last_credential_expiry = ?3 WHERE kid = ?1",
                params![old, now, last],
            )?;
            insert_key(ctx.conn, &row)?;
            audit::append(ctx.conn, now, &actor, AuditEvent::KeyRotated.as_str(), Some(&row.kid), &json!({"retired": old, "alg": row.alg.as_str()}))?;
            Ok::<_, StoreError>(old)
        })
        .await
    }

    async fn record_direct(&self, r: DirectRecord) -> Result<(i64, u32), StoreError> {
        self.write(move |ctx| {
            ensure_sim_enrolment(ctx.conn, r.level, r.now)?;
            let (shard, idx) = allocate(ctx, r.shard_size)?;
            ctx.conn.execute(
                "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                   status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                 VALUES (?1, ?2, ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![r.id, SIM_ENROLMENT, r.config.as_str(), r.level.as_str(), r.config.format.as_str(),
                        shard, idx, r.kid, r.holder, r.now, r.now + r.validity],
            )?;
            Ok::<_, StoreError>((shard, idx))
        })
        .await
    }

    async fn simulate(
        &self,
        n: u64,
        base: u64,
        threshold: u32,
        kid: String,
        t: i64,
        shard_size: u32,
    ) -> Result<u64, StoreError> {
        self.write(move |ctx| {
            ensure_sim_enrolment(ctx.conn, Level::Basic, t)?;
            let mut revoked = 0u64;
            for i in 0..n {
                let (shard, idx) = allocate(ctx, shard_size)?;
                let status = if ctx.rng.next_u32() < threshold {
                    revoked += 1;
                    1
                } else {
                    0
                };
                let id = format!("sim-{}", base + i);
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                           status_shard, status_idx, status, kid, holder_thumbprint, issued_at, expires_at)
                         VALUES (?1, ?2, ?2, ?1, 'citizen_id_basic_dc_sd_jwt', 'basic', 'dc+sd-jwt',
                           ?3, ?4, ?5, ?6, 'simulated:' || ?1, ?7, ?8)",
                    )?
                    .execute(params![id, SIM_ENROLMENT, shard, idx, status, kid, t, t + 86_400])?;
                if status != 0 {
                    // Logged like a real change, so deltas see it.
                    status_changes::record(ctx.conn, t, shard, i64::from(idx), status)?;
                }
            }
            Ok::<_, StoreError>(revoked)
        })
        .await
    }

    async fn audit_recent(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |c| audit::recent(c, limit))
            .await
            .map_err(StoreError::from)
    }

    async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        event: AuditEvent,
        subject: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let (actor, subject) = (actor.to_owned(), subject.map(str::to_owned));
        self.write(move |ctx| {
            audit::append(
                ctx.conn,
                at,
                &actor,
                event.as_str(),
                subject.as_deref(),
                &detail,
            )?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    async fn lift_citizen_hold(
        &self,
        citizen: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let (citizen, actor, reason) = (citizen.to_owned(), actor.to_owned(), reason.to_owned());
        self.write(move |ctx| {
            let c = ctx.conn;
            let known: bool = c
                .query_row(rules::CITIZEN_KNOWN_SQLITE, [&citizen], |r| r.get(0))
                .map_err(DbError::from)?;
            let hold: Option<i64> = c
                .query_row(rules::CITIZEN_HOLD_SQLITE, [&citizen], |r| r.get(0))
                .optional()
                .map_err(DbError::from)?;
            rules::judge_lift_hold(known, hold)?;
            c.execute(rules::LIFT_REVOCATION_HOLD_SQLITE, [&citizen])
                .map_err(DbError::from)?;
            audit::append(
                c,
                now,
                &actor,
                AuditEvent::CitizenLiftHold.as_str(),
                Some(&citizen),
                &json!({"reason": reason, "was": "revoked"}),
            )?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    async fn record_key_withdrawal(
        &self,
        at: i64,
        actor: &str,
        kid: &str,
        since: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let (actor, kid) = (actor.to_owned(), kid.to_owned());
        self.write(move |ctx| {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO key_withdrawals (kid, since, withdrawn_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (kid) DO UPDATE SET
                       since = CASE WHEN key_withdrawals.since IS NULL OR excluded.since IS NULL
                                    THEN NULL ELSE min(key_withdrawals.since, excluded.since) END,
                       withdrawn_at = min(key_withdrawals.withdrawn_at, excluded.withdrawn_at)",
                )?
                .execute(params![kid, since, at])?;
            audit::append(
                ctx.conn,
                at,
                &actor,
                AuditEvent::KeyWithdrawn.as_str(),
                Some(&kid),
                &detail,
            )?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    async fn key_withdrawals(&self, limit: i64) -> Result<Vec<KeyWithdrawal>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT kid, since, withdrawn_at FROM key_withdrawals
                 ORDER BY withdrawn_at, kid LIMIT ?1",
            )?
            .query_map([limit], |r| {
                Ok(KeyWithdrawal {
                    kid: r.get(0)?,
                    since: r.get(1)?,
                    withdrawn_at: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()
            .map_err(DbError::from)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn audit_list(
        &self,
        filter: crate::domain::audit::AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |c| audit::list(c, &filter))
            .await
            .map_err(StoreError::from)
    }
}

impl Db {
    async fn insert_nonce(
        &self,
        table: &'static str,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.write(move |ctx| {
            ctx.conn
                .prepare_cached(&format!(
                    "INSERT INTO {table} (nonce_hash, expires_at) VALUES (?1, ?2)"
                ))?
                .execute(params![digest.0.as_slice(), expires_at])?;
            Ok::<_, StoreError>(())
        })
        .await
    }

    #[cfg(feature = "test-util")]
    async fn count_sql(&self, sql: String) -> Result<i64, StoreError> {
        self.read(move |c| Ok::<_, DbError>(c.query_row(&sql, [], |r| r.get(0))?))
            .await
            .map_err(StoreError::from)
    }

    async fn sweep_sql(
        &self,
        sql: &'static str,
        cutoff: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        self.write(move |ctx| {
            let n = ctx
                .conn
                .prepare_cached(sql)?
                .execute(params![cutoff, limit])?;
            Ok::<_, StoreError>(n as u64)
        })
        .await
    }
}
