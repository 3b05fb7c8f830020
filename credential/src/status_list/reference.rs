use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::StatusListError;

/// The `status_list` member of a Referenced Token's `status` claim
/// (draft-ietf-oauth-status-list section 6.2):
/// `{"status": {"status_list": {"idx": 0, "uri": "https://..."}}}`.
///
/// Other members of `status_list`, and other status mechanisms beside it in `status`
/// (section 6.1), are ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusReference {
    /// `idx`: the entry of this token in the Status List.
    pub idx: u64,
    /// `uri`: the URI of the Status List Token, equal to its `sub`.
    pub uri: String,
}

impl StatusReference {
    /// Reads `status.status_list` from a JWT payload (section 6.2; section 8.3 step 1).
    ///
    /// Returns `Ok(None)` when there is no `status` claim or it has no `status_list` member
    /// (the token uses no status mechanism, or another one); whether that is acceptable is the
    /// caller's policy.
    ///
    /// # Errors
    /// [`StatusListError::MalformedStatusReference`] when `status` or `status_list` is not an
    /// object, `idx` is not a non-negative integer, or `uri` is not a string holding an
    /// absolute URI (RFC 3986 section 3: a scheme, then `:`; no spaces or control characters).
    pub fn from_payload(
        payload: &Map<String, Value>,
    ) -> Result<Option<StatusReference>, StatusListError> {
        let malformed = |reason| StatusListError::MalformedStatusReference { reason };
        let status = match payload.get("status") {
            None => return Ok(None),
            Some(Value::Object(status)) => status,
            Some(_) => return Err(malformed("status is not an object")),
        };
        let reference = match status.get("status_list") {
            None => return Ok(None),
            Some(Value::Object(reference)) => reference,
            Some(_) => return Err(malformed("status_list is not an object")),
        };
        let idx = reference
            .get("idx")
            .ok_or(malformed("idx is missing"))?
            .as_u64()
            .ok_or(malformed("idx is not a non-negative integer"))?;
        let uri = reference
            .get("uri")
            .ok_or(malformed("uri is missing"))?
            .as_str()
            .ok_or(malformed("uri is not a string"))?;
        if !is_absolute_uri(uri) {
            return Err(malformed("uri is not an absolute uri"));
        }
        Ok(Some(StatusReference {
            idx,
            uri: uri.to_owned(),
        }))
    }

    /// The value of the `status` claim: `{"status_list": {"idx": .., "uri": ..}}`.
    pub fn to_status_claim(&self) -> Value {
        serde_json::json!({ "status_list": { "idx": self.idx, "uri": self.uri } })
    }

    /// Sets `status.status_list` in a payload under construction, keeping any other status
    /// mechanisms already in `status`. A `status` that is not an object is replaced.
    pub fn insert_into(&self, payload: &mut Map<String, Value>) {
        let entry = serde_json::json!({ "idx": self.idx, "uri": self.uri });
        match payload.get_mut("status") {
            Some(Value::Object(status)) => {
                status.insert("status_list".into(), entry);
            }
            _ => {
                payload.insert("status".into(), self.to_status_claim());
            }
        }
    }
}

/// A light RFC 3986 check: `scheme ":" rest`, where the scheme starts with a letter and
/// continues with letters, digits, `+`, `-` or `.`, and nothing contains whitespace or control
/// characters. Enough to refuse garbage; the `sub` comparison does the real matching.
fn is_absolute_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok && !rest.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn section_6_2_example() {
        let p = payload(json!({
            "status": {"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}}
        }));
        assert_eq!(
            StatusReference::from_payload(&p).unwrap(),
            Some(StatusReference {
                idx: 0,
                uri: "https://example.com/statuslists/1".into()
            })
        );
    }

    #[test]
    fn absent_is_none_and_extra_members_are_ignored() {
        assert_eq!(StatusReference::from_payload(&Map::new()), Ok(None));
        let other = payload(json!({"status": {"other_mechanism": {}}}));
        assert_eq!(StatusReference::from_payload(&other), Ok(None));
        let extra = payload(json!({
            "status": {"status_list": {"idx": 7, "uri": "urn:x:y", "future": true}, "x": 1}
        }));
        assert_eq!(
            StatusReference::from_payload(&extra)
                .unwrap()
                .map(|r| r.idx),
            Some(7)
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            json!({"status": []}),
            json!({"status": {"status_list": "https://x"}}),
            json!({"status": {"status_list": {"uri": "https://x"}}}),
            json!({"status": {"status_list": {"idx": -1, "uri": "https://x"}}}),
            json!({"status": {"status_list": {"idx": 1.5, "uri": "https://x"}}}),
            json!({"status": {"status_list": {"idx": "1", "uri": "https://x"}}}),
            json!({"status": {"status_list": {"idx": 1}}}),
            json!({"status": {"status_list": {"idx": 1, "uri": 5}}}),
            json!({"status": {"status_list": {"idx": 1, "uri": ""}}}),
            json!({"status": {"status_list": {"idx": 1, "uri": "statuslists/1"}}}),
            json!({"status": {"status_list": {"idx": 1, "uri": "1http://x"}}}),
            json!({"status": {"status_list": {"idx": 1, "uri": "https://x y"}}}),
            json!({"status": {"status_list": {"idx": 1, "uri": "https:"}}}),
        ] {
            assert!(
                matches!(
                    StatusReference::from_payload(&payload(bad.clone())),
                    Err(StatusListError::MalformedStatusReference { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn insert_keeps_other_mechanisms() {
        let reference = StatusReference {
            idx: 42,
            uri: "https://bureau.example/status/3".into(),
        };
        let mut p = payload(json!({"status": {"other": 1}}));
        reference.insert_into(&mut p);
        assert_eq!(p["status"]["other"], 1);
        assert_eq!(
            StatusReference::from_payload(&p),
            Ok(Some(reference.clone()))
        );
        let mut fresh = Map::new();
        reference.insert_into(&mut fresh);
        assert_eq!(
            Value::Object(fresh),
            json!({"status": reference.to_status_claim()})
        );
        let json = serde_json::to_value(&reference).unwrap();
        assert_eq!(
            json,
            json!({"idx": 42, "uri": "https://bureau.example/status/3"})
        );
    }
}
