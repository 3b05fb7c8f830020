//! Keys: the credential signing keys (one active, retired ones kept published until the last
//! credential they signed expires), the root key that signs the trust bundle, and the data
//! directory's master secret (from which the hashing pepper and the claims sealing key derive).
//!
//! Private keys live in the `signing_keys` table as private JWKs sealed with AES-256-GCM under
//! the master secret (associated data `signing-key:<kid>`), beside kid, alg, purpose, state and
//! validity windows; every replica given the same master secret (`master_secret_file`) opens
//! them. Keys of data directories from before migration 4 stay private JWK files in
//! `DATA/keys/` (mode 0600, directory 0700) and still load. The database decides which key is
//! active (a partial unique index allows one per purpose); a replica re-reads the keys when the
//! active kid there is not its own ([`KeyStore::refresh`]). Key bytes stay in this module:
//! everything else signs through [`KeyStore::active`] / [`KeyStore::root`].

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use credential::jose::{PublicJwk, SigningKey};

use crate::domain::keys::{Alg, KeyPurpose, KeyState, KeyWithdrawal, MAX_WITHDRAWALS};
use crate::error::IssuerError;
use crate::store::DbError;
use crate::store::{KeyRow, SharedStore};

/// A key as published: public JWK and validity window.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// Algorithm.
    pub alg: Alg,
    /// Active or retired.
    pub state: KeyState,
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
            "state": self.state.as_str(),
            "not_before": self.not_before,
            "not_after": self.not_after,
            "last_credential_expiry": self.last_credential_expiry,
            "jwk": self.jwk.to_value(),
        })
    }
}

/// The keys in memory; `None` only inside [`KeyStore::open`].
struct State {
    active: Arc<SigningKey>,
    root: Arc<SigningKey>,
    records: Vec<KeyRecord>,
    /// Emergency withdrawals, from `key_withdrawals` (`crate::service::withdraw`).
    withdrawals: Vec<KeyWithdrawal>,
}

/// The issuer's keys.
pub struct KeyStore {
    dir: PathBuf,
    state: RwLock<Option<State>>,
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

fn io(e: std::io::Error) -> IssuerError {
    IssuerError::Internal(format!("key file: {e}"))
}

/// Reads a configured master secret file: exactly 32 bytes.
fn read_master(path: &Path) -> Result<Zeroizing<[u8; 32]>, IssuerError> {
    let bytes =
        Zeroizing::new(fs::read(path).map_err(|e| {
            IssuerError::Internal(format!("master secret {}: {e}", path.display()))
        })?);
    let mut master = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(IssuerError::Internal(format!(
            "master secret {} is not 32 bytes",
            path.display()
        )));
    }
    master.copy_from_slice(&bytes);
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the master secret file is readable by other users: make it 0600"
            );
        }
    }
    Ok(master)
}

fn load_master(
    dir: &Path,
    rng: &mut impl CryptoRngCore,
) -> Result<Zeroizing<[u8; 32]>, IssuerError> {
    let path = dir.join("master.secret");
    let mut master = Zeroizing::new([0u8; 32]);
    match fs::read(&path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            if bytes.len() != 32 {
                return Err(IssuerError::Internal(
                    "master.secret is not 32 bytes".into(),
                ));
            }
            master.copy_from_slice(&bytes);
            crate::files::owner_only(&path, 0o600).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            rng.fill_bytes(master.as_mut());
            write_private(&path, master.as_ref()).map_err(io)?;
        }
        Err(e) => return Err(io(e)),
    }
    Ok(master)
}

/// The AEAD context (associated data) of a signing key sealed in the database.
fn sealed_key_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

impl KeyStore {
    /// Opens the keys: the master secret from `master_file` (required to exist) or else
    /// `data/keys/master.secret` (generated on first start), and the signing keys from the
    /// database, generating a credential key (`alg`) and a root key (ES256) when the database
    /// has none (valid from `now`). New keys are stored in the database sealed under the
    /// master secret, so every replica given the same master secret signs with the same keys.
    ///
    /// # Errors
    /// [`IssuerError::Internal`] when the master secret is missing or wrong (a sealed key does not
    /// open) or a legacy key file is missing or does not match its row; storage errors.
    pub async fn open(
        data: &Path,
        master_file: Option<&Path>,
        store: &SharedStore,
        alg: Alg,
        now: i64,
        rng: &mut (impl CryptoRngCore + Send),
    ) -> Result<KeyStore, IssuerError> {
        let dir = data.join("keys");
        let master = match master_file {
            Some(path) => read_master(path)?,
            None => {
                fs::create_dir_all(&dir).map_err(io)?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
                load_master(&dir, rng)?
            }
        };
        let mut keys = KeyStore {
            dir,
            state: RwLock::new(None),
            master,
        };
        for purpose in KeyPurpose::ALL {
            if store.active_kid(purpose).await?.is_none() {
                let alg = if purpose == KeyPurpose::Root {
                    Alg::Es256
                } else {
                    alg
                };
                let (_, row) = keys.create_key(alg, purpose, now, rng)?;
                // Another replica starting at the same time may win; then its key is used.
                store.create_first_key(row).await?;
            }
        }
        let state = keys.load_state(store).await?;
        keys.state = RwLock::new(Some(state));
        Ok(keys)
    }

    async fn load_state(&self, store: &SharedStore) -> Result<State, IssuerError> {
        let rows = store.key_rows().await?;
        let mut active = None;
        let mut root = None;
        let mut records = Vec::new();
        for row in rows {
            let text = match &row.sealed {
                Some(sealed) => {
                    let plain = self
                        .open_sealed(&sealed_key_context(&row.kid), sealed)
                        .map_err(|_| {
                            IssuerError::Internal(format!(
                                "signing key {} does not open: is this the master secret the \
                                 other replicas use?",
                                row.kid
                            ))
                        })?;
                    Zeroizing::new(
                        String::from_utf8(plain.to_vec())
                            .map_err(|_| DbError::Corrupt { what: "sealed key" })?,
                    )
                }
                None => Zeroizing::new(fs::read_to_string(self.dir.join(&row.file)).map_err(io)?),
            };
            let key = SigningKey::from_private_jwk(&text)
                .map_err(|e| IssuerError::Internal(format!("key {}: {e}", row.kid)))?;
            if key.kid() != row.kid {
                return Err(IssuerError::Internal(format!(
                    "stored key does not hold {}",
                    row.kid
                )));
            }
            let rec = KeyRecord {
                kid: row.kid,
                alg: key.alg(),
                state: row.state,
                not_before: row.not_before,
                not_after: row.not_after,
                last_credential_expiry: row.last_credential_expiry,
                jwk: key.public_jwk().clone(),
            };
            let purpose = row.purpose;
            match (purpose, rec.state) {
                (KeyPurpose::Credential, KeyState::Active) => active = Some(Arc::new(key)),
                (KeyPurpose::Root, KeyState::Active) => root = Some(Arc::new(key)),
                _ => {}
            }
            if purpose == KeyPurpose::Credential {
                records.push(rec);
            }
        }
        // Every withdrawal rotates the active key, so a replica that reloads its keys for a
        // new active key picks the withdrawal up here too.
        let withdrawals = store.key_withdrawals(MAX_WITHDRAWALS).await?;
        match (active, root) {
            (Some(active), Some(root)) => Ok(State {
                active,
                root,
                records,
                withdrawals,
            }),
            _ => Err(IssuerError::Internal(
                "no active credential or root key".into(),
            )),
        }
    }

    /// Generates a key and its row, the private JWK sealed under the master secret.
    fn create_key(
        &self,
        alg: Alg,
        purpose: KeyPurpose,
        now: i64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(SigningKey, KeyRow), IssuerError> {
        let key = SigningKey::generate(alg, rng);
        let private = Zeroizing::new(key.to_private_jwk());
        let sealed = self.seal(&sealed_key_context(key.kid()), private.as_bytes(), rng)?;
        let row = KeyRow {
            kid: key.kid().to_owned(),
            alg,
            purpose,
            state: KeyState::Active,
            file: String::new(),
            sealed: Some(sealed),
            not_before: now,
            not_after: None,
            last_credential_expiry: None,
        };
        Ok((key, row))
    }

    fn read_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let guard = match self.state.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // Invariant: `open` stores a state before returning the KeyStore.
        match guard.as_ref() {
            Some(s) => f(s),
            None => unreachable!("key state is loaded in KeyStore::open"),
        }
    }

    fn set_state(&self, state: State) {
        match self.state.write() {
            Ok(mut s) => *s = Some(state),
            Err(p) => *p.into_inner() = Some(state),
        }
    }

    /// Re-reads the keys when the database's active credential key is not the one in memory
    /// (another replica, or the command line, rotated). Returns whether it changed.
    ///
    /// # Errors
    /// Storage errors; [`IssuerError::Internal`] when the new key does not open.
    pub async fn refresh(&self, store: &SharedStore) -> Result<bool, IssuerError> {
        let active = store.active_kid(KeyPurpose::Credential).await?;
        if active.as_deref() == Some(self.active().kid()) {
            return Ok(false);
        }
        let state = self.load_state(store).await?;
        self.set_state(state);
        Ok(true)
    }

    /// The key that signs credentials and status lists now.
    pub fn active(&self) -> Arc<SigningKey> {
        self.read_state(|s| s.active.clone())
    }

    /// The root key (trust bundle).
    pub fn root(&self) -> Arc<SigningKey> {
        self.read_state(|s| s.root.clone())
    }

    /// Credential keys: active and retired.
    pub fn records(&self) -> Vec<KeyRecord> {
        self.read_state(|s| s.records.clone())
    }

    /// The withdrawn credential keys (as of the last load).
    pub fn withdrawals(&self) -> Vec<KeyWithdrawal> {
        self.read_state(|s| s.withdrawals.clone())
    }

    /// Re-reads the keys and withdrawals from the database.
    ///
    /// # Errors
    /// Storage errors; [`IssuerError::Internal`] when a key does not open.
    pub async fn reload(&self, store: &SharedStore) -> Result<(), IssuerError> {
        let state = self.load_state(store).await?;
        self.set_state(state);
        Ok(())
    }

    /// Credential keys for the online channels (`/.well-known/jwt-vc-issuer`, `did.json`) at
    /// `now`: the published ones except withdrawn keys, which those channels cannot mark.
    pub fn published_online(&self, now: i64) -> Vec<KeyRecord> {
        let withdrawn = self.withdrawals();
        self.published(now)
            .into_iter()
            .filter(|r| !withdrawn.iter().any(|w| w.kid == r.kid))
            .collect()
    }

    /// Credential keys to publish at `now`: the active one and retired ones whose last
    /// credential has not expired.
    pub fn published(&self, now: i64) -> Vec<KeyRecord> {
        self.records()
            .into_iter()
            .filter(|r| {
                r.state == KeyState::Active || r.last_credential_expiry.is_none_or(|t| t > now)
            })
            .collect()
    }

    /// Rotates the credential key: a new `alg` key becomes active; the old one is retired and
    /// stays published until the last credential it signed (or could still sign, in flight)
    /// expires. `now` is the rotation time.
    ///
    /// # Errors
    /// Key file or storage errors.
    pub async fn rotate(
        &self,
        store: &SharedStore,
        actor: &str,
        alg: Alg,
        max_validity: i64,
        now: i64,
        rng: &mut (impl CryptoRngCore + Send),
    ) -> Result<KeyRecord, IssuerError> {
        let (key, row) = self.create_key(alg, KeyPurpose::Credential, now, rng)?;
        let kid = key.kid().to_owned();
        store.rotate_key(actor, row, max_validity).await?;
        let state = self.load_state(store).await?;
        let rec = state
            .records
            .iter()
            .find(|r| r.kid == kid)
            .cloned()
            .ok_or_else(|| IssuerError::Internal("rotated key not stored".into()))?;
        self.set_state(state);
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

    /// The digest stored for an offer's `tx_code` (see [`crate::secret::TxCode::keyed_digest`]; the key is
    /// derived from the master secret, label `tx-code-hmac`).
    pub fn tx_code_digest(
        &self,
        offer_id: &str,
        tx_code: &crate::secret::TxCode,
    ) -> crate::secret::SecretDigest {
        let key = self.derive("tx-code-hmac");
        tx_code.keyed_digest(&key, offer_id)
    }

    /// The key of stateless `c_nonce`s ([`crate::secret::seal_c_nonce`]), derived from the
    /// master secret (label `c-nonce-hmac`), so every replica checks every replica's nonces.
    pub fn c_nonce_key(&self) -> Zeroizing<[u8; 32]> {
        self.derive("c-nonce-hmac")
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
    /// [`IssuerError::Internal`] if the AEAD fails (it does not for valid keys).
    pub fn seal(
        &self,
        context: &str,
        plain: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, IssuerError> {
        let key = self.derive("seal-aes-256-gcm");
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key.as_ref())
                .map_err(|_| IssuerError::Internal("aead key".into()))?,
        );
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .map_err(|_| IssuerError::Internal("seal".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`KeyStore::seal`] sealed for `context`.
    ///
    /// # Errors
    /// [`IssuerError::Internal`] when the box does not open (tampering or another master secret).
    pub fn open_sealed(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, IssuerError> {
        if sealed.len() < 12 + 16 {
            return Err(IssuerError::Internal("sealed value too short".into()));
        }
        let key = self.derive("seal-aes-256-gcm");
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key.as_ref())
                .map_err(|_| IssuerError::Internal("aead key".into()))?,
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
            .map_err(|_| IssuerError::Internal("sealed value does not open".into()))?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}
