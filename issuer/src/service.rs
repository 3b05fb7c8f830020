//! [`Issuer`]: the service's state and its operations, shared by the HTTP handlers and the
//! command line. Officers and platforms are managed here; enrolment, OpenID4VCI, status and
//! trust live in their own modules as further `impl Issuer` blocks.

use std::sync::{Arc, Mutex, MutexGuard};

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use rusqlite::{params, OptionalExtension as _};
use serde::Serialize;

use credential::jose::PublicJwk;

use crate::audit;
use crate::config::Config;
use crate::db::{Db, DbError};
use crate::error::ApiError;
use crate::keys::KeyStore;
use crate::model::{now, Role};
use crate::secret::{domain, random_id, BearerSecret};
use crate::status::StatusCache;

/// The issuer: configuration, storage, keys, and a CSPRNG.
pub struct Issuer {
    /// The resolved configuration.
    pub config: Config,
    /// Storage.
    pub db: Db,
    /// Keys.
    pub keys: KeyStore,
    rng: Mutex<ChaCha20Rng>,
    pub(crate) status_cache: StatusCache,
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

/// An officer as listed.
#[derive(Debug, Clone, Serialize)]
pub struct OfficerInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: &'static str,
    /// Unix time.
    pub created_at: i64,
}

/// A registered messaging platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Thumbprint of its key (the attestation's `kid`).
    pub kid: String,
    /// Unix time.
    pub created_at: i64,
}

impl Issuer {
    /// Opens the issuer on `config.data`, creating the directory, database and keys on first
    /// start. The CSPRNG is seeded from the operating system.
    ///
    /// # Errors
    /// Storage and key errors.
    pub fn open(config: Config) -> Result<Arc<Issuer>, ApiError> {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        Issuer::open_with_rng(config, ChaCha20Rng::from_seed(seed))
    }

    /// [`Issuer::open`] with an injected CSPRNG (tests pass a seeded one).
    ///
    /// # Errors
    /// As [`Issuer::open`].
    pub fn open_with_rng(config: Config, mut rng: ChaCha20Rng) -> Result<Arc<Issuer>, ApiError> {
        std::fs::create_dir_all(&config.data)
            .map_err(|e| ApiError::Internal(format!("data dir: {e}")))?;
        let db_rng =
            ChaCha20Rng::from_rng(&mut rng).map_err(|_| ApiError::Internal("rng".into()))?;
        let db = Db::open(&config.data, db_rng)?;
        let keys = KeyStore::open(&config.data, &db, config.key_alg, &mut rng)?;
        Ok(Arc::new(Issuer {
            config,
            db,
            keys,
            rng: Mutex::new(rng),
            status_cache: StatusCache::default(),
        }))
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

    /// Stops the storage writer after queued work.
    pub fn close(&self) {
        self.db.close();
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
    ) -> Result<(String, zeroize::Zeroizing<String>), ApiError> {
        let token = {
            let mut rng = self.rng();
            let id = random_id(&mut *rng);
            BearerSecret::generate(id, &mut *rng)
        };
        let id = token.id().to_owned();
        let digest = token.digest(domain::OFFICER);
        let (actor, name, row_id) = (actor.to_owned(), name.to_owned(), id.clone());
        self.db
            .write(move |ctx| {
                let t = now();
                ctx.conn.execute(
                    "INSERT INTO officers (id, name, role, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![row_id, name, role.as_str(), digest.0.as_slice(), t],
                )?;
                audit::append(ctx.conn, t, &actor, "officer.added", Some(&row_id), &serde_json::json!({"role": role.as_str()}))?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok((id, token.expose()))
    }

    /// Officers not removed.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn list_officers(&self) -> Result<Vec<OfficerInfo>, ApiError> {
        self.db
            .read(|c| {
                let mut s = c.prepare(
                    "SELECT id, name, role, created_at FROM officers WHERE removed_at IS NULL ORDER BY created_at",
                )?;
                let rows = s
                    .query_map([], |r| {
                        Ok(OfficerInfo {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            role: Role::parse(&r.get::<_, String>(2)?)
                                .unwrap_or(Role::Officer)
                                .as_str(),
                            created_at: r.get(3)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, DbError>(rows)
            })
            .await
            .map_err(ApiError::from)
    }

    /// Removes an officer (its token stops working at once).
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; storage errors.
    pub async fn remove_officer(&self, actor: &str, id: &str) -> Result<(), ApiError> {
        let (actor, id) = (actor.to_owned(), id.to_owned());
        self.db
            .write(move |ctx| {
                let t = now();
                let n = ctx.conn.execute(
                    "UPDATE officers SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
                    params![id, t],
                )?;
                if n == 0 {
                    return Err(ApiError::NotFound { what: "officer" });
                }
                audit::append(
                    ctx.conn,
                    t,
                    &actor,
                    "officer.removed",
                    Some(&id),
                    &serde_json::json!({}),
                )?;
                Ok(())
            })
            .await
    }

    /// Authenticates an officer's bearer token, in constant time over the secret.
    ///
    /// # Errors
    /// [`ApiError::InvalidToken`] for a malformed, unknown or removed token.
    pub async fn authenticate(&self, bearer: &str) -> Result<Officer, ApiError> {
        let Some(token) = BearerSecret::parse(bearer) else {
            return Err(ApiError::InvalidToken {
                reason: "malformed token",
            });
        };
        let digest = token.digest(domain::OFFICER);
        let id = token.id().to_owned();
        let row = self
            .db
            .read(move |c| {
                c.prepare_cached(
                    "SELECT role, token_hash FROM officers WHERE id = ?1 AND removed_at IS NULL",
                )?
                .query_row([&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .optional()
                .map_err(DbError::from)
            })
            .await?;
        match row {
            Some((role, hash)) if digest.matches(&hash) => Ok(Officer {
                id: token.id().to_owned(),
                role: Role::parse(&role).ok_or(DbError::Corrupt {
                    what: "officer role",
                })?,
            }),
            _ => Err(ApiError::InvalidToken {
                reason: "unknown or removed token",
            }),
        }
    }

    /// Registers a messaging platform's public key (attestations are checked against it).
    ///
    /// # Errors
    /// [`ApiError::InvalidRequest`] for a bad or already registered key; storage errors.
    pub async fn add_platform(
        &self,
        actor: &str,
        name: &str,
        jwk: &str,
    ) -> Result<PlatformInfo, ApiError> {
        let key = PublicJwk::from_json(jwk)
            .map_err(|e| ApiError::invalid_request(format!("platform key: {e}")))?;
        let info = PlatformInfo {
            id: random_id(&mut *self.rng()),
            name: name.to_owned(),
            kid: key.thumbprint().to_owned(),
            created_at: now(),
        };
        let (actor, row, jwk) = (
            actor.to_owned(),
            info.clone(),
            key.to_bare_value().to_string(),
        );
        self.db
            .write(move |ctx| {
                let exists: bool = ctx.conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM platforms WHERE kid = ?1 AND removed_at IS NULL)",
                    [&row.kid],
                    |r| r.get(0),
                ).map_err(DbError::from)?;
                if exists {
                    return Err(ApiError::invalid_request("platform key already registered"));
                }
                ctx.conn.execute(
                    "DELETE FROM platforms WHERE kid = ?1",
                    [&row.kid],
                ).map_err(DbError::from)?;
                ctx.conn.execute(
                    "INSERT INTO platforms (id, name, kid, jwk, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![row.id, row.name, row.kid, jwk, row.created_at],
                ).map_err(DbError::from)?;
                audit::append(ctx.conn, row.created_at, &actor, "platform.added", Some(&row.id), &serde_json::json!({"kid": row.kid}))?;
                Ok(())
            })
            .await?;
        Ok(info)
    }

    /// Registered platforms.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, ApiError> {
        self.db
            .read(|c| {
                let mut s = c.prepare(
                    "SELECT id, name, kid, created_at FROM platforms WHERE removed_at IS NULL ORDER BY created_at",
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
            .map_err(ApiError::from)
    }

    /// Removes a platform (its attestations stop being accepted).
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; storage errors.
    pub async fn remove_platform(&self, actor: &str, id: &str) -> Result<(), ApiError> {
        let (actor, id) = (actor.to_owned(), id.to_owned());
        self.db
            .write(move |ctx| {
                let t = now();
                let n = ctx.conn.execute(
                    "UPDATE platforms SET removed_at = ?2 WHERE (id = ?1 OR kid = ?1) AND removed_at IS NULL",
                    params![id, t],
                )?;
                if n == 0 {
                    return Err(ApiError::NotFound { what: "platform" });
                }
                audit::append(ctx.conn, t, &actor, "platform.removed", Some(&id), &serde_json::json!({}))?;
                Ok(())
            })
            .await
    }
}

impl Issuer {
    /// Rotates the credential signing key (see [`KeyStore::rotate`]) and drops cached
    /// status-list tokens so they are re-signed with the new key.
    ///
    /// # Errors
    /// Key file or storage errors.
    pub async fn rotate_key(
        &self,
        actor: &str,
        alg: credential::jose::Alg,
    ) -> Result<crate::keys::KeyRecord, ApiError> {
        let mut rng = self.child_rng();
        let max_validity = self.config.credential_validity_days * 86_400;
        let rec = self
            .keys
            .rotate(&self.db, actor, alg, max_validity, &mut rng)
            .await?;
        self.status_cache.clear();
        tracing::info!(kid = %rec.kid, actor, "key rotated");
        Ok(rec)
    }
}
