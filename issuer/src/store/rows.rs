//! The records the storage operations take and return, shared by both backends.

use serde_json::Value;

use credential::citizen::Level;

use crate::domain::keys::{Alg, KeyPurpose, KeyState};
use crate::domain::ConfigId;
use crate::secret::SecretDigest;

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
    /// [`crate::store::Store::refresh_grant`].
    pub grace: i64,
    /// `refresh_min_interval`, seconds (0: no limit). See [`crate::store::Store::refresh_grant`].
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
    /// once; a nonce already recorded refuses the request with [`crate::domain::refusal::Refusal::InvalidNonce`].
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

/// What [`crate::store::Store::issue`] recorded.
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
    /// Its algorithm.
    pub alg: Alg,
    /// What it signs.
    pub purpose: KeyPurpose,
    /// Active or retired.
    pub state: KeyState,
    /// Legacy key file name in `DATA/keys/` (empty when the key is stored sealed).
    pub file: String,
    /// Private JWK sealed under the master secret (context `signing-key:<kid>`).
    pub sealed: Option<Vec<u8>>,
    /// The `pkcs11:` reference of a private key held in an HSM ([`crate::hsm`]).
    pub hsm_key: Option<String>,
    /// The public JWK (JSON) of a key held in an HSM.
    pub public_jwk: Option<String>,
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
