//! The wallet's encrypted store: SQLite in a directory the host gives, every credential and
//! holder private key sealed with XChaCha20-Poly1305 under a 32-byte [`StorageKey`] the host
//! supplies (from the device keystore, or derived from a passphrase by the CLI).
//!
//! ```text
//! DIR/wallet.sqlite3
//!   schema_version (version, applied_at)          ordered migrations, see MIGRATIONS
//!   meta           ('key_check', sealed constant)  a wrong key fails here and writes nothing
//!   credentials    id, batch_id, copy_index, issuer, vct, level, format, shown_count,
//!                  received_at, last_shown_at, grant_id, configuration,
//!                  sd_jwt (sealed), holder_key (sealed private JWK)
//!   grants         id, issuer, updated_at, refresh_token (sealed; NULL once the issuer
//!                  refused it)              one per received offer, shared by its batches
//! ```
//!
//! Each sealed value is `nonce (24 bytes) || ciphertext`, with the row id and the column name as
//! associated data, so a sealed value moved to another row or column does not open. What is
//! stored in clear is what the wallet lists without the key's help: issuer, type, level, format,
//! counts and times, never a personal claim.

use std::path::{Path, PathBuf};

use credential::citizen::{Format, Level};
use credential::jose::SigningKey;
use rand_core::{OsRng, RngCore};
use rusqlite::{params, Connection, OptionalExtension};
pub use wallet_core::seal::StorageKey;
use wallet_core::seal::{Sealer, KEY_CHECK};
use wallet_core::signer::{software_key, KeyHandle};
use wallet_core::store::{batches_of, RecordStore};
pub use wallet_core::store::{
    BatchInfo, CredentialInfo, NewCopy, NewGrant, OpenedCopy, RefreshGrant, StoreError,
};
use zeroize::{Zeroize, Zeroizing};

/// The database file name inside the wallet directory.
pub const DB_FILE: &str = "wallet.sqlite3";

/// Ordered schema migrations; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: credentials and the key check.
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE credentials (
         id TEXT PRIMARY KEY,
         batch_id TEXT NOT NULL,
         copy_index INTEGER NOT NULL,
         issuer TEXT NOT NULL,
         vct TEXT NOT NULL,
         level TEXT,
         format TEXT NOT NULL,
         shown_count INTEGER NOT NULL DEFAULT 0,
         received_at INTEGER NOT NULL,
         sd_jwt BLOB NOT NULL,
         holder_key BLOB NOT NULL,
         UNIQUE (batch_id, copy_index)
     );",
    // 2: when a copy was last shown (for the host's history screen).
    "ALTER TABLE credentials ADD COLUMN last_shown_at INTEGER;",
    // 3: the issuer's grant behind a batch (its refresh token, sealed) and the configuration
    // the batch was issued under, so the batch can be refreshed.
    "CREATE TABLE grants (
         id TEXT PRIMARY KEY,
         issuer TEXT NOT NULL,
         refresh_token BLOB,
         updated_at INTEGER NOT NULL
     );
     ALTER TABLE credentials ADD COLUMN grant_id TEXT REFERENCES grants (id);
     ALTER TABLE credentials ADD COLUMN configuration TEXT;",
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A copy opened with the key: the credential text and its holder key (a software key: the
/// desktop host's signer is [`wallet_core::signer::SoftwareSigner`]).
pub struct OpenedCredential {
    /// The listing data.
    pub info: CredentialInfo,
    /// The SD-JWT as issued (`<jwt>~<disclosures>~`).
    pub sd_jwt: Zeroizing<String>,
    /// The holder key the copy is bound to.
    pub holder_key: SigningKey,
}

impl std::fmt::Debug for OpenedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCredential")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// SQLite's failure as the store's error.
fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database {
        reason: e.to_string(),
    }
}

/// The wallet's store.
pub struct Store {
    conn: Connection,
    sealer: Sealer,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |r| r.get(0),
    ).map_err(db)?;
    if !exists {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )
    .map_err(db)
}

impl Store {
    /// Opens (or creates) the wallet in `dir` with `key`.
    ///
    /// A new wallet records a sealed key check; an existing one is opened only when `key`
    /// opens that check, before any migration or other write.
    ///
    /// # Errors
    /// [`StoreError::WrongKey`], [`StoreError::SchemaTooNew`], [`StoreError::Corrupted`] for a
    /// damaged key check, [`StoreError::Io`] / [`StoreError::Database`].
    pub fn open(dir: &Path, key: &StorageKey) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            reason: e.kind().to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // Best effort: the directory holds only sealed data, but keep it private.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let mut store = Store {
            conn,
            sealer: key.sealer(),
            path,
        };
        let version = schema_version(&store.conn)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version > 0 {
            store.check_key()?;
        }
        store
            .conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        store
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        store.migrate(version)?;
        Ok(store)
    }

    fn check_key(&self) -> Result<(), StoreError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db)?;
        let sealed = sealed.ok_or_else(|| StoreError::Corrupted {
            id: "meta:key_check".into(),
        })?;
        if self.sealer.opens_key_check(&sealed, "meta:key_check") {
            Ok(())
        } else {
            Err(StoreError::WrongKey)
        }
    }

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        if from == SCHEMA_VERSION {
            return Ok(());
        }
        let now = now();
        let key_check = self.seal(KEY_CHECK, "meta:key_check");
        let tx = self.conn.transaction().map_err(db)?;
        if from == 0 {
            tx.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);",
            ).map_err(db)?;
        }
        // `from` is in 0..SCHEMA_VERSION here, so the conversion and the slice hold.
        let start = usize::try_from(from).unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
            tx.execute_batch(sql).map_err(db)?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                params![i as i64 + 1, now],
            )
            .map_err(db)?;
        }
        if from == 0 {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('key_check', ?1)",
                params![key_check],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(())
    }

    /// The schema version of the open database.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema_version(&self.conn)
    }

    fn seal(&self, plain: &[u8], aad: &str) -> Vec<u8> {
        self.sealer.seal(plain, aad, &mut OsRng)
    }

    fn open_sealed(&self, sealed: &[u8], aad: &str) -> Option<Zeroizing<Vec<u8>>> {
        self.sealer.open(sealed, aad)
    }

    /// Stores copies as one batch, all or nothing; returns the new batch id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn insert_batch(&mut self, copies: Vec<NewCopy>) -> Result<String, StoreError> {
        let ids = self.insert_batches(vec![copies])?;
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    /// Stores several batches in one transaction, all or nothing; returns their ids.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn insert_batches(
        &mut self,
        batches: Vec<Vec<NewCopy>>,
    ) -> Result<Vec<String>, StoreError> {
        let batches = batches.into_iter().map(|c| (None, c)).collect();
        self.insert_granted(None, batches)
    }

    /// Stores the batches of one offer and its grant (the refresh token, sealed), in one
    /// transaction; returns the batch ids. Each batch names its configuration.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub(crate) fn insert_granted(
        &mut self,
        grant: Option<NewGrant>,
        batches: Vec<(Option<String>, Vec<NewCopy>)>,
    ) -> Result<Vec<String>, StoreError> {
        let batches = batches
            .into_iter()
            .map(|(config, copies)| (new_batch_id(), config, copies))
            .collect();
        self.write_batches(grant, None, batches)
    }

    /// Replaces the copies of `batch_id` with `copies` (a refreshed batch keeps its id), in one
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the batch is gone; [`StoreError::Database`].
    pub(crate) fn replace_batch(
        &mut self,
        grant: &RefreshGrant,
        copies: Vec<NewCopy>,
    ) -> Result<usize, StoreError> {
        let n = copies.len();
        let batch = (
            grant.batch_id.clone(),
            Some(grant.configuration.clone()),
            copies,
        );
        self.write_batches(None, Some(grant), vec![batch])?;
        Ok(n)
    }

    fn write_batches(
        &mut self,
        grant: Option<NewGrant>,
        replacing: Option<&RefreshGrant>,
        batches: Vec<(String, Option<String>, Vec<NewCopy>)>,
    ) -> Result<Vec<String>, StoreError> {
        let now = now();
        let grant_row = grant.map(|g| {
            let id = new_batch_id();
            let sealed = self.seal(g.refresh_token.as_bytes(), &grant_aad(&id));
            (id, g.issuer, sealed)
        });
        let grant_id = grant_row
            .as_ref()
            .map(|(id, _, _)| id.clone())
            .or_else(|| replacing.map(|r| r.grant_id.clone()));
        let mut rows = Vec::new();
        let mut ids = Vec::new();
        for (batch_id, config, copies) in batches {
            for (i, copy) in copies.into_iter().enumerate() {
                let id = format!("{batch_id}-{i}");
                let sd_jwt = self.seal(copy.sd_jwt.as_bytes(), &format!("{id}:sd_jwt"));
                let key = self.seal(
                    copy.holder_key.as_str().as_bytes(),
                    &format!("{id}:holder_key"),
                );
                rows.push((id, batch_id.clone(), config.clone(), i, copy, sd_jwt, key));
            }
            ids.push(batch_id);
        }
        let tx = self.conn.transaction().map_err(db)?;
        if let Some((id, issuer, sealed)) = &grant_row {
            tx.execute(
                "INSERT INTO grants (id, issuer, refresh_token, updated_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, issuer, sealed, now],
            ).map_err(db)?;
        }
        if let Some(r) = replacing {
            let n = tx
                .execute(
                    "DELETE FROM credentials WHERE batch_id = ?1",
                    params![r.batch_id],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    id: r.batch_id.clone(),
                });
            }
        }
        for (id, batch_id, config, i, copy, sd_jwt, key) in &rows {
            tx.execute(
                "INSERT INTO credentials (id, batch_id, copy_index, issuer, vct, level, format,
                     shown_count, received_at, sd_jwt, holder_key, grant_id, configuration)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10, ?11, ?12)",
                params![
                    id,
                    batch_id,
                    *i as i64,
                    copy.issuer,
                    copy.vct,
                    copy.level.map(Level::as_str),
                    copy.format.as_str(),
                    now,
                    sd_jwt,
                    key,
                    grant_id,
                    config
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(ids)
    }

    /// What refreshing `batch_id` needs, or `None` when the wallet holds no refresh token for
    /// it (imported, received from an issuer that gave none, or refused since).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Corrupted`] when the token does not open.
    pub fn refresh_grant(&self, batch_id: &str) -> Result<Option<RefreshGrant>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT grant_id, configuration FROM credentials WHERE batch_id = ?1 LIMIT 1",
                params![batch_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((grant_id, configuration)) = row else {
            return Err(StoreError::NotFound {
                id: batch_id.to_owned(),
            });
        };
        let (Some(grant_id), Some(configuration)) = (grant_id, configuration) else {
            return Ok(None);
        };
        let grant: Option<(String, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT issuer, refresh_token FROM grants WHERE id = ?1",
                params![grant_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((issuer, Some(sealed))) = grant else {
            return Ok(None);
        };
        let corrupted = || StoreError::Corrupted {
            id: format!("grant:{grant_id}"),
        };
        let plain = self
            .open_sealed(&sealed, &grant_aad(&grant_id))
            .ok_or_else(corrupted)?;
        let token = std::str::from_utf8(&plain).map_err(|_| corrupted())?;
        Ok(Some(RefreshGrant {
            batch_id: batch_id.to_owned(),
            grant_id,
            issuer,
            configuration,
            refresh_token: Zeroizing::new(token.to_owned()),
        }))
    }

    /// Replaces a grant's refresh token (after rotation), or forgets it (`None`: the issuer
    /// refused it, so it will never work again).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Database`].
    pub(crate) fn set_refresh_token(
        &mut self,
        grant_id: &str,
        token: Option<&str>,
    ) -> Result<(), StoreError> {
        let sealed = token.map(|t| self.seal(t.as_bytes(), &grant_aad(grant_id)));
        let n = self
            .conn
            .execute(
                "UPDATE grants SET refresh_token = ?2, updated_at = ?3 WHERE id = ?1",
                params![grant_id, sealed, now()],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                id: grant_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Every stored copy, by batch then copy index.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] for a row whose clear columns do not decode.
    pub fn list(&self) -> Result<Vec<CredentialInfo>, StoreError> {
        self.query_info("1 = 1", params![])
    }

    /// The copies of one batch.
    ///
    /// # Errors
    /// As [`Store::list`].
    pub fn copies(&self, batch_id: &str) -> Result<Vec<CredentialInfo>, StoreError> {
        self.query_info("batch_id = ?1", params![batch_id])
    }

    /// The batches, newest first.
    ///
    /// # Errors
    /// As [`Store::list`].
    pub fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        let refreshable: Vec<String> = self
            .conn
            .prepare(
                "SELECT DISTINCT c.batch_id FROM credentials c JOIN grants g ON g.id = c.grant_id
                 WHERE g.refresh_token IS NOT NULL",
            )
            .map_err(db)?
            .query_map([], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(batches_of(self.list()?, |batch_id| {
            refreshable.iter().any(|b| b == batch_id)
        }))
    }

    fn query_info(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<CredentialInfo>, StoreError> {
        let sql = format!(
            "SELECT id, batch_id, copy_index, issuer, vct, level, format, shown_count, received_at,
                    last_shown_at
             FROM credentials WHERE {filter} ORDER BY received_at, batch_id, copy_index"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, batch_id, copy, issuer, vct, level, format, shown, received_at, last) =
                row.map_err(db)?;
            let corrupted = || StoreError::Corrupted { id: id.clone() };
            let level = match level {
                None => None,
                Some(l) => Some(Level::parse(&l).map_err(|_| corrupted())?),
            };
            if Format::parse(&format).is_none() {
                return Err(corrupted());
            }
            out.push(CredentialInfo {
                copy_index: u32::try_from(copy).map_err(|_| corrupted())?,
                shown_count: u32::try_from(shown).map_err(|_| corrupted())?,
                id,
                batch_id,
                issuer,
                vct,
                level,
                format,
                received_at,
                last_shown_at: last,
            });
        }
        Ok(out)
    }

    /// Opens one copy: decrypts its credential and holder key.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Corrupted`] when it does not decrypt or decode.
    pub fn open_copy(&self, id: &str) -> Result<OpenedCredential, StoreError> {
        let (info, sd_jwt, handle) = self.open_sealed_copy(id)?;
        let holder_key =
            software_key(&handle).map_err(|_| StoreError::Corrupted { id: id.to_owned() })?;
        Ok(OpenedCredential {
            info,
            sd_jwt,
            holder_key,
        })
    }

    /// One copy unsealed: its listing, credential and holder-key handle.
    fn open_sealed_copy(
        &self,
        id: &str,
    ) -> Result<(CredentialInfo, Zeroizing<String>, KeyHandle), StoreError> {
        let info = self
            .query_info("id = ?1", params![id])?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        let (sd_jwt, key): (Vec<u8>, Vec<u8>) = self
            .conn
            .query_row(
                "SELECT sd_jwt, holder_key FROM credentials WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        let corrupted = || StoreError::Corrupted { id: id.to_owned() };
        let sd_jwt = self
            .open_sealed(&sd_jwt, &format!("{id}:sd_jwt"))
            .ok_or_else(corrupted)?;
        let key = self
            .open_sealed(&key, &format!("{id}:holder_key"))
            .ok_or_else(corrupted)?;
        let sd_jwt = Zeroizing::new(String::from_utf8(sd_jwt.to_vec()).map_err(|e| {
            e.into_bytes().zeroize();
            corrupted()
        })?);
        let handle = KeyHandle::new(std::str::from_utf8(&key).map_err(|_| corrupted())?);
        Ok((info, sd_jwt, handle))
    }

    /// Records that a copy was shown at `at` (Unix seconds).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Database`].
    pub fn mark_shown(&mut self, id: &str, at: i64) -> Result<(), StoreError> {
        RecordStore::mark_shown(self, &[id.to_owned()], at)
    }

    /// Deletes a batch (by batch id) or one copy (by copy id); returns how many copies went.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when nothing has this id.
    pub fn delete(&mut self, id: &str) -> Result<usize, StoreError> {
        let tx = self.conn.transaction().map_err(db)?;
        let n = tx
            .execute(
                "DELETE FROM credentials WHERE batch_id = ?1 OR id = ?1",
                params![id],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound { id: id.to_owned() });
        }
        // A refresh token goes with the last batch that could use it.
        tx.execute(
            "DELETE FROM grants WHERE id NOT IN
               (SELECT grant_id FROM credentials WHERE grant_id IS NOT NULL)",
            [],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(n)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for tests that damage rows on purpose.
    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The core's storage interface over this SQLite store: each method is one transaction.
impl RecordStore for Store {
    fn insert_granted(
        &mut self,
        grant: Option<NewGrant>,
        batches: Vec<(Option<String>, Vec<NewCopy>)>,
    ) -> Result<Vec<String>, StoreError> {
        Store::insert_granted(self, grant, batches)
    }

    fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        Store::batches(self)
    }

    fn copies(&self, batch_id: &str) -> Result<Vec<CredentialInfo>, StoreError> {
        Store::copies(self, batch_id)
    }

    fn open_copy(&self, id: &str) -> Result<OpenedCopy, StoreError> {
        let (info, sd_jwt, holder_key) = self.open_sealed_copy(id)?;
        Ok(OpenedCopy {
            info,
            sd_jwt,
            holder_key,
        })
    }

    fn mark_shown(&mut self, ids: &[String], at: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(db)?;
        for id in ids {
            let n = tx
                .execute(
                    "UPDATE credentials SET shown_count = shown_count + 1, last_shown_at = ?2 WHERE id = ?1",
                    params![id, at],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::NotFound { id: id.clone() });
            }
        }
        tx.commit().map_err(db)
    }

    fn refresh_grant(&self, batch_id: &str) -> Result<Option<RefreshGrant>, StoreError> {
        Store::refresh_grant(self, batch_id)
    }

    fn set_refresh_token(&mut self, grant_id: &str, token: Option<&str>) -> Result<(), StoreError> {
        Store::set_refresh_token(self, grant_id, token)
    }

    fn replace_batch(
        &mut self,
        grant: &RefreshGrant,
        copies: Vec<NewCopy>,
    ) -> Result<usize, StoreError> {
        Store::replace_batch(self, grant, copies)
    }
}

fn grant_aad(grant_id: &str) -> String {
    format!("grant:{grant_id}:refresh_token")
}

fn new_batch_id() -> String {
    let mut b = [0u8; 5];
    OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use credential::jose::Alg;

    fn key(b: u8) -> StorageKey {
        StorageKey::from_bytes([b; 32])
    }

    fn copy(n: u8) -> NewCopy {
        NewCopy {
            issuer: "https://id.example.cn".into(),
            vct: credential::citizen::VCT_BASIC.into(),
            level: Some(Level::Basic),
            format: Format::DcSdJwt,
            sd_jwt: format!("eyJhbGciOiJFUzI1NiJ9.e30.c2ln~d{n}~"),
            holder_key: wallet_core::signer::software_handle(&SigningKey::generate(
                Alg::Es256,
                &mut OsRng,
            )),
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        let holder = copy(0);
        let public = software_key(&holder.holder_key)
            .unwrap()
            .public_jwk()
            .clone();
        let batch = store.insert_batch(vec![holder, copy(1)]).unwrap();
        drop(store);
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, format!("{batch}-0"));
        assert_eq!(list[0].level, Some(Level::Basic));
        let opened = store.open_copy(&list[0].id).unwrap();
        assert_eq!(opened.sd_jwt.as_str(), "eyJhbGciOiJFUzI1NiJ9.e30.c2ln~d0~");
        assert_eq!(opened.holder_key.public_jwk(), &public);
        store.mark_shown(&list[0].id, 5).unwrap();
        let b = &store.batches().unwrap()[0];
        assert_eq!((b.copies, b.unused), (2, 1));
        assert_eq!(store.delete(&batch).unwrap(), 2);
        assert!(store.list().unwrap().is_empty());
        assert_eq!(
            store.delete(&batch).unwrap_err(),
            StoreError::NotFound { id: batch }
        );
    }

    #[test]
    fn nothing_personal_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        store.insert_batch(vec![copy(7)]).unwrap();
        drop(store);
        let bytes = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        let wal = std::fs::read(dir.path().join(format!("{DB_FILE}-wal"))).unwrap_or_default();
        for haystack in [bytes, wal] {
            assert!(!haystack.windows(4).any(|w| w == b"~d7~"));
            assert!(!haystack.windows(5).any(|w| w == b"\"d\":\""));
        }
    }

    #[test]
    fn refresh_token_is_sealed_rotated_forgotten_and_deleted_with_its_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        let grant = NewGrant {
            issuer: "https://id.example.cn".into(),
            refresh_token: Zeroizing::new("rt-id.SECRETrefreshTOKEN".into()),
        };
        let ids = store
            .insert_granted(
                Some(grant),
                vec![
                    (Some("cfg_dc".into()), vec![copy(1)]),
                    (Some("cfg_vc".into()), vec![copy(2)]),
                ],
            )
            .unwrap();
        let g = store.refresh_grant(&ids[0]).unwrap().unwrap();
        assert_eq!(g.refresh_token.as_str(), "rt-id.SECRETrefreshTOKEN");
        assert_eq!(g.configuration, "cfg_dc");
        assert!(!format!("{g:?}").contains("SECRET"));
        assert!(store.batches().unwrap().iter().all(|b| b.refreshable));
        // Both batches of the offer share the grant, so a rotation reaches both.
        store
            .set_refresh_token(&g.grant_id, Some("rt-id2.NEXTtoken"))
            .unwrap();
        let g2 = store.refresh_grant(&ids[1]).unwrap().unwrap();
        assert_eq!(g2.refresh_token.as_str(), "rt-id2.NEXTtoken");
        assert_eq!(g2.configuration, "cfg_vc");
        // Sealed at rest.
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(FULL)")
            .unwrap();
        let bytes = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        let wal = std::fs::read(dir.path().join(format!("{DB_FILE}-wal"))).unwrap_or_default();
        for haystack in [bytes, wal] {
            assert!(!haystack.windows(6).any(|w| w == b"SECRET"));
            assert!(!haystack.windows(9).any(|w| w == b"NEXTtoken"));
        }
        // Moved to another grant row, it does not open.
        store
            .conn()
            .execute(
                "INSERT INTO grants (id, issuer, refresh_token, updated_at)
                 SELECT 'other', issuer, refresh_token, 0 FROM grants",
                [],
            )
            .unwrap();
        store
            .conn()
            .execute(
                "UPDATE credentials SET grant_id = 'other' WHERE batch_id = ?1",
                [&ids[1]],
            )
            .unwrap();
        assert_eq!(
            store.refresh_grant(&ids[1]).unwrap_err(),
            StoreError::Corrupted {
                id: "grant:other".into()
            }
        );
        // Forgotten: not refreshable any more.
        store.set_refresh_token(&g.grant_id, None).unwrap();
        assert!(store.refresh_grant(&ids[0]).unwrap().is_none());
        // Imported (no grant): not refreshable.
        let imported = store.insert_batch(vec![copy(3)]).unwrap();
        assert!(store.refresh_grant(&imported).unwrap().is_none());
        // Deleting the last batch of a grant deletes the grant.
        store.delete(&ids[0]).unwrap();
        let grants = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT COUNT(*) FROM grants", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(grants(&store), 1);
        store.delete(&ids[1]).unwrap();
        assert_eq!(grants(&store), 0);
    }

    #[test]
    fn wrong_key_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        store.insert_batch(vec![copy(0)]).unwrap();
        let before = store.list().unwrap();
        drop(store);
        let file = dir.path().join(DB_FILE);
        let bytes_before = std::fs::read(&file).unwrap();
        assert_eq!(
            Store::open(dir.path(), &key(2)).unwrap_err(),
            StoreError::WrongKey
        );
        assert_eq!(std::fs::read(&file).unwrap(), bytes_before);
        let store = Store::open(dir.path(), &key(1)).unwrap();
        assert_eq!(store.list().unwrap(), before);
    }

    #[test]
    fn corrupted_row_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        let batch = store.insert_batch(vec![copy(0), copy(1)]).unwrap();
        let id0 = format!("{batch}-0");
        let id1 = format!("{batch}-1");
        let mut sealed: Vec<u8> = store
            .conn()
            .query_row(
                "SELECT sd_jwt FROM credentials WHERE id = ?1",
                params![id0],
                |r| r.get(0),
            )
            .unwrap();
        sealed[30] ^= 1;
        let change = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
            store.conn().execute(sql, params).unwrap();
        };
        // A flipped ciphertext byte; a sealed value moved to another row: neither opens.
        for (sql, params, id) in [
            (
                "UPDATE credentials SET sd_jwt = ?2 WHERE id = ?1",
                params![id0, sealed],
                &id0,
            ),
            (
                "UPDATE credentials SET holder_key = (SELECT holder_key FROM credentials WHERE id = ?1) WHERE id = ?2",
                params![id0, id1],
                &id1,
            ),
        ] {
            change(sql, params);
            let err = store.open_copy(id).unwrap_err();
            assert_eq!(err, StoreError::Corrupted { id: id.clone() });
        }
        // A clear column that does not decode.
        change(
            "UPDATE credentials SET level = 'ultra' WHERE id = ?1",
            params![id1],
        );
        assert_eq!(store.list().unwrap_err(), StoreError::Corrupted { id: id1 });
    }

    #[test]
    fn migrations_run_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        // A wallet at schema version 1, as the first release wrote it.
        {
            let k = key(1);
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            let store = Store {
                conn,
                sealer: k.sealer(),
                path: dir.path().join(DB_FILE),
            };
            let key_check = store.seal(KEY_CHECK, "meta:key_check");
            store
                .conn
                .execute_batch(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);",
                )
                .unwrap();
            store.conn.execute_batch(MIGRATIONS[0]).unwrap();
            store
                .conn
                .execute("INSERT INTO schema_version VALUES (1, 0)", [])
                .unwrap();
            store
                .conn
                .execute(
                    "INSERT INTO meta VALUES ('key_check', ?1)",
                    params![key_check],
                )
                .unwrap();
        }
        // A wrong key does not migrate.
        assert_eq!(
            Store::open(dir.path(), &key(9)).unwrap_err(),
            StoreError::WrongKey
        );
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), 1);
        }
        let mut store = Store::open(dir.path(), &key(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let batch = store.insert_batch(vec![copy(0)]).unwrap();
        store.mark_shown(&format!("{batch}-0"), 42).unwrap();
        assert_eq!(store.list().unwrap()[0].last_shown_at, Some(42));
        drop(store);
        let store = Store::open(dir.path(), &key(1)).unwrap();
        let versions: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(versions, SCHEMA_VERSION);
        // A newer wallet's database is refused.
        store
            .conn()
            .execute("INSERT INTO schema_version VALUES (99, 0)", [])
            .unwrap();
        drop(store);
        assert_eq!(
            Store::open(dir.path(), &key(1)).unwrap_err(),
            StoreError::SchemaTooNew {
                found: 99,
                supported: SCHEMA_VERSION
            }
        );
    }

    #[test]
    fn storage_key_debug_shows_nothing() {
        assert_eq!(format!("{:?}", key(0xab)), "StorageKey(..)");
    }
}
