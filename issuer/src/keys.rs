//! Keys: the credential signing keys (one active, retired ones kept published until the last
//! credential they signed expires), the root key that signs the trust bundle, and the data
//! directory's master secret (from which the hashing pepper and the claims sealing key derive).
//!
//! Private keys live as private JWK files in `DATA/keys/` (mode 0600, directory 0700); the
//! `signing_keys` table records kid, alg, purpose, state and validity windows. Key bytes stay in
//! this module: everything else signs through [`KeyStore::active`] / [`KeyStore::root`].

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use rand_core::CryptoRngCore;
use rusqlite::{params, Connection, OptionalExtension as _};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use credential::jose::{Alg, PublicJwk, SigningKey};

use crate::audit;
use crate::db::{Db, DbError};
use crate::error::ApiError;

/// Purpose of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Signs credentials and status-list tokens.
    Credential,
    /// Signs the trust bundle.
    Root,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Credential => "credential",
            Purpose::Root => "root",
        }
    }
}

/// A key as published: public JWK and validity window.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// Algorithm.
    pub alg: Alg,
    /// `active` or `retired`.
    pub state: String,
    /// Start of the signing window.
    pub not_before: i64,
    /// End of the signing window (retired keys).
    pub not_after: Option<i64>,
    /// Latest expiry among credentials it signed (retired keys: published until then).
    pub last_credential_expiry: Option<i64>,
    /// The public key.
    pub jwk: PublicJwk,
}

impl KeyRecord {
    /// JSON for listings and the trust bundle.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kid": self.kid,
            "alg": self.alg.as_str(),
            "state": self.state,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "last_credential_expiry": self.last_credential_expiry,
            "jwk": self.jwk.to_value(),
        })
    }
}

struct State {
    active: Arc<SigningKey>,
    root: Arc<SigningKey>,
    records: Vec<KeyRecord>,
}

/// The issuer's keys.
pub struct KeyStore {
    dir: PathBuf,
    state: RwLock<State>,
    master: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Writes `bytes` to a new file readable only by the owner.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::Internal(format!("key file: {e}"))
}

fn load_master(dir: &Path, rng: &mut impl CryptoRngCore) -> Result<Zeroizing<[u8; 32]>, ApiError> {
    let path = dir.join("master.secret");
    let mut master = Zeroizing::new([0u8; 32]);
    match fs::read(&path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            if bytes.len() != 32 {
                return Err(ApiError::Internal("master.secret is not 32 bytes".into()));
            }
            master.copy_from_slice(&bytes);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            rng.fill_bytes(master.as_mut());
            write_private(&path, master.as_ref()).map_err(io)?;
        }
        Err(e) => return Err(io(e)),
    }
    Ok(master)
}

fn load_records(
    conn: &Connection,
    dir: &Path,
) -> Result<Vec<(KeyRecord, String, SigningKey)>, ApiError> {
    let mut stmt = conn
        .prepare(
            "SELECT kid, alg, purpose, state, file, not_before, not_after, last_credential_expiry
         FROM signing_keys ORDER BY not_before",
        )
        .map_err(DbError::from)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        })
        .map_err(DbError::from)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(DbError::from)?;
    let mut out = Vec::new();
    for (kid, _alg, purpose, state, file, nb, na, last) in rows {
        let text = Zeroizing::new(fs::read_to_string(dir.join(&file)).map_err(io)?);
        let key = SigningKey::from_private_jwk(&text)
            .map_err(|e| ApiError::Internal(format!("key file {file}: {e}")))?;
        if key.kid() != kid {
            return Err(ApiError::Internal(format!(
                "key file {file} does not hold {kid}"
            )));
        }
        let rec = KeyRecord {
            kid,
            alg: key.alg(),
            state,
            not_before: nb,
            not_after: na,
            last_credential_expiry: last,
            jwk: key.public_jwk().clone(),
        };
        out.push((rec, purpose, key));
    }
    Ok(out)
}

fn create_key(
    dir: &Path,
    alg: Alg,
    purpose: Purpose,
    rng: &mut impl CryptoRngCore,
) -> Result<(SigningKey, String), ApiError> {
    let key = SigningKey::generate(alg, rng);
    let file = format!("{}-{}.jwk", purpose.as_str(), key.kid());
    write_private(&dir.join(&file), key.to_private_jwk().as_bytes()).map_err(io)?;
    Ok((key, file))
}

impl KeyStore {
    /// Opens the keys in `data/keys`, generating the master secret, a credential key (`alg`)
    /// and a root key (ES256) on first start.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when a key file is missing, unreadable or does not match its row;
    /// storage errors.
    pub fn open(
        data: &Path,
        db: &Db,
        alg: Alg,
        rng: &mut impl CryptoRngCore,
    ) -> Result<KeyStore, ApiError> {
        let dir = data.join("keys");
        fs::create_dir_all(&dir).map_err(io)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        let master = load_master(&dir, rng)?;
        for purpose in [Purpose::Credential, Purpose::Root] {
            let exists = db.read_blocking(|c| {
                c.query_row(
                    "SELECT kid FROM signing_keys WHERE purpose = ?1 AND state = 'active'",
                    [purpose.as_str()],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(DbError::from)
            })?;
            if exists.is_none() {
                let alg = if purpose == Purpose::Root {
                    Alg::Es256
                } else {
                    alg
                };
                let (key, file) = create_key(&dir, alg, purpose, rng)?;
                let kid = key.kid().to_owned();
                db.write_blocking(move |ctx| {
                    let now = crate::model::now();
                    insert_key(ctx.conn, &kid, alg, purpose, &file, now)?;
                    audit::append(
                        ctx.conn,
                        now,
                        "system",
                        "key.created",
                        Some(&kid),
                        &serde_json::json!({"purpose": purpose.as_str(), "alg": alg.as_str()}),
                    )?;
                    Ok::<_, ApiError>(())
                })?;
            }
        }
        let state = Self::load_state(&dir, db)?;
        Ok(KeyStore {
            dir,
            state: RwLock::new(state),
            master,
        })
    }

    fn load_state(dir: &Path, db: &Db) -> Result<State, ApiError> {
        let loaded = db.read_blocking(|c| load_records(c, dir))?;
        let mut active = None;
        let mut root = None;
        let mut records = Vec::new();
        for (rec, purpose, key) in loaded {
            match (purpose.as_str(), rec.state.as_str()) {
                ("credential", "active") => active = Some(Arc::new(key)),
                ("root", "active") => root = Some(Arc::new(key)),
                _ => {}
            }
            if purpose == "credential" {
                records.push(rec);
            }
        }
        match (active, root) {
            (Some(active), Some(root)) => Ok(State {
                active,
                root,
                records,
            }),
            _ => Err(ApiError::Internal(
                "no active credential or root key".into(),
            )),
        }
    }

    /// The key that signs credentials and status lists now.
    pub fn active(&self) -> Arc<SigningKey> {
        match self.state.read() {
            Ok(s) => s.active.clone(),
            Err(p) => p.into_inner().active.clone(),
        }
    }

    /// The root key (trust bundle).
    pub fn root(&self) -> Arc<SigningKey> {
        match self.state.read() {
            Ok(s) => s.root.clone(),
            Err(p) => p.into_inner().root.clone(),
        }
    }

    /// Credential keys: active and retired.
    pub fn records(&self) -> Vec<KeyRecord> {
        match self.state.read() {
            Ok(s) => s.records.clone(),
            Err(p) => p.into_inner().records.clone(),
        }
    }

    /// Credential keys to publish at `now`: the active one and retired ones whose last
    /// credential has not expired.
    pub fn published(&self, now: i64) -> Vec<KeyRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.state == "active" || r.last_credential_expiry.is_none_or(|t| t > now))
            .collect()
    }

    /// Rotates the credential key: a new `alg` key becomes active; the old one is retired and
    /// stays published until the last credential it signed (or could still sign, in flight)
    /// expires.
    ///
    /// # Errors
    /// Key file or storage errors.
    pub async fn rotate(
        &self,
        db: &Db,
        actor: &str,
        alg: Alg,
        max_validity: i64,
        rng: &mut (impl CryptoRngCore + Send),
    ) -> Result<KeyRecord, ApiError> {
        let (key, file) = create_key(&self.dir, alg, Purpose::Credential, rng)?;
        let kid = key.kid().to_owned();
        let actor = actor.to_owned();
        db.write(move |ctx| {
            let now = crate::model::now();
            let old: String = ctx.conn.query_row(
                "SELECT kid FROM signing_keys WHERE purpose = 'credential' AND state = 'active'",
                [],
                |r| r.get(0),
            ).map_err(DbError::from)?;
            let last: Option<i64> = ctx.conn.query_row(
                "SELECT MAX(expires_at) FROM credentials WHERE kid = ?1",
                [&old],
                |r| r.get(0),
            ).map_err(DbError::from)?;
            let last = last.unwrap_or(0).max(now + max_validity);
            ctx.conn.execute(
                "UPDATE signing_keys SET state = 'retired', not_after = ?2, last_credential_expiry = ?3 WHERE kid = ?1",
                params![old, now, last],
            ).map_err(DbError::from)?;
            insert_key(ctx.conn, &kid, alg, Purpose::Credential, &file, now)?;
            audit::append(ctx.conn, now, &actor, "key.rotated", Some(&kid), &serde_json::json!({"retired": old, "alg": alg.as_str()}))?;
            Ok::<_, ApiError>(())
        })
        .await?;
        let state = Self::load_state(&self.dir, db)?;
        let rec = state
            .records
            .iter()
            .find(|r| r.state == "active")
            .cloned()
            .ok_or_else(|| ApiError::Internal("no active key after rotation".into()))?;
        match self.state.write() {
            Ok(mut s) => *s = state,
            Err(p) => *p.into_inner() = state,
        }
        Ok(rec)
    }

    /// A 32-byte key derived from the master secret for `label`.
    fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut h = Sha256::new();
        h.update(b"issuer-master-derive\0");
        h.update(label.as_bytes());
        h.update([0u8]);
        h.update(self.master.as_ref());
        Zeroizing::new(h.finalize().into())
    }

    /// The citizen id stored for an `id_number`: base64url of a peppered SHA-256.
    pub fn citizen_id(&self, id_number: &str) -> String {
        let pepper = self.derive("citizen-pepper");
        let mut h = Sha256::new();
        h.update(pepper.as_ref());
        h.update(id_number.as_bytes());
        credential::b64::encode(h.finalize())
    }

    /// Seals `plain` with AES-256-GCM, bound to `context` (the row id). Output: nonce || ct.
    ///
    /// # Errors
    /// [`ApiError::Internal`] if the AEAD fails (it does not for valid keys).
    pub fn seal(
        &self,
        context: &str,
        plain: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, ApiError> {
        let key = self.derive("seal-aes-256-gcm");
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key.as_ref())
                .map_err(|_| ApiError::Internal("aead key".into()))?,
        );
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .map_err(|_| ApiError::Internal("seal".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`KeyStore::seal`] sealed for `context`.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when the box does not open (tampering or another master secret).
    pub fn open_sealed(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ApiError> {
        if sealed.len() < 12 + 16 {
            return Err(ApiError::Internal("sealed value too short".into()));
        }
        let key = self.derive("seal-aes-256-gcm");
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key.as_ref())
                .map_err(|_| ApiError::Internal("aead key".into()))?,
        );
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&sealed[..12]);
        let mut buf = Zeroizing::new(sealed[12..].to_vec());
        let len = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                buf.as_mut_slice(),
            )
            .map_err(|_| ApiError::Internal("sealed value does not open".into()))?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn insert_key(
    conn: &Connection,
    kid: &str,
    alg: Alg,
    purpose: Purpose,
    file: &str,
    now: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO signing_keys (kid, alg, purpose, state, file, not_before) VALUES (?1, ?2, ?3, 'active', ?4, ?5)",
        params![kid, alg.as_str(), purpose.as_str(), file, now],
    )?;
    Ok(())
}
