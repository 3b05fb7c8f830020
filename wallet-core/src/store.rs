//! What the host persists for the core, and the storage interface the core's protocols use.
//!
//! The records are the copies of each batch (credential and holder key sealed), listed by the
//! clear data a wallet shows without the key (issuer, type, level, format, counts, times; never
//! a personal claim), and the grants (the refresh token, sealed) the batches of one offer
//! share. Sealing is [`crate::seal`]'s; the host keeps the sealed bytes.

use credential::citizen::{Format, Level};
use zeroize::Zeroizing;

use crate::signer::KeyHandle;

/// Why the store could not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage key does not open this wallet. Nothing was read or written.
    #[error("wrong storage key for this wallet")]
    WrongKey,
    /// A stored row does not decrypt or decode (damaged file, or tampering).
    #[error("stored credential {id} is corrupted")]
    Corrupted {
        /// The row id (`meta:<name>` for the meta table).
        id: String,
    },
    /// No credential or batch with this id.
    #[error("no credential with id {id}")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The database was written by a newer wallet.
    #[error("wallet schema version {found} is newer than this wallet's {supported}")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Version this code knows.
        supported: i64,
    },
    /// The wallet directory could not be created or the database opened.
    #[error("cannot open wallet directory: {reason}")]
    Io {
        /// What failed (no secret inside).
        reason: String,
    },
    /// The host's records exceed the limits read before opening them.
    #[error("records refused: {reason}")]
    TooLarge {
        /// Which limit (no record content).
        reason: String,
    },
    /// SQLite failed.
    #[error("database: {reason}")]
    Database {
        /// SQLite's message.
        reason: String,
    },
}

/// What the wallet lists about a stored copy, without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CredentialInfo {
    /// `<batch id>-<copy index>`.
    pub id: String,
    /// The batch this copy belongs to (copies of one issuance, same claims, distinct keys).
    pub batch_id: String,
    /// Position in the batch.
    pub copy_index: u32,
    /// The issuer (`iss`, or the VCDM `issuer`).
    pub issuer: String,
    /// The credential type (`vct`, or the citizen-ID entry of the VCDM `type`).
    pub vct: String,
    /// The assurance level read from the type, for citizen-ID types.
    pub level: Option<Level>,
    /// `dc+sd-jwt` or `vc+sd-jwt`.
    pub format: String,
    /// How many times this copy was shown to a verifier.
    pub shown_count: u32,
    /// When it was stored (Unix seconds).
    pub received_at: i64,
    /// When it was last shown (Unix seconds).
    pub last_shown_at: Option<i64>,
}

impl CredentialInfo {
    /// The format, typed.
    pub fn format(&self) -> Option<Format> {
        Format::parse(&self.format)
    }
}

/// One batch as the wallet lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchInfo {
    /// The batch id (what `wallet show` and `wallet delete` take).
    pub batch_id: String,
    /// The issuer.
    pub issuer: String,
    /// The credential type.
    pub vct: String,
    /// The assurance level.
    pub level: Option<Level>,
    /// The format.
    pub format: String,
    /// Copies stored.
    pub copies: u32,
    /// Copies never shown.
    pub unused: u32,
    /// When it was stored.
    pub received_at: i64,
    /// Whether the wallet holds a refresh token for it ([`crate::refresh()`] can get a new
    /// batch).
    pub refreshable: bool,
}

/// What refreshing a batch needs: the issuer, the configuration and the sealed-at-rest refresh
/// token, opened. `Debug` shows no secret.
pub struct RefreshGrant {
    /// The batch to refresh.
    pub batch_id: String,
    /// The grant (shared by the batches of one offer).
    pub grant_id: String,
    /// The issuer.
    pub issuer: String,
    /// The credential configuration the batch was issued under.
    pub configuration: String,
    /// The refresh token (sealed at rest).
    pub refresh_token: Zeroizing<String>,
}

impl std::fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshGrant")
            .field("batch_id", &self.batch_id)
            .field("grant_id", &self.grant_id)
            .field("issuer", &self.issuer)
            .field("configuration", &self.configuration)
            .finish_non_exhaustive()
    }
}

/// A received offer's grant, to store with its batches.
pub struct NewGrant {
    /// The issuer.
    pub issuer: String,
    /// The refresh token (sealed at rest).
    pub refresh_token: Zeroizing<String>,
}

/// A copy opened with the storage key: the credential text and its holder key's handle.
pub struct OpenedCopy {
    /// The listing data.
    pub info: CredentialInfo,
    /// The SD-JWT as issued (`<jwt>~<disclosures>~`).
    pub sd_jwt: Zeroizing<String>,
    /// The handle of the holder key the copy is bound to.
    pub holder_key: KeyHandle,
}

impl std::fmt::Debug for OpenedCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCopy")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A copy to store. Built by [`crate::receive()`] only from verified credentials.
pub struct NewCopy {
    /// The issuer.
    pub issuer: String,
    /// The credential type.
    pub vct: String,
    /// The assurance level, for citizen-ID types.
    pub level: Option<Level>,
    /// The form.
    pub format: Format,
    /// The SD-JWT as issued.
    pub sd_jwt: String,
    /// The handle of the holder key the copy is bound to (sealed at rest).
    pub holder_key: KeyHandle,
}

/// The storage the protocols need: the batches and their copies (listed in clear, opened
/// unsealed), copies marked shown, batches stored with their grant, the grant behind a batch,
/// its rotation, and a batch's copies replaced in one change. Every
/// method is one change the host persists whole (one SQLite transaction on the desktop). The
/// desktop host implements it over SQLite.
pub trait RecordStore {
    /// Stores the batches of one offer and its grant (the refresh token, sealed), all or
    /// nothing; returns the new batch ids. Each batch names its configuration.
    ///
    /// # Errors
    /// The host's storage error.
    fn insert_granted(
        &mut self,
        grant: Option<NewGrant>,
        batches: Vec<(Option<String>, Vec<NewCopy>)>,
    ) -> Result<Vec<String>, StoreError>;

    /// The batches, newest first.
    ///
    /// # Errors
    /// [`StoreError::Corrupted`] for a record whose clear data does not decode.
    fn batches(&self) -> Result<Vec<BatchInfo>, StoreError>;

    /// The copies of one batch, by copy index.
    ///
    /// # Errors
    /// As [`RecordStore::batches`].
    fn copies(&self, batch_id: &str) -> Result<Vec<CredentialInfo>, StoreError>;

    /// Opens one copy: its credential and holder key, unsealed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Corrupted`] when it does not open or decode.
    fn open_copy(&self, id: &str) -> Result<OpenedCopy, StoreError>;

    /// Records that the copies `ids` were shown at `at` (Unix seconds), all in one change:
    /// the single use of each batch copy.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (nothing marked), or the host's storage error.
    fn mark_shown(&mut self, ids: &[String], at: i64) -> Result<(), StoreError>;

    /// What refreshing `batch_id` needs, or `None` when no refresh token is held for it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Corrupted`] when the token does not open.
    fn refresh_grant(&self, batch_id: &str) -> Result<Option<RefreshGrant>, StoreError>;

    /// Replaces a grant's refresh token (after rotation), or forgets it (`None`: the issuer
    /// refused it, so it will never work again).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], or the host's storage error.
    fn set_refresh_token(&mut self, grant_id: &str, token: Option<&str>) -> Result<(), StoreError>;

    /// Replaces the copies of the grant's batch with `copies` (the batch keeps its id), all or
    /// nothing; returns how many.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the batch is gone, or the host's storage error.
    fn replace_batch(
        &mut self,
        grant: &RefreshGrant,
        copies: Vec<NewCopy>,
    ) -> Result<usize, StoreError>;
}

/// The batches of `copies` (ordered by time, batch and copy index), newest first, each marked
/// refreshable as `refreshable(batch_id)` says: the listing every store gives the same way.
pub fn batches_of(
    copies: Vec<CredentialInfo>,
    refreshable: impl Fn(&str) -> bool,
) -> Vec<BatchInfo> {
    let mut out: Vec<BatchInfo> = Vec::new();
    for c in copies {
        match out.iter_mut().find(|b| b.batch_id == c.batch_id) {
            Some(b) => {
                b.copies += 1;
                b.unused += u32::from(c.shown_count == 0);
            }
            None => out.push(BatchInfo {
                refreshable: refreshable(&c.batch_id),
                batch_id: c.batch_id,
                issuer: c.issuer,
                vct: c.vct,
                level: c.level,
                format: c.format,
                copies: 1,
                unused: u32::from(c.shown_count == 0),
                received_at: c.received_at,
            }),
        }
    }
    out.sort_by(|a, b| {
        b.received_at
            .cmp(&a.received_at)
            .then(a.batch_id.cmp(&b.batch_id))
    });
    out
}
