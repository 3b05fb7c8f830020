//! Emergency key withdrawal (docs/issuer/operating.md, "Withdrawing a compromised key"): the bureau
//! declares a credential signing key compromised, so that every credential it signed (or every
//! one issued from a given day on) is refused by verifiers at once.
//!
//! ```text
//! issuer keys withdraw KID [--since T]   POST /admin/keys/withdraw {"kid", "since"}
//!        │  (the active key is rotated out first; a new active key is made either way,
//!        │   so every replica reloads its keys)
//!        ▼
//! table `key_withdrawals` (one row per key, read on every key load)
//!   + audit event `key.withdrawn` (append-only record), in the same transaction
//!        │
//!        ├─> GET /trust-bundle/withdrawals : root-signed `key-withdrawals+jwt` (urgent)
//!        ├─> trust bundle and deltas       : the key's entry says `state: withdrawn`
//!        └─> jwt-vc-issuer, did.json       : the key is no longer listed
//! ```
//!
//! `since` is rounded down to its day: credentials carry only the day they were issued
//! (`iat` at 00:00 UTC), so the day of `since` is refused whole.

use serde_json::{json, Value};

use credential::jose::{sign_compact, try_sign_compact, SigningKey};

use crate::domain::keys::{KeyState, KeyWithdrawal, MAX_WITHDRAWALS};

use crate::domain::refusal::Refusal;
use crate::error::IssuerError;
use crate::keys::root_header;
use crate::keys::KeyRecord;
use crate::service::Issuer;

/// The withdrawal notice's `typ`.
pub const KEY_WITHDRAWALS_TYP: &str = "key-withdrawals+jwt";

/// The notice format version (`withdrawals_version`).
pub const WITHDRAWALS_VERSION: u32 = 1;

const DAY: i64 = 86_400;

/// The published JSON of `records` (bundle and delta `keys`), each withdrawn key marked
/// `state: withdrawn` with its `withdrawn_since`.
pub fn keys_json(records: &[KeyRecord], withdrawals: &[KeyWithdrawal]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            let mut v = r.to_json();
            if let Some(w) = withdrawals.iter().find(|w| w.kid == r.kid) {
                v["state"] = json!("withdrawn");
                v["withdrawn_since"] = json!(w.since);
            }
            v
        })
        .collect()
}

/// Signs the notice with the root key: a compact JWS with header `typ: key-withdrawals+jwt`,
/// the root's `kid` and public `jwk`.
pub fn sign_key_withdrawals(
    root: &SigningKey,
    iss: &str,
    issued_at: i64,
    withdrawals: &[KeyWithdrawal],
) -> String {
    let payload = withdrawals_payload(iss, issued_at, withdrawals).to_string();
    sign_compact(
        root_header(KEY_WITHDRAWALS_TYP, root),
        payload.as_bytes(),
        root,
    )
}

/// The claims of a withdrawal notice.
fn withdrawals_payload(iss: &str, issued_at: i64, withdrawals: &[KeyWithdrawal]) -> Value {
    json!({
        "withdrawals_version": WITHDRAWALS_VERSION,
        "iss": iss,
        "issued_at": issued_at,
        "iat": issued_at,
        "withdrawals": withdrawals.iter().map(KeyWithdrawal::to_json).collect::<Vec<_>>(),
    })
}

impl Issuer {
    /// Every withdrawal (the `key_withdrawals` table, one row per key).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn key_withdrawals(&self) -> Result<Vec<KeyWithdrawal>, IssuerError> {
        Ok(self.store.key_withdrawals(MAX_WITHDRAWALS).await?)
    }

    /// Withdraws credential signing key `kid` at once: every credential it signed is refused
    /// (`since: None`), or every one issued on or after the day of `since`. A new active key is
    /// made first (the withdrawn key may be the active one; either way every replica then
    /// reloads its keys), cached status lists are dropped so they are re-signed, and the
    /// withdrawal is recorded in the audit trail (`key.withdrawn`).
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown kid; an invalid-request error for a `since` in
    /// the future; storage errors.
    pub async fn withdraw_key(
        &self,
        actor: &str,
        kid: &str,
        since: Option<i64>,
    ) -> Result<KeyWithdrawal, IssuerError> {
        let t = self.now();
        let Some(rec) = self.keys.records().into_iter().find(|r| r.kid == kid) else {
            return Err(Refusal::NotFound {
                what: "credential signing key",
            }
            .into());
        };
        if since.is_some_and(|s| s > t) {
            return Err(Refusal::invalid_request("since must not be in the future").into());
        }
        let since = since.map(|s| s - s.rem_euclid(DAY));
        let alg = if rec.state == KeyState::Active {
            rec.alg
        } else {
            self.config.key_alg
        };
        let new = self.rotate_key(actor, alg).await?;
        self.store
            .record_key_withdrawal(
                t,
                actor,
                kid,
                since,
                json!({"since": since, "new_active_key": new.kid}),
            )
            .await?;
        self.keys.reload(&self.store).await?;
        self.status_cache.clear();
        tracing::warn!(kid, actor, ?since, "credential signing key withdrawn");
        Ok(self
            .keys
            .withdrawals()
            .into_iter()
            .find(|w| w.kid == kid)
            .unwrap_or(KeyWithdrawal {
                kid: kid.to_owned(),
                since,
                withdrawn_at: t,
            }))
    }

    /// The root-signed notice of every withdrawn key (`GET /trust-bundle/withdrawals`).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn key_withdrawals_notice(&self) -> Result<String, IssuerError> {
        // Picks up a withdrawal made on another replica (it rotated the active key).
        self.signer().await?;
        let withdrawals = self.keys.withdrawals();
        let root = self.keys.root();
        let payload = withdrawals_payload(self.url(), self.now(), &withdrawals).to_string();
        try_sign_compact(
            root_header(KEY_WITHDRAWALS_TYP, &*root),
            payload.as_bytes(),
            &*root,
        )
        .map_err(crate::keys::signing_failed)
    }
}
