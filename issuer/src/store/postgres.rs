//! The PostgreSQL backend, for several stateless issuer replicas over one database.
//!
//! ```text
//!  replica A ─┐                     ┌─ offers row:  SELECT ... FOR UPDATE, conditional UPDATE
//!  replica B ─┼─ deadpool pool ──►  ├─ c_nonces:    INSERT ... ON CONFLICT DO NOTHING (used once)
//!  replica C ─┘   (per replica)     ├─ used_proofs, token_issuances: INSERT ... ON CONFLICT DO NOTHING
//!                                   ├─ status_shards row: SELECT ... FOR UPDATE (index allocation)
//!                                   └─ signing_keys: pg_advisory_xact_lock + one_active_key index
//! ```
//!
//! Each operation runs in one READ COMMITTED transaction whose single-use and allocation steps
//! take row locks or rely on unique keys, so two replicas cannot both succeed. A transaction
//! that fails with a serialization failure, a deadlock or a unique-key race is retried from the
//! start, at most [`MAX_ATTEMPTS`] times. Every other failure (the server down or restarting)
//! is an [`crate::store::StoreError::Storage`], which clients see as `server_error`; the pool drops broken
//! connections and opens new ones by itself, so a replica recovers without a restart.
//!
//! Migrations: the same numbered list as SQLite's, in PostgreSQL's dialect, applied under
//! `pg_advisory_lock` so replicas starting together apply each once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use credential::citizen::Level;

use super::error::DbError;
use super::error::StoreError;
use super::interface::{mismatched_lock, Store, SweepLock, SweepStep};
use super::pg_tls::{DatabaseTls, PgTls, SslMode};
use super::rows::{
    DirectRecord, Issuance, IssueRecord, KeyRow, NewEnrolment, NewRefresh, Redemption,
    RefreshGrant, ShardEntries, StatusKey, SIM_ENROLMENT,
};
use super::rules::{self, RefreshRow, RefreshStep};
use super::settings::DatabaseUrl;
use crate::domain::audit::{AuditEntry, AuditEvent, AuditFilter};
use crate::domain::keys::{KeyPurpose, KeyWithdrawal};
use crate::domain::people::{OfficerInfo, PlatformInfo};
use crate::domain::refusal::Refusal;
use crate::domain::status::{LogBounds, LoggedChange, ShardSizes, StatusChange};
use crate::domain::StatusAction;
use crate::secret::SecretDigest;

/// Attempts of one transaction that meets serialization failures, deadlocks or unique races.
pub const MAX_ATTEMPTS: u32 = 8;

/// Advisory lock key of the migrations ("issuer-m").
const MIGRATION_LOCK: i64 = 0x6973_7375_6572_2d6d;
/// Advisory lock key of status changes ("issuer-s").
const STATUS_LOCK: i64 = 0x6973_7375_6572_2d73;
/// Advisory lock key of the housekeeping sweep ("issuer-w"), a session lock.
const SWEEP_LOCK: i64 = 0x6973_7375_6572_2d77;
/// Advisory lock key of signing-key changes ("issuer-k").
const KEY_LOCK: i64 = 0x6973_7375_6572_2d6b;
/// First key of the per-citizen advisory locks ("issc"; the second is `hashtext(citizen_id)`):
/// issuing paths take it shared before checking the citizen's hold and statuses, status
/// changes take it exclusive before reading the credentials they change, so a revocation and
/// an issuance for one citizen serialise.
const CITIZEN_LOCK: i32 = 0x6973_7363;

pub use super::migrations::SCHEMA_VERSION;
use super::migrations::{self, Dialect};

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        DbError::Postgres(e)
    }
}

/// Whether a failed transaction may succeed when run again from the start.
fn retryable(e: &StoreError) -> bool {
    let StoreError::Storage(DbError::Postgres(e)) = e else {
        return false;
    };
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

/// Runs `$body` in a transaction on a pooled connection (`$tx` names it), commits, and retries
/// the whole transaction when [`retryable`]. `$body` is an expression that may use `?` and
/// `.await`, and evaluates to the value returned on commit.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0u32;
        let submitted = std::time::Instant::now();
        let mut waited = None;
        let result = loop {
            attempt += 1;
            let result: Result<_, StoreError> = async {
                let mut client = $store.client().await?;
                waited.get_or_insert_with(|| submitted.elapsed());
                let $tx = client.transaction().await?;
                let value = $body;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(e) if attempt < MAX_ATTEMPTS && retryable(&e) => {
                    tracing::debug!(attempt, error = %e, "retrying transaction");
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 3)).await;
                }
                other => break other,
            }
        };
        if let (Some(observe), Some(waited)) = ($store.observer.get(), waited) {
            observe(waited, submitted.elapsed());
        }
        result
    }};
}

/// A PostgreSQL store: a connection pool and the CSPRNG that draws status indexes.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    tls: Arc<PgTls>,
    rng: Arc<Mutex<ChaCha20Rng>>,
    /// Told each transaction's wait for a pooled connection and its latency (the metrics).
    observer: Arc<std::sync::OnceLock<super::interface::WriteObserver>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

async fn audit(
    tx: &deadpool_postgres::Transaction<'_>,
    at: i64,
    actor: &str,
    event: AuditEvent,
    subject: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit (at, actor, event, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[&at, &actor, &event.as_str(), &subject, &detail.to_string()],
    )
    .await?;
    Ok(())
}

/// [`rules::ACCESS_GRANT_SQLITE`] in PostgreSQL's dialect.
const ACCESS_GRANT: &str =
    "SELECT g.token_hash, g.expires_at, g.config_ids, g.enrolment_id, e.level, e.citizen_id, e.claims, g.refreshed
     FROM (SELECT a.token_hash, a.expires_at, o.config_ids, o.enrolment_id, 0 AS refreshed
             FROM access_tokens a JOIN offers o ON o.id = a.offer_id WHERE a.id = $1
           UNION ALL
           SELECT a.token_hash, a.expires_at, r.config_ids, r.enrolment_id, 1 AS refreshed
             FROM refreshed_access_tokens a JOIN refresh_tokens r ON r.id = a.refresh_id
             WHERE a.id = $1) g
     JOIN enrolments e ON e.id = g.enrolment_id";

async fn insert_refresh_token(
    tx: &deadpool_postgres::Transaction<'_>,
    new: &NewRefresh,
    family_id: &str,
    enrolment_id: &str,
    config_ids: &str,
    t: i64,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO refresh_tokens (id, token_hash, family_id, enrolment_id, config_ids, state, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &new.id,
            &new.digest.0.as_slice(),
            &family_id,
            &enrolment_id,
            &config_ids,
            &t,
            &(t + new.ttl),
        ],
    )
    .await?;
    Ok(())
}

/// The worst status among the enrolment's credentials and its citizen's hold, when revoked or
/// suspended. Takes the citizen's lock shared first ([`CITIZEN_LOCK`]): a status change of
/// this citizen either committed before (and is seen here) or waits for this transaction.
async fn enrolment_block(
    tx: &deadpool_postgres::Transaction<'_>,
    enrolment_id: &str,
) -> Result<Option<crate::domain::Status>, StoreError> {
    let citizen: Option<String> = tx
        .query_opt(
            "SELECT citizen_id FROM enrolments WHERE id = $1",
            &[&enrolment_id],
        )
        .await?
        .map(|r| r.get(0));
    if let Some(citizen) = &citizen {
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))",
            &[&CITIZEN_LOCK, citizen],
        )
        .await?;
    }
    let worst: Option<i64> = tx
        .query_one(
            &rules::ENROLMENT_WORST_SQLITE.replace("?1", "$1"),
            &[&enrolment_id],
        )
        .await?
        .get(0);
    rules::block_of(worst)
}

/// Takes, shared, the lock of the citizen that `citizen_of` (one `$1` parameter, `key`) finds,
/// if any. Issuing paths take it before any row lock, as status changes do with theirs
/// exclusively, so the two never wait on each other in opposite orders.
async fn lock_citizen_shared(
    tx: &deadpool_postgres::Transaction<'_>,
    citizen_of: &str,
    key: &str,
) -> Result<(), StoreError> {
    let citizen: Option<String> = tx.query_opt(citizen_of, &[&key]).await?.map(|r| r.get(0));
    if let Some(citizen) = &citizen {
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))",
            &[&CITIZEN_LOCK, citizen],
        )
        .await?;
    }
    Ok(())
}

/// Takes the per-citizen lock exclusively for each citizen, in order.
async fn lock_citizens(
    tx: &deadpool_postgres::Transaction<'_>,
    mut citizens: Vec<String>,
) -> Result<(), StoreError> {
    citizens.sort_unstable();
    citizens.dedup();
    for citizen in &citizens {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&CITIZEN_LOCK, citizen],
        )
        .await?;
    }
    Ok(())
}

/// Applies a citizen's hold change; on revocation also kills their open offers and revokes
/// their active refresh tokens (every enrolment), audited as `citizen.<action>`.
async fn apply_hold(
    tx: &deadpool_postgres::Transaction<'_>,
    citizen: &str,
    hold: Option<rules::HoldChange>,
    action: StatusAction,
    actor: &str,
    now: i64,
) -> Result<(), StoreError> {
    let pg = |sql: &str| {
        sql.replace("?1", "$1")
            .replace("?2", "$2")
            .replace("?3", "$3")
            .replace("?4", "$4")
    };
    match hold {
        Some(rules::HoldChange::Set(status)) => {
            tx.execute(
                &pg(rules::SET_HOLD_SQLITE),
                &[&citizen, &i64::from(status.bits()), &now, &actor],
            )
            .await?;
        }
        Some(rules::HoldChange::Clear) => {
            tx.execute(&pg(rules::CLEAR_HOLD_SQLITE), &[&citizen])
                .await?;
        }
        None => {}
    }
    let (mut offers, mut tokens) = (0, 0);
    if action == StatusAction::Revoke {
        offers = tx
            .execute(&pg(rules::KILL_OFFERS_SQLITE), &[&citizen])
            .await?;
        tokens = tx
            .execute(&pg(rules::REVOKE_REFRESH_SQLITE), &[&citizen])
            .await?;
    }
    if hold.is_some() || offers + tokens > 0 {
        audit(
            tx,
            now,
            actor,
            AuditEvent::Citizen(action),
            Some(citizen),
            &json!({"offers_closed": offers, "refresh_tokens_revoked": tokens}),
        )
        .await?;
    }
    Ok(())
}

impl PgStore {
    /// Connects a pool of at most `pool_size` connections to `url` and runs the migrations.
    ///
    /// # Errors
    /// [`DbError`] when the URL does not parse, the server cannot be reached, or the schema is
    /// newer than this binary's.
    pub async fn connect(
        url: &DatabaseUrl,
        tls: &DatabaseTls,
        pool_size: usize,
        rng: ChaCha20Rng,
    ) -> Result<PgStore, DbError> {
        let (tls, mut config) = PgTls::resolve(url, tls)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("issuer");
        }
        if tls.authenticated() {
            tracing::info!(sslmode = %tls.mode(), "postgres connection");
        } else {
            tracing::warn!(
                sslmode = %tls.mode(),
                "postgres server is not authenticated: set sslmode=verify-full and sslrootcert"
            );
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls.connector() {
            Some(connector) => Manager::from_config(config, connector, manager_config),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let timeout = Some(Duration::from_secs(5));
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        let store = PgStore {
            pool,
            tls: Arc::new(tls),
            rng: Arc::new(Mutex::new(rng)),
            observer: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The effective `sslmode` of the connections.
    pub fn sslmode(&self) -> SslMode {
        self.tls.mode()
    }

    /// Whether a pooled connection is encrypted, as the server sees it (`pg_stat_ssl`).
    ///
    /// # Errors
    /// [`DbError`] when no connection can be had or the query fails.
    pub async fn tls_in_use(&self) -> Result<bool, DbError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => match self.tls.classify(&e) {
                Some(tls) => DbError::Tls(tls),
                None => DbError::Postgres(e),
            },
            other => DbError::Pool(other.to_string()),
        })
    }

    /// Applies the missing migrations under a session advisory lock.
    async fn migrate(&self) -> Result<(), DbError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let result = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (
                        version     BIGINT PRIMARY KEY,
                        applied_at  BIGINT NOT NULL
                    )",
                )
                .await?;
            let current: i64 = client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
                .await?
                .get(0);
            if current > SCHEMA_VERSION {
                return Err(DbError::SchemaTooNew {
                    found: current,
                    supported: SCHEMA_VERSION,
                });
            }
            let skip = usize::try_from(current).unwrap_or(0);
            for (i, sql) in migrations::sql(Dialect::Postgres)
                .iter()
                .enumerate()
                .skip(skip)
            {
                let version = i as i64 + 1;
                let tx = client.transaction().await?;
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_version (version, applied_at)
                     VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                    &[&version],
                )
                .await?;
                tx.commit().await?;
                tracing::info!(version, "postgres migration applied");
            }
            Ok(())
        }
        .await;
        // The lock also goes with the session if this fails.
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        result
    }

    fn draw(&self, size: u32) -> u32 {
        let mut rng = match self.rng.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        crate::domain::status::draw_index(&mut *rng, size)
    }

    /// A random free index in the open shard, opening one if needed. Holds the shard row's lock
    /// until the transaction ends, so replicas allocate one at a time per shard.
    async fn allocate(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        shard_size: u32,
    ) -> Result<(i64, u32), StoreError> {
        let select = tx
            .prepare_cached(
                "SELECT shard, size, allocated FROM status_shards WHERE state = 'open'
                 ORDER BY shard LIMIT 1 FOR UPDATE",
            )
            .await?;
        let mut tries = 0;
        let (shard, size, allocated) = loop {
            tries += 1;
            if let Some(r) = tx.query_opt(&select, &[]).await? {
                break (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2));
            }
            if tries == 1 {
                // The row we waited for may have just closed; look again before opening one.
                continue;
            }
            let next: i64 = tx
                .query_one("SELECT COALESCE(MAX(shard) + 1, 0) FROM status_shards", &[])
                .await?
                .get(0);
            let n = tx
                .execute(
                    "INSERT INTO status_shards (shard, size, state) VALUES ($1, $2, 'open')
                     ON CONFLICT (shard) DO NOTHING",
                    &[&next, &i64::from(shard_size)],
                )
                .await?;
            if n == 1 {
                // Lock it like the SELECT would have.
                tx.execute(
                    "SELECT 1 FROM status_shards WHERE shard = $1 FOR UPDATE",
                    &[&next],
                )
                .await?;
                break (next, i64::from(shard_size), 0);
            }
            // Another replica opened it first: lock that one.
            if tries > 16 {
                return Err(DbError::Corrupt {
                    what: "status shard allocation",
                }
                .into());
            }
        };
        let size_u32 = u32::try_from(size).map_err(|_| DbError::Corrupt { what: "shard size" })?;
        let exists = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM credentials WHERE status_shard = $1 AND status_idx = $2)",
            )
            .await?;
        let idx = loop {
            let idx = self.draw(size_u32);
            let taken: bool = tx
                .query_one(&exists, &[&shard, &i64::from(idx)])
                .await?
                .get(0);
            if !taken {
                break idx;
            }
        };
        let full = crate::domain::status::closes_shard(allocated, size);
        let update = tx
            .prepare_cached(
                "UPDATE status_shards SET allocated = allocated + 1,
                   state = CASE WHEN $2 THEN 'full' ELSE state END WHERE shard = $1",
            )
            .await?;
        tx.execute(&update, &[&shard, &full]).await?;
        Ok((shard, idx))
    }

    async fn insert_nonce(
        &self,
        table: &'static str,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO {table} (nonce_hash, expires_at) VALUES ($1, $2)"
            ))
            .await?;
        client
            .execute(&stmt, &[&digest.0.as_slice(), &expires_at])
            .await?;
        Ok(())
    }

    async fn insert_key(
        tx: &deadpool_postgres::Transaction<'_>,
        row: &KeyRow,
    ) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO signing_keys (kid, alg, purpose, state, file, sealed_jwk, not_before,
                                       hsm_key, public_jwk)
             VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8)",
            &[
                &row.kid,
                &row.alg.as_str(),
                &row.purpose.as_str(),
                &row.file,
                &row.sealed,
                &row.not_before,
                &row.hsm_key,
                &row.public_jwk,
            ],
        )
        .await?;
        Ok(())
    }

    async fn ensure_sim_enrolment(
        tx: &deadpool_postgres::Transaction<'_>,
        level: Level,
        now: i64,
    ) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO enrolments (id, citizen_id, level, evidence, claims, actor, created_at)
             VALUES ($1, $1, $2, 'simulated', NULL, 'simulate', $3) ON CONFLICT (id) DO NOTHING",
            &[&SIM_ENROLMENT, &level.as_str(), &now],
        )
        .await?;
        Ok(())
    }

    #[cfg(feature = "test-util")]
    async fn count_sql(&self, sql: String) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(client.query_one(&sql, &[]).await?.get(0))
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn close(&self) {
        self.pool.close();
    }

    fn observe_writes(&self, observer: super::interface::WriteObserver) {
        let _ = self.observer.set(observer);
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

    /// Takes the sweep's session advisory lock on a connection of its own; `None` when
    /// another session (replica) holds it.
    async fn sweep_lock(&self) -> Result<Option<SweepLock>, StoreError> {
        let client = self.client().await?;
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SWEEP_LOCK])
            .await?
            .get(0);
        let session = SweepSession(Some(client));
        Ok(got.then(|| SweepLock::held(Box::new(session))))
    }

    async fn sweep_chunk(
        &self,
        lock: &SweepLock,
        step: SweepStep,
        cutoff: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        match lock.session() {
            Some(session) => session.chunk(step, cutoff, limit).await,
            None => Err(mismatched_lock()),
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
            Some(session) => session.audit(at, actor, &detail).await,
            None => Err(mismatched_lock()),
        }
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .await?
            .get(0))
    }

    async fn platform_key(&self, kid: &str) -> Result<Option<(String, String)>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, jwk FROM platforms WHERE kid = $1 AND removed_at IS NULL",
                &[&kid],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn enrol(&self, e: NewEnrolment) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            // Serialised with a status change of this citizen: either it committed (its hold
            // is seen here) or it waits and then closes this offer too.
            tx.execute(
                "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))",
                &[&CITIZEN_LOCK, &e.citizen_id],
            )
            .await?;
            let hold: Option<i64> = tx
                .query_opt(
                    "SELECT status FROM citizen_holds WHERE citizen_id = $1",
                    &[&e.citizen_id],
                )
                .await?
                .map(|r| r.get(0));
            rules::judge_enrol_hold(hold)?;
            if let Some(nonce) = e.attestation_nonce {
                let n = tx
                    .execute(
                        "DELETE FROM attestation_nonces WHERE nonce_hash = $1 AND expires_at > $2",
                        &[&nonce.0.as_slice(), &e.created_at],
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::Refused(Refusal::InvalidAttestation {
                        reason: "nonce unknown, used or expired",
                    }));
                }
            }
            tx.execute(
                "INSERT INTO enrolments (id, citizen_id, level, evidence, claims, actor, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&e.id, &e.citizen_id, &e.level.as_str(), &e.evidence.to_string(), &e.sealed_claims, &e.actor, &e.created_at],
            )
            .await?;
            tx.execute(
                "INSERT INTO offers (id, enrolment_id, config_ids, code_hash, code_sealed, tx_code_hash, state, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)",
                &[&e.offer_id, &e.id, &e.config_ids, &e.code_hash.0.as_slice(), &e.code_sealed, &e.tx_code_hash.0.as_slice(), &e.created_at, &e.expires_at],
            )
            .await?;
            audit(
                &tx,
                e.created_at,
                &e.actor,
                AuditEvent::enrolment(e.level),
                Some(&e.id),
                // No offer id: it fetches the pre-authorized code from GET /offers/{id}.
                &json!({"citizen": e.citizen_id, "evidence": e.evidence}),
            )
            .await?;
        })
    }

    async fn open_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT config_ids, code_sealed FROM offers o
                 WHERE id = $1 AND state = 'open' AND expires_at > $2 AND code_sealed IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM citizen_holds h JOIN enrolments e
                                     ON e.citizen_id = h.citizen_id WHERE e.id = o.enrolment_id)",
                &[&id, &now],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn redeem_offer(&self, r: Redemption) -> Result<(), StoreError> {
        let outcome = transaction!(self, |tx| {
            let t = crate::domain::now();
            // Lock order citizen, then rows: a revocation holds the citizen's lock while it
            // closes the citizen's offers.
            lock_citizen_shared(
                &tx,
                "SELECT e.citizen_id FROM offers o JOIN enrolments e ON e.id = o.enrolment_id
                 WHERE o.id = $1",
                &r.offer_id,
            )
            .await?;
            // The row lock serialises every replica's attempt on this offer.
            let select = tx
                .prepare_cached(
                    "SELECT code_hash, tx_code_hash, attempts, state, expires_at, enrolment_id, config_ids
                     FROM offers WHERE id = $1 FOR UPDATE",
                )
                .await?;
            let row = tx
                .query_opt(&select, &[&r.offer_id])
                .await?
                .map(|row| rules::OfferRow {
                    code_hash: row.get(0),
                    tx_code_hash: row.get(1),
                    attempts: row.get(2),
                    state: row.get(3),
                    expires_at: row.get(4),
                    enrolment_id: row.get(5),
                    config_ids: row.get(6),
                });
            match (rules::judge_redemption(&r, row.as_ref(), t)?, row) {
                (rules::Judgement::WrongTxCode { attempts, dead }, row) => {
                    tx.execute(
                        "UPDATE offers SET attempts = $2,
                           state = CASE WHEN $3 THEN 'dead' ELSE state END,
                           code_sealed = CASE WHEN $3 THEN NULL ELSE code_sealed END
                         WHERE id = $1",
                        &[&r.offer_id, &attempts, &dead],
                    )
                    .await?;
                    if dead {
                        // Audited by enrolment: the offer id fetches the code.
                        let enrolment = row.map(|o| o.enrolment_id);
                        audit(
                            &tx,
                            t,
                            "wallet",
                            AuditEvent::OfferDead,
                            enrolment.as_deref(),
                            &json!({"attempts": attempts}),
                        )
                        .await?;
                    }
                    Err(StoreError::Refused(Refusal::InvalidGrant {
                        reason: "tx_code is wrong",
                    }))
                }
                (rules::Judgement::Redeem, None) => Err(rules::CODE_UNKNOWN),
                (rules::Judgement::Redeem, Some(offer)) => {
                    // A revoked or suspended citizen's offer is not redeemable.
                    rules::judge_redeem_block(enrolment_block(&tx, &offer.enrolment_id).await?)?;
                    let n = tx
                        .execute(
                            "UPDATE offers SET state = 'redeemed', code_sealed = NULL
                             WHERE id = $1 AND state = 'open' AND expires_at > $2",
                            &[&r.offer_id, &t],
                        )
                        .await?;
                    if n != 1 {
                        return Err(rules::CODE_USED);
                    }
                    let insert = tx
                        .prepare_cached(
                            "INSERT INTO access_tokens (id, token_hash, offer_id, expires_at) VALUES ($1, $2, $3, $4)",
                        )
                        .await?;
                    tx.execute(
                        &insert,
                        &[
                            &r.token_id,
                            &r.token_hash.0.as_slice(),
                            &r.offer_id,
                            &(t + r.token_ttl),
                        ],
                    )
                    .await?;
                    insert_refresh_token(
                        &tx,
                        &r.refresh,
                        &r.refresh.family_id,
                        &offer.enrolment_id,
                        &offer.config_ids,
                        t,
                    )
                    .await?;
                    audit(
                        &tx,
                        t,
                        "wallet",
                        AuditEvent::OfferRedeemed,
                        Some(&offer.enrolment_id),
                        &json!({"token": r.token_id, "refresh_family": r.refresh.family_id}),
                    )
                    .await?;
                    Ok(())
                }
            }
        })?;
        outcome
    }

    async fn refresh_grant(&self, r: RefreshGrant) -> Result<(), StoreError> {
        let outcome = transaction!(self, |tx| {
            let t = crate::domain::now();
            // Lock order citizen, then rows: a revocation holds the citizen's lock while it
            // revokes the citizen's refresh tokens.
            lock_citizen_shared(
                &tx,
                "SELECT e.citizen_id FROM refresh_tokens r JOIN enrolments e ON e.id = r.enrolment_id
                 WHERE r.id = $1",
                &r.presented_id,
            )
            .await?;
            // The row lock serialises every replica's use of this refresh token, and every
            // retry of it.
            let row = tx
                .query_opt(
                    &format!(
                        "SELECT {} FROM refresh_tokens WHERE id = $1 FOR UPDATE",
                        rules::REFRESH_ROW_COLUMNS
                    ),
                    &[&r.presented_id],
                )
                .await?
                .map(|row| RefreshRow {
                    token_hash: row.get(0),
                    family_id: row.get(1),
                    enrolment_id: row.get(2),
                    config_ids: row.get(3),
                    state: row.get(4),
                    expires_at: row.get(5),
                    used_at: row.get(6),
                    next_id: row.get(7),
                    superseded: row.get(8),
                });
            let mut step = rules::judge_refresh(&r, row.as_ref(), t)?;
            let Some(row) = row else {
                return Err(rules::REFRESH_UNKNOWN);
            };
            if let RefreshStep::Retry { successor, .. } = &step {
                // Lock order: presented token, successor, successor's access token. A use of
                // the successor locks only its own row; the credential endpoint takes the
                // access token's row FOR SHARE, so an issuance with it either committed
                // before this read (seen below) or waits and then finds it expired.
                let state: Option<String> = tx
                    .query_opt(
                        "SELECT state FROM refresh_tokens WHERE id = $1 FOR UPDATE",
                        &[successor],
                    )
                    .await?
                    .map(|row| row.get(0));
                let access: Option<String> = tx
                    .query_opt(
                        "SELECT id FROM refreshed_access_tokens WHERE refresh_id = $1 FOR UPDATE",
                        &[successor],
                    )
                    .await?
                    .map(|row| row.get(0));
                let access_used = match &access {
                    Some(id) => tx
                        .query_one(
                            "SELECT EXISTS (SELECT 1 FROM refreshed_issuances WHERE token_id = $1)",
                            &[id],
                        )
                        .await?
                        .get(0),
                    None => false,
                };
                let next = state.map(|state| rules::SuccessorRow { state, access_used });
                step = rules::judge_retry(step, next.as_ref());
            }
            if rules::grants(&step) {
                step = rules::with_enrolment(step, enrolment_block(&tx, &row.enrolment_id).await?);
            }
            if matches!(step, RefreshStep::Proceed) && r.min_interval > 0 {
                // The family's one active token is locked above, so no other refresh of the
                // family can commit between this read and the spend below.
                let last: Option<i64> = tx
                    .query_one(
                        "SELECT MAX(used_at) FROM refresh_tokens WHERE family_id = $1",
                        &[&row.family_id],
                    )
                    .await?
                    .get(0);
                step = rules::judge_rate(step, last, r.min_interval, t);
            }
            let grace = match step {
                RefreshStep::TooSoon { retry_after } => {
                    audit(
                        &tx,
                        t,
                        "wallet",
                        AuditEvent::RefreshRefused,
                        Some(&row.family_id),
                        &rules::too_soon_audit(&r, retry_after),
                    )
                    .await?;
                    // Committed: the audit event; the token is untouched.
                    tx.commit().await?;
                    return Ok(Err(StoreError::Refused(Refusal::RefreshTooSoon {
                        retry_after,
                    })));
                }
                RefreshStep::Refuse {
                    reason,
                    revoke_family,
                } => {
                    if revoke_family {
                        tx.execute(
                            "UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = $1",
                            &[&row.family_id],
                        )
                        .await?;
                        tx.execute(
                            "UPDATE refreshed_access_tokens SET expires_at = 0
                             WHERE refresh_id IN (SELECT id FROM refresh_tokens WHERE family_id = $1)",
                            &[&row.family_id],
                        )
                        .await?;
                    }
                    audit(
                        &tx,
                        t,
                        "wallet",
                        AuditEvent::RefreshRefused,
                        Some(&row.family_id),
                        &json!({"token": r.presented_id, "reason": reason}),
                    )
                    .await?;
                    // Committed: the refusal (and a family revocation) must stick.
                    tx.commit().await?;
                    return Ok(Err(StoreError::Refused(Refusal::InvalidGrant { reason })));
                }
                RefreshStep::Grace { successor, used_at } => Some((successor, used_at)),
                RefreshStep::Proceed | RefreshStep::Retry { .. } => None,
            };
            if let Some((successor, _)) = &grace {
                let n = tx
                    .execute(
                        "UPDATE refresh_tokens SET state = 'revoked', superseded_at = $2
                         WHERE id = $1 AND state = 'active'",
                        &[successor, &t],
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::Refused(Refusal::InvalidGrant {
                        reason: "refresh token already used",
                    }));
                }
                tx.execute(
                    "UPDATE refreshed_access_tokens SET expires_at = 0 WHERE refresh_id = $1",
                    &[successor],
                )
                .await?;
                tx.execute(
                    "UPDATE refresh_tokens SET next_id = $2 WHERE id = $1 AND state = 'used'",
                    &[&r.presented_id, &r.next.id],
                )
                .await?;
            } else {
                let spent = tx
                    .execute(
                        "UPDATE refresh_tokens SET state = 'used', used_at = $2, next_id = $3
                         WHERE id = $1 AND state = 'active'",
                        &[&r.presented_id, &t, &r.next.id],
                    )
                    .await?;
                if spent != 1 {
                    return Err(StoreError::Refused(Refusal::InvalidGrant {
                        reason: "refresh token already used",
                    }));
                }
            }
            insert_refresh_token(
                &tx,
                &r.next,
                &row.family_id,
                &row.enrolment_id,
                &row.config_ids,
                t,
            )
            .await?;
            tx.execute(
                "INSERT INTO refreshed_access_tokens (id, token_hash, refresh_id, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &r.access_id,
                    &r.access_hash.0.as_slice(),
                    &r.next.id,
                    &(t + r.access_ttl),
                ],
            )
            .await?;
            let (event, detail) = rules::refresh_audit(&r, &row, grace.as_ref(), t);
            audit(&tx, t, "wallet", event, Some(&row.family_id), &detail).await?;
            Ok(())
        })?;
        outcome
    }

    async fn issue(&self, r: IssueRecord) -> Result<Issuance, StoreError> {
        transaction!(self, |tx| {
            let t = r.now;
            let select = tx.prepare_cached(ACCESS_GRANT).await?;
            let row = tx
                .query_opt(&select, &[&r.token_id])
                .await?
                .map(|row| rules::TokenRow {
                    token_hash: row.get(0),
                    expires_at: row.get(1),
                    config_ids: row.get(2),
                    enrolment_id: row.get(3),
                    level: row.get(4),
                    citizen_id: row.get(5),
                    claims: row.get(6),
                    refreshed: row.get::<_, i32>(7) == 1,
                });
            let (token, level, claims) = rules::judge_token(&r, row)?;
            rules::judge_holders(&r)?;
            if token.refreshed {
                // A retry of the refresh that granted this token locks its row FOR UPDATE and
                // expires it (reuse grace): take it FOR SHARE and read it again, so either this
                // issuance commits first (and the retry sees it) or it sees the token expired.
                let expires_at: Option<i64> = tx
                    .query_opt(
                        "SELECT expires_at FROM refreshed_access_tokens WHERE id = $1 FOR SHARE",
                        &[&r.token_id],
                    )
                    .await?
                    .map(|row| row.get(0));
                if expires_at.is_none_or(|e| e <= t) {
                    return Err(StoreError::Refused(Refusal::InvalidToken {
                        reason: "access token expired",
                    }));
                }
            }
            // Every access token, refreshed or not: a citizen revoked or suspended after the
            // token was granted gets nothing more from it. The citizen lock (shared) is held
            // until this issuance commits.
            if enrolment_block(&tx, &token.enrolment_id).await?.is_some() {
                return Err(rules::BLOCKED);
            }
            let once = tx
                .prepare_cached(match token.refreshed {
                    false => "INSERT INTO token_issuances (token_id, config_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    true => "INSERT INTO refreshed_issuances (token_id, config_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                })
                .await?;
            if tx
                .execute(&once, &[&r.token_id, &r.config.as_str()])
                .await?
                != 1
            {
                return Err(rules::ALREADY_ISSUED);
            }
            // A c_nonce is stateless until used: using it records it, once across replicas
            // (primary key; a concurrent use waits for the other's commit, then inserts nothing).
            let consume = tx
                .prepare_cached(
                    "INSERT INTO c_nonces (nonce_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .await?;
            for (nonce, expires_at) in &r.nonces {
                if tx
                    .execute(&consume, &[&nonce.as_slice(), expires_at])
                    .await?
                    != 1
                {
                    return Err(StoreError::Refused(Refusal::InvalidNonce));
                }
            }
            let used = tx
                .prepare_cached(
                    "INSERT INTO used_proofs (proof_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .await?;
            for (i, replay) in r.replays.iter().enumerate() {
                if tx
                    .execute(&used, &[&replay.0.as_slice(), &r.proof_expiry])
                    .await?
                    != 1
                {
                    return Err(StoreError::proof(i, "proof already used"));
                }
            }
            let fresh = r.ids.first().cloned().ok_or(DbError::Corrupt {
                what: "issuance ids",
            })?;
            // A refreshed batch joins the batch of the copies it replaces.
            let lineage: Option<String> = match token.refreshed {
                true => tx
                    .query_opt(
                        "SELECT batch_id FROM credentials WHERE enrolment_id = $1 AND config_id = $2
                         ORDER BY issued_at DESC LIMIT 1",
                        &[&token.enrolment_id, &r.config.as_str()],
                    )
                    .await?
                    .map(|row| row.get(0)),
                false => None,
            };
            let batch_id = lineage.unwrap_or(fresh);
            let insert = tx
                .prepare_cached(
                    "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                       status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     ON CONFLICT (holder_thumbprint) DO NOTHING",
                )
                .await?;
            let mut entries = Vec::with_capacity(r.holders.len());
            for (i, (holder, id)) in r.holders.iter().zip(r.ids.iter().skip(1)).enumerate() {
                let (shard, idx) = self.allocate(&tx, r.shard_size).await?;
                // A holder key bound to any credential (unique index, migration 7) refuses the
                // request. A concurrent request inserting the same key makes this wait for its
                // commit, then insert nothing: exactly one of them issues.
                let n = tx
                    .execute(
                        &insert,
                        &[
                            id,
                            &token.enrolment_id,
                            &token.citizen_id,
                            &batch_id,
                            &r.config.as_str(),
                            &level.as_str(),
                            &r.config.format.as_str(),
                            &shard,
                            &i64::from(idx),
                            &r.kid,
                            holder,
                            &t,
                            &(t + r.validity),
                        ],
                    )
                    .await?;
                if n != 1 {
                    return Err(rules::holder_reused(i));
                }
                audit(
                    &tx,
                    t,
                    "wallet",
                    AuditEvent::CredentialIssued,
                    Some(id),
                    &rules::issued_detail(
                        &token.enrolment_id,
                        &batch_id,
                        r.config,
                        shard,
                        idx,
                        &r.kid,
                    ),
                )
                .await?;
                entries.push((id.clone(), shard, idx));
            }
            Issuance {
                enrolment_id: token.enrolment_id,
                level,
                claims,
                entries,
                batch_id,
            }
        })
    }

    async fn change_status(
        &self,
        key: StatusKey,
        action: StatusAction,
        actor: &str,
        now: i64,
    ) -> Result<(StatusChange, Vec<i64>), StoreError> {
        transaction!(self, |tx| {
            // One status change at a time across replicas: the change log's `seq` order is
            // then its commit order, so a reader that sees `seq` N sees every change up to N.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&STATUS_LOCK])
                .await?;
            // The citizens concerned, locked exclusively before their credentials are read: an
            // issuance for them either committed (and its rows are read below) or waits and
            // then sees this change.
            let citizens: Vec<String> = match &key {
                StatusKey::Credential(id) => tx
                    .query(
                        "SELECT DISTINCT citizen_id FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE id = $1)",
                        &[id],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect(),
                StatusKey::Entry { shard, idx } => tx
                    .query(
                        "SELECT DISTINCT citizen_id FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE status_shard = $1 AND status_idx = $2)",
                        &[shard, &i64::from(*idx)],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect(),
                StatusKey::Citizen(citizen) => vec![citizen.clone()],
            };
            lock_citizens(&tx, citizens).await?;
            // FOR UPDATE: a concurrent change on another replica waits, then sees this one.
            let rows = match &key {
                StatusKey::Credential(id) => {
                    tx.query(
                        "SELECT id, status, status_shard, status_idx FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE id = $1) ORDER BY id FOR UPDATE",
                        &[id],
                    )
                    .await?
                }
                StatusKey::Entry { shard, idx } => {
                    tx.query(
                        "SELECT id, status, status_shard, status_idx FROM credentials WHERE batch_id IN
                           (SELECT batch_id FROM credentials WHERE status_shard = $1 AND status_idx = $2)
                         ORDER BY id FOR UPDATE",
                        &[shard, &i64::from(*idx)],
                    )
                    .await?
                }
                StatusKey::Citizen(citizen) => {
                    tx.query(
                        "SELECT id, status, status_shard, status_idx FROM credentials WHERE citizen_id = $1 ORDER BY id FOR UPDATE",
                        &[citizen],
                    )
                    .await?
                }
            };
            let rows = rows
                .iter()
                .map(|r| {
                    (
                        r.get::<_, String>(0),
                        r.get::<_, i64>(1),
                        r.get::<_, i64>(2),
                        r.get::<_, i64>(3),
                    )
                })
                .collect();
            let mut plan = match &key {
                StatusKey::Citizen(citizen) => {
                    let known: bool = tx
                        .query_one(
                            "SELECT EXISTS (SELECT 1 FROM enrolments WHERE citizen_id = $1)",
                            &[citizen],
                        )
                        .await?
                        .get(0);
                    let hold: Option<i64> = tx
                        .query_opt(
                            "SELECT status FROM citizen_holds WHERE citizen_id = $1",
                            &[citizen],
                        )
                        .await?
                        .map(|r| r.get(0));
                    rules::plan_citizen_change(rows, action, rules::block_of(hold)?, known)?
                }
                _ => rules::plan_status_change(rows, action)?,
            };
            if let StatusKey::Citizen(citizen) = &key {
                apply_hold(&tx, citizen, plan.hold, action, actor, now).await?;
            }
            let update = tx
                .prepare_cached("UPDATE credentials SET status = $2 WHERE id = $1")
                .await?;
            let log = tx
                .prepare_cached(
                    "INSERT INTO status_changes (at, shard, idx, status) VALUES ($1, $2, $3, $4)",
                )
                .await?;
            for (id, from, to, shard, idx) in &plan.changes {
                tx.execute(&update, &[id, &i64::from(to.bits())]).await?;
                // Same transaction: the change log never misses a change (deltas).
                tx.execute(&log, &[&now, shard, idx, &i64::from(to.bits())])
                    .await?;
                audit(
                    &tx,
                    now,
                    actor,
                    AuditEvent::Status(action),
                    Some(id),
                    &json!({"from": from.as_str(), "to": to.as_str()}),
                )
                .await?;
            }
            plan.shards.sort_unstable();
            for shard in &plan.shards {
                tx.execute(
                    "UPDATE status_shards SET version = version + 1 WHERE shard = $1",
                    &[shard],
                )
                .await?;
            }
            plan.finish()
        })
    }

    async fn shard_version(&self, shard: i64) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT version FROM status_shards WHERE shard = $1")
            .await?;
        Ok(client.query_opt(&stmt, &[&shard]).await?.map(|r| r.get(0)))
    }

    async fn shard_entries(&self, shard: i64) -> Result<Option<ShardEntries>, StoreError> {
        let mut client = self.client().await?;
        // One snapshot, so size, version and entries agree.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        // Read before the entries (same snapshot): they reflect every change up to it.
        let status_seq: i64 = tx
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM status_changes", &[])
            .await?
            .get(0);
        let Some(head) = tx
            .query_opt(
                "SELECT size, version FROM status_shards WHERE shard = $1",
                &[&shard],
            )
            .await?
        else {
            return Ok(None);
        };
        let rows = tx
            .query(
                "SELECT status_idx, status FROM credentials WHERE status_shard = $1 AND status <> 0",
                &[&shard],
            )
            .await?;
        tx.commit().await?;
        Ok(Some(ShardEntries {
            size: head.get(0),
            version: head.get(1),
            entries: rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
            status_seq,
        }))
    }

    async fn status_high_water(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM status_changes", &[])
            .await?
            .get(0))
    }

    async fn status_log_bounds(&self, since: i64) -> Result<LogBounds, StoreError> {
        let client = self.client().await?;
        let r = client
            .query_one(
                "SELECT COALESCE(MAX(seq), 0), MIN(seq),
                        (SELECT at FROM status_changes WHERE seq = $1)
                 FROM status_changes",
                &[&since],
            )
            .await?;
        Ok(LogBounds {
            latest: r.get(0),
            oldest: r.get(1),
            since_at: r.get(2),
        })
    }

    async fn status_log_between(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<(Vec<LoggedChange>, ShardSizes), StoreError> {
        let client = self.client().await?;
        let changes = client
            .query(
                "SELECT shard, idx, status FROM status_changes WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                &[&after, &upto],
            )
            .await?
            .iter()
            .map(|r| LoggedChange {
                shard: r.get(0),
                idx: r.get(1),
                status: r.get(2),
            })
            .collect();
        let sizes = client
            .query("SELECT shard, size FROM status_shards ORDER BY shard", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok((changes, sizes))
    }

    async fn shards(&self) -> Result<Vec<i64>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT shard FROM status_shards ORDER BY shard", &[])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn add_officer(
        &self,
        actor: &str,
        info: OfficerInfo,
        token_hash: SecretDigest,
    ) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO officers (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&info.id, &info.name, &info.role, &token_hash.0.as_slice(), &info.created_at],
            )
            .await?;
            audit(
                &tx,
                info.created_at,
                actor,
                AuditEvent::OfficerAdded,
                Some(&info.id),
                &json!({"role": info.role}),
            )
            .await?;
        })
    }

    async fn list_officers(&self) -> Result<Vec<OfficerInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, role, created_at FROM officers WHERE removed_at IS NULL ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OfficerInfo {
                    id: r.get(0),
                    name: r.get(1),
                    role: rules::officer_role(r.get::<_, &str>(2))?.as_str(),
                    created_at: r.get(3),
                })
            })
            .collect()
    }

    async fn remove_officer(&self, actor: &str, id: &str, now: i64) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE officers SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL",
                    &[&id, &now],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Refused(Refusal::NotFound { what: "officer" }));
            }
            audit(
                &tx,
                now,
                actor,
                AuditEvent::OfficerRemoved,
                Some(id),
                &json!({}),
            )
            .await?;
        })
    }

    async fn officer_secret(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT role, token_hash FROM officers WHERE id = $1 AND removed_at IS NULL",
            )
            .await?;
        Ok(client
            .query_opt(&stmt, &[&id])
            .await?
            .map(|r| (r.get(0), r.get(1))))
    }

    async fn add_platform(
        &self,
        actor: &str,
        row: PlatformInfo,
        jwk: String,
    ) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            // Lock an existing row of this key (removed or not) against a concurrent add.
            let existing = tx
                .query_opt(
                    "SELECT removed_at IS NULL FROM platforms WHERE kid = $1 FOR UPDATE",
                    &[&row.kid],
                )
                .await?;
            if existing.is_some_and(|r| r.get::<_, bool>(0)) {
                return Err(StoreError::invalid_request(
                    "platform key already registered",
                ));
            }
            tx.execute("DELETE FROM platforms WHERE kid = $1", &[&row.kid])
                .await?;
            tx.execute(
                "INSERT INTO platforms (id, name, kid, jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&row.id, &row.name, &row.kid, &jwk, &row.created_at],
            )
            .await?;
            audit(
                &tx,
                row.created_at,
                actor,
                AuditEvent::PlatformAdded,
                Some(&row.id),
                &json!({"kid": row.kid}),
            )
            .await?;
        })
    }

    async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, kid, created_at FROM platforms WHERE removed_at IS NULL ORDER BY created_at, id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PlatformInfo {
                id: r.get(0),
                name: r.get(1),
                kid: r.get(2),
                created_at: r.get(3),
            })
            .collect())
    }

    async fn remove_platform(&self, actor: &str, id: &str, now: i64) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE platforms SET removed_at = $2 WHERE (id = $1 OR kid = $1) AND removed_at IS NULL",
                    &[&id, &now],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Refused(Refusal::NotFound { what: "platform" }));
            }
            audit(
                &tx,
                now,
                actor,
                AuditEvent::PlatformRemoved,
                Some(id),
                &json!({}),
            )
            .await?;
        })
    }

    async fn key_rows(&self) -> Result<Vec<KeyRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM signing_keys ORDER BY not_before, kid",
                    rules::KEY_ROW_COLUMNS
                ),
                &[],
            )
            .await?;
        let decoded = rows.iter().map(|r| {
            rules::decode_key_row((
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                r.get(9),
                r.get(10),
            ))
        });
        Ok(decoded.collect::<Result<Vec<_>, DbError>>()?)
    }

    async fn active_kid(&self, purpose: KeyPurpose) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT kid FROM signing_keys WHERE purpose = $1 AND state = 'active'")
            .await?;
        Ok(client
            .query_opt(&stmt, &[&purpose.as_str()])
            .await?
            .map(|r| r.get(0)))
    }

    async fn create_first_key(&self, row: KeyRow) -> Result<bool, StoreError> {
        transaction!(self, |tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEY_LOCK])
                .await?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM signing_keys WHERE purpose = $1 AND state = 'active'",
                    &[&row.purpose.as_str()],
                )
                .await?
                .is_some();
            if !exists {
                Self::insert_key(&tx, &row).await?;
                audit(
                    &tx,
                    row.not_before,
                    "system",
                    AuditEvent::KeyCreated,
                    Some(&row.kid),
                    &json!({"purpose": row.purpose.as_str(), "alg": row.alg.as_str()}),
                )
                .await?;
            }
            !exists
        })
    }

    async fn rotate_key(
        &self,
        actor: &str,
        row: KeyRow,
        max_validity: i64,
    ) -> Result<String, StoreError> {
        transaction!(self, |tx| {
            // Rotations on different replicas run one after the other.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEY_LOCK])
                .await?;
            let now = row.not_before;
            let old: String = tx
                .query_opt(
                    "SELECT kid FROM signing_keys WHERE purpose = 'credential' AND state = 'active'",
                    &[],
                )
                .await?
                .ok_or(DbError::Corrupt { what: "no active credential key" })?
                .get(0);
            let last: Option<i64> = tx
                .query_one(
                    "SELECT MAX(expires_at) FROM credentials WHERE kid = $1",
                    &[&old],
                )
                .await?
                .get(0);
            let last = last.unwrap_or(0).max(now + max_validity);
            tx.execute(
                "UPDATE signing_keys SET state = 'retired', not_after = $2, last_credential_expiry = $3 WHERE kid = $1",
                &[&old, &now, &last],
            )
            .await?;
            Self::insert_key(&tx, &row).await?;
            audit(
                &tx,
                now,
                actor,
                AuditEvent::KeyRotated,
                Some(&row.kid),
                &json!({"retired": old, "alg": row.alg.as_str()}),
            )
            .await?;
            old
        })
    }

    async fn record_direct(&self, r: DirectRecord) -> Result<(i64, u32), StoreError> {
        transaction!(self, |tx| {
            Self::ensure_sim_enrolment(&tx, r.level, r.now).await?;
            let (shard, idx) = self.allocate(&tx, r.shard_size).await?;
            tx.execute(
                "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                   status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                 VALUES ($1, $2, $2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[&r.id, &SIM_ENROLMENT, &r.config.as_str(), &r.level.as_str(), &r.config.format.as_str(),
                  &shard, &i64::from(idx), &r.kid, &r.holder, &r.now, &(r.now + r.validity)],
            )
            .await?;
            (shard, idx)
        })
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
        transaction!(self, |tx| {
            // Appends to the status-change log: serialised like change_status.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&STATUS_LOCK])
                .await?;
            Self::ensure_sim_enrolment(&tx, Level::Basic, t).await?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level, format,
                       status_shard, status_idx, status, kid, holder_thumbprint, issued_at, expires_at)
                     VALUES ($1, $2, $2, $1, 'citizen_id_basic_dc_sd_jwt', 'basic', 'dc+sd-jwt',
                       $3, $4, $5, $6, 'simulated:' || $1, $7, $8)",
                )
                .await?;
            let mut revoked = 0u64;
            for i in 0..n {
                let (shard, idx) = self.allocate(&tx, shard_size).await?;
                let status: i64 = if self.draw(u32::MAX) < threshold {
                    revoked += 1;
                    1
                } else {
                    0
                };
                let id = format!("sim-{}", base + i);
                tx.execute(
                    &insert,
                    &[
                        &id,
                        &SIM_ENROLMENT,
                        &shard,
                        &i64::from(idx),
                        &status,
                        &kid,
                        &t,
                        &(t + 86_400),
                    ],
                )
                .await?;
                if status != 0 {
                    // Logged like a real change, so deltas see it.
                    tx.execute(
                        "INSERT INTO status_changes (at, shard, idx, status) VALUES ($1, $2, $3, $4)",
                        &[&t, &shard, &i64::from(idx), &status],
                    )
                    .await?;
                }
            }
            revoked
        })
    }

    async fn audit_recent(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, at, actor, event, subject, detail FROM audit ORDER BY seq DESC LIMIT $1",
                &[&limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                event: r.get(3),
                subject: r.get(4),
                detail: r.get(5),
            })
            .collect())
    }

    async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        event: AuditEvent,
        subject: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            audit(&tx, at, actor, event, subject, &detail).await?;
        })
    }

    async fn lift_citizen_hold(
        &self,
        citizen: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            // The citizen lock, as a status change takes it: no enrolment or issuance of the
            // citizen reads the hold half-lifted.
            lock_citizens(&tx, vec![citizen.to_owned()]).await?;
            let known: bool = tx
                .query_one(
                    &rules::CITIZEN_KNOWN_SQLITE.replace("?1", "$1"),
                    &[&citizen],
                )
                .await?
                .get(0);
            let hold: Option<i64> = tx
                .query_opt(&rules::CITIZEN_HOLD_SQLITE.replace("?1", "$1"), &[&citizen])
                .await?
                .map(|r| r.get(0));
            rules::judge_lift_hold(known, hold)?;
            tx.execute(
                &rules::LIFT_REVOCATION_HOLD_SQLITE.replace("?1", "$1"),
                &[&citizen],
            )
            .await?;
            audit(
                &tx,
                now,
                actor,
                AuditEvent::CitizenLiftHold,
                Some(citizen),
                &json!({"reason": reason, "was": "revoked"}),
            )
            .await?;
        })
    }

    async fn record_key_withdrawal(
        &self,
        at: i64,
        actor: &str,
        kid: &str,
        since: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO key_withdrawals (kid, since, withdrawn_at) VALUES ($1, $2, $3)
                 ON CONFLICT (kid) DO UPDATE SET
                   since = CASE WHEN key_withdrawals.since IS NULL OR excluded.since IS NULL
                                THEN NULL ELSE LEAST(key_withdrawals.since, excluded.since) END,
                   withdrawn_at = LEAST(key_withdrawals.withdrawn_at, excluded.withdrawn_at)",
                &[&kid, &since, &at],
            )
            .await?;
            audit(&tx, at, actor, AuditEvent::KeyWithdrawn, Some(kid), &detail).await?;
        })
    }

    async fn key_withdrawals(&self, limit: i64) -> Result<Vec<KeyWithdrawal>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT kid, since, withdrawn_at FROM key_withdrawals
                 ORDER BY withdrawn_at, kid LIMIT $1",
                &[&limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| KeyWithdrawal {
                kid: r.get(0),
                since: r.get(1),
                withdrawn_at: r.get(2),
            })
            .collect())
    }

    async fn audit_list(&self, f: AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, at, actor, event, subject, detail FROM audit
                 WHERE ($1::BIGINT IS NULL OR at >= $1) AND ($2::BIGINT IS NULL OR at <= $2)
                   AND ($3::TEXT IS NULL OR left(event, length($3)) = $3)
                   AND ($4::TEXT IS NULL OR actor = $4)
                 ORDER BY seq DESC LIMIT $5",
                &[&f.since, &f.until, &f.event_prefix, &f.actor, &f.limit],
            )
            .await?;
        let mut list: Vec<AuditEntry> = rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                event: r.get(3),
                subject: r.get(4),
                detail: r.get(5),
            })
            .collect();
        list.reverse();
        Ok(list)
    }
}

/// The session holding the sweep's advisory lock. Dropping it takes the connection out of the
/// pool and closes it, which releases the lock: a pooled session must never keep it.
pub struct SweepSession(Option<deadpool_postgres::Object>);

impl SweepSession {
    fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        // Only `Drop` empties it.
        self.0
            .as_ref()
            .ok_or_else(|| StoreError::Internal("sweep session already closed".into()))
    }
}

#[async_trait]
impl super::interface::SweepSession for SweepSession {
    async fn chunk(&self, step: SweepStep, cutoff: i64, limit: i64) -> Result<u64, StoreError> {
        // One statement: its own transaction. Run on the lock's session, so a sweep needs no
        // second pooled connection (a pool of one would otherwise wait on itself).
        let client = self.client()?;
        let stmt = client
            .prepare_cached(&step.sql().replace("?1", "$1").replace("?2", "$2"))
            .await?;
        Ok(client.execute(&stmt, &[&cutoff, &limit]).await?)
    }

    async fn audit(
        &self,
        at: i64,
        actor: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO audit (at, actor, event, subject, detail) VALUES ($1, $2, $3, NULL, $4)",
                &[&at, &actor, &AuditEvent::HousekeepingSweep.as_str(), &detail.to_string()],
            )
            .await?;
        Ok(())
    }

    /// Releases the lock at once (closing the session alone releases it only once the server
    /// has noticed), then closes the session.
    async fn release(self: Box<Self>) {
        if let Ok(client) = self.client() {
            let _ = client
                .execute("SELECT pg_advisory_unlock($1)", &[&SWEEP_LOCK])
                .await;
        }
    }
}

impl std::fmt::Debug for SweepSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SweepSession")
    }
}

impl Drop for SweepSession {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}
