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

use crate::audit::AuditEntry;
use crate::config::DatabaseUrl;
use crate::db::{Db, DbError};
use crate::error::ApiError;
use crate::model::{ConfigId, Status, StatusAction};
use crate::secret::SecretDigest;
use crate::service::{OfficerInfo, PlatformInfo};
use crate::status::StatusChange;
use crate::status_changes::{LogBounds, LoggedChange, ShardSizes};

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
    /// Digests of the `c_nonce`s the proofs carry (each consumed once).
    pub nonces: Vec<[u8; 32]>,
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

/// A credential recorded without the OpenID4VCI flow ([`crate::simulate`]).
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

    /// Stores a single-use `c_nonce`.
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
    /// # Errors
    /// [`ApiError::InvalidGrant`] for an unknown, expired, revoked or used token (a used one
    /// revokes its family, committed first) or a revoked or suspended enrolment.
    pub async fn refresh_grant(&self, r: RefreshGrant) -> Result<(), ApiError> {
        dispatch!(self, s => s.refresh_grant(r).await)
    }

    /// The credential endpoint's transaction: token valid and covering the configuration,
    /// issued once per configuration, each `c_nonce` consumed, each proof unused, a fresh
    /// status index per holder key, credential rows and audit events.
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
}

/// What to do with a refresh grant after reading its token.
pub(crate) enum RefreshStep {
    /// Check the enrolment, then spend the token.
    Proceed,
    /// Refuse, audited; revoke the family first when `revoke_family`.
    Refuse {
        reason: &'static str,
        revoke_family: bool,
    },
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
        "used" => RefreshStep::Refuse {
            reason: "refresh token already used; its family is revoked",
            revoke_family: true,
        },
        _ => RefreshStep::Refuse {
            reason: "refresh token revoked",
            revoke_family: false,
        },
    })
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

/// `MIN(status)` over the enrolment's non-valid credentials.
pub(crate) const ENROLMENT_WORST_SQLITE: &str =
    "SELECT MIN(status) FROM credentials WHERE enrolment_id = ?1 AND status <> 0";

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
}

impl StatusPlan {
    pub(crate) fn finish(self) -> (StatusChange, Vec<i64>) {
        let status = self.changes.first().map(|c| c.2.as_str()).unwrap_or("");
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
    if changes.is_empty() {
        return Err(ApiError::StatusTransition {
            action: action.as_str(),
            from: first_from.unwrap_or(Status::Valid).as_str(),
        });
    }
    Ok(StatusPlan { changes, shards })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_migration_numbers() {
        assert_eq!(crate::db::SCHEMA_VERSION, postgres::SCHEMA_VERSION);
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
