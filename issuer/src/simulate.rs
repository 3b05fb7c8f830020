//! Direct issuance without the OpenID4VCI flow, for tests and the national-scale measurement:
//! rows are inserted straight into storage (an enrolment marked `simulated`, credentials with
//! status entries drawn like real ones), and a real credential can be signed for one of them.
//! Never reachable over HTTP.

use credential::citizen::{issue, CitizenClaims, Level};
use credential::jose::PublicJwk;
use credential::status_list::StatusReference;
use rand_core::RngCore as _;
use rusqlite::params;

use crate::db::DbError;
use crate::error::ApiError;
use crate::model::{now, ConfigId};
use crate::secret::random_id;
use crate::service::Issuer;

/// A credential issued by [`Issuer::issue_direct`].
#[derive(Debug, Clone)]
pub struct DirectCredential {
    /// The credential id (for [`Issuer::change_status`]).
    pub id: String,
    /// The SD-JWT (`<jwt>~<disclosures>~`).
    pub sd_jwt: String,
    /// Its status entry.
    pub status: StatusReference,
}

const SIM_ENROLMENT: &str = "simulated";

fn ensure_enrolment(conn: &rusqlite::Connection, level: Level) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR IGNORE INTO enrolments (id, citizen_id, level, evidence, claims, actor, created_at)
         VALUES (?1, ?1, ?2, 'simulated', NULL, 'simulate', ?3)",
        params![SIM_ENROLMENT, level.as_str(), now()],
    )?;
    Ok(())
}

impl Issuer {
    /// Issues one credential to `holder` without the OpenID4VCI flow: allocates a status entry,
    /// records the credential and signs it with the active key. For tests and key-ceremony
    /// demonstrations only.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn issue_direct(
        &self,
        claims: &CitizenClaims,
        level: Level,
        holder: &PublicJwk,
    ) -> Result<DirectCredential, ApiError> {
        let signer = self.keys.active();
        let kid = signer.kid().to_owned();
        let t = now();
        let validity = self.config.credential_validity_days * 86_400;
        let shard_size = self.config.shard_size;
        let config = ConfigId::ALL
            .iter()
            .copied()
            .find(|c| c.level == level && c.format == credential::citizen::Format::DcSdJwt)
            .ok_or_else(|| ApiError::Internal("no configuration for level".into()))?;
        let id = random_id(&mut *self.rng());
        let holder_tp = holder.thumbprint().to_owned();
        let row_id = id.clone();
        let (shard, idx) = self
            .db
            .write(move |ctx| {
                ensure_enrolment(ctx.conn, level)?;
                let (shard, idx) = crate::status::allocate(ctx, shard_size)?;
                ctx.conn.execute(
                    "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                       status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                     VALUES (?1, ?2, ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![row_id, SIM_ENROLMENT, config.as_str(), level.as_str(), config.format.as_str(),
                            shard, idx, kid, holder_tp, t, t + validity],
                )?;
                Ok::<_, DbError>((shard, idx))
            })
            .await?;
        self.status_cache.invalidate(&[shard]);
        let status = StatusReference {
            idx: u64::from(idx),
            uri: self.status_uri(shard),
        };
        let request = credential::citizen::IssueRequest {
            claims,
            level,
            format: config.format,
            issuer: self.url(),
            holder,
            status: Some(&status),
            issued_at: t,
            expires_at: t + validity,
        };
        let mut rng = self.child_rng();
        let sd_jwt = issue(&request, &signer, &mut rng)
            .map_err(|e| ApiError::Internal(format!("issue: {e}")))?;
        Ok(DirectCredential { id, sd_jwt, status })
    }

    /// Fills status storage with `count` simulated credentials (direct inserts, indexes drawn
    /// like real ones), revoking each with probability `revoked_fraction`. Returns how many
    /// were revoked. For the national-scale measurement (`issuer scale`).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn simulate_credentials(
        &self,
        count: u64,
        revoked_fraction: f64,
    ) -> Result<u64, ApiError> {
        let kid = self.keys.active().kid().to_owned();
        let shard_size = self.config.shard_size;
        let threshold = (revoked_fraction.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u32;
        let t = now();
        let mut revoked = 0u64;
        let mut done = 0u64;
        // Chunks keep each transaction (and the writer's queue) bounded.
        while done < count {
            let n = (count - done).min(100_000);
            let kid = kid.clone();
            let base = done;
            revoked += self
                .db
                .write(move |ctx| {
                    ensure_enrolment(ctx.conn, Level::Basic)?;
                    let mut revoked = 0u64;
                    for i in 0..n {
                        let (shard, idx) = crate::status::allocate(ctx, shard_size)?;
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
                                   ?3, ?4, ?5, ?6, 'simulated', ?7, ?8)",
                            )?
                            .execute(params![id, SIM_ENROLMENT, shard, idx, status, kid, t, t + 86_400])?;
                        if status != 0 {
                            // Logged like a real change, so deltas see it.
                            crate::status_changes::record(ctx.conn, t, shard, i64::from(idx), status)?;
                        }
                    }
                    Ok::<_, DbError>(revoked)
                })
                .await?;
            done += n;
        }
        self.status_cache.clear();
        Ok(revoked)
    }
}
