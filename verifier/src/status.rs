//! Revocation state known to the verifier: verified status-list tokens, by list URI.

use std::collections::BTreeMap;

use credential::jose::Jws;
use credential::sd_jwt::IssuerKeys;
use credential::status_list::{StatusList, StatusListError, StatusListToken};
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
    pub fn add_token(&mut self, token: &str, trust: &TrustStore, now: i64) -> Result<String, StatusError> {
        let jws = Jws::parse(token.trim()).map_err(|e| StatusError::List(StatusListError::Jose(e)))?;
        let payload = jws
            .payload_object()
            .map_err(|e| StatusError::List(StatusListError::Jose(e)))?;
        let sub = payload
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(StatusError::List(StatusListError::MalformedToken { reason: "sub missing" }))?
            .to_owned();
        let key = trust
            .issuer_key(jws.header(), &Map::new())
            .map_err(|_| StatusError::UnknownListKey)?;
        let verified = StatusListToken::verify(token.trim(), &key, &sub, now, 60)?;
        let known = KnownList {
            list: verified.status_list,
            issued_at: verified.iat,
            expires_at: verified.exp,
            ttl: verified.ttl,
        };
        match self.lists.get(&sub) {
            Some(existing) if existing.issued_at > known.issued_at => {}
            _ => {
                self.lists.insert(sub.clone(), known);
            }
        }
        Ok(sub)
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
    pub fn check(&self, claims: &Map<String, Value>, policy: &Policy, now: i64) -> Result<StatusOutcome, StatusError> {
        let Some(status) = claims.get("status") else {
            return Ok(StatusOutcome::NoStatus);
        };
        let reference = status.get("status_list").ok_or(StatusError::MalformedReference)?;
        let idx = reference
            .get("idx")
            .and_then(Value::as_u64)
            .ok_or(StatusError::MalformedReference)?;
        let uri = reference
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(StatusError::MalformedReference)?;
        let Some(known) = self.lists.get(uri) else {
            if policy.require_status {
                return Err(StatusError::Unknown);
            }
            return Ok(StatusOutcome::Unchecked { uri: uri.to_owned() });
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
        let index = usize::try_from(idx).map_err(|_| StatusError::List(StatusListError::IndexOutOfRange { idx, len: known.list.len() }))?;
        match known.list.get(index)? {
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
