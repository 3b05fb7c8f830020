//! The storage interface: the issuer's domain operations on its database, with two backends.
//!
//! ```text
//!  handlers (enrol, oid4vci, status, keys, service) ──► Store::redeem_offer, ::issue, ...
//!                                                        │
//!              ┌─────────────────────────────────────────┴──────────────────────────┐
//!   Store::Sqlite (default, embedded)                         Store::Postgres (database_url)
//!   one group-committing writer thread + read pool            deadpool-postgres pool, one
//!   (crate::db); single writer = serial transactions           transaction per operation, row
//!                                                              locks / ON CONFLICT / conditional
//!                                                              UPDATE; retried on serialization
//!                                                              failure, deadlock, unique race
//! ```
//!
//! Every operation is one transaction that either commits entirely or changes nothing (the one
//! deliberate exception: a wrong `tx_code` commits its attempt count and then reports
//! `invalid_grant`). Single use (pre-authorized codes, `c_nonce`, attestation nonces, proofs,
//! one issuance per configuration and token) comes from the database: conditional `UPDATE`s and
//! `DELETE`s whose row counts are checked, and unique keys. Handlers never see SQL, so the
//! HTTP code is the same over both backends. Both dialects carry the same numbered migrations
//! ([`crate::db::SCHEMA_VERSION`] == [`postgres::SCHEMA_VERSION`]).

pub mod pg_tls;
pub mod postgres;
mod sqlite;

use std::path::Path;

use rand_chacha::ChaCha20Rng;
use serde_json::Value;

use credential::citizen::Level;

use crate::config::DatabaseUrl;
use crate::db::{Db, DbError};
use crate::domain::audit::{AuditEntry, AuditEvent, AuditFilter};
use crate::domain::keys::KeyWithdrawal;
use crate::domain::people::{OfficerInfo, PlatformInfo};
use crate::domain::status::{LogBounds, LoggedChange, ShardSizes, StatusChange};
use crate::domain::{ConfigId, Status, StatusAction};
use crate::error::ApiError;
use crate::secret::SecretDigest;

pub use pg_tls::{DatabaseTls, PgTlsError, SslMode};
pub use postgres::PgStore;

/// The issuer's storage: SQLite in the data directory, or a PostgreSQL database shared by
/// several replicas.
#[derive(Clone)]
pub enum Store {
    /// Embedded SQLite (the default).
    Sqlite(Db),
    /// PostgreSQL (`database_url = "postgres://..."`).
    Postgres(PgStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.backend())
    }
}

/// A new enrolment and its credential offer, written in one transaction.
#[derive(Debug)]
pub struct NewEnrolment {
    /// Enrolment id.
    pub id: String,
    /// Peppered digest of the `id_number`.
    pub citizen_id: String,
    /// Assurance level.
    pub level: Level,
    /// Evidence JSON (method, platform or officer; no claim values).
    pub evidence: Value,
    /// Claims sealed under the master secret.
    pub sealed_claims: Vec<u8>,
    /// The officer (audit actor).
    pub actor: String,
    /// Unix time.
    pub created_at: i64,
    /// Offer id (the pre-authorized code's id part).
    pub offer_id: String,
    /// JSON array of credential configuration ids.
    pub config_ids: String,
    /// Digest of the pre-authorized code.
    pub code_hash: SecretDigest,
    /// The code sealed for `GET /offers/{id}`.
    pub code_sealed: Vec<u8>,
    /// Digest of the `tx_code`.
    pub tx_code_hash: SecretDigest,
    /// Unix time the offer expires.
    pub expires_at: i64,
    /// The face-match attestation's nonce, consumed in the same transaction (basic level).
    pub attestation_nonce: Option<SecretDigest>,
}

/// A token request: redeem the offer's pre-authorized code with its `tx_code`.
#[derive(Debug)]
pub struct Redemption {
    /// Offer id.
    pub offer_id: String,
    /// Digest of the presented code.
    pub code: SecretDigest,
    /// Digest of the presented `tx_code`.
    pub tx_code: SecretDigest,
    /// New access token id.
    pub token_id: String,
    /// Its digest.
    pub token_hash: SecretDigest,
    /// Access token lifetime, seconds.
    pub token_ttl: i64,
    /// Wrong attempts that kill the code.
    pub max_attempts: i64,
    /// The first refresh token of a new family (its `family_id` set).
    pub refresh: NewRefresh,
}

/// A refresh token about to be stored.
#[derive(Debug)]
pub struct NewRefresh {
    /// Id part of `<id>.<secret>`.
    pub id: String,
    /// Digest of the token.
    pub digest: SecretDigest,
    /// Family (one per redeemed offer); ignored in [`RefreshGrant::next`] (the presented
    /// token's family is kept).
    pub family_id: String,
    /// Lifetime, seconds.
    pub ttl: i64,
}

impl NewRefresh {
    /// The row of `secret` in `family_id`.
    pub fn of(secret: &crate::secret::BearerSecret, family_id: String, ttl: i64) -> NewRefresh {
        NewRefresh {
            id: secret.id().to_owned(),
            digest: secret.digest(crate::secret::domain::REFRESH),
            family_id,
            ttl,
        }
    }
}

/// A refresh-grant token request (RFC 6749 section 6).
#[derive(Debug)]
pub struct RefreshGrant {
    /// Id of the presented refresh token.
    pub presented_id: String,
    /// Its digest.
    pub presented_hash: SecretDigest,
    /// New access token id.
    pub access_id: String,
    /// Its digest.
    pub access_hash: SecretDigest,
    /// Access token lifetime, seconds.
    pub access_ttl: i64,
    /// The next refresh token of the family.
    pub next: NewRefresh,
    /// The reuse grace window, seconds (`refresh_reuse_grace`; 0: none). See
    /// [`Store::refresh_grant`].
    pub grace: i64,
    /// `refresh_min_interval`, seconds (0: no limit). See [`Store::refresh_grant`].
    pub min_interval: i64,
}

/// A credential request that passed its stateless checks: what to consume and record.
#[derive(Debug)]
pub struct IssueRecord {
    /// Access token id.
    pub token_id: String,
    /// Digest of the presented access token.
    pub token_hash: SecretDigest,
    /// Requested configuration.
    pub config: ConfigId,
    /// Digests of the `c_nonce`s the proofs carry, with their expiry: each is recorded as used,
    /// once; a nonce already recorded refuses the request with [`ApiError::InvalidNonce`].
    pub nonces: Vec<([u8; 32], i64)>,
    /// Replay digests of the proofs.
    pub replays: Vec<SecretDigest>,
    /// Until when a proof digest is kept.
    pub proof_expiry: i64,
    /// Holder key thumbprints, one credential each.
    pub holders: Vec<String>,
    /// `holders.len() + 1` fresh ids: the batch id, then one per credential.
    pub ids: Vec<String>,
    /// Signing key id.
    pub kid: String,
    /// Credential validity, seconds.
    pub validity: i64,
    /// Entries of a newly opened status shard.
    pub shard_size: u32,
    /// Unix time of the request.
    pub now: i64,
}

/// What [`Store::issue`] recorded.
#[derive(Debug)]
pub struct Issuance {
    /// The enrolment the token came from.
    pub enrolment_id: String,
    /// Its level.
    pub level: Level,
    /// Its sealed claims.
    pub claims: Vec<u8>,
    /// `(credential id, shard, index)` per holder key, in request order.
    pub entries: Vec<(String, i64, u32)>,
    /// Batch id.
    pub batch_id: String,
}

/// Which credentials a status change selects (resolved: a citizen by digest).
#[derive(Debug, Clone)]
pub enum StatusKey {
    /// A credential's batch, by credential id.
    Credential(String),
    /// A credential's batch, by status entry.
    Entry {
        /// Shard.
        shard: i64,
        /// Index.
        idx: u32,
    },
    /// Every credential of a citizen (peppered digest).
    Citizen(String),
}

/// A shard's stored state for building its lists.
#[derive(Debug, Clone)]
pub struct ShardEntries {
    /// Entries in the shard.
    pub size: i64,
    /// Bumped by every status change in the shard (cache validation across replicas).
    pub version: i64,
    /// `(index, 2-bit status)` of every entry that is not valid.
    pub entries: Vec<(i64, i64)>,
    /// The status-change log's high-water mark, read before the entries: they reflect every
    /// change up to it.
    pub status_seq: i64,
}

/// A row of `signing_keys`.
#[derive(Clone)]
pub struct KeyRow {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// `ES256` or `EdDSA`.
    pub alg: String,
    /// `credential` or `root`.
    pub purpose: String,
    /// `active` or `retired`.
    pub state: String,
    /// Legacy key file name in `DATA/keys/` (empty when the key is stored sealed).
    pub file: String,
    /// Private JWK sealed under the master secret (context `signing-key:<kid>`).
    pub sealed: Option<Vec<u8>>,
    /// Start of the signing window.
    pub not_before: i64,
    /// End of the signing window.
    pub not_after: Option<i64>,
    /// Latest expiry of a credential it signed.
    pub last_credential_expiry: Option<i64>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("purpose", &self.purpose)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A credential recorded without the OpenID4VCI flow ([`crate::service::simulate`]).
#[derive(Debug)]
pub struct DirectRecord {
    /// Credential id (also its batch id).
    pub id: String,
    /// Level.
    pub level: Level,
    /// Configuration.
    pub config: ConfigId,
    /// Signing key id.
    pub kid: String,
    /// Holder key thumbprint.
    pub holder: String,
    /// Unix time.
    pub now: i64,
    /// Validity, seconds.
    pub validity: i64,
    /// Entries of a newly opened shard.
    pub shard_size: u32,
}

/// The enrolment row direct and simulated credentials hang off.
pub(crate) const SIM_ENROLMENT: &str = "simulated";

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens the configured backend: PostgreSQL when `url` is set, else SQLite in `data`.
    /// Runs the migrations (under an advisory lock on PostgreSQL, so replicas starting
    /// together do not race). `rng` draws status indexes.
    ///
    /// # Errors
    /// [`DbError`] when the database cannot be reached, opened or migrated.
    pub async fn open(
        data: &Path,
        url: Option<&DatabaseUrl>,
        tls: &DatabaseTls,
        pool_size: usize,
        rng: ChaCha20Rng,
    ) -> Result<Store, DbError> {
        match url {
            Some(url) => Ok(Store::Postgres(
                PgStore::connect(url, tls, pool_size, rng).await?,
            )),
            None => Ok(Store::Sqlite(Db::open(data, rng)?)),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// The newest migration applied.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn schema_version(&self) -> Result<i64, ApiError> {
        dispatch!(self, s => s.schema_version().await)
    }

    /// Stops background work (the SQLite writer) after queued jobs; closes pooled connections.
    pub fn close(&self) {
        dispatch!(self, s => s.close())
    }

    /// Stores a single-use face-match attestation nonce.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn insert_attestation_nonce(
        &self,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.insert_nonce("attestation_nonces", digest, expires_at).await)
    }

    /// Records a used `c_nonce` until `expires_at` (the credential endpoint does this in its
    /// transaction; `/nonce` stores nothing). For tests and tools.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn insert_c_nonce(
        &self,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.insert_nonce("c_nonces", digest, expires_at).await)
    }

    /// The registered platform (id, public JWK JSON) whose key has thumbprint `kid`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn platform_key(&self, kid: &str) -> Result<Option<(String, String)>, ApiError> {
        dispatch!(self, s => s.platform_key(kid).await)
    }

    /// Consumes the attestation nonce (if any) and writes the enrolment, its offer and the
    /// audit event.
    ///
    /// # Errors
    /// [`ApiError::InvalidAttestation`] when the nonce is unknown, used or expired.
    pub async fn enrol(&self, e: NewEnrolment) -> Result<(), ApiError> {
        dispatch!(self, s => s.enrol(e).await)
    }

    /// `(config_ids JSON, sealed code)` of an open, unexpired offer.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn open_offer(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<(String, Vec<u8>)>, ApiError> {
        dispatch!(self, s => s.open_offer(id, now).await)
    }

    /// Redeems a pre-authorized code once, across every replica, and records the access token.
    ///
    /// # Errors
    /// [`ApiError::InvalidGrant`] for an unknown, used, dead or expired code or a wrong
    /// `tx_code` (whose attempt is committed first).
    pub async fn redeem_offer(&self, r: Redemption) -> Result<(), ApiError> {
        dispatch!(self, s => s.redeem_offer(r).await)
    }

    /// Exchanges a refresh token once, across every replica (conditional `UPDATE` of an
    /// `active` token), for a new access token and the next refresh token of its family.
    ///
    /// Reuse grace: a `used` token presented again less than [`RefreshGrant::grace`] seconds
    /// after its use, while the successor it got is still `active` and that successor's access
    /// token has issued nothing, is a retry after a lost answer. The successor is revoked
    /// (`superseded_at` set) and its access token expired, and the retry gets `r.next` and
    /// `r.access_*` in their place (audit `refresh.grace`): one live successor, one batch per
    /// refresh. On PostgreSQL the presented token's row, the successor's and its access token's
    /// are locked `FOR UPDATE`, in that order, and the credential endpoint takes the access
    /// token's row `FOR SHARE`, so a retry and a use of the first answer serialise.
    ///
    /// Rate limit: an `active` token presented less than [`RefreshGrant::min_interval`]
    /// seconds after the family's previous successful refresh (its newest `used_at`) is refused
    /// with [`ApiError::RefreshTooSoon`] and left `active` (audit `refresh.refused`). A grace
    /// retry is not a new refresh and is not limited. The first refresh after the token request
    /// is never limited.
    ///
    /// # Errors
    /// [`ApiError::InvalidGrant`] for an unknown, expired or revoked token, a used one outside
    /// the grace (which revokes its family, committed first), a superseded one (also revokes
    /// the family), or a revoked or suspended enrolment; [`ApiError::RefreshTooSoon`] under the
    /// rate limit.
    pub async fn refresh_grant(&self, r: RefreshGrant) -> Result<(), ApiError> {
        dispatch!(self, s => s.refresh_grant(r).await)
    }

    /// The credential endpoint's transaction: token valid and covering the configuration,
    /// issued once per configuration, each `c_nonce` consumed, each proof unused, a fresh
    /// status index per holder key, credential rows and audit events.
    ///
    /// Holder keys: each credential ever recorded has its own holder key (`credentials`'
    /// unique `holder_thumbprint`, migration 7). A key repeated in `r.holders` or already
    /// bound to a credential refuses the whole request with [`ApiError::InvalidProof`]; two
    /// concurrent requests with one key cannot both succeed (the unique index decides).
    ///
    /// # Errors
    /// The OpenID4VCI error of the first failed check; nothing is stored then.
    pub async fn issue(&self, r: IssueRecord) -> Result<Issuance, ApiError> {
        dispatch!(self, s => s.issue(r).await)
    }

    /// Applies `action` to the selected credentials (whole batches), with audit events and a
    /// version bump of each touched shard. Returns the change and the touched shards.
    ///
    /// # Errors
    /// [`ApiError::NotFound`], [`ApiError::StatusTransition`]; storage errors.
    pub async fn change_status(
        &self,
        key: StatusKey,
        action: StatusAction,
        actor: &str,
        now: i64,
    ) -> Result<(StatusChange, Vec<i64>), ApiError> {
        dispatch!(self, s => s.change_status(key, action, actor, now).await)
    }

    /// Lifts the revocation hold of citizen digest `citizen` (a deliberate re-enrolment after
    /// investigation), audited as `citizen.lift-hold` with `reason`. Credentials stay as they
    /// are: a revoked credential stays revoked.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for a citizen never enrolled; [`ApiError::NoRevocationHold`]
    /// when the citizen is suspended or not on hold; storage errors.
    pub async fn lift_citizen_hold(
        &self,
        citizen: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.lift_citizen_hold(citizen, actor, reason, now).await)
    }

    /// The version counter of `shard` (`None` for an unknown shard).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn shard_version(&self, shard: i64) -> Result<Option<i64>, ApiError> {
        dispatch!(self, s => s.shard_version(shard).await)
    }

    /// Size, version and non-valid entries of `shard`, from one consistent read.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn shard_entries(&self, shard: i64) -> Result<Option<ShardEntries>, ApiError> {
        dispatch!(self, s => s.shard_entries(shard).await)
    }

    /// The status-change log's newest `seq` (0 when empty): the high-water mark.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn status_high_water(&self) -> Result<i64, ApiError> {
        dispatch!(self, s => s.status_high_water().await)
    }

    /// The log's bounds and the time of change `since` ([`crate::status_changes::bounds`]).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn status_log_bounds(&self, since: i64) -> Result<LogBounds, ApiError> {
        dispatch!(self, s => s.status_log_bounds(since).await)
    }

    /// The logged changes with `after < seq <= upto` in order, and every shard's size.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn status_log_between(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<(Vec<LoggedChange>, ShardSizes), ApiError> {
        dispatch!(self, s => s.status_log_between(after, upto).await)
    }

    /// Ids of the shards that exist.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn shards(&self) -> Result<Vec<i64>, ApiError> {
        dispatch!(self, s => s.shards().await)
    }

    /// Adds an officer.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn add_officer(
        &self,
        actor: &str,
        info: OfficerInfo,
        token_hash: SecretDigest,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.add_officer(actor, info, token_hash).await)
    }

    /// Officers not removed.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn list_officers(&self) -> Result<Vec<OfficerInfo>, ApiError> {
        dispatch!(self, s => s.list_officers().await)
    }

    /// Removes an officer.
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; storage errors.
    pub async fn remove_officer(&self, actor: &str, id: &str, now: i64) -> Result<(), ApiError> {
        dispatch!(self, s => s.remove_officer(actor, id, now).await)
    }

    /// `(role, token digest)` of an officer not removed.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn officer_secret(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, ApiError> {
        dispatch!(self, s => s.officer_secret(id).await)
    }

    /// Registers a platform key.
    ///
    /// # Errors
    /// [`ApiError::InvalidRequest`] when the key is already registered; storage errors.
    pub async fn add_platform(
        &self,
        actor: &str,
        info: PlatformInfo,
        jwk: String,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.add_platform(actor, info, jwk).await)
    }

    /// Registered platforms.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, ApiError> {
        dispatch!(self, s => s.list_platforms().await)
    }

    /// Removes a platform by id or kid.
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; storage errors.
    pub async fn remove_platform(&self, actor: &str, id: &str, now: i64) -> Result<(), ApiError> {
        dispatch!(self, s => s.remove_platform(actor, id, now).await)
    }

    /// Every signing key row, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn key_rows(&self) -> Result<Vec<KeyRow>, ApiError> {
        dispatch!(self, s => s.key_rows().await)
    }

    /// The kid of the active key of `purpose` (`credential` or `root`).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn active_kid(&self, purpose: &str) -> Result<Option<String>, ApiError> {
        dispatch!(self, s => s.active_kid(purpose).await)
    }

    /// Inserts `row` as the active key of its purpose if that purpose has none yet (first
    /// start; two replicas starting together create one). Returns whether it was inserted.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn create_first_key(&self, row: KeyRow) -> Result<bool, ApiError> {
        dispatch!(self, s => s.create_first_key(row).await)
    }

    /// Retires the active credential key (published until `max(last expiry, now +
    /// max_validity)`) and makes `row` active, serialised against concurrent rotations.
    /// Returns the retired kid.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn rotate_key(
        &self,
        actor: &str,
        row: KeyRow,
        max_validity: i64,
    ) -> Result<String, ApiError> {
        dispatch!(self, s => s.rotate_key(actor, row, max_validity).await)
    }

    /// Records a credential issued without the OpenID4VCI flow; returns its status entry.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn record_direct(&self, r: DirectRecord) -> Result<(i64, u32), ApiError> {
        dispatch!(self, s => s.record_direct(r).await)
    }

    /// Inserts `n` simulated credentials `sim-<base>..`, each revoked when a draw falls below
    /// `threshold`. Returns how many were revoked.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn simulate(
        &self,
        n: u64,
        base: u64,
        threshold: u32,
        kid: String,
        now: i64,
        shard_size: u32,
    ) -> Result<u64, ApiError> {
        dispatch!(self, s => s.simulate(n, base, threshold, kid, now, shard_size).await)
    }

    /// The last `limit` audit events, newest first.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn audit_recent(&self, limit: i64) -> Result<Vec<AuditEntry>, ApiError> {
        dispatch!(self, s => s.audit_recent(limit).await)
    }

    /// Rows in `what`: a table name, optionally followed by a `WHERE` clause, or a
    /// parenthesised subquery. For tests and diagnostics only: `what` is SQL, so never pass
    /// anything a request carried.
    ///
    /// # Errors
    /// Storage errors (also for SQL that does not parse).
    #[doc(hidden)]
    pub async fn count_rows(&self, what: &str) -> Result<i64, ApiError> {
        let sql = if what.starts_with('(') {
            format!("SELECT COUNT(*) FROM {what} AS counted")
        } else {
            format!("SELECT COUNT(*) FROM {what}")
        };
        dispatch!(self, s => s.count_rows(sql).await)
    }
}

// Housekeeping and audit listing (crate::sweep, crate::audit): kept in their own block.

/// Held while a sweep runs. On PostgreSQL it owns the session that holds the sweep's advisory
/// lock; dropping it closes that session (never returned to the pool with the lock held), which
/// releases the lock. On SQLite it holds nothing: the single writer serialises the chunks.
#[derive(Debug)]
pub struct SweepLock {
    session: Option<postgres::SweepSession>,
}

impl SweepLock {
    /// Releases the lock (PostgreSQL: `pg_advisory_unlock`, then the session is closed).
    /// Dropping it without this also releases it, once the server sees the session close.
    pub async fn release(mut self) {
        if let Some(session) = self.session.take() {
            session.release().await;
        }
    }
}

/// One kind of row a sweep deletes, in the order a sweep runs them (children before the rows
/// their foreign keys point at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SweepStep {
    /// Used `c_nonces` past their expiry (an expired nonce is refused before the database).
    CNonces,
    /// `attestation_nonces` past their expiry.
    AttestationNonces,
    /// `used_proofs` past their expiry: the proof's `iat` is then older than the accepted age.
    UsedProofs,
    /// `token_issuances` of expired access tokens.
    TokenIssuances,
    /// Expired access tokens with no issuance row left.
    AccessTokens,
    /// `refreshed_issuances` of expired refreshed access tokens.
    RefreshedIssuances,
    /// Expired refreshed access tokens with no issuance row left.
    RefreshedAccessTokens,
    /// Expired offers no access token points at.
    Offers,
    /// Whole refresh-token families whose every token has expired and no access token points
    /// at: reuse detection within a live family keeps every `used` token.
    RefreshFamilies,
    /// `status_changes` older than the delta window, always keeping the newest row (the
    /// high-water mark).
    StatusChanges,
}

impl SweepStep {
    /// Every step, in order.
    pub const ALL: [SweepStep; 10] = [
        SweepStep::CNonces,
        SweepStep::AttestationNonces,
        SweepStep::UsedProofs,
        SweepStep::TokenIssuances,
        SweepStep::AccessTokens,
        SweepStep::RefreshedIssuances,
        SweepStep::RefreshedAccessTokens,
        SweepStep::Offers,
        SweepStep::RefreshFamilies,
        SweepStep::StatusChanges,
    ];

    /// The table it deletes from.
    pub fn table(self) -> &'static str {
        match self {
            SweepStep::CNonces => "c_nonces",
            SweepStep::AttestationNonces => "attestation_nonces",
            SweepStep::UsedProofs => "used_proofs",
            SweepStep::TokenIssuances => "token_issuances",
            SweepStep::AccessTokens => "access_tokens",
            SweepStep::RefreshedIssuances => "refreshed_issuances",
            SweepStep::RefreshedAccessTokens => "refreshed_access_tokens",
            SweepStep::Offers => "offers",
            SweepStep::RefreshFamilies => "refresh_tokens",
            SweepStep::StatusChanges => "status_changes",
        }
    }

    /// One chunk's `DELETE`, in SQLite's dialect: `?1` is the cutoff (rows expired at or before
    /// it go; for the status log, rows made before it), `?2` the most rows (families for
    /// [`SweepStep::RefreshFamilies`]) it selects.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            SweepStep::CNonces => {
                "DELETE FROM c_nonces WHERE nonce_hash IN
                   (SELECT nonce_hash FROM c_nonces WHERE expires_at <= ?1 LIMIT ?2)"
            }
            SweepStep::AttestationNonces => {
                "DELETE FROM attestation_nonces WHERE nonce_hash IN
                   (SELECT nonce_hash FROM attestation_nonces WHERE expires_at <= ?1 LIMIT ?2)"
            }
            SweepStep::UsedProofs => {
                "DELETE FROM used_proofs WHERE proof_hash IN
                   (SELECT proof_hash FROM used_proofs WHERE expires_at <= ?1 LIMIT ?2)"
            }
            SweepStep::TokenIssuances => {
                "DELETE FROM token_issuances WHERE token_id IN
                   (SELECT DISTINCT i.token_id FROM token_issuances i
                      JOIN access_tokens a ON a.id = i.token_id
                     WHERE a.expires_at <= ?1 LIMIT ?2)"
            }
            SweepStep::AccessTokens => {
                "DELETE FROM access_tokens WHERE id IN
                   (SELECT a.id FROM access_tokens a WHERE a.expires_at <= ?1
                      AND NOT EXISTS (SELECT 1 FROM token_issuances i WHERE i.token_id = a.id)
                    LIMIT ?2)"
            }
            SweepStep::RefreshedIssuances => {
                "DELETE FROM refreshed_issuances WHERE token_id IN
                   (SELECT DISTINCT i.token_id FROM refreshed_issuances i
                      JOIN refreshed_access_tokens a ON a.id = i.token_id
                     WHERE a.expires_at <= ?1 LIMIT ?2)"
            }
            SweepStep::RefreshedAccessTokens => {
                "DELETE FROM refreshed_access_tokens WHERE id IN
                   (SELECT a.id FROM refreshed_access_tokens a WHERE a.expires_at <= ?1
                      AND NOT EXISTS (SELECT 1 FROM refreshed_issuances i WHERE i.token_id = a.id)
                    LIMIT ?2)"
            }
            SweepStep::Offers => {
                "DELETE FROM offers WHERE id IN
                   (SELECT o.id FROM offers o WHERE o.expires_at <= ?1
                      AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.offer_id = o.id)
                    LIMIT ?2)"
            }
            SweepStep::RefreshFamilies => {
                "DELETE FROM refresh_tokens WHERE family_id IN
                   (SELECT r.family_id FROM refresh_tokens r
                     WHERE r.expires_at <= ?1
                       AND NOT EXISTS (SELECT 1 FROM refresh_tokens l
                                        WHERE l.family_id = r.family_id AND l.expires_at > ?1)
                       AND NOT EXISTS (SELECT 1 FROM refresh_tokens f
                                         JOIN refreshed_access_tokens a ON a.refresh_id = f.id
                                        WHERE f.family_id = r.family_id)
                     GROUP BY r.family_id LIMIT ?2)"
            }
            SweepStep::StatusChanges => {
                "DELETE FROM status_changes WHERE seq IN
                   (SELECT seq FROM status_changes
                     WHERE at < ?1 AND seq < (SELECT MAX(seq) FROM status_changes)
                     ORDER BY seq LIMIT ?2)"
            }
        }
    }
}

impl Store {
    /// Takes the sweep lock: `None` when another replica is sweeping (PostgreSQL
    /// `pg_try_advisory_lock` on a dedicated session); always granted on SQLite.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn sweep_lock(&self) -> Result<Option<SweepLock>, ApiError> {
        match self {
            Store::Sqlite(_) => Ok(Some(SweepLock { session: None })),
            Store::Postgres(s) => Ok(s.sweep_lock().await?.map(|session| SweepLock {
                session: Some(session),
            })),
        }
    }

    /// Runs one chunk of `step` in its own transaction (on PostgreSQL, on the lock's
    /// session); returns the rows deleted.
    ///
    /// # Errors
    /// Storage errors; [`ApiError::Internal`] for a lock of the other backend.
    pub async fn sweep_chunk(
        &self,
        lock: &SweepLock,
        step: SweepStep,
        cutoff: i64,
        limit: i64,
    ) -> Result<u64, ApiError> {
        match (self, &lock.session) {
            (Store::Sqlite(s), None) => s.sweep_chunk(step.sql(), cutoff, limit).await,
            (Store::Postgres(_), Some(session)) => {
                PgStore::sweep_chunk(session, step.sql(), cutoff, limit).await
            }
            _ => Err(mismatched_lock()),
        }
    }

    /// Appends the sweep's audit event ([`AuditEvent::HousekeepingSweep`]) while the lock is held.
    ///
    /// # Errors
    /// Storage errors; [`ApiError::Internal`] for a lock of the other backend.
    pub async fn sweep_audit(
        &self,
        lock: &SweepLock,
        at: i64,
        actor: &str,
        detail: Value,
    ) -> Result<(), ApiError> {
        match (self, &lock.session) {
            (Store::Sqlite(s), None) => {
                s.append_audit(
                    at,
                    actor,
                    AuditEvent::HousekeepingSweep.as_str(),
                    None,
                    detail,
                )
                .await
            }
            (Store::Postgres(_), Some(session)) => {
                PgStore::sweep_audit(session, at, actor, &detail).await
            }
            _ => Err(mismatched_lock()),
        }
    }

    /// Appends one audit event in its own transaction.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        event: &str,
        subject: Option<&str>,
        detail: Value,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.append_audit(at, actor, event, subject, detail).await)
    }

    /// Records the withdrawal of credential key `kid` (`since`: `None` for every credential)
    /// and its `key.withdrawn` audit event with `detail`, in one transaction. A key withdrawn
    /// again keeps the strictest withdrawal and its first `withdrawn_at`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn record_key_withdrawal(
        &self,
        at: i64,
        actor: &str,
        kid: &str,
        since: Option<i64>,
        detail: Value,
    ) -> Result<(), ApiError> {
        dispatch!(self, s => s.record_key_withdrawal(at, actor, kid, since, detail).await)
    }

    /// The withdrawn credential keys (at most `limit`), in the order they were withdrawn.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn key_withdrawals(&self, limit: i64) -> Result<Vec<KeyWithdrawal>, ApiError> {
        dispatch!(self, s => s.key_withdrawals(limit).await)
    }

    /// The audit events `filter` selects: the newest `filter.limit` of them, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn audit_list(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, ApiError> {
        dispatch!(self, s => s.audit_list(filter).await)
    }
}

/// A sweep lock used with a store of the other backend (a caller bug).
fn mismatched_lock() -> ApiError {
    ApiError::Internal("sweep lock of the other storage backend".into())
}

/// The role stored for an officer; anything but `officer` or `admin` is corruption.
pub(crate) fn officer_role(text: &str) -> Result<crate::domain::Role, DbError> {
    crate::domain::Role::parse(text).ok_or(DbError::Corrupt {
        what: "officer role",
    })
}

/// [`Store::audit_list`]'s selection, in SQLite's dialect: `?1` since, `?2` until (inclusive
/// unix times), `?3` event prefix, `?4` actor (each NULL for any), `?5` limit.
pub(crate) const AUDIT_LIST_SQLITE: &str =
    "SELECT seq, at, actor, event, subject, detail FROM audit
     WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at <= ?2)
       AND (?3 IS NULL OR substr(event, 1, length(?3)) = ?3)
       AND (?4 IS NULL OR actor = ?4)
     ORDER BY seq DESC LIMIT ?5";

// Decisions shared by both backends: each backend reads rows its own way, then applies the
// same rules here, so the behaviour cannot drift between dialects.

pub(crate) const CODE_UNKNOWN: ApiError = ApiError::InvalidGrant {
    reason: "pre-authorized code unknown",
};
pub(crate) const CODE_USED: ApiError = ApiError::InvalidGrant {
    reason: "pre-authorized code already used or dead",
};
pub(crate) const ALREADY_ISSUED: ApiError = ApiError::CredentialRequestDenied {
    reason: "this credential was already issued for this access token",
};

/// The audit event of an enrolment at `level`.
pub(crate) fn enrolment_event(level: Level) -> &'static str {
    if level == Level::High {
        "enrolment.high"
    } else {
        "enrolment.basic"
    }
}

/// An offer as the token endpoint reads it.
pub(crate) struct OfferRow {
    pub(crate) code_hash: Vec<u8>,
    pub(crate) tx_code_hash: Vec<u8>,
    pub(crate) attempts: i64,
    pub(crate) state: String,
    pub(crate) expires_at: i64,
    pub(crate) enrolment_id: String,
    pub(crate) config_ids: String,
}

/// What to do with a token request after reading its offer.
pub(crate) enum Judgement {
    /// Redeem (conditionally: the offer must still be open when updated).
    Redeem,
    /// Count a wrong `tx_code`; `dead` at the limit.
    WrongTxCode { attempts: i64, dead: bool },
}

pub(crate) fn judge_redemption(
    r: &Redemption,
    row: Option<&OfferRow>,
    now: i64,
) -> Result<Judgement, ApiError> {
    let Some(row) = row else {
        return Err(CODE_UNKNOWN);
    };
    if !r.code.matches(&row.code_hash) {
        return Err(CODE_UNKNOWN);
    }
    if row.state != "open" {
        return Err(CODE_USED);
    }
    if row.expires_at <= now {
        return Err(ApiError::InvalidGrant {
            reason: "pre-authorized code expired",
        });
    }
    if !r.tx_code.matches(&row.tx_code_hash) {
        let attempts = row.attempts + 1;
        return Ok(Judgement::WrongTxCode {
            attempts,
            dead: attempts >= r.max_attempts,
        });
    }
    Ok(Judgement::Redeem)
}

/// A stored refresh token.
pub(crate) struct RefreshRow {
    pub(crate) token_hash: Vec<u8>,
    pub(crate) family_id: String,
    pub(crate) enrolment_id: String,
    pub(crate) config_ids: String,
    pub(crate) state: String,
    pub(crate) expires_at: i64,
    /// When it was spent (`None` while active, and for tokens spent before migration 5).
    pub(crate) used_at: Option<i64>,
    /// The live successor it was spent for.
    pub(crate) next_id: Option<String>,
    /// A retry of its predecessor replaced it before it was used.
    pub(crate) superseded: bool,
}

/// The selected columns of [`RefreshRow`], in order (both dialects).
pub(crate) const REFRESH_ROW_COLUMNS: &str = "token_hash, family_id, enrolment_id, config_ids, state, expires_at, used_at, next_id, superseded_at IS NOT NULL";

/// The successor of a spent token, read (and on PostgreSQL locked) for a retry.
pub(crate) struct SuccessorRow {
    pub(crate) state: String,
    /// Its access token has issued a batch.
    pub(crate) access_used: bool,
}

/// What to do with a refresh grant after reading its token.
pub(crate) enum RefreshStep {
    /// Check the enrolment, then spend the token.
    Proceed,
    /// A spent token within the grace window: read `successor` (locked) and ask
    /// [`judge_retry`].
    Retry { successor: String, used_at: i64 },
    /// Check the enrolment, then answer the retry: supersede `successor` and its access token.
    Grace { successor: String, used_at: i64 },
    /// Refuse, audited; revoke the family first when `revoke_family`.
    Refuse {
        reason: &'static str,
        revoke_family: bool,
    },
    /// Refuse under the rate limit, audited; the token stays `active`.
    TooSoon { retry_after: i64 },
}

/// The family's previous successful refresh: the newest `used_at` of its tokens. `?1` is the
/// family id (PostgreSQL: the same text with `$1`).
pub(crate) const FAMILY_LAST_REFRESH_SQLITE: &str =
    "SELECT MAX(used_at) FROM refresh_tokens WHERE family_id = ?1";

/// The rate limit on a step that spends an active token (`Proceed`): refused as
/// [`RefreshStep::TooSoon`] when the family's previous refresh (`last`) is less than
/// `min_interval` seconds before `now`. Grace retries and refusals pass through unchanged.
pub(crate) fn judge_rate(
    step: RefreshStep,
    last: Option<i64>,
    min_interval: i64,
    now: i64,
) -> RefreshStep {
    match (&step, last) {
        // `now - last` may be negative when replicas' clocks differ: still too soon.
        (RefreshStep::Proceed, Some(last)) if min_interval > 0 && now - last < min_interval => {
            RefreshStep::TooSoon {
                retry_after: (min_interval - (now - last)).clamp(1, min_interval),
            }
        }
        _ => step,
    }
}

/// The audit detail of a rate-limited refresh (the token stays usable).
pub(crate) fn too_soon_audit(r: &RefreshGrant, retry_after: i64) -> Value {
    serde_json::json!({"token": r.presented_id, "reason": "refresh rate limit",
                       "retry_after": retry_after, "min_interval": r.min_interval})
}

/// The refusal of a holder key that is already bound to a credential (`index` in
/// `proofs.jwt`).
pub(crate) fn holder_reused(index: usize) -> ApiError {
    ApiError::proof(
        index,
        "holder key already bound to another credential; each copy needs its own key",
    )
}

/// The first repeated holder key in a request, refused as [`holder_reused`] (the HTTP layer
/// refuses this before the store; repeated here so the store's rule stands on its own).
pub(crate) fn judge_holders(r: &IssueRecord) -> Result<(), ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, h) in r.holders.iter().enumerate() {
        if !seen.insert(h.as_str()) {
            return Err(holder_reused(i));
        }
    }
    Ok(())
}

pub(crate) const REFRESH_UNKNOWN: ApiError = ApiError::InvalidGrant {
    reason: "refresh token unknown",
};

/// The refresh-grant rules on the token row.
pub(crate) fn judge_refresh(
    r: &RefreshGrant,
    row: Option<&RefreshRow>,
    now: i64,
) -> Result<RefreshStep, ApiError> {
    let Some(row) = row else {
        return Err(REFRESH_UNKNOWN);
    };
    if !r.presented_hash.matches(&row.token_hash) {
        return Err(REFRESH_UNKNOWN);
    }
    Ok(match row.state.as_str() {
        "active" if row.expires_at <= now => RefreshStep::Refuse {
            reason: "refresh token expired",
            revoke_family: false,
        },
        "active" => RefreshStep::Proceed,
        "used" => match (row.used_at, &row.next_id) {
            // `now - used_at` may be negative when replicas' clocks differ: still a retry.
            (Some(used_at), Some(successor)) if r.grace > 0 && now - used_at < r.grace => {
                RefreshStep::Retry {
                    successor: successor.clone(),
                    used_at,
                }
            }
            _ => RefreshStep::Refuse {
                reason: "refresh token already used; its family is revoked",
                revoke_family: true,
            },
        },
        // Only a retry of its predecessor supersedes a token, and only before it is used: a
        // party presenting it is not the one that retried, so two parties hold the family.
        _ if row.superseded => RefreshStep::Refuse {
            reason: "refresh token superseded by a retry of its predecessor; its family is revoked",
            revoke_family: true,
        },
        _ => RefreshStep::Refuse {
            reason: "refresh token revoked",
            revoke_family: false,
        },
    })
}

/// The grace rule on the successor of a spent token presented again within the window: the
/// retry is answered only while nobody used the first answer, neither its refresh token nor
/// its access token (which would mean the answer was not lost, or reached another party, and
/// a second access token would allow a second batch for one refresh).
pub(crate) fn judge_retry(step: RefreshStep, successor: Option<&SuccessorRow>) -> RefreshStep {
    let RefreshStep::Retry {
        successor: id,
        used_at,
    } = step
    else {
        return step;
    };
    match successor {
        Some(s) if s.state == "active" && !s.access_used => RefreshStep::Grace {
            successor: id,
            used_at,
        },
        _ => RefreshStep::Refuse {
            reason: "refresh token already used and its successor too; its family is revoked",
            revoke_family: true,
        },
    }
}

/// Applies [`judge_enrolment`] to a step that would grant a token (`Proceed`, `Grace`).
pub(crate) fn with_enrolment(step: RefreshStep, block: Option<Status>) -> RefreshStep {
    match (&step, judge_enrolment(block)) {
        (RefreshStep::Proceed | RefreshStep::Grace { .. }, refuse @ RefreshStep::Refuse { .. }) => {
            refuse
        }
        _ => step,
    }
}

/// Whether `step` grants a token, so the enrolment must be checked first.
pub(crate) fn grants(step: &RefreshStep) -> bool {
    matches!(step, RefreshStep::Proceed | RefreshStep::Grace { .. })
}

/// The audit event and detail of a granted refresh: `refresh.used`, or `refresh.grace` for an
/// answered retry (`grace` = the superseded successor and when the token was first spent).
pub(crate) fn refresh_audit(
    r: &RefreshGrant,
    row: &RefreshRow,
    grace: Option<&(String, i64)>,
    t: i64,
) -> (&'static str, Value) {
    match grace {
        None => (
            "refresh.used",
            serde_json::json!({"spent": r.presented_id, "next": r.next.id, "token": r.access_id,
                               "enrolment": row.enrolment_id}),
        ),
        Some((superseded, used_at)) => (
            "refresh.grace",
            serde_json::json!({"spent": r.presented_id, "superseded": superseded,
                               "next": r.next.id, "token": r.access_id,
                               "enrolment": row.enrolment_id, "after": t - used_at}),
        ),
    }
}

/// The refresh-grant rule on the enrolment's worst credential status.
pub(crate) fn judge_enrolment(block: Option<Status>) -> RefreshStep {
    match block {
        Some(Status::Revoked) => RefreshStep::Refuse {
            reason: "the credentials of this enrolment are revoked",
            revoke_family: true,
        },
        Some(_) => RefreshStep::Refuse {
            reason: "the credentials of this enrolment are suspended",
            revoke_family: false,
        },
        None => RefreshStep::Proceed,
    }
}

/// The worst status (revoked before suspended) from `MIN(status)` over non-valid rows.
pub(crate) fn block_of(worst: Option<i64>) -> Result<Option<Status>, ApiError> {
    // Revoked is 1 and suspended 2, so MIN picks revoked over suspended.
    match worst {
        None => Ok(None),
        Some(bits) => Status::from_bits(bits)
            .map(Some)
            .ok_or(ApiError::Storage(DbError::Corrupt { what: "status" })),
    }
}

pub(crate) const BLOCKED: ApiError = ApiError::CredentialRequestDenied {
    reason: "the credentials of this enrolment are revoked or suspended",
};

/// The access grant of a token id: from a pre-authorized code (`refreshed` 0) or a refresh
/// (1), joined with the enrolment. `?1`/`$1` is the token id.
pub(crate) const ACCESS_GRANT_SQLITE: &str =
    "SELECT g.token_hash, g.expires_at, g.config_ids, g.enrolment_id, e.level, e.citizen_id, e.claims, g.refreshed
     FROM (SELECT a.token_hash, a.expires_at, o.config_ids, o.enrolment_id, 0 AS refreshed
             FROM access_tokens a JOIN offers o ON o.id = a.offer_id WHERE a.id = ?1
           UNION ALL
           SELECT a.token_hash, a.expires_at, r.config_ids, r.enrolment_id, 1 AS refreshed
             FROM refreshed_access_tokens a JOIN refresh_tokens r ON r.id = a.refresh_id
             WHERE a.id = ?1) g
     JOIN enrolments e ON e.id = g.enrolment_id";

/// The batch of the enrolment's newest credentials of a configuration.
pub(crate) const LINEAGE_SQLITE: &str =
    "SELECT batch_id FROM credentials WHERE enrolment_id = ?1 AND config_id = ?2
     ORDER BY issued_at DESC LIMIT 1";

/// `MIN(status)` over the enrolment's non-valid credentials and its citizen's hold (a revoked
/// or suspended citizen blocks every enrolment of theirs, including those with no credential
/// yet). `?1`/`$1` is the enrolment id.
pub(crate) const ENROLMENT_WORST_SQLITE: &str = "SELECT MIN(s) FROM (
       SELECT status AS s FROM credentials WHERE enrolment_id = ?1 AND status <> 0
       UNION ALL
       SELECT h.status AS s FROM citizen_holds h JOIN enrolments e ON e.citizen_id = h.citizen_id
        WHERE e.id = ?1) AS worst";

/// The citizen's hold status, if any. `?1`/`$1` is the citizen digest.
pub(crate) const CITIZEN_HOLD_SQLITE: &str =
    "SELECT status FROM citizen_holds WHERE citizen_id = ?1";

/// Sets a citizen's hold (`?1` citizen, `?2` status bits, `?3` time, `?4` actor).
pub(crate) const SET_HOLD_SQLITE: &str =
    "INSERT INTO citizen_holds (citizen_id, status, changed_at, actor) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (citizen_id) DO UPDATE
       SET status = excluded.status, changed_at = excluded.changed_at, actor = excluded.actor";

/// Lifts a citizen's suspension (a revocation stays). `?1` is the citizen digest.
pub(crate) const CLEAR_HOLD_SQLITE: &str =
    "DELETE FROM citizen_holds WHERE citizen_id = ?1 AND status = 2";

/// On a citizen's revocation: their open offers die (the sealed code goes) and their active
/// refresh tokens are revoked, over every enrolment. `?1` is the citizen digest.
pub(crate) const KILL_OFFERS_SQLITE: &str = "UPDATE offers SET state = 'dead', code_sealed = NULL
     WHERE state = 'open' AND enrolment_id IN (SELECT id FROM enrolments WHERE citizen_id = ?1)";

/// See [`KILL_OFFERS_SQLITE`].
pub(crate) const REVOKE_REFRESH_SQLITE: &str = "UPDATE refresh_tokens SET state = 'revoked'
     WHERE state = 'active' AND enrolment_id IN (SELECT id FROM enrolments WHERE citizen_id = ?1)";

/// Lifts a citizen's revocation hold. `?1` is the citizen digest.
pub(crate) const LIFT_REVOCATION_HOLD_SQLITE: &str =
    "DELETE FROM citizen_holds WHERE citizen_id = ?1 AND status = 1";

/// The audit event of a lifted revocation hold.
pub(crate) const LIFT_HOLD_EVENT: &str = "citizen.lift-hold";

/// Whether a hold lift may proceed: the citizen is known and revoked.
pub(crate) fn judge_lift_hold(known: bool, hold: Option<i64>) -> Result<(), ApiError> {
    match (known, block_of(hold)?) {
        (_, Some(Status::Revoked)) => Ok(()),
        (_, Some(status)) => Err(ApiError::NoRevocationHold {
            status: status.as_str(),
        }),
        (false, None) => Err(ApiError::NotFound { what: "citizen" }),
        (true, None) => Err(ApiError::NoRevocationHold {
            status: "not on hold",
        }),
    }
}

/// Whether any enrolment has this citizen digest (`?1`).
pub(crate) const CITIZEN_KNOWN_SQLITE: &str =
    "SELECT EXISTS (SELECT 1 FROM enrolments WHERE citizen_id = ?1)";

/// The token-endpoint refusal of a pre-authorized code whose enrolment or citizen is revoked or
/// suspended (checked after the code and `tx_code`, in the redeeming transaction).
pub(crate) fn judge_redeem_block(block: Option<Status>) -> Result<(), ApiError> {
    match judge_enrolment(block) {
        RefreshStep::Refuse { reason, .. } => Err(ApiError::InvalidGrant { reason }),
        _ => Ok(()),
    }
}

/// An enrolment refused because its citizen is on hold.
pub(crate) fn judge_enrol_hold(hold: Option<i64>) -> Result<(), ApiError> {
    match block_of(hold)? {
        None => Ok(()),
        Some(status) => Err(ApiError::CitizenOnHold {
            status: status.as_str(),
        }),
    }
}

/// An access token joined with its offer (or refresh token) and enrolment.
pub(crate) struct TokenRow {
    pub(crate) token_hash: Vec<u8>,
    pub(crate) expires_at: i64,
    pub(crate) config_ids: String,
    pub(crate) enrolment_id: String,
    pub(crate) level: String,
    pub(crate) citizen_id: String,
    pub(crate) claims: Option<Vec<u8>>,
    /// Granted by a refresh token rather than a pre-authorized code.
    pub(crate) refreshed: bool,
}

/// Checks the access token row for a credential request; returns the row, level and claims.
pub(crate) fn judge_token(
    r: &IssueRecord,
    row: Option<TokenRow>,
) -> Result<(TokenRow, Level, Vec<u8>), ApiError> {
    let Some(mut row) = row else {
        return Err(ApiError::InvalidToken {
            reason: "access token unknown",
        });
    };
    if !r.token_hash.matches(&row.token_hash) {
        return Err(ApiError::InvalidToken {
            reason: "access token unknown",
        });
    }
    if row.expires_at <= r.now {
        return Err(ApiError::InvalidToken {
            reason: "access token expired",
        });
    }
    let covered: Vec<String> =
        serde_json::from_str(&row.config_ids).map_err(|_| DbError::Corrupt {
            what: "offer config ids",
        })?;
    if !covered.iter().any(|c| c == r.config.as_str()) {
        return Err(ApiError::CredentialRequestDenied {
            reason: "the access token does not cover this credential configuration",
        });
    }
    let claims = row.claims.take().ok_or(ApiError::CredentialRequestDenied {
        reason: "enrolment claims were purged",
    })?;
    let level = Level::parse(&row.level).map_err(|_| DbError::Corrupt { what: "level" })?;
    Ok((row, level, claims))
}

/// The audit detail of one issued credential (ids only).
pub(crate) fn issued_detail(
    enrolment: &str,
    batch: &str,
    config: ConfigId,
    shard: i64,
    idx: u32,
    kid: &str,
) -> Value {
    serde_json::json!({"enrolment": enrolment, "batch": batch, "config": config.as_str(),
                       "shard": shard, "idx": idx, "kid": kid})
}

/// The status changes to apply to the selected rows `(id, bits, shard)`.
pub(crate) struct StatusPlan {
    /// `(id, from, to, shard, idx)` of each credential that changes.
    pub(crate) changes: Vec<(String, Status, Status, i64, i64)>,
    /// Touched shards, each once.
    pub(crate) shards: Vec<i64>,
    /// The change of the citizen's hold (citizen targets only).
    pub(crate) hold: Option<HoldChange>,
}

/// What a citizen status change does to the citizen's hold (`citizen_holds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldChange {
    /// Set the hold to this status (revoked or suspended).
    Set(Status),
    /// Lift a suspension.
    Clear,
}

impl StatusPlan {
    pub(crate) fn finish(self) -> (StatusChange, Vec<i64>) {
        let status = match (self.changes.first(), self.hold) {
            (Some(c), _) => c.2.as_str(),
            (None, Some(HoldChange::Set(s))) => s.as_str(),
            (None, Some(HoldChange::Clear)) => Status::Valid.as_str(),
            (None, None) => "",
        };
        (
            StatusChange {
                changed: self.changes.into_iter().map(|c| c.0).collect(),
                status,
            },
            self.shards,
        )
    }
}

/// Rows `(id, bits, shard, idx)` of the selected credentials.
pub(crate) fn plan_status_change(
    rows: Vec<(String, i64, i64, i64)>,
    action: StatusAction,
) -> Result<StatusPlan, ApiError> {
    if rows.is_empty() {
        return Err(ApiError::NotFound { what: "credential" });
    }
    let (changes, shards, first_from) = collect_changes(rows, action)?;
    if changes.is_empty() {
        return Err(ApiError::StatusTransition {
            action: action.as_str(),
            from: first_from.unwrap_or(Status::Valid).as_str(),
        });
    }
    Ok(StatusPlan {
        changes,
        shards,
        hold: None,
    })
}

/// A citizen status change: `action` on every credential of the citizen (`rows`, as for
/// [`plan_status_change`]) and on the citizen's hold (`hold`, from `citizen_holds`). `known`:
/// the citizen has an enrolment. Revoke sets the hold to revoked (final); suspend sets it to
/// suspended unless revoked; reinstate lifts a suspension. A citizen with no credential yet
/// (only a pending offer) is changed through the hold alone.
///
/// # Errors
/// [`ApiError::NotFound`] for a citizen with neither an enrolment nor a credential;
/// [`ApiError::StatusTransition`] when neither a credential nor the hold changes.
pub(crate) fn plan_citizen_change(
    rows: Vec<(String, i64, i64, i64)>,
    action: StatusAction,
    hold: Option<Status>,
    known: bool,
) -> Result<StatusPlan, ApiError> {
    if !known && rows.is_empty() {
        return Err(ApiError::NotFound { what: "citizen" });
    }
    let hold_change = match (action, hold) {
        (_, Some(Status::Revoked)) => None,
        (StatusAction::Revoke, _) => Some(HoldChange::Set(Status::Revoked)),
        (StatusAction::Suspend, Some(Status::Suspended)) => None,
        (StatusAction::Suspend, _) => Some(HoldChange::Set(Status::Suspended)),
        (StatusAction::Reinstate, Some(Status::Suspended)) => Some(HoldChange::Clear),
        (StatusAction::Reinstate, _) => None,
    };
    let (changes, shards, first_from) = collect_changes(rows, action)?;
    if changes.is_empty() && hold_change.is_none() {
        return Err(ApiError::StatusTransition {
            action: action.as_str(),
            from: hold.or(first_from).unwrap_or(Status::Valid).as_str(),
        });
    }
    Ok(StatusPlan {
        changes,
        shards,
        hold: hold_change,
    })
}

/// The changes `action` makes to `rows`, the touched shards, and the first row's status.
#[allow(clippy::type_complexity)]
fn collect_changes(
    rows: Vec<(String, i64, i64, i64)>,
    action: StatusAction,
) -> Result<
    (
        Vec<(String, Status, Status, i64, i64)>,
        Vec<i64>,
        Option<Status>,
    ),
    ApiError,
> {
    let mut first_from = None;
    let mut changes = Vec::new();
    let mut shards = Vec::new();
    for (id, bits, shard, idx) in rows {
        let from = Status::from_bits(bits).ok_or(DbError::Corrupt { what: "status" })?;
        first_from.get_or_insert(from);
        let Some(to) = action.apply(from) else {
            continue;
        };
        if !shards.contains(&shard) {
            shards.push(shard);
        }
        changes.push((id, from, to, shard, idx));
    }
    Ok((changes, shards, first_from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_migration_numbers() {
        assert_eq!(crate::db::SCHEMA_VERSION, postgres::SCHEMA_VERSION);
    }

    fn grant(grace: i64) -> RefreshGrant {
        RefreshGrant {
            presented_id: "t0".into(),
            presented_hash: SecretDigest::of(crate::secret::domain::REFRESH, b"s"),
            access_id: "a2".into(),
            access_hash: SecretDigest::of(crate::secret::domain::ACCESS, b"a"),
            access_ttl: 300,
            next: NewRefresh {
                id: "t2".into(),
                digest: SecretDigest::of(crate::secret::domain::REFRESH, b"n"),
                family_id: String::new(),
                ttl: 3600,
            },
            grace,
            min_interval: 0,
        }
    }

    fn spent(used_at: Option<i64>, state: &str, superseded: bool) -> RefreshRow {
        RefreshRow {
            token_hash: SecretDigest::of(crate::secret::domain::REFRESH, b"s")
                .0
                .to_vec(),
            family_id: "f".into(),
            enrolment_id: "e".into(),
            config_ids: "[]".into(),
            state: state.into(),
            expires_at: 10_000,
            used_at,
            next_id: Some("t1".into()),
            superseded,
        }
    }

    fn refused(step: &RefreshStep, revoke: bool, text: &str) -> bool {
        matches!(step, RefreshStep::Refuse { reason, revoke_family }
            if *revoke_family == revoke && reason.contains(text))
    }

    #[test]
    fn a_spent_token_is_a_retry_only_inside_the_grace_window() {
        let row = spent(Some(1000), "used", false);
        let step = judge_refresh(&grant(60), Some(&row), 1059).unwrap();
        assert!(
            matches!(&step, RefreshStep::Retry { successor, used_at: 1000 } if successor == "t1")
        );
        // The window is half-open: 60 s after the use it is over.
        let step = judge_refresh(&grant(60), Some(&row), 1060).unwrap();
        assert!(refused(&step, true, "already used"));
        // 0 disables it, even in the same second.
        let step = judge_refresh(&grant(0), Some(&row), 1000).unwrap();
        assert!(refused(&step, true, "already used"));
        // Spent before migration 5: no used_at, no grace.
        let old = spent(None, "used", false);
        let step = judge_refresh(&grant(60), Some(&old), 1001).unwrap();
        assert!(refused(&step, true, "already used"));
    }

    #[test]
    fn a_superseded_token_revokes_the_family_and_a_plain_revoked_one_does_not() {
        let step = judge_refresh(&grant(60), Some(&spent(None, "revoked", true)), 1).unwrap();
        assert!(refused(&step, true, "superseded"));
        let step = judge_refresh(&grant(60), Some(&spent(None, "revoked", false)), 1).unwrap();
        assert!(refused(&step, false, "revoked"));
    }

    #[test]
    fn a_retry_is_answered_only_while_the_first_answer_is_unused() {
        let retry = || RefreshStep::Retry {
            successor: "t1".into(),
            used_at: 5,
        };
        let unused = SuccessorRow {
            state: "active".into(),
            access_used: false,
        };
        assert!(matches!(
            judge_retry(retry(), Some(&unused)),
            RefreshStep::Grace { used_at: 5, .. }
        ));
        let batch_taken = SuccessorRow {
            state: "active".into(),
            access_used: true,
        };
        assert!(refused(
            &judge_retry(retry(), Some(&batch_taken)),
            true,
            "successor"
        ));
        for state in ["used", "revoked"] {
            let row = SuccessorRow {
                state: state.into(),
                access_used: false,
            };
            assert!(refused(
                &judge_retry(retry(), Some(&row)),
                true,
                "successor"
            ));
        }
        assert!(refused(&judge_retry(retry(), None), true, "successor"));
        // The enrolment rule applies to a grace answer too.
        let graced = judge_retry(retry(), Some(&unused));
        assert!(refused(
            &with_enrolment(graced, Some(Status::Suspended)),
            false,
            "suspended"
        ));
    }

    #[test]
    fn the_rate_limit_applies_to_a_new_refresh_only() {
        let too_soon = |step: &RefreshStep, after: i64| matches!(step, RefreshStep::TooSoon { retry_after } if *retry_after == after);
        // No previous refresh: the first one is free.
        assert!(matches!(
            judge_rate(RefreshStep::Proceed, None, 3600, 100),
            RefreshStep::Proceed
        ));
        assert!(too_soon(
            &judge_rate(RefreshStep::Proceed, Some(1000), 3600, 1600),
            3000
        ));
        // Half-open: exactly min_interval later is allowed.
        assert!(matches!(
            judge_rate(RefreshStep::Proceed, Some(1000), 3600, 4600),
            RefreshStep::Proceed
        ));
        // A clock behind the previous refresh: still too soon, never more than the interval.
        assert!(too_soon(
            &judge_rate(RefreshStep::Proceed, Some(1000), 3600, 900),
            3600
        ));
        // 0 is off.
        assert!(matches!(
            judge_rate(RefreshStep::Proceed, Some(1000), 0, 1000),
            RefreshStep::Proceed
        ));
        // A grace retry is not a new refresh.
        let grace = RefreshStep::Grace {
            successor: "t1".into(),
            used_at: 1000,
        };
        assert!(matches!(
            judge_rate(grace, Some(1000), 3600, 1001),
            RefreshStep::Grace { .. }
        ));
    }

    #[test]
    fn a_holder_key_twice_in_one_record_is_refused_at_its_second_use() {
        let record = |holders: &[&str]| IssueRecord {
            token_id: "a".into(),
            token_hash: SecretDigest::of(crate::secret::domain::ACCESS, b"a"),
            config: ConfigId::ALL[0],
            nonces: Vec::new(),
            replays: Vec::new(),
            proof_expiry: 0,
            holders: holders.iter().map(|h| (*h).to_owned()).collect(),
            ids: Vec::new(),
            kid: "k".into(),
            validity: 1,
            shard_size: 16,
            now: 0,
        };
        assert!(judge_holders(&record(&["a", "b", "c"])).is_ok());
        let err = judge_holders(&record(&["a", "b", "a"])).err();
        assert!(matches!(err, Some(ApiError::InvalidProof { index: 2, .. })));
    }

    #[test]
    fn status_plan_skips_final_states_and_names_the_first() {
        let rows = vec![
            ("a".into(), 1, 0, 5),
            ("b".into(), 0, 3, 6),
            ("c".into(), 2, 3, 7),
        ];
        let plan = plan_status_change(rows, StatusAction::Revoke).unwrap();
        assert_eq!(plan.shards, [3]);
        let (change, shards) = plan.finish();
        assert_eq!(change.changed, ["b", "c"]);
        assert_eq!(change.status, "revoked");
        assert_eq!(shards, [3]);
        let err = plan_status_change(vec![("a".into(), 1, 0, 5)], StatusAction::Reinstate)
            .err()
            .unwrap();
        assert!(matches!(
            err,
            ApiError::StatusTransition {
                from: "revoked",
                ..
            }
        ));
        assert!(matches!(
            plan_status_change(Vec::new(), StatusAction::Revoke),
            Err(ApiError::NotFound { .. })
        ));
    }
}
