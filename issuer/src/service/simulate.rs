//! Direct issuance without the OpenID4VCI flow, for tests and the national-scale measurement:
//! rows are inserted straight into storage (an enrolment marked `simulated`, credentials with
//! status entries drawn like real ones), and a real credential can be signed for one of them.
//! Never reachable over HTTP.

use crate::domain::ConfigId;
use crate::error::ApiError;
use crate::secret::random_id;
use crate::service::Issuer;
use crate::store::DirectRecord;
use credential::citizen::{issue, CitizenClaims, Level};
use credential::jose::PublicJwk;
use credential::status_list::StatusReference;

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
        let signer = self.signer().await?;
        let kid = signer.kid().to_owned();
        let t = self.now();
        let validity = self.config.credential_validity_days * 86_400;
        let shard_size = self.config.shard_size;
        let config = ConfigId::ALL
            .iter()
            .copied()
            .find(|c| c.level == level && c.format == credential::citizen::Format::DcSdJwt)
            .ok_or_else(|| ApiError::Internal("no configuration for level".into()))?;
        let id = random_id(&mut *self.rng());
        let (shard, idx) = self
            .store
            .record_direct(DirectRecord {
                id: id.clone(),
                level,
                config,
                kid,
                holder: holder.thumbprint().to_owned(),
                now: t,
                validity,
                shard_size,
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
    /// were revoked. For the national-scale measurement (the `scale` binary).
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
        let t = self.now();
        let mut revoked = 0u64;
        let mut done = 0u64;
        // Chunks keep each transaction (and the writer's queue) bounded.
        while done < count {
            let n = (count - done).min(100_000);
            revoked += self
                .store
                .simulate(n, done, threshold, kid.clone(), t, shard_size)
                .await?;
            done += n;
        }
        self.status_cache.clear();
        Ok(revoked)
    }
}
