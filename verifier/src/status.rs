//! Revocation state known to the verifier: verified status-list tokens, by list URI.

use std::collections::BTreeMap;

use credential::sd_jwt::IssuerKeys;
use credential::status_list::{Limits, StatusList, StatusListError, StatusListToken, Validation};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Policy, TrustStore};

/// What the revocation check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatusOutcome {
    /// The entry is 0 (valid) in a list fresh enough for the policy.
    Valid {
        /// The list URI.
        uri: String,
        /// The index.
        idx: u64,
        /// When the list was issued (Unix seconds).
        list_issued_at: i64,
    },
    /// The credential references no status list.
    NoStatus,
    /// The credential references a list the verifier does not have, and the policy allows
    /// that (`require_status = false`).
    Unchecked {
        /// The list URI.
        uri: String,
    },
}

/// Why the revocation check rejected a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// The entry is 1 (invalid): revoked.
    #[error("credential revoked (status index {idx})")]
    Revoked {
        /// The index.
        idx: u64,
    },
    /// The entry is 2: suspended.
    #[error("credential suspended (status index {idx})")]
    Suspended {
        /// The index.
        idx: u64,
    },
    /// Another non-zero value.
    #[error("credential status {value} at index {idx} is not valid")]
    NotValid {
        /// The index.
        idx: u64,
        /// The value.
        value: u8,
    },
    /// The `status` claim is malformed.
    #[error("malformed status claim")]
    MalformedReference,
    /// No list for this URI is known and the policy requires one.
    #[error("no status list known for the credential; sync the verifier")]
    Unknown,
    /// The list is older than the policy allows.
    #[error("revocation state too old ({age_seconds} s, policy allows {max_seconds} s); sync the verifier")]
    TooOld {
        /// Age of the list.
        age_seconds: i64,
        /// The policy's limit.
        max_seconds: i64,
    },
    /// The list token has expired (`exp`).
    #[error("status list expired; sync the verifier")]
    ListExpired,
    /// The list is malformed, the index out of range, or the token did not verify.
    #[error(transparent)]
    List(#[from] StatusListError),
    /// The status-list token's signing key is not trusted.
    #[error("status list signed by an unknown key")]
    UnknownListKey,
}

impl StatusError {
    /// A stable snake_case name of the failed check.
    pub fn code(&self) -> &'static str {
        match self {
            StatusError::Revoked { .. } => "revoked",
            StatusError::Suspended { .. } => "suspended",
            StatusError::NotValid { .. } => "status_not_valid",
            StatusError::MalformedReference => "malformed_status_claim",
            StatusError::Unknown => "status_unknown",
            StatusError::TooOld { .. } => "status_too_old",
            StatusError::ListExpired => "status_list_expired",
            StatusError::List(e) => e.code(),
            StatusError::UnknownListKey => "status_list_unknown_key",
        }
    }
}

/// A verified list with the times that decide its freshness.
#[derive(Debug, Clone)]
pub struct KnownList {
    /// The list.
    pub list: StatusList,
    /// Token `iat`.
    pub issued_at: i64,
    /// Token `exp`.
    pub expires_at: Option<i64>,
    /// Token `ttl`.
    pub ttl: Option<i64>,
}

/// Status lists by URI (the token's `sub`).
#[derive(Debug, Clone, Default)]
pub struct StatusStore {
    lists: BTreeMap<String, KnownList>,
}

impl StatusStore {
    /// An empty store.
    pub fn new() -> StatusStore {
        StatusStore::default()
    }

    /// Verifies a `statuslist+jwt` token with a trusted key and keeps it under its `sub`
    /// (replacing an older one). Returns the URI.
    ///
    /// # Errors
    /// [`StatusError::UnknownListKey`] when no trusted key signed it; [`StatusError::List`]
    /// when it does not verify or is malformed.
    pub fn add_token(
        &mut self,
        token: &str,
        trust: &TrustStore,
        now: i64,
    ) -> Result<String, StatusError> {
        let token = token.trim();
        let unverified = StatusListToken::parse_unverified(token, &Limits::default())?;
        let sub = unverified.claims().sub.clone();
        // The token's `iss`, when it has one, selects keys trusted for that issuer (a JWT VC
        // issuer metadata document binds its keys to its `issuer`).
        let mut claims = Map::new();
        if let Some(iss) = &unverified.claims().iss {
            claims.insert("iss".into(), Value::String(iss.clone()));
        }
        let key = trust
            .issuer_key(unverified.header(), &claims)
            .map_err(|_| StatusError::UnknownListKey)?;
        let verified = StatusListToken::verify(token, &key, &Validation::new(&sub, now))?;
        self.insert(verified.into_claims());
        Ok(sub)
    }

    /// Keeps an already verified token's list under its `sub`, unless a newer one is known.
    pub fn insert(&mut self, token: StatusListToken) {
        let known = KnownList {
            issued_at: token.iat,
            expires_at: token.exp,
            ttl: token
                .ttl
                .map(|t| i64::try_from(t.get()).unwrap_or(i64::MAX)),
            list: token.status_list,
        };
        match self.lists.get(&token.sub) {
            Some(existing) if existing.issued_at > known.issued_at => {}
            _ => {
                self.lists.insert(token.sub, known);
            }
        }
    }

    /// The known lists.
    pub fn lists(&self) -> &BTreeMap<String, KnownList> {
        &self.lists
    }

    /// Checks the credential's `status.status_list` reference against the known lists.
    ///
    /// # Errors
    /// [`StatusError`] when the credential is revoked or suspended, or the state is unknown,
    /// expired or older than the policy allows.
    pub fn check(
        &self,
        claims: &Map<String, Value>,
        policy: &Policy,
        now: i64,
    ) -> Result<StatusOutcome, StatusError> {
        let Some((uri, idx)) = reference(claims)? else {
            return Ok(StatusOutcome::NoStatus);
        };
        let uri = uri.as_str();
        let Some(known) = self.lists.get(uri) else {
            if policy.require_status {
                return Err(StatusError::Unknown);
            }
            return Ok(StatusOutcome::Unchecked {
                uri: uri.to_owned(),
            });
        };
        if known.expires_at.is_some_and(|exp| now > exp) {
            return Err(StatusError::ListExpired);
        }
        let age = now.saturating_sub(known.issued_at);
        let max = i64::try_from(policy.max_status_age.as_secs()).unwrap_or(i64::MAX);
        if age > max {
            return Err(StatusError::TooOld {
                age_seconds: age,
                max_seconds: max,
            });
        }
        match known.list.get(idx)? {
            0 => Ok(StatusOutcome::Valid {
                uri: uri.to_owned(),
                idx,
                list_issued_at: known.issued_at,
            }),
            1 => Err(StatusError::Revoked { idx }),
            2 => Err(StatusError::Suspended { idx }),
            value => Err(StatusError::NotValid { idx, value }),
        }
    }
}

/// The credential's status reference as `(list uri, index)`: the IETF `status.status_list`
/// claim (dc+sd-jwt), or the W3C `credentialStatus` entries (vc+sd-jwt), whose
/// `statusListCredential` URLs are `<list uri>/revocation` and `<list uri>/suspension`, two
/// projections of one 2-bit Token Status List at the same index (`docs/credential-format.md`
/// section 6).
fn reference(claims: &Map<String, Value>) -> Result<Option<(String, u64)>, StatusError> {
    if let Some(status) = claims.get("status") {
        let reference = status
            .get("status_list")
            .ok_or(StatusError::MalformedReference)?;
        let idx = reference
            .get("idx")
            .and_then(Value::as_u64)
            .ok_or(StatusError::MalformedReference)?;
        let uri = reference
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(StatusError::MalformedReference)?;
        return Ok(Some((uri.to_owned(), idx)));
    }
    let Some(entries) = claims.get("credentialStatus") else {
        return Ok(None);
    };
    let entries = entries.as_array().ok_or(StatusError::MalformedReference)?;
    let mut found: Option<(String, u64)> = None;
    for entry in entries {
        let purpose = entry.get("statusPurpose").and_then(Value::as_str);
        let list = entry.get("statusListCredential").and_then(Value::as_str);
        let idx = entry
            .get("statusListIndex")
            .and_then(Value::as_str)
            .and_then(|i| i.parse::<u64>().ok());
        let (Some(purpose), Some(list), Some(idx)) = (purpose, list, idx) else {
            return Err(StatusError::MalformedReference);
        };
        let uri = list
            .strip_suffix(&format!("/{purpose}"))
            .ok_or(StatusError::MalformedReference)?;
        match &found {
            None => found = Some((uri.to_owned(), idx)),
            // Both entries must name the same list and index.
            Some((u, i)) if u == uri && *i == idx => {}
            Some(_) => return Err(StatusError::MalformedReference),
        }
    }
    found.map(Some).ok_or(StatusError::MalformedReference)
}
