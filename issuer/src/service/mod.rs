//! [`Issuer`]: the service's state and its operations, shared by the HTTP handlers and the
//! command line. Officers and platforms are managed here; enrolment, OpenID4VCI, status and
//! trust live in their own modules as further `impl Issuer` blocks.

pub mod delta;
pub mod enrol;
pub mod keys;
pub mod oid4vci;
pub mod simulate;
pub mod status;
pub mod sweep;
pub mod trust;
pub mod withdraw;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use credential::jose::PublicJwk;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};

use crate::config::Config;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::people::{OfficerInfo, PlatformInfo};
use crate::domain::refusal::Refusal;
use crate::domain::status::ShardLists;
use crate::domain::Role;
use crate::error::IssuerError;
use crate::keys::{IssuerKey, KeyStore};
use crate::metrics::{Metrics, MetricsToken};
use crate::secret::{domain, random_id, BearerSecret};
use crate::store::DbError;
use crate::store::SharedStore;

/// How often a replica checks the database for another replica's key rotation, milliseconds.
pub const KEY_CHECK_MS: i64 = 1000;

/// The issuer: configuration, storage, keys, a CSPRNG and a clock.
pub struct Issuer {
    /// The resolved configuration.
    pub config: Config,
    /// Storage (SQLite or PostgreSQL).
    pub store: SharedStore,
    /// Keys.
    pub keys: KeyStore,
    /// Counters and histograms served at `/metrics`.
    pub metrics: Metrics,
    rng: Mutex<ChaCha20Rng>,
    clock: Arc<dyn Clock>,
    pub(crate) status_cache: StatusCache,
    key_checked_ms: AtomicI64,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("public_url", &self.config.public_url)
            .finish_non_exhaustive()
    }
}

/// An authenticated officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    /// Officer id (the audit actor).
    pub id: String,
    /// Role.
    pub role: Role,
}

/// Signed status lists by shard, rebuilt when a status changes or when old.
#[derive(Debug, Default)]
pub struct StatusCache {
    tokens: Mutex<HashMap<i64, (ShardLists, i64, i64)>>,
}

impl StatusCache {
    fn get(&self, shard: i64, fresh_after: i64, version: i64) -> Option<ShardLists> {
        let map = self.tokens.lock().ok()?;
        map.get(&shard)
            .filter(|(_, built, v)| *built > fresh_after && *v == version)
            .map(|(t, _, _)| t.clone())
    }

    fn put(&self, shard: i64, lists: ShardLists, built: i64, version: i64) {
        if let Ok(mut map) = self.tokens.lock() {
            map.insert(shard, (lists, built, version));
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

impl Issuer {
    /// Opens the issuer on an SQLite data directory from synchronous code (the command line,
    /// tests). The CSPRNG is seeded from the operating system.
    ///
    /// # Errors
    /// Storage and key errors; [`IssuerError::Internal`] when `database_url` is set (use
    /// [`Issuer::connect`] for PostgreSQL).
    pub fn open(config: Config) -> Result<Arc<Issuer>, IssuerError> {
        Issuer::open_with_rng(config, os_seeded())
    }

    /// [`Issuer::open`] with an injected CSPRNG (tests pass a seeded one).
    ///
    /// # Errors
    /// As [`Issuer::open`].
    pub fn open_with_rng(config: Config, rng: ChaCha20Rng) -> Result<Arc<Issuer>, IssuerError> {
        Issuer::open_with(config, rng, Arc::new(SystemClock))
    }

    /// [`Issuer::open`] with an injected CSPRNG and clock (tests pass a seeded CSPRNG and a
    /// fixed clock).
    ///
    /// # Errors
    /// As [`Issuer::open`].
    pub fn open_with(
        config: Config,
        rng: ChaCha20Rng,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Issuer>, IssuerError> {
        if config.database_url.is_some() {
            return Err(IssuerError::Internal(
                "a PostgreSQL database_url needs Issuer::connect".into(),
            ));
        }
        // SQLite needs no runtime of its own beyond this call: run the async opening on a
        // private one, on its own thread so that this also works inside a runtime.
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| IssuerError::Internal(format!("runtime: {e}")))?;
                    rt.block_on(Issuer::connect_with(config, rng, clock))
                })
                .join()
                .unwrap_or_else(|_| Err(IssuerError::Internal("opening panicked".into())))
        })
    }

    /// Opens the issuer on its configured storage: PostgreSQL when `database_url` is set,
    /// else SQLite in `config.data`. Creates the data directory, schema and keys on first
    /// start. The CSPRNG is seeded from the operating system; time is the system clock.
    ///
    /// # Errors
    /// Storage and key errors.
    pub async fn connect(config: Config) -> Result<Arc<Issuer>, IssuerError> {
        Issuer::connect_with_rng(config, os_seeded()).await
    }

    /// [`Issuer::connect`] with an injected CSPRNG.
    ///
    /// # Errors
    /// As [`Issuer::connect`].
    pub async fn connect_with_rng(
        config: Config,
        rng: ChaCha20Rng,
    ) -> Result<Arc<Issuer>, IssuerError> {
        Issuer::connect_with(config, rng, Arc::new(SystemClock)).await
    }

    /// [`Issuer::connect`] with an injected CSPRNG and clock.
    ///
    /// # Errors
    /// As [`Issuer::connect`].
    pub async fn connect_with(
        config: Config,
        mut rng: ChaCha20Rng,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Issuer>, IssuerError> {
        crate::files::private_dir(&config.data)
            .map_err(|e| IssuerError::Internal(format!("data dir: {e}")))?;
        let metrics_token = config.metrics_token_file.as_deref();
        let metrics = Metrics::new(metrics_token.map(MetricsToken::read).transpose()?)?;
        let db_rng =
            ChaCha20Rng::from_rng(&mut rng).map_err(|_| IssuerError::Internal("rng".into()))?;
        let store = crate::store::open(
            &config.data,
            config.database_url.as_ref(),
            &config.database_tls,
            config.database_pool,
            db_rng,
        )
        .await?;
        let keys = match KeyStore::open(
            &config.data,
            config.master_secret_file.as_deref(),
            config.hsm.as_ref(),
            &store,
            config.key_alg,
            clock.now(),
            &mut rng,
        )
        .await
        {
            Ok(keys) => keys,
            Err(e) => {
                store.close();
                return Err(e);
            }
        };
        store.observe_writes(metrics.storage_observer());
        tracing::debug!(backend = store.backend(), "storage open");
        Ok(Arc::new(Issuer {
            config,
            store,
            keys,
            metrics,
            rng: Mutex::new(rng),
            clock,
            status_cache: StatusCache::default(),
            key_checked_ms: AtomicI64::new(now_ms()),
        }))
    }

    /// The key that signs credentials and status lists now. At most every [`KEY_CHECK_MS`]
    /// it checks the database for a rotation made by another replica or the command line.
    ///
    /// # Errors
    /// Storage errors while checking.
    pub async fn signer(&self) -> Result<Arc<IssuerKey>, IssuerError> {
        let t = now_ms();
        let last = self.key_checked_ms.load(Ordering::Relaxed);
        if t - last >= KEY_CHECK_MS
            && self
                .key_checked_ms
                .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && self.keys.refresh(&self.store).await?
        {
            self.status_cache.clear();
            tracing::info!(kid = %self.keys.active().kid(), "active signing key changed");
        }
        Ok(self.keys.active())
    }

    /// The time now, seconds since the Unix epoch, by the issuer's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The CSPRNG.
    pub(crate) fn rng(&self) -> MutexGuard<'_, ChaCha20Rng> {
        match self.rng.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A child CSPRNG seeded from the issuer's, for work that runs elsewhere.
    pub(crate) fn child_rng(&self) -> ChaCha20Rng {
        let mut seed = [0u8; 32];
        self.rng().fill_bytes(&mut seed);
        ChaCha20Rng::from_seed(seed)
    }

    /// The credential issuer identifier (`iss`).
    pub fn url(&self) -> &str {
        &self.config.public_url
    }

    /// Stops the storage writer after queued work (SQLite) or closes the pool (PostgreSQL).
    pub fn close(&self) {
        self.store.close();
    }

    /// Adds an officer; returns its id and API token (shown once, stored only as a digest).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn add_officer(
        &self,
        actor: &str,
        name: &str,
        role: Role,
    ) -> Result<(String, zeroize::Zeroizing<String>), IssuerError> {
        let token = {
            let mut rng = self.rng();
            let id = random_id(&mut *rng);
            BearerSecret::generate(id, &mut *rng)
        };
        let id = token.id().to_owned();
        let digest = token.digest(domain::OFFICER);
        let info = OfficerInfo {
            id: id.clone(),
            name: name.to_owned(),
            role: role.as_str(),
            created_at: self.now(),
        };
        self.store.add_officer(actor, info, digest).await?;
        Ok((id, token.expose()))
    }

    /// Officers not removed.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn list_officers(&self) -> Result<Vec<OfficerInfo>, IssuerError> {
        Ok(self.store.list_officers().await?)
    }

    /// Removes an officer (its token stops working at once).
    ///
    /// # Errors
    /// [`Refusal::NotFound`]; storage errors.
    pub async fn remove_officer(&self, actor: &str, id: &str) -> Result<(), IssuerError> {
        Ok(self.store.remove_officer(actor, id, self.now()).await?)
    }

    /// Authenticates an officer's bearer token, in constant time over the secret.
    ///
    /// # Errors
    /// [`Refusal::InvalidToken`] for a malformed, unknown or removed token.
    pub async fn authenticate(&self, bearer: &str) -> Result<Officer, IssuerError> {
        let Some(token) = BearerSecret::parse(bearer) else {
            return Err(Refusal::InvalidToken {
                reason: "malformed token",
            }
            .into());
        };
        let digest = token.digest(domain::OFFICER);
        let row = self.store.officer_secret(token.id()).await?;
        match row {
            Some((role, hash)) if digest.matches(&hash) => Ok(Officer {
                id: token.id().to_owned(),
                role: Role::parse(&role).ok_or(DbError::Corrupt {
                    what: "officer role",
                })?,
            }),
            _ => Err(Refusal::InvalidToken {
                reason: "unknown or removed token",
            }
            .into()),
        }
    }

    /// Registers a messaging platform's public key (attestations are checked against it).
    ///
    /// # Errors
    /// [`Refusal::InvalidRequest`] for a bad or already registered key; storage errors.
    pub async fn add_platform(
        &self,
        actor: &str,
        name: &str,
        jwk: &str,
    ) -> Result<PlatformInfo, IssuerError> {
        let key = PublicJwk::from_json(jwk)
            .map_err(|e| Refusal::invalid_request(format!("platform key: {e}")))?;
        let info = PlatformInfo {
            id: random_id(&mut *self.rng()),
            name: name.to_owned(),
            kid: key.thumbprint().to_owned(),
            created_at: self.now(),
        };
        self.store
            .add_platform(actor, info.clone(), key.to_bare_value().to_string())
            .await?;
        Ok(info)
    }

    /// Registered platforms.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, IssuerError> {
        Ok(self.store.list_platforms().await?)
    }

    /// Removes a platform (its attestations stop being accepted).
    ///
    /// # Errors
    /// [`Refusal::NotFound`]; storage errors.
    pub async fn remove_platform(&self, actor: &str, id: &str) -> Result<(), IssuerError> {
        Ok(self.store.remove_platform(actor, id, self.now()).await?)
    }
}

fn os_seeded() -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    ChaCha20Rng::from_seed(seed)
}

/// The key-check throttle's time: real elapsed time, not the issuer's clock, so that a test
/// clock standing still does not stop a replica from seeing another's rotation.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clock::FixedClock;

    /// An issuer on a fresh SQLite data directory, at the time of `clock`.
    fn open_at(dir: &std::path::Path, clock: Arc<FixedClock>) -> Arc<Issuer> {
        let config = Config::defaults(dir.to_path_buf());
        let issuer = Issuer::open_with(config, ChaCha20Rng::from_seed([7; 32]), clock);
        issuer.unwrap()
    }

    #[tokio::test]
    async fn the_issuer_reads_time_from_the_clock_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::at(1_800_000_000));
        let issuer = open_at(dir.path(), clock.clone());
        assert_eq!(issuer.now(), 1_800_000_000);
        let records = issuer.keys.records();
        assert!(records.iter().all(|r| r.not_before == 1_800_000_000));

        issuer
            .add_officer("test", "Ada", Role::Admin)
            .await
            .unwrap();
        clock.advance(3_600);
        issuer
            .add_officer("test", "Bo", Role::Officer)
            .await
            .unwrap();
        let mut times: Vec<i64> = issuer
            .list_officers()
            .await
            .unwrap()
            .iter()
            .map(|o| o.created_at)
            .collect();
        times.sort_unstable();
        assert_eq!(times, [1_800_000_000, 1_800_003_600]);

        let rec = issuer
            .rotate_key("test", credential::jose::Alg::EdDsa)
            .await
            .unwrap();
        assert_eq!(rec.not_before, 1_800_003_600);
        issuer.close();
    }
}
