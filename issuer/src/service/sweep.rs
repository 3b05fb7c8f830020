//! Housekeeping: deletes single-use and short-lived rows nothing can use any more, and
//! status-change log rows older than the delta window (`docs/issuer/storage.md`, "Housekeeping").
//!
//! ```text
//! issuer serve (every sweep_interval) ─┐
//! issuer sweep ────────────────────────┴─► Issuer::sweep ─► Store::sweep_lock (PostgreSQL:
//!     pg_try_advisory_lock; busy = another replica sweeps, skip) ─► for each SweepStep:
//!     DELETE ... LIMIT sweep_chunk, one transaction per chunk, until a chunk deletes nothing
//!     ─► one `housekeeping.sweep` audit event with the counts
//! ```
//!
//! What goes, and why it is safe:
//! - `c_nonces`, `attestation_nonces`: past `expires_at` (consuming one checks
//!   `expires_at > now`, so an expired row can only be refused).
//! - `used_proofs`: past `expires_at`, which is `now + proof_max_age + 120` at issuance: by then
//!   the proof's `iat` (at most 60 s ahead) is older than `proof_max_age`, so the proof is
//!   refused as stale and the replay row is no longer needed.
//! - access tokens (both kinds) with their issuance rows, and offers: expired more than
//!   [`SWEEP_GRACE`] ago, children first, never a row a foreign key still points at.
//! - refresh tokens: only whole families whose every token expired more than [`SWEEP_GRACE`]
//!   ago, so reuse detection inside a live family keeps every `used` token.
//! - `status_changes`: rows older than [`DELTA_MAX_BASE_AGE`], always keeping the newest (the
//!   high-water mark never goes back). A delta base whose row is gone is answered
//!   `delta_base_unknown`, as it was already refused for its age.
//!
//! Never deleted: enrolments, credentials, status shards, keys, officers, platforms and the
//! append-only audit trail (which names ids only, so it needs none of the deleted rows).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::service::delta::DELTA_MAX_BASE_AGE;
use crate::service::Issuer;
use crate::store::SweepStep;

/// Extra seconds past expiry before a token or offer row goes, so a request that read it
/// just before it expired never races its deletion.
pub const SWEEP_GRACE: i64 = 300;

/// What one sweep deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// The time the sweep judged expiry against.
    pub now: i64,
    /// Rows deleted per step, in [`SweepStep::ALL`] order.
    pub deleted: Vec<(SweepStep, u64)>,
}

impl SweepReport {
    /// Rows deleted from `table`.
    pub fn count(&self, table: &str) -> u64 {
        self.deleted
            .iter()
            .filter(|(s, _)| s.table() == table)
            .map(|(_, n)| n)
            .sum()
    }

    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }

    /// `{"c_nonces": n, ...}`: the audit detail and `issuer sweep --json`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (step, n) in &self.deleted {
            m.insert(step.table().into(), Value::from(*n));
        }
        Value::Object(m)
    }
}

impl Issuer {
    /// Runs one sweep now, audited as `actor`. `None` when another replica holds the sweep
    /// lock (it is sweeping; nothing to do).
    ///
    /// # Errors
    /// Storage errors; the chunks committed before one failed stay deleted.
    pub async fn sweep(&self, actor: &str) -> Result<Option<SweepReport>, ApiError> {
        self.sweep_at(actor, self.now()).await
    }

    /// [`Issuer::sweep`] judging expiry at `now` (tests move the clock forward).
    ///
    /// # Errors
    /// As [`Issuer::sweep`].
    pub async fn sweep_at(&self, actor: &str, now: i64) -> Result<Option<SweepReport>, ApiError> {
        let Some(lock) = self.store.sweep_lock().await? else {
            return Ok(None);
        };
        let limit = self.config.sweep_chunk;
        let mut deleted = Vec::with_capacity(SweepStep::ALL.len());
        for step in SweepStep::ALL {
            let cutoff = match step {
                SweepStep::CNonces | SweepStep::AttestationNonces | SweepStep::UsedProofs => now,
                SweepStep::StatusChanges => now - DELTA_MAX_BASE_AGE,
                _ => now - SWEEP_GRACE,
            };
            let mut total = 0u64;
            loop {
                let n = self.store.sweep_chunk(&lock, step, cutoff, limit).await?;
                total += n;
                if n == 0 {
                    break;
                }
            }
            deleted.push((step, total));
        }
        let report = SweepReport { now, deleted };
        self.store
            .sweep_audit(&lock, now, actor, report.to_json())
            .await?;
        lock.release().await;
        tracing::info!(deleted = report.total(), "housekeeping sweep");
        Ok(Some(report))
    }
}

/// Sweeps every `interval` until the task is dropped (`issuer serve` runs it beside the server).
/// Failures are logged and retried at the next tick.
pub async fn run_periodically(issuer: Arc<Issuer>, interval: Duration) {
    // A zero period would make `interval` panic.
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once; let the server start first.
    tick.tick().await;
    loop {
        tick.tick().await;
        match issuer.sweep("system").await {
            Ok(Some(_)) => {}
            Ok(None) => tracing::debug!("housekeeping sweep skipped: another replica sweeps"),
            Err(e) => tracing::warn!(error = %e, "housekeeping sweep failed"),
        }
    }
}
