//! Signing keys: their purposes and states, the algorithms they use, and the record of a key
//! withdrawn as compromised with the rule that folds repeated withdrawals into one.

use serde_json::{json, Value};

pub use credential::jose::Alg;

use super::audit::{AuditEntry, AuditEvent};

/// Purpose of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Signs credentials and status-list tokens.
    Credential,
    /// Signs the trust bundle.
    Root,
}

impl KeyPurpose {
    /// Both, in the order the issuer creates them.
    pub const ALL: [KeyPurpose; 2] = [KeyPurpose::Credential, KeyPurpose::Root];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Credential => "credential",
            KeyPurpose::Root => "root",
        }
    }
}

stored_names!(KeyPurpose);

/// State of a signing key. A withdrawal is recorded beside the key, not as a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Signs now (one per purpose).
    Active,
    /// No longer signs; published while credentials it signed are unexpired.
    Retired,
}

impl KeyState {
    /// Both.
    pub const ALL: [KeyState; 2] = [KeyState::Active, KeyState::Retired];

    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }
}

stored_names!(KeyState);

/// The most withdrawals read (one row per withdrawn key).
pub const MAX_WITHDRAWALS: i64 = 10_000;

/// A withdrawn credential signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWithdrawal {
    /// The key's RFC 7638 thumbprint.
    pub kid: String,
    /// Credentials issued at or after this time (a day boundary) are refused; `None`: all.
    pub since: Option<i64>,
    /// When it was withdrawn (the first time, if withdrawn again).
    pub withdrawn_at: i64,
}

impl KeyWithdrawal {
    /// JSON for the notice and listings.
    pub fn to_json(&self) -> Value {
        json!({"kid": self.kid, "since": self.since, "withdrawn_at": self.withdrawn_at})
    }
}

/// One withdrawal per key from the audit events: the strictest (`None` beats any time, else
/// the earliest `since`). The rule `key_withdrawals` keeps (migration 10 filled the table
/// from the audit trail this way).
pub fn from_audit(entries: &[AuditEntry]) -> Vec<KeyWithdrawal> {
    let mut out: Vec<KeyWithdrawal> = Vec::new();
    for e in entries
        .iter()
        .filter(|e| e.event == AuditEvent::KeyWithdrawn.as_str())
    {
        let Some(kid) = e.subject.clone() else {
            continue;
        };
        let since = e
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
            .and_then(|d| d.get("since").and_then(Value::as_i64));
        match out.iter_mut().find(|w| w.kid == kid) {
            Some(w) => {
                w.since = match (w.since, since) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    _ => None,
                };
                w.withdrawn_at = w.withdrawn_at.min(e.at);
            }
            None => out.push(KeyWithdrawal {
                kid,
                since,
                withdrawn_at: e.at,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: i64, kid: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            seq: at,
            at,
            actor: "cli:test".into(),
            event: AuditEvent::KeyWithdrawn.as_str().into(),
            subject: Some(kid.into()),
            detail: Some(detail.into()),
        }
    }

    #[test]
    fn the_strictest_withdrawal_of_a_key_counts() {
        let w = from_audit(&[
            entry(10, "a", r#"{"since": 864000}"#),
            entry(20, "a", r#"{"since": 86400}"#),
            entry(30, "b", r#"{"since": 86400}"#),
            entry(40, "b", r#"{"since": null}"#),
        ]);
        assert_eq!(
            w,
            vec![
                KeyWithdrawal {
                    kid: "a".into(),
                    since: Some(86_400),
                    withdrawn_at: 10
                },
                KeyWithdrawal {
                    kid: "b".into(),
                    since: None,
                    withdrawn_at: 30
                },
            ]
        );
    }

    #[test]
    fn key_purpose_and_state_names_parse_back() {
        for p in KeyPurpose::ALL {
            assert_eq!(KeyPurpose::parse(p.as_str()), Some(p));
        }
        for s in KeyState::ALL {
            assert_eq!(KeyState::parse(s.as_str()), Some(s));
        }
        assert_eq!(KeyPurpose::parse("Root"), None);
        assert_eq!(KeyState::parse("withdrawn"), None);
    }
}
