//! The storage interface: [`Store`], the issuer's domain operations on its database, which
//! each backend ([`crate::store::sqlite`], [`crate::store::postgres`]) implements, and the
//! housekeeping sweep's lock and steps.

use async_trait::async_trait;
use serde_json::Value;

use super::error::StoreError;
use super::rows::{
    DirectRecord, Issuance, IssueRecord, KeyRow, NewEnrolment, Redemption, RefreshGrant,
    ShardEntries, StatusKey,
};
use crate::domain::audit::{AuditEntry, AuditEvent, AuditFilter};
use crate::domain::keys::{KeyPurpose, KeyWithdrawal};
use crate::domain::people::{OfficerInfo, PlatformInfo};
#[cfg(doc)]
use crate::domain::refusal::Refusal;
use crate::domain::status::StatusChange;
use crate::domain::status::{LogBounds, LoggedChange, ShardSizes};
use crate::domain::StatusAction;
use crate::secret::SecretDigest;

/// Told each write's timings ([`Store::observe_writes`]): the time it waited before it ran,
/// and the time from submitting it until its commit answered (the wait included).
pub type WriteObserver =
    std::sync::Arc<dyn Fn(std::time::Duration, std::time::Duration) + Send + Sync>;

/// The issuer's storage: SQLite in the data directory, or a PostgreSQL database shared by
/// several replicas. The service holds it as `Arc<dyn Store>` ([`crate::store::open`]).
///
/// Every operation is one transaction that either commits entirely or changes nothing (the one
/// deliberate exception: a wrong `tx_code` commits its attempt count and then reports
/// `invalid_grant`). The storage conformance suite (`issuer/tests/it/store_suite.rs`) runs the
/// same checks of this contract against both backends.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The newest migration applied.
    ///
    /// # Errors
    /// Storage errors.
    async fn schema_version(&self) -> Result<i64, StoreError>;

    /// Stops background work (the SQLite writer) after queued jobs; closes pooled connections.
    fn close(&self);

    /// Sets the observer told each write's queue wait and latency: on SQLite the wait in the
    /// writer thread's queue, on PostgreSQL the wait for a pooled connection (of the first
    /// attempt); the latency runs until the commit answered, retries included.
    fn observe_writes(&self, observer: WriteObserver);

    /// Stores a single-use face-match attestation nonce.
    ///
    /// # Errors
    /// Storage errors.
    async fn insert_attestation_nonce(
        &self,
        digest: SecretDigest,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// Records a used `c_nonce` until `expires_at` (the credential endpoint does this in its
    /// transaction; `/nonce` stores nothing). For tests only.
    ///
    /// # Errors
    /// Storage errors.
    #[cfg(feature = "test-util")]
    async fn insert_c_nonce(&self, digest: SecretDigest, expires_at: i64)
        -> Result<(), StoreError>;

    /// The registered platform (id, public JWK JSON) whose key has thumbprint `kid`.
    ///
    /// # Errors
    /// Storage errors.
    async fn platform_key(&self, kid: &str) -> Result<Option<(String, String)>, StoreError>;

    /// Consumes the attestation nonce (if any) and writes the enrolment, its offer and the
    /// audit event.
    ///
    /// # Errors
    /// [`Refusal::InvalidAttestation`] when the nonce is unknown, used or expired.
    async fn enrol(&self, e: NewEnrolment) -> Result<(), StoreError>;

    /// `(config_ids JSON, sealed code)` of an open, unexpired offer.
    ///
    /// # Errors
    /// Storage errors.
    async fn open_offer(&self, id: &str, now: i64)
        -> Result<Option<(String, Vec<u8>)>, StoreError>;

    /// Redeems a pre-authorized code once, across every replica, and records the access token.
    ///
    /// # Errors
    /// [`Refusal::InvalidGrant`] for an unknown, used, dead or expired code or a wrong
    /// `tx_code` (whose attempt is committed first).
    async fn redeem_offer(&self, r: Redemption) -> Result<(), StoreError>;

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
    /// with [`Refusal::RefreshTooSoon`] and left `active` (audit `refresh.refused`). A grace
    /// retry is not a new refresh and is not limited. The first refresh after the token request
    /// is never limited.
    ///
    /// # Errors
    /// [`Refusal::InvalidGrant`] for an unknown, expired or revoked token, a used one outside
    /// the grace (which revokes its family, committed first), a superseded one (also revokes
    /// the family), or a revoked or suspended enrolment; [`Refusal::RefreshTooSoon`] under the
    /// rate limit.
    async fn refresh_grant(&self, r: RefreshGrant) -> Result<(), StoreError>;

    /// The credential endpoint's transaction: token valid and covering the configuration,
    /// issued once per configuration, each `c_nonce` consumed, each proof unused, a fresh
    /// status index per holder key, credential rows and audit events.
    ///
    /// Holder keys: each credential ever recorded has its own holder key (`credentials`'
    /// unique `holder_thumbprint`, migration 7). A key repeated in `r.holders` or already
    /// bound to a credential refuses the whole request with [`Refusal::InvalidProof`]; two
    /// concurrent requests with one key cannot both succeed (the unique index decides).
    ///
    /// # Errors
    /// The OpenID4VCI error of the first failed check; nothing is stored then.
    async fn issue(&self, r: IssueRecord) -> Result<Issuance, StoreError>;

    /// Applies `action` to the selected credentials (whole batches), with audit events and a
    /// version bump of each touched shard. Returns the change and the touched shards.
    ///
    /// # Errors
    /// [`Refusal::NotFound`], [`Refusal::StatusTransition`]; storage errors.
    async fn change_status(
        &self,
        key: StatusKey,
        action: StatusAction,
        actor: &str,
        now: i64,
    ) -> Result<(StatusChange, Vec<i64>), StoreError>;

    /// Lifts the revocation hold of citizen digest `citizen` (a deliberate re-enrolment after
    /// investigation), audited as `citizen.lift-hold` with `reason`. Credentials stay as they
    /// are: a revoked credential stays revoked.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for a citizen never enrolled; [`Refusal::NoRevocationHold`]
    /// when the citizen is suspended or not on hold; storage errors.
    async fn lift_citizen_hold(
        &self,
        citizen: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The version counter of `shard` (`None` for an unknown shard).
    ///
    /// # Errors
    /// Storage errors.
    async fn shard_version(&self, shard: i64) -> Result<Option<i64>, StoreError>;

    /// Size, version and non-valid entries of `shard`, from one consistent read.
    ///
    /// # Errors
    /// Storage errors.
    async fn shard_entries(&self, shard: i64) -> Result<Option<ShardEntries>, StoreError>;

    /// The status-change log's newest `seq` (0 when empty): the high-water mark.
    ///
    /// # Errors
    /// Storage errors.
    async fn status_high_water(&self) -> Result<i64, StoreError>;

    /// The log's bounds and the time of change `since` (`store/sqlite/status_changes.rs`).
    ///
    /// # Errors
    /// Storage errors.
    async fn status_log_bounds(&self, since: i64) -> Result<LogBounds, StoreError>;

    /// The logged changes with `after < seq <= upto` in order, and every shard's size.
    ///
    /// # Errors
    /// Storage errors.
    async fn status_log_between(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<(Vec<LoggedChange>, ShardSizes), StoreError>;

    /// Ids of the shards that exist.
    ///
    /// # Errors
    /// Storage errors.
    async fn shards(&self) -> Result<Vec<i64>, StoreError>;

    /// Adds an officer.
    ///
    /// # Errors
    /// Storage errors.
    async fn add_officer(
        &self,
        actor: &str,
        info: OfficerInfo,
        token_hash: SecretDigest,
    ) -> Result<(), StoreError>;

    /// Officers not removed.
    ///
    /// # Errors
    /// Storage errors.
    async fn list_officers(&self) -> Result<Vec<OfficerInfo>, StoreError>;

    /// Removes an officer.
    ///
    /// # Errors
    /// [`Refusal::NotFound`]; storage errors.
    async fn remove_officer(&self, actor: &str, id: &str, now: i64) -> Result<(), StoreError>;

    /// `(role, token digest)` of an officer not removed.
    ///
    /// # Errors
    /// Storage errors.
    async fn officer_secret(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;

    /// Registers a platform key.
    ///
    /// # Errors
    /// [`Refusal::InvalidRequest`] when the key is already registered; storage errors.
    async fn add_platform(
        &self,
        actor: &str,
        info: PlatformInfo,
        jwk: String,
    ) -> Result<(), StoreError>;

    /// Registered platforms.
    ///
    /// # Errors
    /// Storage errors.
    async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError>;

    /// Removes a platform by id or kid.
    ///
    /// # Errors
    /// [`Refusal::NotFound`]; storage errors.
    async fn remove_platform(&self, actor: &str, id: &str, now: i64) -> Result<(), StoreError>;

    /// Every signing key row, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    async fn key_rows(&self) -> Result<Vec<KeyRow>, StoreError>;

    /// The kid of the active key of `purpose` (`credential` or `root`).
    ///
    /// # Errors
    /// Storage errors.
    async fn active_kid(&self, purpose: KeyPurpose) -> Result<Option<String>, StoreError>;

    /// Inserts `row` as the active key of its purpose if that purpose has none yet (first
    /// start; two replicas starting together create one). Returns whether it was inserted.
    ///
    /// # Errors
    /// Storage errors.
    async fn create_first_key(&self, row: KeyRow) -> Result<bool, StoreError>;

    /// Retires the active credential key (published until `max(last expiry, now +
    /// max_validity)`) and makes `row` active, serialised against concurrent rotations.
    /// Returns the retired kid.
    ///
    /// # Errors
    /// Storage errors.
    async fn rotate_key(
        &self,
        actor: &str,
        row: KeyRow,
        max_validity: i64,
    ) -> Result<String, StoreError>;

    /// Records a credential issued without the OpenID4VCI flow; returns its status entry.
    ///
    /// # Errors
    /// Storage errors.
    async fn record_direct(&self, r: DirectRecord) -> Result<(i64, u32), StoreError>;

    /// Inserts `n` simulated credentials `sim-<base>..`, each revoked when a draw falls below
    /// `threshold`. Returns how many were revoked.
    ///
    /// # Errors
    /// Storage errors.
    async fn simulate(
        &self,
        n: u64,
        base: u64,
        threshold: u32,
        kid: String,
        now: i64,
        shard_size: u32,
    ) -> Result<u64, StoreError>;

    /// The last `limit` audit events, newest first.
    ///
    /// # Errors
    /// Storage errors.
    async fn audit_recent(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;

    /// Rows in `what`: a table name, optionally followed by a `WHERE` clause, or a
    /// parenthesised subquery. For tests and diagnostics only: `what` is SQL, so never pass
    /// anything a request carried.
    ///
    /// # Errors
    /// Storage errors (also for SQL that does not parse).
    #[cfg(feature = "test-util")]
    async fn count_rows(&self, what: &str) -> Result<i64, StoreError>;

    /// Takes the sweep lock: `None` when another replica is sweeping (PostgreSQL
    /// `pg_try_advisory_lock` on a dedicated session); always granted on SQLite.
    ///
    /// # Errors
    /// Storage errors.
    async fn sweep_lock(&self) -> Result<Option<SweepLock>, StoreError>;

    /// Runs one chunk of `step` in its own transaction (on PostgreSQL, on the lock's
    /// session); returns the rows deleted.
    ///
    /// # Errors
    /// Storage errors; [`StoreError::Internal`] for a lock of the other backend.
    async fn sweep_chunk(
        &self,
        lock: &SweepLock,
        step: SweepStep,
        cutoff: i64,
        limit: i64,
    ) -> Result<u64, StoreError>;

    /// Appends the sweep's audit event ([`crate::domain::audit::AuditEvent::HousekeepingSweep`]) while the lock is held.
    ///
    /// # Errors
    /// Storage errors; [`StoreError::Internal`] for a lock of the other backend.
    async fn sweep_audit(
        &self,
        lock: &SweepLock,
        at: i64,
        actor: &str,
        detail: Value,
    ) -> Result<(), StoreError>;

    /// Appends one audit event in its own transaction.
    ///
    /// # Errors
    /// Storage errors.
    async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        event: AuditEvent,
        subject: Option<&str>,
        detail: Value,
    ) -> Result<(), StoreError>;

    /// Records the withdrawal of credential key `kid` (`since`: `None` for every credential)
    /// and its `key.withdrawn` audit event with `detail`, in one transaction. A key withdrawn
    /// again keeps the strictest withdrawal and its first `withdrawn_at`.
    ///
    /// # Errors
    /// Storage errors.
    async fn record_key_withdrawal(
        &self,
        at: i64,
        actor: &str,
        kid: &str,
        since: Option<i64>,
        detail: Value,
    ) -> Result<(), StoreError>;

    /// The withdrawn credential keys (at most `limit`), in the order they were withdrawn.
    ///
    /// # Errors
    /// Storage errors.
    async fn key_withdrawals(&self, limit: i64) -> Result<Vec<KeyWithdrawal>, StoreError>;

    /// The audit events `filter` selects: the newest `filter.limit` of them, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    async fn audit_list(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Held while a sweep runs. On PostgreSQL it owns the session that holds the sweep's advisory
/// lock; dropping it closes that session (never returned to the pool with the lock held), which
/// releases the lock. On SQLite it holds nothing: the single writer serialises the chunks.
#[derive(Debug)]
pub struct SweepLock {
    session: Option<Box<dyn SweepSession>>,
}

impl SweepLock {
    /// A lock that holds no session (SQLite).
    pub(crate) fn unheld() -> SweepLock {
        SweepLock { session: None }
    }

    /// A lock held by `session` (PostgreSQL).
    pub(crate) fn held(session: Box<dyn SweepSession>) -> SweepLock {
        SweepLock {
            session: Some(session),
        }
    }

    /// The session holding the lock, if any.
    pub(crate) fn session(&self) -> Option<&dyn SweepSession> {
        self.session.as_deref()
    }

    /// Releases the lock (PostgreSQL: `pg_advisory_unlock`, then the session is closed).
    /// Dropping it without this also releases it, once the server sees the session close.
    pub async fn release(mut self) {
        if let Some(session) = self.session.take() {
            session.release().await;
        }
    }
}

/// A database session that holds the sweep lock and runs the sweep's statements.
#[async_trait]
pub(crate) trait SweepSession: Send + Sync + std::fmt::Debug {
    /// Runs one chunk of `step`; returns the rows deleted.
    async fn chunk(&self, step: SweepStep, cutoff: i64, limit: i64) -> Result<u64, StoreError>;
    /// Appends the sweep's audit event.
    async fn audit(&self, at: i64, actor: &str, detail: &Value) -> Result<(), StoreError>;
    /// Releases the lock, then closes the session.
    async fn release(self: Box<Self>);
}

/// A sweep lock used with a store of the other backend (a caller bug).
pub(crate) fn mismatched_lock() -> StoreError {
    StoreError::Internal("sweep lock of the other storage backend".into())
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
