//! Decisions shared by both backends: each backend reads rows its own way, then applies the
//! same rules here, so the behaviour cannot drift between dialects. Also the SQL text both
//! dialects share (SQLite's `?1` placeholders; PostgreSQL rewrites them to `$1`).

use serde_json::Value;

use credential::citizen::Level;

use super::error::DbError;
use super::error::StoreError;
use super::rows::{IssueRecord, KeyRow, Redemption, RefreshGrant};
use crate::domain::audit::AuditEvent;
use crate::domain::keys::{Alg, KeyPurpose, KeyState};
use crate::domain::refusal::Refusal;
use crate::domain::status::StatusChange;
use crate::domain::{ConfigId, Status, StatusAction};

/// The role stored for an officer; anything but `officer` or `admin` is corruption.
pub(crate) fn officer_role(text: &str) -> Result<crate::domain::Role, DbError> {
    crate::domain::Role::parse(text).ok_or(DbError::Corrupt {
        what: "officer role",
    })
}

pub(crate) const CODE_UNKNOWN: StoreError = StoreError::Refused(Refusal::InvalidGrant {
    reason: "pre-authorized code unknown",
});
pub(crate) const CODE_USED: StoreError = StoreError::Refused(Refusal::InvalidGrant {
    reason: "pre-authorized code already used or dead",
});
pub(crate) const ALREADY_ISSUED: StoreError =
    StoreError::Refused(Refusal::CredentialRequestDenied {
        reason: "this credential was already issued for this access token",
    });

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
) -> Result<Judgement, StoreError> {
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
        return Err(StoreError::Refused(Refusal::InvalidGrant {
            reason: "pre-authorized code expired",
        }));
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
pub(crate) fn holder_reused(index: usize) -> StoreError {
    StoreError::proof(
        index,
        "holder key already bound to another credential; each copy needs its own key",
    )
}

/// The first repeated holder key in a request, refused as [`holder_reused`] (the HTTP layer
/// refuses this before the store; repeated here so the store's rule stands on its own).
pub(crate) fn judge_holders(r: &IssueRecord) -> Result<(), StoreError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, h) in r.holders.iter().enumerate() {
        if !seen.insert(h.as_str()) {
            return Err(holder_reused(i));
        }
    }
    Ok(())
}

pub(crate) const REFRESH_UNKNOWN: StoreError = StoreError::Refused(Refusal::InvalidGrant {
    reason: "refresh token unknown",
});

/// The refresh-grant rules on the token row.
pub(crate) fn judge_refresh(
    r: &RefreshGrant,
    row: Option<&RefreshRow>,
    now: i64,
) -> Result<RefreshStep, StoreError> {
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
) -> (AuditEvent, Value) {
    match grace {
        None => (
            AuditEvent::RefreshUsed,
            serde_json::json!({"spent": r.presented_id, "next": r.next.id, "token": r.access_id,
                               "enrolment": row.enrolment_id}),
        ),
        Some((superseded, used_at)) => (
            AuditEvent::RefreshGrace,
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
pub(crate) fn block_of(worst: Option<i64>) -> Result<Option<Status>, StoreError> {
    // Revoked is 1 and suspended 2, so MIN picks revoked over suspended.
    match worst {
        None => Ok(None),
        Some(bits) => Status::from_bits(bits)
            .map(Some)
            .ok_or(StoreError::Storage(DbError::Corrupt { what: "status" })),
    }
}

pub(crate) const BLOCKED: StoreError = StoreError::Refused(Refusal::CredentialRequestDenied {
    reason: "the credentials of this enrolment are revoked or suspended",
});

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

/// Whether a hold lift may proceed: the citizen is known and revoked.
pub(crate) fn judge_lift_hold(known: bool, hold: Option<i64>) -> Result<(), StoreError> {
    match (known, block_of(hold)?) {
        (_, Some(Status::Revoked)) => Ok(()),
        (_, Some(status)) => Err(StoreError::Refused(Refusal::NoRevocationHold {
            status: status.as_str(),
        })),
        (false, None) => Err(StoreError::Refused(Refusal::NotFound { what: "citizen" })),
        (true, None) => Err(StoreError::Refused(Refusal::NoRevocationHold {
            status: "not on hold",
        })),
    }
}

/// Whether any enrolment has this citizen digest (`?1`).
pub(crate) const CITIZEN_KNOWN_SQLITE: &str =
    "SELECT EXISTS (SELECT 1 FROM enrolments WHERE citizen_id = ?1)";

/// The token-endpoint refusal of a pre-authorized code whose enrolment or citizen is revoked or
/// suspended (checked after the code and `tx_code`, in the redeeming transaction).
pub(crate) fn judge_redeem_block(block: Option<Status>) -> Result<(), StoreError> {
    match judge_enrolment(block) {
        RefreshStep::Refuse { reason, .. } => {
            Err(StoreError::Refused(Refusal::InvalidGrant { reason }))
        }
        _ => Ok(()),
    }
}

/// An enrolment refused because its citizen is on hold.
pub(crate) fn judge_enrol_hold(hold: Option<i64>) -> Result<(), StoreError> {
    match block_of(hold)? {
        None => Ok(()),
        Some(status) => Err(StoreError::Refused(Refusal::CitizenOnHold {
            status: status.as_str(),
        })),
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
) -> Result<(TokenRow, Level, Vec<u8>), StoreError> {
    let Some(mut row) = row else {
        return Err(StoreError::Refused(Refusal::InvalidToken {
            reason: "access token unknown",
        }));
    };
    if !r.token_hash.matches(&row.token_hash) {
        return Err(StoreError::Refused(Refusal::InvalidToken {
            reason: "access token unknown",
        }));
    }
    if row.expires_at <= r.now {
        return Err(StoreError::Refused(Refusal::InvalidToken {
            reason: "access token expired",
        }));
    }
    let covered: Vec<String> =
        serde_json::from_str(&row.config_ids).map_err(|_| DbError::Corrupt {
            what: "offer config ids",
        })?;
    if !covered.iter().any(|c| c == r.config.as_str()) {
        return Err(StoreError::Refused(Refusal::CredentialRequestDenied {
            reason: "the access token does not cover this credential configuration",
        }));
    }
    let claims =
        row.claims
            .take()
            .ok_or(StoreError::Refused(Refusal::CredentialRequestDenied {
                reason: "enrolment claims were purged",
            }))?;
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
) -> Result<StatusPlan, StoreError> {
    if rows.is_empty() {
        return Err(StoreError::Refused(Refusal::NotFound {
            what: "credential",
        }));
    }
    let (changes, shards, first_from) = collect_changes(rows, action)?;
    if changes.is_empty() {
        return Err(StoreError::Refused(Refusal::StatusTransition {
            action: action.as_str(),
            from: first_from.unwrap_or(Status::Valid).as_str(),
        }));
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
/// [`Refusal::NotFound`] for a citizen with neither an enrolment nor a credential;
/// [`Refusal::StatusTransition`] when neither a credential nor the hold changes.
pub(crate) fn plan_citizen_change(
    rows: Vec<(String, i64, i64, i64)>,
    action: StatusAction,
    hold: Option<Status>,
    known: bool,
) -> Result<StatusPlan, StoreError> {
    if !known && rows.is_empty() {
        return Err(StoreError::Refused(Refusal::NotFound { what: "citizen" }));
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
        return Err(StoreError::Refused(Refusal::StatusTransition {
            action: action.as_str(),
            from: hold.or(first_from).unwrap_or(Status::Valid).as_str(),
        }));
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
    StoreError,
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

/// The count query of [`crate::store::Store::count_rows`]: `what` is a table name, optionally
/// followed by a `WHERE` clause, or a parenthesised subquery.
#[cfg(feature = "test-util")]
pub(crate) fn count_sql(what: &str) -> String {
    if what.starts_with('(') {
        format!("SELECT COUNT(*) FROM {what} AS counted")
    } else {
        format!("SELECT COUNT(*) FROM {what}")
    }
}

/// A `signing_keys` row as both dialects read it (`kid, alg, purpose, state, file,
/// sealed_jwk, not_before, not_after, last_credential_expiry`), before its vocabulary columns
/// are checked.
pub(crate) type KeyColumns = (
    String,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    i64,
    Option<i64>,
    Option<i64>,
);

/// The selected columns of [`KeyColumns`], in order (both dialects).
pub(crate) const KEY_ROW_COLUMNS: &str =
    "kid, alg, purpose, state, file, sealed_jwk, not_before, not_after, last_credential_expiry";

/// A typed [`KeyRow`] from its stored columns; a value outside a vocabulary is corruption.
pub(crate) fn decode_key_row(c: KeyColumns) -> Result<KeyRow, DbError> {
    let (kid, alg, purpose, state, file, sealed, not_before, not_after, last_credential_expiry) = c;
    Ok(KeyRow {
        kid,
        alg: Alg::parse(&alg).map_err(|_| DbError::Corrupt { what: "key alg" })?,
        purpose: KeyPurpose::parse(&purpose).ok_or(DbError::Corrupt {
            what: "key purpose",
        })?,
        state: KeyState::parse(&state).ok_or(DbError::Corrupt { what: "key state" })?,
        file,
        sealed,
        not_before,
        not_after,
        last_credential_expiry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretDigest;
    use crate::store::NewRefresh;

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
        assert!(matches!(
            err,
            Some(StoreError::Refused(Refusal::InvalidProof { index: 2, .. }))
        ));
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
            StoreError::Refused(Refusal::StatusTransition {
                from: "revoked",
                ..
            })
        ));
        assert!(matches!(
            plan_status_change(Vec::new(), StatusAction::Revoke),
            Err(StoreError::Refused(Refusal::NotFound { .. }))
        ));
    }
}
